//! Label geometry: where the QR symbol and the human-readable lines go on a label of a given size.
//!
//! All positions are in millimetres from the label's top-left corner, y downwards. Every format renders
//! the same [`Placement`], so a PNG, a PDF cell and a ZPL label of one layout look alike.
//!
//! The QR symbol (its quiet zone included) sits against the left edge, centred vertically, with the
//! text beside it; a label too narrow for that gets the text under the symbol. The text is one
//! monospace size for all lines, the largest that fits (at most [`MAX_FONT_MM`]), so the serial stays
//! easy to copy by hand; a part name too long for the line is shortened with `...`.
//!
//! Under the GS1 lines, a line says where to check by hand when the camera fails: "scan to verify"
//! ("扫码验真" where the format draws Chinese) and the verifier's host from the code's URI, on one
//! line or, where that gives larger text, two. A label too small for all of it is refused
//! ([`Layout::arrange`]) with changes the tool accepts that make it fit ([`crate::advice`]).

use signer::PartId;

use crate::advice::Advice;
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

/// How a format prints a module: at any size, or in whole printer dots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Medium {
    /// SVG and PDF: millimetres as given (a size in dots at [`crate::svg::DOTS_DPI`]).
    Vector,
    /// PNG and ZPL: whole dots at `dpi`, at most `max_dots` a module (ZPL's `^BQ` stops at 10).
    Dots { dpi: u32, max_dots: u32 },
}

impl Medium {
    /// The module as this medium prints it, in millimetres.
    pub fn module_mm(self, module: ModuleSize) -> f32 {
        match self {
            Medium::Vector => module.vector_mm(crate::svg::DOTS_DPI),
            Medium::Dots { dpi, max_dots } => {
                module.dots(dpi).clamp(1, max_dots) as f32 * MM_PER_INCH / dpi as f32
            }
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

/// "Scan to verify", in the words the label can draw.
pub const CHECK_WORDS_ZH: &str = "扫码验真";
pub const CHECK_WORDS_EN: &str = "Scan to verify";

/// The verifier's host (with its port, if any) from a code's URI:
/// `https://verify.example.cn/01/…` gives `verify.example.cn`.
pub fn verifier_host(uri: &str) -> Option<&str> {
    let rest = uri.split_once("://")?.1;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then_some(host)
}

/// Monospace cells `text` takes: East Asian wide characters (ideographs, kana, Hangul, full-width
/// forms) take two.
pub fn cells(text: &str) -> usize {
    text.chars()
        .map(|c| {
            let wide = matches!(u32::from(c),
                0x1100..=0x115F | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD);
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// Which face a line is set in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineKind {
    /// The part name (plain).
    Name,
    /// A GS1 element (bold where the format has a bold face).
    Gs1,
    /// Where to check by hand: "scan to verify" and the verifier's host (plain).
    Check,
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

    /// Places a label whose symbol is `symbol_size` modules wide, as `medium` prints it; a label that
    /// does not fit is refused with the changes that make it fit ([`crate::advice`]).
    pub fn arrange(
        &self,
        label: &Label<'_>,
        symbol_size: usize,
        medium: Medium,
        name_fits: impl Fn(&str) -> bool,
    ) -> Result<Placement, LayoutError> {
        self.place(
            label,
            symbol_size,
            medium.module_mm(self.module),
            &name_fits,
        )
        .map_err(|e| crate::advice::advise(self, label, medium, &name_fits, e))
    }

    /// Places a label whose symbol is `symbol_size` modules wide (quiet zone excluded) of
    /// `module_mm` each. `name_fits` says whether the format can draw a text whole: a part name it
    /// cannot draw is left off (the GS1 lines always print), and "scan to verify" is in Chinese
    /// only where it can draw [`CHECK_WORDS_ZH`].
    pub fn place(
        &self,
        label: &Label<'_>,
        symbol_size: usize,
        module_mm: f32,
        name_fits: impl Fn(&str) -> bool,
    ) -> Result<Placement, LayoutError> {
        let (w, h) = (self.width_mm, self.height_mm);
        let modules = symbol_size + 2 * QUIET_ZONE;
        let q = modules as f32 * module_mm;
        let gs1 = gs1_lines(label.part);
        let name = label.name.filter(|n| name_fits(n));
        // Where to check by hand: one line, or two where that gives larger text.
        let check: Vec<Vec<String>> = match verifier_host(label.uri) {
            None => vec![Vec::new()],
            Some(host) => {
                let words = if name_fits(CHECK_WORDS_ZH) {
                    CHECK_WORDS_ZH
                } else {
                    CHECK_WORDS_EN
                };
                vec![
                    vec![format!("{words} {host}")],
                    vec![words.to_owned(), host.to_owned()],
                ]
            }
        };
        // The font each arrangement allows: (font, beside, widest cells, lines).
        let fit = |check: &[String]| {
            let n_lines = gs1.len() + check.len() + usize::from(name.is_some());
            let widest = gs1.iter().chain(check).map(|l| cells(l)).max().unwrap_or(1) as f32;
            let font_for = |avail_w: f32, avail_h: f32| {
                (avail_w / (MONO_ADVANCE * widest))
                    .min(avail_h / (LINE_HEIGHT * n_lines as f32))
                    .min(MAX_FONT_MM)
            };
            // Beside: text right of the symbol's quiet zone. Under: text below it, across the label.
            let beside = font_for(w - q - PADDING_MM, h - 2.0 * PADDING_MM);
            let under = font_for(w - 2.0 * PADDING_MM, h - q - PADDING_MM);
            (beside.max(under), beside >= under, widest, n_lines)
        };
        let (check, (font, beside, widest, n_lines)) = check
            .into_iter()
            .map(|c| {
                let f = fit(&c);
                (c, f)
            })
            // The largest text; the fewer lines when equal (the first is one line).
            .reduce(|a, b| if b.1.0 > a.1.0 { b } else { a })
            .unwrap_or_default();
        let (qr_x, qr_y, text_x, text_top, text_h) = if beside {
            (0.0, (h - q) / 2.0, q, PADDING_MM, h - 2.0 * PADDING_MM)
        } else {
            ((w - q) / 2.0, 0.0, PADDING_MM, q, h - q - PADDING_MM)
        };
        if q > w || q > h || font < MIN_FONT_MM {
            // The smaller of the two labels that fit it, no smaller than this one: text beside the
            // symbol, or under it.
            let text_w = MIN_FONT_MM * MONO_ADVANCE * widest;
            let text_h = MIN_FONT_MM * LINE_HEIGHT * n_lines as f32;
            let beside = (q + PADDING_MM + text_w, q.max(2.0 * PADDING_MM + text_h));
            let under = (q.max(2.0 * PADDING_MM + text_w), q + PADDING_MM + text_h);
            let (bw, bh) = (beside.0.max(w), beside.1.max(h));
            let (uw, uh) = (under.0.max(w), under.1.max(h));
            let (fw, fh) = if bw * bh <= uw * uh {
                (bw, bh)
            } else {
                (uw, uh)
            };
            let up = |mm: f32| (mm * 10.0).ceil() / 10.0;
            let fits = (up(fw), up(fh));
            if q > w || q > h {
                return Err(LayoutError::QrDoesNotFit {
                    modules,
                    needed_mm: q,
                    width_mm: w,
                    height_mm: h,
                    fits,
                    advice: Advice::default(),
                });
            }
            return Err(LayoutError::TextDoesNotFit {
                found_mm: font.max(0.0),
                min_mm: MIN_FONT_MM,
                width_mm: w,
                height_mm: h,
                fits,
                advice: Advice::default(),
            });
        }
        let text_w = if beside {
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
        let gs1 = gs1.into_iter().map(|text| (LineKind::Gs1, text));
        for (kind, text) in gs1.chain(check.into_iter().map(|text| (LineKind::Check, text))) {
            let i = lines.len();
            lines.push(TextLine {
                kind,
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

/// `text` cut to `max` monospace cells (a Chinese character takes two), ending in `...` when cut.
fn shorten(text: &str, max: usize) -> String {
    let text = text.trim();
    if cells(text) <= max {
        return text.to_owned();
    }
    let keep = max.saturating_sub(3);
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        used += cells(c.encode_utf8(&mut [0; 4]));
        if used > keep {
            break;
        }
        out.push(c);
    }
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

    fn a_label<'a>(uri: &'a str, part: &'a PartId, name: Option<&'a str>) -> Label<'a> {
        Label { uri, part, name }
    }

    /// The default label but for its size.
    fn sized(width_mm: f32, height_mm: f32) -> Layout {
        Layout {
            width_mm,
            height_mm,
            ..Layout::default()
        }
    }

    /// The "scan to verify" lines of a placed label.
    fn check_lines(p: &Placement) -> Vec<&str> {
        p.lines
            .iter()
            .filter(|l| l.kind == LineKind::Check)
            .map(|l| l.text.as_str())
            .collect()
    }

    /// A nameless label of this size, placed with a 53-module symbol of 0.5 mm modules.
    fn bare(layout: Layout) -> Result<Placement, LayoutError> {
        let part = part();
        layout.place(&a_label("", &part, None), 53, 0.5, |_| true)
    }

    /// A line that ends inside the default label's right padding.
    fn fits_the_width(line: &TextLine, font_mm: f32) {
        assert!(
            line.x_mm + cells(&line.text) as f32 * MONO_ADVANCE * font_mm
                <= 63.5 - PADDING_MM + 1e-3,
            "{} sticks out",
            line.text
        );
    }

    #[test]
    fn default_label_puts_text_beside_the_symbol() {
        let part = part();
        let label = a_label("", &part, Some("Front brake pad"));
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
        let label = a_label("", &part, Some("前制动片"));
        let p = Layout::default()
            .place(&label, 53, 0.5, |n| n.is_ascii())
            .unwrap();
        assert_eq!(p.lines.len(), 3);
        let long = "A very long part name that goes on and on past the label edge";
        let label = a_label("", &part, Some(long));
        let p = Layout::default().place(&label, 53, 0.5, |_| true).unwrap();
        assert!(p.lines[0].text.ends_with("..."), "{}", p.lines[0].text);
        // Chinese is cut by the room it takes: two cells a character.
        let long = "前刹车片总成带报警线适用于多款车型原厂同质配件";
        let label = a_label("", &part, Some(long));
        let p = Layout::default().place(&label, 53, 0.5, |_| true).unwrap();
        let name = &p.lines[0];
        assert!(name.text.ends_with("..."), "{}", name.text);
        fits_the_width(name, p.font_mm);
    }

    #[test]
    fn too_small_labels_are_refused_with_a_reason() {
        let err = bare(sized(25.0, 25.0)).unwrap_err();
        assert!(matches!(err, LayoutError::QrDoesNotFit { .. }), "{err}");
        let err = bare(sized(32.0, 32.0)).unwrap_err();
        assert!(matches!(err, LayoutError::TextDoesNotFit { .. }), "{err}");
    }

    #[test]
    fn the_label_says_where_to_check_by_hand() {
        let part = part();
        let uri = "https://verify.example.cn/01/06901234567892/10/L2026A/21/X7K2P9QD4MABC?k=a&s=b";
        assert_eq!(verifier_host(uri), Some("verify.example.cn"));
        assert_eq!(
            verifier_host("http://127.0.0.1:8080/01/1/21/2"),
            Some("127.0.0.1:8080")
        );
        assert_eq!(cells("扫码验真 a"), 10);
        let label = a_label(uri, &part, Some("Front brake pad"));
        // A format that draws Chinese says it in Chinese; the others in English.
        for (draws, words) in [
            (&(|_: &str| true) as &dyn Fn(&str) -> bool, CHECK_WORDS_ZH),
            (&|n: &str| n.is_ascii(), CHECK_WORDS_EN),
        ] {
            let p = Layout::default().place(&label, 53, 0.5, draws).unwrap();
            let check = check_lines(&p);
            // The GS1 lines keep their size: the check line goes on two lines rather than
            // shrinking the serial.
            assert_eq!(check, [words, "verify.example.cn"]);
            assert!(p.font_mm > 2.7, "{}", p.font_mm);
            for l in &p.lines {
                fits_the_width(l, p.font_mm);
            }
            assert!(p.lines.last().unwrap().baseline_mm < 33.9 - PADDING_MM);
        }
        // A wide label has room for one line.
        let wide = Layout {
            width_mm: 101.6,
            height_mm: 25.4,
            module: ModuleSize::Mm(0.25),
            ..Layout::default()
        };
        let p = wide.place(&label, 53, 0.25, |_| true).unwrap();
        let check = check_lines(&p);
        assert_eq!(check, ["扫码验真 verify.example.cn"]);
    }

    #[test]
    fn a_refused_label_is_told_a_size_that_fits() {
        let part = part();
        let uri = "https://a-rather-long-verifier-host.example.com/01/06901234567892/21/X";
        let label = a_label(uri, &part, Some("Front brake pad"));
        let symbol = crate::QrMatrix::size_for(uri.len(), EcLevel::M).unwrap();
        let small = sized(40.0, 32.0);
        let err = small
            .arrange(&label, symbol, Medium::Vector, |_| true)
            .unwrap_err();
        let LayoutError::TextDoesNotFit { advice, .. } = &err else {
            panic!("{err}");
        };
        let Some(&crate::advice::Remedy::Label {
            width_mm,
            height_mm,
        }) = advice.remedies.last()
        else {
            panic!("{err}");
        };
        assert!(
            err.to_string()
                .contains(&format!("a label of at least {width_mm} x {height_mm} mm")),
            "{err}"
        );
        assert!(width_mm >= 40.0 && height_mm >= 32.0);
        let fitting = sized(width_mm, height_mm);
        let p = fitting
            .arrange(&label, symbol, Medium::Vector, |_| true)
            .unwrap();
        assert!(p.font_mm >= MIN_FONT_MM);
    }

    /// For labels from far too small to nearly large enough, at every error correction level and
    /// as vector and raster formats print them, every remedy the error names makes the label fit
    /// when followed.
    #[test]
    fn every_remedy_advised_makes_the_label_fit() {
        use crate::advice::Remedy;
        let part = part();
        let uri = "https://verify.example.cn/01/06901234567892/10/L2026A/21/X7K2P9QD4MABC?k=GEJzbMhbmLQ&s=6mQn6e4KXwYp1ljDXzl3Zd9ZWbQ8Dt8AxVQZLWFbbW9fI8hzTQxfnY1sXcwqHVBKk4ZH2YbG8ZNvbhtYkQn6Cg";
        let label = a_label(uri, &part, Some("前刹车片 Front brake pad"));
        let media = [
            Medium::Vector,
            Medium::Dots {
                dpi: 203,
                max_dots: 10,
            },
            Medium::Dots {
                dpi: 300,
                max_dots: u32::MAX,
            },
            Medium::Dots {
                dpi: 600,
                max_dots: 10,
            },
        ];
        let mut refused = 0;
        let mut by_ec = 0;
        for medium in media {
            for ec in [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H] {
                for (w, h) in [
                    (20.0, 10.0),
                    (30.0, 15.0),
                    (30.0, 20.0),
                    (40.0, 25.0),
                    (45.0, 30.0),
                    (50.0, 28.0),
                    (63.5, 25.0),
                    (63.5, 33.9),
                    (38.0, 60.0),
                ] {
                    let layout = Layout {
                        width_mm: w,
                        height_mm: h,
                        module: ModuleSize::DEFAULT,
                        ec,
                    };
                    let arrange = |l: &Layout| {
                        let symbol = crate::QrMatrix::size_for(uri.len(), l.ec).unwrap();
                        l.validate().unwrap();
                        l.arrange(&label, symbol, medium, |_| true)
                    };
                    let Err(err) = arrange(&layout) else {
                        continue;
                    };
                    refused += 1;
                    let (LayoutError::QrDoesNotFit { advice, .. }
                    | LayoutError::TextDoesNotFit { advice, .. }) = &err
                    else {
                        panic!("{err}");
                    };
                    assert!(!advice.remedies.is_empty(), "{err}");
                    for remedy in &advice.remedies {
                        let followed = match *remedy {
                            Remedy::Module(module) => Layout { module, ..layout },
                            Remedy::Ec { ec, module } => {
                                by_ec += 1;
                                Layout {
                                    ec,
                                    module: module.unwrap_or(layout.module),
                                    ..layout
                                }
                            }
                            Remedy::Label {
                                width_mm,
                                height_mm,
                            } => Layout {
                                width_mm,
                                height_mm,
                                ..layout
                            },
                        };
                        assert!(
                            arrange(&followed).is_ok(),
                            "{medium:?} {w} x {h} {ec}: {remedy} does not fit ({err})"
                        );
                    }
                }
            }
        }
        assert!(
            refused > 50 && by_ec > 5,
            "{refused} refused, {by_ec} by EC"
        );
    }

    #[test]
    fn a_tall_label_gets_the_text_under_the_symbol() {
        let p = bare(sized(40.0, 50.0)).unwrap();
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
