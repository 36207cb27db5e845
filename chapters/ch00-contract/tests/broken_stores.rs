//! The suite tests itself: a test that cannot fail proves nothing, so each
//! classic mistake is planted in an otherwise correct store, and the checks
//! that should notice it are shown to fail (and the model-based test too,
//! without being told what to look for).

// Test code: a poisoned lock or a failed check should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ch00_contract::conformance::{self, CheckResult, checks};
use ch00_contract::{Durability, KeyRange, KvStore, Result, Scan, Stage, check_key, check_value};

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

/// A pretend disk, shared by every store opened on the same directory, so
/// that a store can "persist" without touching the file system.
static DISK: Mutex<Option<HashMap<PathBuf, Map>>> = Mutex::new(None);

fn disk_load(dir: &Path) -> Map {
    let disk = DISK.lock().unwrap();
    disk.as_ref()
        .and_then(|d| d.get(dir))
        .cloned()
        .unwrap_or_default()
}

/// The numbered table files of `dir`, sorted by name.
fn tables_of(dir: &Path) -> Vec<PathBuf> {
    let disk = DISK.lock().unwrap();
    let mut names: Vec<PathBuf> = disk
        .iter()
        .flat_map(|d| d.keys())
        .filter(|p| p.parent() == Some(dir))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("table-"))
        })
        .cloned()
        .collect();
    names.sort();
    names
}

fn disk_store(dir: &Path, map: &Map) {
    let mut disk = DISK.lock().unwrap();
    disk.get_or_insert_with(HashMap::new)
        .insert(dir.to_path_buf(), map.clone());
}

/// The flaws, one per store type.
const CORRECT: u8 = 0;
/// Deletes are applied in memory but never reach the disk: the tombstone
/// is dropped, so a deleted key comes back after a restart.
const FORGETS_DELETES: u8 = 1;
/// Keys are compared as signed bytes (C's `char` on most platforms), so
/// 0x80..0xFF sort before 0x00.
const SCANS_OUT_OF_ORDER: u8 = 2;
/// Claims durability per write, but only writes its state on flush.
const LOSES_WRITES_ON_CRASH: u8 = 3;
/// Uses the empty value as a deletion marker.
const EMPTY_VALUE_IS_DELETE: u8 = 4;
/// Never checks the size limits.
const NO_SIZE_LIMITS: u8 = 5;

// Flaws from 10 up are in stores that promise durability on flush only.
/// Writes its state to disk on flush and at no other time: correct.
const ON_FLUSH_CORRECT: u8 = 10;
/// Claims durability on flush, but its flush writes nothing.
const LOSES_WRITES_ON_REOPEN: u8 = 11;
/// Writes deletes to disk at once but sets only on flush, so a crash can
/// leave a state that never existed: an earlier set lost, a later delete kept.
const TORN_AFTER_CRASH: u8 = 12;
/// Writes a new numbered file (`table-0`, `table-1`, …) on every flush and
/// at open takes the last one by name, so `table-9` wins over `table-10`.
const REOPENS_FILES_OUT_OF_ORDER: u8 = 13;

/// A store that keeps a map in memory and writes the whole map to the
/// pretend disk after every write (durable per write) or on flush only
/// (flaws from 10 up), with one flaw chosen by `FLAW`.
struct Fake<const FLAW: u8> {
    dir: PathBuf,
    map: Map,
}

impl<const FLAW: u8> Fake<FLAW> {
    /// Writes the state to the pretend disk; called after every write.
    fn persist(&self) {
        if FLAW != LOSES_WRITES_ON_CRASH && FLAW < ON_FLUSH_CORRECT {
            self.write_to_disk();
        }
    }

    // ANCHOR: forgets_deletes
    fn write_to_disk(&self) {
        if FLAW == REOPENS_FILES_OUT_OF_ORDER {
            let next = tables_of(&self.dir).len();
            disk_store(&self.dir.join(format!("table-{next}")), &self.map);
        } else if FLAW == FORGETS_DELETES {
            // Adds and overwrites, but never removes what is on disk.
            let mut on_disk = disk_load(&self.dir);
            on_disk.extend(self.map.clone());
            disk_store(&self.dir, &on_disk);
        } else {
            disk_store(&self.dir, &self.map);
        }
    }
    // ANCHOR_END: forgets_deletes

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

    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
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

    fn flush(&mut self) -> Result<()> {
        if FLAW != LOSES_WRITES_ON_REOPEN {
            self.write_to_disk();
        }
        Ok(())
    }
}

impl<const FLAW: u8> Stage for Fake<FLAW> {
    const NAME: &'static str = "fake";
    const DURABILITY: Durability = if FLAW < ON_FLUSH_CORRECT {
        Durability::PerWrite
    } else {
        Durability::OnFlush
    };

    fn open(dir: &Path) -> Result<Self> {
        let map = match tables_of(dir).last() {
            Some(latest) if FLAW == REOPENS_FILES_OUT_OF_ORDER => disk_load(latest),
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

mod correct_on_flush {
    use super::*;
    ch00_contract::conformance_tests!(Fake<ON_FLUSH_CORRECT>);
}

/// Enough random sequences that a flaw the model test can reach is found
/// with near certainty, so these tests do not flicker.
const CASES: u32 = 2000;

fn assert_fails(result: CheckResult, what: &str, mentions: &str) {
    match result {
        Ok(()) => panic!("{what}: the check passed, but the store is broken"),
        Err(failure) => assert!(
            failure.message().contains(mentions),
            "{what}: failed for an unexpected reason: {failure}"
        ),
    }
}

// ANCHOR: forgets_deletes_test
#[test]
fn a_store_that_forgets_deletes_is_caught() {
    type S = Fake<FORGETS_DELETES>;
    // The plain delete check cannot see it: the delete works until a restart.
    checks::delete::<S>().unwrap();
    assert_fails(
        checks::deletes_survive_reopen::<S>(),
        "deletes_survive_reopen",
        "get(\"doomed\") returned Some(\"old value\"), expected None",
    );
    assert_fails(
        conformance::model_based::<S>(CASES),
        "model_based",
        "disagrees with the BTreeMap model",
    );
}
// ANCHOR_END: forgets_deletes_test

#[test]
fn a_store_that_scans_out_of_order_is_caught() {
    type S = Fake<SCANS_OUT_OF_ORDER>;
    assert_fails(
        checks::scan_order::<S>(),
        "scan_order",
        "returned [\"\" => \"v0\", \"\\x80\"",
    );
    assert_fails(
        conformance::model_based::<S>(CASES),
        "model_based",
        "disagrees with the BTreeMap model",
    );
}

#[test]
fn a_store_that_loses_writes_on_a_crash_is_caught() {
    type S = Fake<LOSES_WRITES_ON_CRASH>;
    // A clean shutdown flushes, so the reopen check cannot see it.
    checks::reopen::<S>().unwrap();
    assert_fails(
        checks::crash::<S>(),
        "crash",
        "which is not a state it had since the last flush",
    );
    assert_fails(
        conformance::model_based::<S>(CASES),
        "model_based",
        "which is not a state it had since the last flush",
    );
}

#[test]
fn a_store_that_treats_empty_values_as_deletes_is_caught() {
    type S = Fake<EMPTY_VALUE_IS_DELETE>;
    assert_fails(
        checks::overwrite::<S>(),
        "overwrite",
        "returned None, expected Some(\"\")",
    );
    assert_fails(
        checks::empty_and_binary::<S>(),
        "empty_and_binary",
        "\"empty value\" => \"\"",
    );
    assert_fails(
        conformance::model_based::<S>(CASES),
        "model_based",
        "disagrees with the BTreeMap model",
    );
}

#[test]
fn a_store_without_size_limits_is_caught() {
    type S = Fake<NO_SIZE_LIMITS>;
    assert_fails(
        checks::size_limits::<S>(),
        "size_limits",
        "expected a size-limit error",
    );
}

#[test]
fn a_model_failure_shows_the_failing_sequence() {
    let failure = conformance::model_based::<Fake<FORGETS_DELETES>>(CASES).unwrap_err();
    let message = failure.message();
    assert!(message.contains("shortest failing sequence"), "{message}");
    // The shrunk sequence needs a set, a delete and a reopen at least.
    assert!(message.contains("set "), "{message}");
    assert!(message.contains("delete "), "{message}");
    assert!(message.contains("reopen"), "{message}");
}

#[test]
fn a_store_that_loses_writes_on_reopen_is_caught() {
    type S = Fake<LOSES_WRITES_ON_REOPEN>;
    // Everything works until the store is reopened.
    checks::scan_sees_latest_writes::<S>().unwrap();
    assert_fails(checks::reopen::<S>(), "reopen", "after reopening: scan(");
    assert_fails(
        conformance::model_based::<S>(CASES),
        "model_based",
        "disagrees with the BTreeMap model",
    );
}

#[test]
fn a_store_that_comes_back_torn_after_a_crash_is_caught() {
    type S = Fake<TORN_AFTER_CRASH>;
    // A clean shutdown flushes everything, so reopening cannot see it.
    checks::reopen::<S>().unwrap();
    assert_fails(
        checks::crash::<S>(),
        "crash",
        "which is not a state it had since the last flush",
    );
    assert_fails(
        conformance::model_based::<S>(CASES),
        "model_based",
        "which is not a state it had since the last flush",
    );
}

#[test]
fn a_store_that_reopens_its_files_out_of_order_is_caught() {
    type S = Fake<REOPENS_FILES_OUT_OF_ORDER>;
    // With fewer than ten files, name order is number order.
    checks::reopen::<S>().unwrap();
    assert_fails(
        checks::many_flushes::<S>(),
        "many_flushes",
        "after many flushes and a reopen",
    );
}
