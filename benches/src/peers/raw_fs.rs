//! The floor of chapter 2's design: one file per key with nothing but
//! `std::fs`. The file name is the key in hex, the content is the value; no
//! hashing, no collision handling. Whatever chapter 2 adds to make the
//! idea safe costs something on top of this.
//!
//! Two floors: `raw-fs` writes each file in place and never syncs;
//! `raw-fs-synced` makes chapter 2's syncs (write a temporary file, fsync
//! it, rename it over the key's file; the directory synced on `sync`), so
//! that chapter 2 against it measures the cost of chapter 2's own design
//! (hashing, JSON, collision slots, fan-out directories), like for like.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::subjects::Measured;
use ch00_contract::{
    Durability, Error, IoContext, KeyRange, KvStore, Result, Scan, Stage, Survives, check_key,
    check_value,
};

/// One file per key, named by the key in hex; with chapter 2's syncs when
/// `SYNCED`.
pub struct RawFsStore<const SYNCED: bool = false> {
    dir: PathBuf,
    /// Whether names changed since the directory was last synced.
    renamed: bool,
}

/// The suffix of a file being written; no hex name has a dot.
const TEMP: &str = ".tmp";

fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(name: &str) -> Option<Vec<u8>> {
    if !name.len().is_multiple_of(2) {
        return None;
    }
    (0..name.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(name.get(i..i + 2)?, 16).ok())
        .collect()
}

impl<const SYNCED: bool> RawFsStore<SYNCED> {
    fn path(&self, key: &[u8]) -> PathBuf {
        // The empty key would be the directory itself; give it a name that
        // no hex string can be.
        if key.is_empty() {
            return self.dir.join("empty");
        }
        self.dir.join(hex(key))
    }

    fn key_of(name: &str) -> Option<Vec<u8>> {
        if name == "empty" {
            return Some(Vec::new());
        }
        unhex(name)
    }
}

impl<const SYNCED: bool> KvStore for RawFsStore<SYNCED> {
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(value)?;
        let path = self.path(key);
        if !SYNCED {
            return fs::write(&path, value).context("writing", &path);
        }
        let mut temp = path.clone().into_os_string();
        temp.push(TEMP);
        let temp = PathBuf::from(temp);
        let mut file = File::create(&temp).context("creating", &temp)?;
        file.write_all(value).context("writing", &temp)?;
        file.sync_all().context("syncing", &temp)?;
        fs::rename(&temp, &path).context("renaming", &temp)?;
        self.renamed = true;
        Ok(())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        let path = self.path(key);
        match fs::read(&path) {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io("reading", path, e)),
        }
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        let path = self.path(key);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::io("removing", path, e)),
            Err(_) => Ok(()),
            Ok(()) => {
                self.renamed = true;
                Ok(())
            }
        }
    }

    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        // No order on disk: list every file, keep the ones in range, sort.
        let mut keys = Vec::new();
        for entry in fs::read_dir(&self.dir).context("listing", &self.dir)? {
            let entry = entry.context("listing", &self.dir)?;
            let name = entry.file_name();
            if name.to_str().is_some_and(|n| n.ends_with(TEMP)) {
                continue;
            }
            let key = name.to_str().and_then(Self::key_of).ok_or_else(|| {
                Error::corruption(entry.path(), 0, "a file named by a hex key", "another name")
            })?;
            if range.contains(&key) {
                keys.push(key);
            }
        }
        keys.sort();
        Ok(Box::new(keys.into_iter().filter_map(move |key| {
            // A file deleted since the listing is simply skipped.
            self.get(&key).transpose().map(|v| v.map(|v| (key, v)))
        })))
    }

    fn sync(&mut self) -> Result<()> {
        // The unsynced floor never fsyncs: every write already went to the
        // file system. The synced one syncs the directory, for its renames.
        if SYNCED && self.renamed {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .context("syncing", &self.dir)?;
            self.renamed = false;
        }
        Ok(())
    }
}

impl<const SYNCED: bool> Measured for RawFsStore<SYNCED> {}

impl<const SYNCED: bool> Stage for RawFsStore<SYNCED> {
    const NAME: &'static str = if SYNCED { "raw-fs-synced" } else { "raw-fs" };
    type Options = ();

    fn durability(_: &()) -> Durability {
        Durability {
            // Each write hands the bytes to the kernel before it returns.
            process_crash: Survives::EveryWrite,
            // Unsynced, a file is rewritten in place and never fsynced: after
            // a power failure a value can be missing, old, or cut short.
            // Synced, a value is whole in its file before its rename, and the
            // renames are durable once `sync` has synced the directory.
            power_loss: if SYNCED {
                Survives::SyncedWrites
            } else {
                Survives::NoPromise
            },
            atomic_batches: false,
        }
    }

    fn open_with(dir: &Path, _: &()) -> Result<Self> {
        Ok(RawFsStore {
            dir: dir.to_path_buf(),
            renamed: false,
        })
    }
}
