//! The fault sweep: every I/O operation of a short workload failed in
//! turn, on the simulated disk (see `disk::sweep`), in both log modes,
//! with a memtable so small that the workload flushes, and so switches
//! the manifest, again and again, and levels so small that the flushes
//! set off compactions into levels 1 and 2.

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
