//! The table file: the records, then an index of every key, then a footer
//! of fixed size. All integers are little-endian.
//!
//! ```text
//! offset        size  field
//! 0             ...   records, keys strictly ascending, back to back,
//!                     each in chapter 3's encoding:
//!                       2  key length (u16)
//!                       4  value length (u32)
//!                       …  key bytes, then value bytes
//! index_offset  ...   one index entry per record, in the same order:
//!                       2  key length (u16)
//!                       8  offset of the record (u64)
//!                       4  CRC-32 of the record's bytes (u32)
//!                       …  key bytes
//! end-40        40    footer:
//!                       8  index offset (u64): where the records end
//!                       8  index length in bytes (u64)
//!                       8  entry count (u64)
//!                       4  CRC-32 of the index (u32)
//!                       2  format version (1)
//!                       2  reserved, zero
//!                       4  CRC-32 of the 32 footer bytes before it (u32)
//!                       4  magic "KVFI"
//! ```
//!
//! A record's length is not stored anywhere: it runs from its offset to
//! the next record's offset (or to the index, for the last record).

use std::io::Write;
use std::path::Path;

use ch00_contract::{Error, IoContext, Result};
use ch03_sorted_file::format::write_record;
use disk::Checksummed;

// ANCHOR: constants
/// The last four bytes of every table file.
pub const MAGIC: [u8; 4] = *b"KVFI";
/// The version this code writes and the only one it reads.
pub const VERSION: u16 = 1;
/// The footer's fixed size: found at `file length - FOOTER_LEN`.
pub const FOOTER_LEN: usize = 40;
/// Key length, record offset and record CRC before each index entry's key.
pub const INDEX_ENTRY_HEADER_LEN: usize = 14;
// ANCHOR_END: constants

/// The bytes of a record's length prefix (chapter 3's record header).
pub use ch03_sorted_file::format::RECORD_HEADER_LEN;

// ANCHOR: footer
/// What the footer says: where the index is, how long, how many entries,
/// and the index's checksum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    /// Where the index starts, which is also where the records end.
    pub index_offset: u64,
    /// The index's length in bytes.
    pub index_len: u64,
    /// How many records (and index entries) the table holds.
    pub count: u64,
    /// The CRC-32 of the index's bytes.
    pub index_crc: u32,
}

impl Footer {
    /// The footer's 40 bytes.
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        // ANCHOR: todo_footer_encode Index offset, index length, count (u64s), index CRC-32 (u32), the version, two zero bytes, the CRC-32 of the first 32 bytes, the magic; little-endian.
        let mut out = [0; FOOTER_LEN];
        out[0..8].copy_from_slice(&self.index_offset.to_le_bytes());
        out[8..16].copy_from_slice(&self.index_len.to_le_bytes());
        out[16..24].copy_from_slice(&self.count.to_le_bytes());
        out[24..28].copy_from_slice(&self.index_crc.to_le_bytes());
        out[28..30].copy_from_slice(&VERSION.to_le_bytes());
        // 30..32: reserved, zero.
        let crc = crc32fast::hash(&out[..32]);
        out[32..36].copy_from_slice(&crc.to_le_bytes());
        out[36..40].copy_from_slice(&MAGIC);
        out
        // ANCHOR_END: todo_footer_encode
    }
}
// ANCHOR_END: footer

impl Footer {
    // ANCHOR: decode_footer
    /// Reads the footer from the last [`FOOTER_LEN`] bytes of the file
    /// `path`, which is `file_len` bytes long, and checks it: magic,
    /// version, its own checksum, and that the index it points to lies
    /// exactly between the records and the footer.
    // ANCHOR: decode_footer_idea_a
    pub fn decode(path: &Path, bytes: &[u8; FOOTER_LEN], file_len: u64) -> Result<Footer> {
        // ANCHOR_END: decode_footer_idea_a
        // ANCHOR: todo_footer_decode Check the magic, the version and the footer's own checksum, read the fields, then check_geometry.
        let at = file_len.saturating_sub(FOOTER_LEN as u64);
        // ANCHOR: decode_footer_idea_b
        let field = |range: std::ops::Range<usize>| {
            let mut out = [0u8; 8];
            out[..range.len()].copy_from_slice(&bytes[range]);
            u64::from_le_bytes(out)
        };
        // ANCHOR_END: decode_footer_idea_b
        // ANCHOR: armour_magic Refuse a footer that does not end with the magic number.
        if bytes[36..40] != MAGIC {
            return Err(Error::corruption(
                path,
                at + 36,
                format!("the magic number {:?}", String::from_utf8_lossy(&MAGIC)),
                format!("{:02x?}: not a table file", &bytes[36..40]),
            ));
        }
        // ANCHOR_END: armour_magic
        // A version this code does not know may lay the footer out
        // differently, so it is reported as such, unless the checksum says
        // the footer is simply damaged.
        let stored = field(32..36);
        let computed = crc32fast::hash(&bytes[..32]);
        let damaged = || {
            Error::corruption(
                path,
                at + 32,
                format!("footer checksum {computed:08x}"),
                format!("{stored:08x}: the footer is damaged"),
            )
        };
        let version = field(28..30);
        // ANCHOR: armour_version Refuse a version this code does not know (unless the checksum says the footer is damaged).
        if version != u64::from(VERSION) {
            if stored != u64::from(computed) {
                return Err(damaged());
            }
            return Err(Error::corruption(
                path,
                at + 28,
                format!("format version {VERSION}"),
                format!("version {version}"),
            ));
        }
        // ANCHOR_END: armour_version
        // ANCHOR: armour_footer_checksum Compare the footer's stored CRC-32 with one computed over its first 32 bytes.
        if stored != u64::from(computed) {
            return Err(damaged());
        }
        // ANCHOR_END: armour_footer_checksum
        // ANCHOR: armour_reserved Refuse reserved bytes that are not zero.
        if field(30..32) != 0 {
            return Err(Error::corruption(
                path,
                at + 30,
                "reserved bytes of zero",
                format!("{:#06x}", field(30..32)),
            ));
        }
        // ANCHOR_END: armour_reserved
        // ANCHOR: decode_footer_idea_c
        let footer = Footer {
            index_offset: field(0..8),
            index_len: field(8..16),
            count: field(16..24),
            index_crc: field(24..28) as u32,
        };
        // ANCHOR_END: decode_footer_idea_c
        // ANCHOR: armour_geometry Check that the footer's numbers fit this file (check_geometry).
        footer.check_geometry(path, at)?;
        // ANCHOR_END: armour_geometry
        // ANCHOR: decode_footer_idea_d
        Ok(footer)
        // ANCHOR_END: decode_footer_idea_d
        // ANCHOR_END: todo_footer_decode
        // ANCHOR: decode_footer_idea_e
    }
    // ANCHOR_END: decode_footer_idea_e
    // ANCHOR_END: decode_footer

    // ANCHOR: geometry
    /// The footer's numbers must describe this file: records, then the
    /// index, then the footer at `footer_at`, with room for `count` records
    /// and entries. A footer written by a bug could pass its checksum and
    /// still point past the end; this is what catches it.
    fn check_geometry(&self, path: &Path, footer_at: u64) -> Result<()> {
        let index_end = self.index_offset.checked_add(self.index_len);
        if index_end != Some(footer_at) {
            return Err(Error::corruption(
                path,
                footer_at,
                format!("an index ending where the footer starts, at {footer_at}"),
                format!(
                    "index offset {} and length {}",
                    self.index_offset, self.index_len
                ),
            ));
        }
        let fits =
            |len: u64, per: usize| self.count.checked_mul(per as u64).is_some_and(|n| n <= len);
        if !fits(self.index_len, INDEX_ENTRY_HEADER_LEN)
            || !fits(self.index_offset, RECORD_HEADER_LEN)
        {
            return Err(Error::corruption(
                path,
                footer_at + 16,
                format!(
                    "a count that fits {} bytes of records and {} of index",
                    self.index_offset, self.index_len
                ),
                format!("{} entries", self.count),
            ));
        }
        Ok(())
    }
    // ANCHOR_END: geometry
}

// ANCHOR: index_entry
/// Appends one index entry, `key_len | offset | crc | key`, to `index`.
/// The key has passed [`write_record`]'s checks, so its length fits a u16.
fn push_index_entry(index: &mut Vec<u8>, key: &[u8], offset: u64, crc: u32) {
    // ANCHOR: todo_index_entry Append key_len (u16), the record's offset (u64), its CRC-32 (u32), then the key; little-endian.
    let key_len = key.len() as u16;
    index.extend_from_slice(&key_len.to_le_bytes());
    index.extend_from_slice(&offset.to_le_bytes());
    index.extend_from_slice(&crc.to_le_bytes());
    index.extend_from_slice(key);
    // ANCHOR_END: todo_index_entry
}
// ANCHOR_END: index_entry

// ANCHOR: writer
/// Writes a table in one pass: records as they come, the index kept in
/// memory until [`TableWriter::finish`] appends it and the footer.
///
/// The records cannot be preceded by their index, because the index holds
/// their offsets and an offset is known only once every record before it
/// has been written. Writing the index after the records keeps the file a
/// single sequential stream; the footer, at a fixed distance from the end,
/// is how a reader finds the index again.
pub struct TableWriter<'a, W: Write> {
    path: &'a Path,
    out: W,
    /// Bytes of records written so far: the next record's offset.
    offset: u64,
    index: Vec<u8>,
    count: u64,
    last_key: Option<Vec<u8>>,
    /// Set by a failed write: the bytes out no longer match the offsets.
    failed: bool,
}

/// What [`TableWriter::finish`] leaves: the writer underneath, the footer
/// written, and the index, which the caller can load without reading the
/// file back.
pub struct Finished<W> {
    /// The writer the table went to.
    pub out: W,
    /// The footer at the table's end.
    pub footer: Footer,
    /// The index section's bytes.
    pub index: Vec<u8>,
}

impl<'a, W: Write> TableWriter<'a, W> {
    /// A writer of a new table to `out`; `path` names it in errors.
    pub fn new(path: &'a Path, out: W) -> Self {
        TableWriter {
            path,
            out,
            offset: 0,
            index: Vec::new(),
            count: 0,
            last_key: None,
            failed: false,
        }
    }

    /// Appends a record. Keys must come in strictly ascending order.
    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        // ANCHOR: todo_add Refuse keys out of order; write the record (write_record through disk::Checksummed); push its index entry.
        self.check_usable()?;
        if self.last_key.as_deref().is_some_and(|last| last >= key) {
            return Err(Error::InvalidInput(
                "records must be added in strictly ascending key order".into(),
            ));
        }
        let mut sink = Checksummed::new(&mut self.out);
        let len = match write_record(self.path, &mut sink, key, value) {
            Ok(len) => len,
            Err(e) => {
                // The limits are checked before any byte goes out; anything
                // else may have written part of the record.
                self.failed = !matches!(e, Error::KeyTooLarge { .. } | Error::ValueTooLarge { .. });
                return Err(e);
            }
        };
        push_index_entry(&mut self.index, key, self.offset, sink.checksum());
        self.offset += len;
        self.count += 1;
        let last = self.last_key.get_or_insert_with(Vec::new);
        last.clear();
        last.extend_from_slice(key);
        Ok(())
        // ANCHOR_END: todo_add
    }

    /// Appends the index and the footer.
    pub fn finish(mut self) -> Result<Finished<W>> {
        // ANCHOR: todo_finish Make the footer (index offset, length, count, CRC-32 of the index); write the index, then the footer.
        self.check_usable()?;
        let footer = Footer {
            index_offset: self.offset,
            index_len: self.index.len() as u64,
            count: self.count,
            index_crc: crc32fast::hash(&self.index),
        };
        self.out
            .write_all(&self.index)
            .and_then(|()| self.out.write_all(&footer.encode()))
            .context("writing", self.path)?;
        Ok(Finished {
            out: self.out,
            footer,
            index: self.index,
        })
        // ANCHOR_END: todo_finish
    }

    fn check_usable(&self) -> Result<()> {
        if self.failed {
            return Err(Error::InvalidInput(format!(
                "a write to {} failed earlier: the table cannot be finished",
                self.path.display()
            )));
        }
        Ok(())
    }
}
// ANCHOR_END: writer

/// A whole table for `entries` (strictly ascending), built in memory: for
/// tests and examples.
pub fn encode<'e>(entries: impl IntoIterator<Item = (&'e [u8], &'e [u8])>) -> Result<Vec<u8>> {
    let mut writer = TableWriter::new(Path::new("(memory)"), Vec::new());
    for (key, value) in entries {
        writer.add(key, value)?;
    }
    Ok(writer.finish()?.out)
}

/// The total length of the table file `footer` ends (saturating: a footer
/// that passed [`Footer::decode`] never needs it to).
pub fn file_len(footer: &Footer) -> u64 {
    footer
        .index_offset
        .saturating_add(footer.index_len)
        .saturating_add(FOOTER_LEN as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_footer_round_trips_and_finds_the_index_before_it() {
        let entries: Vec<(&[u8], &[u8])> = vec![(b"a", b"1"), (b"bb", b"22")];
        let bytes = encode(entries).unwrap();
        let records = 2 * RECORD_HEADER_LEN + 1 + 1 + 2 + 2;
        let index = 2 * INDEX_ENTRY_HEADER_LEN + 1 + 2;
        assert_eq!(bytes.len(), records + index + FOOTER_LEN);
        let tail: [u8; FOOTER_LEN] = bytes[bytes.len() - FOOTER_LEN..].try_into().unwrap();
        let footer = Footer::decode(Path::new("t"), &tail, bytes.len() as u64).unwrap();
        assert_eq!(footer.index_offset, records as u64);
        assert_eq!(footer.index_len, index as u64);
        assert_eq!(footer.count, 2);
        assert_eq!(file_len(&footer), bytes.len() as u64);
    }

    #[test]
    fn the_writer_refuses_keys_out_of_order_or_repeated() {
        let mut writer = TableWriter::new(Path::new("t"), Vec::new());
        writer.add(b"b", b"").unwrap();
        assert!(writer.add(b"b", b"").is_err());
        assert!(writer.add(b"a", b"").is_err());
    }

    #[test]
    fn a_footer_pointing_past_the_end_is_refused_even_with_a_valid_checksum() {
        let footer = Footer {
            index_offset: 10,
            index_len: 100,
            count: 1,
            index_crc: 0,
        };
        let err = Footer::decode(Path::new("t"), &footer.encode(), 60).unwrap_err();
        assert!(
            err.to_string().contains("index offset 10 and length 100"),
            "{err}"
        );
    }
}
