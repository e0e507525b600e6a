//! Every format decodes back, with real QR decoders, to exactly the URI that was signed: PNG (also
//! rotated, scaled and blurred), SVG and PDF rasterised, at the default and the smallest module size;
//! the PDF sheet's grid and the ZPL data field are checked too.
//!
//! The decoder is rxing, a port of ZXing (the library behind many phone scanner apps). Clean PNGs are
//! also read by rqrr, an independent decoder (a port of quirc), so two implementations agree; rqrr
//! is left out of the distorted images, where its sampling grid is known to be weaker than phones'.

#![allow(clippy::unwrap_used)]

use labels::layout::{Label, Layout, ModuleSize};
use labels::pdf::{PageSize, Sheet, SheetWriter};
use labels::{EcLevel, PngRenderer, ZplRenderer};
use signer::{BaseUrl, ManifestEntry, PartId, Serial, SignedCode, keys};
use testkit::world::{GTIN, LOT, part};

fn entries(n: usize) -> Vec<ManifestEntry> {
    let key = keys::generate();
    let base = BaseUrl::parse("https://verify.example.cn").unwrap();
    (0..n)
        .map(|_| {
            let part = PartId {
                serial: Serial::random(&mut rand::rngs::OsRng),
                ..part(GTIN, LOT, "0")
            };
            ManifestEntry::new(
                SignedCode::sign(part, &key),
                &base,
                Some("Front brake pad".into()),
            )
        })
        .collect()
}

/// The QR code rxing reads in a greyscale image, if any.
fn decode(width: usize, height: usize, pixels: &[u8]) -> Option<String> {
    rxing::helpers::detect_in_luma(
        pixels.to_vec(),
        width as u32,
        height as u32,
        Some(rxing::BarcodeFormat::QR_CODE),
    )
    .ok()
    .map(|r| r.getText().to_owned())
}

/// Every QR code rqrr finds and decodes in a greyscale image (a stray candidate grid that does not
/// decode, such as a finder-like pattern in text, is skipped; a missing code fails the caller).
fn decode_rqrr(width: usize, height: usize, pixels: &[u8]) -> Vec<String> {
    let mut img =
        rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| pixels[y * width + x]);
    img.detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, text)| text))
        .collect()
}

fn decode_one(img: &image::GrayImage) -> String {
    decode(img.width() as usize, img.height() as usize, img.as_raw()).expect("no QR code read")
}

/// Both decoders, which must agree.
fn decode_both(img: &image::GrayImage) -> String {
    let text = decode_one(img);
    let other = decode_rqrr(img.width() as usize, img.height() as usize, img.as_raw());
    assert_eq!(other, vec![text.clone()], "rqrr disagrees with rxing");
    text
}

fn png_image(bytes: &[u8]) -> image::GrayImage {
    image::load_from_memory_with_format(bytes, image::ImageFormat::Png)
        .unwrap()
        .to_luma8()
}

#[test]
fn png_decodes_to_the_signed_uri_and_records_its_dpi() {
    let entry = &entries(1)[0];
    for dpi in [203, 300, 600] {
        let png = PngRenderer::new(Layout::default(), dpi)
            .unwrap()
            .render_entry(entry)
            .unwrap();
        assert_eq!(decode_both(&png_image(&png)), entry.uri, "{dpi} dpi");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::One);
        let dims = info.pixel_dims.unwrap();
        assert_eq!(dims.unit, png::Unit::Meter);
        assert_eq!((dims.xppu as f64 * 0.0254).round() as u32, dpi);
        // 63.5 mm wide at `dpi`.
        assert_eq!(info.width, (63.5 * dpi as f32 / 25.4).round() as u32);
    }
}

#[test]
fn png_decodes_at_every_level_and_the_smallest_module_size() {
    let entry = &entries(1)[0];
    for ec in [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H] {
        for module in [
            ModuleSize::Dots(ModuleSize::MIN_DOTS),
            ModuleSize::Mm(ModuleSize::MIN_MM),
        ] {
            let layout = Layout {
                module,
                ec,
                ..Layout::default()
            };
            let png = PngRenderer::new(layout, 203)
                .unwrap()
                .render_entry(entry)
                .unwrap();
            assert_eq!(decode_both(&png_image(&png)), entry.uri, "{ec} {module:?}");
        }
    }
}

/// Rotates about the centre by `degrees`, bilinear, white outside.
fn rotate(img: &image::GrayImage, degrees: f32) -> image::GrayImage {
    let (w, h) = img.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let sample = |x: f32, y: f32| -> f32 {
        if x < 0.0 || y < 0.0 || x >= (w - 1) as f32 || y >= (h - 1) as f32 {
            return 255.0;
        }
        let (x0, y0) = (x.floor(), y.floor());
        let (fx, fy) = (x - x0, y - y0);
        let p = |dx: u32, dy: u32| img.get_pixel(x0 as u32 + dx, y0 as u32 + dy)[0] as f32;
        (p(0, 0) * (1.0 - fx) + p(1, 0) * fx) * (1.0 - fy)
            + (p(0, 1) * (1.0 - fx) + p(1, 1) * fx) * fy
    };
    image::GrayImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        image::Luma([sample(cx + c * dx + s * dy, cy - s * dx + c * dy) as u8])
    })
}

#[test]
fn png_survives_rotation_scaling_and_blur() {
    let entry = &entries(1)[0];
    let png = PngRenderer::new(Layout::default(), 300)
        .unwrap()
        .render_entry(entry)
        .unwrap();
    let img = png_image(&png);
    // A label photographed askew: rotated, with white around it so the quiet zone survives.
    let mut canvas =
        image::GrayImage::from_pixel(img.width() + 200, img.height() + 400, image::Luma([255]));
    image::imageops::overlay(&mut canvas, &img, 100, 200);
    for degrees in [90.0, 5.0, 17.0, -33.0, 45.0] {
        assert_eq!(
            decode_one(&rotate(&canvas, degrees)),
            entry.uri,
            "rotated {degrees}"
        );
    }
    let (w, h) = img.dimensions();
    for scale in [0.5, 0.6, 1.7] {
        let resized = image::imageops::resize(
            &img,
            (w as f32 * scale) as u32,
            (h as f32 * scale) as u32,
            image::imageops::FilterType::Triangle,
        );
        assert_eq!(decode_one(&resized), entry.uri, "scaled {scale}");
    }
    for sigma in [1.0, 2.0] {
        let blurred = image::imageops::blur(&img, sigma);
        assert_eq!(decode_one(&blurred), entry.uri, "blurred {sigma}");
    }
}

#[test]
fn svg_is_one_path_and_text_and_decodes_when_rasterised() {
    let entry = &entries(1)[0];
    for module in [ModuleSize::DEFAULT, ModuleSize::Mm(ModuleSize::MIN_MM)] {
        let layout = Layout {
            module,
            ..Layout::default()
        };
        let svg = labels::svg::render(&layout, &Label::from(entry)).unwrap();
        // The symbol is one path; the others are glyph outlines of the Chinese check line.
        assert_eq!(svg.matches("shape-rendering=\"crispEdges\"").count(), 1);
        assert_eq!(
            svg.matches("<path").count(),
            1 + svg.matches("<path id=\"g").count()
        );
        assert_eq!(svg.matches("<rect").count(), 1, "only the background");
        assert!(svg.contains(">(21) "), "{svg}");
        assert!(svg.contains(">Front brake pad</text>"));
        let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).unwrap();
        // 12 px per mm (about 300 dpi).
        let scale = 12.0 / (96.0 / 25.4);
        let size = tree.size();
        let (w, h) = (
            (size.width() * scale) as u32,
            (size.height() * scale) as u32,
        );
        let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h).unwrap();
        resvg::render(
            &tree,
            resvg::tiny_skia::Transform::from_scale(scale, scale),
            &mut pixmap.as_mut(),
        );
        let grey: Vec<u8> = pixmap.data().chunks(4).map(|p| p[0]).collect();
        assert_eq!(
            decode(w as usize, h as usize, &grey).as_ref(),
            Some(&entry.uri),
            "{module:?}"
        );
    }
}

#[test]
fn svg_keeps_chinese_names_as_text_and_escapes_markup() {
    let mut entry = entries(1).remove(0);
    entry.name = Some("前制动片 <A&B>".into());
    let svg = labels::svg::render(&Layout::default(), &Label::from(&entry)).unwrap();
    assert!(svg.contains(">前制动片 &lt;A&amp;B&gt;</text>"), "{svg}");
}

fn pdf_bytes(sheet: Sheet, entries: &[ManifestEntry]) -> Vec<u8> {
    let mut writer = SheetWriter::new(Vec::new(), sheet).unwrap();
    let labels: Vec<Label> = entries.iter().map(Label::from).collect();
    for page in labels.chunks(sheet.labels_per_page()) {
        writer.write_page(&sheet.page(page).unwrap()).unwrap();
    }
    writer.finish().unwrap()
}

fn render_pdf_pages(pdf: Vec<u8>, px_per_mm: f32) -> Vec<image::GrayImage> {
    let pdf = hayro::Pdf::new(std::sync::Arc::new(pdf)).unwrap();
    let settings = hayro::InterpreterSettings::default();
    let scale = px_per_mm * 25.4 / 72.0;
    pdf.pages()
        .iter()
        .map(|page| {
            let pixmap = hayro::render(
                page,
                &settings,
                &hayro::RenderSettings {
                    x_scale: scale,
                    y_scale: scale,
                    ..Default::default()
                },
            );
            let (w, h) = (pixmap.width() as u32, pixmap.height() as u32);
            let grey = pixmap.data_as_u8_slice().chunks(4).map(|p| p[0]).collect();
            image::GrayImage::from_raw(w, h, grey).unwrap()
        })
        .collect()
}

#[test]
fn pdf_sheets_decode_label_by_label_across_pages() {
    let entries = entries(30);
    let sheet = Sheet::default();
    let pdf = pdf_bytes(sheet, &entries);
    let pages = render_pdf_pages(pdf, 10.0);
    assert_eq!(pages.len(), 2, "30 labels on 24-label sheets");
    assert_eq!(read_cells(&sheet, &pages, 10.0), uris(&entries));
}

fn uris(entries: &[ManifestEntry]) -> Vec<String> {
    entries.iter().map(|e| e.uri.clone()).collect()
}

/// Reads the labels of rendered sheets cell by cell, in order, stopping at the first empty cell.
fn read_cells(sheet: &Sheet, pages: &[image::GrayImage], px_per_mm: f32) -> Vec<String> {
    let mut found = Vec::new();
    for page in pages {
        for i in 0..sheet.labels_per_page() {
            let (x, y) = sheet.cell_origin_mm(i);
            let px = |mm: f32| (mm * px_per_mm).round() as u32;
            let cell = image::imageops::crop_imm(
                page,
                px(x),
                px(y),
                px(sheet.label.width_mm),
                px(sheet.label.height_mm),
            )
            .to_image();
            match decode_one_opt(&cell) {
                Some(text) => found.push(text),
                None => return found,
            }
        }
    }
    found
}

fn decode_one_opt(img: &image::GrayImage) -> Option<String> {
    decode(img.width() as usize, img.height() as usize, img.as_raw())
}

#[test]
fn pdf_decodes_at_the_smallest_module_size_on_letter() {
    let entries = entries(3);
    let sheet = Sheet {
        page: PageSize::Letter,
        label: Layout {
            module: ModuleSize::Mm(ModuleSize::MIN_MM),
            ..Layout::default()
        },
        ..Sheet::default()
    }
    .validate()
    .unwrap();
    let pages = render_pdf_pages(pdf_bytes(sheet, &entries), 12.0);
    assert_eq!(read_cells(&sheet, &pages, 12.0), uris(&entries));
}

/// The pages' content streams, decompressed: the streams (zlib, between "stream\n" and
/// "\nendstream") that draw (`cm`), not the embedded font's or its maps.
fn page_contents(pdf: &[u8]) -> Vec<String> {
    let mut contents = Vec::new();
    let mut rest = pdf;
    while let Some(start) = rest.windows(7).position(|w| w == b"stream\n") {
        let body = &rest[start + 7..];
        let end = body.windows(10).position(|w| w == b"\nendstream").unwrap();
        if let Ok(raw) = miniz_oxide::inflate::decompress_to_vec_zlib(&body[..end]) {
            if let Ok(text) = String::from_utf8(raw) {
                if text.contains(" cm") {
                    contents.push(text);
                }
            }
        }
        rest = &body[end + 10..];
    }
    contents
}

/// The numbers before each `cm` operator in a decompressed content stream.
fn transforms(content: &str) -> Vec<Vec<f32>> {
    let tokens: Vec<&str> = content.split_whitespace().collect();
    tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| **t == "cm")
        .map(|(i, _)| {
            tokens[i - 6..i]
                .iter()
                .map(|n| n.parse().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn a_3_by_8_sheet_puts_every_label_in_its_cell() {
    let entries = entries(24);
    let sheet = Sheet::default();
    let pdf = pdf_bytes(sheet, &entries);
    let contents = page_contents(&pdf);
    assert_eq!(contents.len(), 1);
    let content = &contents[0];
    let k = 72.0 / 25.4;
    // Each label's own transform has a negative d (y downwards in label space, mm).
    let cells: Vec<(f32, f32)> = transforms(content)
        .into_iter()
        .filter(|m| (m[0] - k).abs() < 1e-3 && (m[3] + k).abs() < 1e-3)
        .map(|m| (m[4] / k, 297.0 - m[5] / k))
        .collect();
    assert_eq!(cells.len(), 24);
    // Centred on A4: left (210 - 3 x 63.5 - 2 x 2.5) / 2 = 7.25, top (297 - 8 x 33.9) / 2 = 12.9.
    for (i, (x, y)) in cells.iter().enumerate() {
        let (col, row) = ((i % 3) as f32, (i / 3) as f32);
        assert!((x - (7.25 + col * 66.0)).abs() < 0.01, "label {i}: x {x}");
        assert!((y - (12.9 + row * 33.9)).abs() < 0.01, "label {i}: y {y}");
    }
    // Text is real text in the built-in faces.
    assert!(content.contains("((21) "), "GS1 line shown as text");
    let text = String::from_utf8_lossy(&pdf);
    assert!(text.contains("/BaseFont /Courier-Bold"));
    assert!(text.contains("/Count 1"));
}

#[test]
fn a_grid_that_does_not_fit_the_page_is_refused() {
    let sheet = Sheet {
        columns: 4,
        ..Sheet::default()
    };
    assert!(sheet.validate().is_err());
    let sheet = Sheet {
        margin_top_mm: Some(40.0),
        ..Sheet::default()
    };
    assert!(sheet.validate().is_err());
}

#[test]
fn zpl_has_one_label_per_code_and_the_exact_uri_in_the_bq_field() {
    let entries = entries(3);
    for dpi in [203, 300] {
        let zpl = ZplRenderer::new(Layout::default(), dpi).unwrap();
        let out: String = entries
            .iter()
            .map(|e| zpl.render(&Label::from(e)).unwrap())
            .collect();
        assert_eq!(out.matches("^XA").count(), 3);
        assert_eq!(out.matches("^XZ").count(), 3);
        let mag = if dpi == 203 { 4 } else { 6 };
        for e in &entries {
            let field = format!("^BQN,2,{mag}^FDMA,{}^FS", e.uri);
            assert!(out.contains(&field), "{field} in {out}");
            assert!(out.contains(&format!("^FD(21) {}^FS", e.code.part.serial)));
        }
        assert!(out.contains("^FD(01) 06901234567892^FS"));
        let width = (63.5 * dpi as f32 / 25.4).round() as u32;
        assert!(out.contains(&format!("^PW{width}^")));
    }
    // 600 dpi heads: ^BQ stops at 10 dots per module, and the layout follows it.
    let zpl600 = ZplRenderer::new(Layout::default(), 600).unwrap();
    let out = zpl600.render(&Label::from(&entries[0])).unwrap();
    assert!(out.contains(&format!("^BQN,2,10^FDMA,{}^FS", entries[0].uri)));
    assert!(ZplRenderer::new(Layout::default(), 250).is_err());
}

#[test]
fn zpl_escapes_control_characters_in_text() {
    let mut entry = entries(1).remove(0);
    entry.name = Some("Pad ^XZ~JA".into());
    let zpl = ZplRenderer::new(Layout::default(), 203).unwrap();
    let out = zpl.render(&Label::from(&entry)).unwrap();
    assert!(out.contains("^FDPad \\5EXZ\\7EJA^FS"), "{out}");
    assert_eq!(out.matches("^XZ").count(), 1);
}

#[test]
fn every_format_says_where_to_check_by_hand_in_chinese_and_still_decodes() {
    use labels::layout::{CHECK_WORDS_ZH, LineKind};
    let entry = &entries(1)[0];
    let label = Label::from(entry);
    let layout = Layout::default();
    // Every format draws Chinese now: the words are "扫码验真" everywhere.
    let svg = labels::svg::render(&layout, &label).unwrap();
    assert!(svg.contains(&format!(">{CHECK_WORDS_ZH}</text>")), "{svg}");
    assert!(svg.contains(">verify.example.cn</text>"), "{svg}");
    let zpl = ZplRenderer::new(layout, 203)
        .unwrap()
        .render(&label)
        .unwrap();
    assert_eq!(zpl.matches("^GFA,").count(), 1, "{zpl}");
    assert!(zpl.contains("^FDverify.example.cn^FS"), "{zpl}");
    let pdf = pdf_bytes(Sheet::default(), std::slice::from_ref(entry));
    let content = &page_contents(&pdf)[0];
    assert!(content.contains("/F3 "), "{content}");
    assert!(content.contains("(verify.example.cn)"));
    if let Some(text) = pdftotext(&pdf) {
        assert!(
            text.contains(&format!("{CHECK_WORDS_ZH}\nverify.example.cn")),
            "{text}"
        );
    }
    // PNG: the lines are inked where the layout puts them, and the symbol still decodes.
    let dpi = 300;
    let renderer = PngRenderer::new(layout, dpi).unwrap();
    let png = png_image(&renderer.render(&label).unwrap());
    assert_eq!(decode_both(&png), entry.uri);
    let qr = labels::QrMatrix::encode(label.uri, layout.ec).unwrap();
    let placed = layout
        .place(&label, qr.size(), layout.module.raster_mm(dpi), |n| {
            renderer.draws_name(n)
        })
        .unwrap();
    let check: Vec<_> = placed
        .lines
        .iter()
        .filter(|l| l.kind == LineKind::Check)
        .collect();
    assert_eq!(check[0].text, CHECK_WORDS_ZH);
    assert_eq!(check[1].text, "verify.example.cn");
    let px = |mm: f32| (mm * dpi as f32 / 25.4).round() as u32;
    for line in check {
        let (x0, x1) = (px(line.x_mm), px(line.x_mm + 5.0));
        let (y0, y1) = (
            px(line.baseline_mm - 0.7 * placed.font_mm),
            px(line.baseline_mm),
        );
        let inked = (x0..x1)
            .flat_map(|x| (y0..y1).map(move |y| (x, y)))
            .filter(|&(x, y)| png.get_pixel(x, y).0[0] < 128)
            .count();
        assert!(inked > 20, "{:?}: {inked} dark pixels", line.text);
    }
}

const CHINESE_NAME: &str = "前刹车片 Front brake pad";

/// A label 99.1 x 38.1 mm (wide enough for the whole name) of one entry named [`CHINESE_NAME`].
fn chinese_entry() -> (ManifestEntry, Layout) {
    let mut entry = entries(1).remove(0);
    entry.name = Some(CHINESE_NAME.into());
    let layout = Layout {
        width_mm: 99.1,
        height_mm: 38.1,
        ..Layout::default()
    };
    (entry, layout)
}

/// The name line as the layout places it, at `dpi` with the given module size in mm.
fn name_line(
    layout: &Layout,
    label: &Label<'_>,
    module_mm: f32,
) -> (labels::layout::TextLine, f32) {
    let size = labels::QrMatrix::encode(label.uri, layout.ec)
        .unwrap()
        .size();
    let placed = layout.place(label, size, module_mm, |_| true).unwrap();
    let line = placed.lines[0].clone();
    assert_eq!(line.text, CHINESE_NAME, "the whole name fits");
    (line, placed.font_mm)
}

#[test]
fn png_draws_a_chinese_name_where_the_layout_puts_it() {
    let (entry, layout) = chinese_entry();
    let label = Label::from(&entry);
    let dpi = 300;
    let renderer = PngRenderer::new(layout, dpi).unwrap();
    assert!(renderer.draws_name(CHINESE_NAME));
    let png = png_image(&renderer.render(&label).unwrap());
    assert_eq!(decode_both(&png), entry.uri);
    // A reference rasterisation of the same glyphs at the same place, alone on a white image:
    // the label has exactly its dark pixels in the name's band.
    let (line, font_mm) = name_line(&layout, &label, layout.module.raster_mm(dpi));
    let scale = dpi as f32 / 25.4;
    let glyphs = labels::font::Glyphs::new().unwrap();
    let mut reference = labels::raster::GreyImage::white(png.width(), png.height());
    let baseline = (line.baseline_mm * scale).round() as i32;
    reference.draw_text(
        &glyphs,
        &line.text,
        line.x_mm * scale,
        baseline,
        font_mm * scale,
    );
    let band = (baseline - (font_mm * scale) as i32) as u32..baseline as u32 + 4;
    let x0 = (line.x_mm * scale) as u32;
    let mut dark = 0;
    for y in band {
        for x in x0..png.width() {
            let want = reference.is_dark(x, y);
            assert_eq!(png.get_pixel(x, y).0[0] < 128, want, "pixel {x},{y}");
            dark += usize::from(want);
        }
    }
    // The four hanzi alone are hundreds of dots at 3 mm and 300 dpi.
    let hanzi_w = (4.0 * font_mm * scale) as u32;
    let hanzi = (x0..x0 + hanzi_w)
        .flat_map(|x| (0..png.height()).map(move |y| (x, y)))
        .filter(|&(x, y)| reference.is_dark(x, y))
        .count();
    assert!(hanzi > 400 && dark > hanzi, "{hanzi} of {dark} dark pixels");
}

#[test]
fn svg_carries_a_chinese_name_as_text_and_draws_it_without_fonts() {
    let (entry, layout) = chinese_entry();
    let label = Label::from(&entry);
    let svg = labels::svg::render(&layout, &label).unwrap();
    assert!(svg.contains(&format!(">{CHINESE_NAME}</text>")), "{svg}");
    assert!(svg.contains("font-family=\"DejaVu Sans Mono, Noto Sans CJK SC"));
    // Each glyph's outline once, used where the layout puts it.
    assert_eq!(
        svg.matches("<path id=\"g524d\"").count(),
        1,
        "前 defined once"
    );
    assert!(svg.contains("href=\"#g524d\""));
    // resvg as built here has no text support at all (no `text` feature, no font database), so
    // only the outlines can draw the name: ink in its first four cells, where 前刹车片 goes.
    let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).unwrap();
    let px_per_mm = 12.0;
    let scale = px_per_mm / (96.0 / 25.4);
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale) as u32,
        (size.height() * scale) as u32,
    );
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let grey: Vec<u8> = pixmap.data().chunks(4).map(|p| p[0]).collect();
    assert_eq!(
        decode(w as usize, h as usize, &grey).as_ref(),
        Some(&entry.uri)
    );
    let (line, font_mm) = name_line(&layout, &label, layout.module.vector_mm(300));
    let px = |mm: f32| (mm * px_per_mm) as u32;
    let inked = (px(line.x_mm)..px(line.x_mm + 4.0 * font_mm))
        .flat_map(|x| (px(line.baseline_mm - font_mm)..px(line.baseline_mm)).map(move |y| (x, y)))
        .filter(|&(x, y)| grey[(y * w + x) as usize] < 128)
        .count();
    assert!(inked > 300, "{inked} dark pixels where 前刹车片 goes");
}

/// The dots of a `^GFA` field: its width in bytes per row and one bool per dot.
fn read_graphic_field(field: &str) -> (usize, Vec<Vec<bool>>) {
    let body = field.strip_prefix("^GFA,").unwrap();
    let mut parts = body.splitn(4, ',');
    let total: usize = parts.next().unwrap().parse().unwrap();
    let again: usize = parts.next().unwrap().parse().unwrap();
    let row_bytes: usize = parts.next().unwrap().parse().unwrap();
    let hex = parts.next().unwrap().strip_suffix("^FS").unwrap();
    assert_eq!((total, again), (hex.len() / 2, hex.len() / 2));
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let rows = bytes
        .chunks(row_bytes)
        .map(|row| {
            (0..row_bytes * 8)
                .map(|x| row[x / 8] & (0x80 >> (x % 8)) != 0)
                .collect()
        })
        .collect();
    (row_bytes, rows)
}

#[test]
fn zpl_sends_a_chinese_name_as_a_bitmap_that_decodes_to_its_glyphs() {
    let (entry, layout) = chinese_entry();
    let label = Label::from(&entry);
    let dpi = 203;
    let renderer = ZplRenderer::new(layout, dpi).unwrap();
    let zpl = renderer.render(&label).unwrap();
    // The name and the check line are bitmaps, the GS1 lines and the host text in font 0.
    assert_eq!(zpl.matches("^GFA,").count(), 2, "{zpl}");
    assert!(!zpl.contains("前"), "no Chinese sent as text");
    assert!(zpl.contains(&format!("^FD(21) {}^FS", entry.code.part.serial)));
    // The name's field, after its ^FO: where the layout puts the line, and exactly the glyphs.
    let mag = layout.module.dots(dpi);
    let (line, font_mm) = name_line(&layout, &label, mag as f32 * 25.4 / dpi as f32);
    let dots = |mm: f32| (mm * dpi as f32 / 25.4).round() as u32;
    let font = dots(font_mm);
    let top = dots(line.baseline_mm) - labels::zpl::bitmap_ascent(font);
    let origin = format!("^FO{},{top}^GFA,", dots(line.x_mm));
    let at = zpl
        .find(&origin)
        .unwrap_or_else(|| panic!("{origin} in {zpl}"));
    let field = &zpl[at + origin.len() - 5..];
    let field = &field[..field.find("^FS").unwrap() + 3];
    let (row_bytes, rows) = read_graphic_field(field);
    let glyphs = labels::font::Glyphs::new().unwrap();
    let mut reference = labels::raster::GreyImage::white(row_bytes as u32 * 8, rows.len() as u32);
    reference.draw_text(
        &glyphs,
        CHINESE_NAME,
        0.0,
        labels::zpl::bitmap_ascent(font) as i32,
        font as f32,
    );
    let mut dark = 0;
    for (y, row) in rows.iter().enumerate() {
        for (x, &bit) in row.iter().enumerate() {
            assert_eq!(bit, reference.is_dark(x as u32, y as u32), "dot {x},{y}");
            dark += usize::from(bit);
        }
    }
    assert!(dark > 300, "{dark} dots");
    assert_eq!(field, &*renderer.bitmap_field(CHINESE_NAME, font));
}

#[test]
fn a_name_with_characters_no_face_has_is_left_off_everywhere() {
    let (mut entry, layout) = chinese_entry();
    entry.name = Some("前刹车片 𠮷".into());
    let label = Label::from(&entry);
    let svg = labels::svg::render(&layout, &label).unwrap();
    assert!(!svg.contains("𠮷") && !svg.contains("前刹车片"));
    let zpl = ZplRenderer::new(layout, 203)
        .unwrap()
        .render(&label)
        .unwrap();
    assert_eq!(zpl.matches("^GFA,").count(), 1, "only the check line");
    assert!(!Sheet::draws_name("前刹车片 𠮷"));
    assert!(
        !PngRenderer::new(layout, 300)
            .unwrap()
            .draws_name("前刹车片 𠮷")
    );
}

/// `pdftotext` (Debian's poppler-utils) on `pdf`: the text a viewer's search and copy see. Skips
/// (`None`) where it is not installed, unless CI is set (`.ci/run` installs it).
fn pdftotext(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("labels.pdf");
    std::fs::write(&path, pdf).unwrap();
    match std::process::Command::new("pdftotext")
        .arg(&path)
        .arg("-")
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8(out.stdout).unwrap())
        }
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("pdftotext not run ({e}); install poppler-utils");
            None
        }
        Err(e) => panic!("pdftotext: {e} (install poppler-utils)"),
    }
}

#[test]
fn pdf_keeps_a_chinese_name_as_text_a_search_finds() {
    let mut entries = entries(20);
    for e in &mut entries {
        e.name = Some("前刹车片 Front brake pad".into());
    }
    // A4, 2 x 7 labels of 99.1 x 38.1 mm (Avery L7163): room for the whole name.
    let sheet = Sheet {
        label: Layout {
            width_mm: 99.1,
            height_mm: 38.1,
            ..Layout::default()
        },
        columns: 2,
        rows: 7,
        ..Sheet::default()
    };
    let pdf = pdf_bytes(sheet, &entries);
    // One embedded subset for both pages (they use the same glyphs), and a small one.
    let text = String::from_utf8_lossy(&pdf);
    assert_eq!(
        text.matches("/FontFile3").count(),
        1,
        "one font for both pages"
    );
    assert_eq!(text.matches("/CIDFontType0C").count(), 1);
    assert!(text.contains("+NotoSansCJKsc-Regular"));
    let mut latin = entries.clone();
    for e in &mut latin {
        e.name = Some("Front brake pad".into());
    }
    let latin = pdf_bytes(sheet, &latin);
    assert!(
        pdf.len() < latin.len() + 20_000,
        "{} vs {}",
        pdf.len(),
        latin.len()
    );
    if let Some(found) = pdftotext(&pdf) {
        assert_eq!(
            found.matches("前刹车片 Front brake pad").count(),
            20,
            "{found}"
        );
        assert_eq!(
            found.matches("扫码验真 verify.example.cn").count(),
            20,
            "{found}"
        );
    }
    // Every label still decodes, the Chinese drawn beside the symbol.
    let pages = render_pdf_pages(pdf, 10.0);
    assert_eq!(read_cells(&sheet, &pages, 10.0), uris(&entries));
}
