//! Write batches: several sets and deletes handed to a store in one call.
//!
//! A batch exists for two reasons. A store can do one expensive thing
//! (a log append, a transaction commit) for many writes instead of one
//! each. And a store can promise that a batch is *atomic*: after any crash
//! it holds all of the batch or none of it, so "move 10 from account A to
//! account B" never comes back half done. The contract lets each stage say
//! whether it makes that promise ([`Durability::atomic_batches`]).
//!
//! [`Durability::atomic_batches`]: crate::Durability::atomic_batches

use crate::error::Result;
use crate::store::{check_key, check_value};

// ANCHOR: write_batch
/// One operation of a [`WriteBatch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchOp {
    /// Store the value under the key.
    Set {
        /// The key.
        key: Vec<u8>,
        /// The value.
        value: Vec<u8>,
    },
    /// Remove the key.
    Delete {
        /// The key.
        key: Vec<u8>,
    },
}

/// Sets and deletes to apply together, in order: a later operation on a key
/// wins over an earlier one in the same batch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<BatchOp>,
}
// ANCHOR_END: write_batch

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a set of `key` to `value`.
    pub fn set(&mut self, key: &[u8], value: &[u8]) -> &mut Self {
        self.ops.push(BatchOp::Set {
            key: key.to_vec(),
            value: value.to_vec(),
        });
        self
    }

    /// Adds a delete of `key`.
    pub fn delete(&mut self, key: &[u8]) -> &mut Self {
        self.ops.push(BatchOp::Delete { key: key.to_vec() });
        self
    }

    /// The operations, in the order they were added.
    pub fn ops(&self) -> &[BatchOp] {
        &self.ops
    }

    /// How many operations the batch holds.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Empties the batch, keeping its allocation for reuse.
    pub fn clear(&mut self) {
        self.ops.clear();
    }

    // ANCHOR: check
    /// Checks every key and value against the contract's limits. A store
    /// calls this before it applies anything, so that a batch with one key
    /// too long is rejected whole and changes nothing.
    pub fn check(&self) -> Result<()> {
        for op in &self.ops {
            match op {
                BatchOp::Set { key, value } => {
                    check_key(key)?;
                    check_value(value)?;
                }
                BatchOp::Delete { key } => check_key(key)?,
            }
        }
        Ok(())
    }
    // ANCHOR_END: check
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, MAX_KEY_LEN};

    #[test]
    fn operations_keep_their_order() {
        let mut batch = WriteBatch::new();
        batch.set(b"a", b"1").delete(b"b").set(b"a", b"2");
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.ops()[1], BatchOp::Delete { key: b"b".to_vec() });
        assert_eq!(
            batch.ops()[2],
            BatchOp::Set {
                key: b"a".to_vec(),
                value: b"2".to_vec()
            }
        );
        batch.clear();
        assert!(batch.is_empty());
    }

    #[test]
    fn check_rejects_any_operation_over_the_limits() {
        let mut batch = WriteBatch::new();
        batch.set(b"fine", b"v");
        assert!(batch.check().is_ok());
        batch.delete(&vec![0; MAX_KEY_LEN + 1]);
        assert!(matches!(batch.check(), Err(Error::KeyTooLarge { .. })));
    }
}
