//! PNG: one label as a 1-bit greyscale image at a chosen resolution, the DPI recorded in the file's
//! `pHYs` chunk so print software sizes it right.
//!
//! The symbol is drawn in whole pixels per module (no resampling, so module edges stay sharp) and the
//! text in the compiled-in faces (DejaVu Sans Mono, and Noto Sans CJK SC for Chinese; [`crate::font`]),
//! thresholded to black and white as a label printer prints it anyway.
//! One bit per pixel, the `Up` filter (a module is several identical rows) and the `png` crate's
//! fastest deflate make a label about 6 kB in about 25 µs; 8-bit greyscale with adaptive filtering
//! was 20 kB in 130 µs (BENCHMARKS.md).

use signer::ManifestEntry;

use crate::error::LabelError;
use crate::font::{FontError, Glyphs};
use crate::layout::{Label, Layout, MM_PER_INCH, Medium, Placement};
use crate::qr::QrMatrix;
pub use crate::raster::GreyImage;

/// Resolutions accepted for raster output.
pub const MIN_DPI: u32 = 72;
pub const MAX_DPI: u32 = 1200;

/// Renders labels of one layout as PNG at one resolution.
pub struct PngRenderer {
    layout: Layout,
    dpi: u32,
    glyphs: Glyphs,
}

impl PngRenderer {
    pub fn new(layout: Layout, dpi: u32) -> Result<Self, FontError> {
        Ok(PngRenderer {
            layout,
            dpi: dpi.clamp(MIN_DPI, MAX_DPI),
            glyphs: Glyphs::new()?,
        })
    }

    pub fn dpi(&self) -> u32 {
        self.dpi
    }

    /// Whether the part name prints (the faces have all its characters).
    pub fn draws_name(&self, name: &str) -> bool {
        self.glyphs.covers(name)
    }

    /// One label as PNG file bytes.
    pub fn render(&self, label: &Label<'_>) -> Result<Vec<u8>, LabelError> {
        let qr = QrMatrix::encode(label.uri, self.layout.ec)?;
        let image = self.rasterise(label, &qr)?;
        Ok(encode(&image, self.dpi)?)
    }

    /// Renders a manifest entry.
    pub fn render_entry(&self, entry: &ManifestEntry) -> Result<Vec<u8>, LabelError> {
        self.render(&Label::from(entry))
    }

    /// The label's pixels, for a symbol already encoded.
    pub fn rasterise(&self, label: &Label<'_>, qr: &QrMatrix) -> Result<GreyImage, LabelError> {
        let dots = self.layout.module.dots(self.dpi);
        let medium = Medium::Dots {
            dpi: self.dpi,
            max_dots: u32::MAX,
        };
        let p = self
            .layout
            .arrange(label, qr.size(), medium, |n| self.glyphs.covers(n))?;
        let px = |mm: f32| (mm * self.dpi as f32 / MM_PER_INCH).round() as u32;
        let mut img = GreyImage::white(px(p.width_mm), px(p.height_mm));
        let (sx, sy) = p.symbol_origin_mm();
        let (ox, oy) = (px(sx), px(sy));
        for (x, y, len) in qr.dark_runs() {
            img.fill(
                ox + x as u32 * dots,
                oy + y as u32 * dots,
                len as u32 * dots,
                dots,
            );
        }
        self.draw_text(&mut img, &p);
        Ok(img)
    }

    fn draw_text(&self, img: &mut GreyImage, p: &Placement) {
        let scale = self.dpi as f32 / MM_PER_INCH;
        let size = p.font_mm * scale;
        for line in &p.lines {
            let baseline = (line.baseline_mm * scale).round() as i32;
            img.draw_text(&self.glyphs, &line.text, line.x_mm * scale, baseline, size);
        }
    }
}

/// PNG bytes of `img`, 1-bit greyscale, with `dpi` in the `pHYs` chunk (as pixels per metre).
pub fn encode(img: &GreyImage, dpi: u32) -> Result<Vec<u8>, png::EncodingError> {
    let packed = pack_bits(img);
    let mut out = Vec::with_capacity(8 * 1024);
    let mut enc = png::Encoder::new(&mut out, img.width, img.height);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::One);
    enc.set_compression(png::Compression::Fastest);
    enc.set_filter(png::Filter::Up);
    let ppm = (dpi as f64 / 0.0254).round() as u32;
    enc.set_pixel_dims(Some(png::PixelDimensions {
        xppu: ppm,
        yppu: ppm,
        unit: png::Unit::Meter,
    }));
    let mut writer = enc.write_header()?;
    writer.write_image_data(&packed)?;
    writer.finish()?;
    Ok(out)
}

/// One bit per pixel, most significant first, each row padded to a whole byte (PNG's layout): the
/// top bit of each pixel byte, eight pixels at a time.
fn pack_bits(img: &GreyImage) -> Vec<u8> {
    let width = img.width as usize;
    let row_bytes = width.div_ceil(8);
    let mut out = Vec::with_capacity(row_bytes * img.height as usize);
    for row in img.pixels.chunks_exact(width.max(1)) {
        let mut eights = row.chunks_exact(8);
        for px in &mut eights {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(px);
            // The top bits of the eight bytes, gathered into the top byte by one multiplication.
            let tops = u64::from_be_bytes(bytes) & 0x8080_8080_8080_8080;
            out.push((tops.wrapping_mul(0x0002_0408_1020_4081) >> 56) as u8);
        }
        let rest = eights.remainder();
        if !rest.is_empty() {
            let mut b = 0u8;
            for (i, &p) in rest.iter().enumerate() {
                b |= (p >> 7) << (7 - i);
            }
            out.push(b);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_packed_most_significant_first() {
        let width = 21;
        let pixels: Vec<u8> = (0..width * 3)
            .map(|i| if (i * 7) % 5 < 2 { 0 } else { 255 })
            .collect();
        let img = GreyImage {
            width: width as u32,
            height: 3,
            pixels: pixels.clone(),
        };
        let packed = pack_bits(&img);
        assert_eq!(packed.len(), 3 * 3);
        for y in 0..3 {
            for x in 0..width {
                let bit = packed[y * 3 + x / 8] >> (7 - x % 8) & 1;
                assert_eq!(bit == 1, pixels[y * width + x] >= 128, "pixel {x},{y}");
            }
        }
    }
}
