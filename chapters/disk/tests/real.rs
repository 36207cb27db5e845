//! The real file system through the interface: the same operations on a
//! temporary directory, and a lock that a second opener cannot take.

// Test code: a failed step should stop the test loudly.
#![allow(clippy::unwrap_used)]

use std::io::{ErrorKind, Write};

use disk::Disk;

#[test]
fn files_are_written_read_renamed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Disk::real();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let mut file = fs.create(&a).unwrap();
    file.write_all(b"hello, disk").unwrap();
    file.sync().unwrap();
    drop(file);
    fs.sync_dir(dir.path()).unwrap();
    fs.rename(&a, &b).unwrap();
    let reader = fs.open(&b).unwrap();
    assert_eq!(reader.len().unwrap(), 11);
    let mut word = [0; 4];
    reader.read_exact_at(&mut word, 7).unwrap();
    assert_eq!(&word, b"disk");
    let err = reader.read_exact_at(&mut [0; 8], 7).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnexpectedEof);
    fs.create_dir(&dir.path().join("sub")).unwrap();
    let mut names: Vec<_> = fs
        .list(dir.path())
        .unwrap()
        .into_iter()
        .map(|e| (e.name.into_string().unwrap(), e.is_dir))
        .collect();
    names.sort();
    assert_eq!(names, [("b".to_string(), false), ("sub".to_string(), true)]);
    fs.remove_file(&b).unwrap();
    assert!(!fs.exists(&b).unwrap());
}

// ANCHOR: lock_test
#[test]
fn a_second_lock_of_a_directory_fails_until_the_first_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Disk::real();
    let first = fs.lock(dir.path()).unwrap();
    let err = fs.lock(dir.path()).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WouldBlock);
    assert!(err.to_string().contains("locked by another"), "{err}");
    drop(first);
    fs.lock(dir.path()).unwrap();
}
// ANCHOR_END: lock_test
