//! The real binary on a full disk (a small tmpfs, filled with a file beside the store):
//! `partseal registry register` stops naming the last line it stored, and re-running it on the
//! rest completes the manifest; `partseal serve` stopped with SIGTERM while its store cannot write
//! exits non-zero and says why.
//!
//! Mounting needs root: the tests skip when not root and `CI` is unset, and fail when `CI` is set
//! and they cannot mount (CI runs as root).

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use testkit::cli::Partseal;
use testkit::disk::{Tmpfs, fill, free};

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));

#[test]
fn register_on_a_full_disk_names_the_last_stored_line_and_the_rest_completes_it() {
    let Some(disk) = Tmpfs::mount("48m") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.certified_batch(d, 30_000);
    let data = disk.path().join("data");
    let data = data.to_str().unwrap();
    let register = |manifest: &str| {
        PARTSEAL.run(
            d,
            &[
                "registry",
                "register",
                "--data",
                data,
                "--trust",
                "ca/authority.pub",
                "--cert",
                "acme.cert",
                manifest,
            ],
        )
    };
    let text = std::fs::read_to_string(d.join("batch.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The store exists (as it would on a server) before the disk fills.
    std::fs::write(d.join("first.jsonl"), format!("{}\n", lines[0])).unwrap();
    assert!(register("first.jsonl").status.success());

    let filler = fill(disk.path());
    // Room for a chunk or two of the manifest, not all of it. (Each code also writes its
    // transparency log pool entry, its salt, with its registration: about a third more bytes.)
    free(&filler, 8 << 20);
    let out = register("batch.jsonl");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("no space left on the store's device"),
        "{stderr}"
    );
    let through: usize = stderr
        .split("lines 1 to ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no stored line named: {stderr}"));
    assert!(through > 0 && through < lines.len(), "{stderr}");
    assert!(
        stderr.contains(&format!("re-send from line {}", through + 1)),
        "{stderr}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("{through} lines stored before it stopped")),
        "{stdout}"
    );

    // Space returns; the lines after the last stored one complete the manifest.
    std::fs::remove_file(&filler).unwrap();
    let rest: String = lines[through..].iter().map(|l| format!("{l}\n")).collect();
    std::fs::write(d.join("rest.jsonl"), rest).unwrap();
    let out = register("rest.jsonl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("{} lines", lines.len() - through)),
        "{stdout}"
    );
    // Everything is there once, and the audit is clean.
    let again = register("batch.jsonl");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        stdout.contains(&format!("already registered:  {}", lines.len())),
        "{stdout}"
    );
    let audit = PARTSEAL.ok(d, &["registry", "audit", "--data", data]);
    assert!(audit.contains("audited 30000 codes"), "{audit}");
}

/// A minimal HTTP/1.1 POST of a JSON body with a bearer token: the status code.
fn http_post(addr: &str, path: &str, token: &str, body: &str) -> u16 {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.split(' ').nth(1).unwrap().parse().unwrap()
}

#[test]
fn sigterm_while_the_store_cannot_write_exits_non_zero_and_says_why() {
    let Some(disk) = Tmpfs::mount("32m") else {
        return;
    };
    let data = disk.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_partseal"))
        .args(["serve", "--listen", "127.0.0.1:0", "--demo", "--data"])
        .arg(&data)
        .args(["--log-format", "json"])
        .current_dir(disk.path())
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() {
        line.clear();
        assert!(log.read_line(&mut line).unwrap() > 0, "serve exited early");
        if line.contains("partseal serving") {
            let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
            addr = entry["fields"]["listen"].as_str().map(str::to_owned);
        }
    }
    let addr = addr.unwrap();
    // The rest of the log, for after the exit.
    let rest = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = log.read_to_string(&mut text);
        text
    });
    // The welcome, read line by line up to the last token it prints: one read may return only
    // part of it.
    let mut welcome = BufReader::new(child.stdout.take().unwrap());
    let mut stdout = String::new();
    while !stdout.contains("The manufacturer's API token") {
        assert!(welcome.read_line(&mut stdout).unwrap() > 0, "{stdout}");
    }
    let mut printed = stdout.lines().map(str::trim);
    printed
        .find(|l| l.contains("The shop's API token"))
        .unwrap();
    let shop = printed.next().unwrap().to_owned();
    let uris: Vec<String> = stdout
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("http://") && l.contains("/01/"))
        .map(str::to_owned)
        .collect();
    assert!(!uris.is_empty(), "{stdout}");

    // Fill the disk, then write until the store meets it: the store buffers writes up to its
    // flush, so its last page may take many. A shop receiving a part it holds again is recorded
    // each time (history is append-only), so the demo's few codes give as many writes as needed.
    let _filler = fill(disk.path());
    let mut statuses = Vec::new();
    for uri in uris.iter().cycle().take(200) {
        let body = serde_json::json!({"code": uri, "step": "receiving"});
        statuses.push(http_post(&addr, "/api/v1/events", &shop, &body.to_string()));
        if statuses.last() != Some(&200) {
            break;
        }
    }
    assert_eq!(statuses.last(), Some(&507), "{statuses:?}");

    // SIGTERM, as a service manager stops it: the final flush cannot be written.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let log = rest.join().unwrap();
    assert_eq!(exit.code(), Some(2), "with the flush failing: {log}");
    assert!(
        log.contains("flushing the store at shutdown failed"),
        "{log}"
    );
}
