//! What each operation costs, counted: reads issued and bytes read, and the
//! index held in memory. Counters are deterministic, so tests can assert
//! them exactly (time is left to the benchmarks).

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use ch00_contract::{KeyRange, KvStore};
use ch04_footer_index::format::{FOOTER_LEN, INDEX_ENTRY_HEADER_LEN, RECORD_HEADER_LEN};
use ch04_footer_index::table::SCAN_READ_LEN;
use ch04_footer_index::{FILE_NAME, FooterIndexStore};

const VALUE_LEN: usize = 100;

fn key(i: u32) -> Vec<u8> {
    format!("key-{i:08}").into_bytes()
}

fn value(i: u32) -> Vec<u8> {
    let mut v = vec![b'v'; VALUE_LEN];
    v[..4].copy_from_slice(&i.to_le_bytes());
    v
}

/// A store of `n` keys, synced, closed and opened again.
fn table_of(dir: &Path, n: u32) -> FooterIndexStore {
    let mut store = FooterIndexStore::open(dir).unwrap();
    for i in 0..n {
        store.set(&key(i), &value(i)).unwrap();
    }
    store.sync().unwrap();
    drop(store);
    FooterIndexStore::open(dir).unwrap()
}

fn reads(store: &FooterIndexStore) -> (u64, u64) {
    let m = store.metrics();
    (m.reads.unwrap(), m.bytes_read.unwrap())
}

const KEY_LEN: usize = 12;
const RECORD_LEN: u64 = (RECORD_HEADER_LEN + KEY_LEN + VALUE_LEN) as u64;

// ANCHOR: one_read
#[test]
fn a_get_on_a_table_of_100k_keys_is_one_read_of_one_record() {
    const N: u32 = 100_000;
    let dir = tempfile::tempdir().unwrap();
    let store = table_of(dir.path(), N);
    // Opening read the footer and the index: two reads, no record.
    let index_len = N as u64 * (INDEX_ENTRY_HEADER_LEN + KEY_LEN) as u64;
    assert_eq!(reads(&store), (2, FOOTER_LEN as u64 + index_len));

    for i in [0, 1, N / 2, N - 1] {
        let before = reads(&store);
        assert_eq!(store.get(&key(i)).unwrap(), Some(value(i)));
        let after = reads(&store);
        assert_eq!(after.0 - before.0, 1, "reads for get({i})");
        assert_eq!(after.1 - before.1, RECORD_LEN, "bytes for get({i})");
    }
    // A key that is not there costs no read at all: the index says so.
    let before = reads(&store);
    assert_eq!(store.get(b"key-absent").unwrap(), None);
    assert_eq!(reads(&store), before);
}
// ANCHOR_END: one_read

#[test]
fn the_index_in_memory_grows_by_its_entry_size_per_key() {
    let dir = tempfile::tempdir().unwrap();
    let store = table_of(dir.path(), 10_000);
    let index = store.metrics().index_bytes.unwrap();
    // The index's bytes plus one position (a usize) per entry.
    let per_key = (INDEX_ENTRY_HEADER_LEN + KEY_LEN + size_of::<usize>()) as u64;
    assert_eq!(index, 10_000 * per_key);
}

#[test]
fn a_full_scan_reads_every_record_byte_once_in_large_pieces() {
    const N: u32 = 10_000;
    let dir = tempfile::tempdir().unwrap();
    let store = table_of(dir.path(), N);
    let before = reads(&store);
    let count = store.scan(KeyRange::all()).unwrap().count();
    assert_eq!(count, N as usize);
    let (calls, bytes) = (reads(&store).0 - before.0, reads(&store).1 - before.1);
    let records = N as u64 * RECORD_LEN;
    assert_eq!(bytes, records);
    // Each piece ends at the first record boundary at or past
    // SCAN_READ_LEN bytes; the last piece takes what is left.
    let per_piece = SCAN_READ_LEN.div_ceil(RECORD_LEN);
    assert_eq!(calls, (N as u64).div_ceil(per_piece));
}

// ANCHOR: short_scan
#[test]
fn a_short_scan_reads_only_its_own_records() {
    let dir = tempfile::tempdir().unwrap();
    let store = table_of(dir.path(), 10_000);
    let before = reads(&store);
    let range = KeyRange::new(key(5_000)..key(5_010));
    let keys: Vec<_> = store.scan(range).unwrap().map(|e| e.unwrap().0).collect();
    assert_eq!(keys, (5_000..5_010).map(key).collect::<Vec<_>>());
    let after = reads(&store);
    assert_eq!(after.0 - before.0, 1);
    assert_eq!(after.1 - before.1, 10 * RECORD_LEN);
}
// ANCHOR_END: short_scan

#[test]
fn a_scan_that_stops_early_reads_one_piece() {
    let dir = tempfile::tempdir().unwrap();
    let store = table_of(dir.path(), 10_000);
    let before = reads(&store);
    let first: Vec<_> = store.scan(KeyRange::all()).unwrap().take(3).collect();
    assert_eq!(first.len(), 3);
    let after = reads(&store);
    assert_eq!(after.0 - before.0, 1);
    // One piece: the first record boundary at or past SCAN_READ_LEN.
    assert_eq!(
        after.1 - before.1,
        SCAN_READ_LEN.div_ceil(RECORD_LEN) * RECORD_LEN
    );
}

#[test]
fn writes_before_a_sync_cost_no_reads_and_the_sync_writes_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = table_of(dir.path(), 1_000);
    let before = reads(&store);
    store.set(&key(5), b"new").unwrap();
    store.delete(&key(6)).unwrap();
    store.delete(b"never-there").unwrap();
    assert_eq!(reads(&store), before);
    assert_eq!(store.buffered(), 2, "a delete of an absent key is not kept");
    let written = store.metrics().bytes_written.unwrap();
    store.sync().unwrap();
    let file_len = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().len();
    assert_eq!(store.metrics().bytes_written.unwrap() - written, file_len);
    assert_eq!(store.table_len(), 999);
}

#[test]
fn a_sync_reads_the_old_table_once_and_not_the_new_one_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FooterIndexStore::open(dir.path()).unwrap();
    for i in 0..1_000 {
        store.set(&key(i), &value(i)).unwrap();
    }
    store.sync().unwrap();
    // The first sync had no table to read, and keeps the index it wrote.
    assert_eq!(reads(&store), (0, 0));
    let per_key = (INDEX_ENTRY_HEADER_LEN + KEY_LEN + size_of::<usize>()) as u64;
    assert_eq!(store.metrics().index_bytes.unwrap(), 1_000 * per_key);
    store.set(&key(1_000), &value(1_000)).unwrap();
    store.sync().unwrap();
    // The second read the first table's records once, to merge them.
    assert_eq!(reads(&store).1, 1_000 * RECORD_LEN);
    let before = reads(&store);
    assert_eq!(store.get(&key(1_000)).unwrap(), Some(value(1_000)));
    assert_eq!(reads(&store).0 - before.0, 1);
}

#[test]
fn a_scan_of_records_larger_than_a_piece_reads_one_record_per_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FooterIndexStore::open(dir.path()).unwrap();
    let big = vec![7; 100 * 1024];
    for i in 0..5 {
        store.set(&key(i), &big).unwrap();
    }
    store.sync().unwrap();
    let before = reads(&store);
    for entry in store.scan(KeyRange::all()).unwrap() {
        assert_eq!(entry.unwrap().1, big);
    }
    let after = reads(&store);
    assert_eq!(after.0 - before.0, 5);
    assert_eq!(
        after.1 - before.1,
        5 * (RECORD_HEADER_LEN + KEY_LEN + big.len()) as u64
    );
}
