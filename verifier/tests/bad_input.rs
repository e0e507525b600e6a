//! The bad-input catalogue: what a careless or hostile client can send, sent, with the answer each
//! one gets. Oversized, truncated and malformed bodies and heads, invalid JSON and UTF-8, wrong
//! content types, numbers out of range, unknown fields, bad GTINs, serials, VINs, lots, party ids and
//! signatures, and path traversal in every path parameter: each is refused with a clear 4xx and
//! its stable `code`, and nothing is stored (the registry's counts, reports, parties and tokens are
//! compared before and after every input).
//!
//! Then markup in every text a page later shows (report texts and contacts, party and company
//! names, reasons, the station's scanned text, a proxy's region): it is stored as given, and
//! every page that shows it shows it escaped.
//!
//! Requests go over raw TCP, so bytes the HTTP clients would refuse or normalise (`..` segments,
//! invalid UTF-8, a body shorter than its `Content-Length`) reach the server as sent.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::Duration;

use registry::{PartyId, Registry, Role};
use reqwest::Client;
use serde_json::{Value, json};
use signer::{Gtin, Lot, PartId, Serial, SignedCode, Sscc};
use testkit::service::*;
use testkit::world::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use verifier::config::Overrides;

const GTIN: &str = "06901234567892";
const VIN: &str = "LSVAU218XN2183294";
/// The maker's carton holding its code `BAD0000`, and one of its numbers never packed (both
/// under its prefix 690123).
const PACKED: &str = "369012300000000011";
const FRESH: &str = "369012300000000028";

/// One input and the answer expected: the status, then the problem's `code` when the answer is
/// problem+json (hyper's own refusals, before any route, have no body).
struct Case {
    name: String,
    request: Vec<u8>,
    /// Close the sending half after the request (a client that sends less than it declared).
    hang_up: bool,
    expect: &'static str,
}

struct Answer {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Answer {
    fn observed(&self) -> String {
        if self.content_type.starts_with("application/problem+json") {
            let problem: Value = serde_json::from_slice(&self.body).unwrap_or(Value::Null);
            match problem["code"].as_str() {
                Some(code) => format!("{} {code}", self.status),
                None => format!("{} (problem without a code)", self.status),
            }
        } else if let Some(verdict) = serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["verdict"].as_str().map(str::to_owned))
        {
            // A scan always answers with a verdict: the phone shows it.
            format!("{} verdict={verdict}", self.status)
        } else if self.content_type.is_empty() && self.body.is_empty() {
            self.status.to_string()
        } else {
            format!("{} {}", self.status, self.content_type)
        }
    }
}

/// Sends `bytes` on a fresh connection and reads the one answer (the request asks the server to
/// close after it).
async fn send(addr: SocketAddr, bytes: &[u8], hang_up: bool) -> Option<Answer> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // A server may answer and close before it has read all of an oversized request: the write
    // can then fail, and the answer is still there to read.
    let _ = stream.write_all(bytes).await;
    if hang_up {
        let _ = stream.shutdown().await;
    }
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut chunk = [0u8; 8192];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer and no close within 20 s");
    if raw.is_empty() {
        return None;
    }
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("half an answer: {:?}", String::from_utf8_lossy(&raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let status = head[9..12].parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    Some(Answer {
        status,
        content_type,
        body: raw[end + 4..].to_vec(),
    })
}

/// A request's bytes: `head_lines` are extra header lines, each ending in CRLF.
fn request(method: &str, target: &str, head_lines: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "{method} {target} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n{head_lines}"
    )
    .into_bytes();
    if method == "POST" {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Everything a request could have stored, as one comparable text.
fn stored(r: &Registry) -> String {
    let s = r.stats().unwrap();
    let reports: usize = ["acme-brakes", "other-brakes"]
        .iter()
        .map(|m| r.reports(&PartyId::parse(m).unwrap()).unwrap().len())
        .sum();
    let codes: Vec<String> = (0..4)
        .map(|i| {
            let key = registry::CodeKey::new(
                &Gtin::parse(GTIN).unwrap(),
                &Serial::parse(&format!("BAD{i:04}")).unwrap(),
            );
            let status = r.status(&key).unwrap().unwrap();
            let carton = r.carton_of(&key).unwrap();
            format!(
                "{:?}",
                (status.record.events, &status.record.custody, carton)
            )
        })
        .collect();
    let cartons: Vec<bool> = [PACKED, FRESH]
        .iter()
        .map(|c| r.carton(&Sscc::parse(c).unwrap()).unwrap().is_some())
        .collect();
    format!(
        "codes={} events={} alerts={} lot_recalls={} scanned={} reports={reports} parties={} \
         tokens={} {codes:?} cartons={cartons:?}",
        s.codes,
        s.events,
        s.alerts,
        s.lot_recalls,
        s.scanned_codes,
        r.parties().unwrap().len(),
        r.tokens().unwrap().len(),
    )
}

struct World {
    server: Server,
    maker: String,
    shop: String,
    uri: String,
    /// Cookies and CSRF tokens: a shop's session, a maker's, and the sign-in form's.
    shop_session: (String, String),
    maker_session: (String, String),
    sign_in: (String, String),
}

async fn world() -> World {
    let server = start(Overrides {
        rate_limit: Some(0),
        report_rate_limit: Some(0),
        trusted_proxies: Some(vec!["127.0.0.1/32".parse().unwrap()]),
        ..Overrides::default()
    })
    .await;
    let r = &server.registry;
    let authority = signer::keys::generate();
    let maker = certify(r, &authority, "acme-brakes", "690123", 1);
    certify(r, &authority, "other-brakes", "690555", 2);
    add_party(r, "shop-a", Role::Shop, "Guangdong");
    add_party(r, "dist-1", Role::Distributor, "Guangdong");
    let codes: Vec<SignedCode> = (0..4)
        .map(|i| {
            SignedCode::sign(
                PartId {
                    gtin: Gtin::parse(GTIN).unwrap(),
                    lot: Some(Lot::parse("L2026A").unwrap()),
                    serial: Serial::parse(&format!("BAD{i:04}")).unwrap(),
                },
                &maker.key,
            )
        })
        .collect();
    r.register(&codes, None, now()).unwrap();
    r.pack_carton(
        &PartyId::parse("acme-brakes").unwrap(),
        &Sscc::parse(PACKED).unwrap(),
        &[(registry::CodeKey::of(&codes[0].part), None)],
        &[],
        now(),
    )
    .unwrap();
    let (maker, shop) = (token(r, "acme-brakes"), token(r, "shop-a"));
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    World {
        uri: codes[0].to_uri(&server.base()),
        shop_session: session(&client, &server, &shop).await,
        maker_session: session(&client, &server, &maker).await,
        sign_in: sign_in_form(&client, &server).await,
        maker,
        shop,
        server,
    }
}

fn add(cases: &mut Vec<Case>, name: String, request: Vec<u8>, expect: &'static str) {
    cases.push(Case {
        name,
        request,
        hang_up: false,
        expect,
    });
}

/// The catalogue.
fn catalogue(w: &World) -> Vec<Case> {
    let mut cases = Vec::new();
    let shop = format!("authorization: Bearer {}\r\n", w.shop);
    let maker = format!("authorization: Bearer {}\r\n", w.maker);
    let json = "content-type: application/json\r\n";
    let uri = w.uri.clone();

    // ---- Bodies, on every JSON route ----
    let routes: [(&str, &str, Value, usize); 5] = [
        (
            "/api/v1/events",
            &shop,
            json!({"step": "receiving", "code": uri}),
            1 << 20,
        ),
        (
            "/api/v1/events/batch",
            &shop,
            json!({"events": [{"step": "receiving", "code": uri}]}),
            1 << 20,
        ),
        (
            "/api/v1/lots/recall",
            &maker,
            json!({"gtin": GTIN, "lot": "L2026A", "reason": "cracks"}),
            64 * 1024,
        ),
        (
            "/reports",
            "",
            json!({"code": uri, "text": "fake"}),
            64 * 1024,
        ),
        (
            "/vehicle-check",
            "",
            json!({"code": uri, "vin": VIN}),
            64 * 1024,
        ),
    ];
    for (route, auth, good, limit) in routes {
        let with = |head: &str, body: &[u8]| request("POST", route, &format!("{auth}{head}"), body);
        let good_bytes = serde_json::to_vec(&good).unwrap();
        // One byte over the limit, as valid JSON.
        let mut big = good.clone();
        big["pad"] = Value::String("x".repeat(limit));
        add(
            &mut cases,
            format!("{route}: body over the limit"),
            with(json, &serde_json::to_vec(&big).unwrap()),
            "413 body_too_large",
        );
        add(
            &mut cases,
            format!("{route}: body cut short"),
            with(json, &good_bytes[..good_bytes.len() / 2]),
            "400 invalid_json",
        );
        add(
            &mut cases,
            format!("{route}: not JSON"),
            with(json, b"step=receiving&code=x"),
            "400 invalid_json",
        );
        add(
            &mut cases,
            format!("{route}: empty body"),
            with(json, b""),
            "400 invalid_json",
        );
        let mut bad_utf8 = good_bytes.clone();
        let at = bad_utf8.iter().rposition(|&b| b == b'"').unwrap();
        bad_utf8.splice(at..at, [0xff, 0xfe, 0xc3]);
        add(
            &mut cases,
            format!("{route}: invalid UTF-8 in a string"),
            with(json, &bad_utf8),
            "400 invalid_json",
        );
        add(
            &mut cases,
            format!("{route}: a lone surrogate escape"),
            with(json, br#"{"\ud800": 1}"#),
            "400 invalid_json",
        );
        add(
            &mut cases,
            format!("{route}: nested 10000 deep"),
            with(json, &[b"[".repeat(10_000), b"]".repeat(10_000)].concat()),
            // Refused at the first level: an array where an object goes.
            "400 invalid_field",
        );
        add(
            &mut cases,
            format!("{route}: an array"),
            with(json, b"[]"),
            "400 invalid_field",
        );
        add(
            &mut cases,
            format!("{route}: null"),
            with(json, b"null"),
            "400 invalid_field",
        );
        add(
            &mut cases,
            format!("{route}: text/plain"),
            with("content-type: text/plain\r\n", &good_bytes),
            "415 unsupported_media_type",
        );
        add(
            &mut cases,
            format!("{route}: form-encoded"),
            with(
                "content-type: application/x-www-form-urlencoded\r\n",
                &good_bytes,
            ),
            "415 unsupported_media_type",
        );
        add(
            &mut cases,
            format!("{route}: no content type"),
            with("", &good_bytes),
            "415 unsupported_media_type",
        );
        let mut unknown = good.clone();
        unknown["admin"] = json!(true);
        add(
            &mut cases,
            format!("{route}: an unknown field"),
            with(json, &serde_json::to_vec(&unknown).unwrap()),
            "400 invalid_field",
        );
        // Declares more than it sends, then stops sending.
        let mut short = with(json, &good_bytes);
        let declared = format!("content-length: {}", good_bytes.len());
        let more = format!("content-length: {}", good_bytes.len() + 100);
        let text = String::from_utf8(short.clone()).unwrap();
        short = text.replacen(&declared, &more, 1).into_bytes();
        cases.push(Case {
            name: format!("{route}: a body shorter than its Content-Length"),
            request: short,
            hang_up: true,
            expect: "400 invalid_body",
        });
        add(
            &mut cases,
            format!("{route}: Content-Length not a number"),
            String::from_utf8(with(json, &good_bytes))
                .unwrap()
                .replacen(&declared, "content-length: -1", 1)
                .into_bytes(),
            "400",
        );
    }

    // ---- Fields of a custody event ----
    let event = |fields: Value| {
        let mut body = json!({"step": "correcting", "code": uri});
        for (k, v) in fields.as_object().unwrap() {
            body[k] = v.clone();
        }
        request(
            "POST",
            "/api/v1/events",
            &format!("{shop}{json}"),
            &serde_json::to_vec(&body).unwrap(),
        )
    };
    for (what, corrects) in [
        ("-1", json!(-1)),
        ("4294967296", json!(4_294_967_296u64)),
        ("1e30", json!(1e30)),
        ("1.5", json!(1.5)),
        ("\"1\"", json!("1")),
        ("[1]", json!([1])),
    ] {
        add(
            &mut cases,
            format!("events: corrects {what}"),
            event(json!({ "corrects": corrects })),
            "400 invalid_field",
        );
    }
    add(
        &mut cases,
        "events: corrects missing".into(),
        event(json!({})),
        "400 missing_field",
    );
    for (what, step) in [
        ("unknown", "teleporting"),
        ("empty", ""),
        ("upper case", "RECEIVING"),
    ] {
        add(
            &mut cases,
            format!("events: step {what}"),
            event(json!({ "step": step })),
            "400 invalid_step",
        );
    }
    // A field of another step is refused, not ignored (a null is absent).
    add(
        &mut cases,
        "events: a VIN when correcting".into(),
        event(json!({"corrects": 1, "vin": VIN})),
        "400 unexpected_field",
    );
    add(
        &mut cases,
        "events: override_recall false when receiving".into(),
        event(json!({"step": "receiving", "override_recall": false})),
        "400 unexpected_field",
    );
    add(
        &mut cases,
        "events: override_recall 1".into(),
        event(json!({"step": "installing", "vin": VIN, "override_recall": 1})),
        "400 invalid_field",
    );
    add(
        &mut cases,
        "events: both a code and typed numbers".into(),
        event(json!({"step": "receiving", "gtin": GTIN, "serial": "BAD0000"})),
        "400 invalid_code",
    );
    add(
        &mut cases,
        "events: neither a code nor typed numbers".into(),
        request(
            "POST",
            "/api/v1/events",
            &format!("{shop}{json}"),
            br#"{"step": "receiving"}"#,
        ),
        "400 invalid_code",
    );
    let typed = |gtin: &str, serial: &str| {
        request(
            "POST",
            "/api/v1/events",
            &format!("{shop}{json}"),
            &serde_json::to_vec(&json!({"step": "receiving", "gtin": gtin, "serial": serial}))
                .unwrap(),
        )
    };
    for (what, gtin) in [
        ("a wrong check digit", "06901234567893"),
        ("a letter", "0690123456789X"),
        ("13 digits", "0690123456789"),
        ("100 digits", &"1".repeat(100)[..]),
        ("empty", ""),
        ("negative", "-6901234567892"),
        ("full-width digits", "０６９０１２３４５６７８９２"),
        ("traversal", "../../etc/passwd"),
    ] {
        add(
            &mut cases,
            format!("events: GTIN {what}"),
            typed(gtin, "BAD0000"),
            "400 invalid_code",
        );
    }
    for (what, serial) in [
        ("21 characters", &"A".repeat(21)[..]),
        ("empty", ""),
        ("a space", "BAD 0000"),
        ("a NUL", "BAD\u{0}0000"),
        ("non-ASCII", "BÄD0000"),
        ("a backslash", "..\\..\\etc"),
    ] {
        add(
            &mut cases,
            format!("events: serial {what}"),
            typed(GTIN, serial),
            "400 invalid_code",
        );
    }
    // GS1 serials may hold `<`, `>`, `.` and `/` (the standard's character set 82): these are
    // well-formed, and no such code is registered. The pages show serials escaped (below).
    for (what, serial) in [("markup", "<script>"), ("traversal", "../../etc")] {
        add(
            &mut cases,
            format!("events: serial {what}"),
            typed(GTIN, serial),
            "404 not_registered",
        );
    }
    let install = |vin: &str| {
        request(
            "POST",
            "/api/v1/events",
            &format!("{shop}{json}"),
            &serde_json::to_vec(&json!({"step": "installing", "code": uri, "vin": vin})).unwrap(),
        )
    };
    for (what, vin, code) in [
        // Imported cars carry VINs whose character 9 is no check digit: confirmed, not refused.
        (
            "a check digit that does not verify, unconfirmed",
            "LSVAU218XN2183295",
            "422 vin_check_digit",
        ),
        ("16 characters", "LSVAU218XN218329", "400 vin.length"),
        ("18 characters", "LSVAU218XN21832944", "400 vin.length"),
        (
            "the letters I and O",
            "LSVAU218XN2I8329O",
            "400 vin.character",
        ),
        ("empty", "", "400 vin.length"),
        ("markup", "<img src=x>", "400 vin.length"),
        ("traversal", "../../../etc/pass", "400 vin.character"),
    ] {
        add(
            &mut cases,
            format!("events: VIN {what}"),
            install(vin),
            code,
        );
    }
    for (what, to) in [
        ("traversal", "../dist-1"),
        ("empty", ""),
        ("markup", "<b>dist</b>"),
    ] {
        add(
            &mut cases,
            format!("events: shipping to a party id {what}"),
            event(json!({"step": "shipping", "to": to})),
            "400 invalid_party",
        );
    }
    add(
        &mut cases,
        "events: shipping to a party nobody registered".into(),
        event(json!({"step": "shipping", "to": "DIST-1"})),
        "422 unknown_party",
    );
    // Signatures: the code's URI with its signature altered.
    let (before_sig, sig) = uri.rsplit_once('=').unwrap();
    let flipped = {
        let mut s: Vec<char> = sig.chars().collect();
        s[5] = if s[5] == 'A' { 'B' } else { 'A' };
        s.into_iter().collect::<String>()
    };
    // A label whose signature does not match the registered one is refused as an event (a report
    // of it is what reports are for: it is kept, and reads forged).
    add(
        &mut cases,
        "events: signature with one character changed".into(),
        request(
            "POST",
            "/api/v1/events",
            &format!("{shop}{json}"),
            &serde_json::to_vec(
                &json!({"step": "receiving", "code": format!("{before_sig}={flipped}")}),
            )
            .unwrap(),
        ),
        "422 code_mismatch",
    );
    for (what, code) in [
        (
            "cut short",
            format!("{before_sig}={}", &sig[..sig.len() / 2]),
        ),
        ("empty", format!("{before_sig}=")),
        ("not base64", format!("{before_sig}=!!!!{}", &sig[4..])),
        ("doubled", format!("{before_sig}={sig}{sig}")),
    ] {
        add(
            &mut cases,
            format!("events: signature {what}"),
            request(
                "POST",
                "/api/v1/events",
                &format!("{shop}{json}"),
                &serde_json::to_vec(&json!({"step": "receiving", "code": code})).unwrap(),
            ),
            "400 invalid_code",
        );
        add(
            &mut cases,
            format!("reports: signature {what}"),
            request(
                "POST",
                "/reports",
                json,
                &serde_json::to_vec(&json!({"code": code, "text": "fake"})).unwrap(),
            ),
            "400 invalid_code",
        );
    }
    add(
        &mut cases,
        "events: a reason over 500 bytes".into(),
        event(json!({"step": "destroying", "reason": "x".repeat(501)})),
        "400 invalid_input",
    );
    // ---- Cartons (docs/http-api.md#cartons-and-pallets) ----
    let carton_event = |caller: &str, body: Value| {
        request(
            "POST",
            "/api/v1/events",
            &format!("{caller}{json}"),
            &serde_json::to_vec(&body).unwrap(),
        )
    };
    let typed = |i: usize| json!({"gtin": GTIN, "serial": format!("BAD{i:04}")});
    let many = |count: usize| -> Vec<Value> {
        (0..count)
            .map(|i| json!({"gtin": GTIN, "serial": format!("N{i:05}")}))
            .collect()
    };
    for (what, caller, body, expect) in [
        (
            "an SSCC with a wrong check digit",
            &maker,
            json!({"step": "packing", "carton": "369012300000000029", "codes": [typed(1)]}),
            "422 carton_check_digit",
        ),
        (
            "an SSCC of 17 digits",
            &maker,
            json!({"step": "receiving", "carton": "36901230000000002"}),
            "400 invalid_carton",
        ),
        (
            "an SSCC under another maker's prefix",
            &maker,
            json!({"step": "packing", "carton": "369055500000000010", "codes": [typed(1)]}),
            "422 sscc_prefix",
        ),
        (
            "an unknown carton received",
            &shop,
            json!({"step": "receiving", "carton": FRESH}),
            "404 unknown_carton",
        ),
        (
            "an empty carton",
            &maker,
            json!({"step": "packing", "carton": FRESH, "codes": [], "cartons": []}),
            "422 carton_empty",
        ),
        (
            "a carton inside itself",
            &maker,
            json!({"step": "packing", "carton": FRESH, "cartons": [FRESH]}),
            "422 carton_cycle",
        ),
        (
            "a code packed twice in one carton",
            &maker,
            json!({"step": "packing", "carton": FRESH, "codes": [typed(1), typed(1)]}),
            "422 packed_twice",
        ),
        (
            "a code already in another carton",
            &maker,
            json!({"step": "packing", "carton": FRESH, "codes": [typed(0)]}),
            "409 already_packed",
        ),
        (
            "a carton's number packed again",
            &maker,
            json!({"step": "packing", "carton": PACKED, "codes": [typed(1)]}),
            "409 carton_exists",
        ),
        (
            "an unpacking naming a code not in the carton",
            &maker,
            json!({"step": "unpacking", "carton": PACKED, "codes": [typed(1)]}),
            "422 not_in_carton",
        ),
        (
            "an unpacking naming nothing",
            &maker,
            json!({"step": "unpacking", "carton": PACKED, "codes": [], "cartons": []}),
            "422 nothing_to_unpack",
        ),
        (
            "shipped by a party not holding it",
            &shop,
            json!({"step": "shipping", "carton": PACKED, "to": "dist-1"}),
            "409 not_holder",
        ),
        (
            "a code and a carton at once",
            &maker,
            json!({"step": "receiving", "carton": PACKED, "code": uri}),
            "400 unexpected_field",
        ),
        (
            "a code's step",
            &shop,
            json!({"step": "installing", "carton": PACKED, "vin": VIN}),
            "400 invalid_step",
        ),
        (
            "1,001 codes, past the stated limit of 1,000",
            &maker,
            json!({"step": "packing", "carton": FRESH, "codes": many(1001)}),
            "413 carton_too_large",
        ),
        (
            "10,000 codes, far past the stated limit",
            &maker,
            json!({"step": "packing", "carton": FRESH, "codes": many(10_000)}),
            "413 carton_too_large",
        ),
        (
            "30,000 codes, past the body limit of 1 MiB first",
            &maker,
            json!({"step": "packing", "carton": FRESH, "codes": many(30_000)}),
            "413 body_too_large",
        ),
    ] {
        add(
            &mut cases,
            format!("events: carton, {what}"),
            carton_event(caller, body),
            expect,
        );
    }
    let batch = |events: Value| {
        request(
            "POST",
            "/api/v1/events/batch",
            &format!("{shop}{json}"),
            &serde_json::to_vec(&json!({ "events": events })).unwrap(),
        )
    };
    add(
        &mut cases,
        "batch: 1001 events".into(),
        batch(Value::Array(vec![
            json!({"step": "receiving", "code": uri});
            1001
        ])),
        "400 invalid_batch",
    );
    add(
        &mut cases,
        "batch: no events".into(),
        batch(json!([])),
        "400 invalid_batch",
    );
    add(
        &mut cases,
        "batch: events not a list".into(),
        batch(json!({"step": "receiving"})),
        "400 invalid_field",
    );
    let lot_recall = |gtin: &str, lot: &str, reason: &str| {
        request(
            "POST",
            "/api/v1/lots/recall",
            &format!("{maker}{json}"),
            &serde_json::to_vec(&json!({"gtin": gtin, "lot": lot, "reason": reason})).unwrap(),
        )
    };
    add(
        &mut cases,
        "lot recall: GTIN with a wrong check digit".into(),
        lot_recall("06901234567893", "L2026A", "cracks"),
        "400 invalid_code",
    );
    // Like serials, lots may hold `.`, `/`, `<` and `>`: `../L1` is a lot a maker may recall.
    for (what, lot) in [
        ("empty", ""),
        ("21 characters", &"L".repeat(21)[..]),
        ("a backslash", "..\\L2026A"),
        ("a space", "L2026 A"),
    ] {
        add(
            &mut cases,
            format!("lot recall: lot {what}"),
            lot_recall(GTIN, lot, "cracks"),
            "400 invalid_code",
        );
    }
    add(
        &mut cases,
        "lot recall: a reason over 500 bytes".into(),
        lot_recall(GTIN, "L2026A", &"x".repeat(501)),
        "400 invalid_input",
    );
    let report = |body: Value| {
        request(
            "POST",
            "/reports",
            json,
            &serde_json::to_vec(&body).unwrap(),
        )
    };
    add(
        &mut cases,
        "reports: empty text".into(),
        report(json!({"code": uri, "text": ""})),
        "400 invalid_report",
    );
    add(
        &mut cases,
        "reports: text over the limit".into(),
        report(json!({"code": uri, "text": "x".repeat(5000)})),
        "400 invalid_report",
    );
    add(
        &mut cases,
        "reports: a GTIN nobody is certified for".into(),
        report(json!({"gtin": "04006381333931", "serial": "X1", "text": "fake"})),
        "422 unknown_gtin",
    );
    add(
        &mut cases,
        "reports: a GTIN with a wrong check digit".into(),
        report(json!({"gtin": "06901234567893", "serial": "X1", "text": "fake"})),
        "400 invalid_code",
    );
    add(
        &mut cases,
        "vehicle check: a VIN with the letters I and O".into(),
        request(
            "POST",
            "/vehicle-check",
            json,
            &serde_json::to_vec(&json!({"code": uri, "vin": "LSVAU218XN2I8329O"})).unwrap(),
        ),
        "400 vin.character",
    );

    // ---- Forms: the owner's, the sign-in, the station's and the dashboard's ----
    let uri_q: String = uri
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b => format!("%{b:02X}"),
        })
        .collect();
    // Each with the answers to: a body over the limit, JSON, no content type, an empty form, the
    // last field left out, invalid UTF-8 in it, and it given twice. The owner's forms and the
    // sign-in say what is wrong (a field the handler checks itself answers a page saying so); the
    // signed-in forms answer `403 csrf` to any form they cannot read, as to one without a session,
    // and a page (303 to the station, with its message) for a value they can.
    type Form<'a> = (
        &'a str,
        &'a (String, String),
        String,
        &'a str,
        [&'static str; 7],
    );
    let forms: [Form; 6] = [
        (
            "/owner/report",
            &(String::new(), String::new()),
            format!("gtin={GTIN}&text=fake&serial=BAD0000"),
            "serial",
            [
                "413 body_too_large",
                "400 invalid_form",
                "400 invalid_form",
                "400 invalid_form",
                "400 invalid_form",
                "200 text/html; charset=utf-8",
                "400 invalid_form",
            ],
        ),
        (
            "/owner/vehicle-check",
            &(String::new(), String::new()),
            format!("gtin={GTIN}&serial=BAD0000&vin={VIN}"),
            "vin",
            [
                "413 body_too_large",
                "400 invalid_form",
                "400 invalid_form",
                "400 invalid_form",
                "400 invalid_form",
                "200 text/html; charset=utf-8",
                "400 invalid_form",
            ],
        ),
        (
            "/signin",
            &w.sign_in,
            format!("csrf={}&token={}", w.sign_in.1, w.shop),
            "token",
            [
                "413 body_too_large",
                "400 invalid_form",
                "400 invalid_form",
                "400 invalid_form",
                "400 invalid_form",
                "200 text/html; charset=utf-8",
                "400 invalid_form",
            ],
        ),
        (
            "/shop/scan",
            &w.shop_session,
            format!("csrf={}&code={uri_q}", w.shop_session.1),
            "code",
            [
                "403 csrf", "403 csrf", "403 csrf", "403 csrf", "403 csrf", "303", "403 csrf",
            ],
        ),
        (
            "/shop/mode",
            &w.shop_session,
            format!("csrf={}&mode=install&vin={VIN}", w.shop_session.1),
            "vin",
            [
                "403 csrf", "403 csrf", "403 csrf", "403 csrf", "303", "303", "403 csrf",
            ],
        ),
        (
            "/dashboard/alerts",
            &w.maker_session,
            format!(
                "csrf={}&gtin={GTIN}&serial=BAD0000&action=investigating",
                w.maker_session.1
            ),
            "action",
            [
                "403 csrf",
                "403 csrf",
                "403 csrf",
                "403 csrf",
                "403 csrf",
                "400 invalid_action",
                "403 csrf",
            ],
        ),
    ];
    let form_type = "content-type: application/x-www-form-urlencoded\r\n";
    for (route, (cookie, _), good, last, expect) in forms {
        let cookie = if cookie.is_empty() {
            String::new()
        } else {
            format!("cookie: {cookie}\r\n")
        };
        let with =
            |head: &str, body: &[u8]| request("POST", route, &format!("{cookie}{head}"), body);
        add(
            &mut cases,
            format!("{route}: body over the limit"),
            with(
                form_type,
                format!("{good}&pad={}", "x".repeat(64 * 1024)).as_bytes(),
            ),
            expect[0],
        );
        add(
            &mut cases,
            format!("{route}: JSON"),
            with(json, b"{}"),
            expect[1],
        );
        add(
            &mut cases,
            format!("{route}: no content type"),
            with("", good.as_bytes()),
            expect[2],
        );
        add(
            &mut cases,
            format!("{route}: empty"),
            with(form_type, b""),
            expect[3],
        );
        let cut = good.split(&format!("&{last}=")).next().unwrap();
        add(
            &mut cases,
            format!("{route}: without {last}"),
            with(form_type, cut.as_bytes()),
            expect[4],
        );
        add(
            &mut cases,
            format!("{route}: invalid UTF-8 in {last}"),
            with(form_type, format!("{cut}&{last}=%FF%FE%C3").as_bytes()),
            expect[5],
        );
        add(
            &mut cases,
            format!("{route}: {last} given twice"),
            with(form_type, format!("{good}&{last}=again").as_bytes()),
            expect[6],
        );
    }

    // ---- Heads ----
    add(
        &mut cases,
        "head: 20 KiB header".into(),
        request(
            "GET",
            "/healthz",
            &format!("x-pad: {}\r\n", "a".repeat(20 * 1024)),
            b"",
        ),
        "431",
    );
    add(
        &mut cases,
        "head: 20 KiB request target".into(),
        request("GET", &format!("/01/{}", "1".repeat(20 * 1024)), "", b""),
        "431",
    );
    add(&mut cases,
        "head: a token of invalid UTF-8".into(),
        [
            b"GET /api/v1/me HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: Bearer \xff\xfe\r\n\r\n".as_slice(),
        ]
        .concat(),
        "401 invalid_token",
    );
    add(
        &mut cases,
        "head: a token of 10 KiB".into(),
        request(
            "GET",
            "/api/v1/me",
            &format!("authorization: Bearer pst_{}\r\n", "a".repeat(10 * 1024)),
            b"",
        ),
        "401 invalid_token",
    );
    add(
        &mut cases,
        "head: a basic-auth header".into(),
        request(
            "GET",
            "/api/v1/me",
            "authorization: Basic YWRtaW46YWRtaW4=\r\n",
            b"",
        ),
        "401 invalid_token",
    );
    // A head cut short by a client that hangs up: nobody is left to answer.
    cases.push(Case {
        name: "head: cut short, then the client hangs up".into(),
        request: b"GET /api/v1/me HTTP/1.1\r\nhost: x\r\n".to_vec(),
        hang_up: true,
        expect: "closed",
    });
    add(
        &mut cases,
        "head: a header line without a colon".into(),
        b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\nnocolon\r\n\r\n".to_vec(),
        "400",
    );
    add(&mut cases,
        "head: two Content-Lengths that disagree".into(),
        b"POST /reports HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}".to_vec(),
        "400",
    );

    // ---- Path traversal, in every path parameter ----
    // Each with whether it decodes to a well-formed GS1 serial (character set 82 has `.`, `/`
    // and `%`): a maker asking for such a serial learns it has no such code.
    let traversals = [
        ("..", true),
        ("..%2F..%2Fetc%2Fpasswd", true),
        ("%2e%2e%2f%2e%2e%2fetc%2fpasswd", true),
        ("..%5C..%5Cwindows%5Cwin.ini", false),
        ("%00", false),
        ("....%2F%2F....%2F%2Fetc", true),
        ("%252e%252e%252f", true),
    ];
    for (t, gs1) in traversals {
        let serial_answer = if gs1 {
            "404 not_found"
        } else {
            "400 invalid_code"
        };
        let json_get = |target: String, auth: &str| {
            request(
                "GET",
                &target,
                &format!("{auth}accept: application/json\r\n"),
                b"",
            )
        };
        add(
            &mut cases,
            format!("/01/{{gtin}} = {t}"),
            json_get(format!("/01/{t}"), ""),
            "400 invalid_code",
        );
        add(
            &mut cases,
            format!("/01/{{gtin}} = {t}, a browser"),
            request("GET", &format!("/01/{t}"), "accept: text/html\r\n", b""),
            "400 text/html; charset=utf-8",
        );
        add(
            &mut cases,
            format!("/01/{{gtin}}/21/{{serial}}: gtin = {t}"),
            json_get(format!("/01/{t}/21/BAD0000"), ""),
            "200 verdict=data_error",
        );
        add(
            &mut cases,
            format!("/01/{{gtin}}/21/{{serial}}: serial = {t}"),
            json_get(format!("/01/{GTIN}/21/{t}"), ""),
            "200 verdict=data_error",
        );
        add(
            &mut cases,
            format!("/01/{{gtin}}/10/{{lot}}/21/{{serial}}: lot = {t}"),
            json_get(format!("/01/{GTIN}/10/{t}/21/BAD0000"), ""),
            "200 verdict=data_error",
        );
        add(
            &mut cases,
            format!("/api/v1/codes/{{gtin}}/{{serial}}: gtin = {t}"),
            json_get(format!("/api/v1/codes/{t}/BAD0000"), &maker),
            "400 invalid_code",
        );
        add(
            &mut cases,
            format!("/api/v1/codes/{{gtin}}/{{serial}}: serial = {t}"),
            json_get(format!("/api/v1/codes/{GTIN}/{t}"), &maker),
            serial_answer,
        );
        add(
            &mut cases,
            format!("/api/v1/codes/{{gtin}}/{{serial}}/epcis: serial = {t}"),
            json_get(format!("/api/v1/codes/{GTIN}/{t}/epcis"), &maker),
            serial_answer,
        );
        add(
            &mut cases,
            format!("/api/v1/vehicles/{{vin}} = {t}"),
            json_get(format!("/api/v1/vehicles/{t}"), &shop),
            "400 vin.length",
        );
    }
    // Raw `..` segments, which HTTP clients resolve before sending.
    for target in [
        "/01/../../etc/passwd".to_owned(),
        "/api/v1/codes/../../../etc/passwd".to_owned(),
        format!("/api/v1/vehicles/../codes/{GTIN}/BAD0000"),
        "/01/%2e%2e/%2e%2e/etc/passwd".to_owned(),
    ] {
        add(
            &mut cases,
            format!("raw segments: {target}"),
            request(
                "GET",
                &target,
                &format!("{maker}accept: application/json\r\n"),
                b"",
            ),
            "404 not_found",
        );
    }
    // ---- EPCIS capture: every refusal GS1's type and the project's code, nothing stored ----
    let ld = "content-type: application/ld+json\r\n";
    let event = json!({"type": "ObjectEvent", "action": "OBSERVE", "bizStep": "receiving",
        "epcList": [uri], "eventTime": "2026-12-08T02:00:00Z", "eventTimeZoneOffset": "+08:00"});
    let document = |events: Value| {
        json!({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument", "schemaVersion": "2.0",
            "creationDate": "2026-12-08T02:00:00Z", "epcisBody": {"eventList": events}})
        .to_string()
    };
    let mut no_time = event.clone();
    no_time.as_object_mut().unwrap().remove("eventTime");
    for (name, head, body, expect) in [
        (
            "not JSON",
            ld,
            "{\"type\": ".to_owned(),
            "400 epcis_invalid",
        ),
        (
            "an unterminated string",
            ld,
            "\"\u{fffd}".to_owned(),
            "400 epcis_invalid",
        ),
        ("a JSON array", json, "[]".to_owned(), "400 epcis_invalid"),
        (
            "not a document",
            ld,
            json!({"type": "EPCISDocument"}).to_string(),
            "400 epcis_invalid",
        ),
        (
            "no eventTime",
            ld,
            document(json!([no_time])),
            "400 epcis_invalid",
        ),
        (
            "no event type",
            ld,
            document(json!([{"action": "OBSERVE"}])),
            "400 epcis_invalid",
        ),
        (
            "text/plain",
            "content-type: text/plain\r\n",
            document(json!([event])),
            "415 unsupported_media_type",
        ),
        (
            "no content type",
            "",
            document(json!([event])),
            "415 unsupported_media_type",
        ),
    ] {
        add(
            &mut cases,
            format!("POST /epcis/capture: {name}"),
            request(
                "POST",
                "/epcis/capture",
                &format!("{shop}{head}"),
                body.as_bytes(),
            ),
            expect,
        );
    }
    add(
        &mut cases,
        "POST /epcis/capture: GS1-Capture-Error-Behaviour: sometimes".to_owned(),
        request(
            "POST",
            "/epcis/capture",
            &format!("{shop}{ld}gs1-capture-error-behaviour: sometimes\r\n"),
            document(json!([event])).as_bytes(),
        ),
        "400 epcis_invalid",
    );
    add(
        &mut cases,
        "POST /epcis/capture: past the size limit".to_owned(),
        request(
            "POST",
            "/epcis/capture",
            &format!("{shop}{ld}"),
            " ".repeat(16 * 1024 * 1024 + 1).as_bytes(),
        ),
        "413 epcis_capture_limit",
    );
    for target in [
        "/epcis/capture/..%2f..%2fetc%2fpasswd",
        "/epcis/capture/%00",
        "/epcis/capture/not-a-job",
    ] {
        add(
            &mut cases,
            format!("GET {target}"),
            request(
                "GET",
                target,
                &format!("{shop}accept: application/json\r\n"),
                b"",
            ),
            "404 not_found",
        );
    }
    cases
}

#[tokio::test]
async fn every_bad_input_gets_a_clear_refusal_and_stores_nothing() {
    let w = world().await;
    let cases = catalogue(&w);
    let mut wrong = Vec::new();
    for case in &cases {
        let before = stored(&w.server.registry);
        let answer = send(w.server.addr, &case.request, case.hang_up).await;
        let after = stored(&w.server.registry);
        let got = answer
            .as_ref()
            .map_or_else(|| "closed".to_owned(), Answer::observed);
        if got != case.expect {
            wrong.push(format!(
                "{}: expected {}, got {got}: {}",
                case.name,
                case.expect,
                String::from_utf8_lossy(answer.as_ref().map_or(&[][..], |a| &a.body))
                    .chars()
                    .take(200)
                    .collect::<String>()
            ));
        }
        if before != after {
            wrong.push(format!(
                "{}: stored something\n  before {before}\n  after  {after}",
                case.name
            ));
        }
        // A 5xx would be a bug whatever the table says.
        assert!(
            answer.as_ref().is_none_or(|a| a.status < 500),
            "{}: {got}",
            case.name
        );
    }
    // The server is still whole: a good request after all that is answered.
    let me = Client::new()
        .get(w.server.url("/api/v1/me"))
        .bearer_auth(&w.shop)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    println!("bad inputs tried: {}", cases.len());
    assert!(
        wrong.is_empty(),
        "{} of {} inputs answered otherwise:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    w.server.shutdown().await;
}

/// Markup, in every text a page shows later: stored as given, shown escaped.
#[tokio::test]
async fn markup_comes_back_escaped_in_every_page() {
    let server = start(Overrides {
        rate_limit: Some(0),
        report_rate_limit: Some(0),
        // Loopback is the proxy, so its region header is believed.
        trusted_proxies: Some(vec!["127.0.0.1/32".parse().unwrap()]),
        ..Overrides::default()
    })
    .await;
    let r = &server.registry;
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    // Names as an operator could type them into `partseal admin`.
    let authority = signer::keys::generate();
    let key = signer::keys::generate();
    let cert = signer::Certificate::issue(
        signer::CertificateBody {
            serial: 1,
            manufacturer_id: "acme-brakes".into(),
            legal_name: "<script>alert(6)</script> Brakes".into(),
            public_key: key.verifying_key(),
            prefixes: vec![signer::CompanyPrefix::parse("690123").unwrap()],
            not_before: now().plus_days(-1),
            not_after: now().plus_days(365),
        },
        &authority,
    )
    .unwrap();
    r.add_root(authority.verifying_key(), now()).unwrap();
    r.add_certificate(cert, now()).unwrap();
    for (id, role, name) in [
        (
            "acme-brakes",
            Role::Manufacturer,
            "<b onmouseover=alert(7)>Acme</b>",
        ),
        ("shop-a", Role::Shop, "\"><img src=x onerror=alert(5)>"),
    ] {
        r.add_party(registry::Party {
            id: PartyId::parse(id).unwrap(),
            role,
            name: name.into(),
            region: Some("Guangdong".into()),
            created_at: now().plus_days(-1),
            revoked_at: None,
        })
        .unwrap();
    }
    let codes: Vec<SignedCode> = (0..3)
        .map(|i| {
            SignedCode::sign(
                PartId {
                    gtin: Gtin::parse(GTIN).unwrap(),
                    lot: Some(Lot::parse("L2026A").unwrap()),
                    serial: Serial::parse(&format!("MARK{i:04}")).unwrap(),
                },
                &key,
            )
        })
        .collect();
    r.register(&codes, None, now()).unwrap();
    r.pack_carton(
        &PartyId::parse("acme-brakes").unwrap(),
        &Sscc::parse(PACKED).unwrap(),
        &[(registry::CodeKey::of(&codes[0].part), None)],
        &[],
        now(),
    )
    .unwrap();
    let uris: Vec<String> = codes.iter().map(|c| c.to_uri(&server.base())).collect();
    let maker = token(r, "acme-brakes");
    let shop = token(r, "shop-a");

    // The public's texts.
    let filed = client
        .post(server.url("/reports"))
        .json(&json!({
            "code": uris[0],
            "text": "<script>alert(1)</script>",
            "contact": "\"><img src=x onerror=alert(2)>",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), 201);
    let filed = client
        .post(server.url("/owner/report"))
        .header("x-client-region", "<svg onload=alert(4)>")
        .form(&[
            ("gtin", GTIN),
            ("serial", "MARK0001"),
            ("text", "<script>alert(3)</script>"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(filed.status(), 201);
    // The parties' texts: a claim's reason, a recall's reason.
    let claim = client
        .post(server.url("/api/v1/events"))
        .bearer_auth(&shop)
        .json(
            &json!({"step": "destroying", "code": uris[1], "reason": "<script>alert(8)</script>"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(claim.status(), 409);
    let recall = client
        .post(server.url("/api/v1/events"))
        .bearer_auth(&maker)
        .json(&json!({"step": "recalling", "code": uris[2], "reason": "<img src=x onerror=alert(9)>"}))
        .send()
        .await
        .unwrap();
    assert_eq!(recall.status(), 200);

    // The station: a scanned text, a typed VIN, and installing the recalled part.
    let (cookie, csrf) = session(&client, &server, &shop).await;
    let post = |path: &str, form: &[(&str, &str)]| {
        client
            .post(server.url(path))
            .header("cookie", &cookie)
            .form(form)
            .send()
    };
    assert_eq!(
        post(
            "/shop/scan",
            &[("csrf", &csrf), ("code", "<script>alert(10)</script>")]
        )
        .await
        .unwrap()
        .status(),
        303
    );
    assert_eq!(
        post(
            "/shop/mode",
            &[
                ("csrf", &csrf),
                ("mode", "install"),
                ("vin", "<img src=x onerror=alert(11)>")
            ]
        )
        .await
        .unwrap()
        .status(),
        303
    );
    let station = page(&client, &server, "/shop", &cookie).await;
    assert_eq!(
        post(
            "/shop/mode",
            &[("csrf", &csrf), ("mode", "install"), ("vin", VIN)]
        )
        .await
        .unwrap()
        .status(),
        303
    );
    assert_eq!(
        post("/shop/scan", &[("csrf", &csrf), ("code", &uris[2])])
            .await
            .unwrap()
            .status(),
        303
    );
    let station_after_recall = page(&client, &server, "/shop", &cookie).await;

    let (maker_cookie, _) = session(&client, &server, &maker).await;
    let dashboard = page(&client, &server, "/dashboard", &maker_cookie).await;
    let owner = page(
        &client,
        &server,
        &uris[0].replace(&format!("http://{}", server.addr), ""),
        "",
    )
    .await;
    let lookup = page(
        &client,
        &server,
        "/lookup?gtin=06901234567892&serial=%22%3E%3Csvg/onload=12%3E",
        "",
    )
    .await;
    let vehicle_check = client
        .post(server.url("/owner/vehicle-check"))
        .form(&[
            ("gtin", GTIN),
            ("serial", "MARK0000"),
            ("vin", "<script>alert(13)</script>"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    let pages = [
        ("station", &station),
        ("station after the recalled scan", &station_after_recall),
        ("dashboard", &dashboard),
        ("owner page", &owner),
        ("lookup", &lookup),
        ("vehicle check", &vehicle_check),
    ];
    // Each input, and the page that must show it ("": shown nowhere, but never unescaped: a claim's
    // reason is kept for the maker's records, and a refused VIN is not echoed back).
    let inputs = [
        ("<script>alert(1)</script>", "dashboard"),
        ("\"><img src=x onerror=alert(2)>", "dashboard"),
        ("<script>alert(3)</script>", "dashboard"),
        ("<svg onload=alert(4)>", "dashboard"),
        ("\"><img src=x onerror=alert(5)>", "station"),
        ("<script>alert(6)</script> Brakes", "owner page"),
        ("<b onmouseover=alert(7)>Acme</b>", "dashboard"),
        ("<script>alert(8)</script>", ""),
        (
            "<img src=x onerror=alert(9)>",
            "station after the recalled scan",
        ),
        ("<script>alert(10)</script>", "station"),
        ("<img src=x onerror=alert(11)>", ""),
        ("\"><svg/onload=12>", "lookup"),
        ("<script>alert(13)</script>", ""),
    ];
    let mut wrong = Vec::new();
    for (raw, shown_in) in inputs {
        // What a page shows of it: from its first `<`, with `<` and `>` escaped as askama writes
        // them (every page, the dashboard's charts included, escapes through it).
        let tail = &raw[raw.find('<').unwrap()..];
        let escaped = tail.replace('<', "&#60;").replace('>', "&#62;");
        for (name, html) in &pages {
            if html.contains(tail) {
                wrong.push(format!("{name} shows {raw:?} unescaped"));
            }
        }
        if !shown_in.is_empty() {
            let html = pages.iter().find(|p| p.0 == shown_in).unwrap().1;
            if !html.contains(&escaped) {
                wrong.push(format!("{shown_in} does not show {raw:?} (as {escaped:?})"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    server.shutdown().await;
}

async fn page(client: &Client, server: &Server, path: &str, cookie: &str) -> String {
    let mut request = client
        .get(server.url(path))
        .header("accept", "text/html")
        .header("accept-language", "en");
    if !cookie.is_empty() {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.text().await.unwrap()
}

/// A session opened with `token`: its cookie and the CSRF token of its pages.
async fn session(client: &Client, server: &Server, token: &str) -> (String, String) {
    let (signin_cookie, csrf) = sign_in_form(client, server).await;
    let response = client
        .post(server.url("/signin"))
        .header("cookie", signin_cookie)
        .form(&[("csrf", &csrf[..]), ("token", token), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let set = response.headers()["set-cookie"].to_str().unwrap();
    let cookie = set.split(';').next().unwrap().to_owned();
    let to = response.headers()["location"].to_str().unwrap().to_owned();
    let html = page(client, server, &to, &cookie).await;
    (cookie.clone(), csrf_of(&html))
}
