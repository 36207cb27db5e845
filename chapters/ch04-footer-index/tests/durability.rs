//! What a crash costs (the writes since the last sync, and nothing else),
//! and what a sync does: merge the buffer over the table, deletes
//! included, into one new table.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::fs;

use ch00_contract::{KeyRange, KvStore, Stage};
use ch04_footer_index::table::Table;
use ch04_footer_index::{FILE_NAME, FooterIndexStore};
use disk::{Disk, atomic};

// Chapter 3's checks for a store kept in one file, shared rather than copied.
#[path = "../../ch03-sorted-file/tests/support/mod.rs"]
mod support;

fn all(store: &FooterIndexStore) -> Vec<(Vec<u8>, Vec<u8>)> {
    store
        .scan(KeyRange::all())
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(Vec<u8>, Vec<u8>)> {
    items
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect()
}

// ANCHOR: crash_test
#[test]
fn a_crash_loses_the_unsynced_writes_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FooterIndexStore::open(dir.path()).unwrap();
    store.set(b"synced", b"1").unwrap();
    store.set(b"changed", b"before").unwrap();
    store.sync().unwrap();
    store.set(b"unsynced", b"2").unwrap();
    store.set(b"changed", b"after").unwrap();
    store.delete(b"synced").unwrap();
    store.simulate_crash();

    let store = FooterIndexStore::open(dir.path()).unwrap();
    assert_eq!(
        all(&store),
        pairs(&[("changed", "before"), ("synced", "1")])
    );
}
// ANCHOR_END: crash_test

// ANCHOR: delete_test
#[test]
fn a_delete_hides_the_tables_value_before_and_after_the_sync() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FooterIndexStore::open(dir.path()).unwrap();
    for key in ["a", "b", "c"] {
        store.set(key.as_bytes(), b"old").unwrap();
    }
    store.sync().unwrap();
    store.delete(b"b").unwrap();
    // Before the sync the table still holds "b"; the buffer hides it.
    assert_eq!(store.get(b"b").unwrap(), None);
    assert_eq!(all(&store), pairs(&[("a", "old"), ("c", "old")]));
    store.sync().unwrap();
    // After it, the new table no longer has "b" at all.
    assert_eq!(store.table_len(), 2);
    drop(store);
    let store = FooterIndexStore::open(dir.path()).unwrap();
    assert_eq!(all(&store), pairs(&[("a", "old"), ("c", "old")]));
}
// ANCHOR_END: delete_test

#[test]
fn a_delete_then_a_set_of_the_same_key_keeps_the_set() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FooterIndexStore::open(dir.path()).unwrap();
    store.set(b"k", b"1").unwrap();
    store.sync().unwrap();
    store.delete(b"k").unwrap();
    store.set(b"k", b"2").unwrap();
    store.sync().unwrap();
    assert_eq!(store.get(b"k").unwrap(), Some(b"2".to_vec()));
    store.set(b"k", b"3").unwrap();
    store.delete(b"k").unwrap();
    store.sync().unwrap();
    assert_eq!(store.get(b"k").unwrap(), None);
    assert_eq!(store.table_len(), 0);
}

#[test]
fn deleting_every_key_leaves_an_empty_table_that_opens() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FooterIndexStore::open(dir.path()).unwrap();
    store.set(b"only", b"v").unwrap();
    store.sync().unwrap();
    store.delete(b"only").unwrap();
    store.sync().unwrap();
    let path = dir.path().join(FILE_NAME);
    // Nothing but the footer.
    assert_eq!(fs::metadata(&path).unwrap().len(), 40);
    let table = Table::open(&Disk::real(), &path).unwrap();
    assert!(table.is_empty());
}

#[test]
fn a_crash_during_sync_leaves_the_previous_table() {
    support::a_crash_during_sync_leaves_the_previous_file::<FooterIndexStore>(FILE_NAME);
}

#[test]
fn a_sync_without_writes_writes_nothing() {
    // A delete of a key the table does not hold is not a write either.
    support::a_sync_without_changes_writes_nothing::<FooterIndexStore>(|store| {
        store.delete(b"absent").unwrap();
    });
}

// ANCHOR: rewrite_test
#[test]
fn every_sync_still_rewrites_the_whole_table() {
    // 1000 keys synced, then one of them changed and synced again: the
    // whole table is written again, and the old one read whole (its 114-byte
    // records) to merge with it.
    let change = support::one_change_synced::<FooterIndexStore>(FILE_NAME);
    assert_eq!(change.written, change.file_len);
    assert_eq!(change.read, 1000 * 114);
}
// ANCHOR_END: rewrite_test

// ANCHOR: failed_sync
#[test]
fn a_failed_sync_loses_nothing_and_the_next_one_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = FooterIndexStore::open(dir.path()).unwrap();
    store.set(b"a", b"in the table").unwrap();
    store.sync().unwrap();
    store.set(b"b", b"in the buffer").unwrap();
    store.delete(b"a").unwrap();
    // A directory where the sync wants its temporary file: it cannot
    // create it, and must fail without losing anything.
    let temp = atomic::temp_path(&dir.path().join(FILE_NAME));
    fs::create_dir(&temp).unwrap();
    assert!(store.sync().is_err());
    assert_eq!(store.get(b"a").unwrap(), None);
    assert_eq!(all(&store), pairs(&[("b", "in the buffer")]));
    fs::remove_dir(&temp).unwrap();
    store.sync().unwrap();
    drop(store);
    let store = FooterIndexStore::open(dir.path()).unwrap();
    assert_eq!(all(&store), pairs(&[("b", "in the buffer")]));
}
// ANCHOR_END: failed_sync

// ANCHOR: resurrection
/// The bug the fault sweep found: the directory sync after the rename
/// fails. The new table is the file in the directory now, so the store
/// must answer from it: a delete of a key only the new table holds must
/// not be dropped as "not in the table", and the next sync must write
/// again (the rename may not be durable) even with nothing else to write.
#[test]
fn a_failed_directory_sync_after_the_rename_brings_no_deleted_key_back() {
    use ch04_footer_index::Options;
    use disk::{Op, SimDisk};

    let sim = SimDisk::new();
    let dir = std::path::Path::new("/store");
    sim.add_root(dir);
    let options = Options {
        disk: Disk::simulated(sim.clone()),
    };
    let mut store = FooterIndexStore::open_with(dir, &options).unwrap();
    store.set(b"old", b"1").unwrap();
    store.sync().unwrap();
    store.set(b"new", b"1").unwrap();
    sim.fail(Op::SyncDir, 0);
    assert!(store.sync().is_err());
    store.delete(b"new").unwrap();
    assert_eq!(store.get(b"new").unwrap(), None);
    let renames = sim.count(Op::Rename);
    store.sync().unwrap();
    assert_eq!(sim.count(Op::Rename), renames + 1, "the sync wrote nothing");

    // Neither a crash of the process nor a power loss brings it back.
    store.simulate_crash();
    let store = FooterIndexStore::open_with(dir, &options).unwrap();
    assert_eq!(all(&store), pairs(&[("old", "1")]));
    store.simulate_crash();
    sim.power_loss();
    let store = FooterIndexStore::open_with(dir, &options).unwrap();
    assert_eq!(all(&store), pairs(&[("old", "1")]));
}

/// After that failed directory sync, a sync with nothing buffered still
/// writes the table again: otherwise the power loss below would bring back
/// the table before it, and lose a write whose sync returned `Ok`.
#[test]
fn after_a_failed_directory_sync_the_next_sync_makes_the_table_durable() {
    use ch04_footer_index::Options;
    use disk::{Op, SimDisk};

    let sim = SimDisk::new();
    let dir = std::path::Path::new("/store");
    sim.add_root(dir);
    let options = Options {
        disk: Disk::simulated(sim.clone()),
    };
    let mut store = FooterIndexStore::open_with(dir, &options).unwrap();
    store.set(b"k", b"1").unwrap();
    sim.fail(Op::SyncDir, 0);
    assert!(store.sync().is_err());
    store.sync().unwrap();
    store.simulate_crash();
    sim.power_loss();
    let store = FooterIndexStore::open_with(dir, &options).unwrap();
    assert_eq!(all(&store), pairs(&[("k", "1")]));
}
// ANCHOR_END: resurrection
