//! A pallet over HTTP: the carton benchmark of the registry (`cargo bench -p partseal-registry
//! --bench cartons`) with the request around it. A service on sled, on a loopback port-0 listener,
//! holds 1,000 registered codes packed in 40 cartons of 25 on one pallet; two distributors ship the
//! pallet to each other and receive it, one `POST /api/v1/events` each, timed by the client from
//! sending the request to the last byte of the answer. In the same run: one code's shipping and
//! receiving over HTTP, the same pallet moved by calling the registry directly (no HTTP, no JSON),
//! and `GET /healthz` (the service's cheapest request) for the cost of a request itself.
//!
//! ```sh
//! cargo run --release -p partseal-verifier --example pallet [-- --rounds 20]
//! ```

use std::time::{Duration, Instant};

use registry::{PartyId, Role};
use reqwest::Client;
use serde_json::{Value, json};
use signer::{CompanyPrefix, ManifestEntry, Sscc, Timestamp};
use testkit::service::{Server, start};
use testkit::world::{add_party, certify, codes, party, token};
use verifier::config::Overrides;

const CARTONS: u64 = 40;
const PER_CARTON: usize = 25;

fn rounds() -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .map_or(20, |n| n.parse().expect("--rounds takes a number"))
}

fn sscc(n: u64) -> Sscc {
    let prefix = CompanyPrefix::parse("690123").expect("a company prefix");
    Sscc::compose(3, &prefix, n).expect("an SSCC")
}

struct Bench {
    server: Server,
    http: Client,
}

impl Bench {
    /// Sends one event and returns how long the whole answer took; any answer but 200 stops the
    /// benchmark, since a refused move would time the wrong work.
    async fn event(&self, token: &str, body: Value) -> Duration {
        let sent = Instant::now();
        let answer = self
            .http
            .post(self.server.url("/api/v1/events"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("an answer");
        let status = answer.status();
        let bytes = answer.bytes().await.expect("the answer's body");
        let took = sent.elapsed();
        assert_eq!(status, 200, "{body}: {}", String::from_utf8_lossy(&bytes));
        took
    }

    async fn healthz(&self) -> Duration {
        let sent = Instant::now();
        let answer = self
            .http
            .get(self.server.url("/healthz"))
            .send()
            .await
            .expect("an answer");
        answer.bytes().await.expect("the answer's body");
        sent.elapsed()
    }
}

/// p50 and max, in milliseconds.
fn summary(mut times: Vec<Duration>) -> (f64, f64) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(times[times.len() / 2]), ms(times[times.len() - 1]))
}

fn row(what: &str, times: Vec<Duration>) {
    let n = times.len();
    let (p50, max) = summary(times);
    println!("| {what} ({n} runs) | {p50:.2} ms | {max:.2} ms |");
}

#[tokio::main]
async fn main() {
    let rounds = rounds();
    let server = start(Overrides {
        rate_limit: Some(0),
        ..Overrides::default()
    })
    .await;
    let r = server.registry.clone();
    let authority = signer::keys::generate();
    let maker = certify(&r, &authority, "acme-brakes", "690123", 1);
    add_party(&r, "dist-1", Role::Distributor, "Guangdong");
    add_party(&r, "dist-2", Role::Distributor, "Zhejiang");
    let bench = Bench {
        http: Client::new(),
        server,
    };
    let (maker_token, tokens) = (
        token(&r, "acme-brakes"),
        [token(&r, "dist-1"), token(&r, "dist-2")],
    );
    let ids: [PartyId; 2] = [party("dist-1"), party("dist-2")];

    // 1,000 codes on the pallet and one beside it, registered by the maker's manifest.
    let all = codes(&maker.key, "PAL", CARTONS as usize * PER_CARTON + 1);
    let base = bench.server.base();
    let manifest: String = all
        .iter()
        .map(|c| ManifestEntry::new(c.clone(), &base, None).to_json_line() + "\n")
        .collect();
    let uploaded = bench
        .http
        .post(bench.server.url("/api/v1/manifests"))
        .bearer_auth(&maker_token)
        .header("content-type", "application/x-ndjson")
        .body(manifest)
        .send()
        .await
        .expect("the manifest's answer");
    assert_eq!(uploaded.status(), 200);
    let uris: Vec<String> = all.iter().map(|c| c.to_uri(&base)).collect();
    let (single, packed) = uris.split_last().expect("codes");

    let packing = Instant::now();
    for (n, chunk) in packed.chunks(PER_CARTON).enumerate() {
        let body =
            json!({"step": "packing", "carton": sscc(n as u64 + 1).as_str(), "codes": chunk});
        bench.event(&maker_token, body).await;
    }
    let pallet = sscc(1000);
    let inner: Vec<String> = (1..=CARTONS).map(|n| sscc(n).as_str().to_owned()).collect();
    bench
        .event(
            &maker_token,
            json!({"step": "packing", "carton": pallet.as_str(), "cartons": inner}),
        )
        .await;
    let packing = packing.elapsed();
    // From the maker to the first distributor, once, unmeasured.
    let to =
        |i: usize| json!({"step": "shipping", "carton": pallet.as_str(), "to": ids[i].as_str()});
    let receive = json!({"step": "receiving", "carton": pallet.as_str()});
    bench.event(&maker_token, to(0)).await;
    bench.event(&tokens[0], receive.clone()).await;
    bench
        .event(
            &maker_token,
            json!({"step": "shipping", "code": single, "to": "dist-1"}),
        )
        .await;
    bench
        .event(&tokens[0], json!({"step": "receiving", "code": single}))
        .await;

    let (mut ship, mut recv) = (Vec::new(), Vec::new());
    let (mut one_ship, mut one_recv) = (Vec::new(), Vec::new());
    let (mut direct_ship, mut direct_recv) = (Vec::new(), Vec::new());
    let mut health = Vec::new();
    for round in 0..rounds {
        // The holder alternates: dist-1 ships to dist-2 in even rounds, back in odd ones, and the
        // direct calls move it once more each round, so every move has a new addressee.
        let (from, to_i) = if round % 2 == 0 { (0, 1) } else { (1, 0) };
        ship.push(bench.event(&tokens[from], to(to_i)).await);
        recv.push(bench.event(&tokens[to_i], receive.clone()).await);
        let one = json!({"step": "shipping", "code": single, "to": ids[to_i].as_str()});
        one_ship.push(bench.event(&tokens[from], one).await);
        let one = json!({"step": "receiving", "code": single});
        one_recv.push(bench.event(&tokens[to_i], one).await);
        let (direct, holder, other) = (r.clone(), ids[to_i].clone(), ids[from].clone());
        let (s, v) = tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            direct
                .ship_carton(&holder, &pallet, &other, Timestamp::now())
                .expect("a direct ship");
            let s = started.elapsed();
            let started = Instant::now();
            direct
                .receive_carton(&other, &pallet, Timestamp::now())
                .expect("a direct receive");
            (s, started.elapsed())
        })
        .await
        .expect("the direct moves");
        direct_ship.push(s);
        direct_recv.push(v);
        // Back to where the HTTP rounds expect it.
        let (back, holder, other) = (r.clone(), ids[from].clone(), ids[to_i].clone());
        tokio::task::spawn_blocking(move || {
            back.ship_carton(&holder, &pallet, &other, Timestamp::now())
                .expect("a direct ship back");
            back.receive_carton(&other, &pallet, Timestamp::now())
                .expect("a direct receive back");
        })
        .await
        .expect("the moves back");
        health.push(bench.healthz().await);
    }
    println!(
        "packing 40 cartons of {PER_CARTON} and the pallet over HTTP: {:.0} ms in all",
        packing.as_secs_f64() * 1e3
    );
    println!("| what | p50 | max |\n|---|---|---|");
    row("pallet of 1,000 codes, ship, HTTP", ship);
    row("pallet of 1,000 codes, receive, HTTP", recv);
    row("pallet of 1,000 codes, ship, registry call", direct_ship);
    row("pallet of 1,000 codes, receive, registry call", direct_recv);
    row("one code, ship, HTTP", one_ship);
    row("one code, receive, HTTP", one_recv);
    row("GET /healthz", health);
    bench.server.shutdown().await;
}
