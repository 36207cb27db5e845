//! A disk in memory that can lose power and fail on purpose.
//!
//! It keeps two versions of everything: what has been written (what reads
//! see) and what has been synced (what survives a power loss). A file is an
//! inode with its written bytes and its synced bytes; a directory has its
//! current entries and its synced entries. [`SimDisk::power_loss`] throws
//! the written versions away: every file goes back to its synced bytes
//! (perhaps with part of what followed, torn, if asked), every directory to
//! its synced entries, so a file created, renamed or removed without a sync
//! of its directory is back where it was.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::{DirEntry, DirLock, FileSystem, ReadFile, WriteFile};

// ANCHOR: op
/// The kinds of operation the disk counts, and can be told to fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// Creating (or truncating) a file.
    Create,
    /// Opening a file for reading.
    Open,
    /// One positioned read.
    Read,
    /// One write call to a file.
    Write,
    /// Syncing a file.
    Sync,
    /// Renaming a file.
    Rename,
    /// Removing a file.
    Remove,
    /// Creating a directory.
    CreateDir,
    /// Listing a directory.
    List,
    /// Syncing a directory.
    SyncDir,
}
// ANCHOR_END: op

/// What a power loss does to bytes written after a file's last sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TornWrites {
    /// They are all gone: every file holds exactly its synced bytes.
    #[default]
    Lost,
    /// Some of them, from the front, survive: a random prefix (chosen by
    /// the disk's seed), as when the disk had written some sectors.
    Prefix,
    /// A random prefix survives, and its last bytes are garbage, as when a
    /// sector was half written.
    Garbage,
}

// ANCHOR: inode
/// A file's contents.
#[derive(Clone, Debug, Default)]
struct Inode {
    /// What has been written: what reads see.
    data: Vec<u8>,
    /// What has been synced: what survives a power loss.
    synced: Vec<u8>,
    /// A sync of this file failed: like a kernel that drops the pages it
    /// could not write and marks them clean, the disk never makes this
    /// file's unsynced bytes durable, though later syncs report success.
    sync_failed: bool,
    /// The file was truncated (created again over itself) since its last
    /// sync: a power loss may leave it empty, or holding part of the new
    /// bytes, but not the old ones whole.
    truncated: bool,
}

/// What a directory entry names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    File(u64),
    Dir,
}

/// A directory.
#[derive(Clone, Debug, Default)]
struct Dir {
    /// Its entries now.
    entries: BTreeMap<OsString, Node>,
    /// Its entries as of its last sync.
    synced: BTreeMap<OsString, Node>,
    /// A root: given to the disk, not created in it, so it survives any
    /// power loss.
    root: bool,
}
// ANCHOR_END: inode

#[derive(Clone, Debug, Default)]
struct State {
    inodes: HashMap<u64, Inode>,
    next_inode: u64,
    dirs: BTreeMap<PathBuf, Dir>,
    locks: HashSet<PathBuf>,
    /// Operations counted since the disk was made.
    counts: BTreeMap<Op, u64>,
    /// Failures to inject: the kind, and how many more operations of that
    /// kind succeed first.
    failures: Vec<(Op, u64)>,
    /// Bytes that may still be written before the disk is full.
    space: Option<u64>,
    torn: TornWrites,
    /// The random state for torn writes (splitmix64).
    rng: u64,
    /// Bumped by every power loss: handles opened before it are dead.
    epoch: u64,
    /// Injected failures that fired.
    failed: u64,
}

/// A disk in memory. Cloning it gives another handle to the same disk.
#[derive(Clone, Default)]
pub struct SimDisk {
    state: Arc<Mutex<State>>,
}

impl fmt::Debug for SimDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimDisk")
    }
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file or directory", path.display()),
    )
}

fn already_exists(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{}: already exists", path.display()),
    )
}

/// The directory and the name of `path`, with `.` and `..` rejected: the
/// disk's paths are plain.
fn split(path: &Path) -> io::Result<(PathBuf, OsString)> {
    if path
        .components()
        .any(|c| matches!(c, Component::CurDir | Component::ParentDir))
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: the simulated disk takes plain paths", path.display()),
        ));
    }
    match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => Ok((dir.to_path_buf(), name.to_os_string())),
        _ => Err(not_found(path)),
    }
}

impl State {
    /// Counts an operation, and fails it if a failure was injected for it.
    fn begin(&mut self, op: Op) -> io::Result<()> {
        let fired = self.fire(op);
        if fired.is_err() {
            self.failed += 1;
        }
        fired
    }

    fn fire(&mut self, op: Op) -> io::Result<()> {
        *self.counts.entry(op).or_default() += 1;
        // Every failure waiting for this kind counts the operation; those
        // whose turn it is fire (and are used up).
        let mut fail = false;
        self.failures.retain_mut(|(kind, before)| {
            if *kind != op {
                return true;
            }
            if *before == 0 {
                fail = true;
                return false;
            }
            *before -= 1;
            true
        });
        if fail {
            return Err(io::Error::other(format!(
                "injected failure of a {op:?} operation"
            )));
        }
        Ok(())
    }

    fn dir(&self, path: &Path) -> io::Result<&Dir> {
        self.dirs.get(path).ok_or_else(|| not_found(path))
    }

    fn dir_mut(&mut self, path: &Path) -> io::Result<&mut Dir> {
        self.dirs.get_mut(path).ok_or_else(|| not_found(path))
    }

    /// The inode of the file at `path`.
    fn file(&self, path: &Path) -> io::Result<u64> {
        let (dir, name) = split(path)?;
        match self.dir(&dir)?.entries.get(&name) {
            Some(Node::File(inode)) => Ok(*inode),
            Some(Node::Dir) => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{}: is a directory", path.display()),
            )),
            None => Err(not_found(path)),
        }
    }

    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    // ANCHOR: survivor
    /// What a file holds after a power loss.
    fn survivor(&mut self, inode: &Inode) -> Vec<u8> {
        // A truncation reaches the disk on its own (it is metadata), so
        // what survives starts from nothing rather than the old bytes.
        let base: &[u8] = if inode.truncated { &[] } else { &inode.synced };
        let mut kept = base.to_vec();
        let extends = inode.data.starts_with(base);
        if inode.sync_failed || !extends || self.torn == TornWrites::Lost {
            return kept;
        }
        let unsynced = &inode.data[base.len()..];
        if unsynced.is_empty() {
            return kept;
        }
        let len = (self.next_random() % (unsynced.len() as u64 + 1)) as usize;
        kept.extend_from_slice(&unsynced[..len]);
        if self.torn == TornWrites::Garbage && len > 0 {
            let garbage = len.min(1 + (self.next_random() % 16) as usize);
            let start = kept.len() - garbage;
            for byte in &mut kept[start..] {
                *byte = self.next_random() as u8;
            }
        }
        kept
    }
    // ANCHOR_END: survivor
}

// ANCHOR: power_loss
impl SimDisk {
    /// An empty disk.
    pub fn new() -> SimDisk {
        SimDisk::default()
    }

    /// An empty disk whose torn writes are drawn from `seed`.
    pub fn with_seed(seed: u64) -> SimDisk {
        let disk = SimDisk::new();
        disk.state().rng = seed;
        disk
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock left the state as it
        // was; the disk is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Makes `dir` (and every directory above it) exist, durably: the
    /// directory a store is opened in, which existed before the test.
    pub fn add_root(&self, dir: &Path) {
        let mut state = self.state();
        for ancestor in dir.ancestors() {
            let entry = state.dirs.entry(ancestor.to_path_buf()).or_default();
            entry.root = true;
        }
    }

    /// What a power loss leaves. `TornWrites` says what happens to bytes
    /// written after a file's last sync.
    pub fn set_torn_writes(&self, torn: TornWrites) {
        self.state().torn = torn;
    }

    /// The power fails, and comes back: every file holds its synced bytes
    /// (and, with torn writes, part of what followed), every directory its
    /// synced entries; files and directories no synced entry names are
    /// gone; locks are released; handles opened before are dead.
    pub fn power_loss(&self) {
        let mut state = self.state();
        state.epoch += 1;
        state.locks.clear();
        // Directories go back to their synced entries, and a directory that
        // no synced entry names is gone, with everything below it.
        for dir in state.dirs.values_mut() {
            dir.entries = dir.synced.clone();
        }
        let paths: Vec<PathBuf> = state.dirs.keys().cloned().collect();
        for path in paths {
            let root = state.dirs.get(&path).is_none_or(|d| d.root);
            let named = match (path.parent(), path.file_name()) {
                (Some(parent), Some(name)) => state
                    .dirs
                    .get(parent)
                    .is_some_and(|p| p.entries.get(name) == Some(&Node::Dir)),
                _ => false,
            };
            if !root && !named {
                state.dirs.retain(|p, _| !p.starts_with(&path));
            }
        }
        // Files no entry names are gone; the others keep what was synced.
        let live: HashSet<u64> = state
            .dirs
            .values()
            .flat_map(|d| d.entries.values())
            .filter_map(|n| match n {
                Node::File(inode) => Some(*inode),
                Node::Dir => None,
            })
            .collect();
        let mut inodes = std::mem::take(&mut state.inodes);
        inodes.retain(|inode, _| live.contains(inode));
        for inode in inodes.values_mut() {
            let kept = state.survivor(inode);
            *inode = Inode {
                data: kept.clone(),
                synced: kept,
                sync_failed: false,
                truncated: false,
            };
        }
        state.inodes = inodes;
    }
    // ANCHOR_END: power_loss

    /// Makes the operation of kind `op` after the next `skip` ones fail
    /// with an I/O error (`skip = 0`: the very next one). Each call adds
    /// one failure.
    pub fn fail(&self, op: Op, skip: u64) {
        self.state().failures.push((op, skip));
    }

    /// Forgets failures injected and not yet reached.
    pub fn clear_failures(&self) {
        self.state().failures.clear();
    }

    /// Lets `bytes` more bytes be written, then reports the disk full
    /// (`ErrorKind::StorageFull`); `None` for no limit.
    pub fn set_space(&self, bytes: Option<u64>) {
        self.state().space = bytes;
    }

    /// The bytes that may still be written before the disk is full, if
    /// there is a limit.
    pub fn space(&self) -> Option<u64> {
        self.state().space
    }

    /// A second disk holding a copy of everything on this one, written and
    /// synced, with no failures to inject and no space limit: what a power
    /// loss at this moment would leave can be looked at on the copy while
    /// this disk goes on. Handles and locks stay with this disk.
    pub fn fork(&self) -> SimDisk {
        let mut state = self.state().clone();
        state.failures.clear();
        state.space = None;
        state.locks.clear();
        // Handles of this disk carry its epoch; the copy's is its own.
        state.epoch += 1;
        SimDisk {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// How many injected failures have fired (a write refused because the
    /// disk is full counts as one).
    pub fn count_failed(&self) -> u64 {
        self.state().failed
    }

    /// How many operations of kind `op` the disk has been asked for.
    pub fn count(&self, op: Op) -> u64 {
        self.state().counts.get(&op).copied().unwrap_or(0)
    }

    /// The bytes of the file at `path` as reads see them, for tests.
    pub fn contents(&self, path: &Path) -> io::Result<Vec<u8>> {
        let state = self.state();
        let inode = state.file(path)?;
        Ok(state
            .inodes
            .get(&inode)
            .map(|i| i.data.clone())
            .unwrap_or_default())
    }
}

impl ch00_contract::PowerSwitch for SimDisk {
    fn add_root(&self, dir: &Path) {
        SimDisk::add_root(self, dir);
    }

    fn power_loss(&self) {
        SimDisk::power_loss(self);
    }
}

/// A handle's link to its file: which disk, which inode, from which epoch.
struct Handle {
    disk: SimDisk,
    inode: u64,
    epoch: u64,
    path: PathBuf,
}

impl Handle {
    /// The state, if the handle is still alive (no power loss since it was
    /// opened, and the inode still exists).
    fn state(&self) -> io::Result<MutexGuard<'_, State>> {
        let state = self.disk.state();
        if state.epoch != self.epoch || !state.inodes.contains_key(&self.inode) {
            return Err(io::Error::other(format!(
                "{}: the file was lost (a power loss since it was opened)",
                self.path.display()
            )));
        }
        Ok(state)
    }
}

struct SimReader(Handle);

impl ReadFile for SimReader {
    fn read_at(&self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        let mut state = self.0.state()?;
        state.begin(Op::Read)?;
        let data = &state.inodes[&self.0.inode].data;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(data.len());
        let n = buf.len().min(data.len() - start);
        buf[..n].copy_from_slice(&data[start..start + n]);
        Ok(n)
    }

    fn len(&self) -> io::Result<u64> {
        let state = self.0.state()?;
        Ok(state.inodes[&self.0.inode].data.len() as u64)
    }
}

struct SimWriter(Handle);

impl io::Write for SimWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.0.state()?;
        state.begin(Op::Write)?;
        let mut n = buf.len();
        if let Some(space) = state.space {
            if space == 0 && n > 0 {
                state.failed += 1;
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    format!("{}: no space left on the disk", self.0.path.display()),
                ));
            }
            n = n.min(usize::try_from(space).unwrap_or(usize::MAX));
            state.space = Some(space - n as u64);
        }
        if let Some(inode) = state.inodes.get_mut(&self.0.inode) {
            inode.data.extend_from_slice(&buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// ANCHOR: file_sync
impl WriteFile for SimWriter {
    fn sync(&mut self) -> io::Result<()> {
        let mut state = self.0.state()?;
        let result = state.begin(Op::Sync);
        if let Some(inode) = state.inodes.get_mut(&self.0.inode) {
            match result {
                Err(_) => inode.sync_failed = true,
                Ok(()) if !inode.sync_failed => {
                    inode.synced = inode.data.clone();
                    inode.truncated = false;
                }
                // The pages were dropped: the sync "succeeds", and the
                // disk still holds the old bytes.
                Ok(()) => {}
            }
        }
        result
    }
}
// ANCHOR_END: file_sync

impl FileSystem for SimDisk {
    fn create(&self, path: &Path) -> io::Result<Box<dyn WriteFile>> {
        let mut state = self.state();
        state.begin(Op::Create)?;
        let (dir, name) = split(path)?;
        let inode = match state.dir(&dir)?.entries.get(&name) {
            Some(Node::Dir) => return Err(already_exists(path)),
            // Truncating keeps the inode; until the next sync a power loss
            // leaves it empty or torn (see `survivor`), never the old
            // bytes whole: the mistake of writing a file in place.
            Some(Node::File(inode)) => {
                let inode = *inode;
                if let Some(i) = state.inodes.get_mut(&inode) {
                    i.data.clear();
                    i.sync_failed = false;
                    i.truncated = true;
                }
                inode
            }
            None => {
                let inode = state.next_inode;
                state.next_inode += 1;
                state.inodes.insert(inode, Inode::default());
                state.dir_mut(&dir)?.entries.insert(name, Node::File(inode));
                inode
            }
        };
        let epoch = state.epoch;
        Ok(Box::new(SimWriter(Handle {
            disk: self.clone(),
            inode,
            epoch,
            path: path.to_path_buf(),
        })))
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        let mut state = self.state();
        state.begin(Op::Open)?;
        let inode = state.file(path)?;
        let epoch = state.epoch;
        Ok(Box::new(SimReader(Handle {
            disk: self.clone(),
            inode,
            epoch,
            path: path.to_path_buf(),
        })))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.state();
        state.begin(Op::Rename)?;
        let inode = state.file(from)?;
        let (from_dir, from_name) = split(from)?;
        let (to_dir, to_name) = split(to)?;
        if state.dir(&to_dir)?.entries.get(&to_name) == Some(&Node::Dir) {
            return Err(already_exists(to));
        }
        state.dir_mut(&from_dir)?.entries.remove(&from_name);
        state
            .dir_mut(&to_dir)?
            .entries
            .insert(to_name, Node::File(inode));
        Ok(())
    }

    fn remove_file(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state();
        state.begin(Op::Remove)?;
        state.file(path)?;
        let (dir, name) = split(path)?;
        state.dir_mut(&dir)?.entries.remove(&name);
        Ok(())
    }

    fn create_dir(&self, path: &Path) -> io::Result<()> {
        let mut state = self.state();
        state.begin(Op::CreateDir)?;
        let (parent, name) = split(path)?;
        if state.dir(&parent)?.entries.contains_key(&name) || state.dirs.contains_key(path) {
            return Err(already_exists(path));
        }
        state.dir_mut(&parent)?.entries.insert(name, Node::Dir);
        state.dirs.insert(path.to_path_buf(), Dir::default());
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        let mut state = self.state();
        state.begin(Op::List)?;
        let mut entries: Vec<DirEntry> = state
            .dir(dir)?
            .entries
            .iter()
            .map(|(name, node)| DirEntry {
                name: name.clone(),
                is_dir: *node == Node::Dir,
            })
            .collect();
        // Roots given to the disk are listed by their parents too.
        for (path, d) in &state.dirs {
            let name = match path.file_name() {
                Some(name) if d.root && path.parent() == Some(dir) => name,
                _ => continue,
            };
            if !entries.iter().any(|e| e.name == name) {
                entries.push(DirEntry {
                    name: name.to_os_string(),
                    is_dir: true,
                });
            }
        }
        Ok(entries)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.state();
        state.begin(Op::SyncDir)?;
        let d = state.dir_mut(dir)?;
        d.synced = d.entries.clone();
        Ok(())
    }

    fn exists(&self, path: &Path) -> io::Result<bool> {
        let state = self.state();
        if state.dirs.contains_key(path) {
            return Ok(true);
        }
        let (dir, name) = split(path)?;
        Ok(state
            .dirs
            .get(&dir)
            .is_some_and(|d| d.entries.contains_key(&name)))
    }

    fn lock(&self, dir: &Path) -> io::Result<DirLock> {
        let mut state = self.state();
        state.dir(dir)?;
        if !state.locks.insert(dir.to_path_buf()) {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                "locked by another open store (in this process or another)",
            ));
        }
        let epoch = state.epoch;
        Ok(DirLock::new(Unlock {
            disk: self.clone(),
            dir: dir.to_path_buf(),
            epoch,
        }))
    }
}

/// Releases a simulated lock when dropped (unless a power loss already
/// released every lock).
struct Unlock {
    disk: SimDisk,
    dir: PathBuf,
    epoch: u64,
}

impl Drop for Unlock {
    fn drop(&mut self) {
        let mut state = self.disk.state();
        if state.epoch == self.epoch {
            state.locks.remove(&self.dir);
        }
    }
}
