//! The whole conformance suite, run on the one-file-per-key stage.

use ch02_fsdb::FsStore;

// ANCHOR: suite
ch00_contract::conformance_tests!(FsStore);
// The same checks on the simulated disk, where the power can fail.
ch00_contract::power_loss_tests!(FsStore, cases = 128);
// ANCHOR_END: suite

// ANCHOR: lock
/// The store locks its directory: a second open fails while it is open.
#[test]
fn a_second_open_of_the_directory_is_refused() -> ch00_contract::conformance::CheckResult {
    ch00_contract::conformance::checks::second_open_is_refused::<FsStore>(&Default::default())
}
// ANCHOR_END: lock
