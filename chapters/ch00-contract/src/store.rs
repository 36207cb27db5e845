//! The `KvStore` trait: what every stage of the book promises.

use std::path::Path;

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
pub type Entry = (Vec<u8>, Vec<u8>);

/// A scan in progress: entries in ascending key order, produced one at a time.
///
/// Each item is a `Result` because a store that reads from disk can fail
/// halfway through (a damaged record in the middle of a file); the scan then
/// yields the error and the caller decides what to do.
pub type Scan<'a> = Box<dyn Iterator<Item = Result<Entry>> + 'a>;
// ANCHOR_END: scan_type

// ANCHOR: kv_store
/// A key-value store: a sorted map from byte strings to byte strings.
///
/// Keys and values are arbitrary bytes: empty, non-UTF-8, containing zero
/// bytes. Keys are ordered as byte strings (see [`KeyRange`]). Every method
/// that takes a key rejects one longer than [`MAX_KEY_LEN`] with
/// [`Error::KeyTooLarge`], and `set` rejects a value longer than
/// [`MAX_VALUE_LEN`] with [`Error::ValueTooLarge`]; a rejected call changes
/// nothing.
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

    /// The entries whose keys lie in `range`, in ascending key order,
    /// produced lazily: a scan over a million keys must not collect them
    /// first. An empty or reversed range yields nothing.
    fn scan(&self, range: KeyRange) -> Result<Scan<'_>>;

    /// The entries whose keys start with `prefix`, in ascending key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Scan<'_>> {
        self.scan(KeyRange::prefix(prefix))
    }

    /// Makes every write so far durable: once `flush` returns, the writes
    /// survive the process stopping at any moment. A stage that writes files
    /// also `fsync`s them here, so that they survive a power failure too;
    /// the conformance suite can only check the first promise (it crashes a
    /// store, not the machine), so the second rests on the code and the book.
    fn flush(&mut self) -> Result<()>;

    /// Counters beyond time, for the benchmarks and for tests that assert
    /// costs (reads per lookup, index size). A stage reports what it counts
    /// and leaves the rest `None`.
    fn metrics(&self) -> Metrics {
        Metrics::default()
    }
}
// ANCHOR_END: kv_store

// ANCHOR: metrics
/// What a stage can count about itself. Each field is `None` when the stage
/// does not count it, so a report never shows a made-up zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
}
// ANCHOR_END: metrics

// ANCHOR: durability
/// What survives when a process stops without warning (a crash, a kill, a
/// `std::mem::forget` of the store in a test).
///
/// After a crash, a store reopens with the state it had at some moment
/// between the last completed `flush` and the crash: never older than the
/// last flush, never a mix of writes that did not happen in that order.
/// Whatever state it reopens with is then its state; later crashes are
/// judged from there. The suite crashes stores between calls, not in the
/// middle of one (a crash halfway through a flush is each stage's own test
/// to write).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// Nothing is written anywhere: a reopened store is empty.
    InMemory,
    /// Writes survive once `flush` has returned; a crash may lose writes
    /// made since the last flush.
    OnFlush,
    /// Every write survives once the call that made it has returned.
    PerWrite,
}
// ANCHOR_END: durability

// ANCHOR: stage
/// A store as the conformance suite and the benchmarks see it: a name, a
/// durability, and a way to open it in a directory.
pub trait Stage: KvStore + Sized {
    /// The short name used in test output and benchmark tables.
    const NAME: &'static str;

    /// What survives a crash; the suite picks its reopen checks from it.
    const DURABILITY: Durability;

    /// Opens the store kept in `dir`, creating it if the directory is empty.
    /// The directory exists; the store owns everything inside it.
    fn open(dir: &Path) -> Result<Self>;

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
}
// ANCHOR_END: stage
