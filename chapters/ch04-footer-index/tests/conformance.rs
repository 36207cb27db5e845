//! The whole conformance suite, run on the footer-index stage.

use ch04_footer_index::FooterIndexStore;

// ANCHOR: suite
ch00_contract::conformance_tests!(FooterIndexStore);
// ANCHOR_END: suite
