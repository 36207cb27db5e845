//! Chapter 2: the file system as a database.
//!
//! Each key lives in a file of its own. The file's name is a hash of the
//! key (raw keys are not valid file names), its content is the JSON array
//! `[value, key, checksum]`, and it sits in one of 256 fan-out directories.
//! The checksum turns a damaged file into an error rather than a wrong
//! value. Writes replace files atomically (temporary file, then rename).
//! It is the design most programmers invent first, and this chapter
//! measures where it breaks: a scan reads every file, and every small value
//! costs a whole block of disk.

pub mod content;
pub mod hash;
pub mod layout;
pub mod marker;
mod store;
pub mod usage;

pub use store::{FsStore, Options, SyncMode};
