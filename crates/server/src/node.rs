//! A QuorumDB node: the replicated store plus its three listeners.
//!
//! ```text
//!   SQL clients ──► pgwire (sql addr) ──► SQL sessions ──► KvStore ─┐
//!   operators  ──► HTTP /health /metrics (http addr)                 │ MeteredCommitter
//!   peers      ──► gRPC Raft + admin (grpc addr) ◄──────── RaftNode ◄┘
//! ```
//!
//! Start-up order is chosen so that mistakes fail fast and clearly: the data
//! directory is checked first, then the SQL and HTTP ports are bound (a port
//! in use is a one-line error), and only then does Raft start.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use quorumdb_raft::node::{NodeConfig as RaftConfig, NodeError, RaftNode, RaftTuning};
use quorumdb_storage::KvStore;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::metrics::{MeteredCommitter, Metrics};
use crate::pgwire::{self, PgConfig};

/// Everything a node needs to start.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    pub id: u64,
    pub data_dir: PathBuf,
    pub sql_listen: SocketAddr,
    pub grpc_listen: SocketAddr,
    pub grpc_advertise: Option<String>,
    pub http_listen: SocketAddr,
    pub join: Option<String>,
    pub tuning: RaftTuning,
    pub pg: PgConfig,
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("data directory {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("cannot listen for {what} on {addr}: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Raft(#[from] NodeError),
}

/// A running node.
pub struct Node {
    raft: Arc<RaftNode>,
    kv: KvStore,
    metrics: Arc<Metrics>,
    sql_addr: SocketAddr,
    http_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// How long shutdown waits for the SQL endpoint: its connections'
    /// grace period, and a little more.
    drain: std::time::Duration,
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| StartError::Bind { what, addr, source })
}

/// Creates the data directory and checks that it is writable.
fn check_data_dir(path: &PathBuf) -> Result<(), StartError> {
    let err = |source| StartError::DataDir {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(path).map_err(err)?;
    let probe = path.join(".write-test");
    std::fs::write(&probe, b"ok").map_err(err)?;
    std::fs::remove_file(&probe).map_err(err)
}

impl Node {
    pub async fn start(config: NodeConfig) -> Result<Self, StartError> {
        check_data_dir(&config.data_dir)?;
        let sql = bind("SQL (PostgreSQL protocol)", config.sql_listen).await?;
        let http = bind("HTTP", config.http_listen).await?;
        let sql_addr = sql.local_addr().map_err(|source| StartError::Bind {
            what: "SQL",
            addr: config.sql_listen,
            source,
        })?;
        let http_addr = http.local_addr().map_err(|source| StartError::Bind {
            what: "HTTP",
            addr: config.http_listen,
            source,
        })?;

        let raft = Arc::new(
            RaftNode::start(RaftConfig {
                id: config.id,
                data_dir: config.data_dir.clone(),
                grpc_listen: config.grpc_listen,
                grpc_advertise: config.grpc_advertise.clone(),
                join: config.join.clone(),
                tuning: config.tuning.clone(),
            })
            .await?,
        );
        let metrics = Arc::new(Metrics::default());
        let committer = Arc::new(MeteredCommitter::new(raft.committer(), metrics.clone()));
        let kv = KvStore::new(raft.mvcc().clone(), committer);

        let (stop, _) = watch::channel(false);
        let mut tasks = Vec::new();
        let pg = pgwire::serve(sql, kv.clone(), config.pg.clone(), stop.subscribe());
        tasks.push(tokio::spawn(async move {
            if let Err(e) = pg.await {
                tracing::error!("SQL endpoint failed: {e}");
            }
        }));
        tasks.push(tokio::spawn(crate::http::serve(
            http,
            raft.clone(),
            metrics.clone(),
            stop.subscribe(),
        )));
        tracing::info!(
            node = config.id,
            sql = %sql_addr,
            grpc = %raft.grpc_addr(),
            http = %http_addr,
            data = %config.data_dir.display(),
            "node serving"
        );
        Ok(Self {
            raft,
            kv,
            metrics,
            sql_addr,
            http_addr,
            stop,
            tasks,
            drain: config.pg.shutdown_grace + std::time::Duration::from_secs(2),
        })
    }

    pub fn id(&self) -> u64 {
        self.raft.id()
    }

    pub fn sql_addr(&self) -> SocketAddr {
        self.sql_addr
    }

    pub fn http_addr(&self) -> SocketAddr {
        self.http_addr
    }

    pub fn grpc_addr(&self) -> SocketAddr {
        self.raft.grpc_addr()
    }

    pub fn kv(&self) -> KvStore {
        self.kv.clone()
    }

    pub fn raft_node(&self) -> &RaftNode {
        &self.raft
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Stops accepting connections, then stops Raft and closes the store.
    pub async fn shutdown(self) {
        let Node {
            raft,
            kv,
            stop,
            tasks,
            drain,
            ..
        } = self;
        let _ = stop.send(true);
        for task in tasks {
            let _ = tokio::time::timeout(drain, task).await;
        }
        drop(kv);
        match Arc::try_unwrap(raft) {
            Ok(raft) => raft.shutdown().await,
            Err(raft) => {
                // A connection task still holds it; stop Raft anyway.
                if let Err(e) = raft.raft().shutdown().await {
                    tracing::warn!("raft shutdown: {e}");
                }
            }
        }
    }
}
