//! What one operation costs in files read: deterministic counts the
//! benchmarks report and these tests pin.

use ch00_contract::{KeyRange, KvStore};
use ch02_fsdb::FsStore;

fn reads(store: &FsStore) -> (u64, u64) {
    let m = store.metrics();
    (m.reads.unwrap_or(0), m.bytes_read.unwrap_or(0))
}

#[test]
fn a_get_reads_one_file_and_a_scan_reads_them_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    for i in 0..200u32 {
        store
            .set(format!("key-{i:03}").as_bytes(), b"value")
            .unwrap();
    }
    let (r0, b0) = reads(&store);
    assert!(
        store.metrics().reads.is_some(),
        "the stage counts its reads"
    );

    // One file per lookup, present or not (an absent key's file simply
    // does not open, which reads nothing).
    assert_eq!(store.get(b"key-007").unwrap(), Some(b"value".to_vec()));
    let (r1, b1) = reads(&store);
    assert_eq!(r1 - r0, 1);
    let file = ch02_fsdb::content::encode(b"key-007", b"value").unwrap();
    assert_eq!(b1 - b0, file.len() as u64);
    assert_eq!(store.get(b"key-xyz").unwrap(), None);
    assert_eq!(reads(&store).0, r1);

    // A scan of 10 keys reads all 200 files to find them, then the 10 again.
    let range = KeyRange::new(b"key-010".to_vec()..b"key-020".to_vec());
    assert_eq!(store.scan(range).unwrap().count(), 10);
    assert_eq!(reads(&store).0 - r1, 200 + 10);
    assert_eq!(store.metrics().index_bytes, Some(0));
}

#[test]
fn disk_use_is_counted_in_blocks_against_logical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FsStore::open(dir.path()).unwrap();
    for i in 0..50u32 {
        store
            .set(format!("key-{i:03}").as_bytes(), &[7; 100])
            .unwrap();
    }
    store.delete(b"key-000").unwrap();
    assert_eq!(store.len().unwrap(), 49);
    assert_eq!(store.logical_bytes().unwrap(), 49 * (7 + 100));
    let usage = store.disk_usage().unwrap();
    // 49 entry files, the marker and the (empty) lock file; each entry
    // file holds its JSON.
    assert_eq!(usage.files, 51);
    assert!(usage.file_bytes > 49 * 107, "{usage:?}");
    assert!(usage.dirs >= 1 && usage.dirs <= 49, "{usage:?}");
    assert_eq!(usage.allocated_bytes % 512, 0, "{usage:?}");
}
