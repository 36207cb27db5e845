//! A damaged table file is an error naming the problem, never a panic, a
//! wrong value or a silently missing key: truncation at every length, every
//! single flipped bit, each footer field made wrong on its own (behind a
//! valid footer checksum where that is what the check must get past), a
//! damaged index or record, indexes that pass their checksum but break the
//! format's rules, records that pass theirs but disagree with the index, a
//! file that shrinks after it is opened, and random damage.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use ch00_contract::{Error, KeyRange, KvStore, MAX_VALUE_LEN, Result};
use ch03_sorted_file::format::encode_record;
use ch04_footer_index::format::{self, FOOTER_LEN, Footer, RECORD_HEADER_LEN};
use ch04_footer_index::table::Table;
use ch04_footer_index::{FILE_NAME, FooterIndexStore};
use disk::Disk;
use proptest::prelude::*;

type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// The small table's entries in key order: an empty key, an empty value, a
/// binary key and a binary value.
fn small_entries() -> Entries {
    let pairs: [(&[u8], &[u8]); 5] = [
        (b"", b"under the empty key"),
        (b"apple", b"red"),
        (b"banana", b""),
        (b"cherry\xff", b"\x00\xff\x80\n"),
        (b"date", b"brown"),
    ];
    pairs
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect()
}

/// Writes the small table with the store's sync; returns the file's bytes.
fn small_table(dir: &Path) -> Vec<u8> {
    let mut store = FooterIndexStore::open(dir).unwrap();
    for (key, value) in small_entries() {
        store.set(&key, &value).unwrap();
    }
    store.sync().unwrap();
    fs::read(dir.join(FILE_NAME)).unwrap()
}

/// Where each of `entries`' records starts, then where the records end.
fn record_starts(entries: &Entries) -> Vec<u64> {
    let mut starts = vec![0];
    for (key, value) in entries {
        let len = format::RECORD_HEADER_LEN + key.len() + value.len();
        starts.push(starts.last().unwrap() + len as u64);
    }
    starts
}

/// Writes `bytes` as the table file in `dir`; returns its path.
fn put(dir: &Path, bytes: &[u8]) -> PathBuf {
    let path = dir.join(FILE_NAME);
    fs::write(&path, bytes).unwrap();
    path
}

/// Opens the table at `path` and reads everything: a `get` of each key of
/// `entries` (the pairs found), then a full scan. The first error, if any.
fn read_all(path: &Path, entries: &Entries) -> Result<[Entries; 2]> {
    let table = Table::open(&Disk::real(), path)?;
    let mut found = Vec::new();
    for (key, _) in entries {
        if let Some(value) = table.get(key)? {
            found.push((key.clone(), value));
        }
    }
    let scanned = table.scan(&KeyRange::all()).collect::<Result<_>>()?;
    Ok([found, scanned])
}

/// The corruption error in `result`, which must name the table file.
fn expect_corruption<T: std::fmt::Debug>(result: Result<T>, what: &str) -> Error {
    match result {
        Err(e @ Error::Corruption { .. }) => {
            assert!(e.to_string().contains(FILE_NAME), "{what}: {e}");
            e
        }
        other => panic!("{what}: expected a corruption error, got {other:?}"),
    }
}

/// `good` with its last 40 bytes replaced by `footer`.
fn with_footer(good: &[u8], footer: &[u8; FOOTER_LEN]) -> Vec<u8> {
    [&good[..good.len() - FOOTER_LEN], &footer[..]].concat()
}

/// `footer` with `patch` written at `at` and its checksum recomputed, as a
/// buggy writer (rather than damage) would leave it.
fn resealed(mut footer: [u8; FOOTER_LEN], at: usize, patch: &[u8]) -> [u8; FOOTER_LEN] {
    footer[at..at + patch.len()].copy_from_slice(patch);
    let crc = crc32fast::hash(&footer[..32]);
    footer[32..36].copy_from_slice(&crc.to_le_bytes());
    footer
}

/// The footer of the well-formed table `good`.
fn footer_of(good: &[u8]) -> Footer {
    let tail = good[good.len() - FOOTER_LEN..].try_into().unwrap();
    Footer::decode(Path::new(FILE_NAME), &tail, good.len() as u64).unwrap()
}

/// A record's bytes in chapter 3's encoding, and their CRC-32.
fn record(key: &[u8], value: &[u8]) -> (Vec<u8>, u32) {
    let mut bytes = Vec::new();
    encode_record(&mut bytes, key, value).unwrap();
    let crc = crc32fast::hash(&bytes);
    (bytes, crc)
}

/// One index entry, `key_len | offset | crc | key`.
fn index_entry(key: &[u8], offset: u64, crc: u32) -> Vec<u8> {
    let key_len = u16::try_from(key.len()).unwrap();
    [
        &key_len.to_le_bytes()[..],
        &offset.to_le_bytes(),
        &crc.to_le_bytes(),
        key,
    ]
    .concat()
}

/// A table of `records`, then `index`, then a footer claiming `count`
/// entries, with both the index's checksum and the footer's own correct.
fn hand_built(records: &[u8], index: &[u8], count: u64) -> Vec<u8> {
    let footer = Footer {
        index_offset: records.len() as u64,
        index_len: index.len() as u64,
        count,
        index_crc: crc32fast::hash(index),
    };
    [records, index, &footer.encode()].concat()
}

#[test]
fn the_small_table_reads_back_whole_and_matches_the_in_memory_encoding() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_table(dir.path());
    let entries = small_entries();
    let encoded = format::encode(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice())));
    assert_eq!(encoded.unwrap(), good);
    let path = put(dir.path(), &good);
    assert_eq!(
        read_all(&path, &entries).unwrap(),
        [entries.clone(), entries]
    );
    assert_eq!(
        footer_of(&good).index_offset,
        *record_starts(&small_entries()).last().unwrap()
    );
}

#[test]
fn every_truncation_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_table(dir.path());
    for len in 0..good.len() {
        let path = put(dir.path(), &good[..len]);
        expect_corruption(
            Table::open(&Disk::real(), &path),
            &format!("{len} of {} bytes", good.len()),
        );
    }
}

#[test]
fn every_flipped_bit_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_table(dir.path());
    let entries = small_entries();
    let starts = record_starts(&entries);
    let records_end = *starts.last().unwrap();
    for at in 0..good.len() {
        for bit in 0..8 {
            let mut bad = good.clone();
            bad[at] ^= 1 << bit;
            let what = format!("byte {at} bit {bit}");
            let path = put(dir.path(), &bad);
            if at as u64 >= records_end {
                // The index and the footer are read and checked at open.
                expect_corruption(Table::open(&Disk::real(), &path), &what);
                continue;
            }
            // Open reads no record; the damaged record alone is refused, by
            // its offset, and every other record still reads back.
            let table = Table::open(&Disk::real(), &path).unwrap();
            let hit = starts.partition_point(|&s| s <= at as u64) - 1;
            let named = format!("at byte offset {}:", starts[hit]);
            for (i, (key, value)) in entries.iter().enumerate() {
                if i == hit {
                    let err = expect_corruption(table.get(key), &what);
                    assert!(err.to_string().contains(&named), "{what}: {err}");
                } else {
                    assert_eq!(table.get(key).unwrap().as_ref(), Some(value), "{what}");
                }
            }
            let scanned: Vec<_> = table.scan(&KeyRange::all()).collect();
            assert_eq!(
                scanned.len(),
                hit + 1,
                "{what}: the scan stops at the error"
            );
            for (item, entry) in scanned.iter().zip(&entries).take(hit) {
                assert_eq!(item.as_ref().unwrap(), entry, "{what}");
            }
            let err = expect_corruption(scanned.into_iter().last().unwrap(), &what);
            assert!(err.to_string().contains(&named), "{what}: {err}");
        }
    }
}

#[test]
fn each_problem_at_open_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_table(dir.path());
    let footer = footer_of(&good);
    let sealed: [u8; FOOTER_LEN] = good[good.len() - FOOTER_LEN..].try_into().unwrap();
    let flipped = |at: usize| {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        bad
    };
    let end = good.len() - FOOTER_LEN;
    let past_end = |index_offset, index_len| {
        let footer = Footer {
            index_offset,
            index_len,
            ..footer
        };
        with_footer(&good, &footer.encode())
    };
    let counting = |count| with_footer(&good, &Footer { count, ..footer }.encode());
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        (
            "wrong magic",
            with_footer(&good, &resealed(sealed, 36, b"KVFX")),
            &["not a table file", "KVFI"],
        ),
        (
            "version 2",
            with_footer(&good, &resealed(sealed, 28, &2u16.to_le_bytes())),
            &["format version 1", "found version 2"],
        ),
        (
            "reserved bytes",
            with_footer(&good, &resealed(sealed, 30, &[0, 1])),
            &["reserved bytes of zero", "0x0100"],
        ),
        (
            "footer checksum",
            flipped(end + 33),
            &["the footer is damaged"],
        ),
        (
            "footer count",
            flipped(end + 16),
            &["the footer is damaged"],
        ),
        (
            "index too long",
            past_end(footer.index_offset, footer.index_len + 1),
            &["an index ending where the footer starts"],
        ),
        (
            "index past the end",
            past_end(good.len() as u64, footer.index_len),
            &["an index ending where the footer starts"],
        ),
        (
            "index overflowing",
            past_end(u64::MAX, footer.index_len),
            &["an index ending where the footer starts"],
        ),
        (
            "count too large",
            counting(1_000),
            &["a count that fits", "found 1000 entries"],
        ),
        // More entries than the index has bytes for, though the records
        // have bytes enough.
        (
            "count too large for the index",
            counting(footer.index_len / 14 + 1),
            &["a count that fits"],
        ),
        (
            "count overflowing",
            counting(u64::MAX),
            &["a count that fits"],
        ),
        (
            "count one too many",
            counting(footer.count + 1),
            &["an index entry (14 bytes and a key)"],
        ),
        (
            "count one too few",
            counting(footer.count - 1),
            &["index entries", "more bytes"],
        ),
        ("damaged index", flipped(end - 1), &["the index is damaged"]),
        (
            "shorter than a footer",
            good[good.len() - (FOOTER_LEN - 1)..].to_vec(),
            &["at least 40 bytes", "a file of 39 bytes"],
        ),
        (
            "empty",
            Vec::new(),
            &["at least 40 bytes", "a file of 0 bytes"],
        ),
    ];
    for (what, bytes, mentions) in cases {
        let err = expect_corruption(Table::open(&Disk::real(), &put(dir.path(), &bytes)), what);
        for mention in mentions {
            assert!(err.to_string().contains(mention), "{what}: {err}");
        }
    }
}

#[test]
fn a_damaged_record_is_named_by_its_offset_on_read_not_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let mut bad = small_table(dir.path());
    let entries = small_entries();
    let starts = record_starts(&entries);
    // The last byte of "cherry\xff"'s value.
    let at = starts[4] - 1;
    bad[at as usize] ^= 0x01;
    let table = Table::open(&Disk::real(), &put(dir.path(), &bad)).unwrap();
    let named = format!("at byte offset {}:", starts[3]);
    let err = expect_corruption(table.get(b"cherry\xff"), "get");
    assert!(err.to_string().contains(&named), "{err}");
    assert!(err.to_string().contains("the record is damaged"), "{err}");
    for (key, value) in entries.iter().filter(|(k, _)| k != b"cherry\xff") {
        assert_eq!(table.get(key).unwrap().as_ref(), Some(value));
    }
    let mut scan = table.scan(&KeyRange::all());
    for entry in &entries[..3] {
        assert_eq!(&scan.next().unwrap().unwrap(), entry);
    }
    let err = expect_corruption(scan.next().unwrap(), "scan");
    assert!(err.to_string().contains(&named), "{err}");
    assert!(scan.next().is_none(), "the scan ends at the error");
    // A scan that starts past the damage does not read it.
    let rest: Entries = table
        .scan(&KeyRange::new(b"date".to_vec()..))
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(rest, entries[4..]);
}

#[test]
fn a_hand_built_table_with_valid_checksums_opens() {
    // The control for the next test: the helpers build a table the reader
    // accepts, so each case there fails for its one defect.
    let dir = tempfile::tempdir().unwrap();
    let (a, crc_a) = record(b"a", b"1");
    let (b, crc_b) = record(b"b", b"22");
    let index = [index_entry(b"a", 0, crc_a), index_entry(b"b", 8, crc_b)].concat();
    let path = put(dir.path(), &hand_built(&[a, b].concat(), &index, 2));
    let entries = vec![
        (b"a".to_vec(), b"1".to_vec()),
        (b"b".to_vec(), b"22".to_vec()),
    ];
    assert_eq!(
        read_all(&path, &entries).unwrap(),
        [entries.clone(), entries]
    );
    let path = put(dir.path(), &hand_built(&[], &[], 0));
    assert_eq!(read_all(&path, &Vec::new()).unwrap(), [vec![], vec![]]);
}

#[test]
fn a_malformed_index_is_an_error_even_behind_valid_checksums() {
    let dir = tempfile::tempdir().unwrap();
    let (a, crc_a) = record(b"a", b"1");
    let (b, crc_b) = record(b"b", b"2");
    let (abc, crc_abc) = record(b"abc", b"");
    let ab = [a.clone(), b.clone()].concat();
    let good_index = [index_entry(b"a", 0, crc_a), index_entry(b"b", 8, crc_b)].concat();
    let mut long_key = good_index.clone();
    long_key[15..17].copy_from_slice(&10u16.to_le_bytes());
    let ascending = "keys in strictly ascending order";
    let past_previous = "to end between";
    // A record longer than the contract allows: a lookup would allocate it.
    let huge = vec![0; RECORD_HEADER_LEN + 1 + MAX_VALUE_LEN + 1];
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "keys out of order",
            hand_built(
                &[b.clone(), a.clone()].concat(),
                &[index_entry(b"b", 0, crc_b), index_entry(b"a", 8, crc_a)].concat(),
                2,
            ),
            ascending,
        ),
        (
            "duplicate keys",
            hand_built(
                &[a.clone(), a.clone()].concat(),
                &[index_entry(b"a", 0, crc_a), index_entry(b"a", 8, crc_a)].concat(),
                2,
            ),
            ascending,
        ),
        (
            "first offset not 0",
            hand_built(
                &[&[0][..], &a, &b].concat(),
                &[index_entry(b"a", 1, crc_a), index_entry(b"b", 9, crc_b)].concat(),
                2,
            ),
            "the first record at offset 0, found 1",
        ),
        (
            "equal offsets",
            hand_built(
                &ab,
                &[index_entry(b"a", 0, crc_a), index_entry(b"b", 0, crc_b)].concat(),
                2,
            ),
            past_previous,
        ),
        (
            "falling offsets",
            hand_built(
                &[a.clone(), b.clone(), record(b"c", b"3").0].concat(),
                &[
                    index_entry(b"a", 0, crc_a),
                    index_entry(b"b", 8, crc_b),
                    index_entry(b"c", 4, 0),
                ]
                .concat(),
                3,
            ),
            past_previous,
        ),
        (
            "a record too short for its key",
            hand_built(
                &[abc, b.clone()].concat(),
                &[index_entry(b"abc", 0, crc_abc), index_entry(b"b", 8, crc_b)].concat(),
                2,
            ),
            "to end between 9 and 1048585, found its end at 8",
        ),
        (
            "the last record running into the index",
            hand_built(
                &ab,
                &[index_entry(b"a", 0, crc_a), index_entry(b"b", 12, crc_b)].concat(),
                2,
            ),
            "found its end at 16",
        ),
        (
            "the only record too long for the records",
            hand_built(&a[..6], &index_entry(b"a", 0, crc_a), 1),
            "found its end at 6",
        ),
        (
            "a record longer than the longest value",
            hand_built(&huge, &index_entry(b"a", 0, 0), 1),
            "and 1048583, found its end at 1048584",
        ),
        (
            "trailing bytes",
            hand_built(&ab, &[&good_index[..], &[0xaa, 0xbb]].concat(), 2),
            "found 2 more bytes",
        ),
        (
            "a key past the index's end",
            hand_built(&ab, &long_key, 2),
            "a key of 10 bytes",
        ),
        (
            "records but no entries",
            hand_built(&ab, &[], 0),
            "no record bytes in a table of no records",
        ),
        (
            "more entries than the records have bytes for",
            hand_built(
                &a,
                &[&index_entry(b"a", 0, crc_a)[..], &[0; 30]].concat(),
                2,
            ),
            "a count that fits 8 bytes of records",
        ),
    ];
    for (what, bytes, mentions) in cases {
        let err = expect_corruption(Table::open(&Disk::real(), &put(dir.path(), &bytes)), what);
        assert!(err.is_corruption(), "{what}: {err}");
        assert!(err.to_string().contains(mentions), "{what}: {err}");
    }
}

#[test]
fn records_that_disagree_with_a_valid_index_are_errors_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let (b, crc_b) = record(b"b", b"1");
    let padded = [&record(b"a", b"1").0[..], &[0]].concat();
    let (short, _) = record(b"a", b"12345");
    let short = &short[..8];
    let cases: Vec<(&str, Vec<u8>, u32, &str)> = vec![
        (
            "another key",
            b,
            crc_b,
            "the index does not match the records",
        ),
        (
            "a record shorter than its place",
            padded.clone(),
            crc32fast::hash(&padded),
            "up to the next one",
        ),
        (
            "a record longer than its place",
            short.to_vec(),
            crc32fast::hash(short),
            "a record of 12 bytes",
        ),
    ];
    for (what, records, crc, mentions) in cases {
        let bytes = hand_built(&records, &index_entry(b"a", 0, crc), 1);
        let table = Table::open(&Disk::real(), &put(dir.path(), &bytes)).unwrap();
        let err = expect_corruption(table.get(b"a"), what);
        assert!(err.to_string().contains(mentions), "{what}: {err}");
        expect_corruption(table.scan(&KeyRange::all()).next().unwrap(), what);
    }
}

#[test]
fn a_file_that_shrinks_after_open_is_an_error_on_read() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_table(dir.path());
    let entries = small_entries();
    let starts = record_starts(&entries);
    let path = put(dir.path(), &good);
    let table = Table::open(&Disk::real(), &path).unwrap();
    let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    // Into the last record: it alone is gone.
    file.set_len(starts[5] - 1).unwrap();
    let err = expect_corruption(table.get(b"date"), "cut into the last record");
    assert!(err.to_string().contains("the end of the file"), "{err}");
    assert_eq!(table.get(b"apple").unwrap(), Some(b"red".to_vec()));
    assert!(table.scan(&KeyRange::all()).any(|item| item.is_err()));
    // To nothing: every record is gone.
    file.set_len(0).unwrap();
    for (key, _) in &entries {
        expect_corruption(table.get(key), "cut to nothing");
    }
    expect_corruption(table.scan(&KeyRange::all()).next().unwrap(), "scan");
}

/// Random entries, in key order, with empty keys and values possible.
fn random_entries() -> impl Strategy<Value = Entries> {
    let key = prop::collection::vec(any::<u8>(), 0..8);
    let value = prop::collection::vec(any::<u8>(), 0..16);
    prop::collection::btree_map(key, value, 0..8).prop_map(|map| map.into_iter().collect())
}

fn encode(entries: &Entries) -> Vec<u8> {
    format::encode(entries.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Bytes overwritten anywhere: the original data or an error. Every
    /// byte lies under some checksum (a record's, the index's, the
    /// footer's) or is the magic, so damage that changed anything goes
    /// unnoticed only by a CRC-32 collision: about 1 in 2^32.
    #[test]
    fn random_overwrites_are_errors(
        entries in random_entries(),
        writes in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let good = encode(&entries);
        let mut bad = good.clone();
        for (at, byte) in writes {
            let i = at.index(bad.len());
            bad[i] = byte;
        }
        match read_all(&put(dir.path(), &bad), &entries) {
            Ok(read) => {
                prop_assert!(bad == good, "damage went unnoticed");
                prop_assert_eq!(read, [entries.clone(), entries]);
            }
            Err(e) => prop_assert!(e.is_corruption(), "{}", e),
        }
    }

    /// A cut anywhere, then garbage, and sometimes the original footer
    /// again (so that the magic and the footer checksum pass and the later
    /// checks must catch it): an error, unless the bytes are the original.
    #[test]
    fn truncation_and_garbage_are_errors(
        entries in random_entries(),
        cut in any::<prop::sample::Index>(),
        garbage in prop::collection::vec(any::<u8>(), 0..48),
        footer_again in any::<bool>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let good = encode(&entries);
        let mut bad = good[..cut.index(good.len() + 1)].to_vec();
        bad.extend_from_slice(&garbage);
        if footer_again {
            bad.extend_from_slice(&good[good.len() - FOOTER_LEN..]);
        }
        match read_all(&put(dir.path(), &bad), &entries) {
            Ok(read) => {
                prop_assert!(bad == good, "damage went unnoticed");
                prop_assert_eq!(read, [entries.clone(), entries]);
            }
            Err(e) => prop_assert!(e.is_corruption(), "{}", e),
        }
    }
}

#[cfg(unix)]
#[test]
fn a_scan_that_meets_a_damaged_record_ends_with_the_error_even_with_writes_after_it() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().unwrap();
    let mut store = FooterIndexStore::open(dir.path()).unwrap();
    for (key, value) in small_entries() {
        store.set(&key, &value).unwrap();
    }
    store.sync().unwrap();
    // Damage "apple"'s value in place, under the open store, and buffer a
    // write that sorts after every key of the table.
    let starts = record_starts(&small_entries());
    let file = fs::OpenOptions::new()
        .write(true)
        .open(dir.path().join(FILE_NAME))
        .unwrap();
    let apple_value = starts[1] + (RECORD_HEADER_LEN + b"apple".len()) as u64;
    file.write_all_at(b"X", apple_value).unwrap();
    store.set(b"zebra", b"buffered").unwrap();

    let items: Vec<_> = store.scan(KeyRange::all()).unwrap().collect();
    assert_eq!(
        items.len(),
        2,
        "the empty key, then the error, then nothing"
    );
    assert_eq!(items[0].as_ref().unwrap().0, b"".to_vec());
    assert!(items[1].as_ref().unwrap_err().is_corruption());
}
