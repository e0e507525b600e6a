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
        /// Protect the private key with a passphrase (asked on the terminal, or PARTSEAL_KEY_PASSPHRASE).
        #[arg(long)]
        encrypt: bool,
    },
}

pub fn run(cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        KeysCommand::Generate { out, encrypt } => {
            let (secret, public) = key_pair_paths(&out);
            let key = generate_pair(&secret, &public, encrypt)?;
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

/// Generates a key pair and writes both files; neither may exist yet. With `encrypt`, the private key
/// is protected by a passphrase.
pub fn generate_pair(
    secret: &std::path::Path,
    public: &std::path::Path,
    encrypt: bool,
) -> anyhow::Result<signer::SigningKey> {
    for path in [secret, public] {
        if path.exists() {
            anyhow::bail!(
                "{} already exists; refusing to overwrite a key (move it away first)",
                path.display()
            );
        }
    }
    let key = keys::generate();
    if encrypt {
        let prompt = format!("new passphrase for {}: ", secret.display());
        let passphrase = super::files::passphrase(&prompt, true)?;
        keys::write_encrypted_private_key(secret, &key, &passphrase)?;
    } else {
        keys::write_private_key(secret, &key)?;
    }
    keys::write_public_key(public, &key.verifying_key())?;
    Ok(key)
}
