//! The whole story over real HTTP: an authority certifies a maker; the maker signs and uploads a
//! batch; a shop receives and installs a part; the owner's scan says genuine and installed in their
//! car; a clone of that label turns up at a second shop, which is told "duplicate suspected"; from
//! then on every public scan warns; the maker sees the alert. Then the refusals and bad input,
//! with nothing stored.

#![allow(clippy::unwrap_used)]

use registry::{CodeKey, Role};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use signer::{ManifestEntry, SignedCode};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

const VIN: &str = "LSVAU218XN2183294";
const OTHER_VIN: &str = "1M8GDM9AXKP042788";

struct Story {
    server: Server,
    authority: signer::SigningKey,
    client: Client,
    maker_token: String,
    shop_a: String,
    shop_b: String,
    uris: Vec<String>,
    codes: Vec<SignedCode>,
}

async fn story() -> Story {
    let server = start(Overrides {
        rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let r = &server.registry;
    let authority = signer::keys::generate();
    let maker = certify(r, &authority, "acme-brakes", "690123", 1);
    add_party(r, "shop-a", Role::Shop, "Guangdong");
    add_party(r, "shop-b", Role::Shop, "Zhejiang");
    add_party(r, "dist-1", Role::Distributor, "Guangdong");
    let base = server.base();
    let codes = codes(&maker.key, "STORY", 50);
    let uris = codes.iter().map(|c| c.to_uri(&base)).collect();
    Story {
        authority,
        maker_token: token(r, "acme-brakes"),
        shop_a: token(r, "shop-a"),
        shop_b: token(r, "shop-b"),
        client: Client::new(),
        server,
        uris,
        codes,
    }
}

fn manifest(codes: &[SignedCode], base: &signer::BaseUrl) -> String {
    codes
        .iter()
        .map(|c| {
            ManifestEntry::new(c.clone(), base, Some("Front brake pad".into())).to_json_line()
                + "\n"
        })
        .collect()
}

impl Story {
    async fn upload(&self, token: &str, body: String) -> reqwest::Response {
        self.client
            .post(self.server.url("/api/v1/manifests"))
            .bearer_auth(token)
            .header("content-type", "application/x-ndjson")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn event(&self, token: &str, body: Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.server.url("/api/v1/events"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    async fn scan(&self, uri: &str) -> Value {
        let response = self
            .client
            .get(uri)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    fn events_of(&self, i: usize) -> u32 {
        self.server
            .registry
            .status(&CodeKey::of(&self.codes[i].part))
            .unwrap()
            .map_or(0, |s| s.record.events)
    }
}

#[tokio::test]
async fn a_cloned_label_is_caught_and_everyone_is_told() {
    let s = story().await;
    let base = s.server.base();

    // The maker uploads its batch; sending it again is idempotent and says so.
    let response = s.upload(&s.maker_token, manifest(&s.codes, &base)).await;
    assert_eq!(response.status(), 200);
    let summary: Value = response.json().await.unwrap();
    assert_eq!(summary["lines"], 50);
    assert_eq!(summary["registered"], 50);
    let again: Value = s
        .upload(&s.maker_token, manifest(&s.codes, &base))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(again["already_registered"], 50);

    // Before anyone handles it, the owner-to-be sees a genuine part.
    let uri = &s.uris[0];
    let fresh = s.scan(uri).await;
    assert_eq!(fresh["verdict"], "genuine");
    assert_eq!(fresh["genuine"], true);
    assert_eq!(fresh["signature_checked"], true);
    assert_eq!(fresh["manufacturer"]["id"], "acme-brakes");

    // Shop A receives and installs it.
    let (status, received) = s
        .event(&s.shop_a, json!({"code": uri, "step": "receiving"}))
        .await;
    assert_eq!(status, 200, "{received}");
    assert_eq!(received["outcome"], "applied");
    let (status, installed) = s
        .event(
            &s.shop_a,
            json!({"code": uri, "step": "installing", "vin": VIN}),
        )
        .await;
    assert_eq!(status, 200, "{installed}");
    assert_eq!(installed["custody"], "installed");

    // The owner's scan: genuine, installed, and nothing private.
    let owner = s.scan(uri).await;
    assert_eq!(owner["verdict"], "genuine_installed");
    assert_eq!(owner["genuine"], true);
    let summary = owner["custody"]["summary"].as_str().unwrap();
    assert!(
        summary.contains("by a certified shop in Guangdong"),
        "{summary}"
    );
    let text = owner.to_string();
    for private in [VIN, "shop-a", "pst_"] {
        assert!(
            !text.contains(private),
            "public answer reveals {private}: {text}"
        );
    }
    // "Is this part recorded in my vehicle?"
    for (vin, expected) in [(VIN, true), (OTHER_VIN, false)] {
        let answer: Value = s
            .client
            .post(s.server.url("/vehicle-check"))
            .json(&json!({"code": uri, "vin": vin}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            answer,
            json!({"recorded": expected, "found_counterfeit": false})
        );
    }

    // Unknown fields are refused, not ignored.
    let refused = s
        .client
        .post(s.server.url("/vehicle-check"))
        .json(&json!({"code": uri, "vin": VIN, "owner": "me"}))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);

    // A clone of the label is received at shop B: recorded, and shop B is told.
    let (status, clone) = s
        .event(&s.shop_b, json!({"code": uri, "step": "receiving"}))
        .await;
    assert_eq!(status, 200, "{clone}");
    assert_eq!(clone["outcome"], "conflict");
    assert_eq!(clone["duplicate_suspected"], true);
    assert_eq!(clone["conflict"]["kind"], "still_installed");
    assert!(
        clone["conflict"]["explanation"]
            .as_str()
            .unwrap()
            .contains("never removed")
    );

    // From now on every public scan warns, with the evidence, as JSON and as a page.
    let warned = s.scan(uri).await;
    assert_eq!(warned["verdict"], "duplicate_suspected");
    assert_eq!(warned["severity"], "danger");
    assert_eq!(warned["genuine"], false);
    assert_eq!(warned["evidence"][0]["kind"], "still_installed");
    // (Pages default to Chinese; this one asks for English.)
    let page = s
        .client
        .get(uri)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("copies of its label are in circulation"),
        "{page}"
    );
    assert!(page.contains("Do not accept or fit this part"), "{page}");
    // Typed numbers say the same, without a signature.
    let typed: Value = s
        .client
        .get(s.server.url("/lookup?gtin=06901234567892&serial=STORY0000"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(typed["verdict"], "duplicate_suspected");
    assert_eq!(typed["signature_checked"], false);

    // The maker sees the alert, and a public report about it.
    let reported = s
        .client
        .post(s.server.url("/reports"))
        .json(&json!({"code": uri, "text": "sold to me as new at a market stall", "contact": "138-0000-0000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reported.status(), 201);
    let alerts: Value = s
        .client
        .get(s.server.url("/api/v1/alerts"))
        .bearer_auth(&s.maker_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alerts["alerts"].as_array().unwrap().len(), 1);
    assert_eq!(alerts["alerts"][0]["serial"], "STORY0000");
    assert_eq!(
        alerts["alerts"][0]["evidence"][0]["kind"],
        "still_installed"
    );
    let reports: Value = s
        .client
        .get(s.server.url("/api/v1/reports"))
        .bearer_auth(&s.maker_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        reports["reports"][0]["text"],
        "sold to me as new at a market stall"
    );

    // The shop's vehicle record, and the maker's EPCIS export.
    let car: Value = s
        .client
        .get(s.server.url(&format!("/api/v1/vehicles/{VIN}")))
        .bearer_auth(&s.shop_a)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(car["parts"][0]["serial"], "STORY0000");
    let epcis = s
        .client
        .get(s.server.url("/api/v1/codes/06901234567892/STORY0000/epcis"))
        .bearer_auth(&s.maker_token)
        .send()
        .await
        .unwrap();
    assert_eq!(epcis.status(), 200);
    assert_eq!(epcis.headers()["content-type"], "application/ld+json");
    let doc: Value = epcis.json().await.unwrap();
    assert_eq!(doc["type"], "EPCISDocument");
    assert_eq!(doc["epcisBody"]["eventList"].as_array().unwrap().len(), 4);

    // The manufacturer resolves the alert after investigating, naming the genuine part (the one in
    // the owner's car): the alert ends, but every scan now warns that copies exist, and the owner
    // of the genuine vehicle still gets "recorded in your vehicle".
    let (status, resolved) = s
        .event(
            &s.maker_token,
            json!({"code": uri, "step": "resolving", "resolution": "counterfeit",
                   "genuine_vin": VIN, "note": "clone seized at shop B"}),
        )
        .await;
    assert_eq!(status, 200, "{resolved}");
    assert_eq!(resolved["duplicate_suspected"], false);
    let after = s.scan(uri).await;
    assert_eq!(after["verdict"], "copies_known", "{after}");
    assert_eq!(after["genuine"], false);
    let answer: Value = s
        .client
        .post(s.server.url("/vehicle-check"))
        .json(&json!({"code": uri, "vin": VIN}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["recorded"], true);
}

#[tokio::test]
async fn forged_unregistered_and_malformed_codes_get_their_own_verdicts() {
    let s = story().await;
    s.upload(&s.maker_token, manifest(&s.codes[..10], &s.server.base()))
        .await;
    // Change a character in the middle of the signature (the last one carries padding bits, and
    // changing those is a malformed signature, not a forged one).
    let uri = &s.uris[1];
    let at = uri.find("&s=").unwrap() + 3 + 20;
    let swapped = if &uri[at..=at] == "A" { "B" } else { "A" };
    let forged = format!("{}{swapped}{}", &uri[..at], &uri[at + 1..]);
    let v = s.scan(&forged).await;
    assert_eq!(v["verdict"], "forged", "{v}");
    assert_eq!(v["severity"], "danger");
    // Signed but never uploaded.
    assert_eq!(s.scan(&s.uris[20]).await["verdict"], "unregistered");
    // A signature by an uncertified key.
    let stranger = SignedCode::sign(s.codes[30].part.clone(), &signer::keys::generate());
    let v = s.scan(&stranger.to_uri(&s.server.base())).await;
    assert_eq!(
        (v["verdict"].as_str(), v["reason"].as_str()),
        (Some("forged"), Some("unknown_key"))
    );
    // A typo in the GTIN check digit: "check the code", not "counterfeit".
    let typo = uri.replace("06901234567892", "06901234567893");
    let v = s.scan(&typo).await;
    assert_eq!(v["verdict"], "data_error", "{v}");
    assert_eq!(v["severity"], "info");
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("does not mean the part is fake")
    );
    // Typed numbers that match nothing.
    let v: Value = s
        .client
        .get(
            s.server
                .url("/lookup?gtin=06901234567892&serial=NOSUCHPART"),
        )
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["verdict"], "unregistered");
    assert_eq!(v["signature_checked"], false);
    // A report about a label the registry does not know goes to the certified maker of its GTIN;
    // a GTIN nobody is certified for has no one to go to.
    let reported = s
        .client
        .post(s.server.url("/reports"))
        .json(&json!({"code": stranger.to_uri(&s.server.base()), "text": "odd label"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reported.status(), 201);
    let reports: Value = s
        .client
        .get(s.server.url("/api/v1/reports"))
        .bearer_auth(&s.maker_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(reports["reports"][0]["text"], "odd label");
    let nobody = s
        .client
        .post(s.server.url("/reports"))
        .json(&json!({"gtin": "04012345000016", "serial": "X1", "text": "odd"}))
        .send()
        .await
        .unwrap();
    assert_eq!(nobody.status(), 422);
    // Scanning a forged label at a shop records nothing on the genuine code.
    let before = s.events_of(1);
    let (status, body) = s
        .event(&s.shop_a, json!({"code": forged, "step": "receiving"}))
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["code"], "code_mismatch");
    assert_eq!(s.events_of(1), before);
}

#[tokio::test]
async fn refusals_answer_401_or_403_and_store_nothing() {
    let s = story().await;
    let r = &s.server.registry;
    s.upload(&s.maker_token, manifest(&s.codes[..5], &s.server.base()))
        .await;
    let authority = signer::keys::generate();
    let rival = certify(r, &authority, "rival-parts", "690999", 2);
    let rival_token = token(r, rival.id.as_str());
    let expired = r
        .issue_token(
            &registry::PartyId::parse("shop-a").unwrap(),
            Some(now().plus_days(-1)),
            now().plus_days(-2),
        )
        .unwrap();
    let revoked = r
        .issue_token(&registry::PartyId::parse("shop-a").unwrap(), None, now())
        .unwrap();
    r.revoke_token(&revoked.record.id, now()).unwrap();
    let uri = s.uris[0].clone();
    let receive = json!({"code": uri, "step": "receiving"});

    // No token, garbage, an expired and a revoked token: 401 with a problem body.
    for bad in [
        None,
        Some("nonsense"),
        Some(expired.reveal()),
        Some(revoked.reveal()),
    ] {
        let mut request = s.client.post(s.server.url("/api/v1/events")).json(&receive);
        if let Some(t) = bad {
            request = request.bearer_auth(t);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{bad:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: Value = response.json().await.unwrap();
        assert!(["missing_token", "invalid_token"].contains(&body["code"].as_str().unwrap()));
    }
    // Wrong role: a shop uploading a manifest, recalling, decommissioning; a maker installing.
    let response = s
        .upload(&s.shop_a, manifest(&s.codes[5..6], &s.server.base()))
        .await;
    assert_eq!(response.status(), 403);
    for (token, body) in [
        (
            &s.shop_a,
            json!({"code": uri, "step": "recalling", "reason": "x"}),
        ),
        (
            &s.shop_a,
            json!({"code": uri, "step": "decommissioning", "reason": "x"}),
        ),
        (
            &s.maker_token,
            json!({"code": uri, "step": "installing", "vin": VIN}),
        ),
    ] {
        let (status, problem) = s.event(token, body).await;
        assert_eq!(status, 403, "{problem}");
        assert_eq!(problem["code"], "wrong_role");
    }
    // Another maker's codes: not recallable, not readable, not registrable under its key.
    let (status, problem) = s
        .event(
            &rival_token,
            json!({"code": uri, "step": "recalling", "reason": "sabotage"}),
        )
        .await;
    assert_eq!(
        (status.as_u16(), problem["code"].as_str()),
        (403, Some("not_allowed"))
    );
    let history = s
        .client
        .get(s.server.url("/api/v1/codes/06901234567892/STORY0000"))
        .bearer_auth(&rival_token)
        .send()
        .await
        .unwrap();
    assert_eq!(history.status(), 404);
    let upload: Value = s
        .upload(&rival_token, manifest(&s.codes[5..8], &s.server.base()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(upload["rejected"]["not_your_code"], 3);
    assert_eq!(upload["rejections"][0]["line"], 1);
    // A shop reading a vehicle is fine; a maker is not.
    let car = s
        .client
        .get(s.server.url(&format!("/api/v1/vehicles/{VIN}")))
        .bearer_auth(&s.maker_token)
        .send()
        .await
        .unwrap();
    assert_eq!(car.status(), 403);

    for i in 0..8 {
        let expected = u32::from(i < 5);
        assert_eq!(s.events_of(i), expected, "code {i}");
    }
}

#[tokio::test]
async fn malformed_input_gets_a_4xx_with_a_code_and_stores_nothing() {
    let s = story().await;
    s.upload(&s.maker_token, manifest(&s.codes[..2], &s.server.base()))
        .await;
    let uri = s.uris[0].clone();
    let post = |body: String| {
        s.client
            .post(s.server.url("/api/v1/events"))
            .bearer_auth(&s.shop_a)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let cases = [
        ("{not json".to_owned(), 400, "invalid_json"),
        (json!({"code": uri}).to_string(), 400, "invalid_field"),
        (
            json!({"code": uri, "step": "teleporting"}).to_string(),
            400,
            "invalid_step",
        ),
        (
            json!({"code": uri, "step": "installing"}).to_string(),
            400,
            "missing_field",
        ),
        (
            json!({"code": uri, "step": "installing", "vin": "LSVAU2180N2183294"}).to_string(),
            422,
            "vin_check_digit",
        ),
        (
            json!({"code": uri, "step": "installing", "vin": "LSVAU2180N218329O"}).to_string(),
            400,
            "vin.character",
        ),
        (
            json!({"code": uri, "step": "shipping", "to": "Not A Party"}).to_string(),
            400,
            "invalid_party",
        ),
        (
            json!({"code": uri, "step": "shipping", "to": "ghost"}).to_string(),
            422,
            "unknown_party",
        ),
        (
            json!({"code": "garbage", "step": "receiving"}).to_string(),
            400,
            "invalid_code",
        ),
        (
            json!({"gtin": "06901234567892", "serial": "NOPE", "step": "receiving"}).to_string(),
            404,
            "not_registered",
        ),
        (
            json!({"code": uri, "step": "receiving", "extra": 1}).to_string(),
            400,
            "invalid_field",
        ),
        (
            json!({"code": uri, "step": "destroying", "reason": "x".repeat(600)}).to_string(),
            400,
            "invalid_input",
        ),
    ];
    for (body, status, code) in cases {
        let response = post(body.clone()).await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{body}");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], code, "{body}: {problem}");
    }
    assert_eq!(s.events_of(0), 1, "a refused request stored an event");

    // A batch answers per scan, with the index of each failure.
    let batch: Value = s
        .client
        .post(s.server.url("/api/v1/events/batch"))
        .bearer_auth(&s.shop_a)
        .json(&json!({"events": [
            {"code": uri, "step": "receiving"},
            {"code": uri, "step": "installing", "vin": "bad"},
            {"code": s.uris[1], "step": "receiving"},
        ]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let results = batch["results"].as_array().unwrap();
    assert_eq!(results[0]["status"], 200);
    assert_eq!(results[1]["status"], 400);
    assert_eq!(results[1]["index"], 1);
    assert_eq!(results[1]["error"]["code"], "vin.length");
    assert_eq!(results[2]["result"]["outcome"], "applied");
    let too_many: Vec<Value> = (0..1001)
        .map(|_| json!({"code": uri, "step": "receiving"}))
        .collect();
    let response = s
        .client
        .post(s.server.url("/api/v1/events/batch"))
        .bearer_auth(&s.shop_a)
        .json(&json!({ "events": too_many }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    // A manifest with a bad line: the rest registers, the line is named.
    let mut text = manifest(&s.codes[2..4], &s.server.base());
    text.push_str("{\"uri\": 5}\n");
    let summary: Value = s.upload(&s.maker_token, text).await.json().await.unwrap();
    assert_eq!(summary["registered"], 2);
    assert_eq!(summary["rejections"][0]["line"], 3);
    assert_eq!(summary["rejections"][0]["code"], "malformed_line");

    // A manifest that says it is larger than 2 GiB is refused before a byte of it is read. (Raw
    // HTTP: the client declares the length and sends a first line, not the gigabytes.)
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut tcp = tokio::net::TcpStream::connect(s.server.addr).await.unwrap();
    let first_line = manifest(&s.codes[4..5], &s.server.base());
    let request = format!(
        "POST /api/v1/manifests HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\n\
         content-type: application/x-ndjson\r\ncontent-length: {}\r\n\r\n{first_line}",
        s.server.addr,
        s.maker_token,
        3u64 << 30
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let n = tcp.read(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("manifest_too_large"), "{answer}");
    assert!(
        s.server
            .registry
            .status(&CodeKey::of(&s.codes[4].part))
            .unwrap()
            .is_none(),
        "nothing was registered"
    );
}

#[tokio::test]
async fn public_requests_are_rate_limited_per_client() {
    let server = start(Overrides {
        rate_limit: Some(3),
        ..Overrides::default()
    })
    .await;
    let client = Client::new();
    let url = server.url("/lookup?gtin=06901234567892&serial=ABC");
    for _ in 0..3 {
        assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    }
    let limited = client.get(&url).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    let wait: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&wait), "{wait}");
    let problem: Value = limited.json().await.unwrap();
    assert_eq!(problem["code"], "rate_limited");
    // Operations endpoints are not limited.
    assert_eq!(
        client
            .get(server.url("/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn shutdown_finishes_writes_in_flight_and_every_acknowledged_one_is_durable() {
    let mut s = story().await;
    s.upload(&s.maker_token, manifest(&s.codes, &s.server.base()))
        .await;
    let client = s.client.clone();
    let url = s.server.url("/api/v1/events");
    let mut writers = Vec::new();
    // Shutdown begins as soon as the first write is answered, with the others still in flight:
    // however busy the machine, some writes got in and some race the shutdown.
    let first_answer = std::sync::Arc::new(tokio::sync::Notify::new());
    for (i, uri) in s.uris.iter().enumerate() {
        let (client, url, uri, token, answered) = (
            client.clone(),
            url.clone(),
            uri.clone(),
            s.shop_a.clone(),
            first_answer.clone(),
        );
        writers.push(tokio::spawn(async move {
            let response = client
                .post(&url)
                .bearer_auth(&token)
                .json(&json!({"code": uri, "step": "receiving"}))
                .send()
                .await;
            answered.notify_one();
            (i, response.map(|r| r.status().as_u16()).ok())
        }));
    }
    tokio::time::timeout(std::time::Duration::from_secs(30), first_answer.notified())
        .await
        .expect("no write was answered within 30 s");
    s.server.begin_shutdown();
    let mut acknowledged = Vec::new();
    for w in writers {
        if let (i, Some(200)) = w.await.unwrap() {
            acknowledged.push(i);
        }
    }
    assert!(!acknowledged.is_empty(), "no write got in before shutdown");
    // Reopen the store from disk, as the next start would.
    let Story { server, codes, .. } = s;
    let database = server.database;
    let (registry, dir) = server.shutdown_after_begin().await;
    drop(registry);
    let reopened = testkit::engine::reopen(&dir.path().join("data"), database);
    for i in acknowledged {
        let record = reopened
            .status(&CodeKey::of(&codes[i].part))
            .unwrap()
            .unwrap()
            .record;
        assert_eq!(
            record.events, 2,
            "acknowledged receive of code {i} was lost"
        );
    }
    assert!(reopened.audit(|_| {}).unwrap().is_clean());
}

#[tokio::test]
async fn revocations_change_what_scans_say() {
    let s = story().await;
    let r = &s.server.registry;
    s.upload(&s.maker_token, manifest(&s.codes[..3], &s.server.base()))
        .await;
    assert_eq!(s.scan(&s.uris[0]).await["verdict"], "genuine");
    let cert = r.trust().certificates()[0].clone();
    let authority = &s.authority;
    let decertified = signer::RevocationList::issue(
        1,
        now(),
        vec![signer::Revocation {
            cert_serial: cert.serial(),
            key_id: cert.key_id(),
            reason: signer::RevocationReason::Decertified,
            effective_at: now(),
        }],
        authority,
    )
    .unwrap();
    r.set_revocations(decertified.clone(), now()).unwrap();
    // Codes registered before the decertification stay genuine, but the maker shows as not certified;
    // new codes are refused.
    let v = s.scan(&s.uris[0]).await;
    assert_eq!(v["verdict"], "genuine");
    assert_eq!(v["manufacturer"]["certified"], false);
    let refused: Value = s
        .upload(&s.maker_token, manifest(&s.codes[3..4], &s.server.base()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refused["rejected"]["manufacturer_decertified"], 1);
    // A stolen key: nothing it signed is trusted any more, registered or not.
    let compromised = decertified
        .extend(
            signer::Revocation {
                cert_serial: cert.serial(),
                key_id: cert.key_id(),
                reason: signer::RevocationReason::KeyCompromise,
                effective_at: now(),
            },
            now(),
            authority,
        )
        .unwrap();
    r.set_revocations(compromised, now()).unwrap();
    for uri in [&s.uris[0], &s.uris[10]] {
        let v = s.scan(uri).await;
        assert_eq!(v["verdict"], "issuer_revoked", "{v}");
        assert_eq!(v["genuine"], false);
    }
}
