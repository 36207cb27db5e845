//! The power-loss checks test themselves: two classic durability mistakes
//! are planted in an otherwise correct store on the simulated disk, and
//! the suite must catch both. A crash of the process alone cannot: the
//! operating system keeps what a dead process wrote, synced or not, so
//! both stores pass every crash check and fail only when the power goes.

// Test code: a failed check should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use ch00_contract::conformance::{CheckResult, ModelTest, checks, on_three_disks};
use ch00_contract::{
    Durability, Error, IoContext, KeyRange, KvStore, PowerSwitch, Result, Scan, Stage,
};
use disk::{DirLock, Disk, atomic};

/// Syncs its file before the rename and its directory after: correct.
const CORRECT: u8 = 0;
/// Writes and renames its file but never syncs it: after a power loss the
/// name may point at a file whose bytes never reached the disk.
const NEVER_FSYNCS: u8 = 1;
/// Syncs its file and renames it, but never syncs the directory: after a
/// power loss the rename is undone and the previous file is back.
const NO_DIR_SYNC: u8 = 2;
/// Writes the file in place (truncate, write, sync) instead of beside it:
/// when the sync fails, or the power fails before it, the old content is
/// gone and the new is not there.
const WRITES_IN_PLACE: u8 = 3;

/// A store that keeps a map in memory and writes it whole to one file on
/// sync (temporary file, rename), like chapter 3, with one flaw chosen by
/// `FLAW`.
#[derive(Debug)]
struct OneFile<const FLAW: u8> {
    path: PathBuf,
    disk: Disk,
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    _lock: DirLock,
}

const MAGIC: &[u8; 4] = b"ONE1";

/// `MAGIC`, then per entry: key length and value length (u32, little
/// endian), key, value.
fn encode(map: &BTreeMap<Vec<u8>, Vec<u8>>) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    for (k, v) in map {
        out.extend_from_slice(&(k.len() as u32).to_le_bytes());
        out.extend_from_slice(&(v.len() as u32).to_le_bytes());
        out.extend_from_slice(k);
        out.extend_from_slice(v);
    }
    out
}

fn decode(path: &Path, bytes: &[u8]) -> Result<BTreeMap<Vec<u8>, Vec<u8>>> {
    let bad = |at: usize| Error::corruption(path, at as u64, "a whole entry", "a torn file");
    if !bytes.starts_with(MAGIC) {
        return Err(Error::corruption(path, 0, "ONE1", "other bytes"));
    }
    let (mut map, mut at) = (BTreeMap::new(), MAGIC.len());
    let u32_at = |at: usize| -> Result<usize> {
        let b = bytes.get(at..at + 4).ok_or_else(|| bad(at))?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
    };
    while at < bytes.len() {
        let (klen, vlen) = (u32_at(at)?, u32_at(at + 4)?);
        let key = bytes.get(at + 8..at + 8 + klen).ok_or_else(|| bad(at))?;
        let end = at + 8 + klen + vlen;
        let value = bytes.get(at + 8 + klen..end).ok_or_else(|| bad(at))?;
        map.insert(key.to_vec(), value.to_vec());
        at = end;
    }
    Ok(map)
}

impl<const FLAW: u8> KvStore for OneFile<FLAW> {
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        ch00_contract::check_key(key)?;
        ch00_contract::check_value(value)?;
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        ch00_contract::check_key(key)?;
        Ok(self.map.get(key).cloned())
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        ch00_contract::check_key(key)?;
        self.map.remove(key);
        Ok(())
    }

    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let pairs: Vec<_> = self
            .map
            .range::<[u8], _>(range)
            .map(|(k, v)| Ok((k.clone(), v.clone())))
            .collect();
        Ok(Box::new(pairs.into_iter()))
    }

    // ANCHOR: planted
    fn sync(&mut self) -> Result<()> {
        if FLAW == WRITES_IN_PLACE {
            let path = &self.path;
            let mut file = self.disk.create(path).context("creating", path)?;
            file.write_all(&encode(&self.map))
                .context("writing", path)?;
            file.sync().context("syncing", path)?;
            return atomic::sync_dir(&self.disk, atomic::parent(path));
        }
        let temp = atomic::temp_path(&self.path);
        let mut file = self.disk.create(&temp).context("creating", &temp)?;
        file.write_all(&encode(&self.map))
            .context("writing", &temp)?;
        if FLAW != NEVER_FSYNCS {
            file.sync().context("syncing", &temp)?;
        }
        self.disk
            .rename(&temp, &self.path)
            .context("renaming", &temp)?;
        if FLAW != NO_DIR_SYNC {
            atomic::sync_dir(&self.disk, atomic::parent(&self.path))?;
        }
        Ok(())
    }
    // ANCHOR_END: planted
}

impl<const FLAW: u8> Stage for OneFile<FLAW> {
    const NAME: &'static str = "one-file";
    type Options = Disk;

    fn durability(_: &Disk) -> Durability {
        Durability::ON_SYNC.with_atomic_batches()
    }

    fn open_with(dir: &Path, disk: &Disk) -> Result<Self> {
        let lock = disk.lock(dir).context("locking", dir)?;
        let path = dir.join("data");
        atomic::remove_temp(disk, &path)?;
        let map = match atomic::read_file(disk, &path, u64::MAX)? {
            Some(bytes) => decode(&path, &bytes)?,
            None => BTreeMap::new(),
        };
        // Whatever this store answers with must survive a power loss.
        atomic::sync_dir(disk, dir)?;
        Ok(OneFile {
            path,
            disk: disk.clone(),
            map,
            _lock: lock,
        })
    }

    fn simulate_crash(self) {
        drop(self);
    }

    fn on_simulated_disk(_: &Disk, seed: u64) -> Option<Disk> {
        Some(Disk::for_suite(seed))
    }

    fn power_switch(disk: &Disk) -> Option<&dyn PowerSwitch> {
        disk.power_switch()
    }
}

// The correct store passes the whole suite on the real disk and on the
// simulated one: the failures below are the flaws'.
mod correct {
    use super::*;
    ch00_contract::conformance_tests!(OneFile<CORRECT>, cases = 64);
    ch00_contract::power_loss_tests!(OneFile<CORRECT>, cases = 64);
}

/// The seeds the model test hunts each flaw with; each must find it.
const SEEDS: [u64; 6] = [1, 2, 3, 4, 5, 6];

fn assert_fails(result: CheckResult, what: &str, mentions: &str) {
    let fold = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    match result {
        Ok(()) => panic!("{what}: the check passed, but the store is broken"),
        Err(failure) => assert!(
            fold(failure.message()).contains(mentions),
            "{what}: failed for an unexpected reason: {failure}"
        ),
    }
}

/// A flawed store passes the crash checks (on both disks) and fails the
/// power-loss check and the model test with power losses, under every
/// seed.
fn caught_only_by_power_loss<S: Stage<Options = Disk>>(mentions: &str) {
    checks::crash::<S>(&Disk::real()).unwrap();
    on_three_disks::<S>(&Disk::real(), checks::crash::<S>).unwrap();
    assert_fails(
        on_three_disks::<S>(&Disk::real(), checks::power_loss::<S>),
        "power_loss",
        mentions,
    );
    for seed in SEEDS {
        let result = ModelTest::<S>::new(&Disk::real())
            .cases(200)
            .seed(seed)
            .with_power_loss()
            .run();
        assert_fails(result, &format!("model test, seed {seed}"), "power loss");
    }
}

#[test]
fn a_store_that_never_fsyncs_is_caught() {
    // The file's name survives (the directory was synced), its bytes do
    // not: the reopen finds a damaged or empty file.
    caught_only_by_power_loss::<OneFile<NEVER_FSYNCS>>("after a power loss");
}

#[test]
fn a_store_that_never_syncs_its_directory_is_caught() {
    // The rename is undone: the store comes back with an older file, or
    // none.
    caught_only_by_power_loss::<OneFile<NO_DIR_SYNC>>("after a power loss");
}

#[test]
fn the_fault_sweep_passes_the_correct_store() {
    disk::sweep::fault_sweep::<OneFile<CORRECT>>(|disk| disk).unwrap();
}

#[test]
fn a_store_that_writes_its_file_in_place_is_caught_by_the_fault_sweep() {
    type S = OneFile<WRITES_IN_PLACE>;
    // Nothing but a failure between the truncation and the sync shows it:
    // the power-loss check cuts the power between calls, never inside one,
    // and every call on its own completes.
    on_three_disks::<S>(&Disk::real(), checks::power_loss::<S>).unwrap();
    let problem = disk::sweep::fault_sweep::<S>(|disk| disk).unwrap_err();
    // A failed write leaves a cut file, which the next open cannot read.
    assert!(problem.starts_with("with Write number"), "{problem}");
}
