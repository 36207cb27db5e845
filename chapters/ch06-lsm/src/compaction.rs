//! Compaction: merging tables down a level.
//!
//! Level 0 fills with one table per flush, and a read asks each of them.
//! When level 0 holds `l0_compaction_trigger` tables, they are merged,
//! with the tables of level 1 whose keys they overlap, into new tables of
//! level 1. When a deeper level's files pass its size target (level 1's
//! is `level_base_bytes`, each level below `level_size_ratio` times the
//! one above), one of its tables is merged with the tables it overlaps in
//! the level below. This is *leveled* compaction, as in LevelDB: each
//! level holds tables that do not overlap, so a read asks at most one
//! table per level, and a key's old entries are rewritten away within a
//! few compactions, at the price of rewriting each byte about
//! `level_size_ratio` times per level it passes.
//!
//! A compaction is a merge of sorted sources, newest first, like a scan:
//! each key once, its newest entry kept. A tombstone is kept while a table
//! below the output level may hold its key, and dropped otherwise: nothing
//! older is left for it to hide. The outputs are split at a target size,
//! so that a later compaction rewrites a part of a level, not all of it.
//!
//! Everything here is decided from the store's state alone (no timers,
//! no threads): the same operations give the same tables, which the tests
//! rely on.

use std::iter::Peekable;
use std::path::Path;

use ch00_contract::{KeyRange, Result};
use disk::Disk;

use crate::files::table_path;
use crate::levels::{Levels, MAX_LEVELS};
use crate::merge::{Entry, MergedEntries, Source};
use crate::ranges::Tombstones;
use crate::tables::{self, LiveTable, Upper};

// ANCHOR: job
/// A compaction: the tables of `level` to merge into `level + 1`, with
/// the tables of `level + 1` they overlap.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    /// The level the inputs come from.
    pub level: usize,
    /// The inputs' numbers in `level`: level 0's oldest first.
    pub inputs: Vec<u64>,
    /// The numbers of the tables of `level + 1` the inputs overlap, in key
    /// order.
    pub next: Vec<u64>,
}
// ANCHOR_END: job

impl Job {
    /// A job that moves one table down without rewriting it: nothing in
    /// the level below overlaps it, so only the manifest changes.
    pub fn is_move(&self) -> bool {
        self.inputs.len() == 1 && self.next.is_empty()
    }
}

/// When compaction is due: the shape the store keeps its levels in.
#[derive(Clone, Copy, Debug)]
pub struct Targets {
    /// Level 0 is compacted when it holds this many tables.
    pub l0_tables: usize,
    /// Level 1's size target, in bytes of table files.
    pub level_base_bytes: u64,
    /// Each deeper level's target is this many times the one above.
    pub level_size_ratio: u64,
}

impl Targets {
    /// How far `level` is over its target: 1 or more means it is due.
    /// The last level has no level below it and is never due.
    pub fn score(&self, levels: &Levels, level: usize) -> f64 {
        if level + 1 >= MAX_LEVELS {
            return 0.0;
        }
        if level == 0 {
            return levels.level(0).len() as f64 / self.l0_tables.max(1) as f64;
        }
        let ratio = self.level_size_ratio.max(2);
        let target = (1..level).fold(self.level_base_bytes.max(1), |t, _| t.saturating_mul(ratio));
        levels.level_bytes(level) as f64 / target as f64
    }
}

// ANCHOR: pick
/// The compaction due, if any: the level furthest over its target.
pub fn pick(levels: &Levels, targets: &Targets, pointers: &[Vec<u8>]) -> Option<Job> {
    // ANCHOR: todo_compaction_pick The level furthest over its target, with a score of 1 or more, and its job (job_for).
    let (level, score) = (0..MAX_LEVELS)
        .map(|level| (level, targets.score(levels, level)))
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    if score < 1.0 {
        return None;
    }
    job_for(
        levels,
        level,
        pointers.get(level).map_or(&[], Vec::as_slice),
    )
    // ANCHOR_END: todo_compaction_pick
}

/// The compaction of `level` into the level below, due or not; `None` if
/// the level is empty or the last. Level 0's tables go down together
/// (they overlap one another); a deeper level gives one table, the first
/// after `pointer`, the last key the level's previous compaction took,
/// so that successive compactions go round the level's key space.
pub fn job_for(levels: &Levels, level: usize, pointer: &[u8]) -> Option<Job> {
    // ANCHOR: todo_compaction_job_for Level 0: all its tables; deeper: the first table after the pointer (wrapping). Add the tables of the level below they overlap.
    if level + 1 >= MAX_LEVELS || levels.level(level).is_empty() {
        return None;
    }
    let tables = levels.level(level);
    let inputs: Vec<&LiveTable> = if level == 0 {
        tables.iter().collect()
    } else {
        let after = tables
            .iter()
            .position(|t| t.lower().is_some_and(|f| f > pointer));
        vec![&tables[after.unwrap_or(0)]]
    };
    let first = inputs.iter().filter_map(|t| t.lower()).min()?;
    let upper = inputs.iter().filter_map(|t| t.upper()).reduce(Upper::max)?;
    let next = levels.overlapping(level + 1, first, upper);
    Some(Job {
        level,
        inputs: inputs.iter().map(|t| t.number()).collect(),
        next: levels.level(level + 1)[next]
            .iter()
            .map(LiveTable::number)
            .collect(),
    })
    // ANCHOR_END: todo_compaction_job_for
}
// ANCHOR_END: pick

/// Where and how the outputs are written.
#[derive(Clone, Copy, Debug)]
pub struct Output<'a> {
    /// The file system.
    pub disk: &'a Disk,
    /// The store's directory.
    pub dir: &'a Path,
    /// The tables' block size.
    pub block_size: usize,
    /// Bloom filter bits per key.
    pub bloom_bits_per_key: u32,
    /// A table is closed once its data passes this many bytes.
    pub table_bytes: u64,
}

// ANCHOR: run
/// Runs `job`: merges its tables, newest first, into new tables of the
/// level below, numbered from `next_file` on. A tombstone is written only
/// while a table under the output level may hold its key. Each output is
/// written and synced whole; on failure the outputs written so far are
/// removed, and nothing else has changed.
pub fn run(
    job: &Job,
    levels: &Levels,
    output: &Output<'_>,
    next_file: &mut u64,
) -> Result<Vec<LiveTable>> {
    // ANCHOR: todo_compaction_run Merge the inputs newest first, drop what is shadowed, keep a tombstone only while a deeper table may hold its key; write new tables.
    let all = KeyRange::all();
    let level = |l: usize, numbers: &[u64]| -> Vec<&LiveTable> {
        levels
            .level(l)
            .iter()
            .filter(|t| numbers.contains(&t.number()))
            .collect()
    };
    // Newest first: level 0's latest table, ..., then the level below.
    let tables: Vec<&LiveTable> = level(job.level, &job.inputs)
        .into_iter()
        .rev()
        .chain(level(job.level + 1, &job.next))
        .collect();
    let sources: Vec<Source<'_>> = tables
        .iter()
        .map(|t| Box::new(t.table().entries(&all)) as Source<'_>)
        .collect();
    let ranges = tables.iter().map(|t| vec![t.ranges()]).collect();
    let below = job.level + 2;
    // A range tombstone stays while a level below the output may hold a
    // key it hides; all of them, merged: each hides only data older than
    // the output, whichever input it came from.
    let mut kept = Tombstones::default();
    for t in tables.iter().flat_map(|t| t.ranges().iter()) {
        if levels.meets_from(below, t) {
            kept.add(t.clone());
        }
    }
    let mut entries = MergedEntries::with_ranges(sources, ranges)
        .filter(|entry| match entry {
            Ok((key, None)) => levels.may_contain_from(below, key),
            _ => true,
        })
        .peekable();
    let mut written = Vec::new();
    let result = write_outputs(&mut entries, &mut kept, output, next_file, &mut written);
    if result.is_err() {
        for table in &written {
            let _ = output.disk.remove_file(table.table().file().path());
        }
    }
    result.map(|()| written)
    // ANCHOR_END: todo_compaction_run
}

fn write_outputs(
    entries: &mut Peekable<impl Iterator<Item = Result<Entry>>>,
    ranges: &mut Tombstones,
    output: &Output<'_>,
    next_file: &mut u64,
    written: &mut Vec<LiveTable>,
) -> Result<()> {
    while entries.peek().is_some() || !ranges.is_empty() {
        let number = *next_file;
        *next_file = number.checked_add(1).ok_or_else(|| {
            ch00_contract::Error::InvalidInput("the store has run out of file numbers".into())
        })?;
        let path = table_path(output.dir, number);
        let table = tables::write(
            output.disk,
            &path,
            number,
            output.block_size,
            output.bloom_bits_per_key,
            entries,
            ranges,
            output.table_bytes,
        );
        match table {
            Ok(Some(table)) => written.push(table),
            Ok(None) => {}
            Err(e) => {
                let _ = output.disk.remove_file(&path);
                return Err(e);
            }
        }
    }
    Ok(())
}
// ANCHOR_END: run
