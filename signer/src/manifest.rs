//! The batch manifest `partseal sign` writes and `labels` and `registry register` read: JSON Lines,
//! one signed code per line.
//!
//! ```json
//! {"uri":"https://verify.example.cn/01/06901234567892/10/L2026A/21/X7K2P9QD4MABC?k=...&s=...","gtin":"06901234567892","lot":"L2026A","serial":"X7K2P9QD4MABC","name":"Brake pad"}
//! ```
//! `uri` is the source of truth (it is what the label carries); `gtin`, `lot` and `serial` repeat its
//! parts for tools that do not parse URIs, and a reader rejects a line where they disagree. `lot` and
//! `name` (a short part name for the label) are omitted when absent. Unknown fields are rejected.

use std::io::BufRead;

use serde::{Deserialize, Serialize};

use crate::code::{BaseUrl, SignedCode};
use crate::error::ParseError;

/// Longest manifest line read; a longer one is an error, not an allocation.
pub const MAX_LINE_LEN: usize = 8 * 1024;
/// Longest part name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Line {
    uri: String,
    gtin: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lot: Option<String>,
    serial: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    name: Option<String>,
}

/// One manifest line: a signed code and the URI printed for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    pub code: SignedCode,
    pub uri: String,
    pub name: Option<String>,
}

/// Why a line was rejected.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("not a manifest line: {0}")]
    Json(String),
    #[error("uri: {0}")]
    Code(#[from] ParseError),
    #[error("uri has no base URL; manifest URIs are complete (https://...)")]
    NoBase,
    #[error("field {field:?} says {stated:?} but the uri says {actual:?}")]
    Mismatch {
        field: &'static str,
        stated: String,
        actual: String,
    },
    #[error("name is invalid: {0}")]
    Name(String),
    #[error("line is longer than {MAX_LINE_LEN} bytes")]
    TooLong,
    #[error("line is not UTF-8")]
    NotUtf8,
}

/// A rejected line, with its 1-based line number.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("line {line}: {error}")]
    Line { line: u64, error: LineError },
    #[error("reading the manifest failed after line {line}: {source}")]
    Io { line: u64, source: std::io::Error },
}

/// Checks a part name for the label: 1 to 64 characters, no control characters.
pub fn validate_name(name: &str) -> Result<(), String> {
    let chars = name.chars().count();
    if name.trim().is_empty() || chars > MAX_NAME_CHARS {
        return Err(format!(
            "must be 1 to {MAX_NAME_CHARS} characters (found {chars})"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("may not hold control characters".into());
    }
    Ok(())
}

impl ManifestEntry {
    pub fn new(code: SignedCode, base: &BaseUrl, name: Option<String>) -> Self {
        ManifestEntry {
            uri: code.to_uri(base),
            code,
            name,
        }
    }

    /// The JSON line, without the trailing newline.
    pub fn to_json_line(&self) -> String {
        let part = &self.code.part;
        let line = Line {
            uri: self.uri.clone(),
            gtin: part.gtin.to_string(),
            lot: part.lot.as_ref().map(|l| l.to_string()),
            serial: part.serial.to_string(),
            name: self.name.clone(),
        };
        // Serialising plain strings cannot fail.
        serde_json::to_string(&line).unwrap_or_default()
    }

    pub fn parse_line(text: &str) -> Result<Self, LineError> {
        let line: Line = serde_json::from_str(text).map_err(|e| LineError::Json(e.to_string()))?;
        let link = crate::code::DigitalLink::parse(&line.uri)?;
        if link.base.is_none() {
            return Err(LineError::NoBase);
        }
        let code = link.into_signed()?;
        let part = &code.part;
        let check = |field, stated: Option<&str>, actual: Option<&str>| {
            if stated == actual {
                Ok(())
            } else {
                Err(LineError::Mismatch {
                    field,
                    stated: stated.unwrap_or("").into(),
                    actual: actual.unwrap_or("").into(),
                })
            }
        };
        check("gtin", Some(&line.gtin), Some(part.gtin.as_str()))?;
        check(
            "lot",
            line.lot.as_deref(),
            part.lot.as_ref().map(|l| l.as_str()),
        )?;
        check("serial", Some(&line.serial), Some(part.serial.as_str()))?;
        if let Some(name) = &line.name {
            validate_name(name).map_err(LineError::Name)?;
        }
        Ok(ManifestEntry {
            code,
            uri: line.uri,
            name: line.name,
        })
    }
}

/// Reads a manifest line by line, with bounded memory per line. Blank lines are skipped.
pub struct ManifestReader<R> {
    input: R,
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> ManifestReader<R> {
    pub fn new(input: R) -> Self {
        ManifestReader {
            input,
            line: 0,
            buf: Vec::with_capacity(512),
        }
    }

    /// The number of the line last read.
    pub fn line(&self) -> u64 {
        self.line
    }

    fn next_line(&mut self) -> Result<Option<Result<&str, LineError>>, std::io::Error> {
        self.buf.clear();
        let limit = (MAX_LINE_LEN + 2) as u64;
        let n = std::io::Read::take(&mut self.input, limit).read_until(b'\n', &mut self.buf)?;
        if n == 0 {
            return Ok(None);
        }
        self.line += 1;
        if !self.buf.ends_with(b"\n") && n as u64 == limit {
            // Skip the rest of the over-long line so the next call starts on a fresh one.
            loop {
                let chunk = self.input.fill_buf()?;
                if chunk.is_empty() {
                    break;
                }
                match chunk.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.input.consume(i + 1);
                        break;
                    }
                    None => {
                        let len = chunk.len();
                        self.input.consume(len);
                    }
                }
            }
            return Ok(Some(Err(LineError::TooLong)));
        }
        while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
            self.buf.pop();
        }
        Ok(Some(
            std::str::from_utf8(&self.buf).map_err(|_| LineError::NotUtf8),
        ))
    }
}

impl<R: BufRead> Iterator for ManifestReader<R> {
    type Item = Result<ManifestEntry, ManifestError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = self.line;
            let text = match self.next_line() {
                Ok(None) => return None,
                Ok(Some(t)) => t,
                Err(source) => return Some(Err(ManifestError::Io { line, source })),
            };
            let parsed = match text {
                Ok(t) if t.trim().is_empty() => continue,
                Ok(t) => ManifestEntry::parse_line(t),
                Err(e) => Err(e),
            };
            let line = self.line;
            return Some(parsed.map_err(|error| ManifestError::Line { line, error }));
        }
    }
}
