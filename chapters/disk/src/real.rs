//! The real file system, through `std::fs`: a thin layer that adds nothing
//! but positioned reads on every platform and a directory lock.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::Path;

use crate::{DirEntry, DirLock, FileSystem, ReadFile, WriteFile};

use crate::LOCK_FILE;

/// `std::fs`, as a [`FileSystem`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

struct Reader(File);

impl ReadFile for Reader {
    // ANCHOR: pread
    /// `pread` on Unix: the offset is an argument, the file's cursor is
    /// left alone, so readers sharing the file cannot disturb each other.
    #[cfg(unix)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::read_at(&self.0, buf, offset)
    }
    // ANCHOR_END: pread

    #[cfg(windows)]
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        // Moves the file's cursor, which no reader of this interface uses.
        std::os::windows::fs::FileExt::seek_read(&self.0, buf, offset)
    }

    fn len(&self) -> io::Result<u64> {
        Ok(self.0.metadata()?.len())
    }
}

struct Writer(File);

impl io::Write for Writer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl WriteFile for Writer {
    fn sync(&mut self) -> io::Result<()> {
        self.0.sync_all()
    }
}

impl FileSystem for RealFs {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WriteFile>> {
        Ok(Box::new(Writer(File::create(path)?)))
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        Ok(Box::new(Reader(File::open(path)?)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        fs::create_dir(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            entries.push(DirEntry {
                name: entry.file_name(),
                is_dir: entry.file_type()?.is_dir(),
            });
        }
        Ok(entries)
    }

    #[cfg(not(windows))]
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    /// Windows cannot open a directory as a file to sync it (and NTFS
    /// journals its renames itself), so there is nothing to do.
    #[cfg(windows)]
    fn sync_dir(&self, _dir: &Path) -> io::Result<()> {
        Ok(())
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        path.try_exists()
    }

    // ANCHOR: lock
    /// An advisory lock on `dir/LOCK` (`flock` on Unix, `LockFileEx` on
    /// Windows). The operating system releases it when the file is closed,
    /// including when the process dies, so a crash never leaves a store
    /// locked.
    ///
    /// A lock just released can look held for a moment: if another thread
    /// of the process forked a child while the lock's file was open, the
    /// child holds a copy of it until it starts its program. So a held
    /// lock is tried a few more times, for a fraction of a second, before
    /// the open is refused.
    fn lock(&self, dir: &Path) -> io::Result<DirLock> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(LOCK_FILE))?;
        let mut tries = 0;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(DirLock::new(file)),
                Err(TryLockError::WouldBlock) if tries < LOCK_RETRIES => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(TryLockError::WouldBlock) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        "locked by another open store (in this process or another)",
                    ));
                }
                Err(TryLockError::Error(e)) => return Err(e),
            }
        }
    }
    // ANCHOR_END: lock
}

/// How many more times a held lock is tried, 10 ms apart.
const LOCK_RETRIES: u32 = 20;
