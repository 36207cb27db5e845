//! `fsdb.json`, the file that says a directory is a store of this format.
//!
//! A directory of JSON files does not say what wrote it, and a store that
//! opened any directory would, on its first write, scatter its files among
//! someone else's. The marker is this format's magic number and version:
//!
//! ```json
//! {"format":"ch02-fsdb","version":2,"hash":"xxh3-64","hash_bits":64}
//! ```
//!
//! It also records the hash width, since a store reopened with another
//! width would look for every key under the wrong name and find nothing.

use std::path::Path;

use ch00_contract::{Error, IoContext, Result};
use serde::{Deserialize, Serialize};

use disk::{Disk, LOCK_FILE, atomic};

use crate::layout::{MARKER, TEMP_SUFFIX};

/// The value of `format`: what any reader checks first.
pub const FORMAT: &str = "ch02-fsdb";
/// The only version this code reads and writes. Version 1 wrote entries as
/// `[value, key]`; version 2 adds a checksum, `[value, key, checksum]` (see
/// [`crate::content`]). A store of version 1 is refused at open, with an
/// error that names both versions, rather than failing on every key it holds.
pub const VERSION: u32 = 2;
/// The hash function file names come from.
pub const HASH: &str = "xxh3-64";

// ANCHOR: marker
/// The content of `fsdb.json`.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Marker {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`] for this code.
    pub version: u32,
    /// Always [`HASH`].
    pub hash: String,
    /// How many bits of the hash name files (64 outside tests).
    pub hash_bits: u32,
}
// ANCHOR_END: marker

/// The first two fields alone, read before anything else so that a newer
/// version is reported as such rather than as an unknown field.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u32,
}

impl Marker {
    /// The marker of a store with `hash_bits`-bit names.
    pub fn new(hash_bits: u32) -> Marker {
        Marker {
            format: FORMAT.into(),
            version: VERSION,
            hash: HASH.into(),
            hash_bits,
        }
    }
}

fn parse<'a, T: Deserialize<'a>>(path: &Path, bytes: &'a [u8], expected: &str) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::corruption(path, 0, expected, format!("{e} (in {MARKER})")))
}

/// Checks that `root` holds a store with `hash_bits`-bit names, or makes it
/// one if it is empty. Errors if it is some other directory.
pub fn check_or_create(disk: &Disk, root: &Path, hash_bits: u32) -> Result<()> {
    let path = root.join(MARKER);
    // A marker is some sixty bytes; a long one is not ours.
    let Some(bytes) = atomic::read_file(disk, &path, 4096)? else {
        return create(disk, root, hash_bits);
    };
    let header: Header = parse(
        &path,
        &bytes,
        "a JSON object with \"format\" and \"version\"",
    )?;
    // ANCHOR: armour_format Refuse a marker file of another format.
    if header.format != FORMAT {
        return Err(Error::corruption(
            &path,
            0,
            format!("format {FORMAT:?}"),
            format!("format {:?}", header.format),
        ));
    }
    // ANCHOR_END: armour_format
    // ANCHOR: armour_version Refuse a version this code does not know.
    if header.version != VERSION {
        return Err(Error::corruption(
            &path,
            0,
            format!("version {VERSION}"),
            format!(
                "version {} (written by another version of this code)",
                header.version
            ),
        ));
    }
    // ANCHOR_END: armour_version
    let marker: Marker = parse(&path, &bytes, "the fields format, version, hash, hash_bits")?;
    // ANCHOR: armour_hash Refuse a store whose files are named by another hash function.
    if marker.hash != HASH {
        return Err(Error::corruption(
            &path,
            0,
            format!("hash {HASH:?}"),
            format!("hash {:?}", marker.hash),
        ));
    }
    // ANCHOR_END: armour_hash
    if marker.hash_bits != hash_bits {
        return Err(Error::InvalidInput(format!(
            "the store in {} names files with {}-bit hashes; it cannot be opened with {hash_bits}-bit ones",
            root.display(),
            marker.hash_bits
        )));
    }
    Ok(())
}

/// Refuses a directory that is neither a store (it has the marker) nor
/// empty (but for the store's lock and the marker's own temporary file,
/// left by an earlier attempt that crashed), before the store writes
/// anything into it, the lock included.
pub fn refuse_foreign(disk: &Disk, root: &Path) -> Result<()> {
    if disk.exists(&root.join(MARKER)).context("reading", root)? {
        return Ok(());
    }
    let leftover = format!("{MARKER}{TEMP_SUFFIX}");
    for entry in disk.list(root).context("listing", root)? {
        let name = entry.name;
        if name.to_str() != Some(leftover.as_str()) && name.to_str() != Some(LOCK_FILE) {
            return Err(Error::corruption(
                root.join(name),
                0,
                format!("an empty directory or a store with {MARKER}"),
                "a directory that holds other files",
            ));
        }
    }
    Ok(())
}

/// Writes the marker into `root`, which must be empty (see
/// [`refuse_foreign`]).
fn create(disk: &Disk, root: &Path, hash_bits: u32) -> Result<()> {
    refuse_foreign(disk, root)?;
    let bytes = serde_json::to_vec(&Marker::new(hash_bits))
        .map_err(|e| Error::InvalidInput(format!("cannot encode {MARKER}: {e}")))?;
    // Once per store: always worth a sync.
    atomic::replace_durably(disk, &root.join(MARKER), &bytes)
}
