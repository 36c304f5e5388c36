//! `quorumdb start`: run one node until SIGINT or SIGTERM, then stop
//! gracefully (stop accepting connections, stop Raft, flush).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use quorumdb_raft::node::RaftTuning;
use quorumdb_server::node::{Node, NodeConfig};
use quorumdb_server::pgwire::{AuthMode, PgConfig};

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
}

pub fn run(args: StartArgs) -> Result<ExitCode, BoxError> {
    crate::init_logging("info");
    crate::fault_switches()?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(serve(args))?;
    Ok(ExitCode::SUCCESS)
}

pub fn config(args: &StartArgs) -> NodeConfig {
    let pg = PgConfig {
        auth: if args.require_password {
            AuthMode::PasswordEverywhere
        } else {
            AuthMode::TrustLoopback
        },
        ..PgConfig::default()
    };
    NodeConfig {
        id: args.id,
        data_dir: args.data_dir.clone(),
        sql_listen: args.sql_addr,
        grpc_listen: args.grpc_addr,
        grpc_advertise: args.advertise_addr.clone(),
        http_listen: args.http_addr,
        join: args.join.clone(),
        tuning: RaftTuning::default(),
        pg,
    }
}

async fn serve(args: StartArgs) -> Result<(), BoxError> {
    let node = Node::start(config(&args)).await?;
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
