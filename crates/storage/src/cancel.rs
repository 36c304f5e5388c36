//! Cancelling a wait below the SQL layer.
//!
//! A statement is cancelled by tripping a shared flag (the SQL layer's
//! `interrupt` module owns it). Its scans check the flag for every row, but
//! a statement can also be *waiting* inside a [`crate::Committer`]: for a
//! leader, for a read index, for this node to apply one. The SQL layer
//! installs the flag for the calling thread ([`scope`]); a committer that
//! waits takes it first ([`current`]) and gives up with
//! [`crate::Error::Canceled`] once it is tripped.
//!
//! Invariant: a committer gives up only where that is safe, that is while
//! waiting to *read*, or while a commit has not been handed on yet (nothing
//! was committed). A commit already handed to Raft is never abandoned: its
//! outcome would become unknown. Outside a scope nothing is cancelled.
//!
//! Not here: how quickly a waiter notices (committers poll the flag).

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A cancel flag: `true` once the statement it belongs to is cancelled.
pub type Flag = Arc<AtomicBool>;

thread_local! {
    static CURRENT: RefCell<Option<Flag>> = const { RefCell::new(None) };
}

/// Restores the previous flag when a scope ends (also on panic).
struct Restore(Option<Flag>);

impl Drop for Restore {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

/// Runs `f` with `flag` as this thread's cancel flag.
pub fn scope<T>(flag: &Flag, f: impl FnOnce() -> T) -> T {
    let prev = CURRENT.with(|c| c.borrow_mut().replace(flag.clone()));
    let _restore = Restore(prev);
    f()
}

/// This thread's cancel flag, if it runs inside a [`scope`].
pub fn current() -> Option<Flag> {
    CURRENT.with(|c| c.borrow().clone())
}

/// True once `flag` (if any) is tripped.
pub fn is_tripped(flag: Option<&Flag>) -> bool {
    flag.is_some_and(|f| f.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_installs_and_restores() {
        let outer: Flag = Arc::default();
        let inner: Flag = Arc::default();
        assert!(current().is_none());
        scope(&outer, || {
            assert!(Arc::ptr_eq(&current().unwrap(), &outer));
            scope(&inner, || assert!(Arc::ptr_eq(&current().unwrap(), &inner)));
            assert!(Arc::ptr_eq(&current().unwrap(), &outer));
            assert!(!is_tripped(current().as_ref()));
            outer.store(true, Ordering::Relaxed);
            assert!(is_tripped(current().as_ref()));
        });
        assert!(current().is_none());
        assert!(!is_tripped(None));
    }
}
