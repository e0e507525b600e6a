//! Reading the authority's files, with errors that name the file.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use std::io::IsTerminal;

use anyhow::{Context, bail};

use super::interrupt;
use signer::keys::Passphrase;
use signer::{Certificate, RevocationList, SigningKey, TrustStore, VerifyingKey, keys};
use zeroize::Zeroizing;

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

/// The trust files a command checks codes against: `--trust`, `--cert` (repeated) and
/// `--revoked`.
#[derive(clap::Args)]
pub struct TrustFiles {
    /// The authority's public key.
    #[arg(long, value_name = "FILE")]
    pub trust: PathBuf,
    /// A manufacturer certificate; repeat for several.
    #[arg(long = "cert", value_name = "FILE", required = true)]
    pub certs: Vec<PathBuf>,
    /// The authority's revocation list.
    #[arg(long, value_name = "FILE")]
    pub revoked: Option<PathBuf>,
}

impl TrustFiles {
    /// The trust store they make ([`trust_store`]).
    pub fn load(&self) -> anyhow::Result<TrustStore> {
        trust_store(&self.trust, &self.certs, self.revoked.as_deref())
    }
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

/// Where a key passphrase comes from: this environment variable (for automation), else a prompt on
/// the terminal. Never from a command-line argument, which other users can read in the process list.
pub const PASSPHRASE_ENV: &str = "PARTSEAL_KEY_PASSPHRASE";

/// Loads a private key, asking for its passphrase only if the file is encrypted.
pub fn signing_key(path: &Path) -> anyhow::Result<SigningKey> {
    if !keys::is_encrypted(path)? {
        return Ok(keys::read_private_key(path)?);
    }
    let passphrase = passphrase(&format!("passphrase for {}: ", path.display()), false)?;
    Ok(keys::read_private_key_with_passphrase(path, &passphrase)?)
}

/// A passphrase from the environment or the terminal; `confirm` asks twice (for a new key).
pub fn passphrase(prompt: &str, confirm: bool) -> anyhow::Result<Passphrase> {
    if let Ok(text) = std::env::var(PASSPHRASE_ENV) {
        return Passphrase::new(text).map_err(anyhow::Error::msg);
    }
    if !std::io::stdin().is_terminal() {
        bail!("the key is encrypted: set {PASSPHRASE_ENV} or run on a terminal to be asked");
    }
    let first = Zeroizing::new(rpassword::prompt_password(prompt)?);
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("again: ")?);
        if *first != *again {
            bail!("the two passphrases differ");
        }
    }
    Passphrase::new(first.to_string()).map_err(anyhow::Error::msg)
}

/// File modes for [`write_atomically`]: public data (manifests) and data only the operator reads
/// (registry backups).
pub const PUBLIC: u32 = 0o644;
pub const PRIVATE: u32 = 0o600;

/// Writes through a temporary file beside `path` and moves it into place only when `write` succeeds,
/// so a failed or interrupted run leaves no half-written file behind (Ctrl-C included: the
/// temporary is removed, see [`super::interrupt`]). Refuses to replace a file: an existing
/// manifest's codes may already be printed, an existing backup may be the only good one.
///
/// The temporary is named after its target (`.batch.jsonl.XXXXXX.partial`), so even one a
/// `kill -9` left behind says what it was.
pub fn write_atomically<T>(
    path: &Path,
    mode: u32,
    write: impl FnOnce(&mut BufWriter<File>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    if path.exists() {
        bail!("{} already exists; choose another --out", path.display());
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".partial")
        .tempfile_in(dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    interrupt::write_through(
        tmp,
        path,
        |tmp| {
            let mut out = BufWriter::with_capacity(1 << 20, tmp.reopen()?);
            let value = write(&mut out)?;
            // The temporary file was created private; public data gets its final mode before it
            // appears.
            #[cfg(unix)]
            fs::set_permissions(
                tmp.path(),
                std::os::unix::fs::PermissionsExt::from_mode(mode),
            )?;
            #[cfg(not(unix))]
            let _ = mode;
            out.flush()?;
            out.get_ref().sync_all()?;
            Ok(value)
        },
        |tmp| {
            tmp.persist_noclobber(path)
                .map_err(|e| e.error)
                .with_context(|| format!("cannot create {}", path.display()))?;
            Ok(())
        },
    )
}
