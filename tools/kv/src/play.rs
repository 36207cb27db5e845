//! `cargo kv get|set|delete|scan`: any stage, from the command line.
//!
//! Each command opens the stage's directory through its [`Stage::open`],
//! does one thing through the [`KvStore`](ch00_contract::KvStore) trait, and (for a write)
//! `sync`s before it returns: the process ends right after, and a stage
//! that keeps writes in memory until a sync (chapters 3 to 5) would
//! otherwise lose them. Then `inspect` shows what the write did to the
//! files.

use std::path::Path;

use ch00_contract::{Error, IoContext, KeyRange, Result, Stage};

use crate::text::escape;

/// The stages that keep files, by chapter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageName {
    /// Chapter 2: one JSON file per key.
    Ch02,
    /// Chapter 3: one sorted file.
    Ch03,
    /// Chapter 4: a table with its index in a footer.
    Ch04,
    /// Chapter 5: a block table with a sparse index.
    Ch05,
    /// Chapter 6: an LSM tree.
    Ch06,
}

/// One thing to do to a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Print the value of a key.
    Get {
        /// The key.
        key: Vec<u8>,
    },
    /// Store a value, then sync.
    Set {
        /// The key.
        key: Vec<u8>,
        /// Its value.
        value: Vec<u8>,
    },
    /// Delete a key, then sync.
    Delete {
        /// The key.
        key: Vec<u8>,
    },
    /// Print the pairs of a range, at most `limit` of them.
    Scan {
        /// The keys to list.
        range: KeyRange,
        /// How many pairs to print at most.
        limit: usize,
    },
}

/// Runs `command` on the store of `stage` in `dir` and returns what to
/// print. A write creates `dir` if it is missing; a read of a missing
/// directory is an error rather than a new, empty store.
pub fn run(stage: StageName, dir: &Path, command: &Command) -> Result<String> {
    if matches!(command, Command::Set { .. } | Command::Delete { .. }) {
        std::fs::create_dir_all(dir).context("creating", dir)?;
    } else if !dir.is_dir() {
        return Err(Error::InvalidInput(format!(
            "{} is not a directory: no store to read",
            dir.display()
        )));
    }
    match stage {
        StageName::Ch02 => {
            // The hash width is fixed when the store is made: read it from
            // the marker, so that a store made with another width opens.
            let mut options = ch02_fsdb::Options::default();
            let marker = dir.join(ch02_fsdb::layout::MARKER);
            if let Ok(bytes) = std::fs::read(&marker) {
                let parsed: std::result::Result<ch02_fsdb::marker::Marker, _> =
                    serde_json::from_slice(&bytes);
                if let Ok(m) = parsed {
                    options.hash_bits = m.hash_bits;
                }
            }
            run_on(ch02_fsdb::FsStore::open_with(dir, &options)?, command)
        }
        StageName::Ch03 => run_on(ch03_sorted_file::SortedFileStore::open(dir)?, command),
        StageName::Ch04 => run_on(ch04_footer_index::FooterIndexStore::open(dir)?, command),
        StageName::Ch05 => run_on(ch05_sparse_index::SparseIndexStore::open(dir)?, command),
        StageName::Ch06 => run_on(ch06_lsm::LsmStore::open(dir)?, command),
    }
}

fn run_on<S: Stage>(mut store: S, command: &Command) -> Result<String> {
    match command {
        Command::Get { key } => Ok(match store.get(key)? {
            Some(value) => format!("{}\n", escape(&value)),
            None => format!("{}: not found\n", escape(key)),
        }),
        Command::Set { key, value } => {
            store.set(key, value)?;
            store.sync()?;
            Ok(format!("set {} in {}\n", escape(key), S::NAME))
        }
        Command::Delete { key } => {
            store.delete(key)?;
            store.sync()?;
            Ok(format!("deleted {} in {}\n", escape(key), S::NAME))
        }
        Command::Scan { range, limit } => {
            let mut out = String::new();
            for (shown, pair) in store.scan(range.clone())?.enumerate() {
                let (key, value) = pair?;
                if shown == *limit {
                    out.push_str(&format!("... (stopped after {limit} pairs)\n"));
                    break;
                }
                out.push_str(&format!("{} = {}\n", escape(&key), escape(&value)));
            }
            Ok(out)
        }
    }
}
