//! Commit batching on the leader: concurrent commits share Raft entries.
//!
//! openraft 0.9 appends (and fsyncs) every client write on its core task one
//! at a time, so one transaction per entry caps a node at one commit per
//! disk sync. Here commits join a queue; a proposal takes everything queued
//! and proposes it as one entry (`Request::Commits`), with up to
//! [`MAX_IN_FLIGHT`] proposals outstanding so appends, replication and apply
//! overlap. The state machine validates the commits of an entry in order, so
//! the batch is serialised exactly as if its commits had been proposed one
//! after another.
//!
//! Outcomes are passed through exactly: an entry openraft says was never
//! proposed (or was truncated) is `NotLeader` for every commit in it (safe to
//! send elsewhere); any other failure is `Unknown` for every commit in it.

use std::sync::{Arc, Mutex};

use quorumdb_storage::Commit;
use tokio::sync::oneshot;

use crate::admin::ForwardResult;
use crate::types::{Raft, Request, Response};

/// Proposals outstanding at once.
pub const MAX_IN_FLIGHT: usize = 1;
/// Commits per entry at most (bounds entry size and apply latency).
pub const MAX_BATCH: usize = 256;

pub struct CommitBatcher {
    raft: Raft,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queue: Vec<(Commit, oneshot::Sender<ForwardResult>)>,
    in_flight: usize,
}

impl CommitBatcher {
    pub fn new(raft: Raft) -> Arc<Self> {
        Arc::new(Self {
            raft,
            state: Mutex::default(),
        })
    }

    /// Proposes `commit` (with whatever else is queued) on this node, which
    /// believes it leads, and waits for its outcome.
    pub async fn propose(self: &Arc<Self>, commit: Commit) -> ForwardResult {
        let (tx, rx) = oneshot::channel();
        let start = {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.queue.push((commit, tx));
            if state.in_flight < MAX_IN_FLIGHT {
                state.in_flight += 1;
                true
            } else {
                false
            }
        };
        if start {
            tokio::spawn(self.clone().drive());
        }
        rx.await
            .unwrap_or_else(|_| ForwardResult::Unknown("the commit batcher stopped".into()))
    }

    /// Proposes batches until the queue is empty.
    async fn drive(self: Arc<Self>) {
        loop {
            let batch: Vec<_> = {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                if state.queue.is_empty() {
                    state.in_flight -= 1;
                    return;
                }
                let n = state.queue.len().min(MAX_BATCH);
                state.queue.drain(..n).collect()
            };
            let (commits, waiters): (Vec<Commit>, Vec<_>) = batch.into_iter().unzip();
            let results = self.propose_batch(commits).await;
            for (waiter, result) in waiters.into_iter().zip(results) {
                let _ = waiter.send(result);
            }
        }
    }

    async fn propose_batch(&self, commits: Vec<Commit>) -> Vec<ForwardResult> {
        let n = commits.len();
        let all = |r: ForwardResult| vec![r; n];
        match self.raft.client_write(Request::Commits(commits)).await {
            Ok(resp) => match resp.data {
                Response::Commits(outcomes) if outcomes.len() == n => outcomes
                    .into_iter()
                    .map(|outcome| ForwardResult::Applied {
                        version: resp.log_id.index,
                        outcome,
                    })
                    .collect(),
                other => all(ForwardResult::Unknown(format!(
                    "the state machine answered {other:?} for {n} commits"
                ))),
            },
            Err(openraft::error::RaftError::APIError(
                openraft::error::ClientWriteError::ForwardToLeader(f),
            )) => all(ForwardResult::NotLeader { leader: f.leader_id }),
            Err(e) => all(ForwardResult::Unknown(e.to_string())),
        }
    }
}
