//! The fault sweep: every I/O operation of a short workload failed in
//! turn, on the simulated disk (see `disk::sweep`).

use ch02_fsdb::{FsStore, Options};

// ANCHOR: sweep
#[test]
fn every_failed_operation_is_reported_and_loses_nothing() {
    let sweep = disk::sweep::fault_sweep::<FsStore>(|disk| Options {
        disk,
        ..Options::default()
    });
    match sweep {
        Ok(sweep) => eprintln!("fault sweep of ch02-fsdb: {sweep}"),
        Err(problem) => panic!("{problem}"),
    }
}
// ANCHOR_END: sweep
