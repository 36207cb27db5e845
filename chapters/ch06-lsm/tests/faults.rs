//! The fault sweep: every I/O operation of a short workload failed in
//! turn, on the simulated disk (see `disk::sweep`), in both log modes,
//! with a memtable so small that the workload flushes, and so switches
//! the manifest, again and again, and levels so small that the flushes
//! set off compactions into levels 1 and 2; and a longer workload that
//! compacts into levels that already hold tables.

// Test code: a failed step of the clean run should stop the test loudly.
#![allow(clippy::unwrap_used)]

use ch06_lsm::{LogSync, LsmStore, Options};
use disk::Disk;

fn options(disk: Disk, log_sync: LogSync) -> Options {
    Options {
        disk,
        log_sync,
        memtable_bytes: 24,
        block_size: 32,
        l0_compaction_trigger: 2,
        level_base_bytes: 64,
        level_size_ratio: 2,
        table_target_bytes: 48,
        ..Options::default()
    }
}

// ANCHOR: sweep
#[test]
fn every_failed_operation_is_reported_and_loses_nothing() {
    match disk::sweep::fault_sweep::<LsmStore>(|disk| options(disk, LogSync::OnSync)) {
        // What was swept is pinned: a change that adds or removes I/O
        // operations shows here.
        Ok(sweep) => insta::assert_snapshot!("sweep", sweep.to_string()),
        Err(problem) => panic!("{problem}"),
    }
}
// ANCHOR_END: sweep

#[test]
fn every_failed_operation_is_reported_and_loses_nothing_with_every_write_synced() {
    match disk::sweep::fault_sweep::<LsmStore>(|disk| options(disk, LogSync::EveryWrite)) {
        Ok(sweep) => insta::assert_snapshot!("sweep_every_write", sweep.to_string()),
        Err(problem) => panic!("{problem}"),
    }
}

/// Sets of keys `a` to `h`, round after round, with deletes and syncs
/// among them and a crash in the middle: with the options below, enough
/// flushes that compactions merge into levels 1 and 2 while they already
/// hold tables, keep tombstones that a deeper level needs, and remove the
/// inputs of merges below level 0.
fn compaction_workload() -> Vec<disk::sweep::Step> {
    use disk::sweep::Step::*;
    const KEYS: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];
    const VALUES: [&str; 4] = ["1", "22", "333", "4444"];
    let mut steps = Vec::new();
    for round in 0..4 {
        for (i, key) in KEYS.iter().enumerate() {
            if (i + round) % 5 == 4 {
                steps.push(Delete(key));
            } else {
                steps.push(Set(key, VALUES[(i + round) % VALUES.len()]));
            }
        }
        steps.push(Sync);
        if round == 1 {
            steps.push(Crash);
        }
    }
    steps
}

fn compacting(disk: Disk, log_sync: LogSync) -> Options {
    Options {
        l0_compaction_trigger: 2,
        level_base_bytes: 160,
        level_size_ratio: 2,
        table_target_bytes: 24,
        ..options(disk, log_sync)
    }
}

// ANCHOR: compaction_sweep
/// Every I/O operation of a workload that compacts into populated levels,
/// failed in turn: each failure is reported, and loses nothing.
#[test]
fn every_failed_operation_of_a_compaction_is_reported_and_loses_nothing() {
    // The workload does what it is for, checked on a disk that never fails.
    let sim = disk::SimDisk::new();
    sim.add_root(std::path::Path::new("/clean"));
    let options = compacting(Disk::simulated(sim.clone()), LogSync::OnSync);
    let mut store = LsmStore::open_with(std::path::Path::new("/clean"), &options).unwrap();
    for step in compaction_workload() {
        use ch00_contract::KvStore;
        use disk::sweep::Step::*;
        match step {
            Set(k, v) => store.set(k.as_bytes(), v.as_bytes()).unwrap(),
            Delete(k) => store.delete(k.as_bytes()).unwrap(),
            Sync => store.sync().unwrap(),
            Batch(_) | Crash => {}
        }
    }
    let (merged, levels) = (store.compactions(), store.levels());
    assert!(merged >= 6, "{merged} compactions");
    assert!(!levels.level(2).is_empty(), "level 2 reached");
    assert!(levels.level(1).len() + levels.level(2).len() >= 3);

    match disk::sweep::fault_sweep_with::<LsmStore>(&compaction_workload(), |disk| {
        compacting(disk, LogSync::OnSync)
    }) {
        Ok(sweep) => insta::assert_snapshot!("sweep_compactions", sweep.to_string()),
        Err(problem) => panic!("{problem}"),
    }
}
// ANCHOR_END: compaction_sweep
