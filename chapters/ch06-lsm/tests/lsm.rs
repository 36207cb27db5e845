//! The LSM tree's own behaviour: the two bugs of the Python store the
//! chapter starts from (tombstones dropped at flush, a lookup that gives
//! up after the first table it searches), that store's own test cases
//! ported, and what the files on disk look like after flushes, crashes
//! and reopens.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use ch00_contract::{KeyRange, KvStore, Stage, WriteBatch};
use ch06_lsm::files::{self, FileKind};
use ch06_lsm::{LogSync, LsmStore, Options};
use disk::{Disk, SimDisk};

/// A store whose memtable holds a write or two: every few writes flush.
fn tiny() -> Options {
    Options {
        memtable_bytes: 16,
        block_size: 64,
        ..Options::default()
    }
}

fn open(dir: &Path, options: &Options) -> LsmStore {
    LsmStore::open_with(dir, options).unwrap()
}

fn get(store: &LsmStore, key: &str) -> Option<String> {
    store
        .get(key.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

// ANCHOR: resurrection
/// The Python store leaves a deleted key out of the table it flushes: the
/// older table's value is then the newest one any table has, and the key
/// comes back. Here the tombstone is flushed, and hides the older value
/// from reads, from scans, and after a reopen.
#[test]
fn a_deleted_key_stays_deleted_after_its_tombstone_is_flushed() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), &Options::default());
    store.set(b"k1", b"v1").unwrap();
    store.flush().unwrap();
    store.delete(b"k1").unwrap();
    store.flush().unwrap();
    assert_eq!(store.table_numbers().len(), 2, "two flushes, two tables");
    assert_eq!(get(&store, "k1"), None);
    assert_eq!(store.scan(KeyRange::all()).unwrap().count(), 0);
    drop(store);
    let store = open(dir.path(), &Options::default());
    assert_eq!(get(&store, "k1"), None);
}
// ANCHOR_END: resurrection

// ANCHOR: gives_up
/// The Python store's lookup searches one table after the first, and
/// returns whatever it finds there, even nothing. Here every table is
/// asked, newest to oldest, until one knows the key: three tables whose
/// key ranges all overlap, and a key only the oldest holds.
#[test]
fn a_get_asks_every_table_until_one_knows_the_key() {
    let dir = tempfile::tempdir().unwrap();
    // No Bloom filters: every table whose range covers the key is asked.
    let options = Options {
        bloom_bits_per_key: 0,
        ..Options::default()
    };
    let mut store = open(dir.path(), &options);
    for keys in [["a", "m", "z"], ["b", "n", "y"], ["c", "o", "x"]] {
        for key in keys {
            store.set(key.as_bytes(), key.as_bytes()).unwrap();
        }
        store.flush().unwrap();
    }
    let reads = store.metrics().reads.unwrap();
    assert_eq!(get(&store, "m").as_deref(), Some("m"));
    // The newest two tables may hold "m" (it lies in their key ranges) and
    // are read; the oldest answers.
    assert_eq!(store.metrics().reads.unwrap() - reads, 3);
    for key in ["a", "b", "c", "n", "o", "x", "y", "z"] {
        assert_eq!(get(&store, key).as_deref(), Some(key));
    }
    assert_eq!(get(&store, "d"), None);
}
// ANCHOR_END: gives_up

/// A tombstone for a key no older table can hold hides nothing: the flush
/// leaves it out, and the table is smaller for it.
#[test]
fn a_flush_keeps_a_tombstone_only_where_an_older_table_may_hold_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), &Options::default());
    store.set(b"m", b"1").unwrap();
    store.flush().unwrap();
    // "a" is outside the table's key range, "m" inside it.
    store.delete(b"a").unwrap();
    store.delete(b"m").unwrap();
    store.flush().unwrap();
    let newest = store.tables().last().unwrap();
    assert_eq!(newest.len(), 1, "only the tombstone of m is written");
    // A flush of nothing but unneeded tombstones writes no table.
    store.delete(b"zz").unwrap();
    store.flush().unwrap();
    assert_eq!(store.table_numbers().len(), 2);
    assert_eq!(get(&store, "m"), None);
}

// The Python store's own tests, ported: its memtable held a number of
// entries (2 or 10); this one holds bytes, and `tiny()` holds one or two
// of these writes.

#[test]
fn python_simple_db_search() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path(), &tiny());
    db.set(b"foo", b"bar").unwrap();
    assert_eq!(get(&db, "foo").as_deref(), Some("bar"));
}

#[test]
fn python_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path(), &tiny());
    db.set(b"foo", b"bar").unwrap();
    db.delete(b"foo").unwrap();
    assert_eq!(get(&db, "foo"), None);
}

#[test]
fn python_search_with_exceeding_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path(), &tiny());
    for (k, v) in [("k1", "v1"), ("k2", "v2"), ("k3", "v3")] {
        db.set(k.as_bytes(), v.as_bytes()).unwrap();
    }
    assert!(db.flushes() >= 1, "the memtable overflowed");
    for (k, v) in [("k1", "v1"), ("k2", "v2"), ("k3", "v3")] {
        assert_eq!(get(&db, k).as_deref(), Some(v));
    }
}

#[test]
fn python_search_with_multiple_segments() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path(), &tiny());
    let pairs: Vec<(String, String)> = (0..5).map(|i| (format!("k{i}"), format!("v{i}"))).collect();
    for (k, v) in &pairs {
        db.set(k.as_bytes(), v.as_bytes()).unwrap();
    }
    assert!(db.table_numbers().len() >= 2);
    for (k, v) in &pairs {
        assert_eq!(get(&db, k).as_ref(), Some(v));
    }
}

#[test]
fn python_search_with_overwrites_across_tables() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path(), &tiny());
    for (k, v) in [
        ("k1", "v1"),
        ("k2", "v2"),
        ("k1", "v1_1"),
        ("k2", "v2_2"),
        ("k3", "v3"),
    ] {
        db.set(k.as_bytes(), v.as_bytes()).unwrap();
    }
    assert!(db.table_numbers().len() >= 2);
    assert_eq!(get(&db, "k1").as_deref(), Some("v1_1"));
    assert_eq!(get(&db, "k2").as_deref(), Some("v2_2"));
    assert_eq!(get(&db, "k3").as_deref(), Some("v3"));
}

#[test]
fn python_search_for_deleted_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path(), &tiny());
    db.set(b"k1", b"v1").unwrap();
    db.delete(b"k1").unwrap();
    db.set(b"k2", b"v2").unwrap();
    assert_eq!(get(&db, "k1"), None);
}

#[test]
fn python_contains_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path(), &tiny());
    db.set(b"k1", b"v1").unwrap();
    db.set(b"k2", b"v2").unwrap();
    db.set(b"k3", b"v3").unwrap();
    db.delete(b"k2").unwrap();
    assert!(get(&db, "k1").is_some());
    assert!(get(&db, "k2").is_none());
}

/// The Python store raises on a delete of a missing key; the contract
/// makes it a no-op, and a get of a missing key is `None`, not an error.
#[test]
fn python_deletion_on_nonexistent_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut db = open(dir.path(), &tiny());
    assert_eq!(get(&db, "k1"), None);
    db.delete(b"k1").unwrap();
    assert_eq!(get(&db, "k1"), None);
}

/// Many flushes, overwrites and deletes, then a reopen: the same answers,
/// from the same files.
#[test]
fn many_flushes_then_a_reopen_answer_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), &tiny());
    let mut model = std::collections::BTreeMap::new();
    for i in 0..300u32 {
        let key = format!("k{:03}", (i * 37) % 101);
        if i % 7 == 3 {
            store.delete(key.as_bytes()).unwrap();
            model.remove(&key);
        } else {
            let value = format!("v{i}");
            store.set(key.as_bytes(), value.as_bytes()).unwrap();
            model.insert(key, value);
        }
    }
    assert!(store.flushes() > 50, "{} flushes", store.flushes());
    assert!(
        store.compactions() > 10,
        "{} compactions",
        store.compactions()
    );
    let scanned = |s: &LsmStore| -> Vec<(String, String)> {
        s.scan(KeyRange::all())
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap())
            })
            .collect()
    };
    let want: Vec<(String, String)> = model.clone().into_iter().collect();
    assert_eq!(scanned(&store), want);
    store.simulate_crash();
    let store = open(dir.path(), &tiny());
    assert_eq!(scanned(&store), want);
    for (k, v) in &model {
        assert_eq!(get(&store, k).as_ref(), Some(v));
    }
}

// ANCHOR: replay_bound
/// A reopen replays at most one memtable's worth of log: the rest is in
/// tables. (What real engines are asked about: replay time that grows
/// with the data.)
#[test]
fn a_reopen_replays_at_most_one_memtable_of_log() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        memtable_bytes: 4096,
        ..Options::default()
    };
    let mut store = open(dir.path(), &options);
    for i in 0..5000u32 {
        store
            .set(format!("key{i:05}").as_bytes(), &[7; 20])
            .unwrap();
    }
    assert!(store.flushes() > 30);
    store.simulate_crash();
    let store = open(dir.path(), &options);
    let recovery = store.recovery();
    assert_eq!(recovery.logs, 1);
    // One memtable's bytes, plus the one write that passed the limit,
    // plus the log's framing (a header and 16 bytes per record).
    let framing = 20 + recovery.records * 16;
    assert!(
        recovery.log_bytes <= 4096 + 32 + framing,
        "replayed {recovery:?}"
    );
    assert!(recovery.records > 0 && recovery.torn.is_empty());
}
// ANCHOR_END: replay_bound

/// After flushes and reopens the directory holds the manifest, the lock,
/// one log and the live tables: nothing else.
#[test]
fn the_directory_holds_only_the_live_files() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), &tiny());
    for i in 0..20u32 {
        store.set(format!("k{i}").as_bytes(), b"value").unwrap();
    }
    let tables = store.table_numbers();
    let log = store.log_number();
    drop(store);
    let mut want: Vec<String> = tables
        .iter()
        .map(|n| files::table_path(Path::new(""), *n))
        .chain([files::log_path(Path::new(""), log)])
        .map(|p| p.to_str().unwrap().to_owned())
        .chain(["LOCK".to_owned(), "MANIFEST".to_owned()])
        .collect();
    want.sort();
    assert_eq!(names(dir.path()), want);
}

// ANCHOR: unnamed
/// Files the manifest does not name are what a crash left (a flush's
/// table before its switch, a replaced log, a temporary manifest): an open
/// removes them. Files that are not the store's are left alone.
#[test]
fn an_open_removes_the_files_the_manifest_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), &tiny());
    store.set(b"a", b"1").unwrap();
    store.sync().unwrap();
    drop(store);
    for name in ["000900.sst", "000901.log", "MANIFEST.tmp", "notes.txt"] {
        std::fs::write(dir.path().join(name), b"left over").unwrap();
    }
    let store = open(dir.path(), &tiny());
    let left = names(dir.path());
    for gone in ["000900.sst", "000901.log", "MANIFEST.tmp"] {
        assert!(!left.contains(&gone.to_owned()), "{gone} is still there");
    }
    assert!(left.contains(&"notes.txt".to_owned()));
    assert_eq!(get(&store, "a").as_deref(), Some("1"));
}
// ANCHOR_END: unnamed

// ANCHOR: no_manifest
/// Logs and tables without a manifest are refused, not removed as
/// "unnamed": that would delete the whole store.
#[test]
fn a_store_whose_manifest_is_gone_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), &tiny());
    for i in 0..10u32 {
        store.set(format!("k{i}").as_bytes(), b"value").unwrap();
    }
    drop(store);
    std::fs::remove_file(dir.path().join("MANIFEST")).unwrap();
    let before = names(dir.path());
    let err = LsmStore::open_with(dir.path(), &tiny()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
    assert!(err.to_string().contains("MANIFEST"), "{err}");
    assert_eq!(names(dir.path()), before);
}
// ANCHOR_END: no_manifest

/// Every file name the store writes is one it recognises as its own.
#[test]
fn the_store_recognises_every_file_it_writes() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = open(dir.path(), &tiny());
    for i in 0..10u32 {
        store.set(format!("k{i}").as_bytes(), b"value").unwrap();
    }
    drop(store);
    for name in names(dir.path()) {
        let known = files::kind(&name);
        assert!(
            name == "LOCK"
                || matches!(
                    known,
                    Some(FileKind::Manifest | FileKind::Log(_) | FileKind::Table(_))
                ),
            "{name}"
        );
    }
}

// ANCHOR: batch_record
/// A batch is one log record: a power loss that tears it drops all of it.
#[test]
fn a_torn_batch_is_dropped_whole() {
    let sim = SimDisk::with_seed(7);
    sim.set_torn_writes(disk::TornWrites::Prefix);
    let dir = Path::new("/store");
    sim.add_root(dir);
    let options = Options {
        disk: Disk::simulated(sim.clone()),
        ..Options::default()
    };
    for round in 0..50u32 {
        let mut store = open(dir, &options);
        store.set(b"before", round.to_string().as_bytes()).unwrap();
        store.sync().unwrap();
        let mut batch = WriteBatch::new();
        for i in 0..20u32 {
            batch.set(format!("b{i:02}").as_bytes(), round.to_string().as_bytes());
        }
        store.write(&batch).unwrap();
        store.simulate_crash();
        sim.power_loss();
        let store = open(dir, &options);
        assert_eq!(get(&store, "before"), Some(round.to_string()));
        let values: Vec<Option<String>> = (0..20u32)
            .map(|i| get(&store, &format!("b{i:02}")))
            .collect();
        let whole = values
            .iter()
            .all(|v| v.as_deref() == Some(&round.to_string()));
        let none = values
            .iter()
            .all(|v| v.as_deref() != Some(&round.to_string()));
        assert!(whole || none, "round {round}: {values:?}");
    }
}
// ANCHOR_END: batch_record

/// With the log synced on every write, a write survives a power loss as
/// soon as its call returns, without a `sync`.
#[test]
fn every_write_mode_keeps_writes_without_a_sync() {
    let sim = SimDisk::with_seed(3);
    let dir = Path::new("/store");
    sim.add_root(dir);
    let options = Options {
        disk: Disk::simulated(sim.clone()),
        log_sync: LogSync::EveryWrite,
        ..tiny()
    };
    let mut store = open(dir, &options);
    for i in 0..30u32 {
        store.set(format!("k{i:02}").as_bytes(), b"v").unwrap();
    }
    store.simulate_crash();
    sim.power_loss();
    let store = open(dir, &options);
    for i in 0..30u32 {
        assert_eq!(
            get(&store, &format!("k{i:02}")).as_deref(),
            Some("v"),
            "k{i:02}"
        );
    }
}

/// A store on a fresh simulated disk, and the disk.
fn on_sim(options: Options) -> (SimDisk, Options) {
    let sim = SimDisk::with_seed(11);
    sim.add_root(Path::new("/store"));
    let options = Options {
        disk: Disk::simulated(sim.clone()),
        ..options
    };
    (sim, options)
}

fn logs_on(sim: &SimDisk) -> usize {
    Disk::simulated(sim.clone())
        .list(Path::new("/store"))
        .unwrap()
        .iter()
        .filter(|e| {
            matches!(
                files::kind(e.name.to_str().unwrap()),
                Some(FileKind::Log(_))
            )
        })
        .count()
}

/// After a failed sync the store moves its memtable to a new log; when
/// that fails too, the half-made log is removed, so a caller that retries
/// does not fill the disk with copies of the memtable.
#[test]
fn failed_retries_leave_no_copies_of_the_memtable_behind() {
    let (sim, options) = on_sim(Options::default());
    let mut store = open(Path::new("/store"), &options);
    for i in 0..100u32 {
        store.set(format!("k{i}").as_bytes(), &[1; 100]).unwrap();
    }
    for _ in 0..20 {
        sim.fail(disk::Op::Sync, 0);
        assert!(store.sync().is_err());
    }
    assert!(logs_on(&sim) <= 2, "{} logs", logs_on(&sim));
    store.sync().unwrap();
    assert_eq!(logs_on(&sim), 1);
    store.simulate_crash();
    sim.power_loss();
    let store = open(Path::new("/store"), &options);
    assert_eq!(store.get(b"k99").unwrap(), Some(vec![1; 100]));
}

/// A flush whose manifest switch is not known durable (its directory
/// sync failed) is made durable by the next call that needs it: a second
/// `flush`, with nothing new to flush, does not report success before.
#[test]
fn a_flush_after_a_failed_switch_makes_the_switch_durable_first() {
    let (sim, options) = on_sim(Options::default());
    let mut store = open(Path::new("/store"), &options);
    store.set(b"a", b"1").unwrap();
    // The flush syncs the directory before and after the rename: the
    // second one fails.
    sim.fail(disk::Op::SyncDir, 1);
    assert!(store.flush().is_err());
    store.flush().unwrap();
    store.simulate_crash();
    sim.power_loss();
    let store = open(Path::new("/store"), &options);
    assert_eq!(get(&store, "a").as_deref(), Some("1"));
}

/// A manifest whose next file number is absurd (its checksum valid) is
/// damage, reported, never an overflow.
#[test]
fn a_manifest_with_an_absurd_next_file_number_is_refused() {
    use ch06_lsm::manifest::Manifest;
    let dir = tempfile::tempdir().unwrap();
    let manifest = Manifest {
        next_file: u64::MAX,
        ..Manifest::default()
    };
    std::fs::write(dir.path().join("MANIFEST"), manifest.encode()).unwrap();
    let err = LsmStore::open_with(dir.path(), &Options::default()).unwrap_err();
    assert!(err.is_corruption(), "{err}");
}
