//! A Bloom filter per table: a few bits per key that answer "certainly
//! not here" for most keys a table does not hold, so that a get skips the
//! table without reading a block.
//!
//! The filter is an array of m bits, all zero at first. Adding a key sets
//! k of them, at positions computed from the key's hash; asking for a key
//! checks the same k positions. A key that was added has all k set, so the
//! filter never says "not here" for it; a key that was not added finds
//! them all set only by chance, a *false positive*, with probability about
//! (1 - e^(-kn/m))^k for n keys. With 10 bits per key and k = 7 that is
//! under 1%.
//!
//! ```text
//!  4  magic "KVBF"
//!  1  format version (1)
//!  1  k, the probes per key (1 to 30)
//!  2  reserved (0)
//!  4  m, the number of bits (a multiple of 8, at least 64)
//!  …  the m bits, m / 8 bytes; bit i is bit (i % 8) of byte i / 8
//!  4  CRC-32 of everything before
//! ```
//!
//! It is stored in the meta section of the table it describes, which
//! chapter 5 left empty for it.

use std::path::Path;

use ch00_contract::{Error, Result};
use twox_hash::XxHash3_64;

// ANCHOR: constants
/// The first bytes of every filter.
pub const MAGIC: [u8; 4] = *b"KVBF";
/// The filter format's version.
pub const VERSION: u8 = 1;
/// Bytes before the bits.
pub const HEADER_LEN: usize = 12;
/// The most probes a filter uses: past ~30 each probe adds more cost than
/// it takes off the false positives.
pub const MAX_PROBES: u8 = 30;
/// The largest filter a store reads (about 50 million keys at 10 bits).
pub const MAX_LEN: u64 = 64 << 20;
// ANCHOR_END: constants

// ANCHOR: filter
/// A Bloom filter: m bits and k probes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BloomFilter {
    bits: Vec<u8>,
    probes: u8,
}

impl BloomFilter {
    /// A filter of `keys` with about `bits_per_key` bits each. The number
    /// of probes that makes false positives rarest is `bits_per_key × ln 2`.
    pub fn build<'a>(keys: impl ExactSizeIterator<Item = &'a [u8]>, bits_per_key: u32) -> Self {
        // ANCHOR: todo_bloom_build Bits: n x bits_per_key, at least 64, in whole bytes; probes: bits_per_key x ln 2, rounded, 1 to MAX_PROBES; add every key.
        let wanted = (keys.len() as u64).saturating_mul(u64::from(bits_per_key));
        let bits = wanted.clamp(64, MAX_LEN * 8 / 2).div_ceil(8) as usize;
        let probes = (f64::from(bits_per_key) * std::f64::consts::LN_2).round();
        let mut filter = BloomFilter {
            bits: vec![0; bits],
            probes: (probes as u8).clamp(1, MAX_PROBES),
        };
        for key in keys {
            filter.add(key);
        }
        filter
        // ANCHOR_END: todo_bloom_build
    }

    fn add(&mut self, key: &[u8]) {
        // ANCHOR: todo_bloom_add Set the bit at each of the key's positions.
        for bit in self.positions(key) {
            self.bits[bit / 8] |= 1 << (bit % 8);
        }
        // ANCHOR_END: todo_bloom_add
    }

    /// `false` if `key` was certainly not added; `true` if it was, or by
    /// chance.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        // ANCHOR: todo_bloom_may_contain True only if every one of the key's positions is set.
        self.positions(key)
            .all(|bit| self.bits[bit / 8] & (1 << (bit % 8)) != 0)
        // ANCHOR_END: todo_bloom_may_contain
    }

    /// The k bit positions of `key`: one 64-bit hash split in two, h1 and
    /// h2, and probe i at h1 + i × h2 (double hashing: k hashes for the
    /// price of one, as good for a filter as k independent ones).
    fn positions(&self, key: &[u8]) -> impl Iterator<Item = usize> + use<> {
        // ANCHOR: todo_iter_bloom_positions XXH3-64 of the key (XxHash3_64::oneshot); h1 its low 32 bits, h2 its high 32; probe i at h1.wrapping_add(i.wrapping_mul(h2)) as u64 % m bits.
        let hash = XxHash3_64::oneshot(key);
        let (h1, h2) = (hash as u32, (hash >> 32) as u32);
        let m = (self.bits.len() * 8) as u64;
        (0..u32::from(self.probes))
            .map(move |i| (u64::from(h1.wrapping_add(i.wrapping_mul(h2))) % m) as usize)
        // ANCHOR_END: todo_iter_bloom_positions
    }
    // ANCHOR_END: filter

    /// The number of probes per key, k.
    pub fn probes(&self) -> u8 {
        self.probes
    }

    /// The number of bits, m.
    pub fn bit_count(&self) -> u64 {
        self.bits.len() as u64 * 8
    }

    /// Bytes of memory the filter holds.
    pub fn heap_bytes(&self) -> u64 {
        self.bits.len() as u64
    }

    /// The filter's bytes, as the meta section holds them.
    pub fn encode(&self) -> Vec<u8> {
        // ANCHOR: todo_bloom_encode Magic, version, the probe count, two zero bytes, the bit count (u32), the bits, then a CRC-32 of all of it.
        let mut out = Vec::with_capacity(HEADER_LEN + self.bits.len() + 4);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(self.probes);
        out.extend_from_slice(&[0, 0]);
        out.extend_from_slice(&(self.bit_count() as u32).to_le_bytes());
        out.extend_from_slice(&self.bits);
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
        // ANCHOR_END: todo_bloom_encode
    }

    // ANCHOR: decode
    /// Decodes the filter in `bytes`, the meta section of the table at
    /// `path`, which starts at `offset`: its checksum first, then every
    /// field. A damaged filter is an error, never a filter that says "not
    /// here" for a key the table holds.
    // ANCHOR: decode_idea_a
    pub fn decode(path: &Path, offset: u64, bytes: &[u8]) -> Result<BloomFilter> {
        // ANCHOR_END: decode_idea_a
        // ANCHOR: todo_bloom_decode The CRC-32 first, then every field; a damaged filter is an error, never a filter that forgets keys.
        let corrupt = |at: usize, expected: String, found: String| {
            Error::corruption(path, offset + at as u64, expected, found)
        };
        // ANCHOR: armour_filter_short Refuse a meta section too short for a header, eight bytes of bits and a checksum.
        if bytes.len() < HEADER_LEN + 8 + 4 {
            return Err(corrupt(
                0,
                format!("a Bloom filter of at least {} bytes", HEADER_LEN + 12),
                format!("a meta section of {} bytes", bytes.len()),
            ));
        }
        // ANCHOR_END: armour_filter_short
        // ANCHOR: decode_idea_b
        let (body, tail) = bytes.split_at(bytes.len() - 4);
        // ANCHOR_END: decode_idea_b
        let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
        let computed = crc32fast::hash(body);
        // ANCHOR: armour_filter_checksum Compare the filter's stored CRC-32 with one computed over the bytes before it.
        if stored != computed {
            return Err(corrupt(
                body.len(),
                format!("the filter's CRC-32, {computed:08x}"),
                format!("{stored:08x}"),
            ));
        }
        // ANCHOR_END: armour_filter_checksum
        // ANCHOR: armour_filter_magic Refuse a wrong magic number, version or reserved bytes.
        if body[0..4] != MAGIC || body[4] != VERSION || body[6..8] != [0, 0] {
            return Err(corrupt(
                0,
                format!("the magic {MAGIC:?}, version {VERSION} and reserved bytes 0"),
                format!("{:?}", &body[0..8]),
            ));
        }
        // ANCHOR_END: armour_filter_magic
        // ANCHOR: decode_idea_c
        let probes = body[5];
        // ANCHOR_END: decode_idea_c
        let bits = u32::from_le_bytes([body[8], body[9], body[10], body[11]]);
        let len = body.len() - HEADER_LEN;
        // ANCHOR: armour_filter_geometry Refuse probes outside 1 to MAX_PROBES, or a bit count that is not the section's.
        if !(1..=MAX_PROBES).contains(&probes) || u64::from(bits) != len as u64 * 8 {
            return Err(corrupt(
                5,
                format!(
                    "1 to {MAX_PROBES} probes, and {} bits, as the section holds",
                    len * 8
                ),
                format!("{probes} probes and {bits} bits"),
            ));
        }
        // ANCHOR_END: armour_filter_geometry
        // ANCHOR: decode_idea_d
        Ok(BloomFilter {
            bits: body[HEADER_LEN..].to_vec(),
            probes,
        })
        // ANCHOR_END: decode_idea_d
        // ANCHOR_END: todo_bloom_decode
        // ANCHOR: decode_idea_e
    }
    // ANCHOR_END: decode_idea_e
    // ANCHOR_END: decode
}

/// The false-positive rate the formula predicts for `n` keys in `m` bits
/// with `k` probes: (1 - e^(-kn/m))^k.
pub fn expected_false_positives(n: u64, m: u64, k: u8) -> f64 {
    let k = f64::from(k);
    (1.0 - (-k * n as f64 / m as f64).exp()).powf(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_round_trips_and_never_forgets_a_key() {
        let keys: Vec<Vec<u8>> = (0..1000u32)
            .map(|i| format!("key{i}").into_bytes())
            .collect();
        let filter = BloomFilter::build(keys.iter().map(Vec::as_slice), 10);
        assert_eq!(filter.probes(), 7);
        let again = BloomFilter::decode(Path::new("t"), 0, &filter.encode()).unwrap();
        assert_eq!(again, filter);
        assert!(keys.iter().all(|k| again.may_contain(k)));
    }

    #[test]
    fn every_damaged_byte_is_an_error() {
        let filter = BloomFilter::build([&b"a"[..], b"b"].into_iter(), 10);
        let bytes = filter.encode();
        for at in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x10;
            let e = BloomFilter::decode(Path::new("t"), 100, &damaged).unwrap_err();
            assert!(e.is_corruption(), "byte {at}: {e}");
        }
        for len in 0..bytes.len() {
            assert!(BloomFilter::decode(Path::new("t"), 0, &bytes[..len]).is_err());
        }
    }

    #[test]
    fn a_filter_written_wrong_behind_a_valid_checksum_is_an_error() {
        let bytes = BloomFilter::build([&b"a"[..], b"b"].into_iter(), 10).encode();
        type Change = fn(&mut [u8]);
        let wrong: [(&str, Change); 6] = [
            ("the magic", |b| b[0] = b'X'),
            ("the version", |b| b[4] = b[4].wrapping_add(1)),
            ("the reserved bytes", |b| b[6] = 1),
            ("no probes", |b| b[5] = 0),
            ("too many probes", |b| b[5] = MAX_PROBES + 1),
            ("a bit count the bytes do not hold", |b| {
                b[8] = b[8].wrapping_add(8)
            }),
        ];
        for (what, change) in wrong {
            let mut bad = bytes.clone();
            change(&mut bad);
            let end = bad.len() - 4;
            let crc = crc32fast::hash(&bad[..end]);
            bad[end..].copy_from_slice(&crc.to_le_bytes());
            let e = BloomFilter::decode(Path::new("t"), 0, &bad);
            assert!(e.is_err_and(|e| e.is_corruption()), "{what}");
        }
    }
}
