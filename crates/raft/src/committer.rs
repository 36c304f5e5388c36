//! The replicated [`Committer`]: how a gateway node turns a transaction into
//! a Raft log entry, and where new transactions read.
//!
//! **Read version** (linearizable): on the leader, its commit index if it
//! holds a [`LeaderLease`] (no network round), else confirm leadership with a
//! quorum (openraft's `ensure_linearizable`); then read at the local applied
//! version once that index is applied. On a follower,
//! ask the leader for its read index, then wait until the local state
//! machine has applied it. Either way, every commit acknowledged before the
//! call is visible at the returned version.
//!
//! **Commit**: on the leader, propose the commit through the
//! [`CommitBatcher`] (concurrent commits share entries); on a follower,
//! forward it to the leader's admin service, which does the same (over the
//! follower's one commit stream, [`crate::forward`], or a unary call when
//! that cannot be used). The entry is validated at apply on every replica.
//! The gateway answers only once the commit is applied *locally* too, so
//! the client's next transaction on this node sees it (if the local apply
//! takes longer than [`COMMIT_TIMEOUT`], it answers anyway, the commit
//! being done, and no transaction here starts below it until it is
//! applied).
//!
//! **Retries are only taken where provably safe**: "not the leader" means
//! nothing was proposed (or the entry was truncated, which a committed entry
//! never is), and a connection that could not be established carried
//! nothing. Every other failure after a proposal may or may not have
//! committed: it is [`Error::OutcomeUnknown`] (SQLSTATE 40003), never
//! retried. With no leader, callers get [`Error::Unavailable`] after a
//! bounded wait instead of hanging.
//!
//! **Cancelling** (a statement's flag, [`quorumdb_storage::cancel`]) ends a
//! read-version wait at any point, and a commit's wait only while nothing
//! has been proposed (waiting for a leader, or after "not the leader"):
//! then [`Error::Canceled`] means nothing was committed. Once handed on, a
//! commit runs to its outcome.
//!
//! The trait is synchronous (the SQL executor is): a call blocks its thread
//! while futures on the node's runtime do the work. It must never be made
//! on a worker of the node's runtime (that worker could be the one the
//! answer needs). A connection's own thread, inside its own single-threaded
//! runtime, is fine: see `block_on_in`.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quorumdb_storage::cancel;
use quorumdb_storage::fault::{self, Switch};
use quorumdb_storage::{Commit, Committer, Error, Mvcc, Result, Version};
use tokio::runtime::Handle;

use std::sync::Arc;

use crate::admin::{self, COMMIT_TIMEOUT, ForwardResult};
use crate::applied::AppliedWaiters;
use crate::commit_batch::CommitBatcher;
use crate::forward::Forwarder;
use crate::lease::LeaderLease;
use crate::network::Channels;
use crate::pb::admin::{CommitRequest, ReadIndexRequest};
use crate::read_index::{ReadFloor, ReadIndexBatcher};
use crate::types::{NodeId, Raft};

/// How long to wait for a leader before giving up with `Unavailable`.
pub const LEADER_WAIT: Duration = Duration::from_secs(10);

/// Built by [`crate::node::RaftNode::start`], which owns the parts.
pub struct RaftCommitter {
    pub(crate) id: NodeId,
    pub(crate) raft: Raft,
    pub(crate) mvcc: Mvcc,
    pub(crate) channels: Channels,
    /// The node's runtime, where the futures of blocking calls run.
    pub(crate) runtime: Handle,
    pub(crate) read_index: Arc<ReadIndexBatcher>,
    pub(crate) commits: Arc<CommitBatcher>,
    pub(crate) forwarder: Arc<Forwarder>,
    pub(crate) applied: Arc<AppliedWaiters>,
    /// The newest version this node acknowledged as committed before it
    /// was applied here (the local apply took too long). Until it is
    /// applied, transactions do not start at the local applied version
    /// (see `provisional_version`).
    pub(crate) acked: AtomicU64,
}

/// What a commit needs, cloned into its task.
struct CommitCtx {
    id: NodeId,
    raft: Raft,
    channels: Channels,
    commits: Arc<CommitBatcher>,
    forwarder: Arc<Forwarder>,
    /// Set just before the commit is first handed to Raft or the leader:
    /// before that, a failure means nothing was committed.
    sent: Arc<AtomicBool>,
    /// The statement's cancel flag: honoured only while nothing is proposed.
    cancel: Option<Arc<cancel::Flag>>,
}

impl RaftCommitter {
    fn block_on<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> Option<T> {
        block_on_in(&self.runtime, fut)
    }

    /// Waits until a leader is known; `None` after [`LEADER_WAIT`].
    async fn wait_for_leader(raft: &Raft, deadline: Instant) -> Option<(NodeId, crate::types::Node)> {
        // A clone of openraft's receiver starts out "changed" (the original
        // never marks a value seen), so mark each value seen before looking:
        // `changed` then sleeps until the metrics really change, instead of
        // returning at once and spinning a thread until the deadline.
        let mut metrics = raft.metrics();
        loop {
            metrics.borrow_and_update();
            if let Some(leader) = admin::leader(raft) {
                return Some(leader);
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            if let Ok(Err(_)) = tokio::time::timeout(deadline - now, metrics.changed()).await {
                return None; // Raft has stopped: no leader is coming
            }
        }
    }

    async fn wait_applied(applied: &AppliedWaiters, mvcc: &Mvcc, index: Version) -> Result<()> {
        if mvcc.applied() >= index {
            return Ok(()); // no timer to set up
        }
        tokio::time::timeout(COMMIT_TIMEOUT, applied.wait(mvcc, index))
            .await
            .map_err(|_| {
                Error::Unavailable(format!(
                    "this node did not catch up to index {index} within {COMMIT_TIMEOUT:?} (it is at {})",
                    mvcc.applied()
                ))
            })
    }

    /// One read-index round: the leader's own (from its lease, or confirmed
    /// by a quorum), or the leader's read index over gRPC (on the commit
    /// stream, [`crate::forward`], or a unary call when that cannot be
    /// used). Used through the [`ReadIndexBatcher`]. On the leader, the
    /// index never falls below `floor` (see [`ReadFloor`]).
    pub async fn fetch_read_index(
        id: NodeId,
        raft: Raft,
        channels: Channels,
        floor: ReadFloor,
        lease: Arc<LeaderLease>,
        forwarder: Arc<Forwarder>,
    ) -> std::result::Result<u64, String> {
        let Some((leader, node)) = admin::leader(&raft) else {
            return Err("no leader known".into());
        };
        if leader == id {
            if let Some((term, index)) = Self::lease_read_index(id, &raft, &lease).await {
                lease.record(true);
                return Ok(floor.apply(term, index));
            }
            let index = raft
                .ensure_linearizable()
                .await
                .map(|log_id| log_id.map(|l| l.index).unwrap_or(0))
                .map_err(|e| e.to_string())?;
            lease.record(false);
            let term = raft.metrics().borrow().current_term;
            return Ok(floor.apply(term, index));
        }
        if let Some(answer) = forwarder.read_index(&channels, leader, &node).await {
            return answer;
        }
        let mut client = admin::client(&channels, leader, &node)?;
        let mut request = tonic::Request::new(ReadIndexRequest {});
        request.set_timeout(COMMIT_TIMEOUT);
        let reply = client
            .read_index(request)
            .await
            .map_err(|s| s.message().to_string())?
            .into_inner();
        if reply.error.is_empty() {
            Ok(reply.index)
        } else {
            Err(reply.error)
        }
    }

    /// The commit index, read without a network round, if this node leads
    /// under a lease and has committed an entry of its own term (see
    /// [`crate::lease`]); `None` means "ask a quorum". Returns the term too.
    async fn lease_read_index(id: NodeId, raft: &Raft, lease: &LeaderLease) -> Option<(u64, u64)> {
        // The vote and the commit index are read together first, the lease
        // checked after: a lease valid now was valid when the index was
        // read, and the leader had not voted for anyone else by then (it
        // would, after leading for a while; see crate::lease). Do not
        // reorder.
        let (vote, committed, voters) = raft
            .with_raft_state(|st| {
                let voters = st
                    .membership_state
                    .effective()
                    .membership()
                    .get_joint_config()
                    .clone();
                (*st.vote_ref(), st.committed, voters)
            })
            .await
            .ok()?;
        let committed = committed?;
        let leads = vote.is_committed() && vote.leader_id().voted_for() == Some(id);
        let own_term = committed.leader_id.term == vote.leader_id().term
            && committed.leader_id.node_id == vote.leader_id().node_id;
        (leads && own_term && lease.holds(&vote, &voters, Instant::now()))
            .then_some((vote.leader_id().term, committed.index))
    }

    async fn read_version_async(
        raft: Raft,
        mvcc: Mvcc,
        batcher: Arc<ReadIndexBatcher>,
        applied: Arc<AppliedWaiters>,
    ) -> Result<Version> {
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            if Self::wait_for_leader(&raft, deadline).await.is_none() {
                return Err(Error::Unavailable("no leader: the cluster has no quorum".into()));
            }
            // Each round is bounded where the batcher runs it (see `node`).
            match batcher.read_index().await {
                Ok(index) => {
                    Self::wait_applied(&applied, &mvcc, index).await?;
                    return Ok(mvcc.applied().max(index));
                }
                Err(why) => {
                    tracing::debug!("read index failed: {why}");
                    Self::pause_or_give_up(deadline, &why).await?;
                }
            }
        }
    }

    async fn pause_or_give_up(deadline: Instant, why: &str) -> Result<()> {
        if Instant::now() >= deadline {
            return Err(Error::Unavailable(format!("no linearizable read index: {why}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }

    /// One forwarded commit as a unary `Commit` call: when no commit stream
    /// could be used (see [`crate::forward`]).
    async fn forward_unary(
        channels: &Channels,
        leader: NodeId,
        node: &crate::types::Node,
        bytes: Vec<u8>,
    ) -> Result<ForwardResult> {
        let mut client = admin::client(channels, leader, node).map_err(Error::Unavailable)?;
        let mut request = tonic::Request::new(CommitRequest { commit: bytes.into() });
        request.set_timeout(COMMIT_TIMEOUT);
        Ok(match client.commit(request).await {
            Ok(reply) => postcard::from_bytes(&reply.into_inner().result).unwrap_or_else(|e| {
                ForwardResult::Unknown(format!("undecodable reply from the leader: {e}"))
            }),
            // The connection was never made: nothing was sent.
            Err(status) if is_connect_failure(&status) => ForwardResult::NotLeader { leader: None },
            Err(status) => ForwardResult::Unknown(format!("leader {leader}: {}", status.message())),
        })
    }

    async fn commit_async(ctx: CommitCtx, commit: Commit) -> Result<Version> {
        let CommitCtx {
            id,
            raft,
            channels,
            commits,
            forwarder,
            sent,
            cancel,
        } = ctx;
        let deadline = Instant::now() + LEADER_WAIT;
        let read_version = commit.read_version;
        loop {
            // Nothing is sent yet (first pass) or nothing was proposed (a
            // retry after "not the leader"): a cancel is safe here.
            let leader = tokio::select! {
                biased;
                leader = Self::wait_for_leader(&raft, deadline) => leader,
                () = cancel::tripped(cancel.clone()) => return Err(Error::Canceled),
            };
            let Some((leader, node)) = leader else {
                return Err(Error::Unavailable(
                    "no leader: the cluster has no quorum; nothing was committed".into(),
                ));
            };
            if cancel.as_ref().is_some_and(|c| c.is_tripped()) {
                return Err(Error::Canceled);
            }
            sent.store(true, Ordering::Release);
            let result = if leader == id {
                match tokio::time::timeout(COMMIT_TIMEOUT, commits.propose(commit.clone())).await {
                    Ok(result) => result,
                    Err(_) => {
                        ForwardResult::Unknown(format!("no answer from Raft within {COMMIT_TIMEOUT:?}"))
                    }
                }
            } else {
                let bytes = postcard::to_stdvec(&commit).map_err(|e| Error::Unavailable(e.to_string()))?;
                match forwarder.forward(&channels, leader, &node, &bytes).await {
                    Some(result) => result,
                    None => Self::forward_unary(&channels, leader, &node, bytes).await?,
                }
            };
            match result {
                ForwardResult::Applied { version, outcome } => {
                    return outcome.into_result(version, read_version);
                }
                ForwardResult::NotLeader { .. } => {
                    if Instant::now() >= deadline {
                        return Err(Error::Unavailable(
                            "leadership kept changing; nothing was committed".into(),
                        ));
                    }
                    // Nothing was proposed: a cancel is still safe.
                    tokio::select! {
                        biased;
                        () = tokio::time::sleep(Duration::from_millis(50)) => {}
                        () = cancel::tripped(cancel.clone()) => return Err(Error::Canceled),
                    }
                }
                ForwardResult::Unknown(why) => return Err(Error::OutcomeUnknown(why)),
            }
        }
    }
}

/// Runs `fut` to completion on the calling thread, inside `runtime`'s
/// context so its timers, channels and gRPC clients work: the waker unparks
/// this thread directly, with no task or channel between. `None` if tokio
/// panicked, which its timers do once the runtime is shutting down.
///
/// The caller may itself be inside another runtime's `block_on` (a
/// connection's thread runs one, see `quorumdb_server::pgwire`): tokio's
/// cooperative budget of *that* task would then be spent by `fut`'s
/// channels and timers, and once it ran out they would answer "not yet"
/// and leave their wake-up to the outer runtime, which cannot run while
/// this thread blocks here: a hang. So `fut` runs unconstrained.
fn block_on_in<T>(runtime: &Handle, fut: impl Future<Output = T>) -> Option<T> {
    let _context = runtime.enter();
    let fut = tokio::task::unconstrained(fut);
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| futures::executor::block_on(fut))).ok()
}

/// True when tonic could not connect at all, so the request was never sent.
fn is_connect_failure(status: &tonic::Status) -> bool {
    status.code() == tonic::Code::Unavailable
        && [
            "tcp connect error",
            "error trying to connect",
            "Connection refused",
        ]
        .iter()
        .any(|m| status.message().contains(m))
}

impl Committer for RaftCommitter {
    fn read_version(&self) -> Result<Version> {
        // fault-injection hook: test builds only, see quorumdb_storage::fault.
        if fault::enabled(Switch::StaleReads) {
            return Ok(self.mvcc.applied());
        }
        let read = Self::read_version_async(
            self.raft.clone(),
            self.mvcc.clone(),
            self.read_index.clone(),
            self.applied.clone(),
        );
        // Reading changes nothing: a cancel may end any part of the wait.
        let cancel = cancel::current();
        let fut = async move {
            tokio::select! {
                biased;
                version = read => version,
                () = cancel::tripped(cancel) => Err(Error::Canceled),
            }
        };
        self.block_on(fut)
            .unwrap_or_else(|| Err(Error::Unavailable("the node is shutting down".into())))
    }

    /// The locally applied version: no read-index round. Safe because a
    /// transaction started here is validated (at apply if it writes, by
    /// confirming its reads against a read index if it does not).
    fn provisional_version(&self) -> Option<Version> {
        // Not below a commit this node acknowledged: its client may look at
        // once (describing a statement after DDL reads the catalog here).
        let applied = self.mvcc.applied();
        (applied >= self.acked.load(Ordering::Acquire)).then_some(applied)
    }

    fn commit(&self, commit: Commit) -> Result<Version> {
        let sent = Arc::new(AtomicBool::new(false));
        let ctx = CommitCtx {
            id: self.id,
            raft: self.raft.clone(),
            channels: self.channels.clone(),
            commits: self.commits.clone(),
            forwarder: self.forwarder.clone(),
            sent: sent.clone(),
            cancel: cancel::current(),
        };
        let version = self
            .block_on(Self::commit_async(ctx, commit))
            .unwrap_or_else(|| {
                // The node is stopping (tokio panicked). Once sent, the commit
                // may be with the leader.
                Err(if sent.load(Ordering::Acquire) {
                    Error::OutcomeUnknown(
                        "the node shut down while committing; the transaction may or may not have committed"
                            .into(),
                    )
                } else {
                    Error::Unavailable("the node is shutting down; nothing was committed".into())
                })
            })?;
        // Committed. Answer once this node shows it too, so the client's
        // next transaction here sees it; if that takes too long, answer
        // anyway (the commit stands) and keep provisional starts at or
        // above it until it is applied (`acked`; set only then, so other
        // sessions' provisional starts are not held up by every commit).
        // (On the leader it always is already: openraft answers a write
        // once applied.)
        if self.mvcc.applied() >= version {
            return Ok(version);
        }
        let (applied, mvcc) = (self.applied.clone(), self.mvcc.clone());
        let waited = self.block_on(async move { Self::wait_applied(&applied, &mvcc, version).await });
        if !matches!(waited, Some(Ok(()))) {
            self.acked.fetch_max(version, Ordering::AcqRel);
            tracing::warn!(version, "committed, but not yet applied on this node");
        }
        Ok(version)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    /// A connection thread runs statements inside its own runtime's
    /// `block_on`, and a statement may wait on the node's runtime after the
    /// connection's task has spent its cooperative budget (pipelined
    /// statements, a long wait for a leader). The wait must still end.
    #[test]
    fn a_wait_ends_even_when_the_callers_runtime_budget_is_spent() {
        let node = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let handle = node.handle().clone();
        let (finished, done) = mpsc::channel();
        std::thread::spawn(move || {
            let connection = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            connection.block_on(async move {
                // Spend the task's budget on operations that complete at once.
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                for i in 0..1_000 {
                    tx.send(i).unwrap();
                    rx.recv().await.unwrap();
                }
                // Then block on timers and channels of the node's runtime.
                let waited = block_on_in(&handle, async {
                    for _ in 0..20 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                        let (tx, rx) = tokio::sync::oneshot::channel();
                        tokio::spawn(async move { tx.send(7).unwrap() });
                        assert_eq!(rx.await.unwrap(), 7);
                    }
                    "done"
                });
                finished.send(waited).unwrap();
            });
        });
        let waited = done
            .recv_timeout(Duration::from_secs(30))
            .expect("the wait hung on the exhausted budget");
        assert_eq!(waited, Some("done"));
    }
}
