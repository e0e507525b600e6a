//! Cartons at the shop's station over real HTTP: a distributor ships a pallet to a shop, the shop
//! scans the pallet's label and the row lists every part by its inner carton; a carton addressed
//! to someone else, a flagged part, labels the station cannot receive; and the one Undo of a
//! whole carton. `station_cartons_on_postgres.rs` runs them on the other engine.

#![allow(clippy::unwrap_used)]

use registry::{Action, CodeKey, Role};
use reqwest::Client;
use serde_json::{Value, json};
use signer::{CompanyPrefix, SignedCode, Sscc};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

struct World {
    server: Server,
    client: Client,
    codes: Vec<SignedCode>,
    uris: Vec<String>,
}

/// The maker's carton `n` (under its company prefix 690123).
fn sscc(n: u64) -> Sscc {
    Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), n).unwrap()
}

/// Six registered codes; carton 1 holds codes 0 and 1, carton 2 codes 2 and 3, and the pallet
/// (carton 100) both cartons, shipped by the maker to the distributor and received there. Codes
/// 4 and 5 are in no carton.
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
    add_party(r, "shop-b", Role::Shop, "Jiangsu");
    let codes = codes(&maker.key, "STN", 6);
    r.register(&codes, Some(&maker.id), now()).unwrap();
    let base = server.base();
    let uris = codes.iter().map(|c| c.to_uri(&base)).collect();
    let keys: Vec<CodeKey> = codes.iter().map(|c| CodeKey::of(&c.part)).collect();
    let typed = |keys: &[CodeKey]| keys.iter().map(|k| (k.clone(), None)).collect::<Vec<_>>();
    let maker_id = party("acme-brakes");
    r.pack_carton(&maker_id, &sscc(1), &typed(&keys[..2]), &[], now())
        .unwrap();
    r.pack_carton(&maker_id, &sscc(2), &typed(&keys[2..4]), &[], now())
        .unwrap();
    r.pack_carton(&maker_id, &sscc(100), &[], &[sscc(1), sscc(2)], now())
        .unwrap();
    r.ship_carton(&maker_id, &sscc(100), &party("dist-1"), now())
        .unwrap();
    r.receive_carton(&party("dist-1"), &sscc(100), now())
        .unwrap();
    World {
        server,
        client: no_redirects(),
        codes,
        uris,
    }
}

impl World {
    /// The distributor ships `carton` to `to` through the API.
    async fn ship(&self, carton: &Sscc, to: &str) {
        let token = token(&self.server.registry, "dist-1");
        let shipped = self
            .client
            .post(self.server.url("/api/v1/events"))
            .bearer_auth(token)
            .json(&json!({"step": "shipping", "carton": carton.as_str(), "to": to}))
            .send()
            .await
            .unwrap();
        assert_eq!(shipped.status(), 200, "{}", shipped.text().await.unwrap());
    }

    /// A station signed in as `shop`: its cookie and CSRF token.
    async fn station(&self, shop: &str) -> (String, String) {
        let token = token(&self.server.registry, shop);
        sign_in(&self.client, &self.server, "/shop", &token).await
    }

    /// Posts a station form with the session's cookie, asking for JSON.
    async fn post(&self, cookie: &str, path: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.server.url(path))
            .header("cookie", cookie)
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap()
    }

    /// Scans `code` at the station: the row it answers.
    async fn scan(&self, (cookie, csrf): &(String, String), code: &str) -> Value {
        let answer = self
            .post(cookie, "/shop/scan", &[("csrf", csrf), ("code", code)])
            .await;
        assert_eq!(answer.status(), 200);
        answer.json().await.unwrap()
    }

    /// The station's page without script, in English.
    async fn page(&self, cookie: &str) -> String {
        self.client
            .get(self.server.url("/shop?lang=en"))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    fn key(&self, i: usize) -> CodeKey {
        CodeKey::of(&self.codes[i].part)
    }

    fn history(&self, i: usize) -> registry::History {
        self.server.registry.history(&self.key(i)).unwrap().unwrap()
    }

    fn custody(&self, i: usize) -> String {
        self.history(i).record.custody.custody.name().to_owned()
    }

    fn events(&self) -> Vec<u32> {
        (0..self.codes.len())
            .map(|i| self.history(i).record.events)
            .collect()
    }

    /// What the public gets for code `i`'s label: the custody summary.
    async fn public_summary(&self, i: usize) -> String {
        let answer: Value = self
            .client
            .get(&self.uris[i])
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer["custody"]["summary"].as_str().unwrap().to_owned()
    }
}

/// Every part a carton's row lists: (inner carton, code, class, text).
fn parts(row: &Value) -> Vec<(Option<String>, String, String, String)> {
    row["contents"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| {
            let carton = g["carton"].as_str().map(str::to_owned);
            g["parts"].as_array().unwrap().iter().map(move |p| {
                (
                    carton.clone(),
                    p["code"].as_str().unwrap().to_owned(),
                    p["class"].as_str().unwrap().to_owned(),
                    p["text"].as_str().unwrap().to_owned(),
                )
            })
        })
        .collect()
}

#[tokio::test]
async fn a_pallet_scanned_at_the_station_lists_every_part_received_by_its_carton() {
    let w = world().await;
    w.ship(&sscc(100), "shop-a").await;
    let shop = w.station("shop-a").await;

    // The pallet's QR code: its Digital Link.
    let row = w
        .scan(&shop, &format!("{}/00/{}", w.server.base(), sscc(100)))
        .await;
    assert_eq!(row["class"], "ok", "{row}");
    assert_eq!(row["code"], sscc(100).as_str());
    assert!(
        row["text"].as_str().unwrap().contains("4 parts received"),
        "{row}"
    );
    assert_eq!(row["undo"], true, "{row}");
    let listed = parts(&row);
    let expected: Vec<(Option<String>, String)> = [(1, 0), (1, 1), (2, 2), (2, 3)]
        .iter()
        .map(|(c, i)| (Some(sscc(*c).to_string()), w.key(*i).to_string()))
        .collect();
    assert_eq!(
        listed
            .iter()
            .map(|(c, code, _, _)| (c.clone(), code.clone()))
            .collect::<Vec<_>>(),
        expected
    );
    assert!(
        listed
            .iter()
            .all(|(_, _, class, text)| class == "ok" && text == "✔ received"),
        "{listed:?}"
    );
    for i in 0..4 {
        assert_eq!(w.custody(i), "held");
        let summary = w.public_summary(i).await;
        assert!(
            summary.starts_with("Received by a certified shop in Zhejiang"),
            "{summary}"
        );
    }

    // Its GS1-128 barcode as a scanner types it (symbology identifier first): every part was
    // already received.
    let again = w.scan(&shop, &format!("]C100{}", sscc(100))).await;
    assert_eq!(again["class"], "ok", "{again}");
    assert!(
        parts(&again)
            .iter()
            .all(|(_, _, class, text)| class == "ok" && text.contains("already recorded")),
        "{again}"
    );
    // And as printed under it.
    let printed = w.scan(&shop, &format!("(00){}", sscc(100))).await;
    assert_eq!(parts(&printed).len(), 4, "{printed}");

    // Without script, the page lists the row with its parts under their cartons.
    let html = w.page(&shop.0).await;
    assert!(
        html.contains(&format!("Inner carton {}", sscc(1)))
            && html.contains(&format!("Inner carton {}", sscc(2))),
        "{html}"
    );
    for i in 0..4 {
        let code = w.key(i).to_string();
        assert!(html.contains(&code), "{code} not on the page");
    }
    assert!(html.contains("class=\"carton-parts\""), "{html}");
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_carton_addressed_to_another_shop_is_a_claim_for_each_part_and_moves_nothing() {
    let w = world().await;
    w.ship(&sscc(100), "shop-a").await;
    let shop_b = w.station("shop-b").await;
    let row = w.scan(&shop_b, sscc(100).as_str()).await;
    assert_eq!(row["class"], "warning", "{row}");
    assert!(
        row["text"]
            .as_str()
            .unwrap()
            .contains("is not addressed to you"),
        "{row}"
    );
    // A claim changed nothing: there is nothing to undo.
    assert_eq!(row["undo"], false, "{row}");
    let listed = parts(&row);
    assert_eq!(listed.len(), 4);
    for (_, code, class, text) in &listed {
        assert_eq!(class, "warning", "{code}");
        assert!(
            text.starts_with("⚠ did not move, recorded as a claim only: "),
            "{text}"
        );
        assert!(text.len() > "⚠ did not move, recorded as a claim only: ".len());
    }
    assert!((0..4).all(|i| w.custody(i) == "in_transit"));
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_flagged_part_in_a_received_carton_stands_out_with_why() {
    let w = world().await;
    // Another shop scans one part's own label while the distributor holds it: evidence of a copy.
    w.server
        .registry
        .record_genuine_scan(&w.key(2), &party("shop-b"), Action::Receive, now())
        .unwrap();
    w.ship(&sscc(100), "shop-a").await;
    let shop = w.station("shop-a").await;
    let row = w.scan(&shop, &format!("00{}", sscc(100))).await;
    assert_eq!(row["class"], "danger", "{row}");
    assert!(
        row["text"]
            .as_str()
            .unwrap()
            .contains("4 parts received; attention needed for 1"),
        "{row}"
    );
    let flagged = w.key(2).to_string();
    for (_, code, class, text) in parts(&row) {
        if code == flagged {
            assert_eq!(class, "danger", "{text}");
            assert!(text.contains("suspected clone"), "{text}");
        } else {
            assert_eq!(class, "ok", "{code}: {text}");
        }
    }
    w.server.shutdown().await;
}

#[tokio::test]
async fn labels_the_station_cannot_receive_say_why_and_record_nothing() {
    let w = world().await;
    w.ship(&sscc(100), "shop-a").await;
    let shop = w.station("shop-a").await;
    let before = w.events();
    // A carton nobody packed.
    let unknown = w.scan(&shop, sscc(7).as_str()).await;
    assert_eq!(unknown["class"], "warning", "{unknown}");
    assert!(
        unknown["text"].as_str().unwrap().contains("Unknown carton"),
        "{unknown}"
    );
    // A carton inside the pallet moves with the pallet.
    let inner = w.scan(&shop, sscc(1).as_str()).await;
    assert!(
        inner["text"]
            .as_str()
            .unwrap()
            .contains("scan the outer label"),
        "{inner}"
    );
    // In install mode a carton label is refused.
    let (cookie, csrf) = &shop;
    let mode = w
        .post(
            cookie,
            "/shop/mode",
            &[
                ("csrf", csrf),
                ("mode", "install"),
                ("vin", "LSVAU218XN2183294"),
            ],
        )
        .await;
    assert_eq!(mode.status(), 303);
    let installing = w.scan(&shop, sscc(100).as_str()).await;
    assert_eq!(installing["class"], "danger", "{installing}");
    assert!(
        installing["text"]
            .as_str()
            .unwrap()
            .contains("A carton cannot be installed: open it and scan the part"),
        "{installing}"
    );
    assert!(parts(&installing).is_empty());
    assert_eq!(w.events(), before, "nothing recorded");
    assert!((0..4).all(|i| w.custody(i) == "in_transit"));
    w.server.shutdown().await;
}

#[tokio::test]
async fn one_undo_takes_back_the_whole_carton_or_nothing() {
    let w = world().await;
    w.ship(&sscc(100), "shop-a").await;
    let shop = w.station("shop-a").await;
    let (cookie, csrf) = &shop;
    let row = w.scan(&shop, sscc(100).as_str()).await;
    let id = row["id"].to_string();

    // Another shop scans one part's own label while shop-a holds it: evidence that stands on
    // shop-a's receiving, so the carton's undo is refused whole, naming that part.
    w.server
        .registry
        .record_genuine_scan(&w.key(3), &party("shop-b"), Action::Receive, now())
        .unwrap();
    let before = w.events();
    let refused = w
        .post(cookie, "/shop/undo", &[("csrf", csrf), ("row", &id)])
        .await;
    assert_eq!(refused.status(), 303);
    let html = w.page(cookie).await;
    let said = format!(
        "Cannot undo the carton; no part was undone. For {}: ",
        w.key(3)
    );
    assert!(html.contains(&said), "{html}");
    assert!(html.contains("another party"), "{html}");
    assert_eq!(w.events(), before, "nothing undone");
    w.server.shutdown().await;

    // Without that scan, the undo corrects every part, and each history shows the correction.
    let w = world().await;
    w.ship(&sscc(100), "shop-a").await;
    let shop = w.station("shop-a").await;
    let (cookie, csrf) = &shop;
    let row = w.scan(&shop, sscc(100).as_str()).await;
    let id = row["id"].to_string();
    let undone = w
        .post(cookie, "/shop/undo", &[("csrf", csrf), ("row", &id)])
        .await;
    assert_eq!(undone.status(), 303);
    let html = w.page(cookie).await;
    assert!(
        html.contains(&format!("Undone: carton {}", sscc(100))),
        "{html}"
    );
    for i in 0..4 {
        assert_eq!(w.custody(i), "in_transit", "code {i}");
        let history = w.history(i);
        let last = history.events.last().unwrap();
        assert_eq!(last.step(), registry::Step::Correcting, "code {i}");
        assert_eq!(last.carton, Some(sscc(100)), "code {i}");
        assert_eq!(last.actor, party("shop-a"));
    }
    // The row no longer offers Undo: a second one is refused.
    let again = w
        .post(cookie, "/shop/undo", &[("csrf", csrf), ("row", &id)])
        .await;
    assert_eq!(again.status(), 404);
    let row_html = html
        .split(&format!("id=\"row-{id}\""))
        .nth(1)
        .unwrap()
        .split("</li>\n")
        .next()
        .unwrap();
    assert!(!row_html.contains("/shop/undo"), "{row_html}");
    w.server.shutdown().await;
}
