//! Hostile input on the ports a node listens on, against a 3-node cluster
//! of the real binary: raw garbage on the gRPC and HTTP ports, and
//! well-formed gRPC calls whose payloads are garbage (Raft messages,
//! forwarded commits, read-index requests, membership changes that make no
//! sense). Every call must come back with an error, and afterwards every
//! node must still be running, healthy, serving SQL, and no log may show a
//! panic. (Garbage on the SQL port is covered in the server's tests.)

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use quorumdb_raft::pb::admin::admin_client::AdminClient;
use quorumdb_raft::pb::admin::{AddNodeRequest, CommitRequest, RemoveNodeRequest, StreamedCommit};
use quorumdb_raft::pb::raft::RaftRequest;
use quorumdb_raft::pb::raft::raft_client::RaftClient;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::Channel;

/// How long one hostile call may take to be answered (or refused).
const ANSWER: Duration = Duration::from_secs(30);

/// Deterministic junk of `len` bytes (xorshift, seeded per call).
fn junk(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Payloads that stress a decoder: empty, tiny, all ones (huge varints),
/// random of several sizes.
fn payloads() -> Vec<Vec<u8>> {
    let mut out = vec![vec![], vec![0], vec![0xff; 64], vec![0x80; 4096]];
    for (seed, len) in [(1, 3), (2, 17), (3, 256), (4, 70_000)] {
        out.push(junk(seed, len));
    }
    out
}

async fn channel(addr: SocketAddr) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .timeout(ANSWER)
        .connect()
        .await
        .expect("connect to the gRPC port")
}

/// Writes `bytes` to `addr` and reads whatever comes back until the peer
/// closes or has been quiet for a moment (a server may well wait for the
/// rest of a request); the node must not die.
async fn raw(addr: SocketAddr, bytes: &[u8]) {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        panic!("{addr} refused a connection");
    };
    let _ = s.write_all(bytes).await;
    let mut buf = [0u8; 4096];
    let _ = tokio::time::timeout(Duration::from_millis(300), async {
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

async fn attack_raw(grpc: SocketAddr, http: SocketAddr) {
    for addr in [grpc, http] {
        for p in payloads() {
            raw(addr, &p).await;
        }
        raw(
            addr,
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
        )
        .await;
        // An HTTP/2 preface, then a frame header announcing 16 MiB of junk.
        let mut h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
        h2.extend_from_slice(&[0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01]);
        h2.extend_from_slice(&junk(9, 1000));
        raw(addr, &h2).await;
    }
    for path in ["/", "/health/../../etc/passwd", "/metrics?x=%ff%fe", "/%00"] {
        let _ = http_get(http, path);
    }
}

async fn attack_raft(grpc: SocketAddr, target: u64) {
    let mut raft = RaftClient::new(channel(grpc).await);
    for (i, data) in payloads().into_iter().enumerate() {
        for target in [target, target + 100] {
            let req = || RaftRequest {
                target,
                data: data.clone().into(),
                seq: i as u64,
            };
            let ae = tokio::time::timeout(ANSWER, raft.append_entries(req())).await;
            let vote = tokio::time::timeout(ANSWER, raft.vote(req())).await;
            let snap = tokio::time::timeout(ANSWER, raft.install_snapshot(req())).await;
            for (what, r) in [("append", ae), ("vote", vote), ("snapshot", snap)] {
                let answered = r.unwrap_or_else(|_| panic!("{what} with junk was not answered"));
                // Either refused, or answered with an error inside the
                // reply; never accepted as a real message.
                if let Ok(reply) = answered {
                    assert!(
                        !reply.get_ref().data.is_empty(),
                        "{what} with junk answered with nothing"
                    );
                }
            }
        }
    }
    let stream =
        futures::stream::iter(
            payloads()
                .into_iter()
                .enumerate()
                .map(move |(i, data)| RaftRequest {
                    target,
                    data: data.into(),
                    seq: i as u64,
                }),
        );
    if let Ok(Ok(replies)) = tokio::time::timeout(ANSWER, raft.append_entries_stream(stream)).await {
        let mut replies = replies.into_inner();
        let _ = tokio::time::timeout(ANSWER, async {
            while let Ok(Some(_)) = replies.message().await {}
        })
        .await;
    }
}

async fn attack_admin(grpc: SocketAddr, member: SocketAddr) {
    let mut admin = AdminClient::new(channel(grpc).await);
    for data in payloads() {
        let r = tokio::time::timeout(ANSWER, admin.commit(CommitRequest { commit: data.into() })).await;
        let answered = r.expect("a junk commit was not answered");
        assert!(answered.is_err(), "a junk commit was accepted: {answered:?}");
    }
    let stream =
        futures::stream::iter(
            payloads()
                .into_iter()
                .enumerate()
                .map(|(i, commit)| StreamedCommit {
                    id: i as u64,
                    commit: commit.into(),
                    read_index: false,
                }),
        );
    if let Ok(Ok(replies)) = tokio::time::timeout(ANSWER, admin.commit_stream(stream)).await {
        let mut replies = replies.into_inner();
        let _ = tokio::time::timeout(ANSWER, async {
            while let Ok(Some(_)) = replies.message().await {}
        })
        .await;
    }
    // Id 0, addresses that are not host:port, a member's id at another
    // address, a well-formed address where nothing answers, and a member's
    // address under another id (refused after a bounded wait, not added).
    let member = member.to_string();
    for (id, addr) in [
        (0, "127.0.0.1:1"),
        (9, ""),
        (9, "not an address"),
        (9, "[::1"),
        (9, "host:0"),
        (1, "127.0.0.1:1"),
        (9, "127.0.0.1:1"),
        (9, member.as_str()),
    ] {
        let r = tokio::time::timeout(
            ANSWER,
            admin.add_node(AddNodeRequest {
                id,
                grpc_addr: addr.into(),
            }),
        )
        .await
        .unwrap_or_else(|_| panic!("add_node({id}, {addr:?}) was not answered"));
        let error = r
            .map(|reply| reply.into_inner().error)
            .unwrap_or_else(|s| s.message().to_owned());
        assert!(!error.is_empty(), "add_node({id}, {addr:?}) was accepted");
    }
    for id in [0, 99, u64::MAX] {
        let r = tokio::time::timeout(ANSWER, admin.remove_node(RemoveNodeRequest { id }))
            .await
            .unwrap_or_else(|_| panic!("remove_node({id}) was not answered"));
        let error = r
            .map(|reply| reply.into_inner().error)
            .unwrap_or_else(|s| s.message().to_owned());
        assert!(
            !error.is_empty(),
            "remove_node({id}) of a non-member was accepted"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_every_port_leaves_every_node_serving() {
    let cluster = Cluster::start(3, &[]).await;
    let leader = cluster.leader().await;
    for p in cluster.running() {
        attack_raw(p.grpc, p.http).await;
        attack_raft(p.grpc, p.id).await;
    }
    // Membership changes go to the leader whichever node is asked: once
    // through a follower is enough.
    let follower = cluster.running().find(|p| p.id != leader).expect("a follower");
    attack_admin(follower.grpc, cluster.get(leader).grpc).await;
    let (members, _) = node_status(cluster.get(leader).grpc).await;
    assert_eq!(members.len(), 3, "membership changed: {members:?}");
    for p in cluster.running() {
        // (A node that died does not answer /health.)
        assert!(p.healthy(), "node {} is not healthy after the junk", p.id);
        let client = connect(&p.url()).await.expect("SQL still answers");
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS after_junk (id INT PRIMARY KEY); INSERT INTO after_junk VALUES ({})",
                p.id
            ))
            .await
            .expect("writes still commit");
        let log = p.log();
        assert!(!log.contains("panicked"), "node {} panicked:\n{log}", p.id);
    }
    let client = connect(&cluster.get(leader).url()).await.expect("SQL");
    let n: i64 = client
        .query_one("SELECT count(*) FROM after_junk", &[])
        .await
        .expect("read")
        .get(0);
    assert_eq!(n, 3);
}
