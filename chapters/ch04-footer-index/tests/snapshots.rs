//! The format, pinned: the bytes of a three-key table, as a plain hex dump
//! and annotated field by field with its three regions (records, index,
//! footer) marked.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::fmt::Write;
use std::path::Path;

use ch03_sorted_file::format::decode_record;
use ch04_footer_index::format::{FOOTER_LEN, Footer, INDEX_ENTRY_HEADER_LEN, RECORD_HEADER_LEN};
use ch04_footer_index::{FILE_NAME, FooterIndexStore};

#[path = "../../ch03-sorted-file/tests/support/mod.rs"]
mod support;
use support::hex;

fn int(bytes: &[u8]) -> u64 {
    let mut out = [0; 8];
    out[..bytes.len()].copy_from_slice(bytes);
    u64::from_le_bytes(out)
}

/// One line per field: offset, bytes, meaning; a heading per region.
fn annotated(bytes: &[u8]) -> String {
    let mut out = String::new();
    let footer_at = bytes.len() - FOOTER_LEN;
    let footer = Footer::decode(
        Path::new("x"),
        bytes[footer_at..].try_into().unwrap(),
        bytes.len() as u64,
    )
    .unwrap();
    let mut line = |at: usize, len: usize, meaning: String| {
        let _ = writeln!(out, "{at:04x}  {:<30} {meaning}", hex(&bytes[at..at + len]));
    };
    let records_end = footer.index_offset as usize;
    line(0, 0, format!("== records: 0000 to {:04x}", records_end - 1));
    let mut at = 0;
    let mut i = 0;
    while at < records_end {
        let r = decode_record(Path::new("x"), &bytes[..records_end], at, 0).unwrap();
        line(at, 2, format!("record {i}: key length {}", r.key.len()));
        line(
            at + 2,
            4,
            format!("record {i}: value length {}", r.value.len()),
        );
        let key_at = at + RECORD_HEADER_LEN;
        line(
            key_at,
            r.key.len(),
            format!("key {:?}", String::from_utf8_lossy(r.key)),
        );
        line(
            key_at + r.key.len(),
            r.value.len(),
            format!("value {:?}", String::from_utf8_lossy(r.value)),
        );
        at = r.end;
        i += 1;
    }
    line(
        at,
        0,
        format!("== index: {at:04x} to {:04x}", footer_at - 1),
    );
    for i in 0..footer.count {
        let key_len = int(&bytes[at..at + 2]) as usize;
        line(at, 2, format!("entry {i}: key length {key_len}"));
        line(
            at + 2,
            8,
            format!(
                "entry {i}: record offset {:04x}",
                int(&bytes[at + 2..at + 10])
            ),
        );
        line(at + 10, 4, format!("entry {i}: CRC-32 of the record"));
        let key_at = at + INDEX_ENTRY_HEADER_LEN;
        line(
            key_at,
            key_len,
            format!(
                "key {:?}",
                String::from_utf8_lossy(&bytes[key_at..key_at + key_len])
            ),
        );
        at = key_at + key_len;
    }
    let f = footer_at;
    line(
        f,
        0,
        format!("== footer: {f:04x} to {:04x}", bytes.len() - 1),
    );
    line(f, 8, format!("index offset {:04x}", footer.index_offset));
    line(f + 8, 8, format!("index length {}", footer.index_len));
    line(f + 16, 8, format!("entry count {}", footer.count));
    line(f + 24, 4, "CRC-32 of the index".into());
    line(f + 28, 2, "version 1".into());
    line(f + 30, 2, "reserved".into());
    line(
        f + 32,
        4,
        format!("CRC-32 of bytes {f:04x} to {:04x}", f + 31),
    );
    line(f + 36, 4, "magic \"KVFI\"".into());
    out
}

#[test]
fn three_keys() {
    // The same three keys as chapter 3's snapshot: the records are
    // byte for byte chapter 3's, without its header.
    let bytes = support::three_keys_file::<FooterIndexStore>(FILE_NAME);
    insta::assert_snapshot!("three_keys_hex", ch00_contract::hex_dump(&bytes));
    insta::assert_snapshot!("three_keys_annotated", annotated(&bytes));
}
