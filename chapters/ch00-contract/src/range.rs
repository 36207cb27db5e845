//! Key ranges for scans, and the byte-order facts every stage relies on.
//!
//! Keys are compared as plain byte strings: lexicographically, byte by byte,
//! and a key sorts before every longer key it is a prefix of (`"ab"` <
//! `"abc"` < `"abd"` < `"b"`). Every stage, in memory or on disk, must agree
//! on this order, so the tricky parts (empty and reversed ranges, the end of
//! a prefix range) are written once, here.

use std::ops::{Bound, RangeBounds};

// ANCHOR: key_range
/// A range of keys to scan: a lower and an upper bound, each inclusive,
/// exclusive or absent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange {
    /// Where the range starts.
    pub start: Bound<Vec<u8>>,
    /// Where the range ends.
    pub end: Bound<Vec<u8>>,
}
// ANCHOR_END: key_range

impl KeyRange {
    /// Every key.
    pub fn all() -> Self {
        KeyRange {
            start: Bound::Unbounded,
            end: Bound::Unbounded,
        }
    }

    /// Any Rust range over byte strings: `&b"a"[..]..&b"c"[..]`,
    /// `b"k".to_vec()..`. See [`KeyRange::from_bounds`] for explicit bounds.
    pub fn new<K: AsRef<[u8]>>(range: impl RangeBounds<K>) -> Self {
        KeyRange {
            start: range.start_bound().map(|k| k.as_ref().to_vec()),
            end: range.end_bound().map(|k| k.as_ref().to_vec()),
        }
    }

    /// A range from explicit bounds.
    pub fn from_bounds(start: Bound<&[u8]>, end: Bound<&[u8]>) -> Self {
        KeyRange {
            start: start.map(<[u8]>::to_vec),
            end: end.map(<[u8]>::to_vec),
        }
    }

    // ANCHOR: prefix
    /// Every key that starts with `prefix`.
    ///
    /// The range starts at the prefix itself and ends just before the first
    /// byte string that is greater than every key with the prefix. That
    /// string is the prefix with its last byte incremented, after dropping
    /// any trailing `0xFF` bytes, which cannot be incremented: the keys with
    /// prefix `[0x61, 0xFF]` end before `[0x62]`. A prefix made only of
    /// `0xFF` bytes (or the empty prefix) has no such string, so the range
    /// runs to the end of the key space.
    pub fn prefix(prefix: &[u8]) -> Self {
        let mut end = prefix.to_vec();
        while end.last() == Some(&0xFF) {
            end.pop();
        }
        let end = match end.last_mut() {
            Some(last) => {
                *last += 1;
                Bound::Excluded(end)
            }
            None => Bound::Unbounded,
        };
        KeyRange {
            start: Bound::Included(prefix.to_vec()),
            end,
        }
    }
    // ANCHOR_END: prefix

    /// Whether `key` lies inside the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        !self.is_before_start(key) && !self.is_past_end(key)
    }

    /// Whether `key` sorts before the start of the range.
    pub fn is_before_start(&self, key: &[u8]) -> bool {
        match &self.start {
            Bound::Included(start) => key < start.as_slice(),
            Bound::Excluded(start) => key <= start.as_slice(),
            Bound::Unbounded => false,
        }
    }

    /// Whether `key` sorts after the end of the range. A scan reading keys in
    /// order stops at the first such key.
    pub fn is_past_end(&self, key: &[u8]) -> bool {
        match &self.end {
            Bound::Included(end) => key > end.as_slice(),
            Bound::Excluded(end) => key >= end.as_slice(),
            Bound::Unbounded => false,
        }
    }

    // ANCHOR: is_empty
    /// Whether no key at all can lie in the range.
    ///
    /// Reversed ranges (`"c".."a"`) and ranges such as `"a".."a"` are empty,
    /// and a stage must answer them with an empty scan rather than an error
    /// or a panic (`BTreeMap::range` panics on both). The test is exact: the
    /// smallest key above an excluded start `s` is `s` followed by a zero
    /// byte, so `(Excluded("a"), Excluded("a\0"))` is empty too.
    pub fn is_empty(&self) -> bool {
        let lowest: Vec<u8> = match &self.start {
            Bound::Unbounded => Vec::new(),
            Bound::Included(start) => start.clone(),
            Bound::Excluded(start) => [start.as_slice(), &[0]].concat(),
        };
        self.is_past_end(&lowest)
    }
    // ANCHOR_END: is_empty
}

impl RangeBounds<[u8]> for KeyRange {
    fn start_bound(&self) -> Bound<&[u8]> {
        self.start.as_ref().map(Vec::as_slice)
    }

    fn end_bound(&self) -> Bound<&[u8]> {
        self.end.as_ref().map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::ops::Bound::{Excluded, Included, Unbounded};

    fn range(start: Bound<&[u8]>, end: Bound<&[u8]>) -> KeyRange {
        KeyRange::from_bounds(start, end)
    }

    #[test]
    fn prefix_ranges_end_at_the_next_prefix() {
        assert_eq!(
            KeyRange::prefix(b"ab"),
            range(Included(b"ab"), Excluded(b"ac"))
        );
        assert_eq!(
            KeyRange::prefix(b"a\xff"),
            range(Included(b"a\xff"), Excluded(b"b"))
        );
        assert_eq!(
            KeyRange::prefix(b"a\xff\xff"),
            range(Included(b"a\xff\xff"), Excluded(b"b"))
        );
        assert_eq!(
            KeyRange::prefix(b"\xff\xff"),
            range(Included(b"\xff\xff"), Unbounded)
        );
        assert_eq!(KeyRange::prefix(b""), range(Included(b""), Unbounded));
        assert!(KeyRange::prefix(b"\xff").contains(b"\xff\xff\xff"));
        assert!(!KeyRange::prefix(b"a\xff").contains(b"b"));
        assert!(KeyRange::prefix(b"a\xff").contains(b"a\xff\xff\xff"));
    }

    #[test]
    fn empty_and_reversed_ranges() {
        assert!(range(Included(b"c"), Included(b"a")).is_empty());
        assert!(range(Included(b"a"), Excluded(b"a")).is_empty());
        assert!(range(Excluded(b"a"), Included(b"a")).is_empty());
        assert!(range(Excluded(b"a"), Excluded(b"a\0")).is_empty());
        assert!(range(Unbounded, Excluded(b"")).is_empty());
        assert!(!range(Included(b"a"), Included(b"a")).is_empty());
        assert!(!range(Excluded(b"a"), Included(b"a\0")).is_empty());
        assert!(!range(Unbounded, Included(b"")).is_empty());
        assert!(!KeyRange::all().is_empty());
    }

    fn small_key() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop::sample::select(vec![0x00u8, 0x01, 0x61, 0xFE, 0xFF]),
            0..4,
        )
    }

    fn bound() -> impl Strategy<Value = Bound<Vec<u8>>> {
        prop_oneof![
            Just(Unbounded),
            small_key().prop_map(Included),
            small_key().prop_map(Excluded),
        ]
    }

    /// Every key of up to four bytes over the same alphabet: one byte longer
    /// than any bound, so that "just after" a bound is always represented.
    fn universe() -> Vec<Vec<u8>> {
        let alphabet = [0x00u8, 0x01, 0x61, 0xFE, 0xFF];
        let mut keys = vec![Vec::new()];
        for len in 1..=4 {
            let mut next = Vec::new();
            for key in keys.iter().filter(|k| k.len() == len - 1) {
                for b in alphabet {
                    next.push([key.as_slice(), &[b]].concat());
                }
            }
            keys.extend(next);
        }
        keys
    }

    proptest! {
        /// `contains` agrees with a definition written independently, and
        /// `is_empty` is true exactly when no key of the universe is contained.
        #[test]
        fn contains_and_is_empty_agree_with_brute_force(start in bound(), end in bound()) {
            let r = KeyRange { start: start.clone(), end: end.clone() };
            let mut any = false;
            for key in universe() {
                let above = match &start {
                    Unbounded => true,
                    Included(s) => key >= *s,
                    Excluded(s) => key > *s,
                };
                let below = match &end {
                    Unbounded => true,
                    Included(e) => key <= *e,
                    Excluded(e) => key < *e,
                };
                prop_assert_eq!(r.contains(&key), above && below, "key {:?}", key);
                any |= above && below;
            }
            prop_assert_eq!(r.is_empty(), !any);
        }

        /// A prefix range holds exactly the keys that start with the prefix.
        #[test]
        fn prefix_range_holds_exactly_the_prefixed_keys(prefix in small_key()) {
            let r = KeyRange::prefix(&prefix);
            for key in universe() {
                prop_assert_eq!(r.contains(&key), key.starts_with(&prefix), "key {:?}", key);
            }
        }
    }
}
