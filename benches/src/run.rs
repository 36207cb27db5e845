//! Running the workloads on one subject at one size, and measuring.
//!
//! For one subject and one N the harness does, in this order: the two fills
//! (each repetition into a fresh store; the last random fill is kept), a
//! measurement of the space that store takes, the read workloads on it, a
//! reopen, the workloads that overwrite keys, and last the deletes, which
//! shrink the store. Then the workloads that need a store of their own
//! (`overwrite-all`, `delete-most`), each in a fresh store filled untimed
//! for every repetition, with the space the last one leaves measured.
//! Every repetition of a workload does the same operations; the report
//! keeps the median and shows the spread.

use std::cell::Cell;
use std::path::Path;
use std::time::Instant;

use ch00_contract::{KeyRange, KvStore, Metrics, Result, WriteBatch};
use serde::{Deserialize, Serialize};

use crate::heap;
use crate::subjects::{Measured, Subject};
use crate::workload::{
    Budget, Choices, OVERWRITE_ROUNDS, Workload, delete_most_count, key, missing_key, value,
};

/// The timings of one workload on one subject at one size.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Measurement {
    /// The subject's name.
    pub subject: String,
    /// The workload.
    pub workload: Workload,
    /// Keys in the store.
    pub n: u64,
    /// Operations per repetition.
    pub ops: u64,
    /// Seconds each repetition took, in the order they ran.
    pub seconds: Vec<f64>,
    /// Read calls per operation, where the subject counts them.
    pub reads_per_op: Option<f64>,
    /// Bytes read per operation, where the subject counts them.
    pub bytes_read_per_op: Option<f64>,
    /// Bytes written to files per operation, where the subject counts them
    /// (absent from results written before it was measured).
    #[serde(default)]
    pub bytes_written_per_op: Option<f64>,
    /// Bytes one repetition asked the store to write: the keys and values
    /// of its sets and the keys of its deletes. Against the bytes written
    /// it gives the write amplification. `None` for a workload that writes
    /// nothing (and in results written before it was recorded).
    #[serde(default)]
    pub user_bytes: Option<u64>,
    /// Tables consulted per get, for the get workloads of a subject that
    /// counts them ([`Metrics::tables_asked`]); `None` otherwise.
    #[serde(default)]
    pub tables_per_get: Option<f64>,
}

impl Measurement {
    /// The median repetition, in seconds.
    pub fn median(&self) -> f64 {
        let mut s = self.seconds.clone();
        s.sort_by(f64::total_cmp);
        match s.len() {
            0 => f64::NAN,
            len if len % 2 == 1 => s[len / 2],
            len => (s[len / 2 - 1] + s[len / 2]) / 2.0,
        }
    }

    /// Operations per second at the median.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.median()
    }

    /// Seconds per operation at the median.
    pub fn secs_per_op(&self) -> f64 {
        self.median() / self.ops as f64
    }

    /// The spread of the repetitions: (slowest - fastest) / median.
    pub fn spread(&self) -> f64 {
        let min = self.seconds.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self.seconds.iter().copied().fold(0.0, f64::max);
        (max - min) / self.median()
    }
}

/// What a store of N keys costs in space, measured after the random fill
/// and its sync.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Footprint {
    /// The subject's name.
    pub subject: String,
    /// Keys in the store.
    pub n: u64,
    /// Bytes of keys and values the store holds.
    pub logical_bytes: u64,
    /// Sum of the lengths of the store's files.
    pub file_bytes: u64,
    /// Bytes the file system allocated for them (blocks, not lengths:
    /// sparse and preallocated files make lengths lie).
    pub allocated_bytes: u64,
    /// Files in the store's directory, recursively.
    pub files: u64,
    /// Index bytes held in memory, if the subject reports it.
    pub index_bytes: Option<u64>,
    /// Peak heap growth while filling the opened store, if counted.
    pub peak_heap_bytes: Option<u64>,
    /// Peak heap growth while opening the filled store, if counted (and if
    /// the subject has anything to reopen).
    #[serde(default)]
    pub open_heap_bytes: Option<u64>,
}

/// What a store takes on disk after a workload that leaves much of what
/// was written stale (`overwrite-all`, `delete-most`), against the bytes
/// of keys and values it still holds: its space amplification.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SpaceAfter {
    /// The subject's name.
    pub subject: String,
    /// The workload after which it was measured.
    pub workload: Workload,
    /// Keys in the store before the workload.
    pub n: u64,
    /// Bytes of keys and values of the pairs still live.
    pub logical_bytes: u64,
    /// Sum of the lengths of the store's files.
    pub file_bytes: u64,
    /// Bytes the file system allocated for them.
    pub allocated_bytes: u64,
}

impl SpaceAfter {
    /// Allocated bytes per live logical byte; `None` when nothing is live
    /// (a ratio to zero means nothing).
    pub fn amplification(&self) -> Option<f64> {
        (self.logical_bytes > 0).then(|| self.allocated_bytes as f64 / self.logical_bytes as f64)
    }
}

/// A subject and size the harness did not run, and why.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Skip {
    /// The subject's name.
    pub subject: String,
    /// The workload, or `None` for every workload at this size.
    pub workload: Option<Workload>,
    /// Keys in the store.
    pub n: u64,
    /// Why.
    pub reason: String,
}

/// Everything one subject at one size produced.
#[derive(Default)]
pub struct Outcome {
    /// Timings.
    pub measurements: Vec<Measurement>,
    /// Space, when a fill ran.
    pub footprint: Option<Footprint>,
    /// Space after the workloads that leave stale data, for a subject
    /// that keeps files.
    pub spaces: Vec<SpaceAfter>,
    /// Workloads not run, with reasons.
    pub skips: Vec<Skip>,
}

impl Outcome {
    fn skip(&mut self, subject: &Subject, w: Workload, n: u64, reason: &str) {
        self.skips.push(Skip {
            subject: subject.name.to_string(),
            workload: Some(w),
            n,
            reason: reason.to_string(),
        });
    }
}

/// How a run is configured.
#[derive(Clone, Copy, Debug)]
pub struct Settings {
    /// Repetitions of every measurement, at most.
    pub reps: usize,
    /// No further repetition starts once a measurement's repetitions have
    /// taken this many seconds in all: one slow subject (a hundred thousand
    /// files created one by one) must not hold the whole run up, and a
    /// single repetition of many seconds is not noisy anyway.
    pub rep_seconds: f64,
    /// Work per measurement.
    pub budget: Budget,
}

impl Settings {
    /// Whether another repetition should run after those in `seconds`:
    /// always a first; after it, either the first alone (when it already
    /// took `rep_seconds`) or all `reps`, so that a median is never the mean
    /// of two runs that happened to fit the time.
    fn another(&self, seconds: &[f64]) -> bool {
        match seconds {
            [] => true,
            [first] if *first >= self.rep_seconds => false,
            _ => seconds.len() < self.reps,
        }
    }
}

/// The key-value pairs of `order`, made before the clock starts.
fn pairs(order: &[u64], version: u64, len: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    order
        .iter()
        .map(|&i| (key(i), value(i, version, len)))
        .collect()
}

/// Bytes of keys and values in `data`: what setting them asks to write.
fn user_bytes(data: &[(Vec<u8>, Vec<u8>)]) -> u64 {
    data.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum()
}

/// Bytes of `keys`: what deleting them asks to write.
fn key_bytes(keys: &[Vec<u8>]) -> u64 {
    keys.iter().map(|k| k.len() as u64).sum()
}

fn counters(store: &dyn KvStore) -> Metrics {
    store.metrics()
}

/// Runs `f` on the store as many times as `settings` allow, timing each
/// (after letting the store settle, untimed), and reads the store's
/// counters around the last repetition.
fn repeat(
    store: &mut dyn Measured,
    settings: Settings,
    f: impl FnMut(&mut dyn Measured, usize) -> Result<()>,
) -> Result<(Vec<f64>, Metrics, Metrics)> {
    repeat_prepared(store, settings, |_, _| Ok(()), f)
}

/// Waits until the file systems have written back what is pending: the
/// files of the previous repetition, and their removal (a 100k-file store
/// of chapter 2 leaves seconds of it). Without this, that write-back runs
/// inside the next timed repetition and adds its noise there. Called
/// after everything untimed, just before each timed part.
pub fn quiet_disk() {
    #[cfg(unix)]
    rustix::fs::sync();
}

/// [`repeat`], with `prepare` run untimed before each repetition.
fn repeat_prepared(
    store: &mut dyn Measured,
    settings: Settings,
    mut prepare: impl FnMut(&mut dyn Measured, usize) -> Result<()>,
    mut f: impl FnMut(&mut dyn Measured, usize) -> Result<()>,
) -> Result<(Vec<f64>, Metrics, Metrics)> {
    let mut seconds = Vec::new();
    let mut before = Metrics::default();
    while settings.another(&seconds) {
        prepare(store, seconds.len())?;
        store.settle()?;
        quiet_disk();
        before = counters(store);
        let start = Instant::now();
        f(store, seconds.len())?;
        seconds.push(start.elapsed().as_secs_f64());
    }
    Ok((seconds, before, counters(store)))
}

fn per_op(before: Option<u64>, after: Option<u64>, ops: u64) -> Option<f64> {
    Some(after?.saturating_sub(before?) as f64 / ops as f64)
}

fn measurement(
    subject: &Subject,
    workload: Workload,
    n: u64,
    ops: u64,
    (seconds, before, after): (Vec<f64>, Metrics, Metrics),
) -> Measurement {
    Measurement {
        subject: subject.name.to_string(),
        workload,
        n,
        ops,
        seconds,
        reads_per_op: per_op(before.reads, after.reads, ops),
        bytes_read_per_op: per_op(before.bytes_read, after.bytes_read, ops),
        bytes_written_per_op: per_op(before.bytes_written, after.bytes_written, ops),
        user_bytes: None,
        // Only where every operation is a get: elsewhere the count would be
        // spread over operations that ask no table.
        tables_per_get: matches!(
            workload,
            Workload::GetUniform | Workload::GetZipf | Workload::GetMissing
        )
        .then(|| per_op(before.tables_asked, after.tables_asked, ops))
        .flatten(),
    }
}

impl Measurement {
    /// The same measurement, saying that one repetition asked to write
    /// `bytes` bytes of keys and values.
    fn asked_to_write(mut self, bytes: u64) -> Self {
        self.user_bytes = Some(bytes);
        self
    }

    /// Bytes written to disk per byte the workload asked to write, where
    /// the subject counts what it writes; `None` otherwise, or when the
    /// workload asked to write nothing.
    pub fn write_amplification(&self) -> Option<f64> {
        let written = self.bytes_written_per_op? * self.ops as f64;
        let asked = self.user_bytes.filter(|&b| b > 0)?;
        Some(written / asked as f64)
    }
}

fn fill(store: &mut dyn KvStore, data: &[(Vec<u8>, Vec<u8>)]) -> Result<()> {
    for (k, v) in data {
        store.set(k, v)?;
    }
    store.sync()
}

/// `data` cut into write batches of `len` pairs, made before the clock
/// starts.
fn batches(data: &[(Vec<u8>, Vec<u8>)], len: usize) -> Vec<WriteBatch> {
    data.chunks(len.max(1))
        .map(|chunk| {
            let mut batch = WriteBatch::new();
            for (k, v) in chunk {
                batch.set(k, v);
            }
            batch
        })
        .collect()
}

fn fill_batches(store: &mut dyn KvStore, batches: &[WriteBatch]) -> Result<()> {
    for batch in batches {
        store.write(batch)?;
    }
    store.sync()
}

/// Keys `0..n` with their values, in the harness's random order: what the
/// random fill inserts.
pub fn random_fill(n: u64, value_len: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    let order = Choices::new(Workload::FillRandom, n).permutation(n);
    pairs(&order, 0, value_len)
}

/// Opens `subject` in `dir`, inserts `data`, syncs and prepares the
/// store for reads: the store the read workloads run on.
pub fn filled_store(
    subject: &Subject,
    dir: &Path,
    data: &[(Vec<u8>, Vec<u8>)],
) -> Result<Box<dyn Measured>> {
    let mut store = subject.open(dir)?;
    fill(store.as_mut(), data)?;
    store.after_fill()?;
    store.settle()?;
    Ok(store)
}

/// The fewest short scans a measurement makes, however slow the subject.
const MIN_SCANS: usize = 10;

/// Runs `workloads` on `subject` with N = `n`, in a fresh directory under
/// `scratch`. `step` is called before each workload, for progress display.
pub fn run_subject(
    subject: &Subject,
    n: u64,
    workloads: &[Workload],
    settings: Settings,
    scratch: &Path,
    mut step: impl FnMut(Workload),
) -> Result<Outcome> {
    let mut out = Outcome::default();
    let b = subject.budget(settings.budget);
    let wants = |w: Workload| workloads.contains(&w);
    let new_dir = || {
        tempfile::Builder::new()
            .prefix(&format!("{}-{n}-", subject.name))
            .tempdir_in(scratch)
            .map_err(|e| ch00_contract::Error::io("creating a directory in", scratch, e))
    };

    // Fills: a fresh store for every repetition. The store of the last
    // random fill is kept: every other workload runs on it.
    let sequential: Vec<u64> = (0..n).collect();
    let random = Choices::new(Workload::FillRandom, n).permutation(n);
    let mut kept = None;
    // The random fill last, so that the store it keeps is not open while
    // the other fills are measured.
    for (w, order) in [
        (Workload::FillSeq, &sequential),
        (Workload::FillBatch, &random),
        (Workload::FillRandom, &random),
    ] {
        if !wants(w) {
            continue;
        }
        step(w);
        if let Some(why) = subject.workload_skip(w, n) {
            out.skip(subject, w, n, &why);
            continue;
        }
        let data = pairs(order, 0, b.value_len);
        let batches = match w {
            Workload::FillBatch => batches(&data, b.batch_len),
            _ => Vec::new(),
        };
        let mut seconds = Vec::new();
        let mut counted = (Metrics::default(), Metrics::default());
        while settings.another(&seconds) {
            // The previous repetition's store is closed before this one runs.
            kept = None;
            let dir = new_dir()?;
            let mut store = subject.open(dir.path())?;
            quiet_disk();
            let before = store.metrics();
            let baseline = heap::reset_peak();
            let start = Instant::now();
            match w {
                Workload::FillBatch => fill_batches(store.as_mut(), &batches)?,
                _ => fill(store.as_mut(), &data)?,
            }
            seconds.push(start.elapsed().as_secs_f64());
            counted = (before, store.metrics());
            if w == Workload::FillRandom {
                // The store first: a tuple drops its fields in order, and
                // the store must close before its directory is removed.
                kept = Some((store, dir, heap::peak_since(baseline)));
            }
        }
        out.measurements.push(
            measurement(subject, w, n, n, (seconds, counted.0, counted.1))
                .asked_to_write(user_bytes(&data)),
        );
    }

    // Reads first, while the store holds exactly the filled keys; writes
    // that keep the key set next; deletes, which shrink it, last.
    const RUN_ORDER: [Workload; 10] = [
        Workload::GetUniform,
        Workload::GetZipf,
        Workload::GetMissing,
        Workload::ScanShort,
        Workload::ScanFull,
        Workload::Reopen,
        Workload::Mixed,
        Workload::Overwrite,
        Workload::SyncWrites,
        Workload::Delete,
    ];
    let others: Vec<Workload> = RUN_ORDER.into_iter().filter(|w| wants(*w)).collect();
    // Last, each in stores of its own.
    let own: Vec<Workload> = Workload::ALL
        .into_iter()
        .filter(|w| w.has_own_store() && wants(*w))
        .collect();
    if others.is_empty() {
        drop(kept);
        for w in own {
            step(w);
            run_in_own_store(subject, n, w, settings, &new_dir, &mut out)?;
        }
        return Ok(out);
    }

    // The store every other workload runs on: N keys in random order,
    // synced, with its space and peak heap measured.
    let (mut store, dir, peak_heap_bytes) = match kept {
        Some(kept) => kept,
        None => {
            let dir = new_dir()?;
            let data = random_fill(n, b.value_len);
            let mut store = subject.open(dir.path())?;
            let baseline = heap::reset_peak();
            if subject.workload_skip(Workload::FillRandom, n).is_some() {
                // A subject too slow to fill one key at a time at this size
                // (an fsync per write) gets the same keys in batches; its
                // peak heap would then be the batches', so none is shown.
                fill_batches(store.as_mut(), &batches(&data, b.batch_len))?;
                (store, dir, None)
            } else {
                fill(store.as_mut(), &data)?;
                let peak = heap::peak_since(baseline);
                (store, dir, peak)
            }
        }
    };
    store.after_fill()?;
    let usage = ch02_fsdb::usage::disk_usage(dir.path())?;
    out.footprint = Some(Footprint {
        subject: subject.name.to_string(),
        n,
        logical_bytes: n * (key(0).len() + b.value_len) as u64,
        file_bytes: usage.file_bytes,
        allocated_bytes: usage.allocated_bytes,
        files: usage.files,
        index_bytes: store.metrics().index_bytes,
        peak_heap_bytes,
        open_heap_bytes: None,
    });

    let point_ops = b.point_ops;
    for w in others {
        step(w);
        if let Some(why) = subject.workload_skip(w, n) {
            out.skip(subject, w, n, &why);
            continue;
        }
        let mut choices = Choices::new(w, n);
        let result = match w {
            Workload::FillSeq | Workload::FillRandom | Workload::FillBatch => continue,
            Workload::OverwriteAll | Workload::DeleteMost => continue,
            Workload::GetUniform | Workload::GetZipf | Workload::GetMissing => {
                let keys: Vec<Vec<u8>> = match w {
                    Workload::GetUniform => {
                        choices.uniform(n, point_ops).into_iter().map(key).collect()
                    }
                    Workload::GetZipf => choices.zipf(n, point_ops).into_iter().map(key).collect(),
                    _ => choices
                        .uniform(n, point_ops)
                        .into_iter()
                        .map(missing_key)
                        .collect(),
                };
                let expect_found = w != Workload::GetMissing;
                repeat(store.as_mut(), settings, |s, _| {
                    for k in &keys {
                        let found = s.get(k)?.is_some();
                        if found != expect_found {
                            return Err(wrong_answer(subject, w, k));
                        }
                    }
                    Ok(())
                })
                .map(|r| measurement(subject, w, n, point_ops, r))
            }
            Workload::ScanShort => {
                // Starts far enough from the end that every scan is full length.
                let last_start = n.saturating_sub(b.scan_len as u64).max(1);
                let starts: Vec<Vec<u8>> = choices
                    .uniform(last_start, b.short_scans)
                    .into_iter()
                    .map(key)
                    .collect();
                let len = b.scan_len;
                // A store that reads every file for every scan (chapter 2)
                // would need many minutes for the whole budget at 100k keys,
                // so the first repetition stops once it has taken
                // `rep_seconds` (after at least `MIN_SCANS` scans) and the
                // figure is the rate over the scans it did.
                let done = Cell::new(starts.len());
                repeat(store.as_mut(), settings, |s, rep| {
                    let clock = Instant::now();
                    for (i, start) in starts.iter().take(done.get()).enumerate() {
                        if rep == 0
                            && i >= MIN_SCANS
                            && clock.elapsed().as_secs_f64() >= settings.rep_seconds
                        {
                            done.set(i);
                            break;
                        }
                        let range = KeyRange::new(start.clone()..);
                        let mut seen = 0;
                        for entry in s.scan(range)?.take(len) {
                            entry?;
                            seen += 1;
                        }
                        if seen == 0 {
                            return Err(wrong_answer(subject, w, start));
                        }
                    }
                    Ok(())
                })
                .map(|r| measurement(subject, w, n, done.get() as u64, r))
            }
            Workload::ScanFull => repeat(store.as_mut(), settings, |s, _| {
                let mut seen = 0u64;
                for entry in s.scan(KeyRange::all())? {
                    entry?;
                    seen += 1;
                }
                if seen != n {
                    return Err(wrong_answer(subject, w, b"(full scan count)"));
                }
                Ok(())
            })
            .map(|r| measurement(subject, w, n, 1, r)),
            Workload::Reopen => {
                if !subject.durability.keeps_data() {
                    out.skip(subject, w, n, "an in-memory store has nothing to reopen");
                    continue;
                }
                // An open that takes microseconds is timed over many opens
                // per repetition (as many as fill 20 ms the first time).
                let mut per_rep = 0;
                let mut seconds = Vec::new();
                let mut at_open = Metrics::default();
                let mut open_heap = None;
                while settings.another(&seconds) {
                    store.sync()?;
                    quiet_disk();
                    let (mut elapsed, mut opens) = (0.0, 0);
                    loop {
                        drop(store);
                        // The heap an open takes (what the open store holds,
                        // and what it needed on the way), on the first open.
                        let baseline = open_heap.is_none().then(heap::reset_peak);
                        let start = Instant::now();
                        store = subject.open(dir.path())?;
                        elapsed += start.elapsed().as_secs_f64();
                        if let Some(baseline) = baseline {
                            open_heap = Some(heap::peak_since(baseline));
                        }
                        opens += 1;
                        // A store's counters start at open: what it read to open.
                        at_open = store.metrics();
                        let enough = match per_rep {
                            0 => elapsed >= 0.02 || opens >= 100_000,
                            _ => opens >= per_rep,
                        };
                        if enough {
                            break;
                        }
                    }
                    per_rep = opens;
                    seconds.push(elapsed);
                    store.settle()?;
                }
                let none = Metrics::default();
                let mut m = measurement(subject, w, n, per_rep, (seconds, none, none));
                m.reads_per_op = at_open.reads.map(|r| r as f64);
                m.bytes_read_per_op = at_open.bytes_read.map(|b| b as f64);
                if let Some(f) = out.footprint.as_mut() {
                    f.open_heap_bytes = open_heap.flatten();
                }
                Ok(m)
            }
            Workload::Mixed => {
                let reads = choices.zipf(n, point_ops);
                let is_write: Vec<bool> = (0..point_ops).map(|_| choices.chance(0.2)).collect();
                let data = pairs(&reads, 1, b.value_len);
                let asked: u64 = data
                    .iter()
                    .zip(&is_write)
                    .filter(|(_, write)| **write)
                    .map(|((k, v), _)| (k.len() + v.len()) as u64)
                    .sum();
                repeat(store.as_mut(), settings, |s, _| {
                    for ((k, v), &write) in data.iter().zip(&is_write) {
                        if write {
                            s.set(k, v)?;
                        } else if s.get(k)?.is_none() {
                            return Err(wrong_answer(subject, w, k));
                        }
                    }
                    s.sync()
                })
                .map(|r| measurement(subject, w, n, point_ops, r).asked_to_write(asked))
            }
            Workload::Overwrite => {
                let data = pairs(&choices.uniform(n, point_ops), 2, b.value_len);
                repeat(store.as_mut(), settings, |s, _| fill(s, &data)).map(|r| {
                    measurement(subject, w, n, point_ops, r).asked_to_write(user_bytes(&data))
                })
            }
            Workload::SyncWrites if subject.no_sync.is_some() => {
                out.skip(subject, w, n, subject.no_sync.unwrap_or_default());
                continue;
            }
            Workload::SyncWrites => {
                let data = pairs(&choices.uniform(n, b.sync_writes), 3, b.value_len);
                repeat(store.as_mut(), settings, |s, _| {
                    for (k, v) in &data {
                        s.set(k, v)?;
                        s.sync()?;
                    }
                    Ok(())
                })
                .map(|r| {
                    measurement(subject, w, n, b.sync_writes, r).asked_to_write(user_bytes(&data))
                })
            }
            Workload::Delete => {
                // A fifth of the keys at every N, so that the workload is
                // the same work at every size (a fixed count would delete
                // every key of a small store and a sliver of a large one).
                // Every repetition deletes the same keys, put back untimed
                // in between.
                let per_rep = (n / 5).max(1);
                let victims: Vec<u64> = choices
                    .permutation(n)
                    .into_iter()
                    .take(per_rep as usize)
                    .collect();
                let keys: Vec<Vec<u8>> = victims.iter().map(|&i| key(i)).collect();
                let restore = pairs(&victims, 4, b.value_len);
                repeat_prepared(
                    store.as_mut(),
                    settings,
                    |s, rep| if rep > 0 { fill(s, &restore) } else { Ok(()) },
                    |s, _| {
                        for k in &keys {
                            s.delete(k)?;
                        }
                        s.sync()
                    },
                )
                .map(|r| measurement(subject, w, n, per_rep, r).asked_to_write(key_bytes(&keys)))
            }
        };
        out.measurements.push(result?);
    }
    drop(store);
    for w in own {
        step(w);
        run_in_own_store(subject, n, w, settings, &new_dir, &mut out)?;
    }
    Ok(out)
}

// ANCHOR: own_store
/// Runs `w`, a workload with a store of its own
/// ([`Workload::has_own_store`]): every repetition opens a fresh store,
/// fills it with the random fill and settles it, untimed, then does the
/// timed work. The last repetition's store, settled again (an engine's
/// background compactions are part of what its space becomes), is
/// measured on disk against the bytes still live, unless the subject
/// keeps no files, whose disk use would be a meaningless zero.
fn run_in_own_store(
    subject: &Subject,
    n: u64,
    w: Workload,
    settings: Settings,
    new_dir: &impl Fn() -> Result<tempfile::TempDir>,
    out: &mut Outcome,
) -> Result<()> {
    if let Some(why) = subject.workload_skip(w, n) {
        out.skip(subject, w, n, &why);
        return Ok(());
    }
    let b = subject.budget(settings.budget);
    let filled = random_fill(n, b.value_len);
    let mut choices = Choices::new(w, n);
    // What the timed part does, generated before any clock starts: the
    // rounds of overwrites, or the keys to delete.
    let (rounds, victims) = match w {
        Workload::DeleteMost => {
            let take = delete_most_count(n) as usize;
            (Vec::new(), choices.permutation(n)[..take].to_vec())
        }
        _ => {
            let rounds: Vec<Vec<(Vec<u8>, Vec<u8>)>> = (0..OVERWRITE_ROUNDS)
                .map(|round| pairs(&choices.permutation(n), 5 + round, b.value_len))
                .collect();
            (rounds, Vec::new())
        }
    };
    let doomed: Vec<Vec<u8>> = victims.iter().map(|&i| key(i)).collect();
    let (ops, asked) = match w {
        Workload::DeleteMost => (doomed.len() as u64, key_bytes(&doomed)),
        _ => (
            rounds.iter().map(|r| r.len() as u64).sum(),
            rounds.iter().map(|r| user_bytes(r)).sum(),
        ),
    };
    // Every key keeps its length through the overwrites, so what is live
    // is the fill less the pairs deleted.
    let deleted: u64 = victims
        .iter()
        .map(|&i| (key(i).len() + b.value_len) as u64)
        .sum();
    let logical_bytes = user_bytes(&filled) - deleted;

    let mut seconds = Vec::new();
    let mut counted = (Metrics::default(), Metrics::default());
    let mut last = None;
    while settings.another(&seconds) {
        // The previous repetition's store is closed, and its directory
        // removed, before this one is filled.
        drop(last.take());
        let dir = new_dir()?;
        let mut store = subject.open(dir.path())?;
        fill(store.as_mut(), &filled)?;
        store.after_fill()?;
        store.settle()?;
        quiet_disk();
        let before = store.metrics();
        let start = Instant::now();
        match w {
            Workload::DeleteMost => {
                for k in &doomed {
                    store.delete(k)?;
                }
                store.sync()?;
            }
            _ => {
                for round in &rounds {
                    for (k, v) in round {
                        store.set(k, v)?;
                    }
                }
                store.sync()?;
            }
        }
        seconds.push(start.elapsed().as_secs_f64());
        counted = (before, store.metrics());
        last = Some((store, dir));
    }
    if let Some((mut store, dir)) = last
        && subject.durability.keeps_data()
    {
        store.settle()?;
        let usage = ch02_fsdb::usage::disk_usage(dir.path())?;
        out.spaces.push(SpaceAfter {
            subject: subject.name.to_string(),
            workload: w,
            n,
            logical_bytes,
            file_bytes: usage.file_bytes,
            allocated_bytes: usage.allocated_bytes,
        });
        // The store closes before its directory is removed.
        drop(store);
        drop(dir);
    }
    out.measurements.push(
        measurement(subject, w, n, ops, (seconds, counted.0, counted.1)).asked_to_write(asked),
    );
    Ok(())
}
// ANCHOR_END: own_store

fn wrong_answer(subject: &Subject, w: Workload, key: &[u8]) -> ch00_contract::Error {
    ch00_contract::Error::InvalidInput(format!(
        "{} gave a wrong answer in workload {} for key {}",
        subject.name,
        w.name(),
        key.escape_ascii()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitions_stop_at_the_count_or_the_time_budget() {
        let s = Settings {
            reps: 3,
            rep_seconds: 10.0,
            budget: Budget::quick(),
        };
        assert!(s.another(&[]), "always at least one");
        assert!(s.another(&[1.0, 1.0]));
        assert!(!s.another(&[1.0, 1.0, 1.0]), "at most `reps`");
        assert!(!s.another(&[12.0]), "a slow first run is enough");
        assert!(s.another(&[6.0]), "a faster one is repeated");
        assert!(s.another(&[6.0, 6.0]), "to three: never a median of two");
    }

    #[test]
    fn median_and_spread() {
        let m = Measurement {
            subject: "x".into(),
            workload: Workload::GetUniform,
            n: 10,
            ops: 100,
            seconds: vec![3.0, 1.0, 2.0],
            reads_per_op: None,
            bytes_read_per_op: None,
            bytes_written_per_op: None,
            user_bytes: None,
            tables_per_get: None,
        };
        assert_eq!(m.median(), 2.0);
        assert_eq!(m.ops_per_sec(), 50.0);
        assert_eq!(m.spread(), 1.0);
    }
}
