//! Slow and abandoned clients, over real TCP on 127.0.0.1: connections that never finish their
//! headers (slowloris), idle keep-alive connections, bodies that stop arriving, oversized
//! headers, too many connections from one address, and an 8 MB manifest line. The timeouts are
//! configured short, so each test runs in seconds; every wait is bounded.
//!
//! The ignored test at the end prints the figures in RELIABILITY.md.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use reqwest::Client;
use serde_json::Value;
use signer::{ManifestEntry, SignedCode};
use testkit::service::*;
use testkit::world::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use verifier::config::Overrides;

/// A server whose maker has registered `registered` codes, with the public rate limit off.
struct Fixture {
    server: Server,
    maker: Maker,
    maker_token: String,
    /// The registered codes' URIs.
    uris: Vec<String>,
    client: Client,
}

async fn fixture(overrides: Overrides) -> Fixture {
    let server = start(Overrides {
        rate_limit: Some(0),
        ..overrides
    })
    .await;
    let authority = signer::keys::generate();
    let maker = certify(&server.registry, &authority, "acme-brakes", "690123", 1);
    let codes: Vec<SignedCode> = (0..20)
        .map(|i| code(&maker.key, &format!("HELD{i:04}")))
        .collect();
    let text = manifest(&codes, &server.base());
    let summary =
        registry::register_manifest(&server.registry, text.as_bytes(), None, now(), |_, _| {})
            .unwrap();
    assert_eq!(summary.registered, 20);
    let base = server.base();
    Fixture {
        maker_token: token(&server.registry, "acme-brakes"),
        uris: codes.iter().map(|c| c.to_uri(&base)).collect(),
        maker,
        server,
        client: Client::new(),
    }
}

fn manifest(codes: &[SignedCode], base: &signer::BaseUrl) -> String {
    codes
        .iter()
        .map(|c| ManifestEntry::new(c.clone(), base, None).to_json_line() + "\n")
        .collect()
}

impl Fixture {
    /// One public verification of a registered code: its status, and its verdict if it had one.
    async fn verify(&self, i: usize) -> (u16, Option<String>) {
        let response = self
            .client
            .get(&self.uris[i % self.uris.len()])
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        (status, body["verdict"].as_str().map(str::to_owned))
    }

    /// A counter from `/metrics`.
    async fn metric(&self, name: &str) -> u64 {
        let text = self
            .client
            .get(self.server.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let line = format!("partseal_{name}_total ");
        text.lines()
            .find_map(|l| l.strip_prefix(&line))
            .unwrap_or_else(|| panic!("no {name} in /metrics"))
            .trim()
            .parse()
            .unwrap()
    }
}

/// An HTTP/1.1 response read off a raw connection.
#[derive(Debug)]
struct RawResponse {
    status: u16,
    head: String,
    body: String,
}

impl RawResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap()
    }
}

/// Reads one response (head and a `content-length` body), or `None` if the server closed the
/// connection (or reset it) before sending anything. Waits at most `within`.
async fn read_response(stream: &mut TcpStream, within: Duration) -> Option<RawResponse> {
    try_read_response(stream, within)
        .await
        .expect("no answer and no close in time")
}

/// [`read_response`], or `Err` if neither an answer nor a close came within `within`.
async fn try_read_response(
    stream: &mut TcpStream,
    within: Duration,
) -> Result<Option<RawResponse>, tokio::time::error::Elapsed> {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) if buf.is_empty() => return None,
                Ok(0) | Err(_) => panic!("a response cut short: {buf:?}"),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        let mut response = RawResponse {
            status: head[9..12].parse().unwrap(),
            head,
            body: String::new(),
        };
        let length: usize = response
            .header("content-length")
            .map_or(0, |v| v.parse().unwrap());
        let mut body = buf[head_end..].to_vec();
        while body.len() < length {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        response.body = String::from_utf8(body).unwrap();
        Some(response)
    };
    tokio::time::timeout(within, read).await
}

/// Whether the server closes `stream` (end of file or reset) within `within`, sending nothing.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut byte = [0u8; 1];
    match tokio::time::timeout(within, stream.read(&mut byte)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(_)) => panic!("the server sent bytes on a connection it should just close"),
        Err(_) => false,
    }
}

/// A GET on a fresh connection.
async fn get(addr: SocketAddr, path: &str, close: bool) -> (TcpStream, Option<RawResponse>) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let connection = if close { "close" } else { "keep-alive" };
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: {connection}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let response = read_response(&mut stream, Duration::from_secs(10)).await;
    (stream, response)
}

/// Raises this process's open-files limit as far as it may go (up to 16,384), and returns how
/// many connections it can hold besides what else it needs: each takes two descriptors here,
/// the client's and the server's.
fn connections_we_can_hold(wanted: usize) -> usize {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let target = limit.maximum.map_or(16_384, |max| max.min(16_384));
    if limit.current.is_some_and(|current| current < target) {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(target),
                maximum: limit.maximum,
            },
        );
    }
    let current = getrlimit(Resource::Nofile).current.unwrap_or(16_384);
    let spare = usize::try_from(current)
        .unwrap_or(usize::MAX)
        .saturating_sub(300)
        / 2;
    wanted.min(spare)
}

/// Opens `n` connections to `addr`: even ones send nothing, odd ones half a request head.
async fn slowloris(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(n);
    for i in 0..n {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        if i % 2 == 1 {
            stream
                .write_all(b"GET /healthz HTTP/1.1\r\nhost: partseal\r\nx-slow: ")
                .await
                .unwrap();
        }
        held.push(stream);
    }
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_at_the_header_timeout_while_verifications_go_on() {
    let n = connections_we_can_hold(2000);
    let f = fixture(Overrides {
        header_read_timeout_secs: Some(1),
        idle_timeout_secs: Some(60),
        // All of them come from 127.0.0.1; the per-address cap has its own test.
        max_connections_per_client: Some(0),
        ..Overrides::default()
    })
    .await;
    let f = std::sync::Arc::new(f);
    let verifying = {
        let f = f.clone();
        tokio::spawn(async move {
            let mut answers = Vec::new();
            let stop = Instant::now() + Duration::from_secs(3);
            while Instant::now() < stop {
                answers.push(f.verify(answers.len()).await);
            }
            answers
        })
    };
    let mut held = slowloris(f.server.addr, n).await;
    let deadline = Duration::from_secs(15);
    let started = Instant::now();
    for (i, stream) in held.iter_mut().enumerate() {
        let left = deadline.saturating_sub(started.elapsed());
        assert!(
            closed_within(stream, left).await,
            "connection {i} of {n} still open after {deadline:?}"
        );
    }
    let answers = verifying.await.unwrap();
    assert!(!answers.is_empty());
    assert!(
        answers
            .iter()
            .all(|(status, verdict)| *status == 200 && verdict.as_deref() == Some("genuine")),
        "{answers:?}"
    );
    // Every one of them went by the header clock, none by the idle one.
    assert_eq!(f.metric("header_timeouts").await, n as u64);
    assert_eq!(f.metric("idle_timeouts").await, 0);
    println!(
        "{n} slowloris connections closed; {} verifications meanwhile, all genuine",
        answers.len()
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_outlives_the_header_timeout_then_is_closed() {
    let f = fixture(Overrides {
        header_read_timeout_secs: Some(1),
        idle_timeout_secs: Some(3),
        ..Overrides::default()
    })
    .await;
    let addr = f.server.addr;
    let (mut stream, first) = get(addr, "/healthz", false).await;
    assert_eq!(first.unwrap().status, 200);
    // Idle for longer than the header timeout: a keep-alive connection is still usable, as a
    // proxy in front expects.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let again = format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\n\r\n");
    stream.write_all(again.as_bytes()).await.unwrap();
    let second = read_response(&mut stream, Duration::from_secs(10)).await;
    assert_eq!(second.unwrap().status, 200);
    // Then idle past the idle timeout: closed.
    assert!(closed_within(&mut stream, Duration::from_secs(15)).await);
    assert_eq!(f.metric("idle_timeouts").await, 1);
    assert_eq!(f.metric("header_timeouts").await, 0);
}

#[tokio::test]
async fn shutdown_closes_idle_connections_and_waits_for_a_half_sent_head_no_longer_than_its_timeout()
 {
    let mut f = fixture(Overrides {
        header_read_timeout_secs: Some(2),
        idle_timeout_secs: Some(60),
        ..Overrides::default()
    })
    .await;
    let addr = f.server.addr;
    let mut quiet = Vec::new();
    for _ in 0..10 {
        quiet.push(TcpStream::connect(addr).await.unwrap());
    }
    let (kept_alive, response) = get(addr, "/healthz", false).await;
    assert_eq!(response.unwrap().status, 200);
    quiet.push(kept_alive);
    // Five more that send nothing, five half a head.
    let _half = slowloris(addr, 10).await;
    f.server.begin_shutdown();
    // Connections with no request on them close at once, well before any timeout.
    for stream in &mut quiet {
        assert!(closed_within(stream, Duration::from_secs(1)).await);
    }
    // Half-sent heads have until their header timeout; then the server is gone.
    let Fixture { server, .. } = f;
    tokio::time::timeout(Duration::from_secs(15), server.shutdown_after_begin())
        .await
        .expect("shutdown waited on abandoned connections");
    assert!(TcpStream::connect(addr).await.is_err());
}

/// A report's head with a body of `length` bytes, of which it sends the first few.
fn stalled_report(addr: SocketAddr, length: usize) -> String {
    format!(
        "POST /reports HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         content-length: {length}\r\n\r\n{{\"code\""
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_answered_408_and_frees_its_in_flight_slot() {
    let f = fixture(Overrides {
        body_read_timeout_secs: Some(8),
        request_timeout_secs: Some(60),
        max_in_flight: Some(4),
        ..Overrides::default()
    })
    .await;
    let addr = f.server.addr;
    // Requests with a body may hold half the slots: two stalled bodies take them, a third is
    // refused at once, and verifications still have theirs.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(stalled_report(addr, 200).as_bytes())
            .await
            .unwrap();
        stalled.push(stream);
    }
    let mut refused = None;
    // A refusal comes at once; an admitted body (one of the first two had not reached its
    // handler yet) waits for its body. A second is plenty for "at once" on a loaded machine, and
    // the stalled bodies hold their slots for the 8 s body timeout meanwhile.
    for _ in 0..5 {
        let mut third = TcpStream::connect(addr).await.unwrap();
        third
            .write_all(stalled_report(addr, 200).as_bytes())
            .await
            .unwrap();
        if let Ok(answer) = try_read_response(&mut third, Duration::from_secs(1)).await {
            refused = answer;
            break;
        }
    }
    let refused = refused.expect("a third body was never refused");
    assert_eq!(refused.status, 503);
    assert_eq!(refused.json()["code"], "overloaded");
    assert_eq!(f.verify(0).await, (200, Some("genuine".into())));

    for stream in &mut stalled {
        let answer = read_response(stream, Duration::from_secs(15))
            .await
            .unwrap();
        assert_eq!(answer.status, 408, "{answer:?}");
        assert_eq!(answer.json()["code"], "request_timeout");
        assert_eq!(answer.header("connection"), Some("close"));
        assert!(closed_within(stream, Duration::from_secs(5)).await);
    }
    // Their slots are free again: a whole report goes through (a 4xx about its content, not 503).
    let response = f
        .client
        .post(f.server.url("/reports"))
        .json(&serde_json::json!({"code": "nonsense"}))
        .send()
        .await
        .unwrap();
    assert_ne!(response.status().as_u16(), 503);
    assert!(f.metric("body_timeouts").await >= 2);
}

#[tokio::test]
async fn a_body_dribbled_past_the_request_timeout_is_408_not_503() {
    let f = fixture(Overrides {
        body_read_timeout_secs: Some(10),
        request_timeout_secs: Some(1),
        ..Overrides::default()
    })
    .await;
    let addr = f.server.addr;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(stalled_report(addr, 1000).as_bytes())
        .await
        .unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // A byte every 200 ms: never silent for long, never done.
    let dribble = tokio::spawn(async move {
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let mut response = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut response)).await;
    dribble.abort();
    let text = String::from_utf8_lossy(&response);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"request_timeout\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manifest_upload_streams_past_the_request_timeout_and_a_stalled_one_is_408() {
    let f = fixture(Overrides {
        body_read_timeout_secs: Some(2),
        request_timeout_secs: Some(1),
        ..Overrides::default()
    })
    .await;
    let base = f.server.base();
    // Three pieces with pauses: longer in total than the request timeout, never silent for as
    // long as the body timeout.
    let pieces: Vec<String> = (0..3)
        .map(|p| {
            let codes: Vec<SignedCode> = (0..10)
                .map(|i| code(&f.maker.key, &format!("SLOW{p}{i:03}")))
                .collect();
            manifest(&codes, &base)
        })
        .collect();
    let stream = futures_util::stream::unfold(0usize, move |i| {
        let pieces = pieces.clone();
        async move {
            if i == pieces.len() {
                return None;
            }
            if i > 0 {
                tokio::time::sleep(Duration::from_millis(700)).await;
            }
            Some((Ok::<_, std::io::Error>(pieces[i].clone()), i + 1))
        }
    });
    let response = f
        .client
        .post(f.server.url("/api/v1/manifests"))
        .bearer_auth(&f.maker_token)
        .header("content-type", "application/x-ndjson")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let summary: Value = response.json().await.unwrap();
    assert_eq!(summary["registered"], 30, "{summary}");

    // The same upload stalling after its first piece is answered 408.
    let addr = f.server.addr;
    let first = manifest(&[code(&f.maker.key, "STALL0001")], &base);
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /api/v1/manifests HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {}\r\n\
         content-type: application/x-ndjson\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{first}\r\n",
        f.maker_token,
        first.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let answer = read_response(&mut stream, Duration::from_secs(15))
        .await
        .unwrap();
    assert_eq!(answer.status, 408, "{answer:?}");
    assert_eq!(answer.json()["code"], "request_timeout");
}

#[tokio::test]
async fn headers_over_the_limit_are_refused_431() {
    let f = fixture(Overrides::default()).await;
    let addr = f.server.addr;
    // Under the 16 KiB default: served.
    let (_, response) = get(addr, &format!("/healthz?{}", "a".repeat(8 * 1024)), true).await;
    assert_eq!(response.unwrap().status, 200);
    // 100 KB of header, written while the answer is read: hyper answers 431 once the limit is
    // passed and closes.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "GET /healthz HTTP/1.1\r\nhost: {addr}\r\nx-big: {}\r\n\r\n",
        "a".repeat(100_000)
    );
    let (mut reader, mut writer) = stream.split();
    let (_, response) = tokio::join!(writer.write_all(request.as_bytes()), async {
        let mut bytes = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut bytes)).await;
        bytes
    });
    let text = String::from_utf8_lossy(&response);
    assert!(
        text.starts_with("HTTP/1.1 431 Request Header Fields Too Large"),
        "{text:?}"
    );
    drop(stream);

    // What an ordinary HTTP client sees.
    let result = f
        .client
        .get(f.server.url("/healthz"))
        .header("x-big", "a".repeat(100_000))
        .send()
        .await;
    match result {
        Ok(response) => assert_eq!(response.status(), 431),
        Err(e) => panic!("the client saw an error, not 431: {e:?}"),
    }
}

#[tokio::test]
async fn connections_beyond_the_per_address_cap_are_refused_503_until_one_closes() {
    let f = fixture(Overrides {
        max_connections_per_client: Some(3),
        header_read_timeout_secs: Some(30),
        ..Overrides::default()
    })
    .await;
    let addr = f.server.addr;
    // Three connections that send nothing hold the address's three places (accepted in order,
    // so before the fourth).
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    let refused = read_response(&mut fourth, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(
        refused.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(refused.json()["code"], "too_many_connections");
    assert!(closed_within(&mut fourth, Duration::from_secs(5)).await);

    // One closes; its place is released once the server has seen it go.
    drop(held.pop());
    let started = Instant::now();
    loop {
        let (_, response) = get(addr, "/healthz", true).await;
        let response = response.unwrap();
        if response.status == 200 {
            break;
        }
        assert_eq!(response.status, 503);
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the closed connection's place was never released"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(held);
    assert!(f.metric("connections_refused").await >= 1);
}

#[tokio::test]
async fn a_trusted_proxy_is_not_held_to_the_per_client_cap() {
    let f = fixture(Overrides {
        max_connections_per_client: Some(2),
        trusted_proxies: Some(vec!["127.0.0.1/32".parse().unwrap()]),
        ..Overrides::default()
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..6 {
        let (stream, response) = get(f.server.addr, "/healthz", false).await;
        assert_eq!(response.unwrap().status, 200);
        open.push(stream);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_8_mb_manifest_line_is_rejected_as_line_too_long_and_the_rest_registers() {
    let f = fixture(Overrides::default()).await;
    let base = f.server.base();
    let before = manifest(&[code(&f.maker.key, "LONG0001")], &base);
    let after = manifest(&[code(&f.maker.key, "LONG0002")], &base);
    let mut text = String::with_capacity(8 << 20);
    text.push_str(&before);
    text.push_str("{\"uri\":\"");
    text.push_str(&"a".repeat(8 << 20));
    text.push_str("\"}\n");
    text.push_str(&after);
    let response = f
        .client
        .post(f.server.url("/api/v1/manifests"))
        .bearer_auth(&f.maker_token)
        .header("content-type", "application/x-ndjson")
        .body(text)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let summary: Value = response.json().await.unwrap();
    assert_eq!(summary["lines"], 3, "{summary}");
    assert_eq!(summary["registered"], 2, "{summary}");
    let rejection = &summary["rejections"][0];
    assert_eq!(rejection["line"], 2);
    assert_eq!(rejection["code"], "line_too_long");
    let reason = rejection["reason"].as_str().unwrap();
    assert!(
        reason.contains("line 2") && reason.contains("8192"),
        "{reason}"
    );
}

/// Percentiles of latencies, in milliseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// `count` verifications, `concurrency` at a time: their latencies sorted, and how many were
/// not 200 genuine.
async fn verifications(
    f: &std::sync::Arc<Fixture>,
    count: usize,
    concurrency: usize,
) -> (Vec<Duration>, usize) {
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let f = f.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failed = 0;
            for i in (t..count).step_by(concurrency) {
                let started = Instant::now();
                let answer = f.verify(i).await;
                latencies.push(started.elapsed());
                if answer != (200, Some("genuine".to_owned())) {
                    failed += 1;
                }
            }
            (latencies, failed)
        }));
    }
    let mut all = Vec::new();
    let mut failed = 0;
    for task in tasks {
        let (latencies, f) = task.await.unwrap();
        all.extend(latencies);
        failed += f;
    }
    all.sort();
    (all, failed)
}

/// The figures in RELIABILITY.md: verification latency with and without held slowloris
/// connections and stalled bodies, under the default timeouts. Run it with
/// `cargo test --release -p partseal-verifier --test slow_clients -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "prints figures; takes about 30 s"]
async fn figures() {
    let n = connections_we_can_hold(2000);
    let f = std::sync::Arc::new(
        fixture(Overrides {
            max_connections_per_client: Some(0),
            ..Overrides::default()
        })
        .await,
    );
    let addr = f.server.addr;
    let report = |what: &str, (latencies, failed): &(Vec<Duration>, usize)| {
        println!(
            "| {what} | {} | {failed} | {:.2} | {:.2} |",
            latencies.len(),
            percentile(latencies, 0.5),
            percentile(latencies, 0.99)
        );
    };
    println!("| while | verifications | not 200 genuine | p50 ms | p99 ms |");
    println!("|---|---|---|---|---|");
    let _ = verifications(&f, 200, 8).await;
    report("nothing else (baseline)", &verifications(&f, 2000, 8).await);

    let opened = Instant::now();
    let mut held = slowloris(addr, n).await;
    report(
        &format!("{n} slowloris connections held (half idle, half a partial head)"),
        &verifications(&f, 2000, 8).await,
    );
    for stream in &mut held {
        assert!(closed_within(stream, Duration::from_secs(30)).await);
    }
    let all_closed = opened.elapsed();
    drop(held);

    let bodies = 1100;
    let mut stalled = Vec::new();
    for _ in 0..bodies {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(stalled_report(addr, 200).as_bytes())
            .await
            .unwrap();
        stalled.push(stream);
    }
    let stalled_at = Instant::now();
    report(
        &format!("{bodies} request bodies stalled after their first bytes"),
        &verifications(&f, 2000, 8).await,
    );
    let mut statuses = std::collections::BTreeMap::new();
    for stream in &mut stalled {
        let status = read_response(stream, Duration::from_secs(30))
            .await
            .map_or(0, |r| r.status);
        *statuses.entry(status).or_insert(0) += 1;
    }
    println!();
    println!(
        "{n} slowloris connections all closed {:.1} s after the first was opened \
         (header_read_timeout_secs = 10)",
        all_closed.as_secs_f64()
    );
    println!(
        "{bodies} stalled bodies answered within {:.1} s: {statuses:?} (status: count)",
        stalled_at.elapsed().as_secs_f64()
    );
}
