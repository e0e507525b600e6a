//! GS1 resolver answers over real HTTP: a code's Digital Link (with and without its lot path,
//! with and without the label's `k` and `s`) and a product's `/01/{gtin}` asked for their links
//! answer an RFC 9264 linkset, checked against the RFC's JSON form by hand and by a JSON Schema
//! of it; every link resolves on the same server; asking counts no scan and shows no custody; the
//! usual answers point at the linkset in a `Link` header; `gs1:pip` without a product page and an
//! unknown `linkType` are 404 problems naming what was asked; and every Digital Link the service
//! prints or links is valid by GS1's own `digital-link.js`.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use registry::{CodeKey, Role};
use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use signer::{Lot, PartId, SignedCode};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

const LINKSET: &str = "application/linkset+json";
const VOC: &str = "https://gs1.org/voc/";

struct World {
    server: Server,
    client: Client,
    /// Printed with the lot path, as labels print it.
    with_lot: SignedCode,
    /// Signed without a lot: `/01/{gtin}/21/{serial}`.
    without_lot: SignedCode,
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
    add_party(r, "shop-a", Role::Shop, "Zhejiang");
    let with_lot = code(&maker.key, "RS0001");
    let mut part: PartId = with_lot.part.clone();
    part.lot = None;
    part.serial = signer::Serial::parse("RS0002").unwrap();
    let without_lot = SignedCode::sign(part, &maker.key);
    r.register(
        &[with_lot.clone(), without_lot.clone()],
        Some(&maker.id),
        now(),
    )
    .unwrap();
    World {
        server,
        client: no_redirects(),
        with_lot,
        without_lot,
    }
}

impl World {
    /// The code's link as scanned, and as typed without `k` and `s`.
    fn links(&self) -> Vec<String> {
        let mut links = Vec::new();
        for code in [&self.with_lot, &self.without_lot] {
            let uri = code.to_uri(&self.server.base());
            links.push(uri.split_once('?').unwrap().0.to_owned());
            links.push(uri);
        }
        links
    }

    async fn get(&self, url: &str, accept: &str) -> reqwest::Response {
        self.client
            .get(url)
            .header("accept", accept)
            .send()
            .await
            .unwrap()
    }

    async fn linkset(&self, url: &str) -> Value {
        let response = self.get(url, LINKSET).await;
        assert_eq!(response.status(), StatusCode::OK, "{url}");
        assert!(response.headers().get("location").is_none(), "{url}");
        assert_eq!(response.headers()["content-type"], LINKSET, "{url}");
        let body: Value = response.json().await.unwrap();
        check_rfc_9264(&body);
        body
    }

    fn scans(&self, code: &SignedCode) -> u64 {
        let key = CodeKey::new(&code.part.gtin, &code.part.serial);
        self.server
            .registry
            .scans(&key)
            .unwrap()
            .map_or(0, |s| s.total)
    }
}

/// RFC 9264 section 4.2 as a JSON Schema: an object with one member `linkset`, an array of link
/// context objects; each context's `anchor` a string and every other member a relation type whose
/// value is an array of target objects; each target's `href` a string, `hreflang` an array of
/// strings, `title`, `type` and `media` strings, `title*` an array of `value`/`language` objects,
/// and any extension attribute an array.
fn rfc_9264_schema() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": ["linkset"],
        "additionalProperties": false,
        "properties": {
            "linkset": {"type": "array", "items": {"$ref": "#/$defs/context"}}
        },
        "$defs": {
            "context": {
                "type": "object",
                "properties": {"anchor": {"type": "string"}},
                "additionalProperties": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/$defs/target"}
                }
            },
            "target": {
                "type": "object",
                "required": ["href"],
                "properties": {
                    "href": {"type": "string"},
                    "hreflang": {"type": "array", "items": {"type": "string"}},
                    "title": {"type": "string"},
                    "type": {"type": "string"},
                    "media": {"type": "string"},
                    "title*": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["value"],
                            "properties": {
                                "value": {"type": "string"},
                                "language": {"type": "string"}
                            }
                        }
                    }
                },
                "additionalProperties": {"type": "array"}
            }
        }
    })
}

/// What the schema cannot say: the anchor is an absolute URI (section 4.2.2), each relation type
/// a registered name in lower case or an absolute URI (RFC 8288 section 2.1.1), each `href` a URI.
fn check_rfc_9264(body: &Value) {
    let validator = jsonschema::draft202012::options()
        .build(&rfc_9264_schema())
        .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:?} in {body:#}");
    for context in body["linkset"].as_array().unwrap() {
        let anchor = context["anchor"].as_str().unwrap();
        assert!(anchor.starts_with("http://") || anchor.starts_with("https://"));
        for (rel, targets) in context.as_object().unwrap() {
            if rel == "anchor" {
                continue;
            }
            let registered = rel.chars().all(|c| c.is_ascii_lowercase() || c == '-');
            assert!(registered || rel.starts_with("https://"), "{rel}");
            for target in targets.as_array().unwrap() {
                let href = target["href"].as_str().unwrap();
                assert!(href.starts_with("http://"), "{href}");
            }
        }
    }
}

/// The hrefs of relation `term` in the linkset's one context.
fn hrefs(linkset: &Value, term: &str) -> Vec<String> {
    linkset["linkset"][0][format!("{VOC}{term}")]
        .as_array()
        .map(|targets| {
            targets
                .iter()
                .map(|t| t["href"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_codes_links_as_a_linkset_counting_no_scan_and_showing_no_custody() {
    let w = world().await;
    let mut printed = Vec::new();
    for link in w.links() {
        let by_accept = w.linkset(&link).await;
        let separator = if link.contains('?') { '&' } else { '?' };
        let by_link_type = w.linkset(&format!("{link}{separator}linkType=all")).await;
        assert_eq!(by_accept, by_link_type, "{link}");
        let context = &by_accept["linkset"][0];
        assert_eq!(
            context["anchor"],
            link.split_once('?').map_or(&*link, |p| p.0)
        );
        let verify = hrefs(&by_accept, "verificationService");
        assert_eq!(verify.len(), 1);
        if link.contains("k=") {
            assert_eq!(verify[0], link, "the label's own link verifies it");
        } else {
            assert!(verify[0].contains("/lookup?gtin="), "{verify:?}");
        }
        assert_eq!(hrefs(&by_accept, "defaultLink"), verify);
        assert_eq!(hrefs(&by_accept, "recallStatus").len(), 1);
        // No product page was registered: no `gs1:pip`.
        assert!(hrefs(&by_accept, "pip").is_empty());
        // Only links: nothing about custody, parties, vehicles or the verdict.
        let text = by_accept.to_string();
        for private in [
            "acme-brakes",
            "shop-a",
            "custody",
            "installed",
            "genuine",
            "Zhejiang",
        ] {
            assert!(!text.contains(private), "{private} in {text}");
        }
        printed.push(context["anchor"].as_str().unwrap().to_owned());
        printed.extend(verify);
        printed.extend(hrefs(&by_accept, "recallStatus"));
    }
    assert_eq!(w.scans(&w.with_lot), 0, "asking for links is no scan");
    assert_eq!(w.scans(&w.without_lot), 0);
    // Every link resolves on the same server.
    for href in &printed {
        assert!(href.starts_with(&w.server.url("/")), "{href}");
        let response = w.get(href, "text/html").await;
        assert_eq!(response.status(), StatusCode::OK, "{href}");
    }
    check_digital_links(&printed);
}

#[tokio::test]
async fn the_usual_answers_point_at_the_linkset() {
    let w = world().await;
    let uri = w.with_lot.to_uri(&w.server.base());
    for accept in ["application/json", "text/html"] {
        let response = w.get(&uri, accept).await;
        assert_eq!(response.status(), StatusCode::OK);
        let link = response.headers()["link"].to_str().unwrap().to_owned();
        let target = link
            .strip_prefix('<')
            .and_then(|l| l.split_once('>'))
            .unwrap()
            .0;
        assert!(link.contains("rel=\"linkset\""), "{link}");
        assert!(link.contains(LINKSET), "{link}");
        assert!(target.ends_with("&linkType=all"), "{target}");
        let linkset = w.linkset(target).await;
        assert_eq!(hrefs(&linkset, "verificationService"), vec![uri.clone()]);
        check_digital_links(&[target.to_owned()]);
    }
    // `gs1:verificationService` is the verdict, as without it.
    let response = w
        .get(
            &format!("{uri}&linkType=gs1:verificationService"),
            "application/json",
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let verdict: Value = response.json().await.unwrap();
    assert_eq!(verdict["verdict"], "genuine");
    let product = w
        .get(&w.server.url("/01/06901234567892"), "application/json")
        .await;
    assert!(
        product.headers()["link"]
            .to_str()
            .unwrap()
            .contains("/01/06901234567892?linkType=all>")
    );
}

#[tokio::test]
async fn a_products_links() {
    let w = world().await;
    let url = w.server.url("/01/06901234567892");
    let linkset = w.linkset(&url).await;
    assert_eq!(linkset, w.linkset(&format!("{url}?linkType=all")).await);
    assert_eq!(linkset["linkset"][0]["anchor"], url);
    assert_eq!(hrefs(&linkset, "verificationService"), vec![url.clone()]);
    assert_eq!(hrefs(&linkset, "defaultLink"), vec![url.clone()]);
    assert!(hrefs(&linkset, "recallStatus").is_empty());
    let page = w.get(&url, "text/html").await;
    assert_eq!(page.status(), StatusCode::OK);
    let problem = w
        .get(
            &format!("{url}?linkType=gs1:recallStatus"),
            "application/json",
        )
        .await;
    assert_eq!(problem.status(), StatusCode::NOT_FOUND);
    let problem: Value = problem.json().await.unwrap();
    assert_eq!(problem["code"], "no_recall_status");
    check_digital_links(&[url]);
}

#[tokio::test]
async fn no_product_page_and_unknown_link_types_are_404_problems_naming_them() {
    let w = world().await;
    let code = w.with_lot.to_uri(&w.server.base());
    let product = w.server.url("/01/06901234567892");
    for base in [format!("{code}&"), format!("{product}?")] {
        for pip in ["gs1:pip", "https%3A%2F%2Fgs1.org%2Fvoc%2Fpip"] {
            let response = w
                .get(&format!("{base}linkType={pip}"), "application/json")
                .await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{base}{pip}");
            let problem: Value = response.json().await.unwrap();
            assert_eq!(problem["code"], "no_product_page");
            assert!(
                problem["detail"]
                    .as_str()
                    .unwrap()
                    .contains("06901234567892")
            );
        }
        let response = w
            .get(&format!("{base}linkType=gs1:nope"), "application/json")
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["code"], "unknown_link_type");
        assert_eq!(problem["linkType"], "gs1:nope");
        assert!(problem["detail"].as_str().unwrap().contains("gs1:nope"));
        // A browser gets the 404 page in its language.
        let page = w
            .client
            .get(format!("{base}linkType=gs1:nope"))
            .header("accept", "text/html")
            .header("accept-language", "zh-CN,zh;q=0.9")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
        let html = page.text().await.unwrap();
        assert!(html.contains("lang=\"zh-CN\""), "{html}");
    }
    assert_eq!(w.scans(&w.with_lot), 0);
}

#[tokio::test]
async fn recall_status_follows_a_lot_recall_and_counts_no_scan() {
    let w = world().await;
    let status_url = format!(
        "{}?linkType=gs1:recallStatus",
        w.with_lot
            .to_uri(&w.server.base())
            .split_once('?')
            .unwrap()
            .0
    );
    let status: Value = w
        .get(&status_url, "application/json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["verdict"], "registered_numbers");
    assert_eq!(status["signature_checked"], false);
    assert!(status.get("custody").is_none(), "{status}");
    let lot = Lot::parse(LOT).unwrap();
    w.server
        .registry
        .recall_lot(
            &w.with_lot.part.gtin,
            &lot,
            &party("acme-brakes"),
            "brake pads crack below -20 °C",
            now(),
        )
        .unwrap();
    let status: Value = w
        .get(&status_url, "application/json")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["verdict"], "recalled", "{status}");
    assert!(status["recall_reason"].as_str().unwrap().contains("crack"));
    assert!(status.get("custody").is_none(), "{status}");
    assert_eq!(w.scans(&w.with_lot), 0);
    let unknown = w
        .get(
            &w.server
                .url("/01/06901234567892/21/NOSUCH?linkType=gs1:recallStatus"),
            "application/json",
        )
        .await;
    let unknown: Value = unknown.json().await.unwrap();
    assert_eq!(unknown["verdict"], "unregistered");
}

/// Checks each URI with GS1's `digital-link.js` (npm), installed under `target/` on first use.
/// Without node or npm the check is skipped, unless `CI` is set.
fn check_digital_links(uris: &[String]) {
    let uris: Vec<&String> = uris.iter().filter(|u| u.contains("/01/")).collect();
    assert!(!uris.is_empty());
    let Some(dir) = digital_link_js() else {
        assert!(std::env::var_os("CI").is_none(), "node and npm are needed");
        eprintln!("skipped: no node or npm for digital-link.js");
        return;
    };
    let script = "const { DigitalLink } = require('digital-link.js');\n\
        for (const uri of process.argv.slice(1)) {\n\
          const dl = DigitalLink(uri);\n\
          console.log((dl.isValid() ? 'valid ' : 'INVALID ') + uri);\n\
        }\n";
    let output = Command::new("node")
        .current_dir(&dir)
        .arg("-e")
        .arg(script)
        .args(&uris)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().count(), uris.len(), "{stdout}");
    assert!(!stdout.contains("INVALID"), "{stdout}");
}

/// The directory holding `node_modules/digital-link.js` (the version pinned), installed there by
/// npm if it is not yet.
fn digital_link_js() -> Option<PathBuf> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("digital-link");
    if dir
        .join("node_modules/digital-link.js/package.json")
        .exists()
    {
        return Some(dir);
    }
    std::fs::create_dir_all(&dir).unwrap();
    let installed = Command::new("npm")
        .current_dir(&dir)
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--silent",
            "digital-link.js@1.4.3",
        ])
        .status()
        .ok()?;
    assert!(installed.success(), "npm install digital-link.js failed");
    Some(dir)
}

/// The linkset and the recall status validate against the schemas the OpenAPI description gives
/// them, and the description offers `linkType` on both Digital Link routes.
#[tokio::test]
async fn the_answers_are_the_ones_the_description_gives() {
    let w = world().await;
    let mut document: Value = w
        .get(&w.server.url("/openapi.json"), "application/json")
        .await
        .json()
        .await
        .unwrap();
    let check = |document: &mut Value, pointer: &str, answer: &Value| {
        document["$ref"] = json!(pointer);
        let validator = jsonschema::draft202012::options().build(document).unwrap();
        let errors: Vec<String> = validator
            .iter_errors(answer)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{pointer}: {errors:?} in {answer:#}");
    };
    // JSON pointers in a URI fragment: `/` as `~1`, braces percent-encoded.
    let code = "#/paths/~101~1%7Bgtin%7D~121~1%7Bserial%7D/get";
    let product = "#/paths/~101~1%7Bgtin%7D/get";
    let uri = w.with_lot.to_uri(&w.server.base());
    let linkset = w.linkset(&uri).await;
    let linkset_schema = "/responses/200/content/application~1linkset+json/schema";
    check(&mut document, &format!("{code}{linkset_schema}"), &linkset);
    let product_links = w.linkset(&w.server.url("/01/06901234567892")).await;
    check(
        &mut document,
        &format!("{product}{linkset_schema}"),
        &product_links,
    );
    let status: Value = w
        .get(
            &w.server
                .url("/01/06901234567892/21/RS0002?linkType=gs1:recallStatus"),
            "application/json",
        )
        .await
        .json()
        .await
        .unwrap();
    let json_schema = "/responses/200/content/application~1json/schema";
    check(&mut document, &format!("{code}{json_schema}"), &status);
    for path in [
        "/01/{gtin}/21/{serial}",
        "/01/{gtin}/10/{lot}/21/{serial}",
        "/01/{gtin}",
    ] {
        let params = document["paths"][path]["get"]["parameters"].to_string();
        assert!(params.contains("\"linkType\""), "{path}: {params}");
    }
}
