//! What the registry refuses, and why: one [`RegistryError`] whose variants carry the data a caller
//! needs (the code, the party, the event, the field), each with a stable [`RegistryError::code`]
//! and a message that says what was wrong and where.
//!
//! The service maps these to HTTP answers in one place (`verifier/src/error.rs`); the CLI prints
//! them.

use std::fmt;

use signer::{CertError, Gtin, ManifestError, RevocationError, Sscc, Timestamp};

use crate::event::{MAX_TEXT_LEN, Outcome, Step};
use crate::key::CodeKey;
use crate::party::PartyId;
use crate::store::{Fault, StoreError};
use crate::vin::Vin;

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("code {0} is not registered")]
    NotRegistered(CodeKey),
    /// A scanned label that is not the one registered for its code: nothing is stored.
    #[error(
        "the label scanned for code {0} is not the registered one (its signature differs): the \
         label may be forged"
    )]
    LabelMismatch(CodeKey),
    #[error("no party {0} is registered to ship to")]
    UnknownRecipient(PartyId),
    /// A custody move submitted with no label and no numbers.
    #[error("{} moves a part: name it by its scanned label or its typed numbers", .0.as_str())]
    LabelNeeded(Step),
    #[error(transparent)]
    NotAllowed(#[from] NotAllowed),
    #[error(transparent)]
    Carton(#[from] CartonError),
    #[error("cannot correct: {0}")]
    InvalidCorrection(#[from] CorrectionError),
    #[error(transparent)]
    InvalidResolution(#[from] ResolutionError),
    /// An install into a VIN whose check digit does not verify, not confirmed.
    #[error(
        "the check digit (character 9) of VIN {0} does not verify: compare it with the vehicle's \
         registration certificate and confirm it"
    )]
    VinNotConfirmed(Vin),
    #[error(transparent)]
    Text(#[from] TextError),
    /// The install of a recalled part, without the shop's override: the recall's reason.
    #[error("this part is recalled: {0}")]
    Recalled(String),
    #[error("trust state refused: {0}")]
    Trust(#[from] TrustRefused),
    #[error("party {0} already exists")]
    PartyExists(PartyId),
    #[error("no party {0}")]
    NoSuchParty(PartyId),
    #[error("party {0} is revoked")]
    PartyRevoked(PartyId),
    #[error("no token {0}")]
    NoSuchToken(String),
    /// The manifest's input could not be read (the lines before were registered). Boxed: an I/O
    /// error with its line is larger than every other reason.
    #[error(transparent)]
    ManifestUnreadable(Box<ManifestError>),
    /// The manifest's writer thread ended without an answer (it panicked).
    #[error("the registration writer stopped unexpectedly")]
    WriterStopped,
}

impl RegistryError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            RegistryError::Store(_) => "storage",
            RegistryError::NotRegistered(_) => "not_registered",
            RegistryError::LabelMismatch(_) => "code_mismatch",
            RegistryError::UnknownRecipient(_) => "unknown_party",
            RegistryError::LabelNeeded(_) => "label_needed",
            RegistryError::NotAllowed(_) => "not_allowed",
            RegistryError::Carton(why) => why.code(),
            RegistryError::InvalidCorrection(_) => "invalid_correction",
            RegistryError::InvalidResolution(_) => "invalid_resolution",
            RegistryError::VinNotConfirmed(_) => "vin_check_digit",
            RegistryError::Text(_) => "text_out_of_bounds",
            RegistryError::Recalled(_) => "recalled",
            RegistryError::Trust(_) => "trust_refused",
            RegistryError::PartyExists(_) => "party_exists",
            RegistryError::NoSuchParty(_) => "no_such_party",
            RegistryError::PartyRevoked(_) => "party_revoked",
            RegistryError::NoSuchToken(_) => "no_such_token",
            RegistryError::ManifestUnreadable(_) => "invalid_manifest",
            RegistryError::WriterStopped => "internal",
        }
    }

    /// The storage fault behind this error (full, or unavailable), if it is one.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            RegistryError::Store(store) => store.fault(),
            _ => None,
        }
    }
}

/// Why a carton's packing, move or unpacking is refused: nothing of it is stored. Messages name
/// only what the caller sent or may know (its own carton, its own codes), never who holds a part.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CartonError {
    #[error("carton {0} would hold nothing: name the codes or cartons to pack")]
    Empty(Sscc),
    /// More contents, or more codes moved, than a carton move takes ([`crate::carton`]).
    #[error("{found} {what} in one carton request; at most {limit} are taken")]
    TooLarge {
        what: &'static str,
        found: usize,
        limit: usize,
    },
    #[error("cartons nest at most {0} deep")]
    TooDeep(usize),
    #[error("no carton {0} is packed")]
    Unknown(Sscc),
    #[error("carton {0} is already packed; unpack it first to pack it again")]
    Exists(Sscc),
    #[error("{0} is named twice in one packing")]
    CodeTwice(CodeKey),
    #[error("carton {0} is named twice in one packing")]
    CartonTwice(Sscc),
    #[error("{0} is already packed in a carton: unpack it first")]
    CodeAlreadyPacked(CodeKey),
    #[error("carton {0} is already packed in another carton: unpack that one first")]
    CartonAlreadyPacked(Sscc),
    #[error("carton {0} cannot hold itself")]
    Cycle(Sscc),
    /// A certified maker packs only under its own GS1 company prefixes.
    #[error("SSCC {sscc} is not under a GS1 company prefix certified to {party}")]
    NotTheirPrefix { sscc: Sscc, party: PartyId },
    /// The caller does not hold every part in the carton.
    #[error("you do not hold every part in carton {0}: nothing was recorded")]
    NotHolder(Sscc),
    #[error("carton {0} is packed in another carton: move or unpack that one")]
    Nested(Sscc),
    /// Unpacking named contents: one of them is not packed directly in the carton.
    #[error("{what} is not packed directly in carton {carton}: nothing was taken out")]
    NotInside { carton: Sscc, what: String },
    /// An undo of a carton's receiving names an event that is not that receiving.
    #[error("event {event} of {key} is not a receiving of carton {sscc}: nothing was undone")]
    NotItsReceiving {
        sscc: Sscc,
        key: CodeKey,
        event: u32,
    },
    /// One code's correction in an undo of a carton's receiving is refused, so the whole undo is.
    #[error("cannot undo carton {sscc}'s receiving: for {key}, {why}; nothing was undone")]
    UndoRefused {
        sscc: Sscc,
        key: CodeKey,
        /// Boxed: it would make every registry error larger.
        why: Box<CorrectionError>,
    },
}

impl CartonError {
    pub fn code(&self) -> &'static str {
        match self {
            CartonError::Empty(_) => "carton_empty",
            CartonError::TooLarge { .. } => "carton_too_large",
            CartonError::TooDeep(_) => "carton_too_deep",
            CartonError::Unknown(_) => "unknown_carton",
            CartonError::Exists(_) => "carton_exists",
            CartonError::CodeTwice(_) | CartonError::CartonTwice(_) => "packed_twice",
            CartonError::CodeAlreadyPacked(_) | CartonError::CartonAlreadyPacked(_) => {
                "already_packed"
            }
            CartonError::Cycle(_) => "carton_cycle",
            CartonError::NotTheirPrefix { .. } => "sscc_prefix",
            CartonError::NotHolder(_) => "not_holder",
            CartonError::Nested(_) => "carton_nested",
            CartonError::NotInside { .. } => "not_in_carton",
            CartonError::NotItsReceiving { .. } => "not_its_receiving",
            CartonError::UndoRefused { .. } => "invalid_correction",
        }
    }
}

/// An act only someone else may record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NotAllowed {
    /// Decommissioning, recalling and resolving are the code's manufacturer's.
    #[error("only the code's manufacturer may record {}", .0.as_str())]
    ManufacturerOnly(Step),
    /// A lot recall by a party no certificate names for the GTIN.
    #[error("{party} holds no certificate for GTIN {}", .gtin.as_str())]
    NotCertified { party: PartyId, gtin: Gtin },
    /// A note on a code by a party that did not register it.
    #[error("{0} did not register this code")]
    NotTheMaker(PartyId),
}

/// Why a correction (event `corrects` declared erroneous by its author) is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CorrectionError {
    #[error("the code has no event {0} to correct (registration, event 0, cannot be corrected)")]
    NoSuchEvent(u32),
    #[error("event {0} was recorded by another party; only its author may correct it")]
    AnotherAuthor(u32),
    #[error("event {corrects} is a {}, which cannot itself be corrected", .step.as_str())]
    NotCorrectable { corrects: u32, step: Step },
    #[error("event {corrects} is older than the {days}-day correction window (it closed {closed})")]
    WindowClosed {
        corrects: u32,
        days: i64,
        closed: Timestamp,
    },
    #[error("event {0} has already been corrected")]
    AlreadyCorrected(u32),
    /// A later event of another party would change outcome without the corrected one.
    #[error(
        "event {event} ({}, {}) was recorded by another party after event {corrects} and depends \
         on it: without event {corrects} it would be {}",
        .step.as_str(),
        .at.date(),
        .then.map_or("left out", |o| o.as_str())
    )]
    DependedOn {
        corrects: u32,
        event: u32,
        step: Step,
        at: Timestamp,
        /// Its outcome without the corrected event (`None`: left out of the history).
        then: Option<Outcome>,
    },
}

/// Why the manufacturer's resolution of a code's alert is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolutionError {
    #[error("a resolution needs a note saying what the investigation found")]
    NoNote,
    #[error("a genuine resolution (a false alarm) names no genuine copy")]
    GenuineNamesACopy,
    #[error(
        "a counterfeit resolution must say which copy is genuine: a vehicle, a holder, or that \
         none is known"
    )]
    NoGenuineCopy,
    #[error(
        "the history of this code records no such vehicle or holder; name one its events record, \
         or that none is known"
    )]
    GenuineCopyUnknown,
}

/// A free text the registry keeps, each with its bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextField {
    /// The reason or note of an event of this step.
    Step(Step),
    /// A lot recall's reason.
    RecallReason,
    /// A manufacturer's note on a code, and the dashboard action it was written with.
    Note,
    NoteAction,
    PartyName,
    PartyRegion,
    ReportText,
    ReportContact,
    /// A report's id: 16 hex digits.
    ReportId,
}

impl TextField {
    /// Whether `text` is empty where the field must say something.
    fn missing(self, text: &str) -> bool {
        match self {
            TextField::PartyName | TextField::ReportText => text.trim().is_empty(),
            TextField::NoteAction => text.is_empty(),
            _ => false,
        }
    }

    /// The most bytes kept.
    pub fn max(self) -> usize {
        match self {
            TextField::Step(_) | TextField::RecallReason | TextField::Note => MAX_TEXT_LEN,
            TextField::NoteAction => crate::notes::MAX_ACTION_LEN,
            TextField::PartyName => crate::parties::MAX_NAME_LEN,
            TextField::PartyRegion => crate::parties::MAX_REGION_LEN,
            TextField::ReportText => crate::parties::MAX_REPORT_LEN,
            TextField::ReportContact => crate::parties::MAX_CONTACT_LEN,
            TextField::ReportId => 16,
        }
    }

    /// Checks `text` against the field's bounds.
    pub fn check(self, text: &str) -> Result<(), TextError> {
        if text.len() > self.max() || self.missing(text) {
            return Err(TextError {
                field: self,
                len: text.len(),
            });
        }
        Ok(())
    }

    /// Checks an optional text: nothing given is within bounds.
    pub fn check_given(self, text: Option<&str>) -> Result<(), TextError> {
        text.map_or(Ok(()), |text| self.check(text))
    }
}

/// A text outside its field's bounds: too long, or empty where something must be said.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub struct TextError {
    pub field: TextField,
    /// The text's length in bytes.
    pub len: usize,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (len, max) = (self.len, self.field.max());
        match self.field {
            TextField::Step(step) => write!(
                f,
                "the {} text is {len} bytes; at most {max} are kept",
                step.as_str()
            ),
            TextField::RecallReason => {
                write!(
                    f,
                    "the recall reason is {len} bytes; at most {max} are kept"
                )
            }
            TextField::Note => write!(f, "the note is {len} bytes; at most {max} are kept"),
            TextField::NoteAction => write!(f, "a note's action is 1 to {max} bytes"),
            TextField::PartyName => write!(f, "the name must be 1 to {max} bytes"),
            TextField::PartyRegion => write!(f, "the region must be at most {max} bytes"),
            TextField::ReportText => write!(f, "the report text must be 1 to {max} bytes"),
            TextField::ReportContact => write!(f, "the contact must be at most {max} bytes"),
            TextField::ReportId => write!(f, "a report id is {max} hex digits"),
        }
    }
}

/// A change of the trust state its authority's rules refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrustRefused {
    #[error(transparent)]
    Certificate(#[from] CertError),
    #[error(transparent)]
    Revocations(#[from] RevocationError),
}
