//! The README's manufacturer walk-through, run with the real binary on real files: authority, keys,
//! certificate, signing, offline verification, revocation, printing and registering; and the
//! refusals a user meets on bad input.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::path::Path;
use std::process::Command;

use testkit::cli::Partseal;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));

fn first_uri(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    line["uri"].as_str().unwrap().to_owned()
}

#[test]
fn manufacturer_walkthrough() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.ok(d, &["authority", "init", "--out", "ca"]);
    PARTSEAL.ok(d, &["keys", "generate", "--out", "acme"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in ["ca/authority.key", "acme.key"] {
            assert_eq!(
                std::fs::metadata(d.join(key)).unwrap().permissions().mode() & 0o777,
                0o600,
                "{key}"
            );
        }
        for public in ["ca/authority.pub", "acme.pub"] {
            let mode = std::fs::metadata(d.join(public))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644, "{public}");
        }
    }
    let out = PARTSEAL.ok(
        d,
        &[
            "authority",
            "certify",
            "--authority",
            "ca",
            "--public-key",
            "acme.pub",
            "--name",
            "广州某某汽车零部件有限公司",
            "--prefix",
            "690123",
            "--valid-days",
            "365",
            "--out",
            "acme.cert",
        ],
    );
    assert!(
        out.contains("广州某某汽车零部件有限公司") && out.contains("690123"),
        "{out}"
    );

    PARTSEAL.ok(
        d,
        &[
            "sign",
            "--key",
            "acme.key",
            "--cert",
            "acme.cert",
            "--gtin",
            "06901234567892",
            "--lot",
            "L2026A",
            "--count",
            "1000",
            "--base-url",
            "https://verify.example.cn",
            "--name",
            "Front brake pad",
            "--out",
            "batch.jsonl",
        ],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for public in ["acme.cert", "batch.jsonl"] {
            let mode = std::fs::metadata(d.join(public))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o644, "{public}");
        }
    }
    let text = std::fs::read_to_string(d.join("batch.jsonl")).unwrap();
    assert_eq!(text.lines().count(), 1000);
    let uri = first_uri(&d.join("batch.jsonl"));
    assert!(
        uri.starts_with("https://verify.example.cn/01/06901234567892/10/L2026A/21/"),
        "{uri}"
    );

    let verify = |extra: &[&str], uri: &str| {
        let mut args = vec![
            "verify",
            "--offline",
            "--trust",
            "ca/authority.pub",
            "--cert",
            "acme.cert",
        ];
        args.extend_from_slice(extra);
        args.push(uri);
        PARTSEAL.run(d, &args)
    };
    let genuine = verify(&[], &uri);
    assert_eq!(genuine.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&genuine.stdout).starts_with("GENUINE"));

    let json = verify(&["--json"], &uri);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["verdict"], "genuine");
    assert_eq!(v["part"]["lot"], "L2026A");

    // A forged lot, a mistyped GTIN, and a key nobody certified.
    let forged = verify(&["--json"], &uri.replace("/10/L2026A/", "/10/L2026B/"));
    assert_eq!(forged.status.code(), Some(1));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&forged.stdout).unwrap()["verdict"],
        "forged"
    );
    let typo = verify(&[], &uri.replace("06901234567892", "06901234567893"));
    assert_eq!(typo.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&typo.stdout).contains("check the code"));

    // Revocation: key compromise makes the same code stop verifying.
    PARTSEAL.ok(
        d,
        &[
            "authority",
            "revoke",
            "--authority",
            "ca",
            "--cert",
            "acme.cert",
            "--reason",
            "key_compromise",
            "--list",
            "revoked.list",
        ],
    );
    let revoked = verify(&["--revoked", "revoked.list", "--json"], &uri);
    assert_eq!(revoked.status.code(), Some(1));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&revoked.stdout).unwrap()["verdict"],
        "revoked"
    );
    let shown = PARTSEAL.ok(d, &["authority", "show", "revoked.list"]);
    assert!(shown.contains("key_compromise"), "{shown}");

    // Printing: sheets for an office printer, and ZPL for a thermal one.
    PARTSEAL.ok(
        d,
        &[
            "labels",
            "--input",
            "batch.jsonl",
            "--cert",
            "acme.cert",
            "--trust",
            "ca/authority.pub",
            "--format",
            "pdf",
            "--out",
            "labels.pdf",
        ],
    );
    assert!(
        std::fs::read(d.join("labels.pdf"))
            .unwrap()
            .starts_with(b"%PDF")
    );
    PARTSEAL.ok(
        d,
        &[
            "labels",
            "--input",
            "batch.jsonl",
            "--cert",
            "acme.cert",
            "--format",
            "zpl",
            "--out",
            "labels.zpl",
        ],
    );
    let zpl = std::fs::read_to_string(d.join("labels.zpl")).unwrap();
    assert_eq!(zpl.matches("^XA").count(), 1000);

    // Registering, into the store `serve` uses by default.
    let registered = PARTSEAL.ok(
        d,
        &[
            "registry",
            "register",
            "--data",
            "partseal-data",
            "--trust",
            "ca/authority.pub",
            "--cert",
            "acme.cert",
            "--results",
            "results.jsonl",
            "batch.jsonl",
        ],
    );
    assert!(
        registered.contains("registered:          1000"),
        "{registered}"
    );
    let results = std::fs::read_to_string(d.join("results.jsonl")).unwrap();
    assert_eq!(results.lines().count(), 1000);
    let stats = PARTSEAL.ok(d, &["registry", "stats", "--data", "partseal-data"]);
    assert!(stats.contains("codes:            1000"), "{stats}");
}

#[test]
fn bad_input_is_refused_with_a_message_and_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.ok(d, &["authority", "init", "--out", "ca"]);
    PARTSEAL.ok(d, &["keys", "generate", "--out", "acme"]);
    PARTSEAL.ok(d, &["keys", "generate", "--out", "other"]);
    PARTSEAL.fails(
        d,
        &["keys", "generate", "--out", "acme"],
        2,
        "refusing to overwrite",
    );
    PARTSEAL.ok(
        d,
        &[
            "authority",
            "certify",
            "--authority",
            "ca",
            "--public-key",
            "acme.pub",
            "--name",
            "Acme",
            "--prefix",
            "690123",
            "--valid-days",
            "30",
            "--out",
            "acme.cert",
        ],
    );
    PARTSEAL.fails(
        d,
        &[
            "authority",
            "certify",
            "--authority",
            "ca",
            "--public-key",
            "acme.pub",
            "--name",
            "Acme",
            "--prefix",
            "69a",
            "--valid-days",
            "30",
            "--out",
            "x.cert",
        ],
        2,
        "company prefix character 'a'",
    );
    fn sign<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec![
            "sign",
            "--base-url",
            "https://verify.example.cn",
            "--out",
            "out.jsonl",
        ];
        args.extend_from_slice(extra);
        args
    }
    // GTIN outside the certificate, wrong check digit, wrong key for the certificate, bad serial file.
    PARTSEAL.fails(
        d,
        &sign(&[
            "--key",
            "acme.key",
            "--cert",
            "acme.cert",
            "--gtin",
            "06911234567891",
            "--count",
            "5",
        ]),
        2,
        "outside the company prefixes",
    );
    PARTSEAL.fails(
        d,
        &sign(&[
            "--key",
            "acme.key",
            "--cert",
            "acme.cert",
            "--gtin",
            "06901234567893",
            "--count",
            "5",
        ]),
        2,
        "check digit",
    );
    PARTSEAL.fails(
        d,
        &sign(&[
            "--key",
            "other.key",
            "--cert",
            "acme.cert",
            "--gtin",
            "06901234567892",
            "--count",
            "5",
        ]),
        2,
        "not the one the certificate names",
    );
    std::fs::write(d.join("serials.txt"), "GOOD1\nGOOD2\nBAD SERIAL\n").unwrap();
    PARTSEAL.fails(
        d,
        &sign(&[
            "--key",
            "acme.key",
            "--cert",
            "acme.cert",
            "--gtin",
            "06901234567892",
            "--serials",
            "serials.txt",
        ]),
        2,
        "line 3: serial (21) character ' ' at position 3 is not allowed",
    );
    PARTSEAL.fails(
        d,
        &sign(&[
            "--key",
            "acme.key",
            "--cert",
            "acme.cert",
            "--gtin",
            "06901234567892",
        ]),
        2,
        "--count",
    );
    assert!(
        !d.join("out.jsonl").exists(),
        "a failed sign left a manifest behind"
    );
    // No temporary files left over either.
    let leftovers: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        leftovers
            .iter()
            .all(|n| !n.to_string_lossy().starts_with(".tmp")),
        "{leftovers:?}"
    );

    // A certificate from elsewhere does not verify under this authority.
    PARTSEAL.ok(d, &["authority", "init", "--out", "ca2"]);
    PARTSEAL.fails(
        d,
        &[
            "verify",
            "--offline",
            "--trust",
            "ca2/authority.pub",
            "--cert",
            "acme.cert",
            "https://v.cn/01/06901234567892/21/A?k=AAAAAAAAAAA&s=A",
        ],
        2,
        "not trusted under ca2/authority.pub",
    );
}

#[cfg(unix)]
#[test]
fn an_exposed_private_key_is_used_with_a_warning_that_shows_no_key_material() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.ok(d, &["authority", "init", "--out", "ca"]);
    PARTSEAL.ok(d, &["keys", "generate", "--out", "acme"]);
    PARTSEAL.ok(
        d,
        &[
            "authority",
            "certify",
            "--authority",
            "ca",
            "--public-key",
            "acme.pub",
            "--name",
            "A",
            "--prefix",
            "690123",
            "--valid-days",
            "5",
            "--out",
            "acme.cert",
        ],
    );
    std::fs::set_permissions(d.join("acme.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = PARTSEAL.run(
        d,
        &[
            "sign",
            "--key",
            "acme.key",
            "--cert",
            "acme.cert",
            "--gtin",
            "06901234567892",
            "--count",
            "2",
            "--base-url",
            "https://v.example.cn",
            "--out",
            "b.jsonl",
        ],
    );
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("readable by other users") && stderr.contains("chmod 600"),
        "{stderr}"
    );
    let key_text = std::fs::read_to_string(d.join("acme.key")).unwrap();
    let base64_body = key_text.lines().nth(1).unwrap();
    assert!(!stderr.contains(base64_body), "key material in the warning");
}

#[test]
fn an_encrypted_key_signs_only_with_its_passphrase() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let with_pass = |args: &[&str], pass: Option<&str>| {
        let mut cmd = PARTSEAL.command(d);
        cmd.args(args);
        match pass {
            Some(p) => cmd.env("PARTSEAL_KEY_PASSPHRASE", p),
            None => cmd.env_remove("PARTSEAL_KEY_PASSPHRASE"),
        };
        cmd.output().unwrap()
    };
    assert!(
        with_pass(
            &["authority", "init", "--out", "ca", "--encrypt"],
            Some("root pass")
        )
        .status
        .success()
    );
    assert!(
        with_pass(
            &["keys", "generate", "--out", "acme", "--encrypt"],
            Some("maker pass")
        )
        .status
        .success()
    );
    let text = std::fs::read_to_string(d.join("acme.key")).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let certify = [
        "authority",
        "certify",
        "--authority",
        "ca",
        "--public-key",
        "acme.pub",
        "--name",
        "A",
        "--prefix",
        "690123",
        "--valid-days",
        "5",
        "--out",
        "acme.cert",
    ];
    let no_pass = with_pass(&certify, None);
    assert_eq!(no_pass.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_pass.stderr).contains("PARTSEAL_KEY_PASSPHRASE"));
    let wrong = with_pass(&certify, Some("maker pass"));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong passphrase"));
    assert!(!d.join("acme.cert").exists());
    assert!(with_pass(&certify, Some("root pass")).status.success());
    let sign = [
        "sign",
        "--key",
        "acme.key",
        "--cert",
        "acme.cert",
        "--gtin",
        "06901234567892",
        "--count",
        "3",
        "--base-url",
        "https://v.example.cn",
        "--out",
        "b.jsonl",
    ];
    assert!(with_pass(&sign, Some("maker pass")).status.success());
    // OpenSSL decrypts it too.
    if let Ok(out) = Command::new("openssl")
        .args([
            "pkey",
            "-in",
            "acme.key",
            "-passin",
            "pass:maker pass",
            "-pubout",
        ])
        .current_dir(d)
        .output()
    {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            std::fs::read_to_string(d.join("acme.pub")).unwrap()
        );
    }
}

#[test]
fn openssl_reads_our_keys_and_we_read_its() {
    let Ok(version) = Command::new("openssl").arg("version").output() else {
        eprintln!("openssl is not installed; skipping the interoperability check");
        return;
    };
    assert!(version.status.success());
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.ok(d, &["keys", "generate", "--out", "acme"]);
    let derived = Command::new("openssl")
        .args(["pkey", "-in", "acme.key", "-pubout"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        derived.status.success(),
        "{}",
        String::from_utf8_lossy(&derived.stderr)
    );
    assert_eq!(
        String::from_utf8(derived.stdout).unwrap(),
        std::fs::read_to_string(d.join("acme.pub")).unwrap()
    );

    let generated = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out", "o.key"])
        .current_dir(d)
        .status()
        .unwrap();
    assert!(generated.success());
    Command::new("openssl")
        .args(["pkey", "-in", "o.key", "-pubout", "-out", "o.pub"])
        .current_dir(d)
        .status()
        .unwrap();
    PARTSEAL.ok(d, &["authority", "init", "--out", "ca"]);
    PARTSEAL.ok(
        d,
        &[
            "authority",
            "certify",
            "--authority",
            "ca",
            "--public-key",
            "o.pub",
            "--name",
            "O",
            "--prefix",
            "690123",
            "--valid-days",
            "5",
            "--out",
            "o.cert",
        ],
    );
    PARTSEAL.ok(
        d,
        &[
            "sign",
            "--key",
            "o.key",
            "--cert",
            "o.cert",
            "--gtin",
            "06901234567892",
            "--count",
            "3",
            "--base-url",
            "https://v.example.cn",
            "--out",
            "o.jsonl",
        ],
    );
}

#[test]
fn demo_runs_twice_reusing_its_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let first = PARTSEAL.ok(d, &["demo", "--dir", "demo"]);
    assert!(first.contains("20 codes, every one verified"), "{first}");
    let key_before = std::fs::read(d.join("demo/maker.key")).unwrap();
    let second = PARTSEAL.ok(d, &["demo", "--dir", "demo"]);
    assert!(second.contains("batch-2.jsonl"), "{second}");
    assert_eq!(std::fs::read(d.join("demo/maker.key")).unwrap(), key_before);
    // The command the demo prints works as printed.
    let line = second
        .lines()
        .find(|l| l.trim_start().starts_with("partseal verify"))
        .unwrap();
    let uri = line.rsplit('\'').nth(1).unwrap();
    let out = PARTSEAL.run(
        d,
        &[
            "verify",
            "--offline",
            "--trust",
            "demo/authority/authority.pub",
            "--cert",
            "demo/maker.cert",
            uri,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
