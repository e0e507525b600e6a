//! PDF: labels on sheets of A4 or Letter, in a grid that matches the sticker sheet, streamed page by
//! page into one file.
//!
//! Each label is drawn as vectors: the symbol one filled path of rectangles (one per run of dark
//! modules), the text in PDF's built-in Courier faces for Latin-1 (WinAnsiEncoding; nothing embedded)
//! and in an embedded subset of Noto Sans CJK SC for the rest ([`crate::pdf_font`]), so a Chinese
//! part name prints and stays searchable text. A part name with a character neither has is left off
//! the PDF label, and the GS1 lines, which identify the part, always print.
//!
//! Streaming: `pdf-writer` writes every object, but its document type keeps the whole file in memory,
//! so [`SheetWriter`] writes each page's objects to the output as soon as they are made and writes the
//! cross-reference table and trailer itself at the end. Memory is one page of content plus 16 bytes
//! per page (object offsets and the page list), about 700 kB for a million labels on 24-label sheets,
//! and the glyph ids of each distinct embedded subset (one for a batch of one part name).
//! Page content is built and compressed by [`Sheet::page`], which needs no writer, so callers
//! build pages on many threads and write them in order.

use std::io::{self, Write};

use pdf_writer::writers::Catalog;
use std::collections::HashMap;

use pdf_writer::{Chunk, Content, Filter, Finish, Name, Rect, Ref, Str};

use crate::error::{LabelError, LayoutError};
use crate::font::faces;
use crate::layout::{Label, Layout, LineKind, MM_PER_INCH, Medium};
use crate::pdf_font::{self, PageGlyphs, is_cjk_run, winansi};
use crate::qr::QrMatrix;

/// Points per millimetre.
const PT_PER_MM: f32 = 72.0 / MM_PER_INCH;
/// Resolution assumed for a module size given in dots (`ModuleSize::Dots`).
pub const DOTS_DPI: u32 = 300;

const CATALOG: Ref = Ref::new(1);
const PAGE_TREE: Ref = Ref::new(2);
const FONT_GS1: Ref = Ref::new(3);
const FONT_NAME: Ref = Ref::new(4);
/// Pages and embedded fonts are numbered from here on, in the order they are written.
const FIRST_FREE_ID: i32 = 5;

/// Paper sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageSize {
    A4,
    Letter,
}

impl PageSize {
    /// Width and height in millimetres.
    pub fn mm(self) -> (f32, f32) {
        match self {
            PageSize::A4 => (210.0, 297.0),
            PageSize::Letter => (215.9, 279.4),
        }
    }
}

/// A sheet of labels: the paper, the label layout (its size is the grid cell) and the grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sheet {
    pub page: PageSize,
    pub label: Layout,
    pub columns: u32,
    pub rows: u32,
    /// Left edge of the first column; `None` centres the grid across the page.
    pub margin_left_mm: Option<f32>,
    /// Top edge of the first row; `None` centres the grid down the page.
    pub margin_top_mm: Option<f32>,
    /// Space between columns and between rows.
    pub gap_x_mm: f32,
    pub gap_y_mm: f32,
}

impl Default for Sheet {
    /// A4, 3 x 8 labels of 63.5 x 33.9 mm, 2.5 mm between columns, centred: the layout of the common
    /// "24 per sheet" stickers (Avery L7159 and compatibles).
    fn default() -> Self {
        Sheet {
            page: PageSize::A4,
            label: Layout::default(),
            columns: 3,
            rows: 8,
            margin_left_mm: None,
            margin_top_mm: None,
            gap_x_mm: 2.5,
            gap_y_mm: 0.0,
        }
    }
}

impl Sheet {
    pub fn labels_per_page(&self) -> usize {
        (self.columns * self.rows) as usize
    }

    /// Checks that the grid fits the paper.
    pub fn validate(self) -> Result<Self, LayoutError> {
        self.label.validate()?;
        let (pw, ph) = self.page.mm();
        let (gw, gh) = self.grid_mm();
        let (left, top) = self.margins_mm();
        let fits = self.columns >= 1
            && self.rows >= 1
            && self.gap_x_mm >= 0.0
            && self.gap_y_mm >= 0.0
            && left >= 0.0
            && top >= 0.0
            && left + gw <= pw + 0.01
            && top + gh <= ph + 0.01;
        if !fits {
            return Err(LayoutError::GridDoesNotFit {
                columns: self.columns,
                rows: self.rows,
                label_w: self.label.width_mm,
                label_h: self.label.height_mm,
                page_w: pw,
                page_h: ph,
            });
        }
        Ok(self)
    }

    fn grid_mm(&self) -> (f32, f32) {
        let c = self.columns.max(1) as f32;
        let r = self.rows.max(1) as f32;
        (
            c * self.label.width_mm + (c - 1.0) * self.gap_x_mm,
            r * self.label.height_mm + (r - 1.0) * self.gap_y_mm,
        )
    }

    fn margins_mm(&self) -> (f32, f32) {
        let (pw, ph) = self.page.mm();
        let (gw, gh) = self.grid_mm();
        (
            self.margin_left_mm.unwrap_or((pw - gw) / 2.0),
            self.margin_top_mm.unwrap_or((ph - gh) / 2.0),
        )
    }

    /// Top-left corner of the `i`-th label on a page (row by row), in mm from the page's top-left.
    pub fn cell_origin_mm(&self, i: usize) -> (f32, f32) {
        let (left, top) = self.margins_mm();
        let col = (i % self.columns as usize) as f32;
        let row = (i / self.columns as usize) as f32;
        (
            left + col * (self.label.width_mm + self.gap_x_mm),
            top + row * (self.label.height_mm + self.gap_y_mm),
        )
    }

    /// Whether a part name prints: every character in Courier (Latin-1) or the embedded CJK face.
    pub fn draws_name(name: &str) -> bool {
        faces().is_ok_and(|f| name.chars().all(|c| winansi(c).is_some() || f.cjk_has(c)))
    }

    /// One page's content, compressed: up to [`Sheet::labels_per_page`] labels, row by row.
    pub fn page(&self, labels: &[Label<'_>]) -> Result<PageContent, LabelError> {
        let faces = faces()?;
        let (_, page_h) = self.page.mm();
        let module = self.label.module.vector_mm(DOTS_DPI);
        // Every label is placed first: the page's Chinese glyphs decide their ids in its font.
        let mut placed = Vec::with_capacity(labels.len());
        let mut glyphs = PageGlyphs::default();
        for label in labels.iter().take(self.labels_per_page()) {
            let qr = QrMatrix::encode(label.uri, self.label.ec)?;
            let p = self
                .label
                .arrange(label, qr.size(), Medium::Vector, Self::draws_name)?;
            for line in &p.lines {
                glyphs.add(faces, &line.text);
            }
            placed.push((qr, p));
        }
        let mut c = Content::new();
        for (i, (qr, p)) in placed.iter().enumerate() {
            let (x0, y0) = self.cell_origin_mm(i);
            c.save_state();
            // Label space: millimetres from the label's top-left corner, y downwards.
            c.transform([
                PT_PER_MM,
                0.0,
                0.0,
                -PT_PER_MM,
                x0 * PT_PER_MM,
                (page_h - y0) * PT_PER_MM,
            ]);
            let (sx, sy) = p.symbol_origin_mm();
            c.save_state();
            c.transform([module, 0.0, 0.0, module, sx, sy]);
            for (x, y, len) in qr.dark_runs() {
                c.rect(x as f32, y as f32, len as f32, 1.0);
            }
            c.fill_nonzero();
            c.restore_state();
            for line in &p.lines {
                let latin = match line.kind {
                    LineKind::Gs1 => Name(b"F1"),
                    LineKind::Name | LineKind::Check => Name(b"F2"),
                };
                c.begin_text();
                // Flip the text back upright in the y-down label space.
                c.set_text_matrix([1.0, 0.0, 0.0, -1.0, line.x_mm, line.baseline_mm]);
                // Runs of Latin-1 in Courier and of the rest in the CJK face, each starting
                // where the one before ended.
                for (cjk, run) in runs(&line.text) {
                    if cjk {
                        c.set_font(Name(CJK_FONT), p.font_mm);
                        c.show(Str(&glyphs.encode(faces, run)));
                    } else {
                        let bytes: Vec<u8> = run.chars().filter_map(winansi).collect();
                        c.set_font(latin, p.font_mm);
                        c.show(Str(&bytes));
                    }
                }
                c.end_text();
            }
            c.restore_state();
        }
        let raw = c.finish();
        Ok(PageContent {
            deflated: miniz_oxide::deflate::compress_to_vec_zlib(&raw, 1),
            glyphs,
        })
    }
}

/// The resource name of the embedded CJK font on a page.
const CJK_FONT: &[u8] = b"F3";

/// `text` cut into runs set in one face: (true for the CJK face, the run).
fn runs(text: &str) -> impl Iterator<Item = (bool, &str)> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let cjk = is_cjk_run(rest.chars().next()?);
        let end = rest
            .char_indices()
            .find(|&(_, c)| is_cjk_run(c) != cjk)
            .map_or(rest.len(), |(i, _)| i);
        let (run, tail) = rest.split_at(end);
        rest = tail;
        Some((cjk, run))
    })
}

/// One page's content stream, compressed, ready to write.
pub struct PageContent {
    deflated: Vec<u8>,
    /// The Chinese glyphs it shows, which its embedded font holds.
    glyphs: PageGlyphs,
}

/// Counts bytes written, for the cross-reference table.
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Counting<W> {
    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.inner.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

/// Writes a PDF of sheets of labels, page by page, to any writer.
pub struct SheetWriter<W: Write> {
    out: Counting<W>,
    sheet: Sheet,
    /// Byte offset of each object, by object number (0 unused).
    offsets: Vec<u64>,
    pages: Vec<Ref>,
    /// The CJK subsets written so far, by the glyph ids they hold.
    fonts: HashMap<Vec<u16>, Ref>,
}

impl<W: Write> SheetWriter<W> {
    /// Starts the document: the header and the two fonts.
    pub fn new(out: W, sheet: Sheet) -> io::Result<Self> {
        let mut w = SheetWriter {
            out: Counting {
                inner: out,
                written: 0,
            },
            sheet,
            offsets: vec![0; FIRST_FREE_ID as usize],
            pages: Vec::new(),
            fonts: HashMap::new(),
        };
        w.out.put(b"%PDF-1.7\n%\x80\x80\x80\x80\n")?;
        for (id, face) in [
            (FONT_GS1, &b"Courier-Bold"[..]),
            (FONT_NAME, &b"Courier"[..]),
        ] {
            let mut chunk = Chunk::new();
            chunk
                .type1_font(id)
                .base_font(Name(face))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
            w.put_object(id, &chunk)?;
        }
        Ok(w)
    }

    fn put_object(&mut self, id: Ref, chunk: &Chunk) -> io::Result<()> {
        let n = id.get() as usize;
        if self.offsets.len() <= n {
            self.offsets.resize(n + 1, 0);
        }
        self.offsets[n] = self.out.written;
        self.out.put(chunk.as_bytes())
    }

    /// Pages written so far.
    pub fn pages(&self) -> usize {
        self.pages.len()
    }

    /// The next free object number (its offset is recorded when it is written).
    fn next_id(&mut self) -> Ref {
        self.offsets.push(0);
        Ref::new(self.offsets.len() as i32 - 1)
    }

    /// The embedded font for a page's Chinese glyphs, written the first time a page uses them.
    fn cjk_font(&mut self, glyphs: &PageGlyphs) -> io::Result<Ref> {
        let ids = glyphs.ids();
        if let Some(&font) = self.fonts.get(&ids) {
            return Ok(font);
        }
        let faces = faces().map_err(|e| io::Error::other(e.to_string()))?;
        let refs = [(); 5].map(|()| self.next_id());
        for (id, chunk) in pdf_font::font_objects(refs, faces, glyphs)? {
            self.put_object(id, &chunk)?;
        }
        self.fonts.insert(ids, refs[0]);
        Ok(refs[0])
    }

    /// Appends a page.
    pub fn write_page(&mut self, content: &PageContent) -> io::Result<()> {
        let font = if content.glyphs.is_empty() {
            None
        } else {
            Some(self.cjk_font(&content.glyphs)?)
        };
        let content_id = self.next_id();
        let page_id = self.next_id();
        let mut chunk = Chunk::new();
        chunk
            .stream(content_id, &content.deflated)
            .filter(Filter::FlateDecode);
        self.put_object(content_id, &chunk)?;
        let (w, h) = self.sheet.page.mm();
        let mut chunk = Chunk::new();
        let mut page = chunk.page(page_id);
        page.parent(PAGE_TREE)
            .media_box(Rect::new(0.0, 0.0, w * PT_PER_MM, h * PT_PER_MM))
            .contents(content_id);
        {
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            fonts.pair(Name(b"F1"), FONT_GS1);
            fonts.pair(Name(b"F2"), FONT_NAME);
            if let Some(font) = font {
                fonts.pair(Name(CJK_FONT), font);
            }
        }
        page.finish();
        self.put_object(page_id, &chunk)?;
        self.pages.push(page_id);
        Ok(())
    }

    /// Writes the page tree, the catalog, the cross-reference table and the trailer, and returns the
    /// writer (flushed).
    pub fn finish(mut self) -> io::Result<W> {
        let mut chunk = Chunk::new();
        chunk
            .pages(PAGE_TREE)
            .kids(self.pages.iter().copied())
            .count(self.pages.len() as i32);
        self.put_object(PAGE_TREE, &chunk)?;
        let mut chunk = Chunk::new();
        chunk.indirect(CATALOG).start::<Catalog>().pages(PAGE_TREE);
        self.put_object(CATALOG, &chunk)?;

        // The cross-reference table and trailer (ISO 32000-1, 7.5.4 and 7.5.5): fixed-width lines.
        let xref = self.out.written;
        let mut table = Vec::with_capacity(20 * (self.offsets.len() + 2));
        let _ = writeln!(table, "xref\n0 {}", self.offsets.len());
        table.extend_from_slice(b"0000000000 65535 f\r\n");
        for &offset in &self.offsets[1..] {
            let _ = write!(table, "{offset:010} 00000 n\r\n");
        }
        let _ = write!(
            table,
            "trailer\n<< /Size {} /Root {} 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            self.offsets.len(),
            CATALOG.get()
        );
        self.out.put(&table)?;
        self.out.inner.flush()?;
        Ok(self.out.inner)
    }
}
