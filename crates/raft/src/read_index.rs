//! Read-index batching: concurrent requests for a linearizable read index
//! share one round.
//!
//! Confirming leadership costs a heartbeat round to a quorum (on the leader)
//! or a gRPC call to the leader (on a follower). Without batching, N
//! transactions starting together cost N rounds. Here a request joins the
//! queue; one driver task at a time takes *everything queued so far* and runs
//! one round for all of it, then repeats while requests keep arriving.
//!
//! Why it stays linearizable: a request is only answered by a round that
//! *started after the request was queued* (the driver takes the queue before
//! starting the round), so the index covers every commit acknowledged before
//! the request was made. Failures are handed to every request of the round;
//! callers decide whether to retry.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

/// The lowest read index a leader may hand out in the term it restarted in.
///
/// openraft 0.9 lets a node that led term `T`, crashed and restarted before
/// anyone else was elected lead `T` again at once, *without* a new blank
/// entry; its commit index then starts at its state machine's applied index
/// (the commit index is not persisted, and the state machine is flushed
/// lazily). Entries it committed and acknowledged before the crash are in
/// its log but above that index, so `ensure_linearizable` alone could return
/// an index that misses acknowledged commits: a stale read, which the chaos
/// suite caught (docs/jepsen.md). Raft's rule is that a leader serves reads
/// only once its commit index covers its log as of taking office. So in the
/// term it restarted in, a node never answers below the last index its log
/// held at startup; waiting for that index to be applied waits until it is
/// committed. In any later term a blank entry of the new term does the job.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadFloor {
    /// The term of the vote stored at startup.
    pub term: u64,
    /// The last log index at startup (0 for an empty log).
    pub index: u64,
}

impl ReadFloor {
    /// `index` raised to the floor while the node is still in its startup term.
    pub fn apply(&self, current_term: u64, index: u64) -> u64 {
        if current_term == self.term {
            index.max(self.index)
        } else {
            index
        }
    }
}
use tokio::sync::oneshot;

type Fetch = dyn Fn() -> BoxFuture<'static, Result<u64, String>> + Send + Sync;

pub struct ReadIndexBatcher {
    fetch: Arc<Fetch>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    waiting: Vec<oneshot::Sender<Result<u64, String>>>,
    driving: bool,
}

impl ReadIndexBatcher {
    /// `fetch` runs one round and returns the read index.
    pub fn new(
        fetch: impl Fn() -> BoxFuture<'static, Result<u64, String>> + Send + Sync + 'static,
    ) -> Arc<Self> {
        Arc::new(Self {
            fetch: Arc::new(fetch),
            state: Mutex::default(),
        })
    }

    /// A read index from a round that started after this call.
    pub async fn read_index(self: &Arc<Self>) -> Result<u64, String> {
        let (tx, rx) = oneshot::channel();
        let start_driver = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.waiting.push(tx);
            !std::mem::replace(&mut state.driving, true)
        };
        if start_driver {
            tokio::spawn(self.clone().drive());
        }
        rx.await
            .map_err(|_| "the read-index driver stopped".to_string())?
    }

    async fn drive(self: Arc<Self>) {
        loop {
            let batch = {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if state.waiting.is_empty() {
                    state.driving = false;
                    return;
                }
                std::mem::take(&mut state.waiting)
            };
            let result = (self.fetch)().await;
            for waiter in batch {
                let _ = waiter.send(result.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_floor_holds_only_in_the_startup_term() {
        let floor = ReadFloor { term: 3, index: 1229 };
        assert_eq!(floor.apply(3, 1227), 1229, "restarted leader, same term");
        assert_eq!(floor.apply(3, 1300), 1300);
        assert_eq!(
            floor.apply(4, 1227),
            1227,
            "a newer term commits a blank entry first"
        );
        assert_eq!(ReadFloor::default().apply(0, 5), 5);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_rounds_and_each_round_starts_after_its_requests() {
        let rounds = Arc::new(AtomicU64::new(0));
        let counter = rounds.clone();
        // Each round returns its own number, after a while.
        let batcher = ReadIndexBatcher::new(move || {
            let counter = counter.clone();
            Box::pin(async move {
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok(n)
            })
        });
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let b = batcher.clone();
            // A request made after round r started must be answered by a
            // round numbered above r.
            let started_before = rounds.load(Ordering::SeqCst);
            tasks.push(tokio::spawn(
                async move { (started_before, b.read_index().await) },
            ));
        }
        for task in tasks {
            let (before, got) = task.await.unwrap();
            assert!(got.unwrap() > before);
        }
        let used = rounds.load(Ordering::SeqCst);
        assert!(used <= 8, "64 concurrent requests took {used} rounds");
    }
}
