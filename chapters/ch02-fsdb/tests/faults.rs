//! The fault sweep: every I/O operation of a short workload failed in
//! turn, on the simulated disk (see `disk::sweep`).

use ch02_fsdb::{FsStore, Options, SyncMode};

// ANCHOR: sweep
#[test]
fn every_failed_operation_is_reported_and_loses_nothing() {
    match disk::sweep::fault_sweep::<FsStore>(|disk| Options {
        disk,
        ..Options::default()
    }) {
        // What was swept is pinned: a change that adds or removes I/O
        // operations shows here, and in the book, which includes this.
        Ok(sweep) => insta::assert_snapshot!("sweep", sweep.to_string()),
        Err(problem) => panic!("{problem}"),
    }
}
// ANCHOR_END: sweep

/// The same sweep with every write's directory synced before the call
/// returns.
#[test]
fn every_failed_operation_is_reported_and_loses_nothing_when_every_write_syncs() {
    let options = |disk| Options {
        disk,
        sync: SyncMode::EveryWrite,
        ..Options::default()
    };
    match disk::sweep::fault_sweep::<FsStore>(options) {
        Ok(sweep) => insta::assert_snapshot!("sweep_every_write", sweep.to_string()),
        Err(problem) => panic!("{problem}"),
    }
}

/// A store written in the default mode, left without a sync, and reopened
/// with every write synced: its first answers rest on renames that never
/// reached the disk, so the open must sync them before a delete of a key
/// one of them removed can return `Ok` with nothing left to sync.
#[test]
fn reopened_with_every_write_synced_nothing_answered_is_lost() {
    use ch00_contract::{KvStore, Stage};
    use disk::{Disk, SimDisk};

    let sim = SimDisk::new();
    let dir = std::path::Path::new("/store");
    sim.add_root(dir);
    let on_sync = Options {
        disk: Disk::simulated(sim.clone()),
        ..Options::default()
    };
    let mut store = FsStore::open_with(dir, &on_sync).unwrap();
    store.set(b"k", b"1").unwrap();
    store.sync().unwrap();
    store.delete(b"k").unwrap();
    drop(store);

    let every_write = Options {
        sync: SyncMode::EveryWrite,
        ..on_sync.clone()
    };
    let mut store = FsStore::open_with(dir, &every_write).unwrap();
    assert_eq!(store.get(b"k").unwrap(), None);
    store.delete(b"k").unwrap();
    store.simulate_crash();
    sim.power_loss();
    let store = FsStore::open_with(dir, &every_write).unwrap();
    assert_eq!(
        store.get(b"k").unwrap(),
        None,
        "an acknowledged delete was lost"
    );
}
