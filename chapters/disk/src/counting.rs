//! Positioned reads of a file, counted.
//!
//! A lookup reads at an offset with a positioned read (`pread`), which
//! takes the offset as an argument instead of moving the file's shared
//! cursor: two lookups through `&self` cannot disturb each other, and each
//! costs one system call instead of a seek and a read. The counters make
//! the cost of every operation something a test can assert.

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ch00_contract::{Error, IoContext, Result};

use crate::{Disk, ReadFile};

// ANCHOR: file
/// An open file that counts the reads made through it.
pub struct CountingFile {
    file: Box<dyn ReadFile>,
    path: PathBuf,
    len: u64,
    /// Atomic so that reads can count through `&self`.
    reads: AtomicU64,
    bytes_read: AtomicU64,
}

impl CountingFile {
    /// Opens `path` on `disk` for reading.
    pub fn open(disk: &Disk, path: &Path) -> Result<CountingFile> {
        let file = disk.open(path).context("opening", path)?;
        let len = file.len().context("reading the length of", path)?;
        Ok(CountingFile {
            file,
            path: path.to_path_buf(),
            len,
            reads: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
        })
    }

    /// Fills `buf` with the bytes at `offset`, in one counted read (one
    /// system call, unless the kernel returns fewer bytes than asked, when
    /// it is asked again for the rest). A file that ends first is damaged:
    /// its format promised those bytes.
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| match e.kind() {
                ErrorKind::UnexpectedEof => Error::corruption(
                    &self.path,
                    offset,
                    format!("{} bytes", buf.len()),
                    "the end of the file",
                ),
                _ => Error::io("reading", &self.path, e),
            })?;
        self.bytes_read
            .fetch_add(buf.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}
// ANCHOR_END: file

impl CountingFile {
    /// The file's length when it was opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file was empty when opened.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file's path, for errors.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The file was renamed to `path` while open (an open file follows its
    /// rename): errors name the new path.
    pub fn renamed(&mut self, path: &Path) {
        self.path = path.to_path_buf();
    }

    /// Read calls made so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Bytes those calls returned.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }
}

impl fmt::Debug for CountingFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountingFile")
            .field("path", &self.path)
            .field("len", &self.len)
            .field("reads", &self.reads)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SimDisk, atomic};

    #[test]
    fn reads_are_counted_and_a_short_file_is_damage() {
        let sim = SimDisk::new();
        sim.add_root(Path::new("/d"));
        let disk = Disk::simulated(sim);
        let path = Path::new("/d/f");
        atomic::write_file(&disk, path, b"0123456789").unwrap();
        let file = CountingFile::open(&disk, path).unwrap();
        assert_eq!(file.len(), 10);
        let mut buf = [0; 4];
        file.read_exact_at(&mut buf, 3).unwrap();
        assert_eq!(&buf, b"3456");
        let err = file.read_exact_at(&mut buf, 8).unwrap_err();
        assert!(err.is_corruption(), "{err}");
        assert!(err.to_string().contains("/d/f at byte offset 8"), "{err}");
        assert_eq!((file.reads(), file.bytes_read()), (2, 4));
    }
}
