//! The pages' static files (`verifier/assets/`), compiled into the binary and served at
//! `/assets/{name}`.
//!
//! Each file is served under a name that changes whenever its content does: the vendored decoder
//! under its version, our own script under a hash of its bytes. So a browser may keep a file for a
//! year without asking again (`immutable`), and a new release is still fetched at once; a page
//! names a file through [`station_camera_url`] or [`qr_decoder_url`], never by a literal path.
//! `nosniff` makes a browser run a script only when it is served as one.
//!
//! Only the shop's station loads these; the owner's pages stay script-free.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One compiled-in file.
struct Asset {
    /// The name it is served under, after `/assets/`.
    name: String,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// The station's camera scanning: opens the camera, decodes frames, hands each read to the scan
/// form.
static STATION_CAMERA: LazyLock<Asset> = LazyLock::new(|| {
    let bytes = include_bytes!("../../assets/station-camera.js");
    Asset {
        name: format!("station-camera-{:016x}.js", fnv1a(bytes)),
        content_type: JAVASCRIPT,
        bytes,
    }
});

/// jsQR 1.4.0 from the npm registry, unmodified (Apache-2.0; `verifier/assets/README.md` holds its
/// hashes): the QR decoder for browsers without `BarcodeDetector`, loaded only when the camera
/// opens.
static QR_DECODER: LazyLock<Asset> = LazyLock::new(|| Asset {
    name: "jsQR-1.4.0.js".to_owned(),
    content_type: JAVASCRIPT,
    bytes: include_bytes!("../../assets/jsqr-1.4.0/jsQR.js"),
});

/// Where the station's camera script is served.
pub fn station_camera_url() -> String {
    format!("/assets/{}", STATION_CAMERA.name)
}

/// Where the QR decoder is served.
pub fn qr_decoder_url() -> String {
    format!("/assets/{}", QR_DECODER.name)
}

/// `GET /assets/{name}`.
#[utoipa::path(
    get,
    path = "/assets/{name}",
    tag = "pages",
    summary = "A static file of the pages",
    description = "The station's scripts, under names that change with their content: cacheable \
        for a year. The pages name them; there is no listing.",
    params(("name" = String, Path, description = "The file's name as a page names it, e.g. `jsQR-1.4.0.js`")),
    responses(
        (status = 200, description = "The file", content_type = "text/javascript", body = String),
        (status = 404, description = "No file of that name (`not_found`), e.g. one of an older release"),
    ),
)]
pub async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = [&*STATION_CAMERA, &*QR_DECODER]
        .into_iter()
        .find(|a| a.name == name)
    else {
        return ApiError::not_found("no such file under /assets").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, IMMUTABLE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.bytes,
    )
        .into_response()
}

/// 64-bit FNV-1a: enough to tell one release's script from another's in its file name (a cache
/// key, not a defence: whoever could change the script could change its name too).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_content() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert!(station_camera_url().starts_with("/assets/station-camera-"));
        assert!(station_camera_url().ends_with(".js"));
        assert_eq!(qr_decoder_url(), "/assets/jsQR-1.4.0.js");
    }
}
