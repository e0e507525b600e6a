//! EPCIS 2.0 capture over real HTTP: GS1's own example documents validate (and, about codes no
//! certified maker makes, are refused per event), a maker -> distributor -> shop flow captured as
//! EPCIS moves custody as the JSON API does, a carton packed and unpacked by AggregationEvents,
//! bad documents refused with nothing stored, rollback against proceed, the limits, who sees a
//! job, and a job read after a restart.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use registry::{CodeKey, Custody, Role};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use signer::{CompanyPrefix, ManifestEntry, SignedCode, Sscc};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

/// GS1's example documents (`verifier/epcis/README.md`).
const EXAMPLES: &str = "epcis/examples";

struct World {
    server: Server,
    doc: Value,
    client: Client,
    maker: String,
    distributor: String,
    shop: String,
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
    let codes = codes(&maker.key, "EPC", 6);
    let uris = codes.iter().map(|c| c.to_uri(&base)).collect();
    let w = World {
        maker: token(r, "acme-brakes"),
        distributor: token(r, "dist-1"),
        shop: token(r, "shop-a"),
        client: Client::new(),
        doc,
        server,
        codes,
        uris,
    };
    let manifest: String = w
        .codes
        .iter()
        .map(|c| ManifestEntry::new(c.clone(), &base, None).to_json_line() + "\n")
        .collect();
    let uploaded = w
        .client
        .post(w.server.url("/api/v1/manifests"))
        .bearer_auth(&w.maker)
        .header("content-type", "application/x-ndjson")
        .body(manifest)
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status(), 200);
    w
}

fn sscc(n: u64) -> Sscc {
    Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), n).unwrap()
}

/// An EPCISDocument of `events`.
fn document(events: Vec<Value>) -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"partseal": "urn:partseal:epcis:"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-12-08T02:00:00Z",
        "epcisBody": {"eventList": events},
    })
}

/// An ObjectEvent OBSERVE with `step` over `epcs`.
fn observe(step: &str, epcs: &[&str]) -> Value {
    json!({
        "type": "ObjectEvent",
        "action": "OBSERVE",
        "bizStep": step,
        "epcList": epcs,
        "eventTime": "2026-12-08T02:00:00Z",
        "eventTimeZoneOffset": "+08:00",
    })
}

impl World {
    async fn epcis_id(&self, token: &str) -> String {
        let me: Value = self
            .client
            .get(self.server.url("/api/v1/me"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        me["epcis_id"].as_str().unwrap().to_owned()
    }

    /// Posts a document; the status, `Location` and body.
    async fn post(
        &self,
        token: &str,
        body: String,
        behaviour: Option<&str>,
    ) -> (StatusCode, Option<String>, Value) {
        let mut request = self
            .client
            .post(self.server.url("/epcis/capture"))
            .bearer_auth(token)
            .header("content-type", "application/ld+json")
            .body(body);
        if let Some(b) = behaviour {
            request = request.header("GS1-Capture-Error-Behaviour", b);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = response.json().await.unwrap_or(Value::Null);
        (status, location, body)
    }

    /// Captures `document`, which must be accepted; the job as `GET` answers it.
    async fn capture(&self, token: &str, document: &Value, behaviour: Option<&str>) -> Value {
        let (status, location, _) = self.post(token, document.to_string(), behaviour).await;
        assert_eq!(status, 202, "{document}");
        let location = location.unwrap();
        assert!(location.starts_with("/epcis/capture/"), "{location}");
        let (status, job) = self.job(token, &location).await;
        assert_eq!(status, 200, "{job}");
        self.described(&job, "CaptureJob");
        assert_eq!(job["running"], false);
        job
    }

    async fn job(&self, token: &str, location: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.server.url(location))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        (response.status(), response.json().await.unwrap())
    }

    fn described(&self, instance: &Value, name: &str) {
        let mut schema = self.doc.clone();
        schema["$ref"] = json!(format!("#/components/schemas/{name}"));
        let validator = jsonschema::draft202012::options().build(&schema).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}\n{instance:#}");
    }

    fn custody(&self, i: usize) -> (u32, Custody) {
        let status = self
            .server
            .registry
            .status(&CodeKey::of(&self.codes[i].part))
            .unwrap()
            .unwrap();
        (status.record.events, status.record.custody.custody.clone())
    }

    /// Every code's event count, to see that a refusal stored nothing.
    fn stored(&self) -> Vec<u32> {
        (0..self.codes.len()).map(|i| self.custody(i).0).collect()
    }
}

fn error_codes(job: &Value) -> Vec<(u64, String)> {
    job["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["index"].as_u64().unwrap(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn me_names_the_partys_epcis_id() {
    let w = world().await;
    let base = w.server.base();
    assert_eq!(
        w.epcis_id(&w.shop).await,
        format!("{}/parties/shop-a", base.as_str())
    );
}

#[tokio::test]
async fn gs1_examples_validate_and_events_about_unknown_codes_are_refused() {
    let w = world().await;
    let before = w.stored();
    for name in [
        "Example_9.6.1-ObjectEvent.jsonld",
        "Example_9.6.1-ObjectEventWithDigitalLink.jsonld",
        "Example_9.6.3-AggregationEvent.jsonld",
        "Example_9.6.3-AggregationEventWithDigitalLink.jsonld",
        "ErrorDeclarationAndCorrectiveEvent.jsonld",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(EXAMPLES)
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let example: Value = serde_json::from_str(&text).unwrap();
        let events = example["epcisBody"]["eventList"].as_array().unwrap().len();
        let job = w.capture(&w.distributor, &example, Some("proceed")).await;
        // GS1's examples name codes (company prefix 0614141) no certified maker here makes, or
        // steps that do not map: every event is refused in the job, none stored.
        assert_eq!(job["success"], false, "{name}: {job}");
        assert_eq!(job["stored"], 0, "{name}");
        assert_eq!(
            job["errors"].as_array().unwrap().len(),
            events,
            "{name}: {job}"
        );
        for error in job["errors"].as_array().unwrap() {
            assert_eq!(error["type"], "epcisException:ValidationException");
        }
    }
    // The ObjectEvents are read (sgtin and Digital Link EPCs) and reach the registry, which knows
    // none of the codes.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(EXAMPLES)
        .join("Example_9.6.1-ObjectEvent.jsonld");
    let example: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let job = w.capture(&w.distributor, &example, Some("proceed")).await;
    let codes = error_codes(&job);
    assert_eq!(codes[1], (1, "not_registered".to_owned()), "{job}");
    assert!(
        job["errors"][1]["instance"]
            .as_str()
            .unwrap()
            .starts_with("ni:///sha-256;")
    );
    assert_eq!(w.stored(), before);
}

#[tokio::test]
async fn a_flow_captured_as_epcis_moves_custody_as_the_json_api_does() {
    let w = world().await;
    let dist = w.epcis_id(&w.distributor).await;
    let shop = w.epcis_id(&w.shop).await;
    let uris: Vec<&str> = w.uris.iter().take(2).map(String::as_str).collect();
    let ship = |to: &str| {
        let mut e = observe("shipping", &uris);
        e["destinationList"] = json!([{"type": "owning_party", "destination": to}]);
        e
    };

    let job = w
        .capture(&w.maker, &document(vec![ship(&dist)]), None)
        .await;
    assert_eq!(job["success"], true, "{job}");
    assert_eq!(job["captureErrorBehaviour"], "rollback");
    let job = w
        .capture(
            &w.distributor,
            &document(vec![observe("receiving", &uris)]),
            None,
        )
        .await;
    assert_eq!(job["success"], true, "{job}");
    // The bizStep as a CBV web URI, the addressee in the export's form.
    let mut onward = ship("urn:partseal:party:shop-a");
    onward["bizStep"] = json!("https://ref.gs1.org/cbv/BizStep-shipping");
    let job = w
        .capture(&w.distributor, &document(vec![onward]), None)
        .await;
    assert_eq!(job["success"], true, "{job}");
    let job = w
        .capture(&w.shop, &document(vec![observe("receiving", &uris)]), None)
        .await;
    assert_eq!(job["success"], true, "{job}");
    for i in 0..2 {
        match w.custody(i).1 {
            Custody::Held { by } => assert_eq!(by.as_str(), "shop-a"),
            other => panic!("{other:?}"),
        }
    }
    let _ = shop;

    // Installing names the vehicle in partseal:vin; only a shop installs.
    let mut install = observe("installing", &uris[..1]);
    install["partseal:vin"] = json!("LSVAU218XN2183294");
    let job = w
        .capture(&w.distributor, &document(vec![install.clone()]), None)
        .await;
    assert_eq!(error_codes(&job), vec![(0, "unsupported_event".to_owned())]);
    let job = w.capture(&w.shop, &document(vec![install]), None).await;
    assert_eq!(job["success"], true, "{job}");
    assert!(matches!(w.custody(0).1, Custody::Installed { .. }));

    // A non-holder's shipping is refused in the job (and kept as a claim, as the API keeps it).
    let job = w
        .capture(
            &w.distributor,
            &document(vec![ship(&dist)]),
            Some("proceed"),
        )
        .await;
    assert_eq!(job["success"], false);
    assert!(
        error_codes(&job).iter().all(|(_, c)| c == "not_holder"),
        "{job}"
    );

    // Commissioning is the maker's signed manifest's.
    let mut commission = observe("commissioning", &uris[..1]);
    commission["action"] = json!("ADD");
    let job = w.capture(&w.maker, &document(vec![commission]), None).await;
    assert_eq!(error_codes(&job), vec![(0, "unsupported_event".to_owned())]);
    assert!(
        job["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("manifest")
    );
}

#[tokio::test]
async fn a_carton_is_packed_and_unpacked_by_aggregation_events() {
    let w = world().await;
    let base = w.server.base();
    let carton = sscc(7);
    let children: Vec<&str> = w.uris.iter().take(3).map(String::as_str).collect();
    let pack = json!({
        "type": "AggregationEvent",
        "action": "ADD",
        "bizStep": "packing",
        "parentID": carton.to_uri(&base),
        "childEPCs": children,
        "eventTime": "2026-12-08T02:00:00Z",
        "eventTimeZoneOffset": "+08:00",
    });
    let job = w.capture(&w.maker, &document(vec![pack]), None).await;
    assert_eq!(job["success"], true, "{job}");
    let r = &w.server.registry;
    assert_eq!(
        r.carton_of(&CodeKey::of(&w.codes[0].part)).unwrap(),
        Some(carton)
    );

    // One code out by its sgtin URN, then the rest with no childEPCs; the parent as an SSCC URN.
    let part = &w.codes[0].part;
    let gtin = part.gtin.as_str();
    let sgtin = format!(
        "urn:epc:id:sgtin:690123.{}{}.{}",
        &gtin[..1],
        &gtin[7..13],
        part.serial.as_str()
    );
    let urn = format!(
        "urn:epc:id:sscc:690123.{}{}",
        &carton.as_str()[..1],
        &carton.as_str()[7..17]
    );
    let unpack = |children: Option<Vec<String>>| {
        let mut e = json!({
            "type": "AggregationEvent",
            "action": "DELETE",
            "bizStep": "unpacking",
            "parentID": urn,
            "eventTime": "2026-12-08T02:00:00Z",
            "eventTimeZoneOffset": "+08:00",
        });
        if let Some(c) = children {
            e["childEPCs"] = json!(c);
        }
        e
    };
    let job = w
        .capture(&w.maker, &document(vec![unpack(Some(vec![sgtin]))]), None)
        .await;
    assert_eq!(job["success"], true, "{job}");
    assert_eq!(r.carton_of(&CodeKey::of(&w.codes[0].part)).unwrap(), None);
    assert_eq!(
        r.carton_of(&CodeKey::of(&w.codes[1].part)).unwrap(),
        Some(carton)
    );
    let job = w
        .capture(&w.maker, &document(vec![unpack(None)]), None)
        .await;
    assert_eq!(job["success"], true, "{job}");
    assert_eq!(r.carton_of(&CodeKey::of(&w.codes[1].part)).unwrap(), None);
}

#[tokio::test]
async fn bad_documents_are_refused_with_nothing_stored() {
    let w = world().await;
    let before = w.stored();
    let receive = observe("receiving", &[w.uris[0].as_str()]);
    let mut no_time = receive.clone();
    no_time.as_object_mut().unwrap().remove("eventTime");
    let mut bad_action = receive.clone();
    bad_action["action"] = json!("LOOK");
    for body in [
        "not json".to_owned(),
        "[]".to_owned(),
        json!({"type": "EPCISDocument"}).to_string(),
        document(vec![no_time]).to_string(),
        document(vec![bad_action]).to_string(),
        json!({"type": "EPCISQueryDocument", "schemaVersion": "2.0",
            "creationDate": "2026-12-08T02:00:00Z",
            "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": []}}}})
        .to_string(),
    ] {
        let (status, _, problem) = w.post(&w.distributor, body.clone(), None).await;
        assert_eq!(status, 400, "{body}: {problem}");
        assert_eq!(
            problem["type"], "epcisException:ValidationException",
            "{body}"
        );
    }
    let (status, _, problem) = w
        .post(
            &w.distributor,
            document(vec![receive]).to_string(),
            Some("sometimes"),
        )
        .await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(w.stored(), before);
}

#[tokio::test]
async fn rollback_stores_nothing_unless_every_event_passes_and_proceed_stores_what_passes() {
    let w = world().await;
    let dist = w.epcis_id(&w.distributor).await;
    let mut good = observe("shipping", &[w.uris[0].as_str()]);
    good["destinationList"] = json!([{"type": "owning_party", "destination": dist}]);
    let unknown = observe("receiving", &["urn:epc:id:sgtin:0614141.107346.2017"]);
    let doc = document(vec![good, unknown]);
    let before = w.stored();

    let job = w.capture(&w.maker, &doc, None).await;
    assert_eq!(job["success"], false);
    assert_eq!(job["stored"], 0);
    assert_eq!(error_codes(&job), vec![(1, "not_registered".to_owned())]);
    assert_eq!(w.stored(), before, "rollback stored something");

    let job = w.capture(&w.maker, &doc, Some("proceed")).await;
    assert_eq!(job["success"], false);
    assert_eq!(job["stored"], 1);
    assert_eq!(job["captureErrorBehaviour"], "proceed");
    assert!(matches!(w.custody(0).1, Custody::InTransit { .. }));

    // Under rollback a code named twice in one document is refused whole.
    let twice = document(vec![
        observe("receiving", &[w.uris[1].as_str()]),
        observe("receiving", &[w.uris[1].as_str()]),
    ]);
    let before = w.stored();
    let job = w.capture(&w.distributor, &twice, None).await;
    assert_eq!(error_codes(&job), vec![(1, "touched_twice".to_owned())]);
    assert_eq!(w.stored(), before);
}

#[tokio::test]
async fn limits_are_stated_and_enforced() {
    let w = world().await;
    let response = w
        .client
        .request(reqwest::Method::OPTIONS, w.server.url("/epcis/capture"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let limit: usize = response.headers()["GS1-EPCIS-Capture-Limit"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let size: usize = response.headers()["GS1-EPCIS-Capture-File-Size-Limit"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(limit, 10_000);

    let receive = observe("receiving", &[w.uris[0].as_str()]);
    let many = document(vec![receive; limit + 1]);
    let (status, _, problem) = w.post(&w.distributor, many.to_string(), None).await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(
        problem["type"],
        "epcisException:CaptureLimitExceededException"
    );

    let big = " ".repeat(size + 1);
    let (status, _, problem) = w.post(&w.distributor, big, None).await;
    assert_eq!(status, 413, "{problem}");
    assert_eq!(
        problem["type"],
        "epcisException:CaptureLimitExceededException"
    );
}

#[tokio::test]
async fn a_job_is_the_capturing_partys_and_survives_a_restart() {
    let w = world().await;
    let doc = document(vec![observe("receiving", &[w.uris[0].as_str()])]);
    let (status, location, _) = w.post(&w.distributor, doc.to_string(), None).await;
    assert_eq!(status, 202);
    let location = location.unwrap();
    for other in [&w.shop, &w.maker] {
        let (status, _) = w.job(other, &location).await;
        assert_eq!(status, 404);
    }
    let (status, _) = w
        .job(
            &w.distributor,
            "/epcis/capture/00000000000000000000000000000000",
        )
        .await;
    assert_eq!(status, 404);
    let (_, job) = w.job(&w.distributor, &location).await;

    let World {
        server,
        distributor,
        ..
    } = w;
    let database = server.database;
    let (registry, dir) = server.shutdown().await;
    drop(registry);
    let reopened = tokio::task::spawn_blocking({
        let data = dir.path().join("data");
        move || testkit::engine::reopen(&data, database)
    })
    .await
    .unwrap();
    let server = start_on(Overrides::default(), Arc::new(reopened), dir).await;
    let response = Client::new()
        .get(server.url(&location))
        .bearer_auth(&distributor)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let again: Value = response.json().await.unwrap();
    assert_eq!(again, job);
}

#[tokio::test]
async fn a_repeated_event_id_is_refused() {
    let w = world().await;
    let mut event = observe("receiving", &[w.uris[0].as_str()]);
    event["eventID"] = json!("urn:uuid:9a1c4e2b-1111-4a4a-8b8b-000000000001");
    let job = w
        .capture(&w.distributor, &document(vec![event.clone()]), None)
        .await;
    assert_eq!(job["success"], true, "{job}");
    let before = w.stored();

    // Under rollback the document is refused whole, 409.
    let again = document(vec![
        event.clone(),
        observe("receiving", &[w.uris[1].as_str()]),
    ]);
    let (status, _, problem) = w.post(&w.distributor, again.to_string(), None).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["code"], "event_id_repeated");
    assert_eq!(w.stored(), before);

    // Under proceed it is that event's error; the other event is stored.
    let job = w.capture(&w.distributor, &again, Some("proceed")).await;
    assert_eq!(error_codes(&job), vec![(0, "event_id_repeated".to_owned())]);
    assert_eq!(job["errors"][0]["instance"], event["eventID"]);
    assert_eq!(job["stored"], 1);

    // Twice in one document: the second is refused.
    let mut twice = observe("receiving", &[w.uris[2].as_str()]);
    twice["eventID"] = json!("urn:uuid:9a1c4e2b-1111-4a4a-8b8b-000000000002");
    let mut other = observe("receiving", &[w.uris[3].as_str()]);
    other["eventID"] = twice["eventID"].clone();
    let job = w
        .capture(
            &w.distributor,
            &document(vec![twice, other]),
            Some("proceed"),
        )
        .await;
    assert_eq!(error_codes(&job), vec![(1, "event_id_repeated".to_owned())]);
}
