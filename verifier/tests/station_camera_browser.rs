//! The station scans with the phone's camera, in a real browser fed a real label: the labels crate
//! renders a registered item label (and a carton label) as PNG, the testkit turns it into a Y4M
//! video, and headless Chromium plays that as its camera (`--use-fake-device-for-media-stream
//! --use-file-for-fake-video-capture`), with camera permission granted as by a tap
//! (`--use-fake-ui-for-media-stream`), at a phone's 360x740. The registry, not the page, says what
//! was recorded.
//!
//! Headless Chromium on Linux has no `BarcodeDetector`, so these tests exercise the vendored jsQR
//! decoder (they assert that it is the one that read). One browser per test: the fake camera is
//! chosen when Chromium starts. Sled is enough: the station records through the same path as a
//! typed scan, which the other tests run on both engines. Screenshots go to
//! `target/tmp/screenshots/`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use labels::carton::{CartonLabel, CartonPngRenderer};
use labels::{Label, Layout, PngRenderer};
use registry::{Action, CodeKey, PartyId, Role};
use signer::{CompanyPrefix, Sscc};
use testkit::browser::{browser_with, click, wait_text};
use testkit::camera::{GreyPicture, fake_camera_args, write_y4m};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;
use verifier::pages::i18n::{EN, Texts, ZH};

const ENTER: &str = "\u{e007}";

fn shots() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    std::fs::write(shots().join(format!("{name}.png")), png).unwrap();
}

/// `png` as the camera's video: ten frames (a second, looped by Chromium) in `dir`.
fn camera_video(dir: &Path, png: &[u8]) -> PathBuf {
    let video = dir.join("camera.y4m");
    write_y4m(&video, &GreyPicture::from_png(png), 10);
    video
}

/// A browser whose camera shows `video`, signed in to the station as `shop` in English.
async fn station_with_camera(
    server: &Server,
    profile: &Path,
    video: &Path,
    shop: &str,
) -> (testkit::browser::Driver, Client) {
    let (driver, c) = browser_with(profile, &fake_camera_args(video)).await;
    c.goto(&server.url("/shop?lang=en")).await.unwrap();
    c.find(Locator::Css("#signin-token"))
        .await
        .unwrap()
        .send_keys(&format!("{}{ENTER}", token(&server.registry, shop)))
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("#scan-code"))
        .await
        .unwrap();
    (driver, c)
}

/// The value of attribute `name` of the element `css`, or "".
async fn attr(c: &Client, css: &str, name: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .attr(name)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// Waits (at most 30 s: decoding in a loaded machine's browser) until `css`'s attribute `name` is
/// `want`.
async fn wait_attr(c: &Client, css: &str, name: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = attr(c, css, name).await;
        if now == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{css}[{name}] is {now:?}, not {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Opens the camera and waits for the first read.
async fn scan_with_camera(c: &Client, t: &Texts) {
    assert!(
        c.find(Locator::Css("#camera"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap(),
        "the camera button is shown where the browser has a camera"
    );
    assert_eq!(
        c.find(Locator::Css("#camera-start"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        t.camera_start
    );
    // The decoder comes only with the camera.
    let loaded = c
        .execute("return typeof window.jsQR;", vec![])
        .await
        .unwrap();
    assert_eq!(loaded, "undefined");
    click(c, "#camera-start").await;
    wait_attr(c, "#camera", "data-reads", "1").await;
    assert_eq!(attr(c, "#camera", "data-decoder-used").await, "jsQR");
    wait_text(c, "#camera-status", |s| s.contains(t.camera_read)).await;
}

/// Stops the camera and checks it was released: every track of its stream ended.
async fn stop_camera(c: &Client) {
    // The stop button is pressed from script: under mobile emulation, a WebDriver click after the
    // page's script focused the scan input now and then lands a few dozen pixels off (on the
    // video), which no person's tap does.
    let released = c
        .execute(
            "const stream = document.getElementById('camera-video').srcObject; \
             document.getElementById('camera-stop').click(); \
             return [document.getElementById('camera-video').srcObject === null, \
                     stream.getTracks().map(t => t.readyState)];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        released,
        serde_json::json!([true, ["ended"]]),
        "the camera is released"
    );
    assert_eq!(attr(c, "#camera", "data-state").await, "closed");
    assert!(
        !c.find(Locator::Css("#camera-video"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn the_station_receives_an_item_label_seen_by_the_camera_once() {
    let server = start(Overrides {
        rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let r = server.registry.clone();
    let authority = signer::keys::generate();
    let maker = certify(&r, &authority, "acme-brakes", "690123", 1);
    add_party(&r, "shop-a", Role::Shop, "Guangdong");
    let part = code(&maker.key, "CAMERA1");
    r.register(std::slice::from_ref(&part), Some(&maker.id), now())
        .unwrap();
    let uri = part.to_uri(&server.base());
    // The item label as `partseal labels` prints it for the default sticker sheet, at 200 dpi: a
    // 500-pixel-wide label, its QR modules 4 pixels across.
    let png = PngRenderer::new(Layout::default(), 200)
        .unwrap()
        .render(&Label {
            uri: &uri,
            part: &part.part,
            name: Some("Front brake pad"),
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let video = camera_video(dir.path(), &png);
    let t: &Texts = &EN;
    let (_driver, c) =
        station_with_camera(&server, &dir.path().join("profile"), &video, "shop-a").await;

    scan_with_camera(&c, t).await;
    wait_text(&c, "#scan-list li", |s| s.contains(t.row_received)).await;
    assert_eq!(attr(&c, "#camera", "data-last").await, uri);
    // The label stays in front of the camera for a few more seconds (a dozen decoded frames):
    // still one read, one row, one receiving event.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(attr(&c, "#camera", "data-reads").await, "1");
    assert_eq!(
        c.find_all(Locator::Css("#scan-list li"))
            .await
            .unwrap()
            .len(),
        1
    );
    let history = r.history(&CodeKey::of(&part.part)).unwrap().unwrap();
    let received: Vec<_> = history
        .events
        .iter()
        .filter(|e| e.what == registry::event::What::Action(Action::Receive))
        .collect();
    assert_eq!(received.len(), 1, "{:?}", history.events);
    assert_eq!(received[0].actor, PartyId::parse("shop-a").unwrap());
    assert!(matches!(
        history.record.custody.custody,
        registry::Custody::Held { .. }
    ));
    shot(&c, "shop-camera-en").await;

    stop_camera(&c).await;
    // Typing keeps working beside the camera.
    assert!(
        c.find(Locator::Css("#scan-code"))
            .await
            .unwrap()
            .is_displayed()
            .await
            .unwrap()
    );
    server.shutdown().await;
}

#[tokio::test]
async fn the_station_sends_a_carton_label_seen_by_the_camera() {
    let server = start(Overrides {
        rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let r = server.registry.clone();
    add_party(&r, "shop-a", Role::Shop, "Guangdong");
    let sscc = Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), 42).unwrap();
    let uri = sscc.to_uri(&server.base());
    // The carton label (4 x 3 inches) at 150 dpi: 600 pixels wide, its modules 3 pixels across.
    let png = CartonPngRenderer::new(150)
        .unwrap()
        .render(&CartonLabel {
            uri: &uri,
            sscc: &sscc,
        })
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let video = camera_video(dir.path(), &png);
    let t: &Texts = &EN;
    let (_driver, c) =
        station_with_camera(&server, &dir.path().join("profile"), &video, "shop-a").await;

    scan_with_camera(&c, t).await;
    // What went to the station is the carton's Digital Link, once; what the station makes of a
    // carton is the carton rows' business.
    assert_eq!(attr(&c, "#camera", "data-last").await, uri);
    wait_text(&c, "#scan-list li", |s| !s.contains(t.row_pending)).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(attr(&c, "#camera", "data-reads").await, "1");
    assert_eq!(
        c.find_all(Locator::Css("#scan-list li"))
            .await
            .unwrap()
            .len(),
        1
    );
    shot(&c, "shop-camera-carton-en").await;
    stop_camera(&c).await;

    // A phone that refuses the camera: the reason in the page's language, and typing still works.
    for (lang, t) in [("en", &EN), ("zh-CN", &ZH)] {
        c.goto(&server.url(&format!("/shop?lang={lang}")))
            .await
            .unwrap();
        c.execute(
            "navigator.mediaDevices.getUserMedia = () => \
             Promise.reject(new DOMException('denied', 'NotAllowedError'));",
            vec![],
        )
        .await
        .unwrap();
        click(&c, "#camera-start").await;
        wait_text(&c, "#camera-status", |s| s == t.camera_denied).await;
        assert_eq!(attr(&c, "#camera-video", "hidden").await, "true");
    }
    shot(&c, "shop-camera-denied-zh-CN").await;
    let typed = Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), 43).unwrap();
    c.find(Locator::Css("#scan-code"))
        .await
        .unwrap()
        .send_keys(&format!("{}{ENTER}", typed.to_uri(&server.base())))
        .await
        .unwrap();
    wait_text(&c, "#scan-list li", |s| s.contains(typed.as_str())).await;
    assert_eq!(
        c.find_all(Locator::Css("#scan-list li"))
            .await
            .unwrap()
            .len(),
        2
    );
    server.shutdown().await;
}

/// The station names its scripts, and they are served to be cached for a year under names that
/// change with them; the decoder is jsQR as vendored, byte for byte.
#[tokio::test]
async fn the_station_names_its_scripts_and_they_are_served_cacheable() {
    let server = start(Overrides::default()).await;
    add_party(&server.registry, "shop-a", Role::Shop, "Guangdong");
    let client = no_redirects();
    let (cookie, _) = sign_in(
        &client,
        &server,
        "/shop",
        &token(&server.registry, "shop-a"),
    )
    .await;
    let html = client
        .get(server.url("/shop"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let camera_script = html
        .split("<script src=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert!(
        camera_script.starts_with("/assets/station-camera-") && camera_script.ends_with(".js"),
        "{camera_script}"
    );
    assert!(
        html.contains("data-decoder=\"/assets/jsQR-1.4.0.js\""),
        "{html}"
    );
    // The decoder is not on the page: it is fetched when the camera opens.
    assert!(!html.contains("src=\"/assets/jsQR"), "{html}");

    for (path, body) in [
        (
            camera_script,
            &include_bytes!("../assets/station-camera.js")[..],
        ),
        (
            "/assets/jsQR-1.4.0.js",
            &include_bytes!("../assets/jsqr-1.4.0/jsQR.js")[..],
        ),
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let header = |name: &str| response.headers()[name].to_str().unwrap().to_owned();
        assert_eq!(header("content-type"), "text/javascript; charset=utf-8");
        assert_eq!(
            header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(header("x-content-type-options"), "nosniff");
        assert_eq!(&response.bytes().await.unwrap()[..], body, "{path}");
    }
    // A script of another release, or anything else: 404.
    for path in [
        "/assets/station-camera-0000000000000000.js",
        "/assets/..%2FCargo.toml",
    ] {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    server.shutdown().await;
}
