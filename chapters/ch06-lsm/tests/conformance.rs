//! The whole conformance suite, run on the LSM tree with a memtable of
//! 256 bytes and blocks of 64, so that every case spans many memtables,
//! many flushes and many tables, and levels of a few hundred bytes, so
//! that compactions run between the operations of every case (the model
//! test's included); in both log modes, with power losses on the
//! simulated disk.

use ch06_lsm::{LogSync, LsmStore, Options};

/// Tiny sizes: a handful of writes fill a memtable, two flushes set off a
/// compaction, and a few compactions one into level 2.
fn tiny(log_sync: LogSync) -> Options {
    Options {
        log_sync,
        memtable_bytes: 256,
        block_size: 64,
        l0_compaction_trigger: 2,
        level_base_bytes: 1024,
        level_size_ratio: 4,
        table_target_bytes: 512,
        ..Options::default()
    }
}

// ANCHOR: suite
/// Synced on `sync` only.
mod on_sync {
    use super::*;
    ch00_contract::conformance_tests!(LsmStore, options = tiny(LogSync::OnSync));
    ch00_contract::power_loss_tests!(LsmStore, options = tiny(LogSync::OnSync));
}

/// Synced after every write.
mod every_write {
    use super::*;
    ch00_contract::conformance_tests!(LsmStore, options = tiny(LogSync::EveryWrite));
    ch00_contract::power_loss_tests!(LsmStore, options = tiny(LogSync::EveryWrite));
}
// ANCHOR_END: suite

/// The store locks its directory: a second open fails while it is open.
#[test]
fn a_second_open_of_the_directory_is_refused() -> ch00_contract::conformance::CheckResult {
    ch00_contract::conformance::checks::second_open_is_refused::<LsmStore>(&Default::default())
}
