//! Statement interrupts: how a running statement is cancelled.
//!
//! An [`Interrupt`] is a shared flag. A [`crate::Session`] owns one and
//! hands out clones ([`crate::Session::interrupt`]); anyone holding a clone
//! (the pgwire endpoint's CancelRequest registry) may [`Interrupt::trip`]
//! it. The executor checks the flag in its row loops (scans, filters,
//! joins, aggregates, sorts, DISTINCT, set operations, `generate_series`,
//! the rows of INSERT/UPDATE/DELETE) and stops with SQLSTATE 57014
//! (`query_canceled`), like PostgreSQL.
//!
//! Invariants:
//! - The session clears the flag when a statement begins, so a cancel that
//!   arrives while the session is idle does not hit the next statement.
//! - A statement runs on one thread; the session installs its interrupt
//!   for the duration of the statement in a thread-local ([`scope`]), and
//!   every [`crate::exec::ExecCtx`] created meanwhile picks it up. That
//!   keeps the check out of every function signature between the session
//!   and the operators. Outside a scope nothing is ever interrupted.
//! - A check is one relaxed atomic load: cheap enough for every row.
//! - The same flag reaches the storage layer ([`quorumdb_storage::cancel`]):
//!   a statement waiting for a leader, a read index or a local apply stops
//!   too, and so does a commit that has not been proposed yet (nothing was
//!   committed); all end with 57014.
//!
//! Deliberately not done: interrupting a commit already handed to Raft (its
//! outcome would become unknown), sorting an in-memory buffer (the rows
//! were already read), or timeouts (`statement_timeout`).

use std::sync::Arc;

use quorumdb_storage::cancel::Flag;

use crate::error::{Result, SqlError, codes};

/// A cancel flag shared between a session and whoever may cancel it.
#[derive(Clone, Debug, Default)]
pub struct Interrupt(Arc<Flag>);

impl Interrupt {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the statement running now (if any) to stop.
    pub fn trip(&self) {
        self.0.trip();
    }

    /// Forgets an earlier [`Interrupt::trip`].
    pub fn clear(&self) {
        self.0.clear();
    }

    pub fn is_tripped(&self) -> bool {
        self.0.is_tripped()
    }

    /// `Err(57014)` once tripped.
    pub fn check(&self) -> Result<()> {
        if self.is_tripped() {
            Err(canceled())
        } else {
            Ok(())
        }
    }
}

/// The error of a cancelled statement.
pub fn canceled() -> SqlError {
    SqlError::new(codes::QUERY_CANCELED, "canceling statement due to user request")
}

/// Runs `f` with `interrupt` as this thread's current interrupt, for the
/// executor's checks and for the storage layer's waits: the thread-local is
/// [`quorumdb_storage::cancel`]'s, which holds the same flag.
pub fn scope<T>(interrupt: &Interrupt, f: impl FnOnce() -> T) -> T {
    quorumdb_storage::cancel::scope(&interrupt.0, f)
}

/// Runs `f` as a new statement under `interrupt`: a cancel that arrived
/// before it (while the session was idle) is forgotten first.
pub fn statement<T>(interrupt: &Interrupt, f: impl FnOnce() -> T) -> T {
    interrupt.clear();
    scope(interrupt, f)
}

/// This thread's current interrupt, if a statement is running.
pub fn current() -> Option<Interrupt> {
    quorumdb_storage::cancel::current().map(Interrupt)
}

/// `Err(57014)` if the current statement has been cancelled.
pub fn check_current() -> Result<()> {
    if quorumdb_storage::cancel::current_is_tripped() {
        Err(canceled())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_installs_and_restores() {
        let outer = Interrupt::new();
        let inner = Interrupt::new();
        assert!(current().is_none());
        scope(&outer, || {
            inner.trip();
            assert!(check_current().is_ok());
            scope(&inner, || assert_eq!(check_current().unwrap_err().code, "57014"));
            assert!(check_current().is_ok());
            outer.trip();
            assert_eq!(check_current().unwrap_err().code, "57014");
        });
        assert!(current().is_none());
        assert!(check_current().is_ok());
    }
}
