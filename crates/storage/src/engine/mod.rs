//! Storage engines: an ordered byte-key/byte-value map with atomic batches.
//!
//! The [`Engine`] trait is the narrow waist between the MVCC layer and the
//! bytes on disk. It knows nothing of versions, transactions or SQL: it
//! stores sorted keys, reads them point-wise or by range (both directions),
//! applies a batch of puts and deletes atomically, and syncs to disk.
//!
//! Two engines implement it:
//! - [`SledEngine`]: sled 0.34 on disk; what a node runs.
//! - [`MemoryEngine`]: a `BTreeMap` behind a lock, for unit tests only.
//!
//! Invariants every engine keeps:
//! - a [`WriteBatch`] given to [`Engine::write`] is applied all or nothing,
//!   also across a crash; one given to [`Engine::write_relaxed`] is applied
//!   in order (readers may see part of it while it runs), and a crash
//!   before the next sync may keep any subset of it (for writers that can
//!   redo their writes);
//! - after [`Engine::sync`] returns, every batch written before the call
//!   survives a process crash and a power loss;
//! - scans are ordered by bytewise key comparison and are safe to run while
//!   another thread writes (they may or may not see concurrent writes; the
//!   MVCC layer above makes that harmless).

mod memory;
mod sled;

use std::ops::Bound;

pub use self::memory::MemoryEngine;
pub use self::sled::SledEngine;
use crate::error::Result;

/// A key-value pair as stored.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// An ordered range of raw keys.
pub type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// An owned iterator over a key range, walkable from either end.
pub type ScanIter = Box<dyn DoubleEndedIterator<Item = Result<KvPair>> + Send>;

/// True when no key can lie in `range` (start after end, or an excluded
/// bound meeting the other bound). Ordered maps panic on such ranges, so
/// every scan checks this first and answers with nothing.
pub fn range_is_empty(range: &KeyRange) -> bool {
    match range {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s) | Bound::Excluded(s), Bound::Excluded(e))
        | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        _ => false,
    }
}

/// One change in a [`WriteBatch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WriteOp {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
}

/// Puts and deletes applied atomically, in order.
#[derive(Clone, Debug, Default)]
pub struct WriteBatch {
    pub(crate) ops: Vec<WriteOp>,
}

impl WriteBatch {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push(WriteOp::Put(key, value));
    }

    pub fn delete(&mut self, key: Vec<u8>) {
        self.ops.push(WriteOp::Delete(key));
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// An ordered key-value store with atomic batches. See the module docs.
pub trait Engine: Send + Sync + 'static {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>>;

    /// Scans `range` in key order; call `.rev()` for descending order.
    fn scan(&self, range: KeyRange) -> ScanIter;

    /// Applies every operation of `batch` atomically.
    fn write(&self, batch: WriteBatch) -> Result<()>;

    /// Applies the operations of `batch` in order, all visible to readers
    /// once this returns (some may be seen earlier), but *not* atomically,
    /// and not across a crash: until the
    /// next [`Engine::sync`] returns, a crash may keep any subset of them.
    /// For writers that can redo the writes after a crash (the MVCC layer's
    /// checkpointed mode, under a replayed Raft log). Cheaper than
    /// [`Engine::write`] where crash atomicity costs I/O (sled writes its
    /// buffer out twice per atomic batch). An engine may simply call
    /// `write`.
    fn write_relaxed(&self, batch: WriteBatch) -> Result<()> {
        self.write(batch)
    }

    /// Makes every write so far durable (fsync/fdatasync).
    fn sync(&self) -> Result<()>;
}

#[cfg(test)]
mod tests {
    //! The same behavioural tests run against every engine.
    use super::*;

    pub(super) fn exercise(engine: &dyn Engine) {
        let mut batch = WriteBatch::new();
        for k in [b"b".to_vec(), b"a".to_vec(), b"c".to_vec(), b"d".to_vec()] {
            batch.put(k.clone(), k);
        }
        batch.delete(b"d".to_vec());
        engine.write(batch).unwrap();
        assert_eq!(engine.get(b"a").unwrap(), Some(b"a".to_vec()));
        assert_eq!(engine.get(b"d").unwrap(), None);

        let keys = |it: ScanIter| -> Vec<Vec<u8>> { it.map(|r| r.unwrap().0).collect() };
        let all = (Bound::Unbounded, Bound::Unbounded);
        assert_eq!(
            keys(engine.scan(all.clone())),
            vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]
        );
        assert_eq!(
            keys(Box::new(engine.scan(all).rev())),
            vec![b"c".to_vec(), b"b".to_vec(), b"a".to_vec()]
        );
        let mid = (Bound::Excluded(b"a".to_vec()), Bound::Included(b"c".to_vec()));
        assert_eq!(keys(engine.scan(mid)), vec![b"b".to_vec(), b"c".to_vec()]);
        // Relaxed writes: the same operations in order, seen at once.
        let mut batch = WriteBatch::new();
        batch.put(b"e".to_vec(), b"1".to_vec());
        batch.put(b"e".to_vec(), b"2".to_vec());
        batch.delete(b"a".to_vec());
        engine.write_relaxed(batch).unwrap();
        assert_eq!(engine.get(b"e").unwrap(), Some(b"2".to_vec()));
        assert_eq!(engine.get(b"a").unwrap(), None);
        engine.sync().unwrap();
    }

    #[test]
    fn memory_engine_behaves() {
        exercise(&MemoryEngine::new());
    }
}
