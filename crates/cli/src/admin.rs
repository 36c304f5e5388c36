//! `quorumdb node status` and `quorumdb node remove`: cluster administration
//! over a node's admin gRPC service.

use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;
use quorumdb_raft::pb::admin::admin_client::AdminClient;
use quorumdb_raft::pb::admin::{RemoveNodeRequest, StatusReply, StatusRequest};
use tonic::transport::Channel;

use crate::BoxError;

#[derive(Subcommand, Clone, Debug)]
pub enum NodeCommand {
    /// Members, roles, term, commit and applied index, replication lag.
    Status {
        /// gRPC address of any node.
        #[arg(long, env = "QUORUMDB_HOST", default_value = "127.0.0.1:7433")]
        host: String,
    },
    /// Take node N out of the cluster (it stops receiving Raft traffic; stop
    /// its process afterwards).
    Remove {
        #[arg(long)]
        id: u64,
        /// gRPC address of any node.
        #[arg(long, env = "QUORUMDB_HOST", default_value = "127.0.0.1:7433")]
        host: String,
    },
}

pub fn run(command: NodeCommand) -> Result<ExitCode, BoxError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        match command {
            NodeCommand::Status { host } => status(&host).await,
            NodeCommand::Remove { id, host } => remove(&host, id).await,
        }
    })
}

pub async fn client(host: &str) -> Result<AdminClient<Channel>, BoxError> {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{host}"))
        .map_err(|e| format!("bad address {host:?}: {e}"))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(30))
        .connect()
        .await
        .map_err(|e| format!("cannot reach a node's gRPC port at {host}: {e}"))?;
    Ok(AdminClient::new(channel))
}

pub async fn fetch_status(host: &str) -> Result<StatusReply, BoxError> {
    let mut client = client(host).await?;
    Ok(client
        .status(StatusRequest {})
        .await
        .map_err(|s| format!("{host}: {}", s.message()))?
        .into_inner())
}

async fn status(host: &str) -> Result<ExitCode, BoxError> {
    let here = fetch_status(host).await?;
    // Replication progress is only known to the leader: ask it.
    let leader = match (here.leader_id, here.leader_id == Some(here.node_id)) {
        (Some(_), true) => Some(here.clone()),
        (Some(id), false) => match here.members.iter().find(|m| m.id == id) {
            Some(m) => fetch_status(&m.grpc_addr).await.ok(),
            None => None,
        },
        (None, _) => None,
    };
    println!(
        "node {} at {host}: {} in term {}, leader {}",
        here.node_id,
        here.state,
        here.term,
        here.leader_id
            .map(|l| l.to_string())
            .unwrap_or_else(|| "unknown".into())
    );
    println!(
        "log: last index {}, committed {}, applied {}, snapshot {}, purged {}",
        here.last_log_index,
        here.commit_index,
        here.applied_index,
        here.snapshot_index
            .map(|i| i.to_string())
            .unwrap_or_else(|| "-".into()),
        here.purged_index
            .map(|i| i.to_string())
            .unwrap_or_else(|| "-".into())
    );
    let columns = ["id", "grpc address", "role", "matched index", "lag"]
        .map(String::from)
        .to_vec();
    let source = leader.as_ref().unwrap_or(&here);
    let rows: Vec<Vec<Option<String>>> = source
        .members
        .iter()
        .map(|m| {
            let role = if source.leader_id == Some(m.id) {
                "leader"
            } else if m.voter {
                "voter"
            } else {
                "learner"
            };
            let lag = m
                .matched_index
                .map(|i| source.last_log_index.saturating_sub(i).to_string());
            vec![
                Some(m.id.to_string()),
                Some(m.grpc_addr.clone()),
                Some(role.into()),
                m.matched_index.map(|i| i.to_string()),
                lag,
            ]
        })
        .collect();
    print!("{}", crate::table::render(&columns, &rows, false));
    if leader.is_none() {
        println!("(no leader reachable: replication progress unknown)");
    }
    Ok(ExitCode::SUCCESS)
}

async fn remove(host: &str, id: u64) -> Result<ExitCode, BoxError> {
    let mut client = client(host).await?;
    let reply = client
        .remove_node(RemoveNodeRequest { id })
        .await
        .map_err(|s| format!("{host}: {}", s.message()))?
        .into_inner();
    if reply.error.is_empty() {
        println!("node {id} removed from the cluster");
        Ok(ExitCode::SUCCESS)
    } else {
        Err(format!("could not remove node {id}: {}", reply.error).into())
    }
}
