//! A code's history as a GS1 EPCIS 2.0 JSON-LD document, so that partners' traceability systems and
//! regulators can read partseal custody data with standard tools.
//!
//! [`history_document`] turns a [`History`] into an `EPCISDocument` with one `ObjectEvent` per stored
//! event, commissioning first, in chain order; the export is checked against the official EPCIS 2.0
//! JSON Schema in `tests/epcis.rs`. Everything is a function of the history and the creation time
//! passed in: the clock is never read, so the same history always exports to the same bytes.
//!
//! | partseal | EPCIS |
//! |---|---|
//! | the code (GTIN + serial) | `epcList`: the canonical GS1 Digital Link URI `https://id.gs1.org/01/{gtin}/21/{serial}` |
//! | the event's chain hash | `eventID`: `ni:///sha-256;{hex}?ver=partseal-event-v1`. The `ni:` form of CBV 2.0 event hash IDs, but the version names partseal's own hash ([`Event::hash`]), not the CBV canonical hash, so no tool tries to recompute it with the CBV algorithm. IDs are unique per code and event, and stable across exports |
//! | event time | `eventTime` and `recordTime` (partseal records an event when it is reported), RFC 3339 UTC, `eventTimeZoneOffset` `+00:00` |
//! | step | `bizStep`: the CBV 2.0 name (commissioning, shipping, receiving, installing, removing, decommissioning, destroying). Recalling and resolving have no CBV step and get extension URIs, [`BIZ_STEP_RECALLING`] and [`BIZ_STEP_RESOLVING`], rather than `inspecting`, which would claim an inspection that did not happen |
//! | action | `ADD` for commissioning, `DELETE` for decommissioning and destroying, `OBSERVE` otherwise and for every event that repeated or conflicted with custody (it changed nothing) |
//! | custody | `disposition`, for events that took effect, where CBV has one: commissioning `active`, shipping `in_transit`, recalling `recalled`, decommissioning `inactive`, destroying `destroyed`; none otherwise |
//! | lot | `ilmd` `cbvmda:lotNumber` of the commissioning event (a prefix the EPCIS context defines) |
//! | shipment | `sourceList` / `destinationList` of type `possessing_party` (partseal tracks custody, not ownership), parties as `urn:partseal:party:{id}` |
//! | actor, VIN, texts, signature | extension fields `partseal:actor`, `partseal:vin`, `partseal:reason`, `partseal:resolution`, `partseal:note`, `partseal:keyId`, `partseal:signedCode` (the label's path and query, so the export can be checked against the certificate) |
//! | a carton's move | `partseal:carton`: the carton the event came through, as the SSCC's canonical GS1 Digital Link `https://id.gs1.org/00/{sscc}` (whose carton it is follows from its company prefix; packing records as `AggregationEvent`s are the EPCIS issue's) |
//! | hash chain | `partseal:seq`, and `partseal:prev`: the previous event's `eventID` (absent on commissioning) |
//! | outcome | `partseal:outcome` (`applied`, `repeated`, `conflict`); a conflict adds `partseal:conflict` (the kind's code) and `partseal:conflictsWith` (the contradicted event's `eventID`) |
//! | a correction | an EPCIS error declaration: a copy of the corrected event (same `eventID`, as EPCIS requires) with `recordTime` and `errorDeclaration.declarationTime` = the correction's time, `reason` [`ERROR_REASON`], and the correcting event's own chain data in `errorDeclaration` (`partseal:correction` = its ID, `partseal:seq`, `partseal:prev`, `partseal:actor`, `partseal:reason`). No `correctiveEventIDs`: a partseal correction retracts an event and names no replacement |
//! | a whole-lot recall | an `ObjectEvent` on the lot class (`quantityList` `epcClass` `https://id.gs1.org/01/{gtin}/10/{lot}`, no quantity: the count is not the point), bizStep [`BIZ_STEP_RECALLING`], disposition `recalled`, `eventID` `ni:///sha-256;{hex}?ver=partseal-lot-recall-v1` over the recall (the same in every code's export of the lot), placed among the events by time |
//!
//! The `partseal:` prefix is declared in the document's `@context` as [`PARTSEAL_NAMESPACE`].

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use signer::{Gtin, Lot, PartId, SignedCode, Timestamp};

use crate::event::{Action, Basis, Event, GenuineCopy, Hash, Outcome, Step, What};
use crate::key::{CodeKey, KeyError};
use crate::party::PartyId;
use crate::record::LotRecall;
use crate::registry::{History, Registry, Result};
use crate::store::StoreError;

/// The normative EPCIS 2.0 JSON-LD context.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
/// What the `partseal:` prefix of extension fields expands to.
pub const PARTSEAL_NAMESPACE: &str = "urn:partseal:epcis:";
/// Where canonical GS1 Digital Link URIs live (EPCIS 2.0 accepts them in place of EPC URNs).
pub const DIGITAL_LINK_BASE: &str = "https://id.gs1.org";
/// Parties are named `urn:partseal:party:{party id}`; ids are unique within one registry.
pub const PARTY_URN: &str = "urn:partseal:party:";
/// The business step of a recall (of a code or a lot): CBV 2.0 has none.
pub const BIZ_STEP_RECALLING: &str = "urn:partseal:epcis:BizStep-recalling";
/// The business step of a manufacturer settling a code's flags: CBV 2.0 has none.
pub const BIZ_STEP_RESOLVING: &str = "urn:partseal:epcis:BizStep-resolving";
/// The error reason of a correction. A partseal correction retracts the event: the registry replays
/// custody as if it had never been recorded, and no replacement is linked. That is CBV's
/// `did_not_occur`; `incorrect_data` would tell consumers the event happened and to look for
/// corrective events that do not exist.
pub const ERROR_REASON: &str = "did_not_occur";

const EVENT_ID_VERSION: &str = "partseal-event-v1";
const LOT_RECALL_ID_VERSION: &str = "partseal-lot-recall-v1";
const LOT_RECALL_DOMAIN: &[u8] = b"partseal-lot-recall-v1\0";

/// The EPCIS 2.0 document of a code's history, created at `created`.
///
/// Fails only on a malformed code key, which a stored history never has.
pub fn history_document(history: &History, created: Timestamp) -> Result<Value, KeyError> {
    let gtin = history.key.gtin()?;
    let code = PartId {
        gtin,
        lot: None,
        serial: history.key.serial()?,
    };
    let export = Export {
        history,
        epc: format!("{DIGITAL_LINK_BASE}{}", code.path()),
        code,
        ids: history
            .events
            .iter()
            .map(|e| (e.seq, event_id(&e.hash(&history.key), EVENT_ID_VERSION)))
            .collect(),
    };
    let mut events: Vec<Value> = history
        .events
        .iter()
        .map(|event| match &event.what {
            What::Action(Action::Correct { corrects, reason }) => {
                export.error_declaration(event, *corrects, reason)
            }
            _ => Value::Object(export.object_event(event)),
        })
        .collect();
    if let (Some(recall), Some(lot)) = (&history.lot_recall, &history.record.lot) {
        let at = history
            .events
            .iter()
            .position(|e| e.at > recall.at)
            .unwrap_or(events.len());
        events.insert(at, lot_recall_event(&gtin, lot, recall));
    }
    Ok(json!({
        "@context": [EPCIS_CONTEXT, { "partseal": PARTSEAL_NAMESPACE }],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": created.to_string(),
        "epcisBody": { "eventList": events },
    }))
}

impl Registry {
    /// The EPCIS 2.0 document of a code's history ([`history_document`]), created at `now`; `None`
    /// if the code was never registered.
    pub fn export_epcis(&self, key: &CodeKey, now: Timestamp) -> Result<Option<Value>> {
        let Some(history) = self.history(key)? else {
            return Ok(None);
        };
        let document =
            history_document(&history, now).map_err(|e| StoreError::corrupt("code key", e))?;
        Ok(Some(document))
    }
}

struct Export<'a> {
    history: &'a History,
    /// The code as an EPC (GS1 Digital Link URI).
    epc: String,
    code: PartId,
    /// Each event's sequence number and `eventID`.
    ids: Vec<(u32, String)>,
}

impl Export<'_> {
    fn id(&self, seq: u32) -> Option<&str> {
        self.ids
            .iter()
            .find(|(s, _)| *s == seq)
            .map(|(_, id)| id.as_str())
    }

    /// `partseal:seq` and `partseal:prev` of a chain event.
    fn chain_fields(&self, event: &Event, into: &mut Map<String, Value>) {
        into.insert("partseal:seq".into(), event.seq.into());
        if let Some(prev) = event.seq.checked_sub(1).and_then(|p| self.id(p)) {
            into.insert("partseal:prev".into(), prev.into());
        }
    }

    fn object_event(&self, event: &Event) -> Map<String, Value> {
        let step = event.step();
        let mut e = Map::new();
        e.insert("type".into(), "ObjectEvent".into());
        if let Some(id) = self.id(event.seq) {
            e.insert("eventID".into(), id.into());
        }
        times(event.at, &mut e);
        e.insert("epcList".into(), json!([self.epc]));
        // An event that only repeated custody or conflicted with it changed nothing: it is an
        // observation, whatever its step, so a reader that ignores partseal's fields does not
        // take a conflicting "destroying" for the code's end.
        let took_effect = event.outcome == Outcome::Applied;
        let action = if took_effect { action(step) } else { "OBSERVE" };
        e.insert("action".into(), action.into());
        e.insert("bizStep".into(), biz_step(step).into());
        if let Some(disposition) = disposition(step).filter(|_| took_effect) {
            e.insert("disposition".into(), disposition.into());
        }
        match &event.what {
            What::Commissioned(c) => {
                let signed = SignedCode {
                    part: PartId {
                        lot: c.lot.clone(),
                        ..self.code.clone()
                    },
                    key_id: c.key_id,
                    signature: c.signature,
                };
                e.insert("partseal:keyId".into(), c.key_id.to_base64().into());
                e.insert("partseal:signedCode".into(), signed.path_and_query().into());
                if let Some(lot) = &c.lot {
                    e.insert("ilmd".into(), json!({ "cbvmda:lotNumber": lot.as_str() }));
                }
            }
            What::Action(action) => match action {
                Action::Ship { to } => {
                    e.insert(
                        "sourceList".into(),
                        json!([{ "type": "possessing_party", "source": party(&event.actor) }]),
                    );
                    e.insert(
                        "destinationList".into(),
                        json!([{ "type": "possessing_party", "destination": party(to) }]),
                    );
                }
                Action::Install { vin } => {
                    e.insert("partseal:vin".into(), vin.as_str().into());
                }
                Action::Receive | Action::Remove { vin: None } => {}
                Action::Remove { vin: Some(vin) } => {
                    e.insert("partseal:vin".into(), vin.as_str().into());
                }
                Action::Decommission { reason }
                | Action::Destroy { reason }
                | Action::Recall { reason } => {
                    e.insert("partseal:reason".into(), reason.as_str().into());
                }
                // Only when the corrected event is missing from the history (see error_declaration).
                Action::Correct { corrects, reason } => {
                    e.insert("partseal:corrects".into(), (*corrects).into());
                    e.insert("partseal:reason".into(), reason.as_str().into());
                }
                Action::Resolve {
                    resolution,
                    genuine,
                    note,
                } => {
                    e.insert("partseal:resolution".into(), resolution.as_str().into());
                    match genuine {
                        Some(GenuineCopy::Vehicle(vin)) => {
                            e.insert("partseal:genuineVin".into(), vin.as_str().into());
                        }
                        Some(GenuineCopy::Holder(p)) => {
                            e.insert("partseal:genuineHolder".into(), party(p).into());
                        }
                        Some(GenuineCopy::Unknown) => {
                            e.insert("partseal:genuineKnown".into(), false.into());
                        }
                        None => {}
                    }
                    e.insert("partseal:note".into(), note.as_str().into());
                }
            },
        }
        e.insert("partseal:actor".into(), party(&event.actor).into());
        if let Some(sscc) = &event.carton {
            e.insert(
                "partseal:carton".into(),
                format!("{DIGITAL_LINK_BASE}{}", sscc.path()).into(),
            );
        }
        if event.basis != Basis::Legacy {
            e.insert("partseal:basis".into(), event.basis.as_str().into());
        }
        if event.recall_override {
            e.insert("partseal:recallOverride".into(), true.into());
        }
        if event.vin_confirmed {
            e.insert("partseal:vinConfirmed".into(), true.into());
        }
        self.chain_fields(event, &mut e);
        match event.outcome {
            Outcome::Applied | Outcome::Repeated => {}
            Outcome::Conflict { kind, with }
            | Outcome::Claim { kind, with }
            | Outcome::Refused { kind, with } => {
                e.insert("partseal:conflict".into(), kind.code().into());
                if let Some(with) = self.id(with) {
                    e.insert("partseal:conflictsWith".into(), with.into());
                }
            }
        }
        e.insert("partseal:outcome".into(), event.outcome.as_str().into());
        e
    }

    /// The error declaration a correction stands for: the corrected event again, declared
    /// erroneous at the correction's time, with the correction's own chain data inside.
    fn error_declaration(&self, correction: &Event, corrects: u32, reason: &str) -> Value {
        let Some(corrected) = self.history.events.iter().find(|e| e.seq == corrects) else {
            // The registry refuses such corrections; export what was stored rather than nothing.
            return Value::Object(self.object_event(correction));
        };
        let mut e = self.object_event(corrected);
        e.insert("recordTime".into(), correction.at.to_string().into());
        let mut declaration = Map::new();
        declaration.insert("declarationTime".into(), correction.at.to_string().into());
        declaration.insert("reason".into(), ERROR_REASON.into());
        if let Some(id) = self.id(correction.seq) {
            declaration.insert("partseal:correction".into(), id.into());
        }
        self.chain_fields(correction, &mut declaration);
        declaration.insert("partseal:actor".into(), party(&correction.actor).into());
        declaration.insert("partseal:reason".into(), reason.into());
        e.insert("errorDeclaration".into(), Value::Object(declaration));
        Value::Object(e)
    }
}

fn lot_recall_event(gtin: &Gtin, lot: &Lot, recall: &LotRecall) -> Value {
    let mut lot_segment = String::new();
    percent_encode_into(lot.as_str(), &mut lot_segment);
    let mut e = Map::new();
    e.insert("type".into(), "ObjectEvent".into());
    e.insert(
        "eventID".into(),
        event_id(&lot_recall_hash(gtin, lot, recall), LOT_RECALL_ID_VERSION).into(),
    );
    times(recall.at, &mut e);
    e.insert(
        "quantityList".into(),
        json!([{ "epcClass": format!("{DIGITAL_LINK_BASE}/01/{}/10/{lot_segment}", gtin.as_str()) }]),
    );
    e.insert("action".into(), "OBSERVE".into());
    e.insert("bizStep".into(), BIZ_STEP_RECALLING.into());
    e.insert("disposition".into(), "recalled".into());
    e.insert("partseal:actor".into(), party(&recall.actor).into());
    e.insert("partseal:reason".into(), recall.reason.as_str().into());
    Value::Object(e)
}

/// SHA-256 over everything a lot recall says, each part length-prefixed.
fn lot_recall_hash(gtin: &Gtin, lot: &Lot, recall: &LotRecall) -> Hash {
    let mut h = Sha256::new();
    h.update(LOT_RECALL_DOMAIN);
    for part in [
        gtin.as_str(),
        lot.as_str(),
        recall.actor.as_str(),
        recall.reason.as_str(),
    ] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.update(recall.at.0.to_be_bytes());
    h.finalize().into()
}

/// `ni:///sha-256;{hex}?ver={version}` (RFC 6920 naming, in the hex form CBV 2.0 event IDs use).
fn event_id(hash: &Hash, version: &str) -> String {
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("ni:///sha-256;{hex}?ver={version}")
}

fn times(at: Timestamp, into: &mut Map<String, Value>) {
    into.insert("eventTime".into(), at.to_string().into());
    into.insert("recordTime".into(), at.to_string().into());
    into.insert("eventTimeZoneOffset".into(), "+00:00".into());
}

fn party(id: &PartyId) -> String {
    format!("{PARTY_URN}{id}")
}

fn action(step: Step) -> &'static str {
    match step {
        Step::Commissioning => "ADD",
        Step::Decommissioning | Step::Destroying => "DELETE",
        _ => "OBSERVE",
    }
}

fn biz_step(step: Step) -> &'static str {
    match step {
        Step::Recalling => BIZ_STEP_RECALLING,
        Step::Resolving => BIZ_STEP_RESOLVING,
        // Exported as an error declaration; this is only the fallback's step.
        Step::Correcting => "urn:partseal:epcis:BizStep-correcting",
        cbv => cbv.as_str(),
    }
}

fn disposition(step: Step) -> Option<&'static str> {
    Some(match step {
        Step::Commissioning => "active",
        Step::Shipping => "in_transit",
        Step::Recalling => "recalled",
        Step::Decommissioning => "inactive",
        Step::Destroying => "destroyed",
        _ => return None,
    })
}

/// Percent-encodes all but unreserved characters, as GS1 Digital Link requires of AI values in a path
/// segment (the rule `signer::PartId::path` applies to serials).
fn percent_encode_into(value: &str, out: &mut String) {
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}
