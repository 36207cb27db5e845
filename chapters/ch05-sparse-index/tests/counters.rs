//! What each operation costs, counted: reads issued, bytes read, and the
//! index held in memory. Counters are deterministic, so tests can assert
//! them exactly (time is left to the benchmarks).

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use ch00_contract::{KeyRange, KvStore};
use ch05_sparse_index::SparseIndexStore;
use ch05_sparse_index::block::{BLOCK_TRAILER_LEN, ENTRY_HEADER_LEN};
use ch05_sparse_index::format::{
    BlockHandle, FOOTER_LEN, INDEX_ENTRY_HEADER_LEN, INDEX_HEADER_LEN,
};
use ch05_sparse_index::table::DEFAULT_BLOCK_SIZE;

const N: u32 = 100_000;
const KEY_LEN: usize = 12;
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
fn table_of(dir: &Path, n: u32) -> SparseIndexStore {
    let mut store = SparseIndexStore::open(dir).unwrap();
    for i in 0..n {
        store.set(&key(i), &value(i)).unwrap();
    }
    store.sync().unwrap();
    drop(store);
    SparseIndexStore::open(dir).unwrap()
}

fn reads(store: &SparseIndexStore) -> (u64, u64) {
    let m = store.metrics();
    (m.reads.unwrap(), m.bytes_read.unwrap())
}

// ANCHOR: geometry
/// Entries of 119 bytes fill a 4096-byte block 34 at a time (a 35th would
/// pass the block size), so 100k keys make 2,942 blocks.
const ENTRY_LEN: usize = ENTRY_HEADER_LEN + KEY_LEN + VALUE_LEN;
const PER_BLOCK: u32 = (DEFAULT_BLOCK_SIZE / ENTRY_LEN) as u32;
const BLOCK_LEN: u64 = (PER_BLOCK as usize * ENTRY_LEN + BLOCK_TRAILER_LEN) as u64;
const BLOCKS: u64 = N.div_ceil(PER_BLOCK) as u64;
// ANCHOR_END: geometry

// ANCHOR: one_read
#[test]
fn a_get_on_a_table_of_100k_keys_is_one_read_of_one_block() {
    assert_eq!((PER_BLOCK, BLOCKS), (34, 2942));
    let dir = tempfile::tempdir().unwrap();
    let store = table_of(dir.path(), N);
    // Opening read the footer and the index block: two reads, no data.
    let index_len =
        INDEX_HEADER_LEN + KEY_LEN + BLOCKS as usize * (INDEX_ENTRY_HEADER_LEN + KEY_LEN);
    assert_eq!(reads(&store), (2, (FOOTER_LEN + index_len) as u64));

    for i in [0, 1, N / 2, N - 7] {
        let before = reads(&store);
        assert_eq!(store.get(&key(i)).unwrap(), Some(value(i)));
        let after = reads(&store);
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (1, BLOCK_LEN),
            "get({i}): one read of one whole block"
        );
    }
    // A key between two stored keys is looked for in its block: one read.
    let before = reads(&store);
    assert_eq!(store.get(b"key-00000500x").unwrap(), None);
    assert_eq!(reads(&store).0 - before.0, 1);
    // A key outside the table's first and last keys costs no read at all.
    let before = reads(&store);
    for missing in [&b"a"[..], b"key-", b"zzz", b"key-99999999"] {
        assert_eq!(store.get(missing).unwrap(), None);
    }
    assert_eq!(reads(&store), before);
}
// ANCHOR_END: one_read

// ANCHOR: index_bytes
#[test]
fn the_index_holds_one_entry_per_block() {
    let dir = tempfile::tempdir().unwrap();
    let store = table_of(dir.path(), N);
    let handle = std::mem::size_of::<BlockHandle>() as u64;
    let expected = BLOCKS * (handle + KEY_LEN as u64) + KEY_LEN as u64;
    assert_eq!(store.metrics().index_bytes, Some(expected));
    // 129,460 bytes for 100k keys: 1.3 bytes per key, where chapter 4's
    // full index takes 38.
    assert_eq!(expected, 129_460);
}
// ANCHOR_END: index_bytes

// ANCHOR: scan_reads
#[test]
fn a_short_scan_reads_its_blocks_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let store = table_of(dir.path(), N);
    // 100 keys from the start of a block: three blocks hold them. The
    // cursor reads one block, then two at once, and no further: the
    // range ends inside the third.
    let start = 34 * 1000;
    let before = reads(&store);
    let range = KeyRange::from_bounds(
        std::ops::Bound::Included(&key(start)[..]),
        std::ops::Bound::Excluded(&key(start + 100)[..]),
    );
    let got: Vec<_> = store.scan(range).unwrap().map(Result::unwrap).collect();
    assert_eq!(got.len(), 100);
    assert_eq!(got[0].0, key(start));
    let after = reads(&store);
    assert_eq!((after.0 - before.0, after.1 - before.1), (2, 3 * BLOCK_LEN));

    // A whole scan reads every block once, in reads of at most 64 KiB.
    let before = reads(&store);
    assert_eq!(store.scan(KeyRange::all()).unwrap().count(), N as usize);
    let after = reads(&store);
    assert_eq!(
        after.1 - before.1,
        BLOCKS * BLOCK_LEN - u64::from(34 * BLOCKS as u32 - N) * ENTRY_LEN as u64
    );
    assert!(
        after.0 - before.0 < BLOCKS / 10,
        "{} reads",
        after.0 - before.0
    );
}
// ANCHOR_END: scan_reads
