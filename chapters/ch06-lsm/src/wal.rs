//! The write-ahead log: every write, appended to a file before it is
//! applied, so that the memtable can be rebuilt after a crash.
//!
//! ```text
//! header:  4  magic "KVWL"
//!          2  version (2)
//!          2  reserved (0)
//!          8  the log's number (its file name says it too)
//!          4  CRC-32 of the 16 bytes before
//! record:  4  payload length
//!          4  CRC-32 of the payload
//!          4  CRC-32 of the 8 bytes before
//!          …  payload: one batch
//! payload: 4  count of operations
//!          …  operations, each as chapter 5's block entry:
//!             kind (value 0, delete 1), key length (u16),
//!             value length (u32), key, value
//!             or a range delete (version 2):
//!             kind 2, start length (u32), start,
//!             end kind (0 a key, 1 none), end length (u32), end
//! ```
//!
//! One record is one call to `set`, `delete`, `write` or `delete_range`:
//! a batch reaches
//! the log whole or, torn by a crash, fails its checksum and is dropped
//! whole, which is what makes batches atomic.
//!
//! The record header checks itself. A length read from a damaged header
//! would send the reader to a wrong place; with its own checksum the
//! reader trusts a length only when it is intact, and can also look past
//! damage for the next intact record, cheaply, to tell a torn tail from
//! damage in the middle (see [`replay`]).

use std::path::{Path, PathBuf};

use ch00_contract::{Error, IoContext, Result};
use ch05_sparse_index::block::{EntryRef, decode_entry, entry_len, push_entry};
use disk::{Disk, WriteFile, atomic};

use crate::ranges::{MAX_BOUND_LEN, Tombstone};

// ANCHOR: constants
/// The first bytes of every log.
pub const MAGIC: [u8; 4] = *b"KVWL";
/// The log format's version: 2 since range deletes.
pub const VERSION: u16 = 2;
/// Bytes of the file header.
pub const HEADER_LEN: usize = 20;
/// Bytes of a record's header.
pub const RECORD_HEADER_LEN: usize = 12;
/// The largest payload a record may hold (a batch of about 1 GiB): a length
/// beyond it is damage, and a batch beyond it is refused.
pub const MAX_PAYLOAD_LEN: usize = 1 << 30;
/// The kind byte of a range delete in a record (chapter 5's entries use
/// 0 and 1).
pub const KIND_RANGE_DELETE: u8 = 2;
// ANCHOR_END: constants

// ANCHOR: log_op
/// One operation of a record, as the replay hands it over.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogOp<'a> {
    /// A set (`Some`) or a delete (`None`) of one key.
    Put(EntryRef<'a>),
    /// A range delete.
    DeleteRange(Tombstone),
}
// ANCHOR_END: log_op

/// The payload bytes at which [`LogWriter::append_all`] starts a new
/// record, when it copies a memtable into a log.
const CHUNK_LEN: usize = 64 * 1024;

// ANCHOR: encode
/// The file header of log number `number`.
pub fn encode_header(number: u64) -> [u8; HEADER_LEN] {
    let mut header = [0; HEADER_LEN];
    header[0..4].copy_from_slice(&MAGIC);
    header[4..6].copy_from_slice(&VERSION.to_le_bytes());
    header[8..16].copy_from_slice(&number.to_le_bytes());
    let crc = crc32fast::hash(&header[..16]);
    header[16..20].copy_from_slice(&crc.to_le_bytes());
    header
}

/// Appends to `out` one record holding the operations `ops` (`None`: a
/// delete).
pub fn encode_record<'a>(
    out: &mut Vec<u8>,
    ops: impl ExactSizeIterator<Item = (&'a [u8], Option<&'a [u8]>)> + Clone,
) -> Result<()> {
    // ANCHOR: todo_wal_encode_record Refuse a payload over MAX_PAYLOAD_LEN; reserve the header, write the count and each entry (push_entry), then seal_record.
    // Measured before anything is copied: a batch too large for a record
    // is refused without building it in memory first.
    let payload_len = record_len(ops.clone()) - RECORD_HEADER_LEN;
    if payload_len > MAX_PAYLOAD_LEN {
        return Err(Error::InvalidInput(format!(
            "a batch of {payload_len} bytes is larger than a log record may be \
             ({MAX_PAYLOAD_LEN} bytes)"
        )));
    }
    let start = out.len();
    out.reserve(RECORD_HEADER_LEN + payload_len);
    out.extend_from_slice(&[0; RECORD_HEADER_LEN]);
    // The count fits: a batch of 2^32 operations is far past the size
    // limit checked above.
    out.extend_from_slice(&(ops.len() as u32).to_le_bytes());
    for (key, value) in ops {
        push_entry(out, key, value);
    }
    seal_record(out, start);
    Ok(())
    // ANCHOR_END: todo_wal_encode_record
}

/// Fills in the header of the record that starts at `start` in `out`
/// (its payload written after the header's room): the payload's length
/// and checksum, then the header's own.
fn seal_record(out: &mut [u8], start: usize) {
    let payload = &out[start + RECORD_HEADER_LEN..];
    // The caller has bounded the payload by `MAX_PAYLOAD_LEN`: it fits.
    let (payload_len, payload_crc) = (payload.len() as u32, crc32fast::hash(payload));
    let header = &mut out[start..start + RECORD_HEADER_LEN];
    header[0..4].copy_from_slice(&payload_len.to_le_bytes());
    header[4..8].copy_from_slice(&payload_crc.to_le_bytes());
    let header_crc = crc32fast::hash(&header[..8]);
    header[8..12].copy_from_slice(&header_crc.to_le_bytes());
}
// ANCHOR_END: encode

/// Appends to `out` one record holding one range delete: its kind, then
/// the tombstone as a table's range section holds it.
pub fn encode_range_record(out: &mut Vec<u8>, tombstone: &Tombstone) {
    // ANCHOR: todo_wal_encode_range One record whose single operation is the range tombstone (a kind byte of its own, then its start and end).
    let start = out.len();
    out.extend_from_slice(&[0; RECORD_HEADER_LEN]);
    out.extend_from_slice(&1u32.to_le_bytes());
    out.push(KIND_RANGE_DELETE);
    tombstone.encode_to(out);
    seal_record(out, start);
    // ANCHOR_END: todo_wal_encode_range
}

/// The encoded length of a record of `ops`.
pub fn record_len<'a>(ops: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>) -> usize {
    RECORD_HEADER_LEN + 4 + ops.map(|(k, v)| entry_len(k, v)).sum::<usize>()
}

// ANCHOR: writer
/// A log being appended to. Each record goes to the operating system
/// (`write_all`: one write call, or a few for a record of many pages) as
/// soon as it is encoded, before the call that made it returns, so a crash
/// of the process loses none: only a power failure can take what is not
/// yet synced.
pub struct LogWriter {
    path: PathBuf,
    number: u64,
    file: Box<dyn WriteFile>,
    /// Bytes written: the header and every record.
    len: u64,
    /// Records written since the last sync.
    unsynced: bool,
    /// A write or a sync failed: what the file holds is unknown (half a
    /// record, or pages the kernel dropped), so nothing more may go into it.
    failed: bool,
    buffer: Vec<u8>,
}

impl LogWriter {
    /// Creates log number `number` at `path` and writes its header, not
    /// yet synced: the store syncs it before the manifest names the log,
    /// so that a named log's header is always whole.
    pub fn create(disk: &Disk, path: &Path, number: u64) -> Result<LogWriter> {
        let mut file = disk.create(path).context("creating", path)?;
        file.write_all(&encode_header(number))
            .context("writing", path)?;
        Ok(LogWriter {
            path: path.to_path_buf(),
            number,
            file,
            len: HEADER_LEN as u64,
            unsynced: true,
            failed: false,
            buffer: Vec::new(),
        })
    }

    /// Appends one record of `ops`, handed to the operating system whole.
    pub fn append<'a>(
        &mut self,
        ops: impl ExactSizeIterator<Item = (&'a [u8], Option<&'a [u8]>)> + Clone,
    ) -> Result<()> {
        self.check_usable()?;
        self.buffer.clear();
        encode_record(&mut self.buffer, ops)?;
        let written = self.write_buffer();
        // One huge batch should not pin its size in memory for good.
        if self.buffer.capacity() > CHUNK_LEN * 16 {
            self.buffer = Vec::new();
        }
        written
    }
    // ANCHOR_END: writer

    /// Appends one record holding the range delete `tombstone`.
    pub fn append_range(&mut self, tombstone: &Tombstone) -> Result<()> {
        self.check_usable()?;
        self.buffer.clear();
        encode_range_record(&mut self.buffer, tombstone);
        self.write_buffer()
    }

    /// Appends `entries` (a memtable's) as records of about 64 KiB each:
    /// what a new log holds when it takes over from older ones.
    pub fn append_all<'a>(
        &mut self,
        entries: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
    ) -> Result<()> {
        self.check_usable()?;
        let mut chunk = Vec::new();
        let mut bytes = 0;
        for (key, value) in entries {
            chunk.push((key, value));
            bytes += entry_len(key, value);
            if bytes >= CHUNK_LEN {
                self.append(chunk.iter().copied())?;
                chunk.clear();
                bytes = 0;
            }
        }
        if !chunk.is_empty() {
            self.append(chunk.iter().copied())?;
        }
        Ok(())
    }

    // ANCHOR: write_buffer
    fn write_buffer(&mut self) -> Result<()> {
        let written = self.file.write_all(&self.buffer);
        if written.is_err() {
            self.failed = true;
        }
        written.context("appending to", &self.path)?;
        self.len += self.buffer.len() as u64;
        self.unsynced = true;
        Ok(())
    }
    // ANCHOR_END: write_buffer

    // ANCHOR: sync
    /// Makes every record appended so far durable. After a failure the log
    /// is never synced again: a second `fsync` may report success for pages
    /// the kernel dropped after the first failed (see `Error::Poisoned`);
    /// the store moves its memtable to a new log instead.
    pub fn sync(&mut self) -> Result<()> {
        self.check_usable()?;
        if !self.unsynced {
            return Ok(());
        }
        let synced = self.file.sync();
        if synced.is_err() {
            self.failed = true;
        }
        synced.context("syncing", &self.path)?;
        self.unsynced = false;
        Ok(())
    }
    // ANCHOR_END: sync

    fn check_usable(&self) -> Result<()> {
        if self.failed {
            return Err(Error::InvalidInput(format!(
                "an earlier write to {} failed: the log takes no more records",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// Whether a write or a sync failed: the store must move to a new log.
    pub fn failed(&self) -> bool {
        self.failed
    }

    /// The log's number.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The log's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes written to the log so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the log holds only its header.
    pub fn is_empty(&self) -> bool {
        self.len == HEADER_LEN as u64
    }
}

// ANCHOR: log_recovery
/// What a replay does with a bad record that intact records follow.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogRecovery {
    /// Refuse: it is damage in the middle of the log, an error naming the
    /// file and the offset. Only a bad record with nothing intact after it
    /// (a torn tail) is cut.
    #[default]
    Strict,
    /// Cut the log at the first bad record, whatever follows, and keep
    /// the prefix before it (RocksDB's "point-in-time" recovery). For a
    /// store whose file system wrote unsynced pages back out of order
    /// before a power failure, leaving a gap with intact records after
    /// it: the strict mode refuses to open such a log. The records after
    /// the cut are lost, and the cut is reported.
    PointInTime,
}
// ANCHOR_END: log_recovery

// ANCHOR: replayed
/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Replayed {
    /// Records applied.
    pub records: u64,
    /// Operations applied.
    pub ops: u64,
    /// Where the intact records end.
    pub valid_len: u64,
    /// The file's length: more than `valid_len` when a torn tail was cut.
    pub file_len: u64,
    /// Why the tail was cut, if it was.
    pub torn: Option<String>,
}
// ANCHOR_END: replayed

/// Why the bytes at an offset are not an intact record.
enum Bad {
    /// Not an intact record: torn, or damaged; which one depends on what
    /// follows.
    Broken(String),
    /// An intact record (its checksums match) whose payload does not
    /// decode: written wrong, never a tear.
    Invalid(Error),
}

// ANCHOR: replay
/// Reads log number `number` at `path` and hands each record's operations
/// to `apply`, in order.
///
/// A crash in the middle of an append leaves a *torn tail*: the last
/// record incomplete, or complete with bytes that never reached the disk.
/// The replay cuts it off: its write never returned (or, on `sync` only,
/// was not synced). Damage anywhere else is an error, never skipped: the
/// first bad record is a torn tail only if no intact record follows it.
/// (A bad record with intact ones after it means bytes in the middle of
/// the file changed, and dropping them would lose writes silently.)
pub fn replay(
    disk: &Disk,
    path: &Path,
    number: u64,
    mode: LogRecovery,
    mut apply: impl FnMut(&[LogOp<'_>]),
) -> Result<Replayed> {
    // ANCHOR: todo_wal_replay Check the header, then decode record after record, applying each; at one that is not intact, cut_or_fail decides.
    let bytes = atomic::read_file(disk, path, u64::MAX)?
        .ok_or_else(|| Error::corruption(path, 0, "a log, as the manifest says", "no file"))?;
    let mut replayed = Replayed {
        file_len: bytes.len() as u64,
        ..Replayed::default()
    };
    // The header was synced before the manifest named the log: it is
    // whole, or the file is damaged.
    // ANCHOR: armour_log_header Check the log's header before its records (check_header).
    check_header(path, &bytes, number)?;
    // ANCHOR_END: armour_log_header
    let mut at = HEADER_LEN;
    let mut ops = Vec::new();
    while at < bytes.len() {
        let next = match decode_record(path, &bytes, at, &mut ops) {
            Ok(next) => next,
            Err(bad) => return cut_or_fail(path, &bytes, at, bad, mode, replayed),
        };
        apply(&ops);
        replayed.records += 1;
        replayed.ops += ops.len() as u64;
        at = next;
    }
    replayed.valid_len = at as u64;
    Ok(replayed)
    // ANCHOR_END: todo_wal_replay
}
// ANCHOR_END: replay

// ANCHOR: cut_or_fail
/// The record at `at` is `bad`. Written wrong (its checksums match), it is
/// an error. Broken, it is a torn tail if no intact record starts after
/// it, and the log is cut there; else it is damage: an error naming the
/// offset, or (in point-in-time recovery) a cut that says what it drops.
fn cut_or_fail(
    path: &Path,
    bytes: &[u8],
    at: usize,
    bad: Bad,
    mode: LogRecovery,
    mut replayed: Replayed,
) -> Result<Replayed> {
    // ANCHOR: todo_wal_cut_or_fail An Invalid record is an error; a Broken one is cut if no intact record follows (searched from past its own bytes if its header is intact), else an error, or a cut in point-in-time mode.
    let why = match bad {
        Bad::Invalid(e) => return Err(e),
        Bad::Broken(why) => why,
    };
    // Past an intact header, the record's own bytes are known: the search
    // for an intact record starts after them (a value may hold bytes that
    // look like a record).
    let search_from = match intact_header(bytes, at) {
        Some((len, _)) => (at + RECORD_HEADER_LEN).saturating_add(len),
        None => at + 1,
    };
    let torn = match (next_intact_record(bytes, search_from), mode) {
        (None, _) => format!("offset {at}: {why}"),
        (Some(next), LogRecovery::PointInTime) => format!(
            "offset {at}: {why}; cut there, by point-in-time recovery, with intact \
             records after it (the first at offset {next})"
        ),
        (Some(next), LogRecovery::Strict) => {
            return Err(Error::corruption(
                path,
                at as u64,
                "an intact log record (damage before the last record is not a torn tail)",
                format!(
                    "{why}, with an intact record after it at offset {next} (to keep the \
                     records before this one and drop the rest, open with point-in-time \
                     recovery)"
                ),
            ));
        }
    };
    replayed.valid_len = at as u64;
    replayed.torn = Some(torn);
    Ok(replayed)
    // ANCHOR_END: todo_wal_cut_or_fail
}
// ANCHOR_END: cut_or_fail

/// Checks the file header. The store syncs a log's header before the
/// manifest names the log, so a header that is short or damaged is an
/// error, never a tear.
fn check_header(path: &Path, bytes: &[u8], number: u64) -> Result<()> {
    let Some(header) = bytes.get(..HEADER_LEN) else {
        return Err(Error::corruption(
            path,
            0,
            format!("a log header of {HEADER_LEN} bytes"),
            format!("a file of {} bytes", bytes.len()),
        ));
    };
    let stored = u32::from_le_bytes([header[16], header[17], header[18], header[19]]);
    let computed = crc32fast::hash(&header[..16]);
    // ANCHOR: armour_log_header_checksum Compare the header's stored CRC-32 with one computed over its first 16 bytes.
    if computed != stored {
        return Err(Error::corruption(
            path,
            16,
            format!("the header's CRC-32, {computed:08x}"),
            format!("{stored:08x}"),
        ));
    }
    // ANCHOR_END: armour_log_header_checksum
    // ANCHOR: armour_log_magic Refuse a log that does not start with the magic number.
    if header[0..4] != MAGIC {
        return Err(Error::corruption(
            path,
            0,
            format!("the magic number {MAGIC:?} of a log"),
            format!("{:?}", &header[0..4]),
        ));
    }
    // ANCHOR_END: armour_log_magic
    let version = u16::from_le_bytes([header[4], header[5]]);
    // ANCHOR: armour_log_version Refuse a version this code does not know, or reserved bytes that are not zero.
    if version != VERSION || header[6..8] != [0, 0] {
        return Err(Error::corruption(
            path,
            if version != VERSION { 4 } else { 6 },
            format!("log format version {VERSION} and reserved bytes 0"),
            format!("version {version}, reserved {:?}", &header[6..8]),
        ));
    }
    // ANCHOR_END: armour_log_version
    let found = u64::from_le_bytes(header[8..16].try_into().unwrap_or_default());
    // ANCHOR: armour_log_number Refuse a log whose header names another number than the manifest does.
    if found != number {
        return Err(Error::corruption(
            path,
            8,
            format!("log number {number}, as the file's name says"),
            format!("number {found}"),
        ));
    }
    // ANCHOR_END: armour_log_number
    Ok(())
}

/// The payload length in the record header at `at`, if the header is there
/// and intact.
fn intact_header(bytes: &[u8], at: usize) -> Option<(usize, u32)> {
    let header = bytes.get(at..at.checked_add(RECORD_HEADER_LEN)?)?;
    let word =
        |i: usize| u32::from_le_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
    // ANCHOR: armour_record_header_checksum A record header whose own CRC-32 does not match is not intact: None.
    if crc32fast::hash(&header[..8]) != word(8) {
        return None;
    }
    // ANCHOR_END: armour_record_header_checksum
    Some((word(0) as usize, word(4)))
}

// ANCHOR: decode_record
/// Decodes the record at `at` into `ops`; where the next one starts.
fn decode_record<'b>(
    path: &Path,
    bytes: &'b [u8],
    at: usize,
    ops: &mut Vec<LogOp<'b>>,
) -> Result<usize, Bad> {
    let left = bytes.len() - at;
    if left < RECORD_HEADER_LEN {
        return Err(Bad::Broken(format!(
            "{left} bytes, less than a record header"
        )));
    }
    let Some((len, crc)) = intact_header(bytes, at) else {
        return Err(Bad::Broken(
            "a record header whose checksum does not match".into(),
        ));
    };
    let start = at + RECORD_HEADER_LEN;
    // ANCHOR: armour_record_len A payload length past the file's end (or the limit) is a broken record.
    if len > MAX_PAYLOAD_LEN || len > bytes.len() - start {
        return Err(Bad::Broken(format!(
            "a record of {len} bytes with {} bytes left in the file",
            bytes.len() - start
        )));
    }
    // ANCHOR_END: armour_record_len
    let payload = &bytes[start..start + len];
    // ANCHOR: armour_record_checksum A payload whose CRC-32 does not match is a broken record.
    if crc32fast::hash(payload) != crc {
        return Err(Bad::Broken("a record whose checksum does not match".into()));
    }
    // ANCHOR_END: armour_record_checksum
    decode_payload(path, payload, start as u64, ops).map_err(Bad::Invalid)?;
    Ok(start + len)
}

/// Decodes an intact payload: a count, then exactly that many entries.
fn decode_payload<'b>(
    path: &Path,
    payload: &'b [u8],
    offset: u64,
    ops: &mut Vec<LogOp<'b>>,
) -> Result<()> {
    ops.clear();
    let Some(count) = payload.get(..4) else {
        return Err(Error::corruption(
            path,
            offset,
            "a record payload of at least 4 bytes (its count)",
            format!("{} bytes", payload.len()),
        ));
    };
    let count = u32::from_le_bytes([count[0], count[1], count[2], count[3]]);
    let mut pos = 4;
    while pos < payload.len() {
        if payload[pos] == KIND_RANGE_DELETE {
            let (tombstone, next) = decode_range(path, payload, pos, offset)?;
            ops.push(LogOp::DeleteRange(tombstone));
            pos = next;
            continue;
        }
        let span = decode_entry(path, payload, pos, offset)?;
        ops.push(LogOp::Put(span.entry(payload)));
        pos = span.next;
    }
    // ANCHOR: armour_op_count Refuse a payload with another number of operations than its count says.
    if ops.len() as u64 != u64::from(count) {
        return Err(Error::corruption(
            path,
            offset,
            format!("{count} operations, as the record's count says"),
            format!("{}", ops.len()),
        ));
    }
    // ANCHOR_END: armour_op_count
    Ok(())
}
// ANCHOR_END: decode_record

/// Decodes the range delete at `at` in `payload`; the tombstone and where
/// the next operation starts.
fn decode_range(path: &Path, payload: &[u8], at: usize, offset: u64) -> Result<(Tombstone, usize)> {
    let corrupt = |pos: usize, expected: &str, found: String| {
        Error::corruption(path, offset + pos as u64, expected, found)
    };
    let bound = |pos: usize| -> Result<(Vec<u8>, usize)> {
        let len = payload
            .get(pos..pos + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
        match len {
            Some(len) if len <= MAX_BOUND_LEN && len <= payload.len() - pos - 4 => {
                Ok((payload[pos + 4..pos + 4 + len].to_vec(), pos + 4 + len))
            }
            _ => Err(corrupt(
                pos,
                "a range bound's length, at most 65,536 and within the record",
                format!("{len:?}"),
            )),
        }
    };
    let (start, pos) = bound(at + 1)?;
    let (end, next) = match payload.get(pos) {
        Some(0) => {
            let (end, next) = bound(pos + 1)?;
            (Some(end), next)
        }
        Some(1) if payload.get(pos + 1..pos + 5) == Some(&[0, 0, 0, 0][..]) => (None, pos + 5),
        other => {
            return Err(corrupt(
                pos,
                "an end kind of 0 (a key) or 1 (none, with length 0)",
                format!("{other:?}"),
            ));
        }
    };
    let tombstone = Tombstone { start, end };
    // ANCHOR: armour_empty_range Refuse a range delete that deletes nothing.
    if tombstone.is_empty() {
        return Err(corrupt(
            at,
            "a range delete that deletes something",
            format!("{tombstone:?}"),
        ));
    }
    // ANCHOR_END: armour_empty_range
    Ok((tombstone, next))
}

// ANCHOR: search
/// The offset of the first intact record at or after `from`, if any: one
/// whose header and payload checksums both match.
fn next_intact_record(bytes: &[u8], from: usize) -> Option<usize> {
    (from..bytes.len().saturating_sub(RECORD_HEADER_LEN - 1)).find(|&at| {
        intact_header(bytes, at).is_some_and(|(len, crc)| {
            let start = at + RECORD_HEADER_LEN;
            len <= bytes.len() - start && crc32fast::hash(&bytes[start..start + len]) == crc
        })
    })
}
// ANCHOR_END: search

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ops: &[(&[u8], Option<&[u8]>)]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_record(&mut out, ops.iter().copied()).unwrap();
        out
    }

    #[test]
    fn a_record_is_its_header_and_a_payload_of_entries() {
        let bytes = record(&[(b"k", Some(b"v")), (b"d", None)]);
        assert_eq!(
            bytes.len(),
            record_len([(&b"k"[..], Some(&b"v"[..])), (&b"d"[..], None)].into_iter())
        );
        assert_eq!(&bytes[0..4], &(bytes.len() as u32 - 12).to_le_bytes());
        let mut ops = Vec::new();
        let next = decode_record(Path::new("x"), &bytes, 0, &mut ops)
            .ok()
            .unwrap();
        assert_eq!(next, bytes.len());
        let put = |key: &'static [u8], value| LogOp::Put(EntryRef { key, value });
        assert_eq!(ops, [put(b"k", Some(&b"v"[..])), put(b"d", None)]);
    }

    #[test]
    fn a_range_delete_is_one_operation_and_its_damage_is_named() {
        let tombstone = Tombstone {
            start: b"a".to_vec(),
            end: None,
        };
        let mut bytes = Vec::new();
        encode_range_record(&mut bytes, &tombstone);
        let mut ops = Vec::new();
        let next = decode_record(Path::new("x"), &bytes, 0, &mut ops)
            .ok()
            .unwrap();
        assert_eq!(next, bytes.len());
        assert_eq!(ops, [LogOp::DeleteRange(tombstone)]);
        // A payload whose checksums match but whose end kind is wrong (the
        // end kind is the byte after the count, the kind, the start's
        // length and its one byte).
        let payload = RECORD_HEADER_LEN;
        let mut bad = bytes[payload..].to_vec();
        bad[4 + 1 + 4 + 1] = 7;
        let e = decode_payload(Path::new("x"), &bad, 0, &mut ops).unwrap_err();
        assert!(e.to_string().contains("an end kind of 0"), "{e}");
        // An empty range is refused too.
        let mut empty = Vec::new();
        encode_range_record(
            &mut empty,
            &Tombstone {
                start: b"b".to_vec(),
                end: Some(b"a".to_vec()),
            },
        );
        let e = decode_payload(Path::new("x"), &empty[payload..], 0, &mut ops).unwrap_err();
        assert!(e.to_string().contains("deletes something"), "{e}");
    }

    #[test]
    fn a_batch_too_large_for_a_record_is_refused_before_it_is_copied() {
        let value = vec![7; ch00_contract::MAX_VALUE_LEN];
        let ops = vec![(&b"k"[..], Some(&value[..])); MAX_PAYLOAD_LEN / value.len() + 1];
        let mut out = Vec::new();
        let e = encode_record(&mut out, ops.iter().copied()).unwrap_err();
        assert!(matches!(e, Error::InvalidInput(_)), "{e}");
        assert_eq!(out.capacity(), 0, "nothing was built");
    }

    #[test]
    fn the_search_past_damage_finds_only_intact_records() {
        let mut bytes = vec![0xAB; 7];
        let r = record(&[(b"k", Some(b"v"))]);
        bytes.extend_from_slice(&r);
        assert_eq!(next_intact_record(&bytes, 0), Some(7));
        assert_eq!(next_intact_record(&bytes, 8), None);
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(next_intact_record(&bytes, 0), None);
    }
}
