//! EPCIS 2.0 capture: how the events of a partner's `EPCISDocument` map onto the custody rules.
//!
//! This first piece names the parties: a party's EPCIS id is what a partner's system writes in a
//! `destinationList` entry of type `owning_party` to name the addressee of a shipment. Parties
//! register no GLN today, so the id is the stable service URI `{base}/parties/{id}`; the
//! `urn:partseal:party:{id}` form the history export writes ([`PARTY_URN`]) is read as the same
//! party, so an exported document captured elsewhere still names its parties.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use signer::gs1::check_digit;
use signer::{BaseUrl, CartonLink, DigitalLink, Sscc};

use crate::epcis::PARTY_URN;
use crate::party::PartyId;
use crate::registry::Presented;
use crate::{Action, CodeKey, Role, Vin};

/// A party's EPCIS id under the service at `base`: `{base}/parties/{id}`.
pub fn party_epcis_id(base: &BaseUrl, party: &PartyId) -> String {
    format!("{}/parties/{party}", base.as_str())
}

/// The party an EPCIS id names (`{base}/parties/{id}` or `urn:partseal:party:{id}`); `None` for
/// anything else, such as another service's URI or a GLN no party registered.
pub fn party_of_epcis_id(base: &BaseUrl, uri: &str) -> Option<PartyId> {
    let prefix = format!("{}/parties/", base.as_str());
    let id = uri
        .strip_prefix(prefix.as_str())
        .or_else(|| uri.strip_prefix(PARTY_URN))?;
    PartyId::parse(id).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partys_epcis_id_names_it_back() {
        let base = BaseUrl::parse("https://verify.example.cn/").unwrap();
        let shop = PartyId::parse("shop-1").unwrap();
        let id = party_epcis_id(&base, &shop);
        assert_eq!(id, "https://verify.example.cn/parties/shop-1");
        assert_eq!(party_of_epcis_id(&base, &id), Some(shop.clone()));
        assert_eq!(
            party_of_epcis_id(&base, "urn:partseal:party:shop-1"),
            Some(shop)
        );
        for other in [
            "https://elsewhere.example/parties/shop-1",
            "https://verify.example.cn/parties/",
            "https://verify.example.cn/parties/a/b",
            "urn:epc:id:pgln:0614141.00000",
        ] {
            assert_eq!(party_of_epcis_id(&base, other), None, "{other}");
        }
    }
}

// ---- Mapping one captured event ----

/// How a capture treats an event that fails (`GS1-Capture-Error-Behaviour`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorBehaviour {
    /// Nothing stored unless every event passes (GS1's default).
    Rollback,
    /// Each event that passes is stored; the others are listed in the job's errors.
    Proceed,
}

impl ErrorBehaviour {
    /// The header's value (`rollback`, `proceed`, any case); `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "rollback" => Some(ErrorBehaviour::Rollback),
            "proceed" => Some(ErrorBehaviour::Proceed),
            _ => None,
        }
    }
}

/// What one captured event asks of the registry, once read: the same requests the parties' JSON
/// API makes, so each is judged by exactly the same registry methods.
#[derive(Clone, Debug)]
pub enum Captured {
    /// An ObjectEvent about codes: one custody event per code, in the order listed.
    Codes {
        codes: Vec<(CodeKey, Presented)>,
        action: Action,
        vin_confirmed: bool,
    },
    /// An ObjectEvent shipping or receiving a carton (an SSCC in `epcList`).
    CartonMove { carton: Sscc, action: Action },
    /// An AggregationEvent `ADD`: the codes packed into the carton.
    Pack {
        carton: Sscc,
        codes: Vec<(CodeKey, Option<DigitalLink>)>,
    },
    /// An AggregationEvent `DELETE`: the named codes out of the carton, or everything.
    Unpack {
        carton: Sscc,
        codes: Option<Vec<CodeKey>>,
    },
}

impl Captured {
    /// The codes the event names directly (a carton's contents are not listed here).
    pub fn codes(&self) -> Vec<CodeKey> {
        match self {
            Captured::Codes { codes, .. } => codes.iter().map(|(k, _)| k.clone()).collect(),
            Captured::Pack { codes, .. } => codes.iter().map(|(k, _)| k.clone()).collect(),
            Captured::Unpack { codes, .. } => codes.clone().unwrap_or_default(),
            Captured::CartonMove { .. } => Vec::new(),
        }
    }

    /// The carton the event names, if any.
    pub fn carton(&self) -> Option<Sscc> {
        match self {
            Captured::CartonMove { carton, .. }
            | Captured::Pack { carton, .. }
            | Captured::Unpack { carton, .. } => Some(*carton),
            Captured::Codes { .. } => None,
        }
    }
}

/// The extension field naming the vehicle of an `installing` (or, optionally, `removing`)
/// ObjectEvent: CBV has no vehicle identifier, so partseal's own namespace carries it.
pub const VIN_FIELD: &str = "partseal:vin";
/// `true` when the VIN's check digit does not verify and the shop confirmed it (as the JSON
/// API's `vin_confirmed`).
pub const VIN_CONFIRMED_FIELD: &str = "partseal:vinConfirmed";
/// The reason of a destroying or decommissioning event, as the JSON API's `reason`.
pub const REASON_FIELD: &str = "partseal:reason";

/// The CBV word of a bizStep in any of its forms: `shipping`,
/// `urn:epcglobal:cbv:bizstep:shipping`, `https://ref.gs1.org/cbv/BizStep-shipping`.
fn cbv_word<'a>(value: &'a str, urn: &str, web: &str) -> &'a str {
    value
        .strip_prefix(urn)
        .or_else(|| value.strip_prefix(web))
        .unwrap_or(value)
}

fn biz_step(event: &Value) -> Option<&str> {
    event.get("bizStep").and_then(Value::as_str).map(|s| {
        cbv_word(
            s,
            "urn:epcglobal:cbv:bizstep:",
            "https://ref.gs1.org/cbv/BizStep-",
        )
    })
}

/// Reads one event of a captured document. `base` is this service's, for parties' EPCIS ids;
/// `role` the capturing party's, checked as the JSON API checks it (installing and removing are
/// shops', decommissioning manufacturers').
pub fn read_event(base: &BaseUrl, role: Role, event: &Value) -> Result<Captured, String> {
    let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
    let action = event.get("action").and_then(Value::as_str).unwrap_or("");
    let step = biz_step(event);
    match (kind, action) {
        ("ObjectEvent", "OBSERVE") => object_event(base, role, event, step),
        ("ObjectEvent", "ADD") if step == Some("commissioning") => Err(commissioning()),
        ("ObjectEvent", _) => Err(format!(
            "an ObjectEvent is captured with action OBSERVE (this one has {action:?}); codes \
             come into being by their maker's signed manifest, and decommissioning or \
             destroying is an OBSERVE with that bizStep"
        )),
        ("AggregationEvent", "ADD") => {
            expect_step(step, &["packing"], "an AggregationEvent ADD")?;
            let carton = parent(event)?;
            let codes = epcs(event, "childEPCs")?
                .into_iter()
                .map(|epc| match epc {
                    Epc::Code(key, Presented::Label(link)) => Ok((key, Some(link))),
                    Epc::Code(key, _) => Ok((key, None)),
                    Epc::Carton(_) => Err(nested_cartons()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            if codes.is_empty() {
                return Err("a packing names the codes packed in \"childEPCs\"".to_owned());
            }
            Ok(Captured::Pack { carton, codes })
        }
        ("AggregationEvent", "DELETE") => {
            expect_step(step, &["unpacking"], "an AggregationEvent DELETE")?;
            let carton = parent(event)?;
            let named = epcs(event, "childEPCs")?
                .into_iter()
                .map(|epc| match epc {
                    Epc::Code(key, _) => Ok(key),
                    Epc::Carton(_) => Err(nested_cartons()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let codes = (!named.is_empty()).then_some(named);
            Ok(Captured::Unpack { carton, codes })
        }
        ("AggregationEvent", other) => Err(format!(
            "an AggregationEvent is captured with action ADD (packing) or DELETE (unpacking), \
             not {other:?}"
        )),
        (other, _) => Err(format!(
            "{other} is not captured here: only ObjectEvents (OBSERVE with a custody bizStep) \
             and AggregationEvents (packing, unpacking) map onto the custody rules"
        )),
    }
}

fn commissioning() -> String {
    "commissioning is not captured: codes are registered by the maker's signed manifest \
     (POST /api/v1/manifests), which carries each label's signature"
        .to_owned()
}

fn nested_cartons() -> String {
    "a carton inside a carton (a pallet) is packed through POST /api/v1/events; \"childEPCs\" \
     here name codes"
        .to_owned()
}

fn expect_step(step: Option<&str>, allowed: &[&str], what: &str) -> Result<(), String> {
    match step {
        Some(s) if allowed.contains(&s) => Ok(()),
        Some(s) => Err(format!(
            "{what} takes the bizStep {}, not {s:?}",
            allowed.join(" or ")
        )),
        None => Err(format!("{what} needs the bizStep {}", allowed.join(" or "))),
    }
}

fn object_event(
    base: &BaseUrl,
    role: Role,
    event: &Value,
    step: Option<&str>,
) -> Result<Captured, String> {
    let Some(step) = step else {
        return Err(
            "an ObjectEvent needs a bizStep (shipping, receiving, installing, \
                    removing, destroying or decommissioning)"
                .to_owned(),
        );
    };
    let text = |field: &str| {
        event
            .get(field)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let needs = |roles: &[Role]| {
        if roles.contains(&role) {
            Ok(())
        } else {
            Err(format!(
                "{step} is recorded by a {}, and the token is a {}'s",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                role.as_str()
            ))
        }
    };
    let vin = || -> Result<Option<Vin>, String> {
        match event.get(VIN_FIELD) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(v)) => Vin::parse_confirmed(v.trim())
                .map(Some)
                .map_err(|e| format!("{VIN_FIELD}: {e}")),
            Some(_) => Err(format!("{VIN_FIELD} is a string of 17 characters")),
        }
    };
    let vin_confirmed = event.get(VIN_CONFIRMED_FIELD).and_then(Value::as_bool) == Some(true);
    let action = match step {
        "commissioning" => return Err(commissioning()),
        "shipping" => Action::Ship {
            to: addressee(base, event)?,
        },
        "receiving" => Action::Receive,
        "installing" => {
            needs(&[Role::Shop])?;
            let vin = vin()?.ok_or_else(|| {
                format!("installing names the vehicle in \"{VIN_FIELD}\" (its 17-character VIN)")
            })?;
            if !vin.check_digit_verifies() && !vin_confirmed {
                return Err(format!(
                    "the check digit (character 9) of VIN {vin} does not verify: compare it \
                     with the vehicle's registration certificate and send \
                     \"{VIN_CONFIRMED_FIELD}\": true"
                ));
            }
            Action::Install { vin }
        }
        "removing" => {
            needs(&[Role::Shop])?;
            Action::Remove { vin: vin()? }
        }
        "destroying" => Action::Destroy {
            reason: text(REASON_FIELD),
        },
        "decommissioning" => {
            needs(&[Role::Manufacturer])?;
            Action::Decommission {
                reason: text(REASON_FIELD),
            }
        }
        other => {
            return Err(format!(
                "the bizStep {other:?} does not map onto the custody rules; an ObjectEvent is \
                 shipping, receiving, installing, removing, destroying or decommissioning"
            ));
        }
    };
    let listed = epcs(event, "epcList")?;
    if let [Epc::Carton(carton)] = listed.as_slice() {
        if matches!(action, Action::Ship { .. } | Action::Receive) {
            return Ok(Captured::CartonMove {
                carton: *carton,
                action,
            });
        }
    }
    let codes = listed
        .into_iter()
        .map(|epc| match epc {
            Epc::Code(key, presented) => Ok((key, presented)),
            Epc::Carton(_) => Err(
                "a carton (SSCC) is shipped or received alone in \"epcList\"; its other steps \
                 are AggregationEvents"
                    .to_owned(),
            ),
        })
        .collect::<Result<Vec<_>, _>>()?;
    if codes.is_empty() {
        return Err("an ObjectEvent names its codes in \"epcList\"".to_owned());
    }
    Ok(Captured::Codes {
        codes,
        action,
        vin_confirmed,
    })
}

/// The party a shipment goes to: the `owning_party` destination, named by its EPCIS id.
fn addressee(base: &BaseUrl, event: &Value) -> Result<PartyId, String> {
    let destinations = event
        .get("destinationList")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let owning = destinations.iter().find(|d| {
        d.get("type").and_then(Value::as_str).is_some_and(|t| {
            cbv_word(t, "urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-") == "owning_party"
        })
    });
    let Some(uri) = owning
        .and_then(|d| d.get("destination"))
        .and_then(Value::as_str)
    else {
        return Err(
            "shipping names the addressee in \"destinationList\": a destination of type \
             owning_party, the party's epcis_id (GET /api/v1/me)"
                .to_owned(),
        );
    };
    party_of_epcis_id(base, uri).ok_or_else(|| {
        format!(
            "the owning_party destination {uri:?} is no party's epcis_id here (each party reads \
             its own from GET /api/v1/me)"
        )
    })
}

/// An EPC as read: a code (with what it presents: a label with its signature, or numbers) or a
/// carton.
enum Epc {
    Code(CodeKey, Presented),
    Carton(Sscc),
}

fn parent(event: &Value) -> Result<Sscc, String> {
    let Some(uri) = event.get("parentID").and_then(Value::as_str) else {
        return Err("an AggregationEvent names the carton in \"parentID\"".to_owned());
    };
    match read_epc(uri)? {
        Epc::Carton(sscc) => Ok(sscc),
        Epc::Code(..) => Err(format!(
            "parentID {uri:?} is a part's code; a carton is an SSCC (urn:epc:id:sscc:... or \
             .../00/{{sscc}})"
        )),
    }
}

fn epcs(event: &Value, field: &str) -> Result<Vec<Epc>, String> {
    event
        .get(field)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, epc)| {
            let uri = epc
                .as_str()
                .ok_or_else(|| format!("{field}[{i}] is not a string"))?;
            read_epc(uri).map_err(|e| format!("{field}[{i}]: {e}"))
        })
        .collect()
}

/// One EPC: a code's Digital Link (with `k` and `s` it is the scanned label; without, numbers),
/// `urn:epc:id:sgtin:`, or a carton's `urn:epc:id:sscc:` or `.../00/{sscc}`.
fn read_epc(uri: &str) -> Result<Epc, String> {
    if let Some(rest) = uri.strip_prefix("urn:epc:id:sgtin:") {
        return sgtin(rest).map(|key| Epc::Code(key, Presented::Typed));
    }
    if let Some(rest) = uri.strip_prefix("urn:epc:id:sscc:") {
        return sscc_urn(rest).map(Epc::Carton);
    }
    if uri.contains("/00/") {
        return CartonLink::parse(uri)
            .map(|link| Epc::Carton(link.sscc))
            .map_err(|e| format!("{uri:?}: {e}"));
    }
    let link = DigitalLink::parse(uri).map_err(|e| format!("{uri:?}: {e}"))?;
    let key = CodeKey::of(&link.part);
    let presented = if link.key_id.is_some() && link.signature.is_some() {
        Presented::Label(link)
    } else {
        Presented::Typed
    };
    Ok(Epc::Code(key, presented))
}

/// `CompanyPrefix.IndicatorItemReference.Serial` (the serial URI-escaped) as a code key.
fn sgtin(rest: &str) -> Result<CodeKey, String> {
    let bad = || format!("urn:epc:id:sgtin:{rest} is not CompanyPrefix.IndicatorItemRef.Serial");
    let mut parts = rest.splitn(3, '.');
    let (Some(prefix), Some(item), Some(serial)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    if prefix.len() + item.len() != 13
        || !(prefix.to_owned() + item)
            .bytes()
            .all(|b| b.is_ascii_digit())
        || item.is_empty()
    {
        return Err(bad());
    }
    let mut digits = format!("{}{prefix}{}", &item[..1], &item[1..]).into_bytes();
    digits.push(check_digit(&digits));
    let gtin = String::from_utf8(digits).map_err(|_| bad())?;
    let serial = percent_decode(serial).ok_or_else(bad)?;
    CodeKey::parse(&gtin, &serial).map_err(|e| format!("urn:epc:id:sgtin:{rest}: {e}"))
}

/// `CompanyPrefix.ExtensionSerialReference` as an SSCC.
fn sscc_urn(rest: &str) -> Result<Sscc, String> {
    let bad = || format!("urn:epc:id:sscc:{rest} is not CompanyPrefix.ExtensionSerialRef");
    let (prefix, reference) = rest.split_once('.').ok_or_else(bad)?;
    if prefix.len() + reference.len() != 17
        || reference.is_empty()
        || !(prefix.to_owned() + reference)
            .bytes()
            .all(|b| b.is_ascii_digit())
    {
        return Err(bad());
    }
    let mut digits = format!("{}{prefix}{}", &reference[..1], &reference[1..]).into_bytes();
    digits.push(check_digit(&digits));
    let text = String::from_utf8(digits).map_err(|_| bad())?;
    Sscc::parse(&text).map_err(|e| format!("urn:epc:id:sscc:{rest}: {e}"))
}

/// `%XX` escapes decoded (EPC URNs escape a serial's reserved characters); `None` for a broken
/// escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

// ---- Capture jobs ----

/// Why one event of a capture was not stored, as GS1's capture job lists it (an RFC 7807 problem
/// per event).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventError {
    /// The event's position in `eventList`, from 0.
    pub index: usize,
    /// The event's `eventID`, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// A stable code: the registry's (`not_holder`, `not_registered`, ...) or `unsupported_event`.
    pub code: String,
    /// What was wrong, for people.
    pub reason: String,
}

/// A capture job as the store keeps it: who captured, how, and what became of each event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureJob {
    pub id: String,
    /// Only the capturing party reads its job.
    pub party: String,
    pub behaviour: ErrorBehaviour,
    pub created_at: String,
    pub finished_at: String,
    /// Events in the document.
    pub events: usize,
    /// Events stored.
    pub stored: usize,
    pub errors: Vec<EventError>,
}

/// What a captured event with an `eventID` was stored as: each code's key and event number (a
/// packing or unpacking changes a carton's record and records no code event: none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedEvent {
    pub job: String,
    pub index: usize,
    /// (code as `CodeKey`'s text, event number)
    pub events: Vec<(String, u32)>,
}

/// A new capture job's id: 128 random bits in hex, so ids cannot be guessed.
pub fn new_job_id() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
