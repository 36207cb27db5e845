//! The store: a sorted write buffer in memory over one table on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ch00_contract::{
    Durability, Error, IoContext, KeyRange, KvStore, Metrics, PowerSwitch, Result, Scan, Stage,
    check_key, check_value,
};
use disk::{DirLock, Disk, atomic};

use crate::format::TableWriter;
use crate::merge::Merged;
use crate::table::Table;

/// The one table file in the store's directory.
pub const FILE_NAME: &str = "data.kvfi";

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
pub struct FooterIndexStore {
    path: PathBuf,
    disk: Disk,
    /// The table file in the directory now; `None` before the first sync.
    table: Option<Table>,
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

impl FooterIndexStore {
    // ANCHOR: open
    /// Opens the store in `dir`: the table's footer and index, checked. A
    /// missing file is an empty store.
    pub fn open_with(dir: &Path, options: &Options) -> Result<FooterIndexStore> {
        let disk = options.disk.clone();
        // Two stores syncing one table would each overwrite the other's.
        let lock = disk.lock(dir).context("locking", dir)?;
        let path = dir.join(FILE_NAME);
        // A sync that a crash interrupted left its temporary file; the
        // previous complete table is still in place.
        atomic::remove_temp(&disk, &path)?;
        let table = match disk.exists(&path) {
            Ok(false) => None,
            _ => Some(Table::open(&disk, &path)?),
        };
        // The table this store answers from must be the one a power failure
        // leaves: sync the rename a crash may have left unsynced.
        atomic::sync_dir(&disk, dir)?;
        Ok(FooterIndexStore {
            path,
            disk,
            table,
            table_unsynced: false,
            buffer: BTreeMap::new(),
            retired_reads: 0,
            retired_bytes_read: 0,
            bytes_written: 0,
            _lock: lock,
        })
    }
    // ANCHOR_END: open

    /// Opens the store in `dir` with the default options (the real disk).
    pub fn open(dir: &Path) -> Result<FooterIndexStore> {
        FooterIndexStore::open_with(dir, &Options::default())
    }

    /// The table file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes not yet synced (deletes included).
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// Records in the table (not counting the buffer).
    pub fn table_len(&self) -> usize {
        self.table.as_ref().map_or(0, Table::len)
    }

    /// Writes the buffer merged over the table to a new table file at
    /// `temp`, synced, and opens it (with the index its writer kept: no
    /// need to read back what is in memory).
    fn write_table(&self, temp: &Path) -> Result<Table> {
        let mut finished = None;
        atomic::write_file_with(&self.disk, temp, |out| {
            let mut writer = TableWriter::new(temp, out);
            for entry in self.merged(&KeyRange::all()) {
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
        Table::open_written(&self.disk, temp, &footer, index)
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

impl KvStore for FooterIndexStore {
    // ANCHOR: kv_store
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(value)?;
        self.buffer.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        match self.buffer.get(key) {
            Some(buffered) => Ok(buffered.clone()),
            None => match &self.table {
                Some(table) => table.get(key),
                None => Ok(None),
            },
        }
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        // The index is in memory, so whether the table holds the key costs
        // no read; only then does the delete need remembering.
        if self.table.as_ref().is_some_and(|t| t.contains(key)) {
            self.buffer.insert(key.to_vec(), None);
        } else {
            self.buffer.remove(key);
        }
        Ok(())
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
    }
    // ANCHOR_END: sync

    fn metrics(&self) -> Metrics {
        let file = self.table.as_ref().map(Table::file);
        let mut metrics = Metrics::new();
        metrics.index_bytes = Some(self.table.as_ref().map_or(0, Table::index_bytes));
        metrics.reads = Some(self.retired_reads + file.map_or(0, |f| f.reads()));
        metrics.bytes_read = Some(self.retired_bytes_read + file.map_or(0, |f| f.bytes_read()));
        metrics.bytes_written = Some(self.bytes_written);
        metrics
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
