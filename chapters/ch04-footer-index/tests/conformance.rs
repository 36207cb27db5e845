//! The whole conformance suite, run on the footer-index stage.

use ch04_footer_index::FooterIndexStore;

// ANCHOR: suite
ch00_contract::conformance_tests!(FooterIndexStore);
// ANCHOR_END: suite

// ANCHOR: lock
/// The store locks its directory: a second open fails while it is open.
#[test]
fn a_second_open_of_the_directory_is_refused() -> ch00_contract::conformance::CheckResult {
    ch00_contract::conformance::checks::second_open_is_refused::<FooterIndexStore>(
        &Default::default(),
    )
}
// ANCHOR_END: lock
// ANCHOR: power_loss_suite
ch00_contract::power_loss_tests!(FooterIndexStore);
// ANCHOR_END: power_loss_suite
