//! The peers: stores that are not stages of the book, adapted to the
//! `KvStore` trait so that they run the very same workloads.

mod fjall;
mod raw_fs;
mod redb;

pub use self::fjall::FjallStore;
pub use self::raw_fs::RawFsStore;
pub use self::redb::RedbStore;
