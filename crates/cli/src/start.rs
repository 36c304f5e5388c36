//! `quorumdb start`: run one node until SIGINT or SIGTERM, then stop
//! gracefully (stop accepting connections, stop Raft, flush).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use quorumdb_raft::node::RaftTuning;
use quorumdb_server::node::{Node, NodeConfig};
use quorumdb_server::pgwire::{AuthMode, PgConfig, TlsConfig};

use crate::BoxError;

#[derive(Args, Clone, Debug)]
pub struct StartArgs {
    /// This node's id: a positive number, unique in the cluster, fixed for
    /// the life of its data directory.
    #[arg(long, env = "QUORUMDB_ID", default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub id: u64,
    /// Where the node keeps its data (created if missing).
    #[arg(long, env = "QUORUMDB_DATA_DIR", default_value = "quorumdb-data")]
    pub data_dir: PathBuf,
    /// Address for PostgreSQL clients.
    #[arg(long, env = "QUORUMDB_SQL_ADDR", default_value = "127.0.0.1:5433")]
    pub sql_addr: SocketAddr,
    /// Address for Raft and admin gRPC (other nodes and `quorumdb node`).
    #[arg(long, env = "QUORUMDB_GRPC_ADDR", default_value = "127.0.0.1:7433")]
    pub grpc_addr: SocketAddr,
    /// Address other nodes should use for gRPC, if not --grpc-addr (e.g.
    /// when listening on 0.0.0.0).
    #[arg(long, env = "QUORUMDB_ADVERTISE_ADDR")]
    pub advertise_addr: Option<String>,
    /// Address for HTTP /health and /metrics.
    #[arg(long, env = "QUORUMDB_HTTP_ADDR", default_value = "127.0.0.1:8433")]
    pub http_addr: SocketAddr,
    /// gRPC address of any cluster member to join through (first start
    /// only; a restart with the same data directory rejoins by itself).
    #[arg(long, env = "QUORUMDB_JOIN")]
    pub join: Option<String>,
    /// Require a password from every client, also on loopback.
    #[arg(long, env = "QUORUMDB_REQUIRE_PASSWORD")]
    pub require_password: bool,
    /// Build a state-machine snapshot after this many Raft log entries
    /// (default 20000); the log behind it is then purged, except the last
    /// --log-keep entries. Small values make new nodes catch up from a
    /// snapshot (used by tests).
    #[arg(long, env = "QUORUMDB_SNAPSHOT_EVERY", value_parser = clap::value_parser!(u64).range(1..))]
    pub snapshot_every: Option<u64>,
    /// Log entries kept behind the latest snapshot, so a follower that lags
    /// by less catches up from the log (default 5000).
    #[arg(long, env = "QUORUMDB_LOG_KEEP")]
    pub log_keep: Option<u64>,
    /// Worker threads of the node's shared async runtime, which carries
    /// Raft, replication, gRPC and the listeners (default: one per CPU, or
    /// TOKIO_WORKER_THREADS). Statements do not run there (each SQL
    /// connection has a thread of its own), nor do disk syncs and the Raft
    /// log's flusher. When several nodes share one machine (`quorumdb
    /// demo`, a test cluster), give each about CPUs / nodes: more only adds
    /// thread wake-ups (see docs/operations.md).
    #[arg(long, env = "QUORUMDB_WORKER_THREADS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub worker_threads: Option<u16>,
    /// PEM certificate (chain) for TLS on the SQL port; needs --tls-key.
    #[arg(long, env = "QUORUMDB_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS on the SQL port; needs --tls-cert.
    #[arg(long, env = "QUORUMDB_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

pub fn run(args: StartArgs) -> Result<ExitCode, BoxError> {
    crate::init_logging("info");
    crate::fault_switches()?;
    raise_open_files_limit();
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Some(threads) = args.worker_threads {
        runtime.worker_threads(usize::from(threads));
    }
    let runtime = runtime.enable_all().build()?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

/// Raises this process's soft limit on open files to its hard limit. Each
/// SQL connection holds four descriptors (its socket, and its thread's
/// runtime: an epoll instance, a wake-up eventfd, a signal socket), so the
/// usual soft limit of 1,024 would run out at about 250 connections, well
/// below the default connection limit, and take sled and Raft down with it.
fn raise_open_files_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed, which outlives it.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return;
    }
    // Linux refuses more than its nr_open (2^20 by default).
    let wanted = limit.rlim_max.min(1 << 20);
    if limit.rlim_cur >= wanted {
        tracing::info!(open_files = limit.rlim_cur, "limit on open files");
        return;
    }
    let before = limit.rlim_cur;
    limit.rlim_cur = wanted;
    // SAFETY: setrlimit only reads the struct passed.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } == 0 {
        tracing::info!(from = before, to = wanted, "raised the limit on open files");
    } else {
        tracing::warn!(open_files = before, "could not raise the limit on open files");
    }
}

/// The node configuration for `args`. Fails (one line, naming the file)
/// when the TLS certificate or key cannot be used.
pub fn config(args: &StartArgs) -> Result<NodeConfig, BoxError> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsConfig::from_pem_files(cert, key)?),
        (None, None) => None,
        _ => return Err("--tls-cert and --tls-key must be given together".into()),
    };
    let pg = PgConfig {
        auth: if args.require_password {
            AuthMode::PasswordEverywhere
        } else {
            AuthMode::TrustLoopback
        },
        tls,
        ..PgConfig::default()
    };
    Ok(NodeConfig {
        id: args.id,
        data_dir: args.data_dir.clone(),
        sql_listen: args.sql_addr,
        grpc_listen: args.grpc_addr,
        grpc_advertise: args.advertise_addr.clone(),
        http_listen: args.http_addr,
        join: args.join.clone(),
        tuning: tuning(args),
        pg,
    })
}

fn tuning(args: &StartArgs) -> RaftTuning {
    let default = RaftTuning::default();
    RaftTuning {
        snapshot_every: args.snapshot_every.unwrap_or(default.snapshot_every),
        keep_after_snapshot: args.log_keep.unwrap_or(default.keep_after_snapshot),
        ..default
    }
}

async fn serve(args: StartArgs) -> Result<(), BoxError> {
    let node = Node::start(config(&args)?).await?;
    eprintln!(
        "quorumdb node {} ready: SQL on {} (psql -h {} -p {}), gRPC on {}, HTTP on {}",
        node.id(),
        node.sql_addr(),
        node.sql_addr().ip(),
        node.sql_addr().port(),
        node.grpc_addr(),
        node.http_addr()
    );
    wait_for_signal().await?;
    tracing::info!("shutting down");
    node.shutdown().await;
    Ok(())
}

async fn wait_for_signal() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r,
        _ = term.recv() => Ok(()),
    }
}
