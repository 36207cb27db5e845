//! The shared benchmark harness: every stage of the book and a few peers
//! (two real engines among them) on the same deterministic workloads.
//!
//! The pieces: [`workload`] says what work is done, [`subjects`] what it is
//! done on, [`run`] does it and measures, [`report`] and [`chart`] turn the
//! measurements into the tables and charts of the book, and the `compare`
//! binary (`cargo compare`) drives it all.

pub mod chart;
pub mod heap;
pub mod machine;
pub mod peers;
pub mod report;
pub mod run;
pub mod subjects;
pub mod workload;
