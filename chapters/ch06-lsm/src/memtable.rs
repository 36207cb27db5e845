//! The memtable: the newest writes, sorted, in memory.
//!
//! Every write lands here after its log record is written. A delete is an
//! entry too, a *tombstone* (`None`): the key may still have a value in a
//! table on disk, and the tombstone must hide it from reads until nothing
//! older can hold the key.

use std::collections::BTreeMap;
use std::ops::Bound;

use ch00_contract::KeyRange;
use ch05_sparse_index::block::entry_len;

use crate::ranges::{Tombstone, Tombstones};

// ANCHOR: memtable
/// Sorted writes not yet in a table: a value, or `None` for a delete.
#[derive(Debug, Default)]
pub struct Memtable {
    entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Bytes of every write applied since the memtable was new, overwrites
    /// included: about what its log holds (a log that takes over a
    /// memtable holds only its live entries, less), so that bounding it
    /// bounds the log that a reopen replays.
    size: u64,
    /// Range deletes: they hide the tables' keys, not the memtable's (a
    /// range delete removes the memtable's own entries in its range).
    ranges: Tombstones,
}

impl Memtable {
    /// Applies one write: a value, or a tombstone (`None`).
    pub fn apply(&mut self, key: &[u8], value: Option<&[u8]>) {
        // ANCHOR: todo_memtable_apply Add the entry's encoded length to the size (an overwrite counts again), then insert the key with its value, or None for a tombstone.
        self.size += entry_len(key, value) as u64;
        self.entries.insert(key.to_vec(), value.map(<[u8]>::to_vec));
        // ANCHOR_END: todo_memtable_apply
    }

    // ANCHOR: apply_range
    /// Applies a range delete: the memtable's entries in its range go, and
    /// the tombstone stays, to hide the tables' keys in it.
    pub fn apply_range(&mut self, tombstone: Tombstone) {
        self.size += tombstone.encoded_len() as u64;
        let end = match &tombstone.end {
            Some(end) => Bound::Excluded(end.as_slice()),
            None => Bound::Unbounded,
        };
        let doomed: Vec<Vec<u8>> = self
            .entries
            .range::<[u8], _>((Bound::Included(tombstone.start.as_slice()), end))
            .map(|(k, _)| k.clone())
            .collect();
        for key in doomed {
            self.entries.remove(&key);
        }
        self.ranges.add(tombstone);
    }
    // ANCHOR_END: apply_range

    /// Whether a range delete hides `key` in the tables.
    pub fn covers(&self, key: &[u8]) -> bool {
        self.ranges.covers(key)
    }

    /// The range deletes, merged, in key order.
    pub fn ranges(&self) -> &Tombstones {
        &self.ranges
    }

    /// What the memtable knows about `key`: `None` if nothing, `Some(None)`
    /// for a tombstone, `Some(Some(value))` for a value.
    pub fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        // ANCHOR: todo_memtable_get None if the memtable knows nothing of the key; Some(None) for a tombstone; Some(Some(value)) for a value.
        self.entries.get(key).map(Option::as_deref)
        // ANCHOR_END: todo_memtable_get
    }
    // ANCHOR_END: memtable

    /// The entries of `range` in key order, tombstones included.
    pub fn range<'a>(
        &'a self,
        range: &KeyRange,
    ) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        // ANCHOR: todo_iter_memtable_range The entries of the range in key order, tombstones included; an empty range gives nothing.
        // `BTreeMap::range` panics on a reversed range; an empty range
        // yields nothing instead (`[""]..[""]` is empty and allowed).
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = if range.is_empty() {
            (Bound::Included(&[][..]), Bound::Excluded(&[][..]))
        } else {
            (
                range.start.as_ref().map(Vec::as_slice),
                range.end.as_ref().map(Vec::as_slice),
            )
        };
        self.entries
            .range::<[u8], _>(bounds)
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
        // ANCHOR_END: todo_iter_memtable_range
    }

    /// Every entry, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
        self.entries
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
    }

    /// Bytes of the writes applied (see the field).
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Keys held, tombstones included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no write has been applied.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tombstone_is_an_entry_and_the_size_counts_overwrites() {
        let mut m = Memtable::default();
        m.apply(b"a", Some(b"1"));
        m.apply(b"a", Some(b"2"));
        m.apply(b"b", None);
        assert_eq!(m.get(b"a"), Some(Some(&b"2"[..])));
        assert_eq!(m.get(b"b"), Some(None));
        assert_eq!(m.get(b"c"), None);
        assert_eq!(m.len(), 2);
        assert_eq!(
            m.size(),
            (entry_len(b"a", Some(b"1")) * 2 + entry_len(b"b", None)) as u64
        );
    }

    #[test]
    fn an_empty_or_reversed_range_yields_nothing() {
        let mut m = Memtable::default();
        m.apply(b"a", Some(b"1"));
        m.apply(b"c", Some(b"3"));
        assert_eq!(m.range(&KeyRange::new(&b"c"[..]..&b"a"[..])).count(), 0);
        assert_eq!(m.range(&KeyRange::new(&b"a"[..]..&b"a"[..])).count(), 0);
        let keys: Vec<_> = m.range(&KeyRange::new(&b"b"[..]..)).map(|e| e.0).collect();
        assert_eq!(keys, [&b"c"[..]]);
    }
}
