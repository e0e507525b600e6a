//! `partseal keys generate`: a manufacturer's signing key pair.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use signer::{KeyId, keys};

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Write PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub (public key PEM).
    Generate {
        /// Path prefix of the two files, e.g. `acme` for acme.key and acme.pub.
        #[arg(long, value_name = "PREFIX")]
        out: PathBuf,
    },
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Generate { out } => {
            let (secret, public) = key_pair_paths(&out);
            let key = generate_pair(&secret, &public)?;
            println!(
                "wrote {} (private, keep it offline) and {} (key id {})",
                secret.display(),
                public.display(),
                KeyId::of(&key.verifying_key())
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `PREFIX.key` and `PREFIX.pub`.
pub fn key_pair_paths(prefix: &std::path::Path) -> (PathBuf, PathBuf) {
    let mut secret = prefix.as_os_str().to_owned();
    secret.push(".key");
    let mut public = prefix.as_os_str().to_owned();
    public.push(".pub");
    (secret.into(), public.into())
}

/// Generates a key pair and writes both files; neither may exist yet.
pub fn generate_pair(
    secret: &std::path::Path,
    public: &std::path::Path,
) -> anyhow::Result<signer::SigningKey> {
    if public.exists() {
        anyhow::bail!(
            "{} already exists; refusing to overwrite a key (move it away first)",
            public.display()
        );
    }
    let key = keys::generate();
    keys::write_private_key(secret, &key)?;
    keys::write_public_key(public, &key.verifying_key())?;
    Ok(key)
}
