//! A live table: chapter 5's block table, and the Bloom filter its meta
//! section holds.

use std::iter::Peekable;
use std::path::Path;

use ch00_contract::{Error, Result};
use ch05_sparse_index::table::TableWriter;
use ch05_sparse_index::{Lookup, Table};
use disk::{Disk, atomic};

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

// ANCHOR: write
/// Writes table `number` at `path` from `entries` (in strictly ascending
/// key order), with a Bloom filter of its keys (`bloom_bits_per_key` 0:
/// none) in the meta section, synced, and opens it. It stops taking
/// entries once its data passes `target_bytes`, leaving the rest for the
/// next table; `None`, and no file, if there are no entries.
pub fn write<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    disk: &Disk,
    path: &Path,
    number: u64,
    block_size: usize,
    bloom_bits_per_key: u32,
    entries: &mut Peekable<impl Iterator<Item = Result<(K, Option<V>)>>>,
    target_bytes: u64,
) -> Result<Option<LiveTable>> {
    if entries.peek().is_none() {
        return Ok(None);
    }
    let mut finished = None;
    atomic::write_file_with(disk, path, |out| {
        let mut writer = TableWriter::new(path, out, block_size);
        let mut keys: Vec<Vec<u8>> = Vec::new();
        while writer.entries() == 0 || writer.data_len() < target_bytes {
            let Some(entry) = entries.next() else {
                break;
            };
            let (key, value) = entry?;
            writer.add(key.as_ref(), value.as_ref().map(AsRef::as_ref))?;
            if bloom_bits_per_key > 0 {
                keys.push(key.as_ref().to_vec());
            }
        }
        let filter = (bloom_bits_per_key > 0)
            .then(|| BloomFilter::build(keys.iter().map(Vec::as_slice), bloom_bits_per_key));
        let meta = filter.as_ref().map(BloomFilter::encode).unwrap_or_default();
        let done = writer.finish_with_meta(&meta)?;
        finished = Some((done.footer, done.index, filter));
        Ok(())
    })?;
    let Some((footer, index, filter)) = finished else {
        return Err(Error::InvalidInput(format!(
            "{}: the table was not finished",
            path.display()
        )));
    };
    let table = Table::open_written(disk, path, &footer, &index)?;
    Ok(Some(LiveTable::new(number, table, filter)))
}
// ANCHOR_END: write
