//! Chapter 0: the contract.
//!
//! Every stage in this book is a different answer to one question: how do we
//! keep a sorted map of byte strings, and keep it across restarts? This crate
//! pins down the question. It holds
//!
//! - [`KvStore`], the operations every stage offers (including
//!   [`WriteBatch`]es and range deletes), and [`Stage`], how a stage is
//!   opened, with which options, and what it promises to keep after each
//!   kind of crash ([`Durability`]);
//! - [`Error`], the one error type all of them return;
//! - [`KeyRange`], the scan ranges, with the byte-order corner cases solved
//!   once;
//! - [`conformance`], the test suite every stage must pass, including a
//!   model-based test against a `BTreeMap`.

mod batch;
pub mod conformance;
mod dump;
mod error;
mod range;
mod store;

pub use batch::{BatchOp, WriteBatch};
pub use dump::hex_dump;
pub use error::{Error, IoContext, Result};
pub use range::KeyRange;
pub use store::{
    DELETE_RANGE_CHUNK, Durability, KeyValue, KvStore, MAX_KEY_LEN, MAX_VALUE_LEN, Metrics,
    PowerSwitch, Scan, Stage, Survives, check_key, check_value, delete_range_key_by_key,
};
