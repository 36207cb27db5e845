//! Damaged tables: every truncation and every flipped bit gives an error,
//! at open or at the read that meets the damage; never a panic, never a
//! wrong value. And tables written wrong, behind valid checksums: each
//! problem is named.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use ch00_contract::{KeyRange, Result};
use ch05_sparse_index::format::{
    BlockIndex, FOOTER_LEN, Footer, INDEX_HEADER_LEN, encode_index, push_handle,
};
use ch05_sparse_index::table::encode;
use ch05_sparse_index::{Lookup, Table};
use disk::Disk;
use proptest::prelude::*;

/// The entries of the small table every test damages: values, an empty
/// value and tombstones, over blocks of 48 bytes (a dozen blocks).
fn entries() -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
    (0..30u8)
        .map(|i| {
            let key = format!("key-{i:02}").into_bytes();
            let value = match i % 7 {
                3 => None,
                5 => Some(Vec::new()),
                _ => Some(vec![b'a' + i % 26; usize::from(i % 9)]),
            };
            (key, value)
        })
        .collect()
}

fn table_bytes() -> Vec<u8> {
    let entries = entries();
    encode(entries.iter().map(|(k, v)| (&k[..], v.as_deref())), 48).unwrap()
}

fn put(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join("t.kvbt");
    fs::write(&path, bytes).unwrap();
    path
}

/// Opens `bytes` as a table and reads everything there is to read: each
/// key, keys that are not there, and the whole range. Every answer must
/// be the right one or an error; returns whether any error came.
fn read_all_checked(bytes: &[u8], what: &str) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let table = match Table::open(&Disk::real(), &put(dir.path(), bytes)) {
        Ok(table) => table,
        Err(e) => {
            assert!(
                e.is_corruption(),
                "{what}: open failed but not as corruption: {e}"
            );
            return true;
        }
    };
    let mut errors = false;
    for (key, value) in entries() {
        let want = match &value {
            Some(v) => Lookup::Found(v.clone()),
            None => Lookup::Deleted,
        };
        match table.get(&key) {
            Ok(got) => assert_eq!(got, want, "{what}: get({key:?})"),
            Err(_) => errors = true,
        }
    }
    for missing in [&b""[..], b"key-", b"key-05x", b"zzz"] {
        match table.get(missing) {
            Ok(got) => assert_eq!(got, Lookup::Absent, "{what}: get({missing:?})"),
            Err(_) => errors = true,
        }
    }
    let scanned: Result<Vec<_>> = table.entries(&KeyRange::all()).collect();
    match scanned {
        Ok(got) => assert_eq!(got, entries(), "{what}: scan"),
        Err(_) => errors = true,
    }
    errors
}

// ANCHOR: every_bit
#[test]
fn every_flipped_bit_is_an_error_never_a_wrong_value() {
    let bytes = table_bytes();
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut damaged = bytes.clone();
            damaged[at] ^= 1 << bit;
            // Every region is covered by a CRC-32 (each block, the index,
            // the footer), so every flip must be noticed somewhere.
            assert!(
                read_all_checked(&damaged, &format!("bit {bit} of byte {at}")),
                "bit {bit} of byte {at}: the damage went unnoticed"
            );
        }
    }
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = table_bytes();
    for len in 0..bytes.len() {
        assert!(
            read_all_checked(&bytes[..len], &format!("cut to {len}")),
            "cut to {len} bytes: not noticed"
        );
    }
}
// ANCHOR_END: every_bit

/// The table with its index rewritten by `change`, the index's CRC and the
/// footer recomputed so that only the change is wrong.
fn with_index(bytes: &[u8], change: impl FnOnce(&mut BlockIndex)) -> Vec<u8> {
    let path = Path::new("t");
    let tail: [u8; FOOTER_LEN] = bytes[bytes.len() - FOOTER_LEN..].try_into().unwrap();
    let footer = Footer::decode(path, &tail, bytes.len() as u64).unwrap();
    let start = footer.index_offset as usize;
    let mut index = BlockIndex::decode(
        path,
        &bytes[start..start + footer.index_len as usize],
        &footer,
    )
    .unwrap();
    change(&mut index);
    let mut handles = Vec::new();
    for handle in &index.blocks {
        push_handle(&mut handles, handle);
    }
    let index = encode_index(index.count, &index.first_key, &handles);
    table_of(&bytes[..start], &index)
}

/// A table of the data blocks `data` and the index block `index`, with a
/// footer that describes them, its checksums right.
fn table_of(data: &[u8], index: &[u8]) -> Vec<u8> {
    let mut out = data.to_vec();
    out.extend_from_slice(index);
    let footer = Footer {
        index_offset: data.len() as u64,
        index_len: index.len() as u64,
        index_crc: crc32fast::hash(index),
        meta_offset: (data.len() + index.len()) as u64,
        meta_len: 0,
    };
    out.extend_from_slice(&footer.encode());
    out
}

/// The table with its footer's bytes changed by `change`, and the
/// footer's checksum (bytes 40..44, over bytes 0..40) made right again.
fn with_footer(bytes: &[u8], change: impl FnOnce(&mut [u8; FOOTER_LEN])) -> Vec<u8> {
    let at = bytes.len() - FOOTER_LEN;
    let mut footer: [u8; FOOTER_LEN] = bytes[at..].try_into().unwrap();
    change(&mut footer);
    let crc = crc32fast::hash(&footer[..40]);
    footer[40..44].copy_from_slice(&crc.to_le_bytes());
    let mut out = bytes[..at].to_vec();
    out.extend_from_slice(&footer);
    out
}

fn open_error(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    match Table::open(&Disk::real(), &put(dir.path(), bytes)) {
        Ok(_) => panic!("the table opened"),
        Err(e) => e.to_string(),
    }
}

/// The first error any read of the table gives.
fn read_error(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let table = Table::open(&Disk::real(), &put(dir.path(), bytes)).unwrap();
    let scanned: Result<Vec<_>> = table.entries(&KeyRange::all()).collect();
    scanned.unwrap_err().to_string()
}

// ANCHOR: named
#[test]
fn tables_written_wrong_are_named_errors() {
    let bytes = table_bytes();
    // A block whose length in the index is one byte short: the blocks no
    // longer tile the data section.
    let short = with_index(&bytes, |i| i.blocks[2].len -= 1);
    assert!(
        open_error(&short).contains("a block starting at"),
        "{}",
        open_error(&short)
    );
    // An index that points past the data: the last block runs into the index.
    let past = with_index(&bytes, |i| {
        let last = i.blocks.len() - 1;
        i.blocks[last].len += 10;
    });
    assert!(open_error(&past).contains("blocks that end where the index starts"));
    // Two blocks swapped in the index: they no longer tile the data.
    let swapped = with_index(&bytes, |i| i.blocks.swap(3, 4));
    assert!(open_error(&swapped).contains("a block starting at"));
    // Two blocks' last keys swapped: out of order.
    let unordered = with_index(&bytes, |i| {
        let key = i.blocks[3].last_key.clone();
        i.blocks[3].last_key = i.blocks[4].last_key.clone();
        i.blocks[4].last_key = key;
    });
    assert!(open_error(&unordered).contains("strictly ascending"));
    // A count that does not add up.
    let count = with_index(&bytes, |i| i.count += 1);
    assert!(open_error(&count).contains("the sum over the blocks"));
    // A block's last key in the index lower than the keys it holds: the
    // block and the next one overlap. Only reading the block shows it.
    let overlap = with_index(&bytes, |i| {
        // Just past the block before: still ascending in the index.
        let mut key = i.blocks[0].last_key.to_vec();
        key.push(0);
        i.blocks[1].last_key = key.into();
    });
    assert!(
        read_error(&overlap).contains("a key out of place"),
        "{}",
        read_error(&overlap)
    );
    // A block whose entry count in the index is wrong.
    let entries = with_index(&bytes, |i| {
        i.blocks[0].entries += 1;
        i.count += 1;
    });
    assert!(
        read_error(&entries).contains("entries"),
        "{}",
        read_error(&entries)
    );
    // A block's checksum, damaged.
    let mut crc = bytes.clone();
    crc[0] ^= 0x40;
    assert!(
        read_error(&crc).contains("block checksum"),
        "{}",
        read_error(&crc)
    );
}
// ANCHOR_END: named

/// Footers and index headers written wrong behind valid checksums: each
/// check at open answers for one of these, and names it.
#[test]
fn footers_and_index_headers_written_wrong_are_named_errors() {
    let bytes = table_bytes();
    // Each error names what was expected, and where: its offset in the file.
    let named = |bytes: &[u8], what: &str, offset: usize| {
        let error = open_error(bytes);
        assert!(error.contains(what), "expected {what:?} in: {error}");
        let at = format!("at byte offset {offset}:");
        assert!(error.contains(&at), "expected {at:?} in: {error}");
    };
    let footer_at = bytes.len() - FOOTER_LEN;
    // A version this code does not know (bytes 36..38).
    named(
        &with_footer(&bytes, |f| f[36] = f[36].wrapping_add(1)),
        "format version",
        footer_at + 36,
    );
    // Reserved bytes that are not zero (38..40).
    named(
        &with_footer(&bytes, |f| f[38] = 1),
        "reserved bytes of zero",
        footer_at + 38,
    );
    // A meta section that does not start where the index ends (20..28).
    named(
        &with_footer(&bytes, |f| f[20] = f[20].wrapping_add(1)),
        "ending where the footer starts",
        footer_at,
    );
    // An index too short for its own header, its checksum right.
    named(&table_of(&[], &[0; 5]), "an index of at least", 0);
    // A block of no entries: named by its handle, the index's first entry,
    // after the index's header and first key ("key-00").
    let index_at = {
        let tail: [u8; FOOTER_LEN] = bytes[footer_at..].try_into().unwrap();
        Footer::decode(Path::new("t"), &tail, bytes.len() as u64)
            .unwrap()
            .index_offset as usize
    };
    named(
        &with_index(&bytes, |i| i.blocks[0].entries = 0),
        "a block of at least one entry",
        index_at + INDEX_HEADER_LEN + b"key-00".len(),
    );
    // A table of no entries that names a first key (its length at 8).
    named(
        &table_of(&[], &encode_index(0, b"key", &[])),
        "no first key in an empty table",
        8,
    );
}

proptest! {
    /// Random damage: several bytes changed, then perhaps a cut.
    #[test]
    fn random_damage_is_an_error_or_changes_nothing(
        flips in prop::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let mut bytes = table_bytes();
        for (at, mask) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= mask;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        read_all_checked(&bytes, "random damage");
    }
}
