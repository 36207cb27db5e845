//! `cargo kv inspect`: what a store's directory or one of its files holds.
//!
//! Every format of the book starts or ends with a magic number (`KVSF`
//! at the start of chapter 3's file, `KVBT` at the end of chapter 5's
//! table, ...), so a file says what it is. [`recognise`] reads those four
//! bytes; a directory is recognised by the files in it (`MANIFEST` for
//! chapter 6, `fsdb.json` for chapter 2, `data.kvsf` ...). The file is then
//! decoded by the chapter's own code: a damaged file fails here with the
//! error, file and byte offset the store itself would report, and nothing
//! is printed that the store would not have accepted.
//!
//! Inspecting never changes anything: opening an LSM store would remove
//! unnamed files and start a new log, so the manifest, tables and logs are
//! read one by one instead. Paths are printed relative to what was
//! inspected, so the output of the same store is the same text wherever
//! the store lives.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ch00_contract::{Error, IoContext, KeyRange, Result};
use ch05_sparse_index::block::{check_crc, decode_entry};
use ch05_sparse_index::format::{BlockIndex, FOOTER_LEN, Footer};
use ch06_lsm::files::{self, FileKind, MANIFEST};
use ch06_lsm::manifest::Manifest;
use ch06_lsm::ranges::Tombstone;
use ch06_lsm::tables::LiveTable;
use ch06_lsm::wal::{self, LogOp, LogRecovery};
use disk::{Disk, LOCK_FILE};

use crate::text::{columns, count, escape, escape_short};

/// The largest file `inspect` reads whole. Every file of this book's
/// stores is far smaller in the examples; a bigger one is refused rather
/// than read into memory.
pub const MAX_FILE_LEN: u64 = 1 << 30;

/// What a path holds, as far as its names and magic numbers tell.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Format {
    /// Chapter 6's directory: a `MANIFEST`, logs and tables.
    LsmDir,
    /// Chapter 2's directory: `fsdb.json` and fan-out directories.
    FsdbDir,
    /// A directory of chapters 3 to 5: one data file, inspected as such.
    OneFileDir(PathBuf),
    /// A directory holding nothing a store wrote but perhaps its lock:
    /// the one-file stages write their file on the first sync.
    EmptyDir,
    /// Chapter 6's manifest (`KVMF` at the start).
    Manifest,
    /// Chapter 6's write-ahead log (`KVWL` at the start).
    Log,
    /// Chapter 5's block table, also chapter 6's table (`KVBT` at the end).
    BlockTable,
    /// Chapter 4's table with its index in a footer (`KVFI` at the end).
    FooterIndexTable,
    /// Chapter 5's index-of-the-index table (`KVII` at the end).
    TwoLevelTable,
    /// Chapter 3's sorted file (`KVSF` at the start).
    SortedFile,
    /// Chapter 2's marker, `fsdb.json`.
    FsdbMarker,
    /// One of chapter 2's key files: `[value, key, checksum]` as JSON.
    FsdbEntry,
}

/// What `path` holds: a directory by the files in it, a file by its magic
/// number, or failing that by its name (so that a damaged table is
/// decoded as a table and the error says where it is damaged). A file
/// neither says is an error naming it.
pub fn recognise(path: &Path) -> Result<Format> {
    let meta = std::fs::metadata(path).context("reading the metadata of", path)?;
    if meta.is_dir() {
        return recognise_dir(path);
    }
    let bytes = read(path)?;
    let head = bytes.get(..4);
    let tail = bytes.len().checked_sub(4).and_then(|at| bytes.get(at..));
    let name = file_name(path);
    let by_magic = match (head, tail) {
        (Some(b"KVMF"), _) => Some(Format::Manifest),
        (Some(b"KVWL"), _) => Some(Format::Log),
        (Some(b"KVSF"), _) => Some(Format::SortedFile),
        (_, Some(b"KVBT")) => Some(Format::BlockTable),
        (_, Some(b"KVFI")) => Some(Format::FooterIndexTable),
        (_, Some(b"KVII")) => Some(Format::TwoLevelTable),
        _ if name == ch02_fsdb::layout::MARKER => Some(Format::FsdbMarker),
        _ if name.ends_with(".json") && bytes.first() == Some(&b'[') => Some(Format::FsdbEntry),
        _ => None,
    };
    if let Some(format) = by_magic {
        return Ok(format);
    }
    let by_name = match files::kind(&name) {
        Some(FileKind::Manifest) => Some(Format::Manifest),
        Some(FileKind::Log(_)) => Some(Format::Log),
        Some(FileKind::Table(_)) => Some(Format::BlockTable),
        _ if name == ch05_sparse_index::FILE_NAME => Some(Format::BlockTable),
        _ if name == ch04_footer_index::FILE_NAME => Some(Format::FooterIndexTable),
        _ if name == ch03_sorted_file::FILE_NAME => Some(Format::SortedFile),
        _ if name == "data.kvii" => Some(Format::TwoLevelTable),
        // A copy under another name, damaged: decoded by its kind, so
        // that the error says where the damage is.
        _ if name.ends_with(files::TABLE_SUFFIX) => Some(Format::BlockTable),
        _ if name.ends_with(files::LOG_SUFFIX) => Some(Format::Log),
        _ => None,
    };
    by_name.ok_or_else(|| {
        Error::corruption(
            path,
            0,
            "a file of one of the book's formats: the magic number KVMF, KVWL or KVSF \
             at the start, KVBT, KVFI or KVII at the end, or chapter 2's JSON",
            if bytes.is_empty() {
                "an empty file".to_owned()
            } else {
                format!(
                    "{:02x?} at the start and {:02x?} at the end of {} bytes",
                    head.unwrap_or(&bytes),
                    tail.unwrap_or(&bytes),
                    bytes.len()
                )
            },
        )
    })
}

fn recognise_dir(dir: &Path) -> Result<Format> {
    let names = dir_names(dir)?;
    if names.contains(MANIFEST) {
        return Ok(Format::LsmDir);
    }
    if names.contains(ch02_fsdb::layout::MARKER) {
        return Ok(Format::FsdbDir);
    }
    for name in [
        ch03_sorted_file::FILE_NAME,
        ch04_footer_index::FILE_NAME,
        ch05_sparse_index::FILE_NAME,
        "data.kvii",
    ] {
        if names.contains(name) {
            return Ok(Format::OneFileDir(dir.join(name)));
        }
    }
    if names.iter().all(|n| n == LOCK_FILE) {
        return Ok(Format::EmptyDir);
    }
    Err(Error::InvalidInput(format!(
        "{} is not a store's directory: none of MANIFEST (chapter 6), fsdb.json (chapter 2), \
         data.kvsf, data.kvfi, data.kvbt or data.kvii (chapters 3 to 5) is in it (it holds: {})",
        dir.display(),
        names.iter().take(8).cloned().collect::<Vec<_>>().join(", ")
    )))
}

/// The structure of what `path` holds, as text: the whole of `cargo kv
/// inspect`.
pub fn inspect(path: &Path) -> Result<String> {
    match recognise(path)? {
        Format::LsmDir => lsm_dir(path),
        Format::FsdbDir => fsdb_dir(path),
        Format::OneFileDir(file) => {
            let mut out = String::from("directory of a one-file store (chapters 3 to 5):\n\n");
            out.push_str(&inspect(&file)?);
            Ok(out)
        }
        Format::EmptyDir => Ok("an empty store directory: no data file yet (the stores of \
                                chapters 3 to 5 write theirs on the first sync)\n"
            .to_owned()),
        Format::Manifest => manifest_file(path),
        Format::Log => log_file(path),
        Format::BlockTable => block_table_file(path),
        Format::FooterIndexTable => footer_index_file(path),
        Format::TwoLevelTable => two_level_file(path),
        Format::SortedFile => sorted_file(path),
        Format::FsdbMarker => fsdb_marker(path),
        Format::FsdbEntry => fsdb_entry(path),
    }
}

// ---------------------------------------------------------------------
// Reading.

/// The whole file, refused past [`MAX_FILE_LEN`].
fn read(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .context("reading the metadata of", path)?
        .len();
    if len > MAX_FILE_LEN {
        return Err(Error::InvalidInput(format!(
            "{} is {len} bytes long; inspect reads files of at most {MAX_FILE_LEN} bytes",
            path.display()
        )));
    }
    std::fs::read(path).context("reading", path)
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn dir_names(dir: &Path) -> Result<BTreeSet<String>> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).context("listing", dir)? {
        let entry = entry.context("listing", dir)?;
        names.insert(entry.file_name().to_string_lossy().into_owned());
    }
    Ok(names)
}

fn file_len(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)
        .context("reading the metadata of", path)?
        .len())
}

/// `bytes[start..start + len]`, or a corruption error at `start`: the
/// chapters' decoders bound their offsets, but a slice taken here is
/// checked all the same.
fn slice<'a>(path: &Path, bytes: &'a [u8], start: u64, len: u64, what: &str) -> Result<&'a [u8]> {
    usize::try_from(start)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(s, l)| bytes.get(s..s.checked_add(l)?))
        .ok_or_else(|| {
            Error::corruption(
                path,
                start,
                format!("{what} of {len} bytes"),
                format!("a file of {} bytes", bytes.len()),
            )
        })
}

// ---------------------------------------------------------------------
// Chapter 5 and 6's block table.

/// One data block, as its index entry and its entries say.
#[derive(Clone, Debug)]
pub struct BlockInfo {
    /// Where the block starts.
    pub offset: u64,
    /// Its length, the CRC-32 included.
    pub len: u64,
    /// Entries, tombstones included.
    pub entries: u64,
    /// Of them, tombstones (point deletes).
    pub deletes: u64,
    /// Its first key.
    pub first_key: Vec<u8>,
    /// Its last key.
    pub last_key: Vec<u8>,
}

/// A table's Bloom filter and where it lies.
#[derive(Clone, Debug)]
pub struct FilterInfo {
    /// Where the filter starts (the meta section's start).
    pub offset: u64,
    /// Its encoded length.
    pub len: u64,
    /// m, the bits.
    pub bits: u64,
    /// k, the probes per key.
    pub probes: u8,
    /// How many of the bits are set.
    pub set: u64,
}

/// A block table, decoded whole: everything `inspect` prints of it.
#[derive(Clone, Debug)]
pub struct TableInfo {
    /// The file's length.
    pub file_len: u64,
    /// Its footer.
    pub footer: Footer,
    /// Entries, tombstones included, as the index says.
    pub entries: u64,
    /// Its data blocks.
    pub blocks: Vec<BlockInfo>,
    /// Its Bloom filter, if its meta section holds one.
    pub filter: Option<FilterInfo>,
    /// The range section's offset and length, if there is one.
    pub range_section: Option<(u64, u64)>,
    /// The range tombstones.
    pub tombstones: Vec<Tombstone>,
}

impl TableInfo {
    /// Point deletes in the whole table.
    pub fn deletes(&self) -> u64 {
        self.blocks.iter().map(|b| b.deletes).sum()
    }

    /// The first key, `None` for a table with no entries.
    pub fn first_key(&self) -> Option<&[u8]> {
        self.blocks.first().map(|b| b.first_key.as_slice())
    }

    /// The last key.
    pub fn last_key(&self) -> Option<&[u8]> {
        self.blocks.last().map(|b| b.last_key.as_slice())
    }

    /// "1024 bits", or "none" (the probes are in the table's own
    /// inspection: a row of the directory's listing fits 80 columns).
    fn filter_summary(&self) -> String {
        match &self.filter {
            Some(f) => format!("{} bits", f.bits),
            None => "none".to_owned(),
        }
    }
}

/// Reads the block table at `path` and checks all of it: chapter 6's open
/// (footer, index, filter, range tombstones), then every data block's
/// checksum and entries, which an open does not read.
pub fn read_block_table(path: &Path) -> Result<TableInfo> {
    let live = LiveTable::open(&Disk::real(), path, 0)?;
    let bytes = read(path)?;
    let file_len = bytes.len() as u64;
    let tail = slice(
        path,
        &bytes,
        file_len.saturating_sub(FOOTER_LEN as u64),
        FOOTER_LEN as u64,
        "a footer",
    )?;
    let tail: [u8; FOOTER_LEN] = tail.try_into().map_err(|_| {
        Error::corruption(path, 0, "a footer", format!("a file of {file_len} bytes"))
    })?;
    let footer = Footer::decode(path, &tail, file_len)?;
    let index_bytes = slice(
        path,
        &bytes,
        footer.index_offset,
        footer.index_len,
        "an index",
    )?;
    let index = BlockIndex::decode(path, index_bytes, &footer)?;
    let mut blocks = Vec::with_capacity(index.blocks.len());
    for handle in &index.blocks {
        let block = slice(
            path,
            &bytes,
            handle.offset,
            u64::from(handle.len),
            "a data block",
        )?;
        let entries = check_crc(path, block, handle.offset)?;
        let mut info = BlockInfo {
            offset: handle.offset,
            len: u64::from(handle.len),
            entries: 0,
            deletes: 0,
            first_key: Vec::new(),
            last_key: Vec::new(),
        };
        let mut at = 0;
        while at < entries.len() {
            let span = decode_entry(path, entries, at, handle.offset)?;
            let entry = span.entry(entries);
            if info.entries == 0 {
                info.first_key = entry.key.to_vec();
            }
            info.last_key = entry.key.to_vec();
            info.entries += 1;
            info.deletes += u64::from(entry.value.is_none());
            at = span.next;
        }
        if info.entries != u64::from(handle.entries) || *info.last_key != *handle.last_key {
            return Err(Error::corruption(
                path,
                handle.offset,
                format!(
                    "a block of {} entries ending with {}, as the index says",
                    handle.entries,
                    escape(&handle.last_key)
                ),
                format!(
                    "{} entries ending with {}",
                    info.entries,
                    escape(&info.last_key)
                ),
            ));
        }
        blocks.push(info);
    }
    let filter = match live.filter() {
        Some(f) => {
            let len = f.encode().len() as u64;
            let bits_at = footer.meta_offset + ch06_lsm::bloom::HEADER_LEN as u64;
            let bits = slice(path, &bytes, bits_at, f.bit_count() / 8, "filter bits")?;
            Some(FilterInfo {
                offset: footer.meta_offset,
                len,
                bits: f.bit_count(),
                probes: f.probes(),
                set: bits.iter().map(|b| u64::from(b.count_ones())).sum(),
            })
        }
        None => None,
    };
    let filter_len = filter.as_ref().map_or(0, |f| f.len);
    let range_len = footer.meta_len.saturating_sub(filter_len);
    Ok(TableInfo {
        file_len,
        footer,
        entries: index.count,
        blocks,
        filter,
        range_section: (range_len > 0).then_some((footer.meta_offset + filter_len, range_len)),
        tombstones: live.ranges().iter().cloned().collect(),
    })
}

fn tombstone_text(t: &Tombstone) -> String {
    match &t.end {
        Some(end) => format!("[{}, {})", escape(&t.start), escape(end)),
        None => format!("[{}, end of key space)", escape(&t.start)),
    }
}

fn block_table_file(path: &Path) -> Result<String> {
    let t = read_block_table(path)?;
    let f = &t.footer;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: block table, {} bytes (chapter 5's format, version {}, magic KVBT)",
        file_name(path),
        t.file_len,
        ch05_sparse_index::format::VERSION
    );
    let _ = writeln!(
        out,
        "{}, {} ({} deletes), {}",
        count(t.blocks.len() as u64, "data block", "data blocks"),
        count(t.entries, "entry", "entries"),
        t.deletes(),
        match (t.first_key(), t.last_key()) {
            (Some(a), Some(b)) =>
                format!("keys {} to {}", escape_short(a, 40), escape_short(b, 40)),
            _ => "no keys".to_owned(),
        }
    );
    out.push_str("\nregions:\n");
    let mut rows = vec![
        vec![
            "0".to_owned(),
            f.index_offset.to_string(),
            format!("data: {}", count(t.blocks.len() as u64, "block", "blocks")),
        ],
        vec![
            f.index_offset.to_string(),
            f.index_len.to_string(),
            format!(
                "index: {}, CRC-32 {:08x}",
                count(t.blocks.len() as u64, "block handle", "block handles"),
                f.index_crc
            ),
        ],
        vec![
            f.meta_offset.to_string(),
            f.meta_len.to_string(),
            if f.meta_len == 0 {
                "meta: empty (chapter 5 leaves it empty)".to_owned()
            } else {
                "meta:".to_owned()
            },
        ],
    ];
    if let Some(filter) = &t.filter {
        rows.push(vec![
            filter.offset.to_string(),
            filter.len.to_string(),
            format!("  Bloom filter (KVBF): {}", t.filter_summary()),
        ]);
    }
    if let Some((offset, len)) = t.range_section {
        rows.push(vec![
            offset.to_string(),
            len.to_string(),
            format!(
                "  range section (KVRT): {}",
                count(
                    t.tombstones.len() as u64,
                    "range tombstone",
                    "range tombstones"
                )
            ),
        ]);
    }
    rows.push(vec![
        (f.meta_offset + f.meta_len).to_string(),
        FOOTER_LEN.to_string(),
        "footer: where the index and meta are, version, CRC, magic".to_owned(),
    ]);
    out.push_str(&columns(2, "rrl", &["offset", "length", "region"], &rows));

    out.push_str("\nblocks:\n");
    let rows: Vec<Vec<String>> = t
        .blocks
        .iter()
        .enumerate()
        .map(|(i, b)| {
            vec![
                i.to_string(),
                b.offset.to_string(),
                b.len.to_string(),
                b.entries.to_string(),
                b.deletes.to_string(),
                escape_short(&b.first_key, 32),
                escape_short(&b.last_key, 32),
            ]
        })
        .collect();
    out.push_str(&columns(
        2,
        "rrrrrll",
        &[
            "#",
            "offset",
            "length",
            "entries",
            "deletes",
            "first key",
            "last key",
        ],
        &rows,
    ));

    out.push_str("\nfilter: ");
    match &t.filter {
        Some(filter) => {
            let fill = filter.set as f64 / filter.bits as f64;
            let _ = writeln!(
                out,
                "{} bits ({:.1} per entry), {} probes, {} bits set ({:.1}%)\n  a key the \
                 table does not hold passes with a chance of about {:.2}%",
                filter.bits,
                filter.bits as f64 / t.entries.max(1) as f64,
                filter.probes,
                filter.set,
                100.0 * fill,
                100.0 * fill.powi(i32::from(filter.probes)),
            );
        }
        None => out.push_str("none\n"),
    }
    out.push_str("range tombstones:");
    if t.tombstones.is_empty() {
        out.push_str(" none\n");
    } else {
        out.push('\n');
        for tombstone in &t.tombstones {
            let _ = writeln!(out, "  {}", tombstone_text(tombstone));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------
// Chapter 6's directory, manifest and logs.

fn read_manifest(path: &Path) -> Result<Manifest> {
    Manifest::decode(path, &read(path)?)
}

fn manifest_text(manifest: &Manifest, len: u64) -> String {
    let levels: Vec<String> = manifest
        .levels
        .iter()
        .enumerate()
        .filter(|(_, numbers)| !numbers.is_empty())
        .map(|(level, numbers)| {
            let numbers: Vec<String> = numbers.iter().map(u64::to_string).collect();
            format!("  L{level}: tables {}\n", numbers.join(" "))
        })
        .collect();
    let logs: Vec<String> = manifest.logs.iter().map(u64::to_string).collect();
    format!(
        "MANIFEST: version {}, {len} bytes, next file number {}\n  logs: {}\n{}",
        ch06_lsm::manifest::VERSION,
        manifest.next_file,
        logs.join(" "),
        if levels.is_empty() {
            "  no tables\n".to_owned()
        } else {
            levels.concat()
        }
    )
}

fn manifest_file(path: &Path) -> Result<String> {
    let manifest = read_manifest(path)?;
    Ok(manifest_text(&manifest, file_len(path)?))
}

/// What replaying one log found.
struct LogInfo {
    replayed: wal::Replayed,
    sets: u64,
    deletes: u64,
    range_deletes: u64,
}

fn replay_log(path: &Path, number: u64) -> Result<LogInfo> {
    let (mut sets, mut deletes, mut range_deletes) = (0, 0, 0);
    let replayed = wal::replay(&Disk::real(), path, number, LogRecovery::Strict, |ops| {
        for op in ops {
            match op {
                LogOp::Put(entry) if entry.value.is_some() => sets += 1,
                LogOp::Put(_) => deletes += 1,
                LogOp::DeleteRange(_) => range_deletes += 1,
            }
        }
    })?;
    Ok(LogInfo {
        replayed,
        sets,
        deletes,
        range_deletes,
    })
}

fn log_summary(info: &LogInfo) -> String {
    let r = &info.replayed;
    let mut text = format!(
        "{}, {}: {}, {}, {}",
        count(r.records, "record", "records"),
        count(r.ops, "op", "ops"),
        count(info.sets, "set", "sets"),
        count(info.deletes, "delete", "deletes"),
        count(info.range_deletes, "range delete", "range deletes")
    );
    if let Some(torn) = &r.torn {
        let _ = write!(
            text,
            "; torn tail from byte {} of {} cut: {torn}",
            r.valid_len, r.file_len
        );
    }
    text
}

fn log_file(path: &Path) -> Result<String> {
    // The number is in the header (the replay checks it against the one
    // given): read from there, a renamed copy of a log can be inspected.
    let bytes = read(path)?;
    let header = slice(path, &bytes, 0, wal::HEADER_LEN as u64, "a log header")?;
    let mut number = [0; 8];
    number.copy_from_slice(&header[8..16]);
    let number = u64::from_le_bytes(number);
    let info = replay_log(path, number)?;
    Ok(format!(
        "{}: write-ahead log (magic KVWL, version {}), number {number}, {} bytes\n{}\n",
        file_name(path),
        wal::VERSION,
        bytes.len(),
        log_summary(&info)
    ))
}

fn lsm_dir(dir: &Path) -> Result<String> {
    let manifest_path = dir.join(MANIFEST);
    let manifest = read_manifest(&manifest_path)?;
    let mut out = String::from("ch06-lsm store (an LSM tree)\n");
    out.push_str(&manifest_text(&manifest, file_len(&manifest_path)?));

    out.push_str("\nlogs, oldest first:\n");
    let mut rows = Vec::new();
    for &number in &manifest.logs {
        let path = files::log_path(dir, number);
        let info = replay_log(&path, number)?;
        rows.push(vec![
            file_name(&path),
            file_len(&path)?.to_string(),
            log_summary(&info),
        ]);
    }
    out.push_str(&columns(2, "lrl", &["file", "bytes", "records"], &rows));

    out.push_str("\nlevels (level 0 oldest first, deeper levels in key order):\n");
    let deepest = manifest
        .levels
        .iter()
        .rposition(|numbers| !numbers.is_empty())
        .unwrap_or(0);
    for (level, numbers) in manifest.levels.iter().enumerate().take(deepest + 1) {
        let mut rows = Vec::new();
        let mut bytes = 0;
        for &number in numbers {
            let path = files::table_path(dir, number);
            let t = read_block_table(&path)?;
            bytes += t.file_len;
            rows.push(vec![
                file_name(&path),
                t.first_key()
                    .map_or("-".to_owned(), |k| escape_short(k, 24)),
                t.last_key().map_or("-".to_owned(), |k| escape_short(k, 24)),
                t.file_len.to_string(),
                t.entries.to_string(),
                t.deletes().to_string(),
                t.tombstones.len().to_string(),
                t.filter_summary(),
            ]);
        }
        let _ = writeln!(
            out,
            "  L{level}: {}, {bytes} bytes",
            count(numbers.len() as u64, "table", "tables")
        );
        if !rows.is_empty() {
            out.push_str(&columns(
                4,
                "lllrrrrl",
                &[
                    "table",
                    "first key",
                    "last key",
                    "bytes",
                    "entries",
                    "deletes",
                    "ranges",
                    "filter",
                ],
                &rows,
            ));
        }
    }

    // Files the manifest does not name: what a crash left, or a reader's
    // notes. An open removes the store's own kinds.
    let named: BTreeSet<u64> = manifest
        .logs
        .iter()
        .copied()
        .chain(manifest.tables())
        .collect();
    let mut others = Vec::new();
    for name in dir_names(dir)? {
        let what = match files::kind(&name) {
            Some(FileKind::Manifest) => continue,
            Some(FileKind::Log(n) | FileKind::Table(n)) if named.contains(&n) => continue,
            Some(FileKind::Log(_) | FileKind::Table(_)) => {
                "not named by the manifest: an open removes it"
            }
            Some(FileKind::Temp) => "a replacement a crash interrupted: an open removes it",
            None if name == LOCK_FILE => "the directory's lock",
            None => "not a file of the store: left alone",
        };
        others.push(vec![
            name.clone(),
            file_len(&dir.join(&name))?.to_string(),
            what.to_owned(),
        ]);
    }
    if !others.is_empty() {
        out.push_str("\nother files:\n");
        out.push_str(&columns(2, "lrl", &["file", "bytes", ""], &others));
    }
    Ok(out)
}

// ---------------------------------------------------------------------
// Chapters 3 and 4.

fn sorted_file(path: &Path) -> Result<String> {
    use ch03_sorted_file::format::{CHECKSUM_LEN, HEADER_LEN, VERSION, decode};
    let bytes = read(path)?;
    let (mut first, mut last) = (None, Vec::new());
    let (mut key_bytes, mut value_bytes) = (0u64, 0u64);
    let records = decode(path, &bytes, |key, value| {
        if first.is_none() {
            first = Some(key.to_vec());
        }
        last = key.to_vec();
        key_bytes += key.len() as u64;
        value_bytes += value.len() as u64;
    })?;
    let len = bytes.len() as u64;
    let end = len - CHECKSUM_LEN as u64;
    let mut out = format!(
        "{}: sorted file (chapter 3's format, magic KVSF, version {VERSION}), {len} bytes, {}\n",
        file_name(path),
        count(records, "record", "records")
    );
    let rows = vec![
        vec![
            "0".to_owned(),
            HEADER_LEN.to_string(),
            format!("header: magic, version, record count {records}"),
        ],
        vec![
            HEADER_LEN.to_string(),
            (end - HEADER_LEN as u64).to_string(),
            format!(
                "records: {key_bytes} bytes of keys, {value_bytes} of values, {} of lengths; {}",
                records * ch03_sorted_file::format::RECORD_HEADER_LEN as u64,
                match &first {
                    Some(first) => format!(
                        "keys {} to {}",
                        escape_short(first, 32),
                        escape_short(&last, 32)
                    ),
                    None => "no keys".to_owned(),
                }
            ),
        ],
        vec![
            end.to_string(),
            CHECKSUM_LEN.to_string(),
            "CRC-32 of everything before: checked".to_owned(),
        ],
    ];
    out.push_str(&columns(2, "rrl", &["offset", "length", "region"], &rows));
    out.push_str("no index: an open reads and checks the whole file\n");
    Ok(out)
}

fn footer_index_file(path: &Path) -> Result<String> {
    use ch04_footer_index::format::{FOOTER_LEN, Footer, VERSION};
    use ch04_footer_index::index::Index;
    // The table's open checks the footer and the index; the records are
    // checked one by one below, as a scan would.
    let table = ch04_footer_index::table::Table::open(&Disk::real(), path)?;
    let bytes = read(path)?;
    let len = bytes.len() as u64;
    let tail = slice(
        path,
        &bytes,
        len.saturating_sub(FOOTER_LEN as u64),
        FOOTER_LEN as u64,
        "a footer",
    )?;
    let tail: [u8; FOOTER_LEN] = tail
        .try_into()
        .map_err(|_| Error::corruption(path, 0, "a footer", format!("a file of {len} bytes")))?;
    let footer = Footer::decode(path, &tail, len)?;
    let index_bytes = slice(
        path,
        &bytes,
        footer.index_offset,
        footer.index_len,
        "an index",
    )?;
    let index = Index::decode(path, index_bytes.to_vec(), &footer)?;
    let scanned = table
        .scan(&KeyRange::all())
        .try_fold(0u64, |n, pair| pair.map(|_| n + 1))?;
    let keys = match index.len() {
        0 => "no keys".to_owned(),
        n => format!(
            "keys {} to {}",
            escape_short(index.entry(0).key, 32),
            escape_short(index.entry(n - 1).key, 32)
        ),
    };
    let mut out = format!(
        "{}: footer-indexed table (chapter 4's format, magic KVFI at the end, version {VERSION}), \
         {len} bytes, {}, {keys}\n",
        file_name(path),
        count(footer.count, "record", "records"),
    );
    let rows = vec![
        vec![
            "0".to_owned(),
            footer.index_offset.to_string(),
            format!("records: chapter 3's encoding, {scanned} read back and checked"),
        ],
        vec![
            footer.index_offset.to_string(),
            footer.index_len.to_string(),
            format!(
                "index: one entry per key (key, offset, CRC-32), {} bytes in memory",
                index.heap_bytes()
            ),
        ],
        vec![
            (footer.index_offset + footer.index_len).to_string(),
            FOOTER_LEN.to_string(),
            "footer: index offset and length, count, CRC-32s, magic".to_owned(),
        ],
    ];
    out.push_str(&columns(2, "rrl", &["offset", "length", "region"], &rows));
    Ok(out)
}

fn two_level_file(path: &Path) -> Result<String> {
    use ch05_sparse_index::two_level::{TOP_FOOTER_LEN, TwoLevelTable, VERSION};
    let table = TwoLevelTable::open(&Disk::real(), path)?;
    let bytes = read(path)?;
    let len = bytes.len() as u64;
    let footer_at = len.saturating_sub(TOP_FOOTER_LEN as u64);
    let footer = slice(
        path,
        &bytes,
        footer_at,
        TOP_FOOTER_LEN as u64,
        "a top footer",
    )?;
    let u64_at = |at: usize| {
        let mut word = [0; 8];
        word.copy_from_slice(&footer[at..at + 8]);
        u64::from_le_bytes(word)
    };
    let (top_offset, top_len) = (u64_at(0), u64_at(8));
    let interval = u32::from_le_bytes([footer[20], footer[21], footer[22], footer[23]]);
    let samples = table.samples();
    let mut out = format!(
        "{}: index-of-the-index table (chapter 5's variant, magic KVII at the end, version \
         {VERSION}), {len} bytes, {} (every {interval}th index entry)\n",
        file_name(path),
        count(samples.len() as u64, "sample", "samples"),
    );
    let rows = vec![
        vec![
            "0".to_owned(),
            top_offset.to_string(),
            "chapter 4's table: records, full index, footer".to_owned(),
        ],
        vec![
            top_offset.to_string(),
            top_len.to_string(),
            format!(
                "top index: {} and the last key, {} bytes in memory",
                count(samples.len() as u64, "sample", "samples"),
                table.heap_bytes()
            ),
        ],
        vec![
            footer_at.to_string(),
            TOP_FOOTER_LEN.to_string(),
            "top footer: offset, length, CRC-32, interval, version, magic".to_owned(),
        ],
    ];
    out.push_str(&columns(2, "rrl", &["offset", "length", "region"], &rows));
    Ok(out)
}

// ---------------------------------------------------------------------
// Chapter 2.

fn fsdb_marker(path: &Path) -> Result<String> {
    let bytes = read(path)?;
    let marker: ch02_fsdb::marker::Marker = serde_json::from_slice(&bytes).map_err(|e| {
        Error::corruption(
            path,
            0,
            "chapter 2's marker, {\"format\":\"ch02-fsdb\",\"version\":2,...}",
            e.to_string(),
        )
    })?;
    Ok(format!(
        "{}: chapter 2's marker: format {:?}, version {}, hash {} ({} bits name a file)\n",
        file_name(path),
        marker.format,
        marker.version,
        marker.hash,
        marker.hash_bits
    ))
}

fn fsdb_entry(path: &Path) -> Result<String> {
    let bytes = read(path)?;
    let (key, value) = ch02_fsdb::content::decode(path, &bytes)?;
    Ok(format!(
        "{}: one key of chapter 2's store, {} bytes of JSON (checksum checked)\n  key   {}\n  value {}\n",
        file_name(path),
        bytes.len(),
        escape_short(&key, 64),
        escape_short(&value, 64)
    ))
}

fn fsdb_dir(dir: &Path) -> Result<String> {
    let mut out = String::from("ch02-fsdb store (one JSON file per key)\n");
    out.push_str(&fsdb_marker(&dir.join(ch02_fsdb::layout::MARKER))?);
    let (mut keys, mut fan_out, mut temps, mut strays) = (0u64, 0u64, 0u64, Vec::new());
    let (mut first, mut last): (Option<Vec<u8>>, Option<Vec<u8>>) = (None, None);
    let (mut key_bytes, mut value_bytes) = (0u64, 0u64);
    for name in dir_names(dir)? {
        if name == ch02_fsdb::layout::MARKER || name == LOCK_FILE {
            continue;
        }
        let sub = dir.join(&name);
        if !ch02_fsdb::layout::is_fan_out_dir(&name) || !sub.is_dir() {
            strays.push(name);
            continue;
        }
        fan_out += 1;
        for file in dir_names(&sub)? {
            if file.ends_with(ch02_fsdb::layout::TEMP_SUFFIX) {
                temps += 1;
                continue;
            }
            if ch02_fsdb::layout::Slot::parse(&name, &file).is_none() {
                strays.push(format!("{name}/{file}"));
                continue;
            }
            let path = sub.join(&file);
            let (key, value) = ch02_fsdb::content::decode(&path, &read(&path)?)?;
            keys += 1;
            key_bytes += key.len() as u64;
            value_bytes += value.len() as u64;
            if first.as_ref().is_none_or(|f| key < *f) {
                first = Some(key.clone());
            }
            if last.as_ref().is_none_or(|l| key > *l) {
                last = Some(key);
            }
        }
    }
    let usage = ch02_fsdb::usage::disk_usage(dir)?;
    let _ = writeln!(
        out,
        "{} in {} fan-out directories, every file read and its checksum checked",
        count(keys, "key", "keys"),
        fan_out
    );
    if let (Some(first), Some(last)) = (&first, &last) {
        let _ = writeln!(
            out,
            "keys {} to {} (a scan has to read every file to know)",
            escape_short(first, 32),
            escape_short(last, 32)
        );
    }
    let _ = writeln!(
        out,
        "{key_bytes} bytes of keys and {value_bytes} of values take {} bytes of files and {} \
         allocated on disk ({} files, {} directories)",
        usage.file_bytes, usage.allocated_bytes, usage.files, usage.dirs
    );
    if temps > 0 {
        let _ = writeln!(
            out,
            "{} a write left (an interrupted replacement)",
            count(temps, "temporary file", "temporary files")
        );
    }
    if !strays.is_empty() {
        let _ = writeln!(out, "not the store's: {}", strays.join(", "));
    }
    Ok(out)
}
