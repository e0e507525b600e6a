//! The pages in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`,
//! which `.ci/run` installs) driven over WebDriver at a phone's 360×740 viewport. One browser for
//! the whole file, so the wall time stays a few seconds beyond Chromium's start.
//!
//! It asserts what a person sees: the owner page's verdict for each verdict in Chinese and
//! English, the warning, the forms; the shop station fed keystrokes as a scanner types them
//! (several parts fast, then a cloned label flagged and sounded); and the maker's dashboard. A
//! second test takes the answers a phone used to get as raw JSON or an unexplained refusal: the
//! rate limit's page, a product link without a serial, numbers typed from under a barcode.
//! Screenshots go to `target/tmp/screenshots/` (some are copied to `docs/screenshots/`).

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use registry::{Action, CodeKey, PartyId, Role, Vin};
use signer::{Gtin, PartId, Serial, SignedCode};
use testkit::browser::{browser, click, text, wait_text};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;
use verifier::pages::i18n::{EN, Texts, ZH};

const ENTER: &str = "\u{e007}";
/// The contrast ratio (WCAG 2) of the verdict box's text colour against its background.
const CONTRAST: &str = r#"
const box = document.getElementById("verdict");
const style = getComputedStyle(box);
const rgb = s => s.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
const lum = c => {
  const [r, g, b] = c.map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const a = lum(rgb(style.color)), b = lum(rgb(style.backgroundColor));
return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
"#;
const VIN: &str = "LSVAU218XN2183294";
const OTHER_VIN: &str = "1M8GDM9AXKP042788";

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

#[tokio::test]
async fn people_see_the_pages_in_a_phone_sized_browser() {
    let server = start(Overrides {
        rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let r = server.registry.clone();
    let authority = signer::keys::generate();
    let maker = certify(&r, &authority, "acme-brakes", "690123", 1);
    add_party(&r, "shop-a", Role::Shop, "Guangdong");
    add_party(&r, "shop-b", Role::Shop, "Zhejiang");
    let base = server.base();
    let shop_a = PartyId::parse("shop-a").unwrap();
    let shop_b = PartyId::parse("shop-b").unwrap();
    let vin = Vin::parse(VIN).unwrap();

    // One registered code per verdict the registry decides, and the ones it cannot.
    let names = [
        "genuine",
        "installed",
        "clone",
        "anomaly",
        "recalled",
        "voided",
        "destroyed",
    ];
    let codes: Vec<SignedCode> = names
        .iter()
        .map(|n| code(&maker.key, &n.to_uppercase()))
        .collect();
    let fresh: Vec<SignedCode> = (0..6)
        .map(|i| code(&maker.key, &format!("FRESH{i}")))
        .collect();
    let all: Vec<SignedCode> = codes.iter().chain(&fresh).cloned().collect();
    r.register(&all, Some(&maker.id), now()).unwrap();
    let key = |c: &SignedCode| CodeKey::of(&c.part);
    r.record_genuine_scan(&key(&codes[1]), &shop_b, Action::Receive, now())
        .unwrap();
    r.record_genuine_scan(&key(&codes[1]), &shop_b, Action::Install { vin }, now())
        .unwrap();
    r.record_genuine_scan(&key(&codes[2]), &shop_b, Action::Receive, now())
        .unwrap();
    r.record_genuine_scan(&key(&codes[2]), &shop_b, Action::Install { vin }, now())
        .unwrap();
    r.record_genuine_scan(&key(&codes[2]), &shop_a, Action::Receive, now())
        .unwrap();
    r.record_genuine_scan(&key(&codes[3]), &shop_b, Action::Receive, now())
        .unwrap();
    r.record_genuine_scan(&key(&codes[3]), &shop_b, Action::Install { vin }, now())
        .unwrap();
    for i in 0..8u8 {
        let ctx = r.scan_context(std::net::IpAddr::from([10, i, 0, 1]), Some("Guangdong"));
        r.record_scan(&key(&codes[3]), &ctx, now()).unwrap();
    }
    let recall = Action::Recall {
        reason: "brake fluid seal".into(),
    };
    r.record_genuine_scan(&key(&codes[4]), &maker.id, recall, now())
        .unwrap();
    let void = Action::Decommission {
        reason: "misprint".into(),
    };
    r.record_genuine_scan(&key(&codes[5]), &maker.id, void, now())
        .unwrap();
    r.record_genuine_scan(&key(&codes[6]), &shop_b, Action::Receive, now())
        .unwrap();
    let destroy = Action::Destroy {
        reason: "damaged".into(),
    };
    r.record_genuine_scan(&key(&codes[6]), &shop_b, destroy, now())
        .unwrap();
    // A shop's clone: this fresh code is fitted to another car before shop A receives it.
    let cloned = &fresh[5];
    r.record_genuine_scan(&key(cloned), &shop_b, Action::Receive, now())
        .unwrap();
    let other = Vin::parse(OTHER_VIN).unwrap();
    r.record_genuine_scan(&key(cloned), &shop_b, Action::Install { vin: other }, now())
        .unwrap();

    // A second maker whose key is then reported stolen.
    let stolen = certify(&r, &authority, "bolt-works", "690124", 2);
    let revoked = SignedCode::sign(
        PartId {
            gtin: Gtin::parse("06901240000017").unwrap(),
            lot: None,
            serial: Serial::parse("STOLEN1").unwrap(),
        },
        &stolen.key,
    );
    r.register(std::slice::from_ref(&revoked), Some(&stolen.id), now())
        .unwrap();
    let list = signer::RevocationList::issue(
        1,
        now(),
        vec![signer::Revocation {
            cert_serial: 2,
            key_id: stolen.cert.key_id(),
            reason: signer::RevocationReason::KeyCompromise,
            effective_at: now().plus_days(-1),
        }],
        &authority,
    )
    .unwrap();
    r.set_revocations(list, now()).unwrap();

    let unregistered = code(&maker.key, "NEVERREG").to_uri(&base);
    let forged = code(&signer::keys::generate(), "FORGED1").to_uri(&base);
    let mut cases: Vec<(&str, String)> = vec![
        ("genuine", codes[0].to_uri(&base)),
        ("genuine_installed", codes[1].to_uri(&base)),
        ("duplicate_suspected", codes[2].to_uri(&base)),
        ("scan_anomaly", codes[3].to_uri(&base)),
        ("recalled", codes[4].to_uri(&base)),
        ("voided", codes[5].to_uri(&base)),
        ("destroyed", codes[6].to_uri(&base)),
        ("issuer_revoked", revoked.to_uri(&base)),
        ("forged", forged),
        ("unregistered", unregistered),
    ];
    cases.push(("data_error", server.url("/01/06901234567893/21/BAD")));

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;

    // ---- The owner's page, every verdict, both languages ----
    for (lang, t) in [("zh-CN", &ZH), ("en", &EN)] {
        for (verdict, uri) in &cases {
            let sep = if uri.contains('?') { '&' } else { '?' };
            c.goto(&format!("{uri}{sep}lang={lang}")).await.unwrap();
            let html_lang = c
                .find(Locator::Css("html"))
                .await
                .unwrap()
                .attr("lang")
                .await
                .unwrap();
            assert_eq!(html_lang.as_deref(), Some(lang));
            let shown = c.find(Locator::Css("#verdict")).await.unwrap();
            assert_eq!(
                shown.attr("data-verdict").await.unwrap().as_deref(),
                Some(*verdict)
            );
            let words = text(&c, "#verdict h1").await;
            assert_eq!(words, t.verdict(verdict).headline, "{verdict} in {lang}");
            let badge = text(&c, "#verdict .badge").await;
            assert!(
                !badge.is_empty(),
                "{verdict}: an icon and words, not colour alone"
            );
            let warns = !matches!(*verdict, "genuine" | "data_error");
            let advice = c.find_all(Locator::Css("#advice")).await.unwrap();
            let report = c
                .find_all(Locator::Css("form[action='/owner/report']"))
                .await
                .unwrap();
            let vehicle = c
                .find_all(Locator::Css("form[action='/owner/vehicle-check']"))
                .await
                .unwrap();
            assert_eq!(advice.len(), usize::from(warns), "{verdict} {lang}");
            assert_eq!(report.len(), usize::from(warns), "{verdict} {lang}");
            assert_eq!(vehicle.len(), usize::from(warns), "{verdict} {lang}");
            if warns {
                assert!(advice[0].is_displayed().await.unwrap());
            }
            // A part recorded in a car: the owner's VIN question right after the verdict, above
            // the part's details and the report form.
            if matches!(*verdict, "genuine_installed" | "duplicate_suspected") {
                let order = c
                    .execute(
                        "const y = s => document.querySelector(s).getBoundingClientRect().top; \
                         return [y('#verdict'), y('#vehicle-first'), y('#report')];",
                        vec![],
                    )
                    .await
                    .unwrap();
                let y: Vec<f64> = order
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect();
                assert!(y[0] < y[1] && y[1] < y[2], "{verdict} {lang}: {y:?}");
                let question = c.find(Locator::Css("#vehicle-first")).await.unwrap();
                assert!(question.is_displayed().await.unwrap());
                assert_eq!(question.text().await.unwrap(), t.vehicle_first);
            }
            // WCAG AA: the verdict's text against its background, at least 4.5:1.
            let ratio = c.execute(CONTRAST, vec![]).await.unwrap().as_f64().unwrap();
            assert!(ratio >= 4.5, "{verdict}: contrast {ratio:.2}");
            // The typed lookup is always there.
            c.find(Locator::Css("#lookup-gtin")).await.unwrap();
            // Nothing sticks out of a 360-pixel screen.
            let wide = c
                .execute("return document.documentElement.scrollWidth;", vec![])
                .await
                .unwrap();
            assert!(
                wide.as_u64().unwrap() <= 360,
                "{verdict} {lang} is {wide}px wide"
            );
            if matches!(*verdict, "genuine" | "duplicate_suspected") {
                shot(&c, &format!("owner-{verdict}-{lang}")).await;
            }
        }
    }
    // The switch keeps the code and changes the language.
    c.goto(&cases[0].1).await.unwrap();
    c.find(Locator::Css("header a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let switched = wait_text(&c, "#verdict h1", |t| !t.is_empty()).await;
    assert!(
        switched == EN.verdict("genuine").headline || switched == ZH.verdict("genuine").headline
    );

    // The owner reports the clone and checks their car, with the keyboard.
    c.goto(&format!("{}&lang=en", cases[2].1)).await.unwrap();
    c.find(Locator::Css("#report-text"))
        .await
        .unwrap()
        .send_keys("Sold to me as new at a roadside stall")
        .await
        .unwrap();
    c.find(Locator::Css("form[action='/owner/report'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let confirmed = wait_text(&c, "#answer", |t| t.contains(EN.report_thanks)).await;
    // The confirmation is neutral, gives the reference to quote, repeats what the check said,
    // and leads back to the label.
    assert!(
        confirmed.contains(EN.verdict("duplicate_suspected").headline),
        "{confirmed}"
    );
    let reference = r.reports(&maker.id).unwrap()[0].id.clone();
    assert!(
        confirmed.contains(&format!("{}{reference}", EN.report_your_reference)),
        "{confirmed}"
    );
    let answer_class = c
        .find(Locator::Css("#answer"))
        .await
        .unwrap()
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(answer_class.contains("info"), "{answer_class}");
    let back = c
        .find(Locator::Css("main p a"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        back.starts_with("/01/"),
        "back to the scanned label: {back}"
    );
    shot(&c, "owner-report-sent-en").await;
    assert_eq!(r.reports(&maker.id).unwrap().len(), 1);
    c.goto(&format!("{}&lang=zh-CN", cases[1].1)).await.unwrap();
    let vin_input = c.find(Locator::Css("#vehicle-vin")).await.unwrap();
    vin_input.send_keys(&format!("{VIN}{ENTER}")).await.unwrap();
    let yes = ZH.vehicle_yes.split("{date}").next().unwrap();
    wait_text(&c, "#answer", |t| t.contains(yes)).await;
    shot(&c, "owner-vehicle-check-zh-CN").await;

    // ---- The shop's station ----
    let t: &Texts = &EN;
    c.goto(&server.url("/shop?lang=en")).await.unwrap();
    let token_a = token(&r, "shop-a");
    c.find(Locator::Css("#signin-token"))
        .await
        .unwrap()
        .send_keys(&format!("{token_a}{ENTER}"))
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#scan-code"))
        .await
        .unwrap();
    // On a phone the mode and its banner come first, above the scan box and the list.
    let banner = text(&c, "#mode-banner").await;
    assert_eq!(
        banner.trim_start_matches("📦 "),
        t.receiving_banner,
        "{banner}"
    );
    let order = c
        .execute(
            "const y = s => document.querySelector(s).getBoundingClientRect().top; \
             return y('#mode-banner') < y('#mode-select') \
                 && y('#mode-select') < y('#scan-code') && y('#scan-code') < y('#scan-list');",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(order, serde_json::Value::Bool(true));
    // The scan input has the focus: the scanner types straight into it.
    let focused = c.active_element().await.unwrap();
    assert_eq!(
        focused.attr("id").await.unwrap().as_deref(),
        Some("scan-code")
    );
    // Five parts as fast as a scanner types them, then the clone.
    for part in &fresh[..5] {
        c.active_element()
            .await
            .unwrap()
            .send_keys(&format!("{}{ENTER}", part.to_uri(&base)))
            .await
            .unwrap();
    }
    c.active_element()
        .await
        .unwrap()
        .send_keys(&format!("{}{ENTER}", cloned.to_uri(&base)))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let rows = loop {
        let rows = c.find_all(Locator::Css("#scan-list li")).await.unwrap();
        let mut classes = Vec::new();
        for row in &rows {
            classes.push(row.attr("class").await.unwrap().unwrap_or_default());
        }
        if rows.len() == 6 && !classes.iter().any(|c| c == "pending") {
            break rows;
        }
        assert!(Instant::now() < deadline, "{classes:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let newest = rows[0].text().await.unwrap();
    assert!(newest.contains(t.row_conflict), "{newest}");
    assert_eq!(
        rows[0].attr("class").await.unwrap().as_deref(),
        Some("danger")
    );
    for row in &rows[1..] {
        assert!(row.text().await.unwrap().contains(t.row_received));
    }
    let alarms = c
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .attr("data-alarms")
        .await
        .unwrap();
    assert_eq!(alarms.as_deref(), Some("1"), "the clone sounds once");
    // Every fast scan was recorded once, none lost or merged.
    for part in &fresh[..5] {
        let history = r.history(&key(part)).unwrap().unwrap();
        assert_eq!(history.events.len(), 2, "{:?}", part.part.serial);
    }
    shot(&c, "shop-station-en").await;

    // Install mode, with the keyboard: a bad VIN is refused, a good one takes the next scan.
    c.find(Locator::Css("#mode-select"))
        .await
        .unwrap()
        .select_by_value("install")
        .await
        .unwrap();
    c.find(Locator::Css("#mode-vin"))
        .await
        .unwrap()
        .send_keys(&format!("{VIN}{ENTER}"))
        .await
        .unwrap();
    wait_text(&c, "#mode-banner", |t| t.contains(VIN)).await;
    c.active_element()
        .await
        .unwrap()
        .send_keys(&format!("{}{ENTER}", fresh[0].to_uri(&base)))
        .await
        .unwrap();
    wait_text(&c, "#scan-list li", |s| s.contains(t.row_installed)).await;
    c.goto(&server.url(&format!("/shop/vehicle?vin={VIN}")))
        .await
        .unwrap();
    let record = text(&c, "table").await;
    assert!(record.contains("FRESH0"), "{record}");

    // ---- The maker's dashboard ----
    c.goto(&server.url("/dashboard?lang=en")).await.unwrap();
    let token_m = token(&r, "acme-brakes");
    c.find(Locator::Css("#signin-token"))
        .await
        .unwrap()
        .send_keys(&format!("{token_m}{ENTER}"))
        .await
        .unwrap();
    let alerts = wait_text(&c, "#alerts", |t| t.contains("Alerts")).await;
    assert!(alerts.contains("(3)") || alerts.contains("(4)"), "{alerts}");
    let page = text(&c, "main").await;
    assert!(page.contains("FRESH5"), "the station's clone is an alert");
    assert!(page.contains("CLONE"));
    assert!(page.contains("Sold to me as new"));
    c.find(Locator::Css("#chart-days svg")).await.unwrap();
    c.find(Locator::Css("#chart-regions svg")).await.unwrap();
    shot(&c, "dashboard-en").await;
    let charts = c.find(Locator::Css("#charts")).await.unwrap();
    let png = charts.screenshot().await.unwrap();
    std::fs::write(shots().join("dashboard-charts-en.png"), png).unwrap();
    c.find(Locator::Css(".alert button[value='investigating']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, ".alert .state", |s| s.contains(EN.state_investigating)).await;

    c.close().await.unwrap();
    server.shutdown().await;
}

/// The answers a phone used to get as raw English JSON or an unexplained "cannot read": the rate
/// limit's page, a product's page from a Digital Link without a serial, and numbers typed from
/// under a barcode, each in Chinese and English at 360×740.
#[tokio::test]
async fn a_phone_gets_limits_products_and_typed_numbers_as_pages() {
    let server = start(Overrides {
        rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let r = server.registry.clone();
    let authority = signer::keys::generate();
    let maker = certify(&r, &authority, "acme-brakes", "690123", 1);
    let part = code(&maker.key, "PAGE0001");
    r.register(std::slice::from_ref(&part), Some(&maker.id), now())
        .unwrap();
    // A second server whose limit is one request a minute, so the second request meets it.
    let limited = start(Overrides {
        rate_limit: Some(1),
        ..Overrides::default()
    })
    .await;

    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;
    let fits_the_screen = async |c: &Client, what: &str| {
        let wide = c
            .execute("return document.documentElement.scrollWidth;", vec![])
            .await
            .unwrap();
        assert!(wide.as_u64().unwrap() <= 360, "{what} is {wide}px wide");
    };
    let value = async |c: &Client, css: &str| {
        c.find(Locator::Css(css))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default()
    };

    for (lang, t) in [("zh-CN", &ZH), ("en", &EN)] {
        // ---- Over the rate limit ----
        c.goto(&limited.url(&format!("/?lang={lang}")))
            .await
            .unwrap();
        c.goto(&limited.url(&format!("/?lang={lang}")))
            .await
            .unwrap();
        let problem = c.find(Locator::Css("#problem")).await.unwrap();
        assert_eq!(
            problem.attr("data-status").await.unwrap().as_deref(),
            Some("429")
        );
        assert_eq!(text(&c, "#problem h1").await, t.error_rate_limited.headline);
        let retry = text(&c, "#retry").await;
        let secs: u64 = retry
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&secs), "{retry}");
        assert_eq!(retry, t.retry_in.replace("{secs}", &secs.to_string()));
        fits_the_screen(&c, "the 429 page").await;
        shot(&c, &format!("error-429-{lang}")).await;

        // ---- A Digital Link without a serial: the product, and a request for the part's label ----
        c.goto(&server.url(&format!("/01/6901234567892?lang={lang}")))
            .await
            .unwrap();
        assert_eq!(text(&c, "#product h1").await, t.product_heading);
        assert!(text(&c, "#product").await.contains(t.product_scan_own));
        let maker_shown = text(&c, "#product-maker").await;
        assert!(
            maker_shown.contains("acme-brakes 汽车零部件有限公司")
                && maker_shown.contains(t.certified.trim_start_matches("✔ ")),
            "{maker_shown}"
        );
        assert_eq!(value(&c, "#lookup-gtin").await, "06901234567892");
        fits_the_screen(&c, "the product page").await;
        shot(&c, &format!("product-{lang}")).await;
        // The serial typed in small letters, as a phone keyboard gives it, finds the part.
        c.find(Locator::Css("#lookup-serial"))
            .await
            .unwrap()
            .send_keys(&format!("page0001{ENTER}"))
            .await
            .unwrap();
        // Typed numbers are never presented as a checked label.
        let typed = t.verdict("registered_numbers").headline;
        wait_text(&c, "#verdict h1", |s| s == typed).await;

        // ---- The 13 digits under a barcode, typed on the landing page ----
        c.goto(&server.url(&format!("/?lang={lang}")))
            .await
            .unwrap();
        assert_eq!(text(&c, "#home").await, t.home_heading);
        c.find(Locator::Css("#lookup-gtin"))
            .await
            .unwrap()
            .send_keys("6901234567892")
            .await
            .unwrap();
        c.find(Locator::Css("#lookup-serial"))
            .await
            .unwrap()
            .send_keys(&format!("PAGE0001{ENTER}"))
            .await
            .unwrap();
        wait_text(&c, "#verdict h1", |s| s == typed).await;
        let shown = c.find(Locator::Css("#verdict")).await.unwrap();
        assert_eq!(
            shown.attr("data-verdict").await.unwrap().as_deref(),
            Some("registered_numbers")
        );
        fits_the_screen(&c, "the typed lookup's verdict").await;
        shot(&c, &format!("typed-13-digits-{lang}")).await;

        // A wrong last digit: what is wrong, and the form still holds what was typed.
        c.goto(&server.url(&format!("/?lang={lang}")))
            .await
            .unwrap();
        c.find(Locator::Css("#lookup-gtin"))
            .await
            .unwrap()
            .send_keys("6901234567893")
            .await
            .unwrap();
        c.find(Locator::Css("#lookup-serial"))
            .await
            .unwrap()
            .send_keys(&format!("PAGE0001{ENTER}"))
            .await
            .unwrap();
        let said = wait_text(&c, "#typed-problem", |s| !s.is_empty()).await;
        assert!(
            said.contains(&t.typed_gtin_check.replace("{digit}", "2")),
            "{said}"
        );
        assert_eq!(value(&c, "#lookup-gtin").await, "6901234567893");
        assert_eq!(value(&c, "#lookup-serial").await, "PAGE0001");
        let invalid = c
            .find(Locator::Css("#lookup-gtin"))
            .await
            .unwrap()
            .attr("aria-invalid")
            .await
            .unwrap();
        assert_eq!(invalid.as_deref(), Some("true"));
        assert!(text(&c, "#lookup-where").await.contains("(21)"));
        fits_the_screen(&c, "the typed mistake").await;
        shot(&c, &format!("typed-mistake-{lang}")).await;
    }

    c.close().await.unwrap();
    limited.shutdown().await;
    server.shutdown().await;
}

/// Switches the station's mode with its form, as an operator does.
async fn set_mode(c: &Client, mode: &str, vin: &str) {
    c.find(Locator::Css("#mode-select"))
        .await
        .unwrap()
        .select_by_value(mode)
        .await
        .unwrap();
    let input = c.find(Locator::Css("#mode-vin")).await.unwrap();
    input.clear().await.unwrap();
    input.send_keys(&format!("{vin}{ENTER}")).await.unwrap();
}

/// Types a scan into the focused input, as a scanner does.
async fn scan(c: &Client, uri: &str) {
    c.active_element()
        .await
        .unwrap()
        .send_keys(&format!("{uri}{ENTER}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn the_station_asks_about_its_own_parts_undoes_and_confirms_a_european_vin() {
    let server = start(Overrides {
        rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let r = server.registry.clone();
    let authority = signer::keys::generate();
    let maker = certify(&r, &authority, "acme-brakes", "690123", 1);
    add_party(&r, "shop-a", Role::Shop, "Guangdong");
    let base = server.base();
    let parts: Vec<SignedCode> = (0..3)
        .map(|i| code(&maker.key, &format!("OWN{i}")))
        .collect();
    r.register(&parts, Some(&maker.id), now()).unwrap();
    r.record_genuine_scan(
        &CodeKey::of(&parts[2].part),
        &maker.id,
        Action::Recall {
            reason: "friction layer may crack".into(),
        },
        now(),
    )
    .unwrap();
    let key = |c: &SignedCode| CodeKey::of(&c.part);
    let profile = tempfile::tempdir().unwrap();
    let (_driver, c) = browser(profile.path()).await;
    let t: &Texts = &EN;

    c.goto(&server.url("/shop?lang=en")).await.unwrap();
    c.find(Locator::Css("#signin-token"))
        .await
        .unwrap()
        .send_keys(&format!("{}{ENTER}", token(&r, "shop-a")))
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#scan-code"))
        .await
        .unwrap();

    // The shop installs a part, then scans it again with the station back in receive mode.
    set_mode(&c, "install", VIN).await;
    wait_text(&c, "#mode-banner", |s| s.contains(VIN)).await;
    scan(&c, &parts[0].to_uri(&base)).await;
    wait_text(&c, "#scan-list li", |s| s.contains(t.row_installed)).await;
    assert_eq!(
        text(&c, "#scan-list li form[action='/shop/undo'] button").await,
        t.undo
    );
    set_mode(&c, "receive", "").await;
    c.wait()
        .for_element(Locator::Css("#scan-code"))
        .await
        .unwrap();
    scan(&c, &parts[0].to_uri(&base)).await;
    let asked = wait_text(&c, "#scan-list li", |s| s.contains("…3294")).await;
    assert!(asked.contains("Record it as removed"), "{asked}");
    for button in [t.ask_remove, t.ask_anyway, t.ask_cancel] {
        assert!(asked.contains(button), "{asked}");
    }
    // Nothing recorded yet: the part is not a clone of itself.
    let history = r.history(&key(&parts[0])).unwrap().unwrap();
    assert_eq!(history.events.len(), 2);
    assert!(history.record.flags.duplicate.is_empty());
    shot(&c, "shop-wrong-mode-en").await;

    // Record the removal: a removing event naming that vehicle.
    click(&c, "#scan-list li button[value='remove']").await;
    wait_text(&c, "#scan-list li", |s| s.contains(t.row_removed)).await;
    let history = r.history(&key(&parts[0])).unwrap().unwrap();
    assert_eq!(
        history.events.last().unwrap().what,
        registry::event::What::Action(Action::Remove {
            vin: Some(Vin::parse(VIN).unwrap())
        })
    );

    // Undo it: a correcting event, and the part is back in the car.
    click(&c, "#scan-list li form[action='/shop/undo'] button").await;
    wait_text(&c, "#scan-list li", |s| s.contains(t.row_undone)).await;
    let history = r.history(&key(&parts[0])).unwrap().unwrap();
    assert!(matches!(
        history.events.last().unwrap().what,
        registry::event::What::Action(Action::Correct { corrects: 2, .. })
    ));
    assert!(matches!(
        history.record.custody.custody,
        registry::Custody::Installed { .. }
    ));
    shot(&c, "shop-undo-en").await;

    // A recalled part stops the install with the reason until the shop chooses.
    set_mode(&c, "install", VIN).await;
    wait_text(&c, "#mode-banner", |s| s.contains(VIN)).await;
    scan(&c, &parts[2].to_uri(&base)).await;
    let stopped = wait_text(&c, "#scan-list li", |s| {
        s.contains("friction layer may crack")
    })
    .await;
    assert!(stopped.contains(t.install_anyway), "{stopped}");
    let row = c.find(Locator::Css("#scan-list li")).await.unwrap();
    assert_eq!(row.attr("role").await.unwrap().as_deref(), Some("alert"));
    assert_eq!(r.history(&key(&parts[2])).unwrap().unwrap().events.len(), 2);
    shot(&c, "shop-recalled-en").await;
    click(&c, "#scan-list li button[value='override']").await;
    wait_text(&c, "#scan-list li", |s| {
        s.contains(t.row_installed_override)
    })
    .await;
    assert!(
        r.history(&key(&parts[2]))
            .unwrap()
            .unwrap()
            .events
            .last()
            .unwrap()
            .recall_override
    );

    // A European VIN in Chinese: the station asks to compare it with the registration
    // certificate, and takes it once confirmed.
    let zh: &Texts = &ZH;
    c.goto(&server.url("/shop?lang=zh-CN")).await.unwrap();
    set_mode(&c, "install", "WVWZZZ1JZXW000001").await;
    let asked = wait_text(&c, "#vin-confirm", |s| s.contains("行驶证")).await;
    assert!(asked.contains(zh.vin_confirm), "{asked}");
    assert!(c.find(Locator::Css("#mode-banner")).await.is_err());
    shot(&c, "shop-vin-confirm-zh-CN").await;
    click(&c, "#vin-confirm-yes").await;
    wait_text(&c, "#mode-banner", |s| s.contains(zh.vin_confirmed_note)).await;
    c.find(Locator::Css("#scan-code"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    scan(&c, &parts[1].to_uri(&base)).await;
    wait_text(&c, "#scan-list li", |s| s.contains(zh.row_installed)).await;
    let history = r.history(&key(&parts[1])).unwrap().unwrap();
    assert!(history.events.last().unwrap().vin_confirmed);

    c.close().await.unwrap();
    server.shutdown().await;
}
