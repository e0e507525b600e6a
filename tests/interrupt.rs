//! Ctrl-C during a long `sign` or `labels`, with the real binary: the command says it was
//! interrupted, exits 130, and leaves no temporary file of signed codes or labels behind.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testkit::cli::Partseal;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));

/// Every entry of `d`, sorted.
fn entries(d: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// Bytes under `path` (a file, or a directory's files).
fn size(path: &Path) -> u64 {
    if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .filter_map(|e| e.ok()?.metadata().ok())
            .map(|m| m.len())
            .sum()
    } else {
        std::fs::metadata(path).map_or(0, |m| m.len())
    }
}

/// Runs `partseal args` in `d`, waits until a temporary entry appears there holding at least
/// `bytes`, sends SIGINT, and returns the exit code and what it said on standard error.
fn interrupt(d: &Path, args: &[&str], bytes: u64) -> (Option<i32>, String) {
    let before = entries(d);
    let mut child = PARTSEAL
        .command(d)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let temporary = entries(d)
            .into_iter()
            .find(|e| !before.contains(e) && e.starts_with('.'));
        if let Some(t) = temporary {
            if size(&d.join(t)) >= bytes {
                break;
            }
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "partseal {args:?} finished before it could be interrupted"
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no temporary appeared"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        entries(d),
        before,
        "partseal {args:?} left something behind"
    );
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn an_interrupted_sign_removes_its_temporary_file_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.certified_maker(d, "Acme Brakes", None);
    let (code, stderr) = interrupt(
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
            "3000000",
            "--base-url",
            "https://verify.example.cn",
            "--out",
            "big.jsonl",
        ],
        1 << 20,
    );
    assert_eq!(code, Some(130), "{stderr}");
    assert!(
        stderr.contains("interrupted (Ctrl-C): big.jsonl was not written")
            && stderr.contains("is removed"),
        "{stderr}"
    );
}

#[test]
fn interrupted_labels_remove_their_temporary_directory_or_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    PARTSEAL.certified_maker(d, "Acme Brakes", None);
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
            "--count",
            "30000",
            "--base-url",
            "https://verify.example.cn",
            "--name",
            "前刹车片 Front brake pad",
            "--out",
            "batch.jsonl",
        ],
    );
    let labels = |format: &'static str, out: &'static str| {
        [
            "labels",
            "--input",
            "batch.jsonl",
            "--format",
            format,
            "--out",
            out,
            "--cert",
            "acme.cert",
        ]
    };
    for (format, out) in [("png", "png"), ("pdf", "labels.pdf")] {
        let (code, stderr) = interrupt(d, &labels(format, out), 100_000);
        assert_eq!(code, Some(130), "{format}: {stderr}");
        assert!(
            stderr.contains(&format!("interrupted (Ctrl-C): {out} was not written")),
            "{format}: {stderr}"
        );
    }
}
