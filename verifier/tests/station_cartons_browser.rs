//! A pallet received at the station in headless Chromium at a phone's 360×740 viewport: the page's
//! script shows the pallet's row with every part under its inner carton, nothing wider than the
//! screen (long codes wrap), and the row's Undo takes the whole pallet back.

#![allow(clippy::unwrap_used)]

use fantoccini::Locator;
use registry::{CodeKey, Role};
use signer::{CompanyPrefix, SignedCode, Sscc};
use testkit::browser::{browser, click, wait_text};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;
use verifier::pages::i18n::{EN, Texts};

const ENTER: &str = "\u{e007}";

fn sscc(n: u64) -> Sscc {
    Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), n).unwrap()
}

#[tokio::test]
async fn the_script_shows_a_pallets_parts_at_phone_width_and_undoes_it_whole() {
    let server = start(Overrides {
        rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let r = server.registry.clone();
    let authority = signer::keys::generate();
    let maker = certify(&r, &authority, "acme-brakes", "690123", 1);
    add_party(&r, "shop-a", Role::Shop, "Guangdong");
    // Serials as long as GS1 allows: the longest codes a row lists.
    let parts: Vec<SignedCode> = codes(&maker.key, "LONGSERIAL-PALLE", 4);
    r.register(&parts, Some(&maker.id), now()).unwrap();
    let keys: Vec<CodeKey> = parts.iter().map(|c| CodeKey::of(&c.part)).collect();
    let typed = |keys: &[CodeKey]| keys.iter().map(|k| (k.clone(), None)).collect::<Vec<_>>();
    r.pack_carton(&maker.id, &sscc(1), &typed(&keys[..2]), &[], now())
        .unwrap();
    r.pack_carton(&maker.id, &sscc(2), &typed(&keys[2..]), &[], now())
        .unwrap();
    r.pack_carton(&maker.id, &sscc(100), &[], &[sscc(1), sscc(2)], now())
        .unwrap();
    r.ship_carton(&maker.id, &sscc(100), &party("shop-a"), now())
        .unwrap();

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

    // The pallet's QR code, typed by a scanner into the focused input.
    let link = format!("{}/00/{}", server.base(), sscc(100));
    c.active_element()
        .await
        .unwrap()
        .send_keys(&format!("{link}{ENTER}"))
        .await
        .unwrap();
    let row = wait_text(&c, "#scan-list li", |s| s.contains("4 parts received")).await;
    for key in &keys {
        // The code may wrap anywhere: compare without the breaks.
        let flat = row.replace('\n', "");
        assert!(flat.contains(&key.to_string()), "{key} not in {row}");
    }
    for inner in [sscc(1), sscc(2)] {
        assert!(
            row.contains(&t.carton_group.replace("{sscc}", inner.as_str())),
            "{row}"
        );
    }
    let listed = c
        .find_all(Locator::Css("#scan-list > li .carton-parts li.ok"))
        .await
        .unwrap();
    assert_eq!(listed.len(), 4);
    // Nothing sticks out of a 360-pixel screen.
    let wide = c
        .execute(
            "return Math.max(document.documentElement.scrollWidth, \
             ...Array.from(document.querySelectorAll('#scan-list *')).map(e => e.getBoundingClientRect().right));",
            vec![],
        )
        .await
        .unwrap();
    assert!(wide.as_f64().unwrap() <= 360.0, "the page is {wide}px wide");
    c.execute(
        "document.getElementById('scan-list').scrollIntoView();",
        vec![],
    )
    .await
    .unwrap();
    let png = c.screenshot().await.unwrap();
    let shots = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    std::fs::write(shots.join("station-pallet-360.png"), png).unwrap();

    // One Undo for the pallet.
    click(&c, "#scan-list li form[action='/shop/undo'] button").await;
    wait_text(&c, "#scan-list li", |s| s.contains("Undone: carton")).await;
    for key in &keys {
        let record = r.status(key).unwrap().unwrap().record;
        assert_eq!(record.custody.custody.name(), "in_transit", "{key}");
    }
    server.shutdown().await;
}
