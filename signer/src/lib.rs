//! Signed part codes and the manufacturer chain of trust: the bottom of partseal.
//!
//! A certified part carries a **signed code**: its GS1 identity ([`PartId`]: GTIN-14, optional lot,
//! serial) signed with Ed25519 by its manufacturer, printed as a GS1 Digital Link URI that a phone opens
//! as a web link:
//!
//! ```text
//! https://verify.example.cn/01/06901234567892/10/L2026A/21/X7K2P9QD4MABC?k=<key id>&s=<signature>
//! ```
//!
//! The certification authority vouches for each manufacturer key with a [`Certificate`] naming the GS1
//! company prefixes it may sign for, and withdraws trust with a [`RevocationList`]. A [`TrustStore`]
//! puts the three together and answers whether a code is genuine ([`TrustStore::check_code`]).
//!
//! | module | what lives there |
//! |---|---|
//! | [`gs1`] | GTIN, lot, serial, company prefix, SSCC: validated GS1 values; random serial generation |
//! | [`code`] | the signed message, the URI writer and the strict, bounded parser; carton links (`/00/`) |
//! | [`keys`] | key ids; PKCS#8 / SPKI PEM key files written atomically with safe modes |
//! | [`cert`], [`revocation`] | the authority's signed statements and their deterministic encodings |
//! | `statement` | what those two share: the authority's signature that ends each, over a domain tag |
//! | [`trust`] | the verification rules |
//! | [`manifest`], [`batch`] | the JSON Lines batch manifest and parallel batch signing |
//!
//! `docs/code-format.md` in the repository is the normative format description; `tests/vectors/`
//! holds the test vectors every implementation must reproduce.
//!
//! ```
//! use signer::{BaseUrl, Certificate, CertificateBody, CheckTimes, CompanyPrefix, Gtin, PartId, Serial,
//!              SignedCode, Timestamp, TrustStore, keys};
//!
//! let authority = keys::generate();
//! let maker = keys::generate();
//! let now = Timestamp::parse("2026-11-22T08:00:00Z").unwrap();
//! let cert = Certificate::issue(CertificateBody {
//!     serial: 1,
//!     manufacturer_id: "acme-brakes".into(),
//!     legal_name: "广州某某汽车零部件有限公司".into(),
//!     public_key: maker.verifying_key(),
//!     prefixes: vec![CompanyPrefix::parse("690123").unwrap()],
//!     not_before: now,
//!     not_after: now.plus_days(365),
//! }, &authority).unwrap();
//!
//! let part = PartId {
//!     gtin: Gtin::parse("06901234567892").unwrap(),
//!     lot: None,
//!     serial: Serial::random(&mut rand::rngs::OsRng),
//! };
//! let uri = SignedCode::sign(part, &maker).to_uri(&BaseUrl::parse("https://verify.example.cn").unwrap());
//!
//! let mut trust = TrustStore::new(vec![authority.verifying_key()]);
//! trust.add_certificate(cert).unwrap();
//! let scanned = SignedCode::parse(&uri).unwrap();
//! let verified = trust.check_code(&scanned, CheckTimes::offline(now.plus_days(1))).unwrap();
//! assert_eq!(verified.certificate.body().manufacturer_id, "acme-brakes");
//! ```

pub mod batch;
pub mod cert;
pub mod code;
pub mod error;
pub mod gs1;
pub mod keys;
pub mod manifest;
pub mod revocation;
mod statement;
pub mod timestamp;
pub mod trust;
pub mod wire;

pub use cert::{CertError, Certificate, CertificateBody};
pub use code::{BaseUrl, CartonLink, DigitalLink, PartId, SignedCode, signed_message};
pub use error::{Field, ParseError, Problem};
pub use gs1::{CompanyPrefix, Gtin, Lot, Serial, Sscc};
pub use keys::KeyId;
pub use manifest::{ManifestEntry, ManifestError, ManifestReader};
pub use revocation::{Revocation, RevocationError, RevocationList, RevocationReason};
pub use timestamp::Timestamp;
pub use trust::{CheckTimes, TrustStore, Verified, VerifyError};

/// Re-exported so dependants name the same Ed25519 types.
pub use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
