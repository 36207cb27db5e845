//! A streaming k-way merge: many sorted sources, newest first, into one
//! sorted stream where each key appears once, with its newest entry.
//!
//! Each source (the memtable, then every table from newest to oldest) is
//! sorted and holds a key at most once. The merge keeps each source's next
//! entry in a binary heap ordered by key, and by age for equal keys, so
//! the smallest key comes out first, from the newest source that has it;
//! the older sources' entries for that key are skipped. The merge holds
//! one entry per source (and each table's cursor the blocks it read, up to
//! 64 KiB), however long the scan.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use ch00_contract::{KeyValue, Result};

use crate::ranges::Tombstones;

/// An entry as the sources give it: a key and a value, or `None` for a
/// tombstone.
pub type Entry = (Vec<u8>, Option<Vec<u8>>);

/// A source of entries in ascending key order.
pub type Source<'a> = Box<dyn Iterator<Item = Result<Entry>> + 'a>;

// ANCHOR: head
/// A source's next entry, in the heap.
struct Head {
    key: Vec<u8>,
    value: Option<Vec<u8>>,
    /// The source's place in the list: 0 is the newest.
    source: usize,
}

/// `BinaryHeap` pops its greatest element; this order makes the greatest
/// the smallest key, and among equal keys the newest source.
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .key
            .cmp(&self.key)
            .then_with(|| other.source.cmp(&self.source))
    }
}
// ANCHOR_END: head

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

// ANCHOR: merge
/// The merge of `sources` (newest first): every key once, with the entry of
/// the newest source that has it, tombstones included.
pub struct MergedEntries<'a> {
    sources: Vec<Source<'a>>,
    heap: BinaryHeap<Head>,
    /// The heap is filled from every source on the first call.
    started: bool,
    /// An error ended the merge.
    done: bool,
    /// Each source's range tombstones (a deeper level's source has one
    /// set per table): they hide the keys of the sources after it.
    ranges: Vec<Vec<&'a Tombstones>>,
}

impl<'a> MergedEntries<'a> {
    /// A merge of `sources`, the newest first.
    pub fn new(sources: Vec<Source<'a>>) -> Self {
        MergedEntries::with_ranges(sources, Vec::new())
    }

    // ANCHOR: with_ranges
    /// A merge of `sources`, the newest first, where `ranges[i]` are the
    /// range tombstones of source `i`: a key whose newest entry comes from
    /// a source after `i` and that they cover is left out, as deleted.
    pub fn with_ranges(sources: Vec<Source<'a>>, ranges: Vec<Vec<&'a Tombstones>>) -> Self {
        MergedEntries {
            sources,
            heap: BinaryHeap::new(),
            started: false,
            done: false,
            ranges,
        }
    }

    /// Whether a range tombstone of a source newer than `source` covers
    /// `key`.
    fn hidden(&self, key: &[u8], source: usize) -> bool {
        // ANCHOR: todo_merge_hidden Whether a range tombstone of a newer source than this one covers the key.
        self.ranges
            .iter()
            .take(source)
            .flatten()
            .any(|set| set.covers(key))
        // ANCHOR_END: todo_merge_hidden
    }
    // ANCHOR_END: with_ranges

    /// Moves source `i` on to its next entry, into the heap.
    fn pull(&mut self, i: usize) -> Result<()> {
        if let Some(entry) = self.sources[i].next() {
            let (key, value) = entry?;
            self.heap.push(Head {
                key,
                value,
                source: i,
            });
        }
        Ok(())
    }

    fn advance(&mut self) -> Result<Option<Entry>> {
        // ANCHOR: todo_merge_advance Pop the smallest key from the heap (newest source first on a tie), skip its older copies, pull the next from each source used.
        if !self.started {
            self.started = true;
            for i in 0..self.sources.len() {
                self.pull(i)?;
            }
        }
        loop {
            let Some(newest) = self.heap.pop() else {
                return Ok(None);
            };
            self.pull(newest.source)?;
            // Older entries for the same key are hidden by this one.
            while self.heap.peek().is_some_and(|h| h.key == newest.key) {
                if let Some(older) = self.heap.pop() {
                    self.pull(older.source)?;
                }
            }
            // And this one by a newer source's range tombstone, if any.
            if !self.hidden(&newest.key, newest.source) {
                return Ok(Some((newest.key, newest.value)));
            }
        }
        // ANCHOR_END: todo_merge_advance
    }
}

impl Iterator for MergedEntries<'_> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.advance();
        if next.is_err() {
            self.done = true;
        }
        next.transpose()
    }
}
// ANCHOR_END: merge

// ANCHOR: live
/// The merge's values, tombstones dropped: what a scan returns.
pub fn live<'a>(merged: MergedEntries<'a>) -> impl Iterator<Item = Result<KeyValue>> + 'a {
    merged.filter_map(|entry| match entry {
        Ok((key, Some(value))) => Some(Ok((key, value))),
        Ok((_, None)) => None,
        Err(e) => Some(Err(e)),
    })
}
// ANCHOR_END: live

#[cfg(test)]
mod tests {
    use super::*;

    fn source(entries: &[(&str, Option<&str>)]) -> Source<'static> {
        let owned: Vec<Result<Entry>> = entries
            .iter()
            .map(|(k, v)| Ok((k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec()))))
            .collect();
        Box::new(owned.into_iter())
    }

    #[test]
    fn the_newest_source_wins_and_each_key_comes_once() {
        let merged = MergedEntries::new(vec![
            source(&[("b", None), ("c", Some("new"))]),
            source(&[("a", Some("1")), ("b", Some("old")), ("c", Some("old"))]),
            source(&[("b", Some("oldest")), ("d", Some("4"))]),
        ]);
        let got: Vec<Entry> = merged.map(Result::unwrap).collect();
        let want: Vec<Entry> = vec![
            (b"a".to_vec(), Some(b"1".to_vec())),
            (b"b".to_vec(), None),
            (b"c".to_vec(), Some(b"new".to_vec())),
            (b"d".to_vec(), Some(b"4".to_vec())),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn tombstones_leave_the_live_stream() {
        let merged = MergedEntries::new(vec![
            source(&[("a", None)]),
            source(&[("a", Some("1")), ("b", Some("2"))]),
        ]);
        let keys: Vec<Vec<u8>> = live(merged).map(|e| e.unwrap().0).collect();
        assert_eq!(keys, vec![b"b".to_vec()]);
    }
}
