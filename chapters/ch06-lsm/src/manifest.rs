//! The manifest: which files make up the store.
//!
//! A store of many files needs one place that says which of them count.
//! A flush writes a table and starts a new log; until the manifest names
//! them, they are not part of the store, and a crash before that leaves
//! the old table set and the old log, whole. The manifest is small and
//! replaced whole, atomically and durably (a temporary file, synced,
//! renamed over the old one, and the directory synced), so the switch from
//! one set of files to the next is a single rename.
//!
//! ```text
//!  4  magic "KVMF"
//!  2  version (2)
//!  2  reserved (0)
//!  8  next file number: every log and table has a smaller one
//!  4  count of live logs (L)
//!  4  count of live tables (T)
//!  8  × L  log numbers, oldest first
//! 12  × T  level (u32) and table number (u64): by level, level 0's
//!          oldest first, a deeper level's in key order
//!  4  CRC-32 of everything before
//! ```

use std::collections::BTreeSet;
use std::path::Path;

use ch00_contract::{Error, Result};

use crate::levels::MAX_LEVELS;

// ANCHOR: constants
/// The first bytes of every manifest.
pub const MAGIC: [u8; 4] = *b"KVMF";
/// The manifest format's version.
pub const VERSION: u16 = 2;
/// Bytes before the lists of numbers.
pub const HEADER_LEN: usize = 24;
/// Bytes of one table's entry: its level and its number.
pub const TABLE_ENTRY_LEN: usize = 12;
/// The largest manifest a store reads: room for millions of tables. A
/// longer file is damage, not a store.
pub const MAX_LEN: u64 = 64 << 20;
/// The largest next file number a manifest may hold: a store makes a few
/// files per flush, so a larger number is damage (and the store can count
/// on the numbers after it not overflowing).
pub const MAX_FILE_NUMBER: u64 = 1 << 62;
// ANCHOR_END: constants

// ANCHOR: manifest
/// The live files of a store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Every file number in use is below this one; the next file takes it.
    pub next_file: u64,
    /// The logs whose records the memtable holds, oldest first.
    pub logs: Vec<u64>,
    /// The tables of each level, [`MAX_LEVELS`] of them: level 0's oldest
    /// first (a newer table's entries win over an older one's), a deeper
    /// level's in key order (they do not overlap).
    pub levels: Vec<Vec<u64>>,
}
// ANCHOR_END: manifest

impl Default for Manifest {
    fn default() -> Self {
        Manifest {
            next_file: 0,
            logs: Vec::new(),
            levels: vec![Vec::new(); MAX_LEVELS],
        }
    }
}

impl Manifest {
    /// Every table's number, level by level.
    pub fn tables(&self) -> impl Iterator<Item = u64> + '_ {
        self.levels.iter().flatten().copied()
    }

    /// The manifest's bytes.
    pub fn encode(&self) -> Vec<u8> {
        // ANCHOR: todo_manifest_encode Magic, version, two zero bytes, the next file number, the counts of logs and tables, each log, each (level, table), a CRC-32.
        let tables = self.tables().count();
        let mut out =
            Vec::with_capacity(HEADER_LEN + 8 * self.logs.len() + TABLE_ENTRY_LEN * tables + 4);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&self.next_file.to_le_bytes());
        out.extend_from_slice(&(self.logs.len() as u32).to_le_bytes());
        out.extend_from_slice(&(tables as u32).to_le_bytes());
        for number in &self.logs {
            out.extend_from_slice(&number.to_le_bytes());
        }
        for (level, numbers) in self.levels.iter().enumerate() {
            for number in numbers {
                out.extend_from_slice(&(level as u32).to_le_bytes());
                out.extend_from_slice(&number.to_le_bytes());
            }
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
        // ANCHOR_END: todo_manifest_encode
    }

    // ANCHOR: decode
    /// Decodes and checks a manifest read from `path`: its length, magic,
    /// version and checksum, then that every number is below the next
    /// file number and names one file only, and that the tables' levels
    /// exist and come in order.
    pub fn decode(path: &Path, bytes: &[u8]) -> Result<Manifest> {
        // ANCHOR: todo_manifest_decode Length and magic, then the CRC-32, then version and reserved bytes; every number below the next file number, used once; levels in range and order.
        let corrupt = |offset: usize, expected: &str, found: String| {
            Error::corruption(path, offset as u64, expected, found)
        };
        // ANCHOR: armour_manifest_short Refuse a manifest too short for a header and a checksum.
        if bytes.len() < HEADER_LEN + 4 {
            return Err(corrupt(
                0,
                "a manifest of at least 28 bytes",
                format!("{} bytes", bytes.len()),
            ));
        }
        // ANCHOR_END: armour_manifest_short
        // ANCHOR: armour_manifest_magic Refuse a manifest that does not start with the magic number.
        if bytes[0..4] != MAGIC {
            return Err(corrupt(
                0,
                "the magic number \"KVMF\" of a manifest",
                format!("{:?}", &bytes[0..4]),
            ));
        }
        // ANCHOR_END: armour_manifest_magic
        let (body, tail) = bytes.split_at(bytes.len() - 4);
        let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
        let computed = crc32fast::hash(body);
        // ANCHOR: armour_manifest_checksum Compare the stored CRC-32 with one computed over the bytes before it.
        if stored != computed {
            return Err(corrupt(
                body.len(),
                &format!("the manifest's CRC-32, {computed:08x}"),
                format!("{stored:08x}"),
            ));
        }
        // ANCHOR_END: armour_manifest_checksum
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        // ANCHOR: armour_manifest_version Refuse a version this code does not know, or reserved bytes that are not zero.
        if version != VERSION || bytes[6..8] != [0, 0] {
            return Err(corrupt(
                if version != VERSION { 4 } else { 6 },
                &format!("manifest format version {VERSION} and reserved bytes 0"),
                format!("version {version}, reserved {:?}", &bytes[6..8]),
            ));
        }
        // ANCHOR_END: armour_manifest_version
        let u64_at = |at: usize| {
            let mut word = [0; 8];
            word.copy_from_slice(&body[at..at + 8]);
            u64::from_le_bytes(word)
        };
        let u32_at =
            |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        let next_file = u64_at(8);
        // ANCHOR: armour_next_file Refuse a next file number above MAX_FILE_NUMBER.
        if next_file > MAX_FILE_NUMBER {
            return Err(corrupt(
                8,
                &format!("a next file number of at most {MAX_FILE_NUMBER}"),
                format!("{next_file}"),
            ));
        }
        // ANCHOR_END: armour_next_file
        let (logs, tables) = (u32_at(16) as usize, u32_at(20) as usize);
        let expected = logs as u64 * 8 + tables as u64 * TABLE_ENTRY_LEN as u64 + HEADER_LEN as u64;
        // ANCHOR: armour_manifest_len Refuse a body whose length is not what its counts say.
        if body.len() as u64 != expected {
            return Err(corrupt(
                16,
                &format!("{logs} log and {tables} table numbers, {expected} bytes before the CRC"),
                format!("{} bytes", body.len()),
            ));
        }
        // ANCHOR_END: armour_manifest_len
        let mut manifest = Manifest {
            next_file,
            ..Manifest::default()
        };
        let mut seen: BTreeSet<u64> = BTreeSet::new();
        let mut check = |at: usize, number: u64| -> Result<u64> {
            // ANCHOR: armour_file_numbers Refuse a file number used twice, or not below the next one.
            if number >= next_file || !seen.insert(number) {
                return Err(corrupt(
                    at,
                    &format!("a file number below {next_file}, used once"),
                    format!("{number}"),
                ));
            }
            // ANCHOR_END: armour_file_numbers
            Ok(number)
        };
        for i in 0..logs {
            let at = HEADER_LEN + 8 * i;
            manifest.logs.push(check(at, u64_at(at))?);
        }
        let mut last_level = 0;
        for i in 0..tables {
            let at = HEADER_LEN + 8 * logs + TABLE_ENTRY_LEN * i;
            let level = u32_at(at) as usize;
            // ANCHOR: armour_levels Refuse a level out of range, or levels out of order.
            if level >= MAX_LEVELS || level < last_level {
                return Err(corrupt(
                    at,
                    &format!("a level below {MAX_LEVELS}, levels in ascending order"),
                    format!("level {level} after level {last_level}"),
                ));
            }
            // ANCHOR_END: armour_levels
            last_level = level;
            manifest.levels[level].push(check(at + 4, u64_at(at + 4))?);
        }
        Ok(manifest)
        // ANCHOR_END: todo_manifest_decode
    }
    // ANCHOR_END: decode
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_manifest_decodes_to_itself() {
        let mut m = Manifest {
            next_file: 9,
            logs: vec![8],
            ..Manifest::default()
        };
        m.levels[0] = vec![5, 2];
        m.levels[2] = vec![7];
        assert_eq!(Manifest::decode(Path::new("M"), &m.encode()).unwrap(), m);
    }

    #[test]
    fn a_number_used_twice_or_too_high_is_damage() {
        let mut twice = Manifest {
            next_file: 9,
            logs: vec![5],
            ..Manifest::default()
        };
        twice.levels[1] = vec![5];
        let high = Manifest {
            next_file: 9,
            logs: vec![9],
            ..Manifest::default()
        };
        for m in [twice, high] {
            let e = Manifest::decode(Path::new("M"), &m.encode()).unwrap_err();
            assert!(e.is_corruption(), "{e}");
        }
    }

    #[test]
    fn a_level_out_of_range_or_order_is_damage() {
        let mut m = Manifest {
            next_file: 9,
            ..Manifest::default()
        };
        m.levels[1] = vec![3];
        m.levels[2] = vec![4];
        let good = m.encode();
        // The second table's level, 2, made 7 (no such level) and 0 (out
        // of order); the CRC recomputed so that only the level is wrong.
        for level in [MAX_LEVELS as u32, 0] {
            let mut bad = good.clone();
            let at = HEADER_LEN + TABLE_ENTRY_LEN;
            bad[at..at + 4].copy_from_slice(&level.to_le_bytes());
            reseal(&mut bad);
            let e = Manifest::decode(Path::new("M"), &bad).unwrap_err();
            assert!(e.to_string().contains("level"), "{e}");
        }
    }

    /// The CRC-32 at the end of `bytes` made right for the bytes before
    /// it, so that a test's change is the only thing wrong.
    fn reseal(bytes: &mut [u8]) {
        let end = bytes.len() - 4;
        let crc = crc32fast::hash(&bytes[..end]);
        bytes[end..].copy_from_slice(&crc.to_le_bytes());
    }

    #[test]
    fn a_header_written_wrong_behind_a_valid_checksum_is_damage() {
        let good = Manifest {
            next_file: 9,
            logs: vec![8],
            ..Manifest::default()
        }
        .encode();
        let named = |change: &dyn Fn(&mut Vec<u8>), what: &str| {
            let mut bad = good.clone();
            change(&mut bad);
            reseal(&mut bad);
            match Manifest::decode(Path::new("M"), &bad) {
                Err(e) => assert!(e.is_corruption() && e.to_string().contains(what), "{e}"),
                Ok(m) => panic!("{what}: decoded as {m:?}"),
            }
        };
        named(&|b| b[0] = b'X', "magic number");
        named(&|b| b[4] = b[4].wrapping_add(1), "format version");
        named(&|b| b[6] = 1, "reserved bytes 0");
        // One more log number than the count says, before the CRC.
        named(
            &|b| b.splice(HEADER_LEN..HEADER_LEN, [0; 8]).for_each(drop),
            "bytes before the CRC",
        );
    }
}
