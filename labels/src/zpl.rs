//! ZPL II for Zebra and compatible thermal printers: one `^XA ... ^XZ` block per label.
//!
//! The printer draws the symbol itself with `^BQ` (model 2) at full resolution, from the exact URI in
//! the `^FD` data field (`^FDMA,` + URI: error correction M, automatic mode). The text goes in `^FD`
//! fields in the printer's scalable font 0, with `^FH` escapes, and `^CI28` makes the printer read
//! them as UTF-8 (a part name in Chinese prints if the printer has a CJK font installed; see
//! docs/labels.md). Send the stream to a networked printer with `nc printer 9100 < labels.zpl`.

use std::fmt::Write;

use crate::error::{LabelError, ZplError};
use crate::layout::{Label, Layout, MM_PER_INCH};
use crate::qr::QrMatrix;

/// Print resolutions of Zebra print heads: 8, 12 and 24 dots per mm.
pub const DPI_PRESETS: [u32; 3] = [203, 300, 600];

/// Renders labels of one layout for a printer of one resolution.
#[derive(Clone, Debug)]
pub struct ZplRenderer {
    layout: Layout,
    dpi: u32,
}

impl ZplRenderer {
    pub fn new(layout: Layout, dpi: u32) -> Result<Self, ZplError> {
        if !DPI_PRESETS.contains(&dpi) {
            return Err(ZplError::Dpi(dpi));
        }
        Ok(ZplRenderer { layout, dpi })
    }

    /// One label: `^XA ... ^XZ` and a newline.
    pub fn render(&self, label: &Label<'_>) -> Result<String, LabelError> {
        if let Some(ch) = label.uri.chars().find(|c| matches!(c, '^' | '~')) {
            return Err(ZplError::ControlCharInUri { ch }.into());
        }
        // The symbol's size decides the layout; the printer encodes the URI itself.
        let symbol = QrMatrix::size_for(label.uri.len(), self.layout.ec)?;
        // ^BQ magnifies 1 to 10 dots per module (at 600 dpi a 0.5 mm module would need 12).
        let mag = self.layout.module.dots(self.dpi).clamp(1, 10);
        let module_mm = mag as f32 * MM_PER_INCH / self.dpi as f32;
        let p = self.layout.place(label, symbol, module_mm, |_| true)?;
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

/// Escapes ZPL's command prefixes and the `^FH` escape character itself as `\xx` hex.
fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '^' => out.push_str("\\5E"),
            '~' => out.push_str("\\7E"),
            '\\' => out.push_str("\\5C"),
            c => out.push(c),
        }
    }
}
