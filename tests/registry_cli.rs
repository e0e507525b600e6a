//! `partseal registry` on real files and a real store: register, audit, stats, backup, restore.

#![allow(clippy::unwrap_used)]

use testkit::cli::Partseal;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));

const TRUST: [&str; 6] = [
    "--data",
    "data",
    "--trust",
    "ca/authority.pub",
    "--cert",
    "acme.cert",
];

fn register(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["registry", "register"];
    args.extend(TRUST);
    args.extend(extra);
    PARTSEAL.run(dir, &args)
}

#[test]
fn operators_register_audit_back_up_and_restore() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.certified_batch(d, 500);

    let out = register(d, &["--results", "results.jsonl", "batch.jsonl"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("500 lines"), "{stdout}");
    assert!(stdout.contains("registered:          500"), "{stdout}");
    let results = std::fs::read_to_string(d.join("results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), 500);
    assert_eq!(
        results.lines().next().unwrap(),
        r#"{"line":1,"result":"registered"}"#
    );

    // The same manifest again: idempotent, and said so. A results file is never overwritten.
    let again = register(d, &["batch.jsonl"]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already registered:  500"));
    let mut args = vec!["registry", "register"];
    args.extend(TRUST);
    args.extend(["--results", "results.jsonl", "batch.jsonl"]);
    PARTSEAL.fails(d, &args, 2, "already exists");

    // A manifest with a forged line and a broken line: per-line verdicts, exit 1.
    let text = std::fs::read_to_string(d.join("batch.jsonl")).unwrap();
    // A forged line: another serial under a copied signature.
    let third = text.lines().nth(2).unwrap();
    let line: serde_json::Value = serde_json::from_str(third).unwrap();
    let serial = line["serial"].as_str().unwrap();
    let other = if serial.starts_with('Z') { 'Y' } else { 'Z' };
    let forged = third.replace(serial, &format!("{other}{}", &serial[1..]));
    let bad = format!("{}\n{forged}\nnot json\n", text.lines().nth(1).unwrap());
    std::fs::write(d.join("bad.jsonl"), bad).unwrap();
    let out = register(d, &["--results", "bad-results.jsonl", "bad.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("bad_signature: 1"), "{stdout}");
    assert!(stdout.contains("malformed_line: 1"), "{stdout}");
    let results = std::fs::read_to_string(d.join("bad-results.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = results
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["result"], "already_registered");
    assert_eq!(lines[1]["result"], "bad_signature");
    assert_eq!(lines[2]["line"], 3);
    assert_eq!(lines[2]["result"], "malformed_line");

    let stats = PARTSEAL.ok(d, &["registry", "stats", "--data", "data"]);
    assert!(stats.contains("codes:            500"), "{stats}");
    let audit = PARTSEAL.ok(d, &["registry", "audit", "--data", "data"]);
    assert!(
        audit.contains("every hash chain and index is intact"),
        "{audit}"
    );

    let backup = PARTSEAL.ok(
        d,
        &["registry", "backup", "--data", "data", "--out", "b.psb"],
    );
    assert!(backup.contains("backed up"), "{backup}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("b.psb"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    PARTSEAL.fails(
        d,
        &["registry", "backup", "--data", "data", "--out", "b.psb"],
        2,
        "already exists",
    );
    let restored = PARTSEAL.ok(
        d,
        &["registry", "restore", "--data", "copy", "--from", "b.psb"],
    );
    assert!(restored.contains("500 codes; audit clean"), "{restored}");
    PARTSEAL.fails(
        d,
        &["registry", "restore", "--data", "copy", "--from", "b.psb"],
        2,
        "already holds data",
    );
    std::fs::write(d.join("junk.psb"), b"junk").unwrap();
    PARTSEAL.fails(
        d,
        &[
            "registry", "restore", "--data", "other", "--from", "junk.psb",
        ],
        2,
        "not a valid partseal backup",
    );
    assert!(!d.join("other").exists());
}

#[test]
fn bad_trust_files_and_missing_stores_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.fails(
        d,
        &["registry", "audit", "--data", "nowhere"],
        2,
        "holds no registry",
    );
    PARTSEAL.certified_batch(d, 3);
    PARTSEAL.ok(d, &["authority", "init", "--out", "other-ca"]);
    PARTSEAL.fails(
        d,
        &[
            "registry",
            "register",
            "--data",
            "data",
            "--trust",
            "other-ca/authority.pub",
            "--cert",
            "acme.cert",
            "batch.jsonl",
        ],
        2,
        "is not trusted under",
    );
    assert!(
        !d.join("data").exists(),
        "a refused run left a store behind"
    );
}

/// `authority revoke acme.cert` for `reason` into `revoked.list`.
fn revoke(dir: &std::path::Path, reason: &str) {
    PARTSEAL.ok(
        dir,
        &[
            "authority",
            "revoke",
            "--authority",
            "ca",
            "--cert",
            "acme.cert",
            "--reason",
            reason,
            "--list",
            "revoked.list",
        ],
    );
}

#[test]
fn codes_of_a_revoked_key_are_refused_unless_allowed_for_history() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.certified_batch(d, 5);
    revoke(d, "key_compromise");

    // The list given: refused, exit 2, saying why and how to override, and nothing stored.
    let mut args = vec!["registry", "register"];
    args.extend(TRUST);
    args.extend(["--revoked", "revoked.list", "batch.jsonl"]);
    let out = PARTSEAL.run(d, &args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for said in [
        "acme.cert is revoked by revoked.list",
        "was reported compromised on",
        "Nothing was registered",
        "--allow-revoked",
    ] {
        assert!(stderr.contains(said), "{said:?} in {stderr}");
    }
    assert!(
        !d.join("data").exists(),
        "a refused run left a store behind"
    );

    // The list known to the store only (an operator's `admin trust --revoked`): refused too.
    PARTSEAL.ok(
        d,
        &[
            "admin",
            "trust",
            "--data",
            "data",
            "--authority",
            "ca/authority.pub",
            "--cert",
            "acme.cert",
            "--revoked",
            "revoked.list",
        ],
    );
    let out = register(d, &["batch.jsonl"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("acme.cert is revoked by the registry's revocation list"),
        "{stderr}"
    );
    let stats = PARTSEAL.ok(d, &["registry", "stats", "--data", "data"]);
    assert!(stats.contains("codes:            0"), "{stats}");

    // Reprinting history: registered, with a warning naming the revocation.
    let out = register(
        d,
        &[
            "--revoked",
            "revoked.list",
            "--allow-revoked",
            "batch.jsonl",
        ],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: --allow-revoked: registering codes of acme.cert"),
        "{stderr}"
    );
    // The registry holds the same list: said once.
    assert_eq!(stderr.matches("warning:").count(), 1, "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("registered:          5"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn a_decertified_maker_registers_no_new_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.certified_batch(d, 3);
    revoke(d, "decertified");
    let mut args = vec!["registry", "register"];
    args.extend(TRUST);
    args.extend(["--revoked", "revoked.list", "batch.jsonl"]);
    PARTSEAL.fails(d, &args, 2, "was decertified on");
}

#[test]
fn while_the_service_holds_the_store_register_says_how_to_upload_instead() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.certified_batch(d, 3);
    let first = register(d, &["batch.jsonl"]);
    assert!(first.status.success());
    let running = PARTSEAL.serve(d, &[]);
    let out = register(d, &["batch.jsonl"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    let url = format!("http://{}", running.addr);
    for said in [
        format!("held by the running `partseal serve` ({url})"),
        format!("--data-binary @batch.jsonl {url}/api/v1/manifests"),
        format!("open {url}/dashboard, sign in with that token, and upload batch.jsonl"),
    ] {
        assert!(stderr.contains(&said), "{said:?} in {stderr}");
    }
    assert!(
        !stderr.contains("Os {") && !stderr.contains("WouldBlock"),
        "no Debug text: {stderr}"
    );
    running.stop();
}
