//! Checkpoints (c2sp.org/tlog-checkpoint) signed as signed notes (c2sp.org/signed-note) with the
//! log's own Ed25519 key. The note format is `signed_note`'s; the signing and the strict
//! verification are ours, so the log key is checked with `verify_strict` as every other signature in
//! partseal is (it refuses the malleable and small-order encodings plain `verify` lets through).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, VerifierList};
use tlog_tiles::Checkpoint;

use crate::error::TlogError;
use crate::tree::Hash;

/// The note signature type of Ed25519 keys (c2sp.org/signed-note).
const ALG_ED25519: u8 = 0x01;

/// The log's signing key, named by the log's origin (`<host>/<log name>`).
pub struct LogKey {
    origin: String,
    key: SigningKey,
    id: u32,
}

impl std::fmt::Debug for LogKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LogKey({}+{:08x})", self.origin, self.id)
    }
}

impl LogKey {
    pub fn new(origin: &str, key: SigningKey) -> Result<Self, TlogError> {
        if !signed_note::is_key_name_valid(origin) {
            return Err(TlogError::Origin(origin.to_owned()));
        }
        let id = key_id(origin, &key.verifying_key());
        Ok(LogKey {
            origin: origin.to_owned(),
            key,
            id,
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `<origin>+<key id hex>+<base64(0x01 ‖ public key)>`, what `/log/key` serves.
    pub fn verifier_key(&self) -> String {
        signed_note::new_ed25519_verifier_key(&self.origin, &self.key.verifying_key())
    }

    pub fn verifier(&self) -> LogVerifier {
        LogVerifier {
            name: self.origin.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The checkpoint of a tree, as the signed note text served at `/log/checkpoint`.
    pub fn sign_checkpoint(&self, size: u64, root: Hash) -> Result<String, TlogError> {
        let checkpoint = Checkpoint::new(&self.origin, size, root, "")
            .map_err(|e| TlogError::Checkpoint(e.to_string()))?;
        self.sign_note(&checkpoint.to_bytes())
    }

    /// Any note text signed with the log key (the checkpoint, and the tests' vectors).
    pub fn sign_note(&self, text: &[u8]) -> Result<String, TlogError> {
        let mut note = Note::new(text, &[]).map_err(|e| TlogError::Checkpoint(e.to_string()))?;
        note.add_sigs(&[self])
            .map_err(|e| TlogError::Checkpoint(e.to_string()))?;
        String::from_utf8(note.to_bytes()).map_err(|e| TlogError::Checkpoint(e.to_string()))
    }
}

impl signed_note::Signer for LogKey {
    fn name(&self) -> &str {
        &self.origin
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, ed25519_dalek::SignatureError> {
        Ok(self.key.sign(msg).to_bytes().to_vec())
    }
}

/// Parses a note verifier key, `<name>+<id hex>+<base64(alg ‖ Ed25519 public key)>`, for the
/// signature type `alg`, checking that the id is the one the name and key give.
pub(crate) fn parse_verifier_key(
    vkey: &str,
    alg: u8,
) -> Result<(String, u32, VerifyingKey), TlogError> {
    let bad = || TlogError::VerifierKey(vkey.to_owned());
    let (name, rest) = vkey.split_once('+').ok_or_else(bad)?;
    let (id_hex, key_b64) = rest.split_once('+').ok_or_else(bad)?;
    if !signed_note::is_key_name_valid(name) || id_hex.len() != 8 {
        return Err(bad());
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad())?;
    let raw = BASE64.decode(key_b64).map_err(|_| bad())?;
    match raw.split_first() {
        Some((&first, _)) if first == alg => {}
        _ => return Err(bad()),
    }
    let key: &[u8; 32] = raw[1..].try_into().map_err(|_| bad())?;
    let key = VerifyingKey::from_bytes(key).map_err(|_| bad())?;
    if signed_note::key_id(name, &raw) != id {
        return Err(bad());
    }
    Ok((name.to_owned(), id, key))
}

/// A log's public key, as a note verifier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl LogVerifier {
    /// Parses a note verifier key, `<name>+<id hex>+<base64(0x01 ‖ Ed25519 public key)>`, and checks
    /// that the id is the one the name and key give.
    pub fn parse(vkey: &str) -> Result<Self, TlogError> {
        let (name, id, key) = parse_verifier_key(vkey, ALG_ED25519)?;
        Ok(LogVerifier { name, id, key })
    }

    /// The origin the key signs for.
    pub fn origin(&self) -> &str {
        &self.name
    }

    pub fn to_key_string(&self) -> String {
        signed_note::new_ed25519_verifier_key(&self.name, &self.key)
    }

    /// Opens a signed checkpoint: the note must carry this key's valid signature, and its origin must
    /// be the key's name. Other signatures (witnesses') are left for the caller to check.
    pub fn open_checkpoint(&self, note: &str) -> Result<SignedCheckpoint, TlogError> {
        let parsed =
            Note::from_bytes(note.as_bytes()).map_err(|e| TlogError::Checkpoint(e.to_string()))?;
        parsed
            .verify(&VerifierList::new(vec![Box::new(self.clone())]))
            .map_err(|e| TlogError::Checkpoint(format!("the log's signature: {e}")))?;
        let checkpoint = Checkpoint::from_bytes(parsed.text())
            .map_err(|e| TlogError::Checkpoint(e.to_string()))?;
        if checkpoint.origin() != self.name {
            return Err(TlogError::CheckpointOrigin {
                found: checkpoint.origin().to_owned(),
                expected: self.name.clone(),
            });
        }
        Ok(SignedCheckpoint {
            size: checkpoint.size(),
            root: *checkpoint.hash(),
            text: String::from_utf8_lossy(parsed.text()).into_owned(),
            note: note.to_owned(),
        })
    }
}

impl signed_note::Verifier for LogVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
            return false;
        };
        self.key.verify_strict(msg, &sig).is_ok()
    }
}

/// A checkpoint whose log signature held.
#[derive(Clone, Debug, PartialEq)]
pub struct SignedCheckpoint {
    pub size: u64,
    pub root: Hash,
    /// The checkpoint's text (what the signatures sign).
    pub text: String,
    /// The whole signed note, as received.
    pub note: String,
}

fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut encoded = vec![ALG_ED25519];
    encoded.extend_from_slice(key.as_bytes());
    signed_note::key_id(name, &encoded)
}
