//! Where a key's file lives: the fan-out directory, the file name, and the
//! numbered siblings that hold keys whose hashes collide.
//!
//! ```text
//! <store>/
//!   fsdb.json                      the marker: format, version, hash width
//!   3f/                            fan-out: the hash's first two hex digits
//!     3fa2c4e1907b5d10.json        the first key with this hash
//!     3fa2c4e1907b5d10.1.json      a second key with the same hash
//!     3fa2c4e1907b5d10.json.tmp    a write in progress (or left by a crash)
//! ```
//!
//! Two keys with the same hash go into *slots* of the same hash: slot 0 is
//! `<hash>.json`, slot 1 is `<hash>.1.json`, and so on. The slots of a hash
//! are always numbered without gaps, which lets a lookup stop at the first
//! missing slot: deleting a key moves the hash's last slot into the hole
//! with one rename, so no moment ever shows a gap.

use std::path::{Path, PathBuf};

/// The marker file at the root of every store.
pub const MARKER: &str = "fsdb.json";

/// What a file's name ends with while it is being written.
pub use disk::atomic::TEMP_SUFFIX;

// ANCHOR: slot
/// One file of the store: the `index`-th key whose hash is `hash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    /// The key's hash (see [`crate::hash::key_hash`]).
    pub hash: u64,
    /// 0 for the first key with this hash, 1 for the next, ...
    pub index: u32,
}

impl Slot {
    /// The fan-out directory: the first two hex digits of the hash, so 256
    /// directories share the files instead of one directory holding all.
    pub fn dir_name(self) -> String {
        // ANCHOR: todo_dir_name The hash's top byte as two lowercase hex digits.
        format!("{:02x}", self.hash >> 56)
        // ANCHOR_END: todo_dir_name
    }

    /// `<16 hex digits>.json` for slot 0, `<16 hex digits>.<index>.json`
    /// after it.
    pub fn file_name(self) -> String {
        // ANCHOR: todo_file_name 16 lowercase hex digits of the hash, then .json for slot 0, or .<index>.json after it.
        match self.index {
            0 => format!("{:016x}.json", self.hash),
            i => format!("{:016x}.{i}.json", self.hash),
        }
        // ANCHOR_END: todo_file_name
    }

    /// The file's path under the store's root directory.
    pub fn path(self, root: &Path) -> PathBuf {
        root.join(self.dir_name()).join(self.file_name())
    }
    // ANCHOR_END: slot

    /// The next slot of the same hash (`None` after four billion).
    pub fn next(self) -> Option<Slot> {
        Some(Slot {
            index: self.index.checked_add(1)?,
            ..self
        })
    }

    /// The slot a file named `file_name` in directory `dir_name` holds, or
    /// `None` when the names are not ones this store writes (a stray file,
    /// or a file in the wrong directory).
    pub fn parse(dir_name: &str, file_name: &str) -> Option<Slot> {
        // ANCHOR: todo_parse Exactly the names file_name writes (16 lowercase hex digits, an index without a leading zero), in their own directory.
        let stem = file_name.strip_suffix(".json")?;
        let (hex, index) = match stem.split_once('.') {
            None => (stem, 0),
            Some((hex, digits)) => {
                // Only the names `file_name` produces: no sign, no leading
                // zero, no `.0`.
                if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (hex, digits.parse().ok()?)
            }
        };
        if hex.len() != 16 || !hex.bytes().all(is_lower_hex) {
            return None;
        }
        let slot = Slot {
            hash: u64::from_str_radix(hex, 16).ok()?,
            index,
        };
        (slot.dir_name() == dir_name).then_some(slot)
        // ANCHOR_END: todo_parse
    }
}

/// Whether `dir_name` is one of the 256 fan-out directory names.
pub fn is_fan_out_dir(dir_name: &str) -> bool {
    // ANCHOR: todo_is_fan_out_dir Two lowercase hex digits.
    dir_name.len() == 2 && dir_name.bytes().all(is_lower_hex)
    // ANCHOR_END: todo_is_fan_out_dir
}

/// The digits names are written with (`from_str_radix` alone would also
/// accept `+` and capitals, which this store never writes).
fn is_lower_hex(b: u8) -> bool {
    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for slot in [
            Slot { hash: 0, index: 0 },
            Slot {
                hash: u64::MAX,
                index: 1,
            },
            Slot {
                hash: 0x3fa2_c4e1_907b_5d10,
                index: 12,
            },
        ] {
            assert_eq!(Slot::parse(&slot.dir_name(), &slot.file_name()), Some(slot));
        }
        let slot = Slot {
            hash: 0x3fa2_c4e1_907b_5d10,
            index: 1,
        };
        assert_eq!(slot.dir_name(), "3f");
        assert_eq!(slot.file_name(), "3fa2c4e1907b5d10.1.json");
    }

    #[test]
    fn foreign_names_are_not_slots() {
        for (dir, name) in [
            ("3f", "3fa2c4e1907b5d10.json.tmp"),
            ("3f", "3fa2c4e1907b5d10"),
            ("3f", "3FA2C4E1907B5D10.json"),
            ("3f", "3fa2c4e1907b5d1.json"),
            ("3f", "3fa2c4e1907b5d10.0.json"),
            ("3f", "3fa2c4e1907b5d10.01.json"),
            ("3f", "3fa2c4e1907b5d10.+1.json"),
            ("3f", "3fa2c4e1907b5d10.x.json"),
            ("40", "3fa2c4e1907b5d10.json"),
            ("3f", "notes.txt"),
            ("3f", ".json"),
        ] {
            assert_eq!(Slot::parse(dir, name), None, "{dir}/{name}");
        }
    }

    #[test]
    fn fan_out_dir_names() {
        assert!(is_fan_out_dir("00"));
        assert!(is_fan_out_dir("ff"));
        assert!(!is_fan_out_dir("FF"));
        assert!(!is_fan_out_dir("f"));
        assert!(!is_fan_out_dir("fff"));
        assert!(!is_fan_out_dir("+f"));
    }
}
