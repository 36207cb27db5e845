//! Range tombstones: one entry that deletes every key in a range, however
//! many keys that is.
//!
//! A `delete_range` over a million keys could write a million tombstones.
//! This store writes one *range tombstone* instead: a start key (included)
//! and an end key (excluded), or no end (to the end of the key space). It
//! goes into the log as one operation, into the memtable beside the point
//! entries, and from there into a table, whose meta section holds it after
//! the Bloom filter.
//!
//! The rule that keeps it simple: **a range tombstone hides only older
//! data**. When one is applied to the memtable, the memtable's own entries
//! in its range are removed there and then, so a table never holds a value
//! that its own range tombstones cover: a read asks a table for the key
//! first, and only if the table does not hold it asks whether one of its
//! range tombstones covers it. Merging tables, an entry is hidden by a
//! range tombstone of a newer source, never of its own.
//!
//! ```text
//! range section (in a table's meta section, after the filter if any):
//!  4  magic "KVRT"
//!  1  version (1)
//!  3  reserved (0)
//!  4  count of range tombstones (N)
//!  N  × range tombstone:
//!       4  start length (u32)      …  start (included)
//!       1  end kind: 0 a key (excluded), 1 none (to the end)
//!       4  end length (u32, 0 for none)   …  end
//!  4  CRC-32 of everything before
//! ```
//!
//! The tombstones of a section are in key order and do not overlap. A
//! bound is not a key and may be one byte longer than the longest key
//! (see [`Tombstone::from_range`]).

use std::ops::Bound;
use std::path::Path;

use ch00_contract::{Error, KeyRange, MAX_KEY_LEN, Result};

// ANCHOR: constants
/// The first bytes of a range section.
pub const MAGIC: [u8; 4] = *b"KVRT";
/// The range section format's version.
pub const VERSION: u8 = 1;
/// Bytes before the tombstones.
pub const HEADER_LEN: usize = 12;
/// The longest bound: a key's limit, plus the one byte that turns "after
/// this key" into "from this key".
pub const MAX_BOUND_LEN: usize = MAX_KEY_LEN + 1;
// ANCHOR_END: constants

// ANCHOR: tombstone
/// A range tombstone: every key from `start` (included) up to `end`
/// (excluded; `None`: every key after `start`) is deleted, in data older
/// than the tombstone.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tombstone {
    /// The first key deleted.
    pub start: Vec<u8>,
    /// The first key not deleted, if any.
    pub end: Option<Vec<u8>>,
}

impl Tombstone {
    /// The tombstone for the keys of `range`, or `None` if it holds none.
    ///
    /// Every bound becomes an included start and an excluded end: the key
    /// just after `k` is `k` followed by a zero byte, so "after `k`" is
    /// "from `k\0`" and "up to `k`, included" is "before `k\0`". A bound
    /// longer than any key is cut to [`MAX_KEY_LEN`] bytes `t` first
    /// (every key shorter than the bound sorts against it as against
    /// `t`, except `t` itself, which sorts before it): so a bound is never
    /// longer than [`MAX_BOUND_LEN`].
    pub fn from_range(range: &KeyRange) -> Option<Tombstone> {
        // ANCHOR: todo_tombstone_from_range Keep an included start, turn an excluded one into the key and a zero byte; the same for the (excluded) end; None if empty.
        if range.is_empty() {
            return None;
        }
        let after = |key: &[u8]| [key, &[0]].concat();
        let start = match &range.start {
            Bound::Unbounded => Vec::new(),
            Bound::Included(k) if k.len() <= MAX_KEY_LEN => k.clone(),
            Bound::Included(k) | Bound::Excluded(k) => after(&k[..k.len().min(MAX_KEY_LEN)]),
        };
        let end = match &range.end {
            Bound::Unbounded => None,
            Bound::Excluded(k) if k.len() <= MAX_KEY_LEN => Some(k.clone()),
            Bound::Included(k) | Bound::Excluded(k) => Some(after(&k[..k.len().min(MAX_KEY_LEN)])),
        };
        let tombstone = Tombstone { start, end };
        (!tombstone.is_empty()).then_some(tombstone)
        // ANCHOR_END: todo_tombstone_from_range
    }

    /// Whether the tombstone deletes `key`.
    pub fn covers(&self, key: &[u8]) -> bool {
        self.start.as_slice() <= key && self.end.as_ref().is_none_or(|end| key < end.as_slice())
    }

    /// Whether it deletes nothing at all.
    pub fn is_empty(&self) -> bool {
        self.end.as_ref().is_some_and(|end| *end <= self.start)
    }

    /// Whether it may delete a key of `first..=last`.
    pub fn meets(&self, first: &[u8], last: &[u8]) -> bool {
        self.start.as_slice() <= last && self.end.as_ref().is_none_or(|end| first < end.as_slice())
    }

    /// Whether it deletes a key of `range`.
    pub fn meets_range(&self, range: &KeyRange) -> bool {
        let mut as_range = KeyRange {
            start: Bound::Included(self.start.clone()),
            end: self.end.clone().map_or(Bound::Unbounded, Bound::Excluded),
        };
        if range.is_empty() || as_range.is_empty() {
            return false;
        }
        // The two meet if the later start is within both.
        as_range.start = match (&range.start, &as_range.start) {
            (Bound::Unbounded, s) => s.clone(),
            (Bound::Included(a), Bound::Included(b)) if a > b => Bound::Included(a.clone()),
            (Bound::Excluded(a), Bound::Included(b)) if a >= b => Bound::Excluded(a.clone()),
            (_, s) => s.clone(),
        };
        as_range.end = match (&range.end, &as_range.end) {
            (Bound::Unbounded, e) => e.clone(),
            (e, Bound::Unbounded) => e.clone(),
            (Bound::Included(a), Bound::Excluded(b)) if a < b => Bound::Included(a.clone()),
            (Bound::Excluded(a), Bound::Excluded(b)) if a < b => Bound::Excluded(a.clone()),
            (_, e) => e.clone(),
        };
        !as_range.is_empty()
    }

    /// Appends the tombstone's bytes, as a range section and a log record
    /// hold them: the start's length and bytes, the end's kind, length
    /// and bytes. (Bounds are at most [`MAX_BOUND_LEN`] bytes: the lengths
    /// fit.)
    pub fn encode_to(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.start.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.start);
        let (kind, end) = match &self.end {
            Some(end) => (0, end.as_slice()),
            None => (1, &[][..]),
        };
        out.push(kind);
        out.extend_from_slice(&(end.len() as u32).to_le_bytes());
        out.extend_from_slice(end);
    }

    /// The bytes the tombstone takes in a log or a memtable's count.
    pub fn encoded_len(&self) -> usize {
        9 + self.start.len() + self.end.as_ref().map_or(0, Vec::len)
    }
}
// ANCHOR_END: tombstone

// ANCHOR: set
/// Range tombstones in key order, none overlapping another: the union of
/// every tombstone added. Adding one that overlaps or touches others
/// merges them, which is right wherever all of them hide the same older
/// data (a memtable's, a table's).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tombstones(Vec<Tombstone>);

impl Tombstones {
    /// Adds `t`, merged with every tombstone it overlaps or touches.
    pub fn add(&mut self, t: Tombstone) {
        // ANCHOR: todo_ranges_add Insert t, merged with every tombstone it overlaps or touches, keeping them sorted and disjoint.
        if t.is_empty() {
            return;
        }
        // The first tombstone that ends at or after `t`'s start, and the
        // first that starts after `t`'s end: those between merge with it.
        let from = self
            .0
            .partition_point(|o| o.end.as_ref().is_some_and(|e| *e < t.start));
        let to = self.0.partition_point(|o| match &t.end {
            Some(end) => o.start <= *end,
            None => true,
        });
        let mut merged = t;
        if from < to {
            let first = &self.0[from];
            let last = &self.0[to - 1];
            if first.start < merged.start {
                merged.start = first.start.clone();
            }
            merged.end = match (&merged.end, &last.end) {
                (Some(a), Some(b)) => Some(a.max(b).clone()),
                _ => None,
            };
        }
        self.0.splice(from..to, [merged]);
        // ANCHOR_END: todo_ranges_add
    }

    /// Whether a tombstone covers `key`: a binary search.
    pub fn covers(&self, key: &[u8]) -> bool {
        let i = self.0.partition_point(|t| t.start.as_slice() <= key);
        i > 0 && self.0[i - 1].covers(key)
    }

    /// The tombstones, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Tombstone> {
        self.0.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The first start, if any.
    pub fn first_start(&self) -> Option<&[u8]> {
        self.0.first().map(|t| t.start.as_slice())
    }

    /// The last tombstone, if any.
    pub fn last(&self) -> Option<&Tombstone> {
        self.0.last()
    }

    /// Takes out every part of the tombstones before `boundary` (all of
    /// them for `None`), cutting one that spans it in two.
    pub fn take_before(&mut self, boundary: Option<&[u8]>) -> Tombstones {
        // ANCHOR: todo_ranges_take_before Take every part before the boundary (all for None), cutting the tombstone that spans it in two.
        let Some(boundary) = boundary else {
            return std::mem::take(self);
        };
        let split = self.0.partition_point(|t| t.start.as_slice() < boundary);
        let mut taken: Vec<Tombstone> = self.0.drain(..split).collect();
        if let Some(last) = taken.last_mut()
            && last.end.as_ref().is_none_or(|e| e.as_slice() > boundary)
        {
            self.0.insert(
                0,
                Tombstone {
                    start: boundary.to_vec(),
                    end: last.end.clone(),
                },
            );
            last.end = Some(boundary.to_vec());
        }
        Tombstones(taken)
        // ANCHOR_END: todo_ranges_take_before
    }

    /// Keeps only the tombstones `keep` says yes to.
    pub fn retain(&mut self, keep: impl FnMut(&Tombstone) -> bool) {
        self.0.retain(keep);
    }
}
// ANCHOR_END: set

// ANCHOR: encode
impl Tombstones {
    /// The range section's bytes (nothing at all when there are none).
    pub fn encode(&self) -> Vec<u8> {
        // ANCHOR: todo_ranges_encode Nothing for no tombstones; else magic, version, three zero bytes, the count, each tombstone (encode_to), then a CRC-32.
        if self.0.is_empty() {
            return Vec::new();
        }
        let mut out = Vec::new();
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&(self.0.len() as u32).to_le_bytes());
        for t in &self.0 {
            t.encode_to(&mut out);
        }
        let crc = crc32fast::hash(&out);
        out.extend_from_slice(&crc.to_le_bytes());
        out
        // ANCHOR_END: todo_ranges_encode
    }
}
// ANCHOR_END: encode

// ANCHOR: decode
impl Tombstones {
    /// Decodes the range section `bytes` of the table at `path`, which
    /// starts at `offset`: the checksum first, then every field, and that
    /// the tombstones are in order, not empty, and do not overlap.
    pub fn decode(path: &Path, offset: u64, bytes: &[u8]) -> Result<Tombstones> {
        // ANCHOR: todo_ranges_decode The CRC-32 first, then every field; tombstones in order, not empty, not overlapping.
        let corrupt = |at: usize, expected: &str, found: String| {
            Error::corruption(path, offset + at as u64, expected, found)
        };
        if bytes.len() < HEADER_LEN + 4 {
            return Err(corrupt(
                0,
                "a range section of at least 16 bytes",
                format!("{} bytes", bytes.len()),
            ));
        }
        let (body, tail) = bytes.split_at(bytes.len() - 4);
        let stored = u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]);
        let computed = crc32fast::hash(body);
        if stored != computed {
            return Err(corrupt(
                body.len(),
                "the range section's CRC-32",
                format!("{stored:08x}, not {computed:08x}"),
            ));
        }
        if body[0..4] != MAGIC || body[4] != VERSION || body[5..8] != [0, 0, 0] {
            return Err(corrupt(
                0,
                "the magic \"KVRT\", version 1 and reserved bytes 0",
                format!("{:02x?}", &body[0..8]),
            ));
        }
        let count = u32::from_le_bytes([body[8], body[9], body[10], body[11]]);
        let mut at = HEADER_LEN;
        let read_bound = |at: &mut usize, what: &str| -> Result<Vec<u8>> {
            let len = body
                .get(*at..*at + 4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
            match len {
                Some(len) if len <= MAX_BOUND_LEN && len <= body.len() - *at - 4 => {
                    let bound = body[*at + 4..*at + 4 + len].to_vec();
                    *at += 4 + len;
                    Ok(bound)
                }
                _ => Err(corrupt(
                    *at,
                    "a bound's length, at most 65,536 and within the section",
                    format!("{len:?} for {what}"),
                )),
            }
        };
        let mut tombstones: Vec<Tombstone> = Vec::new();
        for _ in 0..count {
            let here = at;
            let start = read_bound(&mut at, "a start")?;
            let kind = body.get(at).copied();
            at += 1;
            let end = match kind {
                Some(0) => Some(read_bound(&mut at, "an end")?),
                Some(1) => {
                    if body.get(at..at + 4) != Some(&[0, 0, 0, 0][..]) {
                        return Err(corrupt(at, "an end length of 0", "another".into()));
                    }
                    at += 4;
                    None
                }
                other => {
                    return Err(corrupt(
                        at - 1,
                        "an end kind of 0 (a key) or 1 (none)",
                        format!("{other:?}"),
                    ));
                }
            };
            let t = Tombstone { start, end };
            let after_last = tombstones
                .last()
                .is_none_or(|last| last.end.as_ref().is_some_and(|e| *e <= t.start));
            if t.is_empty() || !after_last {
                return Err(corrupt(
                    here,
                    "range tombstones in key order, not empty, not overlapping",
                    format!("{t:?}"),
                ));
            }
            tombstones.push(t);
        }
        if at != body.len() {
            return Err(corrupt(
                at,
                "the end of the range section, after its count of tombstones",
                format!("{} more bytes", body.len() - at),
            ));
        }
        Ok(Tombstones(tombstones))
        // ANCHOR_END: todo_ranges_decode
    }
}
// ANCHOR_END: decode

#[cfg(test)]
mod tests {
    use super::*;

    fn t(start: &str, end: Option<&str>) -> Tombstone {
        Tombstone {
            start: start.as_bytes().to_vec(),
            end: end.map(|e| e.as_bytes().to_vec()),
        }
    }

    #[test]
    fn every_kind_of_bound_becomes_an_included_start_and_an_excluded_end() {
        let r = |range: KeyRange| Tombstone::from_range(&range);
        assert_eq!(
            r(KeyRange::new(&b"b"[..]..&b"d"[..])),
            Some(t("b", Some("d")))
        );
        assert_eq!(
            r(KeyRange::new(&b"b"[..]..=&b"d"[..])),
            Some(t("b", Some("d\0")))
        );
        assert_eq!(r(KeyRange::all()), Some(t("", None)));
        let after_b = KeyRange::from_bounds(Bound::Excluded(&b"b"[..]), Bound::Unbounded);
        assert_eq!(r(after_b), Some(t("b\0", None)));
        assert_eq!(r(KeyRange::new(&b"d"[..]..&b"b"[..])), None);
        assert_eq!(r(KeyRange::new(&b"b"[..]..&b"b"[..])), None);
        // A bound longer than any key: cut, and made exclusive.
        let long = vec![b'x'; MAX_KEY_LEN + 10];
        let cut = [&long[..MAX_KEY_LEN], &[0]].concat();
        let got = r(KeyRange::new(&long[..]..)).unwrap();
        assert_eq!(got.start, cut);
        assert!(!got.covers(&long[..MAX_KEY_LEN]));
        assert!(got.covers(&[&long[..MAX_KEY_LEN - 1], b"y"].concat()));
    }

    #[test]
    fn added_tombstones_merge_and_cover_their_union() {
        let mut set = Tombstones::default();
        set.add(t("m", Some("p")));
        set.add(t("a", Some("c")));
        set.add(t("b", Some("e")));
        set.add(t("e", Some("f")));
        set.add(t("x", None));
        set.add(t("w", Some("y")));
        let got: Vec<_> = set.iter().cloned().collect();
        assert_eq!(got, [t("a", Some("f")), t("m", Some("p")), t("w", None)]);
        for (key, covered) in [("a", true), ("e", true), ("f", false), ("o", true)] {
            assert_eq!(set.covers(key.as_bytes()), covered, "{key}");
        }
        assert!(set.covers(b"zzz") && !set.covers(b"p") && !set.covers(b""));
    }

    #[test]
    fn taking_before_a_boundary_cuts_the_tombstone_that_spans_it() {
        let mut set = Tombstones::default();
        set.add(t("a", Some("c")));
        set.add(t("e", None));
        let first = set.take_before(Some(b"f"));
        assert_eq!(
            first.iter().cloned().collect::<Vec<_>>(),
            [t("a", Some("c")), t("e", Some("f"))]
        );
        assert_eq!(set.iter().cloned().collect::<Vec<_>>(), [t("f", None)]);
        assert_eq!(set.take_before(None).len(), 1);
        assert!(set.is_empty());
    }

    #[test]
    fn a_section_round_trips_and_every_damage_is_an_error() {
        let mut set = Tombstones::default();
        set.add(t("a", Some("c")));
        set.add(t("k", None));
        let bytes = set.encode();
        let path = Path::new("t.sst");
        assert_eq!(Tombstones::decode(path, 0, &bytes).unwrap(), set);
        for len in 0..bytes.len() {
            assert!(Tombstones::decode(path, 0, &bytes[..len]).is_err(), "{len}");
        }
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut bad = bytes.clone();
                bad[at] ^= 1 << bit;
                assert!(Tombstones::decode(path, 0, &bad).is_err(), "{at} {bit}");
            }
        }
        assert!(Tombstones::default().encode().is_empty());
    }
}
