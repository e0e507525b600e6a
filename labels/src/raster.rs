//! Pixels: a greyscale image and text drawn into it, shared by the formats that print dots (PNG, and
//! ZPL's bitmap text).

use crate::font::Glyphs;

/// A greyscale image, one byte per pixel, row by row, 0 black, 255 white. Labels use only 0 and 255;
/// [`crate::png::encode`] stores each pixel as one bit (set for 128 and above).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GreyImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u8>,
}

impl GreyImage {
    pub fn white(width: u32, height: u32) -> Self {
        GreyImage {
            width,
            height,
            pixels: vec![255; width as usize * height as usize],
        }
    }

    /// Blackens a rectangle (clipped to the image).
    pub fn fill(&mut self, x: u32, y: u32, w: u32, h: u32) {
        let (x1, y1) = ((x + w).min(self.width), (y + h).min(self.height));
        for row in y..y1 {
            let start = (row * self.width) as usize;
            self.pixels[start + x as usize..start + x1 as usize].fill(0);
        }
    }

    /// Whether the pixel at (x, y) is dark.
    pub fn is_dark(&self, x: u32, y: u32) -> bool {
        self.pixels[(y * self.width + x) as usize] < 128
    }

    /// Draws `text` at `px` pixels per em, the left end of its baseline at (`x`, `baseline`), each
    /// character from the face that has it, thresholded to black and white as a label printer
    /// prints it anyway.
    pub fn draw_text(&mut self, glyphs: &Glyphs, text: &str, x: f32, baseline: i32, px: f32) {
        let mut pen = x;
        for c in text.chars() {
            let g = glyphs.glyph(c, px);
            let m = &g.metrics;
            let x0 = (pen + m.xmin as f32).round() as i32;
            let y0 = baseline - m.ymin - m.height as i32;
            for gy in 0..m.height {
                let y = y0 + gy as i32;
                if y < 0 || y >= self.height as i32 {
                    continue;
                }
                for gx in 0..m.width {
                    let x = x0 + gx as i32;
                    if x < 0 || x >= self.width as i32 {
                        continue;
                    }
                    if g.coverage[gy * m.width + gx] >= 128 {
                        self.pixels[y as usize * self.width as usize + x as usize] = 0;
                    }
                }
            }
            pen += m.advance_width;
        }
    }
}

/// How far `text` set at `px` pixels per em advances the pen.
pub fn text_width(glyphs: &Glyphs, text: &str, px: f32) -> f32 {
    text.chars()
        .map(|c| glyphs.glyph(c, px).metrics.advance_width)
        .sum()
}
