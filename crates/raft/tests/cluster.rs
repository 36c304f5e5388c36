//! In-process clusters: several Raft nodes in one process, each with its own
//! data directory, talking real gRPC over loopback. Transactions run through
//! each node's `KvStore`, exactly as the SQL layer will run them.
//!
//! Timing: tests poll with generous deadlines; nothing sleeps to synchronise.

use std::net::SocketAddr;
use std::ops::Bound;
use std::path::Path;
use std::time::{Duration, Instant};

use quorumdb_raft::node::{NodeConfig, RaftNode, RaftTuning};
use quorumdb_storage::{Error, KvStore, ScanOrder, TxnOptions};

fn tuning() -> RaftTuning {
    RaftTuning {
        heartbeat_ms: 100,
        election_timeout_min_ms: 500,
        election_timeout_max_ms: 1000,
        log: quorumdb_raft::log::LogOptions {
            segment_size: 1 << 20,
            ..Default::default()
        },
        ..Default::default()
    }
}

async fn start(id: u64, dir: &Path, join: Option<SocketAddr>, tuning: RaftTuning) -> RaftNode {
    start_at(id, dir, join, tuning, "127.0.0.1:0".parse().unwrap()).await
}

async fn start_at(
    id: u64,
    dir: &Path,
    join: Option<SocketAddr>,
    tuning: RaftTuning,
    listen: SocketAddr,
) -> RaftNode {
    RaftNode::start(NodeConfig {
        id,
        data_dir: dir.join(format!("n{id}")),
        grpc_listen: listen,
        grpc_advertise: None,
        join: join.map(|a| a.to_string()),
        tuning,
    })
    .await
    .expect("node starts")
}

/// Polls `check` until it is true, or panics after `secs` seconds.
async fn eventually(secs: u64, what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn voters(node: &RaftNode) -> usize {
    node.raft()
        .metrics()
        .borrow()
        .membership_config
        .membership()
        .voter_ids()
        .count()
}

/// Runs blocking transaction code off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

fn put(kv: &KvStore, key: &str, value: &str) -> Result<Option<u64>, Error> {
    let mut txn = kv.begin(TxnOptions::default())?;
    txn.set(key.as_bytes().to_vec(), value.as_bytes().to_vec())?;
    txn.commit()
}

/// A read as an autocommit SELECT does it: the transaction starts at the
/// node's applied version and commits to confirm what it read; a read that
/// turned out stale (40001) is retried, as the SQL session retries.
fn get(kv: &KvStore, key: &str) -> Result<Option<String>, Error> {
    let mut attempts = 0;
    loop {
        let mut txn = kv.begin(TxnOptions::default())?;
        let value = txn.get(key.as_bytes())?.map(|v| String::from_utf8(v).unwrap());
        match txn.commit() {
            Ok(_) => return Ok(value),
            Err(Error::Conflict { .. }) if attempts < 8 => attempts += 1,
            Err(e) => return Err(e),
        }
    }
}

async fn three_nodes(dir: &Path, tuning: RaftTuning) -> Vec<RaftNode> {
    let n1 = start(1, dir, None, tuning.clone()).await;
    let seed = n1.grpc_addr();
    let n2 = start(2, dir, Some(seed), tuning.clone()).await;
    let n3 = start(3, dir, Some(seed), tuning).await;
    let nodes = vec![n1, n2, n3];
    eventually(60, "three voters", || nodes.iter().all(|n| voters(n) == 3)).await;
    nodes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn any_node_serves_linearizable_reads_and_writes() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = three_nodes(dir.path(), tuning()).await;
    let kvs: Vec<KvStore> = nodes.iter().map(|n| n.kv()).collect();

    // Write through every node (followers forward), read through every other.
    for (i, kv) in kvs.iter().enumerate() {
        let kv = kv.clone();
        let v = blocking(move || put(&kv, &format!("k{i}"), &format!("v{i}")))
            .await
            .unwrap();
        assert!(v.is_some());
        for reader in &kvs {
            let reader = reader.clone();
            let got = blocking(move || get(&reader, &format!("k{i}"))).await.unwrap();
            assert_eq!(
                got.as_deref(),
                Some(format!("v{i}").as_str()),
                "read-your-writes across nodes"
            );
        }
    }

    // Conflicting transactions on different nodes: exactly one commits, and
    // every replica agrees on the result.
    let (a, b) = (kvs[1].clone(), kvs[2].clone());
    let outcome = blocking(move || {
        let mut t1 = a.begin(TxnOptions::default()).unwrap();
        let mut t2 = b.begin(TxnOptions::default()).unwrap();
        let x1 = t1.get(b"k0").unwrap();
        let x2 = t2.get(b"k0").unwrap();
        assert_eq!(x1, x2);
        t1.set(b"k0".to_vec(), b"from-2".to_vec()).unwrap();
        t2.set(b"k0".to_vec(), b"from-3".to_vec()).unwrap();
        (t1.commit(), t2.commit())
    })
    .await;
    assert!(outcome.0.is_ok(), "{:?}", outcome.0);
    assert!(
        matches!(outcome.1, Err(Error::Conflict { .. })),
        "{:?}",
        outcome.1
    );
    let applied = nodes.iter().map(|n| n.mvcc().applied()).max().unwrap();
    eventually(30, "replicas apply everything", || {
        nodes.iter().all(|n| n.mvcc().applied() >= applied)
    })
    .await;
    read_index_on_the_commit_stream(&nodes, applied).await;
    for node in &nodes {
        let snap = node.mvcc().snapshot(applied).unwrap();
        assert_eq!(
            snap.get(b"k0").unwrap().as_deref(),
            Some(&b"from-2"[..]),
            "node {}",
            node.id()
        );
        node.mvcc().verify().unwrap();
    }
    // Release every store handle first: shutting down waits for them.
    drop(kvs);
    for node in nodes {
        node.shutdown().await;
    }
}

/// What a follower's read-index request on its commit stream gets: from the
/// leader an index covering every commit made so far (`applied`), from
/// anyone else an error naming the leader; each reply under its request's id.
async fn read_index_on_the_commit_stream(nodes: &[RaftNode], applied: u64) {
    use quorumdb_raft::pb::admin::StreamedCommit;
    use quorumdb_raft::pb::admin::admin_client::AdminClient;
    let leader = nodes
        .iter()
        .find(|n| n.raft().metrics().borrow().current_leader == Some(n.id()))
        .map(|n| n.id())
        .expect("a leader");
    for node in nodes {
        let mut client = AdminClient::connect(format!("http://{}", node.grpc_addr()))
            .await
            .unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tx.send(StreamedCommit {
            id: 41,
            commit: Default::default(),
            read_index: true,
        })
        .unwrap();
        let mut replies = client
            .commit_stream(tokio_stream::wrappers::UnboundedReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        let reply = tokio::time::timeout(Duration::from_secs(30), replies.message())
            .await
            .expect("an answer")
            .unwrap()
            .expect("a reply");
        assert_eq!(reply.id, 41);
        let answer = reply.read_index.expect("a read-index answer");
        if node.id() == leader {
            assert_eq!(answer.error, "");
            assert!(answer.index >= applied, "{} < {applied}", answer.index);
        } else {
            assert_eq!(answer.index, 0);
            assert_eq!(answer.leader_id, Some(leader), "{}", answer.error);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cluster_survives_losing_its_leader_and_the_old_leader_rejoins() {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = three_nodes(dir.path(), tuning()).await;
    let mut acked = Vec::new();
    for i in 0..20 {
        let kv = nodes[i % 3].kv();
        blocking(move || put(&kv, &format!("before/{i:03}"), "x"))
            .await
            .unwrap();
        acked.push(format!("before/{i:03}"));
    }
    let leader = nodes[0].raft().current_leader().await.expect("a leader");
    let pos = nodes.iter().position(|n| n.id() == leader).unwrap();
    let old = nodes.remove(pos);
    let (old_id, old_addr) = (old.id(), old.grpc_addr());
    old.shutdown().await;

    // The survivors elect a new leader and take writes through both nodes.
    eventually(30, "a new leader", || {
        nodes
            .iter()
            .any(|n| matches!(n.raft().metrics().borrow().current_leader, Some(l) if l != old_id))
    })
    .await;
    for i in 0..20 {
        let kv = nodes[i % 2].kv();
        blocking(move || put(&kv, &format!("after/{i:03}"), "y"))
            .await
            .unwrap();
        acked.push(format!("after/{i:03}"));
    }

    // The old leader restarts from its data directory and converges.
    let restarted = start_at(old_id, dir.path(), None, tuning(), old_addr).await;
    nodes.push(restarted);
    let target = nodes.iter().map(|n| n.mvcc().applied()).max().unwrap();
    eventually(60, "the old leader catches up", || {
        nodes.iter().all(|n| n.mvcc().applied() >= target)
    })
    .await;
    for node in &nodes {
        let kv = node.kv();
        let keys = blocking(move || {
            let mut txn = kv.begin(TxnOptions::default()).unwrap();
            txn.scan((Bound::Unbounded, Bound::Unbounded), ScanOrder::Forward)
                .map(|r| String::from_utf8(r.unwrap().0).unwrap())
                .collect::<Vec<_>>()
        })
        .await;
        for key in &acked {
            assert!(keys.contains(key), "node {} lost acknowledged {key}", node.id());
        }
    }
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_node_catches_up_from_a_snapshot_after_the_log_was_purged() {
    let dir = tempfile::tempdir().unwrap();
    let tuning = RaftTuning {
        snapshot_every: 50,
        keep_after_snapshot: 0,
        ..tuning()
    };
    let n1 = start(1, dir.path(), None, tuning.clone()).await;
    eventually(30, "n1 leads", || {
        n1.raft().metrics().borrow().current_leader == Some(1)
    })
    .await;
    for i in 0..200 {
        let kv = n1.kv();
        blocking(move || put(&kv, &format!("k{i:04}"), &i.to_string()))
            .await
            .unwrap();
    }
    eventually(60, "a snapshot and a purged log", || {
        let m = n1.raft().metrics().borrow().clone();
        m.snapshot.is_some() && m.purged.is_some()
    })
    .await;

    let n2 = start(2, dir.path(), Some(n1.grpc_addr()), tuning).await;
    eventually(60, "n2 becomes a voter", || voters(&n1) == 2 && voters(&n2) == 2).await;
    eventually(60, "n2 installed a snapshot", || {
        n2.raft().metrics().borrow().snapshot.is_some()
    })
    .await;
    let kv = n2.kv();
    let got = blocking(move || get(&kv, "k0199")).await.unwrap();
    assert_eq!(got.as_deref(), Some("199"));
    n2.mvcc().verify().unwrap();
    n2.shutdown().await;
    n1.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_quorum_writes_fail_clearly_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = three_nodes(dir.path(), tuning()).await;
    let survivor = nodes.remove(0);
    for node in nodes {
        node.shutdown().await;
    }
    let kv = survivor.kv();
    let started = Instant::now();
    let result = blocking(move || put(&kv, "lonely", "x")).await;
    assert!(
        matches!(result, Err(Error::Unavailable(_)) | Err(Error::OutcomeUnknown(_))),
        "expected a clear failure, got {result:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(120), "bounded wait");
    survivor.shutdown().await;
}

/// Runs `call` on a blocking thread under a fresh cancel flag, trips the
/// flag once `ready()` holds (polled), and returns `call`'s result.
async fn cancel_when<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
    mut ready: impl FnMut() -> bool,
) -> T {
    use quorumdb_storage::cancel;
    use std::sync::Arc;
    let flag: Arc<cancel::Flag> = Arc::default();
    let f = flag.clone();
    let task = tokio::task::spawn_blocking(move || cancel::scope(&f, call));
    eventually(60, "the moment to cancel", &mut ready).await;
    flag.trip();
    task.await.unwrap()
}

/// On a follower without a quorum, a transaction's wait for a read version
/// and a commit's wait for a leader end when the statement is cancelled,
/// with `Canceled` (nothing committed), not after the bounded wait with
/// `Unavailable` (which `without_a_quorum_writes_fail_clearly...` gets).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_quorum_a_cancel_ends_a_followers_wait() {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = three_nodes(dir.path(), tuning()).await;
    let leader_id = nodes[0].raft().current_leader().await.expect("a leader");
    // Keep a follower: it has no lease, so its reads need the (gone) leader.
    let pos = nodes.iter().position(|n| n.id() != leader_id).unwrap();
    let survivor = nodes.remove(pos);
    for node in nodes {
        node.shutdown().await;
    }
    // Cancelled once it has waited a moment (the wait is up to 10 s).
    let waited = |ms| {
        let since = Instant::now();
        move || since.elapsed() > Duration::from_millis(ms)
    };
    let kv = survivor.kv();
    let begun = cancel_when(move || kv.begin(TxnOptions::default()).map(drop), waited(300)).await;
    assert!(
        matches!(begun, Err(Error::Canceled)),
        "expected Canceled, got {begun:?}"
    );

    // A commit (of a transaction started at the applied version), once the
    // follower has noticed that there is no leader.
    let raft = survivor.raft().clone();
    eventually(60, "no leader known", || {
        raft.metrics().borrow().current_leader.is_none()
    })
    .await;
    let kv = survivor.kv();
    let committed = cancel_when(
        move || {
            let mut txn = kv.begin_provisional(TxnOptions::default())?;
            txn.set(b"cancelled".to_vec(), b"x".to_vec())?;
            txn.commit()
        },
        waited(300),
    )
    .await;
    assert!(
        matches!(committed, Err(Error::Canceled)),
        "expected Canceled, got {committed:?}"
    );
    survivor.shutdown().await;
}

/// On a leader without a quorum: a commit cancelled before it is proposed
/// ends with `Canceled` and never reaches the log; one cancelled after it
/// was proposed is *not* abandoned: it ends with `OutcomeUnknown` after the
/// commit timeout (the entry may yet commit, or be truncated by a new
/// leader elected without it).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancel_never_abandons_a_proposed_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut nodes = three_nodes(dir.path(), tuning()).await;
    let leader_id = nodes[0].raft().current_leader().await.expect("a leader");
    let pos = nodes.iter().position(|n| n.id() == leader_id).unwrap();
    let leader = nodes.remove(pos);
    let gone: Vec<(u64, SocketAddr)> = nodes.iter().map(|n| (n.id(), n.grpc_addr())).collect();
    for node in nodes {
        node.shutdown().await;
    }
    let commit = |kv: KvStore, key: &'static str| {
        move || {
            let mut txn = kv.begin_provisional(TxnOptions::default())?;
            txn.set(key.as_bytes().to_vec(), b"x".to_vec())?;
            txn.commit()
        }
    };
    let raft = leader.raft().clone();
    let last_log = move || raft.metrics().borrow().last_log_index.unwrap_or(0);
    let before = last_log();

    // Tripped before the call: nothing is proposed.
    let kv = leader.kv();
    let flag: std::sync::Arc<quorumdb_storage::cancel::Flag> = Default::default();
    flag.trip();
    let f = flag.clone();
    let early = blocking(move || quorumdb_storage::cancel::scope(&f, commit(kv, "early"))).await;
    assert!(
        matches!(early, Err(Error::Canceled)),
        "expected Canceled, got {early:?}"
    );
    assert_eq!(last_log(), before, "a cancelled commit reached the log");

    // Tripped once the entry is in the leader's log: the commit goes on.
    let proposed = cancel_when(commit(leader.kv(), "late"), {
        let last_log = last_log.clone();
        move || last_log() > before
    })
    .await;
    assert!(
        matches!(proposed, Err(Error::OutcomeUnknown(_))),
        "a proposed commit must end with its outcome unknown, got {proposed:?}"
    );

    // The followers return and the cluster serves again; the cancelled
    // commit is not there (the proposed one may or may not be).
    let mut nodes = vec![leader];
    for (id, addr) in gone {
        nodes.push(start_at(id, dir.path(), None, tuning(), addr).await);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let early = loop {
        let kv = nodes[0].kv();
        match blocking(move || get(&kv, "early")).await {
            Ok(values) => break values,
            Err(e) => assert!(Instant::now() < deadline, "no read after the restart: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        early, None,
        "a commit cancelled before it was proposed was applied"
    );
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_cut_off_from_its_followers_reads_from_its_lease_only_while_it_lasts() {
    use quorumdb_raft::lease::LeaderLease;
    let dir = tempfile::tempdir().unwrap();
    let tuning = tuning();
    let lease = LeaderLease::duration_for(Duration::from_millis(tuning.election_timeout_min_ms));
    let mut nodes = three_nodes(dir.path(), tuning).await;
    let leader_id = nodes[0].raft().current_leader().await.expect("a leader");
    let pos = nodes.iter().position(|n| n.id() == leader_id).unwrap();
    let leader = nodes.remove(pos);
    let kv = leader.kv();
    blocking(move || put(&kv, "k", "v")).await.unwrap();

    // With heartbeats flowing, the leader's read indexes come from its lease.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let kv = leader.kv();
        blocking(move || kv.begin(TxnOptions::default()).map(drop))
            .await
            .unwrap();
        if leader.read_index_counts().0 > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no read index came from the lease");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // Cut it off: every acknowledgement it holds was sent before `cut`.
    for node in nodes {
        node.shutdown().await;
    }
    let cut = Instant::now();
    let deadline = cut + Duration::from_secs(60);
    loop {
        let started = Instant::now();
        let kv = leader.kv();
        match blocking(move || kv.begin(TxnOptions::default()).map(drop)).await {
            Ok(()) => assert!(
                started.duration_since(cut) < lease,
                "served a read index {:?} after losing its followers; the lease is {lease:?}",
                started.duration_since(cut)
            ),
            Err(e) => {
                assert!(matches!(e, Error::Unavailable(_)), "{e:?}");
                break;
            }
        }
        assert!(Instant::now() < deadline, "the leader kept serving reads alone");
    }
    leader.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_through_every_node_are_exact() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = three_nodes(dir.path(), tuning()).await;
    let kvs: Vec<KvStore> = nodes.iter().map(|n| n.kv()).collect();
    const COUNTERS: usize = 3;
    const WORKERS: usize = 12;
    const INCREMENTS: usize = 15;
    // Workers on all three nodes increment a few hot counters; conflicts
    // (also between commits that share a Raft entry) abort and are retried.
    let mut handles = Vec::new();
    for w in 0..WORKERS {
        let kv = kvs[w % kvs.len()].clone();
        handles.push(tokio::task::spawn_blocking(move || {
            let mut done = vec![0u64; COUNTERS];
            let mut conflicts = 0u64;
            for i in 0..INCREMENTS {
                let c = (w + i) % COUNTERS;
                let key = format!("counter/{c}");
                loop {
                    let mut txn = kv.begin(TxnOptions::default()).unwrap();
                    let n: u64 = txn
                        .get(key.as_bytes())
                        .unwrap()
                        .map(|v| String::from_utf8(v).unwrap().parse().unwrap())
                        .unwrap_or(0);
                    txn.set(key.clone().into_bytes(), (n + 1).to_string().into_bytes())
                        .unwrap();
                    match txn.commit() {
                        Ok(_) => break,
                        Err(Error::Conflict { .. }) => conflicts += 1,
                        Err(e) => panic!("commit failed: {e}"),
                    }
                }
                done[c] += 1;
            }
            (done, conflicts)
        }));
    }
    let mut expected = [0u64; COUNTERS];
    let mut conflicts = 0;
    for h in handles {
        let (done, c) = h.await.unwrap();
        conflicts += c;
        for (e, d) in expected.iter_mut().zip(done) {
            *e += d;
        }
    }
    eprintln!(
        "{} increments, {conflicts} conflicts retried",
        expected.iter().sum::<u64>()
    );
    let target = nodes.iter().map(|n| n.mvcc().applied()).max().unwrap();
    eventually(30, "replicas converge", || {
        nodes.iter().all(|n| n.mvcc().applied() >= target)
    })
    .await;
    for node in &nodes {
        let snap = node.mvcc().snapshot(target).unwrap();
        for (c, want) in expected.iter().enumerate() {
            let got: u64 = snap
                .get(format!("counter/{c}").as_bytes())
                .unwrap()
                .map(|v| String::from_utf8(v).unwrap().parse().unwrap())
                .unwrap_or(0);
            assert_eq!(got, *want, "node {} counter {c}", node.id());
        }
        node.mvcc().verify().unwrap();
    }
    drop(kvs);
    for node in nodes {
        node.shutdown().await;
    }
}

/// Asks `via` for a membership change; the reply's error ("" = done).
async fn add_node(via: SocketAddr, id: u64, addr: String) -> String {
    use quorumdb_raft::pb::admin::{AddNodeRequest, admin_client::AdminClient};
    let mut admin = AdminClient::connect(format!("http://{via}"))
        .await
        .expect("connect");
    let req = AddNodeRequest { id, grpc_addr: addr };
    admin.add_node(req).await.expect("answered").into_inner().error
}

async fn remove_node(via: SocketAddr, id: u64) -> String {
    use quorumdb_raft::pb::admin::{RemoveNodeRequest, admin_client::AdminClient};
    let mut admin = AdminClient::connect(format!("http://{via}"))
        .await
        .expect("connect");
    admin
        .remove_node(RemoveNodeRequest { id })
        .await
        .expect("answered")
        .into_inner()
        .error
}

fn members(node: &RaftNode) -> Vec<u64> {
    let m = node.raft().metrics().borrow().membership_config.clone();
    m.membership().nodes().map(|(id, _)| *id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_changes_refuse_the_wrong_node_and_remove_a_learner() {
    let dir = tempfile::tempdir().unwrap();
    let n1 = start(1, dir.path(), None, tuning()).await;
    eventually(30, "n1 leads", || {
        n1.raft().metrics().borrow().current_leader == Some(1)
    })
    .await;
    let n2 = start(2, dir.path(), Some(n1.grpc_addr()), tuning()).await;
    eventually(60, "n2 becomes a voter, the change complete", || {
        let m = n1.raft().metrics().borrow().membership_config.clone();
        voters(&n1) == 2 && m.membership().get_joint_config().len() == 1
    })
    .await;

    // Node 2's address offered as node 7: refused, nothing changes.
    let error = add_node(n1.grpc_addr(), 7, n2.grpc_addr().to_string()).await;
    assert!(error.contains("is node 2, not node 7"), "{error}");
    // A join asked again by a member succeeds and writes no new membership.
    let before = n1.raft().metrics().borrow().membership_config.log_id().to_owned();
    let error = add_node(n1.grpc_addr(), 2, n2.grpc_addr().to_string()).await;
    assert_eq!(error, "");
    let after = n1.raft().metrics().borrow().membership_config.log_id().to_owned();
    assert_eq!(before, after, "a repeated join changed the membership");
    assert_eq!(members(&n1), vec![1, 2]);

    // Demote node 2 to a learner; removing it must then drop it entirely.
    let demote = openraft::ChangeMembers::RemoveVoters([2].into());
    n1.raft().change_membership(demote, true).await.expect("demoted");
    assert_eq!(voters(&n1), 1);
    assert_eq!(members(&n1), vec![1, 2], "node 2 is a learner");
    let error = remove_node(n2.grpc_addr(), 2).await;
    assert_eq!(error, "");
    eventually(30, "node 2 is gone", || members(&n1) == vec![1]).await;
    let error = remove_node(n1.grpc_addr(), 2).await;
    assert!(error.contains("not a member"), "{error}");
    n2.shutdown().await;
    n1.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_data_directory_refuses_another_node_id() {
    let dir = tempfile::tempdir().unwrap();
    let n1 = start(1, dir.path(), None, tuning()).await;
    n1.shutdown().await;
    let err = RaftNode::start(NodeConfig {
        id: 2,
        data_dir: dir.path().join("n1"),
        grpc_listen: "127.0.0.1:0".parse().unwrap(),
        grpc_advertise: None,
        join: None,
        tuning: tuning(),
    })
    .await
    .err()
    .expect("node 2 must not start on node 1's data");
    assert!(err.to_string().contains("belongs to node 1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_garbage_collects_behind_its_retention_window() {
    let dir = tempfile::tempdir().unwrap();
    let tuning = RaftTuning {
        gc_retention: Duration::from_secs(1),
        ..tuning()
    };
    let n1 = start(1, dir.path(), None, tuning).await;
    eventually(30, "n1 leads", || {
        n1.raft().metrics().borrow().current_leader == Some(1)
    })
    .await;
    let kv = n1.kv();
    blocking({
        let kv = kv.clone();
        move || put(&kv, "k", "old")
    })
    .await
    .unwrap();
    // A transaction that stays open while newer versions pile up.
    let kv2 = kv.clone();
    let mut old = blocking(move || kv2.begin(TxnOptions::default()).unwrap()).await;
    let read_at = old.read_version();
    let mut i = 0;
    let mvcc = n1.mvcc().clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    while mvcc.horizon() <= read_at {
        assert!(
            Instant::now() < deadline,
            "no GC entry raised the horizon past {read_at}"
        );
        let kv = kv.clone();
        i += 1;
        blocking(move || put(&kv, "k", &format!("new{i}"))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await; // pacing the writes, not synchronising
    }
    // The old transaction now gets a clear error, never a wrong answer.
    let result = blocking(move || old.get(b"k")).await;
    assert!(matches!(result, Err(Error::SnapshotTooOld { .. })), "{result:?}");
    n1.mvcc().verify().unwrap();
    drop((kv, mvcc));
    n1.shutdown().await;
}
