//! A live table: chapter 5's block table, and the Bloom filter its meta
//! section holds.

use std::path::Path;

use ch00_contract::{Error, Result};
use ch05_sparse_index::{Lookup, Table};
use disk::Disk;

use crate::bloom::{self, BloomFilter};

// ANCHOR: live_table
/// A table the manifest names, with its number and its filter.
#[derive(Debug)]
pub struct LiveTable {
    number: u64,
    table: Table,
    /// `None` for a table written without one (`bloom_bits_per_key` 0).
    filter: Option<BloomFilter>,
}

impl LiveTable {
    /// Whether the table may hold `key`, answered without a read: its
    /// filter does not rule it out (asked first: it turns most absent keys
    /// away), and the key lies within the table's keys.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        self.filter.as_ref().is_none_or(|f| f.may_contain(key)) && self.table.may_contain(key)
    }

    /// What the table holds for `key`; a key the filter rules out costs
    /// no read. (The range is not checked here: chapter 5's `get` searches
    /// its index anyway, and answers `Absent` for a key outside it.)
    pub fn get(&self, key: &[u8]) -> Result<Lookup> {
        if self.filter.as_ref().is_some_and(|f| !f.may_contain(key)) {
            return Ok(Lookup::Absent);
        }
        self.table.get(key)
    }
    // ANCHOR_END: live_table

    /// A table just written, with the filter its writer built.
    pub fn new(number: u64, table: Table, filter: Option<BloomFilter>) -> LiveTable {
        LiveTable {
            number,
            table,
            filter,
        }
    }

    /// Opens table `number` at `path`, the manifest's word that it exists:
    /// a missing one is damage to the store, not an I/O error to retry.
    /// Its filter is read and checked here too (one more read).
    pub fn open(disk: &Disk, path: &Path, number: u64) -> Result<LiveTable> {
        let table = Table::open(disk, path).map_err(|e| match e {
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Error::corruption(path, 0, "a table, as the manifest says", "no file")
            }
            e => e,
        })?;
        let meta = table.meta(bloom::MAX_LEN)?;
        let filter = if meta.is_empty() {
            None
        } else {
            Some(BloomFilter::decode(path, table.meta_offset(), &meta)?)
        };
        Ok(LiveTable::new(number, table, filter))
    }

    /// The table's number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The table.
    pub fn table(&self) -> &Table {
        &self.table
    }

    /// The table's filter, if it has one.
    pub fn filter(&self) -> Option<&BloomFilter> {
        self.filter.as_ref()
    }

    /// Bytes of memory the table's index and filter hold.
    pub fn memory_bytes(&self) -> u64 {
        self.table.index_bytes() + self.filter.as_ref().map_or(0, BloomFilter::heap_bytes)
    }
}
