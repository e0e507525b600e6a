//! The OpenAPI 3.1 description of the service, served at `GET /openapi.json`.
//!
//! Generated from the handlers' `#[utoipa::path]` attributes and the request and response types.
//! Responses that middleware or an extractor gives rather than the handler (429 from the public
//! rate limit, 401 from the bearer token, 408 from the body deadline, 413 and 415 from a JSON
//! body's reader, 403 `csrf` from a signed-in page's form check, 503 from load shedding and the
//! request timeout, 500) are added here in one place, by audience and by the kind of body, so no
//! handler can forget them; so is the bearer token every operation of the parties' API requires,
//! and the problem+json body of every error a handler lists (each is an [`crate::ApiError`]), so
//! an attribute says only the status and what it means.
//! (A request whose headers pass `max_header_bytes` is refused 431 by hyper, before any route,
//! with no body.)
//!
//! The shapes of answers the handlers build with `json!`, and the string enums of a few inputs,
//! are declared in [`crate::schemas`], which the handlers' attributes name without importing this
//! module.

use std::sync::LazyLock;

use axum::http::header;
use axum::response::IntoResponse;
use serde_json::json;
use utoipa::openapi::RefOr;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::manifest_upload::UploadSummary;
use crate::pages::{cartons, case, dashboard, home, lots, owner, shop, upload};
use crate::routes::carton_events::CARTON_STEP_FIELDS;
use crate::routes::{api, assets, epcis, log, ops, public};
use crate::schemas::problem;
use crate::verdict::{Verdict, VerdictCode};

/// The whole description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "partseal",
        description = "Parts provenance and anti-counterfeit verification. The public verifies \
            parts by scanning their signed QR codes (no login); manufacturers, distributors and \
            shops record custody through `/api/v1` with bearer tokens (`pst_...`); operators \
            watch health and metrics. Every error is an RFC 9457 `application/problem+json` \
            with a stable `code`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        ops::healthz,
        ops::readyz,
        ops::metrics,
        serve,
        log::checkpoint,
        log::key,
        log::tile,
        home::landing,
        home::product,
        public::scan,
        scan_with_lot,
        public::lookup,
        public::vehicle_check,
        public::report,
        owner::report,
        owner::vehicle_check,
        shop::sign_in,
        shop::sign_out,
        shop::station,
        shop::scan,
        shop::mode,
        shop::vehicle,
        shop::decide,
        shop::undo,
        dashboard::dashboard,
        dashboard::alert_action,
        api::me,
        api::upload_manifest,
        api::record_event,
        api::record_batch,
        api::recall_lot,
        api::alerts,
        api::reports,
        api::notices,
        api::code_history,
        api::code_epcis,
        api::vehicle,
        case::case,
        case::find,
        case::recall,
        upload::upload,
        lots::lots,
        assets::serve,
        cartons::lookup,
        cartons::record,
        cartons::label_pdf,
        cartons::label_png,
        cartons::label_svg,
        epcis::capture_options,
        epcis::capture,
        epcis::capture_job,
    ),
    // Named by the shared answer sets of `schemas`, which cannot register them themselves.
    components(schemas(crate::error::Problem, VerdictCode, Verdict, UploadSummary)),
    modifiers(&ErrorsAreProblems, &MiddlewareResponses, &BearerSecurity),
    tags(
        (name = "public", description = "No login: verification by phone or typed numbers, the \
            owner's vehicle check, reports of suspect parts. Rate-limited per client."),
        (name = "parties", description = "Manufacturers, distributors and shops, each acting \
            only as itself with a bearer token."),
        (name = "operations", description = "For operators and orchestrators."),
        (name = "log", description = "The public transparency log of the registry's history \
            (c2sp.org/tlog-tiles): its signed checkpoint, its key and its tiles, for monitors, \
            witnesses and whoever checks a receipt. No login, not rate-limited."),
        (name = "pages", description = "The signed-in pages for people: the shop's scanning \
            station and the manufacturer's dashboard, over a session cookie set by `/signin`; \
            every form carries the session's CSRF token."),
    ),
)]
pub struct ApiDoc;

/// The description as served, built once.
static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    let mut doc = ApiDoc::openapi();
    // The crate's version is the workspace's, i.e. the service's.
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    serde_json::to_value(&doc)
        .map(|mut doc| {
            exact_inputs(&mut doc);
            doc.to_string()
        })
        .unwrap_or_else(|e| {
            tracing::error!(error = %e, "cannot serialise the OpenAPI description");
            "{}".to_owned()
        })
});

// ---- Which fields go together ----
//
// The derives state each field's shape; which fields a request needs together (a code, or a GTIN
// and a serial; which fields each custody step takes) is JSON Schema's `oneOf` and `not`, which
// they cannot write, so they are added to the document here. A null counts as absent, as serde
// reads it. `verifier/tests/openapi.rs` checks requests against these rules. (A step's fields are
// one flat branch per step rather than `if`/`then` over all the fields: schemathesis cannot
// generate from the latter once the request has fifteen optional fields.)

/// `field` is given, as a string.
fn given(field: &str) -> serde_json::Value {
    json!({"required": [field], "properties": {field: {"type": "string"}}})
}

/// `field` is missing or null.
fn absent(field: &str) -> serde_json::Value {
    json!({"not": given(field)})
}

/// Either the scanned `code`, or `gtin` and `serial`: never both, never neither.
fn code_or_typed() -> serde_json::Value {
    json!([
        {"title": "scanned", "allOf": [given("code"), absent("gtin"), absent("serial")]},
        {"title": "typed", "allOf": [given("gtin"), given("serial"), absent("code")]},
    ])
}

/// One branch per custody step ([`api::STEP_FIELDS`]), each listing every field of the event
/// request: `step` as the step's name; the code's fields as the request's (which go together is
/// [`code_or_typed`]); the fields the step needs, not null; those it may have, as the request's;
/// and every other field null (absent). With `additionalProperties: false`, a branch admits
/// nothing else. `event` is the derived `EventRequest` schema, for the fields and their types.
///
/// Resolving is four branches, by what the resolution says of the genuine copy: a false alarm
/// names none; a counterfeit names exactly one of the vehicle it is in, the party holding it, or
/// none known (`genuine_unknown: true`). A `genuine_unknown` of false names nothing.
fn step_branches(event: &serde_json::Value) -> serde_json::Value {
    branches_of(event, &api::STEP_FIELDS, &["code", "gtin", "serial"])
}

/// One branch per carton step ([`CARTON_STEP_FIELDS`]), as [`step_branches`] has one per code
/// step: the `carton` needed, the code's fields null (absent).
fn carton_step_branches(event: &serde_json::Value) -> serde_json::Value {
    let steps: Vec<(&str, Vec<&str>, &[&str])> = CARTON_STEP_FIELDS
        .iter()
        .map(|(step, needed, optional)| {
            let mut needed = needed.to_vec();
            needed.insert(0, "carton");
            (*step, needed, *optional)
        })
        .collect();
    let steps: Vec<(&str, &[&str], &[&str])> = steps
        .iter()
        .map(|(step, needed, optional)| (*step, needed.as_slice(), *optional))
        .collect();
    branches_of(event, &steps, &[])
}

/// The branches of `steps` (each a step, the fields it needs, those it may have); `subject` are
/// the fields that name what the event is for, stated elsewhere ([`code_or_typed`]).
fn branches_of(
    event: &serde_json::Value,
    steps: &[(&str, &[&str], &[&str])],
    subject: &[&str],
) -> serde_json::Value {
    let fields: Vec<&String> = event
        .get("properties")
        .and_then(serde_json::Value::as_object)
        .map(|properties| properties.keys().collect())
        .unwrap_or_default();
    // A needed field's type without null: `["string", "null"]` is "string".
    let not_null = |field: &str| match event.pointer(&format!("/properties/{field}/type")) {
        Some(serde_json::Value::Array(types)) => {
            let types: Vec<&serde_json::Value> = types.iter().filter(|t| *t != "null").collect();
            match types.as_slice() {
                [one] => json!({"type": one}),
                _ => json!({"type": types}),
            }
        }
        Some(other) => json!({"type": other}),
        // The resolution is an enum inlined as `oneOf: [null, {enum}]`; a branch names its value.
        None => json!({"not": {"type": "null"}}),
    };
    let branch = |title: &str, step: &str, needed: &[&str], optional: &[&str]| {
        let mut properties = serde_json::Map::new();
        for &field in &fields {
            let schema = match field.as_str() {
                "step" => json!({"const": step}),
                f if subject.contains(&f) => json!({}),
                f if needed.contains(&f) => not_null(f),
                f if optional.contains(&f) => json!({}),
                _ => json!({"type": "null"}),
            };
            properties.insert(field.clone(), schema);
        }
        let mut required = vec!["step"];
        required.extend(needed);
        json!({
            "title": title,
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    };
    let mut branches = Vec::new();
    for &(step, needed, optional) in steps {
        if step != "resolving" {
            branches.push(branch(step, step, needed, optional));
            continue;
        }
        let nothing_named = json!({"enum": [false, null]});
        for (title, resolution, names) in [
            ("resolving: a false alarm", "genuine", None),
            (
                "resolving: counterfeit, the genuine part in a vehicle",
                "counterfeit",
                Some("genuine_vin"),
            ),
            (
                "resolving: counterfeit, the genuine part held by a party",
                "counterfeit",
                Some("genuine_party"),
            ),
            (
                "resolving: counterfeit, which copy is genuine unknown",
                "counterfeit",
                Some("genuine_unknown"),
            ),
        ] {
            let mut needed = needed.to_vec();
            needed.extend(names);
            let optional: Vec<&str> = optional
                .iter()
                .copied()
                .filter(|f| *f == "note" || Some(*f) == names)
                .collect();
            let mut branch = branch(title, step, &needed, &optional);
            branch["properties"]["resolution"] = json!({"const": resolution});
            if names == Some("genuine_unknown") {
                branch["properties"]["genuine_unknown"] = json!({"const": true});
            } else {
                branch["properties"]["genuine_unknown"] = nothing_named.clone();
            }
            branches.push(branch);
        }
    }
    json!(branches)
}

/// Adds the rules above to the request schemas of the served document.
fn exact_inputs(doc: &mut serde_json::Value) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(serde_json::Value::as_object_mut)
    else {
        tracing::error!("the OpenAPI description has no schemas");
        return;
    };
    // A batch reads each scan's types (a wrong type refuses the whole batch, 400), but judges its
    // values scan by scan: a scan with a bad GTIN or a missing field gets its own 400 in the
    // results of a 200. So a batch's items are the event's shape without the value rules.
    if let Some(event) = schemas.get("EventRequest").cloned() {
        schemas.insert("BatchEvent".to_owned(), shape_only(event));
    }
    let steps = schemas.get("EventRequest").map(step_branches);
    let carton_steps = schemas.get("EventRequest").map(carton_step_branches);
    let mut add = |schema: &str, keyword: &str, rule: serde_json::Value| match schemas
        .get_mut(schema)
        .and_then(serde_json::Value::as_object_mut)
    {
        Some(object) => {
            object.insert(keyword.to_owned(), rule);
        }
        None => tracing::error!(schema, "no such schema in the OpenAPI description"),
    };
    for schema in ["VehicleCheck", "SuspectReport"] {
        add(schema, "oneOf", code_or_typed());
    }
    // An event is a code's (named by `code` or `gtin` and `serial`, and one of its steps) or a
    // carton's (named by `carton`, and one of the carton's steps).
    if let (Some(steps), Some(carton_steps)) = (steps, carton_steps) {
        add(
            "EventRequest",
            "oneOf",
            json!([
                {"title": "a code's event", "allOf": [{"oneOf": code_or_typed()}, {"oneOf": steps}]},
                {"title": "a carton's event", "oneOf": carton_steps},
            ]),
        );
    }
    match schemas
        .get_mut("BatchRequest")
        .and_then(|batch| batch.pointer_mut("/properties/events/items"))
    {
        Some(items) => *items = json!({"$ref": "#/components/schemas/BatchEvent"}),
        None => tracing::error!("no BatchRequest events in the OpenAPI description"),
    }
    // An empty upload is an empty manifest (JSON Lines with no line): answered 200 with
    // `lines: 0`, like a manifest of blank lines, so the body is optional. And any text is a
    // manifest whose lines are judged one by one (rejected lines are counted in the 200), so
    // the body's schema constrains nothing.
    // The dashboard's upload is the same upload behind a session.
    for upload in ["/api/v1/manifests", "/dashboard/manifests"] {
        let at = format!("/paths/{}/post/requestBody", upload.replace('/', "~1"));
        match doc.pointer_mut(&at) {
            Some(serde_json::Value::Object(body)) => {
                body.insert("required".to_owned(), json!(false));
                body.insert(
                    "content".to_owned(),
                    json!({"application/x-ndjson": {"schema": {
                        "description": "Any text: each line is registered or rejected on its own",
                    }}}),
                );
            }
            Some(_) | None => tracing::error!(upload, "no manifest upload in the description"),
        }
    }
    forms_are_text(doc);
}

/// A form's fields are text, present or not: a form cannot send a null, so the `null` the derives
/// add to an optional field's type is taken out of every form-encoded request body's schema.
fn forms_are_text(doc: &mut serde_json::Value) {
    let mut forms = Vec::new();
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for op in item.as_object().into_iter().flat_map(|o| o.values()) {
            let schema =
                op.pointer("/requestBody/content/application~1x-www-form-urlencoded/schema/$ref");
            if let Some(name) = schema
                .and_then(serde_json::Value::as_str)
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            {
                forms.push(name.to_owned());
            }
        }
    }
    for form in forms {
        let at = format!("/components/schemas/{form}/properties");
        let Some(properties) = doc.pointer_mut(&at).and_then(|p| p.as_object_mut()) else {
            tracing::error!(form, "a form without properties in the description");
            continue;
        };
        for property in properties.values_mut() {
            if let Some(types) = property.get_mut("type") {
                if let Some(list) = types.as_array() {
                    let text: Vec<serde_json::Value> =
                        list.iter().filter(|t| *t != "null").cloned().collect();
                    *types = match text.as_slice() {
                        [one] => one.clone(),
                        _ => json!(text),
                    };
                }
            }
        }
    }
}

/// `schema` with only what serde checks: property types, unknown fields and number ranges;
/// without patterns, formats, lengths and enums.
fn shape_only(mut schema: serde_json::Value) -> serde_json::Value {
    if let Some(properties) = schema
        .get_mut("properties")
        .and_then(serde_json::Value::as_object_mut)
    {
        for property in properties.values_mut() {
            if let Some(property) = property.as_object_mut() {
                for keyword in ["pattern", "format", "maxLength", "minLength", "enum"] {
                    property.remove(keyword);
                }
            }
        }
    }
    // An enum inlined as `oneOf: [null, {enum}]` reads as a nullable string.
    if let Some(resolution) = schema.pointer_mut("/properties/resolution") {
        *resolution = json!({"type": ["string", "null"]});
    }
    if let Some(step) = schema.pointer_mut("/properties/step") {
        *step = json!({"type": "string"});
    }
    if let Some(object) = schema.as_object_mut() {
        object.insert("description".to_owned(), json!(
        "A scan of a batch: the shape of `EventRequest`. Its value rules are judged per scan: a \
         scan breaking them gets its own status and error in the results."
        ));
    }
    schema
}

/// `GET /openapi.json`.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    summary = "This description",
    responses((status = 200, description = "OpenAPI 3.1", body = Object)),
)]
pub async fn serve() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

/// The QR code's URI with a lot; served by [`public::scan`] like the one without.
#[utoipa::path(
    get,
    path = "/01/{gtin}/10/{lot}/21/{serial}",
    tag = "public",
    summary = "Verify a scanned label (with lot)",
    description = "As `/01/{gtin}/21/{serial}`, for labels that carry a lot (AI 10).",
    params(
        ("gtin" = String, Path, description = "GS1 GTIN (AI 01), 14 digits", example = "06901234567892"),
        ("lot" = String, Path, description = "Batch or lot (AI 10)", example = "L2026A"),
        ("serial" = String, Path, description = "Serial number (AI 21)", example = "X7K2P9QD4M"),
        ("k" = Option<String>, Query, description = "The signing key's id: 8 bytes, unpadded base64url"),
        ("s" = Option<String>, Query, description = "The Ed25519 signature: 64 bytes, unpadded base64url"),
        ("receipt" = Option<String>, Query, description = "`1`: the JSON verdict carries a `receipt` of the code's latest event in the public transparency log, checked offline by `partseal verify --receipt`"),
        crate::routes::resolver::LinkTypeQuery,
    ),
    responses(crate::schemas::CodeAnswer),
)]
#[allow(dead_code)] // described, never called: the router serves this path with `public::scan`
fn scan_with_lot() {}

/// Gives every 4xx and 5xx a handler's attribute lists without a body the problem+json body: a
/// handler's errors are all [`crate::ApiError`]s, whatever their status. (An error that may be a
/// page too, as the product page's 400, names both bodies itself and is left as it is.)
struct ErrorsAreProblems;

impl Modify for ErrorsAreProblems {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.options]
                .into_iter()
                .flatten()
            {
                let bodiless_errors = op
                    .responses
                    .responses
                    .iter_mut()
                    .filter(|(status, _)| status.starts_with(['4', '5']))
                    .filter_map(|(_, response)| match response {
                        RefOr::T(response) if response.content.is_empty() => Some(response),
                        _ => None,
                    });
                for response in bodiless_errors {
                    response.content = problem(&response.description, false).content;
                }
            }
        }
    }
}

/// Adds the responses that middleware and extractors, not handlers, decide.
struct MiddlewareResponses;

impl Modify for MiddlewareResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post, &mut item.options]
                .into_iter()
                .flatten()
            {
                add_middleware_responses(op);
            }
        }
    }
}

/// The bearer tokens of the parties' API: the scheme, and its requirement on every operation of
/// the `parties` tag (`Caller` reads the token on each).
struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("pst_...")
                    .description(Some("An API token issued to a party by `partseal admin`"))
                    .build(),
            ),
        );
        for item in openapi.paths.paths.values_mut() {
            for op in [&mut item.get, &mut item.post].into_iter().flatten() {
                if op.tags.iter().flatten().any(|t| t == "parties") {
                    let bearer = SecurityRequirement::new("bearer", Vec::<String>::new());
                    op.security = Some(vec![bearer]);
                }
            }
        }
    }
}

fn add_middleware_responses(op: &mut Operation) {
    let tagged = |tag: &str| op.tags.iter().flatten().any(|t| t == tag);
    let (public, parties, pages) = (tagged("public"), tagged("parties"), tagged("pages"));
    let json_body = body_is(op, "application/json");
    let form_body = body_is(op, "application/x-www-form-urlencoded");
    let mut add = |status: &str, response| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert(RefOr::T(response));
    };
    if parties {
        add(
            "401",
            problem(
                "No API token (`missing_token`), or not a valid one (`invalid_token`)",
                false,
            ),
        );
    }
    if public {
        add(
            "429",
            problem("Too many requests from this client (`rate_limited`)", true),
        );
    }
    if op.request_body.is_some() {
        add(
            "408",
            problem(
                "The request body stopped arriving (`request_timeout`); the connection is closed",
                false,
            ),
        );
    }
    // `ApiJson` reads every JSON body.
    if json_body {
        add(
            "413",
            problem("The body is larger than the configured limit", false),
        );
        add("415", problem("The body is not `application/json`", false));
    }
    // `CheckedForm` reads every form of the signed-in pages (the sign-in form says its own).
    if pages && form_body {
        add(
            "403",
            problem(
                "No session, or the form's CSRF token is not the session's (`csrf`)",
                false,
            ),
        );
    }
    if public || parties || pages {
        add(
            "500",
            problem("Something failed on the server (`internal`); logged", false),
        );
    }
    add(
        "503",
        problem(
            "Overloaded (`overloaded`, with Retry-After), past the request timeout (`timeout`), \
             too many open connections from one address (`too_many_connections`, then closed), \
             or shutting down (`draining`, /readyz)",
            true,
        ),
    );
}

/// Whether `op` takes a body of `content_type`.
fn body_is(op: &Operation, content_type: &str) -> bool {
    op.request_body
        .as_ref()
        .is_some_and(|body| body.content.contains_key(content_type))
}
