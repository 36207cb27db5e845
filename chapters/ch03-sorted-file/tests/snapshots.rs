//! The format, pinned: the bytes of a three-key file, as a plain hex dump
//! and annotated field by field.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::fmt::Write;
use std::path::Path;

use ch03_sorted_file::format::{CHECKSUM_LEN, HEADER_LEN, RECORD_HEADER_LEN, decode_record};
use ch03_sorted_file::{FILE_NAME, SortedFileStore};

mod support;
use support::hex;

/// One line per field: offset, bytes, meaning.
fn annotated(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut line = |at: usize, field: &[u8], meaning: String| {
        let _ = writeln!(out, "{at:04x}  {:<30} {meaning}", hex(field));
    };
    line(0, &bytes[0..4], "magic \"KVSF\"".into());
    line(4, &bytes[4..6], "version 1".into());
    line(6, &bytes[6..8], "reserved".into());
    let count = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
    line(8, &bytes[8..16], format!("record count {count}"));
    let body = &bytes[..bytes.len() - CHECKSUM_LEN];
    let mut at = HEADER_LEN;
    for i in 0..count {
        let r = decode_record(Path::new("x"), body, at, 0).unwrap();
        line(
            at,
            &bytes[at..at + 2],
            format!("record {i}: key length {}", r.key.len()),
        );
        line(
            at + 2,
            &bytes[at + 2..at + RECORD_HEADER_LEN],
            format!("record {i}: value length {}", r.value.len()),
        );
        let key_at = at + RECORD_HEADER_LEN;
        line(
            key_at,
            r.key,
            format!("key {:?}", String::from_utf8_lossy(r.key)),
        );
        line(
            key_at + r.key.len(),
            r.value,
            format!("value {:?}", String::from_utf8_lossy(r.value)),
        );
        at = r.end;
    }
    line(
        at,
        &bytes[at..],
        format!("CRC-32 of bytes 0000 to {:04x}", at - 1),
    );
    out
}

#[test]
fn three_keys() {
    let bytes = support::three_keys_file::<SortedFileStore>(FILE_NAME);
    insta::assert_snapshot!("three_keys_hex", ch00_contract::hex_dump(&bytes));
    insta::assert_snapshot!("three_keys_annotated", annotated(&bytes));
}
