//! `partseal log key` and `partseal verify --receipt`: a receipt the registry issued checks
//! offline with the log's key, says what it proves and what not, and an altered one is refused.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use registry::{CodeKey, Registry, RegistryConfig};
use signer::SignedCode;
use testkit::cli::Partseal;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));
const BASE: &str = "https://verify.example.cn";

#[test]
fn a_receipt_checks_offline_with_the_log_key() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.certified_batch(d, 3);
    PARTSEAL.ok(
        d,
        &[
            "registry",
            "register",
            "--data",
            "data",
            "--trust",
            "ca/authority.pub",
            "--cert",
            "acme.cert",
            "batch.jsonl",
        ],
    );
    // The log key is the store's: printed before anything was sequenced, and the same after.
    let key = PARTSEAL.ok(d, &["log", "key", "--data", "data", "--base-url", BASE]);
    let key = key.trim().to_owned();
    assert!(key.starts_with("verify.example.cn/log+"), "{key}");

    // The service's sequencer, once, and the registry's receipt of the second code.
    let line = std::fs::read_to_string(d.join("batch.jsonl"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_owned();
    let uri = serde_json::from_str::<serde_json::Value>(&line).unwrap()["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = SignedCode::parse(&uri).unwrap();
    {
        let registry = Registry::open(&d.join("data"), RegistryConfig::default()).unwrap();
        let log = tlog::LogKey::new("verify.example.cn/log", registry.log_signing_key().unwrap())
            .unwrap();
        registry.sequence_log(&log).unwrap();
        let receipt = registry
            .log_receipt(&CodeKey::of(&code.part), uri.clone())
            .unwrap()
            .unwrap();
        let saved = serde_json::json!({"verdict": "genuine", "receipt": receipt});
        std::fs::write(d.join("receipt.json"), saved.to_string()).unwrap();
        let mut altered = receipt;
        altered.seq = 1;
        std::fs::write(d.join("altered.json"), altered.to_json()).unwrap();
    }
    assert_eq!(
        PARTSEAL
            .ok(d, &["log", "key", "--data", "data", "--base-url", BASE])
            .trim(),
        key
    );

    let out = PARTSEAL.ok(
        d,
        &["verify", "--receipt", "receipt.json", "--log-key", &key],
    );
    assert!(out.contains("VALID RECEIPT"), "{out}");
    assert!(out.contains("event #0 commissioning"), "{out}");
    assert!(out.contains("It does not prove"), "{out}");
    let json = PARTSEAL.ok(
        d,
        &[
            "verify",
            "--receipt",
            "receipt.json",
            "--log-key",
            &key,
            "--json",
        ],
    );
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        (json["valid"].as_bool(), json["step"].as_str()),
        (Some(true), Some("commissioning"))
    );

    // Altered, or checked with another log's key: refused, exit 1.
    let refused = PARTSEAL.run(
        d,
        &["verify", "--receipt", "altered.json", "--log-key", &key],
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stdout).contains("INVALID RECEIPT"));
    let other = "verify.example.cn/log+9b9c5a7e+AQ7Ycg2cvUGvP7mQvVuh3YV6Jz8QIk1tmiGwvGL0p1LW";
    let refused = PARTSEAL.run(
        d,
        &["verify", "--receipt", "receipt.json", "--log-key", other],
    );
    assert_ne!(refused.status.code(), Some(0));
    // A receipt needs the key.
    PARTSEAL.fails(d, &["verify", "--receipt", "receipt.json"], 2, "--log-key");
}
