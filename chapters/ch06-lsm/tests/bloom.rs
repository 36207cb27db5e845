//! Bloom filters: the false-positive rate measured against the formula,
//! the reads they save a get for a missing key (counted, not timed), and
//! a small filter's bytes, pinned.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use ch00_contract::KvStore;
use ch06_lsm::bloom::{BloomFilter, expected_false_positives};
use ch06_lsm::{LsmStore, Options};

fn key(i: u64) -> Vec<u8> {
    format!("key{i:010}").into_bytes()
}

// ANCHOR: false_positives
/// The share of absent keys a filter lets through, measured on 200k keys
/// it never saw, is what the formula (1 - e^(-kn/m))^k predicts, within a
/// tenth of it either way, at 4, 10 and 16 bits per key. The hash is
/// fixed, so the measurement is the same on every run.
#[test]
fn the_false_positive_rate_is_the_formulas() {
    let n = 20_000u64;
    let keys: Vec<Vec<u8>> = (0..n).map(key).collect();
    for bits_per_key in [4, 10, 16] {
        let filter = BloomFilter::build(keys.iter().map(Vec::as_slice), bits_per_key);
        assert!(
            keys.iter().all(|k| filter.may_contain(k)),
            "a key forgotten"
        );
        let tries = 200_000u64;
        let passed = (n..n + tries)
            .filter(|&i| filter.may_contain(&key(i)))
            .count();
        let measured = passed as f64 / tries as f64;
        let expected = expected_false_positives(n, filter.bit_count(), filter.probes());
        println!(
            "{bits_per_key} bits per key, k = {}: measured {:.4}%, formula {:.4}%",
            filter.probes(),
            measured * 100.0,
            expected * 100.0
        );
        assert!(
            (measured - expected).abs() <= expected * 0.1,
            "{bits_per_key} bits per key: measured {measured}, formula {expected}"
        );
    }
}
// ANCHOR_END: false_positives

/// A store of many small tables, each holding a slice of the keys, with
/// every table's range covering every key (the keys are interleaved); not
/// compacted, so that all twenty stay in level 0.
fn many_tables(bloom_bits_per_key: u32) -> (tempfile::TempDir, LsmStore) {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        memtable_bytes: 4096,
        bloom_bits_per_key,
        auto_compaction: false,
        ..Options::default()
    };
    let mut store = LsmStore::open_with(dir.path(), &options).unwrap();
    for round in 0..20u64 {
        // Keys 0 and 999_999 in every table, so every range covers all.
        store.set(&key(0), b"edge").unwrap();
        store.set(&key(999_999), b"edge").unwrap();
        for i in 0..100u64 {
            store.set(&key(1 + i * 20 + round), &[7; 20]).unwrap();
        }
        store.flush().unwrap();
    }
    (dir, store)
}

// ANCHOR: counted
/// A get for a missing key reads a data block only in the tables whose
/// filter lets it through by chance: with 10 bits per key, almost none.
/// Without filters, it reads one in every table.
#[test]
fn a_missing_key_reads_almost_no_table() {
    let missing: Vec<Vec<u8>> = (0..1000u64).map(|i| key(500_000 + i)).collect();
    let reads = |store: &LsmStore| {
        let before = store.metrics().reads.unwrap();
        for k in &missing {
            assert_eq!(store.get(k).unwrap(), None);
        }
        store.metrics().reads.unwrap() - before
    };
    let (_dir, without) = many_tables(0);
    let tables = without.table_numbers().len() as u64;
    assert_eq!(tables, 20);
    assert_eq!(
        reads(&without),
        1000 * tables,
        "one block per table per get"
    );
    let (_dir, with) = many_tables(10);
    let with_reads = reads(&with);
    println!("missing keys: {with_reads} block reads in 1000 gets over {tables} tables");
    // About 1% of 20,000 table lookups pass a filter by chance.
    assert!(with_reads <= 1000 * tables / 50, "{with_reads} reads");
}
// ANCHOR_END: counted

/// A present key is read from its own table only: the newer tables'
/// filters turn the get away without a read (nearly always).
#[test]
fn a_present_key_reads_about_one_block() {
    let (_dir, store) = many_tables(10);
    let before = store.metrics().reads.unwrap();
    let mut gets = 0;
    for round in 0..20u64 {
        for i in (0..100u64).step_by(10) {
            assert!(store.get(&key(1 + i * 20 + round)).unwrap().is_some());
            gets += 1;
        }
    }
    let reads = store.metrics().reads.unwrap() - before;
    assert!(reads <= gets + gets / 5, "{reads} reads for {gets} gets");
}

// ANCHOR: filter_bytes
/// A filter of three keys at 10 bits per key (64 bits, the least a filter
/// has), pinned byte for byte.
#[test]
fn a_small_filters_bytes() {
    let filter = BloomFilter::build([&b"apple"[..], b"banana", b"cherry"].into_iter(), 10);
    let bytes = filter.encode();
    let again = BloomFilter::decode(Path::new("t"), 0, &bytes).unwrap();
    assert_eq!(again, filter);
    let field = |range: std::ops::Range<usize>, meaning: &str| {
        let hex: Vec<String> = bytes[range.clone()]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("{:04x}  {:<24} {meaning}\n", range.start, hex.join(" "))
    };
    let set: u32 = bytes[12..20].iter().map(|b| b.count_ones()).sum();
    let annotated = [
        field(0..4, "magic \"KVBF\""),
        field(4..5, "format version 1"),
        field(5..6, &format!("k = {} probes per key", filter.probes())),
        field(6..8, "reserved"),
        field(8..12, &format!("m = {} bits", filter.bit_count())),
        field(12..20, &format!("the bits: {set} of 64 set")),
        field(20..24, "CRC-32 of the 20 bytes before"),
    ]
    .concat();
    insta::assert_snapshot!("small_filter_annotated", annotated);
}
// ANCHOR_END: filter_bytes

/// A tombstone whose key lies inside an older table's range, but which
/// that table's filter rules out, hides nothing: the flush drops it, and
/// writes no table for it alone. (Whether a filter rules a key out is
/// fixed by the hash; the test finds such a key first.)
#[test]
fn a_tombstone_the_older_filters_rule_out_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LsmStore::open_with(dir.path(), &Options::default()).unwrap();
    store.set(b"a", b"1").unwrap();
    store.set(b"z", b"1").unwrap();
    store.flush().unwrap();
    let table = store.tables().next().unwrap();
    assert!(table.may_contain(b"m"), "inside the range");
    let filter = BloomFilter::build([&b"a"[..], b"z"].into_iter(), 10);
    let ruled_out = (0..100u32)
        .map(|i| format!("m{i}").into_bytes())
        .find(|k| !filter.may_contain(k))
        .unwrap();
    store.delete(&ruled_out).unwrap();
    store.flush().unwrap();
    assert_eq!(store.table_numbers().len(), 1, "no table for the tombstone");
    assert_eq!(store.get(&ruled_out).unwrap(), None);
}
