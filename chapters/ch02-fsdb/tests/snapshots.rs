//! The on-disk format, pinned: the exact names and contents of a small
//! store's files, and the errors a damaged file reads as. A change to the
//! format shows up here as a reviewed diff.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use ch00_contract::KvStore;
use ch02_fsdb::hash::key_hash;
use ch02_fsdb::{FsStore, Options};

/// Every file under `root`, sorted: its path, then its content indented on
/// the next line (so that the book's listing fits 80 columns).
fn listing(root: &Path) -> String {
    let mut files: Vec<String> = walkdir::WalkDir::new(root)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let name = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let content = String::from_utf8(std::fs::read(e.path()).unwrap()).unwrap();
            match content.trim_end() {
                "" => format!("{name}\n    (empty)"),
                text => format!("{name}\n    {text}"),
            }
        })
        .collect();
    files.sort();
    files.join("\n")
}

#[test]
fn files_of_a_small_store() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store
        .set(b"user:1", "Ada Lovelace, née Byron".as_bytes())
        .unwrap();
    store
        .set(b"\x00\xffbinary key", &[0xde, 0xad, 0xbe, 0xef])
        .unwrap();
    store.set(b"", b"the empty key").unwrap();
    insta::assert_snapshot!(listing(dir.path()));
    // One file byte for byte: UTF-8 as it is, and the final newline.
    let path = dir.path().join("3b/3b577afd7fed9501.json");
    insta::assert_snapshot!(
        "one_file_bytes",
        ch00_contract::hex_dump(&std::fs::read(path).unwrap())
    );
}

#[test]
fn files_of_a_colliding_pair() {
    // Two keys whose 8-bit hashes are equal, found by search: the second
    // one goes to slot 1 of the same name.
    let target = key_hash(b"key-0", 8);
    let second = (1..)
        .map(|i| format!("key-{i}"))
        .find(|k| key_hash(k.as_bytes(), 8) == target)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        hash_bits: 8,
        ..Options::default()
    };
    let mut store = FsStore::open_with(dir.path(), &options).unwrap();
    store.set(b"key-0", b"first").unwrap();
    store.set(second.as_bytes(), b"second").unwrap();
    insta::assert_snapshot!(listing(dir.path()));
}

/// `text` with its spaces turned into line breaks where a line would pass
/// `width` columns, so that the snapshot fits on a page of the book.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut column = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if column > 0 && column + 1 + len > width {
            out.push('\n');
            column = 0;
        } else if column > 0 {
            out.push(' ');
            column += 1;
        }
        out.push_str(word);
        column += len;
    }
    out
}

#[test]
fn what_a_damaged_file_reads_as() {
    // The errors a reader sees for one file: a bit flipped in the value
    // (`A` became `a`), the file cut short, and an entry of format
    // version 1, which had no checksum.
    let path = std::path::Path::new("/store/3b/3b577afd7fed9501.json");
    let good = ch02_fsdb::content::encode(b"user:1", b"Ada Lovelace").unwrap();
    let mut flipped = good.clone();
    flipped[2] ^= 0x20;
    let cut = &good[..good.len() - 5];
    let old = b"[\"Ada Lovelace\",\"user:1\"]\n";
    let errors: Vec<String> = [&flipped[..], cut, old]
        .into_iter()
        .map(|bytes| {
            let err = ch02_fsdb::content::decode(path, bytes).unwrap_err();
            wrap(&err.to_string(), 78)
        })
        .collect();
    insta::assert_snapshot!(errors.join("\n\n"));
}
