//! How much disk a directory really takes.
//!
//! A file's length is not what it costs. A file system hands out space in
//! blocks (4 KiB on a typical ext4), so a 130-byte file takes a whole block,
//! and every file also takes an inode and an entry in its directory, which
//! itself grows in blocks. The other way round, a sparse or preallocated
//! file's length can be far more than the blocks behind it. What the disk
//! gives up is the count of allocated blocks, which is what this measures.
//! The benchmark harness uses it for every stage and peer.

use std::path::Path;

use ch00_contract::{Error, Result};

/// What a directory tree takes on disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Sum of file lengths.
    pub file_bytes: u64,
    /// Bytes of blocks allocated to the files and to the directories under
    /// the root (not to the root itself, which the store did not create).
    pub allocated_bytes: u64,
    /// Number of files.
    pub files: u64,
    /// Number of directories under the root.
    pub dirs: u64,
}

// ANCHOR: disk_usage
/// Walks `dir` and adds up [`DiskUsage`].
pub fn disk_usage(dir: &Path) -> Result<DiskUsage> {
    let mut usage = DiskUsage::default();
    for entry in walkdir::WalkDir::new(dir).min_depth(1) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            Error::io("measuring disk use of", path, e.into())
        })?;
        let meta = entry
            .metadata()
            .map_err(|e| Error::io("measuring disk use of", entry.path(), e.into()))?;
        if entry.file_type().is_file() {
            usage.file_bytes += meta.len();
            usage.files += 1;
        } else if entry.file_type().is_dir() {
            usage.dirs += 1;
        }
        usage.allocated_bytes += allocated(&meta);
    }
    Ok(usage)
}
// ANCHOR_END: disk_usage

/// Bytes of blocks allocated to one file or directory.
#[cfg(unix)]
fn allocated(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    // `blocks` counts 512-byte units whatever the file system's block size.
    meta.blocks() * 512
}

/// Without Unix metadata, the length is the best estimate there is.
#[cfg(not(unix))]
fn allocated(meta: &std::fs::Metadata) -> u64 {
    meta.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_files_take_whole_blocks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a"), [1u8; 100]).unwrap();
        std::fs::write(dir.path().join("b"), [2u8; 10]).unwrap();
        let usage = disk_usage(dir.path()).unwrap();
        assert_eq!((usage.file_bytes, usage.files, usage.dirs), (110, 2, 1));
        // Blocks, not lengths: at least one 512-byte unit somewhere (a file
        // system that stores tiny files inside their inodes may allocate no
        // block to the files themselves).
        assert!(usage.allocated_bytes >= 512, "{usage:?}");
        assert_eq!(usage.allocated_bytes % 512, 0, "{usage:?}");
    }
}
