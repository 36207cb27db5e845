//! The floor of chapter 2's design: one file per key with nothing but
//! `std::fs`. The file name is the key in hex, the content is the value; no
//! hashing, no collision handling, no atomic rename, no fsync. Whatever
//! chapter 2 adds to make the idea safe costs something on top of this.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::subjects::Measured;
use ch00_contract::{
    Durability, Error, IoContext, KeyRange, KvStore, Result, Scan, Stage, Survives, check_key,
    check_value,
};

/// One file per key, named by the key in hex.
pub struct RawFsStore {
    dir: PathBuf,
}

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

impl RawFsStore {
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

impl KvStore for RawFsStore {
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(value)?;
        let path = self.path(key);
        fs::write(&path, value).context("writing", &path)
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
            _ => Ok(()),
        }
    }

    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        // No order on disk: list every file, keep the ones in range, sort.
        let mut keys = Vec::new();
        for entry in fs::read_dir(&self.dir).context("listing", &self.dir)? {
            let entry = entry.context("listing", &self.dir)?;
            let name = entry.file_name();
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
        // Every write already went to the file system; this floor never fsyncs.
        Ok(())
    }
}

impl Measured for RawFsStore {}

impl Stage for RawFsStore {
    const NAME: &'static str = "raw-fs";
    type Options = ();

    fn durability(_: &()) -> Durability {
        Durability {
            // `std::fs::write` hands the bytes to the kernel before it returns.
            process_crash: Survives::EveryWrite,
            // Nothing is ever fsynced, and a file is rewritten in place: after
            // a power failure a value can be missing, old, or cut short.
            power_loss: Survives::NoPromise,
            atomic_batches: false,
        }
    }

    fn open_with(dir: &Path, _: &()) -> Result<Self> {
        Ok(RawFsStore {
            dir: dir.to_path_buf(),
        })
    }
}
