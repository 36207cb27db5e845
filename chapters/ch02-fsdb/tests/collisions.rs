//! Collisions for real: the store opened with a 4-bit hash, so that the
//! keys of every test share 16 names, passes the whole conformance suite,
//! and keys known to collide are stored and read back.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use ch00_contract::{KeyRange, KvStore};
use ch02_fsdb::hash::key_hash;
use ch02_fsdb::layout::Slot;
use ch02_fsdb::{FsStore, Options, SyncMode};

// ANCHOR: suite
// File names from 4 bits of the hash (one name in 16), and every write's
// directory synced, so that mode is run through the suite too. A second
// configuration of a stage whose default one runs 256 cases in
// `conformance.rs`: half as many here keep the test time in bounds.
ch00_contract::conformance_tests!(
    FsStore,
    options = Options {
        hash_bits: 4,
        sync: SyncMode::EveryWrite,
        ..Options::default()
    },
    cases = 128
);
// ANCHOR_END: suite

// The same narrow names on the simulated disk, with renames synced only
// on `sync`: a delete that moves a colliding key into the hole must not
// lose either key when the power fails.
// And with every write's directory synced: the promise is then that every
// write survives a power loss as soon as its call returns.
mod narrow_names_every_write {
    use super::*;

    ch00_contract::power_loss_tests!(
        FsStore,
        options = Options {
            hash_bits: 4,
            sync: SyncMode::EveryWrite,
            ..Options::default()
        },
        cases = 64
    );
}

mod narrow_names_on_sync {
    use super::*;

    ch00_contract::power_loss_tests!(
        FsStore,
        options = Options {
            hash_bits: 4,
            ..Options::default()
        },
        cases = 64
    );
}

/// The first `count` keys `key-0`, `key-1`, ... whose 8-bit hashes equal
/// that of `key-0`: keys that truly collide, found by search.
fn colliding_keys(bits: u32, count: usize) -> Vec<Vec<u8>> {
    let target = key_hash(b"key-0", bits);
    (0..)
        .map(|i| format!("key-{i}").into_bytes())
        .filter(|k| key_hash(k, bits) == target)
        .take(count)
        .collect()
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = walkdir::WalkDir::new(dir)
        .min_depth(2)
        .into_iter()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ANCHOR: collision_test
#[test]
fn colliding_keys_are_all_kept() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        hash_bits: 8,
        ..Options::default()
    };
    let mut store = FsStore::open_with(dir.path(), &options).unwrap();
    let keys = colliding_keys(8, 4);
    // Truly colliding: four different keys, one 8-bit hash.
    let hash = key_hash(&keys[0], 8);
    assert!(keys.iter().all(|k| key_hash(k, 8) == hash));
    for (i, key) in keys.iter().enumerate() {
        store.set(key, format!("value {i}").as_bytes()).unwrap();
    }
    let first = Slot { hash, index: 0 }.file_name();
    let stem = first.trim_end_matches(".json");
    let mut expected = vec![
        first.clone(),
        format!("{stem}.1.json"),
        format!("{stem}.2.json"),
        format!("{stem}.3.json"),
    ];
    expected.sort();
    assert_eq!(files_under(dir.path()), expected);
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(
            store.get(key).unwrap(),
            Some(format!("value {i}").into_bytes())
        );
    }

    // Deleting the first moves the last into its slot: no gap, all readable.
    store.delete(&keys[0]).unwrap();
    assert_eq!(files_under(dir.path()).len(), 3);
    assert_eq!(store.get(&keys[0]).unwrap(), None);
    for (i, key) in keys.iter().enumerate().skip(1) {
        assert_eq!(
            store.get(key).unwrap(),
            Some(format!("value {i}").into_bytes())
        );
    }
    // ... and the keys are still there, in order, after a reopen.
    drop(store);
    let store = FsStore::open_with(dir.path(), &options).unwrap();
    let mut expected: Vec<Vec<u8>> = keys[1..].to_vec();
    expected.sort();
    let scanned: Vec<Vec<u8>> = store
        .scan(KeyRange::all())
        .unwrap()
        .map(|e| e.unwrap().0)
        .collect();
    assert_eq!(scanned, expected);
}
// ANCHOR_END: collision_test

#[test]
fn a_store_cannot_be_reopened_with_another_hash_width() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store.set(b"k", b"v").unwrap();
    drop(store);
    let narrow = Options {
        hash_bits: 8,
        ..Options::default()
    };
    let err = FsStore::open_with(dir.path(), &narrow).unwrap_err();
    assert!(err.to_string().contains("64-bit hashes"), "{err}");
    let too_wide = Options {
        hash_bits: 65,
        ..Options::default()
    };
    assert!(FsStore::open_with(dir.path(), &too_wide).is_err());
}

#[test]
fn every_key_in_one_chain_still_works() {
    // A zero-bit hash: every key has the same name.
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        hash_bits: 0,
        ..Options::default()
    };
    let mut store = FsStore::open_with(dir.path(), &options).unwrap();
    for i in 0..20u8 {
        store.set(&[i], &[i, i]).unwrap();
    }
    for i in (0..20u8).step_by(3) {
        store.delete(&[i]).unwrap();
    }
    for i in 0..20u8 {
        let expected = (i % 3 != 0).then(|| vec![i, i]);
        assert_eq!(store.get(&[i]).unwrap(), expected, "key {i}");
    }
    assert_eq!(store.len().unwrap(), 13);
}
