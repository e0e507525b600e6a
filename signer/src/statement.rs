//! What the authority's signed statements ([`crate::Certificate`], [`crate::RevocationList`])
//! share: the encoded statement ends in the authority's Ed25519 signature over the statement's
//! domain tag and the bytes before the signature. The tag keeps a signature on one kind of
//! statement from passing as the other.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::keys::KeyId;

/// The Ed25519 signature that ends every statement.
const SIGNATURE_LEN: usize = 64;

/// `unsigned` followed by `authority`'s signature over `domain` and `unsigned`.
pub(crate) fn sign(domain: &[u8], mut unsigned: Vec<u8>, authority: &SigningKey) -> Vec<u8> {
    let signature = authority.sign(&[domain, &unsigned].concat());
    unsigned.extend_from_slice(&signature.to_bytes());
    unsigned
}

/// Why a statement's signature is not the authority's; each statement says it in its own error.
pub(crate) enum Refused {
    /// No key of the roots has the statement's issuer id.
    UnknownIssuer,
    /// The issuer's signature does not verify.
    BadSignature,
}

/// Checks that the key of `roots` whose id is `issuer` signed `encoded` (as [`sign`] made it)
/// under `domain`. Strict, like code signatures: one statement has exactly one valid encoding and
/// signature.
pub(crate) fn verify(
    domain: &[u8],
    encoded: &[u8],
    issuer: KeyId,
    roots: &[VerifyingKey],
) -> Result<(), Refused> {
    let root = roots
        .iter()
        .find(|k| KeyId::of(k) == issuer)
        .ok_or(Refused::UnknownIssuer)?;
    let unsigned_len = encoded
        .len()
        .checked_sub(SIGNATURE_LEN)
        .ok_or(Refused::BadSignature)?;
    let (unsigned, signature) = encoded.split_at(unsigned_len);
    let signature = Signature::from_slice(signature).map_err(|_| Refused::BadSignature)?;
    root.verify_strict(&[domain, unsigned].concat(), &signature)
        .map_err(|_| Refused::BadSignature)
}
