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
//! - A statement timeout ([`statement`]'s `timeout`, PostgreSQL's
//!   `statement_timeout`) is the same trip, made by one process-wide
//!   watchdog thread when the deadline passes; the error then says
//!   `canceling statement due to statement timeout` (still 57014). The
//!   deadline is disarmed when the statement ends, so it never hits a
//!   later one.
//!
//! Deliberately not done: interrupting a commit already handed to Raft (its
//! outcome would become unknown; such a statement outlives its timeout),
//! sorting an in-memory buffer (the rows were already read).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use quorumdb_storage::cancel::{Flag, Reason};

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
        match self.0.reason() {
            Some(reason) => Err(canceled(reason)),
            None => Ok(()),
        }
    }

    /// The 57014 this interrupt stands for now (as if the client asked,
    /// when it is not tripped).
    pub fn error(&self) -> SqlError {
        canceled(self.0.reason().unwrap_or(Reason::UserRequest))
    }
}

/// The error of a statement cancelled for `reason`.
pub fn canceled(reason: Reason) -> SqlError {
    let why = match reason {
        Reason::UserRequest => "user request",
        Reason::StatementTimeout => "statement timeout",
    };
    SqlError::new(codes::QUERY_CANCELED, format!("canceling statement due to {why}"))
}

/// The 57014 of the statement running on this thread (for a wait below
/// the SQL layer that gave up with `Canceled`).
pub fn current_error() -> SqlError {
    current().map_or_else(|| canceled(Reason::UserRequest), |i| i.error())
}

/// Runs `f` with `interrupt` as this thread's current interrupt, for the
/// executor's checks and for the storage layer's waits: the thread-local is
/// [`quorumdb_storage::cancel`]'s, which holds the same flag.
pub fn scope<T>(interrupt: &Interrupt, f: impl FnOnce() -> T) -> T {
    quorumdb_storage::cancel::scope(&interrupt.0, f)
}

/// Runs `f` as a new statement under `interrupt`: a cancel that arrived
/// before it (while the session was idle) is forgotten first. With a
/// `timeout`, the interrupt is tripped ([`Reason::StatementTimeout`]) if
/// `f` still runs that long after it began (53000 if the watchdog thread
/// cannot be started).
pub fn statement<T>(
    interrupt: &Interrupt,
    timeout: Option<Duration>,
    f: impl FnOnce() -> Result<T>,
) -> Result<T> {
    interrupt.clear();
    let deadline = match timeout {
        Some(t) => Some(Watchdog::get()?.arm(Instant::now() + t, &interrupt.0)),
        None => None,
    };
    let result = scope(interrupt, f);
    // Disarmed (no trip can follow), then a trip that came as the
    // statement ended is forgotten: it must not stop the next one.
    drop(deadline);
    if interrupt.0.reason() == Some(Reason::StatementTimeout) {
        interrupt.clear();
    }
    result
}

/// The thread that trips interrupts whose deadline has passed. Deadlines
/// are kept in order; the thread sleeps until the first (or until one
/// earlier is armed).
struct Watchdog {
    deadlines: Mutex<BTreeMap<(Instant, u64), Weak<Flag>>>,
    changed: Condvar,
    next_id: AtomicU64,
}

/// An armed deadline; dropping it disarms it.
struct Deadline {
    watchdog: &'static Watchdog,
    key: (Instant, u64),
}

impl Watchdog {
    /// The watchdog, its thread started on first use.
    fn get() -> Result<&'static Arc<Watchdog>> {
        static WATCHDOG: OnceLock<Arc<Watchdog>> = OnceLock::new();
        static STARTING: Mutex<()> = Mutex::new(());
        if let Some(w) = WATCHDOG.get() {
            return Ok(w);
        }
        let _one_at_a_time = STARTING.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(w) = WATCHDOG.get() {
            return Ok(w);
        }
        let w = Arc::new(Watchdog {
            deadlines: Mutex::default(),
            changed: Condvar::new(),
            next_id: AtomicU64::new(0),
        });
        let run = w.clone();
        std::thread::Builder::new()
            .name("statement-timeouts".into())
            .spawn(move || run.run())
            .map_err(|e| {
                SqlError::new(
                    codes::INSUFFICIENT_RESOURCES,
                    format!("could not start the statement timeout thread: {e}"),
                )
            })?;
        Ok(WATCHDOG.get_or_init(|| w))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(Instant, u64), Weak<Flag>>> {
        self.deadlines.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn arm(&'static self, at: Instant, flag: &Arc<Flag>) -> Deadline {
        let key = (at, self.next_id.fetch_add(1, Ordering::Relaxed));
        let mut deadlines = self.lock();
        deadlines.insert(key, Arc::downgrade(flag));
        if deadlines.first_key_value().is_some_and(|(k, _)| *k == key) {
            self.changed.notify_one();
        }
        Deadline { watchdog: self, key }
    }

    fn run(&self) {
        let mut deadlines = self.lock();
        loop {
            let now = Instant::now();
            deadlines = match deadlines.first_key_value() {
                None => self.changed.wait(deadlines).unwrap_or_else(|e| e.into_inner()),
                Some((&(at, _), _)) if at > now => {
                    self.changed
                        .wait_timeout(deadlines, at - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                Some(_) => {
                    if let Some((_, flag)) = deadlines.pop_first()
                        && let Some(flag) = flag.upgrade()
                    {
                        flag.trip_for(Reason::StatementTimeout);
                    }
                    deadlines
                }
            };
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        self.watchdog.lock().remove(&self.key);
    }
}

/// This thread's current interrupt, if a statement is running.
pub fn current() -> Option<Interrupt> {
    quorumdb_storage::cancel::current().map(Interrupt)
}

/// `Err(57014)` if the current statement has been cancelled.
pub fn check_current() -> Result<()> {
    if quorumdb_storage::cancel::current_is_tripped() {
        Err(current_error())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs a statement that spins until it is interrupted (a minute at
    /// most, so a broken timeout fails the test instead of hanging it).
    fn spin_until_interrupted(i: &Interrupt, timeout: Duration) -> Result<()> {
        statement(i, Some(timeout), || {
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(60) {
                check_current()?;
                std::thread::yield_now();
            }
            Ok(())
        })
    }

    #[test]
    fn a_statement_past_its_timeout_stops_with_57014() {
        let i = Interrupt::new();
        let err = spin_until_interrupted(&i, Duration::from_millis(20)).unwrap_err();
        assert_eq!(err.code, "57014");
        assert_eq!(err.message, "canceling statement due to statement timeout");
        // Forgotten once the statement is over.
        assert!(!i.is_tripped());
        // A client's cancel still says so.
        i.trip();
        assert_eq!(
            i.check().unwrap_err().message,
            "canceling statement due to user request"
        );
    }

    #[test]
    fn a_deadline_is_disarmed_when_its_statement_ends() {
        let quick = Interrupt::new();
        statement(&quick, Some(Duration::from_millis(5)), || Ok(())).unwrap();
        // The watchdog trips deadlines in order: once a later one has
        // fired, the quick statement's would have too, were it armed.
        let slow = Interrupt::new();
        assert!(spin_until_interrupted(&slow, Duration::from_millis(30)).is_err());
        assert!(!quick.is_tripped());
    }

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
