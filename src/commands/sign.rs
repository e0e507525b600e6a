//! `partseal sign`: a batch of signed codes into a manifest, on every core, in bounded memory.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use signer::batch::{self, BatchSpec};
use signer::{
    BaseUrl, Certificate, Gtin, KeyId, Lot, ParseError, Serial, SigningKey, Timestamp, manifest,
};

use super::{files, progress};

#[derive(Args)]
#[command(group(clap::ArgGroup::new("serial_source").required(true).args(["count", "serials"])))]
pub struct SignArgs {
    /// The manufacturer's private key (PKCS#8 PEM).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The manufacturer's certificate for that key.
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// GTIN-14 of the part (check digit included).
    #[arg(long)]
    gtin: String,
    /// Batch/lot number, GS1 AI (10).
    #[arg(long)]
    lot: Option<String>,
    /// Generate this many random serials (13 characters, 64 bits, no 0/O/1/I/L).
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Use the manufacturer's own serials, one per line.
    #[arg(long, value_name = "FILE")]
    serials: Option<PathBuf>,
    /// Where the verifier lives; labels point at it, e.g. https://verify.example.cn
    #[arg(long, value_name = "URL")]
    base_url: String,
    /// Short part name for the labels, e.g. "Front brake pad".
    #[arg(long)]
    name: Option<String>,
    /// The manifest to write (JSON Lines), or `-` for standard output. An existing file is never overwritten.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
}

/// A bad line in a serials file.
#[derive(Debug, thiserror::Error)]
pub enum SerialFileError {
    #[error("line {line}: {problem}")]
    Invalid { line: u64, problem: ParseError },
    #[error("reading the serials file failed at line {line}: {problem}")]
    Io { line: u64, problem: std::io::Error },
}

pub fn run(args: SignArgs) -> anyhow::Result<ExitCode> {
    let key = files::signing_key(&args.key)?;
    let cert = files::certificate(&args.cert)?;
    let spec = BatchSpec {
        gtin: Gtin::parse(&args.gtin).context("--gtin")?,
        lot: args
            .lot
            .as_deref()
            .map(Lot::parse)
            .transpose()
            .context("--lot")?,
        base: BaseUrl::parse(&args.base_url).context("--base-url")?,
        name: args.name.clone(),
    };
    if let Some(name) = &spec.name {
        manifest::validate_name(name).map_err(|e| anyhow::anyhow!("--name {e}"))?;
        warn_undrawable(name)?;
    }
    check_can_sign(&key, &cert, &spec.gtin, Timestamp::now())?;
    if args.count == Some(0) {
        bail!("--count must be at least 1");
    }

    let started = Instant::now();
    let bar = progress::bar(args.count, "signing");
    let report = |n| bar.set_position(n);
    let written = if args.out.as_os_str() == "-" {
        let stdout = std::io::stdout().lock();
        sign_into(
            &key,
            &spec,
            &args,
            BufWriter::with_capacity(1 << 20, stdout),
            &report,
        )?
    } else {
        files::write_atomically(&args.out, files::PUBLIC, |file| {
            sign_into(&key, &spec, &args, file, &report)
        })?
    };
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "signed {written} codes for GTIN {}{} with key {} into {} in {secs:.1} s ({:.0} codes/s)",
        spec.gtin,
        spec.lot
            .as_ref()
            .map(|l| format!(" lot {l}"))
            .unwrap_or_default(),
        KeyId::of(&key.verifying_key()),
        args.out.display(),
        written as f64 / secs.max(1e-9),
    );
    Ok(ExitCode::SUCCESS)
}

/// Says now, not at printing, when a part name holds characters the label fonts cannot draw (the
/// labels will print without the name).
fn warn_undrawable(name: &str) -> anyhow::Result<()> {
    let missing = labels::font::faces()?.missing(name);
    if !missing.is_empty() {
        let chars: Vec<String> = missing
            .iter()
            .map(|c| format!("{c} (U+{:04X})", u32::from(*c)))
            .collect();
        eprintln!(
            "warning: labels will print without this part name: the label fonts have no glyph for {} \
             (they draw Latin, Greek, Cyrillic and the Chinese of GB 2312)",
            chars.join(", ")
        );
    }
    Ok(())
}

/// Refuses to sign what no verifier would accept: a key that is not the certified one, a GTIN outside
/// the certificate's prefixes, a certificate outside its validity window.
pub fn check_can_sign(
    key: &SigningKey,
    cert: &Certificate,
    gtin: &Gtin,
    now: Timestamp,
) -> anyhow::Result<()> {
    if cert.public_key() != &key.verifying_key() {
        bail!(
            "the key (id {}) is not the one the certificate names (id {})",
            KeyId::of(&key.verifying_key()),
            cert.key_id()
        );
    }
    if !cert.covers(gtin) {
        let prefixes: Vec<&str> = cert.body().prefixes.iter().map(|p| p.as_str()).collect();
        bail!(
            "GTIN {gtin} is outside the company prefixes of certificate #{} ({}); codes for it would be rejected",
            cert.serial(),
            prefixes.join(", ")
        );
    }
    cert.check_validity(now)
        .context("the certificate cannot be used now")?;
    Ok(())
}

fn sign_into<W: Write>(
    key: &SigningKey,
    spec: &BatchSpec,
    args: &SignArgs,
    out: W,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<u64> {
    let written = match (&args.count, &args.serials) {
        (Some(count), _) => batch::sign_batch(
            key,
            spec,
            batch::random_serials().take(*count as usize),
            out,
            progress,
        )?,
        (None, Some(path)) => {
            let file =
                File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            let serials = serial_lines(BufReader::new(file));
            batch::sign_batch(key, spec, serials, out, progress)
                .with_context(|| format!("serials file {}", path.display()))?
        }
        (None, None) => bail!("give --count N or --serials FILE"),
    };
    if written == 0 {
        bail!("no serials to sign");
    }
    Ok(written)
}

/// Serials from a file, one per line; blank lines are skipped, surrounding whitespace ignored.
fn serial_lines(input: impl BufRead) -> impl Iterator<Item = Result<Serial, SerialFileError>> {
    input.lines().enumerate().filter_map(|(i, line)| {
        let line_no = i as u64 + 1;
        match line {
            Err(problem) => Some(Err(SerialFileError::Io {
                line: line_no,
                problem,
            })),
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => {
                Some(
                    Serial::parse(text.trim()).map_err(|problem| SerialFileError::Invalid {
                        line: line_no,
                        problem,
                    }),
                )
            }
        }
    })
}
