//! The carton requests of `POST /api/v1/events`: an event request naming a `carton` in place of a
//! code packs codes and cartons into it, ships it, receives it or unpacks it, through the
//! registry's carton steps (`registry::registry::cartons`). What a carton request may carry is
//! [`CARTON_STEP_FIELDS`], as [`STEP_FIELDS`](super::api::STEP_FIELDS) is a code's; a refusal is the
//! registry's typed error through the one `From<RegistryError> for ApiError`, nothing stored.

use axum::http::StatusCode;
use registry::{CodeKey, CodeMoved, PartyId, Recorded, Registry};
use serde::Serialize;
use signer::{CartonLink, DigitalLink, Problem, Sscc, Timestamp};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::routes::api::{
    ANYONE, EventRequest, EventResult, PackedCode, event_result, required, unexpected_field,
};
use crate::routes::named_code::{scanned_link, typed_key};

/// What each carton step takes besides `step` and `carton`: the fields it needs, then those it may
/// have; any other field given is `400 unexpected_field`, as for a code's steps.
pub const CARTON_STEP_FIELDS: [(&str, &[&str], &[&str]); 4] = [
    ("packing", &[], &["codes", "cartons"]),
    ("shipping", &["to"], &[]),
    ("receiving", &[], &[]),
    ("unpacking", &[], &["codes", "cartons"]),
];

/// What a carton request did.
#[derive(Serialize, utoipa::ToSchema)]
pub struct CartonResult {
    /// The carton's SSCC, 18 digits.
    pub carton: String,
    /// packing, shipping, receiving or unpacking
    pub step: &'static str,
    /// packing and unpacking: the codes put into the carton or taken out of it (not those of the
    /// cartons inside it).
    pub codes: Vec<String>,
    /// packing and unpacking: the cartons put into it or taken out of it, 18 digits each.
    pub cartons: Vec<String>,
    /// shipping and receiving: what the step did to every code inside, nested cartons' too, each
    /// as a single code's event is answered (receiving by anyone but the addressee is a claim
    /// per code).
    pub results: Vec<EventResult>,
}

/// What a carton request asks, checked as far as it can be before the registry is read.
pub enum CartonStep {
    /// The codes (each with the label scanned for it, `None` for typed numbers) and cartons to
    /// pack.
    Pack {
        codes: Vec<(CodeKey, Option<DigitalLink>)>,
        cartons: Vec<Sscc>,
    },
    Ship {
        to: PartyId,
    },
    Receive,
    /// Everything out, or only the named codes and cartons.
    Unpack {
        named: Option<(Vec<CodeKey>, Vec<Sscc>)>,
    },
}

/// The carton `req` names and the step it asks of `caller`: no code named beside the carton, a
/// carton's step, the caller's role, only the step's own fields, and each number well formed.
/// [`record_carton`] checks the same; the fuzz target of request bodies (`fuzz/`) calls it.
pub fn check_carton_request(
    caller: &Caller,
    req: &EventRequest,
) -> Result<(Sscc, CartonStep), ApiError> {
    let carton = required(req.carton.as_deref(), "carton", &req.step)?;
    let sscc = checked(caller, req, carton)?;
    let cartons = || -> Result<Vec<Sscc>, ApiError> {
        req.cartons
            .as_deref()
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, c)| carton_number(c).map_err(|e| at("cartons", i, e)))
            .collect()
    };
    let step = match req.step.as_str() {
        "packing" => CartonStep::Pack {
            codes: packed_codes(req.codes.as_deref().unwrap_or_default())?,
            cartons: cartons()?,
        },
        "shipping" => {
            let to = required(req.to.as_deref(), "to", "shipping")?;
            CartonStep::Ship {
                to: PartyId::parse(to)
                    .map_err(|e| ApiError::bad_request("invalid_party", e.to_string()))?,
            }
        }
        "receiving" => CartonStep::Receive,
        // `checked` admits the carton's four steps only.
        _ if req.codes.is_none() && req.cartons.is_none() => CartonStep::Unpack { named: None },
        _ => {
            let codes: Vec<CodeKey> = packed_codes(req.codes.as_deref().unwrap_or_default())?
                .into_iter()
                .map(|(key, _)| key)
                .collect();
            let cartons = cartons()?;
            // An empty list is a mistake, never a request to empty the whole carton.
            if codes.is_empty() && cartons.is_empty() {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "nothing_to_unpack",
                    "codes, cartons: name at least one code or carton to take out, or leave \
                     both out to unpack everything",
                ));
            }
            CartonStep::Unpack {
                named: Some((codes, cartons)),
            }
        }
    };
    Ok((sscc, step))
}

/// Records a carton request (one naming a `carton` in place of a code).
pub fn record_carton(
    registry: &Registry,
    caller: &Caller,
    req: &EventRequest,
    now: Timestamp,
) -> Result<CartonResult, ApiError> {
    let (sscc, step) = check_carton_request(caller, req)?;
    let actor = &caller.0.id;
    let (name, codes, cartons, results) = match step {
        CartonStep::Pack { codes, cartons } => {
            let packed = registry.pack_carton(actor, &sscc, &codes, &cartons, now)?;
            ("packing", packed.codes, packed.cartons, Vec::new())
        }
        CartonStep::Unpack { named } => {
            let unpacked = match named {
                None => registry.unpack_carton(actor, &sscc)?,
                Some((codes, cartons)) => registry.unpack_from(actor, &sscc, &codes, &cartons)?,
            };
            ("unpacking", unpacked.codes, unpacked.cartons, Vec::new())
        }
        CartonStep::Ship { to } => {
            let moved = registry.ship_carton(actor, &sscc, &to, now)?;
            ("shipping", Vec::new(), Vec::new(), answers(moved))
        }
        CartonStep::Receive => {
            let moved = registry.receive_carton(actor, &sscc, now)?;
            ("receiving", Vec::new(), Vec::new(), answers(moved))
        }
    };
    Ok(CartonResult {
        carton: sscc.to_string(),
        step: name,
        codes: codes.iter().map(CodeKey::to_string).collect(),
        cartons: cartons.iter().map(Sscc::to_string).collect(),
        results,
    })
}

/// The carton a request names, once the request is checked as a code's is: no code named beside
/// the carton, a carton's step, the caller's role, and only the step's own fields.
fn checked(caller: &Caller, req: &EventRequest, carton: &str) -> Result<Sscc, ApiError> {
    let code_fields = [
        ("code", req.code.is_some()),
        ("gtin", req.gtin.is_some()),
        ("serial", req.serial.is_some()),
    ];
    if let Some((field, _)) = code_fields.into_iter().find(|(_, given)| *given) {
        return Err(ApiError::bad_request(
            "unexpected_field",
            format!(
                "a carton's event names the carton, not a code: leave \"{field}\" out (or null), \
                 or \"carton\" to record the event for one code"
            ),
        ));
    }
    if !CARTON_STEP_FIELDS
        .iter()
        .any(|(step, ..)| *step == req.step)
    {
        return Err(ApiError::bad_request(
            "invalid_step",
            format!(
                "a carton takes the steps packing, shipping, receiving and unpacking, not {:?}; \
                 other steps are recorded per code",
                req.step
            ),
        ));
    }
    caller.require(ANYONE, &req.step)?;
    unexpected_field(req, &CARTON_STEP_FIELDS)?;
    carton_number(carton)
}

/// A carton as a request names it: its Digital Link or its 18 digits. A wrong check digit is
/// `422 carton_check_digit` (the number is well formed but mistyped or misread), anything else
/// `400 invalid_carton`.
fn carton_number(text: &str) -> Result<Sscc, ApiError> {
    match CartonLink::parse(text) {
        Ok(link) => Ok(link.sscc),
        Err(e) if matches!(e.problem, Problem::CheckDigit { .. }) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "carton_check_digit",
            format!("check the carton's number: {e}"),
        )),
        Err(e) => Err(ApiError::bad_request(
            "invalid_carton",
            format!("check the carton's number: {e}"),
        )),
    }
}

/// The codes of a packing, each with the label scanned for it (`None` for typed numbers).
fn packed_codes(codes: &[PackedCode]) -> Result<Vec<(CodeKey, Option<DigitalLink>)>, ApiError> {
    codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let named = match code {
                PackedCode::Scanned(uri) => {
                    scanned_link(uri).map(|link| (CodeKey::of(&link.part), Some(link)))
                }
                PackedCode::Typed(typed) => {
                    typed_key(&typed.gtin, &typed.serial).map(|k| (k, None))
                }
            };
            named.map_err(|e| at("codes", i, e))
        })
        .collect()
}

/// `e`, saying which entry of the list `field` it is about.
fn at(field: &str, index: usize, e: ApiError) -> ApiError {
    ApiError::new(
        e.status(),
        e.code(),
        format!("{field}[{index}]: {}", e.detail()),
    )
}

/// A carton move's codes answered each as a single code's event is.
fn answers(moved: Vec<CodeMoved>) -> Vec<EventResult> {
    moved
        .into_iter()
        .map(|m| {
            let recorded = Recorded {
                event: m.event,
                record: m.record,
                explanation: m.explanation,
                warning: None,
                also_changed: Vec::new(),
            };
            event_result(&m.key, &recorded)
        })
        .collect()
}
