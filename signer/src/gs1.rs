//! GS1 data elements a part code carries: GTIN-14 (AI 01), batch/lot (AI 10), serial (AI 21), and the
//! company prefixes a certificate grants; and the SSCC (AI 00) that numbers a carton or pallet. Each type
//! can only hold a valid value.

use std::fmt;
use std::str::FromStr;

use rand_core::{CryptoRng, RngCore};

use crate::error::{Field, ParseError, Problem};

/// Longest lot and serial GS1 allows (AI 10 and AI 21 are both `X..20`).
pub const MAX_ATTRIBUTE_LEN: usize = 20;

/// Is `b` in the GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1)?
pub fn is_gs1_char(b: u8) -> bool {
    matches!(b,
        b'!' | b'"' | b'%' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.' | b'/'
        | b'0'..=b'9' | b':' | b';' | b'<' | b'=' | b'>' | b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

/// A GTIN-14 whose check digit is correct.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gtin([u8; 14]);

impl Gtin {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let err = |p| ParseError::new(Field::Gtin, p);
        if s.is_empty() {
            return Err(err(Problem::Empty));
        }
        if let Some((pos, ch)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(err(Problem::BadChar { ch, pos }));
        }
        let bytes: [u8; 14] = s.as_bytes().try_into().map_err(|_| {
            err(Problem::WrongLength {
                expected: 14,
                found: s.len(),
            })
        })?;
        let expected = check_digit(&bytes[..13]);
        if bytes[13] != expected {
            return Err(err(Problem::CheckDigit {
                found: bytes[13] as char,
                expected: expected as char,
            }));
        }
        Ok(Gtin(bytes))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The digits a GS1 company prefix is matched against: all but the leading indicator digit, so a
    /// GTIN-13 padded to 14 digits matches its GS1 company prefix directly.
    pub fn company_digits(&self) -> &str {
        &self.as_str()[1..]
    }
}

/// The GS1 mod-10 check digit (as an ASCII digit) of the ASCII digits given.
pub fn check_digit(digits: &[u8]) -> u8 {
    // Weights alternate 3, 1, ... starting from the digit next to the check digit.
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    b'0' + ((10 - sum % 10) % 10) as u8
}

/// A value of GS1 AI 10 (batch/lot) or AI 21 (serial): 1 to 20 characters of character set 82.
fn parse_attribute(field: Field, s: &str) -> Result<String, ParseError> {
    let err = |p| ParseError::new(field, p);
    if s.is_empty() {
        return Err(err(Problem::Empty));
    }
    if let Some((pos, ch)) = s
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii() && is_gs1_char(c as u8)))
    {
        return Err(err(Problem::BadChar { ch, pos }));
    }
    if s.len() > MAX_ATTRIBUTE_LEN {
        return Err(err(Problem::TooLong {
            len: s.len(),
            max: MAX_ATTRIBUTE_LEN,
        }));
    }
    Ok(s.to_owned())
}

/// A batch/lot number, GS1 AI (10).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Lot(String);

impl Lot {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        parse_attribute(Field::Lot, s).map(Lot)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A serial number, GS1 AI (21).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serial(String);

/// The alphabet of generated serials: digits and capitals without 0/O and 1/I/L, so a serial survives
/// being read aloud or typed by hand. 31 symbols, about 4.95 bits each.
pub const SERIAL_ALPHABET: &[u8; 31] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// Length of generated serials: 13 symbols of [`SERIAL_ALPHABET`] carry 64.4 bits, above the 60 bits
/// that make guessing a valid unsold serial negligible (12 would carry only 59.4).
pub const GENERATED_SERIAL_LEN: usize = 13;

impl Serial {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        parse_attribute(Field::Serial, s).map(Serial)
    }

    /// A fresh serial from a cryptographically secure generator.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut out = String::with_capacity(GENERATED_SERIAL_LEN);
        let mut buf = [0u8; 32];
        while out.len() < GENERATED_SERIAL_LEN {
            rng.fill_bytes(&mut buf);
            // Rejection sampling: 248 = 8 * 31, so every symbol is equally likely.
            for &b in buf.iter().filter(|&&b| b < 248) {
                if out.len() == GENERATED_SERIAL_LEN {
                    break;
                }
                out.push(SERIAL_ALPHABET[usize::from(b % 31)] as char);
            }
        }
        Serial(out)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A GS1 company prefix a certificate lets its holder sign for: 3 to 12 digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompanyPrefix(String);

impl CompanyPrefix {
    pub const MIN_LEN: usize = 3;
    pub const MAX_LEN: usize = 12;

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let err = |p| ParseError::new(Field::CompanyPrefix, p);
        if let Some((pos, ch)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(err(Problem::BadChar { ch, pos }));
        }
        if s.len() < Self::MIN_LEN {
            return Err(err(Problem::TooShort {
                len: s.len(),
                min: Self::MIN_LEN,
            }));
        }
        if s.len() > Self::MAX_LEN {
            return Err(err(Problem::TooLong {
                len: s.len(),
                max: Self::MAX_LEN,
            }));
        }
        Ok(CompanyPrefix(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Does this prefix cover the GTIN? (Matched after the GTIN-14 indicator digit.)
    pub fn covers(&self, gtin: &Gtin) -> bool {
        gtin.company_digits().starts_with(&self.0)
    }

    /// Does this prefix cover the SSCC? (Matched after the SSCC's extension digit.)
    pub fn covers_sscc(&self, sscc: &Sscc) -> bool {
        sscc.company_digits().starts_with(&self.0)
    }
}

/// An SSCC, GS1 AI (00): the number of one carton or pallet. 18 digits: an extension digit the packer
/// chooses freely, the GS1 company prefix and serial reference (16 digits together, the split set by the
/// prefix's length), and the mod-10 check digit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sscc([u8; 18]);

impl Sscc {
    pub const LEN: usize = 18;

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let err = |p| ParseError::new(Field::Sscc, p);
        if s.is_empty() {
            return Err(err(Problem::Empty));
        }
        if let Some((pos, ch)) = s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
            return Err(err(Problem::BadChar { ch, pos }));
        }
        let bytes: [u8; 18] = s.as_bytes().try_into().map_err(|_| {
            err(Problem::WrongLength {
                expected: Self::LEN,
                found: s.len(),
            })
        })?;
        let expected = check_digit(&bytes[..17]);
        if bytes[17] != expected {
            return Err(err(Problem::CheckDigit {
                found: bytes[17] as char,
                expected: expected as char,
            }));
        }
        Ok(Sscc(bytes))
    }

    /// The SSCC a packer numbers a carton with: `extension` (one digit), its company prefix, and a
    /// serial reference that must fit the digits the prefix leaves (16 less the prefix's length).
    pub fn compose(
        extension: u8,
        prefix: &CompanyPrefix,
        serial_reference: u64,
    ) -> Result<Self, ParseError> {
        let width = 16 - prefix.as_str().len();
        let reference = format!("{serial_reference:0width$}");
        if extension > 9 || reference.len() > width {
            return Err(ParseError::new(
                Field::Sscc,
                Problem::TooLong {
                    len: 1 + prefix.as_str().len() + reference.len() + 1,
                    max: Self::LEN,
                },
            ));
        }
        let mut digits = format!("{extension}{}{reference}", prefix.as_str()).into_bytes();
        digits.push(check_digit(&digits));
        Self::parse(std::str::from_utf8(&digits).unwrap_or_default())
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII digits are ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The digits a GS1 company prefix is matched against: the 16 between the extension digit and the
    /// check digit.
    pub fn company_digits(&self) -> &str {
        &self.as_str()[1..17]
    }

    /// The GS1 human-readable form printed under a GS1-128 barcode, `(00)376901234500000017`.
    pub fn element_string(&self) -> String {
        format!("(00){}", self.as_str())
    }
}

macro_rules! text_impls {
    ($($ty:ident),*) => {$(
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($ty), self.as_str())
            }
        }
        impl FromStr for $ty {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, ParseError> {
                Self::parse(s)
            }
        }
    )*};
}
text_impls!(Gtin, Lot, Serial, CompanyPrefix, Sscc);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_matches_gs1_examples() {
        // GS1's own worked example and the GTIN used throughout the docs.
        assert!(Gtin::parse("00012345600012").is_ok());
        assert!(Gtin::parse("06901234567892").is_ok());
        let e = Gtin::parse("06901234567893").unwrap_err();
        assert_eq!(e.code(), "gtin.check_digit");
        assert_eq!(
            e.to_string(),
            "GTIN (01) has check digit 3, but the digits before it give 2"
        );
    }

    #[test]
    fn gtin_rejects_wrong_length_and_letters() {
        assert_eq!(
            Gtin::parse("690123456789").unwrap_err().code(),
            "gtin.wrong_length"
        );
        assert_eq!(
            Gtin::parse("0690123456789A").unwrap_err().code(),
            "gtin.bad_char"
        );
        assert_eq!(Gtin::parse("").unwrap_err().code(), "gtin.empty");
    }

    #[test]
    fn attributes_follow_character_set_82() {
        assert!(Serial::parse("aZ09!\"%&'()*+,-./:;<=>?_").is_err()); // 25 chars: too long
        assert!(Serial::parse("aZ09!\"%&'()*+,-./:;<").is_ok());
        assert_eq!(
            Serial::parse("AB CD").unwrap_err().code(),
            "serial.bad_char"
        );
        assert_eq!(Serial::parse("AB#").unwrap_err().code(), "serial.bad_char");
        assert_eq!(Lot::parse("批次").unwrap_err().code(), "lot.bad_char");
        assert_eq!(
            Lot::parse(&"A".repeat(21)).unwrap_err().code(),
            "lot.too_long"
        );
    }

    #[test]
    fn random_serials_use_the_unambiguous_alphabet() {
        let mut rng = rand::rngs::OsRng;
        for _ in 0..1000 {
            let s = Serial::random(&mut rng);
            assert_eq!(s.as_str().len(), GENERATED_SERIAL_LEN);
            assert!(s.as_str().bytes().all(|b| SERIAL_ALPHABET.contains(&b)));
            assert!(!s.as_str().contains(['0', 'O', '1', 'I', 'L']));
        }
        assert!((GENERATED_SERIAL_LEN as f64) * 31f64.log2() >= 60.0);
    }

    #[test]
    fn sscc_check_digit_matches_the_gs1_example() {
        // The SSCC of GS1 General Specifications' AI (00) example.
        let sscc = Sscc::parse("106141412345678908").unwrap();
        assert_eq!(sscc.element_string(), "(00)106141412345678908");
        assert_eq!(
            Sscc::parse("106141412345678909").unwrap_err().code(),
            "sscc.check_digit"
        );
        assert_eq!(
            Sscc::parse("10614141234567890").unwrap_err().code(),
            "sscc.wrong_length"
        );
        assert_eq!(
            Sscc::parse("1061414123456789O8").unwrap_err().code(),
            "sscc.bad_char"
        );
        assert_eq!(Sscc::parse("").unwrap_err().code(), "sscc.empty");
    }

    #[test]
    fn sscc_prefix_matches_after_extension_digit() {
        let prefix = CompanyPrefix::parse("690123").unwrap();
        let sscc = Sscc::compose(3, &prefix, 17).unwrap();
        assert_eq!(sscc.as_str(), "369012300000000172");
        assert!(prefix.covers_sscc(&sscc));
        assert!(!CompanyPrefix::parse("369012").unwrap().covers_sscc(&sscc));
        assert!(!CompanyPrefix::parse("690124").unwrap().covers_sscc(&sscc));
        // The serial reference must fit the ten digits a six-digit prefix leaves.
        assert!(Sscc::compose(3, &prefix, 9_999_999_999).is_ok());
        assert!(Sscc::compose(3, &prefix, 10_000_000_000).is_err());
        assert!(Sscc::compose(10, &prefix, 1).is_err());
    }

    #[test]
    fn company_prefix_matches_after_indicator_digit() {
        let gtin = Gtin::parse("06901234567892").unwrap();
        assert!(CompanyPrefix::parse("690123").unwrap().covers(&gtin));
        assert!(!CompanyPrefix::parse("690124").unwrap().covers(&gtin));
        assert!(!CompanyPrefix::parse("069012").unwrap().covers(&gtin));
        assert_eq!(
            CompanyPrefix::parse("69").unwrap_err().code(),
            "company_prefix.too_short"
        );
    }
}
