//! Compaction: random operations with compactions forced between them,
//! checked against a `BTreeMap`; the bound on the tables a read asks after
//! a long random workload; tombstones kept while older data lies below and
//! dropped at the bottom; the space a full compaction gives back.

// Test code: a failed operation should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use ch00_contract::{KeyRange, KvStore};
use ch06_lsm::levels::MAX_LEVELS;
use ch06_lsm::{LsmStore, Options};
use proptest::prelude::*;

/// Tables and levels of a few hundred bytes: a few dozen writes reach
/// level 3.
fn small() -> Options {
    Options {
        memtable_bytes: 128,
        block_size: 64,
        l0_compaction_trigger: 2,
        level_base_bytes: 512,
        level_size_ratio: 4,
        table_target_bytes: 256,
        ..Options::default()
    }
}

fn key(i: u64) -> Vec<u8> {
    format!("k{i:05}").into_bytes()
}

// ANCHOR: bound
/// The most tables a get asks: level 0 is compacted when a flush brings it
/// to `l0_compaction_trigger` tables, so at most one fewer are left after
/// any call returns; each deeper level's tables do not overlap, so at most
/// one of each is asked.
fn tables_per_get_bound(options: &Options) -> u32 {
    (options.l0_compaction_trigger - 1) as u32 + (MAX_LEVELS - 1) as u32
}

/// Checks the shape the bound rests on, and the bound itself for `keys`.
fn check_shape(store: &LsmStore, options: &Options, keys: impl Iterator<Item = Vec<u8>>) {
    let levels = store.levels();
    assert!(
        levels.level(0).len() < options.l0_compaction_trigger,
        "{} tables in level 0 after a call returned",
        levels.level(0).len()
    );
    for level in 1..MAX_LEVELS {
        for pair in levels.level(level).windows(2) {
            // By extent, range tombstones included: a table may hold only
            // range tombstones, and no key at all.
            let (left, right) = (pair[0].upper(), pair[1].lower());
            assert!(
                matches!((left, right), (Some(l), Some(r)) if l.below(r)),
                "level {level}: tables {} and {} overlap or are out of order",
                pair[0].number(),
                pair[1].number()
            );
        }
    }
    let bound = tables_per_get_bound(options);
    for key in keys {
        let (_, asked) = levels.get(&key).unwrap();
        assert!(asked <= bound, "a get asked {asked} tables, over {bound}");
    }
}
// ANCHOR_END: bound

#[derive(Clone, Debug)]
enum Op {
    Set(u64, usize),
    Delete(u64),
    DeleteRange(u64, u64),
    Get(u64),
    Scan(u64, u64),
    Flush,
    CompactLevel(usize),
    CompactAll,
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    let k = 0u64..48;
    prop_oneof![
        12 => (k.clone(), 0usize..40).prop_map(|(k, n)| Op::Set(k, n)),
        4 => k.clone().prop_map(Op::Delete),
        1 => (k.clone(), k.clone()).prop_map(|(a, b)| Op::DeleteRange(a, b)),
        4 => k.clone().prop_map(Op::Get),
        2 => (k.clone(), k).prop_map(|(a, b)| Op::Scan(a, b)),
        1 => Just(Op::Flush),
        2 => (0usize..4).prop_map(Op::CompactLevel),
        1 => Just(Op::CompactAll),
        1 => Just(Op::Reopen),
    ]
}

/// A value that tells which write made it, of `len` bytes or more.
fn value(step: usize, len: usize) -> Vec<u8> {
    let mut v = format!("v{step}-").into_bytes();
    v.resize(v.len() + len, b'x');
    v
}

fn run(ops: &[Op], auto_compaction: bool) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        auto_compaction,
        ..small()
    };
    let mut store = LsmStore::open_with(dir.path(), &options).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for (step, op) in ops.iter().enumerate() {
        match op {
            Op::Set(k, n) => {
                let v = value(step, *n);
                store.set(&key(*k), &v).unwrap();
                model.insert(key(*k), v);
            }
            Op::Delete(k) => {
                store.delete(&key(*k)).unwrap();
                model.remove(&key(*k));
            }
            Op::DeleteRange(a, b) => {
                let (a, b) = (a.min(b), a.max(b));
                let range = KeyRange::new(key(*a)..key(*b));
                store.delete_range(range).unwrap();
                model.retain(|k, _| !(key(*a) <= *k && *k < key(*b)));
            }
            Op::Get(k) => {
                prop_assert_eq!(store.get(&key(*k)).unwrap(), model.get(&key(*k)).cloned());
            }
            Op::Scan(a, b) => {
                let (a, b) = (a.min(b), a.max(b));
                let got: Vec<_> = store
                    .scan(KeyRange::new(key(*a)..=key(*b)))
                    .unwrap()
                    .collect::<ch00_contract::Result<_>>()
                    .unwrap();
                let want: Vec<_> = model
                    .range(key(*a)..=key(*b))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                prop_assert_eq!(got, want, "step {}: {:?}", step, op);
            }
            Op::Flush => store.flush().unwrap(),
            Op::CompactLevel(level) => {
                store.compact_level(*level).unwrap();
            }
            Op::CompactAll => {
                store.compact_all().unwrap();
                // Everything is in one level, and no tombstone is left.
                let levels = store.levels();
                let filled = (0..MAX_LEVELS).filter(|&l| !levels.level(l).is_empty());
                prop_assert!(filled.count() <= 1);
                prop_assert_eq!(tombstones(&store), 0);
            }
            Op::Reopen => {
                drop(store);
                store = LsmStore::open_with(dir.path(), &options).unwrap();
            }
        }
        if auto_compaction {
            check_shape(&store, &options, (0..48).map(key));
        }
    }
    // The whole store, at the end and after one more reopen.
    for _ in 0..2 {
        let got: Vec<_> = store
            .scan(KeyRange::all())
            .unwrap()
            .collect::<ch00_contract::Result<_>>()
            .unwrap();
        let want: Vec<_> = model.clone().into_iter().collect();
        prop_assert_eq!(got, want);
        drop(store);
        store = LsmStore::open_with(dir.path(), &options).unwrap();
    }
    Ok(())
}

/// Tombstones in the tables of the store.
fn tombstones(store: &LsmStore) -> usize {
    store
        .levels()
        .iter()
        .flat_map(|t| t.table().entries(&KeyRange::all()))
        .filter(|entry| entry.as_ref().unwrap().1.is_none())
        .count()
}

// ANCHOR: model
proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Compactions forced by hand between random operations, with
    /// automatic compaction on and off: every read agrees with the model,
    /// and with it on, the shape that bounds a read holds after every call.
    #[test]
    fn forced_compactions_between_random_operations_match_a_btreemap(
        ops in proptest::collection::vec(op(), 1..300),
        auto in any::<bool>(),
    ) {
        run(&ops, auto)?;
    }
}
// ANCHOR_END: model

/// Many more tables than a memtable or two: level 1 reached, deeper levels
/// split into several tables, so that the non-overlap and the one-table-
/// per-level read are exercised.
#[test]
fn a_long_random_workload_keeps_the_tables_a_read_asks_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        memtable_bytes: 4 << 10,
        block_size: 256,
        level_base_bytes: 16 << 10,
        level_size_ratio: 4,
        table_target_bytes: 4 << 10,
        ..Options::default()
    };
    let mut store = LsmStore::open_with(dir.path(), &options).unwrap();
    let mut model = BTreeMap::new();
    let mut state = 7u64;
    let mut rng = move || {
        // SplitMix64.
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let keys = 4000;
    let mut max_asked = 0;
    for step in 0..40_000u64 {
        let k = key(rng() % keys);
        if rng() % 5 == 0 {
            store.delete(&k).unwrap();
            model.remove(&k);
        } else {
            let v = value(step as usize, (rng() % 64) as usize);
            store.set(&k, &v).unwrap();
            model.insert(k, v);
        }
        if step % 1000 == 999 {
            check_shape(&store, &options, (0..keys).step_by(7).map(key));
            for i in (0..keys).step_by(13) {
                let (_, asked) = store.levels().get(&key(i)).unwrap();
                max_asked = max_asked.max(asked);
                assert_eq!(store.get(&key(i)).unwrap(), model.get(&key(i)).cloned());
            }
        }
    }
    let levels = store.levels();
    let deepest = (0..MAX_LEVELS)
        .filter(|&l| !levels.level(l).is_empty())
        .max()
        .unwrap();
    println!(
        "{} flushes, {} compactions, deepest level {deepest}, at most {max_asked} tables asked \
         (bound {})",
        store.flushes(),
        store.compactions(),
        tables_per_get_bound(&options)
    );
    // The workload is meant to reach several levels, with several tables
    // in one: otherwise the bound was checked on a store too small to
    // break it.
    assert!(deepest >= 2, "deepest level {deepest}");
    assert!((1..MAX_LEVELS).any(|l| levels.level(l).len() >= 4));
    assert!(store.compactions() > 20);
}

fn table_bytes(store: &LsmStore) -> u64 {
    (0..MAX_LEVELS).map(|l| store.levels().level_bytes(l)).sum()
}

fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum()
}

// ANCHOR: gc_test
/// Overwritten values and deleted keys take room until a compaction
/// merges them away; a full compaction, having nothing below its output,
/// keeps no tombstone at all.
#[test]
fn a_full_compaction_drops_every_tombstone_and_overwritten_value() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        auto_compaction: false,
        ..small()
    };
    let mut store = LsmStore::open_with(dir.path(), &options).unwrap();
    for round in 0..4 {
        for i in 0..200 {
            store.set(&key(i), &value(round, 20)).unwrap();
        }
    }
    for i in (0..200).step_by(2) {
        store.delete(&key(i)).unwrap();
    }
    store.flush().unwrap();
    let before = table_bytes(&store);
    assert!(tombstones(&store) >= 100);

    store.compact_all().unwrap();
    assert_eq!(tombstones(&store), 0);
    let live: u64 = store
        .scan(KeyRange::all())
        .unwrap()
        .map(|p| p.unwrap())
        .map(|(k, v)| (k.len() + v.len()) as u64)
        .sum();
    let after = table_bytes(&store);
    println!("tables: {before} bytes before, {after} after; {live} live bytes");
    // Four versions of every key, and half of them deleted: an eighth of
    // the entries were live.
    assert!(after * 3 < before, "{after} bytes after, {before} before");
    // Nothing dead is left: the tables take exactly the room of a store
    // that was only ever given the live pairs.
    let fresh = tempfile::tempdir().unwrap();
    let mut only_live = LsmStore::open_with(fresh.path(), &options).unwrap();
    for i in (1..200).step_by(2) {
        only_live.set(&key(i), &value(3, 20)).unwrap();
    }
    only_live.compact_all().unwrap();
    assert_eq!(after, table_bytes(&only_live));
    assert_eq!(store.scan(KeyRange::all()).unwrap().count(), 100);
    // The removed tables are gone from the directory, not only unnamed.
    drop(store);
    assert!(dir_bytes(dir.path()) < after + 4096);
    let store = LsmStore::open_with(dir.path(), &options).unwrap();
    assert_eq!(store.get(&key(0)).unwrap(), None);
    assert_eq!(store.get(&key(1)).unwrap(), Some(value(3, 20)));
}
// ANCHOR_END: gc_test

// ANCHOR: tombstone_below
/// A tombstone compacted into level 1 while level 2 still holds the key
/// must stay: dropped, the older value below would come back. Only the
/// compaction into the bottom may drop it.
#[test]
fn a_tombstone_stays_while_a_deeper_level_holds_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        auto_compaction: false,
        ..small()
    };
    let mut store = LsmStore::open_with(dir.path(), &options).unwrap();
    store.set(b"k", b"old").unwrap();
    store.set(b"other", b"x").unwrap();
    store.flush().unwrap();
    store.compact_level(0).unwrap();
    store.compact_level(1).unwrap();
    assert_eq!(store.levels().level(2).len(), 1, "the value is in level 2");
    // A table in level 1 around the key, so that the tombstone is merged
    // into level 1, not moved there whole.
    store.set(b"a", b"x").unwrap();
    store.set(b"z", b"x").unwrap();
    store.flush().unwrap();
    store.compact_level(0).unwrap();

    store.delete(b"k").unwrap();
    store.flush().unwrap();
    let compactions = store.compactions();
    store.compact_level(0).unwrap();
    assert_eq!(store.compactions(), compactions + 1);
    assert_eq!(
        store.levels().level(1).len(),
        1,
        "the tombstone is in level 1"
    );
    assert_eq!(tombstones(&store), 1, "kept: level 2 holds the key");
    assert_eq!(store.get(b"k").unwrap(), None);
    drop(store);
    let mut store = LsmStore::open_with(dir.path(), &options).unwrap();
    assert_eq!(store.get(b"k").unwrap(), None);

    // Merged into level 2, the bottom: value and tombstone both go.
    store.compact_level(1).unwrap();
    assert!(store.levels().level(1).is_empty());
    assert_eq!(tombstones(&store), 0);
    assert_eq!(store.get(b"k").unwrap(), None);
    assert_eq!(store.get(b"other").unwrap(), Some(b"x".to_vec()));
}
// ANCHOR_END: tombstone_below

/// `compact_level` past the last level is refused, and an empty level is
/// no work.
#[test]
fn compact_level_refuses_a_level_that_does_not_exist() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LsmStore::open_with(dir.path(), &small()).unwrap();
    assert!(!store.compact_level(0).unwrap());
    assert!(!store.compact_level(MAX_LEVELS - 1).unwrap());
    let err = store.compact_level(MAX_LEVELS).unwrap_err();
    assert!(err.to_string().contains("there is no level 7"), "{err}");
}

/// A table may hold range tombstones and no key: a flush of a memtable
/// that holds only a range delete writes one, and a compaction moves it
/// down whole when nothing below overlaps it. Its place in the level is
/// where its range starts; ordered by its first key (it has none), it came
/// first in the manifest, and the next open refused the level as out of
/// order (found by the random test above, seed in its regressions file).
#[test]
fn a_table_of_range_tombstones_only_keeps_its_place_in_its_level() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        auto_compaction: false,
        ..small()
    };
    let mut store = LsmStore::open_with(dir.path(), &options).unwrap();
    // Key 36 in level 2, for the range delete to have something to hide
    // (else a flush drops it); key 30 in level 1.
    store.set(&key(36), b"old").unwrap();
    store.flush().unwrap();
    assert!(store.compact_level(0).unwrap());
    assert!(store.compact_level(1).unwrap());
    store.set(&key(30), b"v").unwrap();
    store.flush().unwrap();
    assert!(store.compact_level(0).unwrap());
    // The range delete, flushed alone, then moved down beside key 30.
    store.delete_range(KeyRange::new(key(34)..key(38))).unwrap();
    store.flush().unwrap();
    assert!(store.compact_level(0).unwrap());
    // Level 1: the table of key 30, then the range-only table.
    let lowers: Vec<Vec<u8>> = store
        .levels()
        .level(1)
        .iter()
        .map(|t| t.lower().unwrap().to_vec())
        .collect();
    assert_eq!(lowers, [key(30), key(34)]);
    drop(store);
    let store = LsmStore::open_with(dir.path(), &options).unwrap();
    assert_eq!(store.get(&key(30)).unwrap(), Some(b"v".to_vec()));
    assert_eq!(store.get(&key(36)).unwrap(), None);
    assert_eq!(store.levels().level(1).len(), 2);
}
