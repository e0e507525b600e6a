//! The pages over plain HTTP: size, language, escaping, forms; and the station's session rules.

#![allow(clippy::unwrap_used)]

mod support;

use registry::Role;
use reqwest::Client;
use signer::{Gtin, Lot, PartId, Serial, SignedCode};
use support::*;
use verifier::config::Overrides;

struct World {
    server: Server,
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
    add_party(r, "shop-a", Role::Shop, "Guangdong");
    add_party(r, "shop-b", Role::Shop, "Zhejiang");
    let base = server.base();
    let mut uris = Vec::new();
    for i in 0..3 {
        let code = SignedCode::sign(
            PartId {
                gtin: Gtin::parse("06901234567892").unwrap(),
                lot: Some(Lot::parse("L2026A").unwrap()),
                serial: Serial::parse(&format!("PAGE{i:04}")).unwrap(),
            },
            &maker.key,
        );
        r.register(std::slice::from_ref(&code), Some(&maker.id), now())
            .unwrap();
        uris.push(code.to_uri(&base));
    }
    World { server, uris }
}

async fn page(client: &Client, url: &str, accept_language: &str) -> (u16, String) {
    let response = client
        .get(url)
        .header("accept", "text/html")
        .header("accept-language", accept_language)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// The page at `url`, fetched with a session cookie.
async fn signed_in_page(client: &Client, url: String, cookie: &str) -> String {
    client
        .get(url)
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_owner_page_is_small_translated_and_verdict_first() {
    let w = world().await;
    let client = Client::new();
    let (status, zh) = page(&client, &w.uris[0], "zh-CN,zh;q=0.9").await;
    assert_eq!(status, 200);
    assert!(zh.len() < 30 * 1024, "{} bytes", zh.len());
    assert!(zh.contains(r#"<html lang="zh-CN">"#));
    assert!(zh.contains("正品：这是经过认证的配件"), "{zh}");
    assert!(zh.contains("acme-brakes 汽车零部件有限公司"));
    assert!(!zh.contains("<script"));
    // The verdict comes before the part.
    assert!(
        zh.find("id=\"verdict\"").unwrap() < zh.find("<dd class=\"code\">06901234567892").unwrap()
    );
    let (_, en) = page(&client, &w.uris[0], "en-GB,en;q=0.9").await;
    assert!(en.contains(r#"<html lang="en">"#));
    assert!(en.contains("Genuine: this is a certified part"));
    // The visible switch keeps the code.
    assert!(en.contains("lang=zh-CN"));
    let (_, switched) = page(&client, &format!("{}&lang=en", w.uris[0]), "zh-CN").await;
    assert!(switched.contains("Genuine: this is a certified part"));
    // Every input has a label.
    for html in [&zh, &en] {
        let inputs = html.matches("<input id=").count() + html.matches("<textarea id=").count();
        assert_eq!(inputs, html.matches("<label for=").count(), "{html}");
    }
    w.server.shutdown().await;
}

#[tokio::test]
async fn warnings_carry_the_advice_and_forms_and_forms_answer_pages() {
    let w = world().await;
    let client = Client::new();
    let url = w
        .server
        .url("/lookup?gtin=06901234567892&serial=NOSUCH1&lang=en");
    let (_, html) = page(&client, &url, "").await;
    assert!(
        html.contains("Warning: this part is not registered"),
        "{html}"
    );
    assert!(html.contains("action=\"/owner/report\""));
    assert!(html.contains("action=\"/owner/vehicle-check\""));
    assert!(html.contains("ask the seller"));

    let thanks = client
        .post(w.server.url("/owner/report"))
        .form(&[
            ("gtin", "06901234567892"),
            ("serial", "NOSUCH1"),
            ("text", "<script>alert(1)</script> sold as new"),
            ("contact", ""),
            ("lang", "zh-CN"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(thanks.status().as_u16(), 201);
    let body = thanks.text().await.unwrap();
    assert!(body.contains("谢谢"), "{body}");
    let kept = w
        .server
        .registry
        .reports(&registry::PartyId::parse("acme-brakes").unwrap())
        .unwrap();
    assert_eq!(kept.len(), 1);

    let answer = client
        .post(w.server.url("/owner/vehicle-check"))
        .form(&[
            ("gtin", "06901234567892"),
            ("serial", "PAGE0000"),
            ("vin", "LSVAU218XN2183294"),
            ("lang", "en"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    assert!(
        answer
            .text()
            .await
            .unwrap()
            .contains("No: this part is not recorded")
    );
    let bad_vin = client
        .post(w.server.url("/owner/vehicle-check"))
        .form(&[
            ("gtin", "06901234567892"),
            ("serial", "PAGE0000"),
            ("vin", "LSVAU218XN2183295"),
            ("lang", "en"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad_vin.status().as_u16(), 200);
    assert!(bad_vin.text().await.unwrap().contains("Not a valid VIN"));
    w.server.shutdown().await;
}

#[tokio::test]
async fn hostile_input_is_escaped() {
    let w = world().await;
    let client = Client::new();
    let url = w.server.url(
        "/lookup?gtin=06901234567892&serial=%3Cb%3E%22x&lang=%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
    );
    let (status, html) = page(&client, &url, "en").await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<b>"), "{html}");
    w.server.shutdown().await;
}

fn no_redirects() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in with `token`: the session cookie (`name=value`) and the Set-Cookie header.
async fn sign_in(client: &Client, w: &World, token: &str) -> (String, String) {
    let (signin_cookie, csrf) = sign_in_form(client, w).await;
    let response = client
        .post(w.server.url("/signin"))
        .header("cookie", signin_cookie)
        .form(&[("csrf", &csrf[..]), ("token", token), ("lang", "en")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let set = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let cookie = set.split(';').next().unwrap().to_owned();
    (cookie, set)
}

/// The sign-in form's cookie (`name=value`) and CSRF token.
async fn sign_in_form(client: &Client, w: &World) -> (String, String) {
    let form = client.get(w.server.url("/shop")).send().await.unwrap();
    let set = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap().to_owned();
    (cookie, csrf_of(&form.text().await.unwrap()))
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
    html[at..at + 64].to_owned()
}

#[tokio::test]
async fn the_station_needs_a_session_and_its_csrf_token() {
    let w = world().await;
    let client = no_redirects();
    let token = token(&w.server.registry, "shop-a");

    // Without a session: the sign-in form; a bad token is refused on the form.
    let (_, html) = page(&client, &w.server.url("/shop"), "en").await;
    assert!(html.contains("action=\"/signin\""));
    // A sign-in form posted from elsewhere (no matching cookie) is refused.
    let (signin_cookie, signin_csrf) = sign_in_form(&client, &w).await;
    let forged = client
        .post(w.server.url("/signin"))
        .form(&[("csrf", &signin_csrf[..]), ("token", &token[..])])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 403);
    assert!(forged.headers().get("set-cookie").is_none());
    let bad = client
        .post(w.server.url("/signin"))
        .header("cookie", &signin_cookie)
        .form(&[
            ("csrf", &signin_csrf[..]),
            ("token", "pst_nope"),
            ("lang", "en"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 200);
    let set = bad.headers()["set-cookie"].to_str().unwrap();
    assert!(
        set.starts_with("partseal_signin="),
        "no session for a bad token: {set}"
    );
    assert!(bad.text().await.unwrap().contains("not valid"));

    let (cookie, set) = sign_in(&client, &w, &token).await;
    assert!(set.contains("HttpOnly"), "{set}");
    assert!(set.contains("SameSite=Strict"), "{set}");
    assert!(!set.contains(&token), "the token must not be in the cookie");
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    assert!(html.contains("shop-a Co."), "{html}");
    assert!(html.len() < 30 * 1024);
    let csrf = csrf_of(&html);

    // No CSRF token, a wrong one, or no session: 403, nothing recorded.
    for (cookie, csrf) in [
        (&cookie[..], ""),
        (&cookie[..], &"0".repeat(64)[..]),
        ("", &csrf[..]),
    ] {
        let refused = client
            .post(w.server.url("/shop/scan"))
            .header("cookie", cookie)
            .form(&[("csrf", csrf), ("code", &w.uris[0])])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status().as_u16(), 403);
    }
    let key = registry::CodeKey::of(&signer::DigitalLink::parse(&w.uris[0]).unwrap().part);
    assert_eq!(
        w.server
            .registry
            .history(&key)
            .unwrap()
            .unwrap()
            .events
            .len(),
        1
    );

    // Without script: one scan per submit, then the station lists it.
    let posted = client
        .post(w.server.url("/shop/scan"))
        .header("cookie", &cookie)
        .form(&[("csrf", &csrf[..]), ("code", &w.uris[0])])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status().as_u16(), 303);
    assert_eq!(
        w.server
            .registry
            .history(&key)
            .unwrap()
            .unwrap()
            .events
            .len(),
        2
    );
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    assert!(html.contains("Received · genuine"), "{html}");
    // A hostile "scan" is shown escaped.
    let json: serde_json::Value = client
        .post(w.server.url("/shop/scan"))
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .form(&[
            ("csrf", &csrf[..]),
            ("code", "<img src=x onerror=alert(1)>"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["class"], "info");
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    assert!(!html.contains("<img"), "{html}");
    assert!(
        html.contains("&lt;img") || html.contains("&#60;img"),
        "{html}"
    );

    // A bad VIN is refused with its reason; a good one switches to install mode.
    for vin in ["LSVAU218XN2183295", "LSVAU218XN2183294"] {
        client
            .post(w.server.url("/shop/mode"))
            .header("cookie", &cookie)
            .form(&[("csrf", &csrf[..]), ("mode", "install"), ("vin", vin)])
            .send()
            .await
            .unwrap();
        let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
        if vin.ends_with('5') {
            assert!(html.contains("Not a valid VIN"), "{html}");
        } else {
            assert!(html.contains("Installing into"), "{html}");
        }
    }
    // Signing out ends the session on the server too.
    let out = client
        .post(w.server.url("/signout"))
        .header("cookie", &cookie)
        .form(&[("csrf", &csrf[..])])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status().as_u16(), 303);
    let again = client
        .post(w.server.url("/shop/scan"))
        .header("cookie", &cookie)
        .form(&[("csrf", &csrf[..]), ("code", &w.uris[1])])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 403);
    w.server.shutdown().await;
}

#[tokio::test]
async fn behind_https_the_cookie_is_secure() {
    let dir = tempfile::tempdir().unwrap();
    let registry = std::sync::Arc::new(
        registry::Registry::open(
            &dir.path().join("data"),
            registry::RegistryConfig::default(),
        )
        .unwrap(),
    );
    add_party(&registry, "shop-a", Role::Shop, "Guangdong");
    let token = token(&registry, "shop-a");
    let server = start_on(
        Overrides {
            base_url: Some("https://verify.example.cn".into()),
            ..Overrides::default()
        },
        registry,
        dir,
    )
    .await;
    let w = World {
        server,
        uris: Vec::new(),
    };
    let (_, set) = sign_in(&no_redirects(), &w, &token).await;
    assert!(set.contains("; Secure"), "{set}");
    w.server.shutdown().await;
}

#[tokio::test]
async fn the_dashboard_lists_alerts_reports_and_charts_and_resolves() {
    let w = world().await;
    let client = no_redirects();
    let r = &w.server.registry;
    let link = signer::DigitalLink::parse(&w.uris[1]).unwrap();
    let key = registry::CodeKey::of(&link.part);
    let shop_a = registry::PartyId::parse("shop-a").unwrap();
    let shop_b = registry::PartyId::parse("shop-b").unwrap();
    let vin = registry::Vin::parse("LSVAU218XN2183294").unwrap();
    r.record(&key, &shop_a, registry::Action::Receive, now())
        .unwrap();
    r.record(&key, &shop_a, registry::Action::Install { vin }, now())
        .unwrap();
    let clone = r
        .record(&key, &shop_b, registry::Action::Receive, now())
        .unwrap();
    assert!(matches!(
        clone.event.outcome,
        registry::Outcome::Conflict { .. }
    ));
    // Public scans feed the per-day chart.
    for _ in 0..3 {
        client
            .get(&w.uris[1])
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
    }
    client
        .post(w.server.url("/owner/report"))
        .form(&[
            ("gtin", "06901234567892"),
            ("serial", "PAGE0001"),
            ("text", "two of these at the market <b>cheap</b>"),
        ])
        .send()
        .await
        .unwrap();

    // Shops are not let in.
    let (shop_cookie, _) = sign_in(&client, &w, &token(r, "shop-a")).await;
    let html = signed_in_page(&client, w.server.url("/dashboard"), &shop_cookie).await;
    assert!(html.contains("not for your kind of account"), "{html}");

    let (cookie, _) = sign_in(&client, &w, &token(r, "acme-brakes")).await;
    let get = || signed_in_page(&client, w.server.url("/dashboard?lang=en"), &cookie);
    // Scans are counted as they are answered (and written to the store behind), so the chart
    // has them at once.
    let html = get().await;
    assert!(html.contains("(01)06901234567892(21)PAGE0001"), "{html}");
    assert!(
        html.contains("Received or shipped while installed"),
        "{html}"
    );
    assert!(html.contains("New"));
    assert!(html.contains("<svg"));
    assert!(html.contains(">3</text>"), "the day's three scans: {html}");
    assert!(html.contains("cheap"));
    assert!(!html.contains("<b>cheap"));
    assert!(
        html.contains("and was never removed. A part with this label outside"),
        "the evidence explained: {html}"
    );
    // In Chinese, the explanation is Chinese too, with the dates filled in.
    let zh = signed_in_page(&client, w.server.url("/dashboard?lang=zh-CN"), &cookie).await;
    let today = now().date();
    assert!(
        zh.contains(&format!(
            r#"<span lang="zh-CN">{today}，这个编码在企业之间流转时被扫描，但它自 {today} 起已装在一辆车上，且从未拆下。"#
        )),
        "{zh}"
    );
    assert!(!zh.contains("was never removed"), "{zh}");
    let csrf = csrf_of(&html);

    let act = |action: &'static str| {
        let client = client.clone();
        let url = w.server.url("/dashboard/alerts");
        let cookie = cookie.clone();
        let csrf = csrf.clone();
        async move {
            client
                .post(url)
                .header("cookie", cookie)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("gtin", "06901234567892"),
                    ("serial", "PAGE0001"),
                    ("action", action),
                    ("note", "seized at the market"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(act("investigating").await, 303);
    assert!(get().await.contains("Investigating"));
    assert_eq!(act("counterfeit").await, 303);
    let html = get().await;
    assert!(html.contains("Resolved: counterfeit"), "{html}");
    assert!(html.contains("No open alerts"), "{html}");
    let history = r.history(&key).unwrap().unwrap();
    assert_eq!(history.events.last().unwrap().step().as_str(), "resolving");
    w.server.shutdown().await;
}
