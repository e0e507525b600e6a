//! Headless Chromium for the page tests: Debian's `chromium` driven through `chromium-driver`
//! over WebDriver, at a phone's 360x740 viewport; and what the tests do on a page (read an
//! element's text, wait for it, click).

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// chromedriver, stopped when dropped.
pub struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A browser with its own profile directory `profile`, and the chromedriver behind it.
pub async fn browser(profile: &std::path::Path) -> (Driver, Client) {
    browser_with(profile, &[]).await
}

/// [`browser`], started with `extra` Chromium arguments besides the usual ones (e.g. a fake
/// camera, [`crate::camera::fake_camera_args`]).
pub async fn browser_with(profile: &std::path::Path, extra: &[String]) -> (Driver, Client) {
    let port = StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "chromedriver is needed for the browser tests: apt-get install chromium chromium-driver",
        );
    let driver = Driver(child);
    let mut args: Vec<String> = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-dev-shm-usage",
    ]
    .map(String::from)
    .to_vec();
    args.push(format!("--user-data-dir={}", profile.display()));
    args.extend_from_slice(extra);
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "args": args,
            "mobileEmulation": {
                "deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 1.0}
            },
        },
    });
    let capabilities = capabilities.as_object().unwrap().clone();
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(capabilities.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => return (driver, client),
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot start Chromium through chromedriver: {e}"),
        }
    }
}

/// The text of the element `css`.
pub async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Waits until `check` holds for the page's text of `css` (at most 20 s: Chromium on a loaded
/// machine), and returns it.
pub async fn wait_text(c: &Client, css: &str, check: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = match c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if check(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "{css}: {now}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Clicks the element `css`.
pub async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}
