//! Print-ready labels for signed part codes: PNG, SVG, PDF sheets and ZPL for thermal printers.
//!
//! A label is the QR symbol of a code's GS1 Digital Link URI (byte for byte what `sign` wrote), with
//! the GS1 human-readable lines beside it (`(01) 06901234567892`, `(10) L2026A`, `(21) X7K2P9QD4MABC`),
//! optionally a short part name, in Chinese or Latin script (`前刹车片 Front brake pad`), and where to
//! check by hand (`扫码验真 verify.example.cn`). A [`Layout`] fixes the label size, the module size
//! ([`ModuleSize`], millimetres or printer dots) and the error correction level ([`EcLevel`]);
//! [`Layout::arrange`] turns it into a [`layout::Placement`] that every format draws the same way, or
//! refuses it with the changes that make it fit ([`advice`]):
//!
//! - [`PngRenderer`]: one label as 1-bit greyscale PNG with its DPI recorded;
//! - [`svg::render`]: one label as SVG, the symbol as one path, text as text (Chinese also as glyph
//!   outlines, so it renders without a CJK font);
//! - [`SheetWriter`]: labels on A4 or Letter sheets ([`Sheet`]), streamed page by page into one PDF,
//!   Chinese in an embedded font subset that stays searchable text;
//! - [`ZplRenderer`]: one `^XA ... ^XZ` label per code, the printer drawing the symbol with `^BQ` and
//!   Chinese lines sent as `^GF` bitmaps.
//!
//! Text is drawn with two compiled-in faces ([`font`]): DejaVu Sans Mono, and Noto Sans CJK SC cut to
//! GB 2312 for what DejaVu lacks. A part name with a character neither has is left off, and the
//! batch says which characters.
//!
//! Cartons get their own label ([`carton`]): the SSCC's Digital Link as a QR code and the SSCC as
//! a GS1-128 barcode ([`gs1_128`]), for phones and warehouse scanners alike.
//!
//! [`batch`] runs any of them over a whole manifest on every core, in bounded memory, checking each
//! line with a caller-supplied rule (the signature) before anything is written.
//!
//! | module | what lives there |
//! |---|---|
//! | [`qr`] | encoding a URI into a [`QrMatrix`]; error correction levels; the quiet zone |
//! | [`layout`] | label geometry: module size, where the symbol and each text line go |
//! | [`advice`] | what to change when a label does not fit, each remedy checked |
//! | [`font`] | the compiled-in faces (DejaVu Sans Mono; Noto Sans CJK SC cut to GB 2312), which one draws a character, rasterised glyphs |
//! | [`raster`] | a greyscale image and text drawn into it (PNG, ZPL's bitmap text) |
//! | [`png`] | raster labels and PNG encoding with the DPI in `pHYs` |
//! | [`svg`] | vector labels as SVG |
//! | [`pdf`] | sheets of labels, grids for common sticker sheets, the streaming PDF writer |
//! | [`pdf_font`] | the Chinese face embedded in a PDF: a subset per page's glyphs, with a `ToUnicode` map |
//! | [`zpl`] | ZPL II for Zebra-compatible thermal printers, 203/300/600 dpi |
//! | [`carton`] | carton labels: the SSCC's Digital Link as QR and its GS1-128 barcode, as PNG, SVG, PDF or ZPL |
//! | [`gs1_128`] | the GS1-128 (Code 128, FNC1, code set C) bars of `(00)` and an SSCC |
//! | [`batch`] | parallel, chunked rendering of a manifest into files or one stream |
//! | [`error`] | one error type per stage |
//!
//! ```
//! use labels::{Label, Layout, PngRenderer, QrMatrix, EcLevel};
//! use signer::{BaseUrl, Gtin, PartId, Serial, SignedCode, keys};
//!
//! let key = keys::generate();
//! let part = PartId {
//!     gtin: Gtin::parse("06901234567892").unwrap(),
//!     lot: None,
//!     serial: Serial::parse("X7K2P9QD4MABC").unwrap(),
//! };
//! let uri = SignedCode::sign(part.clone(), &key)
//!     .to_uri(&BaseUrl::parse("https://verify.example.cn").unwrap());
//! let label = Label { uri: &uri, part: &part, name: Some("Front brake pad") };
//!
//! let png = PngRenderer::new(Layout::default(), 300).unwrap().render(&label).unwrap();
//! assert!(png.starts_with(b"\x89PNG"));
//! let svg = labels::svg::render(&Layout::default(), &label).unwrap();
//! assert!(svg.contains("(21) X7K2P9QD4MABC"));
//! // The symbol alone, for callers with their own drawing code.
//! assert_eq!(QrMatrix::encode(&uri, EcLevel::M).unwrap().size(), 53);
//! ```

pub mod advice;
pub mod batch;
pub mod carton;
pub mod error;
pub mod font;
pub mod gs1_128;
pub mod layout;
pub mod pdf;
pub mod pdf_font;
pub mod png;
pub mod qr;
pub mod raster;
pub mod svg;
pub mod zpl;

pub use carton::{CartonLabel, CartonPngRenderer};
pub use error::{LabelError, LayoutError, QrError, ZplError};
pub use layout::{Label, Layout, ModuleSize};
pub use pdf::{Sheet, SheetWriter};
pub use png::PngRenderer;
pub use qr::{EcLevel, QrMatrix};
pub use zpl::ZplRenderer;
