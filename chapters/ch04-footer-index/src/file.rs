//! Positioned reads of a table file, counted.
//!
//! A lookup reads at an offset with `pread` (`read_at`), which takes the
//! offset as an argument instead of moving the file's shared cursor: two
//! lookups through `&self` cannot disturb each other, and each costs one
//! system call instead of a seek and a read. The counters make the cost of
//! every operation something a test can assert.

use std::fs::File;
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ch00_contract::{Error, IoContext, Result};

// ANCHOR: file
/// An open table file that counts the reads made through it.
#[derive(Debug)]
pub struct CountingFile {
    file: File,
    path: PathBuf,
    len: u64,
    /// Atomic so that reads can count through `&self`.
    reads: AtomicU64,
    bytes_read: AtomicU64,
}

impl CountingFile {
    /// Opens `path` for reading.
    pub fn open(path: &Path) -> Result<CountingFile> {
        let file = File::open(path).context("opening", path)?;
        let len = file
            .metadata()
            .context("reading the length of", path)?
            .len();
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
    /// `read_exact_at` asks again for the rest). A file that ends first is
    /// damaged: its footer promised those bytes.
    pub fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        read_exact_at(&self.file, buf, offset).map_err(|e| match e.kind() {
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

    /// Read calls made so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Bytes those calls returned.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Ordering::Relaxed)
    }
}

// ANCHOR: pread
/// `pread` on Unix; Windows has no call that leaves the cursor alone, but
/// `seek_read` takes the offset in the same way.
#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}
// ANCHOR_END: pread

#[cfg(windows)]
fn read_exact_at(file: &File, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, offset) {
            Ok(0) => return Err(ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                offset += n as u64;
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
