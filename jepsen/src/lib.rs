//! QuorumDB's chaos suite: real clusters broken on purpose, histories
//! recorded through the wire protocol, and checkers that judge them.
//!
//! * [`history`]: Elle/Jepsen-shaped histories as JSON lines, validated and
//!   paired (invoke -> ok | fail | info).
//! * [`checker`]: the common [`Verdict`] and the [`Checker`] trait.
//! * [`bank`], [`set`]: invariant checkers for the bank and set workloads.
//! * [`linearizable`]: a WGL linearizability checker for per-key registers.
//! * [`elle`]: an Elle-style list-append checker (G0 .. G2-item, with
//!   process and real-time variants) for strict serializability.
//!
//!
//! The runner half:
//! * [`cluster`]: N `quorumdb` processes on loopback, owned by PID, with
//!   kill -9 / restart / SIGSTOP / SIGCONT / membership changes and cleanup
//!   on drop; [`ports`] chooses their loopback ports (also for the
//!   multi-process tests of `quorumdb-cli`).
//! * [`proxy`]: a fault-injecting TCP proxy in front of every node's gRPC
//!   port (partitions, one-way faults) that knows which node connected.
//! * [`nemesis`]: the fault kinds and the healthy/faulty schedule, one
//!   fault at a time or several overlapping.
//! * [`workload`]: bank, register, list-append and set over PostgreSQL wire.
//! * [`runner`]: one run end to end, and its evidence folder; also against
//!   nodes broken on purpose (test-only fault-injection switches), where a
//!   checker must say invalid;
//!   [`report`]: the text summary and the SVG picture.

pub mod bank;
pub mod checker;
pub mod cluster;
pub mod elle;
pub mod history;
pub mod linearizable;
pub mod nemesis;
pub mod ports;
pub mod proxy;
pub mod report;
pub mod runner;
pub mod set;
pub mod workload;

pub use checker::{Anomaly, Checker, Validity, Verdict};
pub use history::{History, HistoryError, Op, OpType, Outcome};
