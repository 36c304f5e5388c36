//! Raft over gRPC (tonic): the client side openraft calls to reach peers,
//! and the server side that hands incoming RPCs to the local Raft.
//!
//! - One tonic channel per peer (id, address), cached and cloned: openraft
//!   asks for a new client for every replication stream, vote round and
//!   linearizable read, and a fresh HTTP/2 connection each time costs
//!   several milliseconds (measured in the dependency research).
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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use openraft::error::{InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tonic::transport::{Channel, Endpoint};

use crate::lease::LeaderLease;
use crate::pb::raft::raft_client::RaftClient;
use crate::pb::raft::raft_server::{Raft as RaftRpc, RaftServer};
use crate::pb::raft::{RaftReply, RaftRequest};
use crate::types::{Node, NodeId, Raft, TypeConfig};

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

/// A client for one peer.
pub struct Connection {
    target: NodeId,
    addr: String,
    client: Option<RaftClient<Channel>>,
    lease: Arc<LeaderLease>,
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
        }
    }
}

#[derive(Clone, Copy)]
enum Rpc {
    AppendEntries,
    Vote,
    InstallSnapshot,
}

impl Connection {
    async fn call<Req, Resp, E>(
        &mut self,
        rpc: Rpc,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<NodeId, Node, RaftError<NodeId, E>>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let unreachable = |detail: String| {
            RPCError::Unreachable(Unreachable::new(&std::io::Error::new(
                std::io::ErrorKind::NotConnected,
                detail,
            )))
        };
        let network = |detail: String| RPCError::Network(NetworkError::new(&std::io::Error::other(detail)));
        let Some(client) = self.client.as_mut() else {
            return Err(unreachable(format!(
                "invalid address {:?} for node {}",
                self.addr, self.target
            )));
        };
        let data = postcard::to_stdvec(request).map_err(|e| network(format!("encoding: {e}")))?;
        let mut req = tonic::Request::new(RaftRequest {
            target: self.target,
            data: data.into(),
        });
        req.set_timeout(option.hard_ttl());
        let reply = match rpc {
            Rpc::AppendEntries => client.append_entries(req).await,
            Rpc::Vote => client.vote(req).await,
            Rpc::InstallSnapshot => client.install_snapshot(req).await,
        };
        let reply = reply.map_err(|status| match status.code() {
            tonic::Code::Unavailable | tonic::Code::FailedPrecondition => unreachable(format!(
                "node {} at {}: {}",
                self.target,
                self.addr,
                status.message()
            )),
            _ => network(format!("node {} at {}: {status}", self.target, self.addr)),
        })?;
        let result: Result<Resp, RaftError<NodeId, E>> = postcard::from_bytes(&reply.into_inner().data)
            .map_err(|e| network(format!("decoding a reply from node {}: {e}", self.target)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for Connection {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<NodeId>, RPCError<NodeId, Node, RaftError<NodeId>>> {
        let sent = Instant::now();
        let response = self.call(Rpc::AppendEntries, &rpc, &option).await?;
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
        let request = request.into_inner();
        if request.target != self.id {
            return Err(tonic::Status::failed_precondition(format!(
                "this is node {}, not node {}",
                self.id, request.target
            )));
        }
        postcard::from_bytes(&request.data)
            .map_err(|e| tonic::Status::invalid_argument(format!("undecodable Raft request: {e}")))
    }
}

fn reply<T: Serialize>(result: &T) -> Result<tonic::Response<RaftReply>, tonic::Status> {
    let data = postcard::to_stdvec(result).map_err(|e| tonic::Status::internal(format!("encoding: {e}")))?;
    Ok(tonic::Response::new(RaftReply { data: data.into() }))
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
