//! The load of the replica benchmark (`scripts/bench-replicas.sh`): shop clients recording
//! receipts of the same few codes through several `partseal serve` replicas at once, for a given
//! time, each client on its own keep-alive connection, as a shop's station holds one. Prints the
//! answers by status and the latency percentiles; exits non-zero on any answer other than 200, or
//! none.
//!
//! ```sh
//! cargo run --release -p partseal-verifier --example shared_codes -- \
//!     --replicas 127.0.0.1:8101,127.0.0.1:8102 --token TOKEN --codes paths.txt \
//!     [--writers 64] [--seconds 20]
//! ```
//!
//! `paths.txt` holds one code a line, as the path and query of its URI (`/01/…/21/…?…`). Client
//! `i` writes through replica `i` modulo their number and goes through every code in turn,
//! starting at its own, so each code is written through every replica at once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

fn required(name: &str) -> String {
    arg(name).unwrap_or_else(|| panic!("{name} is required (see the example's documentation)"))
}

/// What one client saw: each answer's status (0: no answer) and latency in microseconds.
type Answers = Vec<(u16, u64)>;

async fn client(
    replica: String,
    token: String,
    codes: Vec<String>,
    first: usize,
    until: Instant,
) -> Answers {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("an HTTP client");
    let url = format!("http://{replica}/api/v1/events");
    let mut answers = Vec::new();
    let mut next = first;
    while Instant::now() < until {
        let code = &codes[next % codes.len()];
        next += 1;
        let sent = Instant::now();
        let status = match http
            .post(&url)
            .bearer_auth(&token)
            .json(&serde_json::json!({"step": "receiving", "code": code}))
            .send()
            .await
        {
            // The whole answer, as a client waits for it.
            Ok(answer) => {
                let status = answer.status().as_u16();
                match answer.bytes().await {
                    Ok(_) => status,
                    Err(_) => 0,
                }
            }
            Err(_) => 0,
        };
        answers.push((status, sent.elapsed().as_micros() as u64));
    }
    answers
}

#[tokio::main]
async fn main() {
    let replicas: Vec<String> = required("--replicas")
        .split(',')
        .map(str::to_owned)
        .collect();
    let token = required("--token");
    let codes: Vec<String> = std::fs::read_to_string(required("--codes"))
        .expect("the codes file")
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(!codes.is_empty(), "the codes file lists no code");
    let writers: usize = arg("--writers").map_or(64, |n| n.parse().expect("a number of writers"));
    let seconds: u64 = arg("--seconds").map_or(20, |n| n.parse().expect("a number of seconds"));

    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let clients: Vec<_> = (0..writers)
        .map(|i| {
            let replica = replicas[i % replicas.len()].clone();
            tokio::spawn(client(replica, token.clone(), codes.clone(), i, until))
        })
        .collect();
    let mut answers = Vec::new();
    for c in clients {
        answers.extend(c.await.expect("a client"));
    }
    let took = started.elapsed().as_secs_f64();

    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for (status, _) in &answers {
        *by_status.entry(*status).or_default() += 1;
    }
    let mut latencies: Vec<u64> = answers.iter().map(|(_, micros)| *micros).collect();
    latencies.sort_unstable();
    let ms = |q: f64| {
        let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len().max(1));
        latencies.get(i - 1).map_or(0.0, |m| *m as f64 / 1000.0)
    };
    let ok = by_status.get(&200).copied().unwrap_or(0);
    println!(
        "{writers} writers, {} replicas, {} codes, {took:.1} s: {} answers, {ok} acknowledged \
         ({:.0}/s)",
        replicas.len(),
        codes.len(),
        answers.len(),
        ok as f64 / took
    );
    println!(
        "by status: {}",
        by_status
            .iter()
            .map(|(s, n)| format!(
                "{}: {n}",
                if *s == 0 {
                    "no answer".to_owned()
                } else {
                    s.to_string()
                }
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "latency: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, p99.9 {:.1} ms, max {:.1} ms",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(0.999),
        ms(1.0)
    );
    if ok == 0 || ok != answers.len() {
        std::process::exit(1);
    }
}
