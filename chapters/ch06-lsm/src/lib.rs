//! Chapter 6: a log-structured merge tree (part 1).
//!
//! Chapters 3 to 5 rewrite their whole table on every sync. This stage
//! never rewrites what is on disk: a write is appended to a log and
//! applied to a sorted table in memory, the *memtable*; a full memtable is
//! written out once, as one of chapter 5's block tables, and a new log
//! begins. A *manifest* names the live log and tables, and is switched
//! atomically, so a crash at any moment leaves one consistent set of
//! files. Reads ask the memtable, then the tables from newest to oldest;
//! a delete is a *tombstone* that hides older values until nothing older
//! can hold the key.

pub mod bloom;
pub mod files;
pub mod manifest;
pub mod memtable;
pub mod merge;
mod store;
pub mod tables;
pub mod wal;

pub use store::{
    DEFAULT_BLOOM_BITS_PER_KEY, DEFAULT_MEMTABLE_BYTES, LogSync, LsmStore, Options, Recovery,
};
pub use wal::LogRecovery;
