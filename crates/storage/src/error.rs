//! Storage errors.
//!
//! Each variant means one thing a caller can act on. The SQL layer maps them
//! to SQLSTATE codes: [`Error::Conflict`] is a serialization failure (40001),
//! [`Error::OutcomeUnknown`] is 40003, [`Error::ReadOnly`] is 25006,
//! [`Error::SnapshotTooOld`] is 72000 (PostgreSQL's `snapshot_too_old`),
//! [`Error::Canceled`] is 57014 (`query_canceled`), [`Error::StoreReplaced`]
//! is 40001 (retrying reads the new store).

use std::path::PathBuf;

use crate::mvcc::{ConflictKind, Version};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An operating-system I/O error, with what we were doing at the time.
    #[error("I/O error while {context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// The directory exists and holds files, but it is not a QuorumDB data
    /// directory. We refuse to touch it rather than scribble over it.
    #[error("{path} is not a QuorumDB data directory (it is not empty and has no {marker} file)")]
    NotADataDir { path: PathBuf, marker: &'static str },

    /// The data directory was written by an incompatible format.
    #[error("{path}: unsupported data directory format {found:?} (this build reads {expected:?})")]
    IncompatibleFormat {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },

    /// Stored data failed a consistency check. Never silently repaired.
    #[error("{path}: data directory is corrupt: {detail}")]
    Corrupt { path: PathBuf, detail: String },

    /// A stored key or value could not be decoded.
    #[error("cannot decode {what}: {detail}")]
    Decode { what: &'static str, detail: String },

    /// The transaction conflicts with a transaction that committed after its
    /// read version. Retrying the whole transaction may succeed.
    #[error("could not serialize access due to {kind} conflict on key {}", crate::display_key(.key))]
    Conflict { key: Vec<u8>, kind: ConflictKind },

    /// A read at `version` was asked for, but versions at or below `horizon`
    /// have been garbage-collected.
    #[error("snapshot too old: version {version} is below the garbage-collection horizon {horizon}")]
    SnapshotTooOld { version: Version, horizon: Version },

    /// The replica replaced its whole store with a state transfer while a
    /// read at `version` ran (see `Mvcc::import`), so the read may have
    /// seen a mix of the old and the new store. Nothing is wrong with the
    /// data; retrying the transaction reads the new store.
    #[error(
        "could not serialize access: this node installed a state transfer while a read at version {version} ran"
    )]
    StoreReplaced { version: Version },

    /// A snapshot was asked for a version the store has not applied yet.
    #[error("version {version} is not applied yet (applied up to {applied})")]
    NotYetApplied { version: Version, applied: Version },

    /// Versions must be applied in strictly increasing order.
    #[error("cannot apply version {version}: already applied up to {applied}")]
    OutOfOrder { version: Version, applied: Version },

    /// A write in a read-only transaction.
    #[error("cannot write in a read-only transaction")]
    ReadOnly,

    /// The commit was handed to the replication layer and we lost track of
    /// it: it may or may not have been applied. Never retried automatically.
    #[error("commit outcome unknown: {0}")]
    OutcomeUnknown(String),

    /// The commit could not be proposed at all (no quorum, shutting down,
    /// ...). Nothing was applied.
    #[error("commit not possible: {0}")]
    Unavailable(String),

    /// The statement was cancelled while it waited (see [`crate::cancel`]);
    /// if it was committing, nothing had been proposed, so nothing was
    /// applied.
    #[error("canceling statement due to user request")]
    Canceled,
}

impl Error {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn decode(what: &'static str, detail: impl std::fmt::Display) -> Self {
        Error::Decode {
            what,
            detail: detail.to_string(),
        }
    }
}
