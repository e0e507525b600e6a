//! The storage key of a code: its GTIN and serial (GS1 makes GTIN + serial unique; the lot is not part
//! of the identity), packed so keys sort by GTIN and one GTIN's codes share a prefix.

use std::fmt;

use signer::{Gtin, ParseError, PartId, Serial};

/// `GTIN as a big-endian u64 (8 bytes) || serial length (1 byte) || serial bytes`.
///
/// The length byte keeps keys prefix-free, so the key of one code is never a prefix of another's and
/// `key || sequence number` names one event unambiguously.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodeKey(Vec<u8>);

/// Why stored key bytes did not decode (only a damaged store produces this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed code key: {0}")]
pub struct KeyError(String);

impl CodeKey {
    pub fn new(gtin: &Gtin, serial: &Serial) -> Self {
        let mut out = Vec::with_capacity(9 + serial.as_str().len());
        out.extend_from_slice(&gtin_bits(gtin).to_be_bytes());
        // A serial is at most 20 bytes (GS1 AI 21), so its length fits one byte.
        out.push(serial.as_str().len() as u8);
        out.extend_from_slice(serial.as_str().as_bytes());
        CodeKey(out)
    }

    /// The key of a code given as text, typed or pasted (whitespace around either number is
    /// ignored), or what is wrong with the GTIN or the serial.
    pub fn parse(gtin: &str, serial: &str) -> Result<Self, ParseError> {
        Ok(Self::new(
            &Gtin::parse(gtin.trim())?,
            &Serial::parse(serial.trim())?,
        ))
    }

    pub fn of(part: &PartId) -> Self {
        Self::new(&part.gtin, &part.serial)
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, KeyError> {
        let key = CodeKey(bytes.to_vec());
        key.gtin()?;
        key.serial()?;
        Ok(key)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn gtin(&self) -> Result<Gtin, KeyError> {
        Self::gtin_of_prefix(&self.0)
    }

    /// The GTIN of bytes that start with a [`CodeKey::gtin_prefix`] (a code key, or another key
    /// built on the prefix).
    pub fn gtin_of_prefix(bytes: &[u8]) -> Result<Gtin, KeyError> {
        let bits: [u8; 8] = bytes
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| KeyError("shorter than a GTIN".into()))?;
        Gtin::parse(&format!("{:014}", u64::from_be_bytes(bits)))
            .map_err(|e| KeyError(e.to_string()))
    }

    pub fn serial(&self) -> Result<Serial, KeyError> {
        let len = usize::from(*self.0.get(8).ok_or_else(|| KeyError("no serial".into()))?);
        let bytes = self
            .0
            .get(9..)
            .filter(|b| b.len() == len)
            .ok_or_else(|| KeyError("serial length does not match".into()))?;
        let text = std::str::from_utf8(bytes).map_err(|e| KeyError(e.to_string()))?;
        Serial::parse(text).map_err(|e| KeyError(e.to_string()))
    }

    /// The key bytes every code of `gtin` starts with.
    pub fn gtin_prefix(gtin: &Gtin) -> [u8; 8] {
        gtin_bits(gtin).to_be_bytes()
    }
}

/// 14 decimal digits fit in 47 bits.
fn gtin_bits(gtin: &Gtin) -> u64 {
    gtin.as_str()
        .bytes()
        .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0'))
}

impl fmt::Display for CodeKey {
    /// `(01)GTIN(21)SERIAL`, the GS1 element string people recognise.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.gtin(), self.serial()) {
            (Ok(g), Ok(s)) => write!(f, "(01){}(21){}", g.as_str(), s.as_str()),
            _ => write!(f, "<malformed key {}>", hex_bytes(&self.0)),
        }
    }
}

impl fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CodeKey({self})")
    }
}

fn hex_bytes(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A code of the documentation's GTIN, for the crate's unit tests.
    pub(crate) fn code(serial: &str) -> CodeKey {
        CodeKey::new(
            &Gtin::parse("06901234567892").unwrap(),
            &Serial::parse(serial).unwrap(),
        )
    }

    #[test]
    fn round_trips_and_sorts_by_gtin() {
        let a = Gtin::parse("06901234567892").unwrap();
        let b = Gtin::parse("16901234567899").unwrap();
        let s = Serial::parse("X7K2P9QD4M").unwrap();
        let ka = CodeKey::new(&a, &s);
        let kb = CodeKey::new(&b, &Serial::parse("2").unwrap());
        assert!(ka < kb);
        let back = CodeKey::from_bytes(ka.as_bytes()).unwrap();
        assert_eq!(back.gtin().unwrap(), a);
        assert_eq!(back.serial().unwrap(), s);
        assert!(ka.as_bytes().starts_with(&CodeKey::gtin_prefix(&a)));
        assert_eq!(ka.to_string(), "(01)06901234567892(21)X7K2P9QD4M");
    }

    #[test]
    fn damaged_bytes_are_errors() {
        assert!(CodeKey::from_bytes(b"short").is_err());
        let mut bytes = code("AB").as_bytes().to_vec();
        bytes.push(b'C');
        assert!(CodeKey::from_bytes(&bytes).is_err());
    }

    #[test]
    fn typed_numbers_are_read_around_their_whitespace() {
        use signer::Field;
        assert_eq!(
            CodeKey::parse(" 06901234567892 ", "AB\n").ok(),
            Some(code("AB"))
        );
        let bad_gtin = CodeKey::parse("06901234567891", "AB").err().unwrap();
        assert_eq!(bad_gtin.field, Field::Gtin, "{bad_gtin}");
        let bad_serial = CodeKey::parse("06901234567892", "").err().unwrap();
        assert_eq!(bad_serial.field, Field::Serial, "{bad_serial}");
    }
}
