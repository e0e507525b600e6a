//! Cartons over real HTTP: a maker packs two cartons into a pallet and ships it to a distributor,
//! who receives it, unpacks it and ships one carton on to a shop, who receives it; every part in
//! it then reads "received by" the shop on its public page, and its history names the carton.
//! And the refusals, each with nothing stored.

#![allow(clippy::unwrap_used)]

use registry::carton::MAX_CONTENTS;
use registry::{CodeKey, Role};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use signer::{CompanyPrefix, ManifestEntry, SignedCode, SigningKey, Sscc};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

struct World {
    server: Server,
    /// The service's OpenAPI description, which every answer must match.
    doc: Value,
    client: Client,
    maker: String,
    distributor: String,
    shop: String,
    /// The maker's signing key, for more codes than the six every test has.
    maker_key: SigningKey,
    codes: Vec<SignedCode>,
    uris: Vec<String>,
}

async fn world() -> World {
    let server = start(Overrides {
        rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let r = &server.registry;
    let authority = signer::keys::generate();
    let maker = certify(r, &authority, "acme-brakes", "690123", 1);
    add_party(r, "dist-1", Role::Distributor, "Guangdong");
    add_party(r, "shop-a", Role::Shop, "Zhejiang");
    let base = server.base();
    let doc = reqwest::get(server.url("/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let codes = codes(&maker.key, "CTN", 6);
    let uris = codes.iter().map(|c| c.to_uri(&base)).collect();
    let world = World {
        maker: token(r, "acme-brakes"),
        distributor: token(r, "dist-1"),
        shop: token(r, "shop-a"),
        client: Client::new(),
        doc,
        server,
        maker_key: maker.key,
        codes,
        uris,
    };
    world.register(&world.codes).await;
    world
}

/// The maker's carton `n` (under its company prefix 690123).
fn sscc(n: u64) -> Sscc {
    Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), n).unwrap()
}

impl World {
    /// Registers `codes` by the maker's manifest upload.
    async fn register(&self, codes: &[SignedCode]) {
        let base = self.server.base();
        let manifest: String = codes
            .iter()
            .map(|c| ManifestEntry::new(c.clone(), &base, None).to_json_line() + "\n")
            .collect();
        let uploaded = self
            .client
            .post(self.server.url("/api/v1/manifests"))
            .bearer_auth(&self.maker)
            .header("content-type", "application/x-ndjson")
            .body(manifest)
            .send()
            .await
            .unwrap();
        assert_eq!(uploaded.status(), 200);
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

    /// An event that must be recorded.
    async fn ok(&self, token: &str, body: Value) -> Value {
        let (status, answer) = self.event(token, body.clone()).await;
        assert_eq!(status, 200, "{body}: {answer}");
        self.described(&body, "EventRequest");
        self.described(&answer, "EventAnswer");
        answer
    }

    /// `instance` matches the description's schema `name`.
    fn described(&self, instance: &Value, name: &str) {
        let mut schema = self.doc.clone();
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

    /// An event that must be refused with `status` and `code`, changing nothing.
    async fn refused(&self, token: &str, body: Value, status: u16, code: &str) {
        let before = self.stored();
        let (answer_status, answer) = self.event(token, body.clone()).await;
        assert_eq!(answer_status.as_u16(), status, "{body}: {answer}");
        assert_eq!(answer["code"], code, "{body}: {answer}");
        assert_eq!(self.stored(), before, "{body} changed something");
    }

    /// Every code's event count and carton, to see that a refusal stored nothing.
    fn stored(&self) -> Vec<(u32, Option<Sscc>)> {
        self.codes
            .iter()
            .map(|c| {
                let key = CodeKey::of(&c.part);
                let r = &self.server.registry;
                let events = r.status(&key).unwrap().map_or(0, |s| s.record.events);
                (events, r.carton_of(&key).unwrap())
            })
            .collect()
    }

    fn typed(&self, i: usize) -> Value {
        let part = &self.codes[i].part;
        json!({"gtin": part.gtin.as_str(), "serial": part.serial.as_str()})
    }
}

/// The outcome of every code a carton move answered for.
fn outcomes(answer: &Value) -> Vec<(String, String)> {
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap().to_owned(),
                r["custody"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_pallet_goes_from_maker_to_shop_by_its_cartons() {
    let w = world().await;
    let base = w.server.base();
    let (a, b, pallet) = (sscc(1), sscc(2), sscc(3));

    // Carton A holds two scanned labels, carton B two typed codes; the pallet holds both.
    let packed = w
        .ok(
            &w.maker,
            json!({"step": "packing", "carton": a.to_uri(&base),
                "codes": [w.uris[0], w.uris[1]]}),
        )
        .await;
    assert_eq!(packed["carton"], a.as_str());
    assert_eq!(packed["step"], "packing");
    assert_eq!(packed["codes"].as_array().unwrap().len(), 2);
    w.ok(
        &w.maker,
        json!({"step": "packing", "carton": b.as_str(), "codes": [w.typed(2), w.typed(3)]}),
    )
    .await;
    let pallet_packed = w
        .ok(
            &w.maker,
            json!({"step": "packing", "carton": pallet.as_str(), "cartons": [a.as_str(), b.to_uri(&base)]}),
        )
        .await;
    assert_eq!(pallet_packed["cartons"], json!([a.as_str(), b.as_str()]));

    // One request ships the pallet, one receives it: every part in it moves.
    let shipped = w
        .ok(
            &w.maker,
            json!({"step": "shipping", "carton": pallet.as_str(), "to": "dist-1"}),
        )
        .await;
    assert_eq!(
        outcomes(&shipped),
        vec![("applied".to_owned(), "in_transit".to_owned()); 4]
    );
    let received = w
        .ok(
            &w.distributor,
            json!({"step": "receiving", "carton": pallet.to_uri(&base)}),
        )
        .await;
    assert_eq!(
        outcomes(&received),
        vec![("applied".to_owned(), "held".to_owned()); 4]
    );
    let codes: Vec<&str> = received["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    for i in 0..4 {
        let key = CodeKey::of(&w.codes[i].part).to_string();
        assert!(codes.contains(&key.as_str()), "{key} not in {codes:?}");
    }

    // The distributor breaks the pallet and ships carton A on to the shop.
    let unpacked = w
        .ok(
            &w.distributor,
            json!({"step": "unpacking", "carton": pallet.as_str()}),
        )
        .await;
    assert_eq!(unpacked["cartons"], json!([a.as_str(), b.as_str()]));
    w.ok(
        &w.distributor,
        json!({"step": "shipping", "carton": a.as_str(), "to": "shop-a"}),
    )
    .await;
    let at_shop = w
        .ok(
            &w.shop,
            json!({"step": "receiving", "carton": format!("(00){a}")}),
        )
        .await;
    assert_eq!(
        outcomes(&at_shop),
        vec![("applied".to_owned(), "held".to_owned()); 2]
    );

    // The owner's scan of a part in carton A: received by the shop, never scanned by itself.
    let public: Value = w
        .client
        .get(&w.uris[0])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let summary = public["custody"]["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("Received by a certified shop in Zhejiang"),
        "{summary}"
    );
    // A part of carton B is still with the distributor.
    let still: Value = w
        .client
        .get(&w.uris[2])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let summary = still["custody"]["summary"].as_str().unwrap();
    assert!(summary.contains("distributor"), "{summary}");

    // The maker's history of that part names the carton of every move.
    let part = &w.codes[0].part;
    let history: Value = w
        .client
        .get(w.server.url(&format!(
            "/api/v1/codes/{}/{}",
            part.gtin.as_str(),
            part.serial.as_str()
        )))
        .bearer_auth(&w.maker)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let moves: Vec<(&str, &str, &Value)> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["step"].as_str().unwrap(),
                e["actor"].as_str().unwrap(),
                &e["carton"],
            )
        })
        .collect();
    let (pallet_id, a_id) = (json!(pallet.as_str()), json!(a.as_str()));
    assert_eq!(
        &moves[moves.len() - 4..],
        &[
            ("shipping", "acme-brakes", &pallet_id),
            ("receiving", "dist-1", &pallet_id),
            ("shipping", "dist-1", &a_id),
            ("receiving", "shop-a", &a_id),
        ],
        "{history}"
    );
    // The maker's investigation page says so too, and that a carton's label moved it.
    let pages = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (cookie, _) = sign_in(&pages, &w.server, "/dashboard", &w.maker).await;
    let page = pages
        .get(w.server.url(&format!(
            "/dashboard/codes/{}/{}",
            part.gtin.as_str(),
            part.serial.as_str()
        )))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for carton in [pallet.as_str(), a.as_str()] {
        assert!(page.contains(&format!("in carton {carton}")), "{page}");
    }
    assert!(page.contains("carton label scanned"), "{page}");
    // Its EPCIS export names the carton of the same four events.
    let epcis: Value = w
        .client
        .get(w.server.url(&format!(
            "/api/v1/codes/{}/{}/epcis",
            part.gtin.as_str(),
            part.serial.as_str()
        )))
        .bearer_auth(&w.maker)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let cartons: Vec<&str> = epcis["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["partseal:carton"].as_str())
        .collect();
    let (pallet_link, a_link) = (
        format!("https://id.gs1.org/00/{pallet}"),
        format!("https://id.gs1.org/00/{a}"),
    );
    assert_eq!(
        cartons,
        [&pallet_link, &pallet_link, &a_link, &a_link],
        "{epcis}"
    );
    w.server.shutdown().await;
}

/// A batch takes carton requests beside single codes', each answered on its own as the single
/// request would be: a refused carton stops neither the others nor its batch.
#[tokio::test]
async fn a_batch_packs_ships_and_refuses_cartons_one_by_one() {
    let w = world().await;
    let (a, b) = (sscc(21), sscc(22));
    let body = json!({"events": [
        {"step": "packing", "carton": a.as_str(), "codes": [w.typed(4), w.uris[5]]},
        {"step": "shipping", "carton": a.as_str(), "to": "dist-1"},
        {"step": "receiving", "carton": b.as_str()},
        {"step": "receiving", "code": w.uris[0]},
    ]});
    let response = w
        .client
        .post(w.server.url("/api/v1/events/batch"))
        .bearer_auth(&w.maker)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let answer: Value = response.json().await.unwrap();
    w.described(&body, "BatchRequest");
    w.described(&answer, "BatchResults");
    let results = answer["results"].as_array().unwrap();
    let statuses: Vec<u64> = results
        .iter()
        .map(|r| r["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [200, 200, 404, 200], "{answer}");
    assert_eq!(results[0]["result"]["codes"].as_array().unwrap().len(), 2);
    assert_eq!(
        outcomes(&results[1]["result"]),
        vec![("applied".to_owned(), "in_transit".to_owned()); 2]
    );
    assert_eq!(results[2]["error"]["code"], "unknown_carton");
    assert_eq!(results[3]["result"]["outcome"], "repeated", "{answer}");
    w.server.shutdown().await;
}

#[tokio::test]
async fn refused_carton_requests_store_nothing() {
    let w = world().await;
    let (a, b) = (sscc(11), sscc(12));
    w.ok(
        &w.maker,
        json!({"step": "packing", "carton": a.as_str(), "codes": [w.typed(0), w.typed(1)]}),
    )
    .await;

    // Not the holder: the shop ships the maker's carton.
    w.refused(
        &w.shop,
        json!({"step": "shipping", "carton": a.as_str(), "to": "dist-1"}),
        409,
        "not_holder",
    )
    .await;
    let (_, answer) = w
        .event(&w.shop, json!({"step": "unpacking", "carton": a.as_str()}))
        .await;
    assert_eq!(answer["code"], "not_holder");
    assert!(!answer.to_string().contains("acme-brakes"), "{answer}");

    let mut wrong_digit = a.as_str().to_owned();
    let last = wrong_digit.pop().unwrap();
    wrong_digit.push(if last == '9' { '0' } else { '9' });
    for (body, status, code) in [
        (
            json!({"step": "receiving", "carton": wrong_digit}),
            422,
            "carton_check_digit",
        ),
        (
            json!({"step": "receiving", "carton": "00123"}),
            400,
            "invalid_carton",
        ),
        (
            json!({"step": "receiving", "carton": b.as_str()}),
            404,
            "unknown_carton",
        ),
        (
            json!({"step": "packing", "carton": b.as_str()}),
            422,
            "carton_empty",
        ),
        (
            json!({"step": "packing", "carton": b.as_str(), "cartons": [b.as_str()]}),
            422,
            "carton_cycle",
        ),
        (
            json!({"step": "packing", "carton": b.as_str(), "codes": [w.typed(1)]}),
            409,
            "already_packed",
        ),
        (
            json!({"step": "packing", "carton": b.as_str(), "codes": [w.typed(2), w.typed(2)]}),
            422,
            "packed_twice",
        ),
        (
            json!({"step": "packing", "carton": a.as_str(), "codes": [w.typed(2)]}),
            409,
            "carton_exists",
        ),
        (
            json!({"step": "installing", "carton": a.as_str(), "vin": VIN_A}),
            400,
            "invalid_step",
        ),
        (
            json!({"step": "receiving", "carton": a.as_str(), "gtin": "06901234567892"}),
            400,
            "unexpected_field",
        ),
        (
            json!({"step": "receiving", "carton": a.as_str(), "codes": [w.typed(2)]}),
            400,
            "unexpected_field",
        ),
        (
            json!({"step": "packing", "carton": b.as_str(), "codes": ["/01/nonsense"]}),
            400,
            "invalid_code",
        ),
        (
            json!({"step": "packing", "code": w.uris[2]}),
            400,
            "missing_field",
        ),
    ] {
        w.refused(&w.maker, body, status, code).await;
    }

    // The distributor may pack any well-formed SSCC; the maker only its own prefix's.
    let foreign = Sscc::compose(3, &CompanyPrefix::parse("400638").unwrap(), 1).unwrap();
    w.refused(
        &w.maker,
        json!({"step": "packing", "carton": foreign.as_str(), "codes": [w.typed(2)]}),
        422,
        "sscc_prefix",
    )
    .await;

    // Over the stated limit of 1000 codes a carton.
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"gtin": GTIN, "serial": format!("N{i:05}")}))
        .collect();
    w.refused(
        &w.maker,
        json!({"step": "packing", "carton": b.as_str(), "codes": many}),
        413,
        "carton_too_large",
    )
    .await;
    w.server.shutdown().await;
}

/// A carton holds up to 1,000 parts, and a maker packs them by the labels it scans: a full carton of
/// label links (about 170 bytes each) is one request, past the general body limit of 64 KiB.
#[tokio::test]
async fn a_full_carton_of_scanned_labels_packs_in_one_request() {
    let w = world().await;
    let full = codes(&w.maker_key, "FULL", MAX_CONTENTS);
    w.register(&full).await;
    let base = w.server.base();
    let uris: Vec<String> = full.iter().map(|c| c.to_uri(&base)).collect();
    let body = json!({"step": "packing", "carton": sscc(900).as_str(), "codes": uris});
    assert!(serde_json::to_vec(&body).unwrap().len() > 150 * 1024);
    w.ok(&w.maker, body).await;
    let carton = w.server.registry.carton(&sscc(900)).unwrap().unwrap();
    assert_eq!(carton.codes.len(), MAX_CONTENTS);
    w.server.shutdown().await;
}

/// A distributor takes one part out of a carton by its label and leaves the rest packed.
#[tokio::test]
async fn unpacking_named_parts_leaves_the_rest_packed() {
    let w = world().await;
    let carton = sscc(901);
    w.ok(
        &w.maker,
        json!({"step": "packing", "carton": carton.as_str(), "codes": [w.uris[0], w.typed(1), w.typed(2)]}),
    )
    .await;
    let answer = w
        .ok(
            &w.maker,
            json!({"step": "unpacking", "carton": carton.as_str(), "codes": [w.uris[1]]}),
        )
        .await;
    let key = |i: usize| CodeKey::of(&w.codes[i].part);
    assert_eq!(answer["codes"], json!([key(1).to_string()]), "{answer}");
    let left = w.server.registry.carton(&carton).unwrap().unwrap();
    let mut expected = vec![key(0), key(2)];
    expected.sort();
    assert_eq!(left.codes, expected);
    assert_eq!(w.server.registry.carton_of(&key(1)).unwrap(), None);
    // Taken out already: not in the carton any more, and nothing changes.
    w.refused(
        &w.maker,
        json!({"step": "unpacking", "carton": carton.as_str(), "codes": [w.typed(1)]}),
        422,
        "not_in_carton",
    )
    .await;
    w.server.shutdown().await;
}
