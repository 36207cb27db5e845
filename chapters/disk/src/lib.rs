//! File I/O through one small interface.
//!
//! Every disk stage of the book claims that its `fsync` calls are in the
//! right places, and a test that only kills the process cannot check that
//! claim: the operating system keeps what a killed process wrote, synced or
//! not. Checking it needs a disk that forgets what was not synced, and that
//! can fail an operation on purpose, the way LevelDB's fault-injection
//! environment and SQLite's crash-test file system do.
//!
//! So stages do their file and directory I/O through [`FileSystem`], which
//! has two implementations: [`RealFs`], over `std::fs`, which stages use by
//! default; and [`SimDisk`], in memory, for tests: it keeps what has been
//! synced apart from what has only been written, loses the rest on
//! [`SimDisk::power_loss`], fails the Nth operation of a kind when told to,
//! and counts operations.
//!
//! A stage's options hold a [`Disk`], the real one unless a test says
//! otherwise, and every file the stage touches goes through it. The
//! helpers the stages share live here too: [`atomic`] replacement of a
//! file, the [`CountingFile`] that counts a table's reads, and the
//! [`Checksummed`] writer that computes a CRC-32 as a file streams out.
//!
//! The interface is deliberately small: what a store needs, no more.
//! Files are written once, front to back, and then only read; a store
//! never edits a file in place.

use std::ffi::OsString;
use std::fmt;
use std::io;
use std::ops::Deref;
use std::path::Path;
use std::sync::Arc;

pub mod atomic;
mod checksum;
mod counting;
mod real;
mod sim;
pub mod sweep;

pub use checksum::Checksummed;
pub use counting::CountingFile;
pub use real::RealFs;

/// The file a locked directory holds (empty; the lock is on the open file).
/// A store that checks its directory for strangers lets this one be.
pub const LOCK_FILE: &str = "LOCK";
pub use sim::{Op, SimDisk, TornWrites};

// ANCHOR: file_system
/// The file and directory operations a store needs.
///
/// Errors are plain `io::Error`s; the store attaches the path and what it
/// was doing. Paths are the store's own: the simulated disk knows only the
/// directories it was given or asked to create.
pub trait FileSystem: fmt::Debug + Send + Sync {
    /// Creates the file at `path` for writing from its start, replacing
    /// (truncating) any file of that name. Its directory entry is durable
    /// only once the directory is synced.
    fn create(&self, path: &Path) -> io::Result<Box<dyn WriteFile>>;

    /// Opens the file at `path` for positioned reads.
    fn open(&self, path: &Path) -> io::Result<Box<dyn ReadFile>>;

    /// Renames a file, replacing any file at `to`, atomically: a reader sees
    /// the old file or the new one under `to`, never neither. Durable only
    /// once the directories involved are synced.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Removes a file. Durable only once its directory is synced.
    fn remove_file(&self, path: &Path) -> io::Result<()>;

    /// Creates a directory whose parent exists. Durable only once the
    /// parent is synced.
    fn create_dir(&self, path: &Path) -> io::Result<()>;

    /// The entries of a directory, in no particular order.
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>>;

    /// Makes the directory's entries (files created, renamed or removed in
    /// it) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;

    /// Whether a file or directory exists at `path`.
    fn exists(&self, path: &Path) -> io::Result<bool>;

    /// Takes the lock of a store's directory, or fails at once with
    /// `ErrorKind::WouldBlock` if another holder (in this process or
    /// another) has it. The lock is released when the returned guard is
    /// dropped, or when the process dies.
    fn lock(&self, dir: &Path) -> io::Result<DirLock>;
}

/// A file open for reading.
pub trait ReadFile: Send + Sync {
    /// Reads into `buf` from `offset`, returning how many bytes were read
    /// (fewer only at the end of the file). Takes `&self`: positioned reads
    /// leave no cursor behind, so readers can share the file.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize>;

    /// The file's length in bytes.
    fn len(&self) -> io::Result<u64>;

    /// Whether the file is empty.
    fn is_empty(&self) -> io::Result<bool> {
        Ok(self.len()? == 0)
    }

    /// Fills `buf` from `offset`, or fails with `UnexpectedEof`.
    fn read_exact_at(&self, mut buf: &mut [u8], mut offset: u64) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read_at(buf, offset)? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the file ended before the bytes asked for",
                    ));
                }
                n => {
                    buf = &mut buf[n..];
                    offset += n as u64;
                }
            }
        }
        Ok(())
    }
}

/// A file open for writing, front to back.
pub trait WriteFile: io::Write + Send {
    /// Makes everything written so far durable (`fsync`).
    fn sync(&mut self) -> io::Result<()>;
}
// ANCHOR_END: file_system

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct DirEntry {
    /// The entry's name within the directory.
    pub name: OsString,
    /// Whether it is a directory (otherwise a file).
    pub is_dir: bool,
}

/// A held directory lock; dropping it releases the lock.
pub struct DirLock {
    _held: Box<dyn Send + Sync>,
}

impl DirLock {
    /// A lock that lasts as long as `held` does.
    pub fn new(held: impl Send + Sync + 'static) -> DirLock {
        DirLock {
            _held: Box::new(held),
        }
    }
}

impl fmt::Debug for DirLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DirLock")
    }
}

// ANCHOR: disk
/// The file system a store does its I/O through: a cheap, cloneable
/// handle, and a field of a stage's options. The default is the real one.
#[derive(Clone)]
pub struct Disk {
    fs: Arc<dyn FileSystem>,
    /// The same disk as a [`SimDisk`], when it is one, so that a test can
    /// cut its power.
    sim: Option<SimDisk>,
}

impl Disk {
    /// The real file system.
    pub fn real() -> Disk {
        Disk::new(RealFs)
    }

    /// Any file system.
    pub fn new(fs: impl FileSystem + 'static) -> Disk {
        Disk {
            fs: Arc::new(fs),
            sim: None,
        }
    }

    /// The simulated disk `sim` (a handle to it: the test keeps another).
    pub fn simulated(sim: SimDisk) -> Disk {
        Disk {
            fs: Arc::new(sim.clone()),
            sim: Some(sim),
        }
    }

    /// The simulated disk this is, if it is one.
    pub fn sim(&self) -> Option<&SimDisk> {
        self.sim.as_ref()
    }
}
// ANCHOR_END: disk

impl Disk {
    /// A fresh simulated disk for the conformance suite: what a power loss
    /// does to unsynced bytes (lost, a torn prefix, or a prefix ending in
    /// garbage) is drawn from `seed`, like the tear itself, so that the
    /// suite's many cases try all three.
    pub fn for_suite(seed: u64) -> Disk {
        let sim = SimDisk::with_seed(seed);
        sim.set_torn_writes(match seed % 3 {
            0 => TornWrites::Lost,
            1 => TornWrites::Prefix,
            _ => TornWrites::Garbage,
        });
        Disk::simulated(sim)
    }

    /// This disk as the suite's power switch, if it is simulated.
    pub fn power_switch(&self) -> Option<&dyn ch00_contract::PowerSwitch> {
        self.sim
            .as_ref()
            .map(|s| s as &dyn ch00_contract::PowerSwitch)
    }
}

impl Default for Disk {
    fn default() -> Self {
        Disk::real()
    }
}

impl Deref for Disk {
    type Target = dyn FileSystem;

    fn deref(&self) -> &Self::Target {
        self.fs.as_ref()
    }
}

impl fmt::Debug for Disk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fs.fmt(f)
    }
}
