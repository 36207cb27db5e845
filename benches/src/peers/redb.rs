//! redb, a copy-on-write B-tree engine, behind the `KvStore` trait.
//!
//! redb fsyncs every committed transaction by default. Through this trait
//! each `set` and `delete` is its own transaction (and each write batch one
//! transaction), so they commit with `Durability::None` (visible, not yet
//! durable) and `sync` commits an empty transaction with
//! `Durability::Immediate`, which makes all of them durable at once: the
//! same promise as the book's stages that write on sync.

use std::io;
use std::ops::Bound;
use std::path::{Path, PathBuf};

use crate::subjects::Measured;
use ch00_contract::{
    BatchOp, Durability, Error, KeyRange, KvStore, Result, Scan, Stage, WriteBatch, check_key,
    check_value,
};
use redb::{Database, ReadableDatabase, TableDefinition};

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

/// redb with one table of byte strings.
pub struct RedbStore {
    db: Database,
    path: PathBuf,
}

fn fail(path: &Path, action: &'static str, err: impl std::fmt::Display) -> Error {
    Error::io(action, path, io::Error::other(err.to_string()))
}

impl RedbStore {
    /// Runs `action` in one write transaction, committed without an fsync.
    fn transaction(
        &self,
        action: impl FnOnce(&mut redb::Table<&[u8], &[u8]>) -> redb::Result<()>,
    ) -> Result<()> {
        let p = &self.path;
        let mut tx = self
            .db
            .begin_write()
            .map_err(|e| fail(p, "redb begin_write", e))?;
        tx.set_durability(redb::Durability::None)
            .map_err(|e| fail(p, "redb set_durability", e))?;
        {
            let mut table = tx
                .open_table(TABLE)
                .map_err(|e| fail(p, "redb open_table", e))?;
            action(&mut table).map_err(|e| fail(p, "redb write", e))?;
        }
        tx.commit().map_err(|e| fail(p, "redb commit", e))
    }
}

impl KvStore for RedbStore {
    fn set(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        check_key(key)?;
        check_value(value)?;
        self.transaction(|t| t.insert(key, value).map(drop))
    }

    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        check_key(key)?;
        let p = &self.path;
        let tx = self
            .db
            .begin_read()
            .map_err(|e| fail(p, "redb begin_read", e))?;
        let table = tx
            .open_table(TABLE)
            .map_err(|e| fail(p, "redb open_table", e))?;
        let value = table.get(key).map_err(|e| fail(p, "redb get", e))?;
        Ok(value.map(|v| v.value().to_vec()))
    }

    fn delete(&mut self, key: &[u8]) -> Result<()> {
        check_key(key)?;
        self.transaction(|t| t.remove(key).map(drop))
    }

    /// One transaction for the whole batch.
    fn write(&mut self, batch: &WriteBatch) -> Result<()> {
        batch.check()?;
        self.transaction(|t| {
            for op in batch.ops() {
                match op {
                    BatchOp::Set { key, value } => t.insert(key.as_slice(), value.as_slice())?,
                    BatchOp::Delete { key } => t.remove(key.as_slice())?,
                };
            }
            Ok(())
        })
    }

    fn scan(&self, range: KeyRange) -> Result<Scan<'_>> {
        if range.is_empty() {
            return Ok(Box::new(std::iter::empty()));
        }
        let p = &self.path;
        let tx = self
            .db
            .begin_read()
            .map_err(|e| fail(p, "redb begin_read", e))?;
        let table = tx
            .open_table(TABLE)
            .map_err(|e| fail(p, "redb open_table", e))?;
        let bounds: (Bound<&[u8]>, Bound<&[u8]>) = (
            range.start.as_ref().map(Vec::as_slice),
            range.end.as_ref().map(Vec::as_slice),
        );
        // A read-only table's range keeps its transaction alive by itself.
        let iter = table
            .range::<&[u8]>(bounds)
            .map_err(|e| fail(p, "redb range", e))?;
        let path = self.path.clone();
        Ok(Box::new(iter.map(move |item| {
            let (k, v) = item.map_err(|e| fail(&path, "redb range", e))?;
            Ok((k.value().to_vec(), v.value().to_vec()))
        })))
    }

    fn sync(&mut self) -> Result<()> {
        let p = &self.path;
        let tx = self
            .db
            .begin_write()
            .map_err(|e| fail(p, "redb begin_write", e))?;
        tx.commit().map_err(|e| fail(p, "redb commit", e))
    }
}

impl Measured for RedbStore {}

impl Stage for RedbStore {
    const NAME: &'static str = "redb";
    type Options = ();

    fn durability(_: &()) -> Durability {
        // A crash rolls redb back to its last durable commit; a batch is
        // one transaction.
        Durability::ON_SYNC.with_atomic_batches()
    }

    /// A leaked handle would keep the file locked against the reopen, so
    /// the handle is dropped, and redb's close makes its pending commits
    /// durable: for this peer the suite's "crash" is a clean close, and its
    /// crash promise (a crash rolls back to the last durable commit) rests
    /// on redb's own recovery, not on this suite.
    fn simulate_crash(self) {
        drop(self);
    }

    fn open_with(dir: &Path, _: &()) -> Result<Self> {
        let path = dir.join("data.redb");
        let db = Database::create(&path).map_err(|e| fail(&path, "opening redb", e))?;
        let store = RedbStore { db, path };
        // Create the table, so that reads of an empty store find it.
        store.transaction(|_| Ok(()))?;
        Ok(store)
    }
}
