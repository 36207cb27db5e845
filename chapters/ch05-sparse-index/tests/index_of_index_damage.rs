//! The two-level table, damaged: every truncation and every flipped bit
//! of a small table gives an error at open or at the read that meets it,
//! never a panic, never a wrong value; and its bytes, pinned.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use ch00_contract::KeyRange;
use ch05_sparse_index::two_level::{TwoLevelTable, write_two_level};
use disk::Disk;

/// Twelve keys, every third one sampled: four slices.
fn entries() -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..12u8)
        .map(|i| {
            let value = vec![b'a' + i; usize::from(i % 4)];
            (format!("key-{i:02}").into_bytes(), value)
        })
        .collect()
}

fn table_bytes() -> Vec<u8> {
    let mut out = Vec::new();
    let pairs = entries().into_iter().map(Ok);
    write_two_level(Path::new("t"), &mut out, 3, Box::new(pairs)).unwrap();
    out
}

/// Opens `bytes` and reads every key, some absent keys and the whole
/// range: each answer right or an error. Whether any error came.
fn read_all_checked(bytes: &[u8], what: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.kvii");
    fs::write(&path, bytes).unwrap();
    let table = match TwoLevelTable::open(&Disk::real(), &path) {
        Ok(table) => table,
        Err(e) => {
            assert!(e.is_corruption(), "{what}: not a corruption error: {e}");
            return true;
        }
    };
    let mut errors = false;
    for (key, value) in entries() {
        match table.get(&key) {
            Ok(got) => assert_eq!(got, Some(value), "{what}: get({key:?})"),
            Err(_) => errors = true,
        }
    }
    for missing in [&b"a"[..], b"key-05x", b"zzz"] {
        match table.get(missing) {
            Ok(got) => assert_eq!(got, None, "{what}: get({missing:?})"),
            Err(_) => errors = true,
        }
    }
    match table.scan(&KeyRange::all()).collect::<Result<Vec<_>, _>>() {
        Ok(got) => assert_eq!(got, entries(), "{what}: scan"),
        Err(_) => errors = true,
    }
    errors
}

#[test]
fn every_flipped_bit_and_every_cut_is_an_error_never_a_wrong_value() {
    let bytes = table_bytes();
    assert!(!read_all_checked(&bytes, "the undamaged table"));
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << bit;
            // Records, index slices, both footers and the top index each
            // carry a CRC-32: every flip is noticed somewhere.
            assert!(
                read_all_checked(&damaged, &format!("bit {bit} of byte {at}")),
                "bit {bit} of byte {at}: unnoticed"
            );
        }
    }
    for len in 0..bytes.len() {
        assert!(
            read_all_checked(&bytes[..len], &format!("cut to {len}")),
            "cut to {len}"
        );
    }
}

#[test]
fn a_small_two_level_table_byte_by_byte() {
    insta::assert_snapshot!("two_level_hex", ch00_contract::hex_dump(&table_bytes()));
}
