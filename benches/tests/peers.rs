//! The peers run the stages' conformance suite too: a comparison is only
//! fair if every subject does the same work and gives the same answers.
//! (Their "crash" is a clean close: see their `simulate_crash`.)

use ch00_contract::Stage;
use ch00_contract::conformance::{CheckResult, Failure, checks, model_based};

mod redb {
    use benches::peers::RedbStore;
    ch00_contract::conformance_tests!(RedbStore, cases = 48);
}

/// Every check of the suite except the size limits, for the two peers that
/// cannot take the contract's longest keys.
fn every_check_but_size_limits<S: Stage + Send>(cases: u32) -> CheckResult {
    let options = S::Options::default();
    for (name, check) in checks::all::<S>() {
        if name != "size_limits" {
            check(&options).map_err(|f| Failure::new(format!("{name}: {f}")))?;
        }
    }
    model_based::<S>(&options, cases)
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
    fn raw_fs_synced() -> CheckResult {
        every_check_but_size_limits::<RawFsStore<true>>(48)
    }

    #[test]
    fn fails_on_the_longest_keys() {
        let failure = checks::size_limits::<RawFsStore>(&()).unwrap_err();
        assert!(failure.message().contains("name too long"), "{failure}");
    }
}
