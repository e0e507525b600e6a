//! The verdict a scan gets: one of a fixed set, each with a machine code, a severity, a sentence
//! for people, and the evidence behind it.
//!
//! | code | severity | when |
//! |---|---|---|
//! | `genuine` | ok | registered, signature matches, nothing against it |
//! | `genuine_installed` | warning | genuine, but already installed in a vehicle: not a new part |
//! | `duplicate_suspected` | danger | custody events impossible for one part: a cloned label |
//! | `copies_known` | danger | the manufacturer found copies of this label; only one part is genuine |
//! | `scan_anomaly` | warning | a part scanned from more networks than where it is makes plausible |
//! | `recalled` | danger | the manufacturer recalled the part or its lot |
//! | `voided` | danger | the manufacturer voided the code; no genuine part carries it |
//! | `destroyed` | danger | the part was recorded destroyed; a part carrying it is a copy |
//! | `issuer_revoked` | danger | the signing key was reported compromised |
//! | `forged` | danger | bad signature, unknown key, or GTIN outside the maker's certificate |
//! | `unregistered` | warning | a valid signature (or typed numbers) with no registered part |
//! | `registered_numbers` | info | typed numbers of a registered part with nothing against it: the label itself was not checked |
//! | `data_error` | info | the input is malformed: check the code (most are typing or scanner errors) |
//!
//! Where several apply, the first in this order wins: forged, issuer revoked, voided, destroyed,
//! duplicate suspected, copies known, recalled, scan anomaly, installed, genuine.
//!
//! A typed lookup never reads as a checked label: where a scan would say `genuine` or
//! `genuine_installed`, typed numbers get `registered_numbers` (numbers can be copied from a
//! photo), and `signature_checked` is false.
//!
//! The public answer names no vehicle, token or party: custody is summarised by role and region.
//!
//! A registered code's signature was verified when it was registered, so the registry only
//! compares the scanned label with the registered one ([`Registry::label_status`]); Ed25519 runs
//! only for labels the registry does not hold.

use registry::{
    CodeKey, CodeStatus, Custody, GenuineCopy, LabelStatus, Registry, RegistryError, Role,
};
use serde::Serialize;
use signer::{
    CheckTimes, DigitalLink, Field, ParseError, Problem, SignedCode, Timestamp, TrustStore,
    VerifyError,
};
use utoipa::openapi::{RefOr, Schema, Type, schema::ObjectBuilder};
use utoipa::{PartialSchema, ToSchema};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    Info,
    Warning,
    Danger,
}

/// Every verdict code, in the documented order.
pub const VERDICTS: [&str; 13] = [
    "genuine",
    "genuine_installed",
    "duplicate_suspected",
    "copies_known",
    "scan_anomaly",
    "recalled",
    "voided",
    "destroyed",
    "issuer_revoked",
    "forged",
    "unregistered",
    "registered_numbers",
    "data_error",
];

/// The verdict codes, [`VERDICTS`], as a string enum.
pub struct VerdictCode;

impl PartialSchema for VerdictCode {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(VERDICTS))
            .description(Some(
                "The verdict, in order of precedence when several apply: forged, \
                 issuer_revoked, voided, destroyed, duplicate_suspected, copies_known, recalled, \
                 scan_anomaly, genuine_installed, genuine; unregistered, registered_numbers (typed \
                 numbers of a registered part: the label itself was not checked) and data_error \
                 stand alone.",
            ))
            .into()
    }
}

impl ToSchema for VerdictCode {}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Verdict {
    /// One of [`VERDICTS`].
    #[schema(value_type = VerdictCode)]
    pub verdict: &'static str,
    pub severity: Severity,
    /// True only for `genuine` and `genuine_installed`.
    pub genuine: bool,
    /// What it means, for the person holding the part.
    pub message: String,
    /// What to do about it, for warning and danger verdicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<&'static str>,
    /// False for typed lookups (GTIN + serial): the label's signature was not seen.
    pub signature_checked: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For `recalled`: why the manufacturer recalled the part or its lot, in its words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recall_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<PartInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<ManufacturerInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custody: Option<CustodySummary>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceItem>,
    /// With `receipt=1` on a scanned label: the code's latest event as the public transparency
    /// log holds it, opened, with its proofs and the signed checkpoint (`docs/transparency-log.md`;
    /// `partseal verify --receipt` checks it offline). Absent until the log holds an event of the
    /// code, and for typed numbers (a receipt is checked with the label's signature).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub receipt: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct PartInfo {
    /// What the part is ("Front brake pad"), as its manufacturer's manifest named it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub gtin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lot: Option<String>,
    pub serial: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct ManufacturerInfo {
    pub id: String,
    pub legal_name: String,
    /// Certified now (not revoked, certificate in its validity window).
    pub certified: bool,
    pub certificate_valid_until: String,
}

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct CustodySummary {
    /// at_manufacturer, held, in_transit, installed, destroyed, voided
    pub state: &'static str,
    pub since: String,
    pub summary: String,
    /// Whether a change of custody is recorded since registration. False: nobody recorded the
    /// part leaving its manufacturer, which a page says in those words rather than "at the
    /// manufacturer" (a part in an owner's hand was moved; it was not recorded).
    pub moved: bool,
}

/// The kinds of [`EvidenceItem`] a verdict lists besides the registry's conflict kinds
/// ([`registry::ConflictKind::code`]). The pages have words for each (a test checks), so a new
/// kind belongs here too.
pub const FLAG_EVIDENCE: [&str; 4] = ["copies_known", "scan_anomaly", "recalled", "lot_recalled"];

#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct EvidenceItem {
    pub kind: &'static str,
    pub at: String,
    pub explanation: String,
}

const ADVICE_DANGER: &str = "Do not accept or fit this part. Keep it and its packaging, ask the seller where it came from, and report it below.";
/// A recalled part is genuine: the owner needs a replacement, not a counterfeit report.
const ADVICE_RECALLED: &str =
    "Do not fit this part. Contact the seller or the shop about a replacement.";
const ADVICE_WARNING: &str = "Be careful: ask the seller about this part before you accept it, and report it if the answer does not convince you.";

impl Verdict {
    fn new(verdict: &'static str, severity: Severity, message: impl Into<String>) -> Self {
        Verdict {
            verdict,
            severity,
            genuine: matches!(verdict, "genuine" | "genuine_installed"),
            message: message.into(),
            advice: match severity {
                Severity::Danger => Some(ADVICE_DANGER),
                Severity::Warning => Some(ADVICE_WARNING),
                _ => None,
            },
            signature_checked: true,
            reason: None,
            recall_reason: None,
            part: None,
            manufacturer: None,
            custody: None,
            evidence: Vec::new(),
            receipt: None,
        }
    }

    /// Malformed input: say "check the code", never "counterfeit".
    pub fn data_error(problem: &ParseError) -> Self {
        let mut v = Verdict::new(
            "data_error",
            Severity::Info,
            format!(
                "This code could not be read ({problem}). Check it: scan again, or compare what \
                 you typed with the label. A misread code does not mean the part is fake."
            ),
        );
        v.reason = Some(problem.code());
        v
    }

    fn forged(error: &VerifyError) -> Self {
        let message = match error {
            VerifyError::UnknownKey(_) => {
                "This label was not signed by any certified manufacturer. Treat the part as counterfeit."
            }
            VerifyError::GtinOutsidePrefixes { .. } => {
                "This label is signed by a certified manufacturer, but for a product it is not \
                 certified to make. Treat the part as counterfeit."
            }
            _ => {
                "The signature on this label does not match its code: it was forged or altered. \
                  Treat the part as counterfeit."
            }
        };
        let mut v = Verdict::new("forged", Severity::Danger, message);
        v.reason = Some(error.code().to_owned());
        v
    }
}

fn date(t: Timestamp) -> String {
    registry::custody::date(t)
}

/// What a scan needs next: its verdict already, or a signature check.
pub enum Scan {
    Judged(Box<Verdict>, Option<CodeKey>),
    /// The registry does not hold this exact code: Ed25519 must decide between forged and
    /// unregistered ([`judge_signature`], CPU work for the blocking pool).
    NeedsSignature(SignedCode),
}

/// The verdict for a scanned label (the URI from the QR, or its path and query) as far as the
/// registry can give it without Ed25519: one read for a registered code.
pub fn judge_scan(registry: &Registry, input: &str, now: Timestamp) -> Result<Scan, RegistryError> {
    let code = match SignedCode::parse(input) {
        Ok(code) => code,
        Err(e) => return Ok(Scan::Judged(Box::new(unreadable(input, &e)), None)),
    };
    match registry.label_status((&code).into())? {
        LabelStatus::Registered(status) => {
            let trust = registry.trust();
            let verdict = registered(registry, &trust, &code, &status, now, true)?;
            Ok(Scan::Judged(Box::new(verdict), Some(status.key)))
        }
        // Unknown to the registry, or not the label it registered under this GTIN and serial.
        LabelStatus::NotThisLabel | LabelStatus::NotRegistered => Ok(Scan::NeedsSignature(code)),
    }
}

/// The verdict for a code the registry does not hold: the signature decides.
pub fn judge_signature(registry: &Registry, code: &SignedCode, now: Timestamp) -> Verdict {
    let mut v = match registry.trust().check_code(code, CheckTimes::offline(now)) {
        Err(e @ VerifyError::KeyCompromised { .. }) => revoked(&e),
        Err(e) => Verdict::forged(&e),
        Ok(_) => Verdict::new(
            "unregistered",
            Severity::Warning,
            "The label's signature is valid, but its manufacturer never registered this part. It \
             may be new stock not yet registered, or a label printed outside the manufacturer's \
             records.",
        ),
    };
    v.part = Some(part_info(code));
    v
}

/// The verdict for typed GTIN and serial (the camera failed): the registry's word, without the
/// label's signature.
pub fn judge_typed(
    registry: &Registry,
    gtin: &str,
    serial: &str,
    now: Timestamp,
) -> Result<(Verdict, Option<CodeKey>), RegistryError> {
    let parsed = signer::Gtin::parse(gtin.trim())
        .and_then(|g| signer::Serial::parse(serial.trim()).map(|s| (g, s)));
    let (gtin, serial) = match parsed {
        Ok(p) => p,
        Err(e) => return Ok((Verdict::data_error(&e), None)),
    };
    let key = CodeKey::new(&gtin, &serial);
    let Some(status) = registry.status(&key)? else {
        let mut v = Verdict::new(
            "unregistered",
            Severity::Warning,
            "No registered part has this GTIN and serial. Check the numbers against the label; \
             if they are right, this is not a registered certified part.",
        );
        v.signature_checked = false;
        v.part = Some(PartInfo {
            name: None,
            gtin: gtin.as_str().to_owned(),
            lot: None,
            serial: serial.as_str().to_owned(),
        });
        return Ok((v, None));
    };
    let code = SignedCode {
        part: signer::PartId {
            gtin,
            lot: status.record.lot.clone(),
            serial,
        },
        key_id: status.record.key_id,
        signature: status.record.signature,
    };
    let trust = registry.trust();
    let mut v = registered(registry, &trust, &code, &status, now, false)?;
    v.signature_checked = false;
    if v.genuine {
        // The numbers are a registered part's, but numbers can be copied from a photo: never the
        // answer a checked label gets.
        let installed = v.verdict == "genuine_installed";
        v.verdict = "registered_numbers";
        v.severity = Severity::Info;
        v.genuine = false;
        v.advice = None;
        v.message = format!(
            "These numbers belong to a registered part{}, but the label itself was not \
             checked: scan its QR code, or compare the numbers printed on it.",
            if installed {
                " recorded as installed in a vehicle"
            } else {
                ""
            }
        );
    }
    Ok((v, Some(key)))
}

fn revoked(e: &VerifyError) -> Verdict {
    let mut v = Verdict::new(
        "issuer_revoked",
        Severity::Danger,
        "The manufacturer's signing key was reported stolen, so labels signed with it can no \
         longer prove a part genuine.",
    );
    v.reason = Some(e.code().to_owned());
    v
}

/// The verdict for a label the strict parser refused: can't read, unless all that is wrong is a
/// signature spelled with stray bits. Such a label was altered (a misread never produces a full
/// signature's worth of valid characters), like a changed middle character, which parses and
/// fails Ed25519: both are a label the maker did not sign, and both are forged.
fn unreadable(input: &str, e: &ParseError) -> Verdict {
    if e.field != Field::Signature || e.problem != Problem::NonCanonical {
        return Verdict::data_error(e);
    }
    let mut v = Verdict::forged(&VerifyError::BadSignature);
    v.part = named_link(input).ok().map(|link| PartInfo {
        name: None,
        gtin: link.part.gtin.as_str().to_owned(),
        lot: link.part.lot.as_ref().map(|l| l.as_str().to_owned()),
        serial: link.part.serial.as_str().to_owned(),
    });
    v
}

/// The Digital Link a scanned label is: its part, and its key id and signature where readable. A
/// signature spelled with stray bits is left out, so that a report can still name the part the
/// forged label claims to be.
pub fn named_link(input: &str) -> Result<DigitalLink, ParseError> {
    DigitalLink::parse(input).or_else(|e| {
        if e.field == Field::Signature && e.problem == Problem::NonCanonical {
            DigitalLink::parse(input.split_once('?').map_or(input, |(path, _)| path))
        } else {
            Err(e)
        }
    })
}

fn part_info(code: &SignedCode) -> PartInfo {
    PartInfo {
        name: None,
        gtin: code.part.gtin.as_str().to_owned(),
        lot: code.part.lot.as_ref().map(|l| l.as_str().to_owned()),
        serial: code.part.serial.as_str().to_owned(),
    }
}

/// The verdict for a registered code whose signature is the registered one.
fn registered(
    registry: &Registry,
    trust: &TrustStore,
    code: &SignedCode,
    status: &CodeStatus,
    now: Timestamp,
    signature_seen: bool,
) -> Result<Verdict, RegistryError> {
    let record = &status.record;
    // The certificate had to be valid at registration; revocations apply as of now. No signature
    // check: registration verified this exact signature.
    let times = CheckTimes {
        issued_at: record.registered_at,
        now,
    };
    let manufacturer = match trust.check_signed_code(code, times) {
        Err(e @ VerifyError::KeyCompromised { .. }) => {
            let mut v = revoked(&e);
            v.part = Some(part_info(code));
            return Ok(v);
        }
        Err(e) => {
            let mut v = Verdict::forged(&e);
            v.part = Some(part_info(code));
            return Ok(v);
        }
        Ok(verified) => {
            let body = verified.certificate.body();
            ManufacturerInfo {
                id: body.manufacturer_id.clone(),
                legal_name: body.legal_name.clone(),
                certified: verified.decertified.is_none()
                    && verified.certificate.check_validity(now).is_ok(),
                certificate_valid_until: date(body.not_after),
            }
        }
    };
    let flags = &record.flags;
    let custody = &record.custody;
    let mut v = match &custody.custody {
        Custody::Voided => Verdict::new(
            "voided",
            Severity::Danger,
            format!(
                "The manufacturer voided this code on {}: no genuine part carries it.",
                date(custody.since)
            ),
        ),
        Custody::Destroyed => Verdict::new(
            "destroyed",
            Severity::Danger,
            format!(
                "The part with this code was destroyed on {}. A part carrying it now has a \
                 copied label.",
                date(custody.since)
            ),
        ),
        _ if !flags.duplicate.is_empty() => Verdict::new(
            "duplicate_suspected",
            Severity::Danger,
            "This code has been recorded in places one part cannot be at once: copies of its \
             label are in circulation, and this part may be one of them.",
        ),
        _ if flags.copies.is_some() => Verdict::new(
            "copies_known",
            Severity::Danger,
            match (&custody.custody, flags.copies.as_ref().map(|c| &c.genuine)) {
                (Custody::Installed { .. }, Some(GenuineCopy::Vehicle(_))) => {
                    "The manufacturer found copies of this label: the genuine part with this code \
                     is fitted to a vehicle. If this part was sold to you, it is a copy. If it is \
                     fitted to your car, check your VIN below."
                }
                (_, Some(GenuineCopy::Unknown)) => {
                    "The manufacturer found copies of this label and could not tell which part, \
                     if any, is genuine. Treat a part carrying it as a copy, and report where it \
                     came from."
                }
                _ => {
                    "The manufacturer found copies of this label: only one part carrying it is \
                     genuine, and its custody is recorded. Unless a certified business confirms \
                     this is that part, treat it as a copy."
                }
            },
        ),
        _ if flags.recalled.is_some() || status.lot_recall.is_some() => {
            let mut v = Verdict::new(
                "recalled",
                Severity::Danger,
                "The manufacturer has recalled this part. Do not fit it; return it to the seller.",
            );
            v.advice = Some(ADVICE_RECALLED);
            v.recall_reason = registry.recall_reason(&status.key, record)?;
            v
        }
        _ if flags.scan_anomaly.is_some() => Verdict::new(
            "scan_anomaly",
            Severity::Warning,
            "This part is genuine as registered, but its code has been scanned in unusually many \
             places, which can mean copies of its label exist.",
        ),
        Custody::Installed { .. } => Verdict::new(
            "genuine_installed",
            Severity::Warning,
            format!(
                "Genuine, but this part was installed in a vehicle on {}. If it is sold to you \
                 as new, do not accept it.",
                date(custody.since)
            ),
        ),
        _ => Verdict::new(
            "genuine",
            Severity::Ok,
            format!(
                "Genuine: made by {}, a certified manufacturer, and registered on {}.",
                manufacturer.legal_name,
                date(record.registered_at)
            ),
        ),
    };
    v.signature_checked = signature_seen;
    v.part = Some(PartInfo {
        name: record.name.clone(),
        ..part_info(code)
    });
    v.custody = Some(summarise(registry, status)?);
    v.manufacturer = Some(manufacturer);
    for e in &flags.duplicate {
        v.evidence.push(EvidenceItem {
            kind: e.kind.code(),
            at: date(e.at),
            explanation: e.explain(),
        });
    }
    if let Some(c) = &flags.copies {
        v.evidence.push(EvidenceItem {
            kind: "copies_known",
            at: date(c.at),
            explanation: "The manufacturer investigated and found copies of this label.".into(),
        });
    }
    if let Some(a) = &flags.scan_anomaly {
        v.evidence.push(EvidenceItem {
            kind: "scan_anomaly",
            at: date(a.at),
            explanation: a.explain(),
        });
    }
    if let Some((at, _)) = flags.recalled {
        v.evidence.push(EvidenceItem {
            kind: "recalled",
            at: date(at),
            explanation: "The manufacturer recalled this part.".into(),
        });
    }
    if let Some(recall) = &status.lot_recall {
        v.evidence.push(EvidenceItem {
            kind: "lot_recalled",
            at: date(recall.at),
            explanation: format!(
                "The manufacturer recalled this part's lot: {}",
                recall.reason
            ),
        });
    }
    Ok(v)
}

/// "Installed on 2026-10-03 by a certified shop in Guangdong": role and region, never the party.
fn summarise(registry: &Registry, status: &CodeStatus) -> Result<CustodySummary, RegistryError> {
    let custody = &status.record.custody;
    let since = date(custody.since);
    let who = |id: &registry::PartyId| -> Result<String, RegistryError> {
        Ok(match registry.party(id)? {
            Some(p) => {
                let role = match p.role {
                    Role::Manufacturer => "manufacturer",
                    Role::Distributor => "distributor",
                    Role::Shop => "shop",
                };
                match p.region {
                    Some(region) => format!("a certified {role} in {region}"),
                    None => format!("a certified {role}"),
                }
            }
            None => "a registered business".to_owned(),
        })
    };
    let summary = match &custody.custody {
        Custody::AtManufacturer if custody.since == status.record.registered_at => format!(
            "Registered by its manufacturer on {}; no movement recorded since.",
            date(status.record.registered_at)
        ),
        Custody::AtManufacturer => format!("Back with its manufacturer since {since}."),
        Custody::Held { by } => format!("Received by {} on {since}.", who(by)?),
        Custody::InTransit { to, .. } => format!("Shipped on {since} to {}.", who(to)?),
        Custody::Installed { by, .. } => {
            format!("Installed in a vehicle on {since} by {}.", who(by)?)
        }
        Custody::Destroyed => format!("Destroyed on {since}."),
        Custody::Voided => format!("Voided by its manufacturer on {since}."),
    };
    Ok(CustodySummary {
        state: custody.custody.name(),
        since,
        summary,
        moved: !matches!(custody.custody, Custody::AtManufacturer)
            || custody.since != status.record.registered_at,
    })
}
