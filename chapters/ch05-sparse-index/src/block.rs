//! One block: entries back to back, then a CRC-32 of them.
//!
//! ```text
//! entry:  1  kind: 0 = a value, 1 = a tombstone (a delete)
//!         2  key length (u16)
//!         4  value length (u32), zero for a tombstone
//!         …  key bytes, then value bytes
//! block:  entries, in strictly ascending key order
//!         4  CRC-32 (IEEE) of the entries' bytes
//! ```
//!
//! The kind is explicit so that an empty value stays a value: a store
//! that took "no value bytes" to mean "deleted" could never hold `""`.

use std::path::Path;

use ch00_contract::{Error, MAX_KEY_LEN, MAX_VALUE_LEN, Result};

// ANCHOR: entry
/// Kind, key length and value length before each entry's bytes.
pub const ENTRY_HEADER_LEN: usize = 7;
/// The CRC-32 at the end of every block.
pub const BLOCK_TRAILER_LEN: usize = 4;

/// The kind byte of a value.
pub const KIND_VALUE: u8 = 0;
/// The kind byte of a tombstone.
pub const KIND_TOMBSTONE: u8 = 1;

/// One entry, borrowed from the block it was read from: a key, and its
/// value or `None` for a tombstone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryRef<'a> {
    /// The key.
    pub key: &'a [u8],
    /// The value, or `None`: the key was deleted.
    pub value: Option<&'a [u8]>,
}

/// Appends one entry to `out`. The caller has checked the contract's
/// limits, so both lengths fit their fields.
pub fn push_entry(out: &mut Vec<u8>, key: &[u8], value: Option<&[u8]>) {
    // ANCHOR: todo_push_entry A kind byte (value or tombstone), key_len (u16), value_len (u32), the key, the value; little-endian.
    let (kind, bytes) = match value {
        Some(v) => (KIND_VALUE, v),
        None => (KIND_TOMBSTONE, &[][..]),
    };
    out.push(kind);
    out.extend_from_slice(&(key.len() as u16).to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(bytes);
    // ANCHOR_END: todo_push_entry
}

/// The encoded length of an entry.
pub fn entry_len(key: &[u8], value: Option<&[u8]>) -> usize {
    ENTRY_HEADER_LEN + key.len() + value.map_or(0, <[u8]>::len)
}
// ANCHOR_END: entry

/// Where an entry's key and value lie within a block's bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntrySpan {
    /// The key's bytes.
    pub key: std::ops::Range<usize>,
    /// The value's bytes, `None` for a tombstone.
    pub value: Option<std::ops::Range<usize>>,
    /// Where the next entry starts.
    pub next: usize,
}

impl EntrySpan {
    /// The entry this span describes, in `bytes`.
    pub fn entry<'a>(&self, bytes: &'a [u8]) -> EntryRef<'a> {
        EntryRef {
            key: &bytes[self.key.clone()],
            value: self.value.clone().map(|r| &bytes[r]),
        }
    }
}

// ANCHOR: decode_entry
/// Decodes the entry at `at` in `bytes` (a block's entries, without the
/// trailer), checking every field: the kind, both lengths against the
/// contract's limits, and that the entry fits. `file_offset` is where
/// `bytes` starts in `path`, for errors.
pub fn decode_entry(path: &Path, bytes: &[u8], at: usize, file_offset: u64) -> Result<EntrySpan> {
    // ANCHOR: todo_decode_entry Read the kind and both lengths, check them (kind, limits, a tombstone has no value, the entry fits); return the spans.
    let here = file_offset + at as u64;
    let Some(header) = bytes.get(at..at + ENTRY_HEADER_LEN) else {
        return Err(Error::corruption(
            path,
            here,
            format!("an entry header of {ENTRY_HEADER_LEN} bytes"),
            format!("{} bytes left in the block", bytes.len() - at),
        ));
    };
    let kind = header[0];
    let key_len = usize::from(u16::from_le_bytes([header[1], header[2]]));
    let value_len = u32::from_le_bytes([header[3], header[4], header[5], header[6]]) as usize;
    if kind != KIND_VALUE && kind != KIND_TOMBSTONE {
        return Err(Error::corruption(
            path,
            here,
            "kind 0 (a value) or 1 (a tombstone)",
            format!("kind {kind}"),
        ));
    }
    if key_len > MAX_KEY_LEN || value_len > MAX_VALUE_LEN {
        return Err(Error::corruption(
            path,
            here + 1,
            format!("a key of at most {MAX_KEY_LEN} bytes and a value of at most {MAX_VALUE_LEN}"),
            format!("lengths {key_len} and {value_len}"),
        ));
    }
    if kind == KIND_TOMBSTONE && value_len != 0 {
        return Err(Error::corruption(
            path,
            here + 3,
            "a value length of 0 for a tombstone",
            format!("{value_len}"),
        ));
    }
    let key_start = at + ENTRY_HEADER_LEN;
    let value_start = key_start + key_len;
    let next = value_start + value_len;
    if next > bytes.len() {
        return Err(Error::corruption(
            path,
            here,
            format!("an entry of {} bytes", next - at),
            format!("{} bytes left in the block", bytes.len() - at),
        ));
    }
    Ok(EntrySpan {
        key: key_start..value_start,
        value: (kind == KIND_VALUE).then_some(value_start..next),
        next,
    })
    // ANCHOR_END: todo_decode_entry
}
// ANCHOR_END: decode_entry

/// Splits a block read from the file into its entries' bytes, after
/// checking its CRC-32. `offset` is the block's place in `path`.
pub fn check_crc<'a>(path: &Path, block: &'a [u8], offset: u64) -> Result<&'a [u8]> {
    let Some(split) = block.len().checked_sub(BLOCK_TRAILER_LEN) else {
        return Err(Error::corruption(
            path,
            offset,
            format!("a block of at least {BLOCK_TRAILER_LEN} bytes"),
            format!("{} bytes", block.len()),
        ));
    };
    let (entries, trailer) = block.split_at(split);
    let stored = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let computed = crc32fast::hash(entries);
    // ANCHOR: armour_block_checksum Compare the block's stored CRC-32 with one computed over its entries.
    if stored != computed {
        return Err(Error::corruption(
            path,
            offset + split as u64,
            format!("block checksum {computed:08x}"),
            format!("{stored:08x}: the block is damaged"),
        ));
    }
    // ANCHOR_END: armour_block_checksum
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_an_empty_value_is_not_a_tombstone() {
        let mut bytes = Vec::new();
        push_entry(&mut bytes, b"a", Some(b""));
        push_entry(&mut bytes, b"b", None);
        push_entry(&mut bytes, b"c", Some(b"value"));
        let path = Path::new("t");
        let mut at = 0;
        let mut got = Vec::new();
        while at < bytes.len() {
            let span = decode_entry(path, &bytes, at, 0).unwrap();
            got.push((
                span.entry(&bytes).key.to_vec(),
                span.entry(&bytes).value.map(<[u8]>::to_vec),
            ));
            at = span.next;
        }
        assert_eq!(
            got,
            [
                (b"a".to_vec(), Some(Vec::new())),
                (b"b".to_vec(), None),
                (b"c".to_vec(), Some(b"value".to_vec()))
            ]
        );
        assert_eq!(entry_len(b"c", Some(b"value")), 13);
    }

    #[test]
    fn a_bad_kind_or_a_cut_entry_is_an_error_with_its_offset() {
        let mut bytes = Vec::new();
        push_entry(&mut bytes, b"key", Some(b"v"));
        let path = Path::new("t");
        let mut bad = bytes.clone();
        bad[0] = 7;
        let err = decode_entry(path, &bad, 0, 100).unwrap_err();
        assert!(err.to_string().contains("offset 100"), "{err}");
        let err = decode_entry(path, &bytes[..bytes.len() - 1], 0, 0).unwrap_err();
        assert!(err.is_corruption());
        let mut tomb = Vec::new();
        push_entry(&mut tomb, b"k", None);
        tomb[3] = 1;
        assert!(decode_entry(path, &tomb, 0, 0).is_err());
    }
}
