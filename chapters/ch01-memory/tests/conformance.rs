//! The whole conformance suite, run on the in-memory stage.

use ch01_memory::MemoryStore;

// ANCHOR: suite
ch00_contract::conformance_tests!(MemoryStore, cases = 512);
// ANCHOR_END: suite
