//! What a crash costs: the writes since the last flush, and nothing else.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::fs;

use ch00_contract::{KvStore, Stage};
use ch02_fsdb::atomic;
use ch03_sorted_file::{FILE_NAME, SortedFileStore};

// ANCHOR: crash_test
#[test]
fn a_crash_loses_the_unflushed_writes_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SortedFileStore::open(dir.path()).unwrap();
    store.set(b"flushed", b"1").unwrap();
    store.set(b"changed", b"before").unwrap();
    store.flush().unwrap();
    store.set(b"unflushed", b"2").unwrap();
    store.set(b"changed", b"after").unwrap();
    store.delete(b"flushed").unwrap();
    // The process dies: no destructor, no flush.
    store.simulate_crash();

    let store = SortedFileStore::open(dir.path()).unwrap();
    assert_eq!(store.get(b"flushed").unwrap(), Some(b"1".to_vec()));
    assert_eq!(store.get(b"changed").unwrap(), Some(b"before".to_vec()));
    assert_eq!(store.get(b"unflushed").unwrap(), None);
}
// ANCHOR_END: crash_test

#[test]
fn a_crash_during_flush_leaves_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SortedFileStore::open(dir.path()).unwrap();
    store.set(b"k", b"old").unwrap();
    store.flush().unwrap();
    drop(store);
    // A flush that died before its rename: half a new file beside the old.
    let path = dir.path().join(FILE_NAME);
    let partial = fs::read(&path).unwrap();
    atomic::write_file(&atomic::temp_path(&path), &partial[..partial.len() / 2]).unwrap();

    let store = SortedFileStore::open(dir.path()).unwrap();
    assert_eq!(store.get(b"k").unwrap(), Some(b"old".to_vec()));
    assert!(!atomic::temp_path(&path).exists());
}

#[test]
fn a_flush_without_changes_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SortedFileStore::open(dir.path()).unwrap();
    store.set(b"k", b"v").unwrap();
    store.flush().unwrap();
    let written = store.metrics().bytes_written;
    store.flush().unwrap();
    assert_eq!(store.metrics().bytes_written, written);
}

// ANCHOR: rewrite_test
#[test]
fn every_flush_rewrites_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SortedFileStore::open(dir.path()).unwrap();
    for i in 0..1000u32 {
        store
            .set(format!("key-{i:04}").as_bytes(), &[0; 100])
            .unwrap();
    }
    store.flush().unwrap();
    let file_len = fs::metadata(dir.path().join(FILE_NAME)).unwrap().len();
    let before = store.metrics().bytes_written.unwrap();
    // One key changed: the whole file is written again.
    store.set(b"key-0500", &[1; 100]).unwrap();
    store.flush().unwrap();
    assert_eq!(store.metrics().bytes_written.unwrap() - before, file_len);
}
// ANCHOR_END: rewrite_test
