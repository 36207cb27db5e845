//! Damaged files, at open: every truncation and every flipped bit of the
//! log, of the manifest and of a table. A log cut anywhere opens as a
//! prefix of its records, the cut reported; damage before the last record
//! is an error naming the file and the offset, and so is any damage to
//! the manifest, which leaves every file as it was. Never a panic, never
//! a value that was not written.
//!
//! The sweeps run on the simulated disk (an open syncs several times, and
//! they open the store thousands of times), each case on a copy of the
//! disk as the crash left it; damage in the middle of the log is shown on
//! the real disk too.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ch00_contract::{Error, KeyRange, KvStore, Result, WriteBatch};
use ch06_lsm::files::{self, MANIFEST};
use ch06_lsm::manifest::Manifest;
use ch06_lsm::wal::{self, HEADER_LEN, RECORD_HEADER_LEN};
use ch06_lsm::{LsmStore, Options};
use disk::{Disk, SimDisk};

/// The store's directory on the simulated disk.
const DIR: &str = "/store";

/// One operation: a key, and its value (`None`: a delete).
type Op = (&'static str, Option<&'static str>);

// ANCHOR: records
/// The writes of the log every test damages: one record each (a set, a
/// delete, a batch, an empty value).
const RECORDS: [&[Op]; 5] = [
    &[("a", Some("1"))],
    &[("b", Some("2"))],
    &[("a", None)],
    &[("c", Some("3")), ("d", Some("4")), ("b", Some("5"))],
    &[("e", Some(""))],
];
// ANCHOR_END: records

/// Every key the tests write, and one they never write.
const KEYS: [&str; 7] = ["a", "b", "c", "d", "e", "f", "z"];

fn write(store: &mut LsmStore, ops: &[Op]) {
    match ops {
        [(key, Some(value))] => store.set(key.as_bytes(), value.as_bytes()).unwrap(),
        [(key, None)] => store.delete(key.as_bytes()).unwrap(),
        _ => {
            let mut batch = WriteBatch::new();
            for (key, value) in ops {
                match value {
                    Some(value) => batch.set(key.as_bytes(), value.as_bytes()),
                    None => batch.delete(key.as_bytes()),
                };
            }
            store.write(&batch).unwrap();
        }
    }
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// What the first `n` records hold.
fn model(n: usize) -> Model {
    let mut model = Model::new();
    for ops in &RECORDS[..n] {
        for (key, value) in *ops {
            match value {
                Some(value) => model.insert(key.as_bytes().to_vec(), value.as_bytes().to_vec()),
                None => model.remove(key.as_bytes()),
            };
        }
    }
    model
}

/// Asserts that `store` holds exactly `want`, by a scan and by a get of
/// every key.
fn assert_holds(store: &LsmStore, want: &Model, what: &str) {
    let scanned: Result<Vec<_>> = store.scan(KeyRange::all()).unwrap().collect();
    let scanned = scanned.unwrap_or_else(|e| panic!("{what}: scan: {e}"));
    let expected: Vec<_> = want.clone().into_iter().collect();
    assert_eq!(scanned, expected, "{what}: scan");
    for key in KEYS {
        let got = store
            .get(key.as_bytes())
            .unwrap_or_else(|e| panic!("{what}: get({key}): {e}"));
        assert_eq!(got.as_ref(), want.get(key.as_bytes()), "{what}: get({key})");
    }
}

/// Every file in the store's directory, by name, with its bytes.
fn files(sim: &SimDisk) -> BTreeMap<String, Vec<u8>> {
    let dir = Path::new(DIR);
    Disk::simulated(sim.clone())
        .list(dir)
        .unwrap()
        .into_iter()
        .filter(|entry| !entry.is_dir)
        .map(|entry| {
            let bytes = sim.contents(&dir.join(&entry.name)).unwrap();
            (entry.name.into_string().unwrap(), bytes)
        })
        .collect()
}

fn open(sim: &SimDisk) -> Result<LsmStore> {
    let options = Options {
        disk: Disk::simulated(sim.clone()),
        ..Options::default()
    };
    LsmStore::open_with(Path::new(DIR), &options)
}

/// A copy of the disk `sim` with the file at `path` holding `bytes`.
fn with_file(sim: &SimDisk, path: &Path, bytes: &[u8]) -> SimDisk {
    let copy = sim.fork();
    let mut file = Disk::simulated(copy.clone()).create(path).unwrap();
    file.write_all(bytes).unwrap();
    file.sync().unwrap();
    copy
}

fn manifest_of(sim: &SimDisk) -> Manifest {
    let path = Path::new(DIR).join(MANIFEST);
    Manifest::decode(&path, &sim.contents(&path).unwrap()).unwrap()
}

fn ops_of(ops: &[Op]) -> impl ExactSizeIterator<Item = (&[u8], Option<&[u8]>)> {
    ops.iter()
        .map(|(key, value)| (key.as_bytes(), value.map(str::as_bytes)))
}

/// Where each record of `RECORDS` starts in a log, and, last, where the
/// log ends.
fn bounds() -> Vec<usize> {
    let mut bounds = vec![HEADER_LEN];
    for ops in RECORDS {
        bounds.push(bounds[bounds.len() - 1] + wal::record_len(ops_of(ops)));
    }
    bounds
}

/// A store that took the writes of `RECORDS` and crashed, unsynced: what
/// the operating system holds (a crash of the process keeps it all).
struct Logged {
    sim: SimDisk,
    /// The log's path.
    log: PathBuf,
    /// The log's bytes: its header and one record per write.
    bytes: Vec<u8>,
    /// See [`bounds`].
    bounds: Vec<usize>,
}

fn logged() -> Logged {
    let sim = SimDisk::new();
    sim.add_root(Path::new(DIR));
    let mut store = open(&sim).unwrap();
    for ops in RECORDS {
        write(&mut store, ops);
    }
    drop(store);
    let manifest = manifest_of(&sim);
    assert_eq!((manifest.logs.len(), manifest.tables().count()), (1, 0));
    let log = files::log_path(Path::new(DIR), manifest.logs[0]);
    let bytes = sim.contents(&log).unwrap();
    let bounds = bounds();
    assert_eq!(bounds[RECORDS.len()], bytes.len(), "one record per write");
    // Undamaged, the log opens to every write, with nothing cut. (On a
    // copy: an open moves the records to a new log.)
    let store = open(&sim.fork()).unwrap();
    assert_eq!(store.recovery().records, RECORDS.len() as u64);
    assert!(store.recovery().torn.is_empty());
    assert_holds(&store, &model(RECORDS.len()), "undamaged");
    Logged {
        sim,
        log,
        bytes,
        bounds,
    }
}

fn name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

// ANCHOR: every_cut
/// A log cut at any length opens, holding exactly the records that lie
/// wholly before the cut; a cut that is not at a record boundary is
/// reported as a torn tail. A cut inside the 20-byte file header, even at
/// 0, is an error naming the log: the store syncs a log's header before
/// the manifest names it, so a named log's header is never torn. After
/// the open the cut is gone for good: a write, a crash and a reopen find
/// no torn tail, and the write.
#[test]
fn every_truncation_of_the_log_opens_as_a_prefix_of_its_records() {
    let logged = logged();
    let bounds = &logged.bounds;
    for len in 0..=logged.bytes.len() {
        let what = format!("log cut to {len} bytes");
        let sim = with_file(&logged.sim, &logged.log, &logged.bytes[..len]);
        if len < HEADER_LEN {
            let before = files(&sim);
            let e = open(&sim).err().unwrap_or_else(|| panic!("{what}: opened"));
            let expected = format!("corrupt file {} at byte offset 0: ", logged.log.display());
            assert!(e.to_string().starts_with(&expected), "{what}: {e}");
            assert_eq!(files(&sim), before, "{what}: files changed");
            continue;
        }
        let mut store = open(&sim).unwrap_or_else(|e| panic!("{what}: {e}"));
        let whole = bounds[1..].iter().filter(|&&end| end <= len).count();
        let recovery = store.recovery();
        assert_eq!(recovery.records, whole as u64, "{what}");
        if bounds.contains(&len) {
            assert!(recovery.torn.is_empty(), "{what}: {:?}", recovery.torn);
        } else {
            let cut = bounds[whole];
            let expected = format!("{} at offset {cut}: ", name(&logged.log));
            assert_eq!(recovery.torn.len(), 1, "{what}");
            assert!(
                recovery.torn[0].starts_with(&expected),
                "{what}: {:?}",
                recovery.torn
            );
        }
        let mut want = model(whole);
        assert_holds(&store, &want, &what);
        store.set(b"f", b"6").unwrap();
        drop(store);
        let store = open(&sim).unwrap_or_else(|e| panic!("{what}, reopened: {e}"));
        assert!(store.recovery().torn.is_empty(), "{what}, reopened");
        want.insert(b"f".to_vec(), b"6".to_vec());
        assert_holds(&store, &want, &format!("{what}, reopened"));
    }
}
// ANCHOR_END: every_cut

/// The region of the log that byte `at` lies in: 0 for the file header,
/// else the offset of its record; and where the next one starts.
fn region(bounds: &[usize], at: usize) -> (usize, usize) {
    if at < HEADER_LEN {
        return (0, HEADER_LEN);
    }
    let i = bounds.iter().rposition(|&start| start <= at).unwrap();
    (bounds[i], bounds[i + 1])
}

// ANCHOR: every_flip
/// A flipped bit in the file header or in any record but the last is
/// damage in the middle: an error naming the log and the offset of the
/// bad header or record, and the damaged log is left as it is. A flipped
/// bit in the last record cannot be told from a torn tail: it is cut, and
/// the other records are all there.
#[test]
fn every_flipped_bit_of_the_log_is_an_error_or_cuts_the_last_record() {
    let logged = logged();
    let bounds = &logged.bounds;
    let last = bounds[RECORDS.len() - 1];
    for at in 0..logged.bytes.len() {
        for bit in 0..8 {
            let what = format!("bit {bit} of byte {at} of the log");
            let mut bytes = logged.bytes.clone();
            bytes[at] ^= 1 << bit;
            let sim = with_file(&logged.sim, &logged.log, &bytes);
            let before = files(&sim);
            match open(&sim) {
                Ok(store) => {
                    assert!(
                        at >= last,
                        "{what}: damage before the last record was missed"
                    );
                    let recovery = store.recovery();
                    assert_eq!(recovery.records, RECORDS.len() as u64 - 1, "{what}");
                    let expected = format!("{} at offset {last}: ", name(&logged.log));
                    assert!(
                        recovery.torn.len() == 1 && recovery.torn[0].starts_with(&expected),
                        "{what}: {:?}",
                        recovery.torn
                    );
                    assert_holds(&store, &model(RECORDS.len() - 1), &what);
                }
                Err(e) => {
                    assert!(
                        at < last,
                        "{what}: the last record's damage is a torn tail: {e}"
                    );
                    if at < HEADER_LEN {
                        // The header's checksum catches it.
                        let expected = format!(
                            "corrupt file {} at byte offset 16: expected the header's CRC-32",
                            logged.log.display()
                        );
                        assert!(e.to_string().starts_with(&expected), "{what}: {e}");
                    } else {
                        let (bad, next) = region(bounds, at);
                        assert_damage_in_the_middle(&e, &logged.log, bad, next, &what);
                    }
                    assert_eq!(files(&sim), before, "{what}: files changed");
                }
            }
        }
    }
}
// ANCHOR_END: every_flip

/// `e` is the error of a log whose record (or header) at `bad` is damaged,
/// with an intact record at `next`.
fn assert_damage_in_the_middle(e: &Error, log: &Path, bad: usize, next: usize, what: &str) {
    let message = e.to_string();
    assert!(e.is_corruption(), "{what}: {message}");
    for part in [
        format!("corrupt file {} at byte offset {bad}: ", log.display()),
        format!("with an intact record after it at offset {next}"),
    ] {
        assert!(message.contains(&part), "{what}: {message}");
    }
}

/// A store with two tables and a log: `a` and `c` flushed, then `b`, an
/// empty `e` and a delete of `a` flushed (the tombstone kept: the older
/// table may hold `a`), then `d` in the log.
fn tabled() -> (SimDisk, Model) {
    let sim = SimDisk::new();
    sim.add_root(Path::new(DIR));
    let mut store = open(&sim).unwrap();
    for ops in [
        &[("a", Some("1")), ("c", Some("3"))][..],
        &[("b", Some("2")), ("e", Some("")), ("a", None)],
        &[("d", Some("4"))],
    ] {
        write(&mut store, ops);
        if ops.len() > 1 {
            store.flush().unwrap();
        }
    }
    assert_eq!(store.tables().map(|t| t.len()).collect::<Vec<_>>(), [2, 3]);
    drop(store);
    let model: Model = [("b", "2"), ("c", "3"), ("d", "4"), ("e", "")]
        .into_iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
        .collect();
    assert_holds(&open(&sim.fork()).unwrap(), &model, "undamaged");
    (sim, model)
}

// ANCHOR: manifest
/// A damaged manifest is an error naming it, whatever the damage: its
/// checksum covers every byte, and its length is checked. And the open
/// stops there: it removes no file (a damaged manifest names none, so
/// every file would look like a leftover), not even what looks like one,
/// and changes none.
#[test]
fn every_truncation_and_flipped_bit_of_the_manifest_is_an_error_that_touches_nothing() {
    let (sim, _) = tabled();
    let path = Path::new(DIR).join(MANIFEST);
    let bytes = sim.contents(&path).unwrap();
    // What a crash may leave: a flush's table before its switch, a
    // temporary manifest. An open with a good manifest removes them.
    let disk = Disk::simulated(sim.clone());
    for leftover in ["000009.sst", "MANIFEST.tmp"] {
        disk.create(&Path::new(DIR).join(leftover)).unwrap();
    }
    let mut damaged: Vec<(String, Vec<u8>)> = (0..bytes.len())
        .map(|len| {
            (
                format!("manifest cut to {len} bytes"),
                bytes[..len].to_vec(),
            )
        })
        .collect();
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let mut flipped = bytes.clone();
            flipped[at] ^= 1 << bit;
            damaged.push((format!("bit {bit} of byte {at} of the manifest"), flipped));
        }
    }
    for (what, bytes) in damaged {
        let sim = with_file(&sim, &path, &bytes);
        let before = files(&sim);
        assert_eq!(
            before.len(),
            6,
            "the manifest, a log, two tables, leftovers"
        );
        match open(&sim) {
            Ok(_) => panic!("{what}: the store opened"),
            Err(e) => {
                assert!(e.is_corruption(), "{what}: {e}");
                let expected = format!("corrupt file {} at byte offset ", path.display());
                assert!(e.to_string().starts_with(&expected), "{what}: {e}");
            }
        }
        assert_eq!(files(&sim), before, "{what}: files changed");
    }
}
// ANCHOR_END: manifest

/// A manifest whose checksum is right but whose levels are not: two
/// tables with overlapping keys named in level 1, where a read asks one
/// table per level and would miss the other's answer. The open refuses
/// it, naming the manifest and the table, and removes nothing.
#[test]
fn a_manifest_naming_overlapping_tables_in_a_deeper_level_is_an_error() {
    let (sim, _) = tabled();
    let path = Path::new(DIR).join(MANIFEST);
    let mut manifest = manifest_of(&sim);
    let tables = std::mem::take(&mut manifest.levels[0]);
    assert_eq!(tables.len(), 2, "both hold key a");
    manifest.levels[1] = tables;
    let sim = with_file(&sim, &path, &manifest.encode());
    let before = files(&sim);
    let Err(e) = open(&sim) else {
        panic!("the store opened")
    };
    assert!(e.is_corruption(), "{e}");
    let message = e.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(
        message.contains("level 1") && message.contains("overlaps"),
        "{message}"
    );
    assert_eq!(files(&sim), before, "files changed");
}

/// Every flipped bit of the newest table (a value, an empty value, a
/// tombstone that hides the older table's value): the open or a read
/// reports it, and every answer given is the right one. Damage to a
/// table is never a torn tail: a table is written whole and synced
/// before the manifest names it.
#[test]
fn every_flipped_bit_of_a_table_is_an_error_never_a_wrong_value() {
    let (sim, model) = tabled();
    let newest = manifest_of(&sim).tables().last().unwrap();
    let path = files::table_path(Path::new(DIR), newest);
    let bytes = sim.contents(&path).unwrap();
    for at in 0..bytes.len() {
        for bit in 0..8 {
            let what = format!("bit {bit} of byte {at} of the table");
            let mut flipped = bytes.clone();
            flipped[at] ^= 1 << bit;
            let sim = with_file(&sim, &path, &flipped);
            let store = match open(&sim) {
                Ok(store) => store,
                Err(e) => {
                    assert!(e.is_corruption(), "{what}: {e}");
                    assert!(e.to_string().contains(&name(&path)), "{what}: {e}");
                    continue;
                }
            };
            let mut noticed = false;
            let mut check = |result: Result<()>| {
                if let Err(e) = result {
                    assert!(e.is_corruption(), "{what}: {e}");
                    noticed = true;
                }
            };
            for key in KEYS {
                check(store.get(key.as_bytes()).map(|got| {
                    assert_eq!(
                        got.as_ref(),
                        model.get(key.as_bytes()),
                        "{what}: get({key})"
                    );
                }));
            }
            let scanned: Result<Vec<_>> = store.scan(KeyRange::all()).unwrap().collect();
            check(scanned.map(|scanned| {
                let expected: Vec<_> = model.clone().into_iter().collect();
                assert_eq!(scanned, expected, "{what}: scan");
            }));
            assert!(noticed, "{what}: the damage went unnoticed");
        }
    }
}

// The named problems, on the real disk: each case on a copy of the
// directory a store crashed in.

/// The directory of a store that took the writes of `RECORDS` and
/// crashed, and its log's path.
fn crashed_on_disk() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let mut store = LsmStore::open(dir.path()).unwrap();
    for ops in RECORDS {
        write(&mut store, ops);
    }
    drop(store);
    let path = dir.path().join(MANIFEST);
    let manifest = Manifest::decode(&path, &fs::read(&path).unwrap()).unwrap();
    let log = files::log_path(dir.path(), manifest.logs[0]);
    (dir, log)
}

/// A copy of the directory `from`.
fn copy_dir(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.path().join(entry.file_name())).unwrap();
    }
    to
}

fn dir_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fs::read_dir(dir)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let name = entry.file_name().into_string().unwrap();
            (name, fs::read(entry.path()).unwrap())
        })
        .collect()
}

/// A copy of the crashed directory with its log changed by `change`:
/// the error its open gives, and the log's path in the copy. The open
/// must change no file.
fn open_damaged_log(
    crashed: &Path,
    log: &Path,
    change: impl FnOnce(&mut Vec<u8>),
) -> (Error, PathBuf) {
    let copy = copy_dir(crashed);
    let log = copy.path().join(log.file_name().unwrap());
    let mut bytes = fs::read(&log).unwrap();
    change(&mut bytes);
    fs::write(&log, &bytes).unwrap();
    let before = dir_files(copy.path());
    let e = LsmStore::open(copy.path()).unwrap_err();
    assert_eq!(dir_files(copy.path()), before, "{e}: files changed");
    (e, log)
}

// ANCHOR: middle
/// A record damaged with intact records after it is not a torn tail:
/// bytes in the middle of the log changed. Cutting there would drop the
/// intact writes after it without a word, so the open refuses, and says
/// where, and why it is not a torn tail.
#[test]
fn damage_in_the_middle_of_the_log_is_an_error_naming_the_file_and_the_offset() {
    let (crashed, log) = crashed_on_disk();
    let bounds = bounds();
    // Record 3 (the batch) damaged, record 4 intact after it: a byte of
    // its payload, then a byte of its header (the payload's length).
    for (at, why) in [
        (bounds[4] - 1, "a record whose checksum does not match"),
        (bounds[3], "a record header whose checksum does not match"),
    ] {
        let what = format!("byte {at} changed");
        let (e, log) = open_damaged_log(crashed.path(), &log, |bytes| bytes[at] ^= 0x20);
        assert_damage_in_the_middle(&e, &log, bounds[3], bounds[4], &what);
        assert!(
            e.to_string()
                .contains(&format!("found {why}, with an intact")),
            "{what}: {e}"
        );
    }
}
// ANCHOR_END: middle

// ANCHOR: named
/// The log's header changed, its checksum made to match: not a torn
/// header (its checksum is right) but a header written wrong, or a log
/// under the wrong name. Each is an error saying what is wrong, where.
#[test]
fn a_log_header_written_wrong_is_a_named_error() {
    let logged = logged();
    let cases: [(usize, &[u8], &str); 4] = [
        (
            0,
            b"KVWX",
            "expected the magic number [75, 86, 87, 76] of a log",
        ),
        (
            4,
            &1u16.to_le_bytes(),
            "expected log format version 2 and reserved bytes 0, found version 1, reserved [0, 0]",
        ),
        (
            6,
            &1u16.to_le_bytes(),
            "expected log format version 2 and reserved bytes 0, found version 2, reserved [1, 0]",
        ),
        (
            8,
            &7u64.to_le_bytes(),
            "expected log number 1, as the file's name says, found number 7",
        ),
    ];
    for (at, field, why) in cases {
        let mut bytes = logged.bytes.clone();
        bytes[at..at + field.len()].copy_from_slice(field);
        let crc = crc32fast::hash(&bytes[..16]);
        bytes[16..20].copy_from_slice(&crc.to_le_bytes());
        let sim = with_file(&logged.sim, &logged.log, &bytes);
        let before = files(&sim);
        let e = open(&sim).err().unwrap();
        let expected = format!(
            "corrupt file {} at byte offset {at}: {why}",
            logged.log.display()
        );
        assert!(
            e.is_corruption() && e.to_string().starts_with(&expected),
            "{e}"
        );
        assert_eq!(files(&sim), before);
    }
}

/// Recomputes the checksums of the record at `at`, whose payload is
/// `len` bytes: only what was changed is wrong.
fn reseal(bytes: &mut [u8], at: usize, len: usize) {
    let payload = at + RECORD_HEADER_LEN;
    bytes[at..at + 4].copy_from_slice(&(len as u32).to_le_bytes());
    let crc = crc32fast::hash(&bytes[payload..payload + len]);
    bytes[at + 4..at + 8].copy_from_slice(&crc.to_le_bytes());
    let crc = crc32fast::hash(&bytes[at..at + 8]);
    bytes[at + 8..at + 12].copy_from_slice(&crc.to_le_bytes());
}

/// A record whose checksums match but whose payload does not decode was
/// written wrong: it is an error, even as the last record (a tear cannot
/// leave a record whose checksums match), never cut as a torn tail.
#[test]
fn a_record_written_wrong_is_a_named_error_even_at_the_end() {
    let logged = logged();
    let bounds = &logged.bounds;
    // The record (3: the batch; 4: the last), the byte changed in it and
    // its new value, where the error says the problem is, and what it is.
    let cases: [(usize, usize, u8, usize, &str); 4] = [
        // The batch's count, 3, made 2.
        (
            3,
            12,
            2,
            12,
            "expected 2 operations, as the record's count says, found 3",
        ),
        // The last record's count, 1, made 0.
        (
            4,
            12,
            0,
            12,
            "expected 0 operations, as the record's count says, found 1",
        ),
        // The kind of the batch's second operation made 7.
        (
            3,
            25,
            7,
            25,
            "expected kind 0 (a value) or 1 (a tombstone), found kind 7",
        ),
        // The key length of the last record's operation made 2: the entry
        // runs past the payload.
        (
            4,
            17,
            2,
            16,
            "expected an entry of 9 bytes, found 8 bytes left",
        ),
    ];
    for (record, at, value, offset, why) in cases {
        let start = bounds[record];
        let mut bytes = logged.bytes.clone();
        bytes[start + at] = value;
        reseal(
            &mut bytes,
            start,
            bounds[record + 1] - start - RECORD_HEADER_LEN,
        );
        let sim = with_file(&logged.sim, &logged.log, &bytes);
        let e = open(&sim).err().unwrap();
        let expected = format!(
            "corrupt file {} at byte offset {}: {why}",
            logged.log.display(),
            start + offset
        );
        assert!(
            e.is_corruption() && e.to_string().starts_with(&expected),
            "{e}"
        );
    }
}

/// What a power loss may leave after the last record on some file
/// systems: the file's new length, without its bytes (zeros), or with
/// garbage. Nothing intact follows the records: a torn tail, cut.
#[test]
fn zeros_or_garbage_after_the_last_record_are_a_torn_tail() {
    let logged = logged();
    let end = logged.bytes.len();
    for fill in [0x00, 0xff, 0x5a] {
        let mut bytes = logged.bytes.clone();
        bytes.resize(end + 4096, fill);
        let sim = with_file(&logged.sim, &logged.log, &bytes);
        let store = open(&sim).unwrap();
        let expected = format!("{} at offset {end}: ", name(&logged.log));
        let torn = &store.recovery().torn;
        assert!(
            torn.len() == 1 && torn[0].starts_with(&expected),
            "{torn:?}"
        );
        assert_holds(
            &store,
            &model(RECORDS.len()),
            &format!("{fill:#04x} after the log"),
        );
    }
}

/// A file the manifest names, missing or empty: an error naming it, and
/// nothing removed or changed. (An empty log is a torn header, and opens:
/// see the truncations.)
#[test]
fn a_missing_or_empty_file_the_manifest_names_is_a_named_error() {
    let (sim, _) = tabled();
    let manifest = manifest_of(&sim);
    let dir = Path::new(DIR);
    let log = files::log_path(dir, manifest.logs[0]);
    let table = files::table_path(dir, manifest.tables().nth(1).unwrap());
    for (path, missing) in [(&log, true), (&table, true), (&table, false)] {
        let sim = sim.fork();
        let disk = Disk::simulated(sim.clone());
        if missing {
            disk.remove_file(path).unwrap();
        } else {
            disk.create(path).unwrap();
        }
        let what = format!(
            "{} {}",
            name(path),
            if missing { "missing" } else { "empty" }
        );
        let before = files(&sim);
        let e = open(&sim).err().unwrap_or_else(|| panic!("{what}: opened"));
        let message = e.to_string();
        assert!(message.contains(&path.display().to_string()), "{what}: {e}");
        assert!(e.is_corruption(), "{what}: {e}");
        assert_eq!(files(&sim), before, "{what}");
    }
}
// ANCHOR_END: named

// ANCHOR: value_holds_record
/// A value may hold bytes that look like a log record (a store that keeps
/// another store's files, say). A power loss that tears the record of such
/// a value after its inner "record" leaves a torn tail, not damage in the
/// middle: the search for an intact record after a bad one starts after
/// the bad record's own bytes, which its intact header bounds.
#[test]
fn a_torn_record_whose_value_holds_a_record_is_a_torn_tail() {
    let sim = SimDisk::new();
    sim.add_root(Path::new(DIR));
    let mut store = open(&sim).unwrap();
    store.set(b"a", b"1").unwrap();
    let mut inner = Vec::new();
    wal::encode_record(&mut inner, [(&b"x"[..], Some(&b"y"[..]))].into_iter()).unwrap();
    let mut value = inner.clone();
    value.extend_from_slice(b" and more");
    store.set(b"k", &value).unwrap();
    let log = files::log_path(Path::new(DIR), store.log_number());
    drop(store);
    let bytes = sim.contents(&log).unwrap();
    let second = bytes.len() - wal::record_len([(&b"k"[..], Some(&value[..]))].into_iter());
    // Cut inside the second record, just past the record its value holds.
    let value_at = second + RECORD_HEADER_LEN + 4 + 7 + 1;
    let cut = value_at + inner.len() + 1;
    let sim = with_file(&sim, &log, &bytes[..cut]);
    let store = open(&sim).unwrap();
    assert_eq!(store.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(store.get(b"k").unwrap(), None);
    assert_eq!(store.recovery().torn.len(), 1, "{:?}", store.recovery());
}
// ANCHOR_END: value_holds_record

// ANCHOR: point_in_time
/// After a power failure, a file system may have written some unsynced
/// pages of the log and not others: a gap (here, zeros) with intact
/// records after it. The strict mode cannot tell that from damage, and
/// refuses, saying what would open the store; point-in-time recovery cuts
/// the log at the gap and keeps what lies before it.
#[test]
fn point_in_time_recovery_cuts_at_a_gap_that_strict_recovery_refuses() {
    let logged = logged();
    let bounds = &logged.bounds;
    let mut bytes = logged.bytes.clone();
    bytes[bounds[2]..bounds[3]].fill(0);
    let sim = with_file(&logged.sim, &logged.log, &bytes);
    let e = open(&sim).err().unwrap();
    assert_damage_in_the_middle(&e, &logged.log, bounds[2], bounds[3], "a gap");
    assert!(e.to_string().contains("point-in-time"), "{e}");
    let options = Options {
        disk: Disk::simulated(sim.clone()),
        log_recovery: ch06_lsm::LogRecovery::PointInTime,
        ..Options::default()
    };
    let store = LsmStore::open_with(Path::new(DIR), &options).unwrap();
    assert_holds(&store, &model(2), "cut at the gap");
    let torn = &store.recovery().torn;
    assert!(
        torn.len() == 1 && torn[0].contains(&format!("offset {}", bounds[2])),
        "{torn:?}"
    );
    // The cut is for good: the strict mode opens the store now.
    drop(store);
    let store = open(&sim).unwrap();
    assert_holds(&store, &model(2), "reopened strictly");
}
// ANCHOR_END: point_in_time
