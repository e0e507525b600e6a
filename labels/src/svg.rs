//! SVG: one label as a vector drawing in millimetres. The symbol is a single path (one subpath per run
//! of dark modules, in module units under one transform), the text real `<text>` a designer can edit;
//! any part name prints, Chinese included, in whatever monospace face the viewer has.

use std::fmt::Write;

use crate::error::LabelError;
use crate::layout::{Label, Layout, LineKind};
use crate::qr::QrMatrix;

/// Resolution assumed for a module size given in dots (`ModuleSize::Dots`).
pub const DOTS_DPI: u32 = 300;

/// One label as an SVG document.
pub fn render(layout: &Layout, label: &Label<'_>) -> Result<String, LabelError> {
    let qr = QrMatrix::encode(label.uri, layout.ec)?;
    render_symbol(layout, label, &qr)
}

/// One label as SVG, for a symbol already encoded.
pub fn render_symbol(
    layout: &Layout,
    label: &Label<'_>,
    qr: &QrMatrix,
) -> Result<String, LabelError> {
    let module = layout.module.vector_mm(DOTS_DPI);
    let p = layout.place(label, qr.size(), module, |_| true)?;
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
    for line in &p.lines {
        let weight = if line.kind == LineKind::Gs1 {
            "bold"
        } else {
            "normal"
        };
        let _ = write!(
            s,
            r#"<text x="{:.3}" y="{:.3}" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="{:.3}" font-weight="{weight}" xml:space="preserve">"#,
            line.x_mm, line.baseline_mm, p.font_mm
        );
        escape_into(&line.text, &mut s);
        s.push_str("</text>");
    }
    s.push_str("</svg>\n");
    Ok(s)
}

fn escape_into(text: &str, out: &mut String) {
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
