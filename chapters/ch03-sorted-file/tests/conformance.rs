//! The whole conformance suite, run on the sorted-file stage.

use ch03_sorted_file::SortedFileStore;

// ANCHOR: suite
ch00_contract::conformance_tests!(SortedFileStore);
// ANCHOR_END: suite
