//! The block table file: data blocks, an index block, a footer. All
//! integers are little-endian.
//!
//! ```text
//! offset        size  field
//! 0             ...   data blocks, back to back, keys ascending across
//!                     them (see `block`: entries, then a CRC-32)
//! index_offset  ...   the index block:
//!                       8  entry count of the whole table (u64)
//!                       2  first key's length (u16), then its bytes
//!                       then one entry per data block, in order:
//!                         2  last key's length (u16)
//!                         8  block offset (u64)
//!                         4  block length, its CRC included (u32)
//!                         4  entries in the block (u32)
//!                         …  the block's last key
//! meta_offset   ...   the meta section: empty in this chapter; chapter 6
//!                     keeps its bloom filters there
//! end-48        48    footer:
//!                       8  index offset (u64)
//!                       8  index length (u64)
//!                       4  CRC-32 of the index (u32)
//!                       8  meta offset (u64)
//!                       8  meta length (u64)
//!                       2  format version (1)
//!                       2  reserved, zero
//!                       4  CRC-32 of the 40 footer bytes before it
//!                       4  magic "KVBT"
//! ```

use std::path::Path;

use ch00_contract::{Error, MAX_KEY_LEN, Result};

use crate::block::{BLOCK_TRAILER_LEN, ENTRY_HEADER_LEN};

// ANCHOR: constants
/// The last four bytes of every block table.
pub const MAGIC: [u8; 4] = *b"KVBT";
/// The version this code writes and the only one it reads.
pub const VERSION: u16 = 1;
/// The footer's fixed size: found at `file length - FOOTER_LEN`.
pub const FOOTER_LEN: usize = 48;
/// Count and first key length, before the index's block entries.
pub const INDEX_HEADER_LEN: usize = 10;
/// Key length, offset, length and count before each index entry's key.
pub const INDEX_ENTRY_HEADER_LEN: usize = 18;
// ANCHOR_END: constants

// ANCHOR: footer
/// What the footer says: where the index and the meta section are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    /// Where the index block starts, which is where the data blocks end.
    pub index_offset: u64,
    /// The index block's length in bytes.
    pub index_len: u64,
    /// The CRC-32 of the index block.
    pub index_crc: u32,
    /// Where the meta section starts (right after the index).
    pub meta_offset: u64,
    /// The meta section's length: zero in this chapter.
    pub meta_len: u64,
}

impl Footer {
    /// The footer's 48 bytes.
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut out = [0; FOOTER_LEN];
        out[0..8].copy_from_slice(&self.index_offset.to_le_bytes());
        out[8..16].copy_from_slice(&self.index_len.to_le_bytes());
        out[16..20].copy_from_slice(&self.index_crc.to_le_bytes());
        out[20..28].copy_from_slice(&self.meta_offset.to_le_bytes());
        out[28..36].copy_from_slice(&self.meta_len.to_le_bytes());
        out[36..38].copy_from_slice(&VERSION.to_le_bytes());
        // 38..40: reserved, zero.
        let crc = crc32fast::hash(&out[..40]);
        out[40..44].copy_from_slice(&crc.to_le_bytes());
        out[44..48].copy_from_slice(&MAGIC);
        out
    }
}
// ANCHOR_END: footer

impl Footer {
    /// Reads the footer of `path`, `file_len` bytes long, from its last
    /// [`FOOTER_LEN`] bytes, and checks it: magic, its own checksum,
    /// version, and that the index and the meta section lie between the
    /// data blocks and the footer.
    pub fn decode(path: &Path, bytes: &[u8; FOOTER_LEN], file_len: u64) -> Result<Footer> {
        let at = file_len.saturating_sub(FOOTER_LEN as u64);
        let field = |range: std::ops::Range<usize>| {
            let mut out = [0u8; 8];
            out[..range.len()].copy_from_slice(&bytes[range]);
            u64::from_le_bytes(out)
        };
        // ANCHOR: armour_magic Refuse a footer that does not end with the magic number.
        if bytes[44..48] != MAGIC {
            return Err(Error::corruption(
                path,
                at + 44,
                format!("the magic number {:?}", String::from_utf8_lossy(&MAGIC)),
                format!("{:02x?}: not a block table", &bytes[44..48]),
            ));
        }
        // ANCHOR_END: armour_magic
        let stored = field(40..44);
        let computed = u64::from(crc32fast::hash(&bytes[..40]));
        // ANCHOR: armour_footer_checksum Compare the footer's stored CRC-32 with one computed over its first 40 bytes.
        if stored != computed {
            return Err(Error::corruption(
                path,
                at + 40,
                format!("footer checksum {computed:08x}"),
                format!("{stored:08x}: the footer is damaged"),
            ));
        }
        // ANCHOR_END: armour_footer_checksum
        let version = field(36..38);
        // ANCHOR: armour_version Refuse a version this code does not know.
        if version != u64::from(VERSION) {
            return Err(Error::corruption(
                path,
                at + 36,
                format!("format version {VERSION}"),
                format!("version {version}"),
            ));
        }
        // ANCHOR_END: armour_version
        // ANCHOR: armour_reserved Refuse reserved bytes that are not zero.
        if field(38..40) != 0 {
            return Err(Error::corruption(
                path,
                at + 38,
                "reserved bytes of zero",
                format!("{:#06x}", field(38..40)),
            ));
        }
        // ANCHOR_END: armour_reserved
        let footer = Footer {
            index_offset: field(0..8),
            index_len: field(8..16),
            index_crc: field(16..20) as u32,
            meta_offset: field(20..28),
            meta_len: field(28..36),
        };
        // Data blocks, then the index, then the meta section, then the
        // footer, with nothing between them.
        let index_end = footer.index_offset.checked_add(footer.index_len);
        let meta_end = footer.meta_offset.checked_add(footer.meta_len);
        // ANCHOR: armour_layout Check that the index and the meta section lie back to back, up to the footer.
        if index_end != Some(footer.meta_offset) || meta_end != Some(at) {
            return Err(Error::corruption(
                path,
                at,
                format!("an index and a meta section ending where the footer starts, at {at}"),
                format!(
                    "index at {} ({} bytes), meta at {} ({} bytes)",
                    footer.index_offset, footer.index_len, footer.meta_offset, footer.meta_len
                ),
            ));
        }
        // ANCHOR_END: armour_layout
        Ok(footer)
    }
}

/// The total length of the table file `footer` ends.
pub fn file_len(footer: &Footer) -> u64 {
    footer
        .meta_offset
        .saturating_add(footer.meta_len)
        .saturating_add(FOOTER_LEN as u64)
}

// ANCHOR: handle
/// Where one data block is, and the last key it holds: everything the
/// index keeps per block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockHandle {
    /// The block's last key: every key in the block is at most this, and
    /// every key in the next block is greater.
    pub last_key: Box<[u8]>,
    /// Where the block starts in the file.
    pub offset: u64,
    /// Its length, the CRC-32 at its end included.
    pub len: u32,
    /// How many entries it holds.
    pub entries: u32,
}
// ANCHOR_END: handle

/// Appends one index entry for `handle` to `out`.
pub fn push_handle(out: &mut Vec<u8>, handle: &BlockHandle) {
    // ANCHOR: todo_push_handle The last key's length (u16), the block's offset (u64), length (u32) and entry count (u32), then the last key.
    out.extend_from_slice(&(handle.last_key.len() as u16).to_le_bytes());
    out.extend_from_slice(&handle.offset.to_le_bytes());
    out.extend_from_slice(&handle.len.to_le_bytes());
    out.extend_from_slice(&handle.entries.to_le_bytes());
    out.extend_from_slice(&handle.last_key);
    // ANCHOR_END: todo_push_handle
}

/// The index block for a table of `count` entries starting with
/// `first_key`, with `handles` for its blocks.
pub fn encode_index(count: u64, first_key: &[u8], handles: &[u8]) -> Vec<u8> {
    // ANCHOR: todo_encode_index The entry count (u64), the first key's length (u16) and the first key, then the handles.
    let mut out = Vec::with_capacity(INDEX_HEADER_LEN + first_key.len() + handles.len());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&(first_key.len() as u16).to_le_bytes());
    out.extend_from_slice(first_key);
    out.extend_from_slice(handles);
    out
    // ANCHOR_END: todo_encode_index
}

// ANCHOR: index
/// The index of one table, decoded and checked: what the table keeps in
/// memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockIndex {
    /// Entries in the whole table.
    pub count: u64,
    /// The table's first key (empty for an empty table).
    pub first_key: Box<[u8]>,
    /// One handle per data block, in key order.
    pub blocks: Vec<BlockHandle>,
}
// ANCHOR_END: index

fn read_u16(bytes: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]))
}

fn read_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn read_u64(bytes: &[u8], at: usize) -> u64 {
    let mut out = [0; 8];
    out.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(out)
}

impl BlockIndex {
    // ANCHOR: decode_index
    /// Decodes the index block `bytes` of `path`, whose footer is
    /// `footer` (its CRC already checked), and checks that its blocks
    /// tile the data section exactly, in order, with ascending last keys
    /// and counts that add up.
    pub fn decode(path: &Path, bytes: &[u8], footer: &Footer) -> Result<BlockIndex> {
        // ANCHOR: todo_index_decode Read the count, the first key and every handle; check the blocks tile the data section in order, last keys ascending, counts adding up; shrink the handles to fit (memory is counted).
        let base = footer.index_offset;
        let bad = |at: usize, expected: String, found: String| {
            Error::corruption(path, base + at as u64, expected, found)
        };
        // ANCHOR: armour_index_short Refuse an index too short for its header.
        if bytes.len() < INDEX_HEADER_LEN {
            return Err(bad(
                0,
                format!("an index of at least {INDEX_HEADER_LEN} bytes"),
                format!("{} bytes", bytes.len()),
            ));
        }
        // ANCHOR_END: armour_index_short
        let count = read_u64(bytes, 0);
        let first_len = read_u16(bytes, 8);
        let mut at = INDEX_HEADER_LEN;
        let Some(first_key) = bytes.get(at..at + first_len) else {
            return Err(bad(
                8,
                "a first key inside the index".into(),
                format!("{first_len} bytes"),
            ));
        };
        at += first_len;
        let mut blocks = Vec::new();
        let (mut data_end, mut total) = (0u64, 0u64);
        while at < bytes.len() {
            let Some(header) = bytes.get(at..at + INDEX_ENTRY_HEADER_LEN) else {
                return Err(bad(
                    at,
                    "a whole index entry".into(),
                    "the end of the index".into(),
                ));
            };
            let key_len = read_u16(header, 0);
            let handle_at = at;
            let offset = read_u64(header, 2);
            let len = read_u32(header, 10);
            let entries = read_u32(header, 14);
            at += INDEX_ENTRY_HEADER_LEN;
            let Some(key) = bytes.get(at..at + key_len) else {
                return Err(bad(
                    handle_at,
                    "a key inside the index".into(),
                    format!("{key_len} bytes"),
                ));
            };
            at += key_len;
            // Blocks are back to back from offset 0: each starts where the
            // one before ended.
            // ANCHOR: armour_tiling Refuse a block that does not start where the one before ended.
            if offset != data_end {
                return Err(bad(
                    handle_at + 2,
                    format!("a block starting at {data_end}, where the previous one ends"),
                    format!("offset {offset}"),
                ));
            }
            // ANCHOR_END: armour_tiling
            // At least one entry, and room for its header and key.
            let least = (BLOCK_TRAILER_LEN + ENTRY_HEADER_LEN + key_len) as u64;
            // ANCHOR: armour_block_size Refuse a block with no entries, or too small for one, or a last key longer than MAX_KEY_LEN.
            if entries == 0 || u64::from(len) < least || key_len > MAX_KEY_LEN {
                return Err(bad(
                    handle_at,
                    format!("a block of at least one entry and {least} bytes"),
                    format!("{entries} entries in {len} bytes"),
                ));
            }
            // ANCHOR_END: armour_block_size
            // ANCHOR: armour_block_order Refuse last keys that do not rise strictly from the first key.
            if blocks
                .last()
                .is_some_and(|b: &BlockHandle| *b.last_key >= *key)
                || (blocks.is_empty() && key < first_key)
            {
                return Err(bad(
                    handle_at,
                    "block last keys in strictly ascending order, from the first key".into(),
                    "a block whose last key is not past the one before".into(),
                ));
            }
            // ANCHOR_END: armour_block_order
            data_end = offset + u64::from(len);
            total += u64::from(entries);
            blocks.push(BlockHandle {
                last_key: key.into(),
                offset,
                len,
                entries,
            });
        }
        // ANCHOR: armour_data_end Check that the blocks end where the index starts.
        if data_end != footer.index_offset {
            return Err(bad(
                0,
                format!(
                    "blocks that end where the index starts, at {}",
                    footer.index_offset
                ),
                format!("blocks that end at {data_end}"),
            ));
        }
        // ANCHOR_END: armour_data_end
        // ANCHOR: armour_total Check that the blocks' entry counts add up to the table's.
        if total != count {
            return Err(bad(
                0,
                format!("an entry count of {total}, the sum over the blocks"),
                format!("{count}"),
            ));
        }
        // ANCHOR_END: armour_total
        // ANCHOR: armour_empty Refuse a first key in a table of no entries.
        if count == 0 && !first_key.is_empty() {
            return Err(bad(
                8,
                "no first key in an empty table".into(),
                format!("{first_len} bytes"),
            ));
        }
        // ANCHOR_END: armour_empty
        // Exactly as many handles as blocks: the index's memory is the
        // point of this chapter, and a test asserts it.
        blocks.shrink_to_fit();
        Ok(BlockIndex {
            count,
            first_key: first_key.into(),
            blocks,
        })
        // ANCHOR_END: todo_index_decode
    }
    // ANCHOR_END: decode_index

    // ANCHOR: find
    /// The block that holds `key` if any block does: the first whose last
    /// key is at least `key`. `None` when `key` is outside the table's
    /// range, which costs no read.
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        // ANCHOR: todo_find None outside the table's keys; else the first block whose last key is at least the key (a partition point).
        if self.blocks.is_empty() || key < &*self.first_key {
            return None;
        }
        let i = self.blocks.partition_point(|b| &*b.last_key < key);
        (i < self.blocks.len()).then_some(i)
        // ANCHOR_END: todo_find
    }

    /// The first block that can hold a key at or after `start`.
    pub fn seek(&self, start: std::ops::Bound<&[u8]>) -> usize {
        // ANCHOR: todo_seek The first block whose last key is at or past the start bound (a partition point).
        use std::ops::Bound::*;
        match start {
            Unbounded => 0,
            Included(k) => self.blocks.partition_point(|b| &*b.last_key < k),
            Excluded(k) => self.blocks.partition_point(|b| &*b.last_key <= k),
        }
        // ANCHOR_END: todo_seek
    }
    // ANCHOR_END: find

    /// Bytes of memory the index holds: the handles and their keys.
    pub fn heap_bytes(&self) -> u64 {
        let handles = self.blocks.capacity() * std::mem::size_of::<BlockHandle>();
        let keys: usize = self.blocks.iter().map(|b| b.last_key.len()).sum();
        (handles + keys + self.first_key.len()) as u64
    }
}
