//! The model-based test: random operations on the store and on a `BTreeMap`,
//! every answer compared.
//!
//! Hand-written checks only test what their author thought of. Here proptest
//! generates sequences of sets, deletes, reads, scans, flushes, reopens and
//! crashes over a deliberately tiny key space (so that keys collide,
//! overwrite and get deleted often), applies each to the store and to a
//! `BTreeMap` (the model, whose behaviour is obviously right), and fails on
//! the first answer that differs. A failing sequence is then shrunk to a
//! short one that still fails, which is what the failure message shows.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};

use super::checks::{expect_history_state, in_bounds};
use super::{CheckResult, Failure, Harness, collect_scan, show, show_entries};
use crate::{Entry, KeyRange, Stage};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

// ANCHOR: op
/// One step of a generated sequence.
#[derive(Clone)]
enum Op {
    Set(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    Get(Vec<u8>),
    Scan(Bound<Vec<u8>>, Bound<Vec<u8>>),
    ScanPrefix(Vec<u8>),
    Flush,
    /// Flush, drop, open again: everything must still be there.
    Close,
    /// Drop without a flush, open again.
    Drop,
    /// Vanish without running destructors (`mem::forget`), open again.
    Crash,
}
// ANCHOR_END: op

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = |b: &Bound<Vec<u8>>| match b {
            Bound::Included(k) => format!("Included({})", show(k)),
            Bound::Excluded(k) => format!("Excluded({})", show(k)),
            Bound::Unbounded => "Unbounded".to_string(),
        };
        match self {
            Op::Set(k, v) if v.len() > 32 => write!(f, "set {} = <{} bytes>", show(k), v.len()),
            Op::Set(k, v) => write!(f, "set {} = {}", show(k), show(v)),
            Op::Delete(k) => write!(f, "delete {}", show(k)),
            Op::Get(k) => write!(f, "get {}", show(k)),
            Op::Scan(s, e) => write!(f, "scan {} .. {}", bound(s), bound(e)),
            Op::ScanPrefix(p) => write!(f, "scan_prefix {}", show(p)),
            Op::Flush => f.write_str("flush"),
            Op::Close => f.write_str("close and reopen"),
            Op::Drop => f.write_str("drop and reopen"),
            Op::Crash => f.write_str("crash and reopen"),
        }
    }
}

// ANCHOR: strategy
/// Keys of zero to three bytes from a five-letter alphabet that includes
/// the extremes 0x00 and 0xFF: few enough distinct keys that operations
/// keep hitting the same ones.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![0x00u8, 0x01, b'a', 0xFE, 0xFF]),
        0..4,
    )
}

/// Mostly short values, empty ones included, and now and then one large
/// enough to span whatever blocks or buffers a stage uses.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        10 => prop::collection::vec(any::<u8>(), 0..12),
        1 => prop::collection::vec(any::<u8>(), 0..5000),
    ]
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        Just(Bound::Unbounded),
        key().prop_map(Bound::Included),
        key().prop_map(Bound::Excluded),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => (key(), value()).prop_map(|(k, v)| Op::Set(k, v)),
        3 => key().prop_map(Op::Delete),
        4 => key().prop_map(Op::Get),
        2 => (bound(), bound()).prop_map(|(s, e)| Op::Scan(s, e)),
        1 => key().prop_map(Op::ScanPrefix),
        1 => Just(Op::Flush),
        1 => Just(Op::Close),
        1 => Just(Op::Drop),
        1 => Just(Op::Crash),
    ]
}
// ANCHOR_END: strategy

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

fn store_error(op: &Op, err: crate::Error) -> TestCaseError {
    fail(format!("{op:?}: the store returned an error: {err}"))
}

/// The model's answer to a scan, by plain comparisons and `starts_with`,
/// never by the [`KeyRange`] code the stores use.
fn model_entries(model: &Model, op: &Op) -> Vec<Entry> {
    model
        .iter()
        .filter(|(k, _)| match op {
            Op::Scan(start, end) => in_bounds(k, as_slice(start), as_slice(end)),
            Op::ScanPrefix(prefix) => k.starts_with(prefix),
            _ => false,
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    bound.as_ref().map(Vec::as_slice)
}

// ANCHOR: run_sequence
/// Runs one generated sequence against a fresh store and the model.
fn run_sequence<S: Stage>(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut h = Harness::<S>::new().map_err(|f| fail(f.to_string()))?;
    let mut model = Model::new();
    // The states the store went through since the last flush: after a
    // crash it may come back in any of them (or only the last, or none,
    // according to its durability).
    let mut since_flush = vec![model.clone()];
    for op in ops {
        match op {
            Op::Set(k, v) => {
                h.store().set(k, v).map_err(|e| store_error(op, e))?;
                model.insert(k.clone(), v.clone());
                since_flush.push(model.clone());
            }
            Op::Delete(k) => {
                h.store().delete(k).map_err(|e| store_error(op, e))?;
                model.remove(k);
                since_flush.push(model.clone());
            }
            Op::Get(k) => {
                let got = h.store().get(k).map_err(|e| store_error(op, e))?;
                let want = model.get(k);
                if got.as_ref() != want {
                    return Err(fail(format!(
                        "{op:?} returned {:?}, the model says {:?}",
                        got.as_deref().map(show),
                        want.map(|v| show(v))
                    )));
                }
            }
            Op::Scan(..) | Op::ScanPrefix(_) => {
                let got: Vec<Entry> = match op {
                    Op::ScanPrefix(p) => h.store().scan_prefix(p).and_then(Iterator::collect),
                    Op::Scan(s, e) => collect_scan(
                        h.store(),
                        KeyRange {
                            start: s.clone(),
                            end: e.clone(),
                        },
                    ),
                    _ => unreachable!("matched above"),
                }
                .map_err(|e| store_error(op, e))?;
                let want = model_entries(&model, op);
                if got != want {
                    return Err(fail(format!(
                        "{op:?} returned {}, the model says {}",
                        show_entries(&got),
                        show_entries(&want)
                    )));
                }
            }
            Op::Flush => {
                h.store().flush().map_err(|e| store_error(op, e))?;
                since_flush = vec![model.clone()];
            }
            Op::Close | Op::Drop | Op::Crash => {
                let (store, history) = match op {
                    Op::Close => (h.close_and_reopen(), std::slice::from_ref(&model)),
                    Op::Drop => (h.drop_and_reopen(), since_flush.as_slice()),
                    _ => (h.crash_and_reopen(), since_flush.as_slice()),
                };
                let store = store.map_err(|f| fail(format!("{op:?}: {f}")))?;
                model = expect_history_state(store, history, &format!("{op:?}"))
                    .map_err(|f| fail(f.to_string()))?;
                since_flush = vec![model.clone()];
            }
        }
    }
    Ok(())
}
// ANCHOR_END: run_sequence

/// Runs `cases` random sequences of up to 64 operations against the store
/// and a `BTreeMap`; fails with the shortest failing sequence found.
///
/// The `PROPTEST_CASES` environment variable, when set, overrides `cases`.
/// Sequences are random on every run: a failure prints the sequence, which
/// is all one needs to reproduce it in a unit test.
pub fn model_based<S: Stage>(cases: u32) -> CheckResult {
    let mut config = Config {
        // A library cannot know where its caller's source lives; do not
        // write regression files next to it.
        failure_persistence: None,
        ..Config::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    let mut runner = TestRunner::new(config);
    let strategy = prop::collection::vec(op(), 1..=64);
    match runner.run(&strategy, |ops| run_sequence::<S>(&ops)) {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, ops)) => Err(Failure::new(format!(
            "{} ({:?} store) disagrees with the BTreeMap model: {reason}\n\
             shortest failing sequence ({} operations):\n  {}",
            S::NAME,
            S::DURABILITY,
            ops.len(),
            ops.iter()
                .map(|op| format!("{op:?}"))
                .collect::<Vec<_>>()
                .join("\n  ")
        ))),
        Err(TestError::Abort(reason)) => Err(Failure::new(format!(
            "the model-based test was aborted: {reason}"
        ))),
    }
}
