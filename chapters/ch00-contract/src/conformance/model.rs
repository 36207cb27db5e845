//! The model-based test: random operations on the store and on a `BTreeMap`,
//! every answer compared.
//!
//! Hand-written checks only test what their author thought of. Here proptest
//! generates long sequences of operations (sets, deletes, batches, range
//! deletes, reads, scans of every shape, syncs, reopens and crashes) over a
//! deliberately tiny key space, so that keys collide, overwrite and get
//! deleted often, applies each to the store and to a `BTreeMap` (the model,
//! whose behaviour is obviously right), and fails on the first answer that
//! differs. A failing sequence is then shrunk to a short one that still
//! fails, and printed both as a list and as a test a reader can paste and
//! run.

use std::collections::BTreeMap;
use std::collections::hash_map::RandomState;
use std::fmt::{self, Write as _};
use std::hash::{BuildHasher, Hasher};
use std::ops::Bound;

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use super::checks::{WrongState, allowed_states, in_bounds, judge_reopened};
use super::{CheckResult, Failure, Harness, collect_scan, show, show_pairs};
use crate::{
    Error, KeyRange, KeyValue, KvStore, MAX_KEY_LEN, MAX_VALUE_LEN, Stage, Survives, WriteBatch,
};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// One operation of a batch: a set, or a delete (`None`).
type BatchStep = (Vec<u8>, Option<Vec<u8>>);

// ANCHOR: op
/// One step of a generated sequence.
#[derive(Clone)]
enum Op {
    Set(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    /// Several sets and deletes through `write`.
    Batch(Vec<BatchStep>),
    /// `delete_range`: what leaves later scans walking over mostly deleted
    /// keys.
    DeleteRange(Bound<Vec<u8>>, Bound<Vec<u8>>),
    /// `delete_prefix`, with the prefixes `ScanPrefix` uses.
    DeletePrefix(Vec<u8>),
    Get(Vec<u8>),
    Scan(Bound<Vec<u8>>, Bound<Vec<u8>>),
    ScanPrefix(Vec<u8>),
    /// Reads the first `n` pairs of a scan, then drops it unfinished.
    ScanPart(Bound<Vec<u8>>, Bound<Vec<u8>>, usize),
    /// Reads a scan one pair at a time, with a `get` between pairs.
    ScanWithGets(Bound<Vec<u8>>, Bound<Vec<u8>>, Vec<u8>),
    /// A call with a key or value one byte over the limit: it must be
    /// rejected, and change nothing.
    Oversized(Oversized),
    Sync,
    /// Sync, drop, open again: everything must still be there.
    Close,
    /// Drop without a sync, open again.
    Drop,
    /// Vanish through `Stage::simulate_crash`, open again.
    Crash,
    /// Crash, and the simulated disk loses power: only what was synced is
    /// left (generated only for a store on a simulated disk).
    PowerLoss,
}

/// Which call gets the oversized key or value.
#[derive(Clone, Copy, Debug)]
enum Oversized {
    SetKey,
    SetValue,
    GetKey,
    DeleteKey,
    /// A batch of good operations with one oversized key in the middle.
    BatchKey,
    /// A batch of good operations with one oversized value in the middle.
    BatchValue,
}
// ANCHOR_END: op

fn show_bound(b: &Bound<Vec<u8>>) -> String {
    match b {
        Bound::Included(k) => format!("Included({})", show(k)),
        Bound::Excluded(k) => format!("Excluded({})", show(k)),
        Bound::Unbounded => "Unbounded".to_string(),
    }
}

fn show_value(v: &[u8]) -> String {
    if v.len() > 32 {
        format!("<{} bytes>", v.len())
    } else {
        show(v)
    }
}

/// `Some("v")` or `None`, without escaping the quotes twice.
fn show_opt(v: Option<&[u8]>) -> String {
    v.map_or("None".to_string(), |v| format!("Some({})", show_value(v)))
}

impl fmt::Debug for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let range = |s, e| format!("{} .. {}", show_bound(s), show_bound(e));
        match self {
            Op::Set(k, v) => write!(f, "set {} = {}", show(k), show_value(v)),
            Op::Delete(k) => write!(f, "delete {}", show(k)),
            Op::Batch(steps) => {
                let steps: Vec<String> = steps
                    .iter()
                    .map(|(k, v)| match v {
                        Some(v) => format!("set {} = {}", show(k), show_value(v)),
                        None => format!("delete {}", show(k)),
                    })
                    .collect();
                write!(f, "batch [{}]", steps.join(", "))
            }
            Op::DeleteRange(s, e) => write!(f, "delete_range {}", range(s, e)),
            Op::DeletePrefix(p) => write!(f, "delete_prefix {}", show(p)),
            Op::Get(k) => write!(f, "get {}", show(k)),
            Op::Scan(s, e) => write!(f, "scan {}", range(s, e)),
            Op::ScanPrefix(p) => write!(f, "scan_prefix {}", show(p)),
            Op::ScanPart(s, e, n) => write!(f, "scan {}, first {n} then dropped", range(s, e)),
            Op::ScanWithGets(s, e, k) => {
                write!(f, "scan {} with get {} between pairs", range(s, e), show(k))
            }
            Op::Oversized(which) => write!(f, "oversized {which:?} (rejected)"),
            Op::Sync => f.write_str("sync"),
            Op::Close => f.write_str("close and reopen"),
            Op::Drop => f.write_str("drop and reopen"),
            Op::Crash => f.write_str("crash and reopen"),
            Op::PowerLoss => f.write_str("power loss and reopen"),
        }
    }
}

// ANCHOR: strategy
/// Keys of zero to three bytes from a five-letter alphabet that includes
/// the extremes 0x00 and 0xFF: few enough distinct keys (156) that
/// operations keep hitting the same ones.
fn key() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop::sample::select(vec![0x00u8, 0x01, b'a', 0xFE, 0xFF]),
        0..4,
    )
}

/// Mostly short values of random bytes, empty ones included, and now and
/// then one large enough to span whatever blocks or buffers a stage uses.
/// A large value is one byte repeated: its length is what matters, and a
/// length and a byte shrink in a few steps where 5000 random bytes would
/// take thousands (and print as a wall of hex).
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        10 => prop::collection::vec(any::<u8>(), 0..12),
        1 => (0..5000usize, any::<u8>()).prop_map(|(len, byte)| vec![byte; len]),
    ]
}

fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
    prop_oneof![
        Just(Bound::Unbounded),
        key().prop_map(Bound::Included),
        key().prop_map(Bound::Excluded),
    ]
}

fn batch() -> impl Strategy<Value = Vec<BatchStep>> {
    prop::collection::vec((key(), prop::option::weighted(0.7, value())), 0..8)
}

fn oversized() -> impl Strategy<Value = Oversized> {
    prop::sample::select(vec![
        Oversized::SetKey,
        Oversized::SetValue,
        Oversized::GetKey,
        Oversized::DeleteKey,
        Oversized::BatchKey,
        Oversized::BatchValue,
    ])
}

/// The weights decide how deep a sequence gets: about one operation in
/// ten is a sync and one in eight a reopen of some kind, so that a sequence
/// of a few hundred operations makes dozens of syncs (dozens of files, in
/// a stage that writes one per sync) and reopens them many times.
fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        28 => (key(), value()).prop_map(|(k, v)| Op::Set(k, v)),
        10 => key().prop_map(Op::Delete),
        7 => batch().prop_map(Op::Batch),
        2 => (bound(), bound()).prop_map(|(s, e)| Op::DeleteRange(s, e)),
        1 => key().prop_map(Op::DeletePrefix),
        12 => key().prop_map(Op::Get),
        5 => (bound(), bound()).prop_map(|(s, e)| Op::Scan(s, e)),
        2 => key().prop_map(Op::ScanPrefix),
        3 => (bound(), bound(), 0..6usize).prop_map(|(s, e, n)| Op::ScanPart(s, e, n)),
        3 => (bound(), bound(), key()).prop_map(|(s, e, k)| Op::ScanWithGets(s, e, k)),
        2 => oversized().prop_map(Op::Oversized),
        10 => Just(Op::Sync),
        4 => Just(Op::Close),
        4 => Just(Op::Drop),
        5 => Just(Op::Crash),
    ]
}

/// The longest sequence generated. Lengths are drawn evenly from 1 to
/// this, so the median sequence has about 200 operations; shrinking can
/// still bring a failure down to one or two.
const MAX_OPS: usize = 400;

fn sequences() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 1..=MAX_OPS)
}

/// For a store on a simulated disk: the seed of a fresh disk for each
/// sequence (which decides how power losses tear unsynced bytes), and a
/// sequence in which one operation in about twenty is a power loss.
fn power_sequences() -> impl Strategy<Value = (u64, Vec<Op>)> {
    let op = prop_oneof![19 => op(), 1 => Just(Op::PowerLoss)];
    (any::<u64>(), prop::collection::vec(op, 1..=MAX_OPS))
}
// ANCHOR_END: strategy

fn fail(message: String) -> TestCaseError {
    TestCaseError::fail(message)
}

fn store_error(op: &Op, err: Error) -> TestCaseError {
    fail(format!("{op:?}: the store returned an error: {err}"))
}

fn as_slice(bound: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    bound.as_ref().map(Vec::as_slice)
}

fn key_range(start: &Bound<Vec<u8>>, end: &Bound<Vec<u8>>) -> KeyRange {
    KeyRange {
        start: start.clone(),
        end: end.clone(),
    }
}

/// The model's pairs between two bounds, by plain comparisons, never by
/// the [`KeyRange`] code the stores use.
fn model_range(model: &Model, start: &Bound<Vec<u8>>, end: &Bound<Vec<u8>>) -> Vec<KeyValue> {
    model
        .iter()
        .filter(|(k, _)| in_bounds(k, as_slice(start), as_slice(end)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn model_prefix(model: &Model, prefix: &[u8]) -> Vec<KeyValue> {
    model
        .iter()
        .filter(|(k, _)| k.starts_with(prefix))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The oversized call `which` as a batch, where it is one: good operations
/// around one that breaks a limit.
fn oversized_batch(which: Oversized) -> Option<WriteBatch> {
    let mut batch = WriteBatch::new();
    match which {
        Oversized::BatchKey => batch
            .set(b"a", b"1")
            .delete(&vec![b'k'; MAX_KEY_LEN + 1])
            .set(b"b", b"2"),
        Oversized::BatchValue => batch
            .delete(b"a")
            .set(b"b", &vec![b'v'; MAX_VALUE_LEN + 1])
            .set(b"c", b"3"),
        _ => return None,
    };
    Some(batch)
}

/// Makes the oversized call and checks it was rejected with the right
/// error.
fn oversized_call<S: KvStore>(store: &mut S, which: Oversized) -> Result<(), String> {
    let long_key = vec![b'k'; MAX_KEY_LEN + 1];
    let long_value = vec![b'v'; MAX_VALUE_LEN + 1];
    let result = match which {
        Oversized::SetKey => store.set(&long_key, b"v"),
        Oversized::SetValue => store.set(b"a", &long_value),
        Oversized::GetKey => store.get(&long_key).map(drop),
        Oversized::DeleteKey => store.delete(&long_key),
        Oversized::BatchKey | Oversized::BatchValue => match oversized_batch(which) {
            Some(batch) => store.write(&batch),
            None => Ok(()),
        },
    };
    let wants_key = !matches!(which, Oversized::SetValue | Oversized::BatchValue);
    match result {
        Err(Error::KeyTooLarge { .. }) if wants_key => Ok(()),
        Err(Error::ValueTooLarge { .. }) if !wants_key => Ok(()),
        Ok(()) => Err("was accepted".to_string()),
        Err(e) => Err(format!("failed with another error: {e}")),
    }
}

// ANCHOR: history
/// The states a store went through since its last sync: after a crash it
/// may come back in any of them (or only the last, or none, according to
/// its durability).
struct History {
    /// Since the last sync or reopen: what a crash of the process may
    /// bring back.
    process: Vec<Model>,
    /// Since the last sync, clean close or power loss, through any number
    /// of crashes of the process: what a power loss may bring back.
    disk: Vec<Model>,
}

impl History {
    fn new(model: &Model) -> History {
        History {
            process: vec![model.clone()],
            disk: vec![model.clone()],
        }
    }

    fn push(&mut self, model: &Model) {
        self.process.push(model.clone());
        self.disk.push(model.clone());
    }

    /// After a crash of the process, the store came back holding `model`.
    /// The states after the last one equal to it are gone for good: a
    /// later power loss must not bring back what the crash visibly lost.
    fn reopened(mut self, model: &Model) -> History {
        self.process = vec![model.clone()];
        match self.disk.iter().rposition(|state| state == model) {
            Some(i) => self.disk.truncate(i + 1),
            None => self.disk.push(model.clone()),
        }
        self
    }
}
// ANCHOR_END: history

// ANCHOR: run_sequence
/// Runs one generated sequence against a fresh store and the model. With
/// a transcript, also writes each step as Rust.
fn run_sequence<S: Stage>(
    options: &S::Options,
    disk_seed: Option<u64>,
    ops: &[Op],
    mut rust: Option<&mut Transcript>,
) -> Result<(), TestCaseError> {
    // Each sequence on a fresh simulated disk, so that a rerun (while
    // shrinking, or from the printed test) tears the same bytes.
    let on_disk;
    let options = match disk_seed {
        None => options,
        Some(seed) => {
            on_disk = S::on_simulated_disk(options, seed)
                .ok_or_else(|| fail("the stage cannot run on a simulated disk".into()))?;
            &on_disk
        }
    };
    let durability = S::durability(options);
    let mut h = Harness::<S>::new(options).map_err(|f| fail(f.to_string()))?;
    let mut model = Model::new();
    let mut since_sync = History::new(&model);
    for op in ops {
        if let Some(t) = rust.as_deref_mut() {
            t.step(op, &model);
        }
        match op {
            Op::Set(k, v) => {
                h.store().set(k, v).map_err(|e| store_error(op, e))?;
                model.insert(k.clone(), v.clone());
                since_sync.push(&model);
            }
            Op::Delete(k) => {
                h.store().delete(k).map_err(|e| store_error(op, e))?;
                model.remove(k);
                since_sync.push(&model);
            }
            Op::DeleteRange(s, e) => {
                h.store()
                    .delete_range(key_range(s, e))
                    .map_err(|e| store_error(op, e))?;
                let doomed = model_range(&model, s, e);
                remove_in_key_order(&mut model, &mut since_sync, doomed);
            }
            Op::DeletePrefix(p) => {
                h.store().delete_prefix(p).map_err(|e| store_error(op, e))?;
                let doomed = model_prefix(&model, p);
                remove_in_key_order(&mut model, &mut since_sync, doomed);
            }
            Op::Batch(steps) => {
                let mut batch = WriteBatch::new();
                for (k, v) in steps {
                    match v {
                        Some(v) => batch.set(k, v),
                        None => batch.delete(k),
                    };
                }
                h.store().write(&batch).map_err(|e| store_error(op, e))?;
                // An atomic batch is one step of the history; any other is
                // one step per operation, and a crash may cut it anywhere.
                for (k, v) in steps {
                    match v {
                        Some(v) => model.insert(k.clone(), v.clone()),
                        None => model.remove(k),
                    };
                    if !durability.atomic_batches {
                        since_sync.push(&model);
                    }
                }
                if durability.atomic_batches {
                    since_sync.push(&model);
                }
            }
            Op::Oversized(which) => {
                oversized_call(h.store(), *which).map_err(|e| fail(format!("{op:?} {e}")))?;
            }
            Op::Get(k) => {
                let got = h.store().get(k).map_err(|e| store_error(op, e))?;
                let want = model.get(k);
                if got.as_ref() != want {
                    return Err(fail(format!(
                        "{op:?} returned {}, the model says {}",
                        show_opt(got.as_deref()),
                        show_opt(want.map(Vec::as_slice))
                    )));
                }
            }
            Op::Scan(s, e) => {
                let got = collect_scan(h.store(), key_range(s, e));
                compare_pairs(op, got, model_range(&model, s, e))?;
            }
            Op::ScanPrefix(p) => {
                let got = h.store().scan_prefix(p).and_then(Iterator::collect);
                compare_pairs(op, got, model_prefix(&model, p))?;
            }
            Op::ScanPart(s, e, n) => {
                let got = h
                    .store()
                    .scan(key_range(s, e))
                    .and_then(|scan| scan.take(*n).collect());
                let mut want = model_range(&model, s, e);
                want.truncate(*n);
                compare_pairs(op, got, want)?;
            }
            Op::ScanWithGets(s, e, k) => scan_with_gets(h.store(), &model, op, (s, e, k))?,
            Op::Sync => {
                h.store().sync().map_err(|e| store_error(op, e))?;
                since_sync = History::new(&model);
            }
            Op::Close | Op::Drop | Op::Crash | Op::PowerLoss => {
                let (store, history) = match op {
                    Op::Close => (h.close_and_reopen(), std::slice::from_ref(&model)),
                    Op::Drop => (h.drop_and_reopen(), since_sync.process.as_slice()),
                    Op::PowerLoss => (h.power_loss_and_reopen(), since_sync.disk.as_slice()),
                    _ => (h.crash_and_reopen(), since_sync.process.as_slice()),
                };
                let store = store.map_err(|f| fail(format!("{op:?}: {f}")))?;
                // A clean close keeps everything a store keeps at all; a
                // drop or a crash, what the process-crash promise says; a
                // power loss, the power-loss promise.
                let promise = match op {
                    Op::Close if durability.keeps_data() => Survives::EveryWrite,
                    Op::PowerLoss => durability.power_loss,
                    _ => durability.process_crash,
                };
                let checked = judge_reopened(store, promise, history, &format!("{op:?}"));
                if let Some(t) = rust.as_deref_mut() {
                    t.reopened(promise, history, &checked);
                }
                model = checked.map_err(|wrong| fail(wrong.failure.to_string()))?;
                since_sync = match op {
                    // A reopen after a crash of the process alone made
                    // nothing durable: the disk may still lose what the
                    // process wrote before and after it.
                    Op::Drop | Op::Crash => since_sync.reopened(&model),
                    _ => History::new(&model),
                };
            }
        }
    }
    Ok(())
}
// ANCHOR_END: run_sequence

/// Removes a range delete's keys from the model one at a time, in key
/// order, each removal one state of the history: a crash may cut the
/// default, key-by-key `delete_range` after any of them. An atomic one
/// comes back with all of them or none, the first and last of those
/// states, so both kinds of store pass.
fn remove_in_key_order(model: &mut Model, history: &mut History, doomed: Vec<KeyValue>) {
    for (key, _) in doomed {
        model.remove(&key);
        history.push(model);
    }
}

fn compare_pairs(
    op: &Op,
    got: Result<Vec<KeyValue>, Error>,
    want: Vec<KeyValue>,
) -> Result<(), TestCaseError> {
    let got = got.map_err(|e| store_error(op, e))?;
    if got != want {
        return Err(fail(format!(
            "{op:?} returned {}, the model says {}",
            show_pairs(&got),
            show_pairs(&want)
        )));
    }
    Ok(())
}

/// A scan read one pair at a time, with a `get` between pairs: reads must
/// not disturb a scan in progress, nor a scan the reads.
fn scan_with_gets<S: KvStore>(
    store: &S,
    model: &Model,
    op: &Op,
    (start, end, key): (&Bound<Vec<u8>>, &Bound<Vec<u8>>, &Vec<u8>),
) -> Result<(), TestCaseError> {
    let mut scan = store
        .scan(key_range(start, end))
        .map_err(|e| store_error(op, e))?;
    let want = model_range(model, start, end);
    for i in 0..=want.len() {
        let got = scan.next().transpose().map_err(|e| store_error(op, e))?;
        if got.as_ref() != want.get(i) {
            let pair = |p: Option<&KeyValue>| {
                p.map_or("the end".to_string(), |p| {
                    show_pairs(std::slice::from_ref(p))
                })
            };
            return Err(fail(format!(
                "{op:?}: pair {i} of the scan was {}, the model says {}",
                pair(got.as_ref()),
                pair(want.get(i))
            )));
        }
        let value = store.get(key).map_err(|e| store_error(op, e))?;
        if value.as_ref() != model.get(key) {
            return Err(fail(format!(
                "{op:?}: get {} during the scan returned {}, the model says {}",
                show(key),
                show_opt(value.as_deref()),
                show_opt(model.get(key).map(Vec::as_slice))
            )));
        }
    }
    Ok(())
}

/// What a reopen found: the state the store holds, or why it is wrong.
type Reopened = Result<Model, WrongState>;

/// How the model test runs: on which options, how many cases, from which
/// seed, and how a failure names the store in the Rust it prints.
pub struct ModelTest<'a, S: Stage> {
    options: &'a S::Options,
    cases: u32,
    seed: Option<u64>,
    store_name: Option<&'a str>,
    options_expr: Option<&'a str>,
    power_loss: bool,
}

/// Cases when nobody says otherwise.
const DEFAULT_CASES: u32 = 256;

impl<'a, S: Stage> ModelTest<'a, S> {
    /// The test for a store opened with `options`, 256 cases, a random seed.
    pub fn new(options: &'a S::Options) -> Self {
        ModelTest {
            options,
            cases: DEFAULT_CASES,
            seed: None,
            store_name: None,
            options_expr: None,
            power_loss: false,
        }
    }

    /// Runs every sequence on a fresh simulated disk (see
    /// [`Stage::on_simulated_disk`]), with power losses among the
    /// operations, judged by the stage's power-loss promise.
    pub fn with_power_loss(mut self) -> Self {
        self.power_loss = true;
        self
    }

    /// How many random sequences to run (`PROPTEST_CASES` overrides it).
    pub fn cases(mut self, cases: u32) -> Self {
        self.cases = cases;
        self
    }

    /// Generate the sequences from this seed instead of a random one (the
    /// `KV_MODEL_SEED` environment variable does the same from outside).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// How the printed test names the store type and writes its options:
    /// the conformance macro passes its arguments as written.
    pub fn rust_names(mut self, store: &'a str, options: &'a str) -> Self {
        self.store_name = Some(store);
        self.options_expr = Some(options);
        self
    }

    /// The cases to run: `PROPTEST_CASES` if set, else [`ModelTest::cases`].
    fn case_count(&self) -> Result<u32, Failure> {
        Ok(env_number("PROPTEST_CASES")?.unwrap_or(self.cases))
    }

    /// The seed: given, or from `KV_MODEL_SEED`, or random.
    fn pick_seed(&self) -> Result<u64, Failure> {
        Ok(match self.seed {
            Some(seed) => seed,
            None => env_number("KV_MODEL_SEED")?
                .unwrap_or_else(|| RandomState::new().build_hasher().finish()),
        })
    }

    // ANCHOR: run
    /// Runs the cases; fails with the shortest failing sequence found,
    /// printed as a list of operations and as a test to paste.
    pub fn run(self) -> CheckResult {
        let cases = self.case_count()?;
        let seed = self.pick_seed()?;
        let config = Config {
            cases,
            // A library cannot know where its caller's source lives; do not
            // write regression files next to it. The seed is printed instead.
            failure_persistence: None,
            // Shrinking reruns the sequence for every simplification it
            // tries; on a slow store that must end in a bounded time.
            max_shrink_time: 120_000,
            max_shrink_iters: 20_000,
            ..Config::default()
        };
        let mut runner = TestRunner::new_with_rng(config, rng_from(seed));
        let options = self.options;
        // A store that panics (a `todo!()` not yet written, a slice out of
        // range) fails the case like any other failure, and shrinking
        // reruns it hundreds of times: its message comes once, in the
        // failure below, not once per rerun.
        let _quiet = QuietPanics::new();
        let result = if self.power_loss {
            if S::on_simulated_disk(options, 0).is_none() {
                return Err(Failure::new(format!(
                    "{}: power loss needs a simulated disk, and Stage::on_simulated_disk \
                     returns None",
                    S::NAME
                )));
            }
            runner.run(&power_sequences(), |(disk, ops)| {
                run_sequence::<S>(options, Some(disk), &ops, None)
            })
        } else {
            runner
                .run(&sequences(), |ops| {
                    run_sequence::<S>(options, None, &ops, None)
                })
                .map_err(|e| match e {
                    TestError::Fail(reason, ops) => TestError::Fail(reason, (0, ops)),
                    TestError::Abort(reason) => TestError::Abort(reason),
                })
        };
        match result {
            Ok(()) => {
                report_cases(S::NAME, cases, seed, self.power_loss);
                Ok(())
            }
            Err(TestError::Fail(reason, (disk, ops))) => {
                let disk = self.power_loss.then_some(disk);
                Err(Failure::new(self.explain(&reason, disk, &ops, seed)))
            }
            Err(TestError::Abort(reason)) => Err(Failure::new(format!(
                "the model-based test was aborted: {reason}"
            ))),
        }
    }
    // ANCHOR_END: run

    /// The failure message: what differed, the shrunk sequence, and the
    /// same sequence as a test.
    fn explain(
        &self,
        reason: &impl fmt::Display,
        disk: Option<u64>,
        ops: &[Op],
        seed: u64,
    ) -> String {
        let mut rust = Transcript::new(
            self.store_name.unwrap_or_else(|| short_type_name::<S>()),
            self.options_expr,
            disk,
        );
        // Once more, writing each step down; it stops where it fails, and
        // where it panics (the panic was the failure, and is in `reason`).
        let _quiet = QuietPanics::new();
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run_sequence::<S>(self.options, disk, ops, Some(&mut rust))
        }));
        let durability = S::durability(self.options);
        let summary = format!(
            "{name} disagrees with the BTreeMap model: {reason} (promises: process crash \
             {crash:?}, power loss {power:?}, atomic batches {atomic}; seed {seed}: \
             KV_MODEL_SEED={seed} reruns these cases)",
            name = S::NAME,
            crash = durability.process_crash,
            power = durability.power_loss,
            atomic = durability.atomic_batches,
        );
        format!(
            "{summary}\n\
             shortest failing sequence ({n} operation{plural}):\n  {list}\n\n\
             the same sequence as a test:\n\n{test}",
            summary = wrap(&summary, 78),
            n = ops.len(),
            plural = if ops.len() == 1 { "" } else { "s" },
            list = ops
                .iter()
                .map(|op| format!("{op:?}"))
                .collect::<Vec<_>>()
                .join("\n  "),
            test = rust.finish(),
        )
    }
}

thread_local! {
    /// Whether panics on this thread are expected and reported elsewhere.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// While alive, panics on this thread print nothing: the model test
/// reports them itself, in its failure. Other threads (other tests running
/// beside it) print theirs as usual.
struct QuietPanics {
    was: bool,
}

impl QuietPanics {
    fn new() -> Self {
        static HOOK: std::sync::Once = std::sync::Once::new();
        HOOK.call_once(|| {
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                if !QUIET.with(std::cell::Cell::get) {
                    previous(info);
                }
            }));
        });
        QuietPanics {
            was: QUIET.with(|q| q.replace(true)),
        }
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        QUIET.with(|q| q.set(self.was));
    }
}

/// `text` broken into lines of at most `width` columns where it has spaces
/// (a longer word stays whole), so that a failure reads in a terminal.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line_len = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if line_len > 0 && line_len + 1 + len > width {
            out.push('\n');
            line_len = 0;
        } else if line_len > 0 {
            out.push(' ');
            line_len += 1;
        }
        out.push_str(word);
        line_len += len;
    }
    out
}

/// [`ModelTest`] with the default seed handling: `cases` random sequences
/// against a store opened with `options`.
pub fn model_based<S: Stage>(options: &S::Options, cases: u32) -> CheckResult {
    ModelTest::<S>::new(options).cases(cases).run()
}

/// A number from the environment variable `name`, if it is set; an error
/// if it is set to something else, rather than a silent default.
fn env_number<T: std::str::FromStr>(name: &str) -> Result<Option<T>, Failure> {
    match std::env::var(name) {
        Err(_) => Ok(None),
        Ok(text) => {
            text.trim().parse().map(Some).map_err(|_| {
                Failure::new(format!("{name} is set to {text:?}, which is not a number"))
            })
        }
    }
}

fn rng_from(seed: u64) -> TestRng {
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_mut(8) {
        chunk.copy_from_slice(&seed.to_le_bytes());
    }
    TestRng::from_seed(RngAlgorithm::ChaCha, &bytes)
}

/// One line on the terminal for a passing run, past the test harness's
/// output capture (which hides what passing tests print), so that `cargo
/// test` shows how many cases each stage ran.
fn report_cases(name: &str, cases: u32, seed: u64, power_loss: bool) {
    use std::io::Write as _;
    let with = if power_loss {
        " on a simulated disk, with power losses"
    } else {
        ""
    };
    let line = format!("model-based test: {name} passed {cases} cases{with} (seed {seed})\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// `ch02_fsdb::store::FsStore` as `FsStore`: a guess at how the stage's
/// tests name the type, when the macro did not say.
fn short_type_name<S>() -> &'static str {
    let full = std::any::type_name::<S>();
    let generic = full.find('<').unwrap_or(full.len());
    let start = full[..generic].rfind("::").map_or(0, |i| i + 2);
    &full[start..]
}

// ANCHOR: profile
/// The shape of the sequences the model test generates, measured on a
/// sample rather than assumed: how long they are, and how many syncs,
/// reopens, crashes, batches and range deletes they hold.
pub struct SequenceProfile {
    sample: usize,
    seed: u64,
    rows: Vec<(&'static str, Vec<usize>)>,
    /// Cases in which a reopen follows the tenth sync: enough files for a
    /// store that sorts `table-10` before `table-9` to show it.
    deep: usize,
}

impl SequenceProfile {
    /// Generates `sample` sequences from `seed` and counts what they hold.
    pub fn measure(sample: usize, seed: u64) -> SequenceProfile {
        let mut runner = TestRunner::new_with_rng(Config::default(), rng_from(seed));
        let strategy = sequences();
        let names = [
            "operations",
            "syncs (sync, close)",
            "reopens (close, drop, crash)",
            "crashes",
            "batches",
            "range deletes (range, prefix)",
            "scans (every kind)",
            "oversized calls",
        ];
        let mut rows: Vec<(&'static str, Vec<usize>)> =
            names.iter().map(|n| (*n, Vec::new())).collect();
        let mut deep = 0;
        for _ in 0..sample {
            let Ok(tree) = strategy.new_tree(&mut runner) else {
                continue;
            };
            let ops = tree.current();
            let count = |f: fn(&Op) -> bool| ops.iter().filter(|op| f(op)).count();
            let counts = [
                ops.len(),
                count(|op| matches!(op, Op::Sync | Op::Close)),
                count(|op| matches!(op, Op::Close | Op::Drop | Op::Crash)),
                count(|op| matches!(op, Op::Crash)),
                count(|op| matches!(op, Op::Batch(_))),
                count(|op| matches!(op, Op::DeleteRange(..) | Op::DeletePrefix(_))),
                count(|op| {
                    matches!(
                        op,
                        Op::Scan(..) | Op::ScanPrefix(_) | Op::ScanPart(..) | Op::ScanWithGets(..)
                    )
                }),
                count(|op| matches!(op, Op::Oversized(_))),
            ];
            for (row, n) in rows.iter_mut().zip(counts) {
                row.1.push(n);
            }
            let mut syncs = 0;
            if ops.iter().any(|op| {
                syncs += usize::from(matches!(op, Op::Sync | Op::Close));
                syncs >= 10 && matches!(op, Op::Drop | Op::Crash)
                    || syncs >= 11 && matches!(op, Op::Close)
            }) {
                deep += 1;
            }
        }
        for row in &mut rows {
            row.1.sort_unstable();
        }
        SequenceProfile {
            sample,
            seed,
            rows,
            deep,
        }
    }

    /// The median of a row, by its name.
    pub fn median(&self, name: &str) -> Option<usize> {
        let row = &self.rows.iter().find(|r| r.0 == name)?.1;
        row.get(row.len() / 2).copied()
    }

    /// The share of sequences (0 to 1) in which a reopen follows the tenth
    /// sync.
    pub fn deep_share(&self) -> f64 {
        self.deep as f64 / self.sample.max(1) as f64
    }
}

impl fmt::Display for SequenceProfile {
    /// A table of percentiles per row, for the book.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} generated sequences (seed {}), per sequence:",
            self.sample, self.seed
        )?;
        writeln!(
            f,
            "{:<30}{:>6}{:>6}{:>8}{:>6}{:>6}",
            "", "min", "p10", "median", "p90", "max"
        )?;
        for (name, values) in &self.rows {
            let at = |q: f64| {
                let i = ((values.len().saturating_sub(1)) as f64 * q).round() as usize;
                values.get(i).copied().unwrap_or(0)
            };
            writeln!(
                f,
                "{name:<30}{:>6}{:>6}{:>8}{:>6}{:>6}",
                at(0.0),
                at(0.1),
                at(0.5),
                at(0.9),
                at(1.0)
            )?;
        }
        writeln!(
            f,
            "a reopen after the 10th sync in {:.1}% of sequences",
            100.0 * self.deep_share()
        )
    }
}
// ANCHOR_END: profile

/// A failing sequence written down as a Rust test, step by step, as the
/// rerun goes: each read is an assertion of what the model expects, so the
/// test fails where the store did.
struct Transcript {
    store: String,
    options: Option<String>,
    /// The seed of the simulated disk, for a run with power losses.
    disk: Option<u64>,
    lines: Vec<String>,
}

/// A byte string as a Rust expression of type `&[u8; N]` (or `&[u8]`).
fn lit(bytes: &[u8]) -> String {
    match bytes.first() {
        Some(&b) if bytes.len() > 16 && bytes.iter().all(|&x| x == b) => {
            format!("&[{b}u8; {}]", bytes.len())
        }
        _ => format!("b\"{}\"", bytes.escape_ascii()),
    }
}

/// A byte string as a Rust expression of type `Vec<u8>`.
fn owned(bytes: &[u8]) -> String {
    match bytes.first() {
        Some(&b) if bytes.len() > 16 && bytes.iter().all(|&x| x == b) => {
            format!("vec![{b}u8; {}]", bytes.len())
        }
        _ => format!("b\"{}\".to_vec()", bytes.escape_ascii()),
    }
}

fn rust_bound(b: &Bound<Vec<u8>>) -> String {
    match b {
        Bound::Included(k) => format!("Included(&{}[..])", lit(k)),
        Bound::Excluded(k) => format!("Excluded(&{}[..])", lit(k)),
        Bound::Unbounded => "Unbounded".to_string(),
    }
}

fn rust_range(s: &Bound<Vec<u8>>, e: &Bound<Vec<u8>>) -> String {
    format!(
        "KeyRange::from_bounds({}, {})",
        rust_bound(s),
        rust_bound(e)
    )
}

fn rust_pairs(pairs: &[KeyValue]) -> String {
    if pairs.is_empty() {
        return "Vec::<(Vec<u8>, Vec<u8>)>::new()".to_string();
    }
    let items: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("({}, {})", owned(k), owned(v)))
        .collect();
    format!("vec![{}]", items.join(", "))
}

fn rust_model(model: &Model) -> String {
    let pairs: Vec<KeyValue> = model.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    rust_pairs(&pairs)
}

fn rust_option(value: Option<&Vec<u8>>) -> String {
    match value {
        Some(v) => format!("Some({})", owned(v)),
        None => "None".to_string(),
    }
}

impl Transcript {
    fn new(store: &str, options: Option<&str>, disk: Option<u64>) -> Self {
        Transcript {
            store: store.to_string(),
            options: options.map(str::to_string),
            disk,
            lines: Vec::new(),
        }
    }

    fn line(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    fn open(&mut self) {
        let open = format!(
            "let mut store = <{} as Stage>::open_with(path, &options).unwrap();",
            self.store
        );
        self.line(open);
    }

    /// Writes `op` as Rust, with the model's answers as assertions.
    fn step(&mut self, op: &Op, model: &Model) {
        self.line(format!("// {op:?}"));
        match op {
            Op::Set(k, v) => self.line(format!("store.set({}, {}).unwrap();", lit(k), lit(v))),
            Op::Delete(k) => self.line(format!("store.delete({}).unwrap();", lit(k))),
            Op::DeleteRange(s, e) => {
                self.line(format!(
                    "store.delete_range({}).unwrap();",
                    rust_range(s, e)
                ));
            }
            Op::DeletePrefix(p) => {
                self.line(format!("store.delete_prefix({}).unwrap();", lit(p)));
            }
            Op::Batch(steps) => {
                self.line("let mut batch = WriteBatch::new();");
                for (k, v) in steps {
                    self.line(match v {
                        Some(v) => format!("batch.set({}, {});", lit(k), lit(v)),
                        None => format!("batch.delete({});", lit(k)),
                    });
                }
                self.line("store.write(&batch).unwrap();");
            }
            Op::Oversized(which) => {
                let long_key = "&vec![b'k'; MAX_KEY_LEN + 1]";
                let (call, error) = match which {
                    Oversized::SetKey => (format!("store.set({long_key}, b\"v\")"), "KeyTooLarge"),
                    Oversized::SetValue => (
                        "store.set(b\"a\", &vec![b'v'; MAX_VALUE_LEN + 1])".to_string(),
                        "ValueTooLarge",
                    ),
                    Oversized::GetKey => (format!("store.get({long_key})"), "KeyTooLarge"),
                    Oversized::DeleteKey => (format!("store.delete({long_key})"), "KeyTooLarge"),
                    Oversized::BatchKey => {
                        self.line("let mut batch = WriteBatch::new();");
                        self.line(format!(
                            "batch.set(b\"a\", b\"1\").delete({long_key}).set(b\"b\", b\"2\");"
                        ));
                        ("store.write(&batch)".to_string(), "KeyTooLarge")
                    }
                    Oversized::BatchValue => {
                        self.line("let mut batch = WriteBatch::new();");
                        self.line(
                            "batch.delete(b\"a\").set(b\"b\", &vec![b'v'; MAX_VALUE_LEN + 1])\
                             .set(b\"c\", b\"3\");",
                        );
                        ("store.write(&batch)".to_string(), "ValueTooLarge")
                    }
                };
                self.line(format!(
                    "assert!(matches!({call}, Err(Error::{error} {{ .. }})));"
                ));
            }
            Op::Get(k) => self.line(format!(
                "assert_eq!(store.get({}).unwrap(), {});",
                lit(k),
                rust_option(model.get(k))
            )),
            Op::Scan(s, e) => self.line(format!(
                "assert_eq!(scan(&store, {}), {});",
                rust_range(s, e),
                rust_pairs(&model_range(model, s, e))
            )),
            Op::ScanPrefix(p) => self.line(format!(
                "assert_eq!(scan(&store, KeyRange::prefix({})), {});",
                lit(p),
                rust_pairs(&model_prefix(model, p))
            )),
            Op::ScanPart(s, e, n) => {
                let mut want = model_range(model, s, e);
                want.truncate(*n);
                self.line(format!(
                    "assert_eq!(store.scan({}).unwrap().take({n}).map(Result::unwrap)\
                     .collect::<Vec<_>>(), {});",
                    rust_range(s, e),
                    rust_pairs(&want)
                ));
            }
            Op::ScanWithGets(s, e, k) => {
                self.line("{");
                self.line(format!(
                    "    let mut pairs = store.scan({}).unwrap();",
                    rust_range(s, e)
                ));
                let want = model_range(model, s, e);
                for i in 0..=want.len() {
                    let next = match want.get(i) {
                        Some((key, value)) => format!("Some(({}, {}))", owned(key), owned(value)),
                        None => "None".to_string(),
                    };
                    self.line(format!(
                        "    assert_eq!(pairs.next().transpose().unwrap(), {next});"
                    ));
                    self.line(format!(
                        "    assert_eq!(store.get({}).unwrap(), {});",
                        lit(k),
                        rust_option(model.get(k))
                    ));
                }
                self.line("}");
            }
            Op::Sync => self.line("store.sync().unwrap();"),
            Op::Close => {
                self.line("store.sync().unwrap();");
                self.line("drop(store);");
                self.open();
            }
            Op::Drop => {
                self.line("drop(store);");
                self.open();
            }
            Op::Crash => {
                self.line("store.simulate_crash();");
                self.open();
            }
            Op::PowerLoss => {
                self.line("store.simulate_crash();");
                self.line("power.power_loss();");
                self.open();
            }
        }
    }

    /// After a reopen: the assertion on the state the store came back in.
    fn reopened(&mut self, promise: Survives, history: &[Model], checked: &Reopened) {
        let mut allowed = allowed_states(promise, history);
        if let Some(states) = allowed.as_mut() {
            states.dedup();
        }
        match (allowed, checked) {
            (Some(states), _) if states.len() == 1 => self.line(format!(
                "assert_eq!(scan(&store, KeyRange::all()), {});",
                rust_model(&states[0])
            )),
            (Some(states), _) => {
                self.line(format!(
                    "// The store may come back in any of the {} states it had since the last \
                     sync.",
                    states.len()
                ));
                self.line("let state = scan(&store, KeyRange::all());");
                let states: Vec<String> = states.iter().map(rust_model).collect();
                self.line(format!(
                    "assert!([{}].contains(&state), \"came back with {{state:?}}\");",
                    states.join(", ")
                ));
            }
            (None, _) if promise == Survives::SyncedWritesPerKey => {
                self.line("// Each key holds its value at the last sync or a later one.");
                let mut keys: Vec<&Vec<u8>> = history.iter().flat_map(Model::keys).collect();
                keys.sort();
                keys.dedup();
                let known: Vec<String> = keys.iter().map(|k| owned(k)).collect();
                self.line(format!(
                    "assert!(scan(&store, KeyRange::all()).iter().all(|(k, _)| [{}].contains(k)));",
                    known.join(", ")
                ));
                for key in keys {
                    let mut values: Vec<String> = history
                        .iter()
                        .map(|state| rust_option(state.get(key)))
                        .collect();
                    values.dedup();
                    self.line(format!(
                        "assert!([{}].contains(&store.get({}).unwrap()));",
                        values.join(", "),
                        lit(key)
                    ));
                }
            }
            (None, _) => self.line(format!("// {promise:?}: any state is allowed.")),
        }
        // A `get` that disagreed with a right scan: every key, asserted.
        if let Err(WrongState {
            scanned: Some(got), ..
        }) = checked
        {
            for key in got.keys().chain(history.iter().flat_map(Model::keys)) {
                self.line(format!(
                    "assert_eq!(store.get({}).unwrap(), {});",
                    lit(key),
                    rust_option(got.get(key))
                ));
            }
        }
    }

    /// The whole test.
    fn finish(self) -> String {
        let mut out = String::new();
        let mut options = match &self.options {
            Some(expr) => format!("let options = {expr};"),
            None => format!(
                "let options: <{} as Stage>::Options = Default::default();",
                self.store
            ),
        };
        if let Some(seed) = self.disk {
            options = format!(
                "{options}\n    let options = <{store} as Stage>::on_simulated_disk(&options, {seed})\
                 .unwrap();\n    let power = <{store} as Stage>::power_switch(&options).unwrap();\n    \
                 power.add_root(dir.path());",
                store = self.store
            );
        }
        let _ = writeln!(
            out,
            "#[test]\n#[allow(unused_mut, unused_imports, unused_variables)]"
        );
        let _ = writeln!(out, "fn shrunk_model_failure() {{");
        for line in [
            "use ch00_contract::{Error, KeyRange, KvStore, Stage, WriteBatch};",
            "use ch00_contract::{MAX_KEY_LEN, MAX_VALUE_LEN};",
            "use std::ops::Bound::{Excluded, Included, Unbounded};",
            "let dir = ch00_contract::conformance::scratch_dir().unwrap();",
            "let path = dir.path();",
            &options,
        ] {
            let _ = writeln!(out, "    {line}");
        }
        let _ = writeln!(
            out,
            "    let scan = |store: &{}, range: KeyRange| -> Vec<(Vec<u8>, Vec<u8>)> {{\n        \
             store.scan(range).unwrap().map(Result::unwrap).collect()\n    }};",
            self.store
        );
        let _ = writeln!(
            out,
            "    let mut store = <{} as Stage>::open_with(path, &options).unwrap();",
            self.store
        );
        for line in &self.lines {
            let _ = writeln!(out, "    {line}");
        }
        out.push('}');
        out
    }
}
