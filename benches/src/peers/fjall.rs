//! fjall, a log-structured merge tree engine, behind the `KvStore` trait.
//!
//! Two traps make a naive comparison unfair, and both are handled here.
//! fjall's memtable holds up to 64 MiB, so a data set of 100k small keys
//! never leaves memory; `FjallStore<true>` (reported as `fjall-tables`)
//! writes the memtable into disk tables once the fill is done (untimed), so
//! reads go through its tables the way a larger data set's would. And fjall
//! flushes and compacts in background threads: `sync` waits for the work
//! under way, and the harness lets the store settle (untimed) before every
//! repetition, so no workload pays for work left over from another.
//!
//! fjall rejects the empty key (with a panic), which the contract allows, so
//! every key is stored behind one zero byte. Prefixing every key with the
//! same byte keeps their order, and costs one byte per key; it also makes
//! the longest key this adapter takes one byte shorter than the contract's,
//! since fjall's own limit is 65,535 bytes too.

use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use ch00_contract::{
    BatchOp, Durability, Error, KeyRange, KvStore, Result, Scan, Stage, Survives, WriteBatch,
    check_key, check_value,
};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use crate::subjects::Measured;

/// fjall with its default settings; with `TABLES`, the harness has it write
/// its memtable out to disk tables after the fill.
pub struct FjallStore<const TABLES: bool> {
    db: Database,
    keyspace: Keyspace,
    dir: PathBuf,
}

/// The longest key this adapter accepts: fjall's limit less the prefix.
const MAX_KEY: usize = ch00_contract::MAX_KEY_LEN - 1;

/// Rejects what fjall would panic on.
fn check(key: &[u8]) -> Result<()> {
    check_key(key)?;
    if key.len() > MAX_KEY {
        return Err(Error::KeyTooLarge {
            len: key.len(),
            max: MAX_KEY,
        });
    }
    Ok(())
}

/// The key as fjall stores it.
fn stored(key: &[u8]) -> Vec<u8> {
    [&[0u8][..], key].concat()
}

/// A scan bound fjall can take, selecting the same keys. A bound is not a
/// key and may be longer than any (the contract accepts it), but fjall
/// panics on one over its key limit. Such a bound `b` sorts among the keys
/// this adapter stores just after its first `MAX_KEY` bytes `t`: a key no
/// longer than `t` is above `b` if and only if it is above `t`, and below
/// `b` if and only if it is at most `t`. So a start becomes "after `t`"
/// and an end "up to `t`", whether inclusive or not.
fn shortened(bound: Bound<Vec<u8>>, is_start: bool) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(mut b) | Bound::Excluded(mut b) if b.len() > MAX_KEY => {
            b.truncate(MAX_KEY);
            if is_start {
                Bound::Excluded(b)
            } else {
                Bound::Included(b)
            }
        }
        bound => bound,
    }
}

fn fail(dir: &Path, action: &'static str, err: fjall::Error) -> Error {
    Error::io(action, dir, io::Error::other(err.to_string()))
}

impl<const TABLES: bool> FjallStore<TABLES> {
    /// Whether fjall has any flush or compaction queued or running.
    fn busy(&self) -> bool {
        self.keyspace.sealed_memtable_count() > 0
            || self.db.outstanding_flushes() > 0
            || self.db.active_compactions() > 0
    }

    /// Waits until fjall is not busy; with `quiet`, also until no
    /// compaction has completed for 50 ms, since fjall queues compactions
    /// only after a flush has finished and a moment of idleness can be the
    /// gap between the two.
    fn wait_idle(&self, quiet: bool) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(120);
        let mut completed = self.db.compactions_completed();
        let mut idle_since = Instant::now();
        loop {
            if Instant::now() > deadline {
                return Err(Error::io(
                    "waiting for fjall's background work",
                    &self.dir,
                    io::Error::new(io::ErrorKind::TimedOut, "still busy after 120 s"),
                ));
            }
            let now = self.db.compactions_completed();
            if self.busy() || now != completed {
                completed = now;
                idle_since = Instant::now();
            } else if !quiet || idle_since.elapsed() >= Duration::from_millis(50) {
                return Ok(());
            }
            thread::sleep(Duration::from_millis(1));
        }
    }
}

impl<const TABLES: bool> KvStore for FjallStore<TABLES> {
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check(key)?;
        check_value(value)?;
        self.keyspace
            .insert(stored(key), value)
            .map_err(|e| fail(&self.dir, "fjall insert", e))
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check(key)?;
        let value = self
            .keyspace
            .get(stored(key))
            .map_err(|e| fail(&self.dir, "fjall get", e))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        check(key)?;
        self.keyspace
            .remove(stored(key))
            .map_err(|e| fail(&self.dir, "fjall remove", e))
    }

    /// One fjall batch: a single journal entry, applied atomically.
    fn write(&mut self, batch: &WriteBatch) -> Result<()> {
        batch.check()?;
        let mut fjall_batch = self.db.batch();
        for op in batch.ops() {
            match op {
                BatchOp::Set { key, value } => {
                    check(key)?;
                    fjall_batch.insert(&self.keyspace, stored(key), value.as_slice());
                }
                BatchOp::Delete { key } => {
                    check(key)?;
                    fjall_batch.remove(&self.keyspace, stored(key));
                }
            }
        }
        fjall_batch
            .commit()
            .map_err(|e| fail(&self.dir, "fjall batch commit", e))
    }

    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        let range = KeyRange {
            start: shortened(range.start, true),
            end: shortened(range.end, false),
        };
        // Checked after shortening, which can empty a range: two long
        // bounds that share their first `MAX_KEY` bytes.
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let start = match range.start {
            Bound::Unbounded => Bound::Included(stored(b"")),
            bound => bound.map(|k| stored(&k)),
        };
        let bounds: (Bound<Vec<u8>>, Bound<Vec<u8>>) = (start, range.end.map(|k| stored(&k)));
        let dir = self.dir.clone();
        let iter = self.keyspace.range(bounds).map(move |guard| {
            let (k, v) = guard
                .into_inner()
                .map_err(|e| fail(&dir, "fjall range", e))?;
            Ok((k.get(1..).unwrap_or_default().to_vec(), v.to_vec()))
        });
        Ok(Box::new(iter))
    }

    /// Persists the journal with an fsync, then waits for the flushes (of
    /// memtables to tables) and compactions fjall has under way, so that a
    /// writing workload pays for the work its writes caused.
    fn sync(&mut self) -> Result<()> {
        self.db
            .persist(PersistMode::SyncAll)
            .map_err(|e| fail(&self.dir, "fjall persist", e))?;
        self.wait_idle(false)
    }
}

impl<const TABLES: bool> Measured for FjallStore<TABLES> {
    /// For `fjall-tables`: write the memtable out to disk tables, so that
    /// the read workloads go through tables as a larger data set's would.
    fn after_fill(&mut self) -> Result<()> {
        if TABLES {
            self.keyspace
                .rotate_memtable_and_wait()
                .map_err(|e| fail(&self.dir, "fjall memtable flush", e))?;
        }
        self.wait_idle(true)
    }

    fn settle(&mut self) -> Result<()> {
        self.wait_idle(true)
    }
}

impl<const TABLES: bool> Stage for FjallStore<TABLES> {
    const NAME: &'static str = if TABLES { "fjall-tables" } else { "fjall" };
    type Options = ();

    fn durability(_: &()) -> Durability {
        Durability {
            // Every insert reaches the operating system before it returns
            // (fjall's default, `manual_journal_persist(false)`).
            process_crash: Survives::EveryWrite,
            // The journal is fsynced by `sync`; it is one sequential log, so
            // what survives past that point is a prefix of the writes.
            power_loss: Survives::SyncedWrites,
            atomic_batches: true,
        }
    }

    /// A leaked handle would keep fjall's lock and threads alive, so the
    /// handles are dropped, and fjall's journal persists itself when
    /// dropped: for this peer the suite's "crash" is a clean close, and its
    /// crash promise (every insert is in the operating system's hands when
    /// it returns; a torn batch is discarded at recovery) rests on fjall's
    /// own design, not on this suite.
    fn simulate_crash(self) {
        drop(self);
    }

    fn open_with(dir: &Path, _: &()) -> Result<Self> {
        let db = Database::builder(dir)
            .open()
            .map_err(|e| fail(dir, "opening fjall", e))?;
        let keyspace = db
            .keyspace("kv", KeyspaceCreateOptions::default)
            .map_err(|e| fail(dir, "opening fjall keyspace", e))?;
        Ok(FjallStore {
            db,
            keyspace,
            dir: dir.to_path_buf(),
        })
    }
}
