//! The tables, sorted into levels.
//!
//! A flush adds a table to level 0, whose tables may overlap: each holds
//! whatever keys one memtable held. Compaction merges tables down into
//! the deeper levels, where the tables of one level never overlap: each
//! key can be in at most one table per level. A read therefore asks
//! every table of level 0 (newest first), then at most one table in each
//! deeper level, found by a binary search on the tables' key ranges: the
//! number of tables a read may consult is bounded by the number of level-0
//! tables compaction allows plus the number of deeper levels.
//!
//! Age runs downwards: for any key, an entry in a shallower level is newer
//! than one in a deeper level, and in level 0 a later table is newer than
//! an earlier one. Compaction keeps this true by always merging a key's
//! entries down together, never past one another.

use std::path::Path;

use ch00_contract::{Error, KeyRange, Result};
use ch05_sparse_index::Lookup;

use crate::ranges::Tombstone;
use crate::tables::{LiveTable, Upper};

// ANCHOR: constants
/// Levels 0 to 6, as LevelDB: with each level ten times the one above,
/// six deeper levels hold more than a store of this book ever will.
pub const MAX_LEVELS: usize = 7;
// ANCHOR_END: constants

/// The tables of a store, level by level.
#[derive(Debug)]
pub struct Levels {
    /// `MAX_LEVELS` lists: level 0's tables oldest first, a deeper level's
    /// in key order.
    levels: Vec<Vec<LiveTable>>,
}

impl Default for Levels {
    fn default() -> Self {
        Levels {
            levels: (0..MAX_LEVELS).map(|_| Vec::new()).collect(),
        }
    }
}

impl Levels {
    /// The tables `levels` names, checked: every table of a deeper level
    /// holds keys, and its keys come after the previous table's. A store
    /// whose tables break that would answer reads wrongly: it is damage
    /// (named after `manifest`, the file that put them there).
    pub fn new(levels: Vec<Vec<LiveTable>>, manifest: &Path) -> Result<Levels> {
        if levels.len() > MAX_LEVELS {
            return Err(Error::corruption(
                manifest,
                0,
                format!("at most {MAX_LEVELS} levels"),
                format!("{}", levels.len()),
            ));
        }
        let mut checked = Levels::default();
        for (level, tables) in levels.into_iter().enumerate().take(MAX_LEVELS) {
            if level > 0 {
                let mut before: Option<Upper<'_>> = None;
                for table in &tables {
                    let (Some(first), Some(upper)) = (table.lower(), table.upper()) else {
                        return Err(Error::corruption(
                            manifest,
                            0,
                            format!("tables holding keys in level {level}"),
                            format!("table {} is empty", table.number()),
                        ));
                    };
                    if before.is_some_and(|b| !b.below(first)) {
                        return Err(Error::corruption(
                            manifest,
                            0,
                            format!("the tables of level {level} in key order, not overlapping"),
                            format!("table {} overlaps the table before it", table.number()),
                        ));
                    }
                    before = Some(upper);
                }
            }
            checked.levels[level] = tables;
        }
        Ok(checked)
    }

    /// The tables of `level`.
    pub fn level(&self, level: usize) -> &[LiveTable] {
        &self.levels[level]
    }

    /// Every table, level by level.
    pub fn iter(&self) -> impl Iterator<Item = &LiveTable> {
        self.levels.iter().flatten()
    }

    /// The tables' numbers, level by level, for the manifest.
    pub fn numbers(&self) -> Vec<Vec<u64>> {
        self.levels
            .iter()
            .map(|tables| tables.iter().map(LiveTable::number).collect())
            .collect()
    }

    /// Bytes of the files of `level`.
    pub fn level_bytes(&self, level: usize) -> u64 {
        self.levels[level]
            .iter()
            .map(|t| t.table().file_len())
            .sum()
    }

    // ANCHOR: find
    /// The one table of deeper `level` whose extent holds `key`, if any: a
    /// binary search for the first table that does not end below it. (A
    /// table's extent is its keys and its range tombstones.)
    pub fn find(&self, level: usize, key: &[u8]) -> Option<&LiveTable> {
        // ANCHOR: todo_levels_find Binary search for the first table of the level that does not end below the key; it holds the key if it does not start after it.
        let tables = &self.levels[level];
        let i = tables.partition_point(|t| t.upper().is_none_or(|u| u.below(key)));
        tables
            .get(i)
            .filter(|t| t.lower().is_some_and(|lower| lower <= key))
        // ANCHOR_END: todo_levels_find
    }
    // ANCHOR_END: find

    // ANCHOR: get
    /// What the tables hold for `key`: level 0 newest first, then each
    /// deeper level's one candidate; the first table that knows the key
    /// answers. Also the number of tables asked.
    pub fn get(&self, key: &[u8]) -> Result<(Lookup, u32)> {
        // ANCHOR: todo_levels_get Level 0 newest first, then each deeper level's one table (find); the first that knows the key answers, and a range tombstone that covers it is Deleted.
        let mut asked = 0;
        let deeper = (1..MAX_LEVELS).filter_map(|level| self.find(level, key));
        for table in self.levels[0].iter().rev().chain(deeper) {
            asked += 1;
            match table.get(key)? {
                // A range tombstone of this table hides older tables' keys.
                Lookup::Absent if table.covers(key) => return Ok((Lookup::Deleted, asked)),
                Lookup::Absent => {}
                found => return Ok((found, asked)),
            }
        }
        Ok((Lookup::Absent, asked))
        // ANCHOR_END: todo_levels_get
    }
    // ANCHOR_END: get

    /// Whether a table of `level` or deeper may hold `key` (its range and
    /// filter say so), answered without a read: a tombstone written above
    /// them must stay while one may.
    pub fn may_contain_from(&self, level: usize, key: &[u8]) -> bool {
        if level == 0 && self.levels[0].iter().any(|t| t.may_contain(key)) {
            return true;
        }
        (level.max(1)..MAX_LEVELS).any(|l| self.find(l, key).is_some_and(|t| t.may_contain(key)))
    }

    /// The tables of deeper `level` whose extents meet the extent from
    /// `first` to `upper`: a run of consecutive tables, as indexes.
    pub fn overlapping(
        &self,
        level: usize,
        first: &[u8],
        upper: Upper<'_>,
    ) -> std::ops::Range<usize> {
        let tables = &self.levels[level];
        let start = tables.partition_point(|t| t.upper().is_none_or(|u| u.below(first)));
        let end = tables.partition_point(|t| t.lower().is_none_or(|l| !upper.below(l)));
        start..end.max(start)
    }

    /// Whether a table of `level` or deeper has a key or a range
    /// tombstone that `tombstone` may delete: while one has, the range
    /// tombstone must be kept.
    pub fn meets_from(&self, level: usize, tombstone: &Tombstone) -> bool {
        let first = tombstone.start.as_slice();
        let upper = match &tombstone.end {
            Some(end) => Upper::Excluded(end),
            None => Upper::Unbounded,
        };
        (level..MAX_LEVELS).any(|l| {
            if l == 0 {
                let meets = |t: &&LiveTable| match (t.lower(), t.upper()) {
                    (Some(lower), Some(u)) => !u.below(first) && !upper.below(lower),
                    _ => false,
                };
                self.levels[0].iter().any(|t| meets(&t))
            } else {
                !self.overlapping(l, first, upper).is_empty()
            }
        })
    }

    /// The tables of `level` whose extents may meet `range`, in the order
    /// a read takes them: one whose range tombstones alone meet it counts,
    /// since they hide older keys of the range.
    pub fn in_range(&self, level: usize, range: &KeyRange) -> Vec<&LiveTable> {
        if range.is_empty() {
            return Vec::new();
        }
        self.levels[level]
            .iter()
            .filter(|t| match (t.lower(), t.upper()) {
                (Some(lower), Some(upper)) => {
                    !range.is_past_end(lower)
                        && match upper {
                            Upper::Included(last) => !range.is_before_start(last),
                            Upper::Excluded(end) => match &range.start {
                                std::ops::Bound::Included(s) => end > s.as_slice(),
                                std::ops::Bound::Excluded(s) => {
                                    end > s.as_slice() && end != [s.as_slice(), &[0]].concat()
                                }
                                std::ops::Bound::Unbounded => true,
                            },
                            Upper::Unbounded => true,
                        }
                }
                _ => false,
            })
            .collect()
    }

    /// Adds a flushed table to level 0, as its newest.
    pub fn push_level0(&mut self, table: LiveTable) {
        self.levels[0].push(table);
    }

    /// Takes the tables `numbers` (in any level) out of the levels.
    pub fn take(&mut self, numbers: &[u64]) -> Vec<LiveTable> {
        let mut taken = Vec::new();
        for tables in &mut self.levels {
            let (out, kept): (Vec<LiveTable>, Vec<LiveTable>) = std::mem::take(tables)
                .into_iter()
                .partition(|t| numbers.contains(&t.number()));
            *tables = kept;
            taken.extend(out);
        }
        taken
    }

    /// Adds `tables` to deeper `level`, which stays in key order (the
    /// caller has made sure they overlap none of its tables).
    pub fn insert(&mut self, level: usize, tables: Vec<LiveTable>) {
        let level = &mut self.levels[level];
        level.extend(tables);
        level.sort_by(key_order);
    }

    /// The numbers of deeper `level` once the tables `gone` have left it
    /// and `added` have joined it, in the order [`Levels::insert`] keeps:
    /// what the manifest names before the store adopts the new shape.
    pub fn numbers_after<'a>(
        &'a self,
        level: usize,
        gone: &[u64],
        added: impl IntoIterator<Item = &'a LiveTable>,
    ) -> Vec<u64> {
        let mut tables: Vec<&LiveTable> = self.levels[level]
            .iter()
            .filter(|t| !gone.contains(&t.number()))
            .chain(added)
            .collect();
        tables.sort_by(|a, b| key_order(a, b));
        tables.iter().map(|t| t.number()).collect()
    }
}

/// The order of a deeper level: by where each table's extent starts, range
/// tombstones included. (Not by first key: a table may hold only range
/// tombstones, and no key; ordered by its first key it came first in the
/// manifest, and the next open refused the level.)
fn key_order(a: &LiveTable, b: &LiveTable) -> std::cmp::Ordering {
    a.lower().cmp(&b.lower())
}
