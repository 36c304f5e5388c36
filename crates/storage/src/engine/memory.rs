//! An in-memory engine for unit tests: a `BTreeMap` behind an `RwLock`.
//!
//! Scans copy the matching range out under the read lock, so they never hold
//! the lock while the caller iterates. Nothing is durable; never use this as
//! the engine a user runs.

use std::collections::BTreeMap;
use std::sync::RwLock;

use super::{Engine, KeyRange, ScanIter, WriteBatch, WriteOp};
use crate::error::Result;

#[derive(Debug, Default)]
pub struct MemoryEngine {
    data: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemoryEngine {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<Vec<u8>, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-written
        // (each batch is applied by plain inserts), so poisoning is ignored.
        self.data.read().unwrap_or_else(|e| e.into_inner())
    }
}

impl Engine for MemoryEngine {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.read().get(key).cloned())
    }

    fn scan(&self, range: KeyRange) -> ScanIter {
        if super::range_is_empty(&range) {
            return Box::new(std::iter::empty());
        }
        let items: Vec<_> = self
            .read()
            .range(range)
            .map(|(k, v)| Ok((k.clone(), v.clone())))
            .collect();
        Box::new(items.into_iter())
    }

    fn write(&self, batch: WriteBatch) -> Result<()> {
        let mut data = self.data.write().unwrap_or_else(|e| e.into_inner());
        for op in batch.ops {
            match op {
                WriteOp::Put(k, v) => {
                    data.insert(k, v);
                }
                WriteOp::Delete(k) => {
                    data.remove(&k);
                }
            }
        }
        Ok(())
    }

    fn sync(&self) -> Result<()> {
        Ok(())
    }
}
