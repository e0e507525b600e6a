//! The manufacturer's investigation view, code search, notes and recalls over real HTTP, on a
//! real registry: who sees what, CSRF, and what each form leaves in the registry.

#![allow(clippy::unwrap_used)]

use registry::{Action, CodeKey, Role, Submission, Vin};
use reqwest::Client;
use signer::{Gtin, Lot, PartId, Serial, SignedCode};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

const GTIN: &str = "06901234567892";
const VIN: &str = "LSVAU218XN2183294";

struct World {
    server: Server,
    keys: Vec<CodeKey>,
    /// The labels' Digital Links.
    uris: Vec<String>,
    /// A code of another maker's.
    theirs: CodeKey,
    maker: Maker,
    rival: Maker,
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
    let rival = certify(r, &authority, "rival-parts", "690999", 2);
    add_party(r, "shop-a", Role::Shop, "Guangdong");
    add_party(r, "shop-b", Role::Shop, "Zhejiang");
    let mut keys = Vec::new();
    let mut uris = Vec::new();
    for i in 0..3 {
        let part = PartId {
            gtin: Gtin::parse(GTIN).unwrap(),
            lot: Some(Lot::parse("L2026A").unwrap()),
            serial: Serial::parse(&format!("CASE{i:04}")).unwrap(),
        };
        keys.push(CodeKey::of(&part));
        let code = SignedCode::sign(part, &maker.key);
        uris.push(code.to_uri(&server.base()));
        r.register(std::slice::from_ref(&code), Some(&maker.id), now())
            .unwrap();
    }
    let part = PartId {
        gtin: Gtin::parse("06909990000011").unwrap(),
        lot: Some(Lot::parse("R1").unwrap()),
        serial: Serial::parse("RIVAL0001").unwrap(),
    };
    let theirs = CodeKey::of(&part);
    let code = SignedCode::sign(part, &rival.key);
    r.register(std::slice::from_ref(&code), Some(&rival.id), now())
        .unwrap();
    World {
        server,
        keys,
        uris,
        theirs,
        maker,
        rival,
    }
}

/// Signs in on the dashboard with `id`'s token: the session cookie and its CSRF token.
async fn signed_in(client: &Client, w: &World, id: &str) -> (String, String) {
    sign_in(
        client,
        &w.server,
        "/dashboard",
        &token(&w.server.registry, id),
    )
    .await
}

async fn get(client: &Client, w: &World, path: &str, cookie: &str) -> (u16, String) {
    let response = client
        .get(w.server.url(path))
        .header("cookie", cookie)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Posts a form: the status and the `Location` header.
async fn post(
    client: &Client,
    w: &World,
    path: &str,
    cookie: &str,
    form: &[(&str, &str)],
) -> (u16, String) {
    let response = client
        .post(w.server.url(path))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    let location = response
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (response.status().as_u16(), location)
}

/// The first code, installed by shop-a in a vehicle, then received (label scanned) by shop-b,
/// and claimed with typed numbers by shop-b again.
fn cloned(w: &World) {
    let r = &w.server.registry;
    let key = &w.keys[0];
    r.record_genuine_scan(key, &party("shop-a"), Action::Receive, now())
        .unwrap();
    r.record_genuine_scan(
        key,
        &party("shop-a"),
        Action::Install {
            vin: Vin::parse(VIN).unwrap(),
        },
        now(),
    )
    .unwrap();
    let clone = r
        .record_genuine_scan(key, &party("shop-b"), Action::Receive, now())
        .unwrap();
    assert!(matches!(
        clone.event.outcome,
        registry::Outcome::Conflict { .. }
    ));
    let claim = r
        .submit(
            key,
            &party("shop-b"),
            Submission::typed(Action::Receive),
            now(),
        )
        .unwrap();
    assert!(claim.event.outcome.is_claim());
}

#[tokio::test]
async fn the_investigation_view_names_the_parties_the_copies_and_keeps_every_note() {
    let w = world().await;
    cloned(&w);
    let client = no_redirects();
    // A public scan and a report on the code.
    let scan = client
        .get(&w.uris[0])
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(scan.status().as_u16(), 200);
    client
        .post(w.server.url("/owner/report"))
        .form(&[
            ("gtin", GTIN),
            ("serial", "CASE0000"),
            ("text", "sold twice at the market <b>cheap</b>"),
        ])
        .send()
        .await
        .unwrap();

    let (cookie, csrf) = signed_in(&client, &w, "acme-brakes").await;
    let view = format!("/dashboard/codes/{GTIN}/CASE0000?lang=en");
    let (status, html) = get(&client, &w, &view, &cookie).await;
    assert_eq!(status, 200, "{html}");
    // Who, where, how and what, in words.
    for expected in [
        "shop-a Co.",
        "Guangdong",
        "shop-b Co.",
        "Zhejiang",
        "vehicle …183294",
        "label scanned",
        "numbers typed",
        "evidence of a copy",
        "claim (no effect)",
        "installed",
        "Where custody has the part",
        "Conflicting copy",
        "data-copy=\"event:2\"",
        "data-copy=\"event:3\"",
        "sold twice at the market",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    assert!(!html.contains("<b>cheap"), "{html}");
    // The VIN stays masked; the claim is listed with who made it.
    assert!(!html.contains(VIN), "{html}");
    let claims = &html[html.find("id=\"claims\"").unwrap()..html.find("id=\"scans\"").unwrap()];
    assert!(
        claims.contains("shop-b Co.") && claims.contains("claim (no effect)"),
        "{claims}"
    );
    assert!(!claims.contains("shop-a Co."), "{claims}");
    // The public scan is counted.
    assert!(html.contains("<dd id=\"scans-total\">1</dd>"), "{html}");
    // The resolution form names the copies and asks for a note.
    assert!(html.contains("<option value=\"event:2\">"), "{html}");
    assert!(html.contains("name=\"note\" maxlength=\"500\" required"));

    // "Mark investigating" keeps its note.
    let (status, location) = post(
        &client,
        &w,
        "/dashboard/alerts",
        &cookie,
        &[
            ("csrf", &csrf),
            ("gtin", GTIN),
            ("serial", "CASE0000"),
            ("action", "investigating"),
            ("note", "asked shop-b for a photo of the label"),
            ("back", "case"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/dashboard/codes/06901234567892/CASE0000")
    );
    let html = get(&client, &w, &view, &cookie).await.1;
    assert!(html.contains("Marked investigating"), "{html}");
    assert!(
        html.contains("asked shop-b for a photo of the label"),
        "{html}"
    );
    let dashboard = get(&client, &w, "/dashboard?lang=en", &cookie).await.1;
    assert!(dashboard.contains("Investigating"), "{dashboard}");

    // Resolved as counterfeit, the vehicle's copy genuine: both notes stay.
    let (status, _) = post(
        &client,
        &w,
        "/dashboard/alerts",
        &cookie,
        &[
            ("csrf", &csrf),
            ("gtin", GTIN),
            ("serial", "CASE0000"),
            ("action", "counterfeit"),
            ("genuine", "event:2"),
            ("note", "the label at shop-b is a reprint"),
            ("back", "case"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let html = get(&client, &w, &view, &cookie).await.1;
    let notes = &html[html.find("id=\"notes\"").unwrap()..];
    let first = notes.find("asked shop-b for a photo").unwrap();
    let second = notes.find("the label at shop-b is a reprint").unwrap();
    assert!(first < second, "oldest first: {notes}");
    assert!(notes.contains("Resolved: counterfeit"), "{notes}");
    assert!(html.contains("No open alert on this code."), "{html}");
    let kept = w
        .server
        .registry
        .alert_notes(&party("acme-brakes"), &w.keys[0])
        .unwrap();
    assert_eq!(kept.len(), 2);
    assert_eq!(kept[0].action, "investigating");
    // The resolution was made on the dashboard, with no label in hand: never recorded as scanned.
    let history = w.server.registry.history(&w.keys[0]).unwrap().unwrap();
    let resolved = history.events.last().unwrap();
    assert_eq!(resolved.step(), registry::Step::Resolving);
    assert_eq!(resolved.basis, registry::Basis::Typed);
    w.server.shutdown().await;
}

#[tokio::test]
async fn the_region_chart_counts_the_parties_regions() {
    let w = world().await;
    cloned(&w);
    let client = no_redirects();
    // A report that came with no region counts where its code's alert is, not under "unknown".
    let report = client
        .post(w.server.url("/owner/report"))
        .form(&[
            ("gtin", GTIN),
            ("serial", "CASE0000"),
            ("text", "two of these"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(report.status().as_u16(), 201);
    let (cookie, _) = signed_in(&client, &w, "acme-brakes").await;
    let html = get(&client, &w, "/dashboard?lang=en", &cookie).await.1;
    let chart = &html[html.find("id=\"chart-regions\"").unwrap()..];
    let chart = &chart[..chart.find("</figure>").unwrap()];
    assert!(chart.contains(">Guangdong</text>"), "{chart}");
    assert!(chart.contains(">Zhejiang</text>"), "{chart}");
    assert!(!chart.contains(">unknown</text>"), "{chart}");
    // Each alert says which shops, regions and vehicles it involves.
    assert!(
        html.contains("Involves: shop-a Co. (Guangdong) · …183294; shop-b Co. (Zhejiang)"),
        "{html}"
    );
    assert!(!html.contains(VIN), "{html}");
    // Each alert links to its investigation view.
    assert!(html.contains("href=\"/dashboard/codes/06901234567892/CASE0000\""));
    w.server.shutdown().await;
}

#[tokio::test]
async fn another_maker_shops_and_forged_forms_are_refused() {
    let w = world().await;
    cloned(&w);
    let client = no_redirects();
    let view = format!("/dashboard/codes/{GTIN}/CASE0000?lang=en");
    // Without a session: the sign-in form, and nothing of the code.
    let (status, html) = get(&client, &w, &view, "").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("name=\"token\"") && !html.contains("shop-b Co."),
        "{html}"
    );
    // A shop is told the page is not for it.
    let (cookie, _) = signed_in(&client, &w, "shop-a").await;
    let html = get(&client, &w, &view, &cookie).await.1;
    assert!(html.contains("not for your kind of account"), "{html}");
    // Another maker: 403, for the view, the search, the notes and the recalls.
    let (cookie, csrf) = signed_in(&client, &w, "rival-parts").await;
    let (status, html) = get(&client, &w, &view, &cookie).await;
    assert_eq!(status, 403, "{html}");
    assert!(!html.contains("shop-b Co."), "{html}");
    let (status, html) = get(
        &client,
        &w,
        &format!("/dashboard/find?gtin={GTIN}&serial=CASE0000&lang=en"),
        &cookie,
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("No code of yours has this GTIN and serial."));
    for (path, form) in [
        (
            "/dashboard/recall",
            vec![
                ("gtin", GTIN),
                ("serial", "CASE0000"),
                ("reason", "mine now"),
            ],
        ),
        (
            "/dashboard/recall",
            vec![
                ("gtin", GTIN),
                ("serial", "CASE0000"),
                ("lot", "L2026A"),
                ("reason", "mine now"),
            ],
        ),
        (
            "/dashboard/alerts",
            vec![
                ("gtin", GTIN),
                ("serial", "CASE0000"),
                ("action", "investigating"),
                ("note", "rival's note"),
            ],
        ),
    ] {
        let mut with_csrf = vec![("csrf", csrf.as_str())];
        with_csrf.extend(form.iter().copied());
        assert_eq!(
            post(&client, &w, path, &cookie, &with_csrf).await.0,
            403,
            "{path}"
        );
    }
    let status = w.server.registry.status(&w.keys[0]).unwrap().unwrap();
    assert!(status.record.flags.recalled.is_none());
    assert!(status.lot_recall.is_none());
    assert!(
        w.server
            .registry
            .alert_notes(&party("rival-parts"), &w.keys[0])
            .unwrap()
            .is_empty()
    );
    // Its own code is its own.
    let theirs = format!(
        "/dashboard/codes/{}/{}",
        w.theirs.gtin().unwrap().as_str(),
        w.theirs.serial().unwrap().as_str()
    );
    assert_eq!(get(&client, &w, &theirs, &cookie).await.0, 200);

    // The right maker with a CSRF token that is not its session's: 403, nothing recalled.
    let (cookie, _) = signed_in(&client, &w, "acme-brakes").await;
    let forged = "0".repeat(64);
    let (status, _) = post(
        &client,
        &w,
        "/dashboard/recall",
        &cookie,
        &[
            ("csrf", &forged),
            ("gtin", GTIN),
            ("serial", "CASE0000"),
            ("reason", "forged form"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    assert!(
        w.server
            .registry
            .status(&w.keys[0])
            .unwrap()
            .unwrap()
            .record
            .flags
            .recalled
            .is_none()
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn the_search_forgives_typing_and_leads_to_any_of_the_makers_codes() {
    let w = world().await;
    let client = no_redirects();
    let (cookie, _) = signed_in(&client, &w, "acme-brakes").await;
    // A GTIN-13, a lower-case serial with a hyphen: the code, alerting or not.
    let (status, location) = {
        let response = client
            .get(
                w.server
                    .url("/dashboard/find?gtin=690+1234+56789+2&serial=case-0002&lang=en"),
            )
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.headers()["location"].to_str().unwrap().to_owned(),
        )
    };
    assert_eq!(status, 303);
    assert_eq!(location, "/dashboard/codes/06901234567892/CASE0002?lang=en");
    let (status, html) = get(&client, &w, &location, &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("No open alert on this code."), "{html}");
    assert!(html.contains("registered"), "{html}");
    // A wrong check digit is explained in the form, with the numbers kept.
    let (status, html) = get(
        &client,
        &w,
        "/dashboard/find?gtin=06901234567891&serial=CASE0002&lang=en",
        &cookie,
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("value=\"06901234567891\""), "{html}");
    assert!(html.contains("id=\"find-problem\""), "{html}");
    // No such code of the maker's.
    let (status, html) = get(
        &client,
        &w,
        "/dashboard/find?gtin=06901234567892&serial=NOSUCH&lang=en",
        &cookie,
    )
    .await;
    assert_eq!(status, 200);
    assert!(html.contains("No code of yours has this GTIN and serial."));
    // The dashboard carries the search box.
    let html = get(&client, &w, "/dashboard?lang=zh-CN", &cookie).await.1;
    assert!(html.contains("action=\"/dashboard/find\"") && html.contains("查找编码"));
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_part_and_a_lot_are_recalled_from_the_browser_with_their_reasons() {
    let w = world().await;
    let client = no_redirects();
    let (cookie, csrf) = signed_in(&client, &w, "acme-brakes").await;
    let r = &w.server.registry;
    // A reason is required.
    let (status, _) = post(
        &client,
        &w,
        "/dashboard/recall",
        &cookie,
        &[
            ("csrf", &csrf),
            ("gtin", GTIN),
            ("serial", "CASE0001"),
            ("reason", " "),
        ],
    )
    .await;
    assert_eq!(status, 400);
    let (status, location) = post(
        &client,
        &w,
        "/dashboard/recall",
        &cookie,
        &[
            ("csrf", &csrf),
            ("gtin", GTIN),
            ("serial", "CASE0001"),
            ("reason", "pad compound cracks below -20 °C"),
        ],
    )
    .await;
    assert_eq!(
        (status, location.as_str()),
        (303, "/dashboard/codes/06901234567892/CASE0001")
    );
    assert!(
        r.status(&w.keys[1])
            .unwrap()
            .unwrap()
            .record
            .flags
            .recalled
            .is_some()
    );
    // Recalled from the browser, with no label in hand: never recorded as scanned.
    let recalled = r.history(&w.keys[1]).unwrap().unwrap();
    assert_eq!(
        recalled.events.last().unwrap().basis,
        registry::Basis::Typed
    );
    assert!(r.status(&w.keys[2]).unwrap().unwrap().lot_recall.is_none());
    // A lot that is not the code's is refused.
    let (status, _) = post(
        &client,
        &w,
        "/dashboard/recall",
        &cookie,
        &[
            ("csrf", &csrf),
            ("gtin", GTIN),
            ("serial", "CASE0001"),
            ("lot", "L2026B"),
            ("reason", "wrong lot"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    let (status, _) = post(
        &client,
        &w,
        "/dashboard/recall",
        &cookie,
        &[
            ("csrf", &csrf),
            ("gtin", GTIN),
            ("serial", "CASE0001"),
            ("lot", "L2026A"),
            ("reason", "the whole lot's compound"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let recall = r.status(&w.keys[2]).unwrap().unwrap().lot_recall.unwrap();
    assert_eq!(recall.reason, "the whole lot's compound");
    let html = get(
        &client,
        &w,
        "/dashboard/codes/06901234567892/CASE0001?lang=en",
        &cookie,
    )
    .await
    .1;
    for expected in [
        "Recalled the part",
        "pad compound cracks below -20 °C",
        "Recalled the lot",
        "The whole lot is recalled",
        "recalled",
    ] {
        assert!(html.contains(expected), "{expected}: {html}");
    }
    // Both forms are gone once done.
    assert!(!html.contains("action=\"/dashboard/recall\""), "{html}");
    w.server.shutdown().await;
}

fn sign(maker_key: &signer::SigningKey, gtin: &str, serial: &str) -> SignedCode {
    SignedCode::sign(
        PartId {
            gtin: Gtin::parse(gtin).unwrap(),
            lot: Some(Lot::parse("L2026B").unwrap()),
            serial: Serial::parse(serial).unwrap(),
        },
        maker_key,
    )
}

fn line(code: &SignedCode, w: &World) -> String {
    signer::manifest::ManifestEntry::new(code.clone(), &w.server.base(), None).to_json_line() + "\n"
}

#[tokio::test]
async fn a_manifest_uploads_from_the_dashboard_streamed_with_its_summary() {
    let w = world().await;
    let r = &w.server.registry;
    let client = no_redirects();
    let (cookie, csrf) = signed_in(&client, &w, "acme-brakes").await;
    // The page offers the upload with the session's CSRF token for the script.
    let html = get(&client, &w, "/dashboard?lang=en", &cookie).await.1;
    assert!(html.contains(&format!("data-csrf=\"{csrf}\"")), "{html}");
    assert!(html.contains("type=\"file\""));

    let (mine, other) = (&w.maker, &w.rival);
    let fresh = [
        sign(&mine.key, GTIN, "UPLOAD0001"),
        sign(&mine.key, GTIN, "UPLOAD0002"),
    ];
    let foreign = sign(&other.key, "06909990000011", "NOTMINE01");
    let again = line(&fresh[0], &w);
    let body = format!(
        "{}{}{again}not json at all\n{}",
        line(&fresh[0], &w),
        line(&fresh[1], &w),
        line(&foreign, &w)
    );
    let upload = |cookie: String, csrf: String, body: String| {
        let client = client.clone();
        let url = w.server.url("/dashboard/manifests");
        async move {
            let response = client
                .post(url)
                .header("cookie", cookie)
                .header("x-csrf-token", csrf)
                .header("content-type", "application/x-ndjson")
                .header("accept", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    // Without the session's CSRF token: refused, nothing registered.
    let (status, problem) = upload(cookie.clone(), "0".repeat(64), body.clone()).await;
    assert_eq!(status, 403, "{problem}");
    assert!(r.status(&CodeKey::of(&fresh[0].part)).unwrap().is_none());
    // A shop may not upload.
    let (shop_cookie, _) = signed_in(&client, &w, "shop-a").await;
    let shop_csrf = csrf_of(&get(&client, &w, "/shop", &shop_cookie).await.1);
    let (status, problem) = upload(shop_cookie, shop_csrf, body.clone()).await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (403, Some("wrong_role"))
    );

    let (status, summary) = upload(cookie.clone(), csrf.clone(), body).await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["lines"], 5, "{summary}");
    assert_eq!(summary["registered"], 2, "{summary}");
    assert_eq!(summary["already_registered"], 1, "{summary}");
    let rejected: Vec<u64> = summary["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["line"].as_u64().unwrap())
        .collect();
    assert_eq!(rejected, [4, 5], "{summary}");
    assert!(r.status(&CodeKey::of(&fresh[1].part)).unwrap().is_some());

    // Streamed: the registry takes lines a chunk at a time, and the first chunk is registered
    // while the rest of the body has not even been sent.
    let (send, receive) = tokio::sync::mpsc::channel::<Result<String, std::io::Error>>(1);
    let stream = futures_util::stream::unfold(receive, |mut receive| async move {
        receive.recv().await.map(|piece| (piece, receive))
    });
    let chunk: String = (0..registry::register::CHUNK)
        .map(|i| line(&sign(&mine.key, GTIN, &format!("STREAM{i:05}")), &w))
        .collect();
    let first = sign(&mine.key, GTIN, "STREAM00000");
    let second = sign(&mine.key, GTIN, "STREAMLAST");
    let request = client
        .post(w.server.url("/dashboard/manifests"))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("content-type", "application/x-ndjson")
        .body(reqwest::Body::wrap_stream(stream))
        .send();
    let answer = tokio::spawn(request);
    send.send(Ok(chunk)).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while r.status(&CodeKey::of(&first.part)).unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "the first line was not registered before the body ended"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    send.send(Ok(line(&second, &w))).await.unwrap();
    drop(send);
    let response = answer.await.unwrap().unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let summary: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        summary["registered"],
        registry::register::CHUNK + 1,
        "{summary}"
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn the_lots_page_counts_each_lots_codes_scans_and_alerts() {
    let w = world().await;
    cloned(&w);
    let client = no_redirects();
    for _ in 0..2 {
        let scan = client
            .get(&w.uris[1])
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_eq!(scan.status().as_u16(), 200);
    }
    w.server
        .registry
        .recall_lot(
            &Gtin::parse(GTIN).unwrap(),
            &Lot::parse("L2026A").unwrap(),
            &party("acme-brakes"),
            "compound",
            now(),
        )
        .unwrap();
    let (cookie, _) = signed_in(&client, &w, "acme-brakes").await;
    let html = get(&client, &w, "/dashboard/lots?lang=en", &cookie).await.1;
    // The world's three codes, two scans, one alert; the rival's lot is not listed.
    assert!(
        html.contains(
            "<tr data-lot=\"L2026A\"><td><span class=\"code\">06901234567892</span><br>L2026A · \
             <strong>The whole lot is recalled</strong></td><td>3</td><td>2</td><td>1</td></tr>"
        ),
        "{html}"
    );
    assert!(!html.contains("R1"), "{html}");
    assert!(!html.contains("lots-incomplete"), "{html}");
    // Another maker sees its own lot only.
    let (cookie, _) = signed_in(&client, &w, "rival-parts").await;
    let html = get(&client, &w, "/dashboard/lots?lang=en", &cookie).await.1;
    assert!(
        html.contains("data-lot=\"R1\"") && !html.contains("L2026A"),
        "{html}"
    );
    w.server.shutdown().await;
}

/// A report's sender gets a neutral confirmation with a reference to quote; the maker's table
/// shows that reference, the verdict the sender saw, and a forged label as a forged label naming
/// the code, not as if the registered part were suspect.
#[tokio::test]
async fn reports_carry_a_reference_and_what_the_sender_saw() {
    let w = world().await;
    let client = no_redirects();
    // A label naming CASE0001 signed by a key no maker holds: a forged label.
    let forged = SignedCode::sign(
        PartId {
            gtin: Gtin::parse(GTIN).unwrap(),
            lot: Some(Lot::parse("L2026A").unwrap()),
            serial: Serial::parse("CASE0001").unwrap(),
        },
        &signer::keys::generate(),
    )
    .path_and_query();
    let sent = client
        .post(w.server.url("/owner/report"))
        .form(&[
            ("gtin", GTIN),
            ("serial", "CASE0001"),
            ("scanned", forged.as_str()),
            ("text", "sold as new at the market"),
            ("lang", "en"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 201);
    let thanks = sent.text().await.unwrap();
    let kept = w.server.registry.reports(&w.maker.id).unwrap();
    assert_eq!(kept.len(), 1);
    let reference = &kept[0].id;
    assert!(
        thanks.contains(&format!("Your reference: {reference}.")),
        "{thanks}"
    );
    // Received, not alarmed: the box is neutral, and still says what the check said.
    assert!(thanks.contains(r#"class="verdict info""#), "{thanks}");
    assert!(!thanks.contains(r#"class="verdict danger""#), "{thanks}");
    assert!(thanks.contains("What this check said: "), "{thanks}");
    // A typed report on another code.
    let typed = client
        .post(w.server.url("/owner/report"))
        .form(&[
            ("gtin", GTIN),
            ("serial", "CASE0002"),
            ("text", "two of these"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(typed.status().as_u16(), 201);

    let (cookie, _) = signed_in(&client, &w, "acme-brakes").await;
    let html = get(&client, &w, "/dashboard?lang=en", &cookie).await.1;
    let table = &html[html.find(r#"id="reports""#).unwrap()..];
    for header in [
        "Reference",
        "Code",
        "What the sender saw",
        "What they wrote",
    ] {
        assert!(
            table.contains(&format!(r#"<th scope="col">{header}</th>"#)),
            "{table}"
        );
    }
    let row = &table[table
        .find(&format!(r#"<tr id="report-{reference}">"#))
        .unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("A forged label naming this code"), "{row}");
    assert!(row.contains("(01)06901234567892(21)CASE0001"), "{row}");
    assert!(row.contains("sold as new at the market"), "{row}");
    let forged_words = &verifier::pages::i18n::EN.verdict("forged").headline;
    assert!(row.contains(&escape(forged_words)), "{row}");
    // The typed report is listed as what it is: numbers, no label, and no forged-label line.
    let typed_row = &table[table.find("(21)CASE0002").unwrap()..];
    let typed_row = &typed_row[..typed_row.find("</tr>").unwrap()];
    assert!(!typed_row.contains("A forged label"), "{typed_row}");
    w.server.shutdown().await;
}

/// `text` as askama escapes it into a page.
fn escape(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}
