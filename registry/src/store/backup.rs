//! The backup file, the same for every engine: a magic header, then each table's entries in
//! [`Table::ALL`] order as `tag (1) || key length (4) || key || value length (4) || value`, an end
//! mark, the entry count (8) and the SHA-256 of everything before it.
//!
//! [`Reader`] checks the file as it goes and yields its last entry only after the count and the
//! checksum matched, so a loader that stops at the first error has loaded nothing of a damaged
//! file into a transaction it then rolls back.

use std::io::{Read, Write};

use sha2::{Digest, Sha256};

use super::tables::{Entry, Table, Tables};
use super::{StoreError, StoreResult};

const MAGIC: &[u8; 16] = b"PARTSEAL-BACKUP1";
const END: u8 = 0xFF;
const MAX_KEY: usize = 1 << 20;
const MAX_VALUE: usize = 64 << 20;

/// Writes every table of `tables`, as of one moment ([`Tables::snapshot`]), to `out`; returns the
/// number of entries.
pub fn write(tables: &dyn Tables, out: &mut dyn Write) -> StoreResult<u64> {
    let mut hasher = Sha256::new();
    let mut write = |bytes: &[u8]| -> StoreResult<()> {
        hasher.update(bytes);
        out.write_all(bytes)?;
        Ok(())
    };
    write(MAGIC)?;
    let mut entries = 0u64;
    for entry in tables.snapshot() {
        let (table, k, v) = entry?;
        write(&[table.tag()])?;
        write(&(k.len() as u32).to_be_bytes())?;
        write(&k)?;
        write(&(v.len() as u32).to_be_bytes())?;
        write(&v)?;
        entries += 1;
    }
    write(&[END])?;
    write(&entries.to_be_bytes())?;
    let digest = hasher.finalize();
    out.write_all(&digest)?;
    out.flush()?;
    Ok(entries)
}

fn bad(why: &str) -> StoreError {
    StoreError::Backup(format!("not a valid partseal backup: {why}"))
}

/// A backup's entries, checked as they are read.
pub struct Reader<'a> {
    input: &'a mut dyn Read,
    hasher: Sha256,
    entries: u64,
    started: bool,
    /// An entry read but held back until the next one (or the end) has been read: the last one
    /// comes out only once the file checked out.
    held: Option<Entry>,
    done: bool,
}

impl<'a> Reader<'a> {
    pub fn new(input: &'a mut dyn Read) -> Self {
        Reader {
            input,
            hasher: Sha256::new(),
            entries: 0,
            started: false,
            held: None,
            done: false,
        }
    }

    fn read(&mut self, n: usize) -> StoreResult<Vec<u8>> {
        let mut buf = vec![0u8; n];
        self.input
            .read_exact(&mut buf)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => bad("it ends early (truncated?)"),
                _ => StoreError::Io(e),
            })?;
        self.hasher.update(&buf);
        Ok(buf)
    }

    fn len(&mut self, max: usize, what: &str) -> StoreResult<usize> {
        let len = u32::from_be_bytes(self.read(4)?.try_into().unwrap_or_default()) as usize;
        if len > max {
            return Err(bad(what));
        }
        Ok(len)
    }

    /// The next entry, or `None` at a valid end.
    fn next_entry(&mut self) -> StoreResult<Option<Entry>> {
        if !self.started {
            self.started = true;
            if self.read(MAGIC.len())? != MAGIC {
                return Err(bad("wrong header"));
            }
        }
        let tag = self.read(1)?[0];
        if tag == END {
            self.finish()?;
            return Ok(None);
        }
        let table = Table::of_tag(tag).ok_or_else(|| bad("unknown table tag"))?;
        let len = self.len(MAX_KEY, "a key longer than 1 MiB")?;
        let key = self.read(len)?;
        let len = self.len(MAX_VALUE, "a value longer than 64 MiB")?;
        let value = self.read(len)?;
        self.entries += 1;
        Ok(Some((table, key, value)))
    }

    fn finish(&mut self) -> StoreResult<()> {
        let count = u64::from_be_bytes(self.read(8)?.try_into().unwrap_or_default());
        let expected = std::mem::take(&mut self.hasher).finalize();
        let mut found = [0u8; 32];
        self.input
            .read_exact(&mut found)
            .map_err(|_| bad("the checksum is missing"))?;
        if found[..] != expected[..] {
            return Err(bad("the checksum does not match (damaged file)"));
        }
        if count != self.entries {
            return Err(bad("the record count does not match"));
        }
        let mut rest = [0u8; 1];
        if self.input.read(&mut rest)? != 0 {
            return Err(bad("bytes after the end"));
        }
        Ok(())
    }
}

impl Iterator for Reader<'_> {
    type Item = StoreResult<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            match self.next_entry() {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(None) => {
                    self.done = true;
                    return self.held.take().map(Ok);
                }
                Ok(Some(entry)) => {
                    if let Some(previous) = self.held.replace(entry) {
                        return Some(Ok(previous));
                    }
                }
            }
        }
    }
}
