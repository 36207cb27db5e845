//! The store: chapter 1's sorted map, saved whole to one file on sync and
//! loaded whole at open.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use ch00_contract::{
    Durability, Error, IoContext, KeyRange, KvStore, Metrics, Result, Scan, Stage,
};
use ch01_memory::MemoryStore;
use ch02_fsdb::atomic;
use disk::{DirLock, Disk};

use crate::format;

/// The one data file in the store's directory.
pub const FILE_NAME: &str = "data.kvsf";

// ANCHOR: store
/// A sorted map in memory, persisted as one sorted file.
#[derive(Debug)]
pub struct SortedFileStore {
    path: PathBuf,
    /// All the data: chapter 1's store, unchanged.
    memory: MemoryStore,
    /// Whether the map differs from the file.
    dirty: bool,
    /// Bytes read at open and written by syncs, for the metrics.
    bytes_read: u64,
    bytes_written: u64,
    /// The directory's lock, held while the store is open.
    _lock: DirLock,
}
// ANCHOR_END: store

impl SortedFileStore {
    // ANCHOR: open
    /// Opens the store in `dir`: reads the data file whole, checks it, and
    /// loads every record into memory. A missing file is an empty store.
    pub fn open(dir: &Path) -> Result<SortedFileStore> {
        // Two stores syncing one file would each overwrite the other's.
        let lock = Disk::real().lock(dir).context("locking", dir)?;
        let path = dir.join(FILE_NAME);
        // A sync that a crash interrupted left its temporary file; the
        // previous complete file is still in place.
        atomic::remove_temp(&path)?;
        let mut memory = MemoryStore::new();
        // No file is an empty store; an empty file is a damaged one.
        let bytes = match fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("reading", path, e)),
        };
        if let Some(bytes) = &bytes {
            let mut failed = None;
            format::decode(&path, bytes, |key, value| {
                // Cannot fail: `decode` checked both lengths already.
                if let Err(e) = memory.set(key, value) {
                    failed.get_or_insert(e);
                }
            })?;
            if let Some(e) = failed {
                return Err(e);
            }
        }
        // A crash may have come between a sync's rename and its directory
        // sync: the file this open sees must be the one a power failure
        // leaves too, since the store is now answering from it.
        atomic::sync_dir(dir)?;
        Ok(SortedFileStore {
            path,
            memory,
            dirty: false,
            bytes_read: bytes.map_or(0, |b| b.len() as u64),
            bytes_written: 0,
            _lock: lock,
        })
    }
    // ANCHOR_END: open

    /// The number of keys.
    pub fn len(&self) -> usize {
        self.memory.len()
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> bool {
        self.memory.is_empty()
    }

    /// The data file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl KvStore for SortedFileStore {
    // ANCHOR: kv_store
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.memory.set(key, value)?;
        self.dirty = true;
        Ok(())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.memory.get(key)
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.memory.delete(key)?;
        self.dirty = true;
        Ok(())
    }

    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        self.memory.scan(range)
    }
    // ANCHOR_END: kv_store

    // ANCHOR: sync
    fn sync(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        // The whole map, every time: one changed key rewrites the file.
        // It streams from the map to the file, never built in memory.
        // Beside the old file, synced, renamed over it, directory synced:
        // a crash at any point leaves the old file or the new one.
        let temp = atomic::temp_path(&self.path);
        let mut written = 0;
        atomic::replace_durably_with(&self.path, |out| {
            written = format::write(&temp, out, self.memory.entries())?;
            Ok(())
        })?;
        self.bytes_written += written;
        self.dirty = false;
        Ok(())
    }
    // ANCHOR_END: sync

    fn metrics(&self) -> Metrics {
        let mut metrics = Metrics::new();
        // Everything is in memory: the keys and values are the index.
        metrics.index_bytes = Some(self.memory.data_bytes());
        metrics.reads = Some(u64::from(self.bytes_read > 0));
        metrics.bytes_read = Some(self.bytes_read);
        metrics.bytes_written = Some(self.bytes_written);
        metrics
    }
}

// ANCHOR: stage
impl Stage for SortedFileStore {
    const NAME: &'static str = "ch03-sorted-file";
    /// Nothing to set up (yet).
    type Options = ();

    fn durability(_: &()) -> Durability {
        // Writes since the last sync live only in memory, and the file is
        // replaced whole: a crash of either kind leaves the last synced
        // file. A batch is applied in memory and reaches the file whole or
        // not at all, with the sync after it.
        Durability::ON_SYNC.with_atomic_batches()
    }

    fn open_with(dir: &Path, _: &()) -> Result<Self> {
        SortedFileStore::open(dir)
    }

    /// Dropping the store writes nothing (there is no `Drop` that syncs),
    /// and releases the directory's lock, as a dead process would.
    fn simulate_crash(self) {
        drop(self);
    }
}
// ANCHOR_END: stage
