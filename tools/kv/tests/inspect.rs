//! Snapshots of `cargo kv inspect` and `cargo kv svg` on a small chapter 6
//! store built by fixed operations, and the errors for damaged files.
//!
//! The store is built the same way every run (fixed keys, small options,
//! no automatic compaction), so its files, and therefore the text, are the
//! same byte for byte: a change in a format or in the output shows up as a
//! snapshot diff to review. The book includes these snapshots.

// The helpers that build the store are not `#[test]` functions, which
// clippy.toml's allowance covers; a failed step there is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use ch00_contract::{KeyRange, KvStore};
use ch06_lsm::{LsmStore, Options};
use kv::inspect::inspect;
use kv::svg::svg;

fn options() -> Options {
    Options {
        memtable_bytes: 600,
        block_size: 256,
        table_target_bytes: 1024,
        level_base_bytes: 2048,
        l0_compaction_trigger: 2,
        auto_compaction: false,
        ..Options::default()
    }
}

/// A store with tables on levels 0, 1 and 2, point deletes, a range
/// tombstone and a log holding the last writes.
fn build(dir: &Path) -> LsmStore {
    let mut store = LsmStore::open_with(dir, &options()).unwrap();
    for i in 0..120u32 {
        let key = format!("key{:03}", (i * 37) % 120);
        store
            .set(key.as_bytes(), format!("value-{i}").as_bytes())
            .unwrap();
    }
    store.compact_level(0).unwrap();
    store.compact_level(1).unwrap();
    for i in (0..120u32).step_by(7) {
        store.delete(format!("key{i:03}").as_bytes()).unwrap();
    }
    store
        .delete_range(KeyRange::new(b"key050".as_slice()..b"key060".as_slice()))
        .unwrap();
    for i in 0..30u32 {
        let key = format!("key{:03}", 100 + i);
        store.set(key.as_bytes(), b"newer").unwrap();
    }
    for i in 0..30u32 {
        let key = format!("key{:03}", 200 + i);
        store.set(key.as_bytes(), b"late").unwrap();
    }
    store.sync().unwrap();
    store
}

fn first_table(dir: &Path) -> PathBuf {
    let mut tables: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sst"))
        .collect();
    tables.sort();
    tables.remove(0)
}

#[test]
fn inspect_an_lsm_directory_and_one_table() {
    let dir = tempfile::tempdir().unwrap();
    let store = build(dir.path());
    // Level 0's oldest table: it holds point deletes and a range tombstone.
    let table = ch06_lsm::files::table_path(dir.path(), store.levels().level(0)[0].number());
    drop(store);
    let text = inspect(dir.path()).unwrap();
    assert!(!text.contains(dir.path().to_str().unwrap()), "{text}");
    insta::assert_snapshot!("lsm_directory", text);

    let text = inspect(&table).unwrap();
    assert!(!text.contains(dir.path().to_str().unwrap()), "{text}");
    insta::assert_snapshot!("lsm_table", text);
}

#[test]
fn svg_before_and_after_compacting_everything() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = build(dir.path());
    let before = svg(dir.path()).unwrap();
    store.compact_all().unwrap();
    store.sync().unwrap();
    let after = svg(dir.path()).unwrap();
    drop(store);
    for picture in [&before, &after] {
        assert!(!picture.contains(dir.path().to_str().unwrap()));
        assert!(picture.contains(r#"width="800""#));
    }
    insta::assert_snapshot!("svg_before_compact_all", before);
    insta::assert_snapshot!("svg_after_compact_all", after);
}

/// Runs the binary on `path` and returns its exit status and stderr.
fn run_kv(args: &[&std::ffi::OsStr]) -> (std::process::ExitStatus, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_kv"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn damaged_and_unknown_files_are_errors_that_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    drop(build(dir.path()));
    let table = first_table(dir.path());
    let bytes = std::fs::read(&table).unwrap();

    let truncated = dir.path().join("truncated.sst");
    std::fs::write(&truncated, &bytes[..bytes.len() - 10]).unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(
        &garbage,
        b"this is not a table, nor a log; just some text\n",
    )
    .unwrap();
    let tiny = dir.path().join("tiny");
    std::fs::write(&tiny, b"KV").unwrap();
    let flipped = dir.path().join("flipped.sst");
    let mut damaged = bytes.clone();
    damaged[10] ^= 0xff;
    std::fs::write(&flipped, &damaged).unwrap();

    for (path, name) in [
        (&truncated, "truncated.sst"),
        (&garbage, "garbage.bin"),
        (&tiny, "tiny"),
        (&flipped, "flipped.sst"),
    ] {
        // The library: an error, not a panic.
        let err = inspect(path).unwrap_err();
        assert!(err.to_string().contains(name), "{err}");
        // The binary: a message on stderr, a nonzero exit, no panic.
        let (status, stdout, stderr) = run_kv(&["inspect".as_ref(), path.as_os_str()]);
        assert!(!status.success(), "{name}: {stdout}");
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
        assert!(stderr.contains(name), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
    }
}

#[test]
fn play_round_trips_through_every_stage() {
    use kv::play::{Command as Play, StageName, run};
    for stage in [
        StageName::Ch02,
        StageName::Ch03,
        StageName::Ch04,
        StageName::Ch05,
        StageName::Ch06,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("store");
        let set = |key: &str, value: &str| Play::Set {
            key: key.into(),
            value: value.into(),
        };
        run(stage, &store, &set("b", "2")).unwrap();
        run(stage, &store, &set("a", "1")).unwrap();
        run(stage, &store, &Play::Delete { key: b"b".to_vec() }).unwrap();
        let got = run(stage, &store, &Play::Get { key: b"a".to_vec() }).unwrap();
        assert_eq!(got, "\"1\"\n", "{stage:?}");
        let scan = Play::Scan {
            range: KeyRange::all(),
            limit: 10,
        };
        assert_eq!(
            run(stage, &store, &scan).unwrap(),
            "\"a\" = \"1\"\n",
            "{stage:?}"
        );
        // Whatever the stage wrote, inspect recognises it.
        let text = inspect(&store).unwrap();
        assert!(!text.is_empty(), "{stage:?}");
    }
}
