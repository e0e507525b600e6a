//! Backup files restored into a new data directory. The input is the body of a backup (records,
//! the end tag, the count); the target frames it with the header and a matching checksum, so the
//! fuzzer explores the records rather than the SHA-256 (an input starting with `!` is taken as a
//! whole file, checksum and all). No input panics; a backup that restores is backed up again, and
//! restoring that gives the same backup.
#![no_main]

use libfuzzer_sys::fuzz_target;
use registry::{Caches, Create, Location};
use sha2::{Digest, Sha256};

const MAGIC: &[u8] = b"PARTSEAL-BACKUP1";

fn restore(file: &[u8]) -> Option<(tempfile::TempDir, Vec<u8>)> {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let location = Location::Directory(tmp.path().join("data"));
    location.restore(&mut &file[..]).ok()?;
    let caches = Caches {
        pages: 1 << 20,
        records: 0,
    };
    let store = location
        .open(Create::Never, caches)
        .expect("a restored store opens");
    let mut out = Vec::new();
    store.backup(&mut out).expect("a restored store backs up");
    Some((tmp, out))
}

fuzz_target!(|data: &[u8]| {
    let file = match data.strip_prefix(b"!") {
        Some(whole) => whole.to_vec(),
        None => {
            let mut file = MAGIC.to_vec();
            file.extend_from_slice(data);
            let sum = Sha256::digest(&file);
            file.extend_from_slice(&sum);
            file
        }
    };
    if let Some((_dir, backup)) = restore(&file) {
        let (_again, second) = restore(&backup).expect("a store's own backup restores");
        assert_eq!(second, backup);
    }
});
