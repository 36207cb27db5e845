//! A damaged file is an error naming the problem, never a panic and never
//! a partial load: truncation at every length, every single flipped byte,
//! a wrong magic number, an unknown version, and random damage.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::Path;

use ch00_contract::{Error, KeyRange, KvStore};
use ch03_sorted_file::{FILE_NAME, SortedFileStore, format};
use proptest::prelude::*;

/// A store of three keys, synced; returns the file's bytes.
fn small_store(dir: &Path) -> Vec<u8> {
    let mut store = SortedFileStore::open(dir).unwrap();
    store.set(b"apple", b"red").unwrap();
    store.set(b"banana", b"").unwrap();
    store.set(b"cherry\xff", b"dark red").unwrap();
    store.sync().unwrap();
    fs::read(dir.join(FILE_NAME)).unwrap()
}

/// Opens the store after writing `bytes` as its file; the entries if the
/// open succeeds.
fn open_with(dir: &Path, bytes: &[u8]) -> ch00_contract::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    fs::write(dir.join(FILE_NAME), bytes).unwrap();
    let store = SortedFileStore::open(dir)?;
    store.scan(KeyRange::all())?.collect()
}

fn expect_corruption(result: ch00_contract::Result<Vec<(Vec<u8>, Vec<u8>)>>, what: &str) -> Error {
    match result {
        Err(e @ Error::Corruption { .. }) => {
            assert!(e.to_string().contains(FILE_NAME), "{what}: {e}");
            e
        }
        other => panic!("{what}: expected a corruption error, got {other:?}"),
    }
}

#[test]
fn every_truncation_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_store(dir.path());
    for len in 0..good.len() {
        expect_corruption(open_with(dir.path(), &good[..len]), &format!("{len} bytes"));
    }
    assert_eq!(open_with(dir.path(), &good).unwrap().len(), 3);
}

#[test]
fn every_flipped_byte_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_store(dir.path());
    for at in 0..good.len() {
        for bit in [0x01, 0x80] {
            let mut bad = good.clone();
            bad[at] ^= bit;
            expect_corruption(
                open_with(dir.path(), &bad),
                &format!("byte {at} ^ {bit:#x}"),
            );
        }
    }
}

#[test]
fn each_problem_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_store(dir.path());
    let with = |at: usize, bytes: &[u8]| {
        let mut bad = good.clone();
        bad[at..at + bytes.len()].copy_from_slice(bytes);
        bad
    };
    // The file: a 16-byte header, then records of 14, 12 and 21 bytes
    // (starting at 16, 30 and 42, ending at 63), then the checksum.
    let cases: Vec<(Vec<u8>, &str, u64)> = vec![
        (with(0, b"KVSX"), "magic number", 0),
        (with(4, &2u16.to_le_bytes()), "format version 1", 4),
        (with(8, &4u64.to_le_bytes()), "key length", 63),
        (
            with(8, &2u64.to_le_bytes()),
            "right after the last of 2 records",
            42,
        ),
        (good[..good.len() - 1].to_vec(), "end of the data", 42),
        (
            with(good.len() - 1, &[good[good.len() - 1] ^ 1]),
            "the file is damaged",
            63,
        ),
        ([&good[..], b"extra"].concat(), "more bytes", 63),
        (Vec::new(), "at least 20 bytes", 0),
    ];
    for (bytes, mentions, offset) in cases {
        let err = expect_corruption(open_with(dir.path(), &bytes), mentions);
        assert!(err.to_string().contains(mentions), "{mentions}: {err}");
        let at = format!("at byte offset {offset}:");
        assert!(err.to_string().contains(&at), "{mentions}, {at}: {err}");
    }
}

#[test]
fn keys_out_of_order_are_an_error_even_with_a_valid_checksum() {
    let dir = tempfile::tempdir().unwrap();
    // A key after a greater one, and a key twice: a map would quietly
    // keep one of the two, so only the order check sees it.
    for second in [&b"a"[..], b"b"] {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&format::MAGIC);
        bytes.extend_from_slice(&format::VERSION.to_le_bytes());
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(&2u64.to_le_bytes());
        format::encode_record(&mut bytes, b"b", b"1").unwrap();
        format::encode_record(&mut bytes, second, b"2").unwrap();
        let crc = crc32fast::hash(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        let err = expect_corruption(open_with(dir.path(), &bytes), "order");
        // The second record starts after the header (16) and the first (8).
        assert!(
            err.to_string().contains("ascending") && err.to_string().contains("offset 24:"),
            "{err}"
        );
    }
}

/// `bytes` with its checksum recomputed, as damage the CRC cannot see (or
/// a buggy writer) would leave it.
fn with_valid_checksum(mut bytes: Vec<u8>) -> Vec<u8> {
    if bytes.len() >= format::CHECKSUM_LEN {
        let end = bytes.len() - format::CHECKSUM_LEN;
        let crc = crc32fast::hash(&bytes[..end]);
        bytes[end..].copy_from_slice(&crc.to_le_bytes());
    }
    bytes
}

#[test]
fn structure_is_checked_even_behind_a_valid_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_store(dir.path());
    // (where to patch, the patch, what the error says, and its offset)
    let cases: Vec<(usize, Vec<u8>, &str, u64)> = vec![
        (6, vec![1, 0], "reserved bytes of zero", 6),
        (
            16 + 2,
            (2u32 << 20).to_le_bytes().to_vec(),
            "value length of at most",
            18,
        ),
        (16, 0xffffu16.to_le_bytes().to_vec(), "end of the data", 16),
        (8, 0u64.to_le_bytes().to_vec(), "more bytes", 16),
    ];
    for (at, patch, mentions, offset) in cases {
        let mut bad = good.clone();
        bad[at..at + patch.len()].copy_from_slice(&patch);
        let err = expect_corruption(open_with(dir.path(), &with_valid_checksum(bad)), mentions);
        assert!(err.to_string().contains(mentions), "{mentions}: {err}");
        let at = format!("at byte offset {offset}:");
        assert!(err.to_string().contains(&at), "{mentions}, {at}: {err}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Random damage anywhere in a real file: the open returns the original
    /// data or an error, never something else.
    #[test]
    fn random_damage_is_detected(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let good = small_store(dir.path());
        let original = open_with(dir.path(), &good).unwrap();
        let mut bad = good.clone();
        for (at, mask) in flips {
            let i = at.index(bad.len());
            bad[i] ^= mask;
        }
        if let Some(cut) = cut {
            bad.truncate(cut.index(bad.len()));
        }
        match open_with(dir.path(), &bad) {
            Ok(entries) => prop_assert_eq!(entries, original),
            Err(e) => prop_assert!(e.is_corruption(), "{}", e),
        }
    }

    /// The same damage with the checksum made to match: the decoder must
    /// still never panic, and anything it accepts must be a well-formed
    /// store (sorted, within the limits), which the suite's store then
    /// serves.
    #[test]
    fn damage_behind_a_valid_checksum_never_panics(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..6),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut bad = small_store(dir.path());
        for (at, mask) in flips {
            let i = at.index(bad.len());
            bad[i] ^= mask;
        }
        match open_with(dir.path(), &with_valid_checksum(bad)) {
            Ok(entries) => {
                prop_assert!(entries.windows(2).all(|w| w[0].0 < w[1].0));
            }
            Err(e) => prop_assert!(e.is_corruption(), "{}", e),
        }
    }
}
