//! The whole conformance suite, run on the sorted-file stage.

use ch03_sorted_file::SortedFileStore;

// ANCHOR: suite
ch00_contract::conformance_tests!(SortedFileStore);
// ANCHOR_END: suite

// ANCHOR: lock
/// The store locks its directory: a second open fails while it is open.
#[test]
fn a_second_open_of_the_directory_is_refused() -> ch00_contract::conformance::CheckResult {
    ch00_contract::conformance::checks::second_open_is_refused::<SortedFileStore>(
        &Default::default(),
    )
}
// ANCHOR_END: lock
// ANCHOR: power_loss_suite
ch00_contract::power_loss_tests!(SortedFileStore);
// ANCHOR_END: power_loss_suite
