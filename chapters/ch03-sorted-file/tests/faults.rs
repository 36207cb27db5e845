//! The fault sweep: every I/O operation of a short workload failed in
//! turn, on the simulated disk (see `disk::sweep`).

use ch03_sorted_file::{Options, SortedFileStore};

// ANCHOR: sweep
#[test]
fn every_failed_operation_is_reported_and_loses_nothing() {
    match disk::sweep::fault_sweep::<SortedFileStore>(|disk| Options { disk }) {
        // What was swept is pinned: a change that adds or removes I/O
        // operations shows here, and in the book, which includes this.
        Ok(sweep) => insta::assert_snapshot!("sweep", sweep.to_string()),
        Err(problem) => panic!("{problem}"),
    }
}
// ANCHOR_END: sweep
