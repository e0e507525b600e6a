//! Running the real `partseal` binary in a scratch directory.

#![allow(clippy::unwrap_used, dead_code)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

pub fn partseal(dir: &Path, args: &[&str]) -> Output {
    partseal_with_input(dir, args, None)
}

/// Runs `partseal` with `stdin` (if any) on its standard input.
pub fn partseal_with_input(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_partseal"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run partseal");
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or_default()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// Runs a command that must succeed and returns all it printed.
pub fn ok_output(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let out = partseal_with_input(dir, args, stdin);
    assert!(
        out.status.success(),
        "partseal {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command that must succeed and returns its standard output.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    String::from_utf8(ok_output(dir, args, None).stdout).unwrap()
}

/// Runs a command that must exit with `code`, saying `stderr_has` on standard error.
pub fn fails(dir: &Path, args: &[&str], code: i32, stderr_has: &str) {
    let out = partseal(dir, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "partseal {args:?}: {stderr}");
    assert!(
        stderr.contains(stderr_has),
        "partseal {args:?}: expected {stderr_has:?} in {stderr}"
    );
}

/// An authority, a certified manufacturer `acme` for prefix 690123, and a signed batch of `count`
/// codes in `batch.jsonl`.
pub fn certified_batch(dir: &Path, count: u32) {
    ok(dir, &["authority", "init", "--out", "ca"]);
    ok(dir, &["keys", "generate", "--out", "acme"]);
    ok(
        dir,
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
    ok(
        dir,
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
            &count.to_string(),
            "--base-url",
            "https://verify.example.cn",
            "--out",
            "batch.jsonl",
        ],
    );
}
