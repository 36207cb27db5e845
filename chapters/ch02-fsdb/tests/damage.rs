//! Damage inside an entry file: every flipped bit and every truncation of a
//! small store's files is an error naming the file, never a wrong value and
//! never a key that silently went missing; and files of the format before
//! the checksum are refused, not misread.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use ch00_contract::{Error, KeyRange, KvStore, Result};
use ch02_fsdb::FsStore;
use ch02_fsdb::content;
use ch02_fsdb::hash::key_hash;
use ch02_fsdb::layout::Slot;

fn path_of(dir: &Path, key: &[u8]) -> PathBuf {
    Slot {
        hash: key_hash(key, 64),
        index: 0,
    }
    .path(dir)
}

/// The entries of the small store the tests damage: text with a non-ASCII
/// character, an empty value, and bytes that are not UTF-8 (stored as hex).
fn entries() -> Vec<(&'static [u8], Vec<u8>)> {
    vec![
        (b"user:1", "Ada Lovelace, née Byron".as_bytes().to_vec()),
        (b"empty", Vec::new()),
        (b"\x00\xffbinary", vec![0xde, 0xad, 0xbe, 0xef, 0x00]),
    ]
}

/// A store in a new directory holding [`entries`], synced and closed.
fn small_store() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    for (key, value) in entries() {
        store.set(key, &value).unwrap();
    }
    store.sync().unwrap();
    dir
}

/// What a newly opened store in `dir` answers for `key`, by `get` and by a
/// scan of every key; or the error of the open alone, if it fails.
fn read_back(dir: &Path, key: &[u8]) -> Vec<Result<Option<Vec<u8>>>> {
    let scanned = |store: &FsStore| -> Result<Option<Vec<u8>>> {
        let all: Vec<_> = store.scan(KeyRange::all())?.collect::<Result<_>>()?;
        Ok(all.into_iter().find(|(k, _)| k == key).map(|(_, v)| v))
    };
    match FsStore::open(dir) {
        Ok(store) => vec![store.get(key), scanned(&store)],
        Err(e) => vec![Err(e)],
    }
}

/// Asserts that `result`, read from a damaged copy of the file at `path`
/// (`len` bytes long) that held `value`, is a corruption error naming the
/// file: not a wrong value, not a missing key, and not even the right
/// value, since the format promises to notice all such damage. `damage`
/// says what was done to the file, for the failure message.
fn assert_detected(
    result: Result<Option<Vec<u8>>>,
    path: &Path,
    len: usize,
    value: &[u8],
    damage: &str,
) {
    match result {
        Err(Error::Corruption {
            path: p, offset, ..
        }) if p == path => {
            assert!(
                offset <= len as u64,
                "{damage}: offset {offset} past the end"
            );
        }
        Err(other) => panic!("{damage}: not a corruption error naming the file: {other}"),
        Ok(Some(v)) if v == value => panic!("{damage}: went unnoticed (the value survived)"),
        Ok(Some(v)) => panic!(
            "{damage}: a wrong value with no error: {:?}, not {:?}",
            String::from_utf8_lossy(&v),
            String::from_utf8_lossy(value)
        ),
        Ok(None) => panic!("{damage}: the key silently went missing"),
    }
}

/// Asserts that every value of [`entries`] reads back as it was written.
fn assert_intact(dir: &Path) {
    for (key, value) in entries() {
        for result in read_back(dir, key) {
            assert_eq!(result.unwrap(), Some(value.clone()));
        }
    }
}

// ANCHOR: every_bit
#[test]
fn every_flipped_bit_is_an_error_never_a_wrong_value() {
    let dir = small_store();
    for (key, value) in entries() {
        let path = path_of(dir.path(), key);
        let original = fs::read(&path).unwrap();
        for offset in 0..original.len() {
            for bit in 0..8 {
                let mut damaged = original.clone();
                damaged[offset] ^= 1 << bit;
                fs::write(&path, &damaged).unwrap();
                let damage = format!("{} with bit {bit} of byte {offset} flipped", path.display());
                for result in read_back(dir.path(), key) {
                    assert_detected(result, &path, original.len(), &value, &damage);
                }
            }
        }
        fs::write(&path, &original).unwrap();
    }
    assert_intact(dir.path());
}
// ANCHOR_END: every_bit

#[test]
fn every_truncation_is_an_error_never_a_wrong_value_or_a_missing_key() {
    let dir = small_store();
    for (key, value) in entries() {
        let path = path_of(dir.path(), key);
        let original = fs::read(&path).unwrap();
        // From an empty file, which must not pass for an absent key, to a
        // file that lacks only its final newline.
        for len in 0..original.len() {
            fs::write(&path, &original[..len]).unwrap();
            let damage = format!("{} cut to {len} bytes", path.display());
            for result in read_back(dir.path(), key) {
                assert_detected(result, &path, len, &value, &damage);
            }
        }
        fs::write(&path, &original).unwrap();
    }
    assert_intact(dir.path());
}

#[test]
fn an_entry_without_a_checksum_is_refused() {
    // A file of format version 1, copied into a store of version 2.
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store.set(b"k", b"value").unwrap();
    let path = path_of(dir.path(), b"k");
    fs::write(&path, b"[\"value\",\"k\"]\n").unwrap();
    let err = store.get(b"k").unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { path: p, .. } if *p == path),
        "{err}"
    );
    for words in ["no checksum", "version 1", "version 2"] {
        assert!(err.to_string().contains(words), "{err}");
    }
}

#[test]
fn a_store_of_format_version_1_is_refused_at_open() {
    // What version 1 wrote: its marker, and entries without a checksum.
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("fsdb.json");
    fs::write(
        &marker,
        b"{\"format\":\"ch02-fsdb\",\"version\":1,\"hash\":\"xxh3-64\",\"hash_bits\":64}",
    )
    .unwrap();
    let path = path_of(dir.path(), b"k");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, b"[\"value\",\"k\"]\n").unwrap();
    let err = FsStore::open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, Error::Corruption { path: p, .. } if *p == marker),
        "{err}"
    );
    for words in ["version 1", "version 2"] {
        assert!(err.to_string().contains(words), "{err}");
    }
    // Refused, not converted: the entry is as it was.
    assert_eq!(fs::read(&path).unwrap(), b"[\"value\",\"k\"]\n");
}

/// The file the format's description calls for, made here from that
/// description (the CRC-32 of every byte before `{"crc32"`) rather than by
/// the store's own code.
fn by_hand(covered: &str) -> String {
    let crc = crc32fast::hash(covered.as_bytes());
    format!("{covered}{{\"crc32\":\"{crc:08x}\"}}]\n")
}

#[test]
fn a_file_made_from_the_format_description_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    store.set(b"user:1", b"Ada").unwrap();
    let path = path_of(dir.path(), b"user:1");
    // The store writes exactly what the description says.
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        by_hand("[\"Ada\",\"user:1\",")
    );
    assert_eq!(
        content::encode(b"user:1", b"Ada").unwrap(),
        by_hand("[\"Ada\",\"user:1\",").as_bytes()
    );
    // A hand edit is read once its checksum is recomputed, and only then.
    fs::write(&path, by_hand("[\"Ada Lovelace\",\"user:1\",")).unwrap();
    assert_eq!(
        store.get(b"user:1").unwrap(),
        Some(b"Ada Lovelace".to_vec())
    );
    let stale = by_hand("[\"Ada\",\"user:1\",").replace("Ada", "Eve");
    fs::write(&path, stale).unwrap();
    assert!(store.get(b"user:1").unwrap_err().is_corruption());
}
