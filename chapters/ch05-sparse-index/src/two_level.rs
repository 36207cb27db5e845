//! The other way to be sparse: an index of the index.
//!
//! The file is chapter 4's table, whole (records, full index, footer),
//! followed by a *top index*: every Nth entry of the full index, with
//! where it sits in the full index, and a footer of its own. Open reads
//! the top footer and the top index, never the full index; a lookup finds
//! the slice of the full index between two sampled entries in memory,
//! reads that slice, searches it, and reads the record: two reads.
//!
//! ```text
//! offset       size  field
//! 0            ...   chapter 4's table: records, full index, its footer
//! top_offset   ...   the top index: one entry per sampled index entry:
//!                      2  key length (u16)
//!                      8  the sample's place in the full index (u64)
//!                      8  its record's offset (u64)
//!                      4  CRC-32 of the full index from this sample to
//!                         the next (u32): each slice read is checked
//!                      …  key bytes
//!                    then the table's last key: 2 length, then its bytes
//! end-36       36    top footer:
//!                      8  top index offset (u64)
//!                      8  top index length (u64)
//!                      4  CRC-32 of the top index (u32)
//!                      4  sampling interval N (u32)
//!                      2  format version (1)
//!                      2  reserved, zero
//!                      4  CRC-32 of the 28 footer bytes before it
//!                      4  magic "KVII"
//! ```

use std::io::Write;
use std::path::Path;

use ch00_contract::{Error, IoContext, KeyRange, KeyValue, MAX_VALUE_LEN, Result, Scan};
use ch04_footer_index::TableFile;
use ch04_footer_index::format::{
    FOOTER_LEN as TABLE_FOOTER_LEN, Footer as TableFooter, INDEX_ENTRY_HEADER_LEN,
    RECORD_HEADER_LEN, TableWriter,
};
use ch04_footer_index::index::{Entry, fields};
use ch04_footer_index::table::check_record;
use disk::{CountingFile, Disk, atomic};

/// The last four bytes of every two-level table.
pub const MAGIC: [u8; 4] = *b"KVII";
/// The version this code writes and the only one it reads.
pub const VERSION: u16 = 1;
/// The top footer's fixed size.
pub const TOP_FOOTER_LEN: usize = 36;
/// Key length, place, record offset and CRC before each sample's key.
pub const SAMPLE_HEADER_LEN: usize = 22;
/// The sampling interval when nobody says otherwise.
pub const DEFAULT_INTERVAL: u32 = 16;

// ANCHOR: sample
/// One sampled entry of the full index, kept in memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample {
    /// The sampled entry's key.
    pub key: Box<[u8]>,
    /// Where the entry starts in the full index.
    pub place: u64,
    /// Where its record starts.
    pub record: u64,
    /// The CRC-32 of the full index from this entry to the next sample.
    pub crc: u32,
}
// ANCHOR_END: sample

/// An open two-level table: the file, chapter 4's footer, and the top
/// index in memory.
#[derive(Debug)]
pub struct TwoLevelTable {
    file: CountingFile,
    /// Where the full index is, and the entry count.
    table: TableFooter,
    samples: Vec<Sample>,
    last_key: Box<[u8]>,
}

fn u16_at(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut out = [0; 8];
    out.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(out)
}

// ANCHOR: write
/// Writes `entries` as chapter 4's table, then samples every
/// `interval`th entry of its index into the top index and writes that and
/// the top footer: one pass, since chapter 4's writer hands back the index
/// it wrote.
pub fn write_two_level<W: Write>(
    path: &Path,
    out: &mut W,
    interval: u32,
    entries: Scan<'_>,
) -> Result<()> {
    // ANCHOR: todo_write_two_level Chapter 4's table; then per every interval-th index entry: key_len u16, its place u64, record u64, its slice's CRC-32, key; the last key; the top footer.
    let mut writer = TableWriter::new(path, &mut *out);
    for entry in entries {
        let (key, value) = entry?;
        writer.add(&key, &value)?;
    }
    let done = writer.finish()?;
    let index = &done.index;
    let interval = interval.max(1) as usize;
    // Where each full-index entry starts.
    let mut starts = Vec::new();
    let mut at = 0;
    while at < index.len() {
        starts.push(at);
        at += INDEX_ENTRY_HEADER_LEN + fields(index, at).0;
    }
    let mut top = Vec::new();
    let sampled: Vec<usize> = (0..starts.len()).step_by(interval).collect();
    for (n, &i) in sampled.iter().enumerate() {
        let (key_len, record, _) = fields(index, starts[i]);
        let key_at = starts[i] + INDEX_ENTRY_HEADER_LEN;
        let slice_end = sampled.get(n + 1).map_or(index.len(), |&j| starts[j]);
        top.extend_from_slice(&(key_len as u16).to_le_bytes());
        top.extend_from_slice(&(starts[i] as u64).to_le_bytes());
        top.extend_from_slice(&record.to_le_bytes());
        top.extend_from_slice(&crc32fast::hash(&index[starts[i]..slice_end]).to_le_bytes());
        top.extend_from_slice(&index[key_at..key_at + key_len]);
    }
    let last = starts.last().map_or(&[][..], |&at| {
        let key_at = at + INDEX_ENTRY_HEADER_LEN;
        &index[key_at..key_at + fields(index, at).0]
    });
    top.extend_from_slice(&(last.len() as u16).to_le_bytes());
    top.extend_from_slice(last);
    let top_offset = ch04_footer_index::format::file_len(&done.footer);
    let mut footer = [0u8; TOP_FOOTER_LEN];
    footer[0..8].copy_from_slice(&top_offset.to_le_bytes());
    footer[8..16].copy_from_slice(&(top.len() as u64).to_le_bytes());
    footer[16..20].copy_from_slice(&crc32fast::hash(&top).to_le_bytes());
    footer[20..24].copy_from_slice(&(interval as u32).to_le_bytes());
    footer[24..26].copy_from_slice(&VERSION.to_le_bytes());
    let crc = crc32fast::hash(&footer[..28]);
    footer[28..32].copy_from_slice(&crc.to_le_bytes());
    footer[32..36].copy_from_slice(&MAGIC);
    out.write_all(&top)
        .and_then(|()| out.write_all(&footer))
        .context("writing", path)
    // ANCHOR_END: todo_write_two_level
}
// ANCHOR_END: write

impl TwoLevelTable {
    // ANCHOR: open
    /// Opens the table at `path`: one read of the top footer, one of
    /// chapter 4's footer and the top index together. The full index is
    /// not read.
    pub fn open(disk: &Disk, path: &Path) -> Result<TwoLevelTable> {
        // ANCHOR: todo_two_level_open Read the top footer, then the samples it points to (decode_samples); the full index stays on disk.
        let file = CountingFile::open(disk, path)?;
        let len = file.len();
        let least = (TOP_FOOTER_LEN + TABLE_FOOTER_LEN) as u64;
        if len < least {
            return Err(Error::corruption(
                path,
                0,
                format!("a table of at least {least} bytes (its two footers)"),
                format!("a file of {len} bytes"),
            ));
        }
        let mut tail = [0; TOP_FOOTER_LEN];
        file.read_exact_at(&mut tail, len - TOP_FOOTER_LEN as u64)?;
        let (top_offset, top_len, top_crc) = check_top_footer(path, &tail, len)?;
        // Chapter 4's footer sits right before the top index: one read.
        let start = top_offset - TABLE_FOOTER_LEN as u64;
        let mut bytes = vec![0; TABLE_FOOTER_LEN + top_len as usize];
        file.read_exact_at(&mut bytes, start)?;
        let (table_footer, top) = bytes.split_at(TABLE_FOOTER_LEN);
        let table = TableFooter::decode(
            path,
            table_footer
                .try_into()
                .map_err(|_| Error::corruption(path, start, "a footer", "fewer bytes"))?,
            top_offset,
        )?;
        if crc32fast::hash(top) != top_crc {
            return Err(Error::corruption(
                path,
                top_offset,
                format!("a top index whose CRC-32 is {top_crc:08x}"),
                "other bytes: the top index is damaged",
            ));
        }
        let (samples, last_key) = decode_samples(path, top, top_offset, &table)?;
        Ok(TwoLevelTable {
            file,
            table,
            samples,
            last_key,
        })
        // ANCHOR_END: todo_two_level_open
    }
    // ANCHOR_END: open
}

/// Checks the top footer of a file of `len` bytes; returns the top
/// index's offset, length and CRC.
fn check_top_footer(path: &Path, tail: &[u8; TOP_FOOTER_LEN], len: u64) -> Result<(u64, u64, u32)> {
    let at = len - TOP_FOOTER_LEN as u64;
    if tail[32..36] != MAGIC {
        return Err(Error::corruption(
            path,
            at + 32,
            "the magic number \"KVII\"",
            "other bytes",
        ));
    }
    if u32_at(tail, 28) != crc32fast::hash(&tail[..28]) {
        return Err(Error::corruption(
            path,
            at + 28,
            "a top footer whose CRC-32 matches",
            "another: the footer is damaged",
        ));
    }
    if u16_at(tail, 24) != usize::from(VERSION) || u16_at(tail, 26) != 0 {
        return Err(Error::corruption(
            path,
            at + 24,
            format!("format version {VERSION} and reserved zero"),
            format!("version {} and {}", u16_at(tail, 24), u16_at(tail, 26)),
        ));
    }
    let (offset, top_len) = (u64_at(tail, 0), u64_at(tail, 8));
    let fits = offset.checked_add(top_len) == Some(at)
        && offset >= TABLE_FOOTER_LEN as u64
        && u32_at(tail, 20) > 0;
    if !fits {
        return Err(Error::corruption(
            path,
            at,
            format!("a top index ending where its footer starts, at {at}, after a table footer"),
            format!("offset {offset} and length {top_len}"),
        ));
    }
    Ok((offset, top_len, u32_at(tail, 16)))
}

/// Decodes the top index (its CRC checked) and checks it against the
/// table's footer: samples in ascending key order, inside the full index.
fn decode_samples(
    path: &Path,
    top: &[u8],
    base: u64,
    table: &TableFooter,
) -> Result<(Vec<Sample>, Box<[u8]>)> {
    let bad = |at: usize, what: &str| {
        Error::corruption(path, base + at as u64, what.to_string(), "something else")
    };
    let mut samples: Vec<Sample> = Vec::new();
    let mut at = 0;
    loop {
        let rest = top.len() - at;
        // The last key closes the top index: 2 bytes and its bytes.
        if rest >= 2 && rest == 2 + u16_at(top, at) {
            let last: Box<[u8]> = top[at + 2..].into();
            let ordered = samples.last().is_none_or(|s| *s.key <= *last);
            if !ordered || (samples.is_empty() != (table.count == 0)) {
                return Err(bad(at, "a last key at or after every sample"));
            }
            samples.shrink_to_fit();
            return Ok((samples, last));
        }
        let Some(header) = top.get(at..at + SAMPLE_HEADER_LEN) else {
            return Err(bad(at, "a whole sample"));
        };
        let key_len = u16_at(header, 0);
        let Some(key) = top.get(at + SAMPLE_HEADER_LEN..at + SAMPLE_HEADER_LEN + key_len) else {
            return Err(bad(at, "a sample's key inside the top index"));
        };
        let sample = Sample {
            key: key.into(),
            place: u64_at(header, 2),
            record: u64_at(header, 10),
            crc: u32_at(header, 18),
        };
        let rising = match samples.last() {
            None => sample.place == 0 && sample.record == 0,
            Some(p) => p.key < sample.key && p.place < sample.place && p.record < sample.record,
        };
        if !rising || sample.place >= table.index_len || sample.record >= table.index_offset {
            return Err(bad(
                at,
                "samples rising in key, place and record, inside the table",
            ));
        }
        samples.push(sample);
        at += SAMPLE_HEADER_LEN + key_len;
    }
}

/// One entry of a slice of the full index.
struct SliceEntry<'a> {
    key: &'a [u8],
    offset: u64,
    crc: u32,
}

impl TwoLevelTable {
    // ANCHOR: slice
    /// The sample whose slice can hold `key`: the last sample at or before
    /// it. `None` if `key` is outside the table's keys: no read.
    fn slice_of(&self, key: &[u8]) -> Option<usize> {
        // ANCHOR: todo_slice_of The last sample at or before the key (a partition point); None outside the table's keys.
        let i = self.samples.partition_point(|s| &*s.key <= key);
        (i > 0 && key <= &*self.last_key).then(|| i - 1)
        // ANCHOR_END: todo_slice_of
    }

    /// Reads slice `i` of the full index (one read) and checks its CRC.
    fn read_slice(&self, i: usize) -> Result<Vec<u8>> {
        let start = self.samples[i].place;
        let end = self
            .samples
            .get(i + 1)
            .map_or(self.table.index_len, |s| s.place);
        let mut bytes = vec![0; (end - start) as usize];
        self.file
            .read_exact_at(&mut bytes, self.table.index_offset + start)?;
        if crc32fast::hash(&bytes) != self.samples[i].crc {
            return Err(Error::corruption(
                self.file.path(),
                self.table.index_offset + start,
                format!("an index slice whose CRC-32 is {:08x}", self.samples[i].crc),
                "other bytes: the full index is damaged",
            ));
        }
        Ok(bytes)
    }
    // ANCHOR_END: slice

    /// The entries of slice `i`, decoded from `bytes`, checked: in order,
    /// the first one the sample itself, records rising.
    fn slice_entries<'b>(&self, i: usize, bytes: &'b [u8]) -> Result<Vec<SliceEntry<'b>>> {
        let base = self.table.index_offset + self.samples[i].place;
        let mut out: Vec<SliceEntry<'b>> = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let bad = || {
                Error::corruption(
                    self.file.path(),
                    base + at as u64,
                    "an index entry in order, inside its slice",
                    "something else",
                )
            };
            if bytes.len() - at < INDEX_ENTRY_HEADER_LEN {
                return Err(bad());
            }
            let (key_len, offset, crc) = fields(bytes, at);
            let key_at = at + INDEX_ENTRY_HEADER_LEN;
            let key = bytes.get(key_at..key_at + key_len).ok_or_else(bad)?;
            let in_order = match out.last() {
                None => key == &*self.samples[i].key && offset == self.samples[i].record,
                Some(p) => p.key < key && p.offset < offset,
            };
            if !in_order {
                return Err(bad());
            }
            out.push(SliceEntry { key, offset, crc });
            at = key_at + key_len;
        }
        Ok(out)
    }

    /// Where the record after the last of slice `i` starts.
    fn slice_records_end(&self, i: usize) -> u64 {
        self.samples
            .get(i + 1)
            .map_or(self.table.index_offset, |s| s.record)
    }

    /// Checks the record bytes `record` read for `entry`, ending at `end`,
    /// with chapter 4's check, and returns its value.
    fn check_record(&self, entry: &SliceEntry<'_>, end: u64, record: &[u8]) -> Result<Vec<u8>> {
        let entry = Entry {
            key: entry.key,
            offset: entry.offset,
            len: end - entry.offset,
            crc: entry.crc,
        };
        check_record(self.file.path(), &entry, record).map(|(_, value)| value.to_vec())
    }

    // ANCHOR: get
    /// The value of `key`: the slice of the full index found in memory,
    /// one read of it, a search in it, one read of the record.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // ANCHOR: todo_two_level_get The slice in memory, one read of it, a binary search in it, one read of the record, checked.
        let Some(i) = self.slice_of(key) else {
            return Ok(None);
        };
        let slice = self.read_slice(i)?;
        let entries = self.slice_entries(i, &slice)?;
        let Ok(n) = entries.binary_search_by(|e| e.key.cmp(key)) else {
            return Ok(None);
        };
        let end = entries
            .get(n + 1)
            .map_or(self.slice_records_end(i), |e| e.offset);
        let entry = &entries[n];
        let len = end.saturating_sub(entry.offset);
        // The longest record the contract allows, before allocating.
        if len > (RECORD_HEADER_LEN + key.len() + MAX_VALUE_LEN) as u64 {
            return Err(Error::corruption(
                self.file.path(),
                entry.offset,
                "a record no longer than the limits allow",
                format!("{len} bytes"),
            ));
        }
        let mut record = vec![0; len as usize];
        self.file.read_exact_at(&mut record, entry.offset)?;
        self.check_record(entry, end, &record).map(Some)
        // ANCHOR_END: todo_two_level_get
    }
    // ANCHOR_END: get

    /// The pairs of `range` in slice `i`: one read for the slice, one for
    /// its records in range. Also says whether the range ends in it.
    fn scan_slice(&self, i: usize, range: &KeyRange) -> Result<(Vec<KeyValue>, bool)> {
        let slice = self.read_slice(i)?;
        let entries = self.slice_entries(i, &slice)?;
        let ends = entries.last().is_some_and(|e| range.is_past_end(e.key));
        let wanted: Vec<usize> = (0..entries.len())
            .filter(|&n| range.contains(entries[n].key))
            .collect();
        let (Some(&a), Some(&b)) = (wanted.first(), wanted.last()) else {
            return Ok((Vec::new(), ends));
        };
        let run_start = entries[a].offset;
        let run_end = entries
            .get(b + 1)
            .map_or(self.slice_records_end(i), |e| e.offset);
        let max = (b - a + 1) * (RECORD_HEADER_LEN + ch00_contract::MAX_KEY_LEN + MAX_VALUE_LEN);
        if run_end < run_start || run_end - run_start > max as u64 {
            return Err(Error::corruption(
                self.file.path(),
                run_start,
                "records no longer than the limits allow",
                format!("a run to {run_end}"),
            ));
        }
        let mut run = vec![0; (run_end - run_start) as usize];
        self.file.read_exact_at(&mut run, run_start)?;
        let mut out = Vec::with_capacity(b - a + 1);
        for n in a..=b {
            let end = entries
                .get(n + 1)
                .map_or(self.slice_records_end(i), |e| e.offset);
            let from = (entries[n].offset - run_start) as usize;
            let to = (end - run_start) as usize;
            let record = run.get(from..to).ok_or_else(|| {
                Error::corruption(self.file.path(), entries[n].offset, "a record", "none")
            })?;
            out.push((
                entries[n].key.to_vec(),
                self.check_record(&entries[n], end, record)?,
            ));
        }
        Ok((out, ends))
    }

    /// A scan of `range`, slice by slice.
    pub fn scan(&self, range: &KeyRange) -> TwoLevelScan<'_> {
        let next = match &range.start {
            _ if range.is_empty() => self.samples.len(),
            std::ops::Bound::Unbounded => 0,
            std::ops::Bound::Included(k) | std::ops::Bound::Excluded(k) => self
                .samples
                .partition_point(|s| *s.key <= **k)
                .saturating_sub(1),
        };
        TwoLevelScan {
            table: self,
            range: range.clone(),
            next,
            pending: Vec::new().into_iter(),
            done: false,
        }
    }

    /// Sampled entries held in memory.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Bytes of memory the top index holds.
    pub fn heap_bytes(&self) -> u64 {
        let handles = self.samples.capacity() * std::mem::size_of::<Sample>();
        let keys: usize = self.samples.iter().map(|s| s.key.len()).sum();
        (handles + keys + self.last_key.len()) as u64
    }
}

impl TableFile for TwoLevelTable {
    /// The sampling interval N.
    type Options = u32;

    const FILE_NAME: &'static str = "data.kvii";

    fn open(disk: &Disk, path: &Path) -> Result<Self> {
        TwoLevelTable::open(disk, path)
    }

    fn write(disk: &Disk, path: &Path, interval: &u32, entries: Scan<'_>) -> Result<Self> {
        atomic::write_file_with(disk, path, |out| {
            write_two_level(path, out, *interval, entries)
        })?;
        TwoLevelTable::open(disk, path)
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        TwoLevelTable::get(self, key)
    }

    fn may_contain(&self, key: &[u8]) -> bool {
        self.slice_of(key).is_some()
    }

    fn scan(&self, range: &KeyRange) -> Scan<'_> {
        Box::new(TwoLevelTable::scan(self, range))
    }

    fn file(&self) -> &CountingFile {
        &self.file
    }

    fn index_bytes(&self) -> u64 {
        self.heap_bytes()
    }

    fn renamed(mut self, path: &Path) -> Self {
        self.file.renamed(path);
        self
    }
}

/// A scan in progress: the pairs of one slice at a time.
pub struct TwoLevelScan<'t> {
    table: &'t TwoLevelTable,
    range: KeyRange,
    /// The next slice to read.
    next: usize,
    pending: std::vec::IntoIter<KeyValue>,
    done: bool,
}

impl Iterator for TwoLevelScan<'_> {
    type Item = Result<KeyValue>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(pair) = self.pending.next() {
                return Some(Ok(pair));
            }
            let samples = &self.table.samples;
            if self.done
                || self.next >= samples.len()
                || self.range.is_past_end(&samples[self.next].key)
            {
                return None;
            }
            match self.table.scan_slice(self.next, &self.range) {
                Ok((pairs, ends)) => {
                    self.pending = pairs.into_iter();
                    self.done = ends;
                    self.next += 1;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }
}
