//! Range deletes: one range tombstone however many keys it covers, hiding
//! older data and never newer, in reads, scans, flushes, compactions and
//! reopens, and dropped by compaction only at the bottom.

// Test code: a failed operation should stop the test loudly.
#![allow(clippy::unwrap_used)]

use ch00_contract::{KeyRange, KvStore};
use ch06_lsm::levels::MAX_LEVELS;
use ch06_lsm::{LsmStore, Options};

fn key(i: u32) -> Vec<u8> {
    format!("k{i:05}").into_bytes()
}

fn keys(store: &LsmStore) -> Vec<Vec<u8>> {
    store
        .scan(KeyRange::all())
        .unwrap()
        .map(|p| p.unwrap().0)
        .collect()
}

fn range_tombstones(store: &LsmStore) -> usize {
    store.levels().iter().map(|t| t.ranges().len()).sum()
}

fn options() -> Options {
    Options {
        memtable_bytes: 4 << 10,
        block_size: 256,
        level_base_bytes: 16 << 10,
        table_target_bytes: 4 << 10,
        ..Options::default()
    }
}

// ANCHOR: one_entry
/// Deleting ten thousand keys writes one log record of a few dozen bytes,
/// and hides every key, before and after a flush, a reopen and a full
/// compaction, which leaves neither the keys nor the tombstone.
#[test]
fn a_range_delete_costs_one_entry_however_many_keys_it_covers() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LsmStore::open_with(dir.path(), &options()).unwrap();
    for i in 0..10_000 {
        store.set(&key(i), b"some value").unwrap();
    }
    store.set(b"z", b"outside").unwrap();
    let written = |s: &LsmStore| s.metrics().bytes_written.unwrap();
    let before = written(&store);
    store
        .delete_range(KeyRange::new(&b"k"[..]..&b"l"[..]))
        .unwrap();
    let cost = written(&store) - before;
    assert!(cost < 64, "{cost} bytes written for one range delete");
    assert_eq!(keys(&store), [b"z".to_vec()]);
    assert_eq!(store.get(&key(1234)).unwrap(), None);

    store.flush().unwrap();
    assert_eq!(keys(&store), [b"z".to_vec()]);
    drop(store);
    let mut store = LsmStore::open_with(dir.path(), &options()).unwrap();
    assert_eq!(keys(&store), [b"z".to_vec()]);
    assert_eq!(store.get(&key(0)).unwrap(), None);
    assert!(range_tombstones(&store) >= 1);

    store.compact_all().unwrap();
    assert_eq!(keys(&store), [b"z".to_vec()]);
    assert_eq!(range_tombstones(&store), 0, "dropped at the bottom");
    let entries: u64 = store.levels().iter().map(|t| t.table().len()).sum();
    assert_eq!(entries, 1, "only z is left in the tables");
}
// ANCHOR_END: one_entry

// ANCHOR: newer_wins
/// A range tombstone hides what was written before it, never what comes
/// after: in the memtable, in tables, and after every kind of compaction.
#[test]
fn a_range_tombstone_hides_older_data_and_never_newer() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        auto_compaction: false,
        ..options()
    };
    let mut store = LsmStore::open_with(dir.path(), &options).unwrap();
    for k in ["a", "c", "d", "e", "g"] {
        store.set(k.as_bytes(), b"old").unwrap();
    }
    store.flush().unwrap();
    store.compact_level(0).unwrap();
    store.set(b"e", b"in the memtable").unwrap();
    store
        .delete_range(KeyRange::new(&b"b"[..]..=&b"e"[..]))
        .unwrap();
    store.set(b"d", b"new").unwrap();
    let expect = |store: &LsmStore, what: &str| {
        let got: Vec<_> = store
            .scan(KeyRange::all())
            .unwrap()
            .map(|p| p.unwrap())
            .collect();
        let want: Vec<(Vec<u8>, Vec<u8>)> = [("a", "old"), ("d", "new"), ("g", "old")]
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect();
        assert_eq!(got, want, "{what}");
        assert_eq!(store.get(b"c").unwrap(), None, "{what}");
        assert_eq!(store.get(b"e").unwrap(), None, "{what}");
        assert_eq!(store.get(b"d").unwrap(), Some(b"new".to_vec()), "{what}");
    };
    expect(&store, "in the memtable");
    store.flush().unwrap();
    expect(&store, "flushed to level 0");
    drop(store);
    let mut store = LsmStore::open_with(dir.path(), &options).unwrap();
    expect(&store, "reopened");
    store.compact_level(0).unwrap();
    expect(&store, "merged into level 1");
    store.set(b"c", b"again").unwrap();
    store.flush().unwrap();
    store.compact_all().unwrap();
    assert_eq!(store.get(b"c").unwrap(), Some(b"again".to_vec()));
    assert_eq!(store.get(b"e").unwrap(), None);
}
// ANCHOR_END: newer_wins

// ANCHOR: bottom
/// A range tombstone merged into level 1 while level 2 holds keys it hides
/// is kept; merged into level 2, the bottom, it goes, and the keys too.
#[test]
fn a_range_tombstone_is_dropped_only_at_the_bottom() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        auto_compaction: false,
        ..options()
    };
    let mut store = LsmStore::open_with(dir.path(), &options).unwrap();
    for i in 0..100 {
        store.set(&key(i), b"v").unwrap();
    }
    store.flush().unwrap();
    store.compact_level(0).unwrap();
    store.compact_level(1).unwrap();
    assert!(!store.levels().level(2).is_empty());
    // A table in level 1 around the range, so that the tombstone is merged
    // into level 1, not moved there whole.
    store.set(&key(5), b"w").unwrap();
    store.set(&key(25), b"w").unwrap();
    store.flush().unwrap();
    store.compact_level(0).unwrap();

    store.delete_range(KeyRange::new(key(10)..key(20))).unwrap();
    store.flush().unwrap();
    let compactions = store.compactions();
    store.compact_level(0).unwrap();
    assert_eq!(store.compactions(), compactions + 1);
    assert_eq!(store.levels().level(1).len(), 1, "merged into one table");
    assert_eq!(range_tombstones(&store), 1, "kept: level 2 holds its keys");
    assert_eq!(store.get(&key(15)).unwrap(), None);
    assert_eq!(keys(&store).len(), 90);

    while store.compact_level(1).unwrap() {}
    assert!((1..MAX_LEVELS - 1).all(|l| l == 2 || store.levels().level(l).is_empty()));
    assert_eq!(range_tombstones(&store), 0, "dropped at the bottom");
    assert_eq!(keys(&store).len(), 90);
    let entries: u64 = store.levels().iter().map(|t| t.table().len()).sum();
    assert_eq!(entries, 90, "the hidden keys went with it");
}
// ANCHOR_END: bottom

/// A range that nothing older can hold is not written to a table at all,
/// and empty or reversed ranges write nothing.
#[test]
fn a_range_delete_over_nothing_writes_no_tombstone_to_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LsmStore::open_with(dir.path(), &options()).unwrap();
    let written = |s: &LsmStore| s.metrics().bytes_written.unwrap();
    let before = written(&store);
    store
        .delete_range(KeyRange::new(&b"b"[..]..&b"a"[..]))
        .unwrap();
    store
        .delete_range(KeyRange::new(&b"b"[..]..&b"b"[..]))
        .unwrap();
    assert_eq!(written(&store), before);
    store
        .delete_range(KeyRange::new(&b"a"[..]..&b"b"[..]))
        .unwrap();
    store.set(b"x", b"1").unwrap();
    store.flush().unwrap();
    assert_eq!(range_tombstones(&store), 0);
    assert_eq!(keys(&store), [b"x".to_vec()]);
}
