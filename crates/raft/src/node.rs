//! A replicated store: storage, Raft, the gRPC server, bootstrap and GC.
//!
//! [`RaftNode::start`] opens `<data>/state` (the sled MVCC store) and
//! `<data>/raft-log` (the durable log), starts openraft and serves the Raft
//! and admin gRPC services. A pristine node either initialises a new
//! single-node cluster or, given `join`, asks an existing member to add it
//! (learner first; voter once caught up). A node restarted with the same
//! data directory simply rejoins; a data directory that belongs to another
//! node id is refused.
//!
//! The leader also proposes GC entries: every [`GC_EVERY`] it raises the
//! horizon to the version it had applied `gc_retention` ago, so readers get a
//! retention window in wall-clock time.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use openraft::{Config, SnapshotPolicy};
use quorumdb_storage::{Engine, KvStore, Mvcc, SledEngine};
use tokio::sync::watch;

use crate::admin::{self, AdminService};
use crate::applied::AppliedWaiters;
use crate::commit_batch::CommitBatcher;
use crate::committer::RaftCommitter;
use crate::forward::Forwarder;
use crate::lease::LeaderLease;
use crate::log::{Log, LogOptions};
use crate::log_store::LogStore;
use crate::network::{Channels, Network, RaftService};
use crate::pb::admin::AddNodeRequest;
use crate::read_index::ReadIndexBatcher;
use crate::state_machine::StateMachine;
use crate::types::{Node, NodeId, Raft, Request};

/// How often the leader considers proposing a GC entry.
pub const GC_EVERY: Duration = Duration::from_secs(10);

/// Raft timing and log knobs.
#[derive(Clone, Debug)]
pub struct RaftTuning {
    /// Heartbeat interval; also openraft's AppendEntries timeout, so it must
    /// cover a follower's disk sync and a full batch on the wire.
    pub heartbeat_ms: u64,
    pub election_timeout_min_ms: u64,
    pub election_timeout_max_ms: u64,
    /// Build a snapshot after this many entries since the last one.
    pub snapshot_every: u64,
    /// Entries kept in the log behind a snapshot (for slightly lagging
    /// followers).
    pub keep_after_snapshot: u64,
    /// How long old versions stay readable.
    pub gc_retention: Duration,
    /// How often the state machine checkpoints (see
    /// `quorumdb_storage::Durability::Checkpointed`): after a crash, the
    /// entries applied since the last checkpoint are applied again.
    pub checkpoint_every: Duration,
    pub log: LogOptions,
}

impl Default for RaftTuning {
    fn default() -> Self {
        Self {
            heartbeat_ms: 200,
            election_timeout_min_ms: 1000,
            election_timeout_max_ms: 2000,
            snapshot_every: 20_000,
            keep_after_snapshot: 5_000,
            gc_retention: Duration::from_secs(600),
            checkpoint_every: Duration::from_secs(1),
            log: LogOptions::default(),
        }
    }
}

#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub id: NodeId,
    pub data_dir: PathBuf,
    /// Where the gRPC server listens (port 0 picks one).
    pub grpc_listen: SocketAddr,
    /// The address peers use; defaults to the bound listen address.
    pub grpc_advertise: Option<String>,
    /// A member's gRPC address to join through; `None` starts a new cluster
    /// (or rejoins, if the data directory already belongs to one).
    pub join: Option<String>,
    pub tuning: RaftTuning,
}

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error(transparent)]
    Storage(#[from] quorumdb_storage::Error),
    #[error(transparent)]
    Log(#[from] crate::log::LogError),
    #[error(
        "{path} belongs to node {stored}, not node {requested}; use --id {stored} or another data directory"
    )]
    WrongNodeId {
        path: PathBuf,
        stored: NodeId,
        requested: NodeId,
    },
    #[error("cannot listen for gRPC on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("raft: {0}")]
    Raft(String),
}

/// A running replicated store.
pub struct RaftNode {
    id: NodeId,
    raft: Raft,
    mvcc: Mvcc,
    kv: KvStore,
    committer: Arc<RaftCommitter>,
    lease: Arc<LeaderLease>,
    grpc_addr: SocketAddr,
    committed: Arc<AtomicU64>,
    log: Arc<Log>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

const NODE_ID: &str = "node/id";

impl RaftNode {
    pub async fn start(config: NodeConfig) -> Result<Self, NodeError> {
        let id = config.id;
        let state_dir = config.data_dir.join("state");
        let log_dir = config.data_dir.join("raft-log");
        // Applies are checkpointed, not atomic: the log replays what came
        // after the last checkpoint (see quorumdb_storage::mvcc).
        let mvcc = {
            let dir = state_dir.clone();
            tokio::task::spawn_blocking(move || {
                let engine: Arc<dyn Engine> = Arc::new(SledEngine::open(dir)?);
                Mvcc::open_checkpointed(engine)
            })
            .await
            .map_err(|e| NodeError::Raft(e.to_string()))??
        };
        std::fs::create_dir_all(&log_dir).map_err(|e| crate::log::LogError::Io {
            path: log_dir.clone(),
            op: "create",
            source: e,
        })?;
        let log = Arc::new(Log::open(&log_dir, config.tuning.log.clone())?);
        match log.read_meta(NODE_ID)? {
            Some(raw) => {
                let stored = raw
                    .as_slice()
                    .try_into()
                    .map(u64::from_be_bytes)
                    .map_err(|_| NodeError::Raft(format!("{}: unreadable node id", log_dir.display())))?;
                if stored != id {
                    return Err(NodeError::WrongNodeId {
                        path: config.data_dir.clone(),
                        stored,
                        requested: id,
                    });
                }
            }
            None => log.save_meta(NODE_ID, &id.to_be_bytes())?,
        }

        let tuning = &config.tuning;
        let raft_config = Config {
            cluster_name: "quorumdb".into(),
            heartbeat_interval: tuning.heartbeat_ms,
            election_timeout_min: tuning.election_timeout_min_ms,
            election_timeout_max: tuning.election_timeout_max_ms,
            install_snapshot_timeout: 10_000,
            snapshot_max_chunk_size: 4 << 20,
            max_payload_entries: 256,
            snapshot_policy: SnapshotPolicy::LogsSinceLast(tuning.snapshot_every),
            max_in_snapshot_log_to_keep: tuning.keep_after_snapshot,
            replication_lag_threshold: tuning.snapshot_every.max(1000),
            ..Default::default()
        }
        .validate()
        .map_err(|e| NodeError::Raft(e.to_string()))?;

        let channels = Channels::default();
        let lease = Arc::new(LeaderLease::new(
            id,
            LeaderLease::duration_for(Duration::from_millis(tuning.election_timeout_min_ms)),
        ));
        let applied = Arc::new(AppliedWaiters::default());
        let log_store = LogStore::new(log.clone());
        let read_floor = log_store.read_floor()?;
        let committed = log_store.committed_index();
        let raft = Raft::new(
            id,
            Arc::new(raft_config),
            Network::new(channels.clone(), lease.clone()),
            log_store,
            StateMachine::new(mvcc.clone(), applied.clone()),
        )
        .await
        .map_err(|e| NodeError::Raft(e.to_string()))?;

        // Follower -> leader: commits and read-index requests share a stream.
        let forwarder = Arc::new(Forwarder::default());
        let read_index = {
            let (raft, channels, lease, forwarder) =
                (raft.clone(), channels.clone(), lease.clone(), forwarder.clone());
            ReadIndexBatcher::new(move || {
                let round = RaftCommitter::fetch_read_index(
                    id,
                    raft.clone(),
                    channels.clone(),
                    read_floor,
                    lease.clone(),
                    forwarder.clone(),
                );
                // A round that never ends would stall every later read.
                Box::pin(async move {
                    tokio::time::timeout(crate::admin::COMMIT_TIMEOUT, round)
                        .await
                        .unwrap_or_else(|_| Err("no read index within the commit timeout".into()))
                })
            })
        };
        let commits = CommitBatcher::new(raft.clone());
        let listener = tokio::net::TcpListener::bind(config.grpc_listen)
            .await
            .map_err(|source| NodeError::Bind {
                addr: config.grpc_listen,
                source,
            })?;
        let grpc_addr = listener.local_addr().map_err(|source| NodeError::Bind {
            addr: config.grpc_listen,
            source,
        })?;
        let advertise = config
            .grpc_advertise
            .clone()
            .unwrap_or_else(|| grpc_addr.to_string());
        let (shutdown, mut shutdown_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let server = tonic::transport::Server::builder()
            .add_service(RaftService::server(id, raft.clone(), lease.clone()))
            .add_service(AdminService::server(
                id,
                raft.clone(),
                channels.clone(),
                committed.clone(),
                read_index.clone(),
                commits.clone(),
            ))
            .serve_with_incoming_shutdown(
                // Nagle's algorithm on the server side would hold small
                // replies (AppendEntries acks) back for a delayed ACK: ~40 ms.
                tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
                async move {
                    let _ = shutdown_rx.wait_for(|stop| *stop).await;
                },
            );
        tasks.push(tokio::spawn(async move {
            if let Err(e) = server.await {
                tracing::error!("gRPC server failed: {e}");
            }
        }));
        tracing::info!(node = id, grpc = %grpc_addr, "raft node started");

        let initialized = raft
            .is_initialized()
            .await
            .map_err(|e| NodeError::Raft(e.to_string()))?;
        if !initialized {
            match &config.join {
                None => {
                    let members = BTreeMap::from([(
                        id,
                        Node {
                            addr: advertise.clone(),
                        },
                    )]);
                    raft.initialize(members)
                        .await
                        .map_err(|e| NodeError::Raft(e.to_string()))?;
                    tracing::info!(node = id, "initialised a new single-node cluster");
                }
                Some(seed) => tasks.push(tokio::spawn(join(
                    id,
                    advertise.clone(),
                    seed.clone(),
                    channels.clone(),
                ))),
            }
        }
        tasks.push(tokio::spawn(checkpoint(
            mvcc.clone(),
            tuning.checkpoint_every,
            shutdown.subscribe(),
        )));
        tasks.push(tokio::spawn(propose_gc(
            raft.clone(),
            mvcc.clone(),
            id,
            tuning.gc_retention,
            shutdown.subscribe(),
        )));

        let committer = Arc::new(RaftCommitter {
            id,
            raft: raft.clone(),
            mvcc: mvcc.clone(),
            channels,
            runtime: tokio::runtime::Handle::current(),
            read_index,
            commits,
            forwarder,
            applied,
            acked: std::sync::atomic::AtomicU64::new(0),
        });
        let kv = KvStore::new(mvcc.clone(), committer.clone());
        Ok(Self {
            id,
            raft,
            mvcc,
            kv,
            committer,
            lease,
            grpc_addr,
            committed,
            log,
            shutdown,
            tasks,
        })
    }

    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The transactional store the SQL layer uses on this node.
    pub fn kv(&self) -> KvStore {
        self.kv.clone()
    }

    /// The replicated committer, for callers that wrap it (metrics).
    pub fn committer(&self) -> Arc<RaftCommitter> {
        self.committer.clone()
    }

    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    pub fn mvcc(&self) -> &Mvcc {
        &self.mvcc
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// Read indexes this node served as leader: (from its lease, after a
    /// quorum round). See [`crate::lease`].
    pub fn read_index_counts(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.lease.lease_reads.load(Relaxed),
            self.lease.quorum_reads.load(Relaxed),
        )
    }

    /// The commit index as last reported by Raft.
    pub fn committed_index(&self) -> u64 {
        self.committed.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn log_stats(&self) -> crate::log::LogStats {
        self.log.stats()
    }

    /// Stops Raft and the gRPC server, and waits until the store is closed
    /// (so the same data directory can be opened again at once). Callers
    /// must drop their own [`KvStore`] clones first.
    pub async fn shutdown(self) {
        let RaftNode {
            id,
            raft,
            mvcc,
            kv,
            committer,
            shutdown,
            tasks,
            ..
        } = self;
        let _ = shutdown.send(true);
        if let Err(e) = raft.shutdown().await {
            tracing::warn!("raft shutdown: {e}");
        }
        for task in tasks {
            task.abort();
            let _ = task.await;
        }
        drop((kv, committer, raft));
        // A clean stop replays nothing at the next start.
        let store = mvcc.clone();
        match tokio::task::spawn_blocking(move || store.sync()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(node = id, "final checkpoint failed: {e}"),
            Err(e) => tracing::warn!(node = id, "final checkpoint failed: {e}"),
        }
        // openraft's state-machine task lets go of its handle shortly after
        // the core stops; wait (bounded) so sled's lock is released.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while mvcc.handle_count() > 1 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if mvcc.handle_count() > 1 {
            tracing::warn!(
                node = id,
                handles = mvcc.handle_count(),
                "the store is still in use after shutdown"
            );
        }
        tracing::info!(node = id, "raft node stopped");
    }
}

/// Asks `seed` (any member) to add this node, retrying until it succeeds.
async fn join(id: NodeId, advertise: String, seed: String, channels: Channels) {
    let mut delay = Duration::from_millis(200);
    loop {
        let node = Node { addr: seed.clone() };
        // The seed's id is unknown; id 0 names the cache slot only.
        let result = match admin::client(&channels, 0, &node) {
            Ok(mut client) => client
                .add_node(AddNodeRequest {
                    id,
                    grpc_addr: advertise.clone(),
                })
                .await
                .map(|r| r.into_inner().error)
                .map_err(|s| s.message().to_string()),
            Err(e) => Err(e),
        };
        match result {
            Ok(error) if error.is_empty() => {
                tracing::info!(node = id, seed = %seed, "joined the cluster as a voter");
                return;
            }
            Ok(error) | Err(error) => tracing::info!(node = id, seed = %seed, "join not done yet: {error}"),
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// Checkpoints the state machine every `every` while it applies entries.
async fn checkpoint(mvcc: Mvcc, every: Duration, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if mvcc.applied() <= mvcc.checkpointed() {
            continue;
        }
        let store = mvcc.clone();
        match tokio::task::spawn_blocking(move || store.sync()).await {
            Ok(Ok(())) => tracing::trace!(version = mvcc.checkpointed(), "checkpointed the state machine"),
            Ok(Err(e)) => tracing::warn!("checkpointing the state machine failed: {e}"),
            Err(e) => tracing::warn!("checkpointing the state machine failed: {e}"),
        }
    }
}

/// On the leader, proposes GC entries that keep `retention` of history.
async fn propose_gc(
    raft: Raft,
    mvcc: Mvcc,
    id: NodeId,
    retention: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut samples: VecDeque<(Instant, u64)> = VecDeque::new();
    let every = GC_EVERY.min(retention.max(Duration::from_millis(100)));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let now = Instant::now();
        samples.push_back((now, mvcc.applied()));
        let mut horizon = None;
        while let Some(&(at, version)) = samples.front() {
            if now.duration_since(at) < retention {
                break;
            }
            horizon = Some(version);
            samples.pop_front();
        }
        let Some(horizon) = horizon else { continue };
        if raft.current_leader().await != Some(id) || horizon <= mvcc.horizon() {
            continue;
        }
        match raft.client_write(Request::Gc { horizon }).await {
            Ok(_) => tracing::debug!(horizon, "proposed a GC horizon"),
            Err(e) => tracing::debug!("GC proposal failed: {e}"),
        }
    }
}
