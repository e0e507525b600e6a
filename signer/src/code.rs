//! The signed part code and its GS1 Digital Link URI.
//!
//! ```text
//! {base}/01/{gtin}[/10/{lot}]/21/{serial}?k={key id}&s={signature}
//! ```
//! The signature covers a canonical byte string over the identity and the key id ([`signed_message`]),
//! never the base URL, so the verifier can move without reprinting labels. `docs/code-format.md` is the
//! normative description; this module is its reference implementation.
//!
//! A carton or pallet label carries its SSCC's Digital Link, `{base}/00/{sscc}`, unsigned: a carton is
//! data about its contents, and its number proves nothing ([`CartonLink`]).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use crate::error::{Field, ParseError, Problem};
use crate::gs1::{Gtin, Lot, Serial, Sscc, is_gs1_char};
use crate::keys::{KEY_ID_LEN, KeyId};

/// Domain separation tag that starts every signed message; the `v1` is the format version.
pub const CODE_DOMAIN: &[u8] = b"partseal-code-v1\0";

/// Longest input the parser looks at. A v1 code with a long base URL is under 400 bytes; anything far
/// longer is refused before it is scanned, so hostile input costs nothing.
pub const MAX_INPUT_LEN: usize = 2048;

/// Most query parameters accepted (GS1 Digital Link allows extra ones; they are not signed).
pub const MAX_QUERY_PARAMS: usize = 16;

/// Longest base URL accepted.
pub const MAX_BASE_URL_LEN: usize = 256;

/// What a part is: GTIN, optional lot, serial.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PartId {
    pub gtin: Gtin,
    pub lot: Option<Lot>,
    pub serial: Serial,
}

impl PartId {
    /// The GS1 Digital Link path, `/01/{gtin}[/10/{lot}]/21/{serial}`, percent-encoded.
    pub fn path(&self) -> String {
        let mut out = String::with_capacity(64);
        out.push_str("/01/");
        out.push_str(self.gtin.as_str());
        if let Some(lot) = &self.lot {
            out.push_str("/10/");
            percent_encode_into(lot.as_str(), &mut out);
        }
        out.push_str("/21/");
        percent_encode_into(self.serial.as_str(), &mut out);
        out
    }

    /// The GS1 human-readable form, `(01)06901234567892(10)L2026A(21)X7K2P9QD4M`.
    pub fn element_string(&self) -> String {
        match &self.lot {
            Some(lot) => format!("(01){}(10){}(21){}", self.gtin, lot, self.serial),
            None => format!("(01){}(21){}", self.gtin, self.serial),
        }
    }
}

/// The exact bytes a manufacturer signs for a part:
///
/// ```text
/// "partseal-code-v1" 0x00 | gtin (14 ASCII digits) | len(lot) (1 byte, 0 if none) | lot
///                         | len(serial) (1 byte) | serial | key id (8 bytes)
/// ```
pub fn signed_message(part: &PartId, key_id: &KeyId) -> Vec<u8> {
    let lot = part.lot.as_ref().map_or("", |l| l.as_str());
    let serial = part.serial.as_str();
    let mut m =
        Vec::with_capacity(CODE_DOMAIN.len() + 14 + 2 + lot.len() + serial.len() + KEY_ID_LEN);
    m.extend_from_slice(CODE_DOMAIN);
    m.extend_from_slice(part.gtin.as_str().as_bytes());
    // Lengths fit a byte: lot and serial are at most 20 characters by construction.
    m.push(lot.len() as u8);
    m.extend_from_slice(lot.as_bytes());
    m.push(serial.len() as u8);
    m.extend_from_slice(serial.as_bytes());
    m.extend_from_slice(&key_id.0);
    m
}

/// A part identity signed by a manufacturer's key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedCode {
    pub part: PartId,
    pub key_id: KeyId,
    pub signature: Signature,
}

impl SignedCode {
    /// Signs `part` with `key`.
    pub fn sign(part: PartId, key: &SigningKey) -> Self {
        let key_id = KeyId::of(&key.verifying_key());
        let signature = key.sign(&signed_message(&part, &key_id));
        SignedCode {
            part,
            key_id,
            signature,
        }
    }

    /// Checks the signature with `key`, whose id must be the code's key id.
    ///
    /// Uses `verify_strict`: it rejects non-canonical signatures and small-order keys and `R` values, so
    /// one part cannot carry two different valid signatures (a mauled copy of a genuine label must not
    /// look like a second genuine code), and results agree with other strict verifiers.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), ed25519_dalek::SignatureError> {
        if KeyId::of(key) != self.key_id {
            return Err(ed25519_dalek::SignatureError::new());
        }
        key.verify_strict(&signed_message(&self.part, &self.key_id), &self.signature)
    }

    /// The path and query: `/01/.../21/...?k=...&s=...`, what goes after the base URL.
    pub fn path_and_query(&self) -> String {
        let mut out = self.part.path();
        out.push_str("?k=");
        out.push_str(&self.key_id.to_base64());
        out.push_str("&s=");
        URL_SAFE_NO_PAD.encode_string(self.signature.to_bytes(), &mut out);
        out
    }

    /// The full URI the QR code carries.
    pub fn to_uri(&self, base: &BaseUrl) -> String {
        let mut out = String::with_capacity(base.0.len() + 160);
        out.push_str(&base.0);
        out.push_str(&self.path_and_query());
        out
    }

    /// Parses a full URI (`https://host/01/...`) or a bare path and query (`/01/...?k=..&s=..`).
    /// The key id and signature must be present; use [`DigitalLink::parse`] for unsigned links.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        DigitalLink::parse(input)?.into_signed()
    }
}

/// The base URL labels point at, e.g. `https://verify.example.cn`: http or https, a host, an optional
/// path prefix, no query, no fragment, no trailing slash, and no `01`, `10` or `21` segment (those are
/// the GS1 path's keys, so a parser could not tell where the base ends).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let err = |p| ParseError::new(Field::BaseUrl, p);
        let s = s.strip_suffix('/').unwrap_or(s);
        if s.len() > MAX_BASE_URL_LEN {
            return Err(err(Problem::TooLong {
                len: s.len(),
                max: MAX_BASE_URL_LEN,
            }));
        }
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .ok_or_else(|| err(Problem::NotAUri))?;
        if let Some((pos, ch)) = s.chars().enumerate().find(|&(_, c)| {
            !c.is_ascii_graphic() || matches!(c, '?' | '#' | '%' | '"' | '<' | '>' | '\\')
        }) {
            return Err(err(Problem::BadChar { ch, pos }));
        }
        let mut segments = rest.split('/');
        if segments.next().is_none_or(str::is_empty) {
            return Err(err(Problem::Empty));
        }
        for seg in segments {
            if seg.is_empty() {
                return Err(err(Problem::EmptySegment));
            }
            if is_part_ai(seg) {
                return Err(err(Problem::NotABase));
            }
        }
        Ok(BaseUrl(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A parsed GS1 Digital Link for a part, signed or not.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct DigitalLink {
    /// Scheme, host and path prefix; `None` for a bare `/01/...` input.
    pub base: Option<String>,
    pub part: PartId,
    pub key_id: Option<KeyId>,
    pub signature: Option<Signature>,
}

impl DigitalLink {
    /// Parses a URI or a bare `/01/...` path with optional query. Surrounding ASCII whitespace (a
    /// scanner's trailing newline) is ignored; everything else must be exact.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        let input = checked_input(input)?;
        let (before_query, query) = match input.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (input, None),
        };
        let (base, path) = split_base(before_query)?;
        let part = parse_path(path)?;
        let (key_id, signature) = match query {
            Some(q) => parse_query(q)?,
            None => (None, None),
        };
        Ok(DigitalLink {
            base: base.map(str::to_owned),
            part,
            key_id,
            signature,
        })
    }

    /// The signed code, if the link carried both `k` and `s`.
    pub fn into_signed(self) -> Result<SignedCode, ParseError> {
        let key_id = self
            .key_id
            .ok_or(ParseError::new(Field::KeyId, Problem::Missing))?;
        let signature = self
            .signature
            .ok_or(ParseError::new(Field::Signature, Problem::Missing))?;
        Ok(SignedCode {
            part: self.part,
            key_id,
            signature,
        })
    }
}

impl Sscc {
    /// The GS1 Digital Link path of a carton, `/00/{sscc}`.
    pub fn path(&self) -> String {
        format!("/00/{}", self.as_str())
    }

    /// The URI a carton label's QR code carries, `{base}/00/{sscc}`.
    pub fn to_uri(&self, base: &BaseUrl) -> String {
        format!("{}{}", base.as_str(), self.path())
    }
}

/// A scanned or typed carton number: the carton's Digital Link (`{base}/00/{sscc}` or a bare
/// `/00/{sscc}`, extra query parameters ignored), the element string printed under its barcode
/// (`(00){sscc}`), what a scanner types for that GS1-128 barcode (`00{sscc}`, 20 digits, after the
/// symbology identifier `]C1` or the FNC1 character (ASCII GS) when the scanner sends them), or the 18
/// digits alone.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CartonLink {
    /// Scheme, host and path prefix; `None` for every form but a full URI.
    pub base: Option<String>,
    pub sscc: Sscc,
}

impl CartonLink {
    /// Parses any of the forms above. Surrounding ASCII whitespace (a scanner's trailing newline) is
    /// ignored; everything else must be exact.
    pub fn parse(input: &str) -> Result<Self, ParseError> {
        // `]C1` and FNC1 say only "GS1 data follows"; a scanner set up for GS1 sends them.
        let trimmed = input.trim_matches(|c: char| c.is_ascii_whitespace());
        let gs1 = trimmed.strip_prefix("]C1").unwrap_or(trimmed);
        let input = checked_input(gs1.trim_start_matches('\u{1d}'))?;
        let bare = |sscc| Ok(CartonLink { base: None, sscc });
        if input.bytes().all(|b| b.is_ascii_digit()) {
            return match input.strip_prefix("00") {
                Some(digits) if input.len() == Sscc::LEN + 2 => bare(Sscc::parse(digits)?),
                _ => bare(Sscc::parse(input)?),
            };
        }
        if let Some(digits) = input.strip_prefix("(00)") {
            return bare(Sscc::parse(digits)?);
        }
        let (before_query, query) = match input.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (input, None),
        };
        if let Some(q) = query {
            if q.split('&').count() > MAX_QUERY_PARAMS {
                return Err(ParseError::new(
                    Field::Query,
                    Problem::TooManyParameters {
                        max: MAX_QUERY_PARAMS,
                    },
                ));
            }
        }
        let (base, path) = if before_query.starts_with('/') {
            (None, before_query)
        } else {
            let rest = before_query
                .strip_prefix("https://")
                .or_else(|| before_query.strip_prefix("http://"))
                .ok_or(ParseError::new(Field::Input, Problem::NotAUri))?;
            let host_end = rest
                .find('/')
                .ok_or(ParseError::new(Field::Sscc, Problem::Missing))?;
            if host_end == 0 {
                return Err(ParseError::new(Field::BaseUrl, Problem::Empty));
            }
            let split = before_query.len() - rest.len() + host_end;
            (Some(&before_query[..split]), &before_query[split..])
        };
        // The SSCC is the last segment, after the last `00` key; the base before it may hold no GS1 key.
        let start = path
            .rfind("/00/")
            .ok_or(ParseError::new(Field::Sscc, Problem::Missing))?;
        let prefix = &path[..start];
        if prefix.split('/').any(|seg| is_part_ai(seg) || seg == "00") {
            return Err(ParseError::new(Field::Path, Problem::OutOfOrder));
        }
        if base.is_none() && !prefix.is_empty() {
            return Err(ParseError::new(
                Field::Path,
                Problem::UnsupportedAi {
                    ai: prefix.trim_start_matches('/').chars().take(8).collect(),
                },
            ));
        }
        let digits = &path[start + 4..];
        if digits.contains('/') {
            return Err(ParseError::new(Field::Path, Problem::Trailing));
        }
        Ok(CartonLink {
            base: base.map(|b| format!("{b}{prefix}")),
            sscc: Sscc::parse(digits)?,
        })
    }
}

/// The checks every scanned input passes first: bounded length, surrounding whitespace trimmed, then
/// non-empty, printable ASCII only, no fragment.
fn checked_input(input: &str) -> Result<&str, ParseError> {
    let input_err = |p| ParseError::new(Field::Input, p);
    if input.len() > MAX_INPUT_LEN {
        return Err(input_err(Problem::TooLong {
            len: input.len(),
            max: MAX_INPUT_LEN,
        }));
    }
    let input = input.trim_matches(|c: char| c.is_ascii_whitespace());
    if input.is_empty() {
        return Err(input_err(Problem::Empty));
    }
    if let Some((pos, ch)) = input
        .chars()
        .enumerate()
        .find(|&(_, c)| !c.is_ascii_graphic())
    {
        return Err(input_err(Problem::BadChar { ch, pos }));
    }
    if input.contains('#') {
        return Err(input_err(Problem::Fragment));
    }
    Ok(input)
}

/// Splits `https://host/prefix/01/...` into the base and the GS1 path, which starts at the first `01`
/// segment (a base URL may not contain one, nor a `10` or `21`).
fn split_base(s: &str) -> Result<(Option<&str>, &str), ParseError> {
    if s.starts_with('/') {
        return Ok((None, s));
    }
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or(ParseError::new(Field::Input, Problem::NotAUri))?;
    let scheme_len = s.len() - rest.len();
    let host_end = rest
        .find('/')
        .ok_or(ParseError::new(Field::Gtin, Problem::Missing))?;
    if host_end == 0 {
        return Err(ParseError::new(Field::BaseUrl, Problem::Empty));
    }
    let path = &rest[host_end..];
    let gs1_start = path
        .find("/01/")
        .ok_or(ParseError::new(Field::Gtin, Problem::Missing))?;
    // A prefix holding a lot or serial key is a misordered GS1 path, not a base URL.
    if path[..gs1_start].split('/').any(is_part_ai) {
        return Err(ParseError::new(Field::Path, Problem::OutOfOrder));
    }
    let split = scheme_len + host_end + gs1_start;
    Ok((Some(&s[..split]), &s[split..]))
}

/// The GS1 application identifiers a part code's path uses; a base URL may not hold them as segments.
fn is_part_ai(segment: &str) -> bool {
    matches!(segment, "01" | "10" | "21")
}

/// Parses `/01/{gtin}[/10/{lot}]/21/{serial}`.
fn parse_path(path: &str) -> Result<PartId, ParseError> {
    let path_err = |p| ParseError::new(Field::Path, p);
    let mut segments = path.split('/');
    // `path` starts with '/', so the first piece is empty.
    segments.next();
    let mut gtin = None;
    let mut lot = None;
    let mut serial = None;
    let mut last_rank = 0;
    while let Some(ai) = segments.next() {
        if serial.is_some() {
            return Err(path_err(Problem::Trailing));
        }
        if ai.is_empty() {
            return Err(path_err(Problem::EmptySegment));
        }
        let (rank, field) = match ai {
            "01" => (1, Field::Gtin),
            "10" => (2, Field::Lot),
            "21" => (3, Field::Serial),
            _ => {
                return Err(path_err(Problem::UnsupportedAi {
                    ai: ai.chars().take(8).collect(),
                }));
            }
        };
        if rank <= last_rank {
            return Err(path_err(if rank == last_rank {
                Problem::Duplicate
            } else {
                Problem::OutOfOrder
            }));
        }
        last_rank = rank;
        let raw = segments
            .next()
            .ok_or(ParseError::new(field, Problem::Missing))?;
        let value = percent_decode(field, raw)?;
        match field {
            Field::Gtin => gtin = Some(Gtin::parse(&value)?),
            Field::Lot => lot = Some(Lot::parse(&value)?),
            _ => serial = Some(Serial::parse(&value)?),
        }
    }
    Ok(PartId {
        gtin: gtin.ok_or(ParseError::new(Field::Gtin, Problem::Missing))?,
        lot,
        serial: serial.ok_or(ParseError::new(Field::Serial, Problem::Missing))?,
    })
}

/// Parses the query: `k` and `s` exactly once each (if present), other parameters ignored but counted.
fn parse_query(query: &str) -> Result<(Option<KeyId>, Option<Signature>), ParseError> {
    let mut key_id = None;
    let mut signature = None;
    for (i, param) in query.split('&').enumerate() {
        if i >= MAX_QUERY_PARAMS {
            return Err(ParseError::new(
                Field::Query,
                Problem::TooManyParameters {
                    max: MAX_QUERY_PARAMS,
                },
            ));
        }
        let (name, value) = param.split_once('=').unwrap_or((param, ""));
        match name {
            "k" => {
                if key_id.is_some() {
                    return Err(ParseError::new(Field::KeyId, Problem::Duplicate));
                }
                let bytes: [u8; KEY_ID_LEN] = decode_fixed(Field::KeyId, value)?;
                key_id = Some(KeyId(bytes));
            }
            "s" => {
                if signature.is_some() {
                    return Err(ParseError::new(Field::Signature, Problem::Duplicate));
                }
                let bytes: [u8; 64] = decode_fixed(Field::Signature, value)?;
                signature = Some(Signature::from_bytes(&bytes));
            }
            _ => {}
        }
    }
    Ok((key_id, signature))
}

/// Decodes unpadded base64url of exactly `N` bytes; the length is checked first so the error is precise.
fn decode_fixed<const N: usize>(field: Field, value: &str) -> Result<[u8; N], ParseError> {
    let expected = (N * 4).div_ceil(3);
    if value.is_empty() {
        return Err(ParseError::new(field, Problem::Empty));
    }
    if let Some((pos, ch)) = value
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(ParseError::new(
            field,
            if ch == '=' || ch == '+' || ch == '/' || ch == '%' {
                Problem::NotBase64Url
            } else {
                Problem::BadChar { ch, pos }
            },
        ));
    }
    if value.len() != expected {
        return Err(ParseError::new(
            field,
            Problem::WrongLength {
                expected,
                found: value.len(),
            },
        ));
    }
    // The engine rejects non-zero trailing bits, so each value has exactly one accepted spelling.
    // With the alphabet and the length checked above, that is all it can refuse.
    let mut out = [0u8; N];
    match URL_SAFE_NO_PAD.decode_slice(value, &mut out) {
        Ok(n) if n == N => Ok(out),
        _ => Err(ParseError::new(field, Problem::NonCanonical)),
    }
}

/// Percent-encodes everything but unreserved characters, as GS1 Digital Link requires for character set
/// 82 values in a path segment.
fn percent_encode_into(value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// Decodes `%XX` escapes. Raw characters must be ones a path segment may hold; the decoded value is
/// checked against character set 82 by the field's own parser.
fn percent_decode(field: Field, raw: &str) -> Result<String, ParseError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |j: usize| bytes.get(j).and_then(|&h| (h as char).to_digit(16));
            match (hex(i + 1), hex(i + 2)) {
                (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
                _ => {
                    return Err(ParseError::new(
                        field,
                        Problem::BadPercentEncoding { pos: i },
                    ));
                }
            }
            i += 3;
        } else {
            if !is_gs1_char(b) || b == b'/' || b == b'?' {
                return Err(ParseError::new(
                    field,
                    Problem::BadChar {
                        ch: b as char,
                        pos: i,
                    },
                ));
            }
            out.push(b);
            i += 1;
        }
    }
    // A decoded byte outside ASCII is not in character set 82; the field parser reports it by position.
    Ok(out.iter().map(|&b| b as char).collect())
}
