//! QuorumDB's storage layer: everything below SQL and beside Raft.
//!
//! ```text
//!   SQL executor ──► Transaction (txn) ──commit──► Committer ──► Mvcc::apply
//!                        │ reads                    (local, or Raft later)
//!                        ▼
//!                    Snapshot (mvcc) ──► Engine (sled on disk / memory in tests)
//! ```
//!
//! - [`keycode`]: order-preserving encoding of typed key tuples.
//! - [`engine`]: the ordered byte store with atomic batches ([`SledEngine`],
//!   [`MemoryEngine`]).
//! - [`mvcc`]: versions, snapshots, deterministic commit validation, GC.
//! - [`txn`]: the gateway-side transaction: buffered writes, read sets,
//!   savepoints.
//! - [`fault`]: test-only fault switches (cargo feature `fault-injection`).
//! - [`committer`]: how a commit becomes a version ([`LocalCommitter`]) and
//!   the [`KvStore`] the SQL layer talks to.
//! - [`cancel`]: how a cancelled statement stops a committer's wait.
//!
//! `docs/architecture.md` describes the design and its guarantees.

pub mod cancel;
pub mod committer;
pub mod engine;
mod error;
pub mod fault;
pub mod keycode;
pub mod mvcc;
pub mod txn;

pub use committer::{Committer, KvStore, LocalCommitter};
pub use engine::{Engine, KeyRange, KvPair, MemoryEngine, SledEngine, WriteBatch};
pub use error::{Error, Result};
pub use mvcc::{
    ApplyOutcome, Commit, ConflictKind, Durability, Entry, EntryOutcome, Isolation, Mvcc, ScanOrder,
    Snapshot, TransferHeader, VerifyReport, Version,
};
pub use txn::{Savepoint, Transaction, TxnOptions, TxnScan};

/// Renders a key for messages: printable ASCII as is, other bytes as `\xNN`.
pub fn display_key(key: &[u8]) -> String {
    key.iter()
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect()
}
