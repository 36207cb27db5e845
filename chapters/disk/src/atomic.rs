//! Replacing a file so that a crash leaves either the old content or the
//! new, never half of one; and the other small steps every store's file
//! handling is made of.
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
//! nothing the kernel has; a power failure loses the cache, and the kernel
//! may have written the new *name* to disk before the new *content*. So
//! the temporary file is always synced before the rename: whatever name
//! survives a power failure then points at complete content, old or new.
//! The rename itself reaches the disk when the directory is synced, which
//! [`replace_durably`] does at once and a store may instead do for many
//! renames together.

use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};

use ch00_contract::{Error, IoContext, Result};

use crate::{Disk, WriteFile};

/// What a temporary file's name adds to the name it will replace.
pub const TEMP_SUFFIX: &str = ".tmp";

/// Where the new content of `path` is written before it replaces `path`:
/// the same name with `.tmp` added, in the same directory (a rename cannot
/// cross file systems, and a directory never spans two).
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}

// ANCHOR: write_new
/// The writer a new file's content goes through: buffered, so that a file
/// written in many small pieces costs few system calls.
pub type FileWriter = BufWriter<Box<dyn WriteFile>>;

/// Creates (or truncates) `path`, lets `fill` write its content, and syncs
/// it: the content is on the disk when this returns.
pub fn write_file_with(
    disk: &Disk,
    path: &Path,
    fill: impl FnOnce(&mut FileWriter) -> Result<()>,
) -> Result<()> {
    let mut out = BufWriter::new(disk.create(path).context("creating", path)?);
    fill(&mut out)?;
    let mut file = out
        .into_inner()
        .map_err(|e| e.into_error())
        .context("writing", path)?;
    file.sync().context("syncing", path)
}

/// [`write_file_with`] for content already in memory.
pub fn write_file(disk: &Disk, path: &Path, bytes: &[u8]) -> Result<()> {
    write_file_with(disk, path, |out| {
        out.write_all(bytes).context("writing", path)
    })
}
// ANCHOR_END: write_new

// ANCHOR: replace
/// Replaces `path` with a file whose content `fill` writes, atomically: a
/// crash of the process or a power failure at any point leaves either the
/// old file (and perhaps a stray `.tmp` file beside it) or the new one,
/// never a mixture. Which of the two a power failure leaves depends on
/// whether the rename reached the disk: sync the directory (or call
/// [`replace_durably_with`]) to make it the new one for certain.
///
/// If writing or renaming fails, the old file is untouched and the
/// half-written temporary file is of no use, so it is removed (as far as
/// that succeeds; an open removes any that remain).
pub fn replace_with(
    disk: &Disk,
    path: &Path,
    fill: impl FnOnce(&mut FileWriter) -> Result<()>,
) -> Result<()> {
    let temp = temp_path(path);
    let result = write_file_with(disk, &temp, fill).and_then(|()| {
        disk.rename(&temp, path)
            .context("renaming into place", &temp)
    });
    if result.is_err() {
        let _ = disk.remove_file(&temp);
    }
    result
}

/// [`replace_with`], then the directory synced: when this returns, the new
/// file is the one a power failure leaves.
pub fn replace_durably_with(
    disk: &Disk,
    path: &Path,
    fill: impl FnOnce(&mut FileWriter) -> Result<()>,
) -> Result<()> {
    replace_with(disk, path, fill)?;
    sync_dir(disk, parent(path))
}

/// [`replace_with`] for content already in memory.
pub fn replace(disk: &Disk, path: &Path, bytes: &[u8]) -> Result<()> {
    // Errors name the file being written, which is the temporary one.
    let temp = temp_path(path);
    replace_with(disk, path, |out| {
        out.write_all(bytes).context("writing", &temp)
    })
}

/// [`replace_durably_with`] for content already in memory.
pub fn replace_durably(disk: &Disk, path: &Path, bytes: &[u8]) -> Result<()> {
    replace(disk, path, bytes)?;
    sync_dir(disk, parent(path))
}
// ANCHOR_END: replace

/// Removes the temporary file a replacement of `path` that a crash (or a
/// failed write) interrupted may have left; the file at `path` itself is
/// whole, old or new. No temporary file is not an error.
pub fn remove_temp(disk: &Disk, path: &Path) -> Result<()> {
    let temp = temp_path(path);
    match disk.remove_file(&temp) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(Error::io("removing the leftover", temp, e))
        }
        _ => Ok(()),
    }
}

/// Makes the names in `dir` (files created, renamed or removed in it)
/// durable.
pub fn sync_dir(disk: &Disk, dir: &Path) -> Result<()> {
    disk.sync_dir(dir).context("syncing directory", dir)
}

/// The directory holding `path` (`.` for a bare file name).
pub fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// The whole content of the file at `path`, `None` if there is none; an
/// error if it is longer than `limit`, rather than reading a runaway file
/// whole.
pub fn read_file(disk: &Disk, path: &Path, limit: u64) -> Result<Option<Vec<u8>>> {
    let file = match disk.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("opening", path, e)),
    };
    let len = file.len().context("reading the length of", path)?;
    if len > limit {
        return Err(Error::corruption(
            path,
            limit,
            format!("a file of at most {limit} bytes"),
            format!("a file of {len} bytes"),
        ));
    }
    let len_in_memory = usize::try_from(len).map_err(|_| {
        Error::corruption(
            path,
            0,
            "a file that fits in memory",
            format!("a file of {len} bytes"),
        )
    })?;
    let mut bytes = vec![0; len_in_memory];
    file.read_exact_at(&mut bytes, 0)
        .map_err(|e| match e.kind() {
            ErrorKind::UnexpectedEof => Error::corruption(
                path,
                0,
                format!("{len} bytes, the file's length"),
                "fewer: the file shrank while it was read",
            ),
            _ => Error::io("reading", path, e),
        })?;
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SimDisk;
    use std::fs;

    #[test]
    fn replace_leaves_only_the_new_file() {
        let disk = Disk::real();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        for content in [&b"one"[..], b"two", b""] {
            replace(&disk, &path, content).unwrap();
            assert_eq!(fs::read(&path).unwrap(), content);
        }
        replace_durably(&disk, &path, b"three").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"three");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["a.json"]);
    }

    #[test]
    fn replace_never_writes_into_the_old_file() {
        // A second name for the old file (a hard link) still shows the old
        // content afterwards: `replace` made a new file and moved the name,
        // where writing in place would have changed both names' content.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        fs::write(&path, b"old").unwrap();
        let witness = dir.path().join("witness");
        fs::hard_link(&path, &witness).unwrap();
        replace(&Disk::real(), &path, b"new").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        assert_eq!(fs::read(&witness).unwrap(), b"old");
    }

    #[test]
    fn errors_name_the_file() {
        let disk = Disk::real();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("a.json");
        let err = replace(&disk, &path, b"x").unwrap_err();
        assert!(err.to_string().starts_with("creating "), "{err}");
        assert!(err.to_string().contains("a.json.tmp"), "{err}");
        let err = sync_dir(&disk, &dir.path().join("missing-dir")).unwrap_err();
        assert!(err.to_string().contains("missing-dir"), "{err}");
    }

    #[test]
    fn a_durable_replace_survives_power_loss_and_a_plain_one_may_not() {
        let sim = SimDisk::new();
        let root = Path::new("/store");
        sim.add_root(root);
        let disk = Disk::simulated(sim.clone());
        let path = root.join("a");
        replace_durably(&disk, &path, b"old").unwrap();
        replace(&disk, &path, b"new").unwrap();
        sim.power_loss();
        // The rename was never synced: the old name, and its old content.
        assert_eq!(read_file(&disk, &path, 10).unwrap().unwrap(), b"old");
        replace_durably(&disk, &path, b"new").unwrap();
        sim.power_loss();
        assert_eq!(read_file(&disk, &path, 10).unwrap().unwrap(), b"new");
    }

    #[test]
    fn a_failed_replace_leaves_the_old_file_and_no_temporary_one() {
        let sim = SimDisk::new();
        let root = Path::new("/store");
        sim.add_root(root);
        let disk = Disk::simulated(sim.clone());
        let path = root.join("a");
        replace_durably(&disk, &path, b"old").unwrap();
        for op in [crate::Op::Write, crate::Op::Sync, crate::Op::Rename] {
            sim.fail(op, 0);
            assert!(replace(&disk, &path, b"new").is_err(), "{op:?}");
            sim.clear_failures();
            assert_eq!(read_file(&disk, &path, 10).unwrap().unwrap(), b"old");
            assert!(!disk.exists(&temp_path(&path)).unwrap(), "{op:?}");
        }
    }

    #[test]
    fn read_file_refuses_a_file_longer_than_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a");
        fs::write(&path, b"12345").unwrap();
        let disk = Disk::real();
        assert_eq!(read_file(&disk, &path, 5).unwrap().unwrap(), b"12345");
        assert!(read_file(&disk, &path, 4).unwrap_err().is_corruption());
        assert_eq!(read_file(&disk, &dir.path().join("b"), 4).unwrap(), None);
    }
}
