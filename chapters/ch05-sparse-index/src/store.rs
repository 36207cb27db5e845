//! The store: chapter 4's write buffer over one table, with this chapter's
//! block table in place of chapter 4's.

use std::path::Path;

use ch00_contract::{
    Durability, KeyRange, KvStore, Metrics, PowerSwitch, Result, Scan, Stage, WriteBatch,
};
use ch04_footer_index::{OneTableStore, TableFile};
use disk::Disk;

use crate::table::{DEFAULT_BLOCK_SIZE, Table};
use crate::two_level::{DEFAULT_INTERVAL, TwoLevelTable};

/// The one table file in the store's directory.
pub const FILE_NAME: &str = "data.kvbt";

// ANCHOR: options
/// How a store is opened.
#[derive(Clone, Debug)]
pub struct Options {
    /// The file system the table goes through.
    pub disk: Disk,
    /// The size a data block is filled to, in bytes: the unit of a read,
    /// and what one index entry covers.
    pub block_size: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            disk: Disk::real(),
            block_size: DEFAULT_BLOCK_SIZE,
        }
    }
}
// ANCHOR_END: options

// ANCHOR: store
/// Chapter 4's store over one of this chapter's tables. (A type of this
/// crate, so that it can implement `Stage` for each table.)
#[derive(Debug)]
pub struct Sparse<T: TableFile>(OneTableStore<T>);

/// The store over the block table: this chapter's stage.
pub type SparseIndexStore = Sparse<Table>;

/// The store over chapter 4's table with an index of its index.
pub type IndexOfIndexStore = Sparse<TwoLevelTable>;
// ANCHOR_END: store

impl<T: TableFile> Sparse<T> {
    /// The table, if a sync has written one.
    pub fn table(&self) -> Option<&T> {
        self.0.table()
    }
}

impl SparseIndexStore {
    /// Opens the store in `dir` with `options`.
    pub fn open_with(dir: &Path, options: &Options) -> Result<SparseIndexStore> {
        OneTableStore::open_in(dir, &options.disk, &options.block_size).map(Sparse)
    }

    /// Opens the store in `dir` with the default options.
    pub fn open(dir: &Path) -> Result<SparseIndexStore> {
        SparseIndexStore::open_with(dir, &Options::default())
    }
}

impl<T: TableFile> KvStore for Sparse<T> {
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.0.set(key, value)
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.get(key)
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.0.delete(key)
    }

    fn write(&mut self, batch: &WriteBatch) -> Result<()> {
        self.0.write(batch)
    }

    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        self.0.scan(range)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Scan<'_>> {
        self.0.scan_prefix(prefix)
    }

    // Forwarded rather than left to the defaults, which would delete key
    // by key through this wrapper even if the inner store did better.
    fn delete_range(&mut self, range: KeyRange) -> Result<()> {
        self.0.delete_range(range)
    }

    fn delete_prefix(&mut self, prefix: &[u8]) -> Result<()> {
        self.0.delete_prefix(prefix)
    }

    fn sync(&mut self) -> Result<()> {
        self.0.sync()
    }

    fn metrics(&self) -> Metrics {
        self.0.metrics()
    }
}

// ANCHOR: stage
impl Stage for SparseIndexStore {
    const NAME: &'static str = "ch05-sparse-index";
    type Options = Options;

    /// Chapter 4's, for the same reasons: writes wait in the buffer, and a
    /// sync replaces the table whole.
    fn durability(_: &Options) -> Durability {
        Durability::ON_SYNC.with_atomic_batches()
    }

    fn open_with(dir: &Path, options: &Options) -> Result<Self> {
        SparseIndexStore::open_with(dir, options)
    }

    fn simulate_crash(self) {
        drop(self);
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
}
// ANCHOR_END: stage

/// How a store over the two-level table is opened.
#[derive(Clone, Debug)]
pub struct IndexOfIndexOptions {
    /// The file system the table goes through.
    pub disk: Disk,
    /// Every how many entries of the full index one is kept in memory.
    pub interval: u32,
}

impl Default for IndexOfIndexOptions {
    fn default() -> Self {
        IndexOfIndexOptions {
            disk: Disk::real(),
            interval: DEFAULT_INTERVAL,
        }
    }
}

impl IndexOfIndexStore {
    /// Opens the store in `dir` with `options`.
    pub fn open_with(dir: &Path, options: &IndexOfIndexOptions) -> Result<IndexOfIndexStore> {
        OneTableStore::open_in(dir, &options.disk, &options.interval).map(Sparse)
    }
}

impl Stage for IndexOfIndexStore {
    const NAME: &'static str = "ch05-index-of-index";
    type Options = IndexOfIndexOptions;

    fn durability(_: &IndexOfIndexOptions) -> Durability {
        Durability::ON_SYNC.with_atomic_batches()
    }

    fn open_with(dir: &Path, options: &IndexOfIndexOptions) -> Result<Self> {
        IndexOfIndexStore::open_with(dir, options)
    }

    fn simulate_crash(self) {
        drop(self);
    }

    fn on_simulated_disk(options: &IndexOfIndexOptions, seed: u64) -> Option<IndexOfIndexOptions> {
        Some(IndexOfIndexOptions {
            disk: Disk::for_suite(seed),
            ..options.clone()
        })
    }

    fn power_switch(options: &IndexOfIndexOptions) -> Option<&dyn PowerSwitch> {
        options.disk.power_switch()
    }
}
