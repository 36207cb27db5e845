//! The fault sweep: every I/O operation of a short workload failed in
//! turn, on the simulated disk (see `disk::sweep`), in both log modes,
//! with a memtable so small that the workload flushes, and so switches
//! the manifest, again and again.

use ch06_lsm::{LogSync, LsmStore, Options};
use disk::Disk;

fn options(disk: Disk, log_sync: LogSync) -> Options {
    Options {
        disk,
        log_sync,
        memtable_bytes: 24,
        block_size: 32,
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
