//! The store: a directory of files, one per key.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ch00_contract::{
    Durability, Error, IoContext, KeyRange, KeyValue, KvStore, Metrics, PowerSwitch, Result, Scan,
    Stage, Survives, check_key, check_value,
};
use disk::{DirEntry, DirLock, Disk, LOCK_FILE, atomic};

use crate::content;
use crate::hash::key_hash;
use crate::layout::{MARKER, Slot, TEMP_SUFFIX, is_fan_out_dir};
use crate::marker;
use crate::usage::{DiskUsage, disk_usage};

// ANCHOR: options
/// When writes reach the disk, as opposed to the operating system's cache.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// Every write's file is synced and renamed into place before `set`
    /// or `delete` returns, so it survives a crash of the process; `sync`
    /// syncs the directories whose names changed since the last sync, so
    /// that the renames survive a power failure too. After a power failure
    /// between syncs, each key holds its value from the last sync or a
    /// later one, always complete.
    #[default]
    OnSync,
    /// The directory is synced after every write as well: each write is
    /// durable against power failure when its call returns. One more
    /// `fsync` per write.
    EveryWrite,
}

/// How a store is opened.
#[derive(Clone, Debug)]
pub struct Options {
    /// When writes are synced.
    pub sync: SyncMode,
    /// How many bits of the key's hash name its file: 64 for real use.
    /// Tests use a handful so that different keys share a name, to prove
    /// that collisions lose nothing. Fixed when the store is created.
    pub hash_bits: u32,
    /// The file system every file goes through: the real one, or a
    /// simulated disk in tests.
    pub disk: Disk,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sync: SyncMode::OnSync,
            hash_bits: 64,
            disk: Disk::real(),
        }
    }
}
// ANCHOR_END: options

/// A key-value store that keeps each key in a file of its own, named by the
/// key's hash and holding `[value, key, checksum]` as JSON.
#[derive(Debug)]
pub struct FsStore {
    root: PathBuf,
    options: Options,
    /// Which of the 256 fan-out directories exist, so that a write does
    /// not ask the file system every time.
    dirs: [bool; 256],
    /// Directories whose names changed since the last sync, to be synced
    /// by the next.
    unsynced_dirs: BTreeSet<PathBuf>,
    // ANCHOR: failed_sync
    /// A directory sync that failed. The policy after a failed sync:
    ///
    /// - A failed sync of a *file* (the temporary one a write fills) fails
    ///   that write: nothing was renamed, the key's old file is whole, and
    ///   the temporary file is removed. Nothing needs remembering; a later
    ///   write of the key writes a new file.
    /// - A failed sync of a *directory* poisons the store: the renames in
    ///   it may never reach the disk, and the kernel may have dropped them
    ///   and marked the directory clean, so a second `fsync` could report
    ///   success for renames that are gone. The store refuses writes and
    ///   syncs from then on (reads still work). Only after a restart of
    ///   the machine does a reopen show what the disk really holds: until
    ///   then the kernel's copy of the directory still has the renames.
    ///   (The other choice, retrying by writing everything again from
    ///   memory, needs the data in memory; this store keeps none.)
    sync_failure: Option<String>,
    // ANCHOR_END: failed_sync
    /// Counters for [`KvStore::metrics`]: files read and their bytes.
    reads: AtomicU64,
    bytes_read: AtomicU64,
    /// Bytes of files written, for [`KvStore::metrics`].
    bytes_written: u64,
    /// The directory's lock, held while the store is open: a second store
    /// writing the same files would corrupt both.
    _lock: DirLock,
}

// ANCHOR: probe
/// What a lookup of a key among its hash's slots found.
enum Probe {
    /// The key is in `slot`, with this value.
    Found { slot: Slot, value: Vec<u8> },
    /// The key is absent; `Slot` is the first free slot of its hash.
    Absent(Slot),
}
// ANCHOR_END: probe

/// What a walk of the store's directory found.
struct Listing {
    /// Every key's slot, in order of hash and index.
    slots: Vec<Slot>,
    /// Which fan-out directories exist.
    dirs: [bool; 256],
}

impl FsStore {
    /// Opens the store in `dir` with [`Options::default`].
    pub fn open(dir: &Path) -> Result<FsStore> {
        FsStore::open_with(dir, &Options::default())
    }

    // ANCHOR: open
    /// Opens the store in `dir` (creating it if `dir` is empty), removes the
    /// temporary files a crash may have left, and checks that every file is
    /// one the store wrote.
    pub fn open_with(dir: &Path, options: &Options) -> Result<FsStore> {
        // ANCHOR: todo_open Refuse hash_bits over 64 and a foreign directory; lock; check or create the marker; list the files; every directory is unsynced.
        if options.hash_bits > 64 {
            return Err(Error::InvalidInput(format!(
                "hash_bits is {}; a 64-bit hash has at most 64",
                options.hash_bits
            )));
        }
        // Someone else's directory is refused before anything, the lock
        // file included, is written into it.
        let disk = &options.disk;
        marker::refuse_foreign(disk, dir)?;
        let lock = disk.lock(dir).context("locking", dir)?;
        marker::check_or_create(disk, dir, options.hash_bits)?;
        let mut store = FsStore {
            root: dir.to_path_buf(),
            options: options.clone(),
            dirs: [false; 256],
            unsynced_dirs: BTreeSet::new(),
            sync_failure: None,
            reads: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            bytes_written: 0,
            _lock: lock,
        };
        store.dirs = store.list(true)?.dirs;
        // An earlier store may have renamed files here and stopped (a
        // crash, or a drop without a sync) before syncing their
        // directories. This store answers with those files, so its first
        // sync must make them durable too: every directory counts as
        // changed until then.
        store.unsynced_dirs.insert(dir.to_path_buf());
        for (i, _) in store.dirs.iter().enumerate().filter(|(_, d)| **d) {
            store.unsynced_dirs.insert(dir.join(format!("{i:02x}")));
        }
        // With every write durable when its call returns, what the store
        // answers with must be durable before it answers: a delete of a key
        // an unsynced rename removed would otherwise return `Ok` with
        // nothing to sync, and a power loss would bring the key back.
        if store.sync_each_write() {
            store.sync_dirs()?;
        }
        Ok(store)
        // ANCHOR_END: todo_open
    }
    // ANCHOR_END: open

    /// The directory the store lives in.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The number of keys: one per file, so the files are listed (not read).
    pub fn len(&self) -> Result<usize> {
        Ok(self.list(false)?.slots.len())
    }

    /// Whether the store holds no key.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// What the store's directory takes on disk, next to
    /// [`FsStore::logical_bytes`].
    /// Measured on the real file system only: a simulated disk has no
    /// blocks.
    pub fn disk_usage(&self) -> Result<DiskUsage> {
        if self.options.disk.sim().is_some() {
            return Err(Error::InvalidInput(
                "disk usage is measured on the real file system only".into(),
            ));
        }
        disk_usage(&self.root)
    }

    /// The bytes of every key and value: what the disk use is compared
    /// with. Reads every file.
    pub fn logical_bytes(&self) -> Result<u64> {
        let mut total = 0;
        for entry in self.scan(KeyRange::all())? {
            let (key, value) = entry?;
            total += (key.len() + value.len()) as u64;
        }
        Ok(total)
    }

    fn sync_each_write(&self) -> bool {
        self.options.sync == SyncMode::EveryWrite
    }

    // ANCHOR: read_slot
    /// The entry in `slot`, `None` if there is no such file. The key read
    /// back must hash to the file's name: a file copied or renamed by hand
    /// would otherwise answer for a key it does not hold.
    fn read_slot(&self, slot: Slot) -> Result<Option<KeyValue>> {
        // ANCHOR: todo_read_slot Read the slot's file if it exists (count the read and its bytes), decode it, and check that its key hashes to this slot; no file is None.
        let path = slot.path(&self.root);
        let Some(bytes) = atomic::read_file(&self.options.disk, &path, content::MAX_FILE_LEN)?
        else {
            return Ok(None);
        };
        self.reads.fetch_add(1, Ordering::Relaxed);
        self.bytes_read
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let (key, value) = content::decode(&path, &bytes)?;
        let hash = key_hash(&key, self.options.hash_bits);
        // ANCHOR: armour_slot_hash Refuse a file whose key does not hash to its name.
        if hash != slot.hash {
            return Err(Error::corruption(
                path,
                0,
                format!(
                    "a key whose hash is {:016x}, as the file name says",
                    slot.hash
                ),
                format!("a key whose hash is {hash:016x}"),
            ));
        }
        // ANCHOR_END: armour_slot_hash
        Ok(Some((key, value)))
        // ANCHOR_END: todo_read_slot
    }
    // ANCHOR_END: read_slot

    // ANCHOR: find
    /// Looks for `key` in the slots of its hash, in order, up to the first
    /// missing one. Without collisions that is one file read.
    fn find(&self, key: &[u8]) -> Result<Probe> {
        // ANCHOR: todo_find Probe the key's slots from 0: the slot holding the key, or the first free one.
        let mut slot = Slot {
            hash: key_hash(key, self.options.hash_bits),
            index: 0,
        };
        loop {
            match self.read_slot(slot)? {
                None => return Ok(Probe::Absent(slot)),
                Some((k, value)) if k == key => return Ok(Probe::Found { slot, value }),
                Some(_) => slot = self.next_slot(slot)?,
            }
        }
        // ANCHOR_END: todo_find
    }
    // ANCHOR_END: find

    fn next_slot(&self, slot: Slot) -> Result<Slot> {
        slot.next().ok_or_else(|| {
            Error::InvalidInput(format!(
                "too many keys share the hash {:016x} in {}",
                slot.hash,
                self.root.display()
            ))
        })
    }

    /// Creates `slot`'s fan-out directory unless it is known to exist.
    fn ensure_dir(&mut self, slot: Slot) -> Result<()> {
        let i = (slot.hash >> 56) as usize;
        if self.dirs[i] {
            return Ok(());
        }
        let dir = self.root.join(slot.dir_name());
        match self.options.disk.create_dir(&dir) {
            Err(e) if e.kind() != ErrorKind::AlreadyExists => {
                return Err(Error::io("creating directory", dir, e));
            }
            _ => {}
        }
        let root = self.root.clone();
        self.changed_dir(&root)?;
        self.dirs[i] = true;
        Ok(())
    }

    /// Records that names in `dir` changed: synced now (every write) or
    /// by the next `sync`. Either way a failed sync is remembered.
    fn changed_dir(&mut self, dir: &Path) -> Result<()> {
        self.unsynced_dirs.insert(dir.to_path_buf());
        if self.sync_each_write() {
            self.sync_dirs()?;
        }
        Ok(())
    }

    /// Syncs every directory recorded as changed.
    fn sync_dirs(&mut self) -> Result<()> {
        while let Some(dir) = self.unsynced_dirs.pop_first() {
            if let Err(e) = atomic::sync_dir(&self.options.disk, &dir) {
                self.sync_failure = Some(e.to_string());
                return Err(e);
            }
        }
        Ok(())
    }

    /// An error if an earlier sync failed (see `sync_failure`).
    fn check_syncs(&self) -> Result<()> {
        match &self.sync_failure {
            None => Ok(()),
            Some(failure) => Err(Error::Poisoned {
                path: self.root.clone(),
                cause: failure.clone(),
            }),
        }
    }

    // ANCHOR: list
    /// Every slot in the store, checked: only names the store writes, no
    /// gap in any hash's slots. With `remove_temps`, the store's temporary
    /// files (a write a crash interrupted) are deleted; otherwise they are
    /// skipped, since they are never data.
    fn list(&self, remove_temps: bool) -> Result<Listing> {
        let stray = |path: &Path| {
            Error::corruption(
                path,
                0,
                format!(
                    "only {MARKER}, {LOCK_FILE}, directories 00 to ff, and \
                     <16 hex digits>[.<n>].json files"
                ),
                "an entry this store did not write",
            )
        };
        let disk = &self.options.disk;
        let list = |dir: &Path| -> Result<Vec<DirEntry>> {
            let mut entries = disk.list(dir).context("listing", dir)?;
            entries.sort_unstable();
            Ok(entries)
        };
        let (mut slots, mut dirs) = (Vec::new(), [false; 256]);
        let remove_temp = |path: &Path| -> Result<()> {
            if remove_temps {
                disk.remove_file(path)
                    .context("removing the leftover", path)?;
            }
            Ok(())
        };
        for entry in list(&self.root)? {
            let path = self.root.join(&entry.name);
            let Some(name) = entry.name.to_str() else {
                return Err(stray(&path));
            };
            if !entry.is_dir {
                // Only this store's own temporary names: `thesis.tmp` is
                // not ours to delete.
                match name.strip_suffix(TEMP_SUFFIX) {
                    Some(MARKER) => remove_temp(&path)?,
                    _ if name == MARKER || name == LOCK_FILE => {}
                    _ => return Err(stray(&path)),
                }
                continue;
            }
            if !is_fan_out_dir(name) {
                return Err(stray(&path));
            }
            if let Ok(i) = u8::from_str_radix(name, 16) {
                dirs[usize::from(i)] = true;
            }
            for file in list(&path)? {
                let path = path.join(&file.name);
                let own = |stem: &str| Slot::parse(name, stem).filter(|_| !file.is_dir);
                let Some(file_name) = file.name.to_str() else {
                    return Err(stray(&path));
                };
                if let Some(stem) = file_name.strip_suffix(TEMP_SUFFIX) {
                    if own(stem).is_none() {
                        return Err(stray(&path));
                    }
                    remove_temp(&path)?;
                } else {
                    match own(file_name) {
                        Some(slot) => slots.push(slot),
                        None => return Err(stray(&path)),
                    }
                }
            }
        }
        slots.sort_unstable();
        // Slots of a hash are numbered 0, 1, 2, ... without a gap; a lookup
        // stops at the first missing one and would never see past a gap.
        for (i, slot) in slots.iter().enumerate() {
            let previous = i.checked_sub(1).map(|p| slots[p]);
            // ANCHOR: armour_gap Refuse a slot whose slot before it is missing: a gap lookups would never cross.
            if slot.index > 0
                && previous
                    != Some(Slot {
                        index: slot.index - 1,
                        ..*slot
                    })
            {
                return Err(Error::corruption(
                    slot.path(&self.root),
                    0,
                    format!(
                        "slot {} of the same hash before slot {}",
                        slot.index - 1,
                        slot.index
                    ),
                    "a gap: lookups of this key would never reach this file",
                ));
            }
            // ANCHOR_END: armour_gap
        }
        Ok(Listing { slots, dirs })
    }
    // ANCHOR_END: list
}

impl KvStore for FsStore {
    // ANCHOR: set
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        // ANCHOR: todo_set Check key and value, check_syncs; find the slot; write the file atomically (atomic::replace); count the bytes; note its directory as changed.
        check_key(key)?;
        check_value(value)?;
        self.check_syncs()?;
        let slot = match self.find(key)? {
            Probe::Found { slot, .. } | Probe::Absent(slot) => slot,
        };
        self.ensure_dir(slot)?;
        let path = slot.path(&self.root);
        let content = content::encode(key, value)?;
        atomic::replace(&self.options.disk, &path, &content)?;
        self.bytes_written += content.len() as u64;
        self.changed_dir(atomic::parent(&path))
        // ANCHOR_END: todo_set
    }
    // ANCHOR_END: set

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // ANCHOR: todo_get Check the key; find its slot; its value if the key is there.
        check_key(key)?;
        Ok(match self.find(key)? {
            Probe::Found { value, .. } => Some(value),
            Probe::Absent(_) => None,
        })
        // ANCHOR_END: todo_get
    }

    // ANCHOR: delete
    // ANCHOR: delete_idea_a
    fn delete(&mut self, key: &[u8]) -> Result<()> {
        // ANCHOR_END: delete_idea_a
        // ANCHOR: todo_delete check_syncs; find the key; one rename of its chain's last slot over its file (or one remove if it is the last); the key twice is damage.
        // ANCHOR: delete_idea_b
        check_key(key)?;
        // ANCHOR_END: delete_idea_b
        self.check_syncs()?;
        // ANCHOR: delete_idea_c
        let Probe::Found { slot, .. } = self.find(key)? else {
            return Ok(());
        };
        // The hash's last slot moves into the hole with one atomic rename,
        // so the slots never have a gap, not even after a crash. (Without a
        // collision, the first slot after this one does not exist.)
        let mut last = slot;
        loop {
            let next = self.next_slot(last)?;
            match self.read_slot(next)? {
                None => break,
                // ANCHOR_END: delete_idea_c
                // A second copy of the key would come back to life once
                // this one is gone: a wrong value, so an error instead.
                Some((k, _)) if k == key => {
                    return Err(Error::corruption(
                        next.path(&self.root),
                        0,
                        "each key in one file only",
                        format!("the same key as {}", slot.path(&self.root).display()),
                    ));
                }
                // ANCHOR: delete_idea_d
                Some(_) => last = next,
            }
        }
        let path = slot.path(&self.root);
        if last == slot {
            self.options
                .disk
                .remove_file(&path)
                .context("removing", &path)?;
        } else {
            let from = last.path(&self.root);
            // Its content was synced before it got its first name.
            self.options
                .disk
                .rename(&from, &path)
                .context("moving a colliding key into place", &from)?;
        }
        self.changed_dir(atomic::parent(&path))
        // ANCHOR_END: delete_idea_d
        // ANCHOR_END: todo_delete
        // ANCHOR: delete_idea_e
    }
    // ANCHOR_END: delete_idea_e
    // ANCHOR_END: delete

    // ANCHOR: scan
    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        // ANCHOR: todo_scan List every file (self.list), read each for its key, keep those in the range, sort them by key, then read their values lazily; a key twice is damage.
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        // File names are hashes, which keep no order: every file must be
        // read to learn its key, and the keys in range sorted.
        let mut found = Vec::new();
        for slot in self.list(false)?.slots {
            if let Some((key, _)) = self.read_slot(slot)?
                && range.contains(&key)
            {
                found.push((key, slot));
            }
        }
        found.sort_unstable();
        // ANCHOR: armour_duplicates Refuse two files that hold the same key.
        if let Some(pair) = found.windows(2).find(|pair| pair[0].0 == pair[1].0) {
            return Err(Error::corruption(
                pair[1].1.path(&self.root),
                0,
                "each key in one file only",
                format!("the same key as {}", pair[0].1.path(&self.root).display()),
            ));
        }
        // ANCHOR_END: armour_duplicates
        // Values are read again, one at a time, as the caller asks for them,
        // rather than held in memory for the whole range.
        Ok(Box::new(found.into_iter().map(
            move |(key, slot)| match self.read_slot(slot)? {
                Some((k, value)) if k == key => Ok((key, value)),
                _ => Err(Error::corruption(
                    slot.path(&self.root),
                    0,
                    "the key listed a moment ago",
                    "another file: the directory changed during the scan",
                )),
            },
        )))
        // ANCHOR_END: todo_scan
    }
    // ANCHOR_END: scan

    // ANCHOR: sync
    fn sync(&mut self) -> Result<()> {
        // ANCHOR: todo_sync Sync every directory changed since the last sync.
        // Every file's content was synced before its rename; what is left
        // is the renames (and removals), which live in the directories.
        self.check_syncs()?;
        self.sync_dirs()
        // ANCHOR_END: todo_sync
    }
    // ANCHOR_END: sync

    fn metrics(&self) -> Metrics {
        let mut metrics = Metrics::new();
        // Nothing per key is held in memory: the directory is the index.
        metrics.index_bytes = Some(0);
        metrics.reads = Some(self.reads.load(Ordering::Relaxed));
        metrics.bytes_read = Some(self.bytes_read.load(Ordering::Relaxed));
        metrics.bytes_written = Some(self.bytes_written);
        metrics
    }
}

// ANCHOR: stage
impl Stage for FsStore {
    const NAME: &'static str = "ch02-fsdb";
    type Options = Options;

    fn durability(options: &Options) -> Durability {
        Durability {
            // A write is renamed into place before the call returns: a crash
            // of the process cannot lose it.
            process_crash: Survives::EveryWrite,
            // A rename reaches the disk when its directory is synced: at
            // once with `EveryWrite`, at the next `sync` otherwise, and then
            // each key independently of the others.
            power_loss: match options.sync {
                SyncMode::EveryWrite => Survives::EveryWrite,
                SyncMode::OnSync => Survives::SyncedWritesPerKey,
            },
            // A batch is many files, renamed one at a time.
            atomic_batches: false,
        }
    }

    fn open_with(dir: &Path, options: &Options) -> Result<Self> {
        FsStore::open_with(dir, options)
    }

    fn on_simulated_disk(options: &Options, seed: u64) -> Option<Options> {
        Some(Options {
            disk: Disk::for_suite(seed),
            ..options.clone()
        })
    }

    fn power_switch(options: &Options) -> Option<&dyn PowerSwitch> {
        options.disk.power_switch()
    }

    /// Every write is on disk before its call returns, so dropping the
    /// store writes nothing; it releases the directory's lock, as a dead
    /// process would.
    fn simulate_crash(self) {
        drop(self);
    }
}
// ANCHOR_END: stage
