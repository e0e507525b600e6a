//! `partseal labels` with the real binary: sign a batch, print it in every format, and the refusals:
//! a corrupted line is named by its number and leaves nothing behind; nothing is overwritten.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use std::path::Path;
use std::process::Output;

use testkit::cli::Partseal;

const PARTSEAL: Partseal = Partseal::at(env!("CARGO_BIN_EXE_partseal"));

fn ok(dir: &Path, args: &[&str]) -> Output {
    PARTSEAL.ok_output(dir, args, None)
}

fn ok_with_input(dir: &Path, args: &[&str], stdin: Option<&[u8]>) -> Output {
    PARTSEAL.ok_output(dir, args, stdin)
}

fn fails(dir: &Path, args: &[&str], stderr_has: &str) {
    PARTSEAL.fails(dir, args, 2, stderr_has);
}

/// An authority, a certified maker and a signed batch of `count` codes in `batch.jsonl`.
fn setup(d: &Path, count: &str) {
    ok(d, &["authority", "init", "--out", "ca"]);
    ok(d, &["keys", "generate", "--out", "acme"]);
    ok(
        d,
        &[
            "authority",
            "certify",
            "--authority",
            "ca",
            "--public-key",
            "acme.pub",
            "--name",
            "Acme Brakes",
            "--prefix",
            "690123",
            "--valid-days",
            "30",
            "--out",
            "acme.cert",
        ],
    );
    sign(d, count, "batch.jsonl");
}

fn sign(d: &Path, count: &str, out: &str) -> Output {
    ok(
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
            count,
            "--base-url",
            "https://verify.example.cn",
            "--name",
            "Front brake pad",
            "--out",
            out,
        ],
    )
}

fn uris(manifest: &str) -> Vec<String> {
    manifest
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["uri"].as_str().unwrap().to_owned()
        })
        .collect()
}

/// Nothing but the expected entries in `d` (no temporary files or directories left behind).
fn entries(d: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

#[test]
fn sign_then_print_every_format() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d, "30");
    let manifest = std::fs::read_to_string(d.join("batch.jsonl")).unwrap();
    let uris = uris(&manifest);
    let labels = |format: &str, out: &str| {
        ok(
            d,
            &[
                "labels",
                "--input",
                "batch.jsonl",
                "--format",
                format,
                "--out",
                out,
                "--cert",
                "acme.cert",
                "--trust",
                "ca/authority.pub",
            ],
        )
    };

    let out = labels("png", "png");
    assert!(String::from_utf8_lossy(&out.stderr).contains("printed 30 PNG files"));
    let files = entries(&d.join("png"));
    assert_eq!(files.len(), 30);
    for f in &files {
        assert!(
            f.starts_with("06901234567892_") && f.ends_with(".png"),
            "{f}"
        );
        let bytes = std::fs::read(d.join("png").join(f)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(bytes.windows(4).any(|w| w == b"pHYs"), "DPI recorded");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("png"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    labels("svg", "svg");
    assert_eq!(entries(&d.join("svg")).len(), 30);
    let svg = std::fs::read_to_string(d.join("svg").join(&entries(&d.join("svg"))[0])).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("(01) 06901234567892"));

    labels("pdf", "labels.pdf");
    let pdf = std::fs::read(d.join("labels.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-1.7"));
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/Count 2"), "30 labels on two sheets of 24");
    assert!(text.trim_end().ends_with("%%EOF"));

    labels("zpl", "labels.zpl");
    let zpl = std::fs::read_to_string(d.join("labels.zpl")).unwrap();
    assert_eq!(zpl.matches("^XA").count(), 30);
    for uri in &uris {
        assert!(zpl.contains(&format!("^BQN,2,4^FDMA,{uri}^FS")), "{uri}");
    }

    // Options: a Letter sheet of 2 x 10 smaller labels at the smallest module, ZPL at 300 dpi, EC Q.
    ok(
        d,
        &[
            "labels",
            "--input",
            "batch.jsonl",
            "--format",
            "pdf",
            "--out",
            "letter.pdf",
            "--cert",
            "acme.cert",
            "--page",
            "letter",
            "--grid",
            "2x10",
            "--label",
            "101.6x25.4",
            "--module-mm",
            "0.25",
            "--gap",
            "4.8,0",
        ],
    );
    let out = ok(
        d,
        &[
            "labels",
            "--input",
            "batch.jsonl",
            "--format",
            "zpl",
            "--out",
            "-",
            "--cert",
            "acme.cert",
            "--dpi",
            "300",
            "--ec",
            "Q",
            "--module-dots",
            "5",
        ],
    );
    let zpl300 = String::from_utf8(out.stdout).unwrap();
    assert!(zpl300.contains(&format!("^BQN,2,5^FDQA,{}^FS", uris[0])));

    // Refusals that leave everything as it was.
    let before = entries(d);
    fails(
        d,
        &[
            "labels",
            "--input",
            "batch.jsonl",
            "--format",
            "pdf",
            "--out",
            "labels.pdf",
            "--cert",
            "acme.cert",
        ],
        "already exists",
    );
    fails(
        d,
        &[
            "labels",
            "--input",
            "batch.jsonl",
            "--format",
            "pdf",
            "--out",
            "tiny.pdf",
            "--cert",
            "acme.cert",
            "--label",
            "30x20",
        ],
        "label",
    );
    fails(
        d,
        &[
            "labels",
            "--input",
            "batch.jsonl",
            "--format",
            "zpl",
            "--out",
            "q.zpl",
            "--cert",
            "acme.cert",
            "--dpi",
            "300",
            "--ec",
            "Q",
        ],
        // 0.49 mm would print as 6 dots at 300 dpi, as large as 0.5 mm: the advice is in dots
        // the printer has.
        "it fits with a module of at most 0.46 mm, or with error correction M",
    );
    fails(
        d,
        &[
            "labels",
            "--input",
            "batch.jsonl",
            "--format",
            "pdf",
            "--out",
            "wide.pdf",
            "--cert",
            "acme.cert",
            "--grid",
            "4x8",
        ],
        "does not fit",
    );
    assert_eq!(entries(d), before);
}

#[test]
fn a_corrupted_line_is_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d, "2000");
    let manifest = std::fs::read_to_string(d.join("batch.jsonl")).unwrap();
    let mut lines: Vec<String> = manifest.lines().map(str::to_owned).collect();
    // Line 1500: a different serial in both the URI and its field, so the line parses but its
    // signature no longer matches (a forged or mistyped code).
    let line = lines[1499].clone();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    let serial = v["serial"].as_str().unwrap();
    let forged = serial.replace(&serial[..1], if &serial[..1] == "Z" { "Y" } else { "Z" });
    lines[1499] = line.replace(serial, &forged);
    std::fs::write(d.join("forged.jsonl"), lines.join("\n") + "\n").unwrap();
    // Line 7: not a manifest line at all.
    lines[1499] = line.clone();
    lines[6] = "{\"uri\": 42}".into();
    std::fs::write(d.join("broken.jsonl"), lines.join("\n") + "\n").unwrap();

    let before = entries(d);
    for format in ["png", "svg", "pdf", "zpl"] {
        let args = |input: &'static str| {
            [
                "labels",
                "--input",
                input,
                "--format",
                format,
                "--out",
                "out",
                "--cert",
                "acme.cert",
            ]
        };
        fails(
            d,
            &args("forged.jsonl"),
            "line 1500: the signature does not verify",
        );
        fails(d, &args("broken.jsonl"), "line 7: not a manifest line");
        assert_eq!(entries(d), before, "{format}: nothing left behind");
    }
    // With --trust the full verdict is given, and standard output stays empty on failure.
    let out = PARTSEAL.run_with_input(
        d,
        &[
            "labels",
            "--input",
            "-",
            "--format",
            "zpl",
            "--out",
            "-",
            "--cert",
            "acme.cert",
            "--trust",
            "ca/authority.pub",
        ],
        Some(std::fs::read(d.join("forged.jsonl")).unwrap().as_slice()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("standard input (nothing was written): manifest line 1500")
    );
}

#[test]
fn a_foreign_certificate_or_authority_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d, "3");
    ok(d, &["authority", "init", "--out", "other-ca"]);
    ok(d, &["keys", "generate", "--out", "other"]);
    ok(
        d,
        &[
            "authority",
            "certify",
            "--authority",
            "other-ca",
            "--public-key",
            "other.pub",
            "--name",
            "Other",
            "--prefix",
            "690123",
            "--valid-days",
            "30",
            "--out",
            "other.cert",
        ],
    );
    fails(
        d,
        &[
            "labels",
            "--input",
            "batch.jsonl",
            "--format",
            "zpl",
            "--out",
            "x.zpl",
            "--cert",
            "other.cert",
        ],
        "line 1: signed with key",
    );
    fails(
        d,
        &[
            "labels",
            "--input",
            "batch.jsonl",
            "--format",
            "zpl",
            "--out",
            "x.zpl",
            "--cert",
            "acme.cert",
            "--trust",
            "other-ca/authority.pub",
        ],
        "not trusted under",
    );
    assert!(!d.join("x.zpl").exists());
}

#[test]
fn sign_pipes_into_labels() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d, "1");
    let signed = sign(d, "50", "-");
    let manifest = String::from_utf8(signed.stdout.clone()).unwrap();
    let out = ok_with_input(
        d,
        &[
            "labels",
            "--input",
            "-",
            "--format",
            "pdf",
            "--out",
            "piped.pdf",
            "--cert",
            "acme.cert",
            "--trust",
            "ca/authority.pub",
        ],
        Some(&signed.stdout),
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("printed 50 labels on PDF sheets"));
    assert!(
        std::fs::read(d.join("piped.pdf"))
            .unwrap()
            .starts_with(b"%PDF")
    );
    let out = ok_with_input(
        d,
        &[
            "labels",
            "--input",
            "-",
            "--format",
            "zpl",
            "--out",
            "-",
            "--cert",
            "acme.cert",
        ],
        Some(&signed.stdout),
    );
    let zpl = String::from_utf8(out.stdout).unwrap();
    for uri in uris(&manifest) {
        assert!(zpl.contains(&format!("^FDMA,{uri}^FS")));
    }
}

#[test]
fn codes_of_a_revoked_key_are_refused_unless_a_reprint_is_asked_for() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d, "5");
    let labels = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "labels",
            "--input",
            "batch.jsonl",
            "--format",
            "zpl",
            "--out",
            out,
            "--cert",
            "acme.cert",
            "--trust",
            "ca/authority.pub",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        PARTSEAL.run(d, &args)
    };
    for (reason, list, says) in [
        (
            "decertified",
            "decertified.list",
            "its maker was decertified on",
        ),
        (
            "key_compromise",
            "compromised.list",
            "it was reported compromised on",
        ),
    ] {
        ok(
            d,
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
                list,
            ],
        );
        let before = entries(d);
        // Refused, saying which key, which list and why, with exit 2 and nothing written.
        let out = run(&labels("x.zpl", &["--revoked", list]));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("manifest line 1: signed with key")
                && stderr.contains(&format!("which {list} revokes: {says}"))
                && stderr.contains("--allow-revoked"),
            "{stderr}"
        );
        assert_eq!(entries(d), before);
        // A reprint of history: printed, with a warning that says how many and why.
        let out = run(&labels(
            "reprint.zpl",
            &["--revoked", list, "--allow-revoked"],
        ));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(
            stderr.contains("warning: --allow-revoked: printed 5 labels of codes signed with key")
                && stderr.contains(says),
            "{stderr}"
        );
        let zpl = std::fs::read_to_string(d.join("reprint.zpl")).unwrap();
        assert_eq!(zpl.matches("^XA").count(), 5);
        std::fs::remove_file(d.join("reprint.zpl")).unwrap();
    }
    // Without the list, the command cannot know (and says nothing); the flags need what they check.
    ok(
        d,
        &labels("unknowing.zpl", &[])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    fails(
        d,
        &[
            "labels",
            "--input",
            "batch.jsonl",
            "--format",
            "zpl",
            "--out",
            "y.zpl",
            "--cert",
            "acme.cert",
            "--revoked",
            "compromised.list",
        ],
        "--trust",
    );
}

#[test]
fn a_chinese_part_name_prints_in_every_format_and_one_no_font_has_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d, "1");
    let sign_named = |name: &str, out: &str| {
        ok(
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
                "3",
                "--base-url",
                "https://verify.example.cn",
                "--name",
                name,
                "--out",
                out,
            ],
        )
    };
    let labels = |input: &str, format: &str, out: &str| {
        ok(
            d,
            &[
                "labels",
                "--input",
                input,
                "--format",
                format,
                "--out",
                out,
                "--cert",
                "acme.cert",
                "--label",
                "99.1x38.1",
                "--grid",
                "2x7",
            ],
        )
    };
    let signed = sign_named("前刹车片 Front brake pad", "zh.jsonl");
    assert!(!String::from_utf8_lossy(&signed.stderr).contains("warning"));
    for (format, out) in [
        ("png", "png"),
        ("svg", "svg"),
        ("pdf", "zh.pdf"),
        ("zpl", "zh.zpl"),
    ] {
        let printed = labels("zh.jsonl", format, out);
        assert!(
            !String::from_utf8_lossy(&printed.stderr).contains("without their part name"),
            "{format}"
        );
    }
    let svg = entries(&d.join("svg"));
    let svg = std::fs::read_to_string(d.join("svg").join(&svg[0])).unwrap();
    assert!(svg.contains(">前刹车片 Front brake pad</text>"));
    assert_eq!(
        std::fs::read_to_string(d.join("zh.zpl"))
            .unwrap()
            .matches("^GFA,")
            .count(),
        6,
        "the name and the check line of 3 labels as bitmaps"
    );
    if let Ok(out) = std::process::Command::new("pdftotext")
        .args(["zh.pdf", "-"])
        .current_dir(d)
        .output()
    {
        let text = String::from_utf8(out.stdout).unwrap();
        assert_eq!(
            text.matches("前刹车片 Front brake pad").count(),
            3,
            "{text}"
        );
    } else {
        assert!(std::env::var_os("CI").is_none(), "pdftotext is missing");
    }

    // 𠮷 is outside GB 2312: sign warns at once, and labels print without the name, saying why.
    let signed = sign_named("前刹车片𠮷", "rare.jsonl");
    let warning = String::from_utf8_lossy(&signed.stderr);
    assert!(
        warning.contains("labels will print without this part name")
            && warning.contains("𠮷 (U+20BB7)"),
        "{warning}"
    );
    let printed = labels("rare.jsonl", "pdf", "rare.pdf");
    let warning = String::from_utf8_lossy(&printed.stderr);
    assert!(
        warning.contains("3 labels were printed without their part name")
            && warning.contains("no glyph for 𠮷 (U+20BB7)"),
        "{warning}"
    );
}

/// The changes a refusal advises, as command-line arguments: each of `a module of at most X mm`,
/// `a module of at most N dots`, `error correction L [and a module ...]`, `a label of at least W x
/// H mm`.
fn advised(stderr: &str) -> Vec<Vec<String>> {
    let advice = stderr
        .split("; it fits with ")
        .nth(1)
        .unwrap_or_else(|| panic!("no advice in {stderr}"));
    advice
        .trim()
        .split(", or with ")
        .map(|remedy| {
            let mut args = Vec::new();
            for part in remedy.split(" and ") {
                let words: Vec<&str> = part.split_whitespace().collect();
                match words.as_slice() {
                    ["a", "module", "of", "at", "most", n, "mm"] => {
                        args.extend(["--module-mm".to_owned(), n.to_string()])
                    }
                    ["a", "module", "of", "at", "most", n, "dots"] => {
                        args.extend(["--module-dots".to_owned(), n.to_string()])
                    }
                    ["error", "correction", level] => {
                        args.extend(["--ec".to_owned(), level.to_string()])
                    }
                    ["a", "label", "of", "at", "least", w, "x", h, "mm"] => {
                        args.extend(["--label".to_owned(), format!("{w}x{h}")])
                    }
                    _ => panic!("advice not understood: {part:?} in {stderr}"),
                }
            }
            args
        })
        .collect()
}

#[test]
fn following_the_advice_of_a_too_small_label_makes_it_print() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    setup(d, "2");
    let mut followed = 0;
    let mut out_n = 0;
    for (format, extra) in [
        ("png", &[][..]),
        ("zpl", &["--dpi", "300", "--ec", "Q"][..]),
        ("pdf", &["--grid", "1x1", "--ec", "H"][..]),
        ("png", &["--module-dots", "6", "--dpi", "300"][..]),
    ] {
        for label in [
            "30x15", "30x20", "40x25", "40x30", "50x28", "63.5x25", "63.5x30",
        ] {
            let mut args: Vec<String> = [
                "labels",
                "--input",
                "batch.jsonl",
                "--format",
                format,
                "--cert",
                "acme.cert",
                "--label",
                label,
            ]
            .map(str::to_owned)
            .to_vec();
            args.extend(extra.iter().map(|a| a.to_string()));
            let run = |args: &[String], out: &str| {
                let mut args = args.to_vec();
                args.extend(["--out".to_owned(), out.to_owned()]);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                PARTSEAL.run(d, &args)
            };
            let refused = run(&args, "refused");
            if refused.status.success() {
                continue;
            }
            let stderr = String::from_utf8_lossy(&refused.stderr).into_owned();
            assert_eq!(refused.status.code(), Some(2), "{stderr}");
            for remedy in advised(&stderr) {
                // The advice's setting replaces the one it changes.
                let mut fixed = args.clone();
                for pair in remedy.chunks(2) {
                    if let Some(i) = fixed.iter().position(|a| *a == pair[0]) {
                        fixed[i + 1] = pair[1].clone();
                    } else {
                        if pair[0] == "--module-mm" {
                            if let Some(i) = fixed.iter().position(|a| a == "--module-dots") {
                                fixed.drain(i..i + 2);
                            }
                        }
                        fixed.extend(pair.iter().cloned());
                    }
                }
                out_n += 1;
                let out = run(&fixed, &format!("fixed-{out_n}"));
                assert!(
                    out.status.success(),
                    "{fixed:?} (advised by {stderr}) failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                followed += 1;
            }
        }
    }
    assert!(followed > 20, "{followed} remedies followed");
}

/// zbarimg's reading of a PNG, one symbol a line, or `None` (with one line saying so) where zbar is
/// not installed, unless CI is set (`.ci/run` installs zbar-tools).
fn zbarimg(png: &Path) -> Option<Vec<String>> {
    match std::process::Command::new("zbarimg")
        .args(["--nodbus", "--quiet", "--raw"])
        .arg(png)
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "zbarimg read nothing in {}",
                png.display()
            );
            let mut read: Vec<String> = String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(str::to_owned)
                .collect();
            read.sort_unstable();
            Some(read)
        }
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("zbarimg not run ({e}); install zbar-tools");
            None
        }
        Err(e) => panic!("zbarimg: {e} (install zbar-tools)"),
    }
}

#[test]
fn carton_labels_read_back_as_their_digital_link_and_gs1_128() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("cartons.txt"),
        "# pallet 7\n106141412345678908\n\n306901230000000011\n",
    )
    .unwrap();
    let args = |list: &'static str| {
        [
            "labels",
            "--cartons",
            list,
            "--base-url",
            "https://verify.example.cn",
            "--out",
            "cartons",
        ]
    };
    let printed = ok(d, &args("cartons.txt"));
    assert!(
        String::from_utf8_lossy(&printed.stderr).contains("printed 2 carton labels"),
        "{}",
        String::from_utf8_lossy(&printed.stderr)
    );
    for sscc in ["106141412345678908", "306901230000000011"] {
        let png = d.join("cartons").join(format!("{sscc}.png"));
        assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
        if let Some(read) = zbarimg(&png) {
            assert_eq!(
                read,
                [
                    format!("00{sscc}"),
                    format!("https://verify.example.cn/00/{sscc}")
                ],
                "{sscc}"
            );
        }
    }

    // SVG: one file per carton.
    let mut svg = args("cartons.txt");
    svg[6] = "cartons-svg";
    ok(d, &[&svg[..], &["--format", "svg"]].concat());
    let file = std::fs::read_to_string(d.join("cartons-svg/306901230000000011.svg")).unwrap();
    assert!(
        file.contains(">(00) 3 0690123 000000001 1</text>"),
        "{file}"
    );

    // PDF: a page per carton.
    let mut pdf = args("cartons.txt");
    pdf[6] = "cartons.pdf";
    ok(d, &[&pdf[..], &["--format", "pdf"]].concat());
    let file = std::fs::read(d.join("cartons.pdf")).unwrap();
    assert!(file.starts_with(b"%PDF"));
    // One media box per page.
    assert_eq!(
        String::from_utf8_lossy(&file).matches("/MediaBox").count(),
        2
    );

    // ZPL: one stream, the printer drawing both symbols.
    let mut zpl = args("cartons.txt");
    zpl[6] = "cartons.zpl";
    ok(d, &[&zpl[..], &["--format", "zpl"]].concat());
    let stream = std::fs::read_to_string(d.join("cartons.zpl")).unwrap();
    assert_eq!(stream.matches("^XA").count(), 2, "{stream}");
    for sscc in ["106141412345678908", "306901230000000011"] {
        assert!(stream.contains(&format!("^FD>;>800{sscc}^FS")), "{stream}");
        assert!(
            stream.contains(&format!("^FDMA,https://verify.example.cn/00/{sscc}^FS")),
            "{stream}"
        );
    }

    // A bad check digit on line 3: refused by its line number, nothing written.
    std::fs::write(
        d.join("bad.txt"),
        "106141412345678908\n\n106141412345678909\n",
    )
    .unwrap();
    let before = entries(d);
    let mut bad = args("bad.txt");
    bad[6] = "more";
    fails(d, &bad, "bad.txt line 3");
    fails(
        d,
        &[&bad[..], &["--format", "zpl"]].concat(),
        "bad.txt line 3",
    );
    assert_eq!(entries(d), before, "nothing left behind");
}
