//! Everything the harness measures: the book's stages and the peers.

use std::path::Path;

use ch00_contract::{Durability, KvStore, Result, Stage};

use crate::peers::{FjallStore, RawFsStore, RedbStore};
use crate::report::count;
use crate::workload::{Budget, Workload};

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

// The stages are measured as they are: no hooks. (A trait of this crate can
// be implemented for the stages' types here, so no wrapper is needed.)
impl Measured for ch01_memory::MemoryStore {}
impl Measured for ch02_fsdb::FsStore {}
impl Measured for ch03_sorted_file::SortedFileStore {}
impl Measured for ch04_footer_index::FooterIndexStore {}
impl Measured for ch05_sparse_index::SparseIndexStore {}
impl Measured for ch05_sparse_index::IndexOfIndexStore {}
impl Measured for ch06_lsm::LsmStore {}

/// One store the harness can measure.
#[derive(Clone)]
pub struct Subject {
    /// Name in tables and charts (the stage's `Stage::NAME`).
    pub name: &'static str,
    /// One line on what it is.
    pub description: &'static str,
    /// A stage of the book, or a peer it is compared with.
    pub is_peer: bool,
    /// What survives each kind of crash, with the options it runs with; an
    /// in-memory subject has nothing to reopen.
    pub durability: Durability,
    /// The largest N this subject is run at, and why, if it has a limit.
    pub limit: Option<(u64, &'static str)>,
    /// Why `sync-writes` means nothing for this subject, if it does not:
    /// its `sync` makes nothing durable that was not already.
    pub no_sync: Option<&'static str>,
    /// Workloads run only up to a size, each with the reason.
    pub workload_limits: Vec<(Workload, u64, &'static str)>,
    /// A stage with other settings, for a chapter's measurements: run only
    /// when named in `--subjects`, never in the default comparison.
    pub only_when_named: bool,
    /// At most this many point operations and short scans per
    /// measurement, if fewer than the run's budget.
    pub fewer_ops: Option<(u64, u64)>,
    open: fn(&Path) -> Result<Box<dyn Measured>>,
}

impl Subject {
    /// The run's budget, with this subject's caps applied.
    pub fn budget(&self, run: Budget) -> Budget {
        match self.fewer_ops {
            Some((point_ops, short_scans)) => Budget {
                point_ops: run.point_ops.min(point_ops),
                short_scans: run.short_scans.min(short_scans),
                ..run
            },
            None => run,
        }
    }

    /// The same subject, with at most `point_ops` point operations and
    /// `short_scans` short scans per measurement.
    pub fn fewer_ops(mut self, point_ops: u64, short_scans: u64) -> Self {
        self.fewer_ops = Some((point_ops, short_scans));
        self
    }

    /// Opens the subject's store in `dir`.
    pub fn open(&self, dir: &Path) -> Result<Box<dyn Measured>> {
        (self.open)(dir)
    }

    /// Why this subject is not run at size `n`, if it is not.
    pub fn skip_reason(&self, n: u64) -> Option<String> {
        match self.limit {
            Some((max, why)) if n > max => Some(format!("skipped above N = {}: {why}", count(max))),
            _ => None,
        }
    }

    /// Why workload `w` is not run on this subject at size `n`, if it is not.
    pub fn workload_skip(&self, w: Workload, n: u64) -> Option<String> {
        self.workload_limits
            .iter()
            .find(|(limited, max, _)| *limited == w && n > *max)
            .map(|(_, max, why)| match max {
                0 => format!("not run: {why}"),
                max => format!("skipped above N = {}: {why}", count(*max)),
            })
    }

    /// The same subject, running workload `w` only up to `max` keys.
    pub fn workload_up_to(mut self, w: Workload, max: u64, why: &'static str) -> Self {
        self.workload_limits.push((w, max, why));
        self
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

/// Opens `S` with its default options: what the harness measures.
fn open_default<S: Stage + Measured + 'static>(dir: &Path) -> Result<Box<dyn Measured>> {
    Ok(Box::new(S::open(dir)?))
}

/// A subject for stage `S`, with its default options.
pub fn stage<S: Stage + Measured + 'static>(description: &'static str) -> Subject {
    let durability = S::durability(&S::Options::default());
    Subject {
        name: S::NAME,
        description,
        is_peer: false,
        durability,
        limit: None,
        no_sync: (!durability.keeps_data()).then_some("an in-memory store has nothing to sync"),
        workload_limits: Vec::new(),
        only_when_named: false,
        fewer_ops: None,
        open: open_default::<S>,
    }
}

/// Chapter 5's block table with blocks of `B` bytes.
fn open_blocks<const B: usize>(dir: &Path) -> Result<Box<dyn Measured>> {
    let options = ch05_sparse_index::Options {
        block_size: B,
        ..Default::default()
    };
    Ok(Box::new(ch05_sparse_index::SparseIndexStore::open_with(
        dir, &options,
    )?))
}

/// Chapter 5's index of the index with every `N`th entry sampled.
fn open_sampled<const N: u32>(dir: &Path) -> Result<Box<dyn Measured>> {
    let options = ch05_sparse_index::IndexOfIndexOptions {
        interval: N,
        ..Default::default()
    };
    Ok(Box::new(ch05_sparse_index::IndexOfIndexStore::open_with(
        dir, &options,
    )?))
}

/// Chapter 6's store with its log synced after every write: the stage
/// whose writes all survive a power loss, one `fsync` each.
fn lsm_every_write() -> Subject {
    fn open(dir: &Path) -> Result<Box<dyn Measured>> {
        Ok(Box::new(ch06_lsm::LsmStore::open_with(
            dir,
            &every_write(),
        )?))
    }
    fn every_write() -> ch06_lsm::Options {
        ch06_lsm::Options {
            log_sync: ch06_lsm::LogSync::EveryWrite,
            ..Default::default()
        }
    }
    let mut subject = Subject {
        name: "ch06-lsm-every-write",
        durability: <ch06_lsm::LsmStore as Stage>::durability(&every_write()),
        open,
        ..stage::<ch06_lsm::LsmStore>("the same, with the log synced after every write")
    };
    // Its reads are ch06-lsm's, and its one-call-per-key writes cost an
    // fsync each: at 100k keys only the workloads that differ are run.
    for w in [
        Workload::FillSeq,
        Workload::FillRandom,
        Workload::GetUniform,
        Workload::GetZipf,
        Workload::GetMissing,
        Workload::ScanShort,
        Workload::ScanFull,
        Workload::Reopen,
        Workload::Overwrite,
        Workload::Mixed,
        Workload::Delete,
        Workload::OverwriteAll,
        Workload::DeleteMost,
    ] {
        subject = subject.workload_up_to(w, 10_000, EVERY_WRITE);
    }
    subject
}

/// Chapter 6 as part 1 left it: no compaction, so every flush adds a
/// table for good. Part 1's page reads its figures, which show what
/// compaction is for, beside the stage's.
fn open_no_compaction(dir: &Path) -> Result<Box<dyn Measured>> {
    let options = ch06_lsm::Options {
        auto_compaction: false,
        ..Default::default()
    };
    Ok(Box::new(ch06_lsm::LsmStore::open_with(dir, &options)?))
}

/// raw-fs with chapter 2's syncs: chapter 2's floor, like for like.
fn raw_fs_synced() -> Subject {
    let mut subject = peer::<RawFsStore<true>>(
        "the same with chapter 2's syncs: a temporary file, fsynced, renamed; the directory \
         synced on sync",
    )
    .up_to(100_000, MANY_FILES)
    .fewer_ops(FILE_OPS, FILE_SCANS)
    .workload_up_to(Workload::FillBatch, 10_000, DEFAULT_BATCHES)
    .workload_up_to(Workload::OverwriteAll, 10_000, REWRITE_FILES)
    .workload_up_to(Workload::DeleteMost, 10_000, REWRITE_FILES)
    .workload_up_to(Workload::Reopen, 0, NOTHING_TO_OPEN);
    // At 100k keys, the workloads where chapter 2's own design shows: a
    // file written, read, missed, rewritten or removed.
    for w in [
        Workload::FillSeq,
        Workload::GetZipf,
        Workload::ScanShort,
        Workload::ScanFull,
        Workload::Mixed,
        Workload::SyncWrites,
    ] {
        subject = subject.workload_up_to(w, 10_000, SYNCED_FLOOR);
    }
    subject
}

/// Why raw-fs-synced skips most workloads at 100k keys.
const SYNCED_FLOOR: &str = "a floor for chapter 2's writes and point reads: its scans and \
    mixes are raw-fs's, and each 100k-file workload costs minutes";

/// Why the every-write variant skips most workloads at 100k keys.
const EVERY_WRITE: &str = "an fsync per write makes a 100k-key run of every workload minutes \
    long; its reads are ch06-lsm's, and fill-batch and sync-writes show its writes";

/// A stage with other settings, named `name`: run only when
/// asked for by name.
fn setting<S: Stage + Measured + 'static>(
    name: &'static str,
    description: &'static str,
    open: fn(&Path) -> Result<Box<dyn Measured>>,
) -> Subject {
    Subject {
        name,
        only_when_named: true,
        open,
        ..stage::<S>(description)
    }
}

fn peer<S: Stage + Measured + 'static>(description: &'static str) -> Subject {
    Subject {
        is_peer: true,
        ..stage::<S>(description)
    }
}

/// Why the one-file-per-key subjects stop at 100k keys.
const MANY_FILES: &str = "one file per key; a million files take many minutes to write";

/// Why they stop rewriting or deleting most of their files at 10k keys.
const REWRITE_FILES: &str = "one file per key: an untimed fill of 100k files for every \
    repetition, then 300k files rewritten or 90k removed, takes many minutes";

/// Point operations and short scans per measurement for the one-file-per-key
/// subjects, a tenth of the standard budget: each of their operations is a
/// file system call or several (a create, an fsync, a rename), slow enough
/// that a tenth as many still gives a steady rate, and the time goes to
/// the subjects whose figures need it.
const FILE_OPS: u64 = 2_000;
const FILE_SCANS: u64 = 50;

/// Why the raw file system floors are not reopened: a ratio against an
/// open that costs nothing says nothing.
const NOTHING_TO_OPEN: &str = "its open reads nothing: the files are the store";

/// Why they make no batched fill of 100k files.
const DEFAULT_BATCHES: &str = "its `write` sets one key at a time, the work of fill-random, \
    and a third fill of 100k files costs minutes";

// ANCHOR: subjects
/// Every subject, stages first in book order, then the peers.
/// A new chapter adds its stage here in one line (and one line above, to
/// say it needs no hooks).
pub fn all() -> Vec<Subject> {
    vec![
        stage::<ch01_memory::MemoryStore>("BTreeMap in memory: the ceiling"),
        stage::<ch02_fsdb::FsStore>("one JSON file per key, hashed names")
            .up_to(100_000, MANY_FILES)
            .fewer_ops(FILE_OPS, FILE_SCANS)
            .workload_up_to(Workload::FillBatch, 10_000, DEFAULT_BATCHES)
            .workload_up_to(Workload::OverwriteAll, 10_000, REWRITE_FILES)
            .workload_up_to(Workload::DeleteMost, 10_000, REWRITE_FILES),
        stage::<ch03_sorted_file::SortedFileStore>("a sorted map saved whole to one file"),
        stage::<ch04_footer_index::FooterIndexStore>("sorted records, a full index, a footer"),
        stage::<ch05_sparse_index::SparseIndexStore>(
            "blocks of records, one index entry per block",
        ),
        stage::<ch05_sparse_index::IndexOfIndexStore>(
            "chapter 4's table and every 16th index entry in memory",
        ),
        stage::<ch06_lsm::LsmStore>(
            "memtable and write-ahead log over block tables; the log synced on sync",
        ),
        lsm_every_write(),
        // Chapter 6 without compaction, for its pages (only when named).
        setting::<ch06_lsm::LsmStore>(
            "ch06-no-compaction",
            "chapter 6 without compaction (part 1): every flush adds a table for good",
            open_no_compaction,
        ),
        // Chapter 5's settings, measured for its page (only when named).
        setting::<ch05_sparse_index::SparseIndexStore>(
            "ch05-block-256",
            "block table, 256-byte blocks",
            open_blocks::<256>,
        ),
        setting::<ch05_sparse_index::SparseIndexStore>(
            "ch05-block-1k",
            "block table, 1 KiB blocks",
            open_blocks::<1024>,
        ),
        setting::<ch05_sparse_index::SparseIndexStore>(
            "ch05-block-16k",
            "block table, 16 KiB blocks",
            open_blocks::<16384>,
        ),
        setting::<ch05_sparse_index::SparseIndexStore>(
            "ch05-block-64k",
            "block table, 64 KiB blocks",
            open_blocks::<65536>,
        ),
        setting::<ch05_sparse_index::IndexOfIndexStore>(
            "ch05-sample-4",
            "index of the index, every 4th entry",
            open_sampled::<4>,
        ),
        setting::<ch05_sparse_index::IndexOfIndexStore>(
            "ch05-sample-64",
            "index of the index, every 64th entry",
            open_sampled::<64>,
        ),
        peer::<RawFsStore>("one file per key with plain std::fs: the floor of chapter 2")
            .up_to(100_000, MANY_FILES)
            .fewer_ops(FILE_OPS, FILE_SCANS)
            .workload_up_to(Workload::FillBatch, 10_000, DEFAULT_BATCHES)
            .workload_up_to(Workload::OverwriteAll, 10_000, REWRITE_FILES)
            .workload_up_to(Workload::DeleteMost, 10_000, REWRITE_FILES)
            .workload_up_to(Workload::Reopen, 0, NOTHING_TO_OPEN)
            .without_sync("it never calls fsync: the floor has none of chapter 2's safety"),
        raw_fs_synced(),
        peer::<FjallStore<false>>("fjall 3 (LSM tree), default settings"),
        peer::<FjallStore<true>>("fjall 3 with its data moved to disk tables after the fill"),
        peer::<RedbStore>("redb 4 (copy-on-write B-tree), one transaction per write"),
    ]
}
// ANCHOR_END: subjects

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_file_per_key_subjects_make_fewer_operations() {
        let run = Budget::standard();
        for subject in all() {
            let b = subject.budget(run);
            let files = ["ch02-fsdb", "raw-fs", "raw-fs-synced"].contains(&subject.name);
            let expected = if files {
                (FILE_OPS, FILE_SCANS)
            } else {
                (run.point_ops, run.short_scans)
            };
            assert_eq!((b.point_ops, b.short_scans), expected, "{}", subject.name);
            assert_eq!(b.sync_writes, run.sync_writes, "{}", subject.name);
        }
        // A smaller budget (a --quick run) stays smaller: caps never add work.
        let quick = Budget {
            point_ops: 10,
            short_scans: 1,
            ..run
        };
        let ch02 = all().into_iter().find(|s| s.name == "ch02-fsdb").unwrap();
        assert_eq!(ch02.budget(quick).point_ops, 10);
        assert_eq!(ch02.budget(quick).short_scans, 1);
    }
}
