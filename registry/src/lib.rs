//! The chain-of-custody registry: which codes certified manufacturers issued, where each part has
//! been, and which codes show the marks of a cloned label.
//!
//! A [`Registry`] sits on a [`Store`] at a [`Location`] (an embedded data directory by default, or
//! a PostgreSQL database that several processes share) and holds the rules:
//!
//! - **Registration** ([`Registry::register`], [`register_manifest`]): each signed code is checked
//!   against the trust state (certificate, prefixes, revocation) and its signature (batch
//!   verification), then stored once per GTIN + serial. Re-sending is idempotent; a different
//!   signature for a registered code is a conflict.
//! - **Custody events** ([`Registry::submit`]): GS1 CBV steps, append-only, each carrying the hash of
//!   the code's previous event. A [`Submission`] carries what the party presented: a scanned label,
//!   which must be the registered one ([`Registry::label_status`] says whether it is), typed
//!   numbers, or no label for the manufacturer's own acts. Only the part's holder moves it; a
//!   scanned label where the part cannot be is evidence and flags the code `duplicate_suspected`;
//!   typed numbers and non-holders' attempts are kept as claims for the manufacturer ([`custody`],
//!   `docs/custody-rules.md`).
//! - **Cartons and pallets** ([`Registry::pack_carton`], [`Registry::ship_carton`],
//!   [`Registry::receive_carton`], [`Registry::unpack_carton`]): a packing record under an SSCC;
//!   moving the carton records each code's own event, judged by the same rules, all codes or none.
//!   Only the holder of every part inside packs, ships or unpacks it.
//! - **Public scans** ([`Registry::record_scan`]): bounded aggregates that can raise `scan_anomaly`,
//!   counted in memory and written behind ([`Registry::write_scans`]).
//! - **Operations**: [`audit`](Registry::audit) checks every chain and index; backup and restore.
//! - **Storage faults**: a write the store cannot make fails with a [`Fault`] (full, or
//!   unavailable) while reads go on; [`Registry::writable`] says whether writes go through and gives
//!   the store its chance to recover once the device takes writes again. An interrupted manifest
//!   ([`Interrupted`]) says exactly which lines are stored.
//!
//! | module | what lives there |
//! |---|---|
//! | [`key`], [`vin`], [`party`] | code keys, VINs, party ids: validated values |
//! | [`parties`] | parties, their API tokens (stored as hashes), public reports |
//! | [`notices`] | what a business hears when another party moved a part it had |
//! | [`notes`] | the manufacturer's notes on its codes, kept beside their history |
//! | [`sessions`] | browser sessions, kept in the store so every replica knows them |
//! | [`lots`] | a manufacturer's lots as its dashboard counts them |
//! | [`carton`] | a carton's packing record: the codes and cartons it holds, who packed it |
//! | [`event`] | events, their encoding and hash chain |
//! | [`custody`] | custody states, how a party relates to a part, and who may move it |
//! | `rules` | how one event changes a record; replay for corrections and the audit |
//! | [`record`] | the per-code record and its flags |
//! | [`register`] | registration and manifest streaming |
//! | [`scans`] | public scan contexts and aggregates |
//! | `scan_cache` | recently scanned codes' aggregates, counted in memory and written behind |
//! | [`error`] | what the registry refuses: typed reasons with stable codes |
//! | [`registry`](mod@registry) | the [`Registry`]: its state, locking, durability; one module per job (trust, recalls, labels, custody events and corrections, queries, public scans, alerts, reports, accounts, browser sessions) |
//! | [`audit`] | the end-to-end check of chains and indexes |
//! | [`epcis`] | a code's history as a GS1 EPCIS 2.0 JSON-LD document |
//! | [`epcis_capture`] | EPCIS 2.0 capture: partners' events mapped onto the custody rules, parties' EPCIS ids |
//! | [`store`] | the store and its table layout on any engine; where a store is ([`Location`]); the engines |
//!
//! All methods block; from async code call them in `tokio::task::spawn_blocking`.
//!
//! ```
//! use registry::{Action, CodeKey, PartyId, Registry, RegistryConfig, Submission, Vin};
//! use signer::{Certificate, CertificateBody, CompanyPrefix, DigitalLink, Gtin, PartId, Serial,
//!              SignedCode, Timestamp, keys};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let registry = Registry::open(dir.path(), RegistryConfig::default()).unwrap();
//! let now = Timestamp::parse("2026-11-22T08:00:00Z").unwrap();
//! let (authority, maker) = (keys::generate(), keys::generate());
//! let cert = Certificate::issue(CertificateBody {
//!     serial: 1,
//!     manufacturer_id: "acme-brakes".into(),
//!     legal_name: "Acme Brakes".into(),
//!     public_key: maker.verifying_key(),
//!     prefixes: vec![CompanyPrefix::parse("690123").unwrap()],
//!     not_before: now,
//!     not_after: now.plus_days(365),
//! }, &authority).unwrap();
//! registry.add_root(authority.verifying_key(), now).unwrap();
//! registry.add_certificate(cert, now).unwrap();
//!
//! let part = PartId { gtin: Gtin::parse("06901234567892").unwrap(), lot: None,
//!                     serial: Serial::parse("X7K2P9QD4M").unwrap() };
//! let code = SignedCode::sign(part.clone(), &maker);
//! let results = registry.register(&[code.clone()], None, now).unwrap();
//! assert_eq!(results[0].code(), "registered");
//!
//! let key = CodeKey::of(&part);
//! let shop = PartyId::parse("shop-1").unwrap();
//! // The shop scans the label; the registry compares it with the registered one.
//! let label = DigitalLink::parse(&code.path_and_query()).unwrap();
//! let scanned = |action| Submission::scanned(action, label.clone());
//! registry.submit(&key, &shop, scanned(Action::Receive), now).unwrap();
//! let vin = Vin::parse("LSVAU218XN2183294").unwrap();
//! registry.submit(&key, &shop, scanned(Action::Install { vin }), now).unwrap();
//! // A clone of the label turns up at another shop:
//! let other = PartyId::parse("shop-2").unwrap();
//! let recorded = registry.submit(&key, &other, scanned(Action::Receive), now).unwrap();
//! assert!(recorded.explanation.is_some());
//! assert!(!registry.status(&key).unwrap().unwrap().record.flags.duplicate.is_empty());
//! ```

pub mod audit;
pub mod carton;
pub mod custody;
pub mod epcis;
pub mod epcis_capture;
pub mod error;
pub mod event;
pub mod key;
pub mod lots;
pub mod notes;
pub mod notices;
pub mod parties;
pub mod party;
pub mod record;
pub mod register;
pub mod registry;
mod rules;
mod scan_cache;
pub mod scans;
pub mod sessions;
pub mod store;
pub mod vin;

pub use audit::AuditReport;
pub use custody::{ConflictKind, Custody, Decision, Relation};
pub use epcis::history_document;
pub use error::{
    CartonError, CorrectionError, NotAllowed, ResolutionError, TextError, TextField, TrustRefused,
};
pub use event::{Action, Basis, Event, GenuineCopy, Outcome, Resolution, Step};
pub use key::CodeKey;
pub use lots::{LotSummary, Lots};
pub use notes::AlertNote;
pub use notices::{Notice, NoticeKind};
pub use parties::{AuthError, IssuedToken, Party, Report, Role, TokenRecord};
pub use party::PartyId;
pub use record::{CodeRecord, Copies, Evidence, Flags, LotRecall, ScanAnomaly};
pub use register::{
    Interrupted, RegisterOptions, Registration, Rejection, Summary, register_manifest,
    register_manifest_with,
};
pub use registry::{
    AlsoChanged, CodeMoved, CodeStatus, History, LabelStatus, Presented, Recorded, Registry,
    RegistryConfig, RegistryError, ScannedLabel, Submission, VehicleAnswer,
};
pub use scans::{ScanContext, ScanPolicy, ScanStats};
pub use sessions::{SessionRecord, session_key};
pub use store::{Caches, Create, Fault, Location, RecordCacheStats, Store, StoreError, StoreStats};
pub use vin::Vin;
