//! The kill -9 test, with real processes.
//!
//! A child process (this test binary, run again) opens a store and writes
//! numbered keys without end: single writes, batches of new keys (some
//! with a delete of an older key in them, a few of hundreds of keys),
//! deletes, range deletes of up to forty older keys, and, now and then, a
//! `sync`. Before each call it prints what
//! it is about to do, and after the call returns it prints an
//! acknowledgement. The parent kills it
//! with `SIGKILL` at a random moment, reopens the store, and checks it
//! against a model built from the acknowledgements:
//!
//! - every acknowledged write is there, with its value, and every
//!   acknowledged delete has taken effect, in both log modes: a record
//!   reaches the operating system before its call returns, and a kill
//!   takes nothing the operating system holds;
//! - in the mode that syncs the log on `sync` only, everything
//!   acknowledged before the last acknowledged `sync` is there (implied by
//!   the point above here, but checked on its own: it is what that mode
//!   promises a power failure too);
//! - the one operation in flight at the kill may or may not have taken
//!   effect, and a batch or a range delete in flight took effect whole
//!   or not at all;
//! - a full scan finds no key that was never written, and none that was
//!   deleted.
//!
//! The next cycle continues in the same directory, so each cycle also
//! recovers from the files the previous kill left, and the memtable size
//! changes from cycle to cycle (a few hundred bytes up to 64 KiB), so that
//! kills land in appends, in flushes (a table written, a new log created)
//! and in switches of the manifest. Before reopening, the parent looks at
//! the files to tell which, and the summary counts them, with the torn
//! log tails the reopens cut off: a record goes to the log in one write
//! call, and a kill cuts one short only when it is many pages long (the
//! batches of hundreds of keys) and the kill lands between two of them.
//!
//! What this cannot show: what a power failure keeps. A kill leaves every
//! byte the process handed to the operating system, synced or not, so a
//! store that never called `fsync` would pass here. That half of the
//! promise is tested on the simulated disk, which can lose what was not
//! synced (the conformance suite's power-loss tests and the fault sweep).
//!
//! The number of cycles is `CH06_CRASH_CYCLES` (default [`DEFAULT_CYCLES`],
//! what continuous integration runs); ten thousand take about six minutes
//! on two cores, most of it in the kernel (processes started, files
//! synced):
//!
//! ```sh
//! CH06_CRASH_CYCLES=10000 cargo test -p ch06-lsm --release --test crash -- --nocapture
//! ```
//!
//! The parent's random choices come from `CH06_CRASH_SEED` (printed at the
//! start; the moments the kills land are the operating system's, so a
//! seed repeats the choices, not the run). A failure keeps the store's
//! directory and names it.

// Killing with SIGKILL, and telling it from the child's own exit, is Unix.
#![cfg(unix)]
// Test helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use ch00_contract::{KeyRange, KvStore, WriteBatch};
use ch06_lsm::files::{self, FileKind, MANIFEST};
use ch06_lsm::levels::MAX_LEVELS;
use ch06_lsm::manifest::Manifest;
use ch06_lsm::{DEFAULT_L0_COMPACTION_TRIGGER, LogSync, LsmStore, Options};

/// Cycles when `CH06_CRASH_CYCLES` does not say: about a minute and a half in a
/// debug build on two cores.
const DEFAULT_CYCLES: u64 = 1000;
/// A fresh directory after this many cycles: enough for the store to
/// grow a few levels deep.
const CYCLES_PER_DIR: u64 = 50;
/// The memtable sizes a cycle picks from: the smallest flushes after
/// every write or two, the largest hardly ever.
const MEMTABLE_BYTES: [u64; 4] = [256, 1024, 4096, 64 << 10];
/// How long the child may print nothing before the test calls it stuck.
const STALL: Duration = Duration::from_secs(60);

/// The child's test, and what tells it to run.
const CHILD_TEST: &str = "crash_child";
const CHILD_DIR: &str = "CH06_CRASH_CHILD_DIR";
const CHILD_ARGS: &str = "CH06_CRASH_CHILD";
/// What starts each line of the child's protocol (libtest prints lines of
/// its own, and may print the test's name on the same line first).
const MARK: &str = "ch06-crash: ";

/// The store's options for a cycle: small tables and levels, so that
/// compactions run at every level a store of a few thousand keys reaches
/// (level 1 holds four tables). Not smaller: tables of a few hundred
/// bytes would make thousands of files, and the test would time their
/// opening and syncing rather than kill compactions.
fn options(log_sync: LogSync, memtable_bytes: u64, block_size: usize) -> Options {
    let table_target_bytes = memtable_bytes.max(8 << 10);
    Options {
        log_sync,
        memtable_bytes,
        block_size,
        level_base_bytes: 4 * table_target_bytes,
        table_target_bytes,
        ..Options::default()
    }
}

// ANCHOR: rng
/// SplitMix64: enough randomness for a test, and no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// SplitMix64's finalizer: a well-mixed 64-bit hash of `x`.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
// ANCHOR_END: rng

// ANCHOR: keys
/// Key number `n`. Zero-padded, so that keys sort as their numbers do and
/// each table holds a narrow range of them.
fn key(n: u64) -> Vec<u8> {
    format!("key-{n:010}").into_bytes()
}

/// The number of a key `key` made.
fn number(key: &[u8]) -> Option<u64> {
    let digits = std::str::from_utf8(key).ok()?.strip_prefix("key-")?;
    (digits.len() == 10).then(|| digits.parse().ok()).flatten()
}

/// The only value key `n` is ever given: it names its key, so a value
/// under the wrong key shows, and its length (10 to about 140 bytes)
/// varies, so that flushes come at different moments.
fn value(n: u64) -> Vec<u8> {
    let mut value = format!("value-{n}-").into_bytes();
    let len = value.len() + (mix(n) % 120) as usize;
    value.resize(len, b'a' + (n % 26) as u8);
    value
}
// ANCHOR_END: keys

/// One call the child makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// `set` of a new key.
    Set(u64),
    /// `write` of a batch: new keys `first..=last`, and perhaps a delete of
    /// an older key.
    Batch {
        first: u64,
        last: u64,
        delete: Option<u64>,
    },
    /// `delete` of a key below the first new one (written, deleted, or
    /// lost in a crash: any of them).
    Delete(u64),
    /// `delete_range` of the keys `first..end` (below the first new one):
    /// one range tombstone, all of it or nothing.
    DeleteRange(u64, u64),
    /// `sync`.
    Sync,
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Op::Set(n) => write!(f, "set {n}"),
            Op::Batch {
                first,
                last,
                delete: Some(d),
            } => write!(f, "batch {first} {last} {d}"),
            Op::Batch {
                first,
                last,
                delete: None,
            } => write!(f, "batch {first} {last} -"),
            Op::Delete(n) => write!(f, "delete {n}"),
            Op::DeleteRange(a, b) => write!(f, "delete_range {a} {b}"),
            Op::Sync => write!(f, "sync"),
        }
    }
}

impl Op {
    fn parse(text: &str) -> Option<Op> {
        let words: Vec<&str> = text.split(' ').collect();
        let n = |i: usize| words.get(i)?.parse::<u64>().ok();
        match words[..] {
            ["set", _] => Some(Op::Set(n(1)?)),
            ["delete", _] => Some(Op::Delete(n(1)?)),
            ["delete_range", _, _] => Some(Op::DeleteRange(n(1)?, n(2)?)),
            ["sync"] => Some(Op::Sync),
            ["batch", _, _, d] => Some(Op::Batch {
                first: n(1)?,
                last: n(2)?,
                delete: if d == "-" { None } else { Some(n(3)?) },
            }),
            _ => None,
        }
    }

    /// The keys the operation sets.
    fn sets(&self) -> Vec<u64> {
        match *self {
            Op::Set(n) => vec![n],
            Op::Batch { first, last, .. } => (first..=last).collect(),
            Op::Delete(_) | Op::DeleteRange(..) | Op::Sync => Vec::new(),
        }
    }

    /// The keys the operation deletes.
    fn deletes(&self) -> Vec<u64> {
        match *self {
            Op::Delete(n) => vec![n],
            Op::DeleteRange(a, b) => (a..b).collect(),
            Op::Batch { delete, .. } => delete.into_iter().collect(),
            Op::Set(_) | Op::Sync => Vec::new(),
        }
    }

    /// Every key the operation touches.
    fn keys(&self) -> impl Iterator<Item = u64> {
        self.sets().into_iter().chain(self.deletes())
    }
}

fn mode_name(mode: LogSync) -> &'static str {
    match mode {
        LogSync::OnSync => "on-sync",
        LogSync::EveryWrite => "every-write",
    }
}

// ANCHOR: child
/// The child: does nothing unless the parent started it. Run alone, it
/// returns at once (and it is ignored unless asked for).
#[test]
#[ignore = "the child process of the kill -9 test, which runs it itself"]
fn crash_child() {
    let (Some(dir), Ok(args)) = (std::env::var_os(CHILD_DIR), std::env::var(CHILD_ARGS)) else {
        return;
    };
    if let Err(problem) = child(Path::new(&dir), &args) {
        let _ = say(&format!("error {problem}"));
        std::process::exit(1);
    }
}

/// Writes until killed. `args`: the log mode, the memtable and block
/// sizes, the first unused key number, and a seed.
fn child(dir: &Path, args: &str) -> Result<(), String> {
    let words: Vec<&str> = args.split(' ').collect();
    let [mode, memtable_bytes, block_size, next, seed] = words[..] else {
        return Err(format!("bad arguments {args:?}"));
    };
    let num = |s: &str| s.parse::<u64>().map_err(|e| format!("{s:?}: {e}"));
    let log_sync = match mode {
        "on-sync" => LogSync::OnSync,
        "every-write" => LogSync::EveryWrite,
        _ => return Err(format!("bad mode {mode:?}")),
    };
    let options = options(log_sync, num(memtable_bytes)?, num(block_size)? as usize);
    let mut next = num(next)?;
    let mut rng = Rng(num(seed)?);
    let mut store = LsmStore::open_with(dir, &options).map_err(|e| format!("open: {e}"))?;
    say("open")?;
    loop {
        let op = choose(&mut rng, log_sync, &mut next);
        say(&format!("try {op}"))?;
        apply(&mut store, op).map_err(|e| format!("{op}: {e}"))?;
        say(&format!("ack {op}"))?;
    }
}

/// The next operation: mostly single writes, then batches and deletes, and
/// in the sync-on-`sync` mode a `sync` about every tenth operation.
fn choose(rng: &mut Rng, mode: LogSync, next: &mut u64) -> Op {
    let syncs = match mode {
        LogSync::OnSync => 10,
        LogSync::EveryWrite => 2,
    };
    let roll = rng.below(100);
    if roll < syncs {
        Op::Sync
    } else if roll < syncs + 15 {
        // Two to ten keys; now and then hundreds, a record of tens of
        // kilobytes, one write to the log that a kill may cut short (a
        // write of many pages can stop between two when the process is
        // killed).
        let len = if rng.below(10) == 0 {
            50 + rng.below(400)
        } else {
            2 + rng.below(9)
        };
        let first = *next;
        let last = first + len - 1;
        *next = last + 1;
        let delete = (first > 0 && rng.below(2) == 0).then(|| rng.below(first));
        Op::Batch {
            first,
            last,
            delete,
        }
    } else if roll < syncs + 25 && *next > 0 {
        Op::Delete(rng.below(*next))
    } else if roll < syncs + 28 && *next > 0 {
        // A few to a few dozen consecutive keys, most of them written.
        let first = rng.below(*next);
        Op::DeleteRange(first, (first + 1 + rng.below(40)).min(*next))
    } else {
        *next += 1;
        Op::Set(*next - 1)
    }
}

fn apply(store: &mut LsmStore, op: Op) -> ch00_contract::Result<()> {
    match op {
        Op::Set(n) => store.set(&key(n), &value(n)),
        Op::Delete(n) => store.delete(&key(n)),
        Op::DeleteRange(a, b) => store.delete_range(KeyRange::new(key(a)..key(b))),
        Op::Sync => store.sync(),
        Op::Batch { .. } => {
            let mut batch = WriteBatch::new();
            for n in op.sets() {
                batch.set(&key(n), &value(n));
            }
            for d in op.deletes() {
                batch.delete(&key(d));
            }
            store.write(&batch)
        }
    }
}

/// Prints one line of the protocol, whole, in one write, and flushes it:
/// once this returns, a kill cannot take the line back.
fn say(line: &str) -> Result<(), String> {
    let line = format!("{MARK}{line}\n");
    let mut out = std::io::stdout().lock();
    out.write_all(line.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("stdout: {e}"))
}
// ANCHOR_END: child

/// A line of the child's protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Event {
    /// The store is open.
    Open,
    /// The call is about to be made.
    Try(Op),
    /// The call returned `Ok`.
    Ack(Op),
    /// The call (or the open) failed: the child exits.
    Error(String),
}

fn parse_event(line: &str) -> Option<Event> {
    let at = line.find(MARK)?;
    let text = &line[at + MARK.len()..];
    if text == "open" {
        return Some(Event::Open);
    }
    let (word, rest) = text.split_once(' ')?;
    match word {
        "try" => Op::parse(rest).map(Event::Try),
        "ack" => Op::parse(rest).map(Event::Ack),
        "error" => Some(Event::Error(rest.to_owned())),
        _ => None,
    }
}

/// When the parent kills the child.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// This long after starting it: in its start-up, its open, or its
    /// first writes.
    After(Duration),
    /// After reading this many acknowledgements, and then waiting a
    /// little (the child runs on meanwhile).
    AfterAcks(u64, Duration),
}

/// A child that is killed when dropped, should the parent panic first.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// What a child printed, and how it ended.
struct Ran {
    events: Vec<Event>,
    status: ExitStatus,
    stderr: String,
}

// ANCHOR: kill
/// Starts the child in `dir`, kills it with `SIGKILL` as `kill` says, and
/// collects every line it printed: the ones written before the kill are
/// still in the pipe.
fn run_child(dir: &Path, args: &str, kill: Kill) -> Ran {
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", CHILD_TEST])
        .args(["--nocapture", "--test-threads=1"])
        .env(CHILD_DIR, dir)
        .env(CHILD_ARGS, args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = Running(child);
    let stdout = child.0.stdout.take().unwrap();
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        let mut line = String::new();
        // A line cut short by the kill (it cannot be: each is one write
        // to a pipe, which is atomic) would be dropped, never misread.
        while stdout.read_line(&mut line).is_ok_and(|n| n > 0) && line.ends_with('\n') {
            if lines.send(line.trim_end().to_owned()).is_err() {
                break;
            }
            line.clear();
        }
    });
    let mut events = Vec::new();
    match kill {
        Kill::After(wait) => std::thread::sleep(wait),
        Kill::AfterAcks(acks, wait) => {
            let mut seen = 0;
            while seen < acks {
                match received.recv_timeout(STALL) {
                    Ok(line) => {
                        if let Some(event) = parse_event(&line) {
                            seen += u64::from(matches!(event, Event::Ack(_)));
                            events.push(event);
                        }
                    }
                    // The child ended on its own: its status says why.
                    Err(RecvTimeoutError::Disconnected) => break,
                    Err(RecvTimeoutError::Timeout) => {
                        panic!("the child printed nothing for {STALL:?}: {events:?}")
                    }
                }
            }
            std::thread::sleep(wait);
        }
    }
    // SIGKILL on Unix.
    let _ = child.0.kill();
    let status = child.0.wait().unwrap();
    reader.join().unwrap();
    events.extend(received.try_iter().filter_map(|line| parse_event(&line)));
    let mut stderr = String::new();
    let _ = child.0.stderr.take().unwrap().read_to_string(&mut stderr);
    Ran {
        events,
        status,
        stderr,
    }
}
// ANCHOR_END: kill

/// Where a kill landed, as the files left in the directory tell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Landed {
    /// Nothing half done: in an append, or between operations.
    Appends,
    /// A table or log the manifest does not name yet, numbered from the
    /// manifest's next number: in a flush (or an open's or a roll's switch
    /// to a new log), before the switch.
    NewFiles,
    /// A temporary manifest: writing the new manifest, before its rename.
    ManifestTemp,
    /// A log the manifest no longer names: after the rename, before the
    /// old log's removal.
    OldLog,
    /// A table the manifest no longer names: a compaction's input, after
    /// the rename, before its removal.
    OldTable,
    /// No manifest yet: the child was killed before its open made one.
    NoManifest,
}

impl Landed {
    const ALL: [Landed; 6] = [
        Landed::Appends,
        Landed::NewFiles,
        Landed::ManifestTemp,
        Landed::OldLog,
        Landed::OldTable,
        Landed::NoManifest,
    ];

    fn describe(self) -> &'static str {
        match self {
            Landed::Appends => "in appends or between operations",
            Landed::NewFiles => {
                "in a flush, compaction or log switch, before the manifest's switch"
            }
            Landed::ManifestTemp => "in a manifest switch, before its rename",
            Landed::OldLog => "in a manifest switch, after its rename (old log still there)",
            Landed::OldTable => "in a compaction, after the switch (inputs still there)",
            Landed::NoManifest => "before the first open made a manifest",
        }
    }
}

// ANCHOR: classify
/// Reads the directory a kill left, before the open that cleans it up.
/// The number of level-0 tables the manifest in `dir` names (0 before
/// the first manifest).
fn level0_on_disk(dir: &Path) -> Result<usize, String> {
    let path = dir.join(MANIFEST);
    match std::fs::read(&path) {
        Ok(bytes) => Manifest::decode(&path, &bytes)
            .map(|m| m.levels[0].len())
            .map_err(|e| e.to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(format!("reading the manifest: {e}")),
    }
}

fn classify(dir: &Path) -> Result<Landed, String> {
    let path = dir.join(MANIFEST);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Landed::NoManifest),
        Err(e) => return Err(format!("reading the manifest: {e}")),
    };
    let manifest = Manifest::decode(&path, &bytes).map_err(|e| e.to_string())?;
    let mut landed = Landed::Appends;
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())? {
        let name = entry.map_err(|e| e.to_string())?.file_name();
        let name = name.to_string_lossy();
        let here = match files::kind(&name) {
            Some(FileKind::Temp) => Landed::ManifestTemp,
            Some(FileKind::Log(n)) if !manifest.logs.contains(&n) => {
                if n >= manifest.next_file {
                    Landed::NewFiles
                } else {
                    Landed::OldLog
                }
            }
            Some(FileKind::Table(n)) if !manifest.tables().any(|t| t == n) => {
                if n >= manifest.next_file {
                    Landed::NewFiles
                } else {
                    Landed::OldTable
                }
            }
            _ => Landed::Appends,
        };
        // The furthest step wins: a temporary manifest comes after the new
        // files it will name.
        landed = landed.max(here);
    }
    Ok(landed)
}
// ANCHOR_END: classify

/// What the parent knows of one directory's store.
struct Model {
    /// Every key number written or deleted: `true` if it holds its value,
    /// `false` if deleted. A key that is not here was never written (or
    /// only by an operation that did not survive its kill).
    keys: BTreeMap<u64, bool>,
    /// The first key number no child has used.
    next: u64,
}

impl Model {
    fn holds(&self, n: u64) -> bool {
        self.keys.get(&n) == Some(&true)
    }

    fn apply(&mut self, op: Op) {
        for n in op.sets() {
            self.keys.insert(n, true);
        }
        for d in op.deletes() {
            self.keys.insert(d, false);
        }
    }
}

/// What became of the operation in flight at the kill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum InFlight {
    /// No operation was in flight (the kill came between an
    /// acknowledgement and the next announcement, or before the open).
    None,
    /// It took effect.
    Landed,
    /// It did not.
    Lost,
    /// Nobody can tell (a delete of a key that held nothing, a `sync`).
    Unseen,
}

/// Whether key `n` holds its value (`false`: absent), or an error if it
/// holds anything else.
fn holds(store: &LsmStore, n: u64) -> Result<bool, String> {
    match store.get(&key(n)).map_err(|e| format!("get {n}: {e}"))? {
        None => Ok(false),
        Some(v) if v == value(n) => Ok(true),
        Some(v) => Err(format!(
            "key {n} holds {:?}, not its value",
            String::from_utf8_lossy(&v)
        )),
    }
}

// ANCHOR: in_flight
/// Finds out whether the operation in flight at the kill took effect, and
/// whether whole: a batch is all there or not at all.
fn resolve(store: &LsmStore, model: &mut Model, op: Op) -> Result<InFlight, String> {
    let sets: Vec<bool> = op
        .sets()
        .into_iter()
        .map(|n| holds(store, n))
        .collect::<Result<_, _>>()?;
    let landed = match (sets.first(), op.deletes().first()) {
        (Some(&first), _) => {
            if sets.iter().any(|&s| s != first) {
                return Err(format!(
                    "{op} in flight took effect in part: keys {:?} hold {sets:?}",
                    op.sets()
                ));
            }
            for d in op.deletes() {
                // The batch's delete went with its writes, or stayed out
                // with them.
                let expected = if first { false } else { model.holds(d) };
                if holds(store, d)? != expected {
                    return Err(format!(
                        "{op} in flight: its writes {} but its delete of {d} {}",
                        if first { "are there" } else { "are not" },
                        if first { "is not" } else { "is" },
                    ));
                }
            }
            if first {
                InFlight::Landed
            } else {
                InFlight::Lost
            }
        }
        (None, Some(_)) => {
            // Every key deleted: the ones the model holds are all gone or
            // all there (a range delete is one record), and none of the
            // others is back.
            let mut gone = Vec::new();
            for d in op.deletes() {
                match (model.holds(d), holds(store, d)?) {
                    (true, now) => gone.push(!now),
                    (false, false) => {}
                    (false, true) => {
                        return Err(format!(
                            "{op} in flight: key {d}, deleted or never written, holds its value"
                        ));
                    }
                }
            }
            match gone.first() {
                None => InFlight::Unseen,
                Some(&first) if gone.iter().any(|&g| g != first) => {
                    return Err(format!("{op} in flight took effect in part: {gone:?}"));
                }
                Some(true) => InFlight::Landed,
                Some(false) => InFlight::Lost,
            }
        }
        (None, None) => InFlight::Unseen,
    };
    if landed == InFlight::Landed {
        model.apply(op);
    }
    Ok(landed)
}
// ANCHOR_END: in_flight

/// What one check found.
struct Checked {
    acks: u64,
    synced: u64,
    in_flight: InFlight,
    opened: bool,
}

// ANCHOR: check
/// Checks the reopened store against the model and what the child
/// acknowledged, and brings the model up to date.
fn check(
    store: &LsmStore,
    model: &mut Model,
    events: &[Event],
    mode: LogSync,
    rng: &mut Rng,
) -> Result<Checked, String> {
    // The acknowledged operations, in order, and the one in flight.
    let mut in_flight = None;
    let mut touched = Vec::new();
    let mut synced = 0;
    let mut acks = 0;
    for event in events {
        match *event {
            Event::Open => {}
            Event::Try(op) => {
                if let Some(before) = in_flight {
                    return Err(format!("{op} announced while {before} was unacknowledged"));
                }
                in_flight = Some(op);
                if let Some(&last) = op.sets().last() {
                    model.next = model.next.max(last + 1);
                }
            }
            Event::Ack(op) => {
                if in_flight != Some(op) {
                    return Err(format!("{op} acknowledged, {in_flight:?} announced"));
                }
                in_flight = None;
                model.apply(op);
                touched.extend(op.keys());
                acks += 1;
                if op == Op::Sync {
                    synced = touched.len();
                }
            }
            Event::Error(ref problem) => return Err(format!("the child failed: {problem}")),
        }
    }
    let in_flight = match in_flight {
        Some(op) => {
            touched.extend(op.keys());
            resolve(store, model, op)?
        }
        None => InFlight::None,
    };

    // A full scan: exactly the keys the model holds, with their values.
    let mut expected = model.keys.iter().filter(|(_, h)| **h).map(|(n, _)| *n);
    let scan = store.scan(KeyRange::all()).map_err(|e| e.to_string())?;
    for entry in scan {
        let (k, v) = entry.map_err(|e| format!("scan: {e}"))?;
        let n = number(&k).ok_or_else(|| format!("scan: a key no child wrote: {k:?}"))?;
        match expected.next() {
            Some(m) if m == n => {}
            Some(m) if m < n => return Err(format!("acknowledged key {m} is lost (scan)")),
            _ => {
                return Err(format!(
                    "scan: key {n} is there, {}",
                    match model.keys.get(&n) {
                        Some(_) => "but its delete was acknowledged",
                        None => "but no write of it was acknowledged or in flight",
                    }
                ));
            }
        }
        if v != value(n) {
            return Err(format!("scan: key {n} holds a wrong value"));
        }
    }
    if let Some(m) = expected.next() {
        return Err(format!("acknowledged key {m} is lost (scan)"));
    }

    // Point reads: the keys this cycle touched, and a sample of the rest.
    let sample: Vec<u64> = (0..32).map(|_| rng.below(model.next.max(1))).collect();
    for &n in touched.iter().chain(&sample) {
        if holds(store, n)? != model.holds(n) {
            return Err(format!(
                "get {n}: {} acknowledged",
                if model.holds(n) {
                    "lost, its write"
                } else {
                    "there, its delete (or no write of it)"
                }
            ));
        }
    }

    // What a `sync` acknowledged: the promise this mode makes even for a
    // power failure, so a kill must keep it too.
    if mode == LogSync::OnSync {
        for &n in &touched[..synced] {
            if holds(store, n)? != model.holds(n) {
                return Err(format!(
                    "key {n}, acknowledged before a sync was, is not what the model holds"
                ));
            }
        }
    }
    Ok(Checked {
        acks,
        synced: if mode == LogSync::OnSync {
            synced as u64
        } else {
            0
        },
        in_flight,
        opened: events.contains(&Event::Open),
    })
}
// ANCHOR_END: check

/// The counts the summary prints.
#[derive(Default)]
struct Tally {
    cycles: u64,
    acks: u64,
    synced: u64,
    landed: BTreeMap<Landed, u64>,
    in_flight: BTreeMap<InFlight, u64>,
    before_open: u64,
    torn: u64,
    max_tables: usize,
    max_level0: usize,
    deepest: usize,
}

impl fmt::Display for Tally {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} cycles, {} acknowledged operations checked ({} keys written \
             before an acknowledged sync, checked again on their own)",
            self.cycles, self.acks, self.synced
        )?;
        writeln!(f, "kills that landed:")?;
        for landed in Landed::ALL {
            let count = self.landed.get(&landed).copied().unwrap_or(0);
            writeln!(f, "  {count:>6}  {}", landed.describe())?;
        }
        writeln!(
            f,
            "  {:>6}  of them before the child's open returned",
            self.before_open
        )?;
        let count = |i| self.in_flight.get(&i).copied().unwrap_or(0);
        writeln!(
            f,
            "operation in flight: {} took effect, {} did not, {} could not tell, \
             {} none in flight",
            count(InFlight::Landed),
            count(InFlight::Lost),
            count(InFlight::Unseen),
            count(InFlight::None)
        )?;
        write!(
            f,
            "torn log tails cut at reopen: {}; most tables in a store: {}, \
             in level 0: {}; deepest level: {}",
            self.torn, self.max_tables, self.max_level0, self.deepest
        )
    }
}

/// Gives up: keeps the directory for a look, and says where it is.
fn fail(dir: tempfile::TempDir, cycle: u64, args: &str, ran: &Ran, problem: &str) -> ! {
    let kept: PathBuf = dir.keep();
    let tail: Vec<String> = ran
        .events
        .iter()
        .rev()
        .take(10)
        .rev()
        .map(|e| format!("{e:?}"))
        .collect();
    panic!(
        "cycle {cycle} (child arguments {args:?}, ended with {}): {problem}\n\
         the child's last lines: {tail:#?}\nits stderr: {}\nthe store is kept in {}",
        ran.status,
        ran.stderr,
        kept.display()
    );
}

fn env_u64(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(
        text.parse()
            .unwrap_or_else(|e| panic!("{name}={text:?}: {e}")),
    )
}

// ANCHOR: parent
#[test]
fn kill_9_at_random_moments_loses_no_acknowledged_write() {
    let cycles = env_u64("CH06_CRASH_CYCLES").unwrap_or(DEFAULT_CYCLES);
    let seed = env_u64("CH06_CRASH_SEED").unwrap_or_else(|| {
        let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH);
        mix(now.map_or(0, |d| d.as_nanos() as u64))
    });
    println!("kill -9 test: {cycles} cycles, CH06_CRASH_SEED={seed}");
    let started = Instant::now();
    let mut rng = Rng(seed);
    let mut tally = Tally::default();
    let mut store_dir = None;
    let mut model = Model {
        keys: BTreeMap::new(),
        next: 0,
    };
    for cycle in 0..cycles {
        if cycle % CYCLES_PER_DIR == 0 {
            store_dir = Some(tempfile::tempdir().unwrap());
            model = Model {
                keys: BTreeMap::new(),
                next: 0,
            };
        }
        let dir = store_dir.as_ref().unwrap().path().to_path_buf();
        let dir = dir.as_path();
        // Both log modes, in turn; a memtable size and a block size.
        let mode = [LogSync::OnSync, LogSync::EveryWrite][(cycle % 2) as usize];
        let options = options(
            mode,
            MEMTABLE_BYTES[rng.below(4) as usize],
            [128, 4096][rng.below(2) as usize],
        );
        let kill = if rng.below(4) == 0 {
            Kill::After(Duration::from_millis(rng.below(26)))
        } else {
            Kill::AfterAcks(1 + rng.below(120), Duration::from_micros(rng.below(300)))
        };
        let args = format!(
            "{} {} {} {} {}",
            mode_name(mode),
            options.memtable_bytes,
            options.block_size,
            model.next,
            rng.next()
        );

        let ran = run_child(dir, &args, kill);
        let mut give_up = |problem: &str| -> ! {
            let dir = store_dir.take().unwrap();
            fail(dir, cycle, &args, &ran, problem)
        };
        if ran.status.signal() != Some(9) {
            give_up("the child ended on its own, not by the kill");
        }
        let landed = classify(dir).unwrap_or_else(|e| give_up(&e));
        // Level 0 as the kill left it (the open below may compact it).
        let level0 = level0_on_disk(dir).unwrap_or_else(|e| give_up(&e));
        let store = LsmStore::open_with(dir, &options)
            .unwrap_or_else(|e| give_up(&format!("the reopen failed: {e}")));
        let checked =
            check(&store, &mut model, &ran.events, mode, &mut rng).unwrap_or_else(|e| give_up(&e));

        tally.cycles += 1;
        tally.acks += checked.acks;
        tally.synced += checked.synced;
        *tally.landed.entry(landed).or_default() += 1;
        *tally.in_flight.entry(checked.in_flight).or_default() += 1;
        tally.before_open += u64::from(!checked.opened);
        tally.torn += store.recovery().torn.len() as u64;
        tally.max_tables = tally.max_tables.max(store.table_numbers().len());
        let levels = store.levels();
        tally.max_level0 = tally.max_level0.max(level0);
        let deepest = (0..MAX_LEVELS)
            .filter(|&l| !levels.level(l).is_empty())
            .max();
        tally.deepest = tally.deepest.max(deepest.unwrap_or(0));
    }
    println!("{tally}\nin {:.1?}", started.elapsed());

    // A flush compacts level 0 as soon as it holds the trigger's count of
    // tables, so a kill can leave that many there, never more.
    assert!(
        tally.max_level0 <= DEFAULT_L0_COMPACTION_TRIGGER,
        "{} tables in level 0",
        tally.max_level0
    );
    // The test proves nothing about a step no kill landed in.
    if cycles >= 200 {
        let landed = |l| tally.landed.get(&l).copied().unwrap_or(0);
        assert!(landed(Landed::Appends) > 0, "no kill landed in appends");
        // Kills during compactions prove little about a store that never
        // compacts into a level that already holds tables.
        assert!(
            tally.deepest >= 2,
            "the stores reached level {}",
            tally.deepest
        );
        assert!(
            landed(Landed::NewFiles) > 0,
            "no kill landed in a flush or a log switch"
        );
        // About one kill in ten does: none in 200 would be a change.
        assert!(
            landed(Landed::ManifestTemp) + landed(Landed::OldLog) + landed(Landed::OldTable) > 0,
            "no kill landed in a switch of the manifest"
        );
    }
}
// ANCHOR_END: parent
