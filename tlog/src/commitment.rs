//! Keys, lookup tags and commitments derived from a label's signature (`docs/transparency-log.md`).
//!
//! Everything about a code in the log is keyed on its label's signature σ, which only those who have
//! seen the label know. HMAC-SHA256 throughout; keys are given at HMAC's block size (64 bytes, the
//! 32-byte code key zero-padded, exactly as RFC 2104 pads a short key), so no key length can fail.

use std::fmt;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use rand_core::CryptoRngCore;
use sha2::Sha256;

/// Bytes of an entry's salt.
pub const SALT_LEN: usize = 32;

const CODE_KEY_LABEL: &[u8] = b"partseal/tlog/v1 code key";
const TAG_LABEL: &[u8] = b"partseal/tlog/v1 tag";
const COMMIT_LABEL: &[u8] = b"partseal/tlog/v1 commit";

/// A lookup tag: which entries are one code's, for whoever knows its label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub [u8; 32]);

/// A commitment to one event of one code, opened only with its [`Opening`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Commitment(pub [u8; 32]);

/// The code key `k` derived from a label's signature. It opens nothing alone (each commitment also
/// needs its salt), but it links a code's entries, so it is as secret as the signature.
#[derive(Clone)]
pub struct LabelKey([u8; 32]);

impl fmt::Debug for LabelKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LabelKey(..)")
    }
}

/// What a commitment hides: the code, the event's stored encoding, and the entry's salt.
#[derive(Clone, PartialEq, Eq)]
pub struct Opening {
    pub salt: [u8; SALT_LEN],
    /// The code's identity as the registry keys it (GTIN and serial).
    pub code: Vec<u8>,
    /// The event's stored encoding.
    pub event: Vec<u8>,
}

impl fmt::Debug for Opening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The salt is what keeps an entry closed to label holders: never in a log line.
        f.debug_struct("Opening")
            .field("code_len", &self.code.len())
            .field("event_len", &self.event.len())
            .finish_non_exhaustive()
    }
}

impl Opening {
    /// An opening with a fresh random salt.
    pub fn new(rng: &mut impl CryptoRngCore, code: Vec<u8>, event: Vec<u8>) -> Self {
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        Opening { salt, code, event }
    }
}

impl LabelKey {
    /// `k = HMAC-SHA256(σ, "partseal/tlog/v1 code key")`.
    pub fn from_signature(signature: &[u8; 64]) -> Self {
        LabelKey(hmac(signature, &[CODE_KEY_LABEL]))
    }

    /// `t(n)`: the tag of the code's `n`-th event (0 is its registration).
    pub fn tag(&self, n: u32) -> Tag {
        Tag(hmac(&self.block_key(), &[TAG_LABEL, &n.to_be_bytes()]))
    }

    /// The commitment to one opened event.
    pub fn commit(&self, opening: &Opening) -> Commitment {
        Commitment(hmac(
            &self.block_key(),
            &[
                COMMIT_LABEL,
                &opening.salt,
                &len_prefix(&opening.code),
                &opening.code,
                &len_prefix(&opening.event),
                &opening.event,
            ],
        ))
    }

    fn block_key(&self) -> [u8; 64] {
        let mut key = [0u8; 64];
        key[..32].copy_from_slice(&self.0);
        key
    }
}

/// Four bytes big-endian; a code or an event beyond 4 GiB does not exist, and saturating keeps the
/// function total (such input would be refused long before it got here).
fn len_prefix(bytes: &[u8]) -> [u8; 4] {
    u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes()
}

fn hmac(key: &[u8; 64], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new(key.into());
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}
