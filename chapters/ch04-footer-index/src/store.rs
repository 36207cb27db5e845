//! The store: a sorted write buffer in memory over one table on disk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ch00_contract::{
    Durability, Error, IoContext, KeyRange, KvStore, Metrics, Result, Scan, Stage, check_key,
    check_value,
};
use ch02_fsdb::atomic;
use disk::{DirLock, Disk};

use crate::format::{TableWriter, file_len};
use crate::merge::Merged;
use crate::table::Table;

/// The one table file in the store's directory.
pub const FILE_NAME: &str = "data.kvfi";

// ANCHOR: store
/// Writes in a sorted buffer; everything older in one table file.
#[derive(Debug)]
pub struct FooterIndexStore {
    path: PathBuf,
    /// The table as of the last sync; `None` before the first one.
    table: Option<Table>,
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
    pub fn open(dir: &Path) -> Result<FooterIndexStore> {
        // Two stores syncing one table would each overwrite the other's.
        let lock = Disk::real().lock(dir).context("locking", dir)?;
        let path = dir.join(FILE_NAME);
        // A sync that a crash interrupted left its temporary file; the
        // previous complete table is still in place.
        atomic::remove_temp(&path)?;
        let table = match path.try_exists() {
            Ok(false) => None,
            _ => Some(Table::open(&path)?),
        };
        // The table this store answers from must be the one a power failure
        // leaves: sync the rename a crash may have left unsynced.
        atomic::sync_dir(dir)?;
        Ok(FooterIndexStore {
            path,
            table,
            buffer: BTreeMap::new(),
            retired_reads: 0,
            retired_bytes_read: 0,
            bytes_written: 0,
            _lock: lock,
        })
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

    /// Records in the table (not counting the buffer).
    pub fn table_len(&self) -> usize {
        self.table.as_ref().map_or(0, Table::len)
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
        if self.buffer.is_empty() {
            return Ok(());
        }
        // The buffer merged over the old table, streamed into a new table
        // beside it, synced, and renamed over it: a crash at any point
        // leaves the old table or the new one. If it fails, nothing was
        // renamed: the old table and the buffer still hold every write.
        let temp = atomic::temp_path(&self.path);
        let mut finished = None;
        atomic::replace_with(&self.path, |out| {
            let mut writer = TableWriter::new(&temp, out);
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
        self.bytes_written += file_len(&footer);
        // From here on the new table is in place. If a step below fails, the
        // old table (its file still open) and the buffer still answer with
        // the same data, and the next sync writes it again.
        atomic::sync_dir(atomic::parent(&self.path))?;
        let new = Table::open_written(&self.path, &footer, index)?;
        if let Some(old) = self.table.replace(new) {
            self.retired_reads += old.file().reads();
            self.retired_bytes_read += old.file().bytes_read();
        }
        self.buffer.clear();
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
    /// Nothing to set up (yet).
    type Options = ();

    fn durability(_: &()) -> Durability {
        // Writes since the last sync live only in the buffer; a sync
        // replaces the table whole, so a batch reaches it whole or not at
        // all.
        Durability::ON_SYNC.with_atomic_batches()
    }

    fn open_with(dir: &Path, _: &()) -> Result<Self> {
        FooterIndexStore::open(dir)
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
