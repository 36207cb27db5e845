//! The simulated disk keeps what was synced and loses the rest, fails what
//! it is told to, and counts what it is asked.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use disk::{FileSystem, Op, SimDisk, TornWrites};

fn root() -> PathBuf {
    PathBuf::from("/store")
}

fn disk() -> SimDisk {
    let disk = SimDisk::with_seed(7);
    disk.add_root(&root());
    disk
}

/// Writes `bytes` to a new file at `path`, synced or not.
fn write(disk: &SimDisk, path: &Path, bytes: &[u8], sync: bool) {
    let mut file = disk.create(path).unwrap();
    file.write_all(bytes).unwrap();
    if sync {
        file.sync().unwrap();
    }
}

fn read(disk: &SimDisk, path: &Path) -> Option<Vec<u8>> {
    let file = disk.open(path).ok()?;
    let mut bytes = vec![0; file.len().unwrap() as usize];
    file.read_exact_at(&mut bytes, 0).unwrap();
    Some(bytes)
}

// ANCHOR: power_loss_test
#[test]
fn a_power_loss_keeps_what_was_synced_and_nothing_else() {
    let disk = disk();
    let synced = root().join("synced");
    let unsynced_data = root().join("unsynced-data");
    let unsynced_name = root().join("unsynced-name");
    write(&disk, &synced, b"kept", true);
    let mut log = disk.create(&unsynced_data).unwrap();
    log.write_all(b"first").unwrap();
    log.sync().unwrap();
    disk.sync_dir(&root()).unwrap();
    // More written after the sync, and not synced: not durable.
    log.write_all(b", second").unwrap();
    // Synced, but its directory entry is not.
    write(&disk, &unsynced_name, b"orphan", true);
    // Reads see everything before the power fails.
    assert_eq!(read(&disk, &unsynced_data).unwrap(), b"first, second");
    assert_eq!(read(&disk, &unsynced_name).unwrap(), b"orphan");

    disk.power_loss();
    assert_eq!(read(&disk, &synced).unwrap(), b"kept");
    assert_eq!(read(&disk, &unsynced_data).unwrap(), b"first");
    assert_eq!(read(&disk, &unsynced_name), None);
}
// ANCHOR_END: power_loss_test

#[test]
fn a_rename_or_remove_without_a_directory_sync_is_undone() {
    let disk = disk();
    let (a, b) = (root().join("a"), root().join("b"));
    write(&disk, &a, b"old", true);
    disk.sync_dir(&root()).unwrap();
    disk.rename(&a, &b).unwrap();
    assert!(!disk.exists(&a).unwrap());
    disk.power_loss();
    assert_eq!(read(&disk, &a).unwrap(), b"old");
    assert_eq!(read(&disk, &b), None);

    disk.remove_file(&a).unwrap();
    disk.power_loss();
    assert_eq!(read(&disk, &a).unwrap(), b"old");
    disk.remove_file(&a).unwrap();
    disk.sync_dir(&root()).unwrap();
    disk.power_loss();
    assert_eq!(read(&disk, &a), None);
}

// ANCHOR: replace_test
#[test]
fn write_sync_rename_sync_is_the_durable_way_to_replace_a_file() {
    let disk = disk();
    let (path, temp) = (root().join("data"), root().join("data.tmp"));
    write(&disk, &path, b"old", true);
    disk.sync_dir(&root()).unwrap();
    write(&disk, &temp, b"new", true);
    disk.rename(&temp, &path).unwrap();
    // Before the directory sync, a power loss leaves the old file...
    disk.power_loss();
    assert_eq!(read(&disk, &path).unwrap(), b"old");
    // ... and after it, the new one.
    write(&disk, &temp, b"new", true);
    disk.rename(&temp, &path).unwrap();
    disk.sync_dir(&root()).unwrap();
    disk.power_loss();
    assert_eq!(read(&disk, &path).unwrap(), b"new");
    assert_eq!(read(&disk, &temp), None);
}
// ANCHOR_END: replace_test

#[test]
fn a_directory_not_synced_into_its_parent_is_lost_with_its_files() {
    let disk = disk();
    let sub = root().join("sub");
    disk.create_dir(&sub).unwrap();
    write(&disk, &sub.join("f"), b"x", true);
    disk.sync_dir(&sub).unwrap();
    disk.power_loss();
    assert!(!disk.exists(&sub).unwrap());
    assert!(disk.list(&root()).unwrap().is_empty());

    disk.create_dir(&sub).unwrap();
    disk.sync_dir(&root()).unwrap();
    write(&disk, &sub.join("f"), b"x", true);
    disk.sync_dir(&sub).unwrap();
    disk.power_loss();
    assert_eq!(read(&disk, &sub.join("f")).unwrap(), b"x");
}

#[test]
fn torn_writes_keep_a_prefix_of_the_unsynced_tail() {
    let disk = disk();
    disk.set_torn_writes(TornWrites::Prefix);
    let path = root().join("log");
    let mut file = disk.create(&path).unwrap();
    file.write_all(b"synced|").unwrap();
    file.sync().unwrap();
    disk.sync_dir(&root()).unwrap();
    file.write_all(&[b'u'; 1000]).unwrap();
    drop(file);
    disk.power_loss();
    let kept = read(&disk, &path).unwrap();
    assert!(kept.starts_with(b"synced|"), "{kept:?}");
    assert!(kept.len() <= 7 + 1000);
    assert!(kept[7..].iter().all(|&b| b == b'u'));

    // Garbage: the same prefix, its last bytes overwritten.
    let disk = self::disk();
    disk.set_torn_writes(TornWrites::Garbage);
    let mut lengths = Vec::new();
    for round in 0..20 {
        let path = root().join(format!("log{round}"));
        let mut file = disk.create(&path).unwrap();
        file.sync().unwrap();
        disk.sync_dir(&root()).unwrap();
        file.write_all(&[b'u'; 64]).unwrap();
        drop(file);
        disk.power_loss();
        let kept = read(&disk, &path).unwrap();
        assert!(kept.len() <= 64);
        lengths.push(kept.len());
    }
    // The seed chooses different lengths.
    lengths.sort_unstable();
    lengths.dedup();
    assert!(lengths.len() > 5, "{lengths:?}");
}

// ANCHOR: failed_sync_test
#[test]
fn after_a_failed_sync_the_data_never_becomes_durable() {
    let disk = disk();
    let path = root().join("f");
    let mut file = disk.create(&path).unwrap();
    file.write_all(b"lost").unwrap();
    disk.fail(Op::Sync, 0);
    assert!(file.sync().is_err());
    // The retry reports success, as Linux's fsync can after dropping the
    // pages it failed to write...
    file.sync().unwrap();
    disk.sync_dir(&root()).unwrap();
    disk.power_loss();
    // ... and the data is not on the disk.
    assert_eq!(read(&disk, &path).unwrap(), b"");
}
// ANCHOR_END: failed_sync_test

#[test]
fn the_nth_operation_of_a_kind_fails_once() {
    let disk = disk();
    disk.fail(Op::Rename, 2);
    let (a, b) = (root().join("a"), root().join("b"));
    write(&disk, &a, b"x", false);
    disk.rename(&a, &b).unwrap();
    disk.rename(&b, &a).unwrap();
    let err = disk.rename(&a, &b).unwrap_err();
    assert!(err.to_string().contains("injected"), "{err}");
    // The failed rename changed nothing; the next one works.
    assert!(disk.exists(&a).unwrap());
    disk.rename(&a, &b).unwrap();
    assert_eq!(disk.count(Op::Rename), 4);
}

#[test]
fn a_full_disk_refuses_writes() {
    let disk = disk();
    disk.set_space(Some(10));
    let mut file = disk.create(&root().join("f")).unwrap();
    file.write_all(b"0123456789").unwrap();
    let err = file.write_all(b"x").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::StorageFull);
}

#[test]
fn handles_from_before_a_power_loss_are_dead() {
    let disk = disk();
    let path = root().join("f");
    write(&disk, &path, b"x", true);
    disk.sync_dir(&root()).unwrap();
    let reader = disk.open(&path).unwrap();
    let mut writer = disk.create(&root().join("g")).unwrap();
    disk.power_loss();
    assert!(reader.read_at(&mut [0; 1], 0).is_err());
    assert!(writer.write_all(b"y").is_err());
}

#[test]
fn a_directory_is_locked_once_until_the_guard_drops_or_the_power_fails() {
    let disk = disk();
    let lock = disk.lock(&root()).unwrap();
    let err = disk.lock(&root()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    assert!(err.to_string().contains("locked by another"), "{err}");
    drop(lock);
    let lock = disk.lock(&root()).unwrap();
    disk.power_loss();
    let again = disk.lock(&root()).unwrap();
    // The old guard, dropped after the power loss, releases nothing.
    drop(lock);
    assert!(disk.lock(&root()).is_err());
    drop(again);
}

#[test]
fn paths_outside_the_disk_are_not_found() {
    let disk = disk();
    assert_eq!(
        disk.create(Path::new("/elsewhere/f")).err().unwrap().kind(),
        ErrorKind::NotFound
    );
    assert!(disk.open(&root().join("missing")).is_err());
    assert!(disk.create(&root().join("..").join("f")).is_err());
}

#[test]
fn a_file_truncated_and_not_synced_is_empty_or_torn_after_a_power_loss() {
    // Writing a file in place: the old bytes are gone the moment it is
    // truncated, so a power loss before the sync cannot bring them back.
    for torn in [TornWrites::Lost, TornWrites::Prefix, TornWrites::Garbage] {
        let disk = disk();
        disk.set_torn_writes(torn);
        let path = root().join("data");
        write(&disk, &path, b"old and whole", true);
        disk.sync_dir(&root()).unwrap();
        write(&disk, &path, b"new", false);
        disk.power_loss();
        let left = read(&disk, &path).unwrap();
        assert!(left.len() <= 3, "{torn:?}: {left:?}");
        assert_ne!(left, b"old and whole", "{torn:?}");
        if torn == TornWrites::Lost {
            assert!(left.is_empty());
        }
        // A sync after the rewrite makes the new bytes durable, whole.
        write(&disk, &path, b"newer", true);
        disk.power_loss();
        assert_eq!(read(&disk, &path).unwrap(), b"newer");
    }
}

#[test]
fn a_fork_is_what_a_power_loss_would_leave_now() {
    let disk = disk();
    let path = root().join("a");
    write(&disk, &path, b"synced", true);
    disk.sync_dir(&root()).unwrap();
    disk.fail(Op::Write, 0);
    let copy = disk.fork();
    // The copy injects no failure, and goes its own way.
    write(&copy, &root().join("b"), b"only on the copy", true);
    copy.power_loss();
    assert_eq!(read(&copy, &path).unwrap(), b"synced");
    assert_eq!(read(&disk, &root().join("b")), None);
    assert!(disk.create(&root().join("c")).unwrap().write(b"x").is_err());
}
