//! Rebuilding the log's tree from its tiles, as a monitor does: every entry bundle re-hashed into
//! leaf hashes, every hash tile compared with the subtrees those leaves make, and the root compared
//! with the checkpoint's. Memory stays bounded whatever the log's size: the walk holds one entries
//! tile, at most one hash tile per level, and the tree's [`Frontier`] (at most 64 hashes).
//!
//! A tree of `n` entries has, at tree level `h`, `n >> h` complete subtrees; tlog-tiles serves the
//! hashes of levels `0, 8, 16, …` as hash tiles `tile/<h/8>/<N>[.p/<W>]` (256 a full tile) and the
//! entries as `tile/entries/<N>[.p/<W>]`. The walk fetches exactly the tiles a tree of the
//! checkpoint's size holds, full or partial, in order.

use std::fmt;

use tlog_tiles::{node_hash, record_hash};

use crate::entry::{Entry, unbundle};
use crate::tile::{TILE_HEIGHT, TILE_WIDTH, TilePath};
use crate::tree::{Hash, empty_root};

/// Where the walk gets tiles from (a monitor: HTTP; tests: a tree in memory).
pub trait TileSource {
    /// The tile's bytes, or why they could not be had.
    fn fetch(&mut self, tile: &TilePath) -> Result<Vec<u8>, String>;
}

/// The right edge of a tree: the roots of its complete subtrees, largest first (one per set bit
/// of its size). Enough to compute its root, and to extend it by more entries, without its leaves.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

/// A subtree the walk completed: its level in the tree, its index within the level, its hash.
#[derive(Clone, Copy, Debug)]
struct Node {
    level: u32,
    index: u64,
    hash: Hash,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Frontier::default()
    }

    /// A frontier saved before (its size and [`Frontier::nodes`]); `None` if the number of hashes
    /// is not the one a tree of that size has.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Option<Self> {
        (nodes.len() == size.count_ones() as usize).then_some(Frontier { size, nodes })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The complete subtrees' roots, largest (leftmost) first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// The tree's root (RFC 6962: the subtrees folded from the right).
    pub fn root(&self) -> Hash {
        let mut nodes = self.nodes.iter().rev();
        let Some(&last) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(last, |right, &left| node_hash(left, right))
    }

    /// The entries `[first, first + 2^level)` the `i`-th node covers.
    fn span(&self, i: usize) -> (u64, u64) {
        let mut first = 0;
        let mut bits = (0..64u32).rev().filter(|b| (self.size >> b) & 1 == 1);
        for _ in 0..i {
            if let Some(b) = bits.next() {
                first += 1u64 << b;
            }
        }
        let width = bits.next().map_or(0, |b| 1u64 << b);
        (first, first + width)
    }

    /// Appends one leaf; returns the subtrees it completed above it (lowest first).
    fn push(&mut self, leaf: Hash) -> Vec<Node> {
        let index = self.size;
        let mut hash = leaf;
        let mut completed = Vec::new();
        let mut level = 0u32;
        while (index >> level) & 1 == 1 {
            let Some(left) = self.nodes.pop() else { break };
            hash = node_hash(left, hash);
            level += 1;
            completed.push(Node {
                level,
                index: index >> level,
                hash,
            });
        }
        self.nodes.push(hash);
        self.size += 1;
        completed
    }
}

/// Where a log's tiles, or its checkpoint, differ from the tree they should make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Difference {
    /// A tile could not be fetched.
    Fetch { tile: String, reason: String },
    /// An entries tile that is no bundle of the width asked, or holds no valid entry.
    Entries { tile: String, reason: String },
    /// A hash tile of the wrong length.
    HashTile { tile: String, len: usize },
    /// A hash the tile serves that the entries below it do not make.
    Hash {
        tile: String,
        /// The hash's position within the tile.
        position: u64,
        /// The entries whose subtree it is.
        entries: (u64, u64),
    },
    /// The tree rebuilt has another root than the checkpoint signs.
    Root { size: u64 },
    /// The checkpoint's tree is smaller than one verified before.
    Shrunk { size: u64, known: u64 },
    /// The tree's first `known` entries are not the tree verified before: the first subtree
    /// that differs.
    Rewritten { known: u64, entries: (u64, u64) },
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Difference::Fetch { tile, reason } => write!(f, "{tile}: cannot fetch it: {reason}"),
            Difference::Entries { tile, reason } => write!(f, "{tile}: {reason}"),
            Difference::HashTile { tile, len } => write!(
                f,
                "{tile}: {len} bytes, which is not the tile's hashes (32 bytes each)"
            ),
            Difference::Hash {
                tile,
                position,
                entries: (a, b),
            } => write!(
                f,
                "{tile}: hash {position} differs from the hash of entries {a}..{b} (re-hashed from the entry tiles)"
            ),
            Difference::Root { size } => write!(
                f,
                "the tree of {size} entries rebuilt from the tiles has another root than the checkpoint signs"
            ),
            Difference::Shrunk { size, known } => write!(
                f,
                "the log shrank: its checkpoint has {size} entries, and a checkpoint of {known} entries was verified before"
            ),
            Difference::Rewritten {
                known,
                entries: (a, b),
            } => write!(
                f,
                "the log's history was rewritten: its first {known} entries are not those of the checkpoint verified before; entries {a}..{b} differ"
            ),
        }
    }
}

impl std::error::Error for Difference {}

/// The hash tile of one level the walk is comparing against: fetched when the walk first needs a
/// hash from it.
struct HashTiles {
    size: u64,
    held: Vec<Option<(u64, Vec<u8>)>>,
}

impl HashTiles {
    fn check(
        &mut self,
        source: &mut impl TileSource,
        level: u32,
        index: u64,
        hash: Hash,
    ) -> Result<(), Difference> {
        let tile_level = level / u32::from(TILE_HEIGHT);
        let tile_index = index / TILE_WIDTH;
        let count = self.size >> level;
        let width = (count - tile_index * TILE_WIDTH).min(TILE_WIDTH);
        let path = TilePath::hashes(tile_level as u8, tile_index, width as u32).map_err(|e| {
            Difference::Entries {
                tile: format!("level {tile_level} index {tile_index}"),
                reason: e.to_string(),
            }
        })?;
        let slot = tile_level as usize;
        if self.held.len() <= slot {
            self.held.resize(slot + 1, None);
        }
        if self.held[slot]
            .as_ref()
            .is_none_or(|(i, _)| *i != tile_index)
        {
            let bytes = source.fetch(&path).map_err(|reason| Difference::Fetch {
                tile: path.path(),
                reason,
            })?;
            if bytes.len() as u64 != width * 32 {
                return Err(Difference::HashTile {
                    tile: path.path(),
                    len: bytes.len(),
                });
            }
            self.held[slot] = Some((tile_index, bytes));
        }
        let position = index % TILE_WIDTH;
        let at = (position * 32) as usize;
        let served = self.held[slot]
            .as_ref()
            .and_then(|(_, bytes)| bytes.get(at..at + 32));
        if served != Some(&hash.0[..]) {
            let first = index << level;
            return Err(Difference::Hash {
                tile: path.path(),
                position,
                entries: (first, first + (1u64 << level)),
            });
        }
        Ok(())
    }
}

/// Extends `frontier` (a tree verified before, or the empty tree) to the checkpoint's tree of
/// `size` entries and `root`: fetches the entries after it and the hash tiles over them, re-hashes
/// and compares everything, and checks the root. `progress` is told the number of entries walked.
/// On success `frontier` is the checkpoint's tree; on a difference it is left part-way.
pub fn extend(
    frontier: &mut Frontier,
    size: u64,
    root: Hash,
    source: &mut impl TileSource,
    progress: &mut dyn FnMut(u64),
) -> Result<(), Difference> {
    extend_seeing(frontier, size, root, source, progress, &mut |_, _| ())
}

/// [`extend`], showing `seen` each entry walked with its index (a maker's check looks for its
/// codes' tags). An entry is shown once its leaf hash matched the hash tile; the walk's result
/// says whether the tree as a whole held.
pub fn extend_seeing(
    frontier: &mut Frontier,
    size: u64,
    root: Hash,
    source: &mut impl TileSource,
    progress: &mut dyn FnMut(u64),
    seen: &mut dyn FnMut(u64, &Entry),
) -> Result<(), Difference> {
    if size < frontier.size {
        return Err(Difference::Shrunk {
            size,
            known: frontier.size,
        });
    }
    let mut hashes = HashTiles {
        size,
        held: Vec::new(),
    };
    while frontier.size < size {
        let tile_index = frontier.size / TILE_WIDTH;
        let first = tile_index * TILE_WIDTH;
        let width = (size - first).min(TILE_WIDTH);
        let path =
            TilePath::entries(tile_index, width as u32).map_err(|e| Difference::Entries {
                tile: format!("entries index {tile_index}"),
                reason: e.to_string(),
            })?;
        let bytes = source.fetch(&path).map_err(|reason| Difference::Fetch {
            tile: path.path(),
            reason,
        })?;
        let entries = unbundle(&bytes).map_err(|e| Difference::Entries {
            tile: path.path(),
            reason: e.to_string(),
        })?;
        if entries.len() as u64 != width {
            return Err(Difference::Entries {
                tile: path.path(),
                reason: format!("{} entries where the tile has {width}", entries.len()),
            });
        }
        for (position, entry) in entries
            .iter()
            .enumerate()
            .skip((frontier.size - first) as usize)
        {
            let decoded = Entry::from_bytes(entry).map_err(|e| Difference::Entries {
                tile: path.path(),
                reason: format!(
                    "entry {position} (log index {}): {e}",
                    first + position as u64
                ),
            })?;
            let leaf = record_hash(entry);
            hashes.check(source, 0, frontier.size, leaf)?;
            seen(frontier.size, &decoded);
            for node in frontier.push(leaf) {
                if node.level % u32::from(TILE_HEIGHT) == 0 {
                    hashes.check(source, node.level, node.index, node.hash)?;
                }
            }
        }
        progress(frontier.size);
    }
    if frontier.root() != root {
        return Err(Difference::Root { size });
    }
    Ok(())
}

/// After [`extend`] from a saved frontier failed on the root: walks the whole tree from its first
/// entry and says where its first `known.size()` entries differ from `known` (a rewritten
/// history), or the difference the walk finds in the tiles themselves.
pub fn locate(
    known: &Frontier,
    size: u64,
    root: Hash,
    source: &mut impl TileSource,
    progress: &mut dyn FnMut(u64),
) -> Difference {
    let mut prefix = Frontier::new();
    if let Err(difference) = extend(&mut prefix, known.size, known.root(), source, progress) {
        return match difference {
            Difference::Root { .. } => {
                let first = (0..known.nodes.len())
                    .find(|&i| prefix.nodes.get(i) != known.nodes.get(i))
                    .unwrap_or(0);
                Difference::Rewritten {
                    known: known.size,
                    entries: known.span(first),
                }
            }
            other => other,
        };
    }
    match extend(&mut prefix, size, root, source, progress) {
        Err(difference) => difference,
        // Both walks hold: the tiles changed between them; say what the first one found.
        Ok(()) => Difference::Root { size },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::MemoryTree;
    use crate::commitment::Tag;
    use crate::entry::bundle;

    /// A log in memory serving tiles as the service does, with a hook to tamper with one.
    struct Served {
        tree: MemoryTree,
        entries: Vec<[u8; 65]>,
        tamper: Option<(String, usize)>,
        fetched: Vec<String>,
    }

    impl Served {
        fn new(n: u64, salt: u8) -> Self {
            let mut tree = MemoryTree::new();
            let mut entries = Vec::new();
            for i in 0..n {
                let mut tag = [salt; 32];
                tag[..8].copy_from_slice(&i.to_be_bytes());
                let e = Entry::batch(Tag(tag), Hash([salt; 32])).to_bytes();
                tree.push(&e).unwrap();
                entries.push(e);
            }
            Served {
                tree,
                entries,
                tamper: None,
                fetched: Vec::new(),
            }
        }
    }

    impl TileSource for Served {
        fn fetch(&mut self, tile: &TilePath) -> Result<Vec<u8>, String> {
            self.fetched.push(tile.path());
            let mut bytes = if tile.is_entries() {
                let first = tile.first_entry() as usize;
                let end = first + tile.width() as usize;
                bundle(self.entries[first..end].iter().map(|e| &e[..])).unwrap()
            } else {
                tile.hash_tile(self.tree.size(), &self.tree).unwrap()
            };
            if let Some((path, at)) = &self.tamper {
                if *path == tile.path() {
                    bytes[*at] ^= 1;
                }
            }
            Ok(bytes)
        }
    }

    fn walk(served: &mut Served, frontier: &mut Frontier) -> Result<(), Difference> {
        let size = served.tree.size();
        let root = served.tree.root().unwrap();
        extend(frontier, size, root, served, &mut |_| ())
    }

    #[test]
    fn a_growing_log_walks_in_steps_to_every_root() {
        let full = Served::new(70_000, 1);
        let mut frontier = Frontier::new();
        for size in [0, 1, 2, 255, 256, 257, 700, 65_536, 65_537, 70_000] {
            let mut served = Served::new(0, 1);
            for e in &full.entries[..size as usize] {
                served.tree.push(e).unwrap();
            }
            served.entries = full.entries[..size as usize].to_vec();
            walk(&mut served, &mut frontier).unwrap();
            assert_eq!(frontier.size(), size);
            assert_eq!(frontier.root(), served.tree.root().unwrap());
        }
    }

    #[test]
    fn full_and_partial_tiles_as_tlog_tiles_names_them() {
        let mut served = Served::new(513, 2);
        walk(&mut served, &mut Frontier::new()).unwrap();
        assert_eq!(
            served.fetched,
            [
                "tile/entries/000",
                "tile/0/000",
                "tile/1/000.p/2",
                "tile/entries/001",
                "tile/0/001",
                "tile/entries/002.p/1",
                "tile/0/002.p/1",
            ]
        );
    }

    #[test]
    fn a_tampered_entry_or_hash_tile_is_named() {
        let mut served = Served::new(300, 3);
        served.tamper = Some(("tile/entries/001.p/44".into(), 67 * 5 + 10));
        let found = walk(&mut served, &mut Frontier::new()).unwrap_err();
        assert_eq!(
            found,
            Difference::Hash {
                tile: "tile/0/001.p/44".into(),
                position: 5,
                entries: (261, 262)
            }
        );

        let mut served = Served::new(300, 3);
        served.tamper = Some(("tile/1/000.p/1".into(), 0));
        let found = walk(&mut served, &mut Frontier::new()).unwrap_err();
        assert!(
            matches!(&found, Difference::Hash { tile, position: 0, entries: (0, 256) } if tile == "tile/1/000.p/1"),
            "{found}"
        );

        // Level-0 hashes and entries changed alike: only the root tells.
        let mut served = Served::new(300, 3);
        served.entries[7][40] ^= 1;
        let found = walk(&mut served, &mut Frontier::new()).unwrap_err();
        assert!(matches!(
            found,
            Difference::Hash { .. } | Difference::Root { .. }
        ));
    }

    #[test]
    fn a_shrunk_or_rewritten_log_is_caught_against_the_known_tree() {
        let mut known = Frontier::new();
        walk(&mut Served::new(600, 4), &mut known).unwrap();
        let mut smaller = Served::new(500, 4);
        assert_eq!(
            walk(&mut smaller, &mut known.clone()),
            Err(Difference::Shrunk {
                size: 500,
                known: 600
            })
        );

        // The same first 520 entries, then others: a fork at 520.
        let mut forked = Served::new(0, 4);
        let other = Served::new(700, 5);
        forked.entries = Served::new(600, 4).entries[..520].to_vec();
        forked.entries.extend_from_slice(&other.entries[520..]);
        for e in &forked.entries {
            forked.tree.push(e).unwrap();
        }
        let mut resumed = known.clone();
        assert_eq!(
            walk(&mut forked, &mut resumed),
            Err(Difference::Root { size: 700 })
        );
        let size = forked.tree.size();
        let root = forked.tree.root().unwrap();
        let found = locate(&known, size, root, &mut forked, &mut |_| ());
        // 600 = 512 + 64 + 16 + 8: the subtree 512..576 holds the first changed entry.
        assert_eq!(
            found,
            Difference::Rewritten {
                known: 600,
                entries: (512, 576)
            }
        );
    }

    #[test]
    fn a_frontier_round_trips_through_its_parts() {
        let mut frontier = Frontier::new();
        walk(&mut Served::new(777, 6), &mut frontier).unwrap();
        let again = Frontier::from_parts(frontier.size(), frontier.nodes().to_vec()).unwrap();
        assert_eq!(again, frontier);
        assert!(Frontier::from_parts(777, vec![Hash([0; 32])]).is_none());
    }
}
