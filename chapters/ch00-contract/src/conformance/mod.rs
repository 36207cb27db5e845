//! The conformance suite: what "this stage works" means.
//!
//! A stage runs the whole suite from its tests with one macro call:
//!
//! ```text
//! ch00_contract::conformance_tests!(MyStore);
//! ch00_contract::conformance_tests!(MyStore, options = Options { block_size: 256, ..Options::default() });
//! ```
//!
//! which expands to one `#[test]` per check, so a failure names the check.
//! Every check takes the stage's options, so a suite can run a stage with
//! tiny settings that make every case cross its boundaries.
//! Each check is also a plain function returning [`CheckResult`]; the suite's
//! own tests call them on deliberately broken stores to prove that each
//! mistake is caught.
//!
//! The checks are of two kinds. The [`checks`] are hand-written scenarios,
//! each about one promise (overwrite, delete, scan bounds, reopen, …), easy
//! to read when they fail. [`model_based`] generates random sequences of
//! operations, runs them on the store and on a `BTreeMap`, and compares every
//! answer; it finds the cases nobody thought to write down, and shrinks a
//! failure to a short sequence.

use std::fmt;

use crate::{Error, KeyRange, KeyValue, KvStore, Stage};

pub mod checks;
mod model;

pub use model::{ModelTest, SequenceProfile, model_based};
pub use tempfile::TempDir;

/// Why a check failed: a sentence naming what was expected and what the
/// store did.
pub struct Failure(String);

impl Failure {
    /// A failure with the given explanation.
    pub fn new(message: impl Into<String>) -> Self {
        Failure(message.into())
    }

    /// The explanation.
    pub fn message(&self) -> &str {
        &self.0
    }
}

// `Debug` prints the message itself, so that a `#[test]` returning
// `Err(Failure)` shows a readable sentence rather than a struct dump.
impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Self {
        Failure(format!("the store returned an unexpected error: {err}"))
    }
}

/// The outcome of one check.
pub type CheckResult = Result<(), Failure>;

/// Shows bytes as an escaped string literal: `"a\xff\x00"`.
pub fn show(bytes: &[u8]) -> String {
    format!("\"{}\"", bytes.escape_ascii())
}

/// Shows pairs as `["a" => "1", "b" => ""]`.
pub fn show_pairs(pairs: &[KeyValue]) -> String {
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{} => {}", show(k), show_value(v)))
        .collect();
    format!("[{}]", items.join(", "))
}

/// Long values (the size-limit checks use 1 MiB ones) are shown by length.
fn show_value(value: &[u8]) -> String {
    if value.len() > 64 {
        format!("<{} bytes>", value.len())
    } else {
        show(value)
    }
}

/// A fresh temporary directory, removed when dropped: what the suite opens
/// stores in, and what a pasted failing test uses (so that a stage's tests
/// need no dependency of their own for it).
pub fn scratch_dir() -> std::io::Result<TempDir> {
    tempfile::tempdir()
}

/// Collects a whole scan, stopping at the first error.
pub fn collect_scan<S: KvStore + ?Sized>(
    store: &S,
    range: KeyRange,
) -> Result<Vec<KeyValue>, Error> {
    store.scan(range)?.collect()
}

/// A store under test in its own temporary directory, with the ways a
/// process can leave it.
pub(crate) struct Harness<S: Stage> {
    // Field order matters: the store is dropped before its directory.
    store: Option<S>,
    options: S::Options,
    dir: TempDir,
}

impl<S: Stage> Harness<S> {
    pub(crate) fn new(options: &S::Options) -> Result<Self, Failure> {
        let dir = scratch_dir()
            .map_err(|e| Failure::new(format!("cannot create a temporary directory: {e}")))?;
        // On a simulated disk the directory exists only once it is added.
        if let Some(power) = S::power_switch(options) {
            power.add_root(dir.path());
        }
        let store = S::open_with(dir.path(), options)?;
        Ok(Harness {
            store: Some(store),
            options: options.clone(),
            dir,
        })
    }

    pub(crate) fn store(&mut self) -> &mut S {
        match &mut self.store {
            Some(store) => store,
            // Every method that takes the store out puts a new one back
            // before returning, or returns the error that prevented it.
            None => unreachable!("the harness always holds an open store"),
        }
    }

    fn reopen(&mut self, leave: impl FnOnce(S)) -> Result<&mut S, Failure> {
        if let Some(store) = self.store.take() {
            leave(store);
        }
        let store = S::open_with(self.dir.path(), &self.options)
            .map_err(|e| Failure::new(format!("reopening the store failed: {e}")))?;
        Ok(self.store.insert(store))
    }

    /// A clean shutdown: sync, then drop.
    pub(crate) fn close_and_reopen(&mut self) -> Result<&mut S, Failure> {
        self.store().sync()?;
        self.reopen(drop)
    }

    /// Dropping the store without a sync: the stage may or may not persist
    /// unsynced writes in `Drop`, so this is checked like a crash.
    pub(crate) fn drop_and_reopen(&mut self) -> Result<&mut S, Failure> {
        self.reopen(drop)
    }

    /// A crash: the store disappears through [`Stage::simulate_crash`], so
    /// nothing buffered in it reaches the disk.
    pub(crate) fn crash_and_reopen(&mut self) -> Result<&mut S, Failure> {
        self.reopen(S::simulate_crash)
    }

    /// Whether the store is on a simulated disk, whose power can be cut.
    pub(crate) fn can_lose_power(&self) -> bool {
        S::power_switch(&self.options).is_some()
    }

    /// A power loss: the process dies with the machine, and the disk keeps
    /// only what was synced (see [`crate::PowerSwitch`]).
    pub(crate) fn power_loss_and_reopen(&mut self) -> Result<&mut S, Failure> {
        let options = self.options.clone();
        let Some(power) = S::power_switch(&options) else {
            return Err(Failure::new(
                "a power loss needs a simulated disk, and these options put the store on none",
            ));
        };
        self.reopen(|store| {
            store.simulate_crash();
            power.power_loss();
        })
        .map_err(|f| Failure::new(format!("after a power loss, {f}")))
    }
}

/// `options` moved onto a fresh simulated disk whose torn writes are drawn
/// from `seed`; a failure if the stage cannot run on one.
pub fn on_simulated_disk<S: Stage>(options: &S::Options, seed: u64) -> Result<S::Options, Failure> {
    S::on_simulated_disk(options, seed).ok_or_else(|| {
        Failure::new(format!(
            "{}: Stage::on_simulated_disk returns None, so the suite cannot cut the power",
            S::NAME
        ))
    })
}

/// Runs `check` on three fresh simulated disks, one for each way a power
/// loss treats unsynced bytes (lost, a torn prefix, a prefix ending in
/// garbage).
pub fn on_three_disks<S: Stage>(
    options: &S::Options,
    check: fn(&S::Options) -> CheckResult,
) -> CheckResult {
    for seed in 0..3 {
        check(&on_simulated_disk::<S>(options, seed)?)
            .map_err(|f| Failure::new(format!("on simulated disk {seed}: {f}")))?;
    }
    Ok(())
}

/// Expands to the whole conformance suite as `#[test]` functions in a module
/// named `conformance`, for the store type given (which implements
/// [`Stage`] and must be `Send`). Optional arguments, in this order:
/// `options = EXPR`, the stage's options (default: `Default::default()`),
/// and `cases = N`, how many random sequences the model-based test runs
/// (default 256; the `PROPTEST_CASES` environment variable overrides it).
///
/// ```text
/// ch00_contract::conformance_tests!(ch01_memory::MemoryStore);
/// ch00_contract::conformance_tests!(FsStore, options = Options { hash_bits: 4, ..Options::default() });
/// ch00_contract::conformance_tests!(SlowDiskStore, cases = 64);
/// ```
// ANCHOR: macro
#[macro_export]
macro_rules! conformance_tests {
    ($store:ty) => {
        $crate::conformance_tests!($store, options = Default::default(), cases = 256);
    };
    ($store:ty, cases = $cases:expr) => {
        $crate::conformance_tests!($store, options = Default::default(), cases = $cases);
    };
    ($store:ty, options = $options:expr) => {
        $crate::conformance_tests!($store, options = $options, cases = 256);
    };
    ($store:ty, options = $options:expr, cases = $cases:expr) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            use $crate::conformance::{CheckResult, ModelTest, checks};

            /// The options every check opens the store with.
            fn options() -> <$store as $crate::Stage>::Options {
                $options
            }

            // A store can be moved to another thread: a server hands one to
            // a worker, a benchmark to its runner. Checked when compiling.
            const _: fn() = || {
                fn is_send<T: Send>() {}
                is_send::<$store>();
            };

            #[test]
            fn set_then_get() -> CheckResult {
                checks::set_then_get::<$store>(&options())
            }
            #[test]
            fn overwrite() -> CheckResult {
                checks::overwrite::<$store>(&options())
            }
            #[test]
            fn delete() -> CheckResult {
                checks::delete::<$store>(&options())
            }
            #[test]
            fn empty_and_binary() -> CheckResult {
                checks::empty_and_binary::<$store>(&options())
            }
            #[test]
            fn scan_order() -> CheckResult {
                checks::scan_order::<$store>(&options())
            }
            #[test]
            fn scan_bounds() -> CheckResult {
                checks::scan_bounds::<$store>(&options())
            }
            #[test]
            fn empty_and_reversed_ranges() -> CheckResult {
                checks::empty_and_reversed_ranges::<$store>(&options())
            }
            #[test]
            fn prefix_scan() -> CheckResult {
                checks::prefix_scan::<$store>(&options())
            }
            #[test]
            fn scan_sees_latest_writes() -> CheckResult {
                checks::scan_sees_latest_writes::<$store>(&options())
            }
            #[test]
            fn size_limits() -> CheckResult {
                checks::size_limits::<$store>(&options())
            }
            #[test]
            fn write_batches() -> CheckResult {
                checks::write_batches::<$store>(&options())
            }
            #[test]
            fn reopen() -> CheckResult {
                checks::reopen::<$store>(&options())
            }
            #[test]
            fn deletes_survive_reopen() -> CheckResult {
                checks::deletes_survive_reopen::<$store>(&options())
            }
            #[test]
            fn crash() -> CheckResult {
                checks::crash::<$store>(&options())
            }
            #[test]
            fn many_keys() -> CheckResult {
                checks::many_keys::<$store>(&options())
            }
            #[test]
            fn many_syncs() -> CheckResult {
                checks::many_syncs::<$store>(&options())
            }
            #[test]
            fn delete_range_bounds() -> CheckResult {
                checks::delete_range_bounds::<$store>(&options())
            }
            #[test]
            fn delete_prefix() -> CheckResult {
                checks::delete_prefix::<$store>(&options())
            }
            #[test]
            fn delete_range_reopen() -> CheckResult {
                checks::delete_range_reopen::<$store>(&options())
            }
            #[test]
            fn delete_range_many_keys() -> CheckResult {
                checks::delete_range_many_keys::<$store>(&options())
            }
            #[test]
            fn model_based_against_btreemap() -> CheckResult {
                ModelTest::<$store>::new(&options())
                    .cases($cases)
                    .rust_names(stringify!($store), stringify!($options))
                    .run()
            }
        }
    };
}
// ANCHOR_END: macro

/// Expands to the conformance suite run again on the simulated disk, in a
/// module named `on_simulated_disk`, for a stage that keeps its data in
/// files and implements [`Stage::on_simulated_disk`]: every check on three
/// fresh disks, the `power_loss` check, and the model-based test with
/// power losses among its operations. The same optional arguments as
/// [`conformance_tests!`].
///
/// ```text
/// ch00_contract::power_loss_tests!(FsStore);
/// ch00_contract::power_loss_tests!(FsStore, options = Options { hash_bits: 4, ..Options::default() }, cases = 64);
/// ```
// ANCHOR: power_loss_macro
#[macro_export]
macro_rules! power_loss_tests {
    ($store:ty) => {
        $crate::power_loss_tests!($store, options = Default::default(), cases = 256);
    };
    ($store:ty, cases = $cases:expr) => {
        $crate::power_loss_tests!($store, options = Default::default(), cases = $cases);
    };
    ($store:ty, options = $options:expr) => {
        $crate::power_loss_tests!($store, options = $options, cases = 256);
    };
    ($store:ty, options = $options:expr, cases = $cases:expr) => {
        mod on_simulated_disk {
            #[allow(unused_imports)]
            use super::*;
            use $crate::conformance::{CheckResult, ModelTest, checks, on_three_disks};

            /// The options, before the suite moves them onto a disk.
            fn options() -> <$store as $crate::Stage>::Options {
                $options
            }

            #[test]
            fn power_loss() -> CheckResult {
                on_three_disks::<$store>(&options(), checks::power_loss::<$store>)
            }
            #[test]
            fn every_check() -> CheckResult {
                for (name, check) in checks::all::<$store>() {
                    on_three_disks::<$store>(&options(), check)
                        .map_err(|f| $crate::conformance::Failure::new(format!("{name}: {f}")))?;
                }
                Ok(())
            }
            #[test]
            fn second_open_is_refused() -> CheckResult {
                on_three_disks::<$store>(&options(), checks::second_open_is_refused::<$store>)
            }
            #[test]
            fn model_based_with_power_loss() -> CheckResult {
                ModelTest::<$store>::new(&options())
                    .cases($cases)
                    .with_power_loss()
                    .rust_names(stringify!($store), stringify!($options))
                    .run()
            }
        }
    };
}
// ANCHOR_END: power_loss_macro
