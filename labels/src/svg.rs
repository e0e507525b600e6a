//! SVG: one label as a vector drawing in millimetres. The symbol is a single path (one subpath per run
//! of dark modules, in module units under one transform) and the text real `<text>` a designer can
//! edit, naming the faces the other formats draw with.
//!
//! A line with characters beyond Latin-1 (a Chinese part name, "扫码验真") is also drawn as the
//! glyphs' outlines, from the compiled-in faces, so it looks the same where no CJK font is installed
//! (many printers' RIPs, cutters, containers, resvg); its `<text>` stays over the outlines, fully
//! transparent, so it is still selected, searched and copied as text. Outlines rather than an
//! embedded font: an SVG `@font-face` with a data URI is ignored by resvg and many editors, and a
//! label uses a few dozen glyphs, each written once per file (`<defs>`, then `<use>`). Latin-1 lines
//! stay text alone, as every viewer has a monospace face for them.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, OnceLock, RwLock};

use crate::error::LabelError;
use crate::font::{Faces, faces};
use crate::layout::{Label, Layout, LineKind, Medium};
use crate::pdf_font::winansi;
use crate::qr::QrMatrix;

/// Resolution assumed for a module size given in dots (`ModuleSize::Dots`).
pub const DOTS_DPI: u32 = 300;

/// The faces named in the text's `font-family`: the ones the outlines come from, then common
/// monospace fallbacks.
pub(crate) const FONT_FAMILY: &str =
    "DejaVu Sans Mono, Noto Sans CJK SC, Menlo, Consolas, monospace";

/// One label as an SVG document.
pub fn render(layout: &Layout, label: &Label<'_>) -> Result<String, LabelError> {
    let qr = QrMatrix::encode(label.uri, layout.ec)?;
    render_symbol(layout, label, &qr)
}

/// Whether a part name prints: every character in one of the compiled-in faces.
pub fn draws_name(name: &str) -> bool {
    faces().is_ok_and(|f| f.covers(name))
}

/// One label as SVG, for a symbol already encoded.
pub fn render_symbol(
    layout: &Layout,
    label: &Label<'_>,
    qr: &QrMatrix,
) -> Result<String, LabelError> {
    let faces = faces()?;
    let module = layout.module.vector_mm(DOTS_DPI);
    let p = layout.arrange(label, qr.size(), Medium::Vector, |n| faces.covers(n))?;
    let (w, h) = (p.width_mm, p.height_mm);
    let mut s = String::with_capacity(8 * 1024);
    // Writing to a String cannot fail; the results are ignored.
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}mm" height="{h}mm" viewBox="0 0 {w} {h}">"#
    );
    let _ = write!(s, r#"<rect width="{w}" height="{h}" fill="white"/>"#);
    let (sx, sy) = p.symbol_origin_mm();
    let _ = write!(
        s,
        r#"<path transform="translate({sx} {sy}) scale({module})" shape-rendering="crispEdges" fill="black" d=""#
    );
    for (x, y, len) in qr.dark_runs() {
        let _ = write!(s, "M{x} {y}h{len}v1h-{len}z");
    }
    s.push_str(r#""/>"#);
    // The outlines of every glyph the label draws as paths, once each.
    let outlined = |text: &str| text.chars().any(|c| winansi(c).is_none());
    let mut defined: Vec<char> = Vec::new();
    for line in p.lines.iter().filter(|l| outlined(&l.text)) {
        for c in line.text.chars() {
            if c != ' ' && !defined.contains(&c) {
                defined.push(c);
            }
        }
    }
    if !defined.is_empty() {
        s.push_str("<defs>");
        for &c in &defined {
            let _ = write!(
                s,
                r#"<path id="{}" d="{}"/>"#,
                glyph_id(c),
                glyph_path(faces, c)
            );
        }
        s.push_str("</defs>");
    }
    for line in &p.lines {
        let weight = if line.kind == LineKind::Gs1 {
            "bold"
        } else {
            "normal"
        };
        let shown = !outlined(&line.text);
        if !shown {
            // Glyph outlines are in thousandths of an em, y down.
            let _ = write!(
                s,
                r#"<g transform="translate({:.3} {:.3}) scale({:.6})">"#,
                line.x_mm,
                line.baseline_mm,
                p.font_mm / 1000.0
            );
            let mut pen = 0.0;
            for c in line.text.chars() {
                if c != ' ' {
                    let _ = write!(s, r##"<use href="#{}" x="{pen:.0}"/>"##, glyph_id(c));
                }
                pen += advance(faces, c);
            }
            s.push_str("</g>");
        }
        let _ = write!(
            s,
            r#"<text x="{:.3}" y="{:.3}" font-family="{FONT_FAMILY}" font-size="{:.3}" font-weight="{weight}"{} xml:space="preserve">"#,
            line.x_mm,
            line.baseline_mm,
            p.font_mm,
            if shown { "" } else { r#" fill-opacity="0""# }
        );
        escape_into(&line.text, &mut s);
        s.push_str("</text>");
    }
    s.push_str("</svg>\n");
    Ok(s)
}

/// The id of a glyph's outline in the document: `g` and the code point in hex.
fn glyph_id(c: char) -> String {
    format!("g{:x}", u32::from(c))
}

/// How far `c` moves the pen, in thousandths of an em.
fn advance(faces: &Faces, c: char) -> f32 {
    let Some(face) = faces.face_for(c) else {
        return 0.0;
    };
    let gid = faces.glyph_id(face, c).unwrap_or(0);
    f32::from(faces.advance(face, gid)) * 1000.0 / f32::from(faces.units_per_em(face))
}

/// The outline of `c` as SVG path data in thousandths of an em, y down, computed once per process
/// (a batch draws the same few dozen glyphs on every label).
fn glyph_path(faces: &Faces, c: char) -> Arc<str> {
    static CACHE: OnceLock<RwLock<HashMap<char, Arc<str>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(path) = cache.read().ok().and_then(|m| m.get(&c).cloned()) {
        return path;
    }
    let mut builder = PathData {
        d: String::new(),
        scale: faces
            .face_for(c)
            .map_or(1.0, |f| 1000.0 / f32::from(faces.units_per_em(f))),
    };
    if let Some(face) = faces.face_for(c) {
        faces.outline(face, c, &mut builder);
    }
    let path: Arc<str> = builder.d.into();
    if let Ok(mut m) = cache.write() {
        m.insert(c, path.clone());
    }
    path
}

/// Writes an outline as path data, scaled and flipped to y down, in whole units.
struct PathData {
    d: String,
    scale: f32,
}

impl PathData {
    fn point(&mut self, x: f32, y: f32) {
        let _ = write!(self.d, "{:.0} {:.0}", x * self.scale, -y * self.scale);
    }
}

impl ttf_parser::OutlineBuilder for PathData {
    fn move_to(&mut self, x: f32, y: f32) {
        self.d.push('M');
        self.point(x, y);
    }

    fn line_to(&mut self, x: f32, y: f32) {
        self.d.push('L');
        self.point(x, y);
    }

    fn quad_to(&mut self, x1: f32, y1: f32, x: f32, y: f32) {
        self.d.push('Q');
        self.point(x1, y1);
        self.d.push(' ');
        self.point(x, y);
    }

    fn curve_to(&mut self, x1: f32, y1: f32, x2: f32, y2: f32, x: f32, y: f32) {
        self.d.push('C');
        self.point(x1, y1);
        self.d.push(' ');
        self.point(x2, y2);
        self.d.push(' ');
        self.point(x, y);
    }

    fn close(&mut self) {
        self.d.push('Z');
    }
}

pub(crate) fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}
