//! The operator HTTP endpoint: `GET /health` and `GET /metrics`.
//!
//! A deliberately tiny HTTP/1.1 server (one request per connection, 8 KiB
//! request limit, 5 s to send it): operators and load balancers need two
//! read-only pages, not a web framework. Anything else is 404; a malformed
//! request is 400; nothing a client sends can take the node down.
//!
//! `/health` is 200 while the node serves (Raft running, the node a member
//! of the cluster and a leader known, so statements can make progress), 503
//! with the reason otherwise. A node running a test-only fault switch says
//! so on both pages (see `quorumdb_storage::fault`).

use std::sync::Arc;
use std::time::Duration;

use quorumdb_raft::node::RaftNode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::metrics::Metrics;

pub async fn serve(
    listener: TcpListener,
    node: Arc<RaftNode>,
    metrics: Arc<Metrics>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|s| *s) => return,
        };
        match accepted {
            Ok((stream, _)) => {
                let (node, metrics) = (node.clone(), metrics.clone());
                tokio::spawn(async move {
                    if let Err(e) = handle(stream, &node, &metrics).await {
                        tracing::debug!("http: {e}");
                    }
                });
            }
            Err(e) => {
                tracing::warn!("http accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn handle(mut stream: TcpStream, node: &RaftNode, metrics: &Metrics) -> std::io::Result<()> {
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    let read_head = async {
        loop {
            let n = stream.read(&mut buf[len..]).await?;
            len += n;
            if n == 0 || buf[..len].windows(4).any(|w| w == b"\r\n\r\n") || len == buf.len() {
                return Ok::<_, std::io::Error>(());
            }
        }
    };
    let (status, content_type, body) = match tokio::time::timeout(Duration::from_secs(5), read_head).await {
        Err(_) => (
            "408 Request Timeout",
            "text/plain",
            "request timeout\n".to_string(),
        ),
        Ok(Err(e)) => return Err(e),
        Ok(Ok(())) => {
            let head = String::from_utf8_lossy(&buf[..len]);
            let mut parts = head.lines().next().unwrap_or_default().split_whitespace();
            match (parts.next(), parts.next()) {
                (Some("GET"), Some("/health")) => health(node),
                (Some("GET"), Some("/metrics")) => {
                    ("200 OK", "text/plain; version=0.0.4", metrics.render(node))
                }
                (Some("GET"), Some(_)) => (
                    "404 Not Found",
                    "text/plain",
                    "not found: try /health or /metrics\n".into(),
                ),
                _ => ("400 Bad Request", "text/plain", "bad request\n".into()),
            }
        }
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}

fn health(node: &RaftNode) -> (&'static str, &'static str, String) {
    let m = node.raft().metrics().borrow().clone();
    if let Err(e) = &m.running_state {
        return (
            "503 Service Unavailable",
            "text/plain",
            format!("raft stopped: {e}\n"),
        );
    }
    // A node taken out with `quorumdb node remove` keeps running until it is
    // stopped, and may still name a leader, but it no longer receives the
    // log: statements through it cannot make progress.
    if m.membership_config.membership().get_node(&node.id()).is_none() {
        return (
            "503 Service Unavailable",
            "text/plain",
            format!(
                "node {} is not a member of the cluster (removed, or not yet added)\n",
                node.id()
            ),
        );
    }
    match m.current_leader {
        Some(leader) => (
            "200 OK",
            "text/plain",
            format!(
                "ok: node {} ({:?}), leader {leader}\n{}",
                node.id(),
                m.state,
                fault_note()
            ),
        ),
        None => (
            "503 Service Unavailable",
            "text/plain",
            format!("no leader known to node {}\n{}", node.id(), fault_note()),
        ),
    }
}

/// A second line naming the active fault-injection switches (test builds
/// only), so a node that breaks things on purpose is never mistaken for a
/// real one; empty otherwise.
fn fault_note() -> String {
    let active = quorumdb_storage::fault::active();
    if active.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = active.iter().map(|s| s.name()).collect();
    format!(
        "FAULT INJECTION ACTIVE: {} (a test build that breaks consistency on purpose)\n",
        names.join(", ")
    )
}
