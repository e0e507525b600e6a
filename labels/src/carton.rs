//! Carton labels: a carton's SSCC as a QR code of its Digital Link (`{base}/00/{sscc}`, what a phone
//! opens) and as a GS1-128 barcode (what a warehouse scanner reads), on one 4 x 3 inch label, as PNG
//! ([`CartonPngRenderer`]), SVG ([`svg`]), PDF ([`pdf`]) or ZPL ([`zpl`]), all placed by one
//! [`Placement`].
//!
//! The QR symbol sits in the top left with the SSCC's human-readable line and the verifier's host
//! beside it; the barcode runs across the bottom with its human-readable line under it, as GS1
//! logistics labels print it. Both symbols use one module width ([`CARTON_MODULE_MM`], within the
//! GS1-128 range for logistics labels, 0.495 to 1.016 mm), drawn in whole printer dots.

use std::fmt::Write;

use signer::Sscc;

use crate::error::{LabelError, LayoutError, ZplError};
use crate::font::{FontError, Glyphs};
use crate::gs1_128;
use crate::layout::{MM_PER_INCH, verifier_host};
use crate::png::encode;
use crate::qr::{EcLevel, QUIET_ZONE, QrMatrix};
use crate::raster::GreyImage;

/// 4 x 3 inches, the common thermal label for cartons.
pub const CARTON_WIDTH_MM: f32 = 101.6;
pub const CARTON_HEIGHT_MM: f32 = 76.2;
/// One module of both symbols.
pub const CARTON_MODULE_MM: f32 = 0.5;
/// Height of the GS1-128 bars.
pub const BAR_HEIGHT_MM: f32 = 20.0;
const PADDING_MM: f32 = 3.0;
const FONT_MM: f32 = 3.0;

/// What goes on one carton label.
#[derive(Clone, Copy, Debug)]
pub struct CartonLabel<'a> {
    /// The carton's Digital Link, `{base}/00/{sscc}`.
    pub uri: &'a str,
    pub sscc: &'a Sscc,
}

/// Renders carton labels as PNG at one resolution.
pub struct CartonPngRenderer {
    dpi: u32,
    glyphs: Glyphs,
}

impl CartonPngRenderer {
    pub fn new(dpi: u32) -> Result<Self, FontError> {
        Ok(CartonPngRenderer {
            dpi: dpi.clamp(crate::png::MIN_DPI, crate::png::MAX_DPI),
            glyphs: Glyphs::new()?,
        })
    }

    /// One carton label as PNG file bytes.
    pub fn render(&self, label: &CartonLabel<'_>) -> Result<Vec<u8>, LabelError> {
        Ok(encode(&self.rasterise(label)?, self.dpi)?)
    }

    /// The label's pixels.
    pub fn rasterise(&self, label: &CartonLabel<'_>) -> Result<GreyImage, LabelError> {
        let qr = QrMatrix::encode(label.uri, EcLevel::M)?;
        let scale = self.dpi as f32 / MM_PER_INCH;
        let p = Placement::new(
            self.dpi,
            (CARTON_MODULE_MM * scale).round() as u32,
            qr.size(),
        )?;
        let dots = p.module_dots;
        let mut img = GreyImage::white(p.width, p.height);
        for (x, y, len) in qr.dark_runs() {
            img.fill(
                p.qr_x + x as u32 * dots,
                p.qr_y + y as u32 * dots,
                len as u32 * dots,
                dots,
            );
        }
        let bars = gs1_128::modules(label.sscc);
        for (i, _) in bars.iter().enumerate().filter(|(_, dark)| **dark) {
            img.fill(p.bars_x + i as u32 * dots, p.bars_y, dots, p.bar_height);
        }
        let size = p.font as f32;
        let hri = gs1_128::human_readable(label.sscc);
        let hri_width = crate::raster::text_width(&self.glyphs, &hri, size);
        img.draw_text(
            &self.glyphs,
            &hri,
            ((img.width as f32 - hri_width) / 2.0).max(0.0),
            p.hri_baseline as i32,
            size,
        );
        for (line, baseline) in text_lines(label).into_iter().zip(p.text_baselines()) {
            img.draw_text(&self.glyphs, line, p.text_x as f32, baseline as i32, size);
        }
        Ok(img)
    }
}

/// One carton label in ZPL II at `dpi` (203, 300 or 600): `^XA ... ^XZ` and a newline. The printer
/// draws both symbols itself: the QR code with `^BQ` and the GS1-128 barcode with `^BC`, its data
/// `>;>800` and the SSCC (`>;` starts code set C, `>8` is FNC1). Its own interpretation line is
/// off; the GS1-grouped line is printed as text under the bars instead, as on the PNG.
pub fn zpl(label: &CartonLabel<'_>, dpi: u32) -> Result<String, LabelError> {
    if !crate::zpl::DPI_PRESETS.contains(&dpi) {
        return Err(ZplError::Dpi(dpi).into());
    }
    if let Some(ch) = label.uri.chars().find(|c| matches!(c, '^' | '~')) {
        return Err(ZplError::ControlCharInUri { ch }.into());
    }
    let qr_size = QrMatrix::size_for(label.uri.len(), EcLevel::M)?;
    let scale = dpi as f32 / MM_PER_INCH;
    // ^BQ and ^BY stop at 10 dots a module.
    let dots = ((CARTON_MODULE_MM * scale).round() as u32).min(ZPL_MAX_MODULE_DOTS);
    let p = Placement::new(dpi, dots, qr_size)?;
    let font = p.font;
    // ^FO places the top of the text; the placement gives baselines.
    let top = |baseline: u32| baseline.saturating_sub(font * 4 / 5);
    let mut s = String::with_capacity(512);
    let _ = writeln!(s, "^XA^CI28^PW{}^LL{}^LH0,0", p.width, p.height);
    let _ = writeln!(
        s,
        "^FO{},{}^BQN,2,{}^FDMA,{}^FS",
        p.qr_x, p.qr_y, p.module_dots, label.uri
    );
    let _ = writeln!(
        s,
        "^FO{},{}^BY{}^BCN,{},N,N,N^FD>;>800{}^FS",
        p.bars_x, p.bars_y, p.module_dots, p.bar_height, label.sscc
    );
    let hri = gs1_128::human_readable(label.sscc);
    // Font 0 at `font` dots is about 0.6 em a character wide, as the monospace faces are.
    let hri_width = (hri.len() as f32 * font as f32 * 0.6) as u32;
    let lines = [(
        p.width.saturating_sub(hri_width) / 2,
        p.hri_baseline,
        hri.as_str(),
    )]
    .into_iter()
    .chain(
        text_lines(label)
            .into_iter()
            .zip(p.text_baselines())
            .map(|(line, baseline)| (p.text_x, baseline, line)),
    );
    for (x, baseline, text) in lines {
        let _ = write!(s, "^FO{x},{}^A0N,{font},{font}^FH\\^FD", top(baseline));
        crate::zpl::escape_into(text, &mut s);
        s.push_str("^FS\n");
    }
    s.push_str("^XZ\n");
    Ok(s)
}

/// Units of the SVG's view box per millimetre: the placement is made as if at 254 dpi, so a 0.5 mm
/// module is exactly 5 units.
const SVG_UNITS_PER_MM: u32 = 10;

/// One carton label as SVG, 101.6 x 76.2 mm: each symbol one path of dark rectangles, the text as
/// text.
pub fn svg(label: &CartonLabel<'_>) -> Result<String, LabelError> {
    let qr = QrMatrix::encode(label.uri, EcLevel::M)?;
    let units = SVG_UNITS_PER_MM as f32;
    let dpi = (MM_PER_INCH * units).round() as u32;
    let p = Placement::new(dpi, (CARTON_MODULE_MM * units).round() as u32, qr.size())?;
    let dots = p.module_dots;
    let (w, h) = (p.width, p.height);
    let mut s = String::with_capacity(16 * 1024);
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}mm" height="{}mm" viewBox="0 0 {w} {h}">"#,
        w as f32 / units,
        h as f32 / units
    );
    let _ = write!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    s.push_str(r#"<path shape-rendering="crispEdges" fill="black" d=""#);
    for (x, y, len) in qr.dark_runs() {
        let (x, y) = (p.qr_x + x as u32 * dots, p.qr_y + y as u32 * dots);
        let _ = write!(
            s,
            "M{x} {y}h{}v{dots}h-{}z",
            len as u32 * dots,
            len as u32 * dots
        );
    }
    s.push_str(r#""/><path shape-rendering="crispEdges" fill="black" d=""#);
    let bars = gs1_128::modules(label.sscc);
    for (i, _) in bars.iter().enumerate().filter(|(_, dark)| **dark) {
        let x = p.bars_x + i as u32 * dots;
        let _ = write!(s, "M{x} {}h{dots}v{}h-{dots}z", p.bars_y, p.bar_height);
    }
    s.push_str(r#""/>"#);
    let hri = gs1_128::human_readable(label.sscc);
    let mut text = |x: u32, baseline: u32, anchor: &str, line: &str| {
        let _ = write!(
            s,
            r#"<text x="{x}" y="{baseline}" font-family="{}" font-size="{}" text-anchor="{anchor}" xml:space="preserve">"#,
            crate::svg::FONT_FAMILY,
            p.font
        );
        crate::svg::escape_into(line, &mut s);
        s.push_str("</text>");
    };
    text(w / 2, p.hri_baseline, "middle", &hri);
    for (line, baseline) in text_lines(label).into_iter().zip(p.text_baselines()) {
        text(p.text_x, baseline, "start", line);
    }
    s.push_str("</svg>\n");
    Ok(s)
}

/// Carton labels as a PDF, one 101.6 x 76.2 mm page per label (a label printer's page), the
/// symbols as filled rectangles and the text in the viewer's Courier, so it stays text.
pub fn pdf(labels: &[CartonLabel<'_>]) -> Result<Vec<u8>, LabelError> {
    use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};
    let units = SVG_UNITS_PER_MM as f32;
    let dpi = (MM_PER_INCH * units).round() as u32;
    let pt_per_unit = 72.0 / MM_PER_INCH / units;
    let (catalog, tree, font) = (Ref::new(1), Ref::new(2), Ref::new(3));
    let mut doc = Pdf::new();
    doc.type1_font(font)
        .base_font(Name(b"Courier"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    let mut pages = Vec::with_capacity(labels.len());
    for (i, label) in labels.iter().enumerate() {
        let qr = QrMatrix::encode(label.uri, EcLevel::M)?;
        let p = Placement::new(dpi, (CARTON_MODULE_MM * units).round() as u32, qr.size())?;
        let dots = p.module_dots as f32;
        let mut c = Content::new();
        // Placement units from the top left, y downwards.
        c.transform([
            pt_per_unit,
            0.0,
            0.0,
            -pt_per_unit,
            0.0,
            p.height as f32 * pt_per_unit,
        ]);
        for (x, y, len) in qr.dark_runs() {
            c.rect(
                p.qr_x as f32 + x as f32 * dots,
                p.qr_y as f32 + y as f32 * dots,
                len as f32 * dots,
                dots,
            );
        }
        let bars = gs1_128::modules(label.sscc);
        for (i, _) in bars.iter().enumerate().filter(|(_, dark)| **dark) {
            c.rect(
                p.bars_x as f32 + i as f32 * dots,
                p.bars_y as f32,
                dots,
                p.bar_height as f32,
            );
        }
        c.fill_nonzero();
        let hri = gs1_128::human_readable(label.sscc);
        // Courier is 0.6 em a character wide.
        let hri_x = (p.width as f32 - hri.len() as f32 * p.font as f32 * 0.6) / 2.0;
        let lines = [(hri_x, p.hri_baseline, hri.as_str())].into_iter().chain(
            text_lines(label)
                .into_iter()
                .zip(p.text_baselines())
                .map(|(line, baseline)| (p.text_x as f32, baseline, line)),
        );
        for (x, baseline, text) in lines {
            c.begin_text();
            c.set_font(Name(b"F1"), p.font as f32);
            // Upright again in the y-down space.
            c.set_text_matrix([1.0, 0.0, 0.0, -1.0, x, baseline as f32]);
            let bytes: Vec<u8> = text.chars().filter_map(crate::pdf_font::winansi).collect();
            c.show(Str(&bytes));
            c.end_text();
        }
        let (content, page) = (Ref::new(4 + 2 * i as i32), Ref::new(5 + 2 * i as i32));
        doc.stream(content, &c.finish());
        let mut pg = doc.page(page);
        pg.parent(tree)
            .media_box(Rect::new(
                0.0,
                0.0,
                p.width as f32 * pt_per_unit,
                p.height as f32 * pt_per_unit,
            ))
            .contents(content);
        pg.resources().fonts().pair(Name(b"F1"), font);
        pg.finish();
        pages.push(page);
    }
    doc.pages(tree).count(pages.len() as i32).kids(pages);
    doc.catalog(catalog).pages(tree);
    Ok(doc.finish())
}

/// The largest `^BQ` magnification and `^BY` module width.
const ZPL_MAX_MODULE_DOTS: u32 = 10;

/// The lines beside the QR symbol: what the number is, the number, and where it is checked.
fn text_lines<'a>(label: &CartonLabel<'a>) -> [&'a str; 3] {
    [
        "SSCC",
        label.sscc.as_str(),
        verifier_host(label.uri).unwrap_or_default(),
    ]
}

/// Where everything goes, in printer dots from the label's top left, for one resolution and one
/// module width: PNG and ZPL place a carton label alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Placement {
    pub width: u32,
    pub height: u32,
    pub module_dots: u32,
    /// The QR symbol's top-left module (inside its quiet zone).
    pub qr_x: u32,
    pub qr_y: u32,
    /// The first bar (inside the barcode's quiet zone), and the bars' top and height.
    pub bars_x: u32,
    pub bars_y: u32,
    pub bar_height: u32,
    /// Text size in dots per em; the barcode's human-readable line's baseline.
    pub font: u32,
    pub hri_baseline: u32,
    /// The left edge of the lines beside the QR symbol, and the first one's baseline.
    pub text_x: u32,
    pub text_baseline: u32,
}

impl Placement {
    /// Bottom up: the barcode's text line, the bars, then what is left above for the QR symbol of
    /// `qr_size` modules; refused when it does not fit there.
    pub fn new(dpi: u32, module_dots: u32, qr_size: usize) -> Result<Self, LayoutError> {
        let scale = dpi as f32 / MM_PER_INCH;
        let px = |mm: f32| (mm * scale).round() as u32;
        // At least two dots, so every bar and module survives printing.
        let dots = module_dots.max(2);
        let module_mm = dots as f32 / scale;
        let (width, height) = (px(CARTON_WIDTH_MM), px(CARTON_HEIGHT_MM));
        let hri_baseline_mm = CARTON_HEIGHT_MM - PADDING_MM;
        let bars_bottom_mm = hri_baseline_mm - FONT_MM * 1.1;
        let bars_top_mm = bars_bottom_mm - BAR_HEIGHT_MM;
        let qr_mm = (qr_size + 2 * QUIET_ZONE) as f32 * module_mm;
        let room_mm = bars_top_mm - PADDING_MM;
        if qr_mm > room_mm {
            return Err(LayoutError::CartonQrDoesNotFit { qr_mm, room_mm });
        }
        let quiet = QUIET_ZONE as u32 * dots;
        let bars_width = (gs1_128::SSCC_MODULES + 2 * gs1_128::QUIET_ZONE) as u32 * dots;
        Ok(Placement {
            width,
            height,
            module_dots: dots,
            qr_x: px(PADDING_MM) + quiet,
            qr_y: px(PADDING_MM) + quiet,
            // Centred; where whole dots make it wider than the label, from the edge.
            bars_x: width.saturating_sub(bars_width) / 2 + gs1_128::QUIET_ZONE as u32 * dots,
            bars_y: px(bars_top_mm),
            bar_height: px(BAR_HEIGHT_MM),
            font: px(FONT_MM),
            hri_baseline: px(hri_baseline_mm),
            text_x: px(PADDING_MM + qr_mm + PADDING_MM),
            text_baseline: px(PADDING_MM + FONT_MM) + quiet,
        })
    }

    /// The baselines of the three lines beside the QR symbol.
    pub fn text_baselines(&self) -> [u32; 3] {
        let step = (self.font as f32 * 1.25).round() as u32;
        [0, 1, 2].map(|i| self.text_baseline + i * step)
    }
}
