//! Chapter 3: one sorted file.
//!
//! The data lives in memory in chapter 1's sorted map; `sync` writes all
//! of it, in key order, to one binary file (a header with a magic number
//! and a version, length-prefixed records, a CRC-32), replacing the old
//! file atomically; open reads the file whole and checks every byte. Order
//! comes back (scans read only what they return) and a sync is one file,
//! but open time and memory grow with the whole data, and every sync
//! rewrites everything.

pub mod format;
mod store;

pub use store::{FILE_NAME, Options, SortedFileStore};
