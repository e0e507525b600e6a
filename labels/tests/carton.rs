//! Carton labels read back by outside decoders: zbar (`zbarimg`, Debian's zbar-tools) reads both the
//! QR code's Digital Link and the GS1-128 barcode from the PNG, reporting the barcode as GS1 (FNC1
//! first, the `]C1` symbology identifier); rxing (a port of ZXing) reads the QR code at every
//! printer resolution. zbar is skipped, with one line saying so, where it is not installed, unless
//! CI is set (`.ci/run` installs it). rxing is built here without its one-dimensional readers, so
//! it does not read the bars.

#![allow(clippy::unwrap_used)]

use labels::{CartonLabel, CartonPngRenderer};
use signer::Sscc;

const SSCC: &str = "106141412345678908";
const URI: &str = "https://verify.example.cn/00/106141412345678908";

fn png(dpi: u32) -> Vec<u8> {
    let sscc = Sscc::parse(SSCC).unwrap();
    CartonPngRenderer::new(dpi)
        .unwrap()
        .render(&CartonLabel {
            uri: URI,
            sscc: &sscc,
        })
        .unwrap()
}

fn rxing_qr(png: &[u8]) -> String {
    let img = image::load_from_memory_with_format(png, image::ImageFormat::Png)
        .unwrap()
        .to_luma8();
    let (w, h) = img.dimensions();
    rxing::helpers::detect_in_luma(img.into_raw(), w, h, Some(rxing::BarcodeFormat::QR_CODE))
        .unwrap_or_else(|e| panic!("rxing reads no QR code: {e}"))
        .getText()
        .to_owned()
}

#[test]
fn rxing_reads_the_digital_link_at_printer_resolutions() {
    for dpi in [203, 300, 600] {
        assert_eq!(rxing_qr(&png(dpi)), URI, "{dpi} dpi");
    }
}

#[test]
fn zbar_reads_the_qr_code_and_the_gs1_128_barcode_at_printer_resolutions() {
    for dpi in [203, 300, 600] {
        zbar_reads_both(dpi);
    }
}

fn zbar_reads_both(dpi: u32) {
    zbar_reads(&png(dpi), &format!("{dpi} dpi"));
}

/// Asserts zbar reads the link and the SSCC as GS1-128 in a PNG (`what` names it in a failure).
fn zbar_reads(png: &[u8], what: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("carton.png");
    std::fs::write(&path, png).unwrap();
    let out = match std::process::Command::new("zbarimg")
        .args(["--nodbus", "--quiet", "--xml"])
        .arg(&path)
        .output()
    {
        Ok(out) => out,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("zbarimg not run ({e}); install zbar-tools");
            return;
        }
        Err(e) => panic!("zbarimg: {e} (install zbar-tools)"),
    };
    let xml = String::from_utf8(out.stdout).unwrap();
    assert!(
        xml.contains("type='QR-Code'") && xml.contains(&format!("<data><![CDATA[{URI}]]></data>")),
        "{what}: {xml}"
    );
    // `modifiers='GS1'`: zbar saw FNC1 in first position, so this is GS1-128, not plain Code 128
    // (the `]C1` symbology identifier).
    assert!(
        xml.contains("type='CODE-128'")
            && xml.contains("modifiers='GS1'><data><![CDATA[00106141412345678908]]></data>"),
        "{what}: {xml}"
    );
}

#[test]
fn zpl_has_the_printer_draw_the_qr_code_and_the_gs1_128_barcode() {
    let sscc = Sscc::parse(SSCC).unwrap();
    let label = CartonLabel {
        uri: URI,
        sscc: &sscc,
    };
    for dpi in [203, 300, 600] {
        let zpl = labels::carton::zpl(&label, dpi).unwrap();
        assert!(zpl.starts_with("^XA") && zpl.ends_with("^XZ\n"), "{zpl}");
        // The link byte for byte, error correction M; FNC1 (`>8`) first in code set C (`>;`).
        assert!(zpl.contains(&format!("^FDMA,{URI}^FS")), "{zpl}");
        assert!(zpl.contains(&format!("^FD>;>800{SSCC}^FS")), "{zpl}");
        assert!(zpl.contains("^FD(00) 1 0614141 234567890 8^FS"), "{zpl}");
        // 4 x 3 inches at the printer's resolution.
        let width = (101.6 * dpi as f32 / 25.4).round() as u32;
        assert!(zpl.contains(&format!("^PW{width}^LL")), "{dpi} dpi: {zpl}");
    }
    assert!(labels::carton::zpl(&label, 250).is_err());
}

#[test]
fn svg_rasterised_reads_back_as_the_digital_link_and_the_gs1_128_barcode() {
    let sscc = Sscc::parse(SSCC).unwrap();
    let svg = labels::carton::svg(&CartonLabel {
        uri: URI,
        sscc: &sscc,
    })
    .unwrap();
    assert!(svg.contains(">(00) 1 0614141 234567890 8</text>"), "{svg}");
    let tree = resvg::usvg::Tree::from_str(&svg, &resvg::usvg::Options::default()).unwrap();
    // 12 px per mm (about 300 dpi).
    let scale = 12.0 / (96.0 / 25.4);
    let size = tree.size();
    let (w, h) = (
        (size.width() * scale) as u32,
        (size.height() * scale) as u32,
    );
    assert_eq!((w, h), (1219, 914), "101.6 x 76.2 mm");
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h).unwrap();
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    let grey =
        image::GrayImage::from_raw(w, h, pixmap.data().chunks(4).map(|p| p[0]).collect()).unwrap();
    let mut png = Vec::new();
    grey.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    assert_eq!(rxing_qr(&png), URI);
    zbar_reads(&png, "SVG");
}

#[test]
fn pdf_pages_read_back_as_the_digital_link_and_the_gs1_128_barcode() {
    let sscc = Sscc::parse(SSCC).unwrap();
    let label = CartonLabel {
        uri: URI,
        sscc: &sscc,
    };
    let pdf = labels::carton::pdf(&[label, label]).unwrap();
    let pdf = hayro::Pdf::new(std::sync::Arc::new(pdf)).unwrap();
    assert_eq!(pdf.pages().len(), 2);
    // 12 px per mm (about 300 dpi).
    let scale = 12.0 * 25.4 / 72.0;
    for page in pdf.pages().iter() {
        let pixmap = hayro::render(
            page,
            &hayro::InterpreterSettings::default(),
            &hayro::RenderSettings {
                x_scale: scale,
                y_scale: scale,
                ..Default::default()
            },
        );
        let (w, h) = (pixmap.width() as u32, pixmap.height() as u32);
        let grey = pixmap.data_as_u8_slice().chunks(4).map(|p| p[0]).collect();
        let grey = image::GrayImage::from_raw(w, h, grey).unwrap();
        let mut png = Vec::new();
        grey.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(rxing_qr(&png), URI);
        zbar_reads(&png, "PDF");
    }
}
