//! The names of a store's files.
//!
//! ```text
//! MANIFEST      which logs and tables are live
//! LOCK          the directory's lock (chapter 2's)
//! 000007.log    a write-ahead log, by number
//! 000012.sst    a table (chapter 5's block table), by number
//! ```
//!
//! Logs and tables share one sequence of numbers, so a number names one
//! file, and a newer file always has a larger number than an older one.

use std::path::{Path, PathBuf};

use disk::atomic::TEMP_SUFFIX;

/// The manifest's file name.
pub const MANIFEST: &str = "MANIFEST";
/// A log's file name ends with this.
pub const LOG_SUFFIX: &str = ".log";
/// A table's file name ends with this.
pub const TABLE_SUFFIX: &str = ".sst";

/// What a file name in a store's directory says it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// The manifest.
    Manifest,
    /// A log, by number.
    Log(u64),
    /// A table, by number.
    Table(u64),
    /// A temporary file an interrupted replacement left.
    Temp,
}

/// The path of log `number` in `dir`.
pub fn log_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}{LOG_SUFFIX}"))
}

/// The path of table `number` in `dir`.
pub fn table_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("{number:06}{TABLE_SUFFIX}"))
}

/// What the file called `name` is, if it is one of the store's files.
/// Other names (the lock, a reader's notes) are left alone.
pub fn kind(name: &str) -> Option<FileKind> {
    // ANCHOR: todo_files_kind MANIFEST; a known name plus the temp suffix; digits then .log or .sst; anything else (the lock, a stranger's file) is None.
    if name == MANIFEST {
        return Some(FileKind::Manifest);
    }
    if name.ends_with(TEMP_SUFFIX) && kind(&name[..name.len() - TEMP_SUFFIX.len()]).is_some() {
        return Some(FileKind::Temp);
    }
    let number = |stem: &str| {
        (!stem.is_empty() && stem.bytes().all(|b| b.is_ascii_digit()))
            .then(|| stem.parse().ok())
            .flatten()
    };
    if let Some(stem) = name.strip_suffix(LOG_SUFFIX) {
        return number(stem).map(FileKind::Log);
    }
    if let Some(stem) = name.strip_suffix(TABLE_SUFFIX) {
        return number(stem).map(FileKind::Table);
    }
    None
    // ANCHOR_END: todo_files_kind
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_strangers_are_left_alone() {
        let dir = Path::new("d");
        let log = log_path(dir, 7);
        let table = table_path(dir, 1234567);
        assert_eq!(log, Path::new("d/000007.log"));
        let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(kind(&name(&log)), Some(FileKind::Log(7)));
        assert_eq!(kind(&name(&table)), Some(FileKind::Table(1234567)));
        assert_eq!(kind("MANIFEST"), Some(FileKind::Manifest));
        assert_eq!(kind("MANIFEST.tmp"), Some(FileKind::Temp));
        for stranger in ["LOCK", "notes.txt", "x.log", ".sst", "+1.log", "7.log.bak"] {
            assert_eq!(kind(stranger), None, "{stranger}");
        }
    }
}
