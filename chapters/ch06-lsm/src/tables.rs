//! A live table: chapter 5's block table, and what its meta section
//! holds: the Bloom filter of its keys and its range tombstones.

use std::iter::Peekable;
use std::path::Path;

use ch00_contract::{Error, Result};
use ch05_sparse_index::table::TableWriter;
use ch05_sparse_index::{Lookup, Table};
use disk::{Disk, atomic};

use crate::bloom::{self, BloomFilter};
use crate::ranges::{self, Tombstones};

// ANCHOR: live_table
/// A table the manifest names, with its number and its filter.
#[derive(Debug)]
pub struct LiveTable {
    number: u64,
    table: Table,
    /// `None` for a table written without one (`bloom_bits_per_key` 0).
    filter: Option<BloomFilter>,
    /// The range tombstones: they hide keys of older tables only.
    ranges: Tombstones,
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
        // ANCHOR: todo_table_get Absent if the filter rules the key out (no read); else the block table's get.
        if self.filter.as_ref().is_some_and(|f| !f.may_contain(key)) {
            return Ok(Lookup::Absent);
        }
        self.table.get(key)
        // ANCHOR_END: todo_table_get
    }
    // ANCHOR_END: live_table

    // ANCHOR: covers
    /// Whether one of the table's range tombstones deletes `key` in the
    /// tables older than this one (never in this one: see [`ranges`]).
    pub fn covers(&self, key: &[u8]) -> bool {
        self.ranges.covers(key)
    }
    // ANCHOR_END: covers

    /// The table's range tombstones.
    pub fn ranges(&self) -> &Tombstones {
        &self.ranges
    }

    // ANCHOR: extent
    /// The smallest key the table has something to say about: its first
    /// key or its first range tombstone's start. `None` for a table with
    /// neither.
    pub fn lower(&self) -> Option<&[u8]> {
        match (self.table.first_key(), self.ranges.first_start()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Where what the table has to say ends: its last key, or its last
    /// range tombstone's end, whichever is later.
    pub fn upper(&self) -> Option<Upper<'_>> {
        let last = self.table.last_key().map(Upper::Included);
        let end = self.ranges.last().map(|t| match &t.end {
            Some(end) => Upper::Excluded(end),
            None => Upper::Unbounded,
        });
        match (last, end) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        }
    }
    // ANCHOR_END: extent

    /// A table just written, with the filter its writer built.
    pub fn new(
        number: u64,
        table: Table,
        filter: Option<BloomFilter>,
        ranges: Tombstones,
    ) -> LiveTable {
        LiveTable {
            number,
            table,
            filter,
            ranges,
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
        let meta = table.meta(MAX_META_LEN)?;
        let (filter, ranges) = decode_meta(path, table.meta_offset(), &meta)?;
        Ok(LiveTable::new(number, table, filter, ranges))
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
        self.table.index_bytes()
            + self.filter.as_ref().map_or(0, BloomFilter::heap_bytes)
            + self
                .ranges
                .iter()
                .map(|t| t.encoded_len() as u64)
                .sum::<u64>()
    }
}

// ANCHOR: upper
/// Where a table's keys end: at a key included, before a key, or never.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upper<'a> {
    /// The table's last key.
    Included(&'a [u8]),
    /// The end of its last range tombstone.
    Excluded(&'a [u8]),
    /// A range tombstone with no end.
    Unbounded,
}

impl<'a> Upper<'a> {
    /// Whether everything the table has to say lies before `key`.
    pub fn below(&self, key: &[u8]) -> bool {
        match self {
            Upper::Included(last) => *last < key,
            Upper::Excluded(end) => *end <= key,
            Upper::Unbounded => false,
        }
    }

    fn key_or_empty(&self) -> &[u8] {
        match self {
            Upper::Included(k) | Upper::Excluded(k) => k,
            Upper::Unbounded => &[],
        }
    }

    /// The later of two.
    pub fn max(self, other: Upper<'a>) -> Upper<'a> {
        match (self, other) {
            (Upper::Unbounded, _) | (_, Upper::Unbounded) => Upper::Unbounded,
            (a, b) => {
                // `a` is later if `b` lies before a's key, or they end at
                // the same key and `a` includes it.
                let (ka, kb) = (a.key_or_empty(), b.key_or_empty());
                if ka > kb || (ka == kb && matches!(a, Upper::Included(_))) {
                    a
                } else {
                    b
                }
            }
        }
    }
}
// ANCHOR_END: upper

/// The largest meta section a store reads: a filter and room for a great
/// many range tombstones.
pub const MAX_META_LEN: u64 = 2 * bloom::MAX_LEN;

// ANCHOR: meta
/// Splits a meta section into the filter (if any) and the range
/// tombstones (if any), in that order. The filter's header says its
/// length; whatever follows must be a range section.
fn decode_meta(path: &Path, offset: u64, meta: &[u8]) -> Result<(Option<BloomFilter>, Tombstones)> {
    let filter_len = if meta.starts_with(&bloom::MAGIC) {
        let bits = meta
            .get(8..12)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
        match bits.map(|bits| bloom::HEADER_LEN + bits.div_ceil(8) + 4) {
            Some(len) if len <= meta.len() => len,
            _ => meta.len(),
        }
    } else {
        0
    };
    let filter = (filter_len > 0)
        .then(|| BloomFilter::decode(path, offset, &meta[..filter_len]))
        .transpose()?;
    let rest = &meta[filter_len..];
    let ranges = if rest.is_empty() {
        Tombstones::default()
    } else if rest.starts_with(&ranges::MAGIC) {
        Tombstones::decode(path, offset + filter_len as u64, rest)?
    } else {
        return Err(Error::corruption(
            path,
            offset + filter_len as u64,
            "a Bloom filter (\"KVBF\") or a range section (\"KVRT\"), or nothing",
            format!("{:02x?}", &rest[..rest.len().min(4)]),
        ));
    };
    Ok((filter, ranges))
}
// ANCHOR_END: meta

// ANCHOR: write
/// Writes table `number` at `path` from `entries` (in strictly ascending
/// key order), with a Bloom filter of its keys (`bloom_bits_per_key` 0:
/// none) and its range tombstones in the meta section, synced, and opens
/// it. It stops taking entries once its data passes `target_bytes`,
/// leaving the rest for the next table, and takes the parts of `ranges`
/// that lie before the next table's first key; `None`, and no file, if
/// there are neither entries nor ranges left.
#[allow(clippy::too_many_arguments)]
pub fn write<K: AsRef<[u8]>, V: AsRef<[u8]>>(
    disk: &Disk,
    path: &Path,
    number: u64,
    block_size: usize,
    bloom_bits_per_key: u32,
    entries: &mut Peekable<impl Iterator<Item = Result<(K, Option<V>)>>>,
    ranges: &mut Tombstones,
    target_bytes: u64,
) -> Result<Option<LiveTable>> {
    // ANCHOR: todo_tables_write A block table of the entries with a Bloom filter of their keys and the range tombstones in its meta section, synced, opened.
    if entries.peek().is_none() && ranges.is_empty() {
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
        // The range tombstones before the next table's first key are this
        // table's: cut there, so that the tables' extents do not overlap.
        let boundary = match entries.peek() {
            None => None,
            Some(Ok((key, _))) => Some(key.as_ref().to_vec()),
            Some(Err(_)) => match entries.next() {
                Some(Err(e)) => return Err(e),
                _ => None,
            },
        };
        let mine = ranges.take_before(boundary.as_deref());
        let filter = (bloom_bits_per_key > 0 && !keys.is_empty())
            .then(|| BloomFilter::build(keys.iter().map(Vec::as_slice), bloom_bits_per_key));
        let mut meta = filter.as_ref().map(BloomFilter::encode).unwrap_or_default();
        meta.extend(mine.encode());
        let done = writer.finish_with_meta(&meta)?;
        finished = Some((done.footer, done.index, filter, mine));
        Ok(())
    })?;
    let Some((footer, index, filter, mine)) = finished else {
        return Err(Error::InvalidInput(format!(
            "{}: the table was not finished",
            path.display()
        )));
    };
    let table = Table::open_written(disk, path, &footer, &index)?;
    Ok(Some(LiveTable::new(number, table, filter, mine)))
    // ANCHOR_END: todo_tables_write
}
// ANCHOR_END: write
