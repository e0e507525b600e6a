//! The witness's rules (c2sp.org/tlog-witness) and its cosignatures (c2sp.org/tlog-cosignature,
//! `cosignature/v1`): pure, so `partseal witness` only keeps the state on disk and speaks HTTP.
//!
//! A witness remembers, per log, the latest checkpoint it cosigned. It cosigns a new one only with a
//! proof that the new tree extends the remembered one, so it never cosigns two checkpoints that are
//! not consistent: a log that forks, or shrinks, is refused, and whoever holds the cosignatures of
//! both sides can show the fork.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use signed_note::{Note, VerifierList};

use crate::checkpoint::{LogVerifier, SignedCheckpoint, parse_verifier_key};
use crate::error::TlogError;
use crate::tree::{self, Hash};

/// The note signature type of cosignature/v1 keys.
const ALG_COSIGNATURE_V1: u8 = 0x04;

/// What the witness remembers of one log: the tree it last cosigned.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WitnessedTree {
    pub size: u64,
    pub root: Hash,
}

/// Why a witness refuses an `add-checkpoint` request, with the HTTP status tlog-witness gives it.
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// 400: not a request the witness can read, or an old size beyond the checkpoint's.
    Malformed(String),
    /// 404: a checkpoint of a log (an origin) the witness does not witness.
    UnknownOrigin(String),
    /// 403: no valid signature of the origin's log key (or a signature of it that fails).
    UnknownLog(String),
    /// 409: the old size is not the size the witness knows; the body is the known size.
    Conflict { known: u64 },
    /// 422: the proof does not show the new tree extends the known one (a fork), or an empty tree
    /// whose root is not the empty tree's.
    NotConsistent,
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::Malformed(_) => 400,
            Refusal::UnknownLog(_) => 403,
            Refusal::UnknownOrigin(_) => 404,
            Refusal::Conflict { .. } => 409,
            Refusal::NotConsistent => 422,
        }
    }
}

impl std::fmt::Display for Refusal {
    /// The refusal's text, as the witness answers it: what was wrong with the request.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Malformed(why) => write!(f, "malformed request: {why}"),
            Refusal::UnknownOrigin(origin) => write!(f, "unknown log origin `{origin}`"),
            Refusal::UnknownLog(why) => write!(f, "no valid signature of the log's key: {why}"),
            Refusal::Conflict { known } => write!(f, "{known}"),
            Refusal::NotConsistent => f.write_str(
                "the checkpoint is not consistent with the one this witness cosigned last \
                 (a forked or rewritten log, or a bad proof)",
            ),
        }
    }
}

/// An `add-checkpoint` request's body: `old <size>`, the consistency proof's hashes one a line
/// (base64), a blank line, then the signed checkpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct AddCheckpoint {
    pub old_size: u64,
    pub proof: Vec<Hash>,
    pub checkpoint: String,
}

impl AddCheckpoint {
    pub fn to_body(&self) -> String {
        let mut out = format!("old {}\n", self.old_size);
        for h in &self.proof {
            out.push_str(&BASE64.encode(h.0));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// The checkpoint's origin (its first line), which names the log the request is for.
    pub fn origin(&self) -> &str {
        self.checkpoint.lines().next().unwrap_or_default()
    }

    pub fn parse(body: &str) -> Result<Self, Refusal> {
        let bad = |why: &str| Refusal::Malformed(why.to_owned());
        let (head, checkpoint) = body
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.lines();
        let old_size = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .filter(|n| !n.is_empty() && (*n == "0" || !n.starts_with('0')))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad("the first line is not `old <size>`"))?;
        let proof = lines
            .map(|l| {
                BASE64
                    .decode(l)
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .map(Hash)
                    .ok_or_else(|| bad("a proof line is not a base64 hash"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if proof.len() > 63 {
            return Err(bad("a consistency proof has at most 63 hashes"));
        }
        Ok(AddCheckpoint {
            old_size,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

/// A witness's key and the rules it cosigns by.
pub struct Witness {
    name: String,
    key: SigningKey,
    id: u32,
}

impl Witness {
    pub fn new(name: &str, key: SigningKey) -> Result<Self, TlogError> {
        if !signed_note::is_key_name_valid(name) {
            return Err(TlogError::Origin(name.to_owned()));
        }
        let id = cosigner_id(name, &key.verifying_key());
        Ok(Witness {
            name: name.to_owned(),
            key,
            id,
        })
    }

    /// `<name>+<key id hex>+<base64(0x04 ‖ public key)>`.
    pub fn verifier_key(&self) -> String {
        cosigner_key_string(&self.name, &self.key.verifying_key())
    }

    pub fn verifier(&self) -> CosignatureVerifier {
        CosignatureVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// Decides an `add-checkpoint` request against `known` (what the witness last cosigned for
    /// this log, `None` before the first). On success: the tree to remember, and the cosignature
    /// line to answer with (`— <name> <base64(key id ‖ time ‖ signature)>`).
    pub fn add_checkpoint(
        &self,
        log: &LogVerifier,
        known: Option<WitnessedTree>,
        request: &AddCheckpoint,
        now_secs: u64,
    ) -> Result<(WitnessedTree, String), Refusal> {
        // In tlog-witness's order: the signature, the sizes, then the trees.
        if request.origin() != log.origin() {
            return Err(Refusal::UnknownOrigin(request.origin().to_owned()));
        }
        let signed: SignedCheckpoint = log
            .open_checkpoint(&request.checkpoint)
            .map_err(|e| Refusal::UnknownLog(e.to_string()))?;
        if request.old_size > signed.size {
            return Err(Refusal::Malformed(format!(
                "old size {} is beyond the checkpoint's size {}: a tree cannot shrink",
                request.old_size, signed.size
            )));
        }
        let known_size = known.map_or(0, |k| k.size);
        if request.old_size != known_size {
            return Err(Refusal::Conflict { known: known_size });
        }
        if signed.size == 0 && signed.root != tree::empty_root() {
            return Err(Refusal::NotConsistent);
        }
        match known {
            Some(known) => tree::check_consistency(
                &request.proof,
                signed.size,
                signed.root,
                known.size,
                known.root,
            )
            .map_err(|_| Refusal::NotConsistent)?,
            // The empty tree extends to any tree without a proof; a proof given is a bad one.
            None if !request.proof.is_empty() => return Err(Refusal::NotConsistent),
            None => {}
        }
        let line = self.cosign(&signed.text, now_secs);
        Ok((
            WitnessedTree {
                size: signed.size,
                root: signed.root,
            },
            line,
        ))
    }

    /// The cosignature line over a checkpoint's text at `time`.
    pub fn cosign(&self, checkpoint_text: &str, time: u64) -> String {
        let signature = self
            .key
            .sign(&cosigned_message(checkpoint_text.as_bytes(), time));
        let mut blob = self.id.to_be_bytes().to_vec();
        blob.extend_from_slice(&time.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        format!("— {} {}\n", self.name, BASE64.encode(blob))
    }
}

/// The origin's name in a witness's monitoring path (`/<origin hash>/checkpoint`): SHA-256 of the
/// origin, lowercase hex.
pub fn origin_hash(origin: &str) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(origin.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What a cosignature/v1 signs: a header line, the time, then the checkpoint's text.
fn cosigned_message(text: &[u8], time: u64) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {time}\n").into_bytes();
    msg.extend_from_slice(text);
    msg
}

fn cosigner_id(name: &str, key: &VerifyingKey) -> u32 {
    let mut encoded = vec![ALG_COSIGNATURE_V1];
    encoded.extend_from_slice(key.as_bytes());
    signed_note::key_id(name, &encoded)
}

fn cosigner_key_string(name: &str, key: &VerifyingKey) -> String {
    let mut encoded = vec![ALG_COSIGNATURE_V1];
    encoded.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        signed_note::key_id(name, &encoded),
        BASE64.encode(encoded)
    )
}

/// A witness's public key, checking its cosignatures on a note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl CosignatureVerifier {
    /// Parses `<name>+<id hex>+<base64(0x04 ‖ Ed25519 public key)>`, checking the id.
    pub fn parse(vkey: &str) -> Result<Self, TlogError> {
        let (name, id, key) = parse_verifier_key(vkey, ALG_COSIGNATURE_V1)?;
        Ok(CosignatureVerifier { name, id, key })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `<name>+<key id hex>+<base64(0x04 ‖ public key)>`, as parsed.
    pub fn to_key_string(&self) -> String {
        cosigner_key_string(&self.name, &self.key)
    }

    /// The lines of a witness's `add-checkpoint` answer that are this witness's valid cosignatures
    /// of `note` (the checkpoint sent); lines of other keys, and bad ones, are left out.
    pub fn valid_lines(&self, note: &str, answer: &str) -> Vec<String> {
        answer
            .lines()
            .filter(|line| line.starts_with("— "))
            .map(|line| format!("{line}\n"))
            .filter(|line| self.cosigned(&format!("{note}{line}")).is_ok())
            .collect()
    }

    /// Whether `note` (a signed checkpoint) carries this witness's valid cosignature.
    pub fn cosigned(&self, note: &str) -> Result<(), TlogError> {
        let parsed =
            Note::from_bytes(note.as_bytes()).map_err(|e| TlogError::Checkpoint(e.to_string()))?;
        parsed
            .verify(&VerifierList::new(vec![Box::new(self.clone())]))
            .map(|_| ())
            .map_err(|e| TlogError::Checkpoint(format!("witness {}: {e}", self.name)))
    }
}

impl signed_note::Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }
    fn key_id(&self) -> u32 {
        self.id
    }
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Some((time, sig)) = sig.split_first_chunk::<8>() else {
            return false;
        };
        let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
            return false;
        };
        let msg = cosigned_message(msg, u64::from_be_bytes(*time));
        self.key.verify_strict(&msg, &sig).is_ok()
    }
}
