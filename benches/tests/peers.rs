//! The peers run the stages' conformance suite too: a comparison is only
//! fair if every subject does the same work and gives the same answers.

use ch00_contract::Stage;
use ch00_contract::conformance::{CheckResult, checks, model_based};

mod redb {
    use benches::peers::RedbStore;
    ch00_contract::conformance_tests!(RedbStore, cases = 48);
}

/// Every check of the suite except the size limits, for the two peers that
/// cannot take the contract's longest keys.
fn every_check_but_size_limits<S: Stage>(cases: u32) -> CheckResult {
    let options = S::Options::default();
    let o = &options;
    checks::set_then_get::<S>(o)?;
    checks::overwrite::<S>(o)?;
    checks::delete::<S>(o)?;
    checks::empty_and_binary::<S>(o)?;
    checks::scan_order::<S>(o)?;
    checks::scan_bounds::<S>(o)?;
    checks::empty_and_reversed_ranges::<S>(o)?;
    checks::prefix_scan::<S>(o)?;
    checks::scan_sees_latest_writes::<S>(o)?;
    checks::write_batches::<S>(o)?;
    checks::reopen::<S>(o)?;
    checks::deletes_survive_reopen::<S>(o)?;
    checks::crash::<S>(o)?;
    checks::many_keys::<S>(o)?;
    checks::many_syncs::<S>(o)?;
    model_based::<S>(o, cases)
}

/// fjall takes keys up to 65,535 bytes, and the adapter spends one on a
/// prefix that makes the empty key possible (see `peers/fjall.rs`).
mod fjall {
    use super::*;
    use benches::peers::FjallStore;

    #[test]
    fn fjall() -> CheckResult {
        every_check_but_size_limits::<FjallStore<false>>(24)
    }

    #[test]
    fn fjall_tables() -> CheckResult {
        every_check_but_size_limits::<FjallStore<true>>(24)
    }

    #[test]
    fn rejects_the_longest_keys_with_an_error() {
        let failure = checks::size_limits::<FjallStore<false>>(&()).unwrap_err();
        assert!(
            failure.message().contains("the limit is 65534 bytes"),
            "{failure}"
        );
    }
}

/// A 65,535-byte key spelled in hex is far longer than any file name may
/// be, which is exactly the problem chapter 2 solves by hashing.
mod raw_fs {
    use super::*;
    use benches::peers::RawFsStore;

    #[test]
    fn raw_fs() -> CheckResult {
        every_check_but_size_limits::<RawFsStore>(48)
    }

    #[test]
    fn fails_on_the_longest_keys() {
        let failure = checks::size_limits::<RawFsStore>(&()).unwrap_err();
        assert!(failure.message().contains("name too long"), "{failure}");
    }
}
