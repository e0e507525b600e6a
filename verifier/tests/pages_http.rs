//! The pages over plain HTTP: size, language, escaping, forms; and the station's session rules.

#![allow(clippy::unwrap_used)]

use registry::Role;
use reqwest::Client;
use signer::{Gtin, Lot, PartId, Serial, SignedCode};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

struct World {
    server: Server,
    uris: Vec<String>,
}

async fn world() -> World {
    world_with(Overrides::default()).await
}

/// The world on a server with `overrides` (and no rate limit).
async fn world_with(overrides: Overrides) -> World {
    let server = start(Overrides {
        rate_limit: Some(0),
        ..overrides
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
    // A label that cannot be read (here its signature cut short) still carries its numbers:
    // the typed lookup starts from them.
    let cut = &w.uris[0][..w.uris[0].len() - 10];
    let (status, unread) = page(&client, cut, "en").await;
    assert_eq!(status, 200);
    assert!(unread.contains("This code could not be read"), "{unread}");
    assert!(
        unread.contains(r#"id="lookup-gtin" name="gtin" value="06901234567892""#),
        "{unread}"
    );
    assert!(
        unread.contains(r#"id="lookup-serial" name="serial" value="PAGE0000""#),
        "{unread}"
    );
    // A part nobody recorded since it was made is in someone's hand, not "at the manufacturer":
    // the page says what is known.
    assert!(zh.contains("出厂后没有任何流转记录"), "{zh}");
    assert!(!zh.contains("在厂商处"));
    assert!(en.contains(r#"<dd id="unmoved">No movement recorded since it was made"#));
    assert!(!en.contains("At the manufacturer"));
    let link = signer::DigitalLink::parse(&w.uris[1]).unwrap();
    let shop = registry::PartyId::parse("shop-a").unwrap();
    w.server
        .registry
        .record_genuine_scan(
            &registry::CodeKey::of(&link.part),
            &shop,
            registry::Action::Receive,
            now(),
        )
        .unwrap();
    let (_, received) = page(&client, &w.uris[1], "en").await;
    assert!(
        received.contains("Received by a distributor or shop"),
        "{received}"
    );
    assert!(!received.contains("No movement recorded"));
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
            ("vin", "LSVAU218XN218329I"),
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

    // A VIN whose check digit does not verify is asked about; a good one switches to install mode.
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
            // A check digit that does not verify is asked about, not refused.
            assert!(
                html.contains("Compare it with the registration certificate"),
                "{html}"
            );
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
    r.record_genuine_scan(&key, &shop_a, registry::Action::Receive, now())
        .unwrap();
    r.record_genuine_scan(&key, &shop_a, registry::Action::Install { vin }, now())
        .unwrap();
    let clone = r
        .record_genuine_scan(&key, &shop_b, registry::Action::Receive, now())
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

/// A page's checks every owner-facing page must pass: small, no script, in the language asked.
fn owner_sized(html: &str, lang: &str) {
    assert!(html.len() < 30 * 1024, "{} bytes", html.len());
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains(&format!(r#"<html lang="{lang}">"#)), "{html}");
}

/// `s` as askama escapes it in a page.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

async fn get_as(client: &Client, url: &str, accept: &str, lang: &str) -> reqwest::Response {
    client
        .get(url)
        .header("accept", accept)
        .header("accept-language", lang)
        .send()
        .await
        .unwrap()
}

const BROWSER: &str =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8";

#[tokio::test]
async fn a_browser_gets_every_error_as_a_page_and_a_program_gets_json() {
    use verifier::pages::i18n::{EN, ZH};
    let w = world().await;
    let client = no_redirects();
    // A typo at the top level and a wrong path, in both languages.
    for (lang, t) in [("zh-CN", &ZH), ("en", &EN)] {
        for path in ["/lookpu", "/01/06901234567892/21", "/shop/nothing"] {
            let response = get_as(&client, &w.server.url(path), BROWSER, lang).await;
            assert_eq!(response.status(), 404, "{path}");
            assert!(
                response.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
            let html = response.text().await.unwrap();
            owner_sized(&html, lang);
            assert!(html.contains(&esc(t.error_not_found.headline)), "{html}");
            assert!(html.contains(r#"data-status="404""#));
            // Someone looking for a part gets the typed lookup.
            assert!(html.contains(r#"id="lookup-gtin""#));
        }
        // A method the route does not take.
        let response = client
            .delete(w.server.url("/lookup"))
            .header("accept", BROWSER)
            .header("accept-language", lang)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 405);
        let html = response.text().await.unwrap();
        owner_sized(&html, lang);
        assert!(html.contains(&esc(t.error_method.headline)), "{html}");
    }
    // Programs keep problem+json, and so does /api/ whatever it asks for.
    for (path, accept) in [
        ("/lookpu", "application/json"),
        ("/lookpu", "*/*"),
        ("/api/v1/nothing", BROWSER),
    ] {
        let response = get_as(&client, &w.server.url(path), accept, "en").await;
        assert_eq!(response.status(), 404);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json",
            "{path} {accept}"
        );
    }

    // A trailing slash leads to the route without it, keeping the query; elsewhere it is a 404.
    let code = w.uris[0].split_once("/01/").unwrap().1;
    let (path, query) = code.split_once('?').unwrap();
    for (from, to) in [
        (
            format!("/01/{path}/?{query}"),
            format!("/01/{path}?{query}"),
        ),
        (
            "/lookup/?gtin=06901234567892&serial=PAGE0001".to_owned(),
            "/lookup?gtin=06901234567892&serial=PAGE0001".to_owned(),
        ),
        (
            "/01/06901234567892/".to_owned(),
            "/01/06901234567892".to_owned(),
        ),
    ] {
        let response = get_as(&client, &w.server.url(&from), BROWSER, "en").await;
        assert_eq!(response.status(), 308, "{from}");
        assert_eq!(response.headers()["location"], to.as_str());
    }
    let followed = get_as(
        &Client::new(),
        &w.server.url(&format!("/01/{path}/?{query}&lang=en")),
        BROWSER,
        "",
    )
    .await;
    assert_eq!(followed.status(), 200);
    assert!(
        followed
            .text()
            .await
            .unwrap()
            .contains(&esc(EN.verdict("genuine").headline))
    );
    let response = get_as(&client, &w.server.url("/nothing/"), BROWSER, "en").await;
    assert_eq!(response.status(), 404);

    // The landing page: what partseal is, and the typed lookup.
    for (lang, t) in [("zh-CN", &ZH), ("en", &EN)] {
        let response = get_as(&client, &w.server.url("/"), BROWSER, lang).await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        owner_sized(&html, lang);
        assert!(html.contains(&esc(t.home_heading)) && html.contains(&esc(t.home_intro)));
        assert!(html.contains(r#"action="/lookup""#));
    }
    w.server.shutdown().await;
}

#[tokio::test]
async fn the_rate_limit_the_body_limit_and_the_timeout_are_pages_too() {
    use verifier::pages::i18n::{EN, ZH};
    let server = start(Overrides {
        rate_limit: Some(2),
        body_limit_bytes: Some(1024),
        request_timeout_secs: Some(1),
        ..Overrides::default()
    })
    .await;
    let client = Client::new();
    for _ in 0..2 {
        let ok = get_as(&client, &server.url("/"), BROWSER, "zh-CN").await;
        assert_eq!(ok.status(), 200);
    }
    for (lang, t) in [("zh-CN", &ZH), ("en", &EN)] {
        let response = get_as(&client, &server.url("/"), BROWSER, lang).await;
        assert_eq!(response.status(), 429);
        let wait: u64 = response.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=30).contains(&wait), "{wait}");
        let html = response.text().await.unwrap();
        owner_sized(&html, lang);
        assert!(html.contains(&esc(t.error_rate_limited.meaning)), "{html}");
        // When to retry, from the limiter's own wait (a second may have passed meanwhile).
        let says =
            |secs: u64| html.contains(&esc(&t.retry_in.replace("{secs}", &secs.to_string())));
        assert!(says(wait) || says(wait + 1), "{html}");
    }
    // A program over the limit still gets problem+json.
    let response = get_as(&client, &server.url("/"), "application/json", "en").await;
    assert_eq!(response.status(), 429);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let (registry, dir) = server.shutdown().await;

    // The other limits, on a server without the rate limit so they are reached.
    let server = start_on(
        Overrides {
            rate_limit: Some(0),
            body_limit_bytes: Some(1024),
            request_timeout_secs: Some(1),
            ..Overrides::default()
        },
        registry,
        dir,
    )
    .await;
    let response = client
        .post(server.url("/reports"))
        .header("accept", BROWSER)
        .header("accept-language", "en")
        .header("content-type", "application/json")
        .body(format!(r#"{{"text":"{}"}}"#, "x".repeat(4096)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    let html = response.text().await.unwrap();
    owner_sized(&html, "en");
    assert!(html.contains(&esc(EN.error_too_large.headline)), "{html}");

    // A body that never arrives: the request is cut off, and the browser is told in its words.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            format!(
                "POST /owner/report HTTP/1.1\r\nHost: {}\r\nAccept: {BROWSER}\r\n\
                 Accept-Language: zh-CN\r\nContent-Type: application/x-www-form-urlencoded\r\n\
                 Content-Length: 100\r\n\r\ngtin=",
                server.addr
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !String::from_utf8_lossy(&answer).contains("</html>") {
        assert!(std::time::Instant::now() < deadline, "no answer");
        let n = tokio::time::timeout(std::time::Duration::from_secs(20), stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
    }
    let answer = String::from_utf8_lossy(&answer);
    let status: u16 = answer[9..12].parse().unwrap();
    // The request timeout answers 503; a server that times out slow bodies itself answers 408.
    let words = match status {
        503 => ZH.error_busy.headline,
        408 => ZH.error_timeout.headline,
        other => panic!("{other}: {answer}"),
    };
    assert!(answer.contains(&esc(words)), "{answer}");
    assert!(answer.contains(r#"<html lang="zh-CN">"#));
    server.shutdown().await;
}

#[tokio::test]
async fn a_digital_link_without_a_serial_names_the_maker_and_asks_for_the_part() {
    use verifier::pages::i18n::{EN, ZH};
    let w = world().await;
    let client = Client::new();
    for (lang, t) in [("zh-CN", &ZH), ("en", &EN)] {
        // The GTIN-14, and the 13 digits under a barcode.
        for gtin in ["06901234567892", "6901234567892"] {
            let response = get_as(
                &client,
                &w.server.url(&format!("/01/{gtin}")),
                BROWSER,
                lang,
            )
            .await;
            assert_eq!(response.status(), 200);
            let html = response.text().await.unwrap();
            owner_sized(&html, lang);
            assert!(html.contains(&esc(t.product_heading)), "{html}");
            assert!(html.contains(&esc(t.product_scan_own)));
            assert!(html.contains("acme-brakes 汽车零部件有限公司"));
            assert!(html.contains(&esc(t.certified)));
            assert!(html.contains(r#"id="product-gtin">06901234567892<"#));
            // The typed lookup waits for the serial with the GTIN filled in.
            assert!(
                html.contains(r#"name="gtin" value="06901234567892""#),
                "{html}"
            );
        }
        // A GTIN no certified maker's prefix covers.
        let response = get_as(&client, &w.server.url("/01/06912345678902"), BROWSER, lang).await;
        assert_eq!(response.status(), 200);
        let html = response.text().await.unwrap();
        assert!(html.contains(&esc(t.product_unknown)), "{html}");
        assert!(!html.contains("acme-brakes"));
        assert!(html.contains(r#"data-known="false""#));
        // Not a GTIN at all: what is wrong with it, with the contract's 400.
        let response = get_as(&client, &w.server.url("/01/6901234567893"), BROWSER, lang).await;
        assert_eq!(response.status(), 400);
        let html = response.text().await.unwrap();
        assert!(
            html.contains(&esc(&t.typed_gtin_check.replace("{digit}", "2"))),
            "{html}"
        );
    }
    // Programs get JSON.
    let product: serde_json::Value = get_as(
        &client,
        &w.server.url("/01/6901234567892"),
        "application/json",
        "",
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(product["gtin"], "06901234567892");
    assert_eq!(product["manufacturer"]["id"], "acme-brakes");
    assert_eq!(product["manufacturer"]["certified"], true);
    let unknown: serde_json::Value = get_as(
        &client,
        &w.server.url("/01/06912345678902"),
        "application/json",
        "",
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(unknown.get("manufacturer").is_none(), "{unknown}");
    let bad = get_as(&client, &w.server.url("/01/123"), "application/json", "").await;
    assert_eq!(bad.status(), 400);
    w.server.shutdown().await;
}

#[tokio::test]
async fn typed_numbers_are_forgiven_and_mistakes_explained_in_the_form() {
    use verifier::pages::i18n::{EN, ZH};
    let w = world().await;
    let client = Client::new();
    let lookup = |gtin: &str, serial: &str, lang: &str| {
        w.server.url(&format!(
            "/lookup?gtin={}&serial={}&lang={lang}",
            gtin.replace(' ', "+")
                .replace('(', "%28")
                .replace(')', "%29"),
            serial.replace(' ', "+")
        ))
    };
    // The 13 digits under the barcode, grouping, a pasted AI, a phone's small letters: all found.
    for (gtin, serial) in [
        ("6901234567892", "PAGE0001"),
        ("690 1234 56789 2", "page0001"),
        ("690-1234-56789-2", " PAGE 0001 "),
        ("(01)06901234567892", "(21)PAGE0001"),
    ] {
        for (lang, t) in [("zh-CN", &ZH), ("en", &EN)] {
            let (status, html) = page(&client, &lookup(gtin, serial, lang), "").await;
            assert_eq!(status, 200);
            owner_sized(&html, lang);
            // Found, and never presented as a checked label.
            assert!(
                html.contains(&esc(t.verdict("registered_numbers").headline)),
                "{gtin} {serial}: {html}"
            );
            // Numbers can be copied from a photo: the answer never calls the part genuine.
            let verdict = &html[html.find(r#"id="verdict""#).unwrap()..];
            let verdict = &verdict[..verdict.find("</div>").unwrap()];
            for word in ["genuine", "Genuine", "正品"] {
                assert!(!verdict.contains(word), "{lang}: {verdict}");
            }
            assert!(html.contains("<dd class=\"code\">PAGE0001</dd>"));
        }
        let json: serde_json::Value = client
            .get(lookup(gtin, serial, "en"))
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            json["verdict"], "registered_numbers",
            "{gtin} {serial}: {json}"
        );
    }
    // An unknown serial is reported as typed.
    let (_, html) = page(&client, &lookup("6901234567892", "nosuch1", "en"), "").await;
    assert!(html.contains(&esc(EN.verdict("unregistered").headline)));
    assert!(html.contains("<dd class=\"code\">nosuch1</dd>"), "{html}");

    // Mistakes: which box, why, in the page's language, with what was typed kept.
    for (lang, t) in [("zh-CN", &ZH), ("en", &EN)] {
        let (status, html) = page(&client, &lookup("6901234567893", "page0001", lang), "").await;
        assert_eq!(status, 200);
        owner_sized(&html, lang);
        assert!(
            html.contains(&esc(&t.typed_gtin_check.replace("{digit}", "2"))),
            "{html}"
        );
        assert!(html.contains(r#"data-field="gtin""#));
        assert!(
            html.contains(r#"name="gtin" value="6901234567893""#),
            "{html}"
        );
        assert!(html.contains(r#"name="serial" value="page0001""#));
        assert!(html.contains(r#"aria-invalid="true""#));
        // Where to look on the label.
        assert!(html.contains(&esc(t.lookup_where)) && t.lookup_where.contains("(21)"));

        let (_, html) = page(&client, &lookup("690123456", "X", lang), "").await;
        assert!(
            html.contains(&esc(&t.typed_gtin_length.replace("{n}", "9"))),
            "{html}"
        );
        let (_, html) = page(&client, &lookup("6901234567892", "AB%23", lang), "").await;
        assert!(html.contains(r#"data-field="serial""#), "{html}");
        assert!(html.contains(&esc(&t.typed_serial_char.replace("{ch}", "#"))));
        // A box left out of the address altogether is shown the same way.
        let (status, html) = page(
            &client,
            &w.server
                .url(&format!("/lookup?gtin=6901234567892&lang={lang}")),
            "",
        )
        .await;
        assert_eq!(status, 200);
        assert!(html.contains(&esc(t.typed_serial_empty)), "{html}");
    }
    // Programs keep the strict answers: data_error with its reason, 400 for a missing field.
    let json: serde_json::Value = client
        .get(lookup("6901234567893", "PAGE0001", "en"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(json["verdict"], "data_error", "{json}");
    let missing = client
        .get(w.server.url("/lookup?gtin=06901234567892"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    w.server.shutdown().await;
}

#[tokio::test]
async fn the_station_reads_the_deployments_clock_and_json_stays_utc() {
    // Kathmandu is UTC+05:45: no other zone's clock, nor UTC's, reads the same minutes.
    let w = world_with(Overrides {
        time_zone: Some("Asia/Kathmandu".into()),
        ..Overrides::default()
    })
    .await;
    let client = no_redirects();
    let token_of = token;
    let token = token_of(&w.server.registry, "shop-a");
    let (cookie, _) = sign_in(&client, &w, &token).await;
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    let csrf = csrf_of(&html);
    let before = now().seconds();
    let row: serde_json::Value = client
        .post(w.server.url("/shop/scan"))
        .header("cookie", &cookie)
        .header("accept", "application/json")
        .form(&[("csrf", &csrf[..]), ("code", &w.uris[1])])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let after = now().seconds();
    let at = row["at"].as_str().unwrap();
    let clock = |t: i64| {
        let s = (t + 5 * 3600 + 45 * 60).rem_euclid(86_400);
        format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    };
    assert!(
        (before..=after).any(|t| clock(t) == at),
        "{at} is not Kathmandu's {}",
        clock(before)
    );
    // The page lists the row at the same local time.
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    assert!(html.contains(&format!("<time>{at}</time>")), "{html}");
    // Programs still get UTC RFC 3339.
    let history: serde_json::Value = client
        .get(w.server.url("/api/v1/codes/06901234567892/PAGE0001"))
        .bearer_auth(token_of(&w.server.registry, "acme-brakes"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = history.to_string();
    assert!(text.contains("Z\""), "{text}");
    w.server.shutdown().await;
}

/// A station signed in with `token`: its session cookie and the CSRF token its forms carry.
async fn station(client: &Client, w: &World, token: &str) -> (String, String) {
    let (cookie, _) = sign_in(client, w, token).await;
    let csrf = csrf_of(&signed_in_page(client, w.server.url("/shop"), &cookie).await);
    (cookie, csrf)
}

/// Scans `uri` at the station; the row it answers.
async fn station_scan(
    client: &Client,
    w: &World,
    (cookie, csrf): &(String, String),
    uri: &str,
) -> serde_json::Value {
    station_post(
        client,
        w,
        cookie,
        "/shop/scan",
        &[("csrf", csrf), ("code", uri)],
    )
    .await
    .json()
    .await
    .unwrap()
}

/// Posts a station form (`path`) with the session's cookie; the answer as JSON when `json`.
async fn station_post(
    client: &Client,
    w: &World,
    cookie: &str,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(w.server.url(path))
        .header("cookie", cookie)
        .header("accept", "application/json")
        .form(form)
        .send()
        .await
        .unwrap()
}

fn history_of(w: &World, uri: &str) -> registry::History {
    let key = registry::CodeKey::of(&signer::DigitalLink::parse(uri).unwrap().part);
    w.server.registry.history(&key).unwrap().unwrap()
}

/// A label forged for a registered serial (another key's signature) is refused at the station: the
/// row says so, nothing is recorded, and no question about the genuine part is asked for it.
#[tokio::test]
async fn a_forged_label_at_the_station_writes_nothing_into_the_genuine_history() {
    let w = world().await;
    let client = no_redirects();
    let token = token(&w.server.registry, "shop-a");
    let (cookie, _) = sign_in(&client, &w, &token).await;
    let csrf = csrf_of(&signed_in_page(&client, w.server.url("/shop"), &cookie).await);
    let genuine = signer::DigitalLink::parse(&w.uris[0]).unwrap();
    let forged =
        SignedCode::sign(genuine.part.clone(), &signer::keys::generate()).to_uri(&w.server.base());
    let scan = |uri: String| {
        let (client, cookie, csrf, w) = (&client, &cookie, &csrf, &w);
        async move {
            station_post(
                client,
                w,
                cookie,
                "/shop/scan",
                &[("csrf", csrf), ("code", &uri)],
            )
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap()
        }
    };
    let refused = scan(forged.clone()).await;
    assert_eq!(refused["class"], "danger", "{refused}");
    assert!(
        refused["text"]
            .as_str()
            .unwrap()
            .contains("Signature does not match: possibly forged. Not recorded"),
        "{refused}"
    );
    assert_eq!(refused["undo"], false, "{refused}");
    assert_eq!(history_of(&w, &w.uris[0]).events.len(), 1);
    // The shop installs the genuine part; the forged label scanned in receive mode is still
    // refused as forged, not asked about as the shop's own installed part.
    station_post(
        &client,
        &w,
        &cookie,
        "/shop/mode",
        &[
            ("csrf", &csrf),
            ("mode", "install"),
            ("vin", "LSVAU218XN2183294"),
        ],
    )
    .await;
    assert_eq!(scan(w.uris[0].clone()).await["class"], "ok");
    station_post(
        &client,
        &w,
        &cookie,
        "/shop/mode",
        &[("csrf", &csrf), ("mode", "receive"), ("vin", "")],
    )
    .await;
    let refused = scan(forged).await;
    assert_eq!(
        (&refused["class"], &refused["ask"]),
        (&"danger".into(), &false.into()),
        "{refused}"
    );
    let history = history_of(&w, &w.uris[0]);
    assert_eq!(history.events.len(), 2);
    assert!(history.record.flags.duplicate.is_empty());
    assert_eq!(history.events[1].basis, registry::Basis::Scanned);
    w.server.shutdown().await;
}

#[tokio::test]
async fn the_station_asks_before_a_wrong_mode_scan_and_undoes_its_own() {
    let w = world().await;
    let client = no_redirects();
    let token = token(&w.server.registry, "shop-a");
    let (cookie, _) = sign_in(&client, &w, &token).await;
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    let csrf = csrf_of(&html);
    // The mode and its banner lead the page in both modes, above the scan box and the list that
    // grows below it (a phone shows the top first).
    let leads = |html: &str, mode: &str| {
        let banner = html
            .find(&format!(r#"id="mode-banner" data-mode="{mode}""#))
            .unwrap_or_else(|| panic!("no {mode} banner: {html}"));
        let switch = html.find(r#"id="mode-select""#).unwrap();
        let scan_box = html.find(r#"id="scan-form""#).unwrap();
        let list = html.find(r#"id="scan-list""#).unwrap();
        assert!(
            banner < switch && switch < scan_box && scan_box < list,
            "{html}"
        );
    };
    leads(&html, "receive");
    let set_mode = |mode: &'static str, vin: &'static str| {
        let (client, cookie, csrf, w) = (&client, &cookie, &csrf, &w);
        async move {
            station_post(
                client,
                w,
                cookie,
                "/shop/mode",
                &[("csrf", csrf), ("mode", mode), ("vin", vin)],
            )
            .await;
        }
    };
    let scan = |uri: String| {
        let (client, cookie, csrf, w) = (&client, &cookie, &csrf, &w);
        async move {
            station_post(
                client,
                w,
                cookie,
                "/shop/scan",
                &[("csrf", csrf), ("code", &uri)],
            )
            .await
            .json::<serde_json::Value>()
            .await
            .unwrap()
        }
    };

    // The shop installs the part, then scans it again with the station left in receive mode.
    set_mode("install", "LSVAU218XN2183294").await;
    leads(
        &signed_in_page(&client, w.server.url("/shop"), &cookie).await,
        "install",
    );
    let installed = scan(w.uris[0].clone()).await;
    assert_eq!(installed["class"], "ok", "{installed}");
    assert_eq!(installed["undo"], true, "{installed}");
    set_mode("receive", "").await;
    let asked = scan(w.uris[0].clone()).await;
    assert_eq!(asked["ask"], true, "{asked}");
    let text = asked["text"].as_str().unwrap();
    assert!(
        text.contains("you installed this part in vehicle …3294 on")
            && text.contains("Record it as removed"),
        "{text}"
    );
    // Nothing was recorded: no clone of itself.
    assert_eq!(history_of(&w, &w.uris[0]).events.len(), 2);
    assert!(history_of(&w, &w.uris[0]).record.flags.duplicate.is_empty());
    // The page without script shows the question with its three buttons.
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    for button in ["Record removal", "Record the scan anyway", "Cancel"] {
        assert!(html.contains(button), "{html}");
    }

    // Record removal: a `removing` event naming the vehicle.
    let row = asked["id"].to_string();
    let removed: serde_json::Value = station_post(
        &client,
        &w,
        &cookie,
        "/shop/decide",
        &[("csrf", &csrf), ("row", &row), ("choice", "remove")],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(removed["text"], "✔ Removal recorded", "{removed}");
    let history = history_of(&w, &w.uris[0]);
    let last = history.events.last().unwrap();
    assert_eq!(
        last.what,
        registry::event::What::Action(registry::Action::Remove {
            vin: Some(registry::Vin::parse("LSVAU218XN2183294").unwrap())
        })
    );
    // The answer presented the label the question was about.
    assert_eq!(last.basis, registry::Basis::Scanned);
    // A question already answered cannot be answered again.
    let again = station_post(
        &client,
        &w,
        &cookie,
        "/shop/decide",
        &[("csrf", &csrf), ("row", &row), ("choice", "anyway")],
    )
    .await;
    assert_eq!(again.status().as_u16(), 404);

    // Undo the removal: a `correcting` event, and the part is back in the vehicle.
    let undone = station_post(
        &client,
        &w,
        &cookie,
        "/shop/undo",
        &[("csrf", &csrf), ("row", &row)],
    )
    .await;
    assert_eq!(undone.status().as_u16(), 303);
    let history = history_of(&w, &w.uris[0]);
    assert!(matches!(
        history.events.last().unwrap().what,
        registry::event::What::Action(registry::Action::Correct { corrects: 2, .. })
    ));
    // The shop's correction of its own event: no label in hand, so not recorded as scanned.
    assert_eq!(history.events.last().unwrap().basis, registry::Basis::Typed);
    assert!(matches!(
        history.record.custody.custody,
        registry::Custody::Installed { .. }
    ));
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    assert!(html.contains("Undone: this scan"), "{html}");

    // In Chinese: the rows recorded in English follow the switch; "record anyway" records the
    // conflict, and Undo takes it back with its flag.
    let html = signed_in_page(&client, w.server.url("/shop?lang=zh-CN"), &cookie).await;
    assert!(
        html.contains("↶ 已撤销") && html.contains("✔ 已装车") && !html.contains("Undone"),
        "{html}"
    );
    let asked = scan(w.uris[0].clone()).await;
    let text = asked["text"].as_str().unwrap();
    assert!(
        text.contains("贵店") && text.contains("…3294") && text.contains("要记录为已从该车拆下吗"),
        "{text}"
    );
    let row = asked["id"].to_string();
    let anyway: serde_json::Value = station_post(
        &client,
        &w,
        &cookie,
        "/shop/decide",
        &[("csrf", &csrf), ("row", &row), ("choice", "anyway")],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(anyway["class"], "danger", "{anyway}");
    assert!(!history_of(&w, &w.uris[0]).record.flags.duplicate.is_empty());
    station_post(
        &client,
        &w,
        &cookie,
        "/shop/undo",
        &[("csrf", &csrf), ("row", &row)],
    )
    .await;
    assert!(history_of(&w, &w.uris[0]).record.flags.duplicate.is_empty());
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    assert!(html.contains("已撤销"), "{html}");
    assert!(html.contains(">撤销<"), "{html}");

    // Installing it into another vehicle asks too; cancel records nothing.
    set_mode("install", "1M8GDM9AXKP042788").await;
    let asked = scan(w.uris[0].clone()).await;
    assert_eq!(asked["ask"], true, "{asked}");
    let events = history_of(&w, &w.uris[0]).events.len();
    let row = asked["id"].to_string();
    let cancelled: serde_json::Value = station_post(
        &client,
        &w,
        &cookie,
        "/shop/decide",
        &[("csrf", &csrf), ("row", &row), ("choice", "cancel")],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(cancelled["text"], "ℹ 已取消，未记录", "{cancelled}");
    assert_eq!(history_of(&w, &w.uris[0]).events.len(), events);

    // An undo another party's later event depends on is refused, and the station says which.
    signed_in_page(&client, w.server.url("/shop?lang=en"), &cookie).await;
    set_mode("receive", "").await;
    let received = scan(w.uris[1].clone()).await;
    let key = registry::CodeKey::of(&signer::DigitalLink::parse(&w.uris[1]).unwrap().part);
    let shop_b = registry::PartyId::parse("shop-b").unwrap();
    w.server
        .registry
        .record_genuine_scan(&key, &shop_b, registry::Action::Receive, now())
        .unwrap();
    let row = received["id"].to_string();
    let refused = station_post(
        &client,
        &w,
        &cookie,
        "/shop/undo",
        &[("csrf", &csrf), ("row", &row)],
    )
    .await;
    assert_eq!(refused.status().as_u16(), 303);
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    assert!(
        html.contains("Cannot undo: another party&#x27;s later event #2 (received,")
            || html.contains("Cannot undo: another party&#39;s later event #2 (received,"),
        "{html}"
    );
    signed_in_page(&client, w.server.url("/shop?lang=zh-CN"), &cookie).await;
    station_post(
        &client,
        &w,
        &cookie,
        "/shop/undo",
        &[("csrf", &csrf), ("row", &row)],
    )
    .await;
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    assert!(
        html.contains("无法撤销：之后另一方记录的事件 #2（收货，"),
        "{html}"
    );
    assert_eq!(history_of(&w, &w.uris[1]).events.len(), 3);
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_european_vin_is_confirmed_at_the_station_and_through_the_api() {
    let w = world().await;
    let client = no_redirects();
    let token = token(&w.server.registry, "shop-a");
    let (cookie, _) = sign_in(&client, &w, &token).await;
    let csrf = csrf_of(&signed_in_page(&client, w.server.url("/shop"), &cookie).await);
    const EUROPEAN: &str = "WVWZZZ1JZXW000001";

    // Chinese first: the station asks, in Chinese, and does not switch to install mode yet.
    for (lang, asks, note) in [
        ("zh-CN", "请与行驶证核对", "（已与行驶证核对）"),
        (
            "en",
            "Compare it with the registration certificate",
            "(confirmed against the registration certificate)",
        ),
    ] {
        signed_in_page(
            &client,
            w.server.url(&format!("/shop?lang={lang}")),
            &cookie,
        )
        .await;
        station_post(
            &client,
            &w,
            &cookie,
            "/shop/mode",
            &[("csrf", &csrf), ("mode", "install"), ("vin", EUROPEAN)],
        )
        .await;
        let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
        assert!(
            html.contains("id=\"vin-confirm\"") && html.contains(asks),
            "{html}"
        );
        assert!(!html.contains("id=\"mode-banner\""), "{html}");
        assert!(!html.contains("Not a valid VIN") && !html.contains("typing error"));
        station_post(
            &client,
            &w,
            &cookie,
            "/shop/mode",
            &[
                ("csrf", &csrf),
                ("mode", "install"),
                ("vin", EUROPEAN),
                ("confirmed", "1"),
            ],
        )
        .await;
        let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
        assert!(
            html.contains("id=\"mode-banner\"") && html.contains(note),
            "{html}"
        );
        assert!(!html.contains("id=\"vin-confirm\""), "{html}");
    }
    // A scan installs into it, and the event records the confirmation.
    let row: serde_json::Value = station_post(
        &client,
        &w,
        &cookie,
        "/shop/scan",
        &[("csrf", &csrf), ("code", &w.uris[0])],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(row["class"], "ok", "{row}");
    let installed = history_of(&w, &w.uris[0]);
    assert!(installed.events.last().unwrap().vin_confirmed);
    // A character no VIN has is still refused, in the page's words.
    signed_in_page(&client, w.server.url("/shop?lang=zh-CN"), &cookie).await;
    station_post(
        &client,
        &w,
        &cookie,
        "/shop/mode",
        &[
            ("csrf", &csrf),
            ("mode", "install"),
            ("vin", "WVWZZZ1JZXW00000I"),
        ],
    )
    .await;
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    assert!(html.contains("第 17 位“I”不能出现在 VIN 中"), "{html}");

    // The API: 422 vin_check_digit without the confirmation, recorded with it.
    let event = |confirmed: Option<bool>| {
        let mut body =
            serde_json::json!({"code": w.uris[1], "step": "installing", "vin": EUROPEAN});
        if let Some(c) = confirmed {
            body["vin_confirmed"] = c.into();
        }
        client
            .post(w.server.url("/api/v1/events"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    for confirmed in [None, Some(false)] {
        let refused = event(confirmed).await.unwrap();
        assert_eq!(refused.status().as_u16(), 422);
        let problem: serde_json::Value = refused.json().await.unwrap();
        assert_eq!(problem["code"], "vin_check_digit", "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("\"vin_confirmed\": true"),
            "{problem}"
        );
    }
    assert_eq!(history_of(&w, &w.uris[1]).events.len(), 1);
    let recorded = event(Some(true)).await.unwrap();
    assert!(recorded.status().is_success(), "{}", recorded.status());
    assert!(
        history_of(&w, &w.uris[1])
            .events
            .last()
            .unwrap()
            .vin_confirmed
    );
    // The vehicle's page finds both parts by that VIN.
    let html = signed_in_page(
        &client,
        w.server.url(&format!("/shop/vehicle?vin={EUROPEAN}")),
        &cookie,
    )
    .await;
    assert!(
        html.contains("PAGE0000") && html.contains("PAGE0001"),
        "{html}"
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_recalled_part_stops_the_install_and_its_reason_is_shown_everywhere() {
    let w = world().await;
    let client = no_redirects();
    let maker = registry::PartyId::parse("acme-brakes").unwrap();
    let key = registry::CodeKey::of(&signer::DigitalLink::parse(&w.uris[2]).unwrap().part);
    w.server
        .registry
        .record_genuine_scan(
            &key,
            &maker,
            registry::Action::Recall {
                reason: "friction layer may crack".into(),
            },
            now(),
        )
        .unwrap();
    let token = token(&w.server.registry, "shop-a");
    let (cookie, _) = sign_in(&client, &w, &token).await;
    let csrf = csrf_of(&signed_in_page(&client, w.server.url("/shop"), &cookie).await);
    station_post(
        &client,
        &w,
        &cookie,
        "/shop/mode",
        &[
            ("csrf", &csrf),
            ("mode", "install"),
            ("vin", "LSVAU218XN2183294"),
        ],
    )
    .await;

    // The install is refused with the reason, and nothing is recorded until the shop chooses.
    let refused: serde_json::Value = station_post(
        &client,
        &w,
        &cookie,
        "/shop/scan",
        &[("csrf", &csrf), ("code", &w.uris[2])],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(refused["recall"], true, "{refused}");
    assert_eq!(refused["class"], "danger", "{refused}");
    assert!(
        refused["text"]
            .as_str()
            .unwrap()
            .contains("Not installed: this part is recalled (friction layer may crack)"),
        "{refused}"
    );
    assert_eq!(history_of(&w, &w.uris[2]).events.len(), 2);
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    assert!(
        html.contains("Install anyway (recorded as a known recall)"),
        "{html}"
    );
    let row = refused["id"].to_string();
    let installed: serde_json::Value = station_post(
        &client,
        &w,
        &cookie,
        "/shop/decide",
        &[("csrf", &csrf), ("row", &row), ("choice", "override")],
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(
        installed["text"]
            .as_str()
            .unwrap()
            .contains("override is recorded"),
        "{installed}"
    );
    assert!(
        history_of(&w, &w.uris[2])
            .events
            .last()
            .unwrap()
            .recall_override
    );

    // In Chinese: the install stops in Chinese words; a recalled part received says why.
    let key1 = registry::CodeKey::of(&signer::DigitalLink::parse(&w.uris[1]).unwrap().part);
    w.server
        .registry
        .record_genuine_scan(
            &key1,
            &maker,
            registry::Action::Recall {
                reason: "批次缺陷".into(),
            },
            now(),
        )
        .unwrap();
    signed_in_page(&client, w.server.url("/shop?lang=zh-CN"), &cookie).await;
    let refused: serde_json::Value = station_post(
        &client,
        &w,
        &cookie,
        "/shop/scan",
        &[("csrf", &csrf), ("code", &w.uris[1])],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(refused["recall"], true, "{refused}");
    assert!(
        refused["text"]
            .as_str()
            .unwrap()
            .contains("未装车：此配件已被召回（批次缺陷）"),
        "{refused}"
    );
    let html = signed_in_page(&client, w.server.url("/shop"), &cookie).await;
    assert!(html.contains("仍然安装（记录为已知召回）"), "{html}");
    station_post(
        &client,
        &w,
        &cookie,
        "/shop/mode",
        &[("csrf", &csrf), ("mode", "receive")],
    )
    .await;
    let received: serde_json::Value = station_post(
        &client,
        &w,
        &cookie,
        "/shop/scan",
        &[("csrf", &csrf), ("code", &w.uris[1])],
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(
        received["text"], "✖ 已记录，但此配件已被召回 (批次缺陷)",
        "{received}"
    );
    signed_in_page(&client, w.server.url("/shop?lang=en"), &cookie).await;

    // The vehicle's page says why the row is red, in each language.
    for (lang, says) in [
        ("en", "Recalled: friction layer may crack"),
        ("zh-CN", "已召回：friction layer may crack"),
    ] {
        let html = signed_in_page(
            &client,
            w.server
                .url(&format!("/shop/vehicle?vin=LSVAU218XN2183294&lang={lang}")),
            &cookie,
        )
        .await;
        assert!(
            html.contains("class=\"danger\"") && html.contains(says),
            "{html}"
        );
    }

    // The owner's page: the reason and recall advice, not the counterfeit advice.
    for (lang, reason, advice) in [
        (
            "en",
            "Recall reason: </strong>friction layer may crack",
            "Contact the seller or the shop about a replacement",
        ),
        (
            "zh-CN",
            "召回原因：</strong>friction layer may crack",
            "请联系卖家或维修店更换",
        ),
    ] {
        let (_, html) = page(&client, &format!("{}&lang={lang}", w.uris[2]), lang).await;
        assert!(html.contains(reason), "{html}");
        assert!(html.contains(advice), "{html}");
        assert!(
            !html.contains("report it below") && !html.contains("保留配件和包装"),
            "{html}"
        );
    }
    let json: serde_json::Value = get_as(&client, &w.uris[2], "application/json", "en")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["verdict"], "recalled");
    assert_eq!(json["recall_reason"], "friction layer may crack", "{json}");
    assert!(
        json["advice"].as_str().unwrap().contains("replacement"),
        "{json}"
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn the_parts_name_comes_first_on_the_owner_page_and_in_the_json() {
    let w = world().await;
    let r = &w.server.registry;
    let authority = signer::keys::generate();
    let maker = certify(r, &authority, "bosch-cn", "690124", 2);
    let named = SignedCode::sign(
        PartId {
            gtin: Gtin::parse("06901240000000").unwrap(),
            lot: Some(Lot::parse("L2026B").unwrap()),
            serial: Serial::parse("NAMED1").unwrap(),
        },
        &maker.key,
    );
    r.register_named(
        std::slice::from_ref(&named),
        &[Some("Front brake pad".into())],
        Some(&maker.id),
        now(),
    )
    .unwrap();
    let uri = named.to_uri(&w.server.base());
    let client = Client::new();
    for lang in ["zh-CN", "en"] {
        let (status, html) = page(&client, &format!("{uri}&lang={lang}"), lang).await;
        assert_eq!(status, 200, "{html}");
        let name = html.find("id=\"part-name\">Front brake pad<").expect(&html);
        // First: above the verdict's headline and the part's details.
        assert!(name < html.find("<h1>").unwrap(), "{html}");
        assert!(name < html.find("<dd class=\"code\">").unwrap(), "{html}");
    }
    let json: serde_json::Value = get_as(&client, &uri, "application/json", "en")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json["part"]["name"], "Front brake pad", "{json}");
    // A part registered without a name shows none.
    let (_, html) = page(&client, &w.uris[0], "en").await;
    assert!(!html.contains("id=\"part-name\""), "{html}");
    w.server.shutdown().await;
}

/// A part already in a car is most often scanned by that car's owner: the page asks for the VIN
/// before anything else, and the owner whose car holds the recorded part hears that theirs is the
/// recorded one, when and by whom it was fitted; the warning stays for a buyer.
#[tokio::test]
async fn an_installed_part_asks_for_the_owners_vin_first() {
    use verifier::pages::i18n::{EN, ZH};
    let w = world().await;
    let client = no_redirects();
    let r = &w.server.registry;
    let link = signer::DigitalLink::parse(&w.uris[2]).unwrap();
    let key = registry::CodeKey::of(&link.part);
    let shop = registry::PartyId::parse("shop-a").unwrap();
    let vin = registry::Vin::parse("LSVAU218XN2183294").unwrap();
    r.record_genuine_scan(&key, &shop, registry::Action::Receive, now())
        .unwrap();
    r.record_genuine_scan(&key, &shop, registry::Action::Install { vin }, now())
        .unwrap();
    for (lang, t) in [("zh-CN", &ZH), ("en", &EN)] {
        let (_, html) = page(&client, &w.uris[2], lang).await;
        owner_sized(&html, lang);
        assert!(
            html.contains(r#"data-verdict="genuine_installed""#),
            "{html}"
        );
        let question = html
            .find(r#"id="vehicle-first""#)
            .expect("the VIN question");
        assert!(html.contains(&esc(t.vehicle_first)), "{html}");
        assert!(html.find(r#"id="verdict""#).unwrap() < question);
        for later in [r#"<h2 id="report">"#, r#"<dd class="code">06901234567892"#] {
            assert!(question < html.find(later).unwrap(), "{later}: {html}");
        }
        // One vehicle form, not two.
        assert_eq!(html.matches(r#"action="/owner/vehicle-check""#).count(), 1);
    }
    // The owner's VIN: theirs is the recorded part, fitted on that day by that shop.
    let answer = client
        .post(w.server.url("/owner/vehicle-check"))
        .form(&[
            ("gtin", "06901234567892"),
            ("serial", "PAGE0002"),
            ("vin", "LSVAU218XN2183294"),
            ("lang", "en"),
        ])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        answer.contains("Yes: recorded as installed in this vehicle on "),
        "{answer}"
    );
    assert!(answer.contains("by shop-a Co."), "{answer}");
    assert!(
        answer.contains("the one in your car is the genuine part"),
        "{answer}"
    );
    assert!(!answer.contains("{date}") && !answer.contains("{shop}"));
    // A part nobody fitted is not asked about a car first.
    let (_, genuine) = page(&client, &w.uris[0], "en").await;
    assert!(!genuine.contains(r#"id="vehicle-first""#));
    w.server.shutdown().await;
}

/// Undoing a receive that the shop's own later install stood on says what else changed, the
/// install's row says it changed and offers no Undo of its own, and the maker's investigation
/// says which event the correction undid.
#[tokio::test]
async fn an_undo_says_what_else_it_changed() {
    let w = world().await;
    let client = no_redirects();
    let shop_token = token(&w.server.registry, "shop-a");
    let counter = station(&client, &w, &shop_token).await;
    let (cookie, csrf) = &counter;
    let received = station_scan(&client, &w, &counter, &w.uris[1]).await;
    assert_eq!(received["class"], "ok", "{received}");
    // The install typed through the API: applied because the shop holds the part, a claim
    // without the receive.
    let installed = client
        .post(w.server.url("/api/v1/events"))
        .bearer_auth(&shop_token)
        .json(&serde_json::json!({
            "gtin": "06901234567892", "serial": "PAGE0001",
            "step": "installing", "vin": "LSVAU218XN2183294",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(installed.status().as_u16(), 200);
    let undone = station_post(
        &client,
        &w,
        cookie,
        "/shop/undo",
        &[("csrf", csrf), ("row", &received["id"].to_string())],
    )
    .await;
    assert_eq!(undone.status().as_u16(), 303);
    let html = signed_in_page(&client, w.server.url("/shop?lang=en"), cookie).await;
    assert!(
        html.contains("your later event #2 (") && html.contains("no longer stands either"),
        "{html}"
    );
    let history = history_of(&w, &w.uris[1]);
    assert_eq!(history.record.custody.custody.name(), "at_manufacturer");
    // The investigation names the undone event beside the correction.
    let maker = token(&w.server.registry, "acme-brakes");
    let (maker_cookie, _) = sign_in(&client, &w, &maker).await;
    let case = signed_in_page(
        &client,
        w.server
            .url("/dashboard/codes/06901234567892/PAGE0001?lang=en"),
        &maker_cookie,
    )
    .await;
    assert!(case.contains("Undoes event #1 ("), "{case}");
    w.server.shutdown().await;
}

/// The station's recent scans and their Undo are the shop's, not one sign-in's: a second device
/// (or the next day's sign-in) sees the list and can undo from it, within the correction window.
#[tokio::test]
async fn recent_scans_follow_the_shop_across_sign_ins_and_devices() {
    let w = world().await;
    let client = no_redirects();
    let shop_token = token(&w.server.registry, "shop-a");
    let counter = station(&client, &w, &shop_token).await;
    let received = station_scan(&client, &w, &counter, &w.uris[2]).await;
    assert_eq!(received["class"], "ok", "{received}");
    let row = received["id"].to_string();
    // The phone in the workshop: a sign-in of its own.
    let (phone, _) = sign_in(&client, &w, &shop_token).await;
    let html = signed_in_page(&client, w.server.url("/shop?lang=en"), &phone).await;
    assert!(html.contains(&format!(r#"id="row-{row}""#)), "{html}");
    assert!(html.contains("(21)PAGE0002"), "{html}");
    assert!(
        html.contains(r#"action="/shop/undo""#),
        "Undo offered: {html}"
    );
    // Undone from the phone: the counter sees it undone.
    let phone_csrf = csrf_of(&html);
    let undone = station_post(
        &client,
        &w,
        &phone,
        "/shop/undo",
        &[("csrf", &phone_csrf), ("row", &row)],
    )
    .await;
    assert_eq!(undone.status().as_u16(), 303);
    let counter_page = signed_in_page(&client, w.server.url("/shop?lang=en"), &counter.0).await;
    assert!(counter_page.contains("Undone: this scan"), "{counter_page}");
    assert!(
        !counter_page.contains(r#"action="/shop/undo""#),
        "{counter_page}"
    );
    let history = history_of(&w, &w.uris[2]);
    assert_eq!(history.record.custody.custody.name(), "at_manufacturer");
    // Another shop's station shows none of it.
    let (other, _) = sign_in(&client, &w, &token(&w.server.registry, "shop-b")).await;
    let theirs = signed_in_page(&client, w.server.url("/shop?lang=en"), &other).await;
    assert!(!theirs.contains("(21)PAGE0002"), "{theirs}");
    w.server.shutdown().await;
}
