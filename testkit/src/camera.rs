//! A fake camera for the page tests: a picture (a label's PNG, as the labels crate renders it)
//! centred on a white 640x480 frame, written as a short Y4M video that Chromium plays, looped, as
//! the device's camera (`--use-file-for-fake-video-capture`).
//!
//! Y4M ("YUV4MPEG2") is a text header line, then per frame `FRAME` and the raw planes: here 4:2:0
//! (I420), the luma plane full size and both chroma planes at half size in each direction. A grey
//! picture needs only luma; its chroma is the neutral 128.

use std::io::Write;
use std::path::Path;

/// The fake camera's frame: the VGA size every phone camera offers.
pub const WIDTH: usize = 640;
pub const HEIGHT: usize = 480;
/// Frames a second, as the video's header says; Chromium delivers them at this rate.
pub const FPS: usize = 10;

/// A greyscale picture: one byte of luma per pixel, row by row.
pub struct GreyPicture {
    pub width: usize,
    pub height: usize,
    pub luma: Vec<u8>,
}

impl GreyPicture {
    /// The pixels of a PNG (a label: 1-bit or 8-bit greyscale), each brought to 8 bits, so black
    /// is 0 and white 255. Of a colour PNG, the first channel.
    pub fn from_png(bytes: &[u8]) -> GreyPicture {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let samples = info.color_type.samples();
        let (width, height) = (info.width as usize, info.height as usize);
        let luma = buf[..info.buffer_size()]
            .chunks(info.line_size)
            .flat_map(|line| line.chunks(samples).take(width).map(|px| px[0]))
            .collect();
        GreyPicture {
            width,
            height,
            luma,
        }
    }
}

/// Writes `frames` frames of `picture`, centred on a white [`WIDTH`] x [`HEIGHT`] frame, to `path`
/// as Y4M. The picture must fit the frame.
pub fn write_y4m(path: &Path, picture: &GreyPicture, frames: usize) {
    assert!(
        picture.width <= WIDTH && picture.height <= HEIGHT,
        "a {}x{} picture does not fit the camera's {WIDTH}x{HEIGHT} frame: render it smaller",
        picture.width,
        picture.height
    );
    let mut luma = vec![255u8; WIDTH * HEIGHT];
    let (left, top) = ((WIDTH - picture.width) / 2, (HEIGHT - picture.height) / 2);
    for (y, row) in picture.luma.chunks(picture.width).enumerate() {
        let at = (top + y) * WIDTH + left;
        luma[at..at + row.len()].copy_from_slice(row);
    }
    let chroma = vec![128u8; (WIDTH / 2) * (HEIGHT / 2)];
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    // Progressive, square pixels; no colour space tag, so the default 4:2:0.
    writeln!(out, "YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1").unwrap();
    for _ in 0..frames {
        out.write_all(b"FRAME\n").unwrap();
        out.write_all(&luma).unwrap();
        out.write_all(&chroma).unwrap();
        out.write_all(&chroma).unwrap();
    }
    out.flush().unwrap();
}

/// The Chromium arguments that make `video` (a Y4M file) the camera, with permission granted as
/// if the person had tapped "Allow", for [`crate::browser::browser_with`].
pub fn fake_camera_args(video: &Path) -> Vec<String> {
    vec![
        "--use-fake-device-for-media-stream".to_owned(),
        "--use-fake-ui-for-media-stream".to_owned(),
        format!("--use-file-for-fake-video-capture={}", video.display()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_is_centred_in_every_frame() {
        let picture = GreyPicture {
            width: 2,
            height: 2,
            luma: vec![0, 10, 20, 30],
        };
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.y4m");
        write_y4m(&path, &picture, 3);
        let bytes = std::fs::read(&path).unwrap();
        let header = b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1\n";
        assert!(bytes.starts_with(header));
        let frame = 6 + WIDTH * HEIGHT * 3 / 2;
        assert_eq!(bytes.len(), header.len() + 3 * frame);
        let last = &bytes[header.len() + 2 * frame..];
        assert!(last.starts_with(b"FRAME\n"));
        let luma = &last[6..6 + WIDTH * HEIGHT];
        assert_eq!(luma[239 * WIDTH + 319..239 * WIDTH + 321], [0, 10]);
        assert_eq!(luma[240 * WIDTH + 319..240 * WIDTH + 321], [20, 30]);
        assert_eq!(luma[0], 255);
        assert!(last[6 + WIDTH * HEIGHT..].iter().all(|&c| c == 128));
    }
}
