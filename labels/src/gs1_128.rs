//! GS1-128 for a carton's SSCC: the Code 128 symbol of `(00)` and the 18 digits, as a row of bars.
//!
//! A GS1-128 symbol is Code 128 whose first character after the start is FNC1, which tells a reader
//! the data is GS1 element strings (zbar reports it as `]C1`). The SSCC's element string is all
//! digits, so the whole symbol is code set C: start C, FNC1, ten digit pairs (`00` and the 18 digits),
//! the check character and stop. That is small enough to write here rather than take a dependency
//! for it; the tests read the bars back with rxing and, in the CLI tests, with zbar.

use signer::Sscc;

/// Start character of code set C.
const START_C: u8 = 105;
/// FNC1 in first position: the GS1 marker.
const FNC1: u8 = 102;
/// The stop character's index in [`PATTERNS`].
const STOP: usize = 106;
/// Light modules needed on each side of the bars (Code 128's minimum quiet zone).
pub const QUIET_ZONE: usize = 10;

/// The widths of each character's bars and spaces, alternately, starting with a bar: 11 modules
/// each, the stop 13 (ISO/IEC 15417 table 1).
const PATTERNS: [&str; 107] = [
    "212222", "222122", "222221", "121223", "121322", "131222", "122213", "122312", "132212",
    "221213", "221312", "231212", "112232", "122132", "122231", "113222", "123122", "123221",
    "223211", "221132", "221231", "213212", "223112", "312131", "311222", "321122", "321221",
    "312212", "322112", "322211", "212123", "212321", "232121", "111323", "131123", "131321",
    "112313", "132113", "132311", "211313", "231113", "231311", "112133", "112331", "132131",
    "113123", "113321", "133121", "313121", "211331", "231131", "213113", "213311", "213131",
    "311123", "311321", "331121", "312113", "312311", "332111", "314111", "221411", "431111",
    "111224", "111422", "121124", "121421", "141122", "141221", "112214", "112412", "122114",
    "122411", "142112", "142211", "241211", "221114", "413111", "241112", "134111", "111242",
    "121142", "121241", "114212", "124112", "124211", "411212", "421112", "421211", "212141",
    "214121", "412121", "111143", "111341", "131141", "114113", "114311", "411113", "411311",
    "113141", "114131", "311141", "411131", "211412", "211214", "211232", "2331112",
];

/// Modules of an SSCC's bars: start, FNC1, ten pairs and the check character of 11 modules each,
/// and the stop of 13.
pub const SSCC_MODULES: usize = 13 * 11 + 13;

/// The symbol characters of `(00)SSCC`: start C, FNC1, the ten digit pairs and the check character
/// (the stop is added by [`modules`]).
pub fn sscc_codewords(sscc: &Sscc) -> Vec<u8> {
    let digits = format!("00{}", sscc.as_str()).into_bytes();
    let mut words = vec![START_C, FNC1];
    words.extend(
        digits
            .chunks_exact(2)
            .map(|pair| (pair[0] - b'0') * 10 + (pair[1] - b'0')),
    );
    // The start counts once, every later character by its position.
    let sum: usize = words
        .iter()
        .enumerate()
        .map(|(i, &w)| i.max(1) * w as usize)
        .sum();
    words.push((sum % 103) as u8);
    words
}

/// The bars of the symbol of `sscc`, one entry per module, `true` for dark, without quiet zones.
pub fn modules(sscc: &Sscc) -> Vec<bool> {
    let mut out = Vec::with_capacity(SSCC_MODULES);
    let patterns = sscc_codewords(sscc)
        .into_iter()
        .map(|w| PATTERNS[w as usize])
        .chain([PATTERNS[STOP]]);
    for pattern in patterns {
        for (i, width) in pattern.bytes().enumerate() {
            out.extend(std::iter::repeat_n(i % 2 == 0, (width - b'0') as usize));
        }
    }
    out
}

/// The human-readable line printed under the bars, grouped as GS1's examples print an SSCC:
/// extension digit, seven digits, nine digits, check digit: `(00) 3 5012345 000000001 7`.
pub fn human_readable(sscc: &Sscc) -> String {
    let s = sscc.as_str();
    format!("(00) {} {} {} {}", &s[..1], &s[1..8], &s[8..17], &s[17..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_character_is_eleven_modules_and_the_stop_thirteen() {
        for (i, p) in PATTERNS.iter().enumerate() {
            let width: u32 = p.bytes().map(|b| u32::from(b - b'0')).sum();
            assert_eq!(width, if i == STOP { 13 } else { 11 }, "character {i}");
        }
    }

    #[test]
    fn the_sscc_is_start_c_fnc1_and_digit_pairs_with_the_check_character() {
        // GS1's SSCC example (General Specifications, AI 00): extension 1, company prefix 0614141,
        // serial reference 234567890, check digit 8.
        let sscc = Sscc::parse("106141412345678908").unwrap();
        let words = sscc_codewords(&sscc);
        assert_eq!(
            &words[..12],
            &[105, 102, 0, 10, 61, 41, 41, 23, 45, 67, 89, 8]
        );
        let sum = 105
            + 102
            + 3 * 10
            + 4 * 61
            + 5 * 41
            + 6 * 41
            + 7 * 23
            + 8 * 45
            + 9 * 67
            + 10 * 89
            + 11 * 8;
        assert_eq!(words[12] as u32, sum % 103);
        assert_eq!(modules(&sscc).len(), SSCC_MODULES);
        assert_eq!(human_readable(&sscc), "(00) 1 0614141 234567890 8");
    }
}
