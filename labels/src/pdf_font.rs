//! The Chinese face in a PDF: characters beyond Latin-1 (which PDF's built-in Courier draws) are set
//! in Noto Sans CJK SC, embedded as a subset holding only the glyphs a page uses, so the text stays
//! text: `pdftotext` and a viewer's search find a Chinese part name.
//!
//! The font is a Type 0 font over a CID-keyed CFF font (`CIDFontType0C`, cut by the `subsetter`
//! crate, typst's), addressed through `Identity-H` by the glyph's id in the subset, with a
//! `ToUnicode` map from those ids back to the characters.
//!
//! Page content is built on many threads before any font is written, so the ids a page's text uses
//! must follow from that page alone: a page's glyphs are numbered in the order of their ids in the
//! full face (1, 2, ...; 0 is `.notdef`), which is how `subsetter` numbers a sorted set. Pages using
//! the same glyphs (a batch's labels share the part name and "扫码验真") share one embedded font.

use std::collections::BTreeMap;
use std::io;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Chunk, Filter, Name, Rect, Ref, Str};
use subsetter::GlyphRemapper;

use crate::font::{Face, Faces};

/// The CJK glyphs one page uses: the full face's glyph id and the character it draws.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageGlyphs {
    glyphs: BTreeMap<u16, char>,
}

impl PageGlyphs {
    /// Adds every character of `text` that is set in the CJK face ([`is_cjk_run`] true).
    pub fn add(&mut self, faces: &Faces, text: &str) {
        for c in text.chars().filter(|&c| is_cjk_run(c)) {
            if let Some(gid) = faces.glyph_id(Face::Cjk, c) {
                self.glyphs.entry(gid).or_insert(c);
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.glyphs.is_empty()
    }

    /// The glyph ids in the full face, ascending: what identifies the subset.
    pub fn ids(&self) -> Vec<u16> {
        self.glyphs.keys().copied().collect()
    }

    /// The bytes that show `text` (all of it set in the CJK face) in this page's subset: two
    /// bytes, big-endian, per glyph (`Identity-H`).
    pub fn encode(&self, faces: &Faces, text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 * text.len());
        for c in text.chars() {
            let new_id = faces
                .glyph_id(Face::Cjk, c)
                .and_then(|gid| self.glyphs.keys().position(|&g| g == gid))
                .map_or(0, |rank| rank as u16 + 1);
            out.extend_from_slice(&new_id.to_be_bytes());
        }
        out
    }
}

/// Whether `c` is set in the CJK face rather than Courier: everything outside Latin-1.
pub fn is_cjk_run(c: char) -> bool {
    winansi(c).is_none()
}

/// A character's byte in WinAnsiEncoding, for the characters it shares with Latin-1.
pub fn winansi(c: char) -> Option<u8> {
    match c as u32 {
        0x20..=0x7e | 0xa0..=0xff => Some(c as u32 as u8),
        _ => None,
    }
}

const SYSTEM_INFO: SystemInfo = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

/// The objects of the Type 0 font for `page`'s glyphs, numbered from `ids` (five of them), the
/// first being the font itself (what the page's resources name).
pub fn font_objects(
    ids: [Ref; 5],
    faces: &Faces,
    page: &PageGlyphs,
) -> io::Result<Vec<(Ref, Chunk)>> {
    let [type0, cid, descriptor, file, cmap] = ids;
    let ids = page.ids();
    let remapper = GlyphRemapper::new_from_glyphs_sorted(&ids);
    let subset = subsetter::subset(Face::Cjk.data(), 0, &remapper)
        .map_err(|e| io::Error::other(format!("embedding the Chinese font: {e}")))?;
    let cff = ttf_parser::RawFace::parse(&subset, 0)
        .ok()
        .and_then(|f| f.table(ttf_parser::Tag::from_bytes(b"CFF ")))
        .ok_or_else(|| {
            io::Error::other("embedding the Chinese font: the subset has no CFF table")
        })?;

    // A subset's name starts with a tag of six capitals that tells it from other subsets.
    let base = format!("{}+{}", subset_tag(&ids), Face::Cjk.postscript_name());
    let base = Name(base.as_bytes());

    let mut objects = Vec::with_capacity(5);
    let mut chunk = Chunk::new();
    chunk
        .type0_font(type0)
        .base_font(base)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    objects.push((type0, chunk));

    let upem = f32::from(faces.units_per_em(Face::Cjk));
    let em = |units: f32| units * 1000.0 / upem;
    let widths: Vec<f32> = ids
        .iter()
        .map(|&gid| em(f32::from(faces.advance(Face::Cjk, gid))))
        .collect();
    let mut chunk = Chunk::new();
    let mut font = chunk.cid_font(cid);
    font.subtype(CidFontType::Type0)
        .base_font(base)
        .system_info(SYSTEM_INFO)
        .font_descriptor(descriptor)
        .default_width(1000.0);
    font.widths().consecutive(1, widths);
    drop(font);
    objects.push((cid, chunk));

    let m = faces.metrics(Face::Cjk);
    let [x0, y0, x1, y1] = m.bbox.map(|v| em(f32::from(v)));
    let mut chunk = Chunk::new();
    chunk
        .font_descriptor(descriptor)
        .name(base)
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(x0, y0, x1, y1))
        .italic_angle(0.0)
        .ascent(em(f32::from(m.ascender)))
        .descent(em(f32::from(m.descender)))
        .cap_height(em(f32::from(m.cap_height)))
        .stem_v(80.0)
        .font_file3(file);
    objects.push((descriptor, chunk));

    let deflated = miniz_oxide::deflate::compress_to_vec_zlib(cff, 6);
    let mut chunk = Chunk::new();
    chunk
        .stream(file, &deflated)
        .filter(Filter::FlateDecode)
        .pair(Name(b"Subtype"), Name(b"CIDFontType0C"));
    objects.push((file, chunk));

    let mut to_unicode = UnicodeCmap::new(Name(b"Custom"), SYSTEM_INFO);
    for (rank, &c) in page.glyphs.values().enumerate() {
        to_unicode.pair(rank as u16 + 1, c);
    }
    let to_unicode = to_unicode.finish();
    let mut chunk = Chunk::new();
    chunk
        .cmap(cmap, &to_unicode)
        .name(Name(b"Custom"))
        .system_info(SYSTEM_INFO);
    objects.push((cmap, chunk));
    Ok(objects)
}

/// Six capitals from the glyph set (FNV-1a), as PDF's subset names want.
fn subset_tag(ids: &[u16]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for id in ids {
        for b in id.to_be_bytes() {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|i| char::from(b'A' + ((hash >> (i * 8)) % 26) as u8))
        .collect()
}
