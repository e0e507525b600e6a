//! The main job as a newcomer runs it: `partseal serve --demo` on a fresh data directory, a scan of a
//! printed link, a clean stop on SIGTERM, and a second run that reuses what the first one made.

#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

struct Running {
    child: Child,
    stdout: String,
    addr: String,
}

/// Starts `serve --demo` on a free port and waits until it serves.
fn start(dir: &std::path::Path) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_partseal"))
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--data",
            "data",
        ])
        .args(["--log-format", "json"])
        .current_dir(dir)
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut addr = None;
    let mut line = String::new();
    while addr.is_none() {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "serve exited early"
        );
        if line.contains("partseal serving") {
            let log: serde_json::Value = serde_json::from_str(&line).unwrap();
            addr = log["fields"]["listen"].as_str().map(str::to_owned);
        }
    }
    // Keep draining the log so the server never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    // The welcome text is complete before the server starts listening.
    let mut stdout = String::new();
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 65536];
    let n = out.read(&mut buf).unwrap();
    stdout.push_str(&String::from_utf8_lossy(&buf[..n]));
    Running {
        child,
        stdout,
        addr: addr.unwrap(),
    }
}

fn stop(mut running: Running) {
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = running.child.wait().unwrap();
    assert!(exit.success(), "serve did not stop cleanly: {exit:?}");
}

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
    let first = start(tmp.path());
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
        _ => http_get(&first.addr, &path),
    };
    let verdict: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(verdict["verdict"], "genuine", "{body}");
    stop(first);

    let second = start(tmp.path());
    assert_eq!(first_link_path(&second.stdout), path);
    assert_eq!(token_after(&second.stdout, "The shop's API token"), shop);
    stop(second);
}

/// A minimal HTTP/1.1 GET over a TCP socket.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap()
}
