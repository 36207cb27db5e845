//! Chapter 5: a sparse index.
//!
//! Chapter 4 holds every key in memory. This chapter holds one entry per
//! *block*: the records are grouped, in key order, into blocks of a few
//! KiB, each with its own checksum, and the index in memory says where
//! each block is and which keys it can hold. A lookup finds the block in
//! memory and reads it: one read, as in chapter 4, for an index a
//! fraction of the size. The table is built in one pass from a sorted
//! stream, tells apart a key found, deleted and absent, and reads a range
//! block by block: it is the on-disk table of chapter 6.

pub mod block;
pub mod format;
mod store;
pub mod table;
pub mod two_level;

pub use store::{
    FILE_NAME, IndexOfIndexOptions, IndexOfIndexStore, Options, Sparse, SparseIndexStore,
};
pub use table::{Lookup, Table};
