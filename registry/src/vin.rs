//! Vehicle identification numbers (ISO 3779; GB 16735 in China): 17 characters, no I, O or Q, with
//! the check digit in position 9 (the North American scheme that GB 16735 also prescribes).

use std::fmt;

/// A VIN whose characters and check digit are valid.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Vin([u8; 17]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VinError {
    #[error("a VIN has 17 characters, this one has {0}")]
    Length(usize),
    #[error("character {pos} ({ch:?}) cannot appear in a VIN (letters I, O and Q are never used)")]
    BadChar { pos: usize, ch: char },
    #[error(
        "check digit (character 9) is {found:?} but the other characters give {expected:?}: check for a typing error"
    )]
    CheckDigit { found: char, expected: char },
}

impl VinError {
    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            VinError::Length(_) => "vin.length",
            VinError::BadChar { .. } => "vin.character",
            VinError::CheckDigit { .. } => "vin.check_digit",
        }
    }
}

const WEIGHTS: [u32; 17] = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

fn transliterate(b: u8) -> Option<u32> {
    Some(match b {
        b'0'..=b'9' => u32::from(b - b'0'),
        b'A' | b'J' => 1,
        b'B' | b'K' | b'S' => 2,
        b'C' | b'L' | b'T' => 3,
        b'D' | b'M' | b'U' => 4,
        b'E' | b'N' | b'V' => 5,
        b'F' | b'W' => 6,
        b'G' | b'P' | b'X' => 7,
        b'H' | b'Y' => 8,
        b'R' | b'Z' => 9,
        _ => return None,
    })
}

impl Vin {
    /// Parses a VIN; lower-case letters are accepted and upper-cased (people type them).
    pub fn parse(s: &str) -> Result<Self, VinError> {
        let count = s.chars().count();
        if count != 17 {
            return Err(VinError::Length(count));
        }
        let mut out = [0u8; 17];
        let mut sum = 0;
        for (pos, ch) in s.chars().enumerate() {
            let upper = ch.to_ascii_uppercase();
            let value = u8::try_from(upper)
                .ok()
                .and_then(|b| transliterate(b).map(|v| (b, v)));
            let Some((byte, value)) = value else {
                return Err(VinError::BadChar { pos: pos + 1, ch });
            };
            out[pos] = byte;
            sum += value * WEIGHTS[pos];
        }
        let expected = match sum % 11 {
            10 => b'X',
            d => b'0' + d as u8,
        };
        if out[8] != expected {
            return Err(VinError::CheckDigit {
                found: out[8] as char,
                expected: expected as char,
            });
        }
        Ok(Vin(out))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII is ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn as_bytes(&self) -> &[u8; 17] {
        &self.0
    }
}

impl fmt::Display for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Vin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Vin({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_vins() {
        // The textbook example and a Chinese-market VIN (LSV: SAIC Volkswagen).
        assert_eq!(
            Vin::parse("1M8GDM9AXKP042788").unwrap().as_str(),
            "1M8GDM9AXKP042788"
        );
        assert!(Vin::parse("LSVAU218XN2183294").is_ok());
        assert!(Vin::parse("lsvau218xn2183294").is_ok());
    }

    #[test]
    fn rejects_bad_vins_with_reasons() {
        assert_eq!(Vin::parse("1M8GDM9AXKP04278"), Err(VinError::Length(16)));
        assert_eq!(
            Vin::parse("1M8GDM9AXKP04278O"),
            Err(VinError::BadChar { pos: 17, ch: 'O' })
        );
        assert_eq!(
            Vin::parse("1M8GDM9A1KP042788"),
            Err(VinError::CheckDigit {
                found: '1',
                expected: 'X'
            })
        );
        assert!(Vin::parse("1M8GDM9AXKP04278é").is_err());
    }
}
