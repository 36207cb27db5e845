//! Everything the harness measures: the book's stages and the peers.

use std::path::Path;

use ch00_contract::{Durability, KvStore, Result, Stage};

use crate::peers::{FjallStore, RawFsStore, RedbStore};

/// One store the harness can measure.
#[derive(Clone)]
pub struct Subject {
    /// Name in tables and charts (the stage's `Stage::NAME`).
    pub name: &'static str,
    /// One line on what it is.
    pub description: &'static str,
    /// A stage of the book, or a peer it is compared with.
    pub is_peer: bool,
    /// What survives a crash; an in-memory subject has nothing to reopen.
    pub durability: Durability,
    /// The largest N this subject is run at, and why, if it has a limit.
    pub limit: Option<(u64, &'static str)>,
    open: fn(&Path) -> Result<Box<dyn KvStore>>,
}

impl Subject {
    /// Opens the subject's store in `dir`.
    pub fn open(&self, dir: &Path) -> Result<Box<dyn KvStore>> {
        (self.open)(dir)
    }

    /// Why this subject is not run at size `n`, if it is not.
    pub fn skip_reason(&self, n: u64) -> Option<String> {
        match self.limit {
            Some((max, why)) if n > max => Some(format!("skipped above N = {max}: {why}")),
            _ => None,
        }
    }

    /// The same subject, run only up to `max` keys.
    pub fn up_to(mut self, max: u64, why: &'static str) -> Self {
        self.limit = Some((max, why));
        self
    }
}

fn open_boxed<S: Stage + 'static>(dir: &Path) -> Result<Box<dyn KvStore>> {
    Ok(Box::new(S::open(dir)?))
}

/// A subject for stage `S`.
pub fn stage<S: Stage + 'static>(description: &'static str) -> Subject {
    Subject {
        name: S::NAME,
        description,
        is_peer: false,
        durability: S::DURABILITY,
        limit: None,
        open: open_boxed::<S>,
    }
}

fn peer<S: Stage + 'static>(description: &'static str) -> Subject {
    Subject {
        is_peer: true,
        ..stage::<S>(description)
    }
}

// ANCHOR: subjects
/// Every subject, stages first in book order, then the peers.
/// A new chapter adds its stage here, in one line.
pub fn all() -> Vec<Subject> {
    vec![
        stage::<ch01_memory::MemoryStore>("BTreeMap in memory: the ceiling"),
        peer::<RawFsStore>("one file per key with plain std::fs: the floor of chapter 2").up_to(
            100_000,
            "one file per key; a million files take minutes to create and delete",
        ),
        peer::<FjallStore<false>>("fjall 3 (LSM tree), default settings"),
        peer::<FjallStore<true>>("fjall 3 with its memtable forced to disk tables on every flush"),
        peer::<RedbStore>("redb 4 (copy-on-write B-tree), one transaction per write"),
    ]
}
// ANCHOR_END: subjects
