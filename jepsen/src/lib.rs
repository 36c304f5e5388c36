//! QuorumDB's chaos suite, checker half: the history format and the
//! checkers that judge histories recorded against a cluster.
//!
//! * [`history`]: Elle/Jepsen-shaped histories as JSON lines, validated and
//!   paired (invoke -> ok | fail | info).
//! * [`checker`]: the common [`Verdict`] and the [`Checker`] trait.
//! * [`bank`], [`set`]: invariant checkers for the bank and set workloads.
//! * [`linearizable`]: a WGL linearizability checker for per-key registers.
//! * [`elle`]: an Elle-style list-append checker (G0 .. G2-item, with
//!   process and real-time variants) for strict serializability.
//!
//! Cluster control, fault injection (nemeses) and the workload runners live
//! elsewhere once a server exists; nothing here talks to a database.

pub mod bank;
pub mod checker;
pub mod elle;
pub mod history;
pub mod linearizable;
pub mod set;

pub use checker::{Anomaly, Checker, Validity, Verdict};
pub use history::{History, HistoryError, Op, OpType, Outcome};
