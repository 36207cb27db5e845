//! The store: chapter 1's sorted map, saved whole to one file on sync and
//! loaded whole at open.

use std::path::{Path, PathBuf};

use ch00_contract::{
    Durability, IoContext, KeyRange, KvStore, Metrics, PowerSwitch, Result, Scan, Stage,
};
use ch01_memory::MemoryStore;
use disk::{DirLock, Disk, atomic};

use crate::format;

/// The one data file in the store's directory.
pub const FILE_NAME: &str = "data.kvsf";

/// How a store is opened.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The file system the data file goes through: the real one, or a
    /// simulated disk in tests.
    pub disk: Disk,
}

// ANCHOR: store
/// A sorted map in memory, persisted as one sorted file.
#[derive(Debug)]
pub struct SortedFileStore {
    path: PathBuf,
    disk: Disk,
    /// All the data: chapter 1's store, unchanged.
    memory: MemoryStore,
    /// Whether the map differs from the file, or may: a sync that failed
    /// leaves it set.
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
    pub fn open_with(dir: &Path, options: &Options) -> Result<SortedFileStore> {
        let disk = options.disk.clone();
        // Two stores syncing one file would each overwrite the other's.
        let lock = disk.lock(dir).context("locking", dir)?;
        let path = dir.join(FILE_NAME);
        // A sync that a crash interrupted left its temporary file; the
        // previous complete file is still in place.
        atomic::remove_temp(&disk, &path)?;
        // ANCHOR: todo_open Read the file whole (atomic::read_file), load it with format::decode into a MemoryStore, sync the directory, build the store.
        let mut memory = MemoryStore::new();
        // No file is an empty store; an empty file is a damaged one. No
        // limit on its length: this store holds all of it in memory anyway.
        let bytes = atomic::read_file(&disk, &path, u64::MAX)?;
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
        atomic::sync_dir(&disk, dir)?;
        Ok(SortedFileStore {
            path,
            disk,
            memory,
            dirty: false,
            bytes_read: bytes.map_or(0, |b| b.len() as u64),
            bytes_written: 0,
            _lock: lock,
        })
        // ANCHOR_END: todo_open
    }
    // ANCHOR_END: open

    /// Opens the store in `dir` with the default options (the real disk).
    pub fn open(dir: &Path) -> Result<SortedFileStore> {
        SortedFileStore::open_with(dir, &Options::default())
    }

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
        //
        // ANCHOR: failed_sync
        // After a failed sync the store retries by rewriting from memory,
        // where all of its data is: `dirty` stays set, and the next sync
        // writes a whole new file, syncs it, renames it and syncs the
        // directory again. It never trusts a second `fsync` of the same
        // file (the kernel may have dropped the pages the first could not
        // write), and a new rename makes the directory dirty again, so its
        // sync writes the directory as it is now.
        // ANCHOR_END: failed_sync
        // ANCHOR: todo_sync Write every entry with format::write through atomic::replace_durably_with; count the bytes; the store is clean.
        let temp = atomic::temp_path(&self.path);
        let mut written = 0;
        atomic::replace_durably_with(&self.disk, &self.path, |out| {
            written = format::write(&temp, out, self.memory.entries())?;
            Ok(())
        })?;
        self.bytes_written += written;
        self.dirty = false;
        Ok(())
        // ANCHOR_END: todo_sync
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
    type Options = Options;

    fn durability(_: &Options) -> Durability {
        // Writes since the last sync live only in memory, and the file is
        // replaced whole: a crash of either kind leaves the last synced
        // file. A batch is applied in memory and reaches the file whole or
        // not at all, with the sync after it.
        Durability::ON_SYNC.with_atomic_batches()
    }

    fn open_with(dir: &Path, options: &Options) -> Result<Self> {
        SortedFileStore::open_with(dir, options)
    }

    fn on_simulated_disk(_: &Options, seed: u64) -> Option<Options> {
        Some(Options {
            disk: Disk::for_suite(seed),
        })
    }

    fn power_switch(options: &Options) -> Option<&dyn PowerSwitch> {
        options.disk.power_switch()
    }

    /// Dropping the store writes nothing (there is no `Drop` that syncs),
    /// and releases the directory's lock, as a dead process would.
    fn simulate_crash(self) {
        drop(self);
    }
}
// ANCHOR_END: stage
