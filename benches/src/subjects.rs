//! Everything the harness measures: the book's stages and the peers.

use std::path::Path;

use ch00_contract::{Durability, KeyRange, KvStore, Metrics, Result, Scan, Stage};

use crate::peers::{FjallStore, RawFsStore, RedbStore};

/// What the harness may ask of a store beyond the contract, always outside
/// the timed part of a measurement. Both default to doing nothing; the
/// stages never need them, engines with background threads do.
pub trait Measured: KvStore {
    /// After the random fill, before the read workloads: put the store in
    /// the state its reads should be measured in.
    fn after_fill(&mut self) -> Result<()> {
        Ok(())
    }

    /// Before every timed repetition: wait until background work the store
    /// started earlier (flushes, compactions) is finished, so that the
    /// repetition is not billed for it.
    fn settle(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A stage, measured as it is: every call forwarded, no hooks.
struct Plain<S>(S);

impl<S: KvStore> KvStore for Plain<S> {
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.0.set(key, value)
    }
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.0.get(key)
    }
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        self.0.delete(key)
    }
    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        self.0.scan(range)
    }
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Scan<'_>> {
        self.0.scan_prefix(prefix)
    }
    fn flush(&mut self) -> Result<()> {
        self.0.flush()
    }
    fn metrics(&self) -> Metrics {
        self.0.metrics()
    }
}

impl<S: KvStore> Measured for Plain<S> {}

/// One store the harness can measure.
#[derive(Clone)]
pub struct Subject {
    /// Name in tables and charts (the stage's `Stage::NAME`).
    pub name: &'static str,
    /// One line on what it is.
    pub description: &'static str,
    /// A stage of the book, or a peer it is compared with.
    pub is_peer: bool,
    /// What survives a crash; an in-memory subject has nothing to reopen.
    pub durability: Durability,
    /// The largest N this subject is run at, and why, if it has a limit.
    pub limit: Option<(u64, &'static str)>,
    /// Why `sync-writes` means nothing for this subject, if it does not:
    /// its `flush` makes nothing durable that was not already.
    pub no_sync: Option<&'static str>,
    open: fn(&Path) -> Result<Box<dyn Measured>>,
}

impl Subject {
    /// Opens the subject's store in `dir`.
    pub fn open(&self, dir: &Path) -> Result<Box<dyn Measured>> {
        (self.open)(dir)
    }

    /// Why this subject is not run at size `n`, if it is not.
    pub fn skip_reason(&self, n: u64) -> Option<String> {
        match self.limit {
            Some((max, why)) if n > max => Some(format!("skipped above N = {max}: {why}")),
            _ => None,
        }
    }

    /// The same subject, run only up to `max` keys.
    pub fn up_to(mut self, max: u64, why: &'static str) -> Self {
        self.limit = Some((max, why));
        self
    }

    /// The same subject, left out of `sync-writes` for the reason given.
    pub fn without_sync(mut self, why: &'static str) -> Self {
        self.no_sync = Some(why);
        self
    }
}

fn open_plain<S: Stage + 'static>(dir: &Path) -> Result<Box<dyn Measured>> {
    Ok(Box::new(Plain(S::open(dir)?)))
}

fn open_measured<S: Stage + Measured + 'static>(dir: &Path) -> Result<Box<dyn Measured>> {
    Ok(Box::new(S::open(dir)?))
}

/// A subject for stage `S`.
pub fn stage<S: Stage + 'static>(description: &'static str) -> Subject {
    Subject {
        name: S::NAME,
        description,
        is_peer: false,
        durability: S::DURABILITY,
        limit: None,
        no_sync: (S::DURABILITY == Durability::InMemory)
            .then_some("an in-memory store has nothing to sync"),
        open: open_plain::<S>,
    }
}

fn peer<S: Stage + Measured + 'static>(description: &'static str) -> Subject {
    Subject {
        is_peer: true,
        open: open_measured::<S>,
        ..stage::<S>(description)
    }
}

/// Why the one-file-per-key subjects stop at 100k keys.
const MANY_FILES: &str = "one file per key; a million files take many minutes to write";

// ANCHOR: subjects
/// Every subject, stages first in book order, then the peers.
/// A new chapter adds its stage here, in one line.
pub fn all() -> Vec<Subject> {
    vec![
        stage::<ch01_memory::MemoryStore>("BTreeMap in memory: the ceiling"),
        stage::<ch02_fsdb::FsStore>("one JSON file per key, hashed names")
            .up_to(100_000, MANY_FILES),
        stage::<ch03_sorted_file::SortedFileStore>("a sorted map saved whole to one file"),
        stage::<ch04_footer_index::FooterIndexStore>("sorted records, a full index, a footer"),
        peer::<RawFsStore>("one file per key with plain std::fs: the floor of chapter 2")
            .up_to(100_000, MANY_FILES)
            .without_sync("it never calls fsync: the floor has none of chapter 2's safety"),
        peer::<FjallStore<false>>("fjall 3 (LSM tree), default settings"),
        peer::<FjallStore<true>>("fjall 3 with its data moved to disk tables after the fill"),
        peer::<RedbStore>("redb 4 (copy-on-write B-tree), one transaction per write"),
    ]
}
// ANCHOR_END: subjects
