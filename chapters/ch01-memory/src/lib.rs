//! Chapter 1: the in-memory baseline.
//!
//! A `BTreeMap` already is a sorted map of byte strings, so this stage is
//! little more than the contract's plumbing around one. It is here for two
//! reasons: it shows what passing the conformance suite takes before any
//! disk is involved, and it is the speed ceiling every later stage is
//! measured against. Nothing survives a restart.

use std::collections::BTreeMap;
use std::path::Path;

use ch00_contract::{Durability, KeyRange, KvStore, Result, Scan, Stage, check_key, check_value};

// ANCHOR: store
/// A key-value store held entirely in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
}
// ANCHOR_END: store

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of keys stored.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether the store holds no keys.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Every entry in ascending key order, borrowed rather than copied:
    /// what a later stage that persists this map writes out.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> + '_ {
        self.map.iter().map(|(k, v)| (k.as_slice(), v.as_slice()))
    }

    /// Bytes of keys and values held (not counting the tree's own nodes).
    pub fn data_bytes(&self) -> u64 {
        self.map
            .iter()
            .map(|(k, v)| (k.len() + v.len()) as u64)
            .sum()
    }
}

// ANCHOR: kv_store
impl KvStore for MemoryStore {
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        // ANCHOR: todo_set Check the key and value (check_key, check_value), then insert copies into the map.
        check_key(key)?;
        check_value(value)?;
        self.map.insert(key.to_vec(), value.to_vec());
        Ok(())
        // ANCHOR_END: todo_set
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        // ANCHOR: todo_get Check the key, then return a copy of its value, if the map has it.
        check_key(key)?;
        Ok(self.map.get(key).cloned())
        // ANCHOR_END: todo_get
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        // ANCHOR: todo_delete Check the key, then remove it; deleting a missing key is not an error.
        check_key(key)?;
        self.map.remove(key);
        Ok(())
        // ANCHOR_END: todo_delete
    }

    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        // ANCHOR: todo_scan The map's entries in the range, in key order, as Ok((key, value)); an empty or reversed range (KeyRange::is_empty) gives none.
        // `BTreeMap::range` panics on a reversed range and on an empty
        // range with both ends excluded; the contract wants an empty scan.
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let entries = self
            .map
            .range::<[u8], _>(range)
            .map(|(k, v)| Ok((k.clone(), v.clone())));
        Ok(Box::new(entries))
        // ANCHOR_END: todo_scan
    }

    fn sync(&mut self) -> Result<()> {
        // Nothing to make durable: this stage promises nothing across restarts.
        Ok(())
    }
}
// ANCHOR_END: kv_store

// ANCHOR: stage
impl Stage for MemoryStore {
    const NAME: &'static str = "ch01-memory";
    /// Nothing to set up.
    type Options = ();

    fn durability(_: &()) -> Durability {
        Durability::IN_MEMORY
    }

    fn open_with(_dir: &Path, _: &()) -> Result<Self> {
        Ok(Self::new())
    }
}
// ANCHOR_END: stage
