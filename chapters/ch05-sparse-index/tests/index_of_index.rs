//! The index-of-the-index variant: the conformance suite with a sample of
//! every second entry, the power-loss suite, and its counters (two reads
//! a lookup). The fault sweep is in `index_of_index_faults.rs`.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use ch00_contract::{KvStore, Stage};
use ch05_sparse_index::two_level::{SAMPLE_HEADER_LEN, Sample};
use ch05_sparse_index::{IndexOfIndexOptions, IndexOfIndexStore};

ch00_contract::conformance_tests!(
    IndexOfIndexStore,
    options = IndexOfIndexOptions {
        interval: 2,
        ..IndexOfIndexOptions::default()
    }
);
ch00_contract::power_loss_tests!(
    IndexOfIndexStore,
    options = IndexOfIndexOptions {
        interval: 2,
        ..IndexOfIndexOptions::default()
    },
    cases = 128
);

const N: u32 = 100_000;

fn key(i: u32) -> Vec<u8> {
    format!("key-{i:08}").into_bytes()
}

fn table_of(dir: &Path) -> IndexOfIndexStore {
    let mut store = IndexOfIndexStore::open(dir).unwrap();
    for i in 0..N {
        store.set(&key(i), &[b'v'; 100]).unwrap();
    }
    store.sync().unwrap();
    drop(store);
    IndexOfIndexStore::open(dir).unwrap()
}

fn reads(store: &IndexOfIndexStore) -> (u64, u64) {
    let m = store.metrics();
    (m.reads.unwrap(), m.bytes_read.unwrap())
}

// ANCHOR: two_reads
#[test]
fn a_get_is_two_reads_a_slice_of_the_index_and_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let store = table_of(dir.path());
    // Opening read the top footer, then chapter 4's footer and the top
    // index together: two reads, and none of the full index.
    let samples = N.div_ceil(16) as u64;
    let top = samples * (SAMPLE_HEADER_LEN as u64 + 12) + 2 + 12;
    assert_eq!(reads(&store), (2, 36 + 40 + top));
    // A slice is 16 index entries of 14 + 12 bytes; a record 6 + 12 + 100.
    for i in [0, 1, 15, 16, N / 2, N - 1] {
        let before = reads(&store);
        assert_eq!(store.get(&key(i)).unwrap(), Some(vec![b'v'; 100]));
        let after = reads(&store);
        let slice = if i >= N - N % 16 { (N % 16) as u64 } else { 16 } * 26;
        assert_eq!(
            (after.0 - before.0, after.1 - before.1),
            (2, slice + 118),
            "get({i})"
        );
    }
    // A key outside the table's keys costs no read.
    let before = reads(&store);
    assert_eq!(store.get(b"a").unwrap(), None);
    assert_eq!(store.get(b"zzz").unwrap(), None);
    assert_eq!(reads(&store), before);
    // The top index: one sample per 16 keys.
    let sample = std::mem::size_of::<Sample>() as u64;
    assert_eq!(
        store.metrics().index_bytes,
        Some(samples * (sample + 12) + 12)
    );
}
// ANCHOR_END: two_reads
