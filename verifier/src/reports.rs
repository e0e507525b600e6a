//! Public reports of suspect parts, as the JSON endpoint (`POST /reports`) and the owner page's form
//! take them alike.
//!
//! A report is kept under its own random id (none can overwrite another), for the manufacturer the
//! registry names ([`registry::Registry::report_recipient`]), with the verdict its sender saw,
//! judged again here rather than taken from the sender, and the label's key id and signature when
//! the report came from a scanned label: a forged label's are what its maker needs to trace it.

use registry::{Registry, RegistryError, Report};
use signer::{SignedCode, Timestamp};

use crate::verdict::{self, Scan, Verdict};

/// What a report is about: the scanned label, or typed numbers.
pub enum Subject {
    Scanned(String),
    Typed { gtin: String, serial: String },
}

/// A report as its sender gives it.
pub struct Submitted {
    pub subject: Subject,
    pub text: String,
    pub contact: Option<String>,
    /// A coarse region, from a trusted proxy only.
    pub region: Option<String>,
}

/// Why a report was not kept.
#[derive(Debug)]
pub enum NotKept {
    /// The code cannot be read.
    BadCode(String),
    /// No certified manufacturer makes the GTIN, so nobody can receive it.
    NoRecipient,
    /// Empty or oversized text or contact.
    Invalid(String),
}

/// A kept report: its id and the verdict its sender saw.
pub struct Filed {
    pub id: String,
    pub verdict: Verdict,
}

/// Judges the code as its sender saw it, finds the manufacturer, and keeps the report. Blocking
/// (store writes, and Ed25519 for a label the registry does not hold).
pub fn file(
    registry: &Registry,
    report: Submitted,
    now: Timestamp,
) -> Result<Result<Filed, NotKept>, RegistryError> {
    let (verdict, key, label) = match &report.subject {
        Subject::Scanned(uri) => {
            let link = match verdict::named_link(uri) {
                Ok(link) => link,
                Err(e) => return Ok(Err(NotKept::BadCode(e.to_string()))),
            };
            let key = registry::CodeKey::of(&link.part);
            let verdict = match verdict::judge_scan(registry, uri, now)? {
                Scan::Judged(verdict, _) => *verdict,
                Scan::NeedsSignature(code) => verdict::judge_signature(registry, &code, now),
            };
            let label = SignedCode::parse(uri)
                .ok()
                .map(|code| (code.key_id, code.signature));
            (verdict, key, label)
        }
        Subject::Typed { gtin, serial } => {
            let (verdict, key) = verdict::judge_typed(registry, gtin, serial, now)?;
            let key = match key {
                Some(key) => key,
                None => match registry::CodeKey::parse(gtin, serial) {
                    Ok(key) => key,
                    Err(e) => return Ok(Err(NotKept::BadCode(e.to_string()))),
                },
            };
            (verdict, key, None)
        }
    };
    let Some(manufacturer) = registry.report_recipient(&key)? else {
        return Ok(Err(NotKept::NoRecipient));
    };
    let kept = Report {
        id: String::new(),
        key,
        manufacturer,
        at: now,
        text: report.text,
        contact: report.contact.filter(|c| !c.trim().is_empty()),
        region: report.region,
        verdict: Some(verdict.verdict.to_owned()),
        key_id: label.map(|l| l.0),
        signature: label.map(|l| l.1),
    };
    if let Err(why) = kept.validate_text() {
        return Ok(Err(NotKept::Invalid(why.to_string())));
    }
    let id = registry.add_report(kept)?;
    if verdict.verdict == "forged" {
        tracing::warn!(report = %id, "a forged label was reported");
    }
    Ok(Ok(Filed { id, verdict }))
}
