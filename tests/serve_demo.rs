//! The main job as a newcomer runs it: `partseal serve --demo` on a fresh data directory, a scan of a
//! printed link, a clean stop on SIGTERM, and a second run that reuses what the first one made; what
//! it says when it is ready, in its logs, on a second Ctrl-C and to a port given without an address.

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

#[test]
fn the_demo_says_when_it_is_ready_and_where_the_station_and_dashboard_are() {
    let tmp = tempfile::tempdir().unwrap();
    let running = PARTSEAL.serve(tmp.path(), &["--demo"]);
    let local = format!("http://{}", running.addr);
    let out = &running.stdout;
    let ready = out
        .lines()
        .position(|l| l.starts_with(&format!("Ready on {local}")))
        .unwrap_or_else(|| panic!("no ready line in {out}"));
    let after: Vec<&str> = out.lines().skip(ready).collect();
    let after = after.join("\n");
    for said in [
        "the owner's page:".to_owned(),
        format!("the shop's station:       {local}/shop"),
        format!("the manufacturer's board: {local}/dashboard"),
        "Ctrl-C stops it".to_owned(),
    ] {
        assert!(
            after.contains(&said),
            "{said:?} after the ready line in {out}"
        );
    }
    // The ready line comes after the links and tokens it points at.
    assert!(out.find("The shop's API token").unwrap() < out.find("Ready on").unwrap());
    running.stop();
}

#[test]
fn logs_written_to_a_file_carry_no_colour_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let serving = PARTSEAL.serve_logged(tmp.path(), &["--data", "data"], "serve.log");
    let log = serving.stop();
    assert!(
        log.contains("partseal serving") && log.contains("stopped"),
        "{log}"
    );
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a log file: {log:?}"
    );
}

#[test]
fn a_second_ctrl_c_says_what_the_stop_is_waiting_for() {
    use std::io::Write;
    let tmp = tempfile::tempdir().unwrap();
    let serving = PARTSEAL.serve_logged(tmp.path(), &["--data", "data"], "serve.log");
    // A request in flight: its body announced, and only begun.
    let mut slow = std::net::TcpStream::connect(&serving.addr).unwrap();
    write!(
        slow,
        "POST /reports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 1000\r\n\r\n{{\"code\":"
    )
    .unwrap();
    slow.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));

    serving.signal("INT");
    let waited = std::time::Instant::now();
    while !serving.log().contains("shutting down") {
        assert!(waited.elapsed().as_secs() < 10, "{}", serving.log());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    serving.signal("INT");
    while !serving.log().contains("still stopping") {
        assert!(waited.elapsed().as_secs() < 10, "{}", serving.log());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let log = serving.log();
    assert!(
        log.contains("waiting for 1 open connection(s) to finish their requests in flight"),
        "{log}"
    );
    assert!(log.contains("then flushing the store"), "{log}");
    // Its client gone, the stop completes.
    drop(slow);
    let mut serving = serving;
    let exit = serving.child.wait().unwrap();
    assert!(exit.success(), "{exit:?}: {}", serving.log());
}

#[test]
fn a_port_without_an_address_is_answered_with_the_address_to_give() {
    let tmp = tempfile::tempdir().unwrap();
    PARTSEAL.fails(
        tmp.path(),
        &["serve", "--listen", "38085"],
        2,
        "--listen 127.0.0.1:38085",
    );
    PARTSEAL.fails(
        tmp.path(),
        &["serve", "--listen", ":38085"],
        2,
        "--listen 127.0.0.1:38085",
    );
    assert!(!tmp.path().join("partseal-data").exists());
}
