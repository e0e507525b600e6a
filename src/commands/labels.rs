//! `partseal labels`: a signed manifest into print-ready labels (PNG, SVG, PDF sheets, ZPL).
//!
//! Every line is parsed and its signature checked against the manufacturer's certificate (and, with
//! `--trust`, the certificate against the authority; with `--revoked`, against the authority's
//! revocation list) before its label is drawn; the output is built in a temporary file or directory
//! and moved into place only when every line passed, so a bad line leaves nothing behind and nothing
//! reaches a printer.
//!
//! A code of a revoked key (compromised, or its maker decertified) is refused like a forged one:
//! printing it would put a label on a part that no verifier trusts, or that a decertified maker may
//! no longer sell. `--allow-revoked` prints them anyway, for reprints of labels of parts made
//! before, and says how many it printed.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use labels::batch::{self, DirSink, Format, StreamSink, Summary};
use labels::pdf::{PageSize, Sheet, SheetWriter};
use labels::{EcLevel, Layout, ModuleSize, PngRenderer, ZplRenderer};
use signer::{
    Certificate, CheckTimes, KeyId, ManifestEntry, ManifestReader, Timestamp, TrustStore,
    VerifyError,
};

use super::{files, interrupt, progress};

mod cartons;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// One PNG file per label in a directory (1-bit greyscale, DPI recorded).
    Png,
    /// One SVG file per label in a directory.
    Svg,
    /// Sheets of labels in one PDF.
    Pdf,
    /// One ZPL II stream for Zebra-compatible thermal printers.
    Zpl,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Paper {
    A4,
    Letter,
}

#[derive(Args)]
pub struct LabelsArgs {
    /// The manifest `partseal sign` wrote (JSON Lines), or `-` for standard input.
    #[arg(long, value_name = "FILE", required_unless_present = "cartons")]
    input: Option<PathBuf>,
    /// Carton labels instead: one SSCC a line (18 digits; blank lines and `#` comments skipped),
    /// each printed as its Digital Link's QR code and a GS1-128 barcode.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "input",
        requires = "base_url"
    )]
    cartons: Option<PathBuf>,
    /// The verification service carton labels point at (`--cartons`), e.g. https://verify.example.cn.
    #[arg(long, value_name = "URL", requires = "cartons")]
    base_url: Option<String>,
    /// What to print (carton labels: png, svg or zpl; png if not given).
    #[arg(long, value_enum, required_unless_present = "cartons")]
    format: Option<OutputFormat>,
    /// Where: a new directory for png and svg, a new file for pdf and zpl (`-`: standard output).
    /// Nothing existing is ever overwritten.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// The certificate of the key that signed the codes; repeat for several. Every code's signature
    /// is checked against it before anything is printed.
    #[arg(
        long = "cert",
        value_name = "FILE",
        required_unless_present = "cartons"
    )]
    certs: Vec<PathBuf>,
    /// The authority's public key: also check that it issued the certificates and that they are
    /// valid now, as `verify` does.
    #[arg(long, value_name = "FILE")]
    trust: Option<PathBuf>,
    /// The authority's revocation list (needs --trust): codes of a key it revokes (compromised, or
    /// its maker decertified) are refused.
    #[arg(long, value_name = "FILE", requires = "trust")]
    revoked: Option<PathBuf>,
    /// Print codes of revoked keys anyway (reprinting labels of parts made before the revocation);
    /// a warning says how many were printed.
    #[arg(long, requires = "revoked")]
    allow_revoked: bool,
    /// Label size in millimetres, WIDTHxHEIGHT (the PDF grid cell).
    #[arg(long, value_name = "WxH", default_value = "63.5x33.9", value_parser = parse_pair_x)]
    label: (f32, f32),
    /// QR module size in millimetres (raster formats round to whole dots) [default: 0.5].
    #[arg(long, value_name = "MM", conflicts_with = "module_dots")]
    module_mm: Option<f32>,
    /// QR module size in printer dots at --dpi.
    #[arg(long, value_name = "N")]
    module_dots: Option<u32>,
    /// QR error correction level.
    #[arg(long, value_name = "LEVEL", default_value = "M")]
    ec: EcLevel,
    /// Resolution: 203, 300 or 600 for zpl (default 203); any from 72 to 1200 for png (default 300);
    /// for svg and pdf only used to convert --module-dots.
    #[arg(long, value_name = "DPI")]
    dpi: Option<u32>,
    /// PDF paper size.
    #[arg(long, value_enum, default_value = "a4")]
    page: Paper,
    /// PDF grid, COLUMNSxROWS.
    #[arg(long, value_name = "CxR", default_value = "3x8", value_parser = parse_grid)]
    grid: (u32, u32),
    /// PDF: left edge of the first column, in mm [default: the grid is centred].
    #[arg(long, value_name = "MM")]
    margin_left: Option<f32>,
    /// PDF: top edge of the first row, in mm [default: the grid is centred].
    #[arg(long, value_name = "MM")]
    margin_top: Option<f32>,
    /// PDF: space between columns and between rows in mm, X,Y.
    #[arg(long, value_name = "X,Y", default_value = "2.5,0", value_parser = parse_pair_comma)]
    gap: (f32, f32),
}

fn parse_pair(s: &str, sep: char, what: &str) -> Result<(f32, f32), String> {
    let bad = || format!("expected {what}, e.g. 63.5{sep}33.9 (found {s:?})");
    let (a, b) = s.split_once(sep).ok_or_else(bad)?;
    let a: f32 = a.trim().parse().map_err(|_| bad())?;
    let b: f32 = b.trim().parse().map_err(|_| bad())?;
    if !(a.is_finite() && b.is_finite()) {
        return Err(bad());
    }
    Ok((a, b))
}

fn parse_pair_x(s: &str) -> Result<(f32, f32), String> {
    parse_pair(&s.to_ascii_lowercase(), 'x', "WIDTHxHEIGHT in mm")
}

fn parse_pair_comma(s: &str) -> Result<(f32, f32), String> {
    parse_pair(s, ',', "two millimetre values")
}

fn parse_grid(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("expected COLUMNSxROWS, e.g. 3x8 (found {s:?})");
    let (c, r) = s
        .to_ascii_lowercase()
        .split_once('x')
        .map(|(c, r)| (c.trim().to_owned(), r.trim().to_owned()))
        .ok_or_else(bad)?;
    match (c.parse(), r.parse()) {
        (Ok(c @ 1..=50), Ok(r @ 1..=50)) => Ok((c, r)),
        _ => Err(bad()),
    }
}

pub fn run(args: LabelsArgs) -> anyhow::Result<ExitCode> {
    let (Some(path), Some(output_format)) = (&args.input, args.format) else {
        return cartons::run(&args);
    };
    let format = build_format(&args, output_format)?;
    let revoked_printed = RevokedPrinted::default();
    let check = checker(&args, &revoked_printed)?;
    let to_stdout = args.out.as_os_str() == "-";
    if to_stdout && matches!(output_format, OutputFormat::Png | OutputFormat::Svg) {
        bail!("png and svg write one file per label into a directory; give --out DIR");
    }
    if !to_stdout && args.out.exists() {
        bail!(
            "{} already exists; choose another --out (its labels may already be printed)",
            args.out.display()
        );
    }

    let from_stdin = path.as_os_str() == "-";
    let total = if from_stdin {
        None
    } else {
        Some(count_lines(path)?)
    };
    let input: Box<dyn BufRead> = if from_stdin {
        Box::new(BufReader::with_capacity(1 << 20, std::io::stdin().lock()))
    } else {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        Box::new(BufReader::with_capacity(1 << 20, file))
    };
    let mut manifest = ManifestReader::new(input);
    let started = Instant::now();
    let bar = progress::bar(total, "printing labels");
    let report = |n| bar.set_position(n);
    let context = || format!("{} (nothing was written)", input_name(path));

    let summary = match &format {
        Format::Png(_) | Format::Svg(_) => write_dir(&args.out, |dir| {
            let mut sink = DirSink::new(dir, format.extension());
            batch::render(&mut manifest, &*check, &format, &mut sink, &report).with_context(context)
        })?,
        Format::Pdf(sheet) => write_stream(&args.out, |out| {
            let mut writer = SheetWriter::new(out, *sheet)?;
            let summary = batch::render(&mut manifest, &*check, &format, &mut writer, &report)
                .with_context(context)?;
            writer.finish()?;
            Ok(summary)
        })?,
        Format::Zpl(_) => write_stream(&args.out, |out| {
            let mut sink = StreamSink(out);
            batch::render(&mut manifest, &*check, &format, &mut sink, &report).with_context(context)
        })?,
    };
    bar.finish_and_clear();

    let secs = started.elapsed().as_secs_f64();
    let what = match output_format {
        OutputFormat::Png => "PNG files",
        OutputFormat::Svg => "SVG files",
        OutputFormat::Pdf => "labels on PDF sheets",
        OutputFormat::Zpl => "ZPL labels",
    };
    eprintln!(
        "printed {} {what} into {} in {secs:.1} s ({:.0} labels/s)",
        summary.labels,
        if to_stdout {
            "standard output".into()
        } else {
            args.out.display().to_string()
        },
        summary.labels as f64 / secs.max(1e-9),
    );
    warn_names(&summary, output_format);
    revoked_printed.warn();
    Ok(ExitCode::SUCCESS)
}

/// Codes of revoked keys printed under `--allow-revoked`: per key, how many and why.
#[derive(Default)]
struct RevokedPrinted(Mutex<BTreeMap<String, (u64, String)>>);

impl RevokedPrinted {
    fn record(&self, key: KeyId, why: &str) {
        if let Ok(mut keys) = self.0.lock() {
            keys.entry(key.to_string())
                .or_insert_with(|| (0, why.to_owned()))
                .0 += 1;
        }
    }

    fn warn(&self) {
        let Ok(keys) = self.0.lock() else { return };
        for (key, (count, why)) in keys.iter() {
            eprintln!(
                "warning: --allow-revoked: printed {count} labels of codes signed with key {key}, \
                 which {why}"
            );
        }
    }
}

fn input_name(path: &Path) -> String {
    if path.as_os_str() == "-" {
        "standard input".into()
    } else {
        path.display().to_string()
    }
}

fn warn_names(summary: &Summary, format: OutputFormat) {
    if summary.names_left_off == 0 {
        return;
    }
    let chars: Vec<String> = summary
        .missing
        .iter()
        .map(|c| format!("{c} (U+{:04X})", u32::from(*c)))
        .collect();
    let covered = if format == OutputFormat::Pdf {
        "Latin-1 and the Chinese of GB 2312"
    } else {
        "Latin, Greek, Cyrillic and the Chinese of GB 2312"
    };
    eprintln!(
        "warning: {} labels were printed without their part name: the label fonts have no glyph \
         for {} (they draw {covered}); the GTIN, lot and serial always print",
        summary.names_left_off,
        chars.join(", ")
    );
}

fn build_format(args: &LabelsArgs, output_format: OutputFormat) -> anyhow::Result<Format> {
    let module = match (args.module_mm, args.module_dots) {
        (Some(mm), _) => ModuleSize::Mm(mm),
        (None, Some(dots)) => ModuleSize::Dots(dots),
        (None, None) => ModuleSize::DEFAULT,
    };
    let layout = Layout {
        width_mm: args.label.0,
        height_mm: args.label.1,
        module,
        ec: args.ec,
    }
    .validate()
    .context("label layout")?;
    Ok(match output_format {
        OutputFormat::Png => {
            let dpi = args.dpi.unwrap_or(300);
            if !(labels::png::MIN_DPI..=labels::png::MAX_DPI).contains(&dpi) {
                bail!(
                    "--dpi for png must be between {} and {}",
                    labels::png::MIN_DPI,
                    labels::png::MAX_DPI
                );
            }
            Format::Png(PngRenderer::new(layout, dpi)?)
        }
        OutputFormat::Zpl => Format::Zpl(ZplRenderer::new(layout, args.dpi.unwrap_or(203))?),
        OutputFormat::Svg | OutputFormat::Pdf if module_dots_without_dpi(args) => {
            bail!("--module-dots for svg and pdf needs --dpi (the printer's resolution)")
        }
        OutputFormat::Svg => Format::Svg(with_dots_dpi(layout, args.dpi)),
        OutputFormat::Pdf => Format::Pdf(
            Sheet {
                page: match args.page {
                    Paper::A4 => PageSize::A4,
                    Paper::Letter => PageSize::Letter,
                },
                label: with_dots_dpi(layout, args.dpi),
                columns: args.grid.0,
                rows: args.grid.1,
                margin_left_mm: args.margin_left,
                margin_top_mm: args.margin_top,
                gap_x_mm: args.gap.0,
                gap_y_mm: args.gap.1,
            }
            .validate()
            .context("sheet layout")?,
        ),
    })
}

fn module_dots_without_dpi(args: &LabelsArgs) -> bool {
    args.module_dots.is_some() && args.dpi.is_none()
}

/// Vector formats take a module size in dots as millimetres at the given resolution.
fn with_dots_dpi(layout: Layout, dpi: Option<u32>) -> Layout {
    match (layout.module, dpi) {
        (ModuleSize::Dots(_), Some(dpi)) => Layout {
            module: ModuleSize::Mm(layout.module.raster_mm(dpi)),
            ..layout
        },
        _ => layout,
    }
}

type Check<'a> = dyn Fn(&ManifestEntry) -> Result<(), String> + Sync + 'a;

/// The rule each line must pass: its signature under one of the certificates (and with `--trust`,
/// everything `verify --offline` checks; with `--revoked`, that its key is not revoked).
fn checker<'a>(
    args: &LabelsArgs,
    revoked_printed: &'a RevokedPrinted,
) -> anyhow::Result<Box<Check<'a>>> {
    if let Some(trust) = &args.trust {
        let store: TrustStore = files::trust_store(trust, &args.certs, None)?;
        let now = Timestamp::now();
        let times = CheckTimes::offline(now);
        let Some(list_path) = &args.revoked else {
            return Ok(Box::new(move |e: &ManifestEntry| {
                store
                    .check_code(&e.code, times)
                    .map(|_| ())
                    .map_err(|err| format!("{err} (reason {})", err.code()))
            }));
        };
        let with_list = files::trust_store(trust, &args.certs, Some(list_path))?;
        let list_name = list_path.display().to_string();
        let allow = args.allow_revoked;
        return Ok(Box::new(move |e: &ManifestEntry| {
            let why = match with_list.check_code(&e.code, times) {
                Ok(v) => match v.decertified {
                    None => return Ok(()),
                    Some(r) => format!(
                        "{list_name} revokes: its maker was decertified on {} (certificate #{})",
                        r.effective_at, r.cert_serial
                    ),
                },
                // Revoked, but is it otherwise genuine? The same checks without the list, but
                // for the signature: the list's check verified it before it found the key revoked.
                Err(VerifyError::KeyCompromised { since }) => {
                    store
                        .check_signed_code(&e.code, times)
                        .map_err(|err| format!("{err} (reason {})", err.code()))?;
                    format!("{list_name} revokes: it was reported compromised on {since}")
                }
                Err(err) => return Err(format!("{err} (reason {})", err.code())),
            };
            if !allow {
                return Err(format!(
                    "signed with key {}, which {why}; codes of a revoked key are not printed \
                     (--allow-revoked reprints them, for parts made before)",
                    e.code.key_id
                ));
            }
            revoked_printed.record(e.code.key_id, &why);
            Ok(())
        }));
    }
    let mut certs: HashMap<KeyId, Certificate> = HashMap::new();
    for path in &args.certs {
        let cert = files::certificate(path)?;
        certs.insert(cert.key_id(), cert);
    }
    Ok(Box::new(move |e: &ManifestEntry| {
        let cert = certs.get(&e.code.key_id).ok_or_else(|| {
            format!(
                "signed with key {}, which none of the --cert certificates names",
                e.code.key_id
            )
        })?;
        e.code
            .verify(cert.public_key())
            .map_err(|_| "the signature does not verify (forged or altered)".to_owned())?;
        if !cert.covers(&e.code.part.gtin) {
            return Err(format!(
                "GTIN {} is outside the certificate's company prefixes",
                e.code.part.gtin
            ));
        }
        Ok(())
    }))
}

/// Lines in the manifest, for the progress bar.
fn count_lines(path: &Path) -> anyhow::Result<u64> {
    let mut file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut buf = vec![0u8; 1 << 20];
    let mut lines = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            return Ok(lines);
        }
        lines += buf[..n].iter().filter(|&&b| b == b'\n').count() as u64;
    }
}

/// One stream: into a new file atomically, or, for `-`, into a temporary file first and then to
/// standard output, so a printer reading the pipe never gets labels from a batch that failed.
fn write_stream(
    out: &Path,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<Summary>,
) -> anyhow::Result<Summary> {
    if out.as_os_str() != "-" {
        return super::files::write_atomically(out, super::files::PUBLIC, |file| write(file));
    }
    let mut spool = BufWriter::with_capacity(1 << 20, tempfile::tempfile()?);
    let summary = write(&mut spool)?;
    let mut spool = spool.into_inner().map_err(|e| e.into_error())?;
    std::io::Seek::rewind(&mut spool)?;
    let mut stdout = std::io::stdout().lock();
    std::io::copy(&mut spool, &mut stdout)?;
    stdout.flush()?;
    Ok(summary)
}

/// A new directory of files, built under a temporary name beside it and renamed when complete.
fn write_dir(
    out: &Path,
    write: impl FnOnce(&Path) -> anyhow::Result<Summary>,
) -> anyhow::Result<Summary> {
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let tmp = tempfile::Builder::new()
        .prefix(".partseal-labels-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot write in {}", parent.display()))?;
    interrupt::write_through(
        tmp,
        out,
        |tmp| {
            let summary = write(tmp.path())?;
            // Labels are public; the temporary directory was private.
            #[cfg(unix)]
            std::fs::set_permissions(
                tmp.path(),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )?;
            if out.exists() {
                bail!(
                    "{} appeared while the labels were printed; not replacing it",
                    out.display()
                );
            }
            Ok(summary)
        },
        |tmp| {
            let path = tmp.keep();
            std::fs::rename(&path, out)
                .inspect_err(|_| {
                    let _ = std::fs::remove_dir_all(&path);
                })
                .with_context(|| format!("cannot create {}", out.display()))
        },
    )
}
