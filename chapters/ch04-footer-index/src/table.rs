//! Reading a table: open reads the footer and the index and nothing else;
//! a lookup reads one record; a scan reads the records of its range in
//! large sequential pieces.

use std::path::Path;

use ch00_contract::{Error, KeyRange, KeyValue, Result, Scan};
use ch03_sorted_file::format::decode_record;
use disk::{CountingFile, Disk, atomic};

use crate::format::{FOOTER_LEN, Footer, RECORD_HEADER_LEN, TableWriter, file_len};
use crate::index::{Entry, Index};
use crate::store::TableFile;

/// How many bytes of records a scan asks for in one read, at least: large
/// enough that a long scan costs few system calls, small enough that a
/// short one does not read much it will not use.
pub const SCAN_READ_LEN: u64 = 64 * 1024;

// ANCHOR: table
/// An open table: the file, and its whole index in memory.
#[derive(Debug)]
pub struct Table {
    file: CountingFile,
    index: Index,
}

impl Table {
    /// Opens the table at `path`: one read of the footer at the end of the
    /// file, one read of the index it points to, both checked. The records
    /// are not read.
    pub fn open(disk: &Disk, path: &Path) -> Result<Table> {
        // ANCHOR: todo_open Read and decode the footer from the file's last FOOTER_LEN bytes, then read and decode the index it points to.
        let file = CountingFile::open(disk, path)?;
        // ANCHOR: armour_short Refuse a file too short to hold a footer.
        if file.len() < FOOTER_LEN as u64 {
            return Err(Error::corruption(
                path,
                0,
                format!("a table of at least {FOOTER_LEN} bytes (its footer)"),
                format!("a file of {} bytes", file.len()),
            ));
        }
        // ANCHOR_END: armour_short
        let mut tail = [0; FOOTER_LEN];
        file.read_exact_at(&mut tail, file.len() - FOOTER_LEN as u64)?;
        let footer = Footer::decode(path, &tail, file.len())?;
        // The footer's checks bound the index by the file's length, so a
        // damaged length cannot make this allocate more than the file holds.
        let len = usize::try_from(footer.index_len).map_err(|_| {
            Error::corruption(
                path,
                footer.index_offset,
                "an index that fits in memory",
                format!("{} bytes", footer.index_len),
            )
        })?;
        let mut bytes = vec![0; len];
        if !bytes.is_empty() {
            file.read_exact_at(&mut bytes, footer.index_offset)?;
        }
        let index = Index::decode(path, bytes, &footer)?;
        Ok(Table { file, index })
        // ANCHOR_END: todo_open
    }
}
// ANCHOR_END: table

impl Table {
    /// Opens the table just written at `path`, with the `index` and
    /// `footer` its writer kept: no need to read back what is in memory.
    /// The index is checked all the same, and the file's length against
    /// the footer.
    pub fn open_written(
        disk: &Disk,
        path: &Path,
        footer: &Footer,
        index: Vec<u8>,
    ) -> Result<Table> {
        let file = CountingFile::open(disk, path)?;
        if file.len() != file_len(footer) {
            return Err(Error::corruption(
                path,
                file.len(),
                format!("a table of {} bytes, as written", file_len(footer)),
                format!("a file of {} bytes", file.len()),
            ));
        }
        let index = Index::decode(path, index, footer)?;
        Ok(Table { file, index })
    }

    // ANCHOR: get
    /// The value stored under `key`: a binary search in the index, then one
    /// read of exactly the record's bytes, checked against the index.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // ANCHOR: todo_get Find the key in the index, read exactly its record, check it (self.check), return the value.
        let Some(entry) = self.index.find(key) else {
            return Ok(None);
        };
        // The index bounds every record's length by the contract's limits.
        let mut record = vec![0; entry.len as usize];
        self.file.read_exact_at(&mut record, entry.offset)?;
        let (key, _) = self.check(&entry, &record)?;
        // The value is the record's tail: keep that buffer, not a copy.
        let value_start = RECORD_HEADER_LEN + key.len();
        record.drain(..value_start);
        Ok(Some(record))
        // ANCHOR_END: todo_get
    }

    /// Checks that `bytes` are the record `entry` describes (its checksum,
    /// its encoding, its key, and that it fills its length exactly), and
    /// returns its key and value.
    fn check<'b>(&self, entry: &Entry<'_>, bytes: &'b [u8]) -> Result<(&'b [u8], &'b [u8])> {
        check_record(self.file.path(), entry, bytes)
    }
    // ANCHOR_END: get

    /// Whether the table holds `key`, from the index alone: no read.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.index.find(key).is_some()
    }

    // ANCHOR: table_scan
    /// The records whose keys lie in `range`, in order, read lazily.
    pub fn scan(&self, range: &KeyRange) -> TableScan<'_> {
        let positions = if range.is_empty() {
            0..0
        } else {
            self.index.positions(range)
        };
        TableScan {
            table: self,
            next: positions.start,
            end: positions.end,
            buffer: Vec::new(),
            buffer_at: 0,
        }
    }
    // ANCHOR_END: table_scan

    /// The number of records.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether the table holds no record.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The table's file now has the name `path` (a rename moved it): its
    /// errors name that.
    pub fn renamed(mut self, path: &Path) -> Table {
        self.file.renamed(path);
        self
    }

    /// The open file, for its read counters.
    pub fn file(&self) -> &CountingFile {
        &self.file
    }

    /// Bytes of memory the index holds.
    pub fn index_bytes(&self) -> u64 {
        self.index.heap_bytes()
    }
}

// ANCHOR: scan
/// A scan in progress over one table. The index says where the range's
/// records start and where they stop, so the scan reads only those bytes,
/// in pieces of about [`SCAN_READ_LEN`], and never the data section whole.
pub struct TableScan<'a> {
    table: &'a Table,
    /// The next entry to yield, and the entry the range stops before.
    next: usize,
    end: usize,
    /// Records read ahead, starting at `buffer_at` in the file.
    buffer: Vec<u8>,
    buffer_at: u64,
}

impl TableScan<'_> {
    /// The bytes of the record `entry`, reading the next piece of the
    /// range's records if the buffer does not hold it. A piece always ends
    /// at a record boundary, so no byte is read twice.
    fn record(&mut self, entry: &Entry<'_>) -> Result<std::ops::Range<usize>> {
        let index = &self.table.index;
        let buffered_end = self.buffer_at + self.buffer.len() as u64;
        if entry.offset < self.buffer_at || entry.offset + entry.len > buffered_end {
            // From this record to the first record boundary at least
            // SCAN_READ_LEN further on, but not past the range.
            let want = entry.offset.saturating_add(SCAN_READ_LEN);
            let mut stop = self.next + 1;
            while stop < self.end && index.offset(stop) < want {
                stop += 1;
            }
            let piece_end = index.offset(stop);
            self.buffer.resize((piece_end - entry.offset) as usize, 0);
            self.table
                .file
                .read_exact_at(&mut self.buffer, entry.offset)?;
            self.buffer_at = entry.offset;
        }
        let start = (entry.offset - self.buffer_at) as usize;
        Ok(start..start + entry.len as usize)
    }
}

impl Iterator for TableScan<'_> {
    type Item = Result<KeyValue>;

    fn next(&mut self) -> Option<Self::Item> {
        // ANCHOR: todo_scan_next Yield the next entry's record (self.record, self.table.check) as owned bytes; after an error, end the scan.
        if self.next >= self.end {
            return None;
        }
        let entry = self.table.index.entry(self.next);
        let result = self.record(&entry).and_then(|bytes| {
            let (key, value) = self.table.check(&entry, &self.buffer[bytes])?;
            Ok((key.to_vec(), value.to_vec()))
        });
        // After an error the scan ends: the caller has been told.
        self.next = if result.is_ok() {
            self.next + 1
        } else {
            self.end
        };
        Some(result)
        // ANCHOR_END: todo_scan_next
    }
}
// ANCHOR_END: scan

// ANCHOR: check_record
/// Checks that `bytes`, read from `path`, are the record `entry`
/// describes (its checksum, its encoding, its key, and that it fills its
/// length exactly), and returns its key and value. Chapter 5's index of
/// the index reads chapter 4's records, and checks them with this.
pub fn check_record<'b>(
    path: &Path,
    entry: &Entry<'_>,
    bytes: &'b [u8],
) -> Result<(&'b [u8], &'b [u8])> {
    let computed = crc32fast::hash(bytes);
    // ANCHOR: armour_record_checksum Compare the record's CRC-32 with the one its index entry holds.
    if computed != entry.crc {
        return Err(Error::corruption(
            path,
            entry.offset,
            format!(
                "a record with checksum {:08x}, as the index says",
                entry.crc
            ),
            format!("checksum {computed:08x}: the record is damaged"),
        ));
    }
    // ANCHOR_END: armour_record_checksum
    let record = decode_record(path, bytes, 0, entry.offset)?;
    // ANCHOR: armour_record_key Refuse a record whose key is not the one its index entry names.
    if record.key != entry.key {
        return Err(Error::corruption(
            path,
            entry.offset,
            "the record of the key the index names here",
            "a record of another key (the index does not match the records)",
        ));
    }
    // ANCHOR_END: armour_record_key
    // ANCHOR: armour_record_len Refuse a record that does not fill the bytes up to the next one.
    if record.end != bytes.len() {
        return Err(Error::corruption(
            path,
            entry.offset,
            format!("a record of {} bytes, up to the next one", bytes.len()),
            format!("a record of {} bytes", record.end),
        ));
    }
    // ANCHOR_END: armour_record_len
    Ok((record.key, record.value))
}
// ANCHOR_END: check_record

// ANCHOR: table_file
impl TableFile for Table {
    /// Chapter 4's table has nothing to set.
    type Options = ();

    const FILE_NAME: &'static str = crate::store::FILE_NAME;

    fn open(disk: &Disk, path: &Path) -> Result<Table> {
        Table::open(disk, path)
    }

    /// Streams the entries into a new table at `path`, syncs it, and opens
    /// it with the index its writer kept: no need to read back what is in
    /// memory.
    fn write(disk: &Disk, path: &Path, _: &(), entries: Scan<'_>) -> Result<Table> {
        let mut finished = None;
        atomic::write_file_with(disk, path, |out| {
            let mut writer = TableWriter::new(path, out);
            for entry in entries {
                let (key, value) = entry?;
                writer.add(&key, &value)?;
            }
            let done = writer.finish()?;
            finished = Some((done.footer, done.index));
            Ok(())
        })?;
        let Some((footer, index)) = finished else {
            return Err(Error::InvalidInput("the sync wrote no table".into()));
        };
        Table::open_written(disk, path, &footer, index)
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Table::get(self, key)
    }

    /// The whole index is in memory: the answer is exact.
    fn may_contain(&self, key: &[u8]) -> bool {
        self.contains(key)
    }

    fn scan(&self, range: &KeyRange) -> Scan<'_> {
        Box::new(Table::scan(self, range))
    }

    fn file(&self) -> &CountingFile {
        &self.file
    }

    fn index_bytes(&self) -> u64 {
        Table::index_bytes(self)
    }

    fn renamed(self, path: &Path) -> Table {
        Table::renamed(self, path)
    }
}
// ANCHOR_END: table_file
