//! Merging the write buffer with the table: what a read sees, and what a
//! sync writes.

use std::iter::Peekable;

use ch00_contract::{KeyValue, Result};

// ANCHOR: merge
/// The entries of two sorted sources as one sorted sequence: `newer` (the
/// write buffer, where `None` is a delete not yet synced) wins over
/// `older` (the table) on equal keys, and a delete hides the older value
/// and is then dropped.
///
/// Dropping the delete is right here only because `older` is the one and
/// only table: nothing older than it can hold the key. With several tables
/// (chapter 6) a delete must be kept until it has met every older one.
pub struct Merged<'a, N, O>
where
    N: Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)>,
    O: Iterator<Item = Result<KeyValue>>,
{
    newer: Peekable<N>,
    older: Peekable<O>,
    /// Set once the table has failed: the merge ends there, rather than go
    /// on with the buffer's keys alone and silently miss the table's.
    failed: bool,
}

impl<'a, N, O> Merged<'a, N, O>
where
    N: Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)>,
    O: Iterator<Item = Result<KeyValue>>,
{
    /// Merges `newer` over `older`; both must be in ascending key order.
    pub fn new(newer: N, older: O) -> Self {
        Merged {
            newer: newer.peekable(),
            older: older.peekable(),
            failed: false,
        }
    }
}

impl<'a, N, O> Iterator for Merged<'a, N, O>
where
    N: Iterator<Item = (&'a Vec<u8>, &'a Option<Vec<u8>>)>,
    O: Iterator<Item = Result<KeyValue>>,
{
    type Item = Result<KeyValue>;

    fn next(&mut self) -> Option<Result<KeyValue>> {
        // ANCHOR: todo_merge_next The smaller key of the two sources; on a tie the buffer's write wins and a delete yields nothing; a table error ends it.
        use std::cmp::Ordering::*;
        if self.failed {
            return None;
        }
        loop {
            // Which source holds the smallest key; an error from the table
            // comes out as soon as it is met.
            let order = match (self.newer.peek(), self.older.peek()) {
                (None, None) => return None,
                (Some(_), None) => Less,
                (None, Some(_)) | (Some(_), Some(Err(_))) => Greater,
                (Some((new_key, _)), Some(Ok((old_key, _)))) => new_key.as_slice().cmp(old_key),
            };
            if order == Greater {
                let next = self.older.next();
                self.failed = matches!(next, Some(Err(_)));
                return next;
            }
            if order == Equal {
                // The newer write replaces the table's entry.
                self.older.next();
            }
            if let Some((key, Some(value))) = self.newer.next() {
                return Some(Ok((key.clone(), value.clone())));
            }
            // A delete: nothing to yield for this key.
        }
        // ANCHOR_END: todo_merge_next
    }
}
// ANCHOR_END: merge
