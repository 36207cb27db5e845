//! The cursor chapter 6 merges with: entries borrowed from the blocks it
//! read, tombstones included, a range's bounds kept exactly, and a seek.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::ops::Bound::{Excluded, Included, Unbounded};

use ch00_contract::KeyRange;
use ch05_sparse_index::Table;
use ch05_sparse_index::table::encode;
use disk::Disk;

fn key(i: u32) -> Vec<u8> {
    format!("k{i:04}").into_bytes()
}

/// 500 keys, every seventh a tombstone, in blocks of 64 bytes.
fn table(dir: &std::path::Path) -> Table {
    let keys: Vec<Vec<u8>> = (0..500).map(key).collect();
    let bytes = encode(
        keys.iter()
            .enumerate()
            .map(|(i, k)| (&k[..], (i % 7 != 3).then_some(&b"value"[..]))),
        64,
    )
    .unwrap();
    let path = dir.join("t.kvbt");
    std::fs::write(&path, bytes).unwrap();
    Table::open(&Disk::real(), &path).unwrap()
}

fn keys_of(table: &Table, range: KeyRange) -> Vec<u32> {
    let mut cursor = table.cursor(&range);
    let mut out = Vec::new();
    while let Some(entry) = cursor.next_entry().unwrap() {
        let text = std::str::from_utf8(&entry.key[1..]).unwrap();
        out.push(text.parse().unwrap());
    }
    out
}

#[test]
fn a_cursor_keeps_the_bounds_of_its_range_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let table = table(dir.path());
    assert_eq!(table.len(), 500);
    assert_eq!(table.first_key(), Some(&key(0)[..]));
    assert_eq!(table.last_key(), Some(&key(499)[..]));
    let all = keys_of(&table, KeyRange::all());
    assert_eq!(all, (0..500).collect::<Vec<_>>());
    let r = KeyRange::from_bounds(Included(&key(10)[..]), Excluded(&key(20)[..]));
    assert_eq!(keys_of(&table, r), (10..20).collect::<Vec<_>>());
    let r = KeyRange::from_bounds(Excluded(&key(10)[..]), Included(&key(20)[..]));
    assert_eq!(keys_of(&table, r), (11..=20).collect::<Vec<_>>());
    let r = KeyRange::from_bounds(Excluded(&key(499)[..]), Unbounded);
    assert!(keys_of(&table, r).is_empty());
    let r = KeyRange::from_bounds(Included(&b"k0100x"[..]), Included(&b"k0102"[..]));
    assert_eq!(keys_of(&table, r), [101, 102]);
    // Tombstones come through the cursor, and are skipped by `scan`.
    let mut cursor = table.cursor(&KeyRange::all());
    let mut tombstones = 0;
    while let Some(entry) = cursor.next_entry().unwrap() {
        tombstones += usize::from(entry.value.is_none());
    }
    assert_eq!(tombstones, 71);
    assert_eq!(table.scan(&KeyRange::all()).count(), 429);
}

#[test]
fn a_seek_moves_forward_or_back_within_the_range() {
    let dir = tempfile::tempdir().unwrap();
    let table = table(dir.path());
    let range = KeyRange::from_bounds(Included(&key(100)[..]), Excluded(&key(400)[..]));
    let mut cursor = table.cursor(&range);
    assert_eq!(cursor.next_entry().unwrap().unwrap().key, &key(100)[..]);
    cursor.seek(&key(350));
    assert_eq!(cursor.next_entry().unwrap().unwrap().key, &key(350)[..]);
    cursor.seek(&b"k0200x"[..]);
    assert_eq!(cursor.next_entry().unwrap().unwrap().key, &key(201)[..]);
    // Before the range's start: the range still holds.
    cursor.seek(&key(5));
    assert_eq!(cursor.next_entry().unwrap().unwrap().key, &key(100)[..]);
    cursor.seek(&key(399));
    assert_eq!(cursor.next_entry().unwrap().unwrap().key, &key(399)[..]);
    assert!(cursor.next_entry().unwrap().is_none());
}
