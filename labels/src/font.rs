//! The face raster formats draw text with: DejaVu Sans Mono, compiled in (`labels/fonts/`, with its
//! licence), so a label renders the same on every machine and no font needs installing.
//!
//! DejaVu covers Latin, Greek and Cyrillic but not Chinese; [`Glyphs::covers`] tells a renderer whether
//! a part name can be drawn whole (a name that cannot is left off the label; see docs/labels.md).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use fontdue::{Font, FontSettings, Metrics};

static DEJAVU_SANS_MONO: &[u8] = include_bytes!("../fonts/DejaVuSansMono.ttf");

/// A rasterised glyph: its metrics and one coverage byte per pixel.
pub struct Glyph {
    pub metrics: Metrics,
    pub coverage: Vec<u8>,
}

/// The font and a cache of rasterised glyphs, shared by all threads (labels in a batch use a few dozen
/// glyphs at one size, so each is rasterised once).
pub struct Glyphs {
    font: Font,
    cache: RwLock<HashMap<(char, u32), Arc<Glyph>>>,
}

/// The compiled-in font did not parse (a build problem, never an input problem).
#[derive(Debug, thiserror::Error)]
#[error("the label font does not load: {0}")]
pub struct FontError(&'static str);

impl Glyphs {
    pub fn new() -> Result<Self, FontError> {
        let font =
            Font::from_bytes(DEJAVU_SANS_MONO, FontSettings::default()).map_err(FontError)?;
        Ok(Glyphs {
            font,
            cache: RwLock::new(HashMap::new()),
        })
    }

    /// Whether every character of `text` has a glyph in the font.
    pub fn covers(&self, text: &str) -> bool {
        text.chars()
            .all(|c| c == ' ' || self.font.lookup_glyph_index(c) != 0)
    }

    /// The glyph for `c` at `px` pixels per em.
    pub fn glyph(&self, c: char, px: f32) -> Arc<Glyph> {
        let key = (c, px.to_bits());
        if let Some(g) = self.cache.read().ok().and_then(|m| m.get(&key).cloned()) {
            return g;
        }
        let (metrics, coverage) = self.font.rasterize(c, px);
        let glyph = Arc::new(Glyph { metrics, coverage });
        if let Ok(mut m) = self.cache.write() {
            m.insert(key, glyph.clone());
        }
        glyph
    }
}
