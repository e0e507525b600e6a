//! A soak: the verifier under steady mixed load on loopback for a given time, reporting per window
//! the answers, the latency percentiles and the process's memory.
//!
//! ```sh
//! cargo run --release -p partseal-verifier --example soak -- --seconds 600 [--window 60] [--cache-mb 64]
//! ```
//!
//! The load: public scans of registered codes from many client addresses (a trusted proxy's
//! `X-Forwarded-For`, each address well under the rate limit), one client scanning far over it (its
//! 429s are the intended answers), shops receiving and installing parts, and one 20,000-line manifest
//! upload a third of the way in. The service and the clients share this process, so the memory
//! figure (`VmRSS` from `/proc/self/status`) covers both; the clients hold fixed-size histograms
//! only.
//!
//! Exits non-zero if any answer was other than intended (a 429 for a well-behaved address
//! included), or if the memory grew by more than a tenth (plus 16 MiB) between the middle and the
//! end. Latency is reported, not judged: on a shared machine it is for a reader to compare.

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use registry::{Party, PartyId, Registry, RegistryConfig, Role};
use signer::{
    BaseUrl, Certificate, CertificateBody, CompanyPrefix, Gtin, Lot, ManifestEntry, PartId, Serial,
    SignedCode, SigningKey, Timestamp, keys,
};
use verifier::config::Overrides;
use verifier::{AppState, Config};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const GTIN: &str = "06901234567892";
const VIN: &str = "LSVAU218XN2183294";
const CODES: usize = 20_000;
const UPLOAD: usize = 20_000;
/// Shops and scanning tasks unless `--shops` or `--scanners` say otherwise (0 leaves that load
/// out, to see which part of it memory follows).
const SHOPS: usize = 4;
const SCANNERS: usize = 12;
/// Addresses the well-behaved scans come from, in turn: at this service's pace each is seen far
/// less often than the 60 a minute the rate limit allows.
const ADDRESSES: u32 = 200_000;

/// A latency histogram in 2 % steps from 1 µs.
struct Histogram(Vec<AtomicU64>);

const BUCKETS: usize = 1100;

impl Histogram {
    fn new() -> Self {
        Histogram((0..BUCKETS).map(|_| AtomicU64::new(0)).collect())
    }

    fn record(&self, took: Duration) {
        let micros = took.as_micros().max(1) as f64;
        let bucket = (micros.ln() / 1.02f64.ln()) as usize;
        self.0[bucket.min(BUCKETS - 1)].fetch_add(1, Ordering::Relaxed);
    }

    fn count(&self) -> u64 {
        self.0.iter().map(|b| b.load(Ordering::Relaxed)).sum()
    }

    /// The `q` quantile in milliseconds (the bucket's upper edge).
    fn quantile(&self, q: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return 0.0;
        }
        let want = (total as f64 * q).ceil() as u64;
        let mut seen = 0;
        for (i, b) in self.0.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= want {
                return 1.02f64.powi(i as i32 + 1) / 1000.0;
            }
        }
        f64::INFINITY
    }
}

/// One window's figures.
struct Window {
    scans: Histogram,
    events: Histogram,
    intended_429: AtomicU64,
    errors: AtomicU64,
}

impl Window {
    fn new() -> Self {
        Window {
            scans: Histogram::new(),
            events: Histogram::new(),
            intended_429: AtomicU64::new(0),
            errors: AtomicU64::new(0),
        }
    }
}

struct Run {
    started: Instant,
    window: Duration,
    windows: Vec<Window>,
    stop: AtomicBool,
}

impl Run {
    fn now(&self) -> &Window {
        let i = (self.started.elapsed().as_secs_f64() / self.window.as_secs_f64()) as usize;
        &self.windows[i.min(self.windows.len() - 1)]
    }

    fn error(&self, what: &str) {
        let window = self.now();
        if window.errors.fetch_add(1, Ordering::Relaxed) < 3 {
            eprintln!("error: {}", what.chars().take(300).collect::<String>());
        }
    }
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

fn code(key: &SigningKey, lot: &str, name: &str, i: usize) -> SignedCode {
    SignedCode::sign(
        PartId {
            gtin: Gtin::parse(GTIN).expect("gtin"),
            lot: Some(Lot::parse(lot).expect("lot")),
            serial: Serial::parse(&format!("{name}{i:07}")).expect("serial"),
        },
        key,
    )
}

fn arg(name: &str) -> Option<u64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|v| v.parse().expect("a number"))
}

#[tokio::main]
async fn main() {
    let seconds = arg("--seconds").unwrap_or(60);
    let window = arg("--window").unwrap_or(if seconds >= 300 { 60 } else { 10 });
    // The store's page cache; the record cache gets a quarter of it. Small by default, so that the
    // caches fill early and memory growing after that is not data being cached (`serve` defaults
    // to 1024, under which memory follows the data written until the cache is full).
    let cache_mb = arg("--cache-mb").unwrap_or(64);
    let shop_count = arg("--shops").map_or(SHOPS, |n| n as usize);
    let scanners = arg("--scanners").map_or(SCANNERS, |n| n as usize);

    // The registry: a certified maker, its codes, shops with tokens.
    let dir = tempfile::tempdir().expect("tempdir");
    let registry_config = RegistryConfig {
        cache_bytes: cache_mb << 20,
        record_cache_bytes: cache_mb << 18,
        ..RegistryConfig::default()
    };
    let registry =
        Arc::new(Registry::open(&dir.path().join("data"), registry_config).expect("open"));
    let now = Timestamp::now();
    let authority = keys::generate();
    let key = keys::generate();
    let cert = Certificate::issue(
        CertificateBody {
            serial: 1,
            manufacturer_id: "acme-brakes".into(),
            legal_name: "Acme Brakes".into(),
            public_key: key.verifying_key(),
            prefixes: vec![CompanyPrefix::parse("690123").expect("prefix")],
            not_before: now.plus_days(-1),
            not_after: now.plus_days(365),
        },
        &authority,
    )
    .expect("certificate");
    registry
        .add_root(authority.verifying_key(), now)
        .expect("root");
    registry.add_certificate(cert, now).expect("cert");
    let party = |id: &str, role| Party {
        id: PartyId::parse(id).expect("id"),
        role,
        name: id.into(),
        region: Some("Guangdong".into()),
        created_at: now.plus_days(-1),
        revoked_at: None,
    };
    registry
        .add_party(party("acme-brakes", Role::Manufacturer))
        .expect("party");
    let token = |id: &str| {
        registry
            .issue_token(&PartyId::parse(id).expect("id"), None, now.plus_days(-1))
            .expect("token")
            .reveal()
            .to_owned()
    };
    let maker = token("acme-brakes");
    let shops: Vec<String> = (0..shop_count)
        .map(|i| {
            let id = format!("shop-{i}");
            registry.add_party(party(&id, Role::Shop)).expect("party");
            token(&id)
        })
        .collect();
    let codes: Vec<SignedCode> = (0..CODES)
        .map(|i| code(&key, "L2026A", "STOCK", i))
        .collect();
    registry.register(&codes, None, now).expect("register");

    // The service, loopback its trusted proxy, the public rate limit on (60 a minute).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base = BaseUrl::parse(&format!("http://{addr}")).expect("base");
    let config = Config::resolve([Overrides {
        base_url: Some(base.to_string()),
        trusted_proxies: Some(vec!["127.0.0.1/32".parse().expect("net")]),
        ..Overrides::default()
    }])
    .expect("config");
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(verifier::serve(
        listener,
        AppState::new(config, registry.clone()),
        async {
            let _ = stopped.await;
        },
    ));
    let uris: Arc<Vec<String>> = Arc::new(codes.iter().map(|c| c.to_uri(&base)).collect());
    let upload: String = (0..UPLOAD)
        .map(|i| {
            ManifestEntry::new(code(&key, "L2026B", "UPLOAD", i), &base, None).to_json_line() + "\n"
        })
        .collect();
    drop(codes);

    let run = Arc::new(Run {
        started: Instant::now(),
        window: Duration::from_secs(window),
        windows: (0..seconds.div_ceil(window) + 1)
            .map(|_| Window::new())
            .collect(),
        stop: AtomicBool::new(false),
    });
    let client = reqwest::Client::new();
    let rss_start = rss_kib();
    let mut tasks = Vec::new();

    // Well-behaved scans, each from the next address.
    let next_address = Arc::new(AtomicU64::new(0));
    for _ in 0..scanners {
        let (run, client, uris, next) = (
            run.clone(),
            client.clone(),
            uris.clone(),
            next_address.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !run.stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let ip = Ipv4Addr::from(0x0a00_0000u32 + (n % u64::from(ADDRESSES)) as u32);
                let uri = &uris[(n.wrapping_mul(7919) % uris.len() as u64) as usize];
                let sent = Instant::now();
                let answer = client
                    .get(uri)
                    .header("accept", "application/json")
                    .header("x-forwarded-for", ip.to_string())
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status() == 200 => match r.bytes().await {
                        Ok(_) => run.now().scans.record(sent.elapsed()),
                        Err(e) => run.error(&format!("scan body: {e}")),
                    },
                    Ok(r) => run.error(&format!("scan from {ip}: {}", r.status())),
                    Err(e) => run.error(&format!("scan: {e}")),
                }
            }
        }));
    }
    // One client far over the rate limit: ten scans a second.
    {
        let (run, client, uris) = (run.clone(), client.clone(), uris.clone());
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            while !run.stop.load(Ordering::Relaxed) {
                tick.tick().await;
                let answer = client
                    .get(&uris[0])
                    .header("accept", "application/json")
                    .header("x-forwarded-for", "192.0.2.1")
                    .send()
                    .await;
                match answer {
                    Ok(r) if r.status() == 429 => {
                        run.now().intended_429.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) if r.status() == 200 => {}
                    Ok(r) => run.error(&format!("heavy client: {}", r.status())),
                    Err(e) => run.error(&format!("heavy client: {e}")),
                }
            }
        }));
    }
    // Shops: receive a part, install it, take it out again, through their own slices of the stock
    // and round again (a part the shop holds again is received as a repeat).
    for (s, token) in shops.into_iter().enumerate() {
        let (run, client, uris) = (run.clone(), client.clone(), uris.clone());
        let url = format!("http://{addr}/api/v1/events");
        tasks.push(tokio::spawn(async move {
            let slice = CODES / shop_count;
            let mut i = 0;
            while !run.stop.load(Ordering::Relaxed) {
                let uri = &uris[s * slice + (i / 3) % slice];
                let step = ["receiving", "installing", "removing"][i % 3];
                let body = serde_json::json!({"step": step, "code": uri, "vin": VIN});
                let body = if step == "receiving" {
                    serde_json::json!({"step": step, "code": uri})
                } else {
                    body
                };
                let sent = Instant::now();
                match client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == 200 => match r.bytes().await {
                        Ok(_) => run.now().events.record(sent.elapsed()),
                        Err(e) => run.error(&format!("event body: {e}")),
                    },
                    Ok(r) => {
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        run.error(&format!("{step}: {status} {text}"));
                    }
                    Err(e) => run.error(&format!("event: {e}")),
                }
                i += 1;
            }
        }));
    }
    // The manifest, a third of the way in.
    {
        let (run, client) = (run.clone(), client.clone());
        let url = format!("http://{addr}/api/v1/manifests");
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(seconds / 3)).await;
            let sent = Instant::now();
            let answer = client
                .post(&url)
                .bearer_auth(&maker)
                .header("content-type", "application/x-ndjson")
                .body(upload)
                .send()
                .await;
            match answer {
                Ok(r) if r.status() == 200 => {
                    let summary: serde_json::Value = r.json().await.unwrap_or_default();
                    if summary["registered"] != UPLOAD {
                        run.error(&format!("upload: {summary}"));
                    }
                    println!(
                        "manifest of {UPLOAD} lines registered in {:.1} s",
                        sent.elapsed().as_secs_f64()
                    );
                }
                Ok(r) => run.error(&format!("upload: {}", r.status())),
                Err(e) => run.error(&format!("upload: {e}")),
            }
        }));
    }

    println!(
        "soak: {seconds} s, windows of {window} s, {scanners} scanners over {ADDRESSES} addresses, \
         one client over the limit, {shop_count} shops, one {UPLOAD}-line upload, store cache \
         {cache_mb} MiB; RSS at start {} MiB",
        rss_start / 1024
    );
    println!(
        "| window | scans | scan p50 ms | scan p99 ms | events | event p50 ms | event p99 ms | intended 429 | errors | RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut rss_middle = rss_start;
    let windows = seconds.div_ceil(window) as usize;
    for w in 0..windows {
        let end = run.window * (w as u32 + 1);
        let until = (run.started + end.min(Duration::from_secs(seconds))).into();
        tokio::time::sleep_until(until).await;
        let rss = rss_kib();
        if w == windows / 2 {
            rss_middle = rss;
        }
        let f = &run.windows[w];
        println!(
            "| {}-{} s | {} | {:.2} | {:.2} | {} | {:.2} | {:.2} | {} | {} | {} |",
            w as u64 * window,
            ((w as u64 + 1) * window).min(seconds),
            f.scans.count(),
            f.scans.quantile(0.5),
            f.scans.quantile(0.99),
            f.events.count(),
            f.events.quantile(0.5),
            f.events.quantile(0.99),
            f.intended_429.load(Ordering::Relaxed),
            f.errors.load(Ordering::Relaxed),
            rss / 1024
        );
    }
    run.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let rss_end = rss_kib();
    let errors: u64 = run
        .windows
        .iter()
        .map(|w| w.errors.load(Ordering::Relaxed))
        .sum();
    let limited: u64 = run
        .windows
        .iter()
        .map(|w| w.intended_429.load(Ordering::Relaxed))
        .sum();
    let scans: u64 = run.windows.iter().map(|w| w.scans.count()).sum();
    let events: u64 = run.windows.iter().map(|w| w.events.count()).sum();
    println!(
        "total: {scans} scans, {events} events, {limited} intended 429s, {errors} errors; RSS start \
         {} MiB, middle {} MiB, end {} MiB",
        rss_start / 1024,
        rss_middle / 1024,
        rss_end / 1024
    );
    let _ = stop_server.send(());
    let _ = server.await;
    let mut failed = false;
    if errors > 0 {
        eprintln!("FAILED: {errors} answers other than intended");
        failed = true;
    }
    if limited == 0 {
        eprintln!("FAILED: the client over the rate limit was never limited");
        failed = true;
    }
    if rss_end > rss_middle + rss_middle / 10 + 16 * 1024 {
        eprintln!("FAILED: memory grew from {rss_middle} KiB to {rss_end} KiB in the second half");
        failed = true;
    }
    if failed {
        std::process::exit(1);
    }
}
