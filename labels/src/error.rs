//! Errors, one enum per stage, wrapped by [`LabelError`].

use crate::advice::Advice;

/// The URI could not be encoded as a QR code.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    #[error("the URI is {len} bytes, more than a QR code holds at error correction {ec}")]
    TooLong { len: usize, ec: crate::EcLevel },
}

/// The label's parts do not fit its size.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    #[error(
        "the QR code ({modules} modules with its quiet zone) needs {needed_mm:.1} mm square but the label is \
         {width_mm} x {height_mm} mm{advice}"
    )]
    QrDoesNotFit {
        modules: usize,
        needed_mm: f32,
        width_mm: f32,
        height_mm: f32,
        /// A label size at which symbol and text fit, with this module size.
        fits: (f32, f32),
        /// What to change, each remedy checked ([`crate::Layout::arrange`] fills it in).
        advice: Advice,
    },
    #[error(
        "the text needs a font of at least {min_mm} mm to stay legible, but only {found_mm:.2} mm fits on a \
         {width_mm} x {height_mm} mm label{advice}"
    )]
    TextDoesNotFit {
        found_mm: f32,
        min_mm: f32,
        width_mm: f32,
        height_mm: f32,
        /// A label size at which the text fits, with this module size.
        fits: (f32, f32),
        advice: Advice,
    },
    #[error(
        "the carton's QR code needs {qr_mm:.1} mm but only {room_mm:.1} mm is left above its GS1-128 \
         barcode; a shorter base URL makes it smaller"
    )]
    CartonQrDoesNotFit { qr_mm: f32, room_mm: f32 },
    #[error("{what} must be between {min} and {max} (found {found})")]
    OutOfRange {
        what: &'static str,
        min: f32,
        max: f32,
        found: f32,
    },
    #[error(
        "the sheet's grid ({columns} x {rows} labels of {label_w} x {label_h} mm) does not fit a {page_w} x {page_h} mm page"
    )]
    GridDoesNotFit {
        columns: u32,
        rows: u32,
        label_w: f32,
        label_h: f32,
        page_w: f32,
        page_h: f32,
    },
}

/// A code cannot be sent to a ZPL printer as is.
#[derive(Debug, thiserror::Error)]
pub enum ZplError {
    #[error(
        "the URI holds {ch:?}, a ZPL control character, so the printer would not print it byte for byte"
    )]
    ControlCharInUri { ch: char },
    #[error("ZPL prints at 203, 300 or 600 dpi (found {0})")]
    Dpi(u32),
    #[error(transparent)]
    Font(#[from] crate::font::FontError),
}

/// Rendering one label failed.
#[derive(Debug, thiserror::Error)]
pub enum LabelError {
    #[error("QR code: {0}")]
    Qr(#[from] QrError),
    #[error("layout: {0}")]
    Layout(#[from] LayoutError),
    #[error("PNG: {0}")]
    Png(#[from] png::EncodingError),
    #[error("ZPL: {0}")]
    Zpl(#[from] ZplError),
    #[error(transparent)]
    Font(#[from] crate::font::FontError),
}
