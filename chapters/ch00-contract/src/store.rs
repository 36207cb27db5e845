//! The `KvStore` trait: what every stage of the book promises.

use std::fmt;
use std::ops::Bound;
use std::path::Path;

use crate::batch::{BatchOp, WriteBatch};
use crate::error::{Error, Result};
use crate::range::KeyRange;

// ANCHOR: limits
/// The longest key a store accepts, in bytes (64 KiB - 1).
///
/// Limits are part of the contract so that every on-disk format can rely on
/// them: a length field read back from disk that exceeds the limit is known
/// to be corruption, and a reader never allocates gigabytes because one
/// length byte flipped. 65,535 also fits a 16-bit length prefix.
pub const MAX_KEY_LEN: usize = u16::MAX as usize;

/// The longest value a store accepts, in bytes (1 MiB).
///
/// Values travel whole through `get` and `set`; this store is not a blob
/// store, and a bound keeps the memory one operation needs bounded.
pub const MAX_VALUE_LEN: usize = 1 << 20;
// ANCHOR_END: limits

/// Rejects a key longer than [`MAX_KEY_LEN`].
pub fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(Error::KeyTooLarge {
            len: key.len(),
            max: MAX_KEY_LEN,
        });
    }
    Ok(())
}

/// Rejects a value longer than [`MAX_VALUE_LEN`].
pub fn check_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::ValueTooLarge {
            len: value.len(),
            max: MAX_VALUE_LEN,
        });
    }
    Ok(())
}

// ANCHOR: scan_type
/// One key and its value, as a scan yields them.
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// A scan in progress: pairs in ascending key order, produced one at a time.
///
/// Each item is a `Result` because a store that reads from disk can fail
/// halfway through (a damaged record in the middle of a file); the scan then
/// yields the error and the caller decides what to do.
pub type Scan<'a> = Box<dyn Iterator<Item = Result<KeyValue>> + 'a>;
// ANCHOR_END: scan_type

// ANCHOR: kv_store
/// A key-value store: a sorted map from byte strings to byte strings.
///
/// Keys and values are arbitrary bytes: empty, non-UTF-8, containing zero
/// bytes. Keys are ordered as byte strings (see [`KeyRange`]). Every method
/// that takes a key rejects one longer than [`MAX_KEY_LEN`] with
/// [`Error::KeyTooLarge`], and every method that takes a value rejects one
/// longer than [`MAX_VALUE_LEN`] with [`Error::ValueTooLarge`]; a rejected
/// call changes nothing.
pub trait KvStore {
    /// Stores `value` under `key`, replacing any previous value.
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()>;

    /// The value stored under `key`, or `None` if there is none.
    ///
    /// Reads take `&self`: a lookup must not need exclusive access to the
    /// store, which rules out designs that move a shared file cursor.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Removes `key`. Removing a key that is not there is not an error.
    fn delete(&mut self, key: &[u8]) -> Result<()>;

    /// Applies every operation of `batch`, in order. A batch with any key
    /// or value over the limits is rejected whole: nothing is applied.
    ///
    /// The default checks the whole batch, then applies the operations one
    /// by one with `set` and `delete`. That is **not atomic**: a crash, or
    /// an I/O error, partway through leaves the first operations applied
    /// and the rest not. A stage whose batches are all-or-nothing says so
    /// in its [`Durability`], and the conformance suite holds it to that.
    fn write(&mut self, batch: &WriteBatch) -> Result<()> {
        batch.check()?;
        for op in batch.ops() {
            match op {
                BatchOp::Set { key, value } => self.set(key, value)?,
                BatchOp::Delete { key } => self.delete(key)?,
            }
        }
        Ok(())
    }

    /// The pairs whose keys lie in `range`, in ascending key order,
    /// produced lazily: a scan over a million keys must not collect them
    /// first. An empty or reversed range yields nothing.
    ///
    /// A bound is not a key: it is not checked against [`MAX_KEY_LEN`],
    /// and one longer than that simply falls between two keys.
    fn scan(&self, range: KeyRange) -> Result<Scan<'_>>;

    /// The pairs whose keys start with `prefix`, in ascending key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Scan<'_>> {
        self.scan(KeyRange::prefix(prefix))
    }

    /// Removes every key in `range`: what deleting all of a user's keys, or
    /// dropping a table kept under one prefix, needs. The range means what
    /// it means to [`KvStore::scan`]: an empty or reversed range removes
    /// nothing, and a bound, not being a key, may be longer than
    /// [`MAX_KEY_LEN`] (it is accepted, as a scan accepts it).
    ///
    /// The default, [`delete_range_key_by_key`], costs one `delete` per key
    /// in the range, plus the scan that finds them, and is **not atomic**:
    /// a crash, or an I/O error, partway through leaves the keys before
    /// some point deleted, in key order, and the rest not. A stage may
    /// override it with something cheaper or atomic; chapter 6 writes one
    /// range tombstone, whatever the number of keys.
    fn delete_range(&mut self, range: KeyRange) -> Result<()> {
        delete_range_key_by_key(self, range)
    }

    /// Removes every key that starts with `prefix` (the empty prefix
    /// removes everything): [`KvStore::delete_range`] over
    /// [`KeyRange::prefix`], so a stage that overrides `delete_range` gets
    /// its prefix deletes for free.
    fn delete_prefix(&mut self, prefix: &[u8]) -> Result<()> {
        self.delete_range(KeyRange::prefix(prefix))
    }

    /// Makes every write so far durable, as far as the stage's
    /// [`Durability`] promises: once `sync` returns, those writes survive a
    /// crash of the process and, for a stage that says so, a power failure
    /// (a stage that writes files `fsync`s them here).
    ///
    /// Not to be confused with a *flush*, which in chapter 6 means writing
    /// the in-memory table out to a table file: a flush moves data, a sync
    /// makes it durable.
    fn sync(&mut self) -> Result<()>;

    /// Counters beyond time, for the benchmarks and for tests that assert
    /// costs (reads per lookup, index size). A stage reports what it counts
    /// and leaves the rest `None`.
    fn metrics(&self) -> Metrics {
        Metrics::new()
    }
}
// ANCHOR_END: kv_store

// ANCHOR: delete_range_key_by_key
/// How many keys [`delete_range_key_by_key`] holds in memory at once.
///
/// A scan borrows the store, so the keys to delete are collected before
/// the first delete; collecting all of them would hold a million keys for
/// a range of a million. Chunks of this many keys bound that memory (at
/// most 64 MiB, since a key is at most [`MAX_KEY_LEN`] bytes) while the
/// extra scans, one per chunk, stay few.
pub const DELETE_RANGE_CHUNK: usize = 1024;

/// The default [`KvStore::delete_range`]: scans up to
/// [`DELETE_RANGE_CHUNK`] keys of the range, drops the scan, deletes them
/// one by one in key order, and goes on from just after the last one
/// deleted, until a scan comes back short.
///
/// Not atomic: an error or a crash partway through leaves a prefix of the
/// range's keys (in key order) deleted. A public function, so that a stage
/// that overrides `delete_range` for some ranges can fall back to it for
/// the others.
///
/// Each chunk starts after the last key deleted rather than at the start
/// of the range again: the deleted keys are gone, but a store that deletes
/// by writing markers (chapter 6) would still walk over them.
pub fn delete_range_key_by_key<S: KvStore + ?Sized>(store: &mut S, range: KeyRange) -> Result<()> {
    let mut rest = range;
    loop {
        // The scan is a temporary of this statement: dropped at its end,
        // before the deletes need the store mutably.
        let mut keys = store
            .scan(rest.clone())?
            .take(DELETE_RANGE_CHUNK)
            .map(|pair| pair.map(|(key, _value)| key))
            .collect::<Result<Vec<Vec<u8>>>>()?;
        for key in &keys {
            store.delete(key)?;
        }
        // A short chunk was the end of the range. After a full one, the
        // rest starts just past its last key and keeps the range's end.
        let full = keys.len() == DELETE_RANGE_CHUNK;
        match keys.pop() {
            Some(last) if full => rest.start = Bound::Excluded(last),
            _ => return Ok(()),
        }
    }
}
// ANCHOR_END: delete_range_key_by_key

// ANCHOR: metrics
/// What a stage can count about itself. Each field is `None` when the stage
/// does not count it, so a report never shows a made-up zero.
///
/// The struct is `#[non_exhaustive]`: later chapters add counters (tables,
/// bloom filter bytes, bytes compacted) without touching the stages that do
/// not count them. Outside this crate a stage starts from
/// [`Metrics::new`] and fills in the fields it counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metrics {
    /// Bytes of index held in memory to find keys on disk.
    pub index_bytes: Option<u64>,
    /// Read calls issued to files since the store was opened.
    pub reads: Option<u64>,
    /// Bytes those read calls returned.
    pub bytes_read: Option<u64>,
    /// Bytes written to files since the store was opened: against the bytes
    /// of the writes asked for, this is the store's write amplification.
    pub bytes_written: Option<u64>,
    /// Tables that point reads (`get`) consulted since the store was
    /// opened, each counted whether its filter or a read of it answered:
    /// against the number of gets, how many places a read has to look,
    /// which is what a log-structured store trades for its cheap writes.
    /// `None` when the stage does not count it (a stage with one file or
    /// none has nothing to count).
    pub tables_asked: Option<u64>,
}
// ANCHOR_END: metrics

impl Metrics {
    /// No counter known: every field `None`.
    pub fn new() -> Self {
        Self::default()
    }
}

// ANCHOR: durability
/// What a store still holds after one kind of crash.
///
/// After a crash a store reopens with a state it really had at some moment
/// allowed by its promise: never older than the promise, never a mix of
/// writes that did not happen in that order (a later write kept while an
/// earlier one is lost). Whatever state it reopens with is then its state;
/// later crashes are judged from there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Survives {
    /// Nothing: the store keeps no files and reopens empty.
    Nothing,
    /// Every write made before the last completed [`KvStore::sync`]. Of
    /// the writes after it, the store may keep some of the earliest (in
    /// order), or none.
    SyncedWrites,
    /// Every write made before the last completed `sync`. Of the writes
    /// after it, each key keeps some independently of the others: a key
    /// holds its value from the last sync or from any later write of it,
    /// whatever another key kept. What a store offers that makes each key
    /// durable by a separate file system operation (chapter 2's renames).
    SyncedWritesPerKey,
    /// Every write whose call has returned.
    EveryWrite,
    /// No promise: the store may reopen with any content, or refuse to
    /// open. What a store that never calls `fsync` offers against a power
    /// failure.
    NoPromise,
}

/// What a stage promises to keep through the two kinds of crash.
///
/// They are different events. When a **process crashes** (`kill -9`, an
/// abort, `std::mem::forget` of the store in a test) the operating system
/// keeps everything the process had handed to it: written bytes sit in the
/// kernel's page cache and reach the disk later. When the **power fails**
/// the page cache is gone: only what was `fsync`ed survives, file contents
/// and directory entries (a file's creation, rename or removal) alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Durability {
    /// What survives the process dying without warning.
    pub process_crash: Survives,
    /// What survives the machine losing power.
    pub power_loss: Survives,
    /// Whether a [`WriteBatch`] is all-or-nothing: after any crash the
    /// store holds every operation of a batch or none of them.
    pub atomic_batches: bool,
}
// ANCHOR_END: durability

impl fmt::Display for Survives {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Survives::Nothing => "nothing",
            Survives::SyncedWrites => "synced writes",
            Survives::SyncedWritesPerKey => "synced writes, later ones per key",
            Survives::EveryWrite => "every write",
            Survives::NoPromise => "no promise",
        })
    }
}

/// `process crash: every write; power loss: synced writes; batches not
/// atomic`, for reports.
impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "process crash: {}; power loss: {}; batches {}",
            self.process_crash,
            self.power_loss,
            if self.atomic_batches {
                "atomic"
            } else {
                "not atomic"
            }
        )
    }
}

impl Durability {
    /// A store that keeps nothing across a restart.
    pub const IN_MEMORY: Durability = Durability {
        process_crash: Survives::Nothing,
        power_loss: Survives::Nothing,
        atomic_batches: false,
    };

    /// A store whose writes are durable, against both kinds of crash, once
    /// `sync` has returned, and not before.
    pub const ON_SYNC: Durability = Durability {
        process_crash: Survives::SyncedWrites,
        power_loss: Survives::SyncedWrites,
        atomic_batches: false,
    };

    /// The same promise, with all-or-nothing batches.
    pub const fn with_atomic_batches(self) -> Durability {
        Durability {
            atomic_batches: true,
            ..self
        }
    }

    /// Whether the store keeps anything at all across a restart.
    pub fn keeps_data(&self) -> bool {
        self.process_crash != Survives::Nothing
    }
}

// ANCHOR: stage
/// A store as the conformance suite and the benchmarks see it: a name, its
/// options, what it promises to keep, and a way to open it in a directory.
pub trait Stage: KvStore + Sized {
    /// The short name used in test output and benchmark tables.
    const NAME: &'static str;

    /// How the stage can be set up: sizes, modes, test settings (a 4-bit
    /// hash, a tiny memtable). `Default` is what real use gets.
    type Options: Clone + fmt::Debug + Default;

    /// What survives each kind of crash with these options; the suite picks
    /// its reopen checks from it.
    fn durability(options: &Self::Options) -> Durability;

    /// Opens the store kept in `dir`, creating it if the directory is empty.
    /// The directory exists; the store owns everything inside it.
    fn open_with(dir: &Path, options: &Self::Options) -> Result<Self>;

    /// [`Stage::open_with`] the default options.
    fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, &Self::Options::default())
    }

    /// Disappears the way a crashed process does: nothing still buffered
    /// in memory is written. The suite calls this, then opens the directory
    /// again in the same process.
    ///
    /// The default leaks the store with `std::mem::forget`, which runs no
    /// destructor at all. A stage that holds a lock on its directory,
    /// background threads or many open files overrides this to let go of
    /// them (close its files, stop its threads) without writing anything,
    /// since a real crash would release them too and the reopen must not
    /// find the directory still locked.
    fn simulate_crash(self) {
        std::mem::forget(self);
    }

    /// The same options with every file on a fresh simulated disk (whose
    /// torn writes are drawn from `seed`), so that the suite can cut the
    /// power; `None`, the default, for a stage that keeps no files or
    /// cannot be moved off the real file system.
    fn on_simulated_disk(options: &Self::Options, seed: u64) -> Option<Self::Options> {
        let _ = (options, seed);
        None
    }

    /// The switch of the simulated disk these options put the store on, if
    /// they do (see [`Stage::on_simulated_disk`]).
    fn power_switch(options: &Self::Options) -> Option<&dyn PowerSwitch> {
        let _ = options;
        None
    }
}
// ANCHOR_END: stage

// ANCHOR: power_switch
/// A disk whose power the conformance suite can cut: the simulated disk of
/// the `disk` crate, as the suite sees it (the contract does not depend on
/// the crate that implements it).
pub trait PowerSwitch: fmt::Debug + Send + Sync {
    /// Makes `dir` exist on the disk, durably: the directory a store is
    /// opened in, which existed before the test began.
    fn add_root(&self, dir: &Path);

    /// The power fails and comes back: everything not yet made durable by
    /// a sync of its file or directory is lost (or torn).
    fn power_loss(&self);
}
// ANCHOR_END: power_switch
