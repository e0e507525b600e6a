//! Packing records on the manufacturer's dashboard over real HTTP: a maker packs two cartons and a
//! pallet holding them through the API, and its dashboard shows each record's contents, where
//! each part is now and the counts; another maker and a shop are told nothing more than for a
//! carton that does not exist; each record's label downloads as PNG, SVG and PDF and reads back
//! with zbar; the lookup takes a carton's number in every form it is printed or scanned in and
//! refuses a mistyped one with its code; the list shows the maker's records newest first, a page
//! at a time.

#![allow(clippy::unwrap_used)]

use registry::Role;
use reqwest::Client;
use serde_json::{Value, json};
use signer::{CompanyPrefix, SignedCode, Sscc};
use testkit::service::*;
use testkit::world::*;
use verifier::config::Overrides;

struct World {
    server: Server,
    client: Client,
    maker: String,
    rival: String,
    maker_key: signer::SigningKey,
    codes: Vec<SignedCode>,
    /// Cartons A (codes 0 to 2) and B (codes 3 and 4), and the pallet holding both and code 5.
    a: Sscc,
    b: Sscc,
    pallet: Sscc,
}

/// The maker's carton `n` (under its company prefix 690123).
fn sscc(n: u64) -> Sscc {
    Sscc::compose(3, &CompanyPrefix::parse("690123").unwrap(), n).unwrap()
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
    certify(r, &authority, "rival-parts", "690999", 2);
    add_party(r, "dist-1", Role::Distributor, "Guangdong");
    add_party(r, "shop-a", Role::Shop, "Zhejiang");
    let codes = codes(&maker.key, "PK", 6);
    r.register(&codes, Some(&maker.id), now()).unwrap();
    let world = World {
        maker: token(r, "acme-brakes"),
        rival: token(r, "rival-parts"),
        maker_key: maker.key,
        client: no_redirects(),
        codes,
        a: sscc(1),
        b: sscc(2),
        pallet: sscc(3),
        server,
    };
    let uris: Vec<String> = world
        .codes
        .iter()
        .map(|c| c.to_uri(&world.server.base()))
        .collect();
    world
        .event(json!({"step": "packing", "carton": world.a.as_str(), "codes": uris[..3]}))
        .await;
    // Carton B by its Digital Link and its codes by typed numbers, as a packing station may.
    let typed: Vec<Value> = world.codes[3..5]
        .iter()
        .map(|c| json!({"gtin": c.part.gtin.as_str(), "serial": c.part.serial.as_str()}))
        .collect();
    world
        .event(json!({
            "step": "packing",
            "carton": world.b.to_uri(&world.server.base()),
            "codes": typed,
        }))
        .await;
    world
        .event(json!({
            "step": "packing",
            "carton": world.pallet.as_str(),
            "cartons": [world.a.as_str(), world.b.as_str()],
            "codes": [uris[5]],
        }))
        .await;
    world
}

impl World {
    /// A carton event the maker records through the API, which must be recorded.
    async fn event(&self, body: Value) {
        let response = self
            .client
            .post(self.server.url("/api/v1/events"))
            .bearer_auth(&self.maker)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        assert_eq!(status, 200, "{body}: {}", response.text().await.unwrap());
    }

    /// Signs in on the dashboard (or the station, for a shop) with `token`: the session cookie.
    async fn signed_in(&self, page: &str, token: &str) -> String {
        sign_in(&self.client, &self.server, page, token).await.0
    }

    /// A page as a browser asks for it: the status, the `X-Problem-Code` if any, and the HTML.
    async fn page(&self, path: &str, cookie: &str) -> (u16, String, String) {
        let response = self
            .client
            .get(self.server.url(path))
            .header("cookie", cookie)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        let code = response
            .headers()
            .get("x-problem-code")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (
            response.status().as_u16(),
            code,
            response.text().await.unwrap(),
        )
    }

    /// The same as a script asks for it: the status, the `Location` and the problem's code.
    async fn script(&self, path: &str, cookie: &str) -> (u16, String, String) {
        let response = self
            .client
            .get(self.server.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let code = if status >= 400 {
            let problem: Value = response.json().await.unwrap();
            problem["code"].as_str().unwrap_or_default().to_owned()
        } else {
            String::new()
        };
        (status, location, code)
    }
}

fn serial(code: &SignedCode) -> &str {
    code.part.serial.as_str()
}

#[tokio::test]
async fn a_packing_record_shows_its_cartons_its_parts_where_each_is_and_the_counts() {
    let w = world().await;
    let cookie = w.signed_in("/dashboard", &w.maker).await;
    // The dashboard leads to the records and has the lookup.
    let (status, _, dashboard) = w.page("/dashboard", &cookie).await;
    assert_eq!(status, 200);
    assert!(
        dashboard.contains("id=\"cartons-link\" href=\"/dashboard/cartons\"")
            && dashboard.contains("action=\"/dashboard/cartons\""),
        "{dashboard}"
    );

    // The pallet: the two cartons inside (links), its own part, and the counts.
    let (status, _, pallet) = w
        .page(&format!("/dashboard/cartons/{}", w.pallet), &cookie)
        .await;
    assert_eq!(status, 200, "{pallet}");
    assert!(
        pallet.contains(&labels::gs1_128::human_readable(&w.pallet)),
        "{pallet}"
    );
    assert!(pallet.contains("acme-brakes"), "{pallet}");
    for inner in [w.a, w.b] {
        assert!(
            pallet.contains(&format!("<a href=\"/dashboard/cartons/{inner}\"")),
            "{inner}: {pallet}"
        );
    }
    assert!(
        pallet.contains("Parts directly inside: 1; in all, with the cartons inside: 6"),
        "{pallet}"
    );
    assert!(pallet.contains("Not packed in another carton"), "{pallet}");
    // Its part: product, serial linking to the part's investigation view, where it is.
    let part = &w.codes[5];
    assert!(
        pallet.contains(&format!(
            "<a href=\"/dashboard/codes/{GTIN}/{}\" class=\"code\">{}</a>",
            serial(part),
            serial(part)
        )),
        "{pallet}"
    );
    assert!(pallet.contains(GTIN) && pallet.contains("At the manufacturer"));

    // Carton A: packed in the pallet (a link), three parts.
    let (status, _, a) = w
        .page(&format!("/dashboard/cartons/{}", w.a), &cookie)
        .await;
    assert_eq!(status, 200, "{a}");
    assert!(
        a.contains(&format!(
            "<a href=\"/dashboard/cartons/{}\" class=\"code\">{}</a>",
            w.pallet, w.pallet
        )),
        "{a}"
    );
    assert!(a.contains("Parts directly inside: 3; in all, with the cartons inside: 3"));
    for code in &w.codes[..3] {
        assert!(
            a.contains(&format!("data-serial=\"{}\"", serial(code))),
            "{a}"
        );
    }
    assert!(!a.contains(&format!("data-serial=\"{}\"", serial(&w.codes[3]))));

    // Shipped to the distributor, every part inside reads in transit to it.
    w.event(json!({"step": "shipping", "carton": w.pallet.as_str(), "to": "dist-1"}))
        .await;
    let (_, _, b) = w
        .page(&format!("/dashboard/cartons/{}", w.b), &cookie)
        .await;
    assert_eq!(
        b.matches("In transit: acme-brakes Co. → dist-1 Co.")
            .count(),
        2,
        "{b}"
    );
    // In Chinese, as the session asks.
    let (status, _, zh) = w
        .page(&format!("/dashboard/cartons/{}?lang=zh-CN", w.b), &cookie)
        .await;
    assert_eq!(status, 200);
    assert!(zh.contains("装箱记录") && zh.contains("运输中"), "{zh}");
    w.server.shutdown().await;
}

#[tokio::test]
async fn only_the_packer_sees_a_record_and_nobody_learns_a_carton_exists() {
    let w = world().await;
    let unknown = sscc(99);
    let maker = w.signed_in("/dashboard", &w.maker).await;
    let (status, _, code) = w
        .script(&format!("/dashboard/cartons/{unknown}"), &maker)
        .await;
    assert_eq!((status, code.as_str()), (404, "unknown_carton"));

    // Another maker: the very answer of a carton that does not exist, as a page and to a script.
    let rival = w.signed_in("/dashboard", &w.rival).await;
    for carton in [w.a, w.pallet] {
        let path = format!("/dashboard/cartons/{carton}");
        let (status, _, code) = w.script(&path, &rival).await;
        assert_eq!((status, code.as_str()), (404, "unknown_carton"), "{carton}");
        let (status, _, html) = w.page(&path, &rival).await;
        let unknown_page = w
            .page(&format!("/dashboard/cartons/{unknown}"), &rival)
            .await;
        assert_eq!(status, 404);
        assert_eq!(
            html.replace(carton.as_str(), ""),
            unknown_page.2.replace(unknown.as_str(), ""),
            "the page tells the carton exists"
        );
        assert!(!html.contains(serial(&w.codes[0])), "{html}");
    }
    // A shop is not let onto the dashboard at all: the same sign-in form either way.
    let shop = w
        .signed_in("/shop", &token(&w.server.registry, "shop-a"))
        .await;
    let (status, _, known) = w.page(&format!("/dashboard/cartons/{}", w.a), &shop).await;
    let (_, _, not_known) = w
        .page(&format!("/dashboard/cartons/{unknown}"), &shop)
        .await;
    assert_eq!(status, 200);
    assert!(known.contains("name=\"token\""), "{known}");
    assert!(!known.contains(serial(&w.codes[0])), "{known}");
    let without_csrf = |html: &str| {
        let at = html.find("name=\"csrf\" value=\"").unwrap() + 19;
        format!("{}{}", &html[..at], &html[at + 64..])
    };
    assert_eq!(
        without_csrf(&known).replace(w.a.as_str(), ""),
        without_csrf(&not_known).replace(unknown.as_str(), "")
    );
    w.server.shutdown().await;
}

#[tokio::test]
async fn the_lookup_takes_every_printed_and_scanned_form_and_refuses_a_mistyped_number() {
    let w = world().await;
    let cookie = w.signed_in("/dashboard", &w.maker).await;
    let record = format!("/dashboard/cartons/{}?lang=en", w.a);
    let link = w.a.to_uri(&w.server.base());
    for typed in [
        w.a.as_str().to_owned(),
        format!("(00){}", w.a),
        format!("00{}", w.a),
        link,
        format!(" {} \n", w.a),
    ] {
        let path = format!("/dashboard/cartons?carton={}", encode(&typed));
        let (status, location, _) = w.script(&path, &cookie).await;
        assert_eq!(
            (status, location.as_str()),
            (303, record.as_str()),
            "{typed:?}"
        );
    }
    // The lookup's page alone, and the way back.
    let (status, _, html) = w.page("/dashboard/cartons", &cookie).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"carton-number\""), "{html}");

    // A wrong check digit: 400, the form again with the number as typed, what is wrong in the
    // visitor's language, and the code; a script gets the code in the problem.
    let mut digits = w.a.as_str().to_owned();
    let last = digits.pop().unwrap();
    let wrong = format!("{digits}{}", if last == '9' { '0' } else { '9' });
    let (status, code, html) = w
        .page(&format!("/dashboard/cartons?carton={wrong}"), &cookie)
        .await;
    assert_eq!(
        (status, code.as_str()),
        (400, "carton_check_digit"),
        "{html}"
    );
    assert!(
        html.contains(&format!("value=\"{wrong}\""))
            && html.contains(&format!("the first 17 digits give “{last}”"))
            && html.contains("data-code=\"carton_check_digit\""),
        "{html}"
    );
    let (status, code, html) = w
        .page(
            &format!("/dashboard/cartons?carton={wrong}&lang=zh-CN"),
            &cookie,
        )
        .await;
    assert_eq!((status, code.as_str()), (400, "carton_check_digit"));
    assert!(
        html.contains("校验位") && html.contains("错误代码"),
        "{html}"
    );
    let (status, _, code) = w
        .script(&format!("/dashboard/cartons?carton={wrong}"), &cookie)
        .await;
    assert_eq!((status, code.as_str()), (400, "carton_check_digit"));
    // The same number in the record's own address, and numbers of the wrong length.
    let (status, code, _) = w
        .page(&format!("/dashboard/cartons/{wrong}"), &cookie)
        .await;
    assert_eq!((status, code.as_str()), (400, "carton_check_digit"));
    for bad in ["12345", "3690123000000000111", "(00)36901230000000001"] {
        let (status, _, code) = w
            .script(
                &format!("/dashboard/cartons?carton={}", encode(bad)),
                &cookie,
            )
            .await;
        assert_eq!((status, code.as_str()), (400, "invalid_carton"), "{bad}");
    }
    let (status, code, _) = w.page("/dashboard/cartons/12345", &cookie).await;
    assert_eq!((status, code.as_str()), (400, "invalid_carton"));
    // A well-formed number is not checked against the records here: the record answers that.
    let (status, location, _) = w
        .script(&format!("/dashboard/cartons?carton={}", sscc(99)), &cookie)
        .await;
    assert_eq!(status, 303, "{location}");
    w.server.shutdown().await;
}

#[tokio::test]
async fn a_records_label_downloads_in_three_forms_and_reads_back_as_the_cartons_link() {
    let w = world().await;
    let cookie = w.signed_in("/dashboard", &w.maker).await;
    let (_, _, record) = w
        .page(&format!("/dashboard/cartons/{}", w.pallet), &cookie)
        .await;
    let mut bodies = Vec::new();
    for (extension, content_type) in [
        ("png", "image/png"),
        ("svg", "image/svg+xml"),
        ("pdf", "application/pdf"),
    ] {
        let path = format!("/dashboard/cartons/{}/label.{extension}", w.pallet);
        assert!(record.contains(&format!("href=\"{path}\"")), "{record}");
        let response = w
            .client
            .get(w.server.url(&path))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], content_type, "{path}");
        assert_eq!(
            headers["content-disposition"],
            format!("attachment; filename=\"carton-{}.{extension}\"", w.pallet).as_str(),
            "{path}"
        );
        bodies.push(response.bytes().await.unwrap());
    }
    let link = w.pallet.to_uri(&w.server.base());
    assert!(bodies[0].starts_with(b"\x89PNG"));
    zbar_reads(&bodies[0], &link, &w.pallet);
    let svg = String::from_utf8(bodies[1].to_vec()).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains(&labels::gs1_128::human_readable(&w.pallet)),
        "{svg}"
    );
    assert!(bodies[2].starts_with(b"%PDF-"));

    // Another maker: no label, the answer of a carton that does not exist; a mistyped number: 400.
    let rival = w.signed_in("/dashboard", &w.rival).await;
    for extension in ["png", "svg", "pdf"] {
        let (status, _, code) = w
            .script(
                &format!("/dashboard/cartons/{}/label.{extension}", w.pallet),
                &rival,
            )
            .await;
        assert_eq!(
            (status, code.as_str()),
            (404, "unknown_carton"),
            "{extension}"
        );
        let (status, _, code) = w
            .script(
                &format!("/dashboard/cartons/{}/label.{extension}", sscc(99)),
                &cookie,
            )
            .await;
        assert_eq!(
            (status, code.as_str()),
            (404, "unknown_carton"),
            "{extension}"
        );
    }
    let (status, _, code) = w
        .script("/dashboard/cartons/369012300000000039/label.png", &cookie)
        .await;
    assert_eq!((status, code.as_str()), (400, "carton_check_digit"));
    w.server.shutdown().await;
}

/// Asserts zbar (`zbarimg`, Debian's zbar-tools) reads the carton's link in the PNG's QR code and
/// its SSCC in the GS1-128 barcode. Skipped, saying so, where zbar is missing, except in CI.
fn zbar_reads(png: &[u8], link: &str, sscc: &Sscc) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("carton.png");
    std::fs::write(&path, png).unwrap();
    let out = match std::process::Command::new("zbarimg")
        .args(["--nodbus", "--quiet", "--xml"])
        .arg(&path)
        .output()
    {
        Ok(out) => out,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("zbarimg not run ({e}); install zbar-tools");
            return;
        }
        Err(e) => panic!("zbarimg: {e} (install zbar-tools)"),
    };
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(
        xml.contains("type='QR-Code'") && xml.contains(&format!("<data><![CDATA[{link}]]></data>")),
        "{xml}"
    );
    // `modifiers='GS1'`: FNC1 first, so GS1-128 rather than plain Code 128.
    assert!(
        xml.contains("type='CODE-128'")
            && xml.contains(&format!(
                "modifiers='GS1'><data><![CDATA[00{sscc}]]></data>"
            )),
        "{xml}"
    );
}

#[tokio::test]
async fn the_list_shows_the_makers_records_newest_first_a_page_at_a_time() {
    let w = world().await;
    let r = &w.server.registry;
    let maker = party("acme-brakes");
    // 52 older cartons of one part each, packed ten seconds apart.
    let older = codes(&w.maker_key, "OLD", 52);
    r.register(&older, Some(&maker), now()).unwrap();
    let start = now().0 - 10_000;
    for (i, code) in older.iter().enumerate() {
        let at = signer::Timestamp(start + 10 * i as i64);
        let packed = [(registry::CodeKey::of(&code.part), None)];
        r.pack_carton(&maker, &sscc(100 + i as u64), &packed, &[], at)
            .unwrap();
    }
    let cookie = w.signed_in("/dashboard", &w.maker).await;
    let rows = |html: &str| -> Vec<String> {
        html.split("<tr data-sscc=\"")
            .skip(1)
            .map(|row| row[..18].to_owned())
            .collect()
    };
    let (status, _, first) = w.page("/dashboard/cartons", &cookie).await;
    assert_eq!(status, 200, "{first}");
    let listed = rows(&first);
    assert_eq!(listed.len(), 50, "{first}");
    // The three packed through the API just now, then the older ones, newest first.
    let mut newest: Vec<&str> = listed[..3].iter().map(String::as_str).collect();
    newest.sort_unstable();
    assert_eq!(newest, [w.a.as_str(), w.b.as_str(), w.pallet.as_str()]);
    let expected: Vec<String> = (5..52).rev().map(|i| sscc(100 + i).to_string()).collect();
    assert_eq!(listed[3..], expected[..]);
    assert!(first.contains(&format!("<a href=\"/dashboard/cartons/{}\"", w.a)));
    // Carton A is in the pallet, and says so.
    let a_row = first
        .split(&format!("data-sscc=\"{}\"", w.a))
        .nth(1)
        .unwrap();
    assert!(
        a_row
            .split("</tr>")
            .next()
            .unwrap()
            .contains("packed in a pallet")
    );

    // The next page: the five oldest, and no page after it.
    let at = first.find("id=\"older\" href=\"").unwrap() + 17;
    let older_href = first[at..].split('"').next().unwrap().replace("&amp;", "&");
    let (status, _, second) = w.page(&older_href, &cookie).await;
    assert_eq!(status, 200, "{older_href}: {second}");
    let expected: Vec<String> = (0..5).rev().map(|i| sscc(100 + i).to_string()).collect();
    assert_eq!(rows(&second), expected);
    assert!(!second.contains("id=\"older\""), "{second}");
    let (status, _, code) = w
        .script("/dashboard/cartons?after=yesterday", &cookie)
        .await;
    assert_eq!((status, code.as_str()), (400, "invalid_page"));

    // Unpacked, the pallet leaves the list and carton A is on its own again.
    w.event(json!({"step": "unpacking", "carton": w.pallet.as_str()}))
        .await;
    let (_, _, after) = w.page("/dashboard/cartons", &cookie).await;
    assert!(!rows(&after).contains(&w.pallet.to_string()), "{after}");
    let a_row = after
        .split(&format!("data-sscc=\"{}\"", w.a))
        .nth(1)
        .unwrap();
    assert!(
        !a_row
            .split("</tr>")
            .next()
            .unwrap()
            .contains("packed in a pallet")
    );

    // Another maker packed nothing: its list is empty.
    let rival = w.signed_in("/dashboard", &w.rival).await;
    let (status, _, theirs) = w.page("/dashboard/cartons", &rival).await;
    assert_eq!(status, 200);
    assert!(rows(&theirs).is_empty() && theirs.contains("No packing records yet."));
    w.server.shutdown().await;
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
