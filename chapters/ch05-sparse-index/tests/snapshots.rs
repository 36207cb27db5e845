//! The format, pinned: the bytes of a small block table, as a plain hex
//! dump and annotated field by field with its regions (data blocks, index
//! block, meta section, footer) marked.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::fmt::Write;
use std::path::Path;

use ch05_sparse_index::block::{BLOCK_TRAILER_LEN, ENTRY_HEADER_LEN, decode_entry};
use ch05_sparse_index::format::{
    BlockIndex, FOOTER_LEN, Footer, INDEX_ENTRY_HEADER_LEN, INDEX_HEADER_LEN,
};
use ch05_sparse_index::table::encode;

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Four entries (a value, an empty value, a tombstone, a value) in blocks
/// of 40 bytes: two blocks of two.
fn small_table() -> Vec<u8> {
    let entries: [(&[u8], Option<&[u8]>); 4] = [
        (b"apple", Some(b"red")),
        (b"banana", Some(b"")),
        (b"cherry", None),
        (b"date", Some(b"brown")),
    ];
    encode(entries, 40).unwrap()
}

/// One line per field: offset, bytes, meaning; a heading per region.
fn annotated(bytes: &[u8]) -> String {
    let path = Path::new("x");
    let mut out = String::new();
    let footer_at = bytes.len() - FOOTER_LEN;
    let footer = Footer::decode(
        path,
        bytes[footer_at..].try_into().unwrap(),
        bytes.len() as u64,
    )
    .unwrap();
    let start = footer.index_offset as usize;
    let index =
        BlockIndex::decode(path, &bytes[start..footer.meta_offset as usize], &footer).unwrap();
    let mut line = |at: usize, len: usize, meaning: String| {
        let _ = writeln!(out, "{at:04x}  {:<24} {meaning}", hex(&bytes[at..at + len]));
    };
    for (b, handle) in index.blocks.iter().enumerate() {
        let at = handle.offset as usize;
        let end = at + handle.len as usize;
        line(
            at,
            0,
            format!("== data block {b}: {at:04x} to {:04x}", end - 1),
        );
        let entries = &bytes[at..end - BLOCK_TRAILER_LEN];
        let mut pos = 0;
        while pos < entries.len() {
            let span = decode_entry(path, entries, pos, 0).unwrap();
            let e = span.entry(entries);
            let kind = if e.value.is_some() {
                "a value"
            } else {
                "a tombstone"
            };
            line(at + pos, 1, format!("kind: {kind}"));
            line(at + pos + 1, 2, format!("key length {}", e.key.len()));
            line(
                at + pos + 3,
                4,
                format!("value length {}", e.value.map_or(0, <[u8]>::len)),
            );
            let key_at = at + pos + ENTRY_HEADER_LEN;
            line(
                key_at,
                e.key.len(),
                format!("key {:?}", String::from_utf8_lossy(e.key)),
            );
            if let Some(v) = e.value {
                line(
                    key_at + e.key.len(),
                    v.len(),
                    format!("value {:?}", String::from_utf8_lossy(v)),
                );
            }
            pos = span.next;
        }
        line(
            end - BLOCK_TRAILER_LEN,
            BLOCK_TRAILER_LEN,
            "CRC-32 of the block's entries".into(),
        );
    }
    let end = footer.meta_offset as usize;
    line(
        start,
        0,
        format!("== index block: {start:04x} to {:04x}", end - 1),
    );
    line(start, 8, format!("entry count {}", index.count));
    line(
        start + 8,
        2,
        format!("first key length {}", index.first_key.len()),
    );
    line(
        start + INDEX_HEADER_LEN,
        index.first_key.len(),
        format!("first key {:?}", String::from_utf8_lossy(&index.first_key)),
    );
    let mut at = start + INDEX_HEADER_LEN + index.first_key.len();
    for (b, handle) in index.blocks.iter().enumerate() {
        line(
            at,
            2,
            format!("block {b}: last key length {}", handle.last_key.len()),
        );
        line(at + 2, 8, format!("block {b}: offset {}", handle.offset));
        line(at + 10, 4, format!("block {b}: length {}", handle.len));
        line(at + 14, 4, format!("block {b}: entries {}", handle.entries));
        line(
            at + INDEX_ENTRY_HEADER_LEN,
            handle.last_key.len(),
            format!(
                "block {b}: last key {:?}",
                String::from_utf8_lossy(&handle.last_key)
            ),
        );
        at += INDEX_ENTRY_HEADER_LEN + handle.last_key.len();
    }
    line(
        end,
        0,
        format!("== meta section: {} bytes (for chapter 6)", footer.meta_len),
    );
    line(
        footer_at,
        0,
        format!("== footer: {footer_at:04x} to {:04x}", bytes.len() - 1),
    );
    line(
        footer_at,
        8,
        format!("index offset {}", footer.index_offset),
    );
    line(
        footer_at + 8,
        8,
        format!("index length {}", footer.index_len),
    );
    line(footer_at + 16, 4, "CRC-32 of the index block".into());
    line(
        footer_at + 20,
        8,
        format!("meta offset {}", footer.meta_offset),
    );
    line(
        footer_at + 28,
        8,
        format!("meta length {}", footer.meta_len),
    );
    line(footer_at + 36, 2, "format version 1".into());
    line(footer_at + 38, 2, "reserved".into());
    line(
        footer_at + 40,
        4,
        "CRC-32 of the footer's first 40 bytes".into(),
    );
    line(footer_at + 44, 4, "magic \"KVBT\"".into());
    out
}

#[test]
fn a_small_table_byte_by_byte() {
    let bytes = small_table();
    insta::assert_snapshot!("small_table_hex", ch00_contract::hex_dump(&bytes));
    insta::assert_snapshot!("small_table_annotated", annotated(&bytes));
}
