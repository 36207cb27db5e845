//! The store: a memtable and its log in front of tables that are written
//! once and never changed, with a manifest naming the live files.
//!
//! A write is appended to the log, then applied to the memtable. When the
//! memtable passes its size, it is *flushed*: written out as a new table,
//! and a new, empty log takes over. A read asks the memtable, then the
//! tables from newest to oldest, and the first that knows the key answers.
//! No table is ever rewritten: a table is written once, then named by the
//! manifest; a log is only appended to, and removed once its writes are
//! in a table (or in a newer log); only the small manifest is replaced.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::compaction::{self, Job, Output, Targets};
use crate::levels::{Levels, MAX_LEVELS};

use ch00_contract::{
    BatchOp, Durability, Error, IoContext, KeyRange, KvStore, Metrics, PowerSwitch, Result, Scan,
    Stage, Survives, WriteBatch, check_key, check_value,
};
use ch05_sparse_index::Lookup;
use ch05_sparse_index::Table;
use ch05_sparse_index::table::DEFAULT_BLOCK_SIZE;
use disk::{DirLock, Disk, atomic};

use crate::files::{self, FileKind, MANIFEST, log_path, table_path};
use crate::manifest::{self, Manifest};
use crate::memtable::Memtable;
use crate::merge::{self, MergedEntries, Source};
use crate::ranges::Tombstone;
use crate::tables::{self, LiveTable};
use crate::wal::{self, LogOp, LogRecovery, LogWriter};

// ANCHOR: options
/// When the log is synced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogSync {
    /// On [`KvStore::sync`] only: one `fsync` for all the writes before
    /// it. A power failure may lose the writes after the last sync (some of
    /// the earliest, in order, may survive, and a flush makes all before it
    /// durable); a crash of the process loses none: each record is handed
    /// to the operating system when it is written.
    #[default]
    OnSync,
    /// After every write, before the call returns: nothing acknowledged is
    /// lost, at the price of one `fsync` per write.
    EveryWrite,
}

/// How a store is opened.
#[derive(Clone, Debug)]
pub struct Options {
    /// The file system the store's files go through.
    pub disk: Disk,
    /// When the log is synced.
    pub log_sync: LogSync,
    /// The memtable is flushed to a table when the writes it holds pass
    /// this many bytes (see [`Memtable`]): it bounds the memory it takes,
    /// and the log a reopen replays.
    pub memtable_bytes: u64,
    /// The block size of the tables (chapter 5's option).
    pub block_size: usize,
    /// Bits of Bloom filter per key in each table (0: no filter): about
    /// 1% false positives at 10, LevelDB's usual setting.
    pub bloom_bits_per_key: u32,
    /// What an open does with damage in the middle of a log: refuse
    /// (the default) or cut there (see [`LogRecovery`]).
    pub log_recovery: LogRecovery,
    /// Whether a flush runs the compactions that are due (the default).
    /// Off, tables pile up in level 0 until [`LsmStore::compact`] or
    /// [`LsmStore::compact_level`] is called: for tests and pictures.
    pub auto_compaction: bool,
    /// Level 0 is compacted when it holds this many tables.
    pub l0_compaction_trigger: usize,
    /// Level 1's target size in bytes of table files; each deeper level's
    /// is `level_size_ratio` times the one above.
    pub level_base_bytes: u64,
    /// How much larger each level is than the one above it.
    pub level_size_ratio: u64,
    /// A compaction starts a new output table when the data of the one it
    /// writes passes this many bytes.
    pub table_target_bytes: u64,
}

/// The memtable size when nobody says otherwise: LevelDB's default.
pub const DEFAULT_MEMTABLE_BYTES: u64 = 4 << 20;

/// Bloom filter bits per key when nobody says otherwise.
pub const DEFAULT_BLOOM_BITS_PER_KEY: u32 = 10;

/// Level 0's table count that triggers its compaction: LevelDB's.
pub const DEFAULT_L0_COMPACTION_TRIGGER: usize = 4;

/// Level 1's size: about what level 0 holds when it is compacted (four
/// memtables), so that a compaction of level 0 rewrites about as much of
/// level 1 as it brings.
pub const DEFAULT_LEVEL_BASE_BYTES: u64 = 16 << 20;

/// Each level ten times the one above: LevelDB's ratio.
pub const DEFAULT_LEVEL_SIZE_RATIO: u64 = 10;

/// Compaction's output tables: LevelDB's 2 MiB.
pub const DEFAULT_TABLE_TARGET_BYTES: u64 = 2 << 20;

impl Default for Options {
    fn default() -> Self {
        Options {
            disk: Disk::real(),
            log_sync: LogSync::default(),
            memtable_bytes: DEFAULT_MEMTABLE_BYTES,
            block_size: DEFAULT_BLOCK_SIZE,
            bloom_bits_per_key: DEFAULT_BLOOM_BITS_PER_KEY,
            log_recovery: LogRecovery::default(),
            auto_compaction: true,
            l0_compaction_trigger: DEFAULT_L0_COMPACTION_TRIGGER,
            level_base_bytes: DEFAULT_LEVEL_BASE_BYTES,
            level_size_ratio: DEFAULT_LEVEL_SIZE_RATIO,
            table_target_bytes: DEFAULT_TABLE_TARGET_BYTES,
        }
    }
}
// ANCHOR_END: options

// ANCHOR: recovery
/// What an open found in the logs it replayed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recovery {
    /// Logs replayed.
    pub logs: u64,
    /// Records replayed (one per write or batch).
    pub records: u64,
    /// Bytes of the logs replayed.
    pub log_bytes: u64,
    /// Torn tails cut off: the file and where, and why.
    pub torn: Vec<String>,
}
// ANCHOR_END: recovery

// ANCHOR: store
/// The log-structured merge tree of chapter 6 (part 1).
#[derive(Debug)]
pub struct LsmStore {
    dir: PathBuf,
    disk: Disk,
    options: Options,
    /// The newest writes.
    memtable: Memtable,
    /// The log the memtable's writes are appended to.
    log: LogWriter,
    /// The tables, level by level.
    levels: Levels,
    /// Per level, the last key its previous compaction took: the next
    /// starts after it.
    pointers: Vec<Vec<u8>>,
    /// The number the next new file takes.
    next_file: u64,
    /// What the files on disk say is not known to be what the store holds
    /// (a write or sync of the log failed, or a switch of the manifest
    /// did): before anything else, the memtable goes to a new log and the
    /// manifest is switched to it, durably.
    needs_roll: bool,
    /// Logs and tables no longer needed once the manifest's switch is
    /// durable.
    stale: Vec<PathBuf>,
    recovery: Recovery,
    bytes_written: u64,
    /// Tables consulted by gets since the open, for
    /// [`Metrics::tables_asked`]. Atomic because `get` takes `&self` and
    /// the store stays `Sync`, as the file read counters do.
    tables_asked: AtomicU64,
    flushes: u64,
    compactions: u64,
    /// The directory's lock, held while the store is open.
    _lock: DirLock,
}
// ANCHOR_END: store

/// How a switch of the manifest failed.
enum SwitchError {
    /// Before the rename: the old manifest is in place.
    NotSwitched(Error),
    /// The directory sync after the rename: the new manifest is the one in
    /// the directory, but a power failure may bring the old one back.
    NotDurable(Error),
}

impl LsmStore {
    // ANCHOR: open
    /// Opens the store in `dir`: reads the manifest, removes the files it
    /// does not name, opens the tables, replays the logs into the memtable,
    /// and moves the memtable to a new log.
    // ANCHOR: open_idea_a
    pub fn open_with(dir: &Path, options: &Options) -> Result<LsmStore> {
        // ANCHOR: todo_store_open Lock, read the manifest, remove unnamed files, open the tables, replay the logs into the memtable, move it to a new log.
        let disk = options.disk.clone();
        let lock = disk.lock(dir).context("locking", dir)?;
        let manifest = read_manifest(&disk, dir)?;
        // ANCHOR_END: open_idea_a
        // The manifest read may be a rename that a crash left unsynced:
        // make it the one a power failure keeps before acting on it.
        atomic::sync_dir(&disk, dir)?;
        remove_unnamed(&disk, dir, &manifest)?;
        // ANCHOR: open_idea_b
        let mut levels = Vec::with_capacity(manifest.levels.len());
        for numbers in &manifest.levels {
            let mut tables = Vec::with_capacity(numbers.len());
            for &number in numbers {
                tables.push(LiveTable::open(&disk, &table_path(dir, number), number)?);
            }
            levels.push(tables);
        }
        let levels = Levels::new(levels, &dir.join(MANIFEST))?;
        let mut memtable = Memtable::default();
        let mut recovery = Recovery::default();
        for &number in &manifest.logs {
            let path = log_path(dir, number);
            let replayed = wal::replay(&disk, &path, number, options.log_recovery, |ops| {
                for op in ops {
                    match op {
                        LogOp::Put(entry) => memtable.apply(entry.key, entry.value),
                        LogOp::DeleteRange(tombstone) => memtable.apply_range(tombstone.clone()),
                    }
                }
            })?;
            // ANCHOR_END: open_idea_b
            recovery.logs += 1;
            recovery.records += replayed.records;
            recovery.log_bytes += replayed.file_len;
            if let Some(torn) = replayed.torn {
                recovery.torn.push(format!("{number:06}.log at {torn}"));
            }
            // ANCHOR: open_idea_c
        }
        // The replayed writes may be in the operating system's cache only
        // (the process crashed, the machine did not): they are written
        // again, to a new log, synced, before the store takes new writes.
        let number = manifest.next_file;
        let log = write_log(&disk, &log_path(dir, number), number, &memtable)?;
        let mut store = LsmStore {
            dir: dir.to_path_buf(),
            disk,
            options: options.clone(),
            memtable,
            log,
            levels,
            pointers: vec![Vec::new(); MAX_LEVELS],
            next_file: number + 1,
            needs_roll: true,
            stale: manifest.logs.iter().map(|&n| log_path(dir, n)).collect(),
            recovery,
            bytes_written: 0,
            tables_asked: AtomicU64::new(0),
            flushes: 0,
            compactions: 0,
            _lock: lock,
        };
        store.bytes_written = store.log.len();
        let switched = store.switch_manifest(&store.manifest());
        store.settle(switched)?;
        // ANCHOR_END: open_idea_c
        // A crash between a flush and the compaction it made due leaves a
        // level 0 at its trigger: run that compaction now, or the next
        // flush would push level 0 past the bound reads rely on. Best
        // effort: a failed compaction leaves the store as it was (a full
        // disk, or damage in a table that reads never reach, must not make
        // the store impossible to open and read), and the next flush tries
        // it again and reports the error.
        if store.options.auto_compaction {
            let _ = store.compact();
        }
        // ANCHOR: open_idea_d
        Ok(store)
        // ANCHOR_END: open_idea_d
        // ANCHOR_END: todo_store_open
        // ANCHOR: open_idea_e
    }
    // ANCHOR_END: open_idea_e
    // ANCHOR_END: open

    /// Opens the store in `dir` with the default options.
    pub fn open(dir: &Path) -> Result<LsmStore> {
        LsmStore::open_with(dir, &Options::default())
    }

    /// The next file number. The manifest's decoder bounds the number it
    /// starts from, so running out is a store of 2^62 files, not damage.
    fn take_number(&mut self) -> Result<u64> {
        let number = self.next_file;
        self.next_file = number
            .checked_add(1)
            .ok_or_else(|| Error::InvalidInput("the store has run out of file numbers".into()))?;
        Ok(number)
    }

    // ANCHOR: write
    /// Appends one record of `ops` to the log, then applies them to the
    /// memtable. A full memtable is flushed first, so that a failed flush
    /// fails this write before anything of it is done.
    fn write_ops(&mut self, ops: &[(&[u8], Option<&[u8]>)]) -> Result<()> {
        // ANCHOR: todo_store_write_ops Refuse a batch too large for a record; flush a full memtable; append one log record; apply it to the memtable; sync if every-write.
        // A batch too large for one record is refused before any I/O.
        let payload = wal::record_len(ops.iter().copied()) - wal::RECORD_HEADER_LEN;
        if payload > wal::MAX_PAYLOAD_LEN {
            return Err(Error::InvalidInput(format!(
                "a batch of {payload} bytes is larger than a log record may be ({} bytes)",
                wal::MAX_PAYLOAD_LEN
            )));
        }
        if self.memtable.size() >= self.options.memtable_bytes {
            self.flush()?;
        }
        if self.needs_roll {
            self.roll()?;
        }
        let before = self.log.len();
        if let Err(e) = self.log.append(ops.iter().copied()) {
            self.needs_roll = self.log.failed();
            return Err(e);
        }
        self.bytes_written += self.log.len() - before;
        // The record is in the operating system's hands: a crash of the
        // process now keeps it, so the store shows it from now on, even if
        // the sync below fails.
        for (key, value) in ops {
            self.memtable.apply(key, *value);
        }
        if self.options.log_sync == LogSync::EveryWrite {
            self.sync_log()?;
        }
        Ok(())
        // ANCHOR_END: todo_store_write_ops
    }
    // ANCHOR_END: write

    fn sync_log(&mut self) -> Result<()> {
        let synced = self.log.sync();
        if synced.is_err() {
            self.needs_roll = true;
        }
        synced
    }

    // ANCHOR: flush
    /// Writes the memtable out as a new table and starts a new, empty log:
    /// the table is written and synced, the log created and its header
    /// synced, the directory synced, then the manifest switched to name
    /// both, and only then is the old log removed. A crash before the
    /// switch leaves the old manifest, which names the old log (replayed
    /// at open) and not the new files (removed at open). Then, unless
    /// automatic compaction is off, the compactions that are due run.
    pub fn flush(&mut self) -> Result<()> {
        self.flush_memtable()?;
        if self.options.auto_compaction {
            self.compact()?;
        }
        Ok(())
    }

    fn flush_memtable(&mut self) -> Result<()> {
        // ANCHOR: todo_store_flush Roll first if needs_roll; nothing if empty; write_table and a new synced log; switch_manifest (remove both if not switched); adopt them, old log to stale; settle.
        if self.needs_roll {
            // The last switch is not known durable: make it so first.
            self.roll()?;
        }
        if self.memtable.is_empty() {
            return Ok(());
        }
        let table_number = self.take_number()?;
        let path = table_path(&self.dir, table_number);
        let log_number = self.take_number()?;
        let log_file = log_path(&self.dir, log_number);
        let new_files = self.write_table(&path, table_number).and_then(|table| {
            let mut log = LogWriter::create(&self.disk, &log_file, log_number)?;
            log.sync()?;
            Ok((table, log))
        });
        let (table, log) = match new_files {
            Ok(files) => files,
            Err(e) => {
                let _ = self.disk.remove_file(&path);
                let _ = self.disk.remove_file(&log_file);
                return Err(e);
            }
        };
        let mut manifest = Manifest {
            logs: vec![log_number],
            ..self.manifest()
        };
        manifest.levels[0].extend(table.as_ref().map(LiveTable::number));
        let switched = self.switch_manifest(&manifest);
        if let Err(SwitchError::NotSwitched(e)) = switched {
            let _ = self.disk.remove_file(&path);
            let _ = self.disk.remove_file(&log_file);
            return Err(e);
        }
        // The manifest in the directory names the new files: the store
        // answers from them from here on.
        if let Some(table) = table {
            self.bytes_written += table.table().file_len();
            self.levels.push_level0(table);
        }
        self.bytes_written += log.len();
        let old = std::mem::replace(&mut self.log, log);
        self.stale.push(old.path().to_path_buf());
        self.memtable = Memtable::default();
        self.flushes += 1;
        self.settle(switched)
        // ANCHOR_END: todo_store_flush
    }
    // ANCHOR_END: flush

    // ANCHOR: write_table
    /// Writes the memtable as table `number` at `path` (see
    /// [`tables::write`]); `None` if nothing needed writing. A tombstone is
    /// kept if an older table may hold its key (its range and its filter
    /// say so): dropped, it would let that older value back.
    fn write_table(&self, path: &Path, number: u64) -> Result<Option<LiveTable>> {
        let mut entries = self
            .memtable
            .iter()
            .filter(|(key, value)| value.is_some() || self.levels.may_contain_from(0, key))
            .map(Ok)
            .peekable();
        // A range tombstone likewise, if an older table may hold a key it
        // hides.
        let mut ranges = self.memtable.ranges().clone();
        ranges.retain(|t| self.levels.meets_from(0, t));
        tables::write(
            &self.disk,
            path,
            number,
            self.options.block_size,
            self.options.bloom_bits_per_key,
            &mut entries,
            &mut ranges,
            u64::MAX,
        )
    }
    // ANCHOR_END: write_table

    // ANCHOR: compact
    /// Runs the compactions that are due, one after another, until every
    /// level is within its target; returns how many ran.
    pub fn compact(&mut self) -> Result<u64> {
        let mut ran = 0;
        while let Some(job) = compaction::pick(&self.levels, &self.targets(), &self.pointers) {
            self.run_compaction(job, true)?;
            ran += 1;
        }
        Ok(ran)
    }
    // ANCHOR_END: compact

    /// Compacts `level` into the level below once, due or not: all of
    /// level 0, or the next table of a deeper level. `false` if there was
    /// nothing to compact (the level is empty, or the last).
    pub fn compact_level(&mut self, level: usize) -> Result<bool> {
        if level >= MAX_LEVELS {
            return Err(Error::InvalidInput(format!(
                "there is no level {level}: levels go from 0 to {}",
                MAX_LEVELS - 1
            )));
        }
        match compaction::job_for(&self.levels, level, &self.pointers[level]) {
            Some(job) => self.run_compaction(job, true).map(|()| true),
            None => Ok(false),
        }
    }

    // ANCHOR: compact_all
    /// Flushes the memtable, then merges every table down into one level,
    /// the deepest that holds any (at least level 1): afterwards a read
    /// asks one table, and no tombstone is left (the last merge has
    /// nothing below it, so it keeps none).
    pub fn compact_all(&mut self) -> Result<()> {
        self.flush_memtable()?;
        let bottom = (1..MAX_LEVELS)
            .rev()
            .find(|&level| !self.levels.level(level).is_empty())
            .unwrap_or(1);
        for level in 0..bottom {
            while let Some(job) = compaction::job_for(&self.levels, level, &self.pointers[level]) {
                // Into the bottom, every table is rewritten: a table moved
                // down whole would keep its tombstones.
                self.run_compaction(job, level + 1 < bottom)?;
            }
        }
        Ok(())
    }
    // ANCHOR_END: compact_all

    fn targets(&self) -> Targets {
        Targets {
            l0_tables: self.options.l0_compaction_trigger,
            level_base_bytes: self.options.level_base_bytes,
            level_size_ratio: self.options.level_size_ratio,
        }
    }

    // ANCHOR: run_compaction
    /// Runs `job`: writes the merged tables (or, for a table nothing below
    /// overlaps, when `may_move`, moves it down without a rewrite), then
    /// switches the manifest to name them in place of the inputs, then
    /// removes the inputs. A crash before the switch leaves the inputs
    /// named and the outputs unnamed (removed at open); after it, the
    /// reverse.
    fn run_compaction(&mut self, job: Job, may_move: bool) -> Result<()> {
        if self.needs_roll {
            self.roll()?;
        }
        let level = job.level;
        let outputs = if job.is_move() && may_move {
            None
        } else {
            let output = Output {
                disk: &self.disk,
                dir: &self.dir,
                block_size: self.options.block_size,
                bloom_bits_per_key: self.options.bloom_bits_per_key,
                table_bytes: self.options.table_target_bytes,
            };
            Some(compaction::run(
                &job,
                &self.levels,
                &output,
                &mut self.next_file,
            )?)
        };
        let pointer = self
            .levels
            .level(level)
            .iter()
            .filter(|t| job.inputs.contains(&t.number()))
            .filter_map(|t| t.table().last_key())
            .max()
            .map(<[u8]>::to_vec)
            .unwrap_or_default();
        // The new shape: the inputs gone from both levels, the outputs (or
        // the moved table) in the level below, in the key order the levels
        // keep in memory.
        let gone: Vec<u64> = job.inputs.iter().chain(&job.next).copied().collect();
        let moved = self
            .levels
            .level(level)
            .iter()
            .filter(|t| outputs.is_none() && job.inputs.contains(&t.number()));
        let below =
            self.levels
                .numbers_after(level + 1, &gone, outputs.iter().flatten().chain(moved));
        let mut manifest = self.manifest();
        manifest.levels[level].retain(|n| !gone.contains(n));
        manifest.levels[level + 1] = below;
        let switched = self.switch_manifest(&manifest);
        if let Err(SwitchError::NotSwitched(e)) = switched {
            for table in outputs.iter().flatten() {
                let _ = self.disk.remove_file(table.table().file().path());
            }
            return Err(e);
        }
        // The manifest in the directory names the new shape: the store
        // reads from it from here on.
        let removed = self.levels.take(&gone);
        match outputs {
            Some(outputs) => {
                self.bytes_written += outputs.iter().map(|t| t.table().file_len()).sum::<u64>();
                self.levels.insert(level + 1, outputs);
                self.stale.extend(
                    removed
                        .iter()
                        .map(|t| t.table().file().path().to_path_buf()),
                );
            }
            None => self.levels.insert(level + 1, removed),
        }
        self.pointers[level] = pointer;
        self.compactions += 1;
        self.settle(switched)
    }
    // ANCHOR_END: run_compaction

    // ANCHOR: roll
    /// Moves the memtable to a new log and switches the manifest to it,
    /// durably: after any failure of the log or of the manifest's switch.
    /// The new log is only adopted once the manifest in the directory
    /// names it; a failed attempt removes it, so retries do not pile up
    /// copies of the memtable.
    fn roll(&mut self) -> Result<()> {
        self.needs_roll = true;
        let number = self.take_number()?;
        let log = self.new_log(number)?;
        self.commit_log(log)
    }
    // ANCHOR_END: roll

    // ANCHOR: commit
    /// A new log, number `number`, holding the memtable, synced.
    fn new_log(&mut self, number: u64) -> Result<LogWriter> {
        let log = write_log(
            &self.disk,
            &log_path(&self.dir, number),
            number,
            &self.memtable,
        )?;
        self.bytes_written += log.len();
        Ok(log)
    }

    /// Switches the manifest to name `log` as the only live log, durably,
    /// and makes it the store's log; then removes the logs it replaces.
    fn commit_log(&mut self, log: LogWriter) -> Result<()> {
        let manifest = Manifest {
            logs: vec![log.number()],
            ..self.manifest()
        };
        let switched = self.switch_manifest(&manifest);
        if let Err(SwitchError::NotSwitched(e)) = switched {
            let _ = self.disk.remove_file(log.path());
            return Err(e);
        }
        let old = std::mem::replace(&mut self.log, log);
        self.stale.push(old.path().to_path_buf());
        self.settle(switched)
    }

    /// After a switch of the manifest that renamed it into place: durable,
    /// the logs it replaces can go; not durable, the next write or sync
    /// rolls again.
    fn settle(&mut self, switched: Result<(), SwitchError>) -> Result<()> {
        match switched {
            Err(SwitchError::NotSwitched(e) | SwitchError::NotDurable(e)) => {
                self.needs_roll = true;
                Err(e)
            }
            Ok(()) => {
                self.needs_roll = false;
                self.remove_stale()
            }
        }
    }

    /// The manifest that names the store's files as they are in memory.
    fn manifest(&self) -> Manifest {
        Manifest {
            next_file: self.next_file,
            logs: vec![self.log.number()],
            levels: self.levels.numbers(),
        }
    }
    // ANCHOR_END: commit

    // ANCHOR: switch
    /// Replaces the manifest: the directory synced first (the new files
    /// the manifest will name must be durable before it names them: POSIX
    /// does not order a directory's changes), then a new manifest, synced,
    /// renamed over the old one, then the directory synced again.
    fn switch_manifest(&mut self, manifest: &Manifest) -> Result<(), SwitchError> {
        let bytes = manifest.encode();
        atomic::sync_dir(&self.disk, &self.dir)
            .and_then(|()| atomic::replace(&self.disk, &self.dir.join(MANIFEST), &bytes))
            .map_err(SwitchError::NotSwitched)?;
        self.bytes_written += bytes.len() as u64;
        atomic::sync_dir(&self.disk, &self.dir).map_err(SwitchError::NotDurable)
    }
    // ANCHOR_END: switch

    /// Removes the logs and tables that a durable manifest no longer
    /// names. A failure is reported (the call that switched the manifest
    /// returns it); the file is unnamed, so the next open removes it.
    fn remove_stale(&mut self) -> Result<()> {
        let mut result = Ok(());
        for path in std::mem::take(&mut self.stale) {
            match self.disk.remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound && result.is_ok() => {
                    result = Err(Error::io("removing an obsolete file", path, e));
                }
                _ => {}
            }
        }
        result
    }

    /// The tables' numbers, level by level (level 0's oldest first).
    pub fn table_numbers(&self) -> Vec<u64> {
        self.levels.iter().map(LiveTable::number).collect()
    }

    /// The tables, level by level (level 0's oldest first).
    pub fn tables(&self) -> impl Iterator<Item = &Table> {
        self.levels.iter().map(LiveTable::table)
    }

    /// The tables, level by level.
    pub fn levels(&self) -> &Levels {
        &self.levels
    }

    /// Compactions since the store was opened (moves included).
    pub fn compactions(&self) -> u64 {
        self.compactions
    }

    /// The number of the log being written.
    pub fn log_number(&self) -> u64 {
        self.log.number()
    }

    /// Keys in the memtable, tombstones included.
    pub fn memtable_len(&self) -> usize {
        self.memtable.len()
    }

    /// Bytes of the writes the memtable holds.
    pub fn memtable_size(&self) -> u64 {
        self.memtable.size()
    }

    /// Flushes since the store was opened.
    pub fn flushes(&self) -> u64 {
        self.flushes
    }

    /// What the open replayed.
    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

// ANCHOR: write_log
/// Writes log `number` at `path` holding `memtable`'s entries, synced; on
/// failure, removes what it wrote.
fn write_log(disk: &Disk, path: &Path, number: u64, memtable: &Memtable) -> Result<LogWriter> {
    let written = LogWriter::create(disk, path, number).and_then(|mut log| {
        // The range deletes first: replayed, each removes the memtable's
        // entries in its range, and the entries the memtable holds now
        // came after it.
        for tombstone in memtable.ranges().iter() {
            log.append_range(tombstone)?;
        }
        log.append_all(memtable.iter())?;
        log.sync()?;
        Ok(log)
    });
    if written.is_err() {
        let _ = disk.remove_file(path);
    }
    written
}
// ANCHOR_END: write_log

// ANCHOR: read_manifest
/// The manifest in `dir`; for a new store, an empty one, written. A directory with
/// logs or tables and no manifest is refused: removing files "the manifest
/// does not name" would remove them all.
fn read_manifest(disk: &Disk, dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    match atomic::read_file(disk, &path, manifest::MAX_LEN)? {
        Some(bytes) => Manifest::decode(&path, &bytes),
        None => {
            let stray = disk
                .list(dir)
                .context("listing", dir)?
                .into_iter()
                .filter_map(|entry| entry.name.into_string().ok())
                .find(|name| {
                    matches!(
                        files::kind(name),
                        Some(FileKind::Log(_) | FileKind::Table(_))
                    )
                });
            match stray {
                Some(name) => Err(Error::corruption(
                    path,
                    0,
                    "a manifest naming the store's logs and tables",
                    format!("no manifest, and a store file ({name})"),
                )),
                None => {
                    // A new store: its manifest comes first, durably, so
                    // that no file of the store ever exists without one.
                    let manifest = Manifest {
                        next_file: 1,
                        ..Manifest::default()
                    };
                    atomic::replace_durably(disk, &path, &manifest.encode())?;
                    Ok(manifest)
                }
            }
        }
    }
}
// ANCHOR_END: read_manifest

// ANCHOR: remove_unnamed
/// Removes what a crash left behind: temporary files, and logs and tables
/// the manifest does not name (a flush's new files before its switch, a
/// log replaced by a switch).
fn remove_unnamed(disk: &Disk, dir: &Path, manifest: &Manifest) -> Result<()> {
    for entry in disk.list(dir).context("listing", dir)? {
        let Some(name) = entry.name.to_str() else {
            continue;
        };
        let unnamed = match files::kind(name) {
            Some(FileKind::Temp) => true,
            Some(FileKind::Log(n)) => !manifest.logs.contains(&n),
            Some(FileKind::Table(n)) => !manifest.tables().any(|t| t == n),
            Some(FileKind::Manifest) | None => false,
        };
        if unnamed && !entry.is_dir {
            let path = dir.join(name);
            disk.remove_file(&path)
                .context("removing the leftover", &path)?;
        }
    }
    Ok(())
}
// ANCHOR_END: remove_unnamed

impl KvStore for LsmStore {
    // ANCHOR: kv_store
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(value)?;
        self.write_ops(&[(key, Some(value))])
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        self.write_ops(&[(key, None)])
    }

    /// One log record for the whole batch: all of it survives a crash, or
    /// none of it.
    fn write(&mut self, batch: &WriteBatch) -> Result<()> {
        batch.check()?;
        if batch.is_empty() {
            return Ok(());
        }
        let ops: Vec<(&[u8], Option<&[u8]>)> = batch
            .ops()
            .iter()
            .map(|op| match op {
                BatchOp::Set { key, value } => (key.as_slice(), Some(value.as_slice())),
                BatchOp::Delete { key } => (key.as_slice(), None),
            })
            .collect();
        self.write_ops(&ops)
    }
    // ANCHOR_END: kv_store

    // ANCHOR: delete_range
    /// One range tombstone, whatever the number of keys: one log record,
    /// then the memtable, where it removes the entries in its range and
    /// stays to hide the tables' keys.
    fn delete_range(&mut self, range: KeyRange) -> Result<()> {
        let Some(tombstone) = Tombstone::from_range(&range) else {
            return Ok(());
        };
        if self.memtable.size() >= self.options.memtable_bytes {
            self.flush()?;
        }
        if self.needs_roll {
            self.roll()?;
        }
        let before = self.log.len();
        if let Err(e) = self.log.append_range(&tombstone) {
            self.needs_roll = self.log.failed();
            return Err(e);
        }
        self.bytes_written += self.log.len() - before;
        self.memtable.apply_range(tombstone);
        if self.options.log_sync == LogSync::EveryWrite {
            self.sync_log()?;
        }
        Ok(())
    }
    // ANCHOR_END: delete_range

    // ANCHOR: get
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // ANCHOR: todo_store_get The memtable first (a range tombstone there hides what is older), then levels.get, counting the tables asked; a tombstone anywhere is None.
        check_key(key)?;
        if let Some(found) = self.memtable.get(key) {
            return Ok(found.map(<[u8]>::to_vec));
        }
        if self.memtable.covers(key) {
            return Ok(None);
        }
        // Newest table first: the first one that knows the key answers,
        // and a tombstone answers "deleted".
        let (lookup, asked) = self.levels.get(key)?;
        // A counter, not a synchronisation point: relaxed is enough.
        self.tables_asked
            .fetch_add(u64::from(asked), Ordering::Relaxed);
        match lookup {
            Lookup::Found(value) => Ok(Some(value)),
            Lookup::Deleted | Lookup::Absent => Ok(None),
        }
        // ANCHOR_END: todo_store_get
    }
    // ANCHOR_END: get

    // ANCHOR: scan
    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        // ANCHOR: todo_store_scan A merge of the memtable and every table the range meets, newest first, with their range tombstones; values only.
        let memtable = self
            .memtable
            .range(&range)
            .map(|(k, v)| Ok((k.to_vec(), v.map(<[u8]>::to_vec))));
        let mut sources: Vec<Source<'_>> = vec![Box::new(memtable)];
        // Each source's range tombstones hide the keys of the sources after
        // it.
        let mut ranges = vec![vec![self.memtable.ranges()]];
        // Level 0's tables overlap: each is a source, newest first. A
        // deeper level's do not: its tables, in key order, are one source.
        for live in self.levels.in_range(0, &range).into_iter().rev() {
            sources.push(Box::new(live.table().entries(&range)));
            ranges.push(vec![live.ranges()]);
        }
        for level in 1..MAX_LEVELS {
            let tables = self.levels.in_range(level, &range);
            if !tables.is_empty() {
                ranges.push(tables.iter().map(|t| t.ranges()).collect());
                let range = range.clone();
                sources.push(Box::new(
                    tables
                        .into_iter()
                        .flat_map(move |t| t.table().entries(&range)),
                ));
            }
        }
        let merged = MergedEntries::with_ranges(sources, ranges);
        Ok(Box::new(merge::live(merged)))
        // ANCHOR_END: todo_store_scan
    }
    // ANCHOR_END: scan

    // ANCHOR: sync
    fn sync(&mut self) -> Result<()> {
        if self.needs_roll {
            return self.roll();
        }
        self.sync_log()
    }
    // ANCHOR_END: sync

    fn metrics(&self) -> Metrics {
        let mut metrics = Metrics::new();
        let files = || self.levels.iter().map(|t| t.table().file());
        metrics.index_bytes = Some(self.levels.iter().map(LiveTable::memory_bytes).sum());
        metrics.reads = Some(files().map(|f| f.reads()).sum());
        metrics.bytes_read = Some(files().map(|f| f.bytes_read()).sum());
        metrics.bytes_written = Some(self.bytes_written);
        metrics.tables_asked = Some(self.tables_asked.load(Ordering::Relaxed));
        metrics
    }
}

// ANCHOR: stage
impl Stage for LsmStore {
    const NAME: &'static str = "ch06-lsm";
    type Options = Options;

    fn durability(options: &Options) -> Durability {
        // Every record reaches the operating system before its call
        // returns, so a crash of the process loses nothing; what a power
        // failure keeps depends on when the log is synced. A batch is one
        // record, whole or cut off.
        let power_loss = match options.log_sync {
            LogSync::EveryWrite => Survives::EveryWrite,
            LogSync::OnSync => Survives::SyncedWrites,
        };
        Durability {
            process_crash: Survives::EveryWrite,
            power_loss,
            atomic_batches: true,
        }
    }

    fn open_with(dir: &Path, options: &Options) -> Result<Self> {
        LsmStore::open_with(dir, options)
    }

    fn on_simulated_disk(options: &Options, seed: u64) -> Option<Options> {
        Some(Options {
            disk: Disk::for_suite(seed),
            ..options.clone()
        })
    }

    fn power_switch(options: &Options) -> Option<&dyn PowerSwitch> {
        options.disk.power_switch()
    }

    /// Dropping closes the files and the lock and writes nothing, as a
    /// crash would.
    fn simulate_crash(self) {
        drop(self);
    }
}
// ANCHOR_END: stage

impl fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogWriter")
            .field("path", &self.path())
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tables asked by one `get` of `key`, read off the store's counter.
    fn asked_by_get(store: &LsmStore, key: &[u8]) -> u64 {
        let asked = |s: &LsmStore| s.metrics().tables_asked.unwrap();
        let before = asked(store);
        assert!(store.get(key).unwrap().is_some(), "{key:?} is present");
        asked(store) - before
    }

    #[test]
    fn a_get_counts_the_tables_it_asks_and_one_after_compact_all() {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            // Tables pile up in level 0 until compacted by hand.
            auto_compaction: false,
            ..Options::default()
        };
        let mut store = LsmStore::open_with(dir.path(), &options).unwrap();
        assert_eq!(store.metrics().tables_asked, Some(0));
        // Three flushes, one key each: three overlapping level-0 tables.
        for key in [b"a", b"b", b"c"] {
            store.set(key, b"value").unwrap();
            store.flush().unwrap();
        }
        store.set(b"m", b"in the memtable").unwrap();
        assert_eq!(store.levels().level(0).len(), 3);
        assert_eq!(asked_by_get(&store, b"m"), 0, "the memtable answers");
        assert_eq!(asked_by_get(&store, b"c"), 1, "the newest table");
        assert_eq!(asked_by_get(&store, b"a"), 3, "newest to oldest");

        store.compact_all().unwrap();
        assert!(store.levels().level(0).is_empty());
        for key in [b"a", b"b", b"c", b"m"] {
            assert_eq!(asked_by_get(&store, key), 1, "{key:?}");
        }
    }
}
