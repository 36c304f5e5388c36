//! Shared code for QuorumDB's cross-crate integration tests.
//!
//! - [`slt`]: a sqllogictest runner (SQLite's format) over any [`slt::SltDb`];
//!   [`slt::InProcess`] is a [`quorumdb_sql::Session`] in this process.
//! - [`slt_pgwire`]: the same runner over the PostgreSQL wire protocol.
//! - [`slt_corpus`]: which corpus files to run, and the per-file report.
//! - [`clients`]: the client-driver matrix (`tests/clients/`).

pub mod clients;
pub mod slt;
pub mod slt_corpus;
pub mod slt_pgwire;
