//! Shared code for QuorumDB's cross-crate integration tests.
//!
//! - [`slt`]: a sqllogictest runner (SQLite's format) over an in-process
//!   [`quorumdb_sql::Session`].

pub mod slt;
