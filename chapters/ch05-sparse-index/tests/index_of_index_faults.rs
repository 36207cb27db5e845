//! The fault sweep on the index-of-the-index stage (see `disk::sweep`),
//! in a test binary of its own, like the block table's.

use ch05_sparse_index::{IndexOfIndexOptions, IndexOfIndexStore};

#[test]
fn every_failed_operation_is_reported_and_loses_nothing() {
    let options = |disk| IndexOfIndexOptions { disk, interval: 2 };
    match disk::sweep::fault_sweep::<IndexOfIndexStore>(options) {
        Ok(sweep) => insta::assert_snapshot!("sweep", sweep.to_string()),
        Err(problem) => panic!("{problem}"),
    }
}
