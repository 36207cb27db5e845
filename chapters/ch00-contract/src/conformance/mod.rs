//! The conformance suite: what "this stage works" means.
//!
//! A stage runs the whole suite from its tests with one macro call:
//!
//! ```text
//! ch00_contract::conformance_tests!(MyStore);
//! ```
//!
//! which expands to one `#[test]` per check, so a failure names the check.
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
use std::path::Path;

use tempfile::TempDir;

use crate::{Entry, Error, KeyRange, KvStore, Stage};

pub mod checks;
mod model;

pub use model::model_based;

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

/// Shows entries as `["a" => "1", "b" => ""]`.
pub fn show_entries(entries: &[Entry]) -> String {
    let items: Vec<String> = entries
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

/// Collects a whole scan, stopping at the first error.
pub fn collect_scan<S: KvStore + ?Sized>(store: &S, range: KeyRange) -> Result<Vec<Entry>, Error> {
    store.scan(range)?.collect()
}

/// A store under test in its own temporary directory, with the ways a
/// process can leave it.
pub(crate) struct Harness<S: Stage> {
    // Field order matters: the store is dropped before its directory.
    store: Option<S>,
    dir: TempDir,
}

impl<S: Stage> Harness<S> {
    pub(crate) fn new() -> Result<Self, Failure> {
        let dir = tempfile::tempdir()
            .map_err(|e| Failure::new(format!("cannot create a temporary directory: {e}")))?;
        let store = S::open(dir.path())?;
        Ok(Harness {
            store: Some(store),
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

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn reopen(&mut self, leave: impl FnOnce(S)) -> Result<&mut S, Failure> {
        if let Some(store) = self.store.take() {
            leave(store);
        }
        let store = S::open(self.path())
            .map_err(|e| Failure::new(format!("reopening the store failed: {e}")))?;
        Ok(self.store.insert(store))
    }

    /// A clean shutdown: flush, then drop.
    pub(crate) fn close_and_reopen(&mut self) -> Result<&mut S, Failure> {
        self.store().flush()?;
        self.reopen(drop)
    }

    /// Dropping the store without a flush: the stage may or may not persist
    /// unflushed writes in `Drop`, so this is checked like a crash.
    pub(crate) fn drop_and_reopen(&mut self) -> Result<&mut S, Failure> {
        self.reopen(drop)
    }

    /// A crash: the store disappears through [`Stage::simulate_crash`], so
    /// nothing buffered in it reaches the disk.
    pub(crate) fn crash_and_reopen(&mut self) -> Result<&mut S, Failure> {
        self.reopen(S::simulate_crash)
    }
}

/// Expands to the whole conformance suite as `#[test]` functions in a module
/// named `conformance`, for the store type given (which implements
/// [`Stage`]). An optional `cases = N` sets how many random sequences the
/// model-based test tries (default 256; the `PROPTEST_CASES` environment
/// variable overrides both).
///
/// ```text
/// ch00_contract::conformance_tests!(ch01_memory::MemoryStore);
/// ch00_contract::conformance_tests!(SlowDiskStore, cases = 64);
/// ```
// ANCHOR: macro
#[macro_export]
macro_rules! conformance_tests {
    ($store:ty) => {
        $crate::conformance_tests!($store, cases = 256);
    };
    ($store:ty, cases = $cases:expr) => {
        mod conformance {
            #[allow(unused_imports)]
            use super::*;
            use $crate::conformance::{CheckResult, checks, model_based};

            #[test]
            fn set_then_get() -> CheckResult {
                checks::set_then_get::<$store>()
            }
            #[test]
            fn overwrite() -> CheckResult {
                checks::overwrite::<$store>()
            }
            #[test]
            fn delete() -> CheckResult {
                checks::delete::<$store>()
            }
            #[test]
            fn empty_and_binary() -> CheckResult {
                checks::empty_and_binary::<$store>()
            }
            #[test]
            fn scan_order() -> CheckResult {
                checks::scan_order::<$store>()
            }
            #[test]
            fn scan_bounds() -> CheckResult {
                checks::scan_bounds::<$store>()
            }
            #[test]
            fn empty_and_reversed_ranges() -> CheckResult {
                checks::empty_and_reversed_ranges::<$store>()
            }
            #[test]
            fn prefix_scan() -> CheckResult {
                checks::prefix_scan::<$store>()
            }
            #[test]
            fn scan_sees_latest_writes() -> CheckResult {
                checks::scan_sees_latest_writes::<$store>()
            }
            #[test]
            fn size_limits() -> CheckResult {
                checks::size_limits::<$store>()
            }
            #[test]
            fn reopen() -> CheckResult {
                checks::reopen::<$store>()
            }
            #[test]
            fn deletes_survive_reopen() -> CheckResult {
                checks::deletes_survive_reopen::<$store>()
            }
            #[test]
            fn crash() -> CheckResult {
                checks::crash::<$store>()
            }
            #[test]
            fn many_keys() -> CheckResult {
                checks::many_keys::<$store>()
            }
            #[test]
            fn many_flushes() -> CheckResult {
                checks::many_flushes::<$store>()
            }
            #[test]
            fn model_based_against_btreemap() -> CheckResult {
                model_based::<$store>($cases)
            }
        }
    };
}
// ANCHOR_END: macro
