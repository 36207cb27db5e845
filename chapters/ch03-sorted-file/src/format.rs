//! The sorted file: a header, the records in ascending key order, and a
//! checksum. All integers are little-endian.
//!
//! ```text
//! offset  size  field
//! 0       4     magic "KVSF"
//! 4       2     format version (1)
//! 6       2     reserved, zero
//! 8       8     record count
//! 16      ...   records, keys strictly ascending, each:
//!                 2  key length (u16)
//!                 4  value length (u32)
//!                 …  key bytes, then value bytes
//! end-4   4     CRC-32 (IEEE) of every byte before it
//! ```
//!
//! The record encoding is the part later chapters reuse: chapter 4 writes
//! the same records and adds an index after them.

use std::io::Write;
use std::path::Path;

use ch00_contract::{Error, IoContext, MAX_VALUE_LEN, Result, check_key, check_value};
use disk::Checksummed;

// ANCHOR: constants
/// The first four bytes of every sorted file.
pub const MAGIC: [u8; 4] = *b"KVSF";
/// The version this code writes and the only one it reads.
pub const VERSION: u16 = 1;
/// Magic, version, reserved, record count.
pub const HEADER_LEN: usize = 16;
/// Key length (u16) and value length (u32) before each record's bytes.
pub const RECORD_HEADER_LEN: usize = 6;
/// The CRC-32 at the end.
pub const CHECKSUM_LEN: usize = 4;
// ANCHOR_END: constants

// ANCHOR: encode_record
/// Writes one record, `key_len | value_len | key | value`, to `out`, and
/// returns its length in bytes. `path` names the file in errors.
///
/// Lengths are fixed-width: a `u16` is exactly enough for the contract's
/// longest key and a `u32` for its longest value. A varint would save a few
/// bytes per record for short keys and values, at the price of a decoder
/// that must find where each length ends.
pub fn write_record(path: &Path, out: &mut impl Write, key: &[u8], value: &[u8]) -> Result<u64> {
    // ANCHOR: todo_write_record Check the key and value, then write key_len (u16 LE), value_len (u32 LE), key, value; return the length.
    check_key(key)?;
    check_value(value)?;
    // Both conversions hold after the checks; `try_from` keeps it provable.
    let key_len = u16::try_from(key.len()).map_err(|_| too_long("key", key.len()))?;
    let value_len = u32::try_from(value.len()).map_err(|_| too_long("value", value.len()))?;
    for part in [
        &key_len.to_le_bytes()[..],
        &value_len.to_le_bytes(),
        key,
        value,
    ] {
        out.write_all(part).context("writing", path)?;
    }
    Ok((RECORD_HEADER_LEN + key.len() + value.len()) as u64)
    // ANCHOR_END: todo_write_record
}
// ANCHOR_END: encode_record

/// [`write_record`] into memory.
pub fn encode_record(out: &mut Vec<u8>, key: &[u8], value: &[u8]) -> Result<()> {
    write_record(Path::new("(memory)"), out, key, value).map(|_| ())
}

fn too_long(what: &str, len: usize) -> Error {
    Error::InvalidInput(format!(
        "a {what} of {len} bytes does not fit its length field"
    ))
}

// ANCHOR: encode
/// Writes the whole file for `entries`, which must come in strictly
/// ascending key order (a `BTreeMap`'s order), to `out`, one record at a
/// time: the file is never built in memory. Returns its length in bytes.
pub fn write<'a>(
    path: &Path,
    out: &mut impl Write,
    entries: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<u64> {
    // ANCHOR: todo_write Header, then each record in strictly ascending key order, then the CRC-32 of all of it (disk::Checksummed).
    let count = entries.len() as u64;
    let mut sink = Checksummed::new(out);
    sink.write_all(&header(count)).context("writing", path)?;
    let (mut len, mut records) = (HEADER_LEN as u64, 0);
    let mut previous: Option<&[u8]> = None;
    for (key, value) in entries {
        if previous.is_some_and(|p| p >= key) {
            return Err(Error::InvalidInput(
                "entries to write must be in strictly ascending key order".into(),
            ));
        }
        len += write_record(path, &mut sink, key, value)?;
        records += 1;
        previous = Some(key);
    }
    if records != count {
        return Err(Error::InvalidInput(format!(
            "the header promised {count} records and {records} came"
        )));
    }
    let checksum = sink.checksum();
    sink.inner()
        .write_all(&checksum.to_le_bytes())
        .context("writing", path)?;
    Ok(len + CHECKSUM_LEN as u64)
    // ANCHOR_END: todo_write
}
// ANCHOR_END: encode

/// [`write`] into memory: the whole file as bytes.
pub fn encode<'a>(entries: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    write(Path::new("(memory)"), &mut out, entries)?;
    Ok(out)
}

/// `N` bytes at `at` in `buf`, whose first byte is at `base` in the file
/// `path`; an error saying what was expected there if the buffer ends first.
fn take<const N: usize>(
    path: &Path,
    buf: &[u8],
    at: usize,
    base: u64,
    what: &str,
) -> Result<[u8; N]> {
    at.checked_add(N)
        .and_then(|end| buf.get(at..end))
        .and_then(|bytes| <[u8; N]>::try_from(bytes).ok())
        .ok_or_else(|| {
            Error::corruption(
                path,
                base.saturating_add(at as u64),
                format!("{what} ({N} bytes)"),
                format!(
                    "the end of the data, {} bytes on",
                    buf.len().saturating_sub(at)
                ),
            )
        })
}

// ANCHOR: decode_record
/// One record read from a buffer: borrowed key and value, and where the
/// next record starts.
#[derive(Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The key's bytes.
    pub key: &'a [u8],
    /// The value's bytes.
    pub value: &'a [u8],
    /// Offset in the buffer just past this record.
    pub end: usize,
}

/// Decodes the record at `at` in `buf`. `buf` starts at byte `base` of the
/// file `path`, so that errors give the offset in the file.
pub fn decode_record<'a>(path: &Path, buf: &'a [u8], at: usize, base: u64) -> Result<Record<'a>> {
    // ANCHOR: todo_decode_record Read the two lengths (record_lengths), then borrow the key and value; an error if the buffer ends first.
    let (key_len, value_len) = record_lengths(path, buf, at, base)?;
    let key_start = at + RECORD_HEADER_LEN;
    let value_start = key_start + key_len;
    let end = value_start + value_len;
    let (Some(key), Some(value)) = (buf.get(key_start..value_start), buf.get(value_start..end))
    else {
        return Err(Error::corruption(
            path,
            base.saturating_add(at as u64),
            format!(
                "a record of {} bytes",
                RECORD_HEADER_LEN + key_len + value_len
            ),
            format!(
                "the end of the data, {} bytes on",
                buf.len().saturating_sub(at)
            ),
        ));
    };
    Ok(Record { key, value, end })
    // ANCHOR_END: todo_decode_record
}
// ANCHOR_END: decode_record

/// The key and value lengths of the record whose 6-byte length prefix is at
/// `at` in `buf` (at `base` in the file), checked against the contract's
/// limits: what a reader that fetches one record from disk needs first, to
/// know how many more bytes to read.
pub fn record_lengths(path: &Path, buf: &[u8], at: usize, base: u64) -> Result<(usize, usize)> {
    let key_len = u16::from_le_bytes(take(path, buf, at, base, "a key length")?) as usize;
    let value_len = u32::from_le_bytes(take(
        path,
        buf,
        at.saturating_add(2),
        base,
        "a value length",
    )?) as usize;
    // ANCHOR: armour_value_len Refuse a value length above the contract's limit, before reading it.
    if value_len > MAX_VALUE_LEN {
        return Err(Error::corruption(
            path,
            base.saturating_add(at as u64).saturating_add(2),
            format!("a value length of at most {MAX_VALUE_LEN}"),
            format!("{value_len}"),
        ));
    }
    // ANCHOR_END: armour_value_len
    Ok((key_len, value_len))
}

// ANCHOR: header
/// Checks the header at the start of `bytes` (magic number, version,
/// reserved bytes) and returns the record count it declares.
pub fn read_header(path: &Path, bytes: &[u8]) -> Result<u64> {
    // ANCHOR: todo_read_header Check the magic number, the version and the reserved bytes; return the record count.
    let magic: [u8; 4] = take(path, bytes, 0, 0, "the magic number")?;
    // ANCHOR: armour_magic Refuse a file that does not start with the magic number.
    if magic != MAGIC {
        return Err(Error::corruption(
            path,
            0,
            format!("the magic number {:?}", String::from_utf8_lossy(&MAGIC)),
            format!("{magic:02x?}"),
        ));
    }
    // ANCHOR_END: armour_magic
    let version = u16::from_le_bytes(take(path, bytes, 4, 0, "a version")?);
    // ANCHOR: armour_version Refuse a version this code does not know.
    if version != VERSION {
        return Err(Error::corruption(
            path,
            4,
            format!("format version {VERSION}"),
            format!("version {version}"),
        ));
    }
    // ANCHOR_END: armour_version
    let reserved = u16::from_le_bytes(take(path, bytes, 6, 0, "reserved bytes")?);
    // ANCHOR: armour_reserved Refuse reserved bytes that are not zero.
    if reserved != 0 {
        return Err(Error::corruption(
            path,
            6,
            "reserved bytes of zero",
            format!("{reserved:#06x}"),
        ));
    }
    // ANCHOR_END: armour_reserved
    Ok(u64::from_le_bytes(take(
        path,
        bytes,
        8,
        0,
        "a record count",
    )?))
    // ANCHOR_END: todo_read_header
}

/// The header for a file of `count` records.
pub fn header(count: u64) -> [u8; HEADER_LEN] {
    // ANCHOR: todo_header Magic, version, two reserved zero bytes, then the record count, all little-endian.
    let mut out = [0; HEADER_LEN];
    out[0..4].copy_from_slice(&MAGIC);
    out[4..6].copy_from_slice(&VERSION.to_le_bytes());
    out[8..16].copy_from_slice(&count.to_le_bytes());
    out
    // ANCHOR_END: todo_header
}
// ANCHOR_END: header

// ANCHOR: decode
/// Every record of a whole file, checked: magic, version, lengths, key
/// order, that the records end where the checksum starts, and the checksum.
/// `visit` is called with each record in order; nothing is returned for a
/// damaged file but the error.
// ANCHOR: decode_idea_a
pub fn decode(path: &Path, bytes: &[u8], mut visit: impl FnMut(&[u8], &[u8])) -> Result<u64> {
    // ANCHOR_END: decode_idea_a
    // ANCHOR: todo_decode Header, count records in ascending order ending where the checksum starts, checksum; visit only once all is checked.
    // ANCHOR: armour_short Refuse a file too short for a header and a checksum.
    if bytes.len() < HEADER_LEN + CHECKSUM_LEN {
        return Err(Error::corruption(
            path,
            0,
            format!(
                "a header and a checksum, at least {} bytes",
                HEADER_LEN + CHECKSUM_LEN
            ),
            format!("a file of {} bytes", bytes.len()),
        ));
    }
    // ANCHOR_END: armour_short
    // ANCHOR: decode_idea_b
    let count = read_header(path, bytes)?;
    let records_end = bytes.len() - CHECKSUM_LEN;
    let data = &bytes[..records_end];
    let mut at = HEADER_LEN;
    let mut decoded = Vec::new();
    // ANCHOR_END: decode_idea_b
    let mut previous: Option<&[u8]> = None;
    // ANCHOR: decode_idea_c
    for _ in 0..count {
        let record = decode_record(path, data, at, 0)?;
        // ANCHOR_END: decode_idea_c
        // ANCHOR: armour_order Refuse a key not greater than the one before it.
        if previous.is_some_and(|p| p >= record.key) {
            return Err(Error::corruption(
                path,
                at as u64,
                "keys in strictly ascending order",
                "a key not greater than the one before it",
            ));
        }
        // ANCHOR_END: armour_order
        previous = Some(record.key);
        // ANCHOR: decode_idea_d
        decoded.push((record.key, record.value));
        at = record.end;
    }
    // ANCHOR_END: decode_idea_d
    // ANCHOR: armour_records_end Refuse records that do not end where the checksum starts.
    if at != records_end {
        return Err(Error::corruption(
            path,
            at as u64,
            format!("the checksum right after the last of {count} records"),
            format!("{} more bytes", records_end - at),
        ));
    }
    // ANCHOR_END: armour_records_end
    // ANCHOR: armour_checksum Compare the stored CRC-32 with one computed over every byte before it.
    let stored = u32::from_le_bytes(take(path, bytes, records_end, 0, "the checksum")?);
    let computed = crc32fast::hash(data);
    if stored != computed {
        return Err(Error::corruption(
            path,
            records_end as u64,
            format!("checksum {computed:08x}, computed over the bytes before it"),
            format!("{stored:08x}: the file is damaged"),
        ));
    }
    // ANCHOR_END: armour_checksum
    // Only a file that checked out in full reaches the caller.
    // ANCHOR: decode_idea_e
    for (key, value) in decoded {
        visit(key, value);
    }
    Ok(count)
    // ANCHOR_END: decode_idea_e
    // ANCHOR_END: todo_decode
    // ANCHOR: decode_idea_f
}
// ANCHOR_END: decode_idea_f
// ANCHOR_END: decode

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_refuses_unsorted_entries_and_decode_reads_what_it_wrote() {
        let unsorted: Vec<(&[u8], &[u8])> = vec![(b"b", b"1"), (b"a", b"2")];
        assert!(encode(unsorted.into_iter()).is_err());
        let sorted: Vec<(&[u8], &[u8])> = vec![(b"", b""), (b"a", b"\xff"), (b"b", b"22")];
        let bytes = encode(sorted.clone().into_iter()).unwrap();
        assert_eq!(
            bytes.len(),
            HEADER_LEN + 3 * RECORD_HEADER_LEN + 5 + CHECKSUM_LEN
        );
        let mut seen = Vec::new();
        let count = decode(Path::new("x"), &bytes, |k, v| {
            seen.push((k.to_vec(), v.to_vec()))
        })
        .unwrap();
        assert_eq!(count, 3);
        let expected: Vec<(Vec<u8>, Vec<u8>)> = sorted
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn a_record_length_past_the_buffer_is_an_error_at_its_offset() {
        let mut buf = Vec::new();
        encode_record(&mut buf, b"key", b"value").unwrap();
        buf.truncate(buf.len() - 1);
        let err = decode_record(Path::new("f"), &buf, 0, 100).unwrap_err();
        assert!(err.to_string().contains("offset 100"), "{err}");
    }
}
