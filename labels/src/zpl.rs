//! ZPL II for Zebra and compatible thermal printers: one `^XA ... ^XZ` block per label.
//!
//! The printer draws the symbol itself with `^BQ` (model 2) at full resolution, from the exact URI in
//! the `^FD` data field (`^FDMA,` + URI: error correction M, automatic mode). Latin-1 text goes in
//! `^FD` fields in the printer's scalable font 0, with `^FH` escapes, and `^CI28` makes the printer
//! read them as UTF-8.
//!
//! A line with other characters (a Chinese part name, "扫码验真") is sent as a bitmap instead (`^GF`,
//! one bit per dot, in hexadecimal), rasterised from the compiled-in faces at the printer's
//! resolution: a printer's own fonts hold no Chinese unless one was downloaded to it, and a bitmap
//! prints on any Zebra-compatible printer as it is. A batch's bitmaps repeat (the same name and check
//! line on every label), so each is made once. Send the stream to a networked printer with
//! `nc printer 9100 < labels.zpl`.

use std::collections::HashMap;
use std::fmt::{self, Write};
use std::sync::{Arc, RwLock};

use crate::error::{LabelError, ZplError};
use crate::font::Glyphs;
use crate::layout::{Label, Layout, MM_PER_INCH, Medium};
use crate::pdf_font::winansi;
use crate::qr::QrMatrix;
use crate::raster::{GreyImage, text_width};

/// The largest `^BQ` magnification: dots per module.
const MAX_MAGNIFICATION: u32 = 10;

/// Print resolutions of Zebra print heads: 8, 12 and 24 dots per mm.
pub const DPI_PRESETS: [u32; 3] = [203, 300, 600];

/// A bitmap line's height and where its baseline sits in it, in ems: room for accents above Latin
/// capitals and for descenders.
const BITMAP_ASCENT: f32 = 0.95;
const BITMAP_HEIGHT: f32 = 1.25;
/// Bitmaps kept for reuse; past this many distinct lines (every label named differently) the
/// store starts again, so memory stays bounded.
const BITMAPS_KEPT: usize = 256;

/// `^GF` fields by size in dots and line text (looked up by `&str`, without allocating).
type Bitmaps = HashMap<u32, HashMap<String, Arc<str>>>;

/// Renders labels of one layout for a printer of one resolution.
#[derive(Clone)]
pub struct ZplRenderer {
    layout: Layout,
    dpi: u32,
    glyphs: Arc<Glyphs>,
    bitmaps: Arc<RwLock<Bitmaps>>,
}

impl fmt::Debug for ZplRenderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZplRenderer")
            .field("layout", &self.layout)
            .field("dpi", &self.dpi)
            .finish_non_exhaustive()
    }
}

impl ZplRenderer {
    pub fn new(layout: Layout, dpi: u32) -> Result<Self, ZplError> {
        if !DPI_PRESETS.contains(&dpi) {
            return Err(ZplError::Dpi(dpi));
        }
        Ok(ZplRenderer {
            layout,
            dpi,
            glyphs: Arc::new(Glyphs::new()?),
            bitmaps: Arc::default(),
        })
    }

    /// Whether a part name prints (the compiled-in faces have all its characters).
    pub fn draws_name(&self, name: &str) -> bool {
        self.glyphs.covers(name)
    }

    /// A line as a `^GF` field (`^GFA,` byte counts, bytes per row, the dots in hexadecimal, `^FS`)
    /// at `font` dots per em, its baseline [`bitmap_ascent`] rows below its top.
    pub fn bitmap_field(&self, text: &str, font: u32) -> Arc<str> {
        let cached = self
            .bitmaps
            .read()
            .ok()
            .and_then(|m| m.get(&font).and_then(|by_text| by_text.get(text).cloned()));
        if let Some(field) = cached {
            return field;
        }
        let px = font as f32;
        let width = (text_width(&self.glyphs, text, px).ceil() as u32).max(1);
        let height = (BITMAP_HEIGHT * px).ceil() as u32;
        let mut img = GreyImage::white(width, height);
        img.draw_text(&self.glyphs, text, 0.0, bitmap_ascent(font) as i32, px);
        let field: Arc<str> = graphic_field(&img).into();
        if let Ok(mut m) = self.bitmaps.write() {
            if m.values().map(HashMap::len).sum::<usize>() >= BITMAPS_KEPT {
                m.clear();
            }
            m.entry(font)
                .or_default()
                .insert(text.to_owned(), field.clone());
        }
        field
    }

    /// One label: `^XA ... ^XZ` and a newline.
    pub fn render(&self, label: &Label<'_>) -> Result<String, LabelError> {
        if let Some(ch) = label.uri.chars().find(|c| matches!(c, '^' | '~')) {
            return Err(ZplError::ControlCharInUri { ch }.into());
        }
        // The symbol's size decides the layout; the printer encodes the URI itself.
        let symbol = QrMatrix::size_for(label.uri.len(), self.layout.ec)?;
        // ^BQ magnifies 1 to 10 dots per module (at 600 dpi a 0.5 mm module would need 12).
        let mag = self
            .layout
            .module
            .dots(self.dpi)
            .clamp(1, MAX_MAGNIFICATION);
        let medium = Medium::Dots {
            dpi: self.dpi,
            max_dots: MAX_MAGNIFICATION,
        };
        let p = self
            .layout
            .arrange(label, symbol, medium, |n| self.glyphs.covers(n))?;
        let dots = |mm: f32| (mm * self.dpi as f32 / MM_PER_INCH).round() as u32;
        let mut s = String::with_capacity(512);
        let _ = writeln!(
            s,
            "^XA^CI28^PW{}^LL{}^LH0,0",
            dots(p.width_mm),
            dots(p.height_mm)
        );
        let (sx, sy) = p.symbol_origin_mm();
        let _ = writeln!(
            s,
            "^FO{},{}^BQN,2,{mag}^FD{}A,{}^FS",
            dots(sx),
            dots(sy),
            self.layout.ec.letter(),
            label.uri
        );
        let font = dots(p.font_mm).max(10);
        for line in &p.lines {
            if line.text.chars().any(|c| winansi(c).is_none()) {
                let baseline = dots(line.baseline_mm);
                let top = baseline.saturating_sub(bitmap_ascent(font));
                let _ = write!(s, "^FO{},{top}", dots(line.x_mm));
                s.push_str(&self.bitmap_field(&line.text, font));
                s.push('\n');
                continue;
            }
            // ^FO places the top of the text; the layout gives the baseline.
            let top = (line.baseline_mm - 0.8 * p.font_mm).max(0.0);
            let _ = write!(
                s,
                "^FO{},{}^A0N,{font},{font}^FH\\^FD",
                dots(line.x_mm),
                dots(top)
            );
            escape_into(&line.text, &mut s);
            s.push_str("^FS\n");
        }
        s.push_str("^XZ\n");
        Ok(s)
    }
}

/// Rows from a bitmap line's top down to its baseline, at `font` dots per em.
pub fn bitmap_ascent(font: u32) -> u32 {
    (BITMAP_ASCENT * font as f32).ceil() as u32
}

/// `img` as a ZPL graphic field: `^GFA,{bytes},{bytes},{bytes per row},{hex}^FS`, a set bit a black
/// dot, each row padded to whole bytes.
pub fn graphic_field(img: &GreyImage) -> String {
    let row_bytes = img.width.div_ceil(8);
    let total = row_bytes * img.height;
    let mut s = String::with_capacity(2 * total as usize + 32);
    let _ = write!(s, "^GFA,{total},{total},{row_bytes},");
    for y in 0..img.height {
        for byte in 0..row_bytes {
            let mut b = 0u8;
            for bit in 0..8 {
                let x = byte * 8 + bit;
                if x < img.width && img.is_dark(x, y) {
                    b |= 0x80 >> bit;
                }
            }
            let _ = write!(s, "{b:02X}");
        }
    }
    s.push_str("^FS");
    s
}

/// Escapes ZPL's command prefixes and the `^FH` escape character itself as `\xx` hex.
pub(crate) fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '^' => out.push_str("\\5E"),
            '~' => out.push_str("\\7E"),
            '\\' => out.push_str("\\5C"),
            c => out.push(c),
        }
    }
}
