//! The suite tests itself: a test that cannot fail proves nothing, so each
//! classic mistake is planted in an otherwise correct store, and the checks
//! that should notice it are shown to fail (and the model-based test too,
//! without being told what to look for, under several seeds: a flaw found
//! by one seed in three is not reliably found; all but a range delete that
//! stops after one chunk, which its 156 keys cannot reach).

// Test code: a poisoned lock or a failed check should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ch00_contract::conformance::{CheckResult, ModelTest, checks};
use ch00_contract::{
    BatchOp, DELETE_RANGE_CHUNK, Durability, KeyRange, KvStore, Result, Scan, Stage, Survives,
    WriteBatch, check_key, check_value, delete_range_key_by_key,
};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// A pretend disk, shared by every store opened on the same directory, so
/// that a store can "persist" without touching the file system.
static DISK: Mutex<Option<HashMap<PathBuf, Map>>> = Mutex::new(None);

/// The numbered table files of each directory, by name (a `BTreeMap` of
/// strings keeps them in name order, `table-10` before `table-9`).
static TABLES: Mutex<Option<HashMap<PathBuf, BTreeMap<String, Map>>>> = Mutex::new(None);

fn disk_load(dir: &Path) -> Map {
    let disk = DISK.lock().unwrap();
    disk.as_ref()
        .and_then(|d| d.get(dir))
        .cloned()
        .unwrap_or_default()
}

fn disk_store(dir: &Path, map: &Map) {
    let mut disk = DISK.lock().unwrap();
    disk.get_or_insert_with(HashMap::new)
        .insert(dir.to_path_buf(), map.clone());
}

/// Writes the next numbered table file of `dir`.
fn table_add(dir: &Path, map: &Map) {
    let mut tables = TABLES.lock().unwrap();
    let files = tables
        .get_or_insert_with(HashMap::new)
        .entry(dir.to_path_buf())
        .or_default();
    files.insert(format!("table-{}", files.len()), map.clone());
}

/// The table file of `dir` whose name sorts last, if there is one.
fn table_last_by_name(dir: &Path) -> Option<Map> {
    let tables = TABLES.lock().unwrap();
    tables
        .as_ref()?
        .get(dir)?
        .last_key_value()
        .map(|(_, map)| map.clone())
}

// ANCHOR: forgets_deletes
/// How the store that forgets deletes writes its map to the pretend disk:
/// it adds and overwrites, but never removes what is on disk.
fn write_forgetting_deletes(dir: &Path, map: &Map) {
    let mut on_disk = disk_load(dir);
    on_disk.extend(map.clone());
    disk_store(dir, &on_disk);
}
// ANCHOR_END: forgets_deletes

/// The flaws, one per store type.
const CORRECT: u8 = 0;
/// Deletes are applied in memory but never reach the disk: the tombstone
/// is dropped, so a deleted key comes back after a restart.
const FORGETS_DELETES: u8 = 1;
/// Keys are compared as signed bytes (C's `char` on most platforms), so
/// 0x80..0xFF sort before 0x00.
const SCANS_OUT_OF_ORDER: u8 = 2;
/// Claims durability per write, but only writes its state on sync.
const LOSES_WRITES_ON_CRASH: u8 = 3;
/// Uses the empty value as a deletion marker.
const EMPTY_VALUE_IS_DELETE: u8 = 4;
/// Never checks the size limits.
const NO_SIZE_LIMITS: u8 = 5;
/// `delete_range` treats an excluded end as included, as a range tombstone
/// compared with `<=` where it needed `<` would: the first key past the
/// range goes too.
const DELETES_RANGE_END: u8 = 6;
/// `delete_range` deletes the first chunk of keys and stops: a chunked loop
/// that forgot to go on from the last key.
const STOPS_AFTER_ONE_CHUNK: u8 = 7;

// Flaws from 10 up are in stores that promise durability on sync only,
// with atomic batches (which a store that writes only on sync gets free).
/// Writes its state to disk on sync and at no other time: correct.
const ON_SYNC_CORRECT: u8 = 10;
/// Claims durability on sync, but its sync writes nothing.
const LOSES_WRITES_ON_REOPEN: u8 = 11;
/// Writes deletes to disk at once but sets only on sync, so a crash can
/// leave a state that never existed: an earlier set lost, a later delete kept.
const TORN_AFTER_CRASH: u8 = 12;
/// Writes a new numbered file (`table-0`, `table-1`, …) on every sync and
/// at open takes the last one by name, so `table-9` wins over `table-10`.
const REOPENS_FILES_OUT_OF_ORDER: u8 = 13;
/// Declares atomic batches, but writes a batch to disk one operation at a
/// time as it applies it, the last one only at the next sync: a crash just
/// after the batch keeps part of it.
const TEARS_BATCHES: u8 = 14;
/// Panics on a scan of an empty or reversed range, as `BTreeMap::range`
/// does when it is handed one unchecked.
const PANICS_ON_EMPTY_SCAN: u8 = 15;

/// A store that keeps a map in memory and writes the whole map to the
/// pretend disk after every write (durable per write) or on sync only
/// (flaws from 10 up), with one flaw chosen by `FLAW`.
struct Fake<const FLAW: u8> {
    dir: PathBuf,
    map: Map,
}

impl<const FLAW: u8> Fake<FLAW> {
    /// Writes the state to the pretend disk; called after every write.
    fn persist(&self) {
        if FLAW != LOSES_WRITES_ON_CRASH && FLAW < ON_SYNC_CORRECT {
            self.write_to_disk();
        }
    }

    /// Writes the state to the pretend disk, the way the flaw allows.
    fn write_to_disk(&self) {
        match FLAW {
            REOPENS_FILES_OUT_OF_ORDER => table_add(&self.dir, &self.map),
            FORGETS_DELETES => write_forgetting_deletes(&self.dir, &self.map),
            _ => disk_store(&self.dir, &self.map),
        }
    }

    fn check(key: &[u8], value: &[u8]) -> Result<()> {
        if FLAW != NO_SIZE_LIMITS {
            check_key(key)?;
            check_value(value)?;
        }
        Ok(())
    }
}

impl<const FLAW: u8> KvStore for Fake<FLAW> {
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        Self::check(key, value)?;
        if FLAW == EMPTY_VALUE_IS_DELETE && value.is_empty() {
            self.map.remove(key);
        } else {
            self.map.insert(key.to_vec(), value.to_vec());
        }
        self.persist();
        Ok(())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Self::check(key, b"")?;
        Ok(self.map.get(key).cloned())
    }

    fn write(&mut self, batch: &WriteBatch) -> Result<()> {
        batch.check()?;
        for (i, op) in batch.ops().iter().enumerate() {
            match op {
                BatchOp::Set { key, value } => self.set(key, value)?,
                BatchOp::Delete { key } => self.delete(key)?,
            }
            if FLAW == TEARS_BATCHES && i + 1 < batch.len() {
                self.write_to_disk();
            }
        }
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        Self::check(key, b"")?;
        if FLAW == TORN_AFTER_CRASH {
            let mut on_disk = disk_load(&self.dir);
            on_disk.remove(key);
            disk_store(&self.dir, &on_disk);
        }
        self.map.remove(key);
        self.persist();
        Ok(())
    }

    fn delete_range(&mut self, range: KeyRange) -> Result<()> {
        match FLAW {
            DELETES_RANGE_END => {
                let end = match range.end {
                    Bound::Excluded(end) => Bound::Included(end),
                    end => end,
                };
                let start = range.start;
                delete_range_key_by_key(self, KeyRange { start, end })
            }
            STOPS_AFTER_ONE_CHUNK => {
                let keys = self
                    .scan(range)?
                    .take(DELETE_RANGE_CHUNK)
                    .map(|pair| pair.map(|(key, _)| key))
                    .collect::<Result<Vec<_>>>()?;
                for key in &keys {
                    self.delete(key)?;
                }
                Ok(())
            }
            // The trait's default, which the correct stores keep.
            _ => delete_range_key_by_key(self, range),
        }
    }

    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        if FLAW == PANICS_ON_EMPTY_SCAN && range.is_empty() {
            panic!("range start is greater than range end");
        }
        let mut entries: Vec<_> = self
            .map
            .iter()
            .filter(|(k, _)| range.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if FLAW == SCANS_OUT_OF_ORDER {
            entries.sort_by(|(a, _), (b, _)| {
                let signed = |k: &[u8]| k.iter().map(|&b| b as i8).collect::<Vec<_>>();
                signed(a).cmp(&signed(b))
            });
        }
        Ok(Box::new(entries.into_iter().map(Ok)))
    }

    fn sync(&mut self) -> Result<()> {
        if FLAW != LOSES_WRITES_ON_REOPEN {
            self.write_to_disk();
        }
        Ok(())
    }
}

impl<const FLAW: u8> Stage for Fake<FLAW> {
    const NAME: &'static str = "fake";
    type Options = ();

    fn durability(_: &()) -> Durability {
        if FLAW < ON_SYNC_CORRECT {
            Durability {
                process_crash: Survives::EveryWrite,
                power_loss: Survives::EveryWrite,
                atomic_batches: false,
            }
        } else {
            Durability::ON_SYNC.with_atomic_batches()
        }
    }

    fn open_with(dir: &Path, _: &()) -> Result<Self> {
        let map = match table_last_by_name(dir) {
            Some(latest) if FLAW == REOPENS_FILES_OUT_OF_ORDER => latest,
            _ => disk_load(dir),
        };
        Ok(Fake {
            dir: dir.to_path_buf(),
            map,
        })
    }
}

// The correct fake passes the whole suite: the failures below are caused by
// the flaws, not by the fake.
mod correct {
    use super::*;
    ch00_contract::conformance_tests!(Fake<CORRECT>);
}

mod correct_on_sync {
    use super::*;
    ch00_contract::conformance_tests!(Fake<ON_SYNC_CORRECT>);
}

// ANCHOR: seeds
/// The seeds every flaw is hunted with. Each must find it: a test that
/// finds a flaw only under lucky seeds would pass on a broken store.
const SEEDS: [u64; 6] = [1, 2, 3, 4, 5, 6];

/// Cases per seed: a generous ceiling; the runs stop at the first failure,
/// which with sequences of hundreds of operations comes within a few.
const CASES: u32 = 200;

/// The model-based test catches the flaw of `S` under every seed, with a
/// message that contains `mentions`.
fn model_catches<S: Stage<Options = ()>>(mentions: &str) {
    for seed in SEEDS {
        let result = ModelTest::<S>::new(&()).cases(CASES).seed(seed).run();
        assert_fails(result, &format!("model_based with seed {seed}"), mentions);
    }
}
// ANCHOR_END: seeds

fn assert_fails(result: CheckResult, what: &str, mentions: &str) {
    // Messages are wrapped for the terminal: compare with the line breaks
    // folded into spaces.
    let fold = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    match result {
        Ok(()) => panic!("{what}: the check passed, but the store is broken"),
        Err(failure) => assert!(
            fold(failure.message()).contains(&fold(mentions)),
            "{what}: failed for an unexpected reason: {failure}"
        ),
    }
}

// ANCHOR: forgets_deletes_test
#[test]
fn a_store_that_forgets_deletes_is_caught() {
    type S = Fake<FORGETS_DELETES>;
    // The plain delete check cannot see it: the delete works until a restart.
    checks::delete::<S>(&()).unwrap();
    assert_fails(
        checks::deletes_survive_reopen::<S>(&()),
        "deletes_survive_reopen",
        "get(\"doomed\") returned Some(\"old value\"), expected None",
    );
    model_catches::<S>("disagrees with the BTreeMap model");
}
// ANCHOR_END: forgets_deletes_test

#[test]
fn a_store_that_scans_out_of_order_is_caught() {
    type S = Fake<SCANS_OUT_OF_ORDER>;
    assert_fails(
        checks::scan_order::<S>(&()),
        "scan_order",
        "returned [\"\" => \"v0\", \"\\x80\"",
    );
    model_catches::<S>("disagrees with the BTreeMap model");
}

#[test]
fn a_store_that_loses_writes_on_a_crash_is_caught() {
    type S = Fake<LOSES_WRITES_ON_CRASH>;
    // A clean shutdown syncs, so the reopen check cannot see it.
    checks::reopen::<S>(&()).unwrap();
    assert_fails(
        checks::crash::<S>(&()),
        "crash",
        "which is not a state it had since the last sync",
    );
    model_catches::<S>("which is not a state it had since the last sync");
}

#[test]
fn a_store_that_treats_empty_values_as_deletes_is_caught() {
    type S = Fake<EMPTY_VALUE_IS_DELETE>;
    assert_fails(
        checks::overwrite::<S>(&()),
        "overwrite",
        "returned None, expected Some(\"\")",
    );
    assert_fails(
        checks::empty_and_binary::<S>(&()),
        "empty_and_binary",
        "\"empty value\" => \"\"",
    );
    model_catches::<S>("disagrees with the BTreeMap model");
}

#[test]
fn a_store_without_size_limits_is_caught() {
    type S = Fake<NO_SIZE_LIMITS>;
    assert_fails(
        checks::size_limits::<S>(&()),
        "size_limits",
        "expected a size-limit error",
    );
    // The model's oversized calls find it too.
    model_catches::<S>("was accepted");
}

#[test]
fn a_store_that_panics_is_caught_with_its_shortest_sequence() {
    // A panic fails the case like a wrong answer, and the report still
    // gives the shrunk sequence and the panic's message: a starter's
    // `todo!()`, or a slice out of range, is explained, not just repeated.
    let message = model_failure::<Fake<PANICS_ON_EMPTY_SCAN>>();
    assert!(message.contains("shortest failing sequence"), "{message}");
    assert!(message.contains("range start is greater"), "{message}");
    assert!(message.contains("fn shrunk_model_failure()"), "{message}");
}

/// The model-based test's failure message for `S`, with seed 1.
fn model_failure<S: Stage<Options = ()>>() -> String {
    let failure = ModelTest::<S>::new(&())
        .cases(CASES)
        .seed(1)
        .run()
        .unwrap_err();
    failure.message().to_string()
}

#[test]
fn a_model_failure_shows_the_failing_sequence_as_a_test() {
    let message = model_failure::<Fake<FORGETS_DELETES>>();
    assert!(message.contains("shortest failing sequence"), "{message}");
    assert!(message.contains("KV_MODEL_SEED=1"), "{message}");
    // The shrunk sequence needs a set, a delete and a reopen at least.
    assert!(
        message.contains("set ") || message.contains("batch"),
        "{message}"
    );
    assert!(message.contains("delete "), "{message}");
    assert!(message.contains("reopen"), "{message}");
    // And it comes as a test to paste, which opens the store and reopens it.
    assert!(message.contains("fn shrunk_model_failure()"), "{message}");
    assert!(
        message.contains("let mut store = <Fake<1> as Stage>::open_with(path, &options)"),
        "{message}"
    );
}

#[test]
fn a_store_that_loses_writes_on_reopen_is_caught() {
    type S = Fake<LOSES_WRITES_ON_REOPEN>;
    // Everything works until the store is reopened.
    checks::scan_sees_latest_writes::<S>(&()).unwrap();
    assert_fails(checks::reopen::<S>(&()), "reopen", "after reopening: scan(");
    model_catches::<S>("disagrees with the BTreeMap model");
}

#[test]
fn a_store_that_comes_back_torn_after_a_crash_is_caught() {
    type S = Fake<TORN_AFTER_CRASH>;
    // A clean shutdown syncs everything, so reopening cannot see it.
    checks::reopen::<S>(&()).unwrap();
    assert_fails(
        checks::crash::<S>(&()),
        "crash",
        "which is not a state it had since the last sync",
    );
    model_catches::<S>("which is not a state it had since the last sync");
}

#[test]
fn a_store_that_reopens_its_files_out_of_order_is_caught() {
    type S = Fake<REOPENS_FILES_OUT_OF_ORDER>;
    // With fewer than ten files, name order is number order.
    checks::reopen::<S>(&()).unwrap();
    assert_fails(
        checks::many_syncs::<S>(&()),
        "many_syncs",
        "after many syncs and a reopen",
    );
    // It takes eleven syncs and then a reopen: a sequence of a few dozen
    // operations, as the old model test made, almost never got there.
    model_catches::<S>("disagrees with the BTreeMap model");
}

// ANCHOR: range_flaws_test
#[test]
fn a_store_whose_delete_range_removes_its_excluded_end_is_caught() {
    type S = Fake<DELETES_RANGE_END>;
    // Single deletes are right.
    checks::delete::<S>(&()).unwrap();
    assert_fails(
        checks::delete_range_bounds::<S>(&()),
        "delete_range_bounds",
        "delete_range(Unbounded .. Excluded(\"b\")) on unsynced keys: scan(",
    );
    // A prefix's range ends at an excluded bound too: "a" before "b".
    assert_fails(
        checks::delete_prefix::<S>(&()),
        "delete_prefix",
        "delete_prefix(\"a\"): scan(",
    );
    model_catches::<S>("disagrees with the BTreeMap model");
}

#[test]
fn a_store_whose_delete_range_stops_after_one_chunk_is_caught() {
    type S = Fake<STOPS_AFTER_ONE_CHUNK>;
    // Every range the bound checks and the model try holds less than a
    // chunk (the model's key space is 156 keys), so they all pass: only a
    // range of thousands of keys shows the flaw.
    checks::delete_range_bounds::<S>(&()).unwrap();
    checks::delete_prefix::<S>(&()).unwrap();
    ModelTest::<S>::new(&()).cases(32).seed(1).run().unwrap();
    assert_fails(
        checks::delete_range_many_keys::<S>(&()),
        "delete_range_many_keys",
        "delete_range over more than one chunk: scan(",
    );
}
// ANCHOR_END: range_flaws_test

// ANCHOR: tears_batches_test
#[test]
fn a_store_that_tears_its_atomic_batches_is_caught() {
    type S = Fake<TEARS_BATCHES>;
    // Without a crash the batch is whole.
    checks::scan_sees_latest_writes::<S>(&()).unwrap();
    checks::crash::<S>(&()).unwrap();
    assert_fails(
        checks::write_batches::<S>(&()),
        "write_batches",
        "after a crash right after a batch",
    );
    model_catches::<S>("which is not a state it had since the last sync");
}
// ANCHOR_END: tears_batches_test

// ANCHOR: failure_snapshot
/// The message a failure prints, pinned: the shrunk sequence, and the
/// same sequence as a test to paste (which, pasted, compiles and fails at
/// its last line). The book shows this snapshot.
#[test]
fn the_failure_message_of_a_store_that_forgets_deletes() {
    let failure = ModelTest::<Fake<FORGETS_DELETES>>::new(&())
        .seed(7)
        .run()
        .unwrap_err();
    insta::assert_snapshot!("forgets_deletes_failure", failure.message());
}
// ANCHOR_END: failure_snapshot
