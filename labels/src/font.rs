//! The faces label text is drawn with, compiled in, so a label renders the same on every machine and
//! no font needs installing:
//!
//! - **DejaVu Sans Mono** (`labels/fonts/DejaVuSansMono.ttf`, 333 kB; Latin, Greek, Cyrillic): every
//!   character it has, so Latin text looks as it always did;
//! - **Noto Sans CJK SC** Regular (`labels/fonts/NotoSansCJKsc-GB2312.otf`, 1.5 MB, CFF outlines): the
//!   characters DejaVu lacks. It is cut down to GB 2312 (6,763 hanzi and 682 symbols: Chinese
//!   punctuation, full-width forms, kana, box drawing) plus ASCII and Latin-1, 7,617 code points, by
//!   `scripts/subset-cjk-font.sh` from Debian's `fonts-noto-cjk`; the whole face (65,535 glyphs,
//!   about 16 MB) would triple the binary for characters part names do not use.
//!
//! Both are under free licences, shipped beside them (`labels/fonts/LICENSE-*.txt`).
//!
//! A character neither face has (a rare hanzi outside GB 2312, Thai, emoji) is never drawn as an
//! empty box: [`Faces::missing`] names it, and a part name holding one is left off the label with a
//! warning that names the characters (the GS1 lines, which identify the part, always print).
//!
//! The faces are parsed once per process ([`faces`]) and shared by every renderer and thread. DejaVu
//! is rasterised by fontdue, as it always was; the CJK face glyph by glyph as labels need them
//! (`ab_glyph_rasterizer` over ttf-parser's outlines), because fontdue reads every outline of a face
//! when it loads it: about 50 MB and 70 ms for 7,617 glyphs, where a batch of labels uses a dozen.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use ab_glyph_rasterizer::{Point, Rasterizer, point};
use fontdue::{Font, FontSettings, Metrics, OutlineBounds};
use ttf_parser::{GlyphId, OutlineBuilder};

static DEJAVU_SANS_MONO: &[u8] = include_bytes!("../fonts/DejaVuSansMono.ttf");
static NOTO_SANS_CJK_SC: &[u8] = include_bytes!("../fonts/NotoSansCJKsc-GB2312.otf");

/// Which compiled-in face draws a character.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Face {
    /// DejaVu Sans Mono.
    Latin,
    /// Noto Sans CJK SC (GB 2312).
    Cjk,
}

impl Face {
    /// The face's file, as compiled in (the PDF writer embeds a subset of it).
    pub fn data(self) -> &'static [u8] {
        match self {
            Face::Latin => DEJAVU_SANS_MONO,
            Face::Cjk => NOTO_SANS_CJK_SC,
        }
    }

    /// The name PDF and SVG give it.
    pub fn postscript_name(self) -> &'static str {
        match self {
            Face::Latin => "DejaVuSansMono",
            Face::Cjk => "NotoSansCJKsc-Regular",
        }
    }
}

/// A compiled-in font did not parse (a build problem, never an input problem).
#[derive(Debug, thiserror::Error)]
#[error("the label font does not load: {0}")]
pub struct FontError(&'static str);

struct Loaded {
    /// fontdue's copy, for the face it rasterises (DejaVu).
    raster: Option<Font>,
    parsed: ttf_parser::Face<'static>,
}

impl Loaded {
    fn new(face: Face) -> Result<Self, &'static str> {
        let raster = match face {
            Face::Latin => Some(Font::from_bytes(face.data(), FontSettings::default())?),
            Face::Cjk => None,
        };
        let parsed = ttf_parser::Face::parse(face.data(), 0).map_err(|_| "not an OpenType font")?;
        Ok(Loaded { raster, parsed })
    }

    /// `c` at `px` pixels per em: fontdue where it holds the face, else from the outline.
    fn rasterize(&self, c: char, px: f32) -> (Metrics, Vec<u8>) {
        if let Some(font) = &self.raster {
            return font.rasterize(c, px);
        }
        let Some(gid) = self.glyph(c) else {
            return (Metrics::default(), Vec::new());
        };
        let scale = px / f32::from(self.parsed.units_per_em());
        let advance_width = f32::from(self.parsed.glyph_hor_advance(gid).unwrap_or(0)) * scale;
        let Some(b) = self.parsed.glyph_bounding_box(gid) else {
            // No outline (a space): only the advance.
            let metrics = Metrics {
                advance_width,
                ..Metrics::default()
            };
            return (metrics, Vec::new());
        };
        // The bitmap covers the outline's box in whole pixels; y runs down in it.
        let (x0, y0) = (
            (f32::from(b.x_min) * scale).floor(),
            (f32::from(b.y_min) * scale).floor(),
        );
        let (x1, y1) = (
            (f32::from(b.x_max) * scale).ceil(),
            (f32::from(b.y_max) * scale).ceil(),
        );
        let (width, height) = ((x1 - x0) as usize, (y1 - y0) as usize);
        let mut pen = Pen {
            raster: Rasterizer::new(width, height),
            scale,
            left: x0,
            top: y1,
            start: point(0.0, 0.0),
            last: point(0.0, 0.0),
        };
        self.parsed.outline_glyph(gid, &mut pen);
        let mut coverage = vec![0u8; width * height];
        pen.raster.for_each_pixel(|i, alpha| {
            coverage[i] = (alpha.clamp(0.0, 1.0) * 255.0).round() as u8;
        });
        let metrics = Metrics {
            xmin: x0 as i32,
            ymin: y0 as i32,
            width,
            height,
            advance_width,
            advance_height: 0.0,
            bounds: OutlineBounds {
                xmin: f32::from(b.x_min) * scale,
                ymin: f32::from(b.y_min) * scale,
                width: f32::from(b.width()) * scale,
                height: f32::from(b.height()) * scale,
            },
        };
        (metrics, coverage)
    }

    fn glyph(&self, c: char) -> Option<GlyphId> {
        self.parsed.glyph_index(c).filter(|g| g.0 != 0)
    }

    /// Every character the face has a glyph for.
    fn characters(&self) -> Vec<char> {
        let mut chars = Vec::new();
        for table in self.parsed.tables().cmap.iter().flat_map(|c| c.subtables) {
            if table.is_unicode() {
                table.codepoints(|cp| {
                    if let Some(c) = char::from_u32(cp).filter(|&c| self.glyph(c).is_some()) {
                        chars.push(c);
                    }
                });
            }
        }
        chars
    }
}

/// Both faces, parsed.
pub struct Faces {
    latin: Loaded,
    cjk: Loaded,
    /// Which face draws each character of the Basic Multilingual Plane (0 none, 1 Latin, 2 CJK),
    /// looked up once at load: every label asks for every character of its text, and two cmap
    /// searches a character cost more than the ZPL label itself.
    bmp: Vec<u8>,
}

/// The faces, parsed on first use and shared for the rest of the process.
pub fn faces() -> Result<&'static Faces, FontError> {
    static FACES: OnceLock<Result<Faces, &'static str>> = OnceLock::new();
    FACES
        .get_or_init(|| {
            let latin = Loaded::new(Face::Latin)?;
            let cjk = Loaded::new(Face::Cjk)?;
            let mut bmp = vec![0u8; 0x10000];
            for (face, mark) in [(&cjk, 2), (&latin, 1)] {
                for c in face.characters() {
                    if let Some(slot) = bmp.get_mut(c as usize) {
                        *slot = mark;
                    }
                }
            }
            bmp[' ' as usize] = 1;
            Ok(Faces { latin, cjk, bmp })
        })
        .as_ref()
        .map_err(|e| FontError(e))
}

impl Faces {
    fn loaded(&self, face: Face) -> &Loaded {
        match face {
            Face::Latin => &self.latin,
            Face::Cjk => &self.cjk,
        }
    }

    /// The face that draws `c`: DejaVu where it has the character (a space is drawn by spacing),
    /// else the CJK face; `None` where neither has it.
    pub fn face_for(&self, c: char) -> Option<Face> {
        match self.bmp.get(c as usize) {
            Some(1) => return Some(Face::Latin),
            Some(2) => return Some(Face::Cjk),
            Some(_) => return None,
            None => {}
        }
        if self.latin.glyph(c).is_some() {
            Some(Face::Latin)
        } else if self.cjk.glyph(c).is_some() {
            Some(Face::Cjk)
        } else {
            None
        }
    }

    /// Whether the CJK face has `c` (what the PDF draws beyond Latin-1).
    pub fn cjk_has(&self, c: char) -> bool {
        match self.bmp.get(c as usize) {
            Some(2) => true,
            Some(0) => false,
            _ => self.cjk.glyph(c).is_some(),
        }
    }

    /// The characters of `text` no face has, each once, in order of appearance.
    pub fn missing(&self, text: &str) -> Vec<char> {
        let mut missing: Vec<char> = Vec::new();
        for c in text.chars() {
            if self.face_for(c).is_none() && !missing.contains(&c) {
                missing.push(c);
            }
        }
        missing
    }

    /// Whether every character of `text` can be drawn.
    pub fn covers(&self, text: &str) -> bool {
        text.chars().all(|c| self.face_for(c).is_some())
    }

    /// The glyph id of `c` in `face`, if it has one.
    pub fn glyph_id(&self, face: Face, c: char) -> Option<u16> {
        self.loaded(face).glyph(c).map(|g| g.0)
    }

    /// Font units per em of `face`.
    pub fn units_per_em(&self, face: Face) -> u16 {
        self.loaded(face).parsed.units_per_em()
    }

    /// The advance of glyph `gid` of `face`, in font units.
    pub fn advance(&self, face: Face, gid: u16) -> u16 {
        self.loaded(face)
            .parsed
            .glyph_hor_advance(GlyphId(gid))
            .unwrap_or(0)
    }

    /// The face's ascender, descender (negative) and cap height, in font units, and its bounding
    /// box (for the PDF font descriptor).
    pub fn metrics(&self, face: Face) -> FaceMetrics {
        let f = &self.loaded(face).parsed;
        let b = f.global_bounding_box();
        FaceMetrics {
            ascender: f.ascender(),
            descender: f.descender(),
            cap_height: f.capital_height().unwrap_or(f.ascender()),
            bbox: [b.x_min, b.y_min, b.x_max, b.y_max],
        }
    }

    /// Feeds the outline of `c` in `face` to `builder`, in font units, y upwards. `false` if the
    /// glyph has no outline (a space).
    pub fn outline(&self, face: Face, c: char, builder: &mut dyn OutlineBuilder) -> bool {
        let loaded = self.loaded(face);
        loaded
            .glyph(c)
            .and_then(|g| loaded.parsed.outline_glyph(g, builder))
            .is_some()
    }

    fn rasterize(&self, c: char, px: f32) -> (Metrics, Vec<u8>) {
        let face = self.face_for(c).unwrap_or(Face::Latin);
        self.loaded(face).rasterize(c, px)
    }
}

/// Draws an outline, in font units with y up, into a rasteriser's pixels, y down from `top`.
struct Pen {
    raster: Rasterizer,
    scale: f32,
    left: f32,
    top: f32,
    start: Point,
    last: Point,
}

impl Pen {
    fn at(&self, x: f32, y: f32) -> Point {
        point(x * self.scale - self.left, self.top - y * self.scale)
    }
}

impl OutlineBuilder for Pen {
    fn move_to(&mut self, x: f32, y: f32) {
        self.start = self.at(x, y);
        self.last = self.start;
    }

    fn line_to(&mut self, x: f32, y: f32) {
        let p = self.at(x, y);
        self.raster.draw_line(self.last, p);
        self.last = p;
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        let (c, p) = (self.at(x1, y1), self.at(x, y));
        self.raster.draw_quad(self.last, c, p);
        self.last = p;
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        let (c1, c2, p) = (self.at(x1, y1), self.at(x2, y2), self.at(x, y));
        self.raster.draw_cubic(self.last, c1, c2, p);
        self.last = p;
    }

    fn close(&mut self) {
        if self.last != self.start {
            self.raster.draw_line(self.last, self.start);
        }
        self.last = self.start;
    }
}

/// A face's vertical metrics and bounding box, in font units.
#[derive(Clone, Copy, Debug)]
pub struct FaceMetrics {
    pub ascender: i16,
    pub descender: i16,
    pub cap_height: i16,
    pub bbox: [i16; 4],
}

/// A rasterised glyph: its metrics and one coverage byte per pixel.
pub struct Glyph {
    pub metrics: Metrics,
    pub coverage: Vec<u8>,
}

/// The faces and a cache of rasterised glyphs, shared by all threads (labels in a batch use a few
/// dozen glyphs at one size, so each is rasterised once).
pub struct Glyphs {
    faces: &'static Faces,
    cache: RwLock<HashMap<(char, u32), Arc<Glyph>>>,
}

impl Glyphs {
    pub fn new() -> Result<Self, FontError> {
        Ok(Glyphs {
            faces: faces()?,
            cache: RwLock::new(HashMap::new()),
        })
    }

    pub fn faces(&self) -> &'static Faces {
        self.faces
    }

    /// Whether every character of `text` has a glyph in one of the faces.
    pub fn covers(&self, text: &str) -> bool {
        self.faces.covers(text)
    }

    /// The glyph for `c` at `px` pixels per em, from the face that draws it.
    pub fn glyph(&self, c: char, px: f32) -> Arc<Glyph> {
        let key = (c, px.to_bits());
        if let Some(g) = self.cache.read().ok().and_then(|m| m.get(&key).cloned()) {
            return g;
        }
        let (metrics, coverage) = self.faces.rasterize(c, px);
        let glyph = Arc::new(Glyph { metrics, coverage });
        if let Ok(mut m) = self.cache.write() {
            m.insert(key, glyph.clone());
        }
        glyph
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn latin_comes_from_dejavu_chinese_from_noto_and_the_rest_is_named() {
        let f = faces().unwrap();
        assert_eq!(f.face_for('A'), Some(Face::Latin));
        assert_eq!(f.face_for('é'), Some(Face::Latin));
        assert_eq!(f.face_for('前'), Some(Face::Cjk));
        assert_eq!(f.face_for('，'), Some(Face::Cjk));
        // 𠮷 (U+20BB7) is outside GB 2312; ๆ is Thai.
        assert_eq!(f.missing("前𠮷 brake ๆ 𠮷"), vec!['𠮷', 'ๆ']);
        assert!(f.covers("前刹车片 Front brake pad"));
        assert_eq!(f.units_per_em(Face::Cjk), 1000);
        let gid = f.glyph_id(Face::Cjk, '前').unwrap();
        assert_eq!(f.advance(Face::Cjk, gid), 1000);
    }
}
