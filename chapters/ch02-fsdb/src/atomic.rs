//! Replacing a file so that a crash leaves either the old content or the
//! new, never half of one.
//!
//! Writing a file in place is not atomic: a crash halfway through leaves
//! the first half of the new content, or an empty file if it came between
//! the truncate and the write. A rename within one directory is atomic on
//! every POSIX file system: another process, or this one after a crash,
//! sees the old file or the new one under that name. So a write goes to a
//! temporary file beside the target, and only a complete file is renamed
//! over it.
//!
//! A crash of the process is not a power failure. After a rename the new
//! content is in the operating system's cache, and a process crash loses
//! nothing the kernel has; a power failure loses the cache. To survive that
//! too the file's content must reach the disk before the rename
//! (`fsync` of the file) and the rename itself must reach the disk
//! (`fsync` of the directory, which is where names live). Chapter 3 reuses
//! these functions for its single data file.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use ch00_contract::{IoContext, Result};

use crate::layout::TEMP_SUFFIX;

/// Where the new content of `path` is written before it replaces `path`:
/// the same name with `.tmp` added, in the same directory (a rename cannot
/// cross file systems, and a directory never spans two).
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}

// ANCHOR: write_new
/// Creates (or truncates) `path` and writes `bytes` to it; with `sync`, the
/// bytes are on the disk when this returns.
pub fn write_file(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let mut file = File::create(path).context("creating", path)?;
    file.write_all(bytes).context("writing", path)?;
    if sync {
        file.sync_all().context("syncing", path)?;
    }
    Ok(())
}
// ANCHOR_END: write_new

// ANCHOR: replace
/// Replaces `path` with a file holding `bytes`, atomically: a crash at any
/// point leaves either the old file (and perhaps a stray `.tmp` file
/// beside it) or the new one. With `sync`, the new file and its name are on
/// the disk when this returns, so a power failure cannot undo it either.
pub fn replace(path: &Path, bytes: &[u8], sync: bool) -> Result<()> {
    let temp = temp_path(path);
    write_file(&temp, bytes, sync)?;
    fs::rename(&temp, path).context("renaming into place", &temp)?;
    if sync {
        sync_dir(parent(path))?;
    }
    Ok(())
}
// ANCHOR_END: replace

/// Makes the names in `dir` (files created, renamed or removed in it)
/// durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .context("syncing directory", dir)
}

/// Makes the content of the file at `path` durable; `Ok(false)` if no file
/// is there (removed since it was written).
pub fn sync_file(path: &Path) -> Result<bool> {
    match File::open(path) {
        Ok(file) => file.sync_all().context("syncing", path).map(|()| true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e).context("opening to sync", path),
    }
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_leaves_only_the_new_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        for (content, sync) in [(&b"one"[..], false), (b"two", true), (b"", false)] {
            replace(&path, content, sync).unwrap();
            assert_eq!(fs::read(&path).unwrap(), content);
        }
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.json"]);
    }

    #[test]
    fn errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("a.json");
        let err = replace(&path, b"x", false).unwrap_err();
        assert!(err.to_string().starts_with("creating "), "{err}");
        assert!(err.to_string().contains("a.json.tmp"), "{err}");
        assert!(!sync_file(&path).unwrap());
    }
}
