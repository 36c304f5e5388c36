//! The error type of the durable Raft log.
//!
//! Every variant names what went wrong precisely enough to act on it: I/O
//! errors carry the path and the operation, corruption carries the file, the
//! byte offset and what was wrong there, caller mistakes carry the indexes.
//!
//! Invariants: an error that comes from the disk never turns into a panic;
//! once a write or sync has failed the log is *poisoned* (see
//! [`LogError::Poisoned`]) because after a failed `fdatasync` the kernel may
//! have dropped the dirty pages and nothing written since the last good sync
//! can be trusted (the "fsyncgate" lesson, PostgreSQL 2018).
//!
//! Deliberately not done here: retry policy. Every error is final for the call
//! that returned it; a poisoned log must be dropped and reopened, which
//! re-reads and re-validates what is really on disk.

use std::io;
use std::path::PathBuf;

/// Errors of [`crate::log::Log`].
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// An operating-system I/O call failed on `path`.
    #[error("raft log: {op} {}: {source}", path.display())]
    Io {
        /// The file or directory the call was about.
        path: PathBuf,
        /// What was being done (`"open"`, `"fdatasync"`, `"write"`, ...).
        op: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// A file holds bytes that are not a valid log (checksum mismatch, bad
    /// magic, missing entries between segments, ...) somewhere that cannot be
    /// an interrupted write at the tail. Nothing was repaired or dropped.
    #[error("raft log: corrupt {} at byte {offset}: {detail}", path.display())]
    Corrupt {
        /// The damaged file.
        path: PathBuf,
        /// Byte offset of the damage in that file.
        offset: u64,
        /// What is wrong there.
        detail: String,
    },

    /// An append did not continue the log: `got` was offered where `expected`
    /// was the only acceptable index.
    #[error("raft log: non-contiguous append: expected index {expected}, got {got}")]
    NonContiguous {
        /// The index the next entry must have.
        expected: u64,
        /// The index that was offered.
        got: u64,
    },

    /// The call asked for something the log cannot do (e.g. truncate entries
    /// that are already purged, or use a reserved metadata key).
    #[error("raft log: invalid argument: {0}")]
    InvalidArgument(String),

    /// Another process (or another [`crate::log::Log`] in this process) has
    /// the directory open.
    #[error("raft log: {} is locked by another process or Log", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },

    /// An earlier write or sync failed; the log accepts no more writes and
    /// must be reopened. `detail` describes the original failure.
    #[error("raft log: poisoned by an earlier I/O failure ({detail}); reopen the log")]
    Poisoned {
        /// The original failure.
        detail: String,
    },

    /// The log is shutting down (its flusher thread has stopped).
    #[error("raft log: closed")]
    Closed,
}

impl LogError {
    /// Builds an [`LogError::Io`] for `op` on `path`.
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> LogError {
        LogError::Io {
            path: path.into(),
            op,
            source,
        }
    }

    /// Builds a [`LogError::Corrupt`].
    pub(crate) fn corrupt(path: impl Into<PathBuf>, offset: u64, detail: impl Into<String>) -> LogError {
        LogError::Corrupt {
            path: path.into(),
            offset,
            detail: detail.into(),
        }
    }
}
