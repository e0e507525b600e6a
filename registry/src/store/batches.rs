//! The batch table: what the codes of one lot share (maker, key, lot, part name), stored once and
//! named by number in each code's record. Every engine keeps it in memory, so decoding a record
//! never costs a second read.

use std::collections::HashMap;

use crate::record::Batch;

/// The batches by number and by content.
#[derive(Default)]
pub struct BatchTable {
    by_number: HashMap<u32, Batch>,
    numbers: HashMap<Batch, u32>,
    next: u32,
}

impl BatchTable {
    pub fn add(&mut self, number: u32, batch: Batch) {
        self.next = self.next.max(number + 1);
        self.numbers.insert(batch.clone(), number);
        self.by_number.insert(number, batch);
    }

    pub fn number_of(&self, batch: &Batch) -> Option<u32> {
        self.numbers.get(batch).copied()
    }

    pub fn batch(&self, number: u32) -> Option<&Batch> {
        self.by_number.get(&number)
    }

    /// The number a new batch takes (another process may take it first: the engine's
    /// insert-if-absent tells).
    pub fn next(&self) -> u32 {
        self.next
    }
}

/// A batch number as a key: big-endian, so the table lists batches in order.
pub fn batch_key(number: u32) -> [u8; 4] {
    number.to_be_bytes()
}
