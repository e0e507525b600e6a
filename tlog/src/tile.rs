//! Tile coordinates as c2sp.org/tlog-tiles writes them (`tile/<L>/<N>[.p/<W>]`,
//! `tile/entries/<N>[.p/<W>]`, height 8), and a hash tile's bytes.
//!
//! `tlog_tiles::Tile` speaks Go's sumdb paths (`tile/8/<L>/...`, `tile/8/data/...`), which carry the
//! height; tlog-tiles fixes the height at 8 and drops it. This module is that translation, and leaves
//! the parsing (three-digit groups, the canonical form) to the crate.

use tlog_tiles::Tile;

use crate::error::TlogError;
use crate::tree::HashReader;

/// tlog-tiles' tile height: 256 hashes or entries a full tile.
pub const TILE_HEIGHT: u8 = 8;
/// Entries or hashes in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;

const GO_PREFIX: &str = "tile/8/";
const GO_DATA_PREFIX: &str = "tile/8/data/";

/// A decimal number written without leading zeros (the canonical form tlog-tiles asks for).
fn canonical_number(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// A tile: a level of hashes or the entries, its index within the level, its width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TilePath(Tile);

impl TilePath {
    /// Parses a tlog-tiles path, with or without its leading `tile/`. Only the canonical form is
    /// accepted (no leading zeros beyond the three digits, no `.p/256`, no `.p/0`).
    pub fn parse(path: &str) -> Result<Self, TlogError> {
        let bad = || TlogError::TilePath(path.to_owned());
        let rest = path.strip_prefix("tile/").unwrap_or(path);
        // `Tile::from_path` panics on a level of 64 or more and on a width of 0 (it builds the tile
        // with `Tile::new`, which asserts): check both here, on outside input, before it sees them.
        let (level, _) = rest.split_once('/').ok_or_else(bad)?;
        if level != "entries" && canonical_number(level).is_none_or(|l| l >= 64) {
            return Err(bad());
        }
        if let Some((_, width)) = rest.rsplit_once(".p/") {
            if !canonical_number(width).is_some_and(|w| (1..TILE_WIDTH).contains(&w)) {
                return Err(bad());
            }
        }
        let go = match rest.strip_prefix("entries/") {
            Some(index) => format!("{GO_DATA_PREFIX}{index}"),
            None => format!("{GO_PREFIX}{rest}"),
        };
        let tile = Tile::from_path(&go).map_err(|_| bad())?;
        if tile.width() == 0 || tile.height() != TILE_HEIGHT {
            return Err(bad());
        }
        Ok(TilePath(tile))
    }

    /// A full or partial hash tile at `level` (below 64), `width` from 1 to 256.
    pub fn hashes(level: u8, index: u64, width: u32) -> Result<Self, TlogError> {
        Self::checked(level, index, width, false)
    }

    /// A full or partial entries tile, `width` from 1 to 256.
    pub fn entries(index: u64, width: u32) -> Result<Self, TlogError> {
        Self::checked(0, index, width, true)
    }

    fn checked(level: u8, index: u64, width: u32, entries: bool) -> Result<Self, TlogError> {
        if level >= 64 || width == 0 || u64::from(width) > TILE_WIDTH {
            let what = if entries {
                "entries".to_owned()
            } else {
                level.to_string()
            };
            return Err(TlogError::TilePath(format!(
                "tile/{what}/{index}.p/{width}"
            )));
        }
        Ok(TilePath(Tile::new(
            TILE_HEIGHT,
            level,
            index,
            width,
            entries,
        )))
    }

    /// The path, `tile/...`.
    pub fn path(&self) -> String {
        let go = self.0.path();
        if let Some(rest) = go.strip_prefix(GO_DATA_PREFIX) {
            format!("tile/entries/{rest}")
        } else {
            format!("tile/{}", go.strip_prefix(GO_PREFIX).unwrap_or(&go))
        }
    }

    pub fn is_entries(&self) -> bool {
        self.0.is_data()
    }

    pub fn level(&self) -> u8 {
        self.0.level()
    }

    pub fn index(&self) -> u64 {
        self.0.level_index()
    }

    pub fn width(&self) -> u32 {
        self.0.width()
    }

    pub fn is_full(&self) -> bool {
        u64::from(self.width()) == TILE_WIDTH
    }

    /// The first entry's number, for an entries tile.
    pub fn first_entry(&self) -> u64 {
        self.index().saturating_mul(TILE_WIDTH)
    }

    /// Whether a tree of `size` entries holds everything this tile lists. A full tile stays the same
    /// forever once it does (it may be cached for a year); a partial one is served only while its
    /// width is what the tree has, or less.
    pub fn within(&self, size: u64) -> bool {
        let level = u32::from(self.level()) * u32::from(TILE_HEIGHT);
        let available = size.checked_shr(level).unwrap_or(0);
        self.index()
            .checked_mul(TILE_WIDTH)
            .and_then(|start| start.checked_add(u64::from(self.width())))
            .is_some_and(|end| end <= available)
    }

    /// A hash tile's bytes: its hashes, 32 bytes each, in order.
    pub fn hash_tile(&self, size: u64, reader: &impl HashReader) -> Result<Vec<u8>, TlogError> {
        if self.is_entries() {
            return Err(TlogError::TilePath(self.path()));
        }
        if !self.within(size) {
            return Err(TlogError::TileBeyondTree {
                path: self.path(),
                size,
            });
        }
        self.0
            .read_data(reader)
            .map_err(|e| TlogError::tree("reading a hash tile", e))
    }
}
