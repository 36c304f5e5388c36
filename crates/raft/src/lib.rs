//! QuorumDB replication.
//!
//! - [`log`]: the durable Raft log: preallocated, checksummed segment files
//!   with group commit (fdatasync), a durable vote, torn-tail recovery.
//! - [`types`]: the openraft type configuration and the log payloads.
//! - [`state_machine`]: the MVCC store as openraft's state machine.

pub mod admin;
pub mod applied;
pub mod commit_batch;
pub mod committer;
pub mod forward;
pub mod lease;
pub mod log;
pub mod log_store;
pub mod network;
pub mod node;
pub mod read_index;
pub mod state_machine;
pub mod types;

/// gRPC types generated from `proto/`.
pub mod pb {
    pub mod raft {
        tonic::include_proto!("quorumdb.raft");
    }
    pub mod admin {
        tonic::include_proto!("quorumdb.admin");
    }
}
