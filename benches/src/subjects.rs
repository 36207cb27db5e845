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
    /// The largest N it is run at when the sizes were not asked for (the
    /// default run, which should take minutes), and why, if lower.
    pub default_limit: Option<(u64, &'static str)>,
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
    /// At most this many writes per measurement of `sync-writes`, if fewer
    /// than the run's budget.
    pub fewer_syncs: Option<u64>,
    open: fn(&Path) -> Result<Box<dyn Measured>>,
}

impl Subject {
    /// The run's budget, with this subject's caps applied.
    pub fn budget(&self, run: Budget) -> Budget {
        let mut b = run;
        if let Some((point_ops, short_scans)) = self.fewer_ops {
            b.point_ops = b.point_ops.min(point_ops);
            b.short_scans = b.short_scans.min(short_scans);
        }
        if let Some(syncs) = self.fewer_syncs {
            b.sync_writes = b.sync_writes.min(syncs);
        }
        b
    }

    /// The same subject, with at most `point_ops` point operations and
    /// `short_scans` short scans per measurement.
    pub fn fewer_ops(mut self, point_ops: u64, short_scans: u64) -> Self {
        self.fewer_ops = Some((point_ops, short_scans));
        self
    }

    /// The same subject, with at most `syncs` writes per measurement of
    /// `sync-writes`.
    pub fn fewer_syncs(mut self, syncs: u64) -> Self {
        self.fewer_syncs = Some(syncs);
        self
    }

    /// Opens the subject's store in `dir`.
    pub fn open(&self, dir: &Path) -> Result<Box<dyn Measured>> {
        (self.open)(dir)
    }

    /// Why this subject is not run at size `n`, if it is not; `asked` says
    /// whether the run's sizes were asked for (`--sizes`, `--scale`) rather
    /// than the default's.
    pub fn skip_reason(&self, n: u64, asked: bool) -> Option<String> {
        match (self.limit, self.default_limit) {
            (Some((max, why)), _) if n > max => {
                Some(format!("skipped above N = {}: {why}", count(max)))
            }
            (_, Some((max, why))) if n > max && !asked => Some(format!(
                "skipped above N = {} in the default run: {why}",
                count(max)
            )),
            _ => None,
        }
    }

    /// Whether this subject can be run at any size (no hard limit): the
    /// subjects of a `--scale` run.
    pub fn scales(&self) -> bool {
        self.limit.is_none()
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

    /// The same subject, run only up to `max` keys unless the sizes are
    /// asked for.
    pub fn by_default_up_to(mut self, max: u64, why: &'static str) -> Self {
        self.default_limit = Some((max, why));
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
        default_limit: None,
        no_sync: (!durability.keeps_data()).then_some("an in-memory store has nothing to sync"),
        workload_limits: Vec::new(),
        only_when_named: false,
        fewer_ops: None,
        fewer_syncs: None,
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
    // fsync each: above 10k keys only the workloads that differ are run,
    // and above 1k keys no second fill in key order and none of the
    // workloads that need a fresh store, filled a key and an fsync at a
    // time, for every repetition.
    for w in [
        Workload::FillSeq,
        Workload::OverwriteAll,
        Workload::DeleteMost,
    ] {
        subject = subject.workload_up_to(w, 1_000, EVERY_WRITE_OWN);
    }
    for w in [
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
    ] {
        subject = subject.workload_up_to(w, 10_000, EVERY_WRITE);
    }
    subject.fewer_ops(SYNCED_OPS, Budget::standard().short_scans)
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
    let mut subject = one_file_per_key(peer::<RawFsStore<true>>(
        "the same with chapter 2's syncs: a temporary file, fsynced, renamed; the directory \
         synced on sync",
    ))
    .workload_up_to(Workload::Reopen, 0, NOTHING_TO_OPEN);
    // Asked for at 100k keys, the workloads where chapter 2's own design
    // shows: a file written, read, missed, rewritten or removed.
    for w in [
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

/// The limits of a subject that keeps one file per key: every operation
/// is a file system call or several, so its figures come from fewer
/// operations, from one fill above 1k keys, and, in the default run, from
/// sizes up to 10k keys.
fn one_file_per_key(subject: Subject) -> Subject {
    subject
        .up_to(100_000, MANY_FILES)
        .by_default_up_to(10_000, DEFAULT_FILES)
        .fewer_ops(FILE_OPS, FILE_SCANS)
        .workload_up_to(Workload::FillSeq, 1_000, ONE_FILL)
        .workload_up_to(Workload::FillBatch, 1_000, ONE_FILL)
        .workload_up_to(Workload::OverwriteAll, 1_000, REWRITE_FILES)
        .workload_up_to(Workload::DeleteMost, 1_000, REWRITE_FILES)
}

/// Why raw-fs-synced skips most workloads at 100k keys.
const SYNCED_FLOOR: &str = "a floor for chapter 2's writes and point reads: its scans and \
    mixes are raw-fs's, and each 100k-file workload costs minutes";

/// Why the every-write variant skips most workloads at 100k keys.
const EVERY_WRITE: &str = "an fsync per write makes a 100k-key run of every workload minutes \
    long; its reads are ch06-lsm's, and fill-batch and sync-writes show its writes";

/// Why the every-write variant makes no second fill, `overwrite-all` or
/// `delete-most` above 1k keys.
const EVERY_WRITE_OWN: &str = "an fsync per write: fill-random shows its fills, and a fresh \
    store filled key by key for every repetition costs seconds";

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

/// Why the default run stops them at 10k keys.
const DEFAULT_FILES: &str = "one file per key: at 100k keys each fill and full scan costs \
    a minute; `--sizes 100k` runs it";

/// Why they make one fill above 1k keys.
const ONE_FILL: &str = "one file per key: the random fill, which every other workload \
    runs on, is the one kept; another fill of as many files repeats its work at the cost \
    of seconds or minutes";

/// Why they stop rewriting or deleting most of their files above 1k keys.
const REWRITE_FILES: &str = "one file per key: an untimed fill of N files for every \
    repetition, then 3N files rewritten or 0.9N removed, takes minutes";

/// Point operations and short scans per measurement for the one-file-per-key
/// subjects, a tenth of the standard budget: each of their operations is a
/// file system call or several (a create, an fsync, a rename), slow enough
/// that a tenth as many still gives a steady rate, and the time goes to
/// the subjects whose figures need it.
const FILE_OPS: u64 = 2_000;
const FILE_SCANS: u64 = 50;

/// Point operations per measurement for chapter 6 with its log synced
/// after every write: each write is an fsync.
const SYNCED_OPS: u64 = 2_000;

/// Writes per measurement of `sync-writes` for the stages whose every sync
/// rewrites the whole file (chapters 3 to 5): at 100k keys each is 10 MB
/// written and synced, so a tenth of the standard budget is seconds.
const WHOLE_FILE_SYNCS: u64 = 20;

/// Why the raw file system floors are not reopened: a ratio against an
/// open that costs nothing says nothing.
const NOTHING_TO_OPEN: &str = "its open reads nothing: the files are the store";

// ANCHOR: subjects
/// Every subject, stages first in book order, then the peers.
/// A new chapter adds its stage here in one line (and one line above, to
/// say it needs no hooks).
pub fn all() -> Vec<Subject> {
    vec![
        stage::<ch01_memory::MemoryStore>("BTreeMap in memory: the ceiling"),
        one_file_per_key(stage::<ch02_fsdb::FsStore>(
            "one JSON file per key, hashed names",
        )),
        stage::<ch03_sorted_file::SortedFileStore>("a sorted map saved whole to one file")
            .fewer_syncs(WHOLE_FILE_SYNCS),
        stage::<ch04_footer_index::FooterIndexStore>("sorted records, a full index, a footer")
            .fewer_syncs(WHOLE_FILE_SYNCS),
        stage::<ch05_sparse_index::SparseIndexStore>(
            "blocks of records, one index entry per block",
        )
        .fewer_syncs(WHOLE_FILE_SYNCS),
        stage::<ch05_sparse_index::IndexOfIndexStore>(
            "chapter 4's table and every 16th index entry in memory",
        )
        .fewer_syncs(WHOLE_FILE_SYNCS),
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
        one_file_per_key(peer::<RawFsStore>(
            "one file per key with plain std::fs: the floor of chapter 2",
        ))
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
    fn the_slow_subjects_make_fewer_operations() {
        let run = Budget::standard();
        for subject in all() {
            let b = subject.budget(run);
            let files = ["ch02-fsdb", "raw-fs", "raw-fs-synced"].contains(&subject.name);
            let expected = if files {
                (FILE_OPS, FILE_SCANS)
            } else if subject.name == "ch06-lsm-every-write" {
                (SYNCED_OPS, run.short_scans)
            } else {
                (run.point_ops, run.short_scans)
            };
            assert_eq!((b.point_ops, b.short_scans), expected, "{}", subject.name);
            let whole_file = [
                "ch03-sorted-file",
                "ch04-footer-index",
                "ch05-sparse-index",
                "ch05-index-of-index",
            ]
            .contains(&subject.name);
            let syncs = if whole_file {
                WHOLE_FILE_SYNCS
            } else {
                run.sync_writes
            };
            assert_eq!(b.sync_writes, syncs, "{}", subject.name);
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

    #[test]
    fn the_default_run_stops_the_file_per_key_subjects_at_10k() {
        let ch02 = all().into_iter().find(|s| s.name == "ch02-fsdb").unwrap();
        assert!(ch02.skip_reason(10_000, false).is_none());
        let why = ch02.skip_reason(100_000, false).expect("not by default");
        assert!(why.contains("--sizes 100k"), "{why}");
        // Asked for, it runs at 100k; never at a million.
        assert!(ch02.skip_reason(100_000, true).is_none());
        assert!(ch02.skip_reason(1_000_000, true).is_some());
        assert!(!ch02.scales());
        let ch06 = all().into_iter().find(|s| s.name == "ch06-lsm").unwrap();
        assert!(ch06.skip_reason(1_000_000, false).is_none() && ch06.scales());
    }
}
