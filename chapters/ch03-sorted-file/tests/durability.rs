//! What a crash costs: the writes since the last sync, and nothing else.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use ch00_contract::{KvStore, Stage};
use ch03_sorted_file::{FILE_NAME, SortedFileStore};

mod support;

// ANCHOR: crash_test
#[test]
fn a_crash_loses_the_unsynced_writes_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SortedFileStore::open(dir.path()).unwrap();
    store.set(b"synced", b"1").unwrap();
    store.set(b"changed", b"before").unwrap();
    store.sync().unwrap();
    store.set(b"unsynced", b"2").unwrap();
    store.set(b"changed", b"after").unwrap();
    store.delete(b"synced").unwrap();
    // The process dies: no destructor, no sync.
    store.simulate_crash();

    let store = SortedFileStore::open(dir.path()).unwrap();
    assert_eq!(store.get(b"synced").unwrap(), Some(b"1".to_vec()));
    assert_eq!(store.get(b"changed").unwrap(), Some(b"before".to_vec()));
    assert_eq!(store.get(b"unsynced").unwrap(), None);
}
// ANCHOR_END: crash_test

#[test]
fn a_crash_during_sync_leaves_the_previous_file() {
    support::a_crash_during_sync_leaves_the_previous_file::<SortedFileStore>(FILE_NAME);
}

#[test]
fn a_sync_without_changes_writes_nothing() {
    support::a_sync_without_changes_writes_nothing::<SortedFileStore>(|_| {});
}

// ANCHOR: rewrite_test
#[test]
fn every_sync_rewrites_the_whole_file() {
    // 1000 keys synced, then one of them changed and synced again: the
    // whole file is written again.
    let change = support::one_change_synced::<SortedFileStore>(FILE_NAME);
    assert_eq!(change.written, change.file_len);
}
// ANCHOR_END: rewrite_test
