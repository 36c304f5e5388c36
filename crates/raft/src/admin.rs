//! The admin gRPC service: commit forwarding, read indexes, status and
//! membership changes.
//!
//! Followers call the leader's `CommitStream` for commits and read
//! indexes (`Commit` and `ReadIndex` when no stream can be used);
//! operators and joining nodes call any node's `Status`, `AddNode` and
//! `RemoveNode` (a follower passes membership changes on to the leader).
//!
//! `Commit` on the leader proposes the commit and answers once it is applied
//! there. Its [`ForwardResult`] says exactly what is known: committed (with
//! the version), aborted by validation, not the leader (nothing was
//! proposed, so the caller may safely try the real leader), or unknown (the
//! entry may or may not commit: never retried).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use openraft::ChangeMembers;
use quorumdb_storage::{ApplyOutcome, Commit, Version};
use serde::{Deserialize, Serialize};

use crate::commit_batch::CommitBatcher;
use crate::network::{Channels, MAX_MESSAGE};
use crate::pb::admin::admin_client::AdminClient;
use crate::pb::admin::admin_server::{Admin, AdminServer};
use crate::pb::admin::{
    AddNodeReply, AddNodeRequest, CommitReply, CommitRequest, Member, ReadIndexReply, ReadIndexRequest,
    RemoveNodeReply, RemoveNodeRequest, StatusReply, StatusRequest, StreamedCommit, StreamedCommitReply,
};
use crate::read_index::ReadIndexBatcher;
use crate::types::{Node, NodeId, Raft};

/// A read index if this node leads (one batched round for all callers,
/// see [`ReadIndexBatcher`]), else the leader it knows. What `ReadIndex`
/// and a read-index request on `CommitStream` answer.
async fn read_index_here(id: NodeId, raft: &Raft, read_index: &Arc<ReadIndexBatcher>) -> ReadIndexReply {
    let leader = leader(raft).map(|(leader, _)| leader);
    if leader != Some(id) {
        return ReadIndexReply {
            index: 0,
            leader_id: leader,
            error: format!("node {id} is not the leader"),
        };
    }
    match read_index.read_index().await {
        Ok(index) => ReadIndexReply {
            index,
            leader_id: Some(id),
            error: String::new(),
        },
        Err(error) => ReadIndexReply {
            index: 0,
            leader_id: None,
            error,
        },
    }
}

/// The answer to a forwarded commit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ForwardResult {
    /// Validated and applied on the leader at this version.
    Applied { version: Version, outcome: ApplyOutcome },
    /// This node is not the leader; nothing was proposed.
    NotLeader { leader: Option<NodeId> },
    /// Proposed, but whether it commits is unknown.
    Unknown(String),
}

/// Proposes `commit` if this node leads, else says who does (nothing is
/// proposed then). What `Commit` and `CommitStream` answer.
async fn propose_here(
    id: NodeId,
    raft: &Raft,
    commits: &Arc<CommitBatcher>,
    commit: Commit,
) -> ForwardResult {
    // A node shutting down proposes nothing (an open commit stream can
    // outlive its gRPC server): say so, and the caller finds the next leader.
    if raft.metrics().borrow().state == openraft::ServerState::Shutdown {
        return ForwardResult::NotLeader { leader: None };
    }
    match leader(raft) {
        Some((leader, _)) if leader == id => commits.propose(commit).await,
        other => ForwardResult::NotLeader {
            leader: other.map(|(id, _)| id),
        },
    }
}

/// An admin client for `node`, over the shared channel cache.
pub fn client(
    channels: &Channels,
    id: NodeId,
    node: &Node,
) -> Result<AdminClient<tonic::transport::Channel>, String> {
    let channel = channels
        .get(id, &node.addr)
        .map_err(|e| format!("bad address {:?}: {e}", node.addr))?;
    Ok(AdminClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE))
}

/// The leader as this node knows it, with its address.
pub fn leader(raft: &Raft) -> Option<(NodeId, Node)> {
    let metrics = raft.metrics().borrow().clone();
    let id = metrics.current_leader?;
    let node = metrics.membership_config.membership().get_node(&id)?.clone();
    Some((id, node))
}

pub struct AdminService {
    id: NodeId,
    raft: Raft,
    channels: Channels,
    committed: Arc<AtomicU64>,
    read_index: Arc<ReadIndexBatcher>,
    commits: Arc<CommitBatcher>,
}

impl AdminService {
    pub fn server(
        id: NodeId,
        raft: Raft,
        channels: Channels,
        committed: Arc<AtomicU64>,
        read_index: Arc<ReadIndexBatcher>,
        commits: Arc<CommitBatcher>,
    ) -> AdminServer<Self> {
        AdminServer::new(Self {
            id,
            raft,
            channels,
            committed,
            read_index,
            commits,
        })
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE)
    }

    /// Runs a membership change here if we lead, else on the leader.
    async fn on_leader<T, F, Fut>(
        &self,
        here: F,
        forward: impl AsyncFnOnce(AdminClient<tonic::transport::Channel>) -> Result<T, tonic::Status>,
    ) -> Result<T, tonic::Status>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        match leader(&self.raft) {
            Some((id, _)) if id == self.id => here().await,
            Some((id, node)) => {
                let client = client(&self.channels, id, &node).map_err(tonic::Status::unavailable)?;
                forward(client).await
            }
            None => Err(tonic::Status::unavailable(
                "no leader is known right now; try again",
            )),
        }
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn commit(
        &self,
        request: tonic::Request<CommitRequest>,
    ) -> Result<tonic::Response<CommitReply>, tonic::Status> {
        let commit: Commit = postcard::from_bytes(&request.into_inner().commit)
            .map_err(|e| tonic::Status::invalid_argument(format!("undecodable commit: {e}")))?;
        let result = propose_here(self.id, &self.raft, &self.commits, commit).await;
        let bytes = postcard::to_stdvec(&result).map_err(|e| tonic::Status::internal(e.to_string()))?;
        Ok(tonic::Response::new(CommitReply { result: bytes.into() }))
    }

    type CommitStreamStream = std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<StreamedCommitReply, tonic::Status>> + Send + 'static>,
    >;

    /// Each commit on the stream is handled as `Commit` would handle it, in
    /// a task of its own, so one slow commit holds up no other; the reply
    /// stream ends once the follower's side has ended and every commit has
    /// been answered.
    async fn commit_stream(
        &self,
        request: tonic::Request<tonic::Streaming<StreamedCommit>>,
    ) -> Result<tonic::Response<Self::CommitStreamStream>, tonic::Status> {
        let mut incoming = request.into_inner();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let (id, raft, commits) = (self.id, self.raft.clone(), self.commits.clone());
        let read_index = self.read_index.clone();
        tokio::spawn(async move {
            while let Ok(Some(message)) = incoming.message().await {
                if message.read_index {
                    let (tx, raft, read_index) = (tx.clone(), raft.clone(), read_index.clone());
                    tokio::spawn(async move {
                        let reply = StreamedCommitReply {
                            id: message.id,
                            result: Default::default(),
                            read_index: Some(read_index_here(id, &raft, &read_index).await),
                        };
                        let _ = tx.send(Ok(reply));
                    });
                    continue;
                }
                let (tx, raft, commits) = (tx.clone(), raft.clone(), commits.clone());
                tokio::spawn(async move {
                    let result = match postcard::from_bytes::<Commit>(&message.commit) {
                        Ok(commit) => propose_here(id, &raft, &commits, commit).await,
                        // Nothing was proposed, but the sender cannot have
                        // meant that: as for `Commit`, the outcome is an error
                        // the client sees, never a retry.
                        Err(e) => ForwardResult::Unknown(format!("undecodable commit: {e}")),
                    };
                    let reply = postcard::to_stdvec(&result)
                        .map(|bytes| StreamedCommitReply {
                            id: message.id,
                            result: bytes.into(),
                            read_index: None,
                        })
                        .map_err(|e| tonic::Status::internal(e.to_string()));
                    let _ = tx.send(reply);
                });
            }
        });
        let replies = tokio_stream::wrappers::UnboundedReceiverStream::new(rx);
        Ok(tonic::Response::new(Box::pin(replies)))
    }

    async fn read_index(
        &self,
        _: tonic::Request<ReadIndexRequest>,
    ) -> Result<tonic::Response<ReadIndexReply>, tonic::Status> {
        let reply = read_index_here(self.id, &self.raft, &self.read_index).await;
        Ok(tonic::Response::new(reply))
    }

    async fn status(
        &self,
        _: tonic::Request<StatusRequest>,
    ) -> Result<tonic::Response<StatusReply>, tonic::Status> {
        let m = self.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership();
        let voters: BTreeSet<NodeId> = membership.voter_ids().collect();
        let matched = |id: &NodeId| -> Option<u64> {
            let replication = m.replication.as_ref()?;
            replication.get(id).map(|l| l.map(|l| l.index).unwrap_or(0))
        };
        let members = membership
            .nodes()
            .map(|(id, node)| Member {
                id: *id,
                grpc_addr: node.addr.clone(),
                voter: voters.contains(id),
                matched_index: matched(id),
            })
            .collect();
        Ok(tonic::Response::new(StatusReply {
            node_id: self.id,
            state: format!("{:?}", m.state),
            term: m.current_term,
            leader_id: m.current_leader,
            last_log_index: m.last_log_index.unwrap_or(0),
            commit_index: self.committed.load(Ordering::Acquire),
            applied_index: m.last_applied.map(|l| l.index).unwrap_or(0),
            members,
            snapshot_index: m.snapshot.map(|l| l.index),
            purged_index: m.purged.map(|l| l.index),
        }))
    }

    async fn add_node(
        &self,
        request: tonic::Request<AddNodeRequest>,
    ) -> Result<tonic::Response<AddNodeReply>, tonic::Status> {
        let req = request.into_inner();
        if let Err(error) = check_new_member(&self.raft, req.id, &req.grpc_addr) {
            return Ok(tonic::Response::new(AddNodeReply {
                error,
                leader_id: leader(&self.raft).map(|(id, _)| id),
            }));
        }
        let forwarded = req.clone();
        let raft = self.raft.clone();
        self.on_leader(
            || async move {
                let error = match add_caught_up_learner(&raft, req.id, &req.grpc_addr).await {
                    Err(e) => e,
                    // Already a voter (a join asked again): nothing to
                    // change once the change that made it one is applied
                    // here (an entry not yet committed could still be lost).
                    Ok(()) if is_voter(&raft, req.id) => voter_entry_applied(&raft).await,
                    Ok(()) => match raft
                        .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([req.id])), false)
                        .await
                    {
                        Ok(_) => String::new(),
                        Err(e) => e.to_string(),
                    },
                };
                if error.is_empty() {
                    tracing::info!(node = req.id, addr = %req.grpc_addr, "added a voter");
                }
                Ok(tonic::Response::new(AddNodeReply {
                    error,
                    leader_id: leader(&raft).map(|(id, _)| id),
                }))
            },
            async move |mut client| client.add_node(forwarded).await,
        )
        .await
    }

    async fn remove_node(
        &self,
        request: tonic::Request<RemoveNodeRequest>,
    ) -> Result<tonic::Response<RemoveNodeReply>, tonic::Status> {
        let req = request.into_inner();
        let forwarded = req;
        let raft = self.raft.clone();
        self.on_leader(
            || async move {
                let membership = raft.metrics().borrow().membership_config.clone();
                let membership = membership.membership();
                if membership.get_node(&req.id).is_none() {
                    return Ok(tonic::Response::new(RemoveNodeReply {
                        error: format!("node {} is not a member of the cluster", req.id),
                        leader_id: leader(&raft).map(|(id, _)| id),
                    }));
                }
                // A voter is demoted and dropped in one change; a learner
                // (never promoted) is only dropped: `RemoveVoters` of a
                // learner would change nothing and still succeed.
                let change = if membership.voter_ids().any(|v| v == req.id) {
                    ChangeMembers::RemoveVoters(BTreeSet::from([req.id]))
                } else {
                    ChangeMembers::RemoveNodes(BTreeSet::from([req.id]))
                };
                let error = match raft.change_membership(change, false).await {
                    Ok(_) => String::new(),
                    Err(e) => e.to_string(),
                };
                if error.is_empty() {
                    tracing::info!(node = req.id, "removed a node");
                }
                Ok(tonic::Response::new(RemoveNodeReply {
                    error,
                    leader_id: leader(&raft).map(|(id, _)| id),
                }))
            },
            async move |mut client| client.remove_node(forwarded).await,
        )
        .await
    }
}

/// How long a forwarded commit may take before its outcome is unknown.
pub const COMMIT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`add_caught_up_learner`] waits for a learner's log to reach
/// the entry that added it. The joining node asks again after a failure,
/// so this bounds one attempt, not the join.
const CATCH_UP_WAIT: Duration = Duration::from_secs(20);

/// Refuses an AddNode that cannot be right: id 0, an address that is not
/// `host:port`, or an id that is already a member at another address (a
/// node that asks again with the same address is fine: a join retried).
fn check_new_member(raft: &Raft, id: NodeId, addr: &str) -> Result<(), String> {
    if id == 0 {
        return Err("node ids start at 1".into());
    }
    let well_formed = addr
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0))
        && tonic::transport::Endpoint::from_shared(format!("http://{addr}")).is_ok();
    if !well_formed {
        return Err(format!("{addr:?} is not a gRPC address (host:port)"));
    }
    not_elsewhere(raft, id, addr)
}

/// Refuses `id` at `addr` if the membership has it at another address.
fn not_elsewhere(raft: &Raft, id: NodeId, addr: &str) -> Result<(), String> {
    let membership = raft.metrics().borrow().membership_config.clone();
    match membership.membership().get_node(&id) {
        Some(node) if node.addr != addr => Err(format!(
            "node {id} is already a member at {}; remove it first to add it at {addr}",
            node.addr
        )),
        _ => Ok(()),
    }
}

/// Whether `id` votes in the (uniform) membership this node knows.
fn is_voter(raft: &Raft, id: NodeId) -> bool {
    let m = raft.metrics().borrow().membership_config.clone();
    let joint = m.membership().get_joint_config();
    joint.len() == 1 && joint.iter().all(|c| c.contains(&id))
}

/// Waits (up to [`CATCH_UP_WAIT`]) until the membership this node uses
/// is applied here, i.e. committed; "" once it is, else why not.
async fn voter_entry_applied(raft: &Raft) -> String {
    let Some(index) = raft
        .metrics()
        .borrow()
        .membership_config
        .log_id()
        .map(|l| l.index)
    else {
        return String::new();
    };
    match raft
        .wait(Some(CATCH_UP_WAIT))
        .applied_index_at_least(Some(index), "the membership is committed")
        .await
    {
        Ok(_) => String::new(),
        Err(e) => format!("the membership change is not committed yet: {e}"),
    }
}

/// How long [`probe`] waits for a would-be member to answer `Status`.
const PROBE_WAIT: Duration = Duration::from_secs(5);

/// Asks the node at `addr` for its status and checks that it is node `id`:
/// a learner is only added where a node answers, and only under its own
/// id (two nodes must never share one, nor one node two).
///
/// The probe has a connection of its own, dropped afterwards: caching it
/// would let anyone grow the channel cache with made-up addresses.
async fn probe(id: NodeId, addr: &str) -> Result<(), String> {
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .map_err(|e| format!("bad address {addr:?}: {e}"))?
        .connect_timeout(PROBE_WAIT)
        .tcp_nodelay(true);
    let mut client = AdminClient::new(endpoint.connect_lazy());
    let reply = tokio::time::timeout(PROBE_WAIT, client.status(StatusRequest {}))
        .await
        .map_err(|_| format!("node {id} at {addr} did not answer within {PROBE_WAIT:?}; it was not added"))?
        .map_err(|s| {
            format!(
                "node {id} at {addr} does not answer ({}); it was not added",
                s.message()
            )
        })?;
    let answered = reply.into_inner().node_id;
    if answered != id {
        return Err(format!(
            "the node at {addr} is node {answered}, not node {id}; it was not added"
        ));
    }
    Ok(())
}

/// Makes `id` a learner and waits until its log holds the entry that made
/// it one, so that only a node that follows the log becomes a voter
/// (openraft's own "caught up" test passes any learner while the log is
/// shorter than the lag threshold).
///
/// A new node is first [`probe`]d, then added. A node that is already a
/// member at this address (a join asked again) is not added a second
/// time: a new membership entry would restart replication to it and drop
/// a snapshot it is halfway through receiving, so a large snapshot would
/// never finish. A learner that has not caught up within
/// [`CATCH_UP_WAIT`] stays a learner, and the joining node asks again.
async fn add_caught_up_learner(raft: &Raft, id: NodeId, addr: &str) -> Result<(), String> {
    let membership = raft.metrics().borrow().membership_config.clone();
    let target = if membership.membership().get_node(&id).is_some() {
        membership.log_id().map(|l| l.index).unwrap_or(0)
    } else {
        probe(id, addr).await?;
        let node = Node {
            addr: addr.to_owned(),
        };
        let added = raft
            .add_learner(id, node, false)
            .await
            .map_err(|e| e.to_string())?;
        // Two nodes that asked at once under one id: the first added wins
        // (openraft keeps a node's first address), the other is refused.
        not_elsewhere(raft, id, addr)?;
        tracing::info!(node = id, %addr, "added a learner");
        added.log_id.index
    };
    let matched = |m: &openraft::RaftMetrics<NodeId, Node>| -> Option<u64> {
        m.replication
            .as_ref()?
            .get(&id)
            .copied()
            .flatten()
            .map(|l| l.index)
    };
    raft.wait(Some(CATCH_UP_WAIT))
        .metrics(
            |m| matched(m).is_some_and(|i| i >= target),
            "the new learner caught up",
        )
        .await
        .map(|_| ())
        .map_err(|_| format!("node {id} at {addr} is still catching up; it stays a learner until it has"))
}
