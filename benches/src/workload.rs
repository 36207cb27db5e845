//! The workloads: the same deterministic work for every subject.
//!
//! Keys, values and the order of operations all come from a fixed seed, so
//! two runs (or two subjects) do exactly the same operations and differ
//! only in how long they take. Everything a workload needs is generated
//! before the clock starts.

use clap::ValueEnum;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_distr::Zipf;
use serde::{Deserialize, Serialize};

/// The seed of every random choice in the harness.
pub const SEED: u64 = 0x6b76_2d62_6f6f_6b21;

/// Default value size in bytes.
pub const VALUE_LEN: usize = 100;

/// How many times `overwrite-all` overwrites every key: enough that most of
/// what a store that never rewrites in place has written is stale, so that
/// what it takes on disk shows whether it gets that space back.
pub const OVERWRITE_ROUNDS: u64 = 3;

/// The share of the keys `delete-most` deletes, in tenths: nine in ten,
/// so that what is left on disk is mostly what the deletes should free.
pub const DELETE_MOST_TENTHS: u64 = 9;

/// How many keys `delete-most` deletes from a store of `n`.
pub fn delete_most_count(n: u64) -> u64 {
    n * DELETE_MOST_TENTHS / 10
}

// ANCHOR: keys
/// The `i`-th stored key: 16 bytes, `key` and an even number. The odd
/// numbers in between are keys that are never stored, so a lookup of
/// [`missing_key`] lands between two present keys, the hardest miss for an
/// index (it cannot be rejected by looking at the first or last key).
pub fn key(i: u64) -> Vec<u8> {
    format!("key{:013}", 2 * i).into_bytes()
}

/// A key that sorts between [`key(i)`](key) and `key(i + 1)` and is never stored.
pub fn missing_key(i: u64) -> Vec<u8> {
    format!("key{:013}", 2 * i + 1).into_bytes()
}
// ANCHOR_END: keys

/// A value of `len` bytes that depends on the key index and a version, so
/// that an overwrite really changes the bytes. The bytes are pseudo-random,
/// so engines that compress (fjall does) get no unfair advantage.
pub fn value(i: u64, version: u64, len: usize) -> Vec<u8> {
    let mut state = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ version.rotate_left(32) ^ SEED;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        // splitmix64: a cheap, well-mixed sequence.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        out.extend_from_slice(&z.to_le_bytes());
    }
    out.truncate(len);
    out
}

// ANCHOR: workloads
/// One kind of work, run the same way on every subject.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Insert N keys in ascending order into an empty store, then sync.
    FillSeq,
    /// Insert N keys in random order into an empty store, then sync.
    FillRandom,
    /// The same keys in the same random order, handed over in write
    /// batches of [`Budget::batch_len`] keys, then sync.
    FillBatch,
    /// Get present keys chosen uniformly at random.
    GetUniform,
    /// Get present keys chosen with a Zipf skew (a few keys are hot).
    GetZipf,
    /// Get keys that are not stored and fall between stored keys.
    GetMissing,
    /// Overwrite present keys chosen at random with new values, then sync.
    Overwrite,
    /// Delete present keys chosen at random, then sync.
    Delete,
    /// Scan 100 keys from a random start.
    ScanShort,
    /// Scan every key.
    ScanFull,
    /// Open a store that holds N keys.
    Reopen,
    /// 80% Zipf gets, 20% overwrites, then sync.
    Mixed,
    /// Overwrite a key and sync, every time: the cost of durability per write.
    SyncWrites,
    /// In a freshly filled store, overwrite every key
    /// [`OVERWRITE_ROUNDS`] times (each round in a new random order), then
    /// sync: the write and space amplification of an update-heavy life.
    /// (Added after the others, so that their random choices, seeded by
    /// the variant's number, stay what they were.)
    OverwriteAll,
    /// In a freshly filled store, delete nine keys in ten
    /// ([`DELETE_MOST_TENTHS`]) in random order, then sync: whether the
    /// space comes back.
    DeleteMost,
}
// ANCHOR_END: workloads

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 15] = [
        Workload::FillSeq,
        Workload::FillRandom,
        Workload::FillBatch,
        Workload::GetUniform,
        Workload::GetZipf,
        Workload::GetMissing,
        Workload::Overwrite,
        Workload::Delete,
        Workload::OverwriteAll,
        Workload::DeleteMost,
        Workload::ScanShort,
        Workload::ScanFull,
        Workload::Reopen,
        Workload::Mixed,
        Workload::SyncWrites,
    ];

    /// The short name used in tables, file names and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::FillSeq => "fill-seq",
            Workload::FillRandom => "fill-random",
            Workload::FillBatch => "fill-batch",
            Workload::GetUniform => "get-uniform",
            Workload::GetZipf => "get-zipf",
            Workload::GetMissing => "get-missing",
            Workload::Overwrite => "overwrite",
            Workload::Delete => "delete",
            Workload::ScanShort => "scan-short",
            Workload::ScanFull => "scan-full",
            Workload::Reopen => "reopen",
            Workload::Mixed => "mixed",
            Workload::SyncWrites => "sync-writes",
            Workload::OverwriteAll => "overwrite-all",
            Workload::DeleteMost => "delete-most",
        }
    }

    /// One sentence on what the workload does, for the reports.
    pub fn describe(self) -> &'static str {
        match self {
            Workload::FillSeq => "insert N keys in ascending order into an empty store, then sync",
            Workload::FillRandom => "insert N keys in random order into an empty store, then sync",
            Workload::FillBatch => {
                "insert the keys of fill-random, in the same order, in write batches, then sync"
            }
            Workload::GetUniform => "get present keys chosen uniformly at random",
            Workload::GetZipf => {
                "get present keys with a Zipf skew (exponent 1.0): a few keys are hot"
            }
            Workload::GetMissing => "get absent keys that fall between present keys",
            Workload::Overwrite => "overwrite random present keys with new values, then sync",
            Workload::Delete => "delete a fifth of the keys, in random order, then sync",
            Workload::ScanShort => "scan 100 consecutive keys from a random start",
            Workload::ScanFull => "scan every key in order",
            Workload::Reopen => "open a store that holds N keys",
            Workload::Mixed => "80% Zipf gets and 20% overwrites, then sync",
            Workload::SyncWrites => "overwrite one key and sync, every time",
            Workload::OverwriteAll => {
                "in a freshly filled store, overwrite every key 3 times (each round in a new \
                 random order), then sync"
            }
            Workload::DeleteMost => {
                "in a freshly filled store, delete 9 keys in 10 in random order, then sync"
            }
        }
    }

    /// What one "operation" is in this workload's ops/s figure.
    pub fn unit(self) -> &'static str {
        match self {
            Workload::FillSeq
            | Workload::FillRandom
            | Workload::Overwrite
            | Workload::OverwriteAll => "set",
            Workload::FillBatch => "set, in a batch",
            Workload::GetUniform | Workload::GetZipf | Workload::GetMissing => "get",
            Workload::Delete | Workload::DeleteMost => "delete",
            Workload::Mixed => "get or set",
            Workload::ScanShort => "scan of 100 keys",
            Workload::ScanFull => "full scan",
            Workload::Reopen => "open",
            Workload::SyncWrites => "set + sync",
        }
    }

    /// Whether the workload ends with one `sync` inside its timed part,
    /// so that every write is durable, and paid for, by the end.
    pub fn times_final_sync(self) -> bool {
        matches!(
            self,
            Workload::FillSeq
                | Workload::FillRandom
                | Workload::FillBatch
                | Workload::Overwrite
                | Workload::Delete
                | Workload::Mixed
                | Workload::OverwriteAll
                | Workload::DeleteMost
        )
    }

    /// Whether one measurement does more work in a larger store: a fill
    /// inserts N keys, a full scan reads N, an open may read everything,
    /// `overwrite-all` and `delete-most` touch every key or most of them
    /// (which is what makes the space they leave mean something).
    /// The others do a fixed number of operations (short scans stop after
    /// a fixed time), which only the store's speed can make longer.
    pub fn grows_with_n(self) -> bool {
        matches!(
            self,
            Workload::FillSeq
                | Workload::FillRandom
                | Workload::FillBatch
                | Workload::ScanFull
                | Workload::Reopen
                | Workload::OverwriteAll
                | Workload::DeleteMost
        )
    }

    /// Whether the workload runs in a store of its own, filled (untimed)
    /// afresh for each repetition, rather than in the store the read
    /// workloads share: the space it leaves is then its own doing, and the
    /// shared store stays as the other workloads expect it.
    pub fn has_own_store(self) -> bool {
        matches!(self, Workload::OverwriteAll | Workload::DeleteMost)
    }

    /// Whether the workload starts from an empty store.
    pub fn is_fill(self) -> bool {
        matches!(
            self,
            Workload::FillSeq | Workload::FillRandom | Workload::FillBatch
        )
    }
}

/// How much work each measurement does.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct Budget {
    /// Point operations (gets, overwrites, deletes, mixed) per measurement.
    pub point_ops: u64,
    /// Short scans per measurement.
    pub short_scans: u64,
    /// Write-and-sync operations per measurement of `sync-writes`.
    pub sync_writes: u64,
    /// Keys per write batch in `fill-batch` (absent from results written
    /// before it was measured).
    #[serde(default = "default_batch_len")]
    pub batch_len: usize,
    /// Keys per short scan.
    pub scan_len: usize,
    /// Bytes per value.
    pub value_len: usize,
}

/// LevelDB's `db_bench` fills in batches of 1000 keys too.
fn default_batch_len() -> usize {
    1000
}

impl Budget {
    /// The default amount of work: enough operations that timer resolution
    /// and a single slow call do not decide the result.
    pub fn standard() -> Self {
        Budget {
            point_ops: 20_000,
            short_scans: 500,
            sync_writes: 200,
            batch_len: default_batch_len(),
            scan_len: 100,
            value_len: VALUE_LEN,
        }
    }

    /// A tenth of it, for `--quick` runs that only check the harness works.
    pub fn quick() -> Self {
        Budget {
            point_ops: 2_000,
            short_scans: 50,
            sync_writes: 20,
            ..Budget::standard()
        }
    }
}

/// The random choices of one measurement, drawn before timing starts.
pub struct Choices {
    rng: StdRng,
}

impl Choices {
    /// A generator for workload `w` at size `n`: the same choices for every
    /// subject, different ones for each workload and size.
    pub fn new(w: Workload, n: u64) -> Self {
        let salt = (w as u64).wrapping_mul(0x1000_0000_01B3) ^ n;
        Choices {
            rng: StdRng::seed_from_u64(SEED ^ salt),
        }
    }

    /// The key indexes `0..n` in a random order.
    pub fn permutation(&mut self, n: u64) -> Vec<u64> {
        let mut order: Vec<u64> = (0..n).collect();
        order.shuffle(&mut self.rng);
        order
    }

    /// `count` key indexes drawn uniformly from `0..n`.
    pub fn uniform(&mut self, n: u64, count: u64) -> Vec<u64> {
        (0..count).map(|_| self.rng.random_range(0..n)).collect()
    }

    /// `count` key indexes from `0..n` with a Zipf skew, exponent 1.0: the
    /// most popular key is drawn about twice as often as the second. The
    /// ranks are scattered over the key space so the hot keys are not
    /// neighbours on disk.
    pub fn zipf(&mut self, n: u64, count: u64) -> Vec<u64> {
        let scatter = self.permutation(n);
        match Zipf::new(n as f64, 1.0) {
            Ok(zipf) => (0..count)
                .map(|_| {
                    let rank: f64 = self.rng.sample(zipf);
                    // Ranks are 1..=n; clamp guards the float conversion.
                    let rank = (rank as u64).clamp(1, n) - 1;
                    scatter[rank as usize]
                })
                .collect(),
            // Only reachable for n == 0, which never has keys to pick.
            Err(_) => Vec::new(),
        }
    }

    /// A fair coin with probability `p` of true.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_like_their_numbers_and_missing_keys_fall_between() {
        assert_eq!(key(0).len(), 16);
        assert!(key(9) < key(10));
        assert!(key(41) < missing_key(41) && missing_key(41) < key(42));
        assert_eq!(key(123_456_789), b"key0000246913578".to_vec());
    }

    #[test]
    fn choices_are_deterministic_and_differ_by_workload() {
        let a = Choices::new(Workload::GetUniform, 1000).uniform(1000, 10);
        let b = Choices::new(Workload::GetUniform, 1000).uniform(1000, 10);
        let c = Choices::new(Workload::Overwrite, 1000).uniform(1000, 10);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.iter().all(|&i| i < 1000));
    }

    #[test]
    fn zipf_is_skewed_towards_a_few_keys() {
        let picks = Choices::new(Workload::GetZipf, 10_000).zipf(10_000, 20_000);
        assert_eq!(picks.len(), 20_000);
        let mut counts = std::collections::HashMap::new();
        for p in &picks {
            *counts.entry(*p).or_insert(0u32) += 1;
        }
        let top = counts.values().copied().max().unwrap();
        // Uniform draws would give each key about 2; the hottest Zipf key
        // gets roughly a tenth of all draws at this size.
        assert!(top > 1000, "hottest key drawn only {top} times");
    }

    #[test]
    fn the_amplification_workloads_say_what_they_do() {
        // The descriptions are static text: they must follow the constants.
        let rounds = format!("every key {OVERWRITE_ROUNDS} times");
        assert!(Workload::OverwriteAll.describe().contains(&rounds));
        let share = format!("delete {DELETE_MOST_TENTHS} keys in 10");
        assert!(Workload::DeleteMost.describe().contains(&share));
        assert_eq!(delete_most_count(1000), 900);
        assert_eq!(delete_most_count(5), 4);
        // The old workloads keep their numbers, hence their random choices.
        assert_eq!(Workload::SyncWrites as u64, 12);
    }

    #[test]
    fn values_differ_by_version_and_have_the_requested_length() {
        assert_eq!(value(7, 0, 100).len(), 100);
        assert_eq!(value(7, 0, 3).len(), 3);
        assert_ne!(value(7, 0, 100), value(7, 1, 100));
        assert_eq!(value(7, 1, 100), value(7, 1, 100));
    }
}
