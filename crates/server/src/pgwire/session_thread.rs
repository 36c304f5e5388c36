//! A connection's own thread for running its SQL.
//!
//! The SQL layer is synchronous (a commit blocks until Raft answers), so a
//! statement must not run on the async runtime. tokio's `spawn_blocking`
//! would do, but its pool is one mutex and one condition variable shared by
//! every blocking task of the process: with a statement per client round
//! trip, profiles showed that lock's contention and wake-ups at several
//! percent of a node's CPU. Here each connection gets one thread, started on
//! its first statement, that runs that connection's jobs in order; handing
//! a job over is a channel send and at most one thread wake-up.
//!
//! Invariants: jobs of one connection never run concurrently (they are the
//! session's statements, serialised by the session's lock anyway); the
//! thread ends when the connection's handler is dropped (its sender goes);
//! a job that panics fails only its own statement. If the thread cannot be
//! started (the process is out of threads), jobs fall back to
//! `spawn_blocking`.
//!
//! Not here: a cap on threads. There is one per open connection, as in
//! PostgreSQL's process per connection; the server's connection limit
//! bounds them.

use std::sync::OnceLock;
use std::sync::mpsc;

type Job = Box<dyn FnOnce() + Send>;

#[derive(Default)]
pub struct SessionThread {
    /// Set on first use: the thread's job queue, or `None` if the thread
    /// could not be started.
    jobs: OnceLock<Option<mpsc::Sender<Job>>>,
}

impl SessionThread {
    fn jobs(&self) -> Option<&mpsc::Sender<Job>> {
        self.jobs
            .get_or_init(|| {
                let (sender, receiver) = mpsc::channel::<Job>();
                let started = std::thread::Builder::new()
                    .name("quorumdb-session".into())
                    .spawn(move || {
                        while let Ok(job) = receiver.recv() {
                            // A panic fails this job (its reply is dropped),
                            // not the connection's later statements.
                            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                        }
                    });
                match started {
                    Ok(_) => Some(sender),
                    Err(e) => {
                        tracing::warn!("cannot start a session thread ({e}); using the blocking pool");
                        None
                    }
                }
            })
            .as_ref()
    }

    /// Runs `f` on this connection's thread and waits for its result. An
    /// `Err` means the job did not finish (it panicked).
    pub async fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T, String> {
        let (reply, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = reply.send(f());
        });
        let job = match self.jobs() {
            Some(jobs) => match jobs.send(job) {
                Ok(()) => return result.await.map_err(|_| "the statement panicked".to_string()),
                // The thread is gone (it cannot be while we hold the
                // sender, short of a bug): run the job elsewhere.
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        tokio::task::spawn_blocking(job)
            .await
            .map_err(|e| format!("statement task failed: {e}"))?;
        result.await.map_err(|_| "the statement panicked".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn jobs_run_in_order_on_one_thread_and_a_panic_fails_only_its_job() {
        let thread = SessionThread::default();
        let first = thread.run(|| std::thread::current().id()).await.unwrap();
        let panicked = thread.run(|| -> u32 { panic!("a bad statement") }).await;
        assert!(panicked.is_err());
        let mut seen = Vec::new();
        for i in 0..50 {
            let (id, i) = thread
                .run(move || (std::thread::current().id(), i))
                .await
                .unwrap();
            assert_eq!(id, first, "every job runs on the connection's thread");
            seen.push(i);
        }
        assert_eq!(seen, (0..50).collect::<Vec<_>>());
        assert_ne!(first, std::thread::current().id());
    }
}
