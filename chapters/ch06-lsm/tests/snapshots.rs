//! The formats, pinned: the bytes of a small log and of a small manifest,
//! as plain hex dumps and annotated field by field. The annotations read
//! the fields from the bytes, and the tests check what they read against
//! the store's own decoders (the log's replay, the manifest's decode), so
//! an annotation cannot drift from the format; and that a store writes
//! exactly these bytes.

// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::fmt::Write;
use std::io::Write as _;
use std::path::Path;

use ch00_contract::{KvStore, WriteBatch};
use ch05_sparse_index::block::{ENTRY_HEADER_LEN, decode_entry};
use ch06_lsm::files::{self, MANIFEST};
use ch06_lsm::manifest::{self, Manifest};
use ch06_lsm::wal::{self, HEADER_LEN, RECORD_HEADER_LEN};
use ch06_lsm::{LsmStore, Options};
use disk::{Disk, SimDisk};

/// A record's operations: keys, and values (`None`: a delete).
type Ops = Vec<(Vec<u8>, Option<Vec<u8>>)>;

type Record<'a> = &'a [(&'a [u8], Option<&'a [u8]>)];

// ANCHOR: small_log
/// The small log's records: a set, a delete, and a batch of two (an empty
/// value and a value).
const RECORDS: [Record<'static>; 3] = [
    &[(b"apple", Some(b"red"))],
    &[(b"banana", None)],
    &[(b"cherry", Some(b"")), (b"date", Some(b"brown"))],
];

/// Log number 1 (a new store's first log): its header, then the records.
fn small_log() -> Vec<u8> {
    let mut bytes = wal::encode_header(1).to_vec();
    for ops in RECORDS {
        wal::encode_record(&mut bytes, ops.iter().copied()).unwrap();
    }
    bytes
}
// ANCHOR_END: small_log

// ANCHOR: small_manifest
/// The small manifest: one live log, a table in level 0 and one in
/// level 1.
fn small_manifest() -> Manifest {
    let mut manifest = Manifest {
        next_file: 6,
        logs: vec![5],
        ..Manifest::default()
    };
    manifest.levels[0] = vec![4];
    manifest.levels[1] = vec![2];
    manifest
}
// ANCHOR_END: small_manifest

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap())
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

/// A new store on a simulated disk, in `/store`.
fn new_store() -> (SimDisk, LsmStore) {
    let sim = SimDisk::new();
    let dir = Path::new("/store");
    sim.add_root(dir);
    let options = Options {
        disk: Disk::simulated(sim.clone()),
        ..Options::default()
    };
    (sim, LsmStore::open_with(dir, &options).unwrap())
}

/// The log as a store writes it, for the writes of `RECORDS`.
fn log_a_store_writes() -> Vec<u8> {
    let (sim, mut store) = new_store();
    for ops in RECORDS {
        match ops {
            [(key, Some(value))] => store.set(key, value).unwrap(),
            [(key, None)] => store.delete(key).unwrap(),
            _ => {
                let mut batch = WriteBatch::new();
                for (key, value) in ops {
                    match value {
                        Some(value) => batch.set(key, value),
                        None => batch.delete(key),
                    };
                }
                store.write(&batch).unwrap();
            }
        }
    }
    let path = files::log_path(store.dir(), store.log_number());
    drop(store);
    sim.contents(&path).unwrap()
}

/// What the store's replay reads from the log `bytes`: each record's
/// operations.
fn replayed(bytes: &[u8]) -> Vec<Ops> {
    let sim = SimDisk::new();
    let dir = Path::new("/log");
    sim.add_root(dir);
    let disk = Disk::simulated(sim);
    let path = files::log_path(dir, 1);
    disk.create(&path).unwrap().write_all(bytes).unwrap();
    let mut records = Vec::new();
    let replay = wal::replay(&disk, &path, 1, wal::LogRecovery::Strict, |ops| {
        records.push(
            ops.iter()
                .map(|op| match op {
                    wal::LogOp::Put(e) => (e.key.to_vec(), e.value.map(<[u8]>::to_vec)),
                    wal::LogOp::DeleteRange(t) => panic!("a range delete in this log: {t:?}"),
                })
                .collect(),
        );
    })
    .unwrap();
    assert_eq!((replay.valid_len, replay.torn), (bytes.len() as u64, None));
    records
}

/// One line per field of a log: offset, bytes, meaning; a heading for the
/// header and for each record. Also what it read: each record's
/// operations. The checksums are checked as they are met.
fn annotated_log(bytes: &[u8]) -> (String, Vec<Ops>) {
    let mut out = String::new();
    let mut records = Vec::new();
    let mut line = |at: usize, len: usize, meaning: String| {
        let _ = writeln!(out, "{at:04x}  {:<24} {meaning}", hex(&bytes[at..at + len]));
    };
    line(0, 0, format!("== header: 0000 to {:04x}", HEADER_LEN - 1));
    line(
        0,
        4,
        format!("magic {:?}", String::from_utf8_lossy(&bytes[..4])),
    );
    line(4, 2, format!("format version {}", u16_at(bytes, 4)));
    line(6, 2, "reserved".into());
    let number = u64_at(bytes, 8);
    let name = file_name(&files::log_path(Path::new(""), number));
    line(8, 8, format!("log number {number} ({name})"));
    assert_eq!(crc32fast::hash(&bytes[..16]), u32_at(bytes, 16));
    line(16, 4, "CRC-32 of the 16 bytes before".into());
    let mut at = HEADER_LEN;
    while at < bytes.len() {
        let start = at + RECORD_HEADER_LEN;
        let end = start + u32_at(bytes, at) as usize;
        let count = u32_at(bytes, start);
        let r = records.len();
        let what = match count {
            1 if bytes[start + 4] == 0 => "a set".to_owned(),
            1 => "a delete".to_owned(),
            n => format!("a batch of {n}"),
        };
        line(
            at,
            0,
            format!("== record {r}: {at:04x} to {:04x}, {what}", end - 1),
        );
        line(at, 4, format!("payload length {}", end - start));
        assert_eq!(crc32fast::hash(&bytes[start..end]), u32_at(bytes, at + 4));
        line(at + 4, 4, "CRC-32 of the payload".into());
        assert_eq!(crc32fast::hash(&bytes[at..at + 8]), u32_at(bytes, at + 8));
        line(at + 8, 4, "CRC-32 of the 8 bytes before".into());
        line(start, 4, format!("count {count}"));
        let payload = &bytes[start..end];
        let mut ops = Ops::new();
        let mut pos = 4;
        while pos < payload.len() {
            let span = decode_entry(Path::new("x"), payload, pos, 0).unwrap();
            let e = span.entry(payload);
            let at = start + pos;
            let kind = if e.value.is_some() {
                "a value"
            } else {
                "a delete"
            };
            line(at, 1, format!("kind: {kind}"));
            line(at + 1, 2, format!("key length {}", e.key.len()));
            line(
                at + 3,
                4,
                format!("value length {}", e.value.map_or(0, <[u8]>::len)),
            );
            let key_at = at + ENTRY_HEADER_LEN;
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
            ops.push((e.key.to_vec(), e.value.map(<[u8]>::to_vec)));
            pos = span.next;
        }
        assert_eq!(ops.len(), count as usize);
        records.push(ops);
        at = end;
    }
    (out, records)
}

// ANCHOR: log_bytes
#[test]
fn a_small_log_byte_by_byte() {
    let bytes = small_log();
    assert_eq!(log_a_store_writes(), bytes, "a store writes these bytes");
    let (annotated, read) = annotated_log(&bytes);
    let written: Vec<Ops> = RECORDS
        .iter()
        .map(|ops| {
            ops.iter()
                .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
                .collect()
        })
        .collect();
    // The annotation read the writes, and so does the store's replay.
    assert_eq!(read, written);
    assert_eq!(replayed(&bytes), written);
    insta::assert_snapshot!("small_log_hex", ch00_contract::hex_dump(&bytes));
    insta::assert_snapshot!("small_log_annotated", annotated);
}
// ANCHOR_END: log_bytes

/// The manifest of a store that flushed, compacted level 0 (its one
/// table moves down to level 1 whole: nothing there overlaps it), and
/// flushed again: each flush takes a number for its table and one for the
/// new log.
fn manifest_a_store_writes() -> Vec<u8> {
    let (sim, mut store) = new_store();
    store.set(b"apple", b"red").unwrap();
    store.flush().unwrap();
    assert!(store.compact_level(0).unwrap());
    store.set(b"grape", b"red").unwrap();
    store.flush().unwrap();
    let path = store.dir().join(MANIFEST);
    drop(store);
    sim.contents(&path).unwrap()
}

/// One line per field of a manifest: offset, bytes, meaning. Also what it
/// read. The checksum is checked as it is met.
fn annotated_manifest(bytes: &[u8]) -> (String, Manifest) {
    let mut out = String::new();
    let mut line = |at: usize, len: usize, meaning: String| {
        let _ = writeln!(out, "{at:04x}  {:<24} {meaning}", hex(&bytes[at..at + len]));
    };
    line(
        0,
        4,
        format!("magic {:?}", String::from_utf8_lossy(&bytes[..4])),
    );
    line(4, 2, format!("format version {}", u16_at(bytes, 4)));
    line(6, 2, "reserved".into());
    let next_file = u64_at(bytes, 8);
    line(8, 8, format!("next file number {next_file}"));
    let logs = u32_at(bytes, 16) as usize;
    let tables = u32_at(bytes, 20) as usize;
    line(16, 4, format!("live log count {logs}"));
    line(20, 4, format!("live table count {tables}"));
    let mut read = Manifest {
        next_file,
        ..Manifest::default()
    };
    let mut at = manifest::HEADER_LEN;
    for _ in 0..logs {
        let number = u64_at(bytes, at);
        read.logs.push(number);
        let path = files::log_path(Path::new(""), number);
        line(at, 8, format!("log {number} ({})", file_name(&path)));
        at += 8;
    }
    for _ in 0..tables {
        let level = u32_at(bytes, at);
        line(at, 4, format!("level {level}"));
        let number = u64_at(bytes, at + 4);
        read.levels[level as usize].push(number);
        let path = files::table_path(Path::new(""), number);
        line(
            at + 4,
            8,
            format!("  table {number} ({})", file_name(&path)),
        );
        at += manifest::TABLE_ENTRY_LEN;
    }
    assert_eq!(crc32fast::hash(&bytes[..at]), u32_at(bytes, at));
    line(at, 4, format!("CRC-32 of the {at} bytes before"));
    assert_eq!(at + 4, bytes.len());
    (out, read)
}

// ANCHOR: manifest_bytes
#[test]
fn a_small_manifest_byte_by_byte() {
    let bytes = small_manifest().encode();
    assert_eq!(
        manifest_a_store_writes(),
        bytes,
        "a store writes these bytes"
    );
    let (annotated, read) = annotated_manifest(&bytes);
    // The annotation read the manifest, and so does the store's decoder.
    assert_eq!(read, small_manifest());
    assert_eq!(Manifest::decode(Path::new(MANIFEST), &bytes).unwrap(), read);
    insta::assert_snapshot!("small_manifest_hex", ch00_contract::hex_dump(&bytes));
    insta::assert_snapshot!("small_manifest_annotated", annotated);
}
// ANCHOR_END: manifest_bytes

// ANCHOR: range_bytes
/// A range delete in the log (one operation of kind 2) and in a table's
/// meta section (a range section after the filter): the store's own bytes,
/// pinned.
#[test]
fn a_range_delete_byte_by_byte() {
    let (sim, mut store) = new_store();
    store.set(b"a", b"1").unwrap();
    store.set(b"c", b"3").unwrap();
    store.flush().unwrap();
    let log = files::log_path(store.dir(), store.log_number());
    store
        .delete_range(ch00_contract::KeyRange::new(&b"b"[..]..=&b"c"[..]))
        .unwrap();
    let log_bytes = sim.contents(&log).unwrap();
    insta::assert_snapshot!("range_log_hex", ch00_contract::hex_dump(&log_bytes));

    store.flush().unwrap();
    let newest = *store.table_numbers().last().unwrap();
    let table = sim
        .contents(&files::table_path(store.dir(), newest))
        .unwrap();
    insta::assert_snapshot!("range_table_hex", ch00_contract::hex_dump(&table));
    assert_eq!(store.get(b"c").unwrap(), None);
    assert_eq!(store.get(b"a").unwrap(), Some(b"1".to_vec()));
}
// ANCHOR_END: range_bytes
