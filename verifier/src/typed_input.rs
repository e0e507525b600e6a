//! Numbers typed by hand into the typed lookup (`GET /lookup`), made into a GTIN-14 and the
//! serials worth looking up, forgiving what people naturally type.
//!
//! People copy what is printed under a barcode or beside the QR code, so:
//!
//! - a GTIN-8, GTIN-12 or GTIN-13 (the 13 digits under an EAN barcode) is padded with leading
//!   zeros to the GTIN-14 the codes carry (GS1 defines the padded forms as the same GTIN);
//! - spaces and hyphens (grouping, as in `690-1234-56789-2`) are dropped, and so are full-width
//!   digits, brackets and spaces that a Chinese input method produces, by mapping them to ASCII;
//! - the `(01)` and `(21)` application identifiers printed in front of each line are stripped if
//!   pasted, and a whole `(01)…(10)…(21)…` line pasted into the GTIN box is split;
//! - a serial is looked up as typed first, then in capitals and without hyphens
//!   ([`serial_candidates`]).
//!
//! Anything else is a [`TypedError`] naming the field and why, so the page can say it in the
//! reader's language. The strict parsers in `signer` stay strict: this module only decides which
//! strings to hand them.
//!
//! ```
//! use verifier::typed_input::normalise;
//! let typed = normalise("6901234567892", " x7k2-p9qd ").unwrap();
//! assert_eq!(typed.gtin.as_str(), "06901234567892");
//! assert_eq!(typed.serials, ["x7k2-p9qd", "X7K2-P9QD", "x7k2p9qd", "X7K2P9QD"]);
//! ```

use registry::{CodeKey, Registry, RegistryError};
use signer::{Gtin, Problem, Serial, Timestamp};

use crate::verdict::{self, Verdict};

/// Which box of the form was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypedField {
    Gtin,
    Serial,
}

/// Why typed numbers cannot be looked up; the pages put it in words (`i18n::Texts::typed_problem`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TypedError {
    GtinEmpty,
    /// A character that is not a digit, as typed.
    GtinChar(char),
    /// Not 8, 12, 13 or 14 digits.
    GtinLength(usize),
    /// The last digit should be `expected`.
    GtinCheckDigit {
        expected: char,
    },
    SerialEmpty,
    /// A character GS1 serials cannot hold.
    SerialChar(char),
    /// More than 20 characters.
    SerialTooLong(usize),
}

impl TypedError {
    pub fn field(&self) -> TypedField {
        match self {
            TypedError::GtinEmpty
            | TypedError::GtinChar(_)
            | TypedError::GtinLength(_)
            | TypedError::GtinCheckDigit { .. } => TypedField::Gtin,
            TypedError::SerialEmpty | TypedError::SerialChar(_) | TypedError::SerialTooLong(_) => {
                TypedField::Serial
            }
        }
    }
}

/// Typed numbers, normalised: the GTIN, and the serials to try in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Typed {
    pub gtin: Gtin,
    /// At least one; the first is the serial as typed (less spaces and a pasted `(21)`).
    pub serials: Vec<String>,
}

/// Normalises both boxes of the form; the GTIN's problems are reported first, as the form asks
/// for it first. A whole label line pasted into the GTIN box gives the serial when that box is
/// empty.
pub fn normalise(gtin_typed: &str, serial_typed: &str) -> Result<Typed, TypedError> {
    let (gtin_text, pasted_serial) = split_gtin_box(&clean(gtin_typed));
    let gtin = gtin(&gtin_text)?;
    let serial_text = match pasted_serial {
        Some(pasted) if clean(serial_typed).is_empty() => pasted,
        _ => serial_typed.to_owned(),
    };
    Ok(Typed {
        gtin,
        serials: serial_candidates(&serial_text)?,
    })
}

/// The typed lookup's verdict: that of the first serial candidate the registry holds, else that
/// of the serial as typed (so an unknown code is reported as typed, not in capitals).
pub fn judge(
    registry: &Registry,
    typed: &Typed,
    now: Timestamp,
) -> Result<(Verdict, Option<CodeKey>), RegistryError> {
    let mut as_typed = None;
    for serial in &typed.serials {
        let judged = verdict::judge_typed(registry, typed.gtin.as_str(), serial, now)?;
        if judged.1.is_some() {
            return Ok(judged);
        }
        as_typed.get_or_insert(judged);
    }
    match as_typed {
        Some(judged) => Ok(judged),
        // `serials` is never empty; should it be, the strict path gives the answer.
        None => verdict::judge_typed(registry, typed.gtin.as_str(), "", now),
    }
}

/// A GTIN as typed (already [`clean`]ed or not), padded to 14 digits.
pub fn gtin(typed: &str) -> Result<Gtin, TypedError> {
    let cleaned = clean(typed);
    let digits = cleaned.strip_prefix("(01)").unwrap_or(&cleaned);
    if digits.is_empty() {
        return Err(TypedError::GtinEmpty);
    }
    if let Some(ch) = digits.chars().find(|c| !c.is_ascii_digit()) {
        return Err(TypedError::GtinChar(ch));
    }
    if ![8, 12, 13, 14].contains(&digits.len()) {
        return Err(TypedError::GtinLength(digits.len()));
    }
    let padded = format!("{digits:0>14}");
    Gtin::parse(&padded).map_err(|e| match e.problem {
        Problem::CheckDigit { expected, .. } => TypedError::GtinCheckDigit { expected },
        // Digits only and 14 of them: the check digit is all that can be wrong.
        _ => TypedError::GtinLength(digits.len()),
    })
}

/// A GTIN as a Digital Link's path writes it (`/01/{gtin}`): digits only, 8, 12, 13 or 14 of them,
/// padded to 14. A link is printed or generated, not typed, so none of [`gtin`]'s forgiveness for
/// spaces, full-width digits or a pasted `(01)` applies; the errors are the same, so a page can say
/// what is wrong in the same words.
pub fn gtin_in_link(segment: &str) -> Result<Gtin, TypedError> {
    match segment.chars().find(|c| !c.is_ascii_digit()) {
        Some(ch) => Err(TypedError::GtinChar(ch)),
        None => gtin(segment),
    }
}

/// The serials to look up, in order: as typed (less spaces and a pasted `(21)`), then in capitals
/// if it has small letters, then without hyphens if it has any. Serials partseal generates are
/// capitals and digits only (`signer::gs1::SERIAL_ALPHABET`), so a phone keyboard's small letters
/// are nearly always the only thing wrong; but GS1 serials may hold small letters and hyphens, so
/// the serial exactly as typed is tried first and a maker's own mixed-case serial still matches.
pub fn serial_candidates(typed: &str) -> Result<Vec<String>, TypedError> {
    let cleaned = clean(typed).replace(' ', "");
    let serial = cleaned.strip_prefix("(21)").unwrap_or(&cleaned);
    if serial.is_empty() {
        return Err(TypedError::SerialEmpty);
    }
    if let Err(e) = Serial::parse(serial) {
        return Err(match e.problem {
            Problem::BadChar { ch, .. } => TypedError::SerialChar(ch),
            Problem::TooLong { len, .. } => TypedError::SerialTooLong(len),
            _ => TypedError::SerialEmpty,
        });
    }
    let mut out = vec![serial.to_owned()];
    let mut push = |s: String| {
        if !s.is_empty() && !out.contains(&s) {
            out.push(s);
        }
    };
    push(serial.to_ascii_uppercase());
    push(serial.replace('-', ""));
    push(serial.replace('-', "").to_ascii_uppercase());
    Ok(out)
}

/// Full-width forms to ASCII, whitespace dropped (it is never part of a GTIN or serial), and for
/// the GTIN hyphens too; the serial keeps hyphens until [`serial_candidates`] tries without them.
fn clean(typed: &str) -> String {
    typed
        .chars()
        .filter_map(|c| {
            let c = match c {
                // Full-width ASCII variants (U+FF01..U+FF5E), e.g. `６９０` and `（０１）`.
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
                _ => c,
            };
            (!c.is_whitespace()).then_some(c)
        })
        .collect()
}

/// The GTIN box's text without hyphens and without what follows a pasted `(10)` or `(21)`; and
/// the serial after a pasted `(21)`, if any.
fn split_gtin_box(cleaned: &str) -> (String, Option<String>) {
    let (gtin, serial) = match cleaned.find("(21)") {
        Some(i) => (&cleaned[..i], Some(cleaned[i + 4..].to_owned())),
        None => (cleaned, None),
    };
    let gtin = gtin.find("(10)").map_or(gtin, |i| &gtin[..i]);
    (gtin.replace('-', ""), serial)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gtin_of(typed: &str) -> Result<String, TypedError> {
        gtin(&split_gtin_box(&clean(typed)).0).map(|g| g.as_str().to_owned())
    }

    #[test]
    fn short_gtins_are_padded_and_grouping_dropped() {
        for typed in [
            "6901234567892",
            "06901234567892",
            " 690 1234 56789 2 ",
            "690-1234-56789-2",
            "(01)06901234567892",
            "(01) 6901234567892",
            "６９０１２３４５６７８９２",
            "（０１）06901234567892",
        ] {
            assert_eq!(gtin_of(typed).as_deref(), Ok("06901234567892"), "{typed}");
        }
        // GTIN-12 (UPC-A) and GTIN-8 (EAN-8).
        assert_eq!(gtin_of("036000291452").as_deref(), Ok("00036000291452"));
        assert_eq!(gtin_of("96385074").as_deref(), Ok("00000096385074"));
    }

    #[test]
    fn a_link_s_gtin_is_digits_only() {
        assert_eq!(
            gtin_in_link("6901234567892").map(|g| g.as_str().to_owned()),
            Ok("06901234567892".to_owned())
        );
        for (segment, problem) in [
            (":00000000", TypedError::GtinChar(':')),
            ("0000 0000", TypedError::GtinChar(' ')),
            ("６９０１２３４５６７８９２", TypedError::GtinChar('６')),
            ("null,null", TypedError::GtinChar('n')),
            (
                "6901234567893",
                TypedError::GtinCheckDigit { expected: '2' },
            ),
            ("690123456", TypedError::GtinLength(9)),
        ] {
            assert_eq!(gtin_in_link(segment).err(), Some(problem), "{segment}");
        }
    }

    #[test]
    fn a_wrong_gtin_says_what_is_wrong() {
        assert_eq!(
            gtin_of("6901234567893"),
            Err(TypedError::GtinCheckDigit { expected: '2' })
        );
        assert_eq!(
            gtin_of("690123456789"),
            Err(TypedError::GtinCheckDigit { expected: '7' })
        );
        assert_eq!(
            gtin_of("69012345"),
            Err(TypedError::GtinCheckDigit { expected: '1' })
        );
        assert_eq!(gtin_of("690123456"), Err(TypedError::GtinLength(9)));
        assert_eq!(gtin_of("690123456789012"), Err(TypedError::GtinLength(15)));
        assert_eq!(gtin_of("69O1234567892"), Err(TypedError::GtinChar('O')));
        assert_eq!(gtin_of("   "), Err(TypedError::GtinEmpty));
        assert_eq!(gtin_of("(01)"), Err(TypedError::GtinEmpty));
        assert_eq!(TypedError::GtinEmpty.field(), TypedField::Gtin);
        assert_eq!(TypedError::SerialEmpty.field(), TypedField::Serial);
    }

    #[test]
    fn serials_are_tried_as_typed_then_in_capitals_then_without_hyphens() {
        assert_eq!(serial_candidates(" X7K2P9QD4M ").unwrap(), ["X7K2P9QD4M"]);
        assert_eq!(
            serial_candidates("(21)x7k2 p9qd").unwrap(),
            ["x7k2p9qd", "X7K2P9QD"]
        );
        assert_eq!(serial_candidates("AB-12").unwrap(), ["AB-12", "AB12"]);
        assert_eq!(serial_candidates("-").unwrap(), ["-"]);
        assert_eq!(serial_candidates(""), Err(TypedError::SerialEmpty));
        assert_eq!(serial_candidates("(21)"), Err(TypedError::SerialEmpty));
        assert_eq!(serial_candidates("AB#1"), Err(TypedError::SerialChar('#')));
        assert_eq!(serial_candidates("序列"), Err(TypedError::SerialChar('序')));
        assert_eq!(
            serial_candidates(&"A".repeat(21)),
            Err(TypedError::SerialTooLong(21))
        );
    }

    #[test]
    fn a_whole_pasted_line_fills_both_boxes() {
        let typed = normalise("(01)06901234567892(10)L2026A(21)PAGE0001", "").unwrap();
        assert_eq!(typed.gtin.as_str(), "06901234567892");
        assert_eq!(typed.serials, ["PAGE0001"]);
        // A serial typed in its own box wins over one pasted with the GTIN.
        let typed = normalise("(01)06901234567892(21)PAGE0001", "PAGE0002").unwrap();
        assert_eq!(typed.serials, ["PAGE0002"]);
        // The GTIN is checked first, as the form asks for it first.
        assert_eq!(normalise("123", ""), Err(TypedError::GtinLength(3)));
        assert_eq!(
            normalise("6901234567892", " "),
            Err(TypedError::SerialEmpty)
        );
    }
}
