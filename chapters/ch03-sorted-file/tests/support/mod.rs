//! Test code that every store keeping its data in one file, replaced whole
//! on sync, shares: chapter 3's tests use it, and chapter 4's include this
//! file by path instead of copying it.

// Each test crate that includes this uses part of it.
#![allow(dead_code)]

use std::fs;

use ch00_contract::Stage;
use disk::{Disk, atomic};

/// Bytes as space-separated hex pairs, for annotated snapshots.
pub fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A sync that died before its rename leaves half a new file beside the
/// old one: the store must reopen with the old data and remove the half.
pub fn a_crash_during_sync_leaves_the_previous_file<S: Stage>(file_name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = S::open(dir.path()).unwrap();
    store.set(b"k", b"old").unwrap();
    store.sync().unwrap();
    drop(store);
    let path = dir.path().join(file_name);
    let partial = fs::read(&path).unwrap();
    atomic::write_file(
        &Disk::real(),
        &atomic::temp_path(&path),
        &partial[..partial.len() / 2],
    )
    .unwrap();

    let store = S::open(dir.path()).unwrap();
    assert_eq!(store.get(b"k").unwrap(), Some(b"old".to_vec()));
    assert!(!atomic::temp_path(&path).exists());
}

/// The file of a store given three keys, out of order, and synced: what
/// the annotated snapshots pin.
pub fn three_keys_file<S: Stage>(file_name: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let mut store = S::open(dir.path()).unwrap();
    store.set(b"cherry", b"dark red").unwrap();
    store.set(b"apple", b"red").unwrap();
    store.set(b"banana", b"").unwrap();
    store.sync().unwrap();
    fs::read(dir.path().join(file_name)).unwrap()
}

/// A sync after `no_change` (which must leave the data as it is) writes
/// nothing.
pub fn a_sync_without_changes_writes_nothing<S: Stage>(no_change: impl FnOnce(&mut S)) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = S::open(dir.path()).unwrap();
    store.set(b"k", b"v").unwrap();
    store.sync().unwrap();
    let written = store.metrics().bytes_written;
    no_change(&mut store);
    store.sync().unwrap();
    assert_eq!(store.metrics().bytes_written, written);
}

/// What one changed key costs a sync, after 1000 keys were synced.
pub struct OneChange {
    /// Bytes the second sync wrote.
    pub written: u64,
    /// Bytes the second sync read.
    pub read: u64,
    /// The file's length after it.
    pub file_len: u64,
}

/// Syncs 1000 keys of 100-byte values, changes one, and syncs again.
pub fn one_change_synced<S: Stage>(file_name: &str) -> OneChange {
    let dir = tempfile::tempdir().unwrap();
    let mut store = S::open(dir.path()).unwrap();
    for i in 0..1000u32 {
        store
            .set(format!("key-{i:04}").as_bytes(), &[0; 100])
            .unwrap();
    }
    store.sync().unwrap();
    let before = store.metrics();
    store.set(b"key-0500", &[1; 100]).unwrap();
    store.sync().unwrap();
    let after = store.metrics();
    OneChange {
        written: after.bytes_written.unwrap() - before.bytes_written.unwrap(),
        read: after.bytes_read.unwrap() - before.bytes_read.unwrap(),
        file_len: fs::metadata(dir.path().join(file_name)).unwrap().len(),
    }
}
