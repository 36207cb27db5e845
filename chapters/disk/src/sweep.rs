//! The fault sweep: fail each I/O operation of a short workload in turn,
//! and check that the store tells the caller and loses nothing.
//!
//! A run of the workload on a fresh simulated disk counts the operations
//! of each kind it makes: say 14 writes, 5 syncs, 4 renames. The sweep
//! then runs the workload again once per operation, each time on a fresh
//! disk told to fail that one operation (the 1st write, the 2nd write,
//! …, the 5th sync, …) and to let every other succeed. After each step
//! it checks what the store answers, and at the end it syncs, cuts the
//! power and reopens, and checks what the disk kept:
//!
//! - the failure reached the caller: some call returned an error;
//! - no acknowledged write was lost: a write whose call returned `Ok`, and
//!   a sync that returned `Ok` after it, survive the power loss;
//! - no deleted key came back, and no value is one the key never had.
//!
//! The model is kept per key as the *set* of values the key may hold: a
//! write that failed may or may not have happened, so both its value and
//! the one before stay possible, until a successful sync settles it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use ch00_contract::{Error, Stage, Survives, WriteBatch};

use crate::{Disk, Op, SimDisk};

/// One step of the workload.
#[derive(Clone, Debug)]
pub enum Step {
    /// `set(key, value)`.
    Set(&'static str, &'static str),
    /// `delete(key)`.
    Delete(&'static str),
    /// `write` of a batch: sets (`Some`) and deletes (`None`).
    Batch(Vec<(&'static str, Option<&'static str>)>),
    /// `sync()`.
    Sync,
    /// Drop the store without a sync, as a crashed process would leave it
    /// (through `Stage::simulate_crash`), and open it again.
    Crash,
}

// ANCHOR: workload
/// The workload every disk stage is swept with: overwrites, deletes of
/// keys from the last sync and from before it, a batch, syncs with and
/// without changes, and a crash in the middle.
pub fn workload() -> Vec<Step> {
    use Step::*;
    vec![
        Set("a", "1"),
        Set("b", "1"),
        Sync,
        Set("c", "1"),
        Delete("a"),
        Batch(vec![("b", Some("2")), ("d", Some("1")), ("c", None)]),
        Sync,
        // A delete of a key only the newest file holds, alone in its sync,
        // and a crash right after; then a delete of an older key.
        Set("e", "1"),
        Sync,
        Delete("e"),
        Sync,
        Crash,
        Delete("d"),
        Sync,
        Sync,
        Set("a", "3"),
        Crash,
        Set("f", "1"),
        Delete("b"),
        Sync,
    ]
}
// ANCHOR_END: workload

/// The kinds of operation the sweep fails, in turn.
pub const SWEPT: [Op; 10] = [
    Op::Create,
    Op::Open,
    Op::Read,
    Op::Write,
    Op::Sync,
    Op::Rename,
    Op::Remove,
    Op::CreateDir,
    Op::List,
    Op::SyncDir,
];

/// What a sweep ran: how many cases of each kind of failure.
#[derive(Debug, Default)]
pub struct Sweep {
    /// Operations of each kind the workload makes, so cases swept.
    pub cases: BTreeMap<Op, u64>,
    /// Runs on a disk that fills up partway.
    pub full_disk: u64,
}

impl Sweep {
    /// All cases.
    pub fn total(&self) -> u64 {
        self.cases.values().sum::<u64>() + self.full_disk
    }
}

/// How often the sweep fills the disk: after this many even shares of
/// the bytes the workload writes.
const FULL_DISK_CASES: u64 = 16;

impl fmt::Display for Sweep {
    /// One line per kind of failure: what the book shows.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} runs of the workload, each with one failure:",
            self.total()
        )?;
        for (op, n) in self.cases.iter().filter(|(_, n)| **n > 0) {
            writeln!(f, "  {n:>4}  the Nth {op:?} operation fails")?;
        }
        if self.full_disk > 0 {
            writeln!(f, "  {:>4}  the disk fills up partway", self.full_disk)?;
        }
        Ok(())
    }
}

/// Each key's possible values: `None` is absent.
type Possible = BTreeMap<&'static str, BTreeSet<Option<String>>>;

/// The model of one run.
struct Model {
    /// What the open store may answer for each key.
    live: Possible,
    /// What a power loss may leave for each key.
    durable: Possible,
}

impl Model {
    fn new(keys: &BTreeSet<&'static str>) -> Model {
        let absent: Possible = keys.iter().map(|k| (*k, BTreeSet::from([None]))).collect();
        Model {
            live: absent.clone(),
            durable: absent,
        }
    }

    /// A write of `value` to `key`, which succeeded or not.
    fn write(&mut self, key: &'static str, value: Option<&str>, ok: bool) {
        let value = value.map(str::to_string);
        let live = self.live.entry(key).or_default();
        if ok {
            *live = BTreeSet::from([value.clone()]);
        } else {
            live.insert(value.clone());
        }
        // Until a sync, a power loss may or may not keep it.
        self.durable.entry(key).or_default().insert(value);
    }

    fn sync(&mut self, ok: bool) {
        for (key, live) in &self.live {
            let durable = self.durable.entry(key).or_default();
            if ok {
                // Whatever the store holds is on disk now, and only that.
                *durable = live.clone();
            } else {
                durable.extend(live.iter().cloned());
            }
        }
    }
}

/// Fails the whole sweep with what went wrong where.
fn problem(case: &str, what: impl fmt::Display) -> String {
    format!("{case}: {what}")
}

/// Reads every key and checks each against what it may hold: returns the
/// state read. A read that fails (the injected failure) counts in
/// `errors` and is tried once more.
fn check_reads<S: Stage>(
    store: &S,
    allowed: &Possible,
    errors: &mut u64,
    (case, when): (&str, &str),
) -> Result<BTreeMap<&'static str, Option<String>>, String> {
    let mut found = BTreeMap::new();
    for (key, values) in allowed {
        let got = store
            .get(key.as_bytes())
            .or_else(|_| {
                *errors += 1;
                store.get(key.as_bytes())
            })
            .map_err(|e| problem(case, format!("{when}: get({key:?}) failed: {e}")))?
            .map(|v| String::from_utf8_lossy(&v).into_owned());
        if !values.contains(&got) {
            return Err(problem(
                case,
                format!(
                    "{when}: get({key:?}) returned {got:?}; the key may only hold one of {values:?}"
                ),
            ));
        }
        found.insert(*key, got);
    }
    // A scan shows the same, and no key the workload never wrote.
    let scan = || {
        store
            .scan(ch00_contract::KeyRange::all())
            .and_then(|s| s.collect::<Result<Vec<_>, Error>>())
    };
    let scanned: Vec<_> = scan()
        .or_else(|_| {
            *errors += 1;
            scan()
        })
        .map_err(|e| problem(case, format!("{when}: scan failed: {e}")))?;
    let want: Vec<_> = found
        .iter()
        .filter_map(|(k, v)| {
            v.as_ref()
                .map(|v| (k.as_bytes().to_vec(), v.clone().into_bytes()))
        })
        .collect();
    if scanned != want {
        return Err(problem(
            case,
            format!("{when}: a scan disagreed with the gets: {scanned:?} against {want:?}"),
        ));
    }
    Ok(found)
}

/// Pins the model to what the store was found to hold.
fn pin(possible: &mut Possible, found: &BTreeMap<&'static str, Option<String>>) {
    for (key, value) in found {
        possible.insert(*key, BTreeSet::from([value.clone()]));
    }
}

// ANCHOR: sweep
/// Sweeps `S`, opened with the options `on` makes for a disk, through
/// [`workload`] with each of its I/O operations failed in turn. Returns
/// how many cases ran, or the first problem found.
pub fn fault_sweep<S: Stage>(on: impl Fn(Disk) -> S::Options) -> Result<Sweep, String> {
    fault_sweep_with::<S>(&workload(), on)
}

/// [`fault_sweep`] through `steps` instead of [`workload`]: for a stage
/// whose hard moments a short workload does not reach (chapter 6's
/// compactions into levels that already hold tables).
pub fn fault_sweep_with<S: Stage>(
    steps: &[Step],
    on: impl Fn(Disk) -> S::Options,
) -> Result<Sweep, String> {
    // A clean run counts the operations to fail, and the bytes written.
    let clean = SimDisk::new();
    clean.set_space(Some(u64::MAX));
    run::<S>(&clean, &on, steps, "the run without failures")?;
    let written = u64::MAX - clean.space().unwrap_or(u64::MAX);
    let mut sweep = Sweep::default();
    for op in SWEPT {
        let count = clean.count(op);
        sweep.cases.insert(op, count);
        for skip in 0..count {
            let sim = SimDisk::new();
            sim.fail(op, skip);
            let case = format!("with {op:?} number {} failing", skip + 1);
            run::<S>(&sim, &on, steps, &case)?;
        }
    }
    // The disk fills up after a share of those bytes, and stays full until
    // the end of the workload.
    for share in 0..FULL_DISK_CASES {
        let sim = SimDisk::new();
        let space = written * share / FULL_DISK_CASES;
        sim.set_space(Some(space));
        let case = format!("with the disk full after {space} of {written} bytes");
        run::<S>(&sim, &on, steps, &case)?;
        sweep.full_disk += 1;
    }
    Ok(sweep)
}
// ANCHOR_END: sweep

/// Ends a disk-full case: no limit from now on. (The clean run's limit is
/// so large it only counts the bytes written, and stays.)
fn free_space(sim: &SimDisk) {
    if sim.space().is_some_and(|left| left < u64::MAX / 2) {
        sim.set_space(None);
    }
}

/// One run of the workload on `sim`.
fn run<S: Stage>(
    sim: &SimDisk,
    on: &impl Fn(Disk) -> S::Options,
    steps: &[Step],
    case: &str,
) -> Result<(), String> {
    let dir = Path::new("/sweep/store");
    sim.add_root(dir);
    let options = on(Disk::simulated(sim.clone()));
    let keys: BTreeSet<&'static str> = steps
        .iter()
        .flat_map(|step| match step {
            Step::Set(k, _) | Step::Delete(k) => vec![*k],
            Step::Batch(ops) => ops.iter().map(|(k, _)| *k).collect(),
            Step::Sync | Step::Crash => vec![],
        })
        .collect();
    let mut model = Model::new(&keys);
    let mut errors = 0;
    // An open that fails (the injected failure, at open) is retried once,
    // with space freed if the disk is full (a new store must write).
    let open = |errors: &mut u64| -> Result<S, String> {
        S::open_with(dir, &options).or_else(|_| {
            *errors += 1;
            free_space(sim);
            S::open_with(dir, &options)
                .map_err(|e| problem(case, format!("a second open failed too: {e}")))
        })
    };
    let mut store = open(&mut errors)?;
    for step in steps {
        let when = format!("after {step:?}");
        match step {
            Step::Set(k, v) => {
                let ok = store.set(k.as_bytes(), v.as_bytes()).is_ok();
                model.write(k, Some(v), ok);
                errors += u64::from(!ok);
            }
            Step::Delete(k) => {
                let ok = store.delete(k.as_bytes()).is_ok();
                model.write(k, None, ok);
                errors += u64::from(!ok);
            }
            Step::Batch(ops) => {
                let mut batch = WriteBatch::new();
                for (k, v) in ops {
                    match v {
                        Some(v) => batch.set(k.as_bytes(), v.as_bytes()),
                        None => batch.delete(k.as_bytes()),
                    };
                }
                let ok = store.write(&batch).is_ok();
                for (k, v) in ops {
                    model.write(k, *v, ok);
                }
                errors += u64::from(!ok);
            }
            Step::Sync => {
                let ok = store.sync().is_ok();
                model.sync(ok);
                errors += u64::from(!ok);
                if ok {
                    // The power fails right now, on a copy of the disk:
                    // everything acknowledged must be there.
                    let copy = sim.fork();
                    copy.power_loss();
                    let after = S::open_with(dir, &on(Disk::simulated(copy))).map_err(|e| {
                        problem(case, format!("{when}, then a power loss: open failed: {e}"))
                    })?;
                    let when = format!("{when}, then a power loss");
                    check_reads(&after, &model.durable, &mut 0, (case, &when))?;
                }
            }
            Step::Crash => {
                store.simulate_crash();
                store = open(&mut errors)?;
                // A crash of the process keeps what the store had written
                // to the operating system: every write, for a store that
                // promises that, and at least what was synced for others.
                let mut allowed = model.live.clone();
                if S::durability(&options).process_crash != Survives::EveryWrite {
                    for (key, values) in &model.durable {
                        allowed
                            .entry(key)
                            .or_default()
                            .extend(values.iter().cloned());
                    }
                }
                let found = check_reads(&store, &allowed, &mut errors, (case, &when))?;
                pin(&mut model.live, &found);
            }
        }
        let found = check_reads(&store, &model.live, &mut errors, (case, &when))?;
        pin(&mut model.live, &found);
    }
    // Space is freed; one last sync (which a store poisoned by a failed
    // sync refuses), then the power fails.
    free_space(sim);
    let ok = store.sync().is_ok();
    model.sync(ok);
    errors += u64::from(!ok);
    store.simulate_crash();
    sim.power_loss();
    let store = open(&mut errors)?;
    let when = "after the power loss";
    check_reads(&store, &model.durable, &mut errors, (case, when))?;
    if sim.count_failed() > 0 && errors == 0 {
        return Err(problem(
            case,
            "the operation failed, and no call returned an error: the failure was swallowed",
        ));
    }
    Ok(())
}
