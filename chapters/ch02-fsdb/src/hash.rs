//! The hash that turns a key into a file name.
//!
//! A key is arbitrary bytes and a file name is not: `/` and NUL are
//! forbidden on Unix, Windows also forbids `<>:"\|?*` and names such as
//! `con` or `nul.txt`, and most file systems stop at 255 bytes. A hash maps
//! every key, whatever its bytes and length, to sixteen hex digits that are
//! a valid name everywhere.
//!
//! The hash need not be cryptographic: nobody gains anything by making two
//! keys collide, and when keys do collide the store keeps both (see
//! [`crate::layout`]). What matters is speed on short keys and an even
//! spread, which is what XXH3 was designed for. The 64-bit variant makes a
//! collision unlikely (about one chance in 37 million for a million keys:
//! n² / 2⁶⁵ by the birthday bound) without making names longer than they
//! need to be.

use twox_hash::XxHash3_64;

// ANCHOR: key_hash
/// The hash of `key` that names its file: XXH3-64 with seed 0, of which
/// only the top `bits` bits are kept (the others are zero).
///
/// The seed is fixed because a name must be the same in every process that
/// ever opens the store. `bits` is 64 in a real store; tests narrow it
/// (to 8 bits, say) so that different keys truly collide.
pub fn key_hash(key: &[u8], bits: u32) -> u64 {
    // ANCHOR: todo_key_hash XXH3-64 of the key with seed 0 (XxHash3_64::oneshot), keeping only its top `bits` bits (with bits 0, the hash is 0).
    let full = XxHash3_64::oneshot(key);
    match bits {
        0 => 0,
        1..64 => full & !(u64::MAX >> bits),
        _ => full,
    }
    // ANCHOR_END: todo_key_hash
}
// ANCHOR_END: key_hash

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_hashes_keep_the_top_bits() {
        let full = key_hash(b"hello", 64);
        assert_eq!(key_hash(b"hello", 8), full & 0xff00_0000_0000_0000);
        assert_eq!(key_hash(b"hello", 1), full & (1 << 63));
        assert_eq!(key_hash(b"hello", 0), 0);
        assert_ne!(key_hash(b"hello", 64), key_hash(b"hellp", 64));
    }

    #[test]
    fn the_hash_is_stable() {
        // File names on disk depend on this value: it may never change.
        assert_eq!(key_hash(b"", 64), 0x2d06_8005_38d3_94c2);
    }
}
