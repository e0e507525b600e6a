//! Ed25519 keys on disk and their short ids.
//!
//! Private keys are PKCS#8 PEM and public keys SubjectPublicKeyInfo PEM, the formats OpenSSL reads
//! (`openssl pkey -in mfr.key -pubout`). Private key files are created with mode 0600, atomically (a
//! temporary file renamed into place), and never over an existing file: overwriting an authority or
//! manufacturer key would orphan every certificate and label made with it. Key material never reaches a
//! log or an error message.

use std::fmt;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, KeypairBytes,
};
use ed25519_dalek::{SigningKey, VerifyingKey};
use rand_core::RngCore;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Bytes in a [`KeyId`].
pub const KEY_ID_LEN: usize = 8;

/// The short id of a public key: the first 8 bytes of SHA-256 over a domain tag and the 32 key bytes.
/// Printed in codes as 11 characters of unpadded base64url. It only finds the key; trust always comes
/// from verifying with the full key, so an id collision cannot make a forgery verify.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; KEY_ID_LEN]);

const KEY_ID_DOMAIN: &[u8] = b"partseal-key-id-v1\0";

impl KeyId {
    pub fn of(key: &VerifyingKey) -> Self {
        let digest = Sha256::new()
            .chain_update(KEY_ID_DOMAIN)
            .chain_update(key.as_bytes())
            .finalize();
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        KeyId(id)
    }

    /// The 11-character base64url form used in codes.
    pub fn to_base64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_base64())
    }
}

/// What went wrong reading or writing a key file. Messages name the file, never its contents.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} already exists; refusing to overwrite a key (move it away first)")]
    Exists { path: PathBuf },
    #[error("{path} is not a PKCS#8 PEM Ed25519 private key")]
    BadPrivateKey { path: PathBuf },
    #[error("{path} is not a PEM Ed25519 public key (SubjectPublicKeyInfo)")]
    BadPublicKey { path: PathBuf },
    #[error("{path} holds a weak (small-order) Ed25519 public key")]
    WeakKey { path: PathBuf },
    #[error("{path} is encrypted; a passphrase is needed to use it")]
    NeedsPassphrase { path: PathBuf },
    #[error("{path} could not be decrypted: wrong passphrase, or the file is damaged")]
    WrongPassphrase { path: PathBuf },
}

/// A passphrase protecting a private key file. Wiped from memory when dropped; never printed.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Longest passphrase accepted; a longer one is almost certainly a pasted key or a mistake.
    pub const MAX_LEN: usize = 1024;

    pub fn new(text: String) -> Result<Self, String> {
        let text = Zeroizing::new(text);
        if text.is_empty() || text.len() > Self::MAX_LEN {
            return Err(format!("a passphrase must be 1 to {} bytes", Self::MAX_LEN));
        }
        Ok(Passphrase(text))
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

const ENCRYPTED_LABEL: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";

/// A fresh signing key from the operating system's CSPRNG.
pub fn generate() -> SigningKey {
    SigningKey::generate(&mut rand_core::OsRng)
}

/// Writes a private key as PKCS#8 PEM with mode 0600. Fails if `path` exists.
pub fn write_private_key(path: &Path, key: &SigningKey) -> Result<(), KeyError> {
    // PKCS#8 v1 (the seed alone), as `openssl genpkey` writes it: OpenSSL 3.0 refuses the v2 form with
    // the public key embedded, which is what `SigningKey::to_pkcs8_pem` would produce.
    let seed_only = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    let pem = seed_only
        .to_pkcs8_pem(LineEnding::LF)
        .map_err(|_| KeyError::BadPrivateKey { path: path.into() })?;
    // tempfile creates its files with mode 0600 and the mode is kept, so the key is never readable by
    // others, not even for an instant.
    write_file(path, pem.as_bytes(), false, 0o600)
}

/// Writes a private key as passphrase-encrypted PKCS#8 PEM (PBES2: scrypt and AES-256-CBC, which OpenSSL
/// reads with `openssl pkey -in KEY -passin ...`), mode 0600. Fails if `path` exists.
pub fn write_encrypted_private_key(
    path: &Path,
    key: &SigningKey,
    passphrase: &Passphrase,
) -> Result<(), KeyError> {
    let bad = || KeyError::BadPrivateKey { path: path.into() };
    let seed_only = KeypairBytes {
        secret_key: key.to_bytes(),
        public_key: None,
    };
    let der = seed_only.to_pkcs8_der().map_err(|_| bad())?;
    let info = pkcs8::PrivateKeyInfo::try_from(der.as_bytes()).map_err(|_| bad())?;
    // scrypt with N = 2^14, r = 8, p = 1 (16 MiB): OpenSSL's own default, and inside the 32 MiB that
    // OpenSSL allows when decrypting. The crate's default (N = 2^15) is just over it.
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut salt);
    rand_core::OsRng.fill_bytes(&mut iv);
    let kdf = pkcs8::pkcs5::scrypt::Params::new(14, 8, 1, 32).map_err(|_| bad())?;
    let params =
        pkcs8::pkcs5::pbes2::Parameters::scrypt_aes256cbc(kdf, &salt, &iv).map_err(|_| bad())?;
    let encrypted = info
        .encrypt_with_params(params, passphrase.as_bytes())
        .map_err(|_| bad())?;
    let pem = encrypted
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map_err(|_| bad())?;
    write_file(path, pem.as_bytes(), false, 0o600)
}

/// Is the private key file at `path` passphrase-encrypted? (So a caller knows whether to ask for one.)
pub fn is_encrypted(path: &Path) -> Result<bool, KeyError> {
    let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.into(),
        source,
    })?;
    Ok(text.trim_start().starts_with(ENCRYPTED_LABEL))
}

/// Reads a private key that may be passphrase-encrypted. Warns if others may read the file.
pub fn read_private_key_with_passphrase(
    path: &Path,
    passphrase: &Passphrase,
) -> Result<SigningKey, KeyError> {
    let bad = || KeyError::BadPrivateKey { path: path.into() };
    let text = Zeroizing::new(fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.into(),
        source,
    })?);
    warn_if_exposed(path);
    if !text.trim_start().starts_with(ENCRYPTED_LABEL) {
        return SigningKey::from_pkcs8_pem(&text).map_err(|_| bad());
    }
    let (_, der) = pkcs8::SecretDocument::from_pem(&text).map_err(|_| bad())?;
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_bytes()).map_err(|_| bad())?;
    let plain = info
        .decrypt(passphrase.as_bytes())
        .map_err(|_| KeyError::WrongPassphrase { path: path.into() })?;
    SigningKey::from_pkcs8_der(plain.as_bytes()).map_err(|_| bad())
}

/// Writes a public key as SubjectPublicKeyInfo PEM (mode 0644). Fails if `path` exists.
pub fn write_public_key(path: &Path, key: &VerifyingKey) -> Result<(), KeyError> {
    let pem = key
        .to_public_key_pem(LineEnding::LF)
        .map_err(|_| KeyError::BadPublicKey { path: path.into() })?;
    write_new_file(path, pem.as_bytes())
}

/// Reads an unencrypted PKCS#8 PEM private key. Warns (through `tracing`) if others may read the file.
pub fn read_private_key(path: &Path) -> Result<SigningKey, KeyError> {
    let io = |source| KeyError::Io {
        path: path.into(),
        source,
    };
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io)?);
    warn_if_exposed(path);
    if text.trim_start().starts_with(ENCRYPTED_LABEL) {
        return Err(KeyError::NeedsPassphrase { path: path.into() });
    }
    SigningKey::from_pkcs8_pem(&text).map_err(|_| KeyError::BadPrivateKey { path: path.into() })
}

/// Reads a SubjectPublicKeyInfo PEM public key, refusing weak keys.
pub fn read_public_key(path: &Path) -> Result<VerifyingKey, KeyError> {
    let text = fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.into(),
        source,
    })?;
    let key = VerifyingKey::from_public_key_pem(&text)
        .map_err(|_| KeyError::BadPublicKey { path: path.into() })?;
    if key.is_weak() {
        return Err(KeyError::WeakKey { path: path.into() });
    }
    Ok(key)
}

/// Writes a public file (mode 0644) at `path` atomically: a temporary file in the same directory,
/// synced, then linked into place only if nothing is there yet. A crash leaves either no file or the
/// whole file, never half of one.
pub fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    write_file(path, bytes, false, 0o644)
}

/// Like [`write_new_file`], but replaces an existing file (atomically).
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    write_file(path, bytes, true, 0o644)
}

fn write_file(path: &Path, bytes: &[u8], replace: bool, mode: u32) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.into(),
        source,
    };
    if !replace && path.exists() {
        return Err(KeyError::Exists { path: path.into() });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    set_mode(tmp.path(), mode)?;
    tmp.as_file().sync_all().map_err(io)?;
    if replace {
        tmp.persist(path).map_err(|e| io(e.error))?;
    } else {
        tmp.persist_noclobber(path).map_err(|e| {
            if e.error.kind() == std::io::ErrorKind::AlreadyExists {
                KeyError::Exists { path: path.into() }
            } else {
                io(e.error)
            }
        })?;
    }
    // Make the rename itself durable.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> Result<(), KeyError> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(|source| KeyError::Io {
        path: path.into(),
        source,
    })
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> Result<(), KeyError> {
    Ok(())
}

#[cfg(unix)]
fn warn_if_exposed(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format_args!("{mode:o}"),
                "private key file is readable by other users; run `chmod 600` on it"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_exposed(_path: &Path) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_files_round_trip_with_private_mode() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate();
        let sk = dir.path().join("mfr.key");
        let pk = dir.path().join("mfr.pub");
        write_private_key(&sk, &key).unwrap();
        write_public_key(&pk, &key.verifying_key()).unwrap();
        assert_eq!(read_private_key(&sk).unwrap().to_bytes(), key.to_bytes());
        assert_eq!(read_public_key(&pk).unwrap(), key.verifying_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&sk).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let text = fs::read_to_string(&sk).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn never_overwrites_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let sk = dir.path().join("a.key");
        write_private_key(&sk, &generate()).unwrap();
        let before = fs::read(&sk).unwrap();
        let err = write_private_key(&sk, &generate()).unwrap_err();
        assert!(matches!(err, KeyError::Exists { .. }), "{err}");
        assert_eq!(fs::read(&sk).unwrap(), before);
    }

    #[test]
    fn garbage_is_not_a_key_and_the_error_names_the_file_only() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("junk.key");
        fs::write(
            &p,
            "-----BEGIN PRIVATE KEY-----\nc2VjcmV0\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let msg = read_private_key(&p).unwrap_err().to_string();
        assert!(
            msg.contains("junk.key") && !msg.contains("c2VjcmV0"),
            "{msg}"
        );
        assert!(read_public_key(&p).is_err());
    }

    #[test]
    fn encrypted_keys_need_the_right_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("enc.key");
        let key = generate();
        let pass = Passphrase::new("correct horse battery staple".into()).unwrap();
        write_encrypted_private_key(&path, &key, &pass).unwrap();
        assert!(is_encrypted(&path).unwrap());
        assert!(matches!(
            read_private_key(&path),
            Err(KeyError::NeedsPassphrase { .. })
        ));
        let wrong = Passphrase::new("wrong".into()).unwrap();
        assert!(matches!(
            read_private_key_with_passphrase(&path, &wrong),
            Err(KeyError::WrongPassphrase { .. })
        ));
        assert_eq!(
            read_private_key_with_passphrase(&path, &pass)
                .unwrap()
                .to_bytes(),
            key.to_bytes()
        );
        assert_eq!(format!("{pass:?}"), "Passphrase(<redacted>)");
    }

    #[test]
    fn key_id_is_stable_and_eleven_chars() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let id = KeyId::of(&key.verifying_key());
        assert_eq!(id.to_base64().len(), 11);
        assert_eq!(id, KeyId::of(&key.verifying_key()));
        assert_ne!(
            id,
            KeyId::of(&SigningKey::from_bytes(&[8u8; 32]).verifying_key())
        );
    }
}
