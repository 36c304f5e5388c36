//! The openraft type configuration and the application payloads.
//!
//! A log entry's application data is a [`Request`]: a batch of transaction
//! commits or a GC decision. The state machine answers each with a [`Response`].
//! Versions of the MVCC store are Raft log indexes.

use std::io::Cursor;

use quorumdb_storage::{ApplyOutcome, Commit, Version};
use serde::{Deserialize, Serialize};

/// What a log entry asks the state machine to do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Validate and apply transactions' commits, in order (the leader
    /// batches concurrent commits into one entry).
    Commits(Vec<Commit>),
    /// Raise the GC horizon (proposed by the leader).
    Gc { horizon: Version },
}

/// What applying an entry produced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// One outcome per commit of the entry, in order.
    Commits(Vec<ApplyOutcome>),
    Done,
}

openraft::declare_raft_types!(
    /// QuorumDB's openraft type configuration.
    pub TypeConfig:
        D = Request,
        R = Response,
        NodeId = u64,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type NodeId = u64;
pub type Node = openraft::BasicNode;
pub type Raft = openraft::Raft<TypeConfig>;
pub type LogId = openraft::LogId<NodeId>;
pub type Vote = openraft::Vote<NodeId>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type StoredMembership = openraft::StoredMembership<NodeId, Node>;
pub type SnapshotMeta = openraft::SnapshotMeta<NodeId, Node>;
pub type Snapshot = openraft::Snapshot<TypeConfig>;
pub type StorageError = openraft::StorageError<NodeId>;
