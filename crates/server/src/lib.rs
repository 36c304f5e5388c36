//! A QuorumDB node: Raft replication, the SQL engine, the PostgreSQL wire
//! protocol, the admin gRPC service and HTTP health/metrics.
//!
//! - [`node`]: a node: the replicated store and its listeners.
//! - [`pgwire`]: the PostgreSQL wire protocol endpoint over SQL sessions.
//! - [`http`]: `/health` and `/metrics` for operators.
//! - [`metrics`]: what `/metrics` reports, and the commit meter.

pub mod http;
pub mod metrics;
pub mod node;
pub mod pgwire;
