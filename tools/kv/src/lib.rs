//! `cargo kv`: a look inside the files every stage of the book writes.
//!
//! A storage format is easier to trust once you have seen it: which
//! regions a table holds and where they start, how many entries each
//! block carries, which tables sit on which level of an LSM tree. This
//! crate reads a store's files through the chapters' own decoders, so
//! that what it prints is what the stores themselves would accept, and a
//! damaged file gets the same error (file and byte offset) a store would
//! give.
//!
//! The logic lives here rather than in `main.rs` so that the tests call it
//! directly and snapshot its text; the binary only parses arguments.
//!
//! - [`inspect`]: recognise a directory or file by its magic number and
//!   print its structure;
//! - [`svg`]: draw an LSM tree's levels and tables over the key space;
//! - [`play`]: get, set, delete and scan through any stage's `KvStore`.

pub mod inspect;
pub mod play;
pub mod svg;
pub mod text;

pub use ch00_contract::{Error, Result};
