//! `partseal admin` on real files and a real store: trust, parties, tokens and status, and the
//! refusals that must leave the store as it was.

#![allow(clippy::unwrap_used)]

use std::path::Path;

use testkit::cli::Partseal;
use testkit::cli::http_get;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));
use registry::{AuthError, PartyId, Registry, RegistryConfig};
use signer::Timestamp;

/// An authority `ca`, and a manufacturer `acme-brakes` certified by it in `acme.cert` (made as
/// `testkit::cli::Partseal::certified_batch` does, with an explicit manufacturer id).
fn certified_maker(dir: &Path) {
    PARTSEAL.ok(dir, &["authority", "init", "--out", "ca"]);
    certify(dir, "ca", "acme", "acme-brakes");
}

/// A key `name` and its certificate `name.cert` from the authority in `authority`.
fn certify(dir: &Path, authority: &str, name: &str, id: &str) {
    PARTSEAL.ok(dir, &["keys", "generate", "--out", name]);
    let public = format!("{name}.pub");
    let cert = format!("{name}.cert");
    PARTSEAL.ok(
        dir,
        &[
            "authority",
            "certify",
            "--authority",
            authority,
            "--public-key",
            &public,
            "--name",
            "广州某某汽车零部件有限公司",
            "--id",
            id,
            "--prefix",
            "690123",
            "--valid-days",
            "365",
            "--out",
            &cert,
        ],
    );
}

/// `trust --data data --authority ca/authority.pub`, then `extra`.
fn trust_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["trust", "--data", "data", "--authority", "ca/authority.pub"];
    args.extend(extra);
    args
}

fn admin(dir: &Path, args: &[&str]) -> String {
    let mut all = vec!["admin"];
    all.extend(args);
    PARTSEAL.ok(dir, &all)
}

fn admin_fails(dir: &Path, args: &[&str], stderr_has: &str) {
    let mut all = vec!["admin"];
    all.extend(args);
    PARTSEAL.fails(dir, &all, 2, stderr_has);
}

fn open(dir: &Path) -> Registry {
    Registry::open(&dir.join("data"), RegistryConfig::default()).unwrap()
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn an_operator_trusts_adds_parties_and_issues_and_revokes_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    certified_maker(d);

    let out = admin(d, &trust_args(&["--cert", "acme.cert"]));
    assert!(out.contains("trusted certificate #"), "{out}");
    assert!(out.contains("acme-brakes"), "{out}");
    // Loading the same files again changes nothing and is not an error.
    admin(d, &trust_args(&["--cert", "acme.cert"]));

    let maker = [
        "party",
        "add",
        "--data",
        "data",
        "--id",
        "acme-brakes",
        "--role",
        "manufacturer",
        "--name",
        "广州某某汽车零部件有限公司",
        "--region",
        "Guangdong",
    ];
    assert!(admin(d, &maker).contains("added manufacturer acme-brakes"));
    let shop = [
        "party",
        "add",
        "--data",
        "data",
        "--id",
        "shop-1",
        "--role",
        "shop",
        "--name",
        "示例汽车维修店",
    ];
    admin(d, &shop);

    let parties = json(&admin(d, &["party", "list", "--data", "data", "--json"]));
    let parties = parties.as_array().unwrap();
    assert_eq!(parties.len(), 2);
    let acme = parties.iter().find(|p| p["id"] == "acme-brakes").unwrap();
    assert_eq!(acme["role"], "manufacturer");
    assert_eq!(acme["region"], "Guangdong");
    assert!(acme["revoked_at"].is_null());
    let text = admin(d, &["party", "list", "--data", "data"]);
    assert!(
        text.contains("shop-1") && text.contains("示例汽车维修店"),
        "{text}"
    );

    // The token is printed once, on standard output alone; standard error says so.
    let out = PARTSEAL.run(
        d,
        &[
            "admin",
            "token",
            "create",
            "--data",
            "data",
            "--party",
            "shop-1",
            "--expires-days",
            "30",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("only time it is shown"), "{stderr}");
    assert!(!stderr.contains(&token), "{stderr}");
    assert!(token.starts_with("pst_"), "{token}");
    let token_id = token[4..20].to_owned();
    let maker_token = admin(
        d,
        &[
            "token",
            "create",
            "--data",
            "data",
            "--party",
            "acme-brakes",
        ],
    );
    let maker_token = maker_token.trim();

    // What the server will see: the printed tokens authenticate as their parties.
    {
        let registry = open(d);
        let now = Timestamp::now();
        let party = registry.authenticate(&token, now).unwrap().unwrap();
        assert_eq!(party.id, PartyId::parse("shop-1").unwrap());
        let party = registry.authenticate(maker_token, now).unwrap().unwrap();
        assert_eq!(party.id.as_str(), "acme-brakes");
        let record = registry.tokens().unwrap();
        let record = record.iter().find(|t| t.id == token_id).unwrap();
        assert!(record.expires_at.unwrap() > now.plus_days(29));
    }

    // Listing shows ids and dates, never a secret.
    let list = admin(d, &["token", "list", "--data", "data"]);
    assert!(
        list.contains(&token_id) && list.contains("active"),
        "{list}"
    );
    let listed = admin(
        d,
        &[
            "token", "list", "--data", "data", "--party", "shop-1", "--json",
        ],
    );
    for secret in [&token[21..], &maker_token[21..]] {
        assert!(!list.contains(secret) && !listed.contains(secret));
    }
    let listed = json(&listed);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["id"], token_id.as_str());
    assert_eq!(listed[0]["party"], "shop-1");
    assert!(listed[0]["revoked_at"].is_null());

    let status = admin(d, &["status", "--data", "data"]);
    for expected in [
        "acme-brakes",
        "prefixes 690123",
        ": valid",
        "revocation list:  none",
        "1 manufacturer, 0 distributor, 1 shop; 0 revoked",
        "2 active, 0 expired, 0 revoked",
        "codes:            0",
    ] {
        assert!(status.contains(expected), "{expected:?} in {status}");
    }

    // Revoking the token: it stops authenticating; the other one goes on.
    let out = admin(d, &["token", "revoke", "--data", "data", "--id", &token_id]);
    assert!(out.contains("revoked token"), "{out}");
    {
        let registry = open(d);
        let now = Timestamp::now();
        assert_eq!(
            registry.authenticate(&token, now).unwrap(),
            Err(AuthError::Revoked)
        );
        assert!(registry.authenticate(maker_token, now).unwrap().is_ok());
    }
    let listed = json(&admin(d, &["token", "list", "--data", "data", "--json"]));
    let revoked = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == token_id.as_str());
    assert_eq!(revoked.unwrap()["state"], "revoked");

    // Revoking the party: its tokens stop working, and it gets no new ones.
    admin(
        d,
        &["party", "revoke", "--data", "data", "--id", "acme-brakes"],
    );
    {
        let registry = open(d);
        assert_eq!(
            registry
                .authenticate(maker_token, Timestamp::now())
                .unwrap(),
            Err(AuthError::PartyRevoked)
        );
    }
    admin_fails(
        d,
        &[
            "token",
            "create",
            "--data",
            "data",
            "--party",
            "acme-brakes",
        ],
        "was revoked",
    );

    let status = json(&admin(d, &["status", "--data", "data", "--json"]));
    assert_eq!(status["parties"]["revoked"], 1);
    assert_eq!(status["parties"]["shop"], 1);
    assert_eq!(status["tokens"]["revoked"], 1);
    assert_eq!(status["tokens"]["active"], 1);
    assert_eq!(status["certificates"][0]["manufacturer_id"], "acme-brakes");
    assert_eq!(status["certificates"][0]["state"], "valid");
    assert_eq!(status["roots"].as_array().unwrap().len(), 1);
    assert_eq!(status["store"]["codes"], 0);
    assert!(status["store"]["bytes_on_disk"].as_u64().unwrap() > 0);
}

/// Parties, tokens and trust state as the `--json` outputs show them (less the store's size, which
/// sled may change by itself).
fn snapshot(d: &Path) -> (String, String, serde_json::Value) {
    let mut status = json(&admin(d, &["status", "--data", "data", "--json"]));
    status["store"]["bytes_on_disk"] = serde_json::Value::Null;
    (
        admin(d, &["party", "list", "--data", "data", "--json"]),
        admin(d, &["token", "list", "--data", "data", "--json"]),
        status,
    )
}

#[test]
fn bad_input_is_refused_with_exit_2_and_nothing_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    certified_maker(d);
    // Before any trust, there is no registry to add parties to, and none is created.
    admin_fails(
        d,
        &[
            "party", "add", "--data", "data", "--id", "shop-1", "--role", "shop", "--name", "S",
        ],
        "start with `partseal admin trust",
    );
    assert!(!d.join("data").exists());

    // Two more certificates to revoke one after the other (lists #1 and #2), and one from another
    // authority.
    certify(d, "ca", "old1", "old-1");
    certify(d, "ca", "old2", "old-2");
    for (cert, keep) in [
        ("old1.cert", "revoked-1.list"),
        ("old2.cert", "revoked-2.list"),
    ] {
        PARTSEAL.ok(
            d,
            &[
                "authority",
                "revoke",
                "--authority",
                "ca",
                "--cert",
                cert,
                "--reason",
                "decertified",
                "--list",
                "revoked.list",
            ],
        );
        std::fs::copy(d.join("revoked.list"), d.join(keep)).unwrap();
    }
    PARTSEAL.ok(d, &["authority", "init", "--out", "other-ca"]);
    certify(d, "other-ca", "rogue", "rogue-parts");

    // A certificate the authority did not sign: refused, and no store is created.
    admin_fails(
        d,
        &trust_args(&["--cert", "rogue.cert"]),
        "rogue.cert is not trusted under ca/authority.pub",
    );
    assert!(!d.join("data").exists());

    admin(
        d,
        &trust_args(&["--cert", "acme.cert", "--revoked", "revoked-2.list"]),
    );
    admin(
        d,
        &[
            "party", "add", "--data", "data", "--id", "shop-1", "--role", "shop", "--name", "S",
        ],
    );
    admin(
        d,
        &["token", "create", "--data", "data", "--party", "shop-1"],
    );
    let before = snapshot(d);
    assert_eq!(before.2["revocation_list"]["sequence"], 2);

    // An older revocation list, alone or beside a new certificate: refused, nothing changes.
    admin_fails(
        d,
        &trust_args(&["--cert", "old1.cert", "--revoked", "revoked-1.list"]),
        "revocation list #1, older than #2 already in force",
    );
    admin_fails(
        d,
        &trust_args(&["--cert", "acme.cert", "--cert", "rogue.cert"]),
        "rogue.cert is not trusted",
    );
    admin_fails(
        d,
        &[
            "party", "add", "--data", "data", "--id", "x", "--role", "boss", "--name", "S",
        ],
        "unknown role \"boss\": use manufacturer, distributor or shop",
    );
    admin_fails(
        d,
        &[
            "party", "add", "--data", "data", "--id", "shop 2", "--role", "shop", "--name", "S",
        ],
        "party id \"shop 2\" is invalid",
    );
    admin_fails(
        d,
        &[
            "party", "add", "--data", "data", "--id", "shop-1", "--role", "shop", "--name", "S",
        ],
        "party shop-1 already exists",
    );
    admin_fails(
        d,
        &[
            "party", "add", "--data", "data", "--id", "shop-2", "--role", "shop", "--name", " ",
        ],
        "the name must be 1 to 200 bytes",
    );
    // A manufacturer needs a trusted certificate naming its id: old1's was never loaded.
    admin_fails(
        d,
        &[
            "party",
            "add",
            "--data",
            "data",
            "--id",
            "old-1",
            "--role",
            "manufacturer",
            "--name",
            "S",
        ],
        "load the certificate first with `partseal admin trust",
    );
    admin_fails(
        d,
        &["token", "create", "--data", "data", "--party", "shop-9"],
        "no party shop-9",
    );
    admin_fails(
        d,
        &[
            "token",
            "create",
            "--data",
            "data",
            "--party",
            "shop-1",
            "--expires-days",
            "0",
        ],
        "--expires-days",
    );
    admin_fails(
        d,
        &[
            "token",
            "revoke",
            "--data",
            "data",
            "--id",
            "0123456789abcdef",
        ],
        "no token 0123456789abcdef",
    );
    admin_fails(
        d,
        &[
            "token",
            "revoke",
            "--data",
            "data",
            "--id",
            "pst_0123456789abcdef_secret",
        ],
        "is not a token id",
    );
    admin_fails(
        d,
        &["party", "revoke", "--data", "data", "--id", "shop-9"],
        "no party shop-9",
    );
    assert_eq!(snapshot(d), before);
}

#[test]
fn a_store_another_process_holds_is_refused_with_a_message() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    certified_maker(d);
    admin(d, &trust_args(&["--cert", "acme.cert"]));
    // Held by a process that is not a running service (no admin socket): e.g. `partseal registry`.
    let held = open(d);
    admin_fails(
        d,
        &["party", "list", "--data", "data"],
        "is locked by another process (a `partseal registry` command",
    );
    drop(held);
    admin(d, &["status", "--data", "data"]);
}

#[test]
fn while_the_service_runs_admin_commands_are_carried_out_by_it_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    certified_maker(d);
    admin(d, &trust_args(&[]));
    let running = PARTSEAL.serve(d, &[]);
    let socket = d.join("data/admin.sock");
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let meta = std::fs::metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "only the service's user"
    );

    // Trust a certificate (a file path relative to the command's directory), add a party, issue a
    // token: the service uses them at once.
    let out = admin(d, &trust_args(&["--cert", "acme.cert"]));
    assert!(out.contains("trusted certificate"), "{out}");
    admin(
        d,
        &[
            "party",
            "add",
            "--data",
            "data",
            "--id",
            "shop-1",
            "--role",
            "shop",
            "--name",
            "修理厂",
        ],
    );
    let token = admin(
        d,
        &["token", "create", "--data", "data", "--party", "shop-1"],
    );
    let token = token.trim();
    let (status, body) = http_get(&running.addr, "/api/v1/me", Some(token));
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["id"], "shop-1");

    // Revoked while the service runs: refused from the next request on.
    let id = token.split('_').nth(1).unwrap();
    let out = admin(d, &["token", "revoke", "--data", "data", "--id", id]);
    assert!(out.contains("revoked token"), "{out}");
    let (status, _) = http_get(&running.addr, "/api/v1/me", Some(token));
    assert_eq!(status, 401);

    // Mistakes are reported as they are without a service, with a non-zero exit.
    admin_fails(
        d,
        &[
            "party", "add", "--data", "data", "--id", "shop-1", "--role", "shop", "--name", "again",
        ],
        "party shop-1 already exists",
    );
    admin_fails(
        d,
        &["token", "create", "--data", "data", "--party", "ghost"],
        "no party ghost",
    );
    let status = json(&admin(d, &["status", "--data", "data", "--json"]));
    assert_eq!(status["tokens"]["revoked"], 1, "{status}");

    // Stopped, the socket is gone and the commands open the store themselves again.
    running.stop();
    assert!(!socket.exists());
    let parties = json(&admin(d, &["party", "list", "--data", "data", "--json"]));
    assert_eq!(parties[0]["id"], "shop-1");
}

#[test]
fn a_manufacturer_id_no_certificate_carries_is_answered_with_the_ids_they_do_carry() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // Certified without --id, as the walk-through once did: the certificate carries a generated id.
    PARTSEAL.certified_maker(d, "广州某某汽车零部件有限公司", None);
    admin(d, &trust_args(&["--cert", "acme.cert"]));
    let shown = PARTSEAL.ok(d, &["authority", "show", "acme.cert"]);
    let generated = shown
        .split_whitespace()
        .map(|w| w.trim_matches(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))))
        .find(|w| w.starts_with("mfr-"))
        .unwrap_or_else(|| panic!("no generated id in {shown}"));
    let args = [
        "party",
        "add",
        "--data",
        "data",
        "--id",
        "acme-brakes",
        "--role",
        "manufacturer",
        "--name",
        "S",
    ];
    admin_fails(
        d,
        &args,
        &format!("the trusted certificates carry {generated} (广州某某汽车零部件有限公司)"),
    );
    admin_fails(d, &args, "authority certify --id");
}
