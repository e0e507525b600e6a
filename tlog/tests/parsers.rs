//! Every parser of outside input in the log: round trips, and no panic on any input (a tile path is
//! a request's path; an entry, a bundle and a note come from a server the reader does not trust).

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions may unwrap too

use proptest::prelude::*;
use tlog::entry::{bundle, unbundle};
use tlog::{Entry, LogVerifier, TilePath};

proptest! {
    #[test]
    fn tile_paths_round_trip(level in 0u8..64, index in any::<u64>(), width in 1u32..=256, entries in any::<bool>()) {
        let tile = if entries { TilePath::entries(index, width) } else { TilePath::hashes(level, index, width) }.unwrap();
        prop_assert_eq!(TilePath::parse(&tile.path()).unwrap(), tile);
    }

    #[test]
    fn tile_path_parsing_never_panics(s in "(tile/)?(entries|[0-9x]{0,4})(/[x0-9]{0,5}){0,8}(\\.p/[0-9]{0,4})?") {
        let _ = TilePath::parse(&s);
    }

    #[test]
    fn tile_path_parsing_never_panics_on_any_text(s in ".{0,60}") {
        let _ = TilePath::parse(&s);
    }

    #[test]
    fn bundles_round_trip(entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 0..20)) {
        let b = bundle(entries.iter().map(Vec::as_slice)).unwrap();
        prop_assert_eq!(unbundle(&b).unwrap(), entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
    }

    #[test]
    fn entries_bundles_and_keys_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Entry::from_bytes(&bytes);
        let _ = unbundle(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = LogVerifier::parse(&text);
    }

    #[test]
    fn checkpoint_opening_never_panics(text in "[a-z./]{1,20}\n[0-9]{0,5}\n[A-Za-z0-9+/=]{0,50}\n\n(— [a-z./]{1,20} [A-Za-z0-9+/=]{0,100}\n)?") {
        let key = LogVerifier::parse("PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW").unwrap();
        let _ = key.open_checkpoint(&text);
    }
}
