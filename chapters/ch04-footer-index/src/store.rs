//! The store: a sorted write buffer in memory over one table on disk.
//!
//! The store does not care how its table is laid out: it needs a table it
//! can open, write from a sorted stream, look a key up in and scan, which
//! is [`TableFile`]. Chapter 4's table is one; chapter 5 brings others and
//! reuses this store unchanged.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use ch00_contract::{
    Durability, IoContext, KeyRange, KvStore, Metrics, PowerSwitch, Result, Scan, Stage, check_key,
    check_value,
};
use disk::{CountingFile, DirLock, Disk, atomic};

use crate::merge::Merged;
use crate::table::Table;

/// The one table file in the store's directory.
pub const FILE_NAME: &str = "data.kvfi";

// ANCHOR: table_file
/// What the store needs of a table file format.
pub trait TableFile: Sized + fmt::Debug + Send {
    /// How tables are written (chapter 5's block size, say).
    type Options: Clone + fmt::Debug + Send;

    /// The table file's name in the store's directory.
    const FILE_NAME: &'static str;

    /// Opens the table at `path`, checking what it reads.
    fn open(disk: &Disk, path: &Path) -> Result<Self>;

    /// Writes `entries`, in strictly ascending key order, as a new table
    /// at `path`, synced, and opens it.
    fn write(disk: &Disk, path: &Path, options: &Self::Options, entries: Scan<'_>) -> Result<Self>;

    /// The value stored under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Whether the table may hold `key`, answered without a read: `false`
    /// only if it certainly does not.
    fn may_contain(&self, key: &[u8]) -> bool;

    /// The pairs of `range`, in key order.
    fn scan(&self, range: &KeyRange) -> Scan<'_>;

    /// The open file, for its read counters.
    fn file(&self) -> &CountingFile;

    /// Bytes of memory the table's index holds.
    fn index_bytes(&self) -> u64;

    /// The table's file now has the name `path` (a rename moved it).
    fn renamed(self, path: &Path) -> Self;
}
// ANCHOR_END: table_file

/// How a store is opened.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The file system the table goes through: the real one, or a
    /// simulated disk in tests.
    pub disk: Disk,
}

// ANCHOR: store
/// Writes in a sorted buffer; everything older in one table file.
#[derive(Debug)]
pub struct OneTableStore<T: TableFile> {
    path: PathBuf,
    disk: Disk,
    /// How new tables are written.
    table_options: T::Options,
    /// The table file in the directory now; `None` before the first sync.
    table: Option<T>,
    /// The table was renamed into place but its directory sync failed, so
    /// a power loss may still bring back the one before: the next sync
    /// writes it again (see `sync`).
    table_unsynced: bool,
    /// Writes since the last sync, in key order. `None` is a delete: the
    /// key may still be in the table, and the buffer must hide it there.
    buffer: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Reads made by tables that syncs have since replaced, so that the
    /// counters run from open.
    retired_reads: u64,
    retired_bytes_read: u64,
    bytes_written: u64,
    /// The directory's lock, held while the store is open.
    _lock: DirLock,
}
// ANCHOR_END: store

/// Chapter 4's store: the buffer over chapter 4's table.
pub type FooterIndexStore = OneTableStore<Table>;

impl<T: TableFile> OneTableStore<T> {
    // ANCHOR: open
    /// Opens the store in `dir` on `disk`: the table's footer and index,
    /// checked. A missing file is an empty store.
    pub fn open_in(dir: &Path, disk: &Disk, table_options: &T::Options) -> Result<Self> {
        // ANCHOR: todo_open Lock the directory (disk.lock), remove a leftover temp file, open the table if the file exists, sync the directory.
        let disk = disk.clone();
        // Two stores syncing one table would each overwrite the other's.
        let lock = disk.lock(dir).context("locking", dir)?;
        let path = dir.join(T::FILE_NAME);
        // A sync that a crash interrupted left its temporary file; the
        // previous complete table is still in place.
        atomic::remove_temp(&disk, &path)?;
        let table = match disk.exists(&path) {
            Ok(false) => None,
            _ => Some(T::open(&disk, &path)?),
        };
        // The table this store answers from must be the one a power failure
        // leaves: sync the rename a crash may have left unsynced.
        atomic::sync_dir(&disk, dir)?;
        Ok(OneTableStore {
            path,
            disk,
            table_options: table_options.clone(),
            table,
            table_unsynced: false,
            buffer: BTreeMap::new(),
            retired_reads: 0,
            retired_bytes_read: 0,
            bytes_written: 0,
            _lock: lock,
        })
        // ANCHOR_END: todo_open
    }
    // ANCHOR_END: open

    /// The table file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes not yet synced (deletes included).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The table, if a sync has written one.
    pub fn table(&self) -> Option<&T> {
        self.table.as_ref()
    }

    /// Writes the buffer merged over the table to a new table file at
    /// `temp`, synced, and opens it.
    fn write_table(&self, temp: &Path) -> Result<T> {
        T::write(
            &self.disk,
            temp,
            &self.table_options,
            self.merged(&KeyRange::all()),
        )
    }

    // ANCHOR: merged
    /// The buffer over the table, for `range`: what scans return and what
    /// a sync writes.
    fn merged(&self, range: &KeyRange) -> Scan<'_> {
        if range.is_empty() {
            return Box::new(std::iter::empty());
        }
        let newer = self.buffer.range::<[u8], _>(range.clone());
        match &self.table {
            Some(table) => Box::new(Merged::new(newer, table.scan(range))),
            None => Box::new(Merged::new(newer, std::iter::empty())),
        }
    }
    // ANCHOR_END: merged
}

impl<T: TableFile> KvStore for OneTableStore<T> {
    // ANCHOR: kv_store
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(value)?;
        self.buffer.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        // ANCHOR: todo_get The buffer first (a None there is a delete), then the table.
        match self.buffer.get(key) {
            Some(buffered) => Ok(buffered.clone()),
            None => match &self.table {
                Some(table) => table.get(key),
                None => Ok(None),
            },
        }
        // ANCHOR_END: todo_get
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        // ANCHOR: todo_delete Remember the delete in the buffer only if the table may hold the key; else just drop it from the buffer.
        // Whether the table may hold the key costs no read (chapter 4's
        // index holds every key); only then does the delete need
        // remembering.
        if self.table.as_ref().is_some_and(|t| t.may_contain(key)) {
            self.buffer.insert(key.to_vec(), None);
        } else {
            self.buffer.remove(key);
        }
        Ok(())
        // ANCHOR_END: todo_delete
    }

    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        Ok(self.merged(&range))
    }
    // ANCHOR_END: kv_store

    // ANCHOR: sync
    fn sync(&mut self) -> Result<()> {
        if self.buffer.is_empty() && !self.table_unsynced {
            return Ok(());
        }
        // The buffer merged over the old table, streamed into a new table
        // beside it, synced, opened, and renamed over it: a crash at any
        // point leaves the old table or the new one.
        // ANCHOR: todo_sync Write the merged buffer and table to a temp table, rename it over the old, adopt it, clear the buffer, sync the directory.
        let temp = atomic::temp_path(&self.path);
        let new = self.write_table(&temp).and_then(|new| {
            self.disk
                .rename(&temp, &self.path)
                .context("renaming into place", &temp)?;
            Ok(new.renamed(&self.path))
        });
        let new = match new {
            Ok(new) => new,
            Err(e) => {
                // Nothing was renamed: the old table and the buffer still
                // hold every write, and the next sync writes them again.
                let _ = self.disk.remove_file(&temp);
                return Err(e);
            }
        };
        // The new table is the file in the directory now, whatever happens
        // next: the store answers from it from here on, or it would judge
        // deletes and syncs against a table that is gone.
        self.bytes_written += new.file().len();
        if let Some(old) = self.table.replace(new) {
            self.retired_reads += old.file().reads();
            self.retired_bytes_read += old.file().bytes_read();
        }
        self.buffer.clear();
        // Until its directory is synced, a power loss may bring the old
        // table back. If the directory sync fails, the next sync writes
        // the table again, even with nothing buffered: a new file and a
        // new rename, then a new directory sync. (The policy after a
        // failed sync, as in chapter 3: retry by writing again, never by
        // trusting a second `fsync` of what the first could not write.)
        self.table_unsynced = true;
        atomic::sync_dir(&self.disk, atomic::parent(&self.path))?;
        self.table_unsynced = false;
        Ok(())
        // ANCHOR_END: todo_sync
    }
    // ANCHOR_END: sync

    fn metrics(&self) -> Metrics {
        let file = self.table.as_ref().map(T::file);
        let mut metrics = Metrics::new();
        metrics.index_bytes = Some(self.table.as_ref().map_or(0, T::index_bytes));
        metrics.reads = Some(self.retired_reads + file.map_or(0, |f| f.reads()));
        metrics.bytes_read = Some(self.retired_bytes_read + file.map_or(0, |f| f.bytes_read()));
        metrics.bytes_written = Some(self.bytes_written);
        metrics
    }
}

impl FooterIndexStore {
    /// Opens the store in `dir` with `options`.
    pub fn open_with(dir: &Path, options: &Options) -> Result<FooterIndexStore> {
        OneTableStore::open_in(dir, &options.disk, &())
    }

    /// Opens the store in `dir` with the default options (the real disk).
    pub fn open(dir: &Path) -> Result<FooterIndexStore> {
        FooterIndexStore::open_with(dir, &Options::default())
    }

    /// Records in the table (not counting the buffer).
    pub fn table_len(&self) -> usize {
        self.table.as_ref().map_or(0, Table::len)
    }
}

// ANCHOR: stage
impl Stage for FooterIndexStore {
    const NAME: &'static str = "ch04-footer-index";
    type Options = Options;

    fn durability(_: &Options) -> Durability {
        // Writes since the last sync live only in the buffer; a sync
        // replaces the table whole, so a batch reaches it whole or not at
        // all.
        Durability::ON_SYNC.with_atomic_batches()
    }

    fn open_with(dir: &Path, options: &Options) -> Result<Self> {
        FooterIndexStore::open_with(dir, options)
    }

    fn on_simulated_disk(_: &Options, seed: u64) -> Option<Options> {
        Some(Options {
            disk: Disk::for_suite(seed),
        })
    }

    fn power_switch(options: &Options) -> Option<&dyn PowerSwitch> {
        options.disk.power_switch()
    }

    /// The store holds its table file and its directory's lock open, which
    /// the default (`mem::forget`) would leak: the lock would refuse the
    /// reopen, and a run of the suite would leak thousands of file handles.
    /// Dropping closes both and writes nothing (the store has no `Drop`
    /// that writes), as a crash would.
    fn simulate_crash(self) {
        drop(self);
    }
}
// ANCHOR_END: stage
