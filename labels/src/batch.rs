//! A whole manifest into labels: on every core, in bounded memory, checked before written.
//!
//! [`render`] reads entries in chunks of [`CHUNK`] labels, checks and renders each chunk in parallel
//! (rayon), and hands the results to a [`Sink`] in manifest order. Each entry first passes the
//! caller's `check` (the signature, in `partseal labels`); the first entry that fails stops the run
//! with its line number before that chunk reaches the sink. Callers that must not leave partial
//! output write the sink into a temporary place and move it into view only when `render` succeeds.
//!
//! Memory is one chunk of entries and their rendered labels (a few megabytes), whatever the batch size.

use std::fs::OpenOptions;
use std::io::{self, BufRead, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use signer::{ManifestEntry, ManifestError, ManifestReader};

use crate::error::LabelError;
use crate::layout::{Label, Layout};
use crate::pdf::{PageContent, Sheet, SheetWriter};
use crate::png::PngRenderer;
use crate::zpl::ZplRenderer;

/// Labels per chunk: enough to keep both cores busy, small enough to stay a few megabytes.
pub const CHUNK: usize = 960;

/// A format, ready to render. (One value per batch, so the PNG renderer's size does not matter.)
#[allow(clippy::large_enum_variant)]
pub enum Format {
    Png(PngRenderer),
    Svg(Layout),
    Pdf(Sheet),
    Zpl(ZplRenderer),
}

impl Format {
    /// Labels rendered together: a page for PDF, otherwise one.
    pub fn labels_per_unit(&self) -> usize {
        match self {
            Format::Pdf(sheet) => sheet.labels_per_page(),
            _ => 1,
        }
    }

    /// The file extension.
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Png(_) => "png",
            Format::Svg(_) => "svg",
            Format::Pdf(_) => "pdf",
            Format::Zpl(_) => "zpl",
        }
    }

    /// Whether a part name prints in this format (its faces have every character).
    pub fn draws_name(&self, name: &str) -> bool {
        match self {
            Format::Png(r) => r.draws_name(name),
            Format::Pdf(_) => Sheet::draws_name(name),
            Format::Svg(_) => crate::svg::draws_name(name),
            Format::Zpl(r) => r.draws_name(name),
        }
    }

    /// The characters of `name` this format cannot draw, each once.
    pub fn missing(&self, name: &str) -> Vec<char> {
        let mut missing: Vec<char> = Vec::new();
        let mut buf = [0u8; 4];
        for c in name.chars() {
            if !missing.contains(&c) && !self.draws_name(c.encode_utf8(&mut buf)) {
                missing.push(c);
            }
        }
        missing
    }

    fn render_unit(&self, labels: &[Label<'_>]) -> Result<Unit, LabelError> {
        Ok(match (self, labels) {
            (Format::Pdf(sheet), _) => Unit::Page(sheet.page(labels)?),
            (Format::Png(r), [label]) => Unit::Bytes(r.render(label)?),
            (Format::Svg(layout), [label]) => {
                Unit::Bytes(crate::svg::render(layout, label)?.into_bytes())
            }
            (Format::Zpl(r), [label]) => Unit::Bytes(r.render(label)?.into_bytes()),
            // labels_per_unit is 1 for these formats, so a unit is exactly one label.
            _ => Unit::Bytes(Vec::new()),
        })
    }
}

/// What one unit rendered to.
pub enum Unit {
    /// A PNG or SVG file, or one ZPL label.
    Bytes(Vec<u8>),
    /// A PDF page.
    Page(PageContent),
}

/// Where rendered labels go, in manifest order. `first` is the unit's first entry.
pub trait Sink {
    fn put(&mut self, first: &ManifestEntry, unit: Unit) -> io::Result<()>;

    /// A chunk's units, in order. Sinks whose units are independent files write them in parallel.
    fn put_chunk(&mut self, units: Vec<(&ManifestEntry, Unit)>) -> io::Result<()> {
        units
            .into_iter()
            .try_for_each(|(first, unit)| self.put(first, unit))
    }
}

/// Why a batch stopped.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    // The wrapped errors are in the message, not chained as sources, so a report shows them once.
    #[error("manifest {0}")]
    Manifest(ManifestError),
    #[error("manifest line {line}: {reason}")]
    Rejected { line: u64, reason: String },
    #[error("manifest line {line}: {error}")]
    Render { line: u64, error: LabelError },
    #[error("writing the labels failed: {0}")]
    Io(io::Error),
    #[error("the manifest holds no codes")]
    Empty,
}

/// What a batch did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub labels: u64,
    /// Labels whose part name the format's faces could not draw whole, printed without it.
    pub names_left_off: u64,
    /// The characters that made them so, each once (at most [`MISSING_KEPT`]).
    pub missing: Vec<char>,
}

/// Characters [`Summary::missing`] names at most: enough to tell what is wrong.
pub const MISSING_KEPT: usize = 20;

/// Renders every entry of `entries` into `sink`, after `check` accepts it. `progress` gets the count
/// of labels done after each chunk.
pub fn render<R: BufRead>(
    manifest: &mut ManifestReader<R>,
    check: &(dyn Fn(&ManifestEntry) -> Result<(), String> + Sync),
    format: &Format,
    sink: &mut dyn Sink,
    progress: &dyn Fn(u64),
) -> Result<Summary, BatchError> {
    let per_unit = format.labels_per_unit();
    let chunk_len = CHUNK.div_ceil(per_unit) * per_unit;
    let mut summary = Summary::default();
    let mut chunk: Vec<(u64, ManifestEntry)> = Vec::with_capacity(chunk_len);
    loop {
        chunk.clear();
        while chunk.len() < chunk_len {
            match manifest.next() {
                None => break,
                Some(entry) => chunk.push((manifest.line(), entry.map_err(BatchError::Manifest)?)),
            }
        }
        if chunk.is_empty() {
            break;
        }
        let rendered: Vec<Result<Unit, BatchError>> = chunk
            .par_chunks(per_unit)
            .map(|unit| {
                for (line, entry) in unit {
                    check(entry).map_err(|reason| BatchError::Rejected {
                        line: *line,
                        reason,
                    })?;
                }
                let labels: Vec<Label> = unit.iter().map(|(_, e)| Label::from(e)).collect();
                format
                    .render_unit(&labels)
                    .map_err(|error| BatchError::Render {
                        line: unit[0].0,
                        error,
                    })
            })
            .collect();
        // Nothing of a chunk reaches the sink unless all of it rendered.
        let units = rendered.into_iter().collect::<Result<Vec<_>, _>>()?;
        let firsts = chunk.chunks(per_unit).map(|unit| &unit[0].1);
        sink.put_chunk(firsts.zip(units).collect())
            .map_err(BatchError::Io)?;
        for (_, e) in &chunk {
            if let Some(name) = e.name.as_deref().filter(|n| !format.draws_name(n)) {
                summary.names_left_off += 1;
                for c in format.missing(name) {
                    if summary.missing.len() < MISSING_KEPT && !summary.missing.contains(&c) {
                        summary.missing.push(c);
                    }
                }
            }
        }
        summary.labels += chunk.len() as u64;
        progress(summary.labels);
    }
    if summary.labels == 0 {
        return Err(BatchError::Empty);
    }
    Ok(summary)
}

/// PNG or SVG files, one per label, in a directory, named `{gtin}_{serial}.{ext}` with every character
/// but letters, digits, `-` and `_` percent-encoded (a serial may hold `/`, `:` or `*`). A serial
/// that repeats is an error, never an overwritten file.
pub struct DirSink {
    dir: PathBuf,
    extension: &'static str,
}

impl DirSink {
    /// Writes into `dir`, which must exist.
    pub fn new(dir: &Path, extension: &'static str) -> Self {
        DirSink {
            dir: dir.to_owned(),
            extension,
        }
    }

    /// The file name for an entry.
    pub fn file_name(entry: &ManifestEntry, extension: &str) -> String {
        let part = &entry.code.part;
        let mut name = String::with_capacity(40);
        name.push_str(part.gtin.as_str());
        name.push('_');
        for b in part.serial.as_str().bytes() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'_' {
                name.push(b as char);
            } else {
                name.push_str(&format!("%{b:02X}"));
            }
        }
        name.push('.');
        name.push_str(extension);
        name
    }
}

impl Sink for DirSink {
    fn put(&mut self, first: &ManifestEntry, unit: Unit) -> io::Result<()> {
        self.write_file(first, unit)
    }

    fn put_chunk(&mut self, units: Vec<(&ManifestEntry, Unit)>) -> io::Result<()> {
        let this = &*self;
        units
            .into_par_iter()
            .try_for_each(|(first, unit)| this.write_file(first, unit))
    }
}

impl DirSink {
    fn write_file(&self, first: &ManifestEntry, unit: Unit) -> io::Result<()> {
        let Unit::Bytes(bytes) = unit else {
            return Err(io::Error::other("a page cannot be written as a label file"));
        };
        let path = self.dir.join(Self::file_name(first, self.extension));
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| {
                if e.kind() == io::ErrorKind::AlreadyExists {
                    io::Error::new(
                        e.kind(),
                        format!(
                            "serial {} of GTIN {} appears twice in the manifest",
                            first.code.part.serial, first.code.part.gtin
                        ),
                    )
                } else {
                    e
                }
            })?;
        file.write_all(&bytes)
    }
}

/// ZPL labels, one after another, into any writer.
pub struct StreamSink<W: Write>(pub W);

impl<W: Write> Sink for StreamSink<W> {
    fn put(&mut self, _first: &ManifestEntry, unit: Unit) -> io::Result<()> {
        match unit {
            Unit::Bytes(bytes) => self.0.write_all(&bytes),
            Unit::Page(_) => Err(io::Error::other("a PDF page cannot go into a ZPL stream")),
        }
    }
}

impl<W: Write> Sink for SheetWriter<W> {
    fn put(&mut self, _first: &ManifestEntry, unit: Unit) -> io::Result<()> {
        match unit {
            Unit::Page(page) => self.write_page(&page),
            Unit::Bytes(_) => Err(io::Error::other("a label file cannot go into a PDF")),
        }
    }
}
