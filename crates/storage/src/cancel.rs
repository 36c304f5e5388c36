//! Cancelling a wait below the SQL layer.
//!
//! A statement is cancelled by tripping its [`Flag`] (the SQL layer's
//! `interrupt` module owns one per session). Its scans check the flag for
//! every row, but a statement can also be *waiting* inside a
//! [`crate::Committer`]: for a leader, for a read index, for this node to
//! apply one. The SQL layer installs the flag for the calling thread
//! ([`scope`]); a committer that waits takes it first ([`current`]) and races
//! its wait against [`tripped`], giving up with [`crate::Error::Canceled`].
//!
//! Invariants:
//! - A committer gives up only where that is safe: while waiting to *read*,
//!   or while a commit has not been proposed (nothing was committed). A
//!   commit already handed to Raft is never abandoned: its outcome would
//!   become unknown.
//! - [`tripped`] is woken by [`Flag::trip`] (no timer, no polling), and a
//!   wait that ends first leaves nothing registered behind.
//! - Outside a scope nothing is cancelled.
//! - A flag remembers why it was tripped ([`Reason`]), so the error can say
//!   whether the client asked or a statement timeout ran out.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

/// A statement's cancel flag, and the wait (at most one) to wake on it.
#[derive(Debug, Default)]
pub struct Flag {
    tripped: AtomicBool,
    /// Tripped by [`Reason::StatementTimeout`] (else by the client).
    timed_out: AtomicBool,
    waiter: Mutex<Option<Waker>>,
}

/// Why a statement was cancelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The client asked (a CancelRequest, a dropped connection).
    UserRequest,
    /// The session's statement timeout ran out.
    StatementTimeout,
}

impl Flag {
    /// Cancels at the client's request: sets the flag and wakes the wait
    /// on it, if any.
    pub fn trip(&self) {
        self.trip_for(Reason::UserRequest);
    }

    /// Cancels for `reason`.
    pub fn trip_for(&self, reason: Reason) {
        if reason == Reason::StatementTimeout {
            self.timed_out.store(true, Ordering::SeqCst);
        }
        self.tripped.store(true, Ordering::SeqCst);
        if let Some(waker) = self.lock().take() {
            waker.wake();
        }
    }

    /// Forgets an earlier [`Flag::trip`].
    pub fn clear(&self) {
        self.tripped.store(false, Ordering::Relaxed);
        self.timed_out.store(false, Ordering::Relaxed);
    }

    /// Why the flag was tripped, if it was.
    pub fn reason(&self) -> Option<Reason> {
        if !self.tripped.load(Ordering::SeqCst) {
            None
        } else if self.timed_out.load(Ordering::SeqCst) {
            Some(Reason::StatementTimeout)
        } else {
            Some(Reason::UserRequest)
        }
    }

    /// One relaxed load: cheap enough for every row.
    pub fn is_tripped(&self) -> bool {
        self.tripped.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Waker>> {
        self.waiter.lock().unwrap_or_else(|e| e.into_inner())
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Flag>>> = const { RefCell::new(None) };
}

/// Restores the previous flag when a scope ends (also on panic).
struct Restore(Option<Arc<Flag>>);

impl Drop for Restore {
    fn drop(&mut self) {
        let prev = self.0.take();
        CURRENT.with(|c| *c.borrow_mut() = prev);
    }
}

/// Runs `f` with `flag` as this thread's cancel flag.
pub fn scope<T>(flag: &Arc<Flag>, f: impl FnOnce() -> T) -> T {
    let prev = CURRENT.with(|c| c.borrow_mut().replace(flag.clone()));
    let _restore = Restore(prev);
    f()
}

/// This thread's cancel flag, if it runs inside a [`scope`].
pub fn current() -> Option<Arc<Flag>> {
    CURRENT.with(|c| c.borrow().clone())
}

/// True if this thread runs inside a [`scope`] whose flag is tripped (no
/// reference count touched: cheap enough for every row).
pub fn current_is_tripped() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(|f| f.is_tripped()))
}

/// Resolves once `flag` is tripped (at once if it already is); never
/// without a flag.
pub fn tripped(flag: Option<Arc<Flag>>) -> Tripped {
    Tripped {
        flag,
        registered: false,
    }
}

/// The future of [`tripped`].
pub struct Tripped {
    flag: Option<Arc<Flag>>,
    /// A waker of ours may be in the flag (so dropping takes it out).
    registered: bool,
}

impl Future for Tripped {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let Some(flag) = self.flag.clone() else {
            return Poll::Pending;
        };
        // Checked under the lock `trip` takes after setting the flag, so a
        // trip either is seen here or finds this waker.
        let mut waiter = flag.lock();
        if flag.tripped.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        match &mut *waiter {
            Some(w) if w.will_wake(cx.waker()) => {}
            slot => *slot = Some(cx.waker().clone()),
        }
        drop(waiter);
        self.registered = true;
        Poll::Pending
    }
}

impl Drop for Tripped {
    fn drop(&mut self) {
        if let (Some(flag), true) = (&self.flag, self.registered) {
            flag.lock().take();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_installs_and_restores() {
        let outer: Arc<Flag> = Arc::default();
        let inner: Arc<Flag> = Arc::default();
        assert!(current().is_none());
        scope(&outer, || {
            assert!(Arc::ptr_eq(&current().unwrap(), &outer));
            scope(&inner, || assert!(Arc::ptr_eq(&current().unwrap(), &inner)));
            assert!(Arc::ptr_eq(&current().unwrap(), &outer));
            assert!(!outer.is_tripped());
            outer.trip();
            assert!(current().unwrap().is_tripped());
        });
        assert!(current().is_none());
    }

    #[test]
    fn a_trip_wakes_the_wait_from_another_thread() {
        let flag: Arc<Flag> = Arc::default();
        let tripper = flag.clone();
        let thread = std::thread::spawn(move || {
            // Trips whether or not the wait has registered yet.
            tripper.trip();
        });
        // block_on parks this thread until the trip wakes it.
        futures_lite_block_on(tripped(Some(flag.clone())));
        thread.join().unwrap();
        assert!(flag.is_tripped());
        flag.clear();
        assert!(!flag.is_tripped());
        // Already tripped: ready at once. No flag: never ready.
        flag.trip();
        futures_lite_block_on(tripped(Some(flag.clone())));
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut never = tripped(None);
        assert!(Pin::new(&mut never).poll(&mut cx).is_pending());
    }

    /// A minimal executor for the test: parks the thread until woken.
    fn futures_lite_block_on(fut: impl Future<Output = ()>) {
        struct Unpark(std::thread::Thread);
        impl std::task::Wake for Unpark {
            fn wake(self: Arc<Self>) {
                self.0.unpark();
            }
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        let mut fut = std::pin::pin!(fut);
        while fut.as_mut().poll(&mut cx).is_pending() {
            std::thread::park();
        }
    }
}
