//! Who may do what: every route of `verifier::route_list::ROUTES` against every kind of caller, as
//! one table of the answers expected. A route the router serves but the table forgets fails the
//! test, so a new route has to say who may call it.
//!
//! The callers: no credentials, a garbage token, a revoked token, an expired token, a token of a
//! revoked party, each role, and a second manufacturer (which owns none of the codes used). The API
//! routes get them as bearer tokens; the signed-in pages as sessions opened with those tokens while
//! they were still good (a revoked or expired token's session must end with it). Every request
//! carries both, so each kind of route sees the credential it reads.
//!
//! Where the custody rules decide (`docs/custody-rules.md`), the cell says what they decide: a
//! non-holder's destroy is `409 not_holder`, a distributor's install `403 wrong_role`.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use registry::{PartyId, Role};
use reqwest::{Client, RequestBuilder};
use serde_json::{Value, json};
use signer::{
    CompanyPrefix, Gtin, Lot, ManifestEntry, PartId, Serial, SignedCode, SigningKey, Sscc,
};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;
use verifier::route_list::ROUTES;

const GTIN: &str = "06901234567892";
const VIN: &str = "LSVAU218XN2183294";

/// The callers, in the table's column order.
const WHO: [&str; 9] = [
    "none",
    "garbage",
    "revoked_token",
    "expired_token",
    "revoked_party",
    "manufacturer",
    "distributor",
    "shop",
    "other_maker",
];

/// One row: a route, what the request does on it, and the answer each caller gets, in [`WHO`]'s
/// order. An answer is the status, then the problem's `code` (for problem+json), `signin` (for a
/// page that shows the sign-in form instead of what was asked), or `registered=N` (a manifest).
type Row = (&'static str, &'static str, &'static str, [&'static str; 9]);

const EVERYONE_200: [&str; 9] = ["200"; 9];
/// An API route any signed-in party may call.
const ANY_PARTY: [&str; 9] = [
    "401 missing_token",
    "401 invalid_token",
    "401 invalid_token",
    "401 invalid_token",
    "401 invalid_token",
    "200",
    "200",
    "200",
    "200",
];
/// Refusals of the five callers without a good token, on the API.
const NO: [&str; 5] = [
    "401 missing_token",
    "401 invalid_token",
    "401 invalid_token",
    "401 invalid_token",
    "401 invalid_token",
];
/// A page form posted without a live session.
const NO_SESSION: &str = "403 csrf";

const fn api(good: [&'static str; 4]) -> [&'static str; 9] {
    [
        NO[0], NO[1], NO[2], NO[3], NO[4], good[0], good[1], good[2], good[3],
    ]
}

const fn form(good: [&'static str; 4]) -> [&'static str; 9] {
    [
        NO_SESSION, NO_SESSION, NO_SESSION, NO_SESSION, NO_SESSION, good[0], good[1], good[2],
        good[3],
    ]
}

/// A page that shows its sign-in form to anyone without a live session.
const fn page(good: [&'static str; 4]) -> [&'static str; 9] {
    [
        "200 signin",
        "200 signin",
        "200 signin",
        "200 signin",
        "200 signin",
        good[0],
        good[1],
        good[2],
        good[3],
    ]
}

//                                                       manufacturer    distributor        shop               other maker
const TABLE: &[Row] = &[
    ("GET", "/healthz", "", EVERYONE_200),
    ("GET", "/readyz", "", EVERYONE_200),
    ("GET", "/metrics", "", EVERYONE_200),
    ("GET", "/openapi.json", "", EVERYONE_200),
    // The transparency log is public: everyone reads the same.
    ("GET", "/log/checkpoint", "", EVERYONE_200),
    ("GET", "/log/key", "", EVERYONE_200),
    (
        "GET",
        "/log/tile/{*path}",
        "a tile beyond the tree",
        ["404 not_found"; 9],
    ),
    ("GET", "/", "", EVERYONE_200),
    ("GET", "/01/{gtin}", "", EVERYONE_200),
    ("GET", "/01/{gtin}/21/{serial}", "", EVERYONE_200),
    ("GET", "/01/{gtin}/10/{lot}/21/{serial}", "", EVERYONE_200),
    ("GET", "/lookup", "", EVERYONE_200),
    ("POST", "/vehicle-check", "", EVERYONE_200),
    ("POST", "/reports", "", ["201"; 9]),
    ("POST", "/owner/report", "", ["201"; 9]),
    ("POST", "/owner/vehicle-check", "", EVERYONE_200),
    // Each caller signs in with its own token: a bad one gets the form again.
    (
        "POST",
        "/signin",
        "own token",
        [
            "200 signin",
            "200 signin",
            "200 signin",
            "200 signin",
            "200 signin",
            "303",
            "303",
            "303",
            "303",
        ],
    ),
    ("POST", "/signout", "", form(["303", "303", "303", "303"])),
    (
        "GET",
        "/shop",
        "",
        page(["200 signin", "200", "200", "200 signin"]),
    ),
    (
        "POST",
        "/shop/scan",
        "",
        form(["403 wrong_role", "303", "303", "403 wrong_role"]),
    ),
    // Any session may switch its own station's mode (a non-shop only gets a message).
    (
        "POST",
        "/shop/mode",
        "install",
        form(["303", "303", "303", "303"]),
    ),
    (
        "GET",
        "/shop/vehicle",
        "",
        page(["200 signin", "200 signin", "200", "200 signin"]),
    ),
    (
        "GET",
        "/dashboard",
        "",
        page(["200", "200 signin", "200 signin", "200"]),
    ),
    (
        "POST",
        "/dashboard/alerts",
        "investigating",
        form(["303", "403 wrong_role", "403 wrong_role", "403 not_allowed"]),
    ),
    ("GET", "/api/v1/me", "", ANY_PARTY),
    ("GET", "/api/v1/notices", "", ANY_PARTY),
    // A session answers only the question its own station asked, about its own rows: none here.
    (
        "POST",
        "/shop/decide",
        "cancel",
        form([
            "404 no_such_row",
            "404 no_such_row",
            "404 no_such_row",
            "404 no_such_row",
        ]),
    ),
    // The first row of each station: the shop's and the distributor's earlier scans above.
    (
        "POST",
        "/shop/undo",
        "",
        form(["404 no_such_row", "303", "303", "404 no_such_row"]),
    ),
    // The maker's investigation of its own code; another maker's is refused, not shown.
    (
        "GET",
        "/dashboard/codes/{gtin}/{serial}",
        "",
        page(["200", "200 signin", "200 signin", "403 not_allowed"]),
    ),
    // Found: on to the investigation; another maker gets the search form saying it is not its own.
    (
        "GET",
        "/dashboard/find",
        "",
        page(["303", "200 signin", "200 signin", "200"]),
    ),
    (
        "GET",
        "/dashboard/lots",
        "",
        page(["200", "200 signin", "200 signin", "200"]),
    ),
    // The station's scripts are public, like the page that names them.
    ("GET", "/assets/{name}", "the QR decoder", EVERYONE_200),
    // The maker's packing records: the lookup leads on whoever's the number is; the record is its
    // packer's alone, and anyone else is told no such carton exists.
    (
        "GET",
        "/dashboard/cartons",
        "",
        page(["303", "200 signin", "200 signin", "303"]),
    ),
    (
        "GET",
        "/dashboard/cartons/{sscc}",
        "",
        page(["200", "200 signin", "200 signin", "404 unknown_carton"]),
    ),
    (
        "GET",
        "/dashboard/cartons/{sscc}/label.pdf",
        "",
        page(["200", "200 signin", "200 signin", "404 unknown_carton"]),
    ),
    (
        "GET",
        "/dashboard/cartons/{sscc}/label.png",
        "",
        page(["200", "200 signin", "200 signin", "404 unknown_carton"]),
    ),
    (
        "GET",
        "/dashboard/cartons/{sscc}/label.svg",
        "",
        page(["200", "200 signin", "200 signin", "404 unknown_carton"]),
    ),
    (
        "POST",
        "/dashboard/recall",
        "",
        form(["303", "403 wrong_role", "403 wrong_role", "403 not_allowed"]),
    ),
    (
        "POST",
        "/dashboard/manifests",
        "",
        form([
            "200 registered=1",
            "403 wrong_role",
            "403 wrong_role",
            "200 registered=0",
        ]),
    ),
    // Custody steps on a part its manufacturer holds and nobody recorded yet: the holder is the
    // manufacturer; everyone else is "other" in docs/custody-rules.md's at_manufacturer rows.
    (
        "POST",
        "/api/v1/events",
        "shipping, scanned",
        api(["200", "200", "200", "200"]),
    ),
    (
        "POST",
        "/api/v1/events",
        "receiving, scanned",
        api(["200", "200", "200", "200"]),
    ),
    (
        "POST",
        "/api/v1/events",
        "receiving, typed",
        api(["200", "200", "200", "200"]),
    ),
    (
        "POST",
        "/api/v1/events",
        "installing, scanned",
        api(["403 wrong_role", "403 wrong_role", "200", "403 wrong_role"]),
    ),
    (
        "POST",
        "/api/v1/events",
        "removing, scanned",
        api([
            "403 wrong_role",
            "403 wrong_role",
            "409 not_holder",
            "403 wrong_role",
        ]),
    ),
    (
        "POST",
        "/api/v1/events",
        "destroying, scanned",
        api(["200", "409 not_holder", "409 not_holder", "409 not_holder"]),
    ),
    (
        "POST",
        "/api/v1/events",
        "shipping, typed",
        api(["200", "409 not_holder", "409 not_holder", "409 not_holder"]),
    ),
    (
        "POST",
        "/api/v1/events",
        "recalling",
        api(["200", "403 wrong_role", "403 wrong_role", "403 not_allowed"]),
    ),
    (
        "POST",
        "/api/v1/events",
        "decommissioning",
        api(["200", "403 wrong_role", "403 wrong_role", "403 not_allowed"]),
    ),
    (
        "POST",
        "/api/v1/events",
        "resolving, genuine",
        api(["200", "403 wrong_role", "403 wrong_role", "403 not_allowed"]),
    ),
    // A carton of one fresh code, under the manufacturer's prefix: packing and unpacking it are the
    // holder's (another maker is refused the prefix first), shipping it too; receiving it is
    // anyone's (a claim per code for anyone but the addressee).
    (
        "POST",
        "/api/v1/events",
        "packing a carton",
        api(["200", "409 not_holder", "409 not_holder", "422 sscc_prefix"]),
    ),
    (
        "POST",
        "/api/v1/events",
        "shipping a carton",
        api(["200", "409 not_holder", "409 not_holder", "409 not_holder"]),
    ),
    (
        "POST",
        "/api/v1/events",
        "receiving a carton",
        api(["200", "200", "200", "200"]),
    ),
    (
        "POST",
        "/api/v1/events",
        "unpacking a carton",
        api(["200", "409 not_holder", "409 not_holder", "409 not_holder"]),
    ),
    (
        "POST",
        "/api/v1/events/batch",
        "receiving, scanned",
        api(["200", "200", "200", "200"]),
    ),
    (
        "POST",
        "/api/v1/lots/recall",
        "",
        api(["200", "403 wrong_role", "403 wrong_role", "403 not_allowed"]),
    ),
    (
        "GET",
        "/api/v1/alerts",
        "",
        api(["200", "403 wrong_role", "403 wrong_role", "200"]),
    ),
    (
        "GET",
        "/api/v1/reports",
        "",
        api(["200", "403 wrong_role", "403 wrong_role", "200"]),
    ),
    // Another maker's code reads as unknown: it learns nothing of codes not its own.
    (
        "GET",
        "/api/v1/codes/{gtin}/{serial}",
        "",
        api(["200", "403 wrong_role", "403 wrong_role", "404 not_found"]),
    ),
    (
        "GET",
        "/api/v1/codes/{gtin}/{serial}/epcis",
        "",
        api(["200", "403 wrong_role", "403 wrong_role", "404 not_found"]),
    ),
    (
        "GET",
        "/api/v1/vehicles/{vin}",
        "",
        api(["403 wrong_role", "403 wrong_role", "200", "403 wrong_role"]),
    ),
    // Another maker may upload, but none of the manufacturer's codes register under it.
    (
        "POST",
        "/api/v1/manifests",
        "the manufacturer's codes",
        api([
            "200 registered=1",
            "403 wrong_role",
            "403 wrong_role",
            "200 registered=0",
        ]),
    ),
    // EPCIS capture: the limits for anyone; a capture by any party (about a code it may not
    // hold: the job says so); a job nobody made is nobody's.
    ("OPTIONS", "/epcis/capture", "", ["204"; 9]),
    ("POST", "/epcis/capture", "", api(["202"; 4])),
    ("GET", "/epcis/capture/{id}", "", api(["404 not_found"; 4])),
];

/// A caller: its bearer token, and its session cookie and CSRF token (if it opened one).
struct Identity {
    token: String,
    session: Option<(String, String)>,
}

struct World {
    server: Server,
    client: Client,
    key: SigningKey,
    who: Vec<Identity>,
    next: std::cell::Cell<usize>,
}

impl World {
    /// A fresh code of the manufacturer, registered and held by it.
    fn fresh(&self) -> SignedCode {
        let code = self.unregistered();
        self.server
            .registry
            .register(std::slice::from_ref(&code), None, now())
            .unwrap();
        code
    }

    fn unregistered(&self) -> SignedCode {
        let i = self.next.get();
        self.next.set(i + 1);
        SignedCode::sign(
            PartId {
                gtin: Gtin::parse(GTIN).unwrap(),
                lot: Some(Lot::parse("L2026A").unwrap()),
                serial: Serial::parse(&format!("AUTH{i:05}")).unwrap(),
            },
            &self.key,
        )
    }

    /// A carton number of the manufacturer's nobody used yet.
    fn fresh_carton(&self) -> Sscc {
        let i = self.next.get();
        self.next.set(i + 1);
        Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), i as u64).unwrap()
    }

    /// A fresh carton packed by the manufacturer with `code` in it.
    fn packed(&self, code: &SignedCode) -> Sscc {
        let sscc = self.fresh_carton();
        self.server
            .registry
            .pack_carton(
                &PartyId::parse("acme-brakes").unwrap(),
                &sscc,
                &[(registry::CodeKey::of(&code.part), None)],
                &[],
                now(),
            )
            .unwrap();
        sscc
    }

    fn uri(&self, code: &SignedCode) -> String {
        code.to_uri(&self.server.base())
    }

    /// The request of `row` for caller `who`, with its credentials.
    async fn request(&self, row: &Row, who: usize) -> RequestBuilder {
        let (method, path, variant, _) = *row;
        let id = &self.who[who];
        let code = self.fresh();
        let serial = code.part.serial.as_str().to_owned();
        let uri = self.uri(&code);
        let csrf = id
            .session
            .as_ref()
            .map_or("0".repeat(64), |(_, c)| c.clone());
        let url = |p: &str| self.server.url(p);
        let builder = match (method, path) {
            ("GET", "/01/{gtin}") => self.client.get(url(&format!("/01/{GTIN}"))),
            ("GET", "/01/{gtin}/21/{serial}" | "/01/{gtin}/10/{lot}/21/{serial}") => {
                let path = uri.split_once("/01/").unwrap().1;
                let path = if path.contains("/10/") {
                    format!("/01/{path}")
                } else {
                    unreachable!("the codes carry a lot")
                };
                let path = if row.1.contains("{lot}") {
                    path
                } else {
                    // The same code without its lot.
                    path.replacen("/10/L2026A", "", 1)
                };
                self.client.get(url(&path))
            }
            ("GET", "/lookup") => self
                .client
                .get(url(&format!("/lookup?gtin={GTIN}&serial={serial}"))),
            ("POST", "/vehicle-check") => self
                .client
                .post(url(path))
                .json(&json!({"code": uri, "vin": VIN})),
            ("POST", "/reports") => self
                .client
                .post(url(path))
                .json(&json!({"code": uri, "text": "sold loose at a market"})),
            ("POST", "/owner/report") => self.client.post(url(path)).form(&[
                ("gtin", GTIN),
                ("serial", &serial),
                ("text", "sold loose at a market"),
            ]),
            ("POST", "/owner/vehicle-check") => self.client.post(url(path)).form(&[
                ("gtin", GTIN),
                ("serial", &serial),
                ("vin", VIN),
            ]),
            ("POST", "/signin") => {
                let (cookie, csrf) = sign_in_form(&self.client, &self.server).await;
                return self
                    .client
                    .post(url(path))
                    .header("cookie", cookie)
                    .form(&[("csrf", &csrf[..]), ("token", &id.token[..])]);
            }
            ("POST", "/signout") => self.client.post(url(path)).form(&[("csrf", &csrf)]),
            ("POST", "/shop/scan") => self
                .client
                .post(url(path))
                .form(&[("csrf", &csrf[..]), ("code", &uri[..])]),
            ("POST", "/shop/mode") => self.client.post(url(path)).form(&[
                ("csrf", &csrf[..]),
                ("mode", "install"),
                ("vin", VIN),
            ]),
            ("GET", "/shop/vehicle") => self.client.get(url(&format!("/shop/vehicle?vin={VIN}"))),
            ("POST", "/dashboard/alerts") => self.client.post(url(path)).form(&[
                ("csrf", &csrf[..]),
                ("gtin", GTIN),
                ("serial", &serial),
                ("action", "investigating"),
            ]),
            ("POST", "/api/v1/events") => {
                let body = match variant {
                    "shipping, scanned" => {
                        json!({"step": "shipping", "code": uri, "to": "dist-1"})
                    }
                    "shipping, typed" => {
                        json!({"step": "shipping", "gtin": GTIN, "serial": serial, "to": "dist-1"})
                    }
                    "receiving, scanned" => json!({"step": "receiving", "code": uri}),
                    "receiving, typed" => {
                        json!({"step": "receiving", "gtin": GTIN, "serial": serial})
                    }
                    "installing, scanned" => {
                        json!({"step": "installing", "code": uri, "vin": VIN})
                    }
                    "removing, scanned" => json!({"step": "removing", "code": uri, "vin": VIN}),
                    "destroying, scanned" => {
                        json!({"step": "destroying", "code": uri, "reason": "crushed"})
                    }
                    "recalling" => json!({"step": "recalling", "code": uri, "reason": "cracks"}),
                    "decommissioning" => {
                        json!({"step": "decommissioning", "code": uri, "reason": "misprint"})
                    }
                    "resolving, genuine" => json!({
                        "step": "resolving", "code": uri, "resolution": "genuine",
                        "note": "checked the part in hand"
                    }),
                    "packing a carton" => json!({
                        "step": "packing", "carton": self.fresh_carton().as_str(), "codes": [uri]
                    }),
                    "shipping a carton" => json!({
                        "step": "shipping", "carton": self.packed(&code).as_str(), "to": "dist-1"
                    }),
                    "receiving a carton" => {
                        json!({"step": "receiving", "carton": self.packed(&code).as_str()})
                    }
                    "unpacking a carton" => {
                        json!({"step": "unpacking", "carton": self.packed(&code).as_str()})
                    }
                    other => panic!("no request for the variant {other:?}"),
                };
                self.client.post(url(path)).json(&body)
            }
            ("POST", "/shop/decide") => self.client.post(url(path)).form(&[
                ("csrf", &csrf[..]),
                ("row", "1"),
                ("choice", "cancel"),
            ]),
            ("POST", "/shop/undo") => self
                .client
                .post(url(path))
                .form(&[("csrf", &csrf[..]), ("row", "1")]),
            ("GET", "/dashboard/codes/{gtin}/{serial}") => self
                .client
                .get(url(&format!("/dashboard/codes/{GTIN}/{serial}"))),
            ("GET", "/dashboard/find") => self
                .client
                .get(url(&format!("/dashboard/find?gtin={GTIN}&serial={serial}"))),
            ("GET", "/dashboard/cartons") => self.client.get(url(&format!(
                "/dashboard/cartons?carton={}",
                self.packed(&code)
            ))),
            ("GET", carton_page) if carton_page.starts_with("/dashboard/cartons/{sscc}") => {
                let packed = self.packed(&code);
                self.client
                    .get(url(&carton_page.replace("{sscc}", packed.as_str())))
            }
            ("POST", "/dashboard/recall") => self.client.post(url(path)).form(&[
                ("csrf", &csrf[..]),
                ("gtin", GTIN),
                ("serial", &serial),
                ("reason", "cracked housing"),
            ]),
            ("POST", "/dashboard/manifests") => {
                let code = self.unregistered();
                let line = ManifestEntry::new(code, &self.server.base(), None).to_json_line();
                self.client
                    .post(url(path))
                    .header("x-csrf-token", &csrf)
                    .header("content-type", "application/x-ndjson")
                    .body(format!("{line}\n"))
            }
            ("POST", "/api/v1/events/batch") => self
                .client
                .post(url(path))
                .json(&json!({"events": [{"step": "receiving", "code": uri}]})),
            ("POST", "/api/v1/lots/recall") => self.client.post(url(path)).json(&json!({
                "gtin": GTIN, "lot": "RECALLED1", "reason": "a batch of cracked castings"
            })),
            ("GET", "/api/v1/codes/{gtin}/{serial}") => self
                .client
                .get(url(&format!("/api/v1/codes/{GTIN}/{serial}"))),
            ("GET", "/api/v1/codes/{gtin}/{serial}/epcis") => self
                .client
                .get(url(&format!("/api/v1/codes/{GTIN}/{serial}/epcis"))),
            ("GET", "/api/v1/vehicles/{vin}") => {
                self.client.get(url(&format!("/api/v1/vehicles/{VIN}")))
            }
            ("POST", "/api/v1/manifests") => {
                let code = self.unregistered();
                let line = ManifestEntry::new(code, &self.server.base(), None).to_json_line();
                self.client
                    .post(url(path))
                    .header("content-type", "application/x-ndjson")
                    .body(format!("{line}\n"))
            }
            ("OPTIONS", "/epcis/capture") => self.client.request(reqwest::Method::OPTIONS, url(path)),
            ("POST", "/epcis/capture") => self
                .client
                .post(url(path))
                .header("content-type", "application/ld+json")
                .body(
                    json!({
                        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                        "type": "EPCISDocument", "schemaVersion": "2.0",
                        "creationDate": "2026-12-08T02:00:00Z",
                        "epcisBody": {"eventList": [{
                            "type": "ObjectEvent", "action": "OBSERVE", "bizStep": "receiving",
                            "epcList": [uri], "eventTime": "2026-12-08T02:00:00Z",
                            "eventTimeZoneOffset": "+08:00"}]},
                    })
                    .to_string(),
                ),
            ("GET", "/epcis/capture/{id}") => self
                .client
                .get(url("/epcis/capture/00000000000000000000000000000000")),
            ("GET", "/log/tile/{*path}") => self.client.get(url("/log/tile/0/x999/999")),
            ("GET", "/assets/{name}") => self.client.get(url("/assets/jsQR-1.4.0.js")),
            ("GET", path) => self.client.get(url(path)),
            (method, path) => panic!("no request for {method} {path}"),
        };
        let mut builder = builder.bearer_auth(&id.token);
        if let Some((cookie, _)) = &id.session {
            builder = builder.header("cookie", cookie);
        }
        builder
    }
}

/// The answer, as the table writes it.
async fn observe(response: reqwest::Response) -> String {
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.text().await.unwrap();
    if kind.starts_with("application/problem+json") {
        let problem: Value = serde_json::from_str(&body).unwrap();
        return format!("{status} {}", problem["code"].as_str().unwrap());
    }
    if kind.starts_with("text/html") && body.contains("action=\"/signin\"") {
        return format!("{status} signin");
    }
    if kind.starts_with("application/json") {
        if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(&body) {
            if let Some(n) = o.get("registered") {
                return format!("{status} registered={n}");
            }
        }
    }
    status.to_string()
}

/// A session opened with `token`: its cookie and the CSRF token of its pages.
async fn session(client: &Client, server: &Server, token: &str) -> (String, String) {
    let (signin_cookie, csrf) = sign_in_form(client, server).await;
    let response = client
        .post(server.url("/signin"))
        .header("cookie", signin_cookie)
        .form(&[("csrf", &csrf[..]), ("token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303, "signing in with a good token");
    let set = response.headers()["set-cookie"].to_str().unwrap();
    let cookie = set.split(';').next().unwrap().to_owned();
    let to = response.headers()["location"].to_str().unwrap().to_owned();
    let html = client
        .get(server.url(&to))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    (cookie, html[at..at + 64].to_owned())
}

async fn world() -> World {
    // No rate limits: the table sends ten reports from one address.
    let server = start(Overrides {
        rate_limit: Some(0),
        report_rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = &server.registry;
    let authority = signer::keys::generate();
    let maker = certify(r, &authority, "acme-brakes", "690123", 1);
    certify(r, &authority, "other-brakes", "690555", 2);
    add_party(r, "dist-1", Role::Distributor, "Guangdong");
    add_party(r, "shop-a", Role::Shop, "Guangdong");
    add_party(r, "shop-gone", Role::Shop, "Guangdong");

    let shop = PartyId::parse("shop-a").unwrap();
    // Tokens that go bad after their session opened: revoked, expiring, of a party revoked.
    let revoked = token(r, "shop-a");
    let expires = signer::Timestamp(now().seconds() + 4);
    let expiring = r
        .issue_token(&shop, Some(expires), now().plus_days(-1))
        .unwrap()
        .reveal()
        .to_owned();
    let of_gone = token(r, "shop-gone");
    let revoked_session = session(&client, &server, &revoked).await;
    let expiring_session = session(&client, &server, &expiring).await;
    let gone_session = session(&client, &server, &of_gone).await;
    r.revoke_token(revoked.split('_').nth(1).unwrap(), now())
        .unwrap();
    r.revoke_party(&PartyId::parse("shop-gone").unwrap(), now())
        .unwrap();

    let mut who = vec![
        Identity {
            token: String::new(),
            session: None,
        },
        Identity {
            token: "pst_garbage_0000".into(),
            session: Some((
                format!("partseal_session={}", "0".repeat(64)),
                "0".repeat(64),
            )),
        },
        Identity {
            token: revoked,
            session: Some(revoked_session),
        },
        Identity {
            token: expiring,
            session: Some(expiring_session),
        },
        Identity {
            token: of_gone,
            session: Some(gone_session),
        },
    ];
    for id in ["acme-brakes", "dist-1", "shop-a", "other-brakes"] {
        let token = token(r, id);
        let session = session(&client, &server, &token).await;
        who.push(Identity {
            token,
            session: Some(session),
        });
    }
    // Wait out the expiring token, once: the table must see it expired.
    while now() <= expires {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    World {
        server,
        client,
        key: maker.key,
        who,
        next: std::cell::Cell::new(0),
    }
}

#[tokio::test]
async fn every_route_answers_every_caller_as_the_table_says() {
    let w = world().await;
    // The token of "no credentials" is empty: send no Authorization header at all.
    assert!(w.who[0].token.is_empty());

    let mut rows: BTreeMap<(&str, &str), Vec<&Row>> = BTreeMap::new();
    for row in TABLE {
        assert!(
            ROUTES.contains(&(row.0, row.1)),
            "the table names {} {}, which the router does not serve",
            row.0,
            row.1
        );
        rows.entry((row.0, row.1)).or_default().push(row);
    }
    // Signing out ends the session the later rows need: it goes last.
    let mut routes: Vec<&(&str, &str)> = ROUTES.iter().filter(|r| r.1 != "/signout").collect();
    routes.extend(ROUTES.iter().filter(|r| r.1 == "/signout"));

    let mut wrong = Vec::new();
    let mut cells = 0;
    for (method, path) in routes {
        let Some(rows) = rows.get(&(*method, *path)) else {
            panic!("{method} {path} is served but missing from the authorization table");
        };
        for row in rows {
            for (i, expected) in row.3.iter().enumerate() {
                let mut request = w.request(row, i).await;
                if i == 0 {
                    // `bearer_auth("")` would still send the header; rebuild without it.
                    request = strip_authorization(request);
                }
                let got = observe(request.send().await.unwrap()).await;
                cells += 1;
                if got != *expected {
                    wrong.push(format!(
                        "{method} {path} ({}) as {}: expected {expected}, got {got}",
                        row.2, WHO[i]
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {cells} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    w.server.shutdown().await;
}

fn strip_authorization(request: RequestBuilder) -> RequestBuilder {
    let (client, request) = request.build_split();
    let mut request = request.unwrap();
    request.headers_mut().remove("authorization");
    RequestBuilder::from_parts(client, request)
}
