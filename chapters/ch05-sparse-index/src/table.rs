//! Writing a block table in one pass, and reading it: a lookup reads one
//! block; a scan reads the blocks of its range, a few at a time.

use std::io::Write;
use std::ops::Bound;
use std::path::Path;

use ch00_contract::{Error, IoContext, KeyRange, KeyValue, Result, Scan, check_key, check_value};
use ch04_footer_index::TableFile;
use disk::{CountingFile, Disk, atomic};

use crate::block::{self, EntryRef, EntrySpan, check_crc, decode_entry, entry_len, push_entry};
use crate::format::{BlockHandle, BlockIndex, FOOTER_LEN, Footer, encode_index, push_handle};

// ANCHOR: block_size
/// The block size when nobody says otherwise, in bytes.
pub const DEFAULT_BLOCK_SIZE: usize = 4096;

/// The most a scan reads at once: it starts with one block and doubles
/// its reads up to this, so a short scan reads little and a long one
/// costs few system calls.
pub const MAX_SCAN_READ: usize = 64 * 1024;
// ANCHOR_END: block_size

// ANCHOR: writer
/// Writes a block table in one pass from entries in strictly ascending
/// key order: entries collect in a block until the next one would make it
/// larger than `block_size`, then the block goes out with its CRC-32 and
/// its handle goes into the index, which is written at the end with the
/// footer.
pub struct TableWriter<'a, W: Write> {
    path: &'a Path,
    out: W,
    block_size: usize,
    /// The block being filled: its entries' bytes.
    block: Vec<u8>,
    block_entries: u32,
    /// Where the next block starts: the bytes written so far.
    offset: u64,
    /// The index entries of the blocks written.
    handles: Vec<u8>,
    count: u64,
    first_key: Option<Vec<u8>>,
    last_key: Vec<u8>,
    /// Set by a failed write: the file no longer matches the offsets.
    failed: bool,
}
// ANCHOR_END: writer

/// What [`TableWriter::finish`] leaves: the writer underneath, the footer,
/// and the index block, which the caller can load without reading the
/// file back.
pub struct Finished<W> {
    /// The writer the table went to.
    pub out: W,
    /// The footer at the table's end.
    pub footer: Footer,
    /// The index block's bytes.
    pub index: Vec<u8>,
}

impl<'a, W: Write> TableWriter<'a, W> {
    /// A writer of a new table to `out` with blocks of about `block_size`
    /// bytes; `path` names it in errors.
    pub fn new(path: &'a Path, out: W, block_size: usize) -> Self {
        TableWriter {
            path,
            out,
            block_size: block_size.max(1),
            block: Vec::new(),
            block_entries: 0,
            offset: 0,
            handles: Vec::new(),
            count: 0,
            first_key: None,
            last_key: Vec::new(),
            failed: false,
        }
    }

    // ANCHOR: add
    /// Appends an entry: a value, or a tombstone (`None`). Keys must come
    /// in strictly ascending order.
    pub fn add(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<()> {
        // ANCHOR: todo_add Check the key, value and order; if the block is not empty and this entry would pass the block size, finish_block first; push the entry.
        self.check_usable()?;
        check_key(key)?;
        if let Some(value) = value {
            check_value(value)?;
        }
        if self.first_key.is_some() && *self.last_key >= *key {
            return Err(Error::InvalidInput(
                "entries must be added in strictly ascending key order".into(),
            ));
        }
        // A block is closed before it would pass the target size, unless
        // it is empty: one entry larger than a block gets a block alone.
        if !self.block.is_empty() && self.block.len() + entry_len(key, value) > self.block_size {
            self.finish_block()?;
        }
        push_entry(&mut self.block, key, value);
        self.block_entries += 1;
        self.count += 1;
        self.first_key.get_or_insert_with(|| key.to_vec());
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        Ok(())
        // ANCHOR_END: todo_add
    }

    /// Writes the block being filled, with its CRC-32, and records its
    /// handle.
    fn finish_block(&mut self) -> Result<()> {
        // ANCHOR: todo_finish_block Write the block and its CRC-32, record its handle (last key, offset, length, entries), start a new block.
        let crc = crc32fast::hash(&self.block);
        let len = self.block.len() + block::BLOCK_TRAILER_LEN;
        let written = self
            .out
            .write_all(&self.block)
            .and_then(|()| self.out.write_all(&crc.to_le_bytes()))
            .context("writing", self.path);
        if written.is_err() {
            self.failed = true;
        }
        written?;
        push_handle(
            &mut self.handles,
            &BlockHandle {
                last_key: self.last_key.as_slice().into(),
                offset: self.offset,
                // A block holds entries up to the block size, plus one
                // entry of at most a few MiB: it fits a u32.
                len: u32::try_from(len).map_err(|_| {
                    Error::InvalidInput(format!("a block of {len} bytes is too large"))
                })?,
                entries: self.block_entries,
            },
        );
        self.offset += len as u64;
        self.block.clear();
        self.block_entries = 0;
        Ok(())
        // ANCHOR_END: todo_finish_block
    }
    // ANCHOR_END: add

    /// Bytes of the table so far: the blocks written and the one being
    /// filled (the index and footer come on top). Chapter 6's compaction
    /// starts a new table when this passes its target size.
    pub fn data_len(&self) -> u64 {
        self.offset + self.block.len() as u64
    }

    /// Entries added so far.
    pub fn entries(&self) -> u64 {
        self.count
    }

    // ANCHOR: finish
    /// Writes the last block, the index and the footer.
    pub fn finish(self) -> Result<Finished<W>> {
        self.finish_with_meta(&[])
    }

    /// Writes the last block, the index, `meta` as the meta section (bytes
    /// this chapter does not read: chapter 6 keeps a Bloom filter there,
    /// with its own checksum), and the footer.
    pub fn finish_with_meta(mut self, meta: &[u8]) -> Result<Finished<W>> {
        // ANCHOR: todo_finish Close the last block, then write the index block, the meta bytes and the footer that points to both.
        self.check_usable()?;
        if !self.block.is_empty() {
            self.finish_block()?;
        }
        let index = encode_index(
            self.count,
            self.first_key.as_deref().unwrap_or_default(),
            &self.handles,
        );
        let footer = Footer {
            index_offset: self.offset,
            index_len: index.len() as u64,
            index_crc: crc32fast::hash(&index),
            meta_offset: self.offset + index.len() as u64,
            meta_len: meta.len() as u64,
        };
        self.out
            .write_all(&index)
            .and_then(|()| self.out.write_all(meta))
            .and_then(|()| self.out.write_all(&footer.encode()))
            .context("writing", self.path)?;
        Ok(Finished {
            out: self.out,
            footer,
            index,
        })
        // ANCHOR_END: todo_finish
    }
    // ANCHOR_END: finish

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

/// A whole table of `entries` (strictly ascending) in memory, for tests.
pub fn encode<'e>(
    entries: impl IntoIterator<Item = (&'e [u8], Option<&'e [u8]>)>,
    block_size: usize,
) -> Result<Vec<u8>> {
    let mut writer = TableWriter::new(Path::new("(memory)"), Vec::new(), block_size);
    for (key, value) in entries {
        writer.add(key, value)?;
    }
    Ok(writer.finish()?.out)
}

// ANCHOR: lookup
/// What a table knows about a key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The key's value.
    Found(Vec<u8>),
    /// A tombstone: the key was deleted, and older data must not answer.
    Deleted,
    /// The table says nothing about the key.
    Absent,
}
// ANCHOR_END: lookup

// ANCHOR: table
/// An open block table: the file, and the small index in memory.
#[derive(Debug)]
pub struct Table {
    file: CountingFile,
    index: BlockIndex,
    /// Where the meta section lies, and its length.
    meta: (u64, u64),
}

impl Table {
    /// Opens the table at `path`: one read of the footer, one of the index
    /// block, both checked. No data block is read.
    pub fn open(disk: &Disk, path: &Path) -> Result<Table> {
        // ANCHOR: todo_open Read and decode the footer at the end of the file, then read the index block it points to (from_parts checks it).
        let file = CountingFile::open(disk, path)?;
        if file.len() < FOOTER_LEN as u64 {
            return Err(Error::corruption(
                path,
                0,
                format!("a table of at least {FOOTER_LEN} bytes (its footer)"),
                format!("a file of {} bytes", file.len()),
            ));
        }
        let mut tail = [0; FOOTER_LEN];
        file.read_exact_at(&mut tail, file.len() - FOOTER_LEN as u64)?;
        let footer = Footer::decode(path, &tail, file.len())?;
        // The footer's checks bound the index by the file's length.
        let len = usize::try_from(footer.index_len).map_err(|_| {
            Error::corruption(
                path,
                footer.index_offset,
                "an index that fits in memory",
                "more",
            )
        })?;
        let mut index = vec![0; len];
        file.read_exact_at(&mut index, footer.index_offset)?;
        Table::from_parts(file, &footer, &index)
        // ANCHOR_END: todo_open
    }
}
// ANCHOR_END: table

impl Table {
    /// Opens the table just written at `path`, with the index its writer
    /// kept: no need to read back what is in memory. The index is checked
    /// all the same, and the file's length against the footer.
    pub fn open_written(disk: &Disk, path: &Path, footer: &Footer, index: &[u8]) -> Result<Table> {
        let file = CountingFile::open(disk, path)?;
        let expected = crate::format::file_len(footer);
        if file.len() != expected {
            return Err(Error::corruption(
                path,
                file.len(),
                format!("a table of {expected} bytes, as written"),
                format!("a file of {} bytes", file.len()),
            ));
        }
        Table::from_parts(file, footer, index)
    }

    fn from_parts(file: CountingFile, footer: &Footer, index: &[u8]) -> Result<Table> {
        let path = file.path().to_path_buf();
        let crc = crc32fast::hash(index);
        if crc != footer.index_crc {
            return Err(Error::corruption(
                &path,
                footer.index_offset,
                format!(
                    "an index whose CRC-32 is {:08x}, as the footer says",
                    footer.index_crc
                ),
                format!("{crc:08x}: the index is damaged"),
            ));
        }
        let index = BlockIndex::decode(&path, index, footer)?;
        Ok(Table {
            file,
            index,
            meta: (footer.meta_offset, footer.meta_len),
        })
    }

    /// The meta section's bytes (empty in this chapter's tables), read
    /// whole, at most `limit` bytes: one read. What they mean, and how they
    /// are checked, is up to the writer's reader (chapter 6's filter).
    pub fn meta(&self, limit: u64) -> Result<Vec<u8>> {
        let (offset, len) = self.meta;
        if len > limit {
            return Err(Error::corruption(
                self.path(),
                offset,
                format!("a meta section of at most {limit} bytes"),
                format!("{len} bytes"),
            ));
        }
        // The footer's checks put the section inside the file.
        let mut bytes = vec![0; len as usize];
        if len > 0 {
            self.file.read_exact_at(&mut bytes, offset)?;
        }
        Ok(bytes)
    }

    /// Where the meta section starts in the file, for errors.
    pub fn meta_offset(&self) -> u64 {
        self.meta.0
    }

    // ANCHOR: get
    /// What the table holds for `key`: the index names the one block that
    /// can hold it (or none, at no cost), and that block is read and
    /// searched.
    pub fn get(&self, key: &[u8]) -> Result<Lookup> {
        // ANCHOR: todo_get Find the one block that may hold the key, read it, walk it with check_block; a value, a tombstone or nothing.
        let Some(i) = self.index.find(key) else {
            return Ok(Lookup::Absent);
        };
        let bytes = self.read_blocks(i, i + 1)?;
        // One walk over the block both checks it and finds the key.
        let (entries, found) = self.check_block(i, &bytes, 0, Some(key))?;
        Ok(match found.map(|span| span.entry(entries).value) {
            Some(Some(value)) => Lookup::Found(value.to_vec()),
            Some(None) => Lookup::Deleted,
            None => Lookup::Absent,
        })
        // ANCHOR_END: todo_get
    }
    // ANCHOR_END: get

    // ANCHOR: read_blocks
    /// The bytes of blocks `first..end`, which lie back to back: one read.
    fn read_blocks(&self, first: usize, end: usize) -> Result<Vec<u8>> {
        let blocks = &self.index.blocks[first..end];
        let (Some(a), Some(b)) = (blocks.first(), blocks.last()) else {
            return Ok(Vec::new());
        };
        // The index checked that the blocks tile the data section, which
        // lies within the file.
        let len = (b.offset + u64::from(b.len) - a.offset) as usize;
        let mut bytes = vec![0; len];
        self.file.read_exact_at(&mut bytes, a.offset)?;
        Ok(bytes)
    }
    // ANCHOR_END: read_blocks

    // ANCHOR: check_block
    /// Checks block `i`, found at `at` in `bytes`, whole: its CRC-32, then
    /// every entry, in strictly ascending order, within the keys the index
    /// gives the block, as many as it says. Returns its entries' bytes,
    /// and where the entry of `find` is, if it is there: a lookup needs no
    /// second walk. The CRC catches damage; the rest catches a table
    /// written wrong.
    // ANCHOR: check_block_idea_a
    fn check_block<'b>(
        &self,
        i: usize,
        bytes: &'b [u8],
        at: usize,
        find: Option<&[u8]>,
    ) -> Result<(&'b [u8], Option<EntrySpan>)> {
        // ANCHOR_END: check_block_idea_a
        // ANCHOR: todo_check_block Check the CRC-32, then walk every entry: ascending, within the block's keys, as many as the index says; note the one sought.
        // ANCHOR: check_block_idea_b
        let handle = &self.index.blocks[i];
        let block = &bytes[at..at + handle.len as usize];
        let entries = check_crc(self.path(), block, handle.offset)?;
        // ANCHOR_END: check_block_idea_b
        let after: Option<&[u8]> = i.checked_sub(1).map(|p| &*self.index.blocks[p].last_key);
        let (mut seen, mut last): (u32, Option<&[u8]>) = (0, None);
        // ANCHOR: check_block_idea_c
        let mut pos = 0;
        let mut found = None;
        while pos < entries.len() {
            let span = decode_entry(self.path(), entries, pos, handle.offset)?;
            let key = span.entry(entries).key;
            if find == Some(key) {
                found = Some(span.clone());
            }
            // ANCHOR_END: check_block_idea_c
            let in_order = match (last, after) {
                (Some(previous), _) => previous < key,
                (None, Some(before)) => before < key,
                (None, None) => key == &*self.index.first_key,
            };
            // ANCHOR: armour_entry_order Refuse a key out of order, or outside the block's range in the index.
            if !in_order || key > &*handle.last_key {
                return Err(self.misplaced(handle, pos));
            }
            // ANCHOR_END: armour_entry_order
            last = Some(key);
            seen += 1;
            // ANCHOR: check_block_idea_d
            pos = span.next;
        }
        // ANCHOR_END: check_block_idea_d
        // ANCHOR: armour_block_count Refuse a block whose entry count or last key is not the index's.
        if seen != handle.entries || last != Some(&*handle.last_key) {
            return Err(Error::corruption(
                self.path(),
                handle.offset,
                format!(
                    "a block of {} entries ending with its last key, as the index says",
                    handle.entries
                ),
                format!("{seen} entries"),
            ));
        }
        // ANCHOR_END: armour_block_count
        // ANCHOR: check_block_idea_e
        Ok((entries, found))
        // ANCHOR_END: check_block_idea_e
        // ANCHOR_END: todo_check_block
        // ANCHOR: check_block_idea_f
    }
    // ANCHOR_END: check_block_idea_f
    // ANCHOR_END: check_block

    fn misplaced(&self, handle: &BlockHandle, pos: usize) -> Error {
        Error::corruption(
            self.path(),
            handle.offset + pos as u64,
            "keys in strictly ascending order, within the block's range in the index",
            "a key out of place",
        )
    }

    /// Whether the table may hold `key`: it lies within the table's first
    /// and last keys. Costs no read.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        self.index.find(key).is_some()
    }

    // ANCHOR: cursor_new
    /// A cursor over the entries of `range`, tombstones included.
    pub fn cursor(&self, range: &KeyRange) -> Cursor<'_> {
        let next_block = if range.is_empty() {
            self.index.blocks.len()
        } else {
            self.index.seek(range.start.as_ref().map(Vec::as_slice))
        };
        Cursor {
            table: self,
            range: range.clone(),
            next_block,
            buffer: Vec::new(),
            spans: Vec::new(),
            span: 0,
            at: 0,
            read_len: 0,
            skip_below: None,
            done: range.is_empty(),
        }
    }
    // ANCHOR_END: cursor_new

    /// The entries of `range` as owned pairs, tombstones included (`None`):
    /// what a merge of several tables needs.
    pub fn entries(&self, range: &KeyRange) -> Entries<'_> {
        Entries(self.cursor(range))
    }

    /// The values of `range`, tombstones skipped: the table read on its
    /// own, as the only source of data.
    pub fn scan(&self, range: &KeyRange) -> impl Iterator<Item = Result<KeyValue>> + '_ {
        self.entries(range).filter_map(|entry| match entry {
            Ok((key, Some(value))) => Some(Ok((key, value))),
            Ok((_, None)) => None,
            Err(e) => Some(Err(e)),
        })
    }

    /// The table's first key, `None` if it is empty.
    pub fn first_key(&self) -> Option<&[u8]> {
        (self.index.count > 0).then_some(&*self.index.first_key)
    }

    /// The table's last key, `None` if it is empty.
    pub fn last_key(&self) -> Option<&[u8]> {
        self.index.blocks.last().map(|b| &*b.last_key)
    }

    /// Entries in the table, tombstones included.
    pub fn len(&self) -> u64 {
        self.index.count
    }

    /// Whether the table holds no entry.
    pub fn is_empty(&self) -> bool {
        self.index.count == 0
    }

    /// Data blocks in the table.
    pub fn block_count(&self) -> usize {
        self.index.blocks.len()
    }

    /// The file's length in bytes.
    pub fn file_len(&self) -> u64 {
        self.file.len()
    }

    /// Bytes of memory the index holds.
    pub fn index_bytes(&self) -> u64 {
        self.index.heap_bytes()
    }

    /// The open file, for its read counters.
    pub fn file(&self) -> &CountingFile {
        &self.file
    }

    /// The table's file now has the name `path`: its errors name that.
    pub fn renamed(mut self, path: &Path) -> Table {
        self.file.renamed(path);
        self
    }

    fn path(&self) -> &Path {
        self.file.path()
    }
}

// ANCHOR: cursor
// ANCHOR: cursor_type
/// A position in a table's range: it reads the range's blocks in order,
/// one block the first time and twice as many bytes each time after, up
/// to [`MAX_SCAN_READ`], and hands out entries borrowed from what it read.
pub struct Cursor<'t> {
    table: &'t Table,
    range: KeyRange,
    /// The next block to read.
    next_block: usize,
    /// Blocks read, back to back, each checked.
    buffer: Vec<u8>,
    /// Where each block's entries lie in `buffer`.
    spans: Vec<std::ops::Range<usize>>,
    /// The block being walked, and the next entry's place in `buffer`.
    span: usize,
    at: usize,
    /// Bytes the last read asked for.
    read_len: usize,
    /// Set by a seek: entries before this key are skipped.
    skip_below: Option<Vec<u8>>,
    done: bool,
}
// ANCHOR_END: cursor_type

impl Cursor<'_> {
    // ANCHOR: next_entry
    /// The next entry of the range, borrowed from the cursor (a lending
    /// iterator: the borrow ends before the cursor moves again).
    pub fn next_entry(&mut self) -> Result<Option<EntryRef<'_>>> {
        let next = self.advance();
        if next.is_err() {
            // The buffer may be half filled: nothing after an error can be
            // trusted, so the cursor ends here.
            self.done = true;
        }
        let Some(found) = next? else {
            return Ok(None);
        };
        Ok(Some(found.entry(&self.buffer)))
    }

    /// Moves to the next entry of the range: where it lies in the buffer.
    fn advance(&mut self) -> Result<Option<EntrySpan>> {
        // ANCHOR: todo_cursor_advance The next entry in the range: step through the buffered blocks (fill reads more), skip keys before the start or below skip_below, stop past the end.
        loop {
            if self.done {
                return Ok(None);
            }
            let Some(span) = self.spans.get(self.span).cloned() else {
                if !self.fill()? {
                    self.done = true;
                }
                continue;
            };
            if self.at >= span.end {
                self.span += 1;
                self.at = self.spans.get(self.span).map_or(0, |s| s.start);
                continue;
            }
            // Where the buffer starts in the file, for errors.
            let first = self.next_block - self.spans.len();
            let base = self.table.index.blocks[first].offset;
            let found: EntrySpan =
                decode_entry(self.table.path(), &self.buffer[..span.end], self.at, base)?;
            self.at = found.next;
            let key = &self.buffer[found.key.clone()];
            if !self.range.contains(key) {
                if in_start(&self.range.start, key) {
                    // Past the end: the range is over.
                    self.done = true;
                    return Ok(None);
                }
                // Before the start, in the first block: skip.
                continue;
            }
            if self.skip_below.as_deref().is_some_and(|below| key < below) {
                continue;
            }
            return Ok(Some(found));
        }
        // ANCHOR_END: todo_cursor_advance
    }
    // ANCHOR_END: next_entry

    /// Moves the cursor to the first entry at or after `key` (within the
    /// range it was made for): the blocks it holds are dropped, and the
    /// next read starts at the block that can hold `key`. What a merge of
    /// several tables uses to skip ahead.
    pub fn seek(&mut self, key: &[u8]) {
        // Never before the range's own start.
        let target = if self.range.is_before_start(key) {
            None
        } else {
            Some(key.to_vec())
        };
        self.next_block = match (&target, self.range.is_empty()) {
            (_, true) => self.table.index.blocks.len(),
            (Some(key), false) => self.table.index.seek(Bound::Included(key)),
            (None, false) => self
                .table
                .index
                .seek(self.range.start.as_ref().map(Vec::as_slice)),
        };
        self.skip_below = target;
        self.buffer.clear();
        self.spans.clear();
        self.span = 0;
        self.at = 0;
        self.read_len = 0;
        self.done = self.range.is_empty();
    }

    // ANCHOR: fill
    /// Reads the next blocks of the range; `false` when there are none.
    fn fill(&mut self) -> Result<bool> {
        let blocks = &self.table.index.blocks;
        if self.next_block >= blocks.len() {
            return Ok(false);
        }
        // Twice the last read, at least one block, at most MAX_SCAN_READ
        // (unless one block is larger).
        let budget = (self.read_len * 2).clamp(1, MAX_SCAN_READ);
        let first = self.next_block;
        let mut end = first + 1;
        let mut len = blocks[first].len as usize;
        while end < blocks.len()
            && len + blocks[end].len as usize <= budget
            && self.range_may_continue(end)
        {
            len += blocks[end].len as usize;
            end += 1;
        }
        self.buffer = self.table.read_blocks(first, end)?;
        self.read_len = len;
        self.spans.clear();
        let mut at = 0;
        for (i, block) in blocks.iter().enumerate().take(end).skip(first) {
            let (entries, _) = self.table.check_block(i, &self.buffer, at, None)?;
            self.spans.push(at..at + entries.len());
            at += block.len as usize;
        }
        self.next_block = end;
        self.span = 0;
        self.at = 0;
        Ok(true)
    }

    /// Whether block `i` can hold keys of the range: the block before it
    /// ends below the range's end.
    fn range_may_continue(&self, i: usize) -> bool {
        let before = &self.table.index.blocks[i - 1].last_key;
        match &self.range.end {
            Bound::Unbounded => true,
            Bound::Included(end) => **before < **end,
            Bound::Excluded(end) => **before < **end,
        }
    }
    // ANCHOR_END: fill
}
// ANCHOR_END: cursor

/// Whether `key` is at or after the range's start (so a key outside the
/// range is past its end).
fn in_start(start: &Bound<Vec<u8>>, key: &[u8]) -> bool {
    match start {
        Bound::Unbounded => true,
        Bound::Included(s) => key >= s.as_slice(),
        Bound::Excluded(s) => key > s.as_slice(),
    }
}

// ANCHOR: entries
/// A cursor's entries, owned: the edge where borrowed bytes become the
/// pairs the rest of the store passes around.
pub struct Entries<'t>(Cursor<'t>);

impl Iterator for Entries<'_> {
    type Item = Result<(Vec<u8>, Option<Vec<u8>>)>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.0.next_entry() {
            Ok(Some(entry)) => Some(Ok((entry.key.to_vec(), entry.value.map(<[u8]>::to_vec)))),
            Ok(None) => None,
            Err(e) => {
                // An error ends the scan: the rest cannot be trusted.
                self.0.done = true;
                Some(Err(e))
            }
        }
    }
}
// ANCHOR_END: entries

// ANCHOR: table_file
impl TableFile for Table {
    /// The block size, in bytes.
    type Options = usize;

    const FILE_NAME: &'static str = crate::store::FILE_NAME;

    fn open(disk: &Disk, path: &Path) -> Result<Table> {
        Table::open(disk, path)
    }

    fn write(disk: &Disk, path: &Path, block_size: &usize, entries: Scan<'_>) -> Result<Table> {
        let mut finished = None;
        atomic::write_file_with(disk, path, |out| {
            let mut writer = TableWriter::new(path, out, *block_size);
            for entry in entries {
                let (key, value) = entry?;
                writer.add(&key, Some(&value))?;
            }
            let done = writer.finish()?;
            finished = Some((done.footer, done.index));
            Ok(())
        })?;
        let Some((footer, index)) = finished else {
            return Err(Error::InvalidInput("the sync wrote no table".into()));
        };
        Table::open_written(disk, path, &footer, &index)
    }

    /// A tombstone reads as absent: this table is the store's only one.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(match Table::get(self, key)? {
            Lookup::Found(value) => Some(value),
            Lookup::Deleted | Lookup::Absent => None,
        })
    }

    /// Only the first and last keys are in memory: a key between them
    /// may be in the table.
    fn may_contain(&self, key: &[u8]) -> bool {
        Table::may_contain(self, key)
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
