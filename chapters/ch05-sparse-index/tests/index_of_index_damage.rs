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

fn hex(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > 8 { " …" } else { "" };
    format!("{}{more}", shown.join(" "))
}

/// One line per field or record, a heading per region: chapter 4's table
/// (records, full index, footer), then the top index and its footer.
fn annotated(bytes: &[u8]) -> String {
    use ch03_sorted_file::format::decode_record;
    use ch04_footer_index::format::{FOOTER_LEN, Footer, INDEX_ENTRY_HEADER_LEN};
    use ch04_footer_index::index::fields;
    use ch05_sparse_index::two_level::{SAMPLE_HEADER_LEN, TOP_FOOTER_LEN};
    use std::fmt::Write;

    let path = Path::new("x");
    let mut out = String::new();
    let mut line = |at: usize, len: usize, meaning: String| {
        let _ = writeln!(out, "{at:04x}  {:<26} {meaning}", hex(&bytes[at..at + len]));
    };
    let top_footer = bytes.len() - TOP_FOOTER_LEN;
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let top_offset = u64_at(top_footer);
    let table_footer = top_offset - FOOTER_LEN;
    let footer = Footer::decode(
        path,
        bytes[table_footer..top_offset].try_into().unwrap(),
        top_offset as u64,
    )
    .unwrap();
    let index_at = footer.index_offset as usize;
    line(
        0,
        0,
        format!("== chapter 4's records: 0000 to {:04x}", index_at - 1),
    );
    let mut at = 0;
    while at < index_at {
        let r = decode_record(path, &bytes[..index_at], at, 0).unwrap();
        let key = String::from_utf8_lossy(r.key);
        line(
            at,
            r.end - at,
            format!("record {key:?}, {} value bytes", r.value.len()),
        );
        at = r.end;
    }
    line(
        index_at,
        0,
        format!(
            "== chapter 4's full index: {index_at:04x} to {:04x}",
            table_footer - 1
        ),
    );
    let mut at = index_at;
    while at < table_footer {
        let (key_len, offset, _) = fields(&bytes[index_at..table_footer], at - index_at);
        let key_at = at + INDEX_ENTRY_HEADER_LEN;
        let key = String::from_utf8_lossy(&bytes[key_at..key_at + key_len]);
        line(
            at,
            INDEX_ENTRY_HEADER_LEN + key_len,
            format!("entry {key:?}: record at {offset}"),
        );
        at = key_at + key_len;
    }
    line(
        table_footer,
        FOOTER_LEN,
        "== chapter 4's footer (40 bytes)".into(),
    );
    line(
        top_offset,
        0,
        format!("== top index: {top_offset:04x} to {:04x}", top_footer - 1),
    );
    let mut at = top_offset;
    let mut n = 0;
    while top_footer - at != 2 + usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]])) {
        let key_len = usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]));
        line(at, 2, format!("sample {n}: key length {key_len}"));
        line(
            at + 2,
            8,
            format!("sample {n}: place in the full index {}", u64_at(at + 2)),
        );
        line(
            at + 10,
            8,
            format!("sample {n}: record offset {}", u64_at(at + 10)),
        );
        line(at + 18, 4, format!("sample {n}: CRC-32 of its slice"));
        let key = String::from_utf8_lossy(
            &bytes[at + SAMPLE_HEADER_LEN..at + SAMPLE_HEADER_LEN + key_len],
        );
        line(
            at + SAMPLE_HEADER_LEN,
            key_len,
            format!("sample {n}: key {key:?}"),
        );
        at += SAMPLE_HEADER_LEN + key_len;
        n += 1;
    }
    line(at, 2, "the last key's length".into());
    let last = String::from_utf8_lossy(&bytes[at + 2..top_footer]);
    line(
        at + 2,
        top_footer - at - 2,
        format!("the last key {last:?}"),
    );
    line(
        top_footer,
        0,
        format!("== top footer: {top_footer:04x} to {:04x}", bytes.len() - 1),
    );
    line(top_footer, 8, format!("top index offset {top_offset}"));
    line(
        top_footer + 8,
        8,
        format!("top index length {}", u64_at(top_footer + 8)),
    );
    line(top_footer + 16, 4, "CRC-32 of the top index".into());
    line(top_footer + 20, 4, "sampling interval".into());
    line(top_footer + 24, 2, "format version 1".into());
    line(top_footer + 26, 2, "reserved".into());
    line(
        top_footer + 28,
        4,
        "CRC-32 of the footer's first 28 bytes".into(),
    );
    line(top_footer + 32, 4, "magic \"KVII\"".into());
    out
}

#[test]
fn a_small_two_level_table_annotated() {
    insta::assert_snapshot!("two_level_annotated", annotated(&table_bytes()));
}
