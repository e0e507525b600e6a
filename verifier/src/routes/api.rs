//! The parties' API under `/api/v1`, with bearer tokens.
//!
//! A party acts only as itself (the token names it) and a manufacturer only on its own codes.
//! Manufacturers upload manifests, decommission, recall and resolve, and read their alerts, reports
//! and EPCIS histories; distributors and shops record custody (shops alone install and remove) and
//! shops read a vehicle's installed parts. Each custody call takes one scan, or up to
//! [`MAX_BATCH`] with a result per scan.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use registry::{
    Action, CodeKey, Custody, GenuineCopy, Outcome, PartyId, Presented, Recorded, Registry,
    RegistryError, Resolution, Role, Submission, Vin,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use signer::{Gtin, Lot, Serial, Timestamp};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson};
use crate::manifest_upload::{UploadSummary, register_streamed};
use crate::routes::carton_events::{CartonResult, record_carton};
use crate::routes::named_code::{NamedCode, naming_a_code, scanned_link, typed_key};
use crate::schemas::{self as doc, CallersCode, CodeInPath, ManifestAnswers, RoleRefused};
use crate::state::AppState;

/// Scans in one batch request.
pub const MAX_BATCH: usize = 1000;
/// Body limit of a batch request (1000 scans of about 300 bytes) and of one event (a packing of
/// 1000 label links of about 170 bytes), with room to spare.
pub const MAX_BATCH_BYTES: usize = 1 << 20;

const MAKERS: &[Role] = &[Role::Manufacturer];
const SHOPS: &[Role] = &[Role::Shop];
pub(super) const ANYONE: &[Role] = &[Role::Manufacturer, Role::Distributor, Role::Shop];

/// `GET /api/v1/me`: who the token belongs to.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "parties",
    summary = "Who the token belongs to",
    responses(
        (status = 200, description = "The calling party", body = doc::Me),
    ),
)]
pub async fn me(State(state): State<AppState>, Caller(party): Caller) -> Json<serde_json::Value> {
    let epcis_id = registry::epcis_capture::party_epcis_id(&state.config().base_url, &party.id);
    Json(json!({
        "id": party.id.as_str(),
        "epcis_id": epcis_id,
        "role": party.role.as_str(),
        "name": party.name,
        "region": party.region,
    }))
}

// ---- Manifests ----

/// `POST /api/v1/manifests`: a manifest as `partseal sign` wrote it (JSON Lines), streamed: the
/// body is registered chunk by chunk as it arrives, so a million lines need no more memory than a
/// few thousand. Only codes under the caller's own certificates are accepted.
#[utoipa::path(
    post,
    path = "/api/v1/manifests",
    tag = "parties",
    summary = "Upload a signed manifest",
    description = "Registers each line's code as the body arrives. Only manufacturers, and only codes under their own certificates.",
    request_body(
        content = String,
        content_type = "application/x-ndjson",
        description = "JSON Lines as `partseal sign` writes them, one code per line; streamed, \
            up to 2 GiB, not bound by the request timeout or body limit of other routes",
    ),
    responses(
        ManifestAnswers,
        RoleRefused,
        (status = 422, description = "Trust refused (`trust_refused`)"),
        (status = 503, description = "The store could not write (`storage_unavailable`), with \
            `Retry-After` and the same members as 507"),
    ),
)]
pub async fn upload_manifest(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UploadSummary>, ApiError> {
    caller.require(MAKERS, "uploading a manifest")?;
    Ok(Json(
        register_streamed(&state, caller.0.id.clone(), &headers, body).await?,
    ))
}

// ---- Custody events ----

naming_a_code! {
    /// One scan to record. The code is the scanned URI (`code`), whose signature must then be the
    /// registered one, or typed `gtin` and `serial`. Which other fields each step takes is
    /// [`STEP_FIELDS`]; the description states both in its `oneOf` and `allOf`
    /// (`openapi::exact_inputs`).
    #[derive(Deserialize, Clone, utoipa::ToSchema)]
    #[serde(deny_unknown_fields)]
    pub struct EventRequest {
        /// shipping, receiving, installing, removing, destroying, decommissioning, recalling,
        /// correcting, resolving
        #[schema(value_type = StepName, inline)]
        pub step: String,
        /// shipping: the party the part goes to.
        #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
        pub to: Option<String>,
        /// installing: the vehicle; removing: the vehicle the part is in (required of a shop other
        /// than the one that installed it, with the label scanned).
        #[schema(format = "vin", pattern = r"^[0-9A-HJ-NPR-Za-hj-npr-z]{17}$")]
        pub vin: Option<String>,
        /// installing: fit a recalled part anyway (recorded with the event).
        pub override_recall: Option<bool>,
        /// installing: the VIN's check digit (character 9) does not verify, as on many imported
        /// European vehicles, and the caller compared it with the registration certificate
        /// (recorded with the event). Without it such a VIN is refused (`vin_check_digit`).
        pub vin_confirmed: Option<bool>,
        /// destroying, decommissioning, recalling, correcting: up to 500 bytes of UTF-8.
        #[schema(max_length = 500)]
        pub reason: Option<String>,
        /// correcting: the sequence number of the caller's own event being corrected.
        #[schema(minimum = 0, maximum = 4294967295_u64, format = Int64)]
        #[serde(default, deserialize_with = "integral_u32")]
        pub corrects: Option<u32>,
        /// resolving: genuine (a false alarm) or counterfeit (copies of the label exist).
        #[schema(value_type = Option<crate::schemas::ResolutionName>, inline)]
        pub resolution: Option<String>,
        /// resolving as counterfeit: the vehicle the genuine part is in,
        #[schema(format = "vin", pattern = r"^[0-9A-HJ-NPR-Za-hj-npr-z]{17}$")]
        pub genuine_vin: Option<String>,
        /// or the party holding the genuine part,
        #[schema(pattern = r"^[A-Za-z0-9._-]{1,64}$")]
        pub genuine_party: Option<String>,
        /// or `true`: no copy is known to be the genuine one.
        pub genuine_unknown: Option<bool>,
        /// resolving: what the investigation found, up to 500 bytes of UTF-8.
        #[schema(max_length = 500)]
        pub note: Option<String>,
        /// A carton's steps (packing, shipping, receiving, unpacking) name the carton here, in
        /// place of a code: its Digital Link (`{base}/00/{sscc}`) or its 18 digits.
        #[schema(value_type = Option<CartonName>, inline)]
        pub carton: Option<String>,
        /// packing: the codes put into the carton, each its scanned label URI or typed
        /// `{"gtin", "serial"}`; up to 1000. unpacking: the codes taken out, named the same way
        /// (without `codes` and `cartons`, everything is taken out).
        pub codes: Option<Vec<PackedCode>>,
        /// packing: the cartons put into it (a pallet), each named as `carton` is; up to 1000.
        /// unpacking: the cartons taken out.
        #[schema(value_type = Option<Vec<CartonName>>, inline)]
        pub cartons: Option<Vec<String>>,
    }
}

/// A carton's number as the service reads it: its Digital Link (`https://{host}/00/{sscc}`), or
/// the 18 digits alone, after `00` or `(00)`. The check digit is stated by the format (`sscc`).
/// Described only: requests carry the number as a string.
pub struct CartonName;

impl utoipa::PartialSchema for CartonName {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::Custom("sscc".to_owned())))
            .pattern(Some(
                r"^(?:(?:\(00\)|00)?[0-9]{18}|https?://[a-z0-9.-]+(?::[0-9]{1,5})?/00/[0-9]{18})$",
            ))
            .build()
            .into()
    }
}

impl utoipa::ToSchema for CartonName {}

/// A code put into a carton: its scanned label URI, whose signature must be the registered one,
/// or its typed numbers.
#[derive(Deserialize, Clone, utoipa::ToSchema)]
#[serde(untagged)]
pub enum PackedCode {
    /// The scanned GS1 Digital Link.
    #[schema(format = "gs1-digital-link")]
    Scanned(String),
    Typed(TypedCode),
}

/// A code's typed numbers.
#[derive(Deserialize, Clone, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TypedCode {
    /// GTIN-14 with its check digit.
    #[schema(format = "gtin", pattern = r"^[ \t\r\n]*[0-9]{14}[ \t\r\n]*$")]
    pub gtin: String,
    /// The serial (AI 21): 1 to 20 characters of GS1 character set 82.
    #[schema(pattern = r#"^[ \t\r\n]*[!"%-?A-Z_a-z]{1,20}[ \t\r\n]*$"#)]
    pub serial: String,
}

/// What each custody step takes besides `step` and the code: the fields it needs, then those it
/// may have. A step is refused any other field of [`EventRequest`] that is given (not null):
/// `400 unexpected_field`, as an unknown field is refused, rather than ignored, since a `vin`
/// sent with receiving or a `reason` with shipping is a mistake the client should hear of. The
/// description states the same, one branch per step (`openapi::exact_inputs`).
pub const STEP_FIELDS: [(&str, &[&str], &[&str]); 9] = [
    ("shipping", &["to"], &[]),
    ("receiving", &[], &[]),
    (
        "installing",
        &["vin"],
        &["override_recall", "vin_confirmed"],
    ),
    ("removing", &[], &["vin"]),
    ("destroying", &[], &["reason"]),
    ("decommissioning", &[], &["reason"]),
    ("recalling", &[], &["reason"]),
    ("correcting", &["corrects"], &["reason"]),
    (
        "resolving",
        &["resolution"],
        &["genuine_vin", "genuine_party", "genuine_unknown", "note"],
    ),
];

/// The custody steps an event request may name.
pub struct StepName;

impl PartialSchema for StepName {
    fn schema() -> RefOr<Schema> {
        let mut steps = STEP_FIELDS.map(|(step, ..)| step).to_vec();
        steps.extend(["packing", "unpacking"]);
        crate::schemas::string_enum(
            &steps,
            "The custody step (GS1 CBV). Installing and removing are for shops; \
             decommissioning, recalling and resolving for manufacturers; packing and unpacking \
             for a carton.",
        )
    }
}

impl ToSchema for StepName {}

impl EventRequest {
    /// Each field of the request other than `step` and the code, and whether it is given (a null
    /// is not: serde reads it as absent).
    pub fn step_fields_given(&self) -> [(&'static str, bool); 13] {
        [
            ("to", self.to.is_some()),
            ("vin", self.vin.is_some()),
            ("override_recall", self.override_recall.is_some()),
            ("vin_confirmed", self.vin_confirmed.is_some()),
            ("reason", self.reason.is_some()),
            ("corrects", self.corrects.is_some()),
            ("resolution", self.resolution.is_some()),
            ("genuine_vin", self.genuine_vin.is_some()),
            ("genuine_party", self.genuine_party.is_some()),
            ("genuine_unknown", self.genuine_unknown.is_some()),
            ("note", self.note.is_some()),
            ("codes", self.codes.is_some()),
            ("cartons", self.cartons.is_some()),
        ]
    }
}

/// `400 unexpected_field` for the first given field `req`'s step does not take (in `steps`,
/// [`STEP_FIELDS`] or the carton steps'); none for an unknown step, which is refused as such.
pub(super) fn unexpected_field(
    req: &EventRequest,
    steps: &[(&str, &[&str], &[&str])],
) -> Result<(), ApiError> {
    let Some((step, needed, optional)) = steps.iter().find(|(s, ..)| *s == req.step) else {
        return Ok(());
    };
    let takes = |field: &str| needed.contains(&field) || optional.contains(&field);
    match req
        .step_fields_given()
        .into_iter()
        .find(|&(field, given)| given && !takes(field))
    {
        None => Ok(()),
        Some((field, _)) => {
            let taken: Vec<String> = needed
                .iter()
                .chain(optional.iter())
                .map(|f| format!("\"{f}\""))
                .collect();
            let takes = match taken.as_slice() {
                [] => "nothing besides the code".to_owned(),
                [one] => one.clone(),
                [init @ .., last] => format!("{} and {last}", init.join(", ")),
            };
            Err(ApiError::bad_request(
                "unexpected_field",
                format!(
                    "{step} does not take \"{field}\": it takes {takes}. Leave the field out (or \
                     null), or check the step"
                ),
            ))
        }
    }
}

/// A JSON integer as JSON Schema reads one: `7` or `7.0`, not `7.5`, from 0 to `u32::MAX`. (A
/// client whose JSON writes every number with a fraction, as some do, means the same number.)
fn integral_u32<'de, D: serde::Deserializer<'de>>(input: D) -> Result<Option<u32>, D::Error> {
    let Some(number) = Option::<serde_json::Number>::deserialize(input)? else {
        return Ok(None);
    };
    let whole = match number.as_u64() {
        Some(n) => u32::try_from(n).ok(),
        None => number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(f))
            .map(|f| f as u32),
    };
    whole.map(Some).ok_or_else(|| {
        serde::de::Error::custom(format!(
            "invalid value: {number}, expected an integer from 0 to {}",
            u32::MAX
        ))
    })
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct EventResult {
    pub code: String,
    pub seq: u32,
    pub step: &'static str,
    /// applied, repeated, conflict (evidence of a copied label: the code is flagged) or claim
    /// (kept for the manufacturer, no effect: typed numbers where the part cannot be). A refused
    /// event (a non-holder's ship, remove or destroy) is answered `409 not_holder` instead.
    pub outcome: &'static str,
    /// scanned (the label's signature was compared with the registered one) or typed.
    pub basis: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<ConflictInfo>,
    pub custody: &'static str,
    pub duplicate_suspected: bool,
    pub recalled: bool,
    /// Recorded, but worth knowing (a recalled part received, or installed with the override).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ConflictInfo {
    pub kind: &'static str,
    pub explanation: String,
}

/// What a scanned or typed code names: its key, and what the caller presented (the registry
/// compares a scanned label with the registered one).
struct Named {
    key: CodeKey,
    presented: Presented,
}

fn name_code(req: &EventRequest) -> Result<Named, ApiError> {
    Ok(match req.named_code()? {
        NamedCode::Scanned(uri) => {
            let link = scanned_link(uri)?;
            Named {
                key: CodeKey::of(&link.part),
                presented: Presented::Label(link),
            }
        }
        NamedCode::Typed { gtin, serial } => Named {
            key: typed_key(gtin, serial)?,
            presented: Presented::Typed,
        },
    })
}

/// Any ISO 3779 VIN (17 characters, no I, O or Q), whether or not its check digit verifies.
fn any_vin(vin: &str) -> Result<Vin, ApiError> {
    Vin::parse_confirmed(vin.trim()).map_err(|e| ApiError::bad_request(e.code(), e.to_string()))
}

/// The VIN to install into: one whose check digit does not verify only when `confirmed`, since
/// many imported European vehicles carry such VINs but a typing error looks the same.
fn install_vin(vin: &str, confirmed: bool) -> Result<Vin, ApiError> {
    let parsed = any_vin(vin)?;
    if parsed.check_digit_verifies() || confirmed {
        return Ok(parsed);
    }
    Err(ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "vin_check_digit",
        format!(
            "the check digit (character 9) of VIN {parsed} does not verify: it may be mistyped, or \
             the vehicle may carry a VIN without a check digit (many imported European vehicles \
             do). Compare it with the vehicle's registration certificate and send it again with \
             \"vin_confirmed\": true"
        ),
    ))
}

pub(super) fn required<T>(value: Option<T>, field: &str, step: &str) -> Result<T, ApiError> {
    value.ok_or_else(|| {
        ApiError::bad_request(
            "missing_field",
            format!("{step} needs the field \"{field}\""),
        )
    })
}

/// Turns a request into an action, checking the caller's role for it.
fn action(caller: &Caller, req: &EventRequest) -> Result<Action, ApiError> {
    let step = req.step.as_str();
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let roles = match step {
        "installing" | "removing" => SHOPS,
        "decommissioning" | "recalling" | "resolving" => MAKERS,
        _ => ANYONE,
    };
    caller.require(roles, step)?;
    unexpected_field(req, &STEP_FIELDS)?;
    Ok(match step {
        "shipping" => {
            let to = required(req.to.as_deref(), "to", step)?;
            Action::Ship {
                to: PartyId::parse(to)
                    .map_err(|e| ApiError::bad_request("invalid_party", e.to_string()))?,
            }
        }
        "receiving" => Action::Receive,
        "installing" => {
            let vin = required(req.vin.as_deref(), "vin", step)?;
            Action::Install {
                vin: install_vin(vin, req.vin_confirmed == Some(true))?,
            }
        }
        "removing" => Action::Remove {
            // Names the vehicle the part is recorded in, whose VIN was checked when it was.
            vin: match req.vin.as_deref() {
                Some(vin) => Some(any_vin(vin)?),
                None => None,
            },
        },
        "destroying" => Action::Destroy {
            reason: text(&req.reason),
        },
        "decommissioning" => Action::Decommission {
            reason: text(&req.reason),
        },
        "recalling" => Action::Recall {
            reason: text(&req.reason),
        },
        "correcting" => Action::Correct {
            corrects: required(req.corrects, "corrects", step)?,
            reason: text(&req.reason),
        },
        "resolving" => {
            let resolution = required(req.resolution.as_deref(), "resolution", step)?;
            let resolution = Resolution::parse(resolution).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_resolution",
                    "resolution is \"genuine\" or \"counterfeit\"",
                )
            })?;
            Action::Resolve {
                resolution,
                genuine: genuine_copy(req, resolution)?,
                note: text(&req.note),
            }
        }
        "packing" | "unpacking" => {
            return Err(ApiError::bad_request(
                "missing_field",
                format!(
                    "{step} is a carton's step: name the carton in \"carton\" (its Digital Link \
                     or 18 digits) in place of the code"
                ),
            ));
        }
        other => {
            return Err(ApiError::bad_request(
                "invalid_step",
                format!(
                    "unknown step {other:?}; use shipping, receiving, installing, removing, \
                     destroying, decommissioning, recalling, correcting or resolving (and, for \
                     a carton, packing and unpacking)"
                ),
            ));
        }
    })
}

/// The genuine copy a resolution names: exactly one of `genuine_vin`, `genuine_party` and
/// `genuine_unknown` for a counterfeit resolution, none for a genuine one.
fn genuine_copy(
    req: &EventRequest,
    resolution: Resolution,
) -> Result<Option<GenuineCopy>, ApiError> {
    let named = [
        req.genuine_vin.is_some(),
        req.genuine_party.is_some(),
        req.genuine_unknown == Some(true),
    ];
    let count = named.iter().filter(|n| **n).count();
    match resolution {
        Resolution::Genuine if count == 0 => Ok(None),
        Resolution::Genuine => Err(ApiError::bad_request(
            "invalid_resolution",
            "a genuine resolution (a false alarm) names no genuine copy",
        )),
        Resolution::Counterfeit if count != 1 => Err(ApiError::bad_request(
            "invalid_resolution",
            "a counterfeit resolution names which copy is genuine: exactly one of \
             \"genuine_vin\" (the vehicle it is in), \"genuine_party\" (who holds it) or \
             \"genuine_unknown\": true",
        )),
        Resolution::Counterfeit => Ok(Some(match (&req.genuine_vin, &req.genuine_party) {
            // Names a vehicle the code's history records, whose VIN was checked then.
            (Some(vin), _) => GenuineCopy::Vehicle(any_vin(vin)?),
            (_, Some(party)) => GenuineCopy::Holder(
                PartyId::parse(party)
                    .map_err(|e| ApiError::bad_request("invalid_party", e.to_string()))?,
            ),
            _ => GenuineCopy::Unknown,
        })),
    }
}

/// The code a request names and the action it asks of `caller`, checked as [`record_event`] checks
/// them before the registry is read. For the fuzz target of request bodies (`fuzz/`).
#[doc(hidden)]
pub fn check_event_request(
    caller: &Caller,
    req: &EventRequest,
) -> Result<(CodeKey, Action), ApiError> {
    let named = name_code(req)?;
    Ok((named.key, action(caller, req)?))
}

/// The `409 not_holder` answer: what the caller may know of where the part is, never who has it.
fn not_holder(recorded: &Recorded) -> ApiError {
    let custody = &recorded.record.custody;
    let since = custody.since.date();
    let where_it_is = match &custody.custody {
        Custody::AtManufacturer => "is at its manufacturer".to_owned(),
        Custody::Held { .. } => format!("has been held by another business since {since}"),
        Custody::InTransit { .. } => {
            format!("has been in transit to another business since {since}")
        }
        Custody::Installed { .. } => format!(
            "has been installed in a vehicle since {since}; a shop with that car in its workshop \
             removes it by sending \"removing\" with the car's VIN and the label scanned"
        ),
        Custody::Destroyed => format!("was recorded destroyed on {since}"),
        Custody::Voided => format!("was voided by its manufacturer on {since}"),
    };
    let step = recorded.event.step().as_str();
    ApiError::new(
        StatusCode::CONFLICT,
        "not_holder",
        format!(
            "only the party holding a part may record {step} for it, and this part {where_it_is}. \
             Nothing changed; the attempt was recorded (event {}) for the manufacturer.",
            recorded.event.seq
        ),
    )
}

/// Records one event: the request checked here, then the registry judges it (a scanned label
/// compared with the registered one, the recipient known, the rules) before anything is stored.
fn record_one(
    registry: &Registry,
    caller: &Caller,
    req: &EventRequest,
    now: Timestamp,
) -> Result<EventAnswer, ApiError> {
    if req.carton.is_some() {
        return record_carton(registry, caller, req, now).map(EventAnswer::Carton);
    }
    record_code(registry, caller, req, now).map(EventAnswer::Code)
}

/// What one event request did: to its code, or to every code in its carton.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum EventAnswer {
    Code(EventResult),
    Carton(CartonResult),
}

/// Records one code's event.
fn record_code(
    registry: &Registry,
    caller: &Caller,
    req: &EventRequest,
    now: Timestamp,
) -> Result<EventResult, ApiError> {
    let named = name_code(req)?;
    let submission = Submission {
        action: action(caller, req)?,
        presented: named.presented,
        recall_override: req.override_recall == Some(true),
        vin_confirmed: req.vin_confirmed == Some(true),
    };
    let recorded = registry.submit(&named.key, &caller.0.id, submission, now)?;
    if matches!(recorded.event.outcome, Outcome::Refused { .. }) {
        return Err(not_holder(&recorded));
    }
    Ok(event_result(&named.key, &recorded))
}

pub(super) fn event_result(key: &CodeKey, recorded: &Recorded) -> EventResult {
    let outcome = recorded.event.outcome;
    let conflict = match outcome {
        Outcome::Conflict { kind, .. }
        | Outcome::Claim { kind, .. }
        | Outcome::Refused { kind, .. } => Some(ConflictInfo {
            kind: kind.code(),
            explanation: recorded.explanation.clone().unwrap_or_default(),
        }),
        Outcome::Applied | Outcome::Repeated => None,
    };
    let mut warning = recorded.warning.clone();
    if recorded.event.recall_override {
        warning = Some(format!(
            "{} The install was recorded with your override.",
            warning.unwrap_or_default()
        ));
    }
    EventResult {
        code: key.to_string(),
        seq: recorded.event.seq,
        step: recorded.event.step().as_str(),
        outcome: outcome.as_str(),
        basis: recorded.event.basis.as_str(),
        conflict,
        custody: recorded.record.custody.custody.name(),
        duplicate_suspected: !recorded.record.flags.duplicate.is_empty(),
        recalled: recorded.record.flags.recalled.is_some(),
        warning,
    }
}

/// `POST /api/v1/events`: one scan.
#[utoipa::path(
    post,
    path = "/api/v1/events",
    tag = "parties",
    summary = "Record one custody event",
    request_body = EventRequest,
    responses(
        (status = 200, description = "Recorded (applied, repeated or conflict); for a carton, what \
            the step did to every code in it", body = EventAnswer),
        (status = 400, description = "Bad JSON or a bad field (`invalid_json`, `invalid_field`, `invalid_code`, ...), a field the step needs missing (`missing_field`) or one it does not take given (`unexpected_field`)"),
        RoleRefused,
        (status = 404, description = "Not registered (`not_registered`), or no such carton (`unknown_carton`)"),
        (status = 413, description = "A packing over 1000 codes or cartons, or a carton move over \
            5000 codes (`carton_too_large`), or a body past 1 MiB (`body_too_large`)"),
        (status = 409, description = "A ship, remove or destroy by a party that does not hold the part \
            (`not_holder`: nothing changed, the attempt was kept as a claim for the manufacturer; \
            for a carton, a part inside not held, nothing recorded), a carton or code already \
            packed (`carton_exists`, `already_packed`), a carton packed in another (`carton_nested`), \
            or an install of a recalled part without `override_recall` (`recalled`: nothing stored)"),
        (status = 422, description = "A carton whose check digit is wrong (`carton_check_digit`), \
            empty (`carton_empty`), inside itself (`carton_cycle`), nested too deep \
            (`carton_too_deep`), a code or carton twice in one packing (`packed_twice`), an \
            unpacking naming something not packed directly in the carton (`not_in_carton`) or nothing \
            (`nothing_to_unpack`), a maker's \
            carton outside its company prefixes (`sscc_prefix`), a forged label (`code_mismatch`), an unknown recipient (`unknown_party`), a bad correction, a trust failure, or an install into a VIN whose check digit does not verify without `\"vin_confirmed\": true` (`vin_check_digit`)"),
    ),
)]
pub async fn record_event(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<EventRequest>,
) -> Result<Json<EventAnswer>, ApiError> {
    let now = Timestamp::now();
    let result = state
        .blocking(move |r| record_one(r, &caller, &req, now))
        .await??;
    Ok(Json(result))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchRequest {
    #[schema(min_items = 1, max_items = 1000)]
    pub events: Vec<EventRequest>,
}

/// The answer to a batch: one result per scan, in order.
#[derive(Serialize, ToSchema)]
pub struct BatchResults {
    pub results: Vec<BatchItem>,
}

/// One scan of a batch: `result` when `status` is 200, else `error`.
#[derive(Serialize, ToSchema)]
pub struct BatchItem {
    pub index: usize,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<EventAnswer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<BatchError>,
}

/// Why one scan of a batch failed: the `code` and `detail` of the problem it would have had alone.
#[derive(Serialize, ToSchema)]
pub struct BatchError {
    pub code: String,
    pub detail: String,
}

/// `POST /api/v1/events/batch`: up to [`MAX_BATCH`] scans, each answered on its own (a bad scan
/// does not stop the others), in order, with its index. A scan may be a carton's, answered as
/// `POST /api/v1/events` answers it; each carton moves whole or not at all, on its own.
#[utoipa::path(
    post,
    path = "/api/v1/events/batch",
    tag = "parties",
    summary = "Record up to 1000 custody events",
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One result per scan (or carton), in order; failed scans carry their own status and error", body = BatchResults),
        (status = 400, description = "Bad JSON, or not 1 to 1000 scans (`invalid_batch`)"),
    ),
)]
pub async fn record_batch(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(batch): ApiJson<BatchRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if batch.events.is_empty() || batch.events.len() > MAX_BATCH {
        return Err(ApiError::bad_request(
            "invalid_batch",
            format!(
                "a batch holds 1 to {MAX_BATCH} scans; this one has {}",
                batch.events.len()
            ),
        ));
    }
    let now = Timestamp::now();
    let results = state
        .blocking(move |r| {
            batch
                .events
                .iter()
                .enumerate()
                .map(|(index, req)| match record_one(r, &caller, req, now) {
                    Ok(result) => json!({"index": index, "status": 200, "result": result}),
                    Err(e) => json!({
                        "index": index,
                        "status": e.status().as_u16(),
                        "error": {"code": e.code(), "detail": e.detail()},
                    }),
                })
                .collect::<Vec<_>>()
        })
        .await?;
    Ok(Json(json!({ "results": results })))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LotRecallRequest {
    /// GTIN-14 with its check digit (surrounding whitespace is ignored).
    #[schema(format = "gtin", pattern = r"^[ \t\r\n]*[0-9]{14}[ \t\r\n]*$")]
    pub gtin: String,
    /// The lot (AI 10): 1 to 20 characters of GS1 character set 82 (surrounding whitespace is
    /// ignored).
    #[schema(pattern = r#"^[ \t\r\n]*[!"%-?A-Z_a-z]{1,20}[ \t\r\n]*$"#)]
    pub lot: String,
    /// Why: up to 500 bytes of UTF-8.
    #[schema(max_length = 500)]
    pub reason: String,
}

/// `POST /api/v1/lots/recall`: recalls every code of a lot at once.
#[utoipa::path(
    post,
    path = "/api/v1/lots/recall",
    tag = "parties",
    summary = "Recall a lot",
    request_body = LotRecallRequest,
    responses(
        (status = 200, description = "The lot is recalled", body = doc::LotRecall),
        (status = 400, description = "Bad JSON or a bad field (`invalid_json`, `invalid_field`, `invalid_code`, ...)"),
        RoleRefused,
    ),
)]
pub async fn recall_lot(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(req): ApiJson<LotRecallRequest>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(MAKERS, "recalling a lot")?;
    let bad = |e: signer::ParseError| ApiError::bad_request("invalid_code", e.to_string());
    let gtin = Gtin::parse(req.gtin.trim()).map_err(bad)?;
    let lot = Lot::parse(req.lot.trim()).map_err(bad)?;
    let now = Timestamp::now();
    let recall = state
        .blocking(move |r| r.recall_lot(&gtin, &lot, &caller.0.id, &req.reason, now))
        .await??;
    Ok(Json(json!({
        "gtin": req.gtin.trim(),
        "lot": req.lot.trim(),
        "recalled_at": recall.at.to_string(),
        "reason": recall.reason,
    })))
}

// ---- What manufacturers read ----

fn flagged(status: &registry::CodeStatus) -> serde_json::Value {
    let record = &status.record;
    let evidence: Vec<_> = record
        .flags
        .duplicate
        .iter()
        .map(|e| {
            json!({
                "kind": e.kind.code(),
                "event": e.event,
                "conflicts_with": e.with,
                "at": e.at.to_string(),
                "explanation": e.explain(),
            })
        })
        .collect();
    json!({
        "code": status.key.to_string(),
        "gtin": status.key.gtin().map(|g| g.as_str().to_owned()).unwrap_or_default(),
        "serial": status.key.serial().map(|s| s.as_str().to_owned()).unwrap_or_default(),
        "lot": record.lot.as_ref().map(|l| l.as_str()),
        "custody": record.custody.custody.name(),
        "duplicate_suspected": !record.flags.duplicate.is_empty(),
        "conflicts": record.flags.conflicts,
        "claims": record.flags.claims,
        "copies_known": record.flags.copies.as_ref().map(|c| json!({
            "at": c.at.to_string(),
            "genuine": match &c.genuine {
                GenuineCopy::Vehicle(_) => "vehicle",
                GenuineCopy::Holder(_) => "holder",
                GenuineCopy::Unknown => "unknown",
            },
        })),
        "evidence": evidence,
        "scan_anomaly": record.flags.scan_anomaly.as_ref().map(|a| json!({
            "at": a.at.to_string(),
            "networks": a.contexts,
            "window_hours": a.window_hours,
            "threshold": a.threshold,
            "explanation": a.explain(),
        })),
    })
}

/// `GET /api/v1/alerts`: the caller's codes flagged as duplicates or scan anomalies.
#[utoipa::path(
    get,
    path = "/api/v1/alerts",
    tag = "parties",
    summary = "The caller's flagged codes",
    responses(
        (status = 200, description = "Codes flagged as duplicates or scan anomalies", body = doc::Alerts),
        RoleRefused,
    ),
)]
pub async fn alerts(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(MAKERS, "reading alerts")?;
    let (list, reports) = state
        .blocking(move |r| {
            Ok::<_, RegistryError>((r.alerts(&caller.0.id)?, r.reports(&caller.0.id)?))
        })
        .await??;
    let alerts: Vec<_> = list.iter().map(flagged).collect();
    // A forged label under the maker's GTIN is a counterfeit in someone's hands: an alert too.
    let forged: Vec<_> = reports
        .iter()
        .rev()
        .filter(|r| r.verdict.as_deref() == Some("forged"))
        .map(report_json)
        .collect();
    Ok(Json(
        json!({ "alerts": alerts, "forged_label_reports": forged }),
    ))
}

/// `GET /api/v1/reports`: public reports on the caller's codes, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/reports",
    tag = "parties",
    summary = "Public reports on the caller's codes",
    responses(
        (status = 200, description = "Newest first", body = doc::Reports),
        RoleRefused,
    ),
)]
pub async fn reports(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(MAKERS, "reading reports")?;
    let mut list = state.blocking(move |r| r.reports(&caller.0.id)).await??;
    list.reverse();
    let reports: Vec<_> = list.iter().map(report_json).collect();
    Ok(Json(json!({ "reports": reports })))
}

/// `GET /api/v1/notices`: parts the caller had that another party moved: removed from a car the
/// caller installed them in by the shop that has the car, or received by another business while
/// shipped to or by the caller. Those moves are applied (one part can make them) and attributed, so
/// the caller learns who did it.
#[utoipa::path(
    get,
    path = "/api/v1/notices",
    tag = "parties",
    summary = "Parts the caller had that another party moved",
    responses(
        (status = 200, description = "Newest first", body = doc::Notices),
    ),
)]
pub async fn notices(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    let me = caller.0.id.clone();
    let list = state
        .blocking(move |r| {
            let mut out = Vec::new();
            for n in r.notices(&me)? {
                let by = r.party(&n.actor)?;
                out.push((n, by));
            }
            Ok::<_, RegistryError>(out)
        })
        .await??;
    let notices: Vec<_> = list
        .iter()
        .map(|(n, by)| {
            let who = by.as_ref().map_or(n.actor.as_str(), |p| p.name.as_str());
            let explanation = match n.kind {
                registry::NoticeKind::RemovedByAnotherShop => format!(
                    "{who} removed this part, which you installed, from the vehicle on {} \
                     (it has the car in its workshop and scanned the part's label).",
                    n.at.date()
                ),
                registry::NoticeKind::ReceivedElsewhere => format!(
                    "{who} received this part on {} while it was in transit between you and \
                     another business: a misrouted carton, or a copy of its label.",
                    n.at.date()
                ),
            };
            json!({
                "code": n.key.to_string(),
                "gtin": n.key.gtin().map(|g| g.as_str().to_owned()).unwrap_or_default(),
                "serial": n.key.serial().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                "seq": n.seq,
                "at": n.at.to_string(),
                "kind": n.kind.code(),
                "by": n.actor.as_str(),
                "by_name": by.as_ref().map(|p| p.name.clone()),
                "by_region": by.as_ref().and_then(|p| p.region.clone()),
                "explanation": explanation,
            })
        })
        .collect();
    Ok(Json(json!({ "notices": notices })))
}

fn report_json(r: &registry::Report) -> serde_json::Value {
    json!({
        "id": r.id,
        "code": r.key.to_string(),
        "at": r.at.to_string(),
        "text": r.text,
        "contact": r.contact,
        "region": r.region,
        "verdict": r.verdict,
        "key_id": r.key_id.map(|k| k.to_base64()),
        "signature": r.signature.map(|s| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s.to_bytes())
        }),
    })
}

fn path_key(gtin: &str, serial: &str) -> Result<CodeKey, ApiError> {
    let bad = |e: signer::ParseError| ApiError::bad_request("invalid_code", e.to_string());
    Ok(CodeKey::new(
        &Gtin::parse(gtin).map_err(bad)?,
        &Serial::parse(serial).map_err(bad)?,
    ))
}

fn not_yours() -> ApiError {
    // The same answer as for an unknown code: a manufacturer learns nothing of others' codes.
    ApiError::not_found("no code of yours has this GTIN and serial")
}

/// `GET /api/v1/codes/{gtin}/{serial}`: one of the caller's codes with its whole history.
#[utoipa::path(
    get,
    path = "/api/v1/codes/{gtin}/{serial}",
    tag = "parties",
    summary = "One of the caller's codes with its history",
    params(CodeInPath),
    responses(
        (status = 200, description = "The code, its flags and every event", body = doc::CodeHistory),
        CallersCode,
        RoleRefused,
    ),
)]
pub async fn code_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(CodeInPath { gtin, serial }): Path<CodeInPath>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(MAKERS, "reading a code's history")?;
    let key = path_key(&gtin, &serial)?;
    let history = state
        .blocking(move |r| r.history(&key))
        .await??
        .filter(|h| h.record.manufacturer == caller.0.id)
        .ok_or_else(not_yours)?;
    let status = registry::CodeStatus {
        key: history.key.clone(),
        record: std::sync::Arc::new(history.record.clone()),
        lot_recall: history.lot_recall.clone(),
    };
    let events: Vec<_> = history
        .events
        .iter()
        .map(|e| {
            json!({
                "seq": e.seq,
                "step": e.step().as_str(),
                "at": e.at.to_string(),
                "actor": e.actor.as_str(),
                "outcome": e.outcome.as_str(),
                "basis": e.basis.as_str(),
                "carton": e.carton.map(|c| c.to_string()),
            })
        })
        .collect();
    let mut body = flagged(&status);
    body["events"] = json!(events);
    Ok(Json(body))
}

/// `GET /api/v1/codes/{gtin}/{serial}/epcis`: the history as an EPCIS 2.0 JSON-LD document.
#[utoipa::path(
    get,
    path = "/api/v1/codes/{gtin}/{serial}/epcis",
    tag = "parties",
    summary = "A code's history as EPCIS 2.0",
    params(CodeInPath),
    responses(
        (status = 200, description = "An EPCIS 2.0 JSON-LD document (GS1's schema)",
            body = Object, content_type = "application/ld+json"),
        CallersCode,
        RoleRefused,
    ),
)]
pub async fn code_epcis(
    State(state): State<AppState>,
    caller: Caller,
    Path(CodeInPath { gtin, serial }): Path<CodeInPath>,
) -> Result<Response, ApiError> {
    caller.require(MAKERS, "exporting EPCIS")?;
    let key = path_key(&gtin, &serial)?;
    let me = caller.0.id.clone();
    let now = Timestamp::now();
    let document = state
        .blocking(
            move |r| -> Result<Option<serde_json::Value>, RegistryError> {
                match r.status(&key)? {
                    Some(s) if s.record.manufacturer == me => r.export_epcis(&key, now),
                    _ => Ok(None),
                }
            },
        )
        .await??
        .ok_or_else(not_yours)?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/ld+json")],
        Json(document),
    )
        .into_response())
}

/// `GET /api/v1/vehicles/{vin}`: the parts recorded as installed in a vehicle, for shops (the
/// maintenance health record view).
#[utoipa::path(
    get,
    path = "/api/v1/vehicles/{vin}",
    tag = "parties",
    summary = "The parts installed in a vehicle",
    params(
        ("vin" = String, Path, description = "Vehicle identification number: 17 characters, no I, O or Q, \
            with its check digit (character 9)", example = "LSVAU218XN2183294",
            format = "vin", pattern = r"^[0-9A-HJ-NPR-Za-hj-npr-z]{17}$"),
    ),
    responses(
        (status = 200, description = "Parts recorded as installed now", body = doc::VehicleParts),
        (status = 400, description = "A bad VIN"),
        RoleRefused,
    ),
)]
pub async fn vehicle(
    State(state): State<AppState>,
    caller: Caller,
    Path(vin): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(SHOPS, "reading a vehicle's parts")?;
    let vin = any_vin(&vin)?;
    let parts = state.blocking(move |r| r.installed_in(&vin)).await??;
    let parts: Vec<_> = parts
        .iter()
        .map(|s| {
            let by = match &s.record.custody.custody {
                Custody::Installed { by, .. } => by.as_str(),
                _ => "",
            };
            json!({
                "code": s.key.to_string(),
                "gtin": s.key.gtin().map(|g| g.as_str().to_owned()).unwrap_or_default(),
                "serial": s.key.serial().map(|x| x.as_str().to_owned()).unwrap_or_default(),
                "lot": s.record.lot.as_ref().map(|l| l.as_str()),
                "manufacturer": s.record.manufacturer.as_str(),
                "installed_at": s.record.custody.since.to_string(),
                "installed_by": by,
                "duplicate_suspected": !s.record.flags.duplicate.is_empty(),
                "recalled": s.record.flags.recalled.is_some() || s.lot_recall.is_some(),
            })
        })
        .collect();
    Ok(Json(json!({ "vin": vin.as_str(), "parts": parts })))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by schemathesis: `"corrects": 12203.0` is an integer to JSON Schema (and to the
    /// description), and was refused 400 `invalid_field`.
    #[test]
    fn corrects_is_read_as_json_schema_reads_an_integer() {
        let read = |value: &str| {
            serde_json::from_str::<EventRequest>(&format!(
                r#"{{"step": "correcting", "corrects": {value}}}"#
            ))
            .map(|r| r.corrects)
        };
        assert_eq!(read("7").ok(), Some(Some(7)));
        assert_eq!(read("7.0").ok(), Some(Some(7)));
        assert_eq!(read("4294967295").ok(), Some(Some(u32::MAX)));
        assert_eq!(read("null").ok(), Some(None));
        for bad in ["7.5", "-1", "-1.0", "4294967296", "1e300", "\"7\""] {
            assert!(read(bad).is_err(), "{bad} was read");
        }
        let absent = serde_json::from_str::<EventRequest>(r#"{"step": "receiving"}"#);
        assert_eq!(absent.map(|r| r.corrects).ok(), Some(None));
    }

    /// [`EventRequest::step_fields_given`] names every field but `step` and the code's, by its
    /// name in JSON, and [`STEP_FIELDS`] names no other.
    #[test]
    fn step_fields_are_the_requests_fields() {
        let all = r#"{"step": "receiving", "code": "c", "to": "p", "vin": "v",
            "override_recall": false, "vin_confirmed": false, "reason": "r", "corrects": 0,
            "resolution": "genuine", "genuine_vin": "v", "genuine_party": "p",
            "genuine_unknown": false, "note": "n", "codes": [], "cartons": []}"#;
        let Ok(req) = serde_json::from_str::<EventRequest>(all) else {
            panic!("a request with every field is read");
        };
        let given = req.step_fields_given();
        assert!(given.iter().all(|(_, given)| *given), "{given:?}");
        let names: Vec<&str> = given.iter().map(|(name, _)| *name).collect();
        for (name, _) in given {
            assert!(all.contains(&format!("\"{name}\"")), "{name}");
        }
        for (step, needed, optional) in STEP_FIELDS {
            for field in needed.iter().chain(optional) {
                assert!(names.contains(field), "{step}: {field}");
            }
        }
        let none = serde_json::from_str::<EventRequest>(r#"{"step": "receiving", "vin": null}"#);
        assert!(none.is_ok_and(|r| r.step_fields_given().iter().all(|(_, given)| !given)));
    }
}
