//! The Raft state machine: the MVCC store.
//!
//! Applying an entry is [`Mvcc::apply_entry`] at the entry's log index, so
//! store versions are log indexes. The last applied log id and the latest
//! membership are kept as store metadata, written with the entry's data. The
//! store is *checkpointed* (`quorumdb_storage::Durability::Checkpointed`):
//! applies are not crash-atomic, and a checkpoint (every
//! `RaftTuning::checkpoint_every`, at every snapshot, at a clean stop)
//! records, after a sync, the applied log id and membership that the data
//! on disk covers. After a crash the store opens at its last checkpoint, a
//! consistent prefix of the log, and openraft applies the rest again (the
//! log store keeps the committed log id for that). Commit validation happens
//! here, deterministically: every replica reaches the same decision for the
//! same entry, and so does a replica applying an entry a second time.
//!
//! Snapshots are [`Mvcc::export`] at the applied version: built while applies
//! continue, checkpointed *after* the export (so the log is never purged
//! beyond what the store has made durable), and installed with
//! [`Mvcc::import`].
//!
//! Limit: snapshot data is held in memory (`Cursor<Vec<u8>>`), which bounds
//! the practical data size per node; a file-backed snapshot is future work.

// openraft's trait signatures fix the error type (`StorageError`, ~224 bytes);
// boxing it in our helpers would only move the conversion.
#![allow(clippy::result_large_err)]

use std::io::Cursor;
use std::sync::{Arc, Mutex};

use openraft::storage::{RaftSnapshotBuilder, RaftStateMachine};
use openraft::{EntryPayload, RaftLogId, StorageIOError};
use quorumdb_storage::{Entry as StoreEntry, EntryOutcome, Mvcc};

use crate::applied::AppliedWaiters;
use crate::types::{
    Entry, LogId, Request, Response, Snapshot, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};

const LAST_APPLIED: &str = "raft.last_applied";
const MEMBERSHIP: &str = "raft.membership";

/// A built snapshot kept to serve followers.
#[derive(Clone)]
struct StoredSnapshot {
    meta: SnapshotMeta,
    data: Vec<u8>,
}

/// The state machine handed to openraft. Cheap to clone.
#[derive(Clone)]
pub struct StateMachine {
    mvcc: Mvcc,
    /// Told of every new applied version (after the store published it).
    waiters: Arc<AppliedWaiters>,
    current: Arc<Mutex<Option<StoredSnapshot>>>,
    /// Snapshots built so far by this process (for unique ids).
    built: Arc<std::sync::atomic::AtomicU64>,
}

fn sm_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_state_machine(&e).into()
}

fn read_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::read_state_machine(&e).into()
}

impl StateMachine {
    pub fn new(mvcc: Mvcc, waiters: Arc<AppliedWaiters>) -> Self {
        Self {
            mvcc,
            waiters,
            current: Arc::default(),
            built: Arc::default(),
        }
    }

    pub fn mvcc(&self) -> &Mvcc {
        &self.mvcc
    }

    fn read_state(&self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let last = match self.mvcc.meta(LAST_APPLIED).map_err(read_err)? {
            Some(raw) => Some(postcard::from_bytes(&raw).map_err(read_err)?),
            None => None,
        };
        let membership = match self.mvcc.meta(MEMBERSHIP).map_err(read_err)? {
            Some(raw) => postcard::from_bytes(&raw).map_err(read_err)?,
            None => StoredMembership::default(),
        };
        Ok((last, membership))
    }

    fn apply_one(&self, entry: &Entry) -> Result<Response, StorageError> {
        let log_id = *entry.get_log_id();
        let last = postcard::to_stdvec(&log_id).map_err(sm_err)?;
        let membership;
        let mut meta: Vec<(&str, &[u8])> = vec![(LAST_APPLIED, &last)];
        let store_entry = match &entry.payload {
            EntryPayload::Blank => StoreEntry::Empty,
            EntryPayload::Membership(m) => {
                membership =
                    postcard::to_stdvec(&StoredMembership::new(Some(log_id), m.clone())).map_err(sm_err)?;
                meta.push((MEMBERSHIP, &membership));
                StoreEntry::Empty
            }
            EntryPayload::Normal(Request::Commits(commits)) => StoreEntry::Commits(commits),
            EntryPayload::Normal(Request::Gc { horizon }) => StoreEntry::Gc { horizon: *horizon },
        };
        match self
            .mvcc
            .apply_entry(log_id.index, store_entry, &meta)
            .map_err(sm_err)?
        {
            EntryOutcome::Commits(outcomes) => Ok(Response::Commits(outcomes)),
            EntryOutcome::Done => Ok(Response::Done),
        }
    }
}

/// Most work (see [`apply_weight`]) a batch of entries may carry and still
/// be applied inline on the async worker.
const INLINE_APPLY_WEIGHT: usize = 256;

/// Rough cost of applying `entry`: keys written and read ranges checked,
/// plus one; a GC entry counts as too much to apply inline.
fn apply_weight(entry: &Entry) -> usize {
    match &entry.payload {
        EntryPayload::Normal(Request::Commits(commits)) => commits
            .iter()
            .map(|c| 1 + c.writes.len() + c.read_keys.len() + c.read_ranges.len())
            .sum(),
        EntryPayload::Normal(Request::Gc { .. }) => INLINE_APPLY_WEIGHT + 1,
        EntryPayload::Blank | EntryPayload::Membership(_) => 1,
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        let mvcc = self.mvcc.clone();
        let (data, header) = tokio::task::spawn_blocking(move || {
            let mut data = Vec::new();
            let header = mvcc.export(&mut data)?;
            // Checkpoint after the export: the store then restarts at least
            // at the snapshot, so the log may be purged behind it.
            mvcc.sync()?;
            Ok::<_, quorumdb_storage::Error>((data, header))
        })
        .await
        .map_err(|e| StorageIOError::read_state_machine(&e))?
        .map_err(read_err)?;
        let find = |name: &str| {
            header
                .meta
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_slice())
        };
        let last_log_id: Option<LogId> = match find(LAST_APPLIED) {
            Some(raw) => Some(postcard::from_bytes(raw).map_err(read_err)?),
            None => None,
        };
        let last_membership: StoredMembership = match find(MEMBERSHIP) {
            Some(raw) => postcard::from_bytes(raw).map_err(read_err)?,
            None => StoredMembership::default(),
        };
        let n = self.built.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let snapshot_id = match last_log_id {
            Some(id) => format!("{}-{}-{n}", id.leader_id.term, id.index),
            None => format!("0-0-{n}"),
        };
        let meta = SnapshotMeta {
            last_log_id,
            last_membership,
            snapshot_id,
        };
        tracing::info!(version = header.version, bytes = data.len(), "built a snapshot");
        let stored = StoredSnapshot {
            meta: meta.clone(),
            data: data.clone(),
        };
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(stored);
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(data)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        self.read_state()
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<Response>, StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let entries: Vec<Entry> = entries.into_iter().collect();
        // The store is synchronous (sled). Small batches of commits apply in
        // a few tens of microseconds, less than a hop to the blocking pool
        // costs; anything bigger (or a GC, which deletes garbage) runs
        // there so it cannot hold up an async worker.
        let responses = if entries.iter().map(apply_weight).sum::<usize>() <= INLINE_APPLY_WEIGHT {
            entries.iter().map(|e| self.apply_one(e)).collect()
        } else {
            let this = self.clone();
            tokio::task::spawn_blocking(move || entries.iter().map(|e| this.apply_one(e)).collect())
                .await
                .map_err(|e| StorageIOError::write_state_machine(&e))?
        };
        self.waiters.applied(self.mvcc.applied());
        responses
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let data = snapshot.into_inner();
        let mvcc = self.mvcc.clone();
        let copy = data.clone();
        tokio::task::spawn_blocking(move || mvcc.import(&mut Cursor::new(copy)))
            .await
            .map_err(|e| StorageIOError::write_state_machine(&e))?
            .map_err(sm_err)?;
        // Whatever follows, the store is now at the snapshot's version.
        self.waiters.applied(self.mvcc.applied());
        let (installed, _) = self.read_state()?;
        if installed != meta.last_log_id {
            let detail = format!(
                "snapshot says {:?}, its data says {installed:?}",
                meta.last_log_id
            );
            return Err(sm_err(std::io::Error::other(detail)));
        }
        tracing::info!(last_log_id = ?meta.last_log_id, "installed a snapshot from the leader");
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(StoredSnapshot {
            meta: meta.clone(),
            data,
        });
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        let current = self.current.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(current.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}
