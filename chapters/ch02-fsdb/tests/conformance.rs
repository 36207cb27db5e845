//! The whole conformance suite, run on the one-file-per-key stage.

use ch02_fsdb::FsStore;

// ANCHOR: suite
ch00_contract::conformance_tests!(FsStore);
// ANCHOR_END: suite
