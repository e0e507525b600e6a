//! The deterministic binary encoding behind certificates and revocation lists.
//!
//! Big-endian fixed-width integers, length-prefixed UTF-8 strings, nothing optional and nothing
//! implicit: one value has exactly one encoding, so a signature over the bytes is a signature over the
//! value, and any changed byte either fails to decode or fails the signature.

/// Why bytes did not decode. `at` is the byte offset where decoding stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("truncated at byte {at}")]
    Truncated { at: usize },
    #[error("{extra} unexpected bytes after the end, at byte {at}")]
    Trailing { at: usize, extra: usize },
    #[error("{what} is not valid UTF-8 (byte {at})")]
    Utf8 { what: &'static str, at: usize },
    #[error("{what} is invalid (byte {at}): {why}")]
    Invalid {
        what: &'static str,
        at: usize,
        why: String,
    },
}

#[derive(Default)]
pub struct Writer(Vec<u8>);

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.0.extend_from_slice(&v.to_be_bytes());
        self
    }
    pub fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.0.extend_from_slice(v);
        self
    }
    /// An unsigned integer in as few bytes as it needs (LEB128: 7 bits a byte, low bits first), for
    /// stored values where a byte or two per record adds up.
    pub fn varint(&mut self, mut v: u64) -> &mut Self {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
        self
    }
    /// A signed integer as a [`Writer::varint`] (zigzag: small magnitudes stay short).
    pub fn varint_i64(&mut self, v: i64) -> &mut Self {
        self.varint(((v << 1) ^ (v >> 63)) as u64)
    }
    /// A string of at most 255 bytes, length first. Callers validate lengths before encoding.
    pub fn str8(&mut self, v: &str) -> &mut Self {
        self.0.push(v.len() as u8);
        self.0.extend_from_slice(v.as_bytes());
        self
    }
    /// A string of at most 65535 bytes, length first (two bytes, big-endian).
    pub fn str16(&mut self, v: &str) -> &mut Self {
        self.0.extend_from_slice(&(v.len() as u16).to_be_bytes());
        self.0.extend_from_slice(v.as_bytes());
        self
    }
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }
    pub fn position(&self) -> usize {
        self.pos
    }
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], WireError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(WireError::Truncated {
            at: self.bytes.len(),
        })?;
        let out = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(out)
    }
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], WireError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }
    pub fn u8(&mut self) -> Result<u8, WireError> {
        Ok(self.array::<1>()?[0])
    }
    pub fn u64(&mut self) -> Result<u64, WireError> {
        Ok(u64::from_be_bytes(self.array()?))
    }
    pub fn i64(&mut self) -> Result<i64, WireError> {
        Ok(i64::from_be_bytes(self.array()?))
    }
    /// Reads a [`Writer::varint`]; only its one shortest encoding is accepted.
    pub fn varint(&mut self) -> Result<u64, WireError> {
        let mut v = 0u64;
        for i in 0..10 {
            let byte = self.u8()?;
            let bits = u64::from(byte & 0x7F);
            if i == 9 && byte > 1 {
                return Err(self.invalid("varint", "more than 64 bits"));
            }
            v |= bits << (7 * i);
            if byte & 0x80 == 0 {
                if byte == 0 && i > 0 {
                    return Err(self.invalid("varint", "not in its shortest form"));
                }
                return Ok(v);
            }
        }
        Err(self.invalid("varint", "longer than 10 bytes"))
    }
    pub fn varint_i64(&mut self) -> Result<i64, WireError> {
        let v = self.varint()?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }
    pub fn str8(&mut self, what: &'static str) -> Result<&'a str, WireError> {
        let len = usize::from(self.u8()?);
        self.utf8(len, what)
    }
    pub fn str16(&mut self, what: &'static str) -> Result<&'a str, WireError> {
        let len = usize::from(u16::from_be_bytes(self.array()?));
        self.utf8(len, what)
    }
    fn utf8(&mut self, len: usize, what: &'static str) -> Result<&'a str, WireError> {
        let at = self.pos;
        std::str::from_utf8(self.take(len)?).map_err(|_| WireError::Utf8 { what, at })
    }
    pub fn invalid(&self, what: &'static str, why: impl Into<String>) -> WireError {
        WireError::Invalid {
            what,
            at: self.pos,
            why: why.into(),
        }
    }
    /// Reads a format's version byte: one of `known`, or an error on `what` naming the version.
    pub fn version(&mut self, what: &'static str, known: &[u8]) -> Result<u8, WireError> {
        let version = self.u8()?;
        if known.contains(&version) {
            Ok(version)
        } else {
            Err(self.invalid(what, format!("unknown version {version}")))
        }
    }
    /// Ends decoding; leftover bytes are an error, never ignored.
    pub fn finish(self) -> Result<(), WireError> {
        match self.bytes.len() - self.pos {
            0 => Ok(()),
            extra => Err(WireError::Trailing {
                at: self.pos,
                extra,
            }),
        }
    }
}

/// Wraps bytes in PEM armour with the given label (64-column base64, LF line ends).
pub fn to_pem(label: &str, bytes: &[u8]) -> String {
    pem_rfc7468::encode_string(label, pem_rfc7468::LineEnding::LF, bytes).unwrap_or_default()
}

/// Unwraps PEM armour, requiring exactly `label`.
pub fn from_pem(label: &'static str, text: &str) -> Result<Vec<u8>, WireError> {
    let invalid = |why: String| WireError::Invalid {
        what: "PEM armour",
        at: 0,
        why,
    };
    let (found, bytes) =
        pem_rfc7468::decode_vec(text.as_bytes()).map_err(|e| invalid(e.to_string()))?;
    if found != label {
        return Err(invalid(format!("expected \"{label}\", found \"{found}\"")));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_in_their_shortest_form_only() {
        for v in [0, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            let mut w = Writer::new();
            w.varint(v);
            let bytes = w.into_bytes();
            let mut r = Reader::new(&bytes);
            assert_eq!(r.varint().unwrap(), v);
            r.finish().unwrap();
        }
        for v in [0, -1, 1, 1_790_000_000, i64::MIN, i64::MAX] {
            let mut w = Writer::new();
            w.varint_i64(v);
            let bytes = w.into_bytes();
            assert_eq!(Reader::new(&bytes).varint_i64().unwrap(), v);
        }
        let len = |write: fn(&mut Writer)| {
            let mut w = Writer::new();
            write(&mut w);
            w.into_bytes().len()
        };
        assert_eq!(
            len(|w| {
                w.varint(127);
            }),
            1
        );
        assert_eq!(
            len(|w| {
                w.varint_i64(1_790_000_000);
            }),
            5
        );
        // Overlong, too long, overflowing, truncated.
        for bad in [
            &[0x80, 0x00][..],
            &[0xFF; 11][..],
            &[0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02][..],
            &[0x80][..],
        ] {
            assert!(Reader::new(bad).varint().is_err(), "{bad:?}");
        }
    }
}
