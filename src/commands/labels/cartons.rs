//! `partseal labels --cartons FILE --base-url URL`: one carton label per SSCC, its Digital Link as a
//! QR code and the SSCC as a GS1-128 barcode: PNG or SVG files in a directory, or one PDF or ZPL
//! stream.
//!
//! Every line is checked before anything is drawn, as the item labels' manifest is: a bad SSCC is
//! refused with its line number and nothing is written.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use labels::batch::Summary;
use labels::{CartonLabel, CartonPngRenderer};
use signer::{BaseUrl, Sscc};

use super::{LabelsArgs, OutputFormat, write_dir, write_stream};
use crate::commands::progress;

pub fn run(args: &LabelsArgs) -> anyhow::Result<ExitCode> {
    let (Some(path), Some(base)) = (&args.cartons, &args.base_url) else {
        bail!(
            "give --input MANIFEST for item labels, or --cartons FILE --base-url URL for cartons"
        );
    };
    let base = BaseUrl::parse(base).with_context(|| format!("--base-url {base:?}"))?;
    let format = args.format.unwrap_or(OutputFormat::Png);
    let zpl = format == OutputFormat::Zpl;
    let stream = matches!(format, OutputFormat::Zpl | OutputFormat::Pdf);
    let dpi = args.dpi.unwrap_or(if zpl { 203 } else { 300 });
    if format == OutputFormat::Png && !(labels::png::MIN_DPI..=labels::png::MAX_DPI).contains(&dpi)
    {
        bail!(
            "--dpi for png must be between {} and {}",
            labels::png::MIN_DPI,
            labels::png::MAX_DPI
        );
    }
    let to_stdout = args.out.as_os_str() == "-";
    if to_stdout && !stream {
        bail!("png and svg write one file per label into a directory; give --out DIR");
    }
    if !to_stdout && args.out.exists() {
        bail!(
            "{} already exists; choose another --out (its labels may already be printed)",
            args.out.display()
        );
    }

    let ssccs = read_ssccs(path)?;
    let started = Instant::now();
    let bar = progress::bar(Some(ssccs.len() as u64), "printing carton labels");
    let done = Summary {
        labels: ssccs.len() as u64,
        ..Summary::default()
    };
    let context = |sscc: &Sscc| format!("carton {sscc} (nothing was written)");
    if format == OutputFormat::Pdf {
        // A page per carton; a pallet's list is short enough to build in memory.
        let uris: Vec<String> = ssccs.iter().map(|sscc| sscc.to_uri(&base)).collect();
        let cartons: Vec<CartonLabel<'_>> = ssccs
            .iter()
            .zip(&uris)
            .map(|(sscc, uri)| CartonLabel { uri, sscc })
            .collect();
        let pdf = labels::carton::pdf(&cartons).context("carton labels (nothing was written)")?;
        write_stream(&args.out, |out| {
            out.write_all(&pdf)?;
            Ok(done.clone())
        })?;
    } else if zpl {
        write_stream(&args.out, |out| {
            for (i, sscc) in ssccs.iter().enumerate() {
                let uri = sscc.to_uri(&base);
                let label = labels::carton::zpl(&CartonLabel { uri: &uri, sscc }, dpi)
                    .with_context(|| context(sscc))?;
                out.write_all(label.as_bytes())?;
                bar.set_position(i as u64 + 1);
            }
            Ok(done.clone())
        })?;
    } else {
        let png = CartonPngRenderer::new(dpi)?;
        let extension = if format == OutputFormat::Svg {
            "svg"
        } else {
            "png"
        };
        write_dir(&args.out, |dir| {
            for (i, sscc) in ssccs.iter().enumerate() {
                let uri = sscc.to_uri(&base);
                let label = CartonLabel { uri: &uri, sscc };
                let bytes = match format {
                    OutputFormat::Svg => labels::carton::svg(&label).map(String::into_bytes),
                    _ => png.render(&label),
                }
                .with_context(|| context(sscc))?;
                let file = dir.join(format!("{sscc}.{extension}"));
                std::fs::write(&file, bytes)
                    .with_context(|| format!("cannot write {}", file.display()))?;
                bar.set_position(i as u64 + 1);
            }
            Ok(done.clone())
        })?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "printed {} carton labels ({}) into {} in {secs:.1} s",
        done.labels,
        match format {
            OutputFormat::Zpl => "ZPL",
            OutputFormat::Svg => "SVG files",
            OutputFormat::Pdf => "PDF pages",
            _ => "PNG files",
        },
        if to_stdout {
            "standard output".into()
        } else {
            args.out.display().to_string()
        },
    );
    Ok(ExitCode::SUCCESS)
}

/// The SSCCs of `path`, one a line; blank lines and `#` comments are skipped, and the first bad
/// line refuses the whole file, so nothing is printed for a list with a typo in it.
fn read_ssccs(path: &Path) -> anyhow::Result<Vec<Sscc>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut ssccs = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let sscc = Sscc::parse(line).with_context(|| {
            format!(
                "{} line {}: {line:?} is not an SSCC (nothing was written)",
                path.display(),
                n + 1
            )
        })?;
        ssccs.push(sscc);
    }
    if ssccs.is_empty() {
        bail!("{} lists no SSCC (nothing was written)", path.display());
    }
    Ok(ssccs)
}
