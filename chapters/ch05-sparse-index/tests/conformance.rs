//! The whole conformance suite, run on the block-table stage with blocks
//! of 64 bytes, so that every case spans many blocks (and a large value
//! gets a block of its own).

use ch05_sparse_index::{Options, SparseIndexStore};

// ANCHOR: suite
ch00_contract::conformance_tests!(
    SparseIndexStore,
    options = Options {
        block_size: 64,
        ..Options::default()
    }
);
ch00_contract::power_loss_tests!(
    SparseIndexStore,
    options = Options {
        block_size: 64,
        ..Options::default()
    }
);
// ANCHOR_END: suite

/// The store locks its directory: a second open fails while it is open.
#[test]
fn a_second_open_of_the_directory_is_refused() -> ch00_contract::conformance::CheckResult {
    ch00_contract::conformance::checks::second_open_is_refused::<SparseIndexStore>(
        &Default::default(),
    )
}
