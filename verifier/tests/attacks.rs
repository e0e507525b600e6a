//! The attacks, as stories over real HTTP: each of the domain's attacks (forged, cloned and
//! misattributed labels, sabotage, false events) and each way a verdict was once turned against the
//! truth, with what the owner's scan says afterwards and what the maker's alerts show.
//!
//! The rules these stories hold are in `docs/custody-rules.md`; `registry/tests/custody_rules.rs`
//! checks every cell of that table, and these check that the HTTP surface keeps them.

#![allow(clippy::unwrap_used)]

use registry::{CodeKey, PartyId, Role};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use signer::{Gtin, PartId, Serial, SignedCode};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

const VIN_A: &str = "LSVAU218XN2183294";
const VIN_B: &str = "1M8GDM9AXKP042788";

struct World {
    server: Server,
    client: Client,
    maker: String,
    shop_a: String,
    shop_b: String,
    dist: String,
    codes: Vec<SignedCode>,
    uris: Vec<String>,
}

/// A maker with 20 registered codes, two shops and a distributor; the public rate limit off, and
/// loopback a trusted proxy (so a test can scan "from" many networks).
async fn world() -> World {
    let server = start(Overrides {
        rate_limit: Some(0),
        trusted_proxies: Some(vec!["127.0.0.1/32".parse().unwrap()]),
        ..Overrides::default()
    })
    .await;
    let r = &server.registry;
    let authority = signer::keys::generate();
    let maker = certify(r, &authority, "acme-brakes", "690123", 1);
    add_party(r, "shop-a", Role::Shop, "Guangdong");
    add_party(r, "shop-b", Role::Shop, "Zhejiang");
    add_party(r, "dist-1", Role::Distributor, "Guangdong");
    let codes = codes(&maker.key, "ATTACK", 20);
    r.register(&codes, None, now()).unwrap();
    let base = server.base();
    World {
        uris: codes.iter().map(|c| c.to_uri(&base)).collect(),
        maker: token(r, "acme-brakes"),
        shop_a: token(r, "shop-a"),
        shop_b: token(r, "shop-b"),
        dist: token(r, "dist-1"),
        client: Client::new(),
        server,
        codes,
    }
}

impl World {
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

    /// An event that must be recorded (200), with its answer.
    async fn ok(&self, token: &str, body: Value) -> Value {
        let (status, answer) = self.event(token, body.clone()).await;
        assert_eq!(status, 200, "{body} -> {answer}");
        answer
    }

    /// The owner's scan, as a phone's JSON client sees it.
    async fn scan(&self, i: usize) -> Value {
        self.scan_from(&self.uris[i], None).await
    }

    /// The owner's page for `path`, as an English browser gets it.
    async fn page(&self, path: &str) -> String {
        self.client
            .get(self.server.url(path))
            .header("accept", "text/html")
            .header("accept-language", "en")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    async fn scan_from(&self, uri: &str, forwarded_for: Option<&str>) -> Value {
        let mut request = self.client.get(uri).header("accept", "application/json");
        if let Some(ip) = forwarded_for {
            request = request.header("x-forwarded-for", ip);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }

    fn typed(&self, i: usize) -> (String, String) {
        let part = &self.codes[i].part;
        (
            part.gtin.as_str().to_owned(),
            part.serial.as_str().to_owned(),
        )
    }

    async fn get(&self, token: &str, path: &str) -> Value {
        self.client
            .get(self.server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn alerts(&self) -> Vec<Value> {
        self.get(&self.maker, "/api/v1/alerts").await["alerts"]
            .as_array()
            .unwrap()
            .clone()
    }

    async fn vehicle_check(&self, i: usize, vin: &str) -> Value {
        self.client
            .post(self.server.url("/vehicle-check"))
            .json(&json!({"code": self.uris[i], "vin": vin}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    fn events(&self, i: usize) -> u32 {
        self.server
            .registry
            .status(&CodeKey::of(&self.codes[i].part))
            .unwrap()
            .unwrap()
            .record
            .events
    }
}

/// A shop that never held a part cannot make it read destroyed: at its maker, in transit to another
/// shop, or installed by another shop, its destroy and remove are refused (409 `not_holder`) and
/// kept as claims for the maker; every owner's scan says what it said before.
#[tokio::test]
async fn a_shop_that_never_held_a_part_cannot_destroy_or_remove_it() {
    let w = world().await;
    let destroy = |(gtin, serial): (String, String)| json!({"gtin": gtin, "serial": serial, "step": "destroying", "reason": "scrap"});

    // At its maker.
    let (status, refused) = w.event(&w.shop_b, destroy(w.typed(0))).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "not_holder");
    assert!(
        !refused["detail"].as_str().unwrap().contains("shop-"),
        "the detail names no party: {refused}"
    );
    assert_eq!(w.scan(0).await["verdict"], "genuine");
    // Scanning the label does not help: a destroy by a non-holder is refused all the same.
    let (status, _) = w
        .event(
            &w.shop_b,
            json!({"code": w.uris[0], "step": "destroying", "reason": "scrap"}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(w.scan(0).await["verdict"], "genuine");

    // In transit from the distributor to shop A.
    w.ok(&w.dist, json!({"code": w.uris[1], "step": "receiving"}))
        .await;
    w.ok(
        &w.dist,
        json!({"code": w.uris[1], "step": "shipping", "to": "shop-a"}),
    )
    .await;
    let (status, _) = w.event(&w.shop_b, destroy(w.typed(1))).await;
    assert_eq!(status, 409);
    assert_eq!(w.scan(1).await["verdict"], "genuine");
    // Shop A, the addressee, receives it as usual.
    let received = w
        .ok(&w.shop_a, json!({"code": w.uris[1], "step": "receiving"}))
        .await;
    assert_eq!(received["outcome"], "applied");

    // Installed by shop A: shop B can neither remove (without the car's VIN and the label) nor
    // destroy it.
    w.ok(
        &w.shop_a,
        json!({"code": w.uris[1], "step": "installing", "vin": VIN_A}),
    )
    .await;
    let (gtin, serial) = w.typed(1);
    for body in [
        json!({"gtin": gtin, "serial": serial, "step": "removing"}),
        json!({"gtin": gtin, "serial": serial, "step": "removing", "vin": VIN_A}),
        json!({"code": w.uris[1], "step": "removing", "vin": VIN_B}),
        destroy(w.typed(1)),
    ] {
        let (status, refused) = w.event(&w.shop_b, body.clone()).await;
        assert_eq!(status, 409, "{body} -> {refused}");
        assert_eq!(refused["code"], "not_holder");
    }
    assert_eq!(w.scan(1).await["verdict"], "genuine_installed");
    assert_eq!(w.vehicle_check(1, VIN_A).await["recorded"], true);

    // The attempts are kept, attributed, for the maker: claims and refusals in the history.
    let history = w
        .get(&w.maker, &format!("/api/v1/codes/{gtin}/{serial}"))
        .await;
    let refused: Vec<&Value> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["outcome"] == "refused")
        .collect();
    assert_eq!(refused.len(), 5, "{history}");
    assert!(refused.iter().all(|e| e["actor"] == "shop-b"));
    assert_eq!(history["claims"], 5);
    assert_eq!(history["duplicate_suspected"], false);

    // A shop with the car in its workshop removes the part by naming its VIN and scanning it.
    let removed = w
        .ok(
            &w.shop_b,
            json!({"code": w.uris[1], "step": "removing", "vin": VIN_A}),
        )
        .await;
    assert_eq!(removed["outcome"], "applied");
    assert_eq!(removed["custody"], "held");
    // The installing shop hears of it, attributed; the maker sees it in the history.
    let notices = w.get(&w.shop_a, "/api/v1/notices").await;
    let notice = &notices["notices"][0];
    assert_eq!(notice["kind"], "removed_by_another_shop", "{notices}");
    assert_eq!(notice["by"], "shop-b");
    assert_eq!(notice["seq"], removed["seq"]);
    assert!(
        w.get(&w.shop_b, "/api/v1/notices").await["notices"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    // A carton for shop A delivered to shop B is received there (one part can be misrouted), and
    // both ends of the shipment are told.
    w.ok(&w.dist, json!({"code": w.uris[14], "step": "receiving"}))
        .await;
    w.ok(
        &w.dist,
        json!({"code": w.uris[14], "step": "shipping", "to": "shop-a"}),
    )
    .await;
    let misrouted = w
        .ok(&w.shop_b, json!({"code": w.uris[14], "step": "receiving"}))
        .await;
    assert_eq!(misrouted["outcome"], "applied");
    for token in [&w.shop_a, &w.dist] {
        let notices = w.get(token, "/api/v1/notices").await;
        assert_eq!(
            notices["notices"][0]["kind"], "received_elsewhere",
            "{notices}"
        );
        assert_eq!(notices["notices"][0]["seq"], misrouted["seq"]);
    }
}

/// Typed numbers prove nothing physical: a second shop typing a part's numbers where the part
/// cannot be is a claim for the maker, never a public flag; the same with the label scanned is
/// evidence of a copy.
#[tokio::test]
async fn typed_numbers_are_claims_and_scanned_labels_are_evidence() {
    let w = world().await;
    w.ok(&w.shop_a, json!({"code": w.uris[2], "step": "receiving"}))
        .await;
    w.ok(
        &w.shop_a,
        json!({"code": w.uris[2], "step": "installing", "vin": VIN_A}),
    )
    .await;
    let (gtin, serial) = w.typed(2);
    let claim = w
        .ok(
            &w.shop_b,
            json!({"gtin": gtin, "serial": serial, "step": "installing", "vin": VIN_B}),
        )
        .await;
    assert_eq!(claim["outcome"], "claim");
    assert_eq!(claim["basis"], "typed");
    assert_eq!(claim["duplicate_suspected"], false);
    assert_eq!(w.scan(2).await["verdict"], "genuine_installed");
    assert!(w.alerts().await.is_empty());

    let evidence = w
        .ok(
            &w.shop_b,
            json!({"code": w.uris[2], "step": "installing", "vin": VIN_B}),
        )
        .await;
    assert_eq!(evidence["outcome"], "conflict");
    assert_eq!(evidence["basis"], "scanned");
    assert_eq!(w.scan(2).await["verdict"], "duplicate_suspected");
    assert_eq!(w.alerts().await.len(), 1);
}

/// A clone resolved by its maker as counterfeit never reads genuine again: the verdict warns of
/// copies for good, the genuine vehicle's owner still gets "recorded in your vehicle", and the
/// copy's vehicle is told its part was found counterfeit.
#[tokio::test]
async fn a_clone_resolved_as_counterfeit_never_reads_genuine_again() {
    let w = world().await;
    w.ok(&w.shop_a, json!({"code": w.uris[3], "step": "receiving"}))
        .await;
    w.ok(
        &w.shop_a,
        json!({"code": w.uris[3], "step": "installing", "vin": VIN_A}),
    )
    .await;
    let clone = w
        .ok(
            &w.shop_b,
            json!({"code": w.uris[3], "step": "installing", "vin": VIN_B}),
        )
        .await;
    assert_eq!(clone["outcome"], "conflict");
    assert_eq!(w.scan(3).await["verdict"], "duplicate_suspected");

    // Only the maker ends the alert, and only by saying which copy is genuine (or that none is
    // known), with a note.
    let resolve = |extra: Value| {
        let mut body = json!({"code": w.uris[3], "step": "resolving", "resolution": "counterfeit"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let (status, _) = w
        .event(
            &w.shop_a,
            resolve(json!({"genuine_vin": VIN_A, "note": "mine"})),
        )
        .await;
    assert_eq!(status, 403);
    let (status, refused) = w.event(&w.maker, resolve(json!({"note": "seized"}))).await;
    assert_eq!(
        (status.as_u16(), &refused["code"]),
        (400, &json!("invalid_resolution"))
    );
    let (status, refused) = w
        .event(&w.maker, resolve(json!({"genuine_vin": VIN_A})))
        .await;
    assert_eq!(status, 400, "{refused}");
    let resolved = w
        .ok(
            &w.maker,
            resolve(json!({"genuine_vin": VIN_A, "note": "the copy in the other car was seized"})),
        )
        .await;
    assert_eq!(resolved["outcome"], "applied");

    let verdict = w.scan(3).await;
    assert_eq!(verdict["verdict"], "copies_known", "{verdict}");
    assert_eq!(verdict["genuine"], false);
    assert_eq!(verdict["severity"], "danger");
    assert!(w.alerts().await.is_empty(), "the alert ended");
    assert_eq!(
        w.vehicle_check(3, VIN_A).await,
        json!({"recorded": true, "found_counterfeit": false})
    );
    assert_eq!(
        w.vehicle_check(3, VIN_B).await,
        json!({"recorded": false, "found_counterfeit": true})
    );

    // A false alarm resolved as genuine clears the flag instead.
    w.ok(&w.shop_a, json!({"code": w.uris[4], "step": "receiving"}))
        .await;
    w.ok(&w.shop_b, json!({"code": w.uris[4], "step": "receiving"}))
        .await;
    assert_eq!(w.scan(4).await["verdict"], "duplicate_suspected");
    let (status, _) = w
        .event(
            &w.maker,
            json!({"code": w.uris[4], "step": "resolving", "resolution": "genuine",
                   "genuine_vin": VIN_A, "note": "x"}),
        )
        .await;
    assert_eq!(status, 400, "a false alarm names no genuine copy");
    w.ok(
        &w.maker,
        json!({"code": w.uris[4], "step": "resolving", "resolution": "genuine",
               "note": "shop B scanned a label from a photo while training"}),
    )
    .await;
    assert_eq!(w.scan(4).await["verdict"], "genuine");
}

/// The installing shop's own mistake (scanning a part it installed in receive mode) flags the
/// code, and its correction undoes it completely; a correction that another party's later event
/// depends on is refused, naming that event.
#[tokio::test]
async fn a_correction_undoes_the_mistake_unless_another_party_depends_on_it() {
    let w = world().await;
    w.ok(&w.shop_a, json!({"code": w.uris[5], "step": "receiving"}))
        .await;
    w.ok(
        &w.shop_a,
        json!({"code": w.uris[5], "step": "installing", "vin": VIN_A}),
    )
    .await;
    let mistake = w
        .ok(&w.shop_a, json!({"code": w.uris[5], "step": "receiving"}))
        .await;
    assert_eq!(mistake["outcome"], "conflict");
    assert_eq!(w.scan(5).await["verdict"], "duplicate_suspected");
    let corrected = w
        .ok(
            &w.shop_a,
            json!({"code": w.uris[5], "step": "correcting", "corrects": mistake["seq"],
                   "reason": "scanned in receive mode by mistake"}),
        )
        .await;
    assert_eq!(corrected["duplicate_suspected"], false);
    assert_eq!(corrected["custody"], "installed");
    assert_eq!(w.scan(5).await["verdict"], "genuine_installed");
    assert!(w.alerts().await.is_empty());

    // Shop A installs, shop B's clone conflicts with it; shop A may not wipe that evidence by
    // correcting its own install.
    w.ok(&w.shop_a, json!({"code": w.uris[6], "step": "receiving"}))
        .await;
    let install = w
        .ok(
            &w.shop_a,
            json!({"code": w.uris[6], "step": "installing", "vin": VIN_A}),
        )
        .await;
    w.ok(
        &w.shop_b,
        json!({"code": w.uris[6], "step": "installing", "vin": VIN_B}),
    )
    .await;
    let before = w.events(6);
    let (status, refused) = w
        .event(
            &w.shop_a,
            json!({"code": w.uris[6], "step": "correcting", "corrects": install["seq"],
                   "reason": "wrong car"}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "invalid_correction");
    assert!(
        refused["detail"].as_str().unwrap().contains("event 3"),
        "{refused}"
    );
    assert_eq!(w.events(6), before, "nothing stored");
    assert_eq!(w.scan(6).await["verdict"], "duplicate_suspected");
}

/// Copies of a part not yet installed are noticed: a label at its maker scanned by the public from
/// many networks is a warning and an alert with its figures, never a verdict of a copy.
#[tokio::test]
async fn copies_of_an_uninstalled_part_raise_a_scan_anomaly() {
    let w = world().await;
    for i in 0..200u32 {
        let ip = format!("203.{}.{}.9", i / 200, i % 200);
        let v = w.scan_from(&w.uris[7], Some(&ip)).await;
        assert!(
            ["genuine", "scan_anomaly"].contains(&v["verdict"].as_str().unwrap()),
            "{v}"
        );
    }
    let v = w.scan(7).await;
    assert_eq!(v["verdict"], "scan_anomaly", "{v}");
    assert_eq!(v["severity"], "warning");
    let alerts = w.alerts().await;
    assert_eq!(alerts.len(), 1);
    let anomaly = &alerts[0]["scan_anomaly"];
    assert_eq!(anomaly["threshold"], 5, "{anomaly}");
    assert!(anomaly["networks"].as_u64().unwrap() >= 5);
    assert_eq!(alerts[0]["duplicate_suspected"], false);
    // The same flood from one network raises nothing.
    for _ in 0..50 {
        w.scan_from(&w.uris[8], Some("198.51.100.7")).await;
    }
    assert_eq!(w.scan(8).await["verdict"], "genuine");
}

/// Public reports are never lost: each has its own id, carries the verdict its sender saw and the
/// scanned label; a forged label's report reaches the maker of its GTIN as an alert.
#[tokio::test]
async fn reports_are_never_lost_and_a_forged_label_reaches_its_maker() {
    let w = world().await;
    let mut ids = Vec::new();
    for text in ["first", "second", "third"] {
        let response = w
            .client
            .post(w.server.url("/reports"))
            .json(&json!({"code": w.uris[9], "text": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 201);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["verdict"], "genuine");
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    let reports = w.get(&w.maker, "/api/v1/reports").await;
    let texts: Vec<&str> = reports["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts.len(), 3, "{reports}");

    // A forged label: a made-up serial under the maker's GTIN, signed by a stranger's key.
    let forged = SignedCode::sign(
        PartId {
            gtin: Gtin::parse("06901234567892").unwrap(),
            lot: None,
            serial: Serial::parse("FAKE0001").unwrap(),
        },
        &signer::keys::generate(),
    )
    .to_uri(&w.server.base());
    assert_eq!(w.scan_from(&forged, None).await["verdict"], "forged");
    let response = w
        .client
        .post(w.server.url("/reports"))
        .json(&json!({"code": forged, "text": "bought online"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let alerts = w.get(&w.maker, "/api/v1/alerts").await;
    let forged_reports = alerts["forged_label_reports"].as_array().unwrap();
    assert_eq!(forged_reports.len(), 1, "{alerts}");
    assert_eq!(forged_reports[0]["verdict"], "forged");
    assert!(forged_reports[0]["signature"].as_str().is_some());

    // Reports are rate-limited per client (10 an hour by default).
    let mut limited = false;
    for _ in 0..10 {
        let response = w
            .client
            .post(w.server.url("/reports"))
            .json(&json!({"code": w.uris[9], "text": "again"}))
            .send()
            .await
            .unwrap();
        if response.status() == 429 {
            limited = true;
            assert!(response.headers().contains_key("retry-after"));
            break;
        }
    }
    assert!(limited);
}

/// A forged label's report, sent from its red page, is confirmed neutrally (received, with what
/// the check said) and leads back to the label's own page, never to a typed lookup that would
/// show the genuine part's green page.
#[tokio::test]
async fn a_forged_label_never_leads_to_a_green_page() {
    let w = world().await;
    let real = &w.codes[10];
    // The genuine part's numbers with a stranger's signature.
    let forged = SignedCode::sign(real.part.clone(), &signer::keys::generate());
    let path = forged.path_and_query();
    let page = w.page(&path).await;
    assert!(page.contains("verdict danger"), "{page}");
    assert!(
        page.contains("name=\"scanned\""),
        "the report form carries the label"
    );
    let (gtin, serial) = w.typed(10);
    let confirmation = w
        .client
        .post(w.server.url("/owner/report"))
        .form(&[
            ("gtin", gtin.as_str()),
            ("serial", serial.as_str()),
            ("scanned", path.as_str()),
            ("text", "the label looks reprinted"),
            ("lang", "en"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(confirmation.status(), 201);
    let html = confirmation.text().await.unwrap();
    assert!(html.contains("verdict info"), "{html}");
    assert!(
        html.contains("What this check said: Danger: forged label"),
        "{html}"
    );
    assert!(!html.contains("verdict ok"), "{html}");
    assert!(
        !html.contains("/lookup?"),
        "no way to a typed lookup: {html}"
    );
    let escaped_path = path.replace('&', "&#38;");
    assert!(
        html.contains(&escaped_path),
        "back to the label's page: {html}"
    );

    // The typed lookup of the genuine part's numbers does not present itself as a checked label.
    let typed: Value = w
        .client
        .get(
            w.server
                .url(&format!("/lookup?gtin={gtin}&serial={serial}")),
        )
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(typed["verdict"], "registered_numbers");
    assert_eq!(typed["genuine"], false);
    assert_eq!(typed["signature_checked"], false);
}

/// A genuine label with one character of its signature changed reads forged wherever the change
/// is: in the middle (the signature no longer verifies) or in the last character, where most
/// changes leave stray bits that the strict parser refuses; that is not a misread but a label the
/// maker did not sign. Its report still names the part and reaches the maker.
#[tokio::test]
async fn an_altered_signature_reads_forged_in_any_character() {
    let w = world().await;
    let real = &w.codes[11];
    let path = real.path_and_query();
    let signature_at = path.find("&s=").unwrap() + 3;
    let changed = |at: usize| {
        let mut altered = path.clone().into_bytes();
        altered[at] = if altered[at] == b'B' { b'C' } else { b'B' };
        String::from_utf8(altered).unwrap()
    };
    // 'B' is base64url's 1: as a last character its stray low bit is set.
    for altered in [changed(signature_at + 40), changed(path.len() - 1)] {
        let v = w.scan_from(&w.server.url(&altered), None).await;
        assert_eq!(v["verdict"], "forged", "{altered}: {v}");
        assert_eq!(v["part"]["serial"], real.part.serial.as_str(), "{v}");
        let page = w.page(&altered).await;
        assert!(page.contains("verdict danger"), "{page}");
    }
    // What is not a signature at all is still unreadable.
    let cut = &path[..path.len() - 1];
    assert_eq!(
        w.scan_from(&w.server.url(cut), None).await["verdict"],
        "data_error"
    );
    // The last-character forgery's report names the part and reaches its maker.
    let (gtin, serial) = w.typed(11);
    let sent = w
        .client
        .post(w.server.url("/owner/report"))
        .form(&[
            ("gtin", gtin.as_str()),
            ("serial", serial.as_str()),
            ("scanned", changed(path.len() - 1).as_str()),
            ("text", "the label looks reprinted"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
}

/// A browser session lives only as long as its token and its party.
#[tokio::test]
async fn a_station_session_ends_with_its_token_or_party() {
    let w = world().await;
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for revoke_party in [false, true] {
        let id = if revoke_party { "shop-b" } else { "shop-a" };
        let token = if revoke_party { &w.shop_b } else { &w.shop_a };
        let (cookie, csrf) = sign_in(&client, &w.server, "/shop", token).await;
        let station = client
            .get(w.server.url("/shop"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(station.contains("/shop/scan"), "signed in: {station}");
        if revoke_party {
            w.server
                .registry
                .revoke_party(&PartyId::parse(id).unwrap(), now())
                .unwrap();
        } else {
            let token_id = token.split('_').nth(1).unwrap();
            w.server.registry.revoke_token(token_id, now()).unwrap();
        }
        let scan = client
            .post(w.server.url("/shop/scan"))
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str()), ("code", w.uris[11].as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(scan.status(), 403, "revoked ({id}): no more scans");
        assert_eq!(w.events(11), 1, "nothing recorded");
        let page = client
            .get(w.server.url("/shop"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("action=\"/signin\""), "back to sign-in");
    }
}

/// Recalls stop installation: refused with the reason unless the shop overrides, which is
/// recorded; receiving a recalled part is recorded with a warning.
#[tokio::test]
async fn a_recalled_part_is_not_installed_without_an_override() {
    let w = world().await;
    let recall = w
        .client
        .post(w.server.url("/api/v1/lots/recall"))
        .bearer_auth(&w.maker)
        .json(&json!({"gtin": "06901234567892", "lot": "L2026A", "reason": "friction below spec"}))
        .send()
        .await
        .unwrap();
    assert_eq!(recall.status(), 200);
    let received = w
        .ok(&w.shop_a, json!({"code": w.uris[12], "step": "receiving"}))
        .await;
    assert!(
        received["warning"]
            .as_str()
            .unwrap()
            .contains("friction below spec"),
        "{received}"
    );
    let before = w.events(12);
    let (status, refused) = w
        .event(
            &w.shop_a,
            json!({"code": w.uris[12], "step": "installing", "vin": VIN_A}),
        )
        .await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["code"], "recalled");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .contains("friction below spec")
    );
    assert_eq!(w.events(12), before, "nothing stored");
    let installed = w
        .ok(
            &w.shop_a,
            json!({"code": w.uris[12], "step": "installing", "vin": VIN_A, "override_recall": true}),
        )
        .await;
    assert_eq!(installed["outcome"], "applied");
    assert!(installed["warning"].as_str().unwrap().contains("override"));
    let (gtin, serial) = w.typed(12);
    let history = w
        .get(&w.maker, &format!("/api/v1/codes/{gtin}/{serial}/epcis"))
        .await;
    assert!(
        history
            .to_string()
            .contains("\"partseal:recallOverride\":true"),
        "the override is in the record"
    );
    assert_eq!(w.scan(12).await["verdict"], "recalled");
}

/// A rogue manufacturer's key signing another brand's GTIN reads forged, even for a serial the
/// rightful maker registered.
#[tokio::test]
async fn a_rogue_manufacturer_cannot_sign_another_brands_parts() {
    let w = world().await;
    let authority = signer::keys::generate();
    let rogue = certify(&w.server.registry, &authority, "rogue-parts", "690999", 2);
    let code = SignedCode::sign(w.codes[13].part.clone(), &rogue.key);
    let v = w.scan_from(&code.to_uri(&w.server.base()), None).await;
    assert_eq!(v["verdict"], "forged", "{v}");
    assert_eq!(v["reason"], "gtin_outside_prefixes");
    // And its scan cannot write into the genuine part's history.
    let (status, refused) = w
        .event(
            &w.shop_a,
            json!({"code": code.to_uri(&w.server.base()), "step": "receiving"}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "code_mismatch");
    assert_eq!(w.events(13), 1);
}
