//! The store: chapter 4's write buffer over one table, with this chapter's
//! block table in place of chapter 4's.

use std::path::Path;

use ch00_contract::{
    Durability, KeyRange, KvStore, Metrics, PowerSwitch, Result, Scan, Stage, WriteBatch,
};
use ch04_footer_index::OneTableStore;
use disk::Disk;

use crate::table::{DEFAULT_BLOCK_SIZE, Table};

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
/// Chapter 4's store over a block table.
#[derive(Debug)]
pub struct SparseIndexStore(OneTableStore<Table>);
// ANCHOR_END: store

impl SparseIndexStore {
    /// Opens the store in `dir` with `options`.
    pub fn open_with(dir: &Path, options: &Options) -> Result<SparseIndexStore> {
        OneTableStore::open_in(dir, &options.disk, &options.block_size).map(SparseIndexStore)
    }

    /// Opens the store in `dir` with the default options.
    pub fn open(dir: &Path) -> Result<SparseIndexStore> {
        SparseIndexStore::open_with(dir, &Options::default())
    }

    /// The table, if a sync has written one.
    pub fn table(&self) -> Option<&Table> {
        self.0.table()
    }
}

impl KvStore for SparseIndexStore {
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
