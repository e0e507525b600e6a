//! `/openapi.json` describes exactly the routes the router serves, each with its security and
//! problem responses, and real answers match the schemas it gives.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::collections::BTreeSet;

use registry::Role;
use serde_json::{Value, json};
use signer::keys;
use testkit::service::{Server, start};
use testkit::world::{add_party, certify, token};
use verifier::config::Overrides;
use verifier::route_list::ROUTES;
use verifier::routes::api::STEP_FIELDS;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Probing every route must not trip the public rate limit.
async fn server() -> Server {
    start(Overrides {
        rate_limit: Some(0),
        ..Overrides::default()
    })
    .await
}

async fn document(server: &Server) -> Value {
    let response = reqwest::get(server.url("/openapi.json")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    response.json().await.unwrap()
}

/// Every operation: (method in capitals, path, operation).
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push((method.to_uppercase(), path.clone(), op));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_description_lists_exactly_the_routes_served() {
    let server = server().await;
    let doc = document(&server).await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "partseal");
    assert_eq!(doc["info"]["version"], env!("CARGO_PKG_VERSION"));
    assert!(!doc["info"]["description"].as_str().unwrap().is_empty());

    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
    // The router's wildcard `{*path}` is the document's parameter `{path}`.
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|&(method, path)| (method.to_owned(), path.replace("{*", "{")))
        .collect();
    assert_eq!(ROUTES.len(), routed.len(), "ROUTES lists a route twice");
    assert_eq!(
        documented.difference(&routed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not routed"
    );
    assert_eq!(
        routed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routed but not documented"
    );
    server.shutdown().await;
}

/// `ROUTES` is what the router serves: each (method, path) reaches a handler, not the fallbacks.
/// (The router itself refuses to build a route missing from `ROUTES`.)
#[tokio::test]
async fn every_listed_route_is_served_with_its_method() {
    let server = server().await;
    let client = reqwest::Client::new();
    for &(method, path) in ROUTES {
        let concrete = path
            .replace("{gtin}", "06901234567892")
            .replace("{lot}", "L2026A")
            .replace("{serial}", "X7K2P9QD4M")
            .replace("{vin}", "LSVAU218XN2183294");
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = client
            .request(method.clone(), server.url(&concrete))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert_ne!(status, 405, "{method} {path}: {body}");
        assert!(
            !(status == 404 && body.contains("no such endpoint")),
            "{method} {path} is not routed: {body}"
        );
    }
    server.shutdown().await;
}

#[tokio::test]
async fn security_tags_and_problem_responses_are_declared() {
    let server = server().await;
    let doc = document(&server).await;
    let scheme = &doc["components"]["securitySchemes"]["bearer"];
    assert_eq!(scheme["type"], "http");
    assert_eq!(scheme["scheme"], "bearer");

    for (method, path, op) in operations(&doc) {
        let at = format!("{method} {path}");
        let tags: Vec<&str> = op["tags"]
            .as_array()
            .unwrap_or_else(|| panic!("{at} has no tag"))
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let security = op.get("security").and_then(Value::as_array);
        // EPCIS capture's discovery (OPTIONS) states limits to anyone.
        let epcis_with_token = path.starts_with("/epcis/") && method != "OPTIONS";
        if path.starts_with("/api/v1/") || epcis_with_token {
            assert_eq!(tags, ["parties"], "{at}");
            let security = security.unwrap_or_else(|| panic!("{at} declares no security"));
            assert!(
                security.iter().any(|s| s.get("bearer").is_some()),
                "{at} does not declare bearer security: {security:?}"
            );
            assert!(op["responses"].get("401").is_some(), "{at} lacks 401");
        } else {
            assert!(
                security.is_none_or(|s| s.is_empty()),
                "{at} is public but declares security"
            );
            assert!(
                tags == ["public"]
                    || (tags == ["parties"] && path.starts_with("/epcis/"))
                    || tags == ["operations"]
                    || tags == ["pages"]
                    || tags == ["log"],
                "{at}: {tags:?}"
            );
            if tags == ["public"] {
                let limited = &op["responses"]["429"];
                assert!(
                    limited["headers"].get("Retry-After").is_some(),
                    "{at}: 429 without Retry-After"
                );
            }
        }
        let responses = op["responses"].as_object().unwrap();
        // The operations routes take no input and no token, so nothing of theirs answers 4xx:
        // for them a documented problem (503) is what there is to ask.
        // The signed-in pages answer people with pages (a refused VIN is said on the page), so
        // some have no 4xx either.
        // The log's checkpoint and key take no input either.
        let client_errors = if tags == ["operations"] || tags == ["pages"] || tags == ["log"] {
            "45"
        } else {
            "4"
        };
        let problems: Vec<&String> = responses
            .iter()
            .filter(|(status, response)| {
                status.starts_with(|c| client_errors.contains(c))
                    && response["content"]["application/problem+json"]["schema"]["$ref"]
                        == "#/components/schemas/Problem"
            })
            .map(|(status, _)| status)
            .collect();
        assert!(!problems.is_empty(), "{at} documents no problem response");
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert!(
                    response["content"]
                        .get("application/problem+json")
                        .is_some(),
                    "{at} {status} is not problem+json"
                );
            }
        }
        // A page's form may answer only with a redirect to the next page (post/redirect/get).
        let success = if tags == ["pages"] { "23" } else { "2" };
        assert!(
            responses
                .keys()
                .any(|s| s.starts_with(|c| success.contains(c))),
            "{at}"
        );
        assert!(responses.contains_key("503"), "{at} lacks 503");
    }

    // The scan answers JSON or a page.
    let scan = &doc["paths"]["/01/{gtin}/10/{lot}/21/{serial}"]["get"];
    let content = &scan["responses"]["200"]["content"];
    assert_eq!(
        content["application/json"]["schema"]["$ref"],
        "#/components/schemas/Verdict"
    );
    assert!(content.get("text/html").is_some());
    let params: BTreeSet<(&str, &str)> = scan["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap(), p["in"].as_str().unwrap()))
        .collect();
    assert_eq!(
        params,
        BTreeSet::from([
            ("gtin", "path"),
            ("lot", "path"),
            ("serial", "path"),
            ("k", "query"),
            ("s", "query"),
            ("receipt", "query"),
            ("linkType", "query"),
        ])
    );
    let upload = &doc["paths"]["/api/v1/manifests"]["post"]["requestBody"]["content"];
    assert!(upload.get("application/x-ndjson").is_some(), "{upload}");
    server.shutdown().await;
}

#[tokio::test]
async fn every_reference_resolves_and_verdicts_are_an_enum() {
    let server = server().await;
    let doc = document(&server).await;
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{r} points outside components.schemas"));
        assert!(schemas.contains_key(name), "{r} does not resolve");
    }
    let codes: Vec<&str> = schemas["VerdictCode"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(codes, verifier::verdict::VERDICTS);
    assert_eq!(
        schemas["Verdict"]["properties"]["verdict"]["$ref"],
        "#/components/schemas/VerdictCode"
    );
    server.shutdown().await;
}

fn collect_refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push(r),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// Checks `instance` against `components.schemas.{name}` of the served description.
fn assert_matches(doc: &Value, name: &str, instance: &Value) {
    let mut schema = doc.clone();
    schema["$ref"] = json!(format!("#/components/schemas/{name}"));
    let validator = jsonschema::draft202012::options().build(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{e} (at {})", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{name}: {}\n{instance:#}",
        errors.join("\n")
    );
}

/// Several answers are built with `json!`; their declared shapes must not drift from them.
#[tokio::test]
async fn real_answers_match_their_schemas() {
    let server = server().await;
    let doc = document(&server).await;
    let client = reqwest::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut request = client
            .get(server.url(path))
            .header("accept", "application/json");
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };

    // The check can fail: a wrong shape is caught.
    let result = std::panic::catch_unwind(|| assert_matches(&doc, "Status", &json!({"status": 1})));
    assert!(result.is_err(), "a number passed as the status string");

    let (status, body) = get("/healthz", None).await;
    assert_eq!(status, 200);
    assert_matches(&doc, "Status", &body);
    let (_, body) = get("/readyz", None).await;
    assert_matches(&doc, "Status", &body);

    for path in [
        "/lookup?gtin=06901234567892&serial=X7K2P9QD4M",
        "/lookup?gtin=123&serial=X7K2P9QD4M",
        "/01/06901234567892/21/X7K2P9QD4M?k=AAAAAAAAAAA&s=bad",
    ] {
        let (status, body) = get(path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_matches(&doc, "Verdict", &body);
    }

    let (status, body) = get("/api/v1/me", None).await;
    assert_eq!(status, 401);
    assert_matches(&doc, "Problem", &body);

    add_party(&server.registry, "maker-1", Role::Manufacturer, "Guangdong");
    add_party(&server.registry, "shop-1", Role::Shop, "Shanghai");
    let maker = token(&server.registry, "maker-1");
    let shop = token(&server.registry, "shop-1");

    let (status, body) = get("/api/v1/me", Some(&maker)).await;
    assert_eq!(status, 200);
    assert_matches(&doc, "Me", &body);
    let (_, body) = get("/api/v1/alerts", Some(&maker)).await;
    assert_matches(&doc, "Alerts", &body);
    let (_, body) = get("/api/v1/reports", Some(&maker)).await;
    assert_matches(&doc, "Reports", &body);
    let (status, body) = get("/api/v1/vehicles/LSVAU218XN2183294", Some(&shop)).await;
    assert_eq!(status, 200, "{body}");
    assert_matches(&doc, "VehicleParts", &body);
    let (status, body) = get("/api/v1/alerts", Some(&shop)).await;
    assert_eq!(status, 403);
    assert_matches(&doc, "Problem", &body);

    let response = client
        .post(server.url("/api/v1/events/batch"))
        .bearer_auth(&shop)
        .json(&json!({"events": [
            {"gtin": "06901234567892", "serial": "X7K2P9QD4M", "step": "receiving"},
            {"code": "not a code", "step": "receiving"},
        ]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_matches(&doc, "BatchResults", &body);

    let response = client
        .post(server.url("/reports"))
        .json(&json!({"gtin": "06901234567892", "serial": "X7K2P9QD4M", "text": "odd box"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert_matches(&doc, "Problem", &body);
    server.shutdown().await;
}

/// Whether `instance` is valid against `components.schemas.{name}` of the served description.
fn is_valid(doc: &Value, name: &str, instance: &Value) -> bool {
    let mut schema = doc.clone();
    schema["$ref"] = json!(format!("#/components/schemas/{name}"));
    jsonschema::draft202012::options()
        .build(&schema)
        .unwrap()
        .is_valid(instance)
}

/// The request schemas say what the server accepts (scripts/api-fuzz.sh checks it at large with
/// schemathesis): a code or a GTIN and serial, what each step needs, the shapes of batch items.
#[tokio::test]
async fn request_schemas_state_which_fields_go_together() {
    let server = server().await;
    let doc = document(&server).await;
    let typed = json!({"gtin": "06901234567892", "serial": "X7K2P9QD4M", "step": "receiving"});
    let scanned = json!({"code": "/01/06901234567892/21/X7K2P9QD4M", "step": "receiving"});
    assert!(is_valid(&doc, "EventRequest", &typed));
    assert!(is_valid(&doc, "EventRequest", &scanned));
    // A null is absent, as serde reads it.
    let mut with_null = typed.clone();
    with_null["code"] = Value::Null;
    assert!(is_valid(&doc, "EventRequest", &with_null));
    for (refused, why) in [
        (json!({"step": "receiving"}), "no code"),
        (
            json!({"gtin": "06901234567892", "step": "receiving"}),
            "no serial",
        ),
        (
            json!({"code": "/01/06901234567892/21/X7K2P9QD4M", "gtin": "06901234567892",
                "serial": "X7K2P9QD4M", "step": "receiving"}),
            "both",
        ),
        (
            json!({"gtin": "0690123456789", "serial": "X", "step": "receiving"}),
            "13 digits",
        ),
        (
            json!({"gtin": "06901234567892", "serial": "X", "step": "shipping"}),
            "no `to`",
        ),
        (
            json!({"gtin": "06901234567892", "serial": "X", "step": "installing"}),
            "no VIN",
        ),
        (
            json!({"gtin": "06901234567892", "serial": "X", "step": "correcting"}),
            "no `corrects`",
        ),
        (
            json!({"gtin": "06901234567892", "serial": "X", "step": "correcting", "corrects": -1}),
            "negative",
        ),
        (
            json!({"gtin": "06901234567892", "serial": "X", "step": "resolving",
                "resolution": "counterfeit"}),
            "no genuine copy named",
        ),
        (
            json!({"gtin": "06901234567892", "serial": "X", "step": "resolving",
                "resolution": "genuine", "genuine_unknown": true}),
            "a false alarm naming a copy",
        ),
        (
            json!({"gtin": "06901234567892", "serial": "X", "step": "dancing"}),
            "no such step",
        ),
    ] {
        assert!(
            !is_valid(&doc, "EventRequest", &refused),
            "{why}: {refused}"
        );
    }
    let counterfeit = json!({"gtin": "06901234567892", "serial": "X", "step": "resolving",
        "resolution": "counterfeit", "genuine_unknown": true, "note": "two labels"});
    assert!(is_valid(&doc, "EventRequest", &counterfeit));
    // A field of another step is refused; as a null it is absent.
    let mut receiving = typed.clone();
    receiving["vin"] = json!("LSVAU218XN2183294");
    assert!(!is_valid(&doc, "EventRequest", &receiving));
    receiving["vin"] = Value::Null;
    receiving["override_recall"] = Value::Null;
    assert!(is_valid(&doc, "EventRequest", &receiving));
    // `genuine_unknown: false` names no copy.
    let false_alarm = json!({"gtin": "06901234567892", "serial": "X", "step": "resolving",
        "resolution": "genuine", "genuine_unknown": false, "genuine_vin": null});
    assert!(is_valid(&doc, "EventRequest", &false_alarm));
    // A batch judges values scan by scan; only the types refuse it whole.
    let batch = json!({"events": [{"step": "dancing", "gtin": "1"}]});
    assert!(is_valid(&doc, "BatchRequest", &batch));
    assert!(!is_valid(&doc, "BatchRequest", &json!({"events": []})));
    assert!(!is_valid(
        &doc,
        "BatchRequest",
        &json!({"events": [{"step": 1}]})
    ));
    assert!(!is_valid(
        &doc,
        "VehicleCheck",
        &json!({"gtin": "06901234567892", "vin": "X"})
    ));

    // And the server: `corrects` 3.0 is the integer 3; an empty manifest is an empty upload.
    add_party(&server.registry, "maker-1", Role::Manufacturer, "Guangdong");
    let maker = token(&server.registry, "maker-1");
    let client = reqwest::Client::new();
    let response = client
        .post(server.url("/api/v1/events"))
        .bearer_auth(&maker)
        .json(&json!({"gtin": "06901234567892", "serial": "X", "step": "correcting", "corrects": 3.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404, "{}", response.text().await.unwrap());
    let response = client
        .post(server.url("/api/v1/manifests"))
        .bearer_auth(&maker)
        .header("content-type", "application/x-ndjson")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["lines"], 0);
    server.shutdown().await;
}

/// A carton's event names the carton in place of a code, with one of the carton's steps and only
/// its fields, as `verifier::routes::carton_events::CARTON_STEP_FIELDS` says; a code's step
/// takes no carton. (`tests/cartons.rs` checks the real answers against the description.)
#[tokio::test]
async fn carton_requests_are_described() {
    let server = server().await;
    let doc = document(&server).await;
    let sscc = "106141412345678908";
    let typed = json!({"gtin": "06901234567892", "serial": "X7K2P9QD4M"});
    for valid in [
        json!({"step": "packing", "carton": sscc, "codes": [typed, "/01/06901234567892/21/X7K2P9QD4M"]}),
        json!({"step": "packing", "carton": format!("https://verify.example.cn/00/{sscc}"),
            "cartons": [sscc], "codes": null}),
        json!({"step": "shipping", "carton": sscc, "to": "dist-1"}),
        json!({"step": "receiving", "carton": sscc}),
        json!({"step": "unpacking", "carton": sscc, "vin": null}),
    ] {
        assert!(is_valid(&doc, "EventRequest", &valid), "{valid}");
    }
    for (refused, why) in [
        (
            json!({"step": "receiving", "carton": sscc, "gtin": "06901234567892",
            "serial": "X7K2P9QD4M"}),
            "a code beside the carton",
        ),
        (
            json!({"step": "shipping", "carton": sscc}),
            "shipping with no recipient",
        ),
        (
            json!({"step": "receiving", "carton": sscc, "codes": [typed]}),
            "codes when receiving",
        ),
        (
            json!({"step": "installing", "carton": sscc, "vin": "LSVAU218XN2183294"}),
            "a code's step",
        ),
        (
            json!({"step": "packing", "gtin": "06901234567892", "serial": "X"}),
            "packing a code",
        ),
        (
            json!({"step": "receiving", "carton": null}),
            "neither code nor carton",
        ),
        (
            json!({"step": "packing", "carton": sscc, "codes": [{"gtin": "06901234567892"}]}),
            "a typed code without its serial",
        ),
    ] {
        assert!(
            !is_valid(&doc, "EventRequest", &refused),
            "{why}: {refused}"
        );
    }
    server.shutdown().await;
}

/// Each step takes exactly the fields [`STEP_FIELDS`] gives it, in the description and in the
/// server alike: for every step and every field, a request naming that field is valid to the
/// description exactly when the server does not refuse it as a bad request. (The code is typed
/// and unregistered, so a request past the checks is answered 404 `not_registered`.)
#[tokio::test]
async fn each_step_takes_the_fields_the_description_gives_it() {
    let server = server().await;
    let doc = document(&server).await;
    add_party(&server.registry, "maker-1", Role::Manufacturer, "Guangdong");
    add_party(&server.registry, "shop-1", Role::Shop, "Shanghai");
    let maker = token(&server.registry, "maker-1");
    let shop = token(&server.registry, "shop-1");
    let client = reqwest::Client::new();
    let value = |field: &str| match field {
        "to" => json!("shop-1"),
        "vin" | "genuine_vin" => json!("LSVAU218XN2183294"),
        "genuine_party" => json!("shop-1"),
        "override_recall" | "vin_confirmed" | "genuine_unknown" => json!(true),
        "corrects" => json!(1),
        "resolution" => json!("genuine"),
        "carton" => json!("106141412345678908"),
        "codes" => json!([{"gtin": "06901234567892", "serial": "X7K2P9QD4M"}]),
        "cartons" => json!(["106141412345678908"]),
        _ => json!("a few words"),
    };
    let fields: Vec<String> = doc["components"]["schemas"]["EventRequest"]["properties"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|f| !["step", "code", "gtin", "serial"].contains(&f.as_str()))
        .cloned()
        .collect();
    assert_eq!(fields.len(), 14, "{fields:?}");
    let mut checked = 0;
    for (step, needed, optional) in STEP_FIELDS {
        let caller = if ["decommissioning", "recalling", "resolving"].contains(&step) {
            &maker
        } else {
            &shop
        };
        let mut base = json!({"gtin": "06901234567892", "serial": "X7K2P9QD4M", "step": step});
        for field in needed {
            base[*field] = value(field);
        }
        for field in &fields {
            if needed.contains(&field.as_str()) {
                continue;
            }
            let mut body = base.clone();
            body[field] = value(field);
            let valid = is_valid(&doc, "EventRequest", &body);
            let response = client
                .post(server.url("/api/v1/events"))
                .bearer_auth(caller)
                .json(&body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let answer: Value = response.json().await.unwrap();
            assert_eq!(
                valid,
                status != 400,
                "{body}: valid to the description: {valid}; the server: {status} {answer}"
            );
            // What the table says: the step's own fields pass; the others are refused as such
            // (for resolving, a genuine copy named in a false alarm is refused as that).
            let takes = optional.contains(&field.as_str());
            if field != "genuine_vin" && field != "genuine_party" && field != "genuine_unknown" {
                assert_eq!(takes, valid, "{body}");
            }
            if !takes {
                assert_eq!(answer["code"], "unexpected_field", "{body}");
            }
            checked += 1;
        }
    }
    assert_eq!(
        checked,
        9 * 14 - 4,
        "every step with every field it does not need"
    );
    server.shutdown().await;
}

/// A session of `token`'s party, opened as a browser opens one: the session cookie
/// (`name=value`) and its CSRF token, from the page `page` leads to.
async fn sign_in(server: &Server, page: &str, token: &str) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cookie_of = |response: &reqwest::Response| {
        let set = response.headers()["set-cookie"].to_str().unwrap();
        set.split(';').next().unwrap().to_owned()
    };
    let csrf_of = |html: &str| {
        let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
        html[at..at + 64].to_owned()
    };
    let form = client.get(server.url(page)).send().await.unwrap();
    let signin_cookie = cookie_of(&form);
    let csrf = csrf_of(&form.text().await.unwrap());
    let response = client
        .post(server.url("/signin"))
        .header("cookie", signin_cookie)
        .form(&[("csrf", &csrf[..]), ("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let session = cookie_of(&response);
    let page = client
        .get(server.url(page))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    let csrf = csrf_of(&page.text().await.unwrap());
    (session, csrf)
}

/// The dashboard's forms state what the handlers check before they look for the code (found by
/// schemathesis once signed in: any text passed for a GTIN, a serial and a reason), and its
/// upload, like the API's, takes an empty body. Each form names a well-formed code no one
/// registered: one the form's checks pass is answered `403 not_allowed` (not the maker's code).
#[tokio::test]
async fn the_dashboards_forms_state_what_it_takes() {
    let server = server().await;
    let doc = document(&server).await;
    add_party(&server.registry, "maker-1", Role::Manufacturer, "Guangdong");
    let maker = token(&server.registry, "maker-1");
    let (session, csrf) = sign_in(&server, "/dashboard", &maker).await;
    let client = reqwest::Client::new();
    let recall = |changes: Value| {
        let mut form =
            json!({"gtin": "06901234567892", "serial": "X7K2P9QD4M", "reason": "cracks"});
        for (k, v) in changes.as_object().unwrap() {
            form[k] = v.clone();
        }
        ("RecallForm", "/dashboard/recall", form)
    };
    let alert = |changes: Value| {
        let mut form =
            json!({"gtin": "06901234567892", "serial": "X7K2P9QD4M", "action": "investigating"});
        for (k, v) in changes.as_object().unwrap() {
            form[k] = v.clone();
        }
        ("AlertForm", "/dashboard/alerts", form)
    };
    for ((schema, path, mut form), valid, status) in [
        (recall(json!({})), true, 403),
        (recall(json!({"gtin": " 06901234567892\n"})), true, 403),
        (recall(json!({"gtin": ""})), false, 400),
        (recall(json!({"gtin": "0690123456789X"})), false, 400),
        (recall(json!({"serial": ""})), false, 400),
        (recall(json!({"serial": "X7K2 P9QD4M"})), false, 400),
        (recall(json!({"lot": ""})), true, 403),
        (recall(json!({"lot": " \t"})), true, 403),
        (recall(json!({"lot": " L2026A "})), true, 403),
        (recall(json!({"lot": "L2026 A"})), false, 400),
        (recall(json!({"lot": "L".repeat(21)})), false, 400),
        (recall(json!({"reason": ""})), false, 400),
        (
            recall(json!({"reason": " \t\u{3000}\u{85}\u{a0}"})),
            false,
            400,
        ),
        (recall(json!({"reason": " \u{feff} "})), true, 403),
        (recall(json!({"reason": "\u{3000}裂纹"})), true, 403),
        (alert(json!({})), true, 403),
        (
            alert(json!({"action": "counterfeit", "genuine": "unknown"})),
            true,
            403,
        ),
        (alert(json!({"gtin": ""})), false, 400),
        (alert(json!({"serial": "é"})), false, 400),
        // Whose code it is is asked before what to do with it.
        (alert(json!({"action": "dance"})), false, 403),
    ] {
        form["csrf"] = json!(csrf);
        assert_eq!(is_valid(&doc, schema, &form), valid, "{schema}: {form}");
        let fields: Vec<(String, String)> = form
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let response = client
            .post(server.url(path))
            .header("cookie", &session)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            status,
            "{path} {form}: {}",
            response.text().await.unwrap()
        );
    }
    // A form cannot send a null: no form field's type admits one.
    let forms = doc["components"]["schemas"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(name, _)| name.ends_with("Form"));
    for (name, form) in forms {
        for (field, schema) in form["properties"].as_object().unwrap() {
            assert!(
                !schema.to_string().contains(r#""null""#),
                "{name}.{field}: {schema}"
            );
        }
    }

    let upload = &doc["paths"]["/dashboard/manifests"]["post"]["requestBody"];
    assert_eq!(upload["required"], false, "{upload}");
    let response = client
        .post(server.url("/dashboard/manifests"))
        .header("cookie", &session)
        .header("x-csrf-token", &csrf)
        .header("content-type", "application/x-ndjson")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["lines"], 0);
    server.shutdown().await;
}

/// Empty text, and text of whitespace only, as forms, scanners and programs send it: ASCII's, the
/// no-break space, the next-line control (whitespace to Rust's `trim`, not to a JSON Schema `\s`),
/// the line separator and the ideographic space of a Chinese keyboard.
const BLANKS: [&str; 8] = [
    "",
    " ",
    "\t",
    "\r\n",
    "\u{a0}",
    "\u{85}",
    "\u{2028}",
    " \u{3000} ",
];

/// Every text field of the JSON requests, and the product page's GTIN, given blank one at a
/// time: the description allows it exactly when the server takes it (`POST /reports` and `POST
/// /vehicle-check` once answered an empty `code` with 400 while the description let it through).
/// Each request is otherwise one the server takes, so the blank field alone decides.
#[tokio::test]
async fn the_description_allows_blank_text_exactly_where_the_server_takes_it() {
    let server = start(Overrides {
        rate_limit: Some(0),
        report_rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let doc = document(&server).await;
    // A certified maker of the GTIN, so that a report gets as far as the check of its text.
    certify(&server.registry, &keys::generate(), "maker-1", "690123", 1);
    add_party(&server.registry, "shop-1", Role::Shop, "Shanghai");
    let maker = token(&server.registry, "maker-1");
    let shop = token(&server.registry, "shop-1");
    let client = reqwest::Client::new();
    let link = "/01/06901234567892/21/X7K2P9QD4M";
    let typed = |more: Value| {
        let mut request = json!({"gtin": "06901234567892", "serial": "X7K2P9QD4M"});
        for (k, v) in more.as_object().unwrap() {
            request[k] = v.clone();
        }
        request
    };
    let vin = "LSVAU218XN2183294";
    // (path, request schema, caller, a request the server takes)
    let requests = [
        (
            "/vehicle-check",
            "VehicleCheck",
            None,
            json!({"code": link, "vin": vin}),
        ),
        (
            "/vehicle-check",
            "VehicleCheck",
            None,
            typed(json!({"vin": vin})),
        ),
        (
            "/reports",
            "SuspectReport",
            None,
            json!({"code": link, "text": "odd box", "contact": "138 0000 0000"}),
        ),
        (
            "/reports",
            "SuspectReport",
            None,
            typed(json!({"text": "odd box"})),
        ),
        (
            "/api/v1/events",
            "EventRequest",
            Some(&shop),
            json!({"code": link, "step": "receiving"}),
        ),
        (
            "/api/v1/events",
            "EventRequest",
            Some(&shop),
            typed(json!({"step": "shipping", "to": "maker-1"})),
        ),
        (
            "/api/v1/events",
            "EventRequest",
            Some(&shop),
            typed(json!({"step": "installing", "vin": vin})),
        ),
        (
            "/api/v1/events",
            "EventRequest",
            Some(&shop),
            typed(json!({"step": "destroying", "reason": "burnt"})),
        ),
        (
            "/api/v1/lots/recall",
            "LotRecallRequest",
            Some(&maker),
            json!({"gtin": "06901234567892", "lot": "L2026A", "reason": "cracks"}),
        ),
    ];
    let send = |path: &str, caller: Option<&String>, body: &Value| {
        let mut request = client.post(server.url(path)).json(body);
        if let Some(token) = caller {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    let mut refused = BTreeSet::new();
    for (path, schema, caller, taken) in &requests {
        assert!(is_valid(&doc, schema, taken), "{schema}: {taken}");
        let answer = send(path, *caller, taken).await;
        assert!(answer < 400 || answer == 404, "{path} {taken}: {answer}");
        for (field, value) in taken.as_object().unwrap() {
            if !value.is_string() {
                continue;
            }
            for blank in BLANKS {
                let mut request = taken.clone();
                request[field] = json!(blank);
                let valid = is_valid(&doc, schema, &request);
                let status = send(path, *caller, &request).await;
                assert_eq!(
                    valid,
                    status == answer,
                    "{path} {request}: valid to the description: {valid}; the server: {status}"
                );
                if status != answer {
                    refused.insert((*schema, field.clone()));
                }
            }
        }
    }
    // The fields the server refuses blank, each of them found so.
    let expected: BTreeSet<(&str, String)> = [
        ("VehicleCheck", "code"),
        ("VehicleCheck", "gtin"),
        ("VehicleCheck", "serial"),
        ("VehicleCheck", "vin"),
        ("SuspectReport", "code"),
        ("SuspectReport", "gtin"),
        ("SuspectReport", "serial"),
        ("SuspectReport", "text"),
        ("EventRequest", "code"),
        ("EventRequest", "gtin"),
        ("EventRequest", "serial"),
        ("EventRequest", "step"),
        ("EventRequest", "to"),
        ("EventRequest", "vin"),
        ("LotRecallRequest", "gtin"),
        ("LotRecallRequest", "lot"),
    ]
    .into_iter()
    .map(|(schema, field)| (schema, field.to_owned()))
    .collect();
    assert_eq!(refused, expected);

    // The product page's GTIN, in the path: a program asking for JSON is refused one that is not.
    let product = &doc["paths"]["/01/{gtin}"]["get"]["parameters"][0];
    assert_eq!(product["name"], "gtin");
    let allows = jsonschema::draft202012::options()
        .build(&product["schema"])
        .unwrap();
    for gtin in BLANKS
        .into_iter()
        .filter(|b| !b.is_empty())
        .chain(["06901234567892"])
    {
        let encoded: String = gtin.bytes().map(|b| format!("%{b:02X}")).collect();
        let path = format!("/01/{encoded}");
        let response = client
            .get(server.url(&path))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert_eq!(
            allows.is_valid(&json!(gtin)),
            status == 200,
            "{path}: the server answered {status}"
        );
    }
    server.shutdown().await;
}
