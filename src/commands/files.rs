//! Reading the authority's files, with errors that name the file.

use std::fs;
use std::path::Path;

use anyhow::Context;
use signer::{Certificate, RevocationList, TrustStore, VerifyingKey, keys};

pub fn read_text(path: &Path) -> anyhow::Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn certificate(path: &Path) -> anyhow::Result<Certificate> {
    Certificate::from_pem(&read_text(path)?)
        .with_context(|| format!("{} is not a valid certificate", path.display()))
}

pub fn revocations(path: &Path) -> anyhow::Result<RevocationList> {
    RevocationList::from_pem(&read_text(path)?)
        .with_context(|| format!("{} is not a valid revocation list", path.display()))
}

pub fn public_key(path: &Path) -> anyhow::Result<VerifyingKey> {
    Ok(keys::read_public_key(path)?)
}

/// A trust store from the authority's public key, certificates and an optional revocation list, each
/// checked against the authority key.
pub fn trust_store(
    trust: &Path,
    certs: &[impl AsRef<Path>],
    revoked: Option<&Path>,
) -> anyhow::Result<TrustStore> {
    let mut store = TrustStore::new(vec![public_key(trust)?]);
    for path in certs {
        let path = path.as_ref();
        store.add_certificate(certificate(path)?).with_context(|| {
            format!(
                "{} is not trusted under {}",
                path.display(),
                trust.display()
            )
        })?;
    }
    if let Some(path) = revoked {
        store.set_revocations(revocations(path)?).with_context(|| {
            format!(
                "{} is not trusted under {}",
                path.display(),
                trust.display()
            )
        })?;
    }
    Ok(store)
}
