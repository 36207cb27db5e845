//! What the store does when its files are not what it wrote: a crash in
//! the middle of a write, damaged or foreign files, a foreign directory.
//! Every case is an error naming the file, or the old value; never a panic
//! and never a wrong value.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use ch00_contract::{Error, KeyRange, KvStore, Stage};
use ch02_fsdb::FsStore;
use ch02_fsdb::hash::key_hash;
use ch02_fsdb::layout::Slot;
use ch02_fsdb::marker::VERSION;
use disk::{Disk, atomic};

fn path_of(dir: &Path, key: &[u8]) -> PathBuf {
    Slot {
        hash: key_hash(key, 64),
        index: 0,
    }
    .path(dir)
}

/// Asserts that `result` is a corruption error about `path`.
fn assert_corruption<T: std::fmt::Debug>(result: ch00_contract::Result<T>, path: &Path) {
    match result {
        Err(err @ Error::Corruption { .. }) => {
            assert!(err.to_string().contains(&*path.to_string_lossy()), "{err}");
        }
        other => panic!(
            "expected a corruption error about {}, got {other:?}",
            path.display()
        ),
    }
}

fn scan_all(store: &FsStore) -> ch00_contract::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    store.scan(KeyRange::all())?.collect()
}

// ANCHOR: crash_test
#[test]
fn a_crash_between_temp_write_and_rename_keeps_the_old_value() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store.set(b"k", b"old").unwrap();
    store.sync().unwrap();

    // The state a crash leaves when it strikes after `replace` wrote the
    // temporary file (here only half of it) and before the rename: for an
    // existing key, and for a key that was never stored.
    let path = path_of(dir.path(), b"k");
    atomic::write_file(&Disk::real(), &atomic::temp_path(&path), b"[\"ne").unwrap();
    let new_path = path_of(dir.path(), b"new");
    fs::create_dir_all(new_path.parent().unwrap()).unwrap();
    atomic::write_file(
        &Disk::real(),
        &atomic::temp_path(&new_path),
        b"[\"v\",\"new\"]",
    )
    .unwrap();
    store.simulate_crash();

    let store = FsStore::open(dir.path()).unwrap();
    assert_eq!(store.get(b"k").unwrap(), Some(b"old".to_vec()));
    assert_eq!(store.get(b"new").unwrap(), None);
    assert_eq!(store.len().unwrap(), 1);
    // The open removed both leftovers.
    assert!(!atomic::temp_path(&path).exists());
    assert!(!atomic::temp_path(&new_path).exists());
}
// ANCHOR_END: crash_test

#[test]
fn damaged_content_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store.set(b"k", b"value").unwrap();
    let path = path_of(dir.path(), b"k");
    for content in [
        &b""[..],
        b"[\"value\",\"k",
        b"not json",
        b"[\"value\"]",
        b"[1,2]",
    ] {
        fs::write(&path, content).unwrap();
        assert_corruption(store.get(b"k"), &path);
        assert_corruption(scan_all(&store), &path);
        // A write over a damaged file is refused too: it would have to
        // guess whether the file held this key.
        assert_corruption(store.set(b"k", b"new"), &path);
    }
}

#[test]
fn a_file_under_another_keys_name_is_not_read_as_that_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store.set(b"a", b"value of a").unwrap();
    // Copied by hand to where key "b" would live.
    let b_path = path_of(dir.path(), b"b");
    fs::create_dir_all(b_path.parent().unwrap()).unwrap();
    fs::copy(path_of(dir.path(), b"a"), &b_path).unwrap();
    assert_corruption(store.get(b"b"), &b_path);
    assert_corruption(scan_all(&store), &b_path);
}

#[test]
fn the_same_key_in_two_files_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store.set(b"a", b"old").unwrap();
    let first = path_of(dir.path(), b"a");
    let second = Slot {
        hash: key_hash(b"a", 64),
        index: 1,
    }
    .path(dir.path());
    fs::copy(&first, &second).unwrap();
    assert_corruption(scan_all(&store), &second);
    // A delete would bring the stale copy back to life: refused.
    store.set(b"a", b"new").unwrap();
    assert_corruption(store.delete(b"a"), &second);
    assert_eq!(store.get(b"a").unwrap(), Some(b"new".to_vec()));
}

#[test]
fn a_damaged_slot_in_a_collision_chain_is_an_error_for_the_keys_behind_it() {
    let dir = tempfile::tempdir().unwrap();
    let options = ch02_fsdb::Options {
        hash_bits: 0,
        ..Default::default()
    };
    let mut store = FsStore::open_with(dir.path(), &options).unwrap();
    for key in [b"a", b"b", b"c"] {
        store.set(key, key).unwrap();
    }
    let middle = Slot { hash: 0, index: 1 }.path(dir.path());
    fs::write(&middle, b"[\"b\"").unwrap();
    assert_eq!(store.get(b"a").unwrap(), Some(b"a".to_vec()));
    assert_corruption(store.get(b"c"), &middle);
    assert_corruption(store.get(b"absent"), &middle);
}

#[test]
fn oversized_entries_read_back_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store.set(b"k", b"v").unwrap();
    let path = path_of(dir.path(), b"k");
    // A value past the contract's limit, as a hand edit could make it,
    // checksum and all.
    let big = "x".repeat(ch00_contract::MAX_VALUE_LEN + 1);
    let covered = format!("[\"{big}\",\"k\",");
    let crc = crc32fast::hash(covered.as_bytes());
    fs::write(&path, format!("{covered}{{\"crc32\":\"{crc:08x}\"}}]\n")).unwrap();
    let err = store.get(b"k").unwrap_err();
    assert!(err.to_string().contains("a value of at most"), "{err}");
    // A file longer than any entry can be is refused before it is parsed.
    let huge = vec![b' '; ch02_fsdb::content::MAX_FILE_LEN as usize + 1];
    fs::write(&path, huge).unwrap();
    assert_corruption(store.get(b"k"), &path);
}

#[test]
fn temporary_files_that_are_not_the_stores_are_not_deleted() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("thesis.tmp"), b"precious").unwrap();
    assert!(FsStore::open(dir.path()).is_err());
    assert!(dir.path().join("thesis.tmp").exists());

    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store.set(b"k", b"v").unwrap();
    drop(store);
    let fan_out = path_of(dir.path(), b"k").parent().unwrap().to_path_buf();
    let foreign = fan_out.join("draft.tmp");
    fs::write(&foreign, b"precious").unwrap();
    let result = FsStore::open(dir.path());
    assert!(matches!(&result, Err(Error::Corruption { path, .. }) if *path == foreign));
    assert!(foreign.exists());
}

/// Where a test puts a file or directory the store did not write.
type StrayAt = fn(&Path) -> PathBuf;

#[test]
fn stray_files_and_gaps_are_errors_at_open() {
    let cases: [(&str, StrayAt); 5] = [
        ("a stray file in a fan-out directory", |root| {
            root.join(path_of(root, b"a").parent().unwrap())
                .join("notes.txt")
        }),
        ("a stray file at the root", |root| root.join("README")),
        ("a directory that is not a fan-out directory", |root| {
            root.join("backup")
        }),
        ("a slot file in the wrong fan-out directory", |root| {
            let name = path_of(root, b"a").file_name().unwrap().to_owned();
            let wrong = if name.to_string_lossy().starts_with("00") {
                "01"
            } else {
                "00"
            };
            root.join(wrong).join(name)
        }),
        ("a gap in the slots of a hash", |root| {
            Slot {
                hash: key_hash(b"a", 64),
                index: 2,
            }
            .path(root)
        }),
    ];
    for (what, stray) in cases {
        let dir = tempfile::tempdir().unwrap();
        let mut store = FsStore::open(dir.path()).unwrap();
        store.set(b"a", b"1").unwrap();
        drop(store);
        let path = stray(dir.path());
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        if what.starts_with("a directory") {
            fs::create_dir(&path).unwrap();
        } else {
            fs::write(&path, b"[\"1\",\"a\"]").unwrap();
        }
        let result = FsStore::open(dir.path());
        assert!(
            matches!(&result, Err(Error::Corruption { path: p, .. }) if *p == path),
            "{what}: {:?}",
            result.err()
        );
    }
}

#[test]
fn the_marker_is_checked() {
    // The current version, and the next, which this code cannot read.
    let (v, next) = (VERSION, VERSION + 1);
    let cases = [
        (
            // Whole but for its format: the error names the format wanted.
            format!(
                "{{\"format\":\"something-else\",\"version\":{v},\"hash\":\"xxh3-64\",\"hash_bits\":64}}"
            ),
            "format \"ch02-fsdb\"".to_owned(),
        ),
        (
            format!("{{\"format\":\"ch02-fsdb\",\"version\":{next},\"compression\":\"zstd\"}}"),
            format!("version {next}"),
        ),
        (
            format!("{{\"format\":\"ch02-fsdb\",\"version\":{v}}}"),
            "hash".to_owned(),
        ),
        (
            format!(
                "{{\"format\":\"ch02-fsdb\",\"version\":{v},\"hash\":\"md5\",\"hash_bits\":64}}"
            ),
            "md5".to_owned(),
        ),
        ("garbage".to_owned(), "expected".to_owned()),
    ];
    for (marker, mentions) in cases {
        let dir = tempfile::tempdir().unwrap();
        drop(FsStore::open(dir.path()).unwrap());
        let path = dir.path().join("fsdb.json");
        fs::write(&path, &marker).unwrap();
        let err = FsStore::open(dir.path()).unwrap_err();
        assert!(err.is_corruption(), "{marker}: {err}");
        assert!(err.to_string().contains(&mentions), "{marker}: {err}");
        assert!(err.to_string().contains("fsdb.json"), "{marker}: {err}");
    }
}

#[test]
fn a_directory_that_is_not_a_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("thesis.tex"), b"precious").unwrap();
    let err = FsStore::open(dir.path()).unwrap_err();
    assert!(err.to_string().contains("thesis.tex"), "{err}");
    // Nothing was written into it.
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_leftover_marker_temp_file_does_not_block_creation() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("fsdb.json.tmp"), b"{\"form").unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store.set(b"k", b"v").unwrap();
    drop(store);
    let store = FsStore::open(dir.path()).unwrap();
    assert_eq!(store.get(b"k").unwrap(), Some(b"v".to_vec()));
    assert!(!dir.path().join("fsdb.json.tmp").exists());
}

#[test]
fn sync_after_deleting_an_unsynced_file_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store.set(b"gone", b"1").unwrap();
    store.delete(b"gone").unwrap();
    store.set(b"kept", b"2").unwrap();
    store.sync().unwrap();
    assert_eq!(store.len().unwrap(), 1);
}
