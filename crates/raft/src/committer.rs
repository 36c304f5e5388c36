//! The replicated [`Committer`]: how a gateway node turns a transaction into
//! a Raft log entry, and where new transactions read.
//!
//! **Read version** (linearizable): on the leader, confirm leadership with a
//! quorum (openraft's `ensure_linearizable`, which also waits until the read
//! index is applied) and read at the local applied version. On a follower,
//! ask the leader for its read index, then wait until the local state
//! machine has applied it. Either way, every commit acknowledged before the
//! call is visible at the returned version.
//!
//! **Commit**: on the leader, propose the commit; on a follower, forward it
//! to the leader's admin service. The entry is validated at apply on every
//! replica. The gateway answers only once the commit is applied *locally*
//! too, so the client's next transaction on this node sees it.
//!
//! **Retries are only taken where provably safe**: "not the leader" means
//! nothing was proposed (or the entry was truncated, which a committed entry
//! never is), and a connection that could not be established carried
//! nothing. Every other failure after a proposal may or may not have
//! committed: it is [`Error::OutcomeUnknown`] (SQLSTATE 40003), never
//! retried. With no leader, callers get [`Error::Unavailable`] after a
//! bounded wait instead of hanging.
//!
//! The trait is synchronous (the SQL executor is); calls block the calling
//! thread on the node's tokio runtime and must not be made from inside an
//! async task.

use std::time::{Duration, Instant};

use quorumdb_storage::{Commit, Committer, Error, Mvcc, Result, Version};
use tokio::runtime::Handle;

use crate::admin::{self, COMMIT_TIMEOUT, ForwardResult};
use crate::network::Channels;
use crate::pb::admin::{CommitRequest, ReadIndexRequest};
use crate::types::{NodeId, Raft};

/// How long to wait for a leader before giving up with `Unavailable`.
pub const LEADER_WAIT: Duration = Duration::from_secs(10);

pub struct RaftCommitter {
    id: NodeId,
    raft: Raft,
    mvcc: Mvcc,
    channels: Channels,
    runtime: Handle,
}

impl RaftCommitter {
    pub fn new(id: NodeId, raft: Raft, mvcc: Mvcc, channels: Channels, runtime: Handle) -> Self {
        Self {
            id,
            raft,
            mvcc,
            channels,
            runtime,
        }
    }

    /// Runs `fut` on the node's runtime and waits for it from this thread.
    fn block_on<T: Send + 'static>(&self, fut: impl Future<Output = T> + Send + 'static) -> Result<T> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.runtime.spawn(async move {
            let _ = tx.send(fut.await);
        });
        rx.recv()
            .map_err(|_| Error::Unavailable("the node is shutting down".into()))
    }

    /// Waits until a leader is known; `None` after [`LEADER_WAIT`].
    async fn wait_for_leader(raft: &Raft, deadline: Instant) -> Option<(NodeId, crate::types::Node)> {
        loop {
            if let Some(leader) = admin::leader(raft) {
                return Some(leader);
            }
            if Instant::now() >= deadline {
                return None;
            }
            let mut metrics = raft.metrics();
            let _ = tokio::time::timeout(Duration::from_millis(200), metrics.changed()).await;
        }
    }

    async fn wait_applied(raft: &Raft, mvcc: &Mvcc, index: Version) -> Result<()> {
        if mvcc.applied() >= index {
            return Ok(());
        }
        raft.wait(Some(COMMIT_TIMEOUT))
            .applied_index_at_least(Some(index), "local apply")
            .await
            .map(|_| ())
            .map_err(|e| Error::Unavailable(format!("this node did not catch up to index {index}: {e}")))
    }

    async fn read_version_async(id: NodeId, raft: Raft, mvcc: Mvcc, channels: Channels) -> Result<Version> {
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            let Some((leader, node)) = Self::wait_for_leader(&raft, deadline).await else {
                return Err(Error::Unavailable("no leader: the cluster has no quorum".into()));
            };
            let index = if leader == id {
                match raft.ensure_linearizable().await {
                    Ok(log_id) => log_id.map(|l| l.index).unwrap_or(0),
                    Err(e) => {
                        tracing::debug!("linearizable read on the leader failed: {e}");
                        Self::pause_or_give_up(deadline, &e.to_string()).await?;
                        continue;
                    }
                }
            } else {
                let mut client = admin::client(&channels, leader, &node).map_err(Error::Unavailable)?;
                let mut request = tonic::Request::new(ReadIndexRequest {});
                request.set_timeout(COMMIT_TIMEOUT);
                match client.read_index(request).await {
                    Ok(reply) if reply.get_ref().error.is_empty() => reply.into_inner().index,
                    Ok(reply) => {
                        Self::pause_or_give_up(deadline, &reply.into_inner().error).await?;
                        continue;
                    }
                    Err(status) => {
                        Self::pause_or_give_up(deadline, status.message()).await?;
                        continue;
                    }
                }
            };
            Self::wait_applied(&raft, &mvcc, index).await?;
            return Ok(mvcc.applied().max(index));
        }
    }

    async fn pause_or_give_up(deadline: Instant, why: &str) -> Result<()> {
        if Instant::now() >= deadline {
            return Err(Error::Unavailable(format!("no linearizable read index: {why}")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        Ok(())
    }

    async fn commit_async(
        id: NodeId,
        raft: Raft,
        mvcc: Mvcc,
        channels: Channels,
        commit: Commit,
    ) -> Result<Version> {
        let deadline = Instant::now() + LEADER_WAIT;
        let read_version = commit.read_version;
        loop {
            let Some((leader, node)) = Self::wait_for_leader(&raft, deadline).await else {
                return Err(Error::Unavailable(
                    "no leader: the cluster has no quorum; nothing was committed".into(),
                ));
            };
            let result = if leader == id {
                match tokio::time::timeout(COMMIT_TIMEOUT, admin::propose(&raft, commit.clone())).await {
                    Ok(result) => result,
                    Err(_) => {
                        ForwardResult::Unknown(format!("no answer from Raft within {COMMIT_TIMEOUT:?}"))
                    }
                }
            } else {
                let mut client = admin::client(&channels, leader, &node).map_err(Error::Unavailable)?;
                let bytes = postcard::to_stdvec(&commit).map_err(|e| Error::Unavailable(e.to_string()))?;
                let mut request = tonic::Request::new(CommitRequest { commit: bytes.into() });
                request.set_timeout(COMMIT_TIMEOUT);
                match client.commit(request).await {
                    Ok(reply) => postcard::from_bytes(&reply.into_inner().result).unwrap_or_else(|e| {
                        ForwardResult::Unknown(format!("undecodable reply from the leader: {e}"))
                    }),
                    // The connection was never made: nothing was sent.
                    Err(status) if is_connect_failure(&status) => ForwardResult::NotLeader { leader: None },
                    Err(status) => ForwardResult::Unknown(format!("leader {leader}: {}", status.message())),
                }
            };
            match result {
                ForwardResult::Applied { version, outcome } => {
                    let version = outcome.into_result(version, read_version)?;
                    Self::wait_applied(&raft, &mvcc, version).await?;
                    return Ok(version);
                }
                ForwardResult::NotLeader { .. } => {
                    if Instant::now() >= deadline {
                        return Err(Error::Unavailable(
                            "leadership kept changing; nothing was committed".into(),
                        ));
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                ForwardResult::Unknown(why) => return Err(Error::OutcomeUnknown(why)),
            }
        }
    }
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
        let fut = Self::read_version_async(
            self.id,
            self.raft.clone(),
            self.mvcc.clone(),
            self.channels.clone(),
        );
        self.block_on(fut)?
    }

    fn commit(&self, commit: Commit) -> Result<Version> {
        let fut = Self::commit_async(
            self.id,
            self.raft.clone(),
            self.mvcc.clone(),
            self.channels.clone(),
            commit,
        );
        self.block_on(fut)?
    }
}
