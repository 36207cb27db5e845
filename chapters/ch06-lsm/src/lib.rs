//! Chapter 6: a log-structured merge tree.
//!
//! Chapters 3 to 5 rewrite their whole table on every sync. This stage
//! never changes a file it has written: a write is appended to a log and
//! applied to a sorted table in memory, the *memtable*; a full memtable is
//! written out once, as one of chapter 5's block tables, and a new log
//! begins. A *manifest* names the live log and tables, and is switched
//! atomically, so a crash at any moment leaves one consistent set of
//! files. Reads ask the memtable, then the tables from newest to oldest;
//! a delete is a *tombstone* that hides older values until nothing older
//! can hold the key. *Compaction* merges tables down a few *levels*, so
//! that a read asks a bounded number of tables and overwritten values
//! and tombstones are dropped.

pub mod bloom;
pub mod compaction;
pub mod files;
pub mod levels;
pub mod manifest;
pub mod memtable;
pub mod merge;
pub mod ranges;
mod store;
pub mod tables;
pub mod wal;

pub use store::{
    DEFAULT_BLOOM_BITS_PER_KEY, DEFAULT_L0_COMPACTION_TRIGGER, DEFAULT_LEVEL_BASE_BYTES,
    DEFAULT_LEVEL_SIZE_RATIO, DEFAULT_MEMTABLE_BYTES, DEFAULT_TABLE_TARGET_BYTES, LogSync,
    LsmStore, Options, Recovery,
};
pub use wal::LogRecovery;
