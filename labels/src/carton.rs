//! Carton labels: a carton's SSCC as a QR code of its Digital Link (`{base}/00/{sscc}`, what a phone
//! opens) and as a GS1-128 barcode (what a warehouse scanner reads), on one 4 x 3 inch label.
//!
//! The QR symbol sits in the top left with the SSCC's human-readable line and the verifier's host
//! beside it; the barcode runs across the bottom with its human-readable line under it, as GS1
//! logistics labels print it. Both symbols use one module width ([`CARTON_MODULE_MM`], within the
//! GS1-128 range for logistics labels, 0.495 to 1.016 mm), drawn in whole printer dots.

use signer::Sscc;

use crate::error::{LabelError, LayoutError};
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
        let scale = self.dpi as f32 / MM_PER_INCH;
        let px = |mm: f32| (mm * scale).round() as u32;
        // Whole dots, so every bar and module is the same width.
        let dots = px(CARTON_MODULE_MM).max(2);
        let module_mm = dots as f32 / scale;
        let mut img = GreyImage::white(px(CARTON_WIDTH_MM), px(CARTON_HEIGHT_MM));

        // Bottom up: the barcode's text line, the bars, then what is left for the QR symbol.
        let text_baseline_mm = CARTON_HEIGHT_MM - PADDING_MM;
        let bars_bottom_mm = text_baseline_mm - FONT_MM * 1.1;
        let bars_top_mm = bars_bottom_mm - BAR_HEIGHT_MM;
        let qr = QrMatrix::encode(label.uri, EcLevel::M)?;
        let qr_mm = qr.size_with_quiet_zone() as f32 * module_mm;
        let room_mm = bars_top_mm - PADDING_MM;
        if qr_mm > room_mm {
            return Err(LayoutError::CartonQrDoesNotFit { qr_mm, room_mm }.into());
        }

        let (ox, oy) = (
            px(PADDING_MM) + QUIET_ZONE as u32 * dots,
            px(PADDING_MM) + QUIET_ZONE as u32 * dots,
        );
        for (x, y, len) in qr.dark_runs() {
            img.fill(
                ox + x as u32 * dots,
                oy + y as u32 * dots,
                len as u32 * dots,
                dots,
            );
        }

        let bars = gs1_128::modules(label.sscc);
        let bars_width = (bars.len() + 2 * gs1_128::QUIET_ZONE) as u32 * dots;
        // Centred; at low resolutions whole dots may make it wider than the label, then from the edge.
        let bars_left =
            img.width.saturating_sub(bars_width) / 2 + gs1_128::QUIET_ZONE as u32 * dots;
        let (top, height) = (px(bars_top_mm), px(BAR_HEIGHT_MM));
        for (i, _) in bars.iter().enumerate().filter(|(_, dark)| **dark) {
            img.fill(bars_left + i as u32 * dots, top, dots, height);
        }

        let size = FONT_MM * scale;
        let hri = gs1_128::human_readable(label.sscc);
        let hri_width = crate::raster::text_width(&self.glyphs, &hri, size);
        img.draw_text(
            &self.glyphs,
            &hri,
            ((img.width as f32 - hri_width) / 2.0).max(0.0),
            px(text_baseline_mm) as i32,
            size,
        );
        let text_x = (PADDING_MM + qr_mm + PADDING_MM) * scale;
        let mut baseline_mm = PADDING_MM + QUIET_ZONE as f32 * module_mm + FONT_MM;
        let host = verifier_host(label.uri).unwrap_or_default();
        for line in ["SSCC", label.sscc.as_str(), host] {
            img.draw_text(&self.glyphs, line, text_x, px(baseline_mm) as i32, size);
            baseline_mm += FONT_MM * 1.25;
        }
        Ok(img)
    }
}
