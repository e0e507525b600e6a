//! Label geometry: where the QR symbol and the human-readable lines go on a label of a given size.
//!
//! All positions are in millimetres from the label's top-left corner, y downwards. Every format renders
//! the same [`Placement`], so a PNG, a PDF cell and a ZPL label of one layout look alike.
//!
//! The QR symbol (its quiet zone included) sits against the left edge, centred vertically, with the
//! text beside it; a label too narrow for that gets the text under the symbol. The text is one
//! monospace size for all lines, the largest that fits (at most [`MAX_FONT_MM`]), so the serial stays
//! easy to copy by hand; a part name too long for the line is shortened with `...`.

use signer::PartId;

use crate::error::LayoutError;
use crate::qr::{EcLevel, QUIET_ZONE};

pub const MM_PER_INCH: f32 = 25.4;

/// Advance width of one character of the monospace faces used (DejaVu Sans Mono 0.602, Courier 0.6),
/// as a fraction of the font size, rounded up.
pub const MONO_ADVANCE: f32 = 0.61;
/// Distance between baselines, as a fraction of the font size.
pub const LINE_HEIGHT: f32 = 1.25;
/// Largest text, in millimetres of font size (about 8.5 pt).
pub const MAX_FONT_MM: f32 = 3.0;
/// Smallest text accepted (about 5 pt, capital letters about 1.3 mm tall): smaller is not reliably
/// read by a person holding the part.
pub const MIN_FONT_MM: f32 = 1.8;
/// Clear space kept between the text and the label's edges.
pub const PADDING_MM: f32 = 1.5;

/// How large one QR module is printed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ModuleSize {
    /// Millimetres; raster formats round to whole printer dots.
    Mm(f32),
    /// Printer dots (pixels) at the output's resolution.
    Dots(u32),
}

impl ModuleSize {
    /// Smallest module accepted: 0.25 mm, 2 dots at 203 dpi, 3 at 300 dpi.
    pub const MIN_MM: f32 = 0.25;
    pub const MAX_MM: f32 = 2.0;
    /// Fewest dots per module accepted; one dot per module does not survive printing.
    pub const MIN_DOTS: u32 = 2;
    /// Most dots per module (ZPL's `^BQ` magnification stops at 10).
    pub const MAX_DOTS: u32 = 10;
    /// 0.5 mm: a version 9 symbol (what `sign` writes with a short base URL) is 30.5 mm with its quiet
    /// zone, which a phone camera reads from about 30 cm and fits a 33.9 mm label.
    pub const DEFAULT: ModuleSize = ModuleSize::Mm(0.5);

    pub fn validate(self) -> Result<Self, LayoutError> {
        let (what, min, max, found) = match self {
            ModuleSize::Mm(mm) => ("module size in mm", Self::MIN_MM, Self::MAX_MM, mm),
            ModuleSize::Dots(d) => (
                "module size in dots",
                Self::MIN_DOTS as f32,
                Self::MAX_DOTS as f32,
                d as f32,
            ),
        };
        if !(min..=max).contains(&found) {
            return Err(LayoutError::OutOfRange {
                what,
                min,
                max,
                found,
            });
        }
        Ok(self)
    }

    /// Whole dots per module at `dpi` (at least one).
    pub fn dots(self, dpi: u32) -> u32 {
        match self {
            ModuleSize::Dots(d) => d,
            ModuleSize::Mm(mm) => ((mm * dpi as f32 / MM_PER_INCH).round() as u32).max(1),
        }
    }

    /// The module in millimetres as a raster printer at `dpi` prints it (whole dots).
    pub fn raster_mm(self, dpi: u32) -> f32 {
        self.dots(dpi) as f32 * MM_PER_INCH / dpi as f32
    }

    /// The module in millimetres for vector output: exact for `Mm`, dots at `dpi` for `Dots`.
    pub fn vector_mm(self, dpi: u32) -> f32 {
        match self {
            ModuleSize::Mm(mm) => mm,
            ModuleSize::Dots(_) => self.raster_mm(dpi),
        }
    }
}

/// A label's size and its QR settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Layout {
    pub width_mm: f32,
    pub height_mm: f32,
    pub module: ModuleSize,
    pub ec: EcLevel,
}

impl Default for Layout {
    /// 63.5 x 33.9 mm: the cell of the common A4 sheet of 3 x 8 labels (the default sheet).
    fn default() -> Self {
        Layout {
            width_mm: 63.5,
            height_mm: 33.9,
            module: ModuleSize::DEFAULT,
            ec: EcLevel::M,
        }
    }
}

/// What goes on one label: the URI the QR symbol carries and the part it names.
#[derive(Clone, Copy, Debug)]
pub struct Label<'a> {
    pub uri: &'a str,
    pub part: &'a PartId,
    pub name: Option<&'a str>,
}

impl<'a> From<&'a signer::ManifestEntry> for Label<'a> {
    fn from(e: &'a signer::ManifestEntry) -> Self {
        Label {
            uri: &e.uri,
            part: &e.code.part,
            name: e.name.as_deref(),
        }
    }
}

/// The GS1 human-readable lines, as GS1 prints them: `(01) 06901234567892`, `(10) L2026A`,
/// `(21) X7K2P9QD4MABC`.
pub fn gs1_lines(part: &PartId) -> Vec<String> {
    let mut lines = Vec::with_capacity(3);
    lines.push(format!("(01) {}", part.gtin));
    if let Some(lot) = &part.lot {
        lines.push(format!("(10) {lot}"));
    }
    lines.push(format!("(21) {}", part.serial));
    lines
}

/// Which face a line is set in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// The part name (plain).
    Name,
    /// A GS1 element (bold where the format has a bold face).
    Gs1,
}

/// One line of text, placed.
#[derive(Clone, Debug, PartialEq)]
pub struct TextLine {
    pub kind: LineKind,
    pub text: String,
    /// Left end of the baseline.
    pub x_mm: f32,
    pub baseline_mm: f32,
}

/// Everything on one label, placed.
#[derive(Clone, Debug, PartialEq)]
pub struct Placement {
    pub width_mm: f32,
    pub height_mm: f32,
    /// Top-left corner of the symbol's quiet zone.
    pub qr_x_mm: f32,
    pub qr_y_mm: f32,
    pub module_mm: f32,
    /// Font size (em) of every line.
    pub font_mm: f32,
    pub lines: Vec<TextLine>,
}

impl Placement {
    /// Top-left corner of the symbol's first module (inside the quiet zone).
    pub fn symbol_origin_mm(&self) -> (f32, f32) {
        let q = QUIET_ZONE as f32 * self.module_mm;
        (self.qr_x_mm + q, self.qr_y_mm + q)
    }
}

impl Layout {
    /// Checks the numbers a user can set.
    pub fn validate(self) -> Result<Self, LayoutError> {
        for (what, v) in [
            ("label width in mm", self.width_mm),
            ("label height in mm", self.height_mm),
        ] {
            if !(10.0..=300.0).contains(&v) {
                return Err(LayoutError::OutOfRange {
                    what,
                    min: 10.0,
                    max: 300.0,
                    found: v,
                });
            }
        }
        self.module.validate()?;
        Ok(self)
    }

    /// Places a label whose symbol is `symbol_size` modules wide (quiet zone excluded) of
    /// `module_mm` each. `name_fits` says whether the format can draw the whole part name; a name
    /// it cannot draw is left off (the GS1 lines always print).
    pub fn place(
        &self,
        label: &Label<'_>,
        symbol_size: usize,
        module_mm: f32,
        name_fits: impl Fn(&str) -> bool,
    ) -> Result<Placement, LayoutError> {
        let (w, h) = (self.width_mm, self.height_mm);
        let q = (symbol_size + 2 * QUIET_ZONE) as f32 * module_mm;
        if q > w || q > h {
            let modules = symbol_size + 2 * QUIET_ZONE;
            return Err(LayoutError::QrDoesNotFit {
                modules,
                needed_mm: q,
                width_mm: w,
                height_mm: h,
                max_module_mm: (w.min(h) / modules as f32 * 100.0).floor() / 100.0,
            });
        }
        let gs1 = gs1_lines(label.part);
        let name = label.name.filter(|n| name_fits(n));
        let n_lines = gs1.len() + usize::from(name.is_some());
        let widest = gs1.iter().map(|l| l.chars().count()).max().unwrap_or(1) as f32;
        let font_for = |avail_w: f32, avail_h: f32| {
            (avail_w / (MONO_ADVANCE * widest))
                .min(avail_h / (LINE_HEIGHT * n_lines as f32))
                .min(MAX_FONT_MM)
        };
        // Beside: text right of the symbol's quiet zone. Under: text below it, across the label.
        let beside = font_for(w - q - PADDING_MM, h - 2.0 * PADDING_MM);
        let under = font_for(w - 2.0 * PADDING_MM, h - q - PADDING_MM);
        let (font, qr_x, qr_y, text_x, text_top, text_h) = if beside >= under {
            (
                beside,
                0.0,
                (h - q) / 2.0,
                q,
                PADDING_MM,
                h - 2.0 * PADDING_MM,
            )
        } else {
            (under, (w - q) / 2.0, 0.0, PADDING_MM, q, h - q - PADDING_MM)
        };
        if font < MIN_FONT_MM {
            return Err(LayoutError::TextDoesNotFit {
                found_mm: font.max(0.0),
                min_mm: MIN_FONT_MM,
                width_mm: w,
                height_mm: h,
            });
        }
        let text_w = if beside >= under {
            w - q - PADDING_MM
        } else {
            w - 2.0 * PADDING_MM
        };
        let line_h = font * LINE_HEIGHT;
        let block = line_h * n_lines as f32;
        let top = text_top + (text_h - block) / 2.0;
        // The baseline sits about 0.8 em below the top of a line: cap height plus a little air.
        let baseline = |i: usize| top + i as f32 * line_h + 0.8 * font + (line_h - font) / 2.0;
        let mut lines = Vec::with_capacity(n_lines);
        if let Some(name) = name {
            let fits = (text_w / (MONO_ADVANCE * font)).floor() as usize;
            lines.push(TextLine {
                kind: LineKind::Name,
                text: shorten(name, fits),
                x_mm: text_x,
                baseline_mm: baseline(0),
            });
        }
        for text in gs1 {
            let i = lines.len();
            lines.push(TextLine {
                kind: LineKind::Gs1,
                text,
                x_mm: text_x,
                baseline_mm: baseline(i),
            });
        }
        Ok(Placement {
            width_mm: w,
            height_mm: h,
            qr_x_mm: qr_x,
            qr_y_mm: qr_y,
            module_mm,
            font_mm: font,
            lines,
        })
    }
}

/// `text` cut to `max` characters, ending in `...` when cut.
fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let keep = max.saturating_sub(3);
    let mut out: String = text.chars().take(keep).collect();
    out.truncate(out.trim_end().len());
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use signer::{Gtin, Lot, Serial};

    fn part() -> PartId {
        PartId {
            gtin: Gtin::parse("06901234567892").unwrap(),
            lot: Some(Lot::parse("L2026A").unwrap()),
            serial: Serial::parse("X7K2P9QD4MABC").unwrap(),
        }
    }

    #[test]
    fn default_label_puts_text_beside_the_symbol() {
        let part = part();
        let label = Label {
            uri: "",
            part: &part,
            name: Some("Front brake pad"),
        };
        let p = Layout::default().place(&label, 53, 0.5, |_| true).unwrap();
        assert_eq!(p.lines.len(), 4);
        assert_eq!(p.lines[1].text, "(01) 06901234567892");
        assert_eq!(p.lines[2].text, "(10) L2026A");
        assert_eq!(p.lines[3].text, "(21) X7K2P9QD4MABC");
        assert!(p.lines.iter().all(|l| l.x_mm >= 30.5));
        assert!(p.font_mm >= MIN_FONT_MM);
        let last = p.lines.last().unwrap();
        assert!(last.baseline_mm < 33.9 - PADDING_MM);
        // Every line fits the label's width.
        for l in &p.lines {
            assert!(
                l.x_mm + l.text.chars().count() as f32 * MONO_ADVANCE * p.font_mm
                    <= 63.5 - PADDING_MM + 1e-3
            );
        }
    }

    #[test]
    fn a_name_the_format_cannot_draw_is_left_off_and_a_long_one_shortened() {
        let part = part();
        let label = Label {
            uri: "",
            part: &part,
            name: Some("前制动片"),
        };
        let p = Layout::default()
            .place(&label, 53, 0.5, |n| n.is_ascii())
            .unwrap();
        assert_eq!(p.lines.len(), 3);
        let long = "A very long part name that goes on and on past the label edge";
        let label = Label {
            uri: "",
            part: &part,
            name: Some(long),
        };
        let p = Layout::default().place(&label, 53, 0.5, |_| true).unwrap();
        assert!(p.lines[0].text.ends_with("..."), "{}", p.lines[0].text);
    }

    #[test]
    fn too_small_labels_are_refused_with_a_reason() {
        let part = part();
        let label = Label {
            uri: "",
            part: &part,
            name: None,
        };
        let small = Layout {
            width_mm: 25.0,
            height_mm: 25.0,
            ..Layout::default()
        };
        let err = small.place(&label, 53, 0.5, |_| true).unwrap_err();
        assert!(matches!(err, LayoutError::QrDoesNotFit { .. }), "{err}");
        let narrow = Layout {
            width_mm: 32.0,
            height_mm: 32.0,
            ..Layout::default()
        };
        let err = narrow.place(&label, 53, 0.5, |_| true).unwrap_err();
        assert!(matches!(err, LayoutError::TextDoesNotFit { .. }), "{err}");
    }

    #[test]
    fn a_tall_label_gets_the_text_under_the_symbol() {
        let part = part();
        let label = Label {
            uri: "",
            part: &part,
            name: None,
        };
        let tall = Layout {
            width_mm: 40.0,
            height_mm: 50.0,
            ..Layout::default()
        };
        let p = tall.place(&label, 53, 0.5, |_| true).unwrap();
        assert!(p.lines.iter().all(|l| l.baseline_mm > 30.5));
    }

    #[test]
    fn module_sizes_round_to_whole_dots() {
        assert_eq!(ModuleSize::Mm(0.5).dots(203), 4);
        assert_eq!(ModuleSize::Mm(0.5).dots(300), 6);
        assert_eq!(ModuleSize::Mm(0.25).dots(203), 2);
        assert!(ModuleSize::Mm(0.1).validate().is_err());
        assert!(ModuleSize::Dots(1).validate().is_err());
        assert!((ModuleSize::Dots(3).vector_mm(300) - 0.254).abs() < 1e-4);
    }
}
