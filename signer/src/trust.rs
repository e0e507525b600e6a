//! The chain of trust: authority root keys → manufacturer certificates → signed codes, minus revocations.

use ed25519_dalek::VerifyingKey;

use crate::cert::{CertError, Certificate};
use crate::code::SignedCode;
use crate::gs1::Gtin;
use crate::keys::KeyId;
use crate::revocation::{Revocation, RevocationError, RevocationList, RevocationReason};
use crate::timestamp::Timestamp;

/// The two instants a check needs. They differ online: the registry knows when a code was registered
/// (the certificate had to be valid then), while revocations apply as of now. Offline, with no
/// registration time to go by, both are now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckTimes {
    /// When the code is known to have existed: its certificate must have been valid at that instant.
    pub issued_at: Timestamp,
    /// The instant the answer is for: revocations effective at or before it count.
    pub now: Timestamp,
}

impl CheckTimes {
    pub fn offline(now: Timestamp) -> Self {
        CheckTimes {
            issued_at: now,
            now,
        }
    }
}

/// Why a code is not trusted. Each is a distinct verdict for the people scanning.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("no certified manufacturer key has id {0}")]
    UnknownKey(KeyId),
    #[error("the signature does not match the code: forged or altered")]
    BadSignature,
    #[error("GTIN {gtin} is outside the company prefixes certified to {manufacturer}")]
    GtinOutsidePrefixes { gtin: Gtin, manufacturer: String },
    #[error("the manufacturer's certificate was not valid yet at {at} (valid from {from})")]
    CertificateNotYetValid { at: Timestamp, from: Timestamp },
    #[error("the manufacturer's certificate had expired at {at} (valid until {until})")]
    CertificateExpired { at: Timestamp, until: Timestamp },
    #[error(
        "the signing key was reported compromised on {since}; codes signed with it are not trusted"
    )]
    KeyCompromised { since: Timestamp },
}

impl VerifyError {
    /// Stable machine code for the verdict.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::UnknownKey(_) => "unknown_key",
            VerifyError::BadSignature => "bad_signature",
            VerifyError::GtinOutsidePrefixes { .. } => "gtin_outside_prefixes",
            VerifyError::CertificateNotYetValid { .. } => "certificate_not_yet_valid",
            VerifyError::CertificateExpired { .. } => "certificate_expired",
            VerifyError::KeyCompromised { .. } => "key_compromised",
        }
    }
}

/// A code whose signature and certificate check out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified<'a> {
    pub certificate: &'a Certificate,
    /// Set when the manufacturer has been decertified (effective at or before `now`): the code is
    /// authentic, but no new codes of this maker may be registered.
    pub decertified: Option<&'a Revocation>,
}

/// Trusted authority keys, the certificates they issued, and the revocation list in force.
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    roots: Vec<VerifyingKey>,
    certificates: Vec<Certificate>,
    revocations: Option<RevocationList>,
}

impl TrustStore {
    pub fn new(roots: Vec<VerifyingKey>) -> Self {
        TrustStore {
            roots,
            ..Self::default()
        }
    }

    pub fn roots(&self) -> &[VerifyingKey] {
        &self.roots
    }

    /// Adds a certificate after checking the authority signed it. Adding the same one twice is a no-op.
    pub fn add_certificate(&mut self, cert: Certificate) -> Result<(), CertError> {
        cert.verify_issuer(&self.roots)?;
        if !self.certificates.contains(&cert) {
            self.certificates.push(cert);
        }
        Ok(())
    }

    /// Puts a revocation list in force after checking its signature; an older list than the one in
    /// force is refused.
    pub fn set_revocations(&mut self, list: RevocationList) -> Result<(), RevocationError> {
        list.verify_issuer(&self.roots)?;
        if let Some(current) = &self.revocations {
            if list.sequence() < current.sequence() {
                return Err(RevocationError::Stale {
                    offered: list.sequence(),
                    current: current.sequence(),
                });
            }
            // Loading the list in force again is harmless; another list under its number is not.
            if list.sequence() == current.sequence() && &list != current {
                return Err(RevocationError::Conflicting {
                    sequence: list.sequence(),
                });
            }
        }
        self.revocations = Some(list);
        Ok(())
    }

    pub fn revocations(&self) -> Option<&RevocationList> {
        self.revocations.as_ref()
    }

    pub fn certificates(&self) -> &[Certificate] {
        &self.certificates
    }

    /// Certificates for the key with this id (a key may hold several, e.g. during a renewal).
    pub fn certificates_for(&self, key_id: KeyId) -> impl Iterator<Item = &Certificate> {
        self.certificates
            .iter()
            .filter(move |c| c.key_id() == key_id)
    }

    fn revocation(&self, cert: &Certificate, now: Timestamp) -> Option<&Revocation> {
        self.revocations
            .as_ref()
            .and_then(|l| l.revocation_of(cert, now))
    }

    /// Checks a code completely: key known, signature valid (strict), GTIN inside the certificate's
    /// prefixes, certificate valid at `times.issued_at`, key not compromised as of `times.now`.
    pub fn check_code(
        &self,
        code: &SignedCode,
        times: CheckTimes,
    ) -> Result<Verified<'_>, VerifyError> {
        let cert = self
            .certificates_for(code.key_id)
            .next()
            .ok_or(VerifyError::UnknownKey(code.key_id))?;
        code.verify(cert.public_key())
            .map_err(|_| VerifyError::BadSignature)?;
        self.check_signed_code(code, times)
    }

    /// Everything [`TrustStore::check_code`] checks except the signature itself, for callers that have
    /// verified it already (in a batch, or at registration).
    pub fn check_signed_code(
        &self,
        code: &SignedCode,
        times: CheckTimes,
    ) -> Result<Verified<'_>, VerifyError> {
        let mut certs = self.certificates_for(code.key_id).peekable();
        let first = *certs.peek().ok_or(VerifyError::UnknownKey(code.key_id))?;
        let covering: Vec<&Certificate> = certs.filter(|c| c.covers(&code.part.gtin)).collect();
        if covering.is_empty() {
            return Err(VerifyError::GtinOutsidePrefixes {
                gtin: code.part.gtin,
                manufacturer: first.body().manufacturer_id.clone(),
            });
        }
        // A compromised key taints every code it signed, whatever certificate vouches for it.
        if let Some(r) = covering
            .iter()
            .filter_map(|c| self.revocation(c, times.now))
            .find(|r| r.reason == RevocationReason::KeyCompromise)
        {
            return Err(VerifyError::KeyCompromised {
                since: r.effective_at,
            });
        }
        let mut last_err = None;
        let mut decertified_match = None;
        for cert in covering {
            match cert.check_validity(times.issued_at) {
                Ok(()) => match self.revocation(cert, times.now) {
                    None => {
                        return Ok(Verified {
                            certificate: cert,
                            decertified: None,
                        });
                    }
                    Some(r) => decertified_match = decertified_match.or(Some((cert, r))),
                },
                Err(CertError::NotYetValid(from)) => {
                    last_err = Some(VerifyError::CertificateNotYetValid {
                        at: times.issued_at,
                        from,
                    })
                }
                Err(_) => {
                    last_err = Some(VerifyError::CertificateExpired {
                        at: times.issued_at,
                        until: cert.body().not_after,
                    })
                }
            }
        }
        match (decertified_match, last_err) {
            (Some((certificate, r)), _) => Ok(Verified {
                certificate,
                decertified: Some(r),
            }),
            (None, Some(e)) => Err(e),
            (None, None) => Err(VerifyError::UnknownKey(code.key_id)),
        }
    }
}
