//! Raft over gRPC (tonic): the client side openraft calls to reach peers,
//! and the server side that hands incoming RPCs to the local Raft.
//!
//! - One tonic channel per peer (id, address), cached and cloned: openraft
//!   asks for a new client for every replication stream, vote round and
//!   linearizable read, and a fresh HTTP/2 connection each time costs
//!   several milliseconds (measured in the dependency research).
//! - AppendEntries (heartbeats included) go over one long-lived
//!   `AppendEntriesStream` per replication stream instead of a unary call
//!   each: a new HTTP/2 stream per request (headers both ways, trailers, a
//!   server task) was a large share of every node's CPU. openraft calls a
//!   [`Connection`] one request at a time, so the peer answers in order;
//!   requests and replies carry a sequence number. A call that finds the
//!   previous request unanswered (openraft gave up on it) and any failure
//!   replace the stream, so nothing waits behind an abandoned request; a
//!   peer without the RPC gets unary calls.
//!   Votes and snapshots stay unary.
//! - A request that only tells a follower a new commit index is sent
//!   without waiting for its reply ([`Connection::fire`]); see there why
//!   that is safe and what it saves.
//! - Message size limits are raised to [`MAX_MESSAGE`] on both sides (tonic's
//!   default 4 MiB is too small for a batch of large commits).
//! - Every request names its target node; a node refuses a request meant for
//!   another id, so a reused address never gets another node's traffic.
//! - Every AppendEntries a follower accepts is reported to the
//!   [`LeaderLease`] with the time it was sent; a node does not vote until
//!   the lease window has passed since it started (see [`crate::lease`]).
//! - Errors map as openraft expects: a peer we cannot reach is
//!   `Unreachable` (openraft backs off instead of retrying hot), other
//!   transport failures are `Network`, and a Raft error returned by the peer
//!   is `RemoteError`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;
use tonic::transport::{Channel, Endpoint};

use crate::lease::LeaderLease;
use crate::pb::raft::raft_client::RaftClient;
use crate::pb::raft::raft_server::{Raft as RaftRpc, RaftServer};
use crate::pb::raft::{RaftReply, RaftRequest};
use crate::types::{LogId, Node, NodeId, Raft, TypeConfig, Vote};

/// Largest gRPC message either side accepts.
pub const MAX_MESSAGE: usize = 64 << 20;

/// Caches one channel per peer; shared by the Raft network and the admin
/// clients.
#[derive(Clone, Default)]
pub struct Channels {
    cache: Arc<Mutex<HashMap<(NodeId, String), Channel>>>,
}

impl Channels {
    /// A (lazily connecting) channel to `addr`.
    pub fn get(&self, id: NodeId, addr: &str) -> Result<Channel, tonic::transport::Error> {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(channel) = cache.get(&(id, addr.to_string())) {
            return Ok(channel.clone());
        }
        let channel = Endpoint::from_shared(format!("http://{addr}"))?
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true)
            .connect_lazy();
        cache.insert((id, addr.to_string()), channel.clone());
        Ok(channel)
    }
}

/// openraft's network factory.
#[derive(Clone)]
pub struct Network {
    channels: Channels,
    lease: Arc<LeaderLease>,
}

impl Network {
    pub fn new(channels: Channels, lease: Arc<LeaderLease>) -> Self {
        Self { channels, lease }
    }
}

/// A client for one peer. openraft keeps one per replication stream and
/// calls it one request at a time.
pub struct Connection {
    target: NodeId,
    addr: String,
    client: Option<RaftClient<Channel>>,
    lease: Arc<LeaderLease>,
    /// The open `AppendEntriesStream`, if any.
    stream: Option<EntryStream>,
    /// False once the peer turned out not to know `AppendEntriesStream`.
    streaming: bool,
    /// What the last answered request proved about the peer's log, if
    /// nothing has gone wrong since.
    known: Option<Known>,
}

/// What this connection knows of its peer, for [`Connection::fire`].
#[derive(Clone, Copy)]
struct Known {
    /// The vote the peer accepted.
    vote: Vote,
    /// The last log id the peer confirmed holding, as openraft's matching.
    matching: Option<LogId>,
    /// The highest commit index sent to the peer so far.
    commit: Option<LogId>,
}

/// At most this many fired requests may be unanswered; past it, requests
/// wait for their replies again (the peer is not keeping up).
const MAX_FIRED: usize = 32;

/// A request sent by [`Connection::fire`], whose reply nobody awaits.
struct Fired {
    seq: u64,
    vote: Vote,
    sent: Instant,
}

/// The client half of an `AppendEntriesStream`: requests go out numbered,
/// and the peer answers each, in order, with its number.
struct EntryStream {
    requests: mpsc::UnboundedSender<RaftRequest>,
    replies: tonic::Streaming<RaftReply>,
    last_seq: u64,
    /// The last request sent and awaited has no reply yet.
    unanswered: bool,
    /// Fired requests, oldest first, whose replies have not been read.
    fired: VecDeque<Fired>,
    /// Dropped with the stream: ends the request side (see `open_stream`).
    _abort: tokio::sync::oneshot::Sender<()>,
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = Connection;

    async fn new_client(&mut self, target: NodeId, node: &Node) -> Connection {
        let client = match self.channels.get(target, &node.addr) {
            Ok(channel) => Some(
                RaftClient::new(channel)
                    .max_decoding_message_size(MAX_MESSAGE)
                    .max_encoding_message_size(MAX_MESSAGE),
            ),
            Err(e) => {
                tracing::warn!(target, addr = %node.addr, "bad peer address: {e}");
                None
            }
        };
        Connection {
            target,
            addr: node.addr.clone(),
            client,
            lease: self.lease.clone(),
            stream: None,
            streaming: true,
            known: None,
        }
    }
}

#[derive(Clone, Copy)]
enum Rpc {
    AppendEntries,
    Vote,
    InstallSnapshot,
}

type RpcResult<Resp, E = openraft::error::Infallible> =
    Result<Resp, RPCError<NodeId, Node, RaftError<NodeId, E>>>;

impl Connection {
    fn unreachable<E: std::error::Error>(
        &self,
        detail: &str,
    ) -> RPCError<NodeId, Node, RaftError<NodeId, E>> {
        RPCError::Unreachable(Unreachable::new(&std::io::Error::new(
            std::io::ErrorKind::NotConnected,
            format!("node {} at {}: {detail}", self.target, self.addr),
        )))
    }

    fn network<E: std::error::Error>(&self, detail: &str) -> RPCError<NodeId, Node, RaftError<NodeId, E>> {
        RPCError::Network(NetworkError::new(&std::io::Error::other(format!(
            "node {} at {}: {detail}",
            self.target, self.addr
        ))))
    }

    /// A failed call: a peer that cannot be reached (or refuses to be this
    /// target) is `Unreachable`, so openraft backs off; anything else is a
    /// `Network` error.
    fn failed<E: std::error::Error>(
        &self,
        status: &tonic::Status,
    ) -> RPCError<NodeId, Node, RaftError<NodeId, E>> {
        match status.code() {
            tonic::Code::Unavailable | tonic::Code::FailedPrecondition => self.unreachable(status.message()),
            _ => self.network(&status.to_string()),
        }
    }

    /// Decodes a reply: openraft's own `Result`, whose error is the peer's.
    // The error type is openraft's, as its `RaftNetwork` methods return it.
    #[allow(clippy::result_large_err)]
    fn decode<Resp, E>(&self, data: &[u8]) -> RpcResult<Resp, E>
    where
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let result: Result<Resp, RaftError<NodeId, E>> =
            postcard::from_bytes(data).map_err(|e| self.network(&format!("decoding a reply: {e}")))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }

    /// One unary call.
    async fn call<Req, Resp, E>(&mut self, rpc: Rpc, request: &Req, option: &RPCOption) -> RpcResult<Resp, E>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let data = postcard::to_stdvec(request).map_err(|e| self.network(&format!("encoding: {e}")))?;
        let Some(client) = self.client.as_mut() else {
            return Err(self.unreachable("invalid address"));
        };
        let mut req = tonic::Request::new(RaftRequest {
            target: self.target,
            data: data.into(),
            seq: 0,
        });
        req.set_timeout(option.hard_ttl());
        let reply = match rpc {
            Rpc::AppendEntries => client.append_entries(req).await,
            Rpc::Vote => client.vote(req).await,
            Rpc::InstallSnapshot => client.install_snapshot(req).await,
        };
        match reply {
            Ok(reply) => self.decode(&reply.into_inner().data),
            Err(status) => Err(self.failed(&status)),
        }
    }

    /// Opens an `AppendEntriesStream` with `first` as its first request,
    /// sent along with the call (no round trip before it goes out).
    async fn open_stream(
        &mut self,
        option: &RPCOption,
        first: RaftRequest,
    ) -> Result<EntryStream, tonic::Status> {
        let Some(client) = self.client.as_mut() else {
            return Err(tonic::Status::unavailable("invalid address"));
        };
        let (requests, outgoing) = mpsc::unbounded_channel();
        let last_seq = first.seq;
        // The receiver is right here: this send cannot fail.
        let _ = requests.send(first);
        // Dropping the `EntryStream` ends the request side at once, with
        // anything still queued in it.
        let (abort, aborted) = tokio::sync::oneshot::channel::<()>();
        let outgoing = tokio_stream::wrappers::UnboundedReceiverStream::new(outgoing).take_until(aborted);
        let opened = tokio::time::timeout(option.hard_ttl(), client.append_entries_stream(outgoing)).await;
        match opened {
            Ok(Ok(response)) => Ok(EntryStream {
                requests,
                replies: response.into_inner(),
                last_seq,
                unanswered: true,
                fired: VecDeque::new(),
                _abort: abort,
            }),
            Ok(Err(status)) => Err(status),
            Err(_) => Err(tonic::Status::deadline_exceeded("opening the stream timed out")),
        }
    }

    /// One AppendEntries over this peer's stream (opened on first use,
    /// replaced after any failure). `None`: the peer has no such RPC (an
    /// older version); use a unary call.
    async fn append_streamed(
        &mut self,
        rpc: &AppendEntriesRequest<TypeConfig>,
        option: &RPCOption,
    ) -> Option<RpcResult<AppendEntriesResponse<NodeId>>> {
        let data = match postcard::to_stdvec(rpc) {
            Ok(data) => prost::bytes::Bytes::from(data),
            Err(e) => return Some(Err(self.network(&format!("encoding: {e}")))),
        };
        // A request still unanswered means its caller gave up (openraft
        // times a call out after a heartbeat interval and drops it). The
        // peer answers in order, so this request would wait behind that
        // one, and behind every other given up while the peer stalls: use
        // a new stream instead.
        if self.stream.as_ref().is_some_and(|open| open.unanswered) {
            self.drop_stream();
        }
        let mut sent = false;
        if let Some(open) = self.stream.as_mut() {
            open.last_seq += 1;
            let request = RaftRequest {
                target: self.target,
                data: data.clone(),
                seq: open.last_seq,
            };
            // A stream that broke while idle took nothing of this request.
            sent = open.requests.send(request).is_ok();
            open.unanswered = sent;
        }
        if !sent {
            // Requests fired on the old stream may never have arrived.
            self.drop_stream();
            let first = RaftRequest {
                target: self.target,
                data,
                seq: 1,
            };
            match self.open_stream(option, first).await {
                Ok(open) => self.stream = Some(open),
                Err(status) if status.code() == tonic::Code::Unimplemented => {
                    tracing::info!(
                        target = self.target,
                        "peer has no AppendEntriesStream; using unary calls"
                    );
                    self.drop_stream();
                    self.streaming = false;
                    return None;
                }
                Err(status) => {
                    self.drop_stream();
                    return Some(Err(self.failed(&status)));
                }
            }
        }
        let Some(open) = self.stream.as_mut() else {
            return Some(Err(self.unreachable("the AppendEntries stream closed")));
        };
        let seq = open.last_seq;
        let (lease, target) = (&self.lease, self.target);
        // Replies come in order, one per request; an older one answers a
        // fired request or (which the rule above makes rare) a request
        // whose caller gave up.
        let reply = tokio::time::timeout(option.hard_ttl(), async {
            loop {
                match open.replies.message().await {
                    Ok(Some(reply)) if reply.seq < seq => fired_reply(&mut open.fired, &reply, lease, target),
                    Ok(Some(reply)) if reply.seq == seq => return Ok(reply.data),
                    Ok(Some(reply)) => {
                        return Err(tonic::Status::internal(format!(
                            "reply {} to request {seq}",
                            reply.seq
                        )));
                    }
                    Ok(None) => return Err(tonic::Status::unavailable("the AppendEntries stream closed")),
                    Err(status) => return Err(status),
                }
            }
        })
        .await;
        Some(match reply {
            Ok(Ok(data)) => {
                open.unanswered = false;
                self.decode(&data)
            }
            // After a failure the stream is dropped; the next call opens a
            // new one.
            Ok(Err(status)) => {
                self.drop_stream();
                Err(self.failed(&status))
            }
            Err(_) => {
                self.drop_stream();
                Err(self.network(&format!("no reply within {:?}", option.hard_ttl())))
            }
        })
    }

    /// Drops the open stream, with what this connection knew of the peer:
    /// requests fired on it may never have arrived.
    fn drop_stream(&mut self) {
        self.stream = None;
        self.known = None;
    }

    /// Sends `rpc` without waiting for its reply, if all it does is tell
    /// the peer a new commit index, and answers `Success` for the peer.
    ///
    /// **What it saves.** openraft 0.9 keeps one AppendEntries in flight
    /// per follower, and tells followers of a new commit index in an empty
    /// AppendEntries of its own. Under load the next batch's entries are
    /// appended a moment after the previous batch commits, and waited for
    /// that empty request's round trip (about a millisecond here) before
    /// they could go: a third of every commit round. Fired, the commit index
    /// still reaches the follower first (the stream is ordered), and the
    /// entries go right behind it.
    ///
    /// **Why the made-up `Success` is true, or harmless.** It is only given
    /// when the request carries no entries, the same vote as the last
    /// request the peer accepted on this connection, and that request's
    /// matching log id as `prev_log_id`: the peer already confirmed holding
    /// it, and a durable log never loses it. So the answer the peer will
    /// give is `Success`, unless it has since seen a higher vote (or lost
    /// its disk). openraft learns nothing from such a `Success` but the
    /// matching it already had, so it commits nothing on it; a refusal is
    /// answered to the next awaited request too, which openraft reads from
    /// the peer itself. Nothing fired counts
    /// for the leader lease until its real reply is read ([`fired_reply`]).
    /// openraft's leadership checks (`ensure_linearizable`) use a new
    /// connection, which knows nothing and so never fires.
    fn fire(&mut self, rpc: &AppendEntriesRequest<TypeConfig>, sent: Instant) -> bool {
        let Some(known) = self.known.as_mut() else {
            return false;
        };
        let Some(open) = self.stream.as_mut() else {
            return false;
        };
        let only_commit = rpc.entries.is_empty()
            && rpc.vote == known.vote
            && rpc.prev_log_id == known.matching
            && rpc.leader_commit > known.commit;
        if !only_commit || open.unanswered || open.fired.len() >= MAX_FIRED {
            return false;
        }
        let Ok(data) = postcard::to_stdvec(rpc) else {
            return false;
        };
        let request = RaftRequest {
            target: self.target,
            data: data.into(),
            seq: open.last_seq + 1,
        };
        if open.requests.send(request).is_err() {
            return false;
        }
        open.last_seq += 1;
        open.fired.push_back(Fired {
            seq: open.last_seq,
            vote: rpc.vote,
            sent,
        });
        known.commit = rpc.leader_commit;
        true
    }

    /// Records what an answered request proved about the peer's log.
    fn learn(&mut self, rpc: &AppendEntriesRequest<TypeConfig>, response: &AppendEntriesResponse<NodeId>) {
        let matching = match response {
            AppendEntriesResponse::Success => rpc.entries.last().map(|e| e.log_id).or(rpc.prev_log_id),
            AppendEntriesResponse::PartialSuccess(matching) => *matching,
            _ => {
                self.known = None;
                return;
            }
        };
        let commit = match self.known {
            Some(known) if known.vote == rpc.vote => known.commit.max(rpc.leader_commit),
            _ => rpc.leader_commit,
        };
        self.known = Some(Known {
            vote: rpc.vote,
            matching,
            commit,
        });
    }
}

/// Reads the reply to a fired request, found while waiting for a later
/// one: an acceptance counts for the lease as an awaited one would. A
/// refusal needs nothing more: the peer refuses the later request for the
/// same reason (a higher vote stays, and the later request's
/// `prev_log_id` is at least the fired one's), and that answer is real.
/// (`Connection::known` stays as it is: the later request's own reply
/// updates or clears it.)
fn fired_reply(fired: &mut VecDeque<Fired>, reply: &RaftReply, lease: &LeaderLease, target: NodeId) {
    // Older entries were lost with their replies (cannot happen on one
    // ordered stream, but costs nothing to skip).
    while fired.front().is_some_and(|f| f.seq < reply.seq) {
        fired.pop_front();
    }
    // Otherwise the reply to an awaited request whose caller gave up.
    if fired.front().is_none_or(|f| f.seq != reply.seq) {
        return;
    }
    let Some(request) = fired.pop_front() else {
        return;
    };
    let result: Result<Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>>, _> =
        postcard::from_bytes(&reply.data);
    if let Ok(Ok(AppendEntriesResponse::Success | AppendEntriesResponse::PartialSuccess(_))) = result {
        lease.acked(target, &request.vote, request.sent);
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        let sent = Instant::now();
        if self.streaming && self.fire(&rpc, sent) {
            return Ok(AppendEntriesResponse::Success);
        }
        let streamed = match self.streaming {
            true => self.append_streamed(&rpc, &option).await,
            false => None,
        };
        let response = match streamed {
            Some(result) => result,
            None => self.call(Rpc::AppendEntries, &rpc, &option).await,
        };
        let response = match response {
            Ok(response) => response,
            Err(e) => {
                self.known = None;
                return Err(e);
            }
        };
        self.learn(&rpc, &response);
        // Anything but HigherVote means the follower accepted our vote, and
        // with it refuses other candidates for a while (see crate::lease).
        if !matches!(response, AppendEntriesResponse::HigherVote(_)) {
            self.lease.acked(self.target, &rpc.vote, sent);
        }
        Ok(response)
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<NodeId>,
        RPCError<NodeId, Node, RaftError<NodeId, InstallSnapshotError>>,
    > {
        self.call(Rpc::InstallSnapshot, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<NodeId>,
        option: RPCOption,
    ) -> Result<VoteResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        self.call(Rpc::Vote, &rpc, &option).await
    }
}

/// The gRPC Raft service of this node.
pub struct RaftService {
    id: NodeId,
    raft: Raft,
    lease: Arc<LeaderLease>,
}

impl RaftService {
    pub fn server(id: NodeId, raft: Raft, lease: Arc<LeaderLease>) -> RaftServer<Self> {
        RaftServer::new(Self { id, raft, lease })
            .max_decoding_message_size(MAX_MESSAGE)
            .max_encoding_message_size(MAX_MESSAGE)
    }

    fn open<T: DeserializeOwned>(&self, request: tonic::Request<RaftRequest>) -> Result<T, tonic::Status> {
        decode_request(self.id, request.into_inner())
    }
}

/// A request's payload, if it is meant for node `id`.
fn decode_request<T: DeserializeOwned>(id: NodeId, request: RaftRequest) -> Result<T, tonic::Status> {
    if request.target != id {
        return Err(tonic::Status::failed_precondition(format!(
            "this is node {id}, not node {}",
            request.target
        )));
    }
    postcard::from_bytes(&request.data)
        .map_err(|e| tonic::Status::invalid_argument(format!("undecodable Raft request: {e}")))
}

fn encode_reply<T: Serialize>(result: &T, seq: u64) -> Result<RaftReply, tonic::Status> {
    let data = postcard::to_stdvec(result).map_err(|e| tonic::Status::internal(format!("encoding: {e}")))?;
    Ok(RaftReply {
        data: data.into(),
        seq,
    })
}

fn reply<T: Serialize>(result: &T) -> Result<tonic::Response<RaftReply>, tonic::Status> {
    encode_reply(result, 0).map(tonic::Response::new)
}

#[tonic::async_trait]
impl RaftRpc for RaftService {
    async fn append_entries(
        &self,
        request: tonic::Request<RaftRequest>,
    ) -> Result<tonic::Response<RaftReply>, tonic::Status> {
        let rpc: AppendEntriesRequest<TypeConfig> = self.open(request)?;
        reply(&self.raft.append_entries(rpc).await)
    }

    type AppendEntriesStreamStream =
        std::pin::Pin<Box<dyn futures::Stream<Item = Result<RaftReply, tonic::Status>> + Send + 'static>>;

    /// Handles the stream's requests one at a time, in order, each as
    /// `append_entries` would; a request it refuses, a broken request side,
    /// or this node's Raft having stopped ends the stream with an error.
    async fn append_entries_stream(
        &self,
        request: tonic::Request<tonic::Streaming<RaftRequest>>,
    ) -> Result<tonic::Response<Self::AppendEntriesStreamStream>, tonic::Status> {
        let (id, raft) = (self.id, self.raft.clone());
        let replies = futures::stream::unfold(Some(request.into_inner()), move |incoming| {
            let raft = raft.clone();
            async move {
                let mut incoming = incoming?;
                let request = match incoming.message().await {
                    Ok(Some(request)) => request,
                    Ok(None) => return None,
                    Err(status) => return Some((Err(status), None)),
                };
                let seq = request.seq;
                let reply = match decode_request::<AppendEntriesRequest<TypeConfig>>(id, request) {
                    Ok(rpc) => match raft.append_entries(rpc).await {
                        // This node's Raft has stopped: end the stream, so
                        // the leader reconnects (to whoever listens here
                        // next) instead of asking a stopped node forever.
                        Err(RaftError::Fatal(fatal)) => Err(tonic::Status::unavailable(format!(
                            "node {id} has stopped: {fatal}"
                        ))),
                        result => encode_reply(&result, seq),
                    },
                    Err(status) => Err(status),
                };
                let more = reply.is_ok().then_some(incoming);
                Some((reply, more))
            }
        });
        Ok(tonic::Response::new(Box::pin(replies)))
    }

    async fn vote(
        &self,
        request: tonic::Request<RaftRequest>,
    ) -> Result<tonic::Response<RaftReply>, tonic::Status> {
        let rpc: VoteRequest<NodeId> = self.open(request)?;
        // A lease this node granted before a restart must not be broken by
        // a vote right after it (see crate::lease): wait out the window.
        tokio::time::sleep_until(self.lease.quiet_until().into()).await;
        reply(&self.raft.vote(rpc).await)
    }

    async fn install_snapshot(
        &self,
        request: tonic::Request<RaftRequest>,
    ) -> Result<tonic::Response<RaftReply>, tonic::Status> {
        let rpc: InstallSnapshotRequest<TypeConfig> = self.open(request)?;
        reply(&self.raft.install_snapshot(rpc).await)
    }
}

#[cfg(test)]
mod tests {
    //! The stream client against a scripted peer: replies must match their
    //! requests even after a caller gave up, a broken stream is replaced,
    //! and a peer without the stream RPC gets unary calls.

    use std::sync::atomic::{AtomicU64, Ordering};

    use openraft::{CommittedLeaderId, LogId};

    use super::*;

    /// A fake peer: answers AppendEntries with `PartialSuccess(prev_log_id)`,
    /// so each reply names the request it answers.
    #[derive(Clone)]
    struct Peer {
        /// Whether it offers `AppendEntriesStream`.
        streaming: bool,
        /// Requests with this `prev_log_id` index are answered this late.
        slow: Option<(u64, Duration)>,
        /// Requests carrying a commit index are answered this late.
        slow_commits: Option<Duration>,
        /// How many requests carrying a commit index arrived.
        commits_seen: Arc<AtomicU64>,
        streams_opened: Arc<AtomicU64>,
        unary_calls: Arc<AtomicU64>,
    }

    impl Peer {
        async fn answer(&self, data: &[u8]) -> Result<Vec<u8>, tonic::Status> {
            let rpc: AppendEntriesRequest<TypeConfig> =
                postcard::from_bytes(data).map_err(|e| tonic::Status::invalid_argument(e.to_string()))?;
            if let Some((index, delay)) = self.slow
                && rpc.prev_log_id.map(|l| l.index) == Some(index)
            {
                tokio::time::sleep(delay).await;
            }
            if rpc.leader_commit.is_some() {
                self.commits_seen.fetch_add(1, Ordering::SeqCst);
                if let Some(delay) = self.slow_commits {
                    tokio::time::sleep(delay).await;
                }
            }
            let result: Result<AppendEntriesResponse<NodeId>, RaftError<NodeId>> =
                Ok(AppendEntriesResponse::PartialSuccess(rpc.prev_log_id));
            postcard::to_stdvec(&result).map_err(|e| tonic::Status::internal(e.to_string()))
        }
    }

    #[tonic::async_trait]
    impl RaftRpc for Peer {
        async fn append_entries(
            &self,
            request: tonic::Request<RaftRequest>,
        ) -> Result<tonic::Response<RaftReply>, tonic::Status> {
            self.unary_calls.fetch_add(1, Ordering::SeqCst);
            let data = self.answer(&request.into_inner().data).await?;
            Ok(tonic::Response::new(RaftReply {
                data: data.into(),
                seq: 0,
            }))
        }

        type AppendEntriesStreamStream = <RaftService as RaftRpc>::AppendEntriesStreamStream;

        async fn append_entries_stream(
            &self,
            request: tonic::Request<tonic::Streaming<RaftRequest>>,
        ) -> Result<tonic::Response<Self::AppendEntriesStreamStream>, tonic::Status> {
            if !self.streaming {
                return Err(tonic::Status::unimplemented("no streams here"));
            }
            self.streams_opened.fetch_add(1, Ordering::SeqCst);
            let peer = self.clone();
            let replies = futures::stream::unfold(request.into_inner(), move |mut incoming| {
                let peer = peer.clone();
                async move {
                    let request = incoming.message().await.ok()??;
                    let reply = peer.answer(&request.data).await.map(|data| RaftReply {
                        data: data.into(),
                        seq: request.seq,
                    });
                    Some((reply, incoming))
                }
            });
            Ok(tonic::Response::new(Box::pin(replies)))
        }

        async fn vote(
            &self,
            _: tonic::Request<RaftRequest>,
        ) -> Result<tonic::Response<RaftReply>, tonic::Status> {
            Err(tonic::Status::unimplemented("not scripted"))
        }

        async fn install_snapshot(
            &self,
            _: tonic::Request<RaftRequest>,
        ) -> Result<tonic::Response<RaftReply>, tonic::Status> {
            Err(tonic::Status::unimplemented("not scripted"))
        }
    }

    /// A peer on a runtime of its own, so stopping it (dropping the
    /// runtime) cuts every connection, as a crash would.
    struct Running {
        addr: String,
        commits_seen: Arc<AtomicU64>,
        streams_opened: Arc<AtomicU64>,
        unary_calls: Arc<AtomicU64>,
        runtime: Option<tokio::runtime::Runtime>,
    }

    impl Drop for Running {
        fn drop(&mut self) {
            if let Some(runtime) = self.runtime.take() {
                runtime.shutdown_background();
            }
        }
    }

    async fn start_peer(streaming: bool, slow: Option<(u64, Duration)>, addr: Option<&str>) -> Running {
        start_peer_with(streaming, slow, None, addr).await
    }

    async fn start_peer_with(
        streaming: bool,
        slow: Option<(u64, Duration)>,
        slow_commits: Option<Duration>,
        addr: Option<&str>,
    ) -> Running {
        let listener =
            std::net::TcpListener::bind(addr.unwrap_or("127.0.0.1:0")).expect("bind a loopback port");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address").to_string();
        let (streams_opened, unary_calls) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let commits_seen = Arc::new(AtomicU64::new(0));
        let peer = Peer {
            streaming,
            slow,
            slow_commits,
            commits_seen: commits_seen.clone(),
            streams_opened: streams_opened.clone(),
            unary_calls: unary_calls.clone(),
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime for the peer");
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            let incoming = tokio_stream::wrappers::TcpListenerStream::new(listener);
            let _ = tonic::transport::Server::builder()
                .add_service(RaftServer::new(peer))
                .serve_with_incoming(incoming)
                .await;
        });
        Running {
            addr,
            commits_seen,
            streams_opened,
            unary_calls,
            runtime: Some(runtime),
        }
    }

    fn request(index: u64) -> AppendEntriesRequest<TypeConfig> {
        AppendEntriesRequest {
            vote: openraft::Vote::new_committed(1, 1),
            prev_log_id: Some(LogId::new(CommittedLeaderId::new(1, 1), index)),
            entries: vec![],
            leader_commit: None,
        }
    }

    async fn connect(addr: &str) -> Connection {
        let lease = Arc::new(LeaderLease::new(1, Duration::from_millis(100)));
        Network::new(Channels::default(), lease)
            .new_client(
                2,
                &Node {
                    addr: addr.to_string(),
                },
            )
            .await
    }

    fn answered(response: AppendEntriesResponse<NodeId>) -> Option<u64> {
        match response {
            AppendEntriesResponse::PartialSuccess(log_id) => log_id.map(|l| l.index),
            other => panic!("unexpected reply {other:?}"),
        }
    }

    const TTL: Duration = Duration::from_secs(10);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_call_after_one_that_gave_up_gets_its_own_reply_without_waiting_behind_it() {
        // The peer stalls on request 2 for far longer than this test may
        // take; the caller gives up on it, as openraft does after a
        // heartbeat interval.
        let peer = start_peer(true, Some((2, Duration::from_secs(120))), None).await;
        let mut conn = connect(&peer.addr).await;
        let first = conn.append_entries(request(1), RPCOption::new(TTL)).await;
        assert_eq!(answered(first.expect("first call")), Some(1));
        assert_eq!(peer.streams_opened.load(Ordering::SeqCst), 1);
        for _ in 0..3 {
            let gave_up = tokio::time::timeout(
                Duration::from_millis(50),
                conn.append_entries(request(2), RPCOption::new(TTL)),
            )
            .await;
            assert!(gave_up.is_err(), "request 2 is stuck at the peer");
        }
        // Later requests get their own answers, on a fresh stream, instead
        // of queueing behind the stuck ones (which would take minutes).
        for index in 3..=4 {
            let reply = tokio::time::timeout(TTL, conn.append_entries(request(index), RPCOption::new(TTL)))
                .await
                .expect("not stuck behind abandoned requests");
            assert_eq!(answered(reply.expect("a later call")), Some(index));
        }
        assert!(
            peer.streams_opened.load(Ordering::SeqCst) >= 2,
            "the stream with an abandoned request was replaced"
        );
        assert_eq!(peer.unary_calls.load(Ordering::SeqCst), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_reply_that_does_not_come_in_time_fails_the_call_and_the_stream_is_replaced() {
        let peer = start_peer(true, Some((2, Duration::from_secs(5))), None).await;
        let mut conn = connect(&peer.addr).await;
        let short = RPCOption::new(Duration::from_millis(100));
        let late = conn.append_entries(request(2), short).await;
        assert!(matches!(late, Err(RPCError::Network(_))), "{late:?}");
        let next = conn.append_entries(request(3), RPCOption::new(TTL)).await;
        assert_eq!(answered(next.expect("call after a timeout")), Some(3));
        assert_eq!(peer.streams_opened.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_restarted_peer_gets_a_new_stream() {
        let peer = start_peer(true, None, None).await;
        let addr = peer.addr.clone();
        let mut conn = connect(&addr).await;
        assert_eq!(
            answered(
                conn.append_entries(request(1), RPCOption::new(TTL))
                    .await
                    .unwrap()
            ),
            Some(1)
        );
        drop(peer);
        // Down: the call fails, as unreachable or a network error, quickly.
        let down = conn.append_entries(request(2), RPCOption::new(TTL)).await;
        assert!(
            matches!(down, Err(RPCError::Unreachable(_) | RPCError::Network(_))),
            "{down:?}"
        );
        let mut again = None;
        for _ in 0..100 {
            // The port may take a moment to be free again.
            match std::net::TcpListener::bind(&addr) {
                Ok(probe) => {
                    drop(probe);
                    again = Some(start_peer(true, None, Some(&addr)).await);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        let again = again.expect("the old port is free again");
        let mut answer = None;
        for _ in 0..100 {
            match conn.append_entries(request(3), RPCOption::new(TTL)).await {
                Ok(response) => {
                    answer = Some(response);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        assert_eq!(answered(answer.expect("the restarted peer answers")), Some(3));
        assert_eq!(again.streams_opened.load(Ordering::SeqCst), 1);
    }

    /// `request(index)` telling the peer that `index` is committed.
    fn commit_only(index: u64) -> AppendEntriesRequest<TypeConfig> {
        AppendEntriesRequest {
            leader_commit: Some(LogId::new(CommittedLeaderId::new(1, 1), index)),
            ..request(index)
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_new_commit_index_for_a_peer_known_to_match_is_sent_without_waiting() {
        // The peer takes 2 s over every request that carries a commit index.
        let delay = Duration::from_secs(2);
        let peer = start_peer_with(true, None, Some(delay), None).await;
        let mut conn = connect(&peer.addr).await;
        let matched = conn.append_entries(request(4), RPCOption::new(TTL)).await;
        assert_eq!(answered(matched.expect("first call")), Some(4));

        // Only a new commit index, at the log id the peer just confirmed:
        // answered at once, long before the peer could have.
        let started = Instant::now();
        let fired = tokio::time::timeout(
            delay / 2,
            conn.append_entries(commit_only(4), RPCOption::new(TTL)),
        )
        .await
        .expect("not waited for");
        assert!(matches!(fired, Ok(AppendEntriesResponse::Success)), "{fired:?}");

        // The same commit index again (a heartbeat) is new to nobody: it
        // waits for its real answer, which comes after the fired one's.
        let again = conn.append_entries(commit_only(4), RPCOption::new(TTL)).await;
        assert_eq!(answered(again.expect("awaited call")), Some(4));
        assert!(started.elapsed() >= delay * 2, "both reached the peer, in order");
        assert_eq!(peer.commits_seen.load(Ordering::SeqCst), 2);
        assert_eq!(peer.streams_opened.load(Ordering::SeqCst), 1);

        // A request the peer's log is not known to match is awaited, even
        // with a new commit index.
        let unknown = conn.append_entries(commit_only(5), RPCOption::new(TTL)).await;
        assert_eq!(answered(unknown.expect("awaited call")), Some(5));

        // So is everything on a new connection, such as the ones openraft
        // opens to confirm its leadership.
        let mut fresh = connect(&peer.addr).await;
        let confirm = fresh.append_entries(commit_only(6), RPCOption::new(TTL)).await;
        assert_eq!(answered(confirm.expect("awaited call")), Some(6));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fired_request_counts_for_the_lease_only_once_its_reply_is_read() {
        let peer = start_peer_with(true, None, Some(Duration::from_millis(300)), None).await;
        let mut conn = connect(&peer.addr).await;
        let lease = conn.lease.clone();
        let (vote, voters) = (request(4).vote, [std::collections::BTreeSet::from([1, 2])]);
        let matched = conn.append_entries(request(4), RPCOption::new(TTL)).await;
        assert_eq!(answered(matched.expect("first call")), Some(4));
        let fired_at = Instant::now();
        let fired = conn.append_entries(commit_only(4), RPCOption::new(TTL)).await;
        assert!(matches!(fired, Ok(AppendEntriesResponse::Success)), "{fired:?}");
        // The lease (100 ms) rests on the first request alone, sent before
        // `fired_at`: had the fired one counted, it would still hold then.
        let lease_ms = Duration::from_millis(100);
        assert!(!lease.holds(&vote, &voters, fired_at + lease_ms));
        // Its real reply, read behind the next awaited request, counts.
        let again = conn.append_entries(commit_only(4), RPCOption::new(TTL)).await;
        assert_eq!(answered(again.expect("awaited call")), Some(4));
        assert!(lease.holds(&vote, &voters, fired_at + lease_ms));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_peer_without_the_stream_rpc_gets_unary_calls() {
        let peer = start_peer(false, None, None).await;
        let mut conn = connect(&peer.addr).await;
        for i in 1..=3 {
            let response = conn.append_entries(request(i), RPCOption::new(TTL)).await;
            assert_eq!(answered(response.expect("unary call")), Some(i));
        }
        assert_eq!(peer.unary_calls.load(Ordering::SeqCst), 3);
        assert_eq!(peer.streams_opened.load(Ordering::SeqCst), 0);
    }
}
