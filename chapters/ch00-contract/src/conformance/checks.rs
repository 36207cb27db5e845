//! The hand-written checks: one promise of the contract each.
//!
//! Each check opens a fresh store in a temporary directory, drives it
//! through a scenario and compares every answer with the one the contract
//! requires. The expected answers are written out or computed in the most
//! obvious way possible (filtering a list), never with the code under test.

use std::collections::BTreeMap;
use std::ops::Bound::{self, Excluded, Included, Unbounded};

use super::{CheckResult, Failure, Harness, collect_scan, show, show_pairs};
use crate::{
    Error, KeyRange, KeyValue, KvStore, MAX_KEY_LEN, MAX_VALUE_LEN, Stage, Survives, WriteBatch,
};

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn show_opt(value: Option<&[u8]>) -> String {
    match value {
        Some(v) if v.len() > 64 => format!("Some(<{} bytes>)", v.len()),
        Some(v) => format!("Some({})", show(v)),
        None => "None".to_string(),
    }
}

fn expect_get<S: KvStore>(store: &S, key: &[u8], want: Option<&[u8]>, when: &str) -> CheckResult {
    let got = store.get(key)?;
    if got.as_deref() != want {
        return Err(Failure::new(format!(
            "{when}: get({}) returned {}, expected {}",
            show(key),
            show_opt(got.as_deref()),
            show_opt(want)
        )));
    }
    Ok(())
}

fn expect_scan<S: KvStore>(
    store: &S,
    range: KeyRange,
    want: &[KeyValue],
    when: &str,
) -> CheckResult {
    let got = collect_scan(store, range.clone())?;
    if got != want {
        return Err(Failure::new(format!(
            "{when}: scan({range:?}) returned {}, expected {}",
            show_pairs(&got),
            show_pairs(want)
        )));
    }
    Ok(())
}

fn expect_prefix<S: KvStore>(
    store: &S,
    prefix: &[u8],
    want: &[KeyValue],
    when: &str,
) -> CheckResult {
    let got: Vec<KeyValue> = store.scan_prefix(prefix)?.collect::<Result<_, _>>()?;
    if got != want {
        return Err(Failure::new(format!(
            "{when}: scan_prefix({}) returned {}, expected {}",
            show(prefix),
            show_pairs(&got),
            show_pairs(want)
        )));
    }
    Ok(())
}

/// The whole store, through a full scan and through `get` of every key,
/// must equal `want`.
fn expect_state<S: KvStore>(store: &S, want: &Model, when: &str) -> CheckResult {
    let entries: Vec<KeyValue> = want.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    expect_scan(store, KeyRange::all(), &entries, when)?;
    for (key, value) in want {
        expect_get(store, key, Some(value), when)?;
    }
    Ok(())
}

/// A range as `Included("a") .. Unbounded`, bytes escaped (the derived
/// `Debug` shows keys as lists of numbers).
fn show_range(range: &KeyRange) -> String {
    let bound = |b: &Bound<Vec<u8>>| match b {
        Included(k) => format!("Included({})", show(k)),
        Excluded(k) => format!("Excluded({})", show(k)),
        Unbounded => "Unbounded".to_string(),
    };
    format!("{} .. {}", bound(&range.start), bound(&range.end))
}

fn entries(pairs: &[(&[u8], &[u8])]) -> Vec<KeyValue> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect()
}

fn model(pairs: &[(&[u8], &[u8])]) -> Model {
    pairs
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect()
}

/// One hand-written check: its name and the function.
pub type Check<S> = (&'static str, fn(&<S as Stage>::Options) -> CheckResult);

/// Every hand-written check, by name, for callers that run the suite
/// without the macro (a peer that must skip one, say), so that a check
/// added here reaches them too.
pub fn all<S: Stage>() -> Vec<Check<S>> {
    vec![
        ("set_then_get", set_then_get::<S>),
        ("overwrite", overwrite::<S>),
        ("delete", delete::<S>),
        ("empty_and_binary", empty_and_binary::<S>),
        ("scan_order", scan_order::<S>),
        ("scan_bounds", scan_bounds::<S>),
        ("empty_and_reversed_ranges", empty_and_reversed_ranges::<S>),
        ("prefix_scan", prefix_scan::<S>),
        ("scan_sees_latest_writes", scan_sees_latest_writes::<S>),
        ("size_limits", size_limits::<S>),
        ("write_batches", write_batches::<S>),
        ("reopen", reopen::<S>),
        ("deletes_survive_reopen", deletes_survive_reopen::<S>),
        ("crash", crash::<S>),
        ("many_keys", many_keys::<S>),
        ("many_syncs", many_syncs::<S>),
        ("delete_range_bounds", delete_range_bounds::<S>),
        ("delete_prefix", delete_prefix::<S>),
        ("delete_range_reopen", delete_range_reopen::<S>),
        ("delete_range_many_keys", delete_range_many_keys::<S>),
    ]
}

/// Runs `check` three times: on writes still buffered, after a sync, and
/// (for a stage that keeps data) after a clean reopen. A disk-based stage
/// answers from different code in each phase: its write buffer, its files
/// with the buffer empty, its files as read back at open.
fn in_every_phase<S: Stage>(
    options: &S::Options,
    h: &mut Harness<S>,
    mut check: impl FnMut(&S, &str) -> CheckResult,
) -> CheckResult {
    check(h.store(), "writes not yet synced")?;
    h.store().sync()?;
    check(h.store(), "after sync")?;
    if S::durability(options).keeps_data() {
        let s = h.close_and_reopen()?;
        check(s, "after reopening")?;
    }
    Ok(())
}

// ANCHOR: set_then_get
/// Values come back; keys that were never set, including prefixes and
/// extensions of stored keys, are absent.
pub fn set_then_get<S: Stage>(options: &S::Options) -> CheckResult {
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    expect_get(s, b"apple", None, "an empty store")?;
    s.set(b"apple", b"red")?;
    expect_get(s, b"apple", Some(b"red"), "after set(apple)")?;
    s.set(b"banana", b"yellow")?;
    expect_get(s, b"apple", Some(b"red"), "after a second set")?;
    expect_get(s, b"banana", Some(b"yellow"), "after a second set")?;
    expect_get(s, b"appl", None, "a prefix of a stored key")?;
    expect_get(s, b"apples", None, "an extension of a stored key")?;
    expect_get(s, b"Apple", None, "keys are case-sensitive bytes")?;
    expect_get(s, b"", None, "the empty key was never set")?;
    Ok(())
}
// ANCHOR_END: set_then_get

/// The latest value wins, including an empty one, before and after syncs.
pub fn overwrite<S: Stage>(options: &S::Options) -> CheckResult {
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    let long = vec![b'x'; 1000];
    s.set(b"k", b"first")?;
    s.set(b"k", b"second")?;
    expect_get(s, b"k", Some(b"second"), "after overwriting")?;
    s.set(b"k", b"")?;
    expect_get(
        s,
        b"k",
        Some(b""),
        "an empty value is a value, not a delete",
    )?;
    s.set(b"k", &long)?;
    expect_get(s, b"k", Some(&long), "after growing the value")?;
    s.sync()?;
    s.set(b"k", b"short")?;
    expect_get(s, b"k", Some(b"short"), "after overwriting a synced value")?;
    s.sync()?;
    expect_get(s, b"k", Some(b"short"), "after syncing the overwrite")?;
    expect_scan(
        s,
        KeyRange::all(),
        &entries(&[(b"k", b"short")]),
        "an overwritten key appears once",
    )
}

// ANCHOR: delete
/// Deleting removes exactly one key; deleting an absent key is a no-op;
/// a deleted key can be set again.
pub fn delete<S: Stage>(options: &S::Options) -> CheckResult {
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    s.set(b"a", b"1")?;
    s.set(b"b", b"2")?;
    s.set(b"c", b"3")?;
    s.delete(b"b")?;
    expect_get(s, b"b", None, "after delete(b)")?;
    expect_get(s, b"a", Some(b"1"), "delete(b) must not touch a")?;
    expect_get(s, b"c", Some(b"3"), "delete(b) must not touch c")?;
    let a_and_c = entries(&[(b"a", b"1"), (b"c", b"3")]);
    expect_scan(s, KeyRange::all(), &a_and_c, "after delete(b)")?;

    s.delete(b"b")?;
    s.delete(b"zzz")?;
    s.delete(b"")?;
    expect_scan(
        s,
        KeyRange::all(),
        &a_and_c,
        "deleting absent keys changes nothing",
    )?;

    s.set(b"b", b"again")?;
    expect_get(s, b"b", Some(b"again"), "a deleted key set again")?;

    s.set(b"d", b"4")?;
    s.sync()?;
    s.delete(b"d")?;
    expect_get(s, b"d", None, "deleting a synced key")?;
    s.sync()?;
    expect_get(s, b"d", None, "after syncing the delete of a synced key")?;
    expect_scan(
        s,
        KeyRange::all(),
        &entries(&[(b"a", b"1"), (b"b", b"again"), (b"c", b"3")]),
        "after deletes across syncs",
    )
}
// ANCHOR_END: delete

/// Keys and values are bytes: empty, zero bytes, invalid UTF-8, separators.
pub fn empty_and_binary<S: Stage>(options: &S::Options) -> CheckResult {
    let every_byte: Vec<u8> = (0..=255).collect();
    let pairs: Vec<(&[u8], &[u8])> = vec![
        (b"", b"the empty key"),
        (b"empty value", b""),
        (b"\x00\x00\x00", b"\x00\x00"),
        (b"\xff\xfe", &every_byte),
        ("café".as_bytes(), "☃".as_bytes()),
        (b"\x80", b"\xc0\x80 is not UTF-8"),
        (b"/etc/passwd", b"a slash"),
        (b"..", b"a dot dot"),
        (b"line\nbreak", b"tab\there"),
        (b"nul\x00inside", b"value\x00with nul"),
        (b"con", b"a reserved Windows file name"),
    ];
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    for (k, v) in &pairs {
        s.set(k, v)?;
    }
    let want = model(&pairs);
    expect_state(s, &want, "after setting binary keys and values")?;
    expect_get(
        s,
        b"empty value",
        Some(b""),
        "an empty value is not a missing key",
    )?;
    s.sync()?;
    expect_state(s, &want, "after sync")?;
    if S::durability(options).keeps_data() {
        let s = h.close_and_reopen()?;
        expect_state(s, &want, "after reopening")?;
    }
    Ok(())
}

// ANCHOR: scan_order
/// A full scan returns keys in byte order: unsigned bytes, shorter prefix
/// first, whatever the insertion order.
pub fn scan_order<S: Stage>(options: &S::Options) -> CheckResult {
    // In the order the contract requires. 0x80 sorts after 0x7F: bytes are
    // unsigned (comparing them as `i8`, as C's `char` may, gets this wrong).
    let sorted: Vec<&[u8]> = vec![
        b"",
        b"\x00",
        b"\x00\x00",
        b"\x01",
        b"a",
        b"ab",
        b"abc",
        b"abd",
        b"b",
        b"\x7f",
        b"\x80",
        b"\xff",
        b"\xff\xff",
    ];
    let insertion_order = [7, 2, 12, 0, 9, 4, 11, 1, 8, 3, 10, 6, 5];
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    for &i in &insertion_order {
        s.set(sorted[i], format!("v{i}").as_bytes())?;
    }
    let want: Vec<KeyValue> = sorted
        .iter()
        .enumerate()
        .map(|(i, k)| (k.to_vec(), format!("v{i}").into_bytes()))
        .collect();
    expect_scan(s, KeyRange::all(), &want, "keys set in scrambled order")?;
    s.sync()?;
    expect_scan(s, KeyRange::all(), &want, "after sync")?;
    if S::durability(options).keeps_data() {
        let s = h.close_and_reopen()?;
        expect_scan(s, KeyRange::all(), &want, "after reopening")?;
    }
    Ok(())
}
// ANCHOR_END: scan_order

// ANCHOR: scan_bounds
/// Every combination of inclusive, exclusive and absent bounds, on keys
/// that are and are not in the store, against the entries filtered by hand.
pub fn scan_bounds<S: Stage>(options: &S::Options) -> CheckResult {
    let stored: Vec<KeyValue> = entries(&[(b"b", b"1"), (b"d", b"2"), (b"f", b"3"), (b"h", b"4")]);
    let mut h = Harness::<S>::new(options)?;
    for (k, v) in &stored {
        h.store().set(k, v)?;
    }
    let points: [&[u8]; 7] = [b"a", b"b", b"b\x00", b"c", b"d", b"h", b"i"];
    let mut bounds: Vec<Bound<&[u8]>> = vec![Unbounded];
    for p in points {
        bounds.push(Included(p));
        bounds.push(Excluded(p));
    }
    in_every_phase(options, &mut h, |s, when| {
        for start in &bounds {
            for end in &bounds {
                let want: Vec<KeyValue> = stored
                    .iter()
                    .filter(|(k, _)| in_bounds(k, *start, *end))
                    .cloned()
                    .collect();
                expect_scan(s, KeyRange::from_bounds(*start, *end), &want, when)?;
            }
        }
        Ok(())
    })
}
// ANCHOR_END: scan_bounds

/// Whether `key` lies between the bounds, by plain comparisons: the
/// definition the stores' range code is checked against.
pub(crate) fn in_bounds(key: &[u8], start: Bound<&[u8]>, end: Bound<&[u8]>) -> bool {
    let above = match start {
        Included(b) => key >= b,
        Excluded(b) => key > b,
        Unbounded => true,
    };
    let below = match end {
        Included(b) => key <= b,
        Excluded(b) => key < b,
        Unbounded => true,
    };
    above && below
}

/// Empty and reversed ranges yield nothing: no error, no panic.
pub fn empty_and_reversed_ranges<S: Stage>(options: &S::Options) -> CheckResult {
    let mut h = Harness::<S>::new(options)?;
    expect_scan(h.store(), KeyRange::all(), &[], "an empty store")?;
    for k in [&b"a"[..], b"b", b"c"] {
        h.store().set(k, b"v")?;
    }
    let empty: [KeyRange; 6] = [
        KeyRange::from_bounds(Included(b"c"), Included(b"a")),
        KeyRange::from_bounds(Included(b"c"), Excluded(b"a")),
        KeyRange::from_bounds(Included(b"b"), Excluded(b"b")),
        KeyRange::from_bounds(Excluded(b"b"), Included(b"b")),
        KeyRange::from_bounds(Excluded(b"a"), Excluded(b"a\x00")),
        KeyRange::from_bounds(Unbounded, Excluded(b"")),
    ];
    in_every_phase(options, &mut h, |s, when| {
        for range in &empty {
            expect_scan(s, range.clone(), &[], when)?;
        }
        expect_scan(
            s,
            KeyRange::from_bounds(Included(b"b"), Included(b"b")),
            &entries(&[(b"b", b"v")]),
            when,
        )
    })
}

// ANCHOR: prefix_scan
/// Prefix scans, including the prefixes whose range has no simple end:
/// ones ending in `0xFF` bytes.
pub fn prefix_scan<S: Stage>(options: &S::Options) -> CheckResult {
    // In key order: the expected answers are this list, filtered.
    let keys: Vec<&[u8]> = vec![
        b"",
        b"ap",
        b"app",
        b"apple",
        b"apply",
        b"apq",
        b"a\xff",
        b"a\xff\x00",
        b"a\xff\xff",
        b"b",
        b"\xff",
        b"\xff\x00",
        b"\xff\xff",
        b"\xff\xff\x01",
    ];
    let mut h = Harness::<S>::new(options)?;
    for k in &keys {
        h.store().set(k, &[k, &b"!"[..]].concat())?;
    }
    let prefixes: [&[u8]; 11] = [
        b"",
        b"a",
        b"ap",
        b"app",
        b"apple",
        b"applesauce",
        b"apz",
        b"a\xff",
        b"\xff",
        b"\xff\xff",
        b"\xff\xff\xff",
    ];
    in_every_phase(options, &mut h, |s, when| {
        for prefix in prefixes {
            let want: Vec<KeyValue> = keys
                .iter()
                .filter(|k| k.starts_with(prefix))
                .map(|k| (k.to_vec(), [k, &b"!"[..]].concat()))
                .collect();
            expect_prefix(s, prefix, &want, when)?;
        }
        Ok(())
    })
}
// ANCHOR_END: prefix_scan

/// Scans see the latest writes, synced or not: an overwrite replaces, a
/// delete hides, a new key appears.
pub fn scan_sees_latest_writes<S: Stage>(options: &S::Options) -> CheckResult {
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    for k in [&b"a"[..], b"b", b"c"] {
        s.set(k, b"1")?;
    }
    s.sync()?;
    s.set(b"b", b"2")?;
    s.delete(b"c")?;
    s.set(b"d", b"1")?;
    let want = entries(&[(b"a", b"1"), (b"b", b"2"), (b"d", b"1")]);
    expect_scan(
        s,
        KeyRange::all(),
        &want,
        "unsynced writes over synced ones",
    )?;
    s.sync()?;
    expect_scan(s, KeyRange::all(), &want, "after syncing them")?;
    s.set(b"a", b"3")?;
    s.delete(b"d")?;
    s.delete(b"b")?;
    s.set(b"b", b"4")?;
    let want = entries(&[(b"a", b"3"), (b"b", b"4")]);
    expect_scan(s, KeyRange::all(), &want, "a second round of writes")?;
    expect_prefix(
        s,
        b"b",
        &entries(&[(b"b", b"4")]),
        "a second round of writes",
    )?;
    expect_scan(
        s,
        KeyRange::new(&b"b"[..]..),
        &entries(&[(b"b", b"4")]),
        "a second round of writes",
    )
}

fn expect_too_large(result: Result<impl std::fmt::Debug, Error>, what: &str) -> CheckResult {
    match result {
        Err(Error::KeyTooLarge { len, max }) if what.contains("key") => {
            if len == MAX_KEY_LEN + 1 && max == MAX_KEY_LEN {
                Ok(())
            } else {
                Err(Failure::new(format!(
                    "{what}: KeyTooLarge reported len {len}, max {max}"
                )))
            }
        }
        Err(Error::ValueTooLarge { len, max }) if what.contains("value") => {
            if len == MAX_VALUE_LEN + 1 && max == MAX_VALUE_LEN {
                Ok(())
            } else {
                Err(Failure::new(format!(
                    "{what}: ValueTooLarge reported len {len}, max {max}"
                )))
            }
        }
        other => Err(Failure::new(format!(
            "{what}: expected a size-limit error, got {other:?}"
        ))),
    }
}

// ANCHOR: size_limits
/// Keys and values up to the limits are stored; one byte more is rejected
/// with the right error, and the rejected call changes nothing.
pub fn size_limits<S: Stage>(options: &S::Options) -> CheckResult {
    let max_key = vec![b'k'; MAX_KEY_LEN];
    let long_key = vec![b'k'; MAX_KEY_LEN + 1];
    let max_value = vec![b'v'; MAX_VALUE_LEN];
    let long_value = vec![b'v'; MAX_VALUE_LEN + 1];
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    s.set(&max_key, b"longest key")?;
    s.set(b"big", &max_value)?;
    expect_get(
        s,
        &max_key,
        Some(b"longest key"),
        "a key of MAX_KEY_LEN bytes",
    )?;
    expect_get(
        s,
        b"big",
        Some(&max_value),
        "a value of MAX_VALUE_LEN bytes",
    )?;

    expect_too_large(s.set(&long_key, b"v"), "set with a key over the limit")?;
    expect_too_large(s.get(&long_key), "get with a key over the limit")?;
    expect_too_large(s.delete(&long_key), "delete with a key over the limit")?;
    expect_too_large(
        s.set(b"big", &long_value),
        "set with a value over the limit",
    )?;

    let want = model(&[(&max_key, b"longest key"), (b"big", &max_value)]);
    expect_state(s, &want, "after rejected writes")?;
    if S::durability(options).keeps_data() {
        let s = h.close_and_reopen()?;
        expect_state(s, &want, "after reopening")?;
    }
    Ok(())
}
// ANCHOR_END: size_limits

// ANCHOR: write_batches
/// A batch applies its operations in order (a later one on the same key
/// wins), an empty batch changes nothing, and a batch holding one key or
/// value over the limits is rejected whole. A crash right after a batch
/// leaves, for a stage that declares atomic batches, all of it or none.
///
/// The suite crashes a store between calls, never inside `write`: a store
/// that keeps every write through a crash must then hold the whole batch,
/// atomic or not, so for such a store this checks only the order of the
/// operations. A crash in the middle of a batch needs a disk that can fail
/// halfway through, or a process killed at a random moment.
pub fn write_batches<S: Stage>(options: &S::Options) -> CheckResult {
    let durability = S::durability(options);
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    s.set(b"a", b"old")?;
    s.set(b"b", b"old")?;
    s.sync()?;
    let mut batch = WriteBatch::new();
    batch
        .set(b"c", b"1")
        .delete(b"a")
        .set(b"b", b"new")
        .set(b"c", b"2")
        .delete(b"c")
        .set(b"c", b"3")
        .delete(b"never set");
    s.write(&batch)?;
    let mut want = model(&[(b"b", b"new"), (b"c", b"3")]);
    expect_state(s, &want, "after a batch")?;
    expect_get(s, b"a", None, "a key the batch deleted")?;
    s.write(&WriteBatch::new())?;
    expect_state(s, &want, "after an empty batch")?;

    // One bad operation, first, in the middle or last, rejects them all.
    let long_key = vec![b'k'; MAX_KEY_LEN + 1];
    let long_value = vec![b'v'; MAX_VALUE_LEN + 1];
    for (position, what) in [(0, "key"), (1, "value"), (2, "key")] {
        let mut batch = WriteBatch::new();
        let mut good = [b"x".as_slice(), b"y", b"z"].into_iter();
        for i in 0..3 {
            match (i == position, what) {
                (true, "key") if i == 0 => batch.set(&long_key, b"v"),
                (true, "key") => batch.delete(&long_key),
                (true, _) => batch.set(b"v", &long_value),
                _ => batch.set(good.next().unwrap_or(b"w"), b"new"),
            };
        }
        expect_too_large(
            s.write(&batch),
            &format!("a batch with a {what} over the limit at position {position}"),
        )?;
        expect_state(s, &want, "after a rejected batch")?;
    }

    // A crash right after a batch: before it, after it, or (if batches are
    // not atomic) after any of its operations.
    s.sync()?;
    let before = want.clone();
    let mut batch = WriteBatch::new();
    batch.set(b"d", b"4").delete(b"b").set(b"c", b"5");
    s.write(&batch)?;
    let mut history = vec![before];
    for op in batch.ops() {
        match op {
            crate::BatchOp::Set { key, value } => want.insert(key.clone(), value.clone()),
            crate::BatchOp::Delete { key } => want.remove(key),
        };
        if !durability.atomic_batches {
            history.push(want.clone());
        }
    }
    if durability.atomic_batches {
        history.push(want.clone());
    }
    let s = h.crash_and_reopen()?;
    let state = expect_history_state(
        s,
        durability.process_crash,
        &history,
        "after a crash right after a batch",
    )?;

    // A synced batch survives a clean reopen whole.
    let mut batch = WriteBatch::new();
    batch.set(b"e", b"5").delete(b"d");
    s.write(&batch)?;
    let mut want = state;
    want.insert(b"e".to_vec(), b"5".to_vec());
    want.remove(&b"d"[..]);
    if !durability.keeps_data() {
        want.clear();
    }
    let s = h.close_and_reopen()?;
    expect_state(s, &want, "a batch after a clean reopen")
}
// ANCHOR_END: write_batches

// ANCHOR: reopen
/// A clean shutdown (sync, then drop) keeps everything, for every stage
/// that writes to disk; an in-memory stage comes back empty.
pub fn reopen<S: Stage>(options: &S::Options) -> CheckResult {
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    for k in [&b"a"[..], b"b", b"c", b"d", b"e"] {
        s.set(k, &[k, &b"-1"[..]].concat())?;
    }
    s.delete(b"c")?;
    s.set(b"b", b"b-2")?;
    let mut want = model(&[
        (b"a", b"a-1"),
        (b"b", b"b-2"),
        (b"d", b"d-1"),
        (b"e", b"e-1"),
    ]);
    let s = h.close_and_reopen()?;
    if !S::durability(options).keeps_data() {
        return expect_state(s, &Model::new(), "an in-memory store after reopening");
    }
    expect_state(s, &want, "after reopening")?;

    s.set(b"f", b"f-1")?;
    s.delete(b"a")?;
    want.insert(b"f".to_vec(), b"f-1".to_vec());
    want.remove(&b"a"[..]);
    let s = h.close_and_reopen()?;
    expect_state(
        s,
        &want,
        "after writing to a reopened store and reopening again",
    )?;
    let s = h.close_and_reopen()?;
    expect_state(s, &want, "after reopening with no writes in between")
}
// ANCHOR_END: reopen

// ANCHOR: deletes_survive_reopen
/// A delete of a key that is already on disk must itself reach the disk.
/// Forgetting it (say, by dropping a deletion marker too early) brings the
/// old value back after a restart.
pub fn deletes_survive_reopen<S: Stage>(options: &S::Options) -> CheckResult {
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    s.set(b"doomed", b"old value")?;
    s.set(b"kept", b"v")?;
    s.sync()?;
    let s = h.close_and_reopen()?;
    s.delete(b"doomed")?;
    s.sync()?;
    expect_get(s, b"doomed", None, "after deleting a key that was on disk")?;
    let s = h.close_and_reopen()?;
    expect_get(s, b"doomed", None, "a deleted key after reopening")?;
    let s = h.close_and_reopen()?;
    expect_get(s, b"doomed", None, "a deleted key after reopening twice")?;
    let want = if !S::durability(options).keeps_data() {
        Model::new()
    } else {
        model(&[(b"kept", b"v")])
    };
    expect_state(s, &want, "after reopening")?;
    s.set(b"doomed", b"new value")?;
    let s = h.close_and_reopen()?;
    let want = if !S::durability(options).keeps_data() {
        None
    } else {
        Some(&b"new value"[..])
    };
    expect_get(
        s,
        b"doomed",
        want,
        "a deleted key set again, after reopening",
    )
}
// ANCHOR_END: deletes_survive_reopen

// ANCHOR: crash
/// After a crash, the store comes back in a state it really had at some
/// moment since the last sync, as its durability promises.
pub fn crash<S: Stage>(options: &S::Options) -> CheckResult {
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    s.set(b"a", b"1")?;
    s.set(b"b", b"1")?;
    s.sync()?;
    s.set(b"c", b"1")?;
    s.delete(b"a")?;
    s.set(b"b", b"2")?;
    // Every state the store went through since the sync, oldest first.
    let history = [
        model(&[(b"a", b"1"), (b"b", b"1")]),
        model(&[(b"a", b"1"), (b"b", b"1"), (b"c", b"1")]),
        model(&[(b"b", b"1"), (b"c", b"1")]),
        model(&[(b"b", b"2"), (b"c", b"1")]),
    ];
    let promise = S::durability(options).process_crash;
    let s = h.crash_and_reopen()?;
    let after_crash = expect_history_state(s, promise, &history, "after a crash")?;

    // The recovered store works, and a synced write survives the next crash.
    s.set(b"z", b"after recovery")?;
    s.sync()?;
    let mut synced = after_crash;
    synced.insert(b"z".to_vec(), b"after recovery".to_vec());
    let s = h.crash_and_reopen()?;
    expect_history_state(
        s,
        promise,
        &[synced.clone()],
        "a synced write after a second crash",
    )?;

    // Dropping without a sync may or may not persist what was written
    // since the last sync, but it must not lose synced data either.
    s.set(b"y", b"unsynced")?;
    let mut unsynced = synced.clone();
    unsynced.insert(b"y".to_vec(), b"unsynced".to_vec());
    let s = h.drop_and_reopen()?;
    expect_history_state(s, promise, &[synced, unsynced], "after a drop without sync")?;
    Ok(())
}
// ANCHOR_END: crash

// ANCHOR: power_loss
/// After a power loss, the store comes back with what its power-loss
/// promise keeps: a store that never syncs its files, or renames them
/// without syncing their directory, loses synced writes here, where a
/// crash of the process alone would have kept them. Needs options on a
/// simulated disk ([`Stage::on_simulated_disk`]).
pub fn power_loss<S: Stage>(options: &S::Options) -> CheckResult {
    let mut h = Harness::<S>::new(options)?;
    if !h.can_lose_power() {
        return Err(Failure::new(
            "power_loss needs options on a simulated disk (Stage::on_simulated_disk)",
        ));
    }
    let promise = S::durability(options).power_loss;
    let s = h.store();
    s.set(b"a", b"1")?;
    s.set(b"b", b"1")?;
    s.sync()?;
    s.set(b"c", b"1")?;
    s.delete(b"a")?;
    let mut batch = WriteBatch::new();
    batch.set(b"b", b"2").set(b"d", b"1");
    s.write(&batch)?;
    let mut history = vec![
        model(&[(b"a", b"1"), (b"b", b"1")]),
        model(&[(b"a", b"1"), (b"b", b"1"), (b"c", b"1")]),
        model(&[(b"b", b"1"), (b"c", b"1")]),
    ];
    if !S::durability(options).atomic_batches {
        history.push(model(&[(b"b", b"2"), (b"c", b"1")]));
    }
    history.push(model(&[(b"b", b"2"), (b"c", b"1"), (b"d", b"1")]));
    let s = h.power_loss_and_reopen()?;
    let mut state = expect_history_state(s, promise, &history, "after a power loss")?;

    // Power fails again at once: a recovery must itself be durable (a
    // store that answers from a file whose name was never synced loses it
    // now).
    let s = h.power_loss_and_reopen()?;
    let after = [state.clone()];
    state = expect_history_state(s, promise, &after, "after a second power loss")?;

    // Written by a store that then crashed, synced by the next: that sync
    // must make durable what the store answers with, including what the
    // crashed one wrote and never synced.
    let s = h.store();
    s.set(b"crashed", b"1")?;
    let s = h.crash_and_reopen()?;
    let crash_promise = S::durability(options).process_crash;
    let mut written = state.clone();
    written.insert(b"crashed".to_vec(), b"1".to_vec());
    state = expect_history_state(s, crash_promise, &[state.clone(), written], "after a crash")?;
    s.sync()?;
    let s = h.power_loss_and_reopen()?;
    let after = [state.clone()];
    state = expect_history_state(
        s,
        promise,
        &after,
        "a sync after a crash, then a power loss",
    )?;

    // Many synced rounds, then the power fails: every synced write is
    // kept. Each round overwrites and deletes what earlier ones wrote, so
    // files are replaced, renamed and removed.
    let s = h.store();
    for round in 0..8u8 {
        for i in 0..40u8 {
            let key = [b'k', i];
            if (i + round) % 5 == 0 {
                s.delete(&key)?;
                state.remove(&key[..]);
            } else {
                s.set(&key, &[round; 3])?;
                state.insert(key.to_vec(), vec![round; 3]);
            }
        }
        s.sync()?;
    }
    let s = h.power_loss_and_reopen()?;
    expect_history_state(s, promise, &[state], "synced rounds after a power loss")?;
    Ok(())
}
// ANCHOR_END: power_loss

/// The states a store may come back in after a crash, given what it
/// promises for that kind of crash and the states it went through since
/// the last sync (`history`, oldest first); `None` when they are too many
/// to list (any state at all, or any mix of keys).
pub(crate) fn allowed_states(promise: Survives, history: &[Model]) -> Option<Vec<Model>> {
    match promise {
        Survives::Nothing => Some(vec![Model::new()]),
        Survives::SyncedWrites => Some(history.to_vec()),
        Survives::EveryWrite => Some(history.last().cloned().into_iter().collect()),
        Survives::SyncedWritesPerKey | Survives::NoPromise => None,
    }
}

/// Whether `got` is a state the promise allows after `history`.
pub(crate) fn allows(promise: Survives, history: &[Model], got: &Model) -> bool {
    match promise {
        Survives::NoPromise => true,
        // Each key on its own holds a value it had at some point since the
        // last sync (absent included).
        Survives::SyncedWritesPerKey => history
            .iter()
            .flat_map(Model::keys)
            .chain(got.keys())
            .all(|key| history.iter().any(|state| state.get(key) == got.get(key))),
        _ => allowed_states(promise, history).is_some_and(|states| states.contains(got)),
    }
}

/// What the promise allows, in words, for a failure message.
pub(crate) fn describe_allowed(promise: Survives, history: &[Model]) -> String {
    match allowed_states(promise, history) {
        Some(mut states) => {
            states.dedup();
            states
                .iter()
                .map(show_model)
                .collect::<Vec<_>>()
                .join(" or ")
        }
        None => "each key with its value at the last sync or a later one".to_string(),
    }
}

/// Why a reopened store is wrong, and the state its scan showed when that
/// state was allowed but a `get` disagreed with it (the printed failing
/// test then asserts every key).
pub(crate) struct WrongState {
    pub(crate) failure: Failure,
    pub(crate) scanned: Option<Model>,
}

/// Checks that the store holds a state that `promise` allows after
/// `history` (which runs from the last sync to the last write), and
/// returns the state it holds.
pub(crate) fn judge_reopened<S: KvStore>(
    store: &S,
    promise: Survives,
    history: &[Model],
    when: &str,
) -> Result<Model, WrongState> {
    let wrong = |failure, scanned| WrongState { failure, scanned };
    let got: Model = collect_scan(store, KeyRange::all())
        .map_err(|e| wrong(Failure::from(e), None))?
        .into_iter()
        .collect();
    if !allows(promise, history, &got) {
        return Err(wrong(
            Failure::new(format!(
                "{when}: a store that promises {promise:?} came back holding {}, which is not \
                 a state it had since the last sync; allowed: {}",
                show_model(&got),
                describe_allowed(promise, history)
            )),
            None,
        ));
    }
    // The scan matched; `get` must agree with it, for the keys that are
    // there and for every key of the history that is not.
    let gets = expect_state(store, &got, when).and_then(|()| {
        for key in history.iter().flat_map(Model::keys) {
            if !got.contains_key(key) {
                expect_get(store, key, None, when)?;
            }
        }
        Ok(())
    });
    match gets {
        Ok(()) => Ok(got),
        Err(failure) => Err(wrong(failure, Some(got))),
    }
}

/// [`judge_reopened`], for the hand-written checks.
pub(crate) fn expect_history_state<S: KvStore>(
    store: &S,
    promise: Survives,
    history: &[Model],
    when: &str,
) -> Result<Model, Failure> {
    judge_reopened(store, promise, history, when).map_err(|wrong| wrong.failure)
}

/// A whole state, as a scan would show it.
pub(crate) fn show_model(m: &Model) -> String {
    show_pairs(
        &m.iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<Vec<_>>(),
    )
}

// ANCHOR: second_open
/// Two opens of one directory must not both write. While a store is open, a
/// second open of its directory fails, with an error that names the
/// directory; once the first is closed, or has crashed, it opens again (a
/// dead process holds no lock).
///
/// For stages that keep their data in a directory, which call it from their
/// own tests; not part of the macro, since a store that keeps nothing has
/// nothing to protect.
pub fn second_open_is_refused<S: Stage>(options: &S::Options) -> CheckResult {
    let dir = super::scratch_dir()
        .map_err(|e| Failure::new(format!("cannot create a temporary directory: {e}")))?;
    if let Some(power) = S::power_switch(options) {
        power.add_root(dir.path());
    }
    let first = S::open_with(dir.path(), options)?;
    match S::open_with(dir.path(), options) {
        Ok(second) => {
            drop(second);
            return Err(Failure::new(
                "a second open of a directory succeeded while the first store was still open",
            ));
        }
        Err(e) if !e.to_string().contains(&dir.path().display().to_string()) => {
            return Err(Failure::new(format!(
                "a second open failed, but its error does not name the directory: {e}"
            )));
        }
        Err(_) => {}
    }
    drop(first);
    let reopened = S::open_with(dir.path(), options)
        .map_err(|e| Failure::new(format!("after the first store closed, open failed: {e}")))?;
    reopened.simulate_crash();
    let after_crash = S::open_with(dir.path(), options)
        .map_err(|e| Failure::new(format!("after a crash, open failed: {e}")))?;
    drop(after_crash);
    Ok(())
}
// ANCHOR_END: second_open

/// Enough keys to cross any block, page or buffer boundary a stage has,
/// with syncs in the middle, deletes and overwrites.
pub fn many_keys<S: Stage>(options: &S::Options) -> CheckResult {
    const N: usize = 2000;
    let key = |i: usize| format!("key{i:06}").into_bytes();
    let value = |i: usize, round: usize| format!("{round}:{}", "v".repeat(i % 200)).into_bytes();
    let mut h = Harness::<S>::new(options)?;
    let mut want = Model::new();
    let s = h.store();
    // A fixed permutation of 0..N (7919 is prime, so coprime with N).
    for n in 0..N {
        let i = (n * 7919) % N;
        s.set(&key(i), &value(i, 0))?;
        want.insert(key(i), value(i, 0));
        if n == N / 2 {
            s.sync()?;
        }
    }
    for i in (0..N).step_by(10) {
        s.delete(&key(i))?;
        want.remove(&key(i));
    }
    for i in (0..N).step_by(7) {
        s.set(&key(i), &value(i, 1))?;
        want.insert(key(i), value(i, 1));
    }
    expect_state(s, &want, "many keys")?;
    expect_get(s, b"key", None, "a key before all others")?;
    expect_get(s, b"key0005005", None, "a key between two stored keys")?;
    expect_get(s, b"kez", None, "a key after all others")?;
    let middle: Vec<KeyValue> = want
        .range(key(500)..key(600))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    expect_scan(
        s,
        KeyRange::new(&key(500)[..]..&key(600)[..]),
        &middle,
        "a middle range",
    )?;
    let ranges = |s: &S, when: &str| -> CheckResult {
        // Bounds of every kind, on stored, deleted and absent keys, spread
        // over the whole key space.
        for i in (0..N).step_by(97) {
            let a = key(i);
            let b = key(i + 43);
            let between = [a.as_slice(), b"5"].concat();
            for (start, end) in [
                (Included(a.as_slice()), Excluded(b.as_slice())),
                (Excluded(a.as_slice()), Included(b.as_slice())),
                (Excluded(between.as_slice()), Unbounded),
                (Unbounded, Excluded(between.as_slice())),
            ] {
                let want: Vec<KeyValue> = want
                    .iter()
                    .filter(|(k, _)| in_bounds(k, start, end))
                    .take(60)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                let got: Vec<KeyValue> = s
                    .scan(KeyRange::from_bounds(start, end))?
                    .take(60)
                    .collect::<Result<_, _>>()?;
                if got != want {
                    return Err(Failure::new(format!(
                        "{when}: the first 60 entries of scan({:?}) were {}, expected {}",
                        KeyRange::from_bounds(start, end),
                        show_pairs(&got),
                        show_pairs(&want)
                    )));
                }
            }
        }
        Ok(())
    };
    ranges(s, "many keys")?;
    if S::durability(options).keeps_data() {
        let s = h.close_and_reopen()?;
        expect_state(s, &want, "many keys after reopening")?;
        ranges(s, "many keys after reopening")?;
    }
    Ok(())
}

// ANCHOR: many_syncs
/// Many syncs, each with an overwrite, a new key and a delete of an
/// older key. A stage that writes one file per sync must find the newest
/// value among many files, including after it reopens them (sorting
/// `table-10` before `table-9` by name is a classic way to get this wrong).
pub fn many_syncs<S: Stage>(options: &S::Options) -> CheckResult {
    const ROUNDS: usize = 25;
    let mut h = Harness::<S>::new(options)?;
    let mut want = Model::new();
    let mut every_key: Vec<Vec<u8>> = vec![b"hot".to_vec()];
    for round in 0..ROUNDS {
        let s = h.store();
        let fresh = format!("key-{round:02}").into_bytes();
        let hot = format!("round {round}").into_bytes();
        s.set(b"hot", &hot)?;
        s.set(&fresh, b"v")?;
        want.insert(b"hot".to_vec(), hot);
        want.insert(fresh.clone(), b"v".to_vec());
        every_key.push(fresh);
        if round >= 3 && round % 2 == 1 {
            let old = format!("key-{:02}", round - 3).into_bytes();
            s.delete(&old)?;
            want.remove(&old);
        }
        s.sync()?;
        expect_state(s, &want, &format!("after sync {round}"))?;
    }
    let s = h.close_and_reopen()?;
    if !S::durability(options).keeps_data() {
        want.clear();
    }
    expect_state(s, &want, "after many syncs and a reopen")?;
    for k in every_key.iter().filter(|k| !want.contains_key(*k)) {
        expect_get(s, k, None, "a deleted key after many syncs and a reopen")?;
    }
    let s = h.crash_and_reopen()?;
    let promise = S::durability(options).process_crash;
    expect_history_state(s, promise, &[want], "after many syncs and a crash")?;
    Ok(())
}
// ANCHOR_END: many_syncs

/// The entries of `state` that `keep` keeps, as a new model.
fn filtered(state: &Model, keep: impl Fn(&[u8]) -> bool) -> Model {
    state
        .iter()
        .filter(|(k, _)| keep(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The store must hold exactly `want`, and every key of `before` that is
/// not in `want` must be absent to `get` too (a full scan alone would not
/// see a `get` that still finds a deleted key).
fn expect_after_delete<S: KvStore>(
    store: &S,
    before: &Model,
    want: &Model,
    when: &str,
) -> CheckResult {
    expect_state(store, want, when)?;
    for key in before.keys().filter(|k| !want.contains_key(*k)) {
        expect_get(store, key, None, when)?;
    }
    Ok(())
}

// ANCHOR: delete_range_bounds
/// `delete_range` removes exactly the keys a scan of the same range would
/// yield, and nothing else: every combination of inclusive, exclusive and
/// absent bounds, on keys that are and are not stored, first on writes
/// still buffered and then on synced ones. Empty and reversed ranges
/// remove nothing, and a bound longer than [`MAX_KEY_LEN`] is accepted, as
/// a scan accepts it: a bound is not a key.
pub fn delete_range_bounds<S: Stage>(options: &S::Options) -> CheckResult {
    let full = model(&[(b"b", b"1"), (b"d", b"2"), (b"f", b"3"), (b"h", b"4")]);
    let mut h = Harness::<S>::new(options)?;
    for (k, v) in &full {
        h.store().set(k, v)?;
    }
    let points: [&[u8]; 6] = [b"a", b"b", b"b\x00", b"d", b"h", b"i"];
    let mut bounds: Vec<Bound<&[u8]>> = vec![Unbounded];
    for p in points {
        bounds.push(Included(p));
        bounds.push(Excluded(p));
    }
    for synced in [false, true] {
        for start in &bounds {
            for end in &bounds {
                let s = h.store();
                if synced {
                    s.sync()?;
                }
                let range = KeyRange::from_bounds(*start, *end);
                s.delete_range(range.clone())?;
                let want = filtered(&full, |k| !in_bounds(k, *start, *end));
                let keys = if synced { "synced" } else { "unsynced" };
                let when = format!("delete_range({}) on {keys} keys", show_range(&range));
                expect_after_delete(s, &full, &want, &when)?;
                // Put back what it removed, for the next range.
                for (k, v) in full.iter().filter(|(k, _)| !want.contains_key(*k)) {
                    s.set(k, v)?;
                }
            }
        }
    }

    // Empty and reversed ranges, written out: nothing is removed.
    let s = h.store();
    let empty: [KeyRange; 6] = [
        KeyRange::from_bounds(Included(b"h"), Included(b"b")),
        KeyRange::from_bounds(Included(b"h"), Excluded(b"b")),
        KeyRange::from_bounds(Included(b"d"), Excluded(b"d")),
        KeyRange::from_bounds(Excluded(b"d"), Included(b"d")),
        KeyRange::from_bounds(Excluded(b"d"), Excluded(b"d\x00")),
        KeyRange::from_bounds(Unbounded, Excluded(b"")),
    ];
    for range in empty {
        let when = format!("delete_range({}), an empty range", show_range(&range));
        s.delete_range(range)?;
        expect_state(s, &full, &when)?;
    }

    // A bound one byte longer than any key: "dd…d" sorts after "d" and
    // before "f".
    let long = vec![b'd'; MAX_KEY_LEN + 1];
    s.delete_prefix(&long)?;
    expect_state(s, &full, "delete_prefix of a prefix longer than any key")?;
    s.delete_range(KeyRange::from_bounds(Unbounded, Excluded(&long)))?;
    let want = model(&[(b"f", b"3"), (b"h", b"4")]);
    expect_after_delete(
        s,
        &full,
        &want,
        "delete_range up to a bound over MAX_KEY_LEN",
    )?;
    s.delete_range(KeyRange::from_bounds(Included(&long), Unbounded))?;
    expect_after_delete(
        s,
        &full,
        &Model::new(),
        "delete_range from a bound over MAX_KEY_LEN",
    )
}
// ANCHOR_END: delete_range_bounds

// ANCHOR: delete_prefix
/// `delete_prefix` removes exactly the keys that start with the prefix,
/// including for the prefixes whose range has no simple end (ones ending
/// in `0xFF` bytes) and the empty prefix, which removes everything.
pub fn delete_prefix<S: Stage>(options: &S::Options) -> CheckResult {
    let keys: [&[u8]; 14] = [
        b"",
        b"ap",
        b"app",
        b"apple",
        b"apply",
        b"apq",
        b"a\xff",
        b"a\xff\x00",
        b"a\xff\xff",
        b"b",
        b"\xff",
        b"\xff\x00",
        b"\xff\xff",
        b"\xff\xff\x01",
    ];
    let full: Model = keys
        .iter()
        .map(|k| (k.to_vec(), [k, &b"!"[..]].concat()))
        .collect();
    let mut h = Harness::<S>::new(options)?;
    for (k, v) in &full {
        h.store().set(k, v)?;
    }
    h.store().sync()?;
    let prefixes: [&[u8]; 10] = [
        b"a",
        b"ap",
        b"app",
        b"applesauce",
        b"apz",
        b"a\xff",
        b"\xff",
        b"\xff\xff",
        b"\xff\xff\xff",
        b"",
    ];
    for prefix in prefixes {
        let s = h.store();
        s.delete_prefix(prefix)?;
        let want = filtered(&full, |k| !k.starts_with(prefix));
        let when = format!("delete_prefix({})", show(prefix));
        expect_after_delete(s, &full, &want, &when)?;
        for (k, v) in full.iter().filter(|(k, _)| !want.contains_key(*k)) {
            s.set(k, v)?;
        }
    }
    Ok(())
}
// ANCHOR_END: delete_prefix

// ANCHOR: delete_range_reopen
/// A range delete over synced and unsynced keys reaches the disk: it
/// survives a sync and a clean reopen, and a key it removed can be set
/// again (the new value wins, then and after a reopen). A crash right
/// after one leaves, for a store that deletes key by key, any prefix of
/// the range's keys (in key order) removed: the default is not atomic.
pub fn delete_range_reopen<S: Stage>(options: &S::Options) -> CheckResult {
    let durability = S::durability(options);
    let keeps = |m: Model| {
        if durability.keeps_data() {
            m
        } else {
            Model::new()
        }
    };
    let mut h = Harness::<S>::new(options)?;
    let s = h.store();
    for k in [&b"a"[..], b"b", b"c", b"d", b"e"] {
        s.set(k, b"old")?;
    }
    let s = h.close_and_reopen()?;
    s.set(b"bb", b"unsynced")?;
    s.delete_range(KeyRange::new(&b"b"[..]..=&b"d"[..]))?;
    let before = model(&[
        (b"a", b"old"),
        (b"b", b"old"),
        (b"bb", b"unsynced"),
        (b"c", b"old"),
        (b"d", b"old"),
        (b"e", b"old"),
    ]);
    let mut want = keeps(model(&[(b"a", b"old"), (b"e", b"old")]));
    expect_after_delete(s, &before, &want, "after delete_range(b..=d)")?;
    s.set(b"c", b"new")?;
    want.insert(b"c".to_vec(), b"new".to_vec());
    expect_after_delete(s, &before, &want, "a key set again after delete_range")?;
    s.sync()?;
    expect_after_delete(s, &before, &want, "after syncing the delete_range")?;
    let s = h.close_and_reopen()?;
    let want = keeps(want);
    expect_after_delete(s, &before, &want, "a delete_range after reopening")?;

    // A crash right after a range delete of three synced keys: the
    // states a key-by-key delete goes through, oldest first.
    s.delete_prefix(b"")?;
    expect_after_delete(
        s,
        &want,
        &Model::new(),
        "delete_prefix(\"\") removes every key",
    )?;
    s.set(b"p", b"1")?;
    s.set(b"q", b"1")?;
    s.set(b"r", b"1")?;
    s.set(b"s", b"1")?;
    s.sync()?;
    s.delete_range(KeyRange::new(&b"p"[..]..&b"s"[..]))?;
    let history = [
        model(&[(b"p", b"1"), (b"q", b"1"), (b"r", b"1"), (b"s", b"1")]),
        model(&[(b"q", b"1"), (b"r", b"1"), (b"s", b"1")]),
        model(&[(b"r", b"1"), (b"s", b"1")]),
        model(&[(b"s", b"1")]),
    ];
    let s = h.crash_and_reopen()?;
    expect_history_state(
        s,
        durability.process_crash,
        &history,
        "after a crash right after a delete_range",
    )?;
    Ok(())
}
// ANCHOR_END: delete_range_reopen

// ANCHOR: delete_range_many_keys
/// Range deletes over thousands of keys, more than the default holds in
/// memory at once ([`crate::DELETE_RANGE_CHUNK`]): a range of exactly one
/// chunk, one of more than one, and a prefix, each removing all of its
/// keys and none outside, before and after a reopen.
pub fn delete_range_many_keys<S: Stage>(options: &S::Options) -> CheckResult {
    const CHUNK: usize = crate::DELETE_RANGE_CHUNK;
    const N: usize = 2 * CHUNK + 600;
    let key = |i: usize| format!("key{i:06}").into_bytes();
    let mut h = Harness::<S>::new(options)?;
    let mut full = model(&[(b"a", b"outside"), (b"z", b"outside")]);
    for i in 0..N {
        full.insert(key(i), format!("v{i}").into_bytes());
    }
    let s = h.store();
    // In batches, half of them synced: the cost of a million single sets
    // is not what this checks.
    let mut batch = WriteBatch::new();
    for (i, (k, v)) in full.iter().enumerate() {
        batch.set(k, v);
        if batch.len() == 500 || i + 1 == full.len() {
            s.write(&batch)?;
            batch = WriteBatch::new();
        }
        if i == N / 2 {
            s.sync()?;
        }
    }

    // Exactly one chunk's worth of keys, then more than one chunk.
    let (a, b) = (key(10), key(10 + CHUNK));
    s.delete_range(KeyRange::from_bounds(Included(&a), Excluded(&b)))?;
    let mut want = filtered(&full, |k| !in_bounds(k, Included(&a), Excluded(&b)));
    expect_after_delete(
        s,
        &full,
        &want,
        "delete_range over exactly one chunk of keys",
    )?;
    let (c, d) = (key(10 + CHUNK + 5), key(N - 11));
    s.delete_range(KeyRange::from_bounds(Excluded(&c), Included(&d)))?;
    want = filtered(&want, |k| !in_bounds(k, Excluded(&c), Included(&d)));
    expect_after_delete(s, &full, &want, "delete_range over more than one chunk")?;
    let mut want = if S::durability(options).keeps_data() {
        let s = h.close_and_reopen()?;
        expect_after_delete(
            s,
            &full,
            &want,
            "delete_range over many keys, after reopening",
        )?;
        want
    } else {
        h.close_and_reopen()?;
        Model::new()
    };

    // Set again, then a prefix over them all.
    let s = h.store();
    let mut batch = WriteBatch::new();
    for (i, (k, v)) in full.iter().enumerate() {
        if k.starts_with(b"key") {
            batch.set(k, v);
            want.insert(k.clone(), v.clone());
        }
        if batch.len() == 500 || i + 1 == full.len() {
            s.write(&batch)?;
            batch = WriteBatch::new();
        }
    }
    s.delete_prefix(b"key")?;
    want.retain(|k, _| !k.starts_with(b"key"));
    expect_after_delete(s, &full, &want, "delete_prefix over many keys")?;
    Ok(())
}
// ANCHOR_END: delete_range_many_keys
