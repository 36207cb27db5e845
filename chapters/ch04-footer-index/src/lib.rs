//! Chapter 4: a sorted table with its index in a footer.
//!
//! The file holds the records in key order (chapter 3's encoding), then an
//! index of every key with its record's offset and checksum, then a footer
//! of fixed size that says where the index is. Opening reads the footer
//! and the index, not the records; a lookup is a binary search in memory
//! and one positioned read. Writes collect in a sorted buffer in memory,
//! and `sync` merges the buffer with the table into a new table.

pub mod format;
pub mod index;
pub mod merge;
mod store;
pub mod table;

pub use store::{FILE_NAME, FooterIndexStore, OneTableStore, Options, TableFile};
