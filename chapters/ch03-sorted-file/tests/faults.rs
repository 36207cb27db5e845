//! The fault sweep: every I/O operation of a short workload failed in
//! turn, on the simulated disk (see `disk::sweep`).

use ch03_sorted_file::{Options, SortedFileStore};

// ANCHOR: sweep
#[test]
fn every_failed_operation_is_reported_and_loses_nothing() {
    let sweep = disk::sweep::fault_sweep::<SortedFileStore>(|disk| Options { disk });
    match sweep {
        Ok(sweep) => eprintln!("fault sweep of ch03-sorted-file: {sweep}"),
        Err(problem) => panic!("{problem}"),
    }
}
// ANCHOR_END: sweep
