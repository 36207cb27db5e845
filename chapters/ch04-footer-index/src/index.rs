//! The index in memory: every key of the table, with where its record is.
//!
//! It is kept as the bytes read from the file, plus where each entry
//! starts, rather than decoded into a vector of structs with a heap
//! allocation per key: the bytes are already a compact, sorted list, and
//! the table's memory is the point of this chapter.

use std::path::Path;

use ch00_contract::{Error, KeyRange, MAX_VALUE_LEN, Result};

use crate::format::{Footer, INDEX_ENTRY_HEADER_LEN, RECORD_HEADER_LEN};

// ANCHOR: index
/// The whole index of one table, checked.
#[derive(Debug)]
pub struct Index {
    /// The index section of the file, as read.
    bytes: Vec<u8>,
    /// Where each entry starts in `bytes`, in key order.
    starts: Vec<usize>,
    /// Where the records end in the file: the last record's end.
    records_end: u64,
}

/// One entry: a key and the place of its record in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The record's key.
    pub key: &'a [u8],
    /// Where the record starts in the file.
    pub offset: u64,
    /// The record's length: up to the next record, or to the index.
    pub len: u64,
    /// The CRC-32 of the record's bytes.
    pub crc: u32,
}
// ANCHOR_END: index

/// The fixed fields of the entry at `at` in `bytes`, which the caller has
/// checked holds at least [`INDEX_ENTRY_HEADER_LEN`] bytes there.
pub fn fields(bytes: &[u8], at: usize) -> (usize, u64, u32) {
    let mut key_len = [0; 2];
    let mut offset = [0; 8];
    let mut crc = [0; 4];
    key_len.copy_from_slice(&bytes[at..at + 2]);
    offset.copy_from_slice(&bytes[at + 2..at + 10]);
    crc.copy_from_slice(&bytes[at + 10..at + 14]);
    (
        usize::from(u16::from_le_bytes(key_len)),
        u64::from_le_bytes(offset),
        u32::from_le_bytes(crc),
    )
}

/// Where the record at `offset` with `key` can end: past its length
/// prefix and its key, and no further than the longest value allows. A
/// lookup allocates a record's length before reading it, so a length the
/// contract forbids must be refused here, not met there.
fn end_bounds(offset: u64, key: &[u8]) -> std::ops::RangeInclusive<u64> {
    let least = offset.saturating_add((RECORD_HEADER_LEN + key.len()) as u64);
    least..=least.saturating_add(MAX_VALUE_LEN as u64)
}

/// The error for a record at `offset` with `key` that ends at `end`.
fn bad_length(path: &Path, at: u64, offset: u64, key: &[u8], end: u64) -> Error {
    let bounds = end_bounds(offset, key);
    Error::corruption(
        path,
        at,
        format!(
            "the record at {offset} (a {}-byte key) to end between {} and {}",
            key.len(),
            bounds.start(),
            bounds.end()
        ),
        format!("its end at {end}"),
    )
}

impl Index {
    // ANCHOR: decode
    /// Checks the index section `bytes` of the table `path` against its
    /// `footer`: the checksum, then every entry (lengths within the
    /// section, keys strictly ascending, offsets starting at 0 and rising,
    /// each record at least long enough for its own key), then that the
    /// entries end exactly where the section does. After this, every
    /// lookup can trust the index without checking it again.
    // ANCHOR: decode_idea_a
    pub fn decode(path: &Path, bytes: Vec<u8>, footer: &Footer) -> Result<Index> {
        // ANCHOR_END: decode_idea_a
        // ANCHOR: todo_index_decode Check the index's CRC-32, then walk its entries: lengths inside, keys ascending, offsets from 0 rising; keep where each starts; shrink the bytes to fit (memory is counted).
        let base = footer.index_offset;
        let computed = crc32fast::hash(&bytes);
        // ANCHOR: armour_index_checksum Compare the index's CRC-32 with the one the footer holds.
        if computed != footer.index_crc {
            return Err(Error::corruption(
                path,
                base,
                format!("an index with checksum {:08x}", footer.index_crc),
                format!("checksum {computed:08x}: the index is damaged"),
            ));
        }
        // ANCHOR_END: armour_index_checksum
        // ANCHOR: decode_idea_b
        let mut starts = Vec::with_capacity(usize::try_from(footer.count).unwrap_or(0));
        let mut at = 0usize;
        // ANCHOR_END: decode_idea_b
        let mut previous: Option<(&[u8], u64)> = None;
        // ANCHOR: decode_idea_c
        for _ in 0..footer.count {
            // ANCHOR_END: decode_idea_c
            let here = base + at as u64;
            let bad =
                |expected: String, found: String| Error::corruption(path, here, expected, found);
            // ANCHOR: armour_entry_header Refuse an entry whose header runs past the end of the index.
            if bytes.len() - at < INDEX_ENTRY_HEADER_LEN {
                return Err(bad(
                    format!("an index entry ({INDEX_ENTRY_HEADER_LEN} bytes and a key)"),
                    format!("the end of the index, {} bytes on", bytes.len() - at),
                ));
            }
            // ANCHOR_END: armour_entry_header
            // ANCHOR: decode_idea_d
            let (key_len, offset, _) = fields(&bytes, at);
            let key_start = at + INDEX_ENTRY_HEADER_LEN;
            // ANCHOR_END: decode_idea_d
            let Some(key) = bytes.get(key_start..key_start + key_len) else {
                return Err(bad(
                    format!("a key of {key_len} bytes"),
                    format!("the end of the index, {} bytes on", bytes.len() - key_start),
                ));
            };
            // ANCHOR: armour_entry_order Refuse a first record not at offset 0, keys not ascending, a record whose length cannot be right.
            match previous {
                None if offset != 0 => {
                    return Err(bad(
                        "the first record at offset 0".into(),
                        format!("{offset}"),
                    ));
                }
                Some((previous_key, _)) if previous_key >= key => {
                    return Err(bad(
                        "keys in strictly ascending order".into(),
                        "a key not greater than the one before it".into(),
                    ));
                }
                Some((previous_key, previous_offset))
                    if !end_bounds(previous_offset, previous_key).contains(&offset) =>
                {
                    return Err(bad_length(
                        path,
                        here,
                        previous_offset,
                        previous_key,
                        offset,
                    ));
                }
                _ => {}
            }
            // ANCHOR_END: armour_entry_order
            previous = Some((key, offset));
            // ANCHOR: decode_idea_e
            starts.push(at);
            at = key_start + key_len;
        }
        // ANCHOR_END: decode_idea_e
        // ANCHOR: armour_last_record Check that the last record ends where the index starts (and that no records means no record bytes).
        if let Some((key, offset)) = previous {
            // The last record ends where the index starts.
            if !end_bounds(offset, key).contains(&footer.index_offset) {
                let last = base + starts.last().copied().unwrap_or(0) as u64;
                return Err(bad_length(path, last, offset, key, footer.index_offset));
            }
        } else if footer.index_offset != 0 {
            return Err(Error::corruption(
                path,
                0,
                "no record bytes in a table of no records",
                format!("{} bytes", footer.index_offset),
            ));
        }
        // ANCHOR_END: armour_last_record
        // ANCHOR: armour_index_end Refuse bytes after the last index entry.
        if at != bytes.len() {
            return Err(Error::corruption(
                path,
                base + at as u64,
                format!(
                    "the footer right after the last of {} index entries",
                    footer.count
                ),
                format!("{} more bytes", bytes.len() - at),
            ));
        }
        // ANCHOR_END: armour_index_end
        // A writer's index may carry spare capacity; the memory this index
        // reports should be what it needs.
        // ANCHOR: decode_idea_f
        let mut bytes = bytes;
        bytes.shrink_to_fit();
        Ok(Index {
            bytes,
            starts,
            records_end: footer.index_offset,
        })
        // ANCHOR_END: decode_idea_f
        // ANCHOR_END: todo_index_decode
        // ANCHOR: decode_idea_g
    }
    // ANCHOR_END: decode_idea_g
    // ANCHOR_END: decode

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The key of the entry that starts at `at` in the index bytes.
    fn key_at(&self, at: usize) -> &[u8] {
        let (key_len, _, _) = fields(&self.bytes, at);
        &self.bytes[at + INDEX_ENTRY_HEADER_LEN..at + INDEX_ENTRY_HEADER_LEN + key_len]
    }

    /// Where record `i` starts; the end of the records for `i == len()`.
    pub fn offset(&self, i: usize) -> u64 {
        match self.starts.get(i) {
            Some(&at) => fields(&self.bytes, at).1,
            None => self.records_end,
        }
    }

    /// Entry `i`, which must be below [`Index::len`].
    pub fn entry(&self, i: usize) -> Entry<'_> {
        let (_, offset, crc) = fields(&self.bytes, self.starts[i]);
        Entry {
            key: self.key_at(self.starts[i]),
            offset,
            len: self.offset(i + 1) - offset,
            crc,
        }
    }

    // ANCHOR: search
    /// The entry for `key`, found by binary search: about log2(n) key
    /// comparisons, all in memory.
    pub fn find(&self, key: &[u8]) -> Option<Entry<'_>> {
        // ANCHOR: todo_find Binary search of the entries by key (key_at); the entry if the key is there.
        let i = self.starts.binary_search_by(|&at| self.key_at(at).cmp(key));
        i.ok().map(|i| self.entry(i))
        // ANCHOR_END: todo_find
    }

    /// The entries whose keys lie in `range`, as positions `first..end`:
    /// where a scan starts and where it stops, both found in memory.
    pub fn positions(&self, range: &KeyRange) -> std::ops::Range<usize> {
        // ANCHOR: todo_positions Two partition points: the first entry not before the range, and the first past its end.
        let start = self
            .starts
            .partition_point(|&at| range.is_before_start(self.key_at(at)));
        let end = self
            .starts
            .partition_point(|&at| !range.is_past_end(self.key_at(at)));
        start..end.max(start)
        // ANCHOR_END: todo_positions
    }
    // ANCHOR_END: search

    /// Bytes of memory the index holds: its bytes and its entry positions.
    pub fn heap_bytes(&self) -> u64 {
        (self.bytes.capacity() + self.starts.capacity() * size_of::<usize>()) as u64
    }
}
