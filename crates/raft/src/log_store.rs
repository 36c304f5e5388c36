//! openraft's log storage over the durable segment [`Log`].
//!
//! Entries are stored as postcard-encoded `openraft::Entry` payloads keyed by
//! index and term. Appends go through [`Log::append_async`], whose callback
//! reports to openraft only after the `fdatasync` covering the entries (group
//! commit). The vote is saved with [`Log::save_meta`], durable before the
//! call returns, so a vote is never answered before it is on disk. The last
//! purged log id is recorded before anything is purged.
//!
//! Appends and reads run inline on the async worker: they are `pwrite`s and
//! `pread`s against the page cache. Truncation, purging and the vote, which
//! sync, run in the blocking pool.
//!
//! The committed log id is kept in memory only (exposed for status and
//! metrics): openraft allows losing it, and the state machine persists the
//! last applied log id with its data, so after a restart the node simply
//! learns the commit index from the leader again. Persisting it would cost a
//! sync per commit.

// openraft's trait signatures fix the error type (`StorageError`, ~224 bytes);
// boxing it in our helpers would only move the conversion.
#![allow(clippy::result_large_err)]

use std::fmt::Debug;
use std::ops::{Bound, RangeBounds};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use openraft::storage::{LogFlushed, LogState, RaftLogReader, RaftLogStorage};
use openraft::{RaftLogId, StorageIOError};

use crate::log::{Log, LogEntry, LogError};
use crate::read_index::ReadFloor;
use crate::types::{Entry, LogId, StorageError, TypeConfig, Vote};

const VOTE: &str = "raft/vote";
const LAST_PURGED: &str = "raft/last_purged";

/// The log store handed to openraft. Cheap to clone.
#[derive(Clone)]
pub struct LogStore {
    log: Arc<Log>,
    committed: Arc<AtomicU64>,
}

fn read_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::read_logs(&e).into()
}

fn write_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_logs(&e).into()
}

impl LogStore {
    pub fn new(log: Arc<Log>) -> Self {
        Self {
            log,
            committed: Arc::default(),
        }
    }

    /// The committed index as last reported by openraft (0 if unknown).
    pub fn committed_index(&self) -> Arc<AtomicU64> {
        self.committed.clone()
    }

    /// The [`ReadFloor`] for a node starting on this log: the stored vote's
    /// term and the last log index.
    pub fn read_floor(&self) -> Result<ReadFloor, LogError> {
        let term = match self.log.read_meta(VOTE)? {
            Some(raw) => postcard::from_bytes::<Vote>(&raw)
                .map(|v| v.leader_id().term)
                .map_err(|e| LogError::Corrupt {
                    path: self.log.dir().to_path_buf(),
                    offset: 0,
                    detail: format!("undecodable stored vote: {e}"),
                })?,
            None => 0,
        };
        let index = self.log.last_log_id().map(|(index, _)| index).unwrap_or(0);
        Ok(ReadFloor { term, index })
    }

    pub fn log(&self) -> &Arc<Log> {
        &self.log
    }

    /// Runs a blocking log operation off the async workers.
    async fn blocking<T: Send + 'static>(
        &self,
        op: impl FnOnce(&Log) -> Result<T, LogError> + Send + 'static,
    ) -> Result<T, LogError> {
        let log = self.log.clone();
        tokio::task::spawn_blocking(move || op(&log))
            .await
            .map_err(|e| LogError::Io {
                path: self.log.dir().to_path_buf(),
                op: "run a blocking log task",
                source: std::io::Error::other(e.to_string()),
            })?
    }
}

fn decode(entry: &LogEntry) -> Result<Entry, StorageError> {
    postcard::from_bytes(&entry.payload).map_err(read_err)
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        let start = match range.start_bound() {
            Bound::Included(i) => *i,
            Bound::Excluded(i) => i.saturating_add(1),
            Bound::Unbounded => 0,
        };
        let end = match range.end_bound() {
            Bound::Included(i) => i.saturating_add(1),
            Bound::Excluded(i) => *i,
            Bound::Unbounded => u64::MAX,
        };
        // Inline: recent entries are `pread`s served by the page cache, and a
        // hop to the blocking pool would cost more than the read.
        let entries = self.log.entries(start..end).map_err(read_err)?;
        entries.iter().map(decode).collect()
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = match self.log.read_meta(LAST_PURGED).map_err(read_err)? {
            Some(raw) => Some(postcard::from_bytes(&raw).map_err(read_err)?),
            None => None,
        };
        let last_log_id = match self.log.last_index() {
            Some(index) => {
                let entries = self.log.entries(index..index + 1).map_err(read_err)?;
                match entries.first() {
                    Some(entry) => Some(*decode(entry)?.get_log_id()),
                    None => last_purged_log_id,
                }
            }
            None => last_purged_log_id,
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        let raw = postcard::to_stdvec(vote).map_err(|e| StorageIOError::write_vote(&e))?;
        self.blocking(move |log| log.save_meta(VOTE, &raw))
            .await
            .map_err(|e| StorageIOError::write_vote(&e).into())
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        match self
            .log
            .read_meta(VOTE)
            .map_err(|e| StorageIOError::read_vote(&e))?
        {
            Some(raw) => Ok(Some(
                postcard::from_bytes(&raw).map_err(|e| StorageIOError::read_vote(&e))?,
            )),
            None => Ok(None),
        }
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        if let Some(id) = committed {
            self.committed.fetch_max(id.index, Ordering::AcqRel);
        }
        Ok(())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<TypeConfig>) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + Send,
        I::IntoIter: Send,
    {
        let mut records = Vec::new();
        for entry in entries {
            let id = *entry.get_log_id();
            records.push(LogEntry {
                index: id.index,
                term: id.leader_id.term,
                payload: postcard::to_stdvec(&entry).map_err(write_err)?,
            });
        }
        let done = Box::new(move |result: Result<(), LogError>| {
            callback.log_io_completed(result.map_err(std::io::Error::other));
        });
        // Inline: `append_async` only copies the records into the page cache
        // (the flusher thread syncs them), so it does not block for long;
        // a hop to the blocking pool per append cost more than the write.
        self.log.append_async(records, done).map_err(write_err)
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        self.blocking(move |log| log.truncate_from(log_id.index))
            .await
            .map_err(write_err)
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let raw = postcard::to_stdvec(&log_id).map_err(write_err)?;
        self.blocking(move |log| {
            log.save_meta(LAST_PURGED, &raw)?;
            log.purge_through(log_id.index, log_id.leader_id.term)
        })
        .await
        .map_err(write_err)
    }
}
