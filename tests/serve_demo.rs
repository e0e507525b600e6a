//! The main job as a newcomer runs it: `partseal serve --demo` on a fresh data directory, a scan of a
//! printed link, a clean stop on SIGTERM, and a second run that reuses what the first one made.

#![allow(clippy::unwrap_used)]

use std::process::Command;

use testkit::cli::Partseal;
use testkit::cli::http_get;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));

fn first_link_path(stdout: &str) -> String {
    let link = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("http://") && l.contains("/01/"))
        .unwrap();
    link[link.find("/01/").unwrap()..].to_owned()
}

fn token_after(stdout: &str, heading: &str) -> String {
    let mut lines = stdout.lines();
    lines.find(|l| l.contains(heading)).unwrap();
    lines.next().unwrap().trim().to_owned()
}

#[test]
fn serve_demo_is_ready_to_try_and_reuses_what_it_made() {
    let tmp = tempfile::tempdir().unwrap();
    let first = PARTSEAL.serve(tmp.path(), &["--demo"]);
    assert!(
        first.stdout.contains("20 codes registered"),
        "{}",
        first.stdout
    );
    let path = first_link_path(&first.stdout);
    let shop = token_after(&first.stdout, "The shop's API token");
    assert!(shop.starts_with("pst_"), "{shop}");
    assert_eq!(
        std::fs::read_dir(tmp.path().join("data/demo/labels"))
            .unwrap()
            .count(),
        20
    );

    let answer = Command::new("curl")
        .args(["-sf", "-H", "Accept: application/json"])
        .arg(format!("http://{}{path}", first.addr))
        .output();
    // curl is on every machine this project runs on; without it, ask the server another way.
    let body = match answer {
        Ok(out) if out.status.success() => String::from_utf8(out.stdout).unwrap(),
        _ => http_get(&first.addr, &path, None).1,
    };
    let verdict: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(verdict["verdict"], "genuine", "{body}");
    // The demo manifest's part name, kept with its batch.
    assert_eq!(verdict["part"]["name"], "Front brake pad", "{body}");
    first.stop();

    let second = PARTSEAL.serve(tmp.path(), &["--demo"]);
    assert_eq!(first_link_path(&second.stdout), path);
    assert_eq!(token_after(&second.stdout, "The shop's API token"), shop);
    second.stop();
}
