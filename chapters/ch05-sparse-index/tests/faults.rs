//! The fault sweep: every I/O operation of a short workload failed in
//! turn, on the simulated disk (see `disk::sweep`).

use ch05_sparse_index::{Options, SparseIndexStore};

// ANCHOR: sweep
#[test]
fn every_failed_operation_is_reported_and_loses_nothing() {
    let options = |disk| Options {
        disk,
        block_size: 32,
    };
    match disk::sweep::fault_sweep::<SparseIndexStore>(options) {
        // What was swept is pinned: a change that adds or removes I/O
        // operations shows here.
        Ok(sweep) => insta::assert_snapshot!("sweep", sweep.to_string()),
        Err(problem) => panic!("{problem}"),
    }
}
// ANCHOR_END: sweep
