//! Vehicle identification numbers (ISO 3779; GB 16735 in China): 17 characters, no I, O or Q, with
//! the check digit in position 9 (the North American scheme that GB 16735 also prescribes).
//!
//! Many imported European vehicles carry a VIN whose position 9 is no check digit, so a VIN that
//! does not verify is not necessarily mistyped: [`Vin::parse`] stays strict, and
//! [`Vin::parse_confirmed`] takes such a VIN once a person has compared it with the vehicle's
//! registration certificate (the event records that confirmation).

use std::fmt;

/// A VIN whose characters are valid, and whose check digit verifies unless it was built by
/// [`Vin::parse_confirmed`].
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
    /// Parses a VIN, check digit included; lower-case letters are accepted and upper-cased (people
    /// type them).
    pub fn parse(s: &str) -> Result<Self, VinError> {
        let vin = Vin::parse_confirmed(s)?;
        let expected = vin.expected_check_digit();
        if vin.0[8] != expected {
            return Err(VinError::CheckDigit {
                found: vin.0[8] as char,
                expected: expected as char,
            });
        }
        Ok(vin)
    }

    /// Parses a VIN whose length and characters are valid (ISO 3779) without requiring its check
    /// digit to verify: for a VIN a person confirmed against the registration certificate, for
    /// looking a vehicle up, and for VINs read back from storage (checked when they were recorded).
    pub fn parse_confirmed(s: &str) -> Result<Self, VinError> {
        let count = s.chars().count();
        if count != 17 {
            return Err(VinError::Length(count));
        }
        let mut out = [0u8; 17];
        for (pos, ch) in s.chars().enumerate() {
            let upper = ch.to_ascii_uppercase();
            let byte = u8::try_from(upper)
                .ok()
                .filter(|b| transliterate(*b).is_some());
            let Some(byte) = byte else {
                return Err(VinError::BadChar { pos: pos + 1, ch });
            };
            out[pos] = byte;
        }
        Ok(Vin(out))
    }

    /// Whether position 9 is the check digit the other characters give.
    pub fn check_digit_verifies(&self) -> bool {
        self.0[8] == self.expected_check_digit()
    }

    fn expected_check_digit(&self) -> u8 {
        let sum: u32 = self
            .0
            .iter()
            .zip(WEIGHTS)
            .map(|(b, w)| transliterate(*b).unwrap_or(0) * w)
            .sum();
        match sum % 11 {
            10 => b'X',
            d => b'0' + d as u8,
        }
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

    #[test]
    fn a_confirmed_vin_needs_valid_characters_but_not_the_check_digit() {
        // A European VIN: position 9 is no check digit.
        assert_eq!(
            Vin::parse("WVWZZZ1JZXW000001"),
            Err(VinError::CheckDigit {
                found: 'Z',
                expected: '0'
            })
        );
        let vin = Vin::parse_confirmed("wvwzzz1jzxw000001").unwrap();
        assert_eq!(vin.as_str(), "WVWZZZ1JZXW000001");
        assert!(!vin.check_digit_verifies());
        assert!(
            Vin::parse_confirmed("LSVAU218XN2183294")
                .unwrap()
                .check_digit_verifies()
        );
        assert_eq!(
            Vin::parse_confirmed("WVWZZZ1JZXW00001"),
            Err(VinError::Length(16))
        );
        assert_eq!(
            Vin::parse_confirmed("WVWZZZ1JZXW00000I"),
            Err(VinError::BadChar { pos: 17, ch: 'I' })
        );
        assert!(Vin::parse_confirmed("WVWZZZ1JZXW00000é").is_err());
    }
}
