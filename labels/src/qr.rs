//! The QR symbol: the URI's bytes encoded as a square of dark and light modules.
//!
//! Encoding goes through `fast_qr`, which picks the mask pattern by the standard's four penalty rules
//! (ISO/IEC 18004 section 7.8.3), as the standard requires, at a fraction of the `qrcode` crate's cost
//! (BENCHMARKS.md has the comparison). The symbol is the smallest version that holds the URI at the
//! chosen error correction level, byte mode.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{OnceLock, RwLock};

use crate::error::QrError;

/// Light modules every reader needs around the symbol (the standard's minimum).
pub const QUIET_ZONE: usize = 4;

/// Error correction level: how much of the symbol may be damaged and still read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EcLevel {
    /// About 7% of codewords recoverable.
    L,
    /// About 15%: the default, a good trade between size and robustness on a handled part.
    #[default]
    M,
    /// About 25%.
    Q,
    /// About 30%.
    H,
}

impl EcLevel {
    /// The level's letter, as in ZPL's `^FD` data field.
    pub fn letter(self) -> char {
        match self {
            EcLevel::L => 'L',
            EcLevel::M => 'M',
            EcLevel::Q => 'Q',
            EcLevel::H => 'H',
        }
    }
}

impl fmt::Display for EcLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.letter())
    }
}

impl FromStr for EcLevel {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "L" => Ok(EcLevel::L),
            "M" => Ok(EcLevel::M),
            "Q" => Ok(EcLevel::Q),
            "H" => Ok(EcLevel::H),
            _ => Err(format!("error correction is L, M, Q or H (found {s:?})")),
        }
    }
}

/// A QR symbol without its quiet zone: `size` x `size` modules, row by row, `true` for dark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QrMatrix {
    size: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes `data` (the URI, byte for byte) at error correction `ec`.
    pub fn encode(data: &str, ec: EcLevel) -> Result<Self, QrError> {
        let ecl = match ec {
            EcLevel::L => fast_qr::ECL::L,
            EcLevel::M => fast_qr::ECL::M,
            EcLevel::Q => fast_qr::ECL::Q,
            EcLevel::H => fast_qr::ECL::H,
        };
        let code = fast_qr::QRBuilder::new(data.as_bytes())
            // Byte mode always: the URI is read back byte for byte, never re-cased or re-interpreted.
            .mode(fast_qr::Mode::Byte)
            .ecl(ecl)
            .build()
            .map_err(|_| QrError::TooLong {
                len: data.len(),
                ec,
            })?;
        let size = code.size;
        let mut dark = Vec::with_capacity(size * size);
        for y in 0..size {
            dark.extend(code[y][..size].iter().map(|m| m.value()));
        }
        Ok(QrMatrix { size, dark })
    }

    /// The side of the symbol `encode` makes for `len` bytes at `ec`, without encoding anything
    /// after the first time: in byte mode the version depends only on the length, so each length is
    /// encoded once (with placeholder bytes) and remembered. ZPL uses it, since the printer draws the
    /// symbol and the layout needs only its size.
    pub fn size_for(len: usize, ec: EcLevel) -> Result<usize, QrError> {
        static SIZES: OnceLock<RwLock<HashMap<(usize, EcLevel), usize>>> = OnceLock::new();
        let sizes = SIZES.get_or_init(|| RwLock::new(HashMap::new()));
        if let Some(&size) = sizes
            .read()
            .ok()
            .and_then(|m| m.get(&(len, ec)).copied())
            .as_ref()
        {
            return Ok(size);
        }
        let size = QrMatrix::encode(&"0".repeat(len), ec)?.size();
        if let Ok(mut m) = sizes.write() {
            m.insert((len, ec), size);
        }
        Ok(size)
    }

    /// Modules per side, without the quiet zone (21 for version 1, 4 more per version).
    pub fn size(&self) -> usize {
        self.size
    }

    /// Modules per side with the quiet zone on both sides.
    pub fn size_with_quiet_zone(&self) -> usize {
        self.size + 2 * QUIET_ZONE
    }

    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark[y * self.size + x]
    }

    /// Horizontal runs of dark modules, `(x, y, length)`, row by row: what vector formats draw, as one
    /// rectangle per run instead of one per module.
    pub fn dark_runs(&self) -> impl Iterator<Item = (usize, usize, usize)> + '_ {
        (0..self.size).flat_map(move |y| {
            let row = &self.dark[y * self.size..(y + 1) * self.size];
            let mut x = 0;
            std::iter::from_fn(move || {
                while x < row.len() && !row[x] {
                    x += 1;
                }
                if x == row.len() {
                    return None;
                }
                let start = x;
                while x < row.len() && row[x] {
                    x += 1;
                }
                Some((start, y, x - start))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn runs_cover_exactly_the_dark_modules() {
        let m =
            QrMatrix::encode("https://verify.example.cn/01/06901234567892", EcLevel::M).unwrap();
        let mut seen = vec![false; m.size() * m.size()];
        for (x, y, len) in m.dark_runs() {
            for i in x..x + len {
                assert!(m.is_dark(i, y));
                seen[y * m.size() + i] = true;
            }
        }
        for y in 0..m.size() {
            for x in 0..m.size() {
                assert_eq!(seen[y * m.size() + x], m.is_dark(x, y));
            }
        }
    }

    #[test]
    fn higher_levels_need_bigger_symbols() {
        let uri = "https://verify.example.cn/01/06901234567892/21/X7K2P9QD4MABC?k=AAAAAAAAAAA&s="
            .to_owned()
            + &"A".repeat(86);
        let sizes: Vec<usize> = [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H]
            .into_iter()
            .map(|ec| QrMatrix::encode(&uri, ec).unwrap().size())
            .collect();
        assert!(sizes.windows(2).all(|w| w[0] < w[1]), "{sizes:?}");
    }

    #[test]
    fn size_for_matches_encoding() {
        for len in [10, 100, 175, 180, 250, 1000] {
            for ec in [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H] {
                let data = "h".repeat(len);
                assert_eq!(
                    QrMatrix::size_for(len, ec).unwrap(),
                    QrMatrix::encode(&data, ec).unwrap().size(),
                    "{len} bytes at {ec}"
                );
            }
        }
    }

    #[test]
    fn too_long_is_an_error_not_a_panic() {
        let err = QrMatrix::encode(&"x".repeat(3000), EcLevel::H).unwrap_err();
        assert!(err.to_string().contains("3000 bytes"));
    }
}
