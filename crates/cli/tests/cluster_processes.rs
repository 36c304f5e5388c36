//! Multi-process cluster tests with the real `quorumdb` binary: three
//! `quorumdb start` processes on loopback ports, driven only through the
//! PostgreSQL protocol (tokio-postgres) and HTTP, then broken with SIGKILL.
//!
//! The three nodes share this machine, so each runs one runtime worker
//! (`--worker-threads 1`), as docs/operations.md advises for co-located
//! nodes. The other multi-process tests (`cluster_membership`,
//! `cluster_clients`, `slt_cluster`, the chaos suite) keep the default
//! runtime, so both settings are exercised.
//!
//! Deadlines are generous and every wait polls; nothing sleeps to
//! synchronise. Node logs are printed when a test fails.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Cluster, connect, eventually, metric};

async fn three_node_cluster() -> Cluster {
    Cluster::start(3, &["--worker-threads", "1"]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_leader_under_load_loses_no_acknowledged_write() {
    let mut cluster = three_node_cluster().await;
    let first = connect(&cluster.procs[0].url()).await.expect("connect to node 1");
    first
        .batch_execute("CREATE TABLE kv (k INT PRIMARY KEY, writer INT)")
        .await
        .unwrap();

    // One writer per node, each inserting its own keys as fast as it can.
    let acked: Arc<Mutex<BTreeSet<i64>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for (w, p) in cluster.procs.iter().enumerate() {
        let (url, acked, stop) = (p.url(), acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut client = connect(&url).await;
            let mut n = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Some(c) = client.as_ref() else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    client = connect(&url).await;
                    continue;
                };
                let key = w as i64 * 1_000_000 + n;
                n += 1;
                match c
                    .execute("INSERT INTO kv VALUES ($1, $2)", &[&(key as i32), &(w as i32)])
                    .await
                {
                    Ok(1) => {
                        acked.lock().unwrap().insert(key);
                    }
                    Ok(other) => panic!("INSERT reported {other} rows"),
                    // Unknown outcome, lost connection, no quorum: not acknowledged.
                    Err(_) => {
                        if c.is_closed() {
                            client = None;
                        }
                    }
                }
            }
        }));
    }

    let count = || acked.lock().unwrap().len();
    eventually(60, "writes flowing", || (count() >= 100).then_some(())).await;
    let leader = eventually(30, "a leader", || {
        metric(cluster.procs[0].http, "quorumdb_raft_leader_id")
    })
    .await as u64;
    let before_kill: BTreeSet<i64> = acked.lock().unwrap().clone();
    let victim = cluster.procs.iter().position(|p| p.id == leader).unwrap();
    cluster.procs[victim].kill9();
    let killed_at = Instant::now();

    // A new leader takes writes within a few election timeouts.
    let base = count();
    eventually(60, "writes resume after the kill", || {
        (count() >= base + 50).then_some(())
    })
    .await;
    let failover = killed_at.elapsed();
    eprintln!("writes resumed {failover:?} after SIGKILL of leader {leader}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }

    // The killed node restarts from its data directory and converges.
    cluster.procs[victim].start(None);
    cluster.procs[victim].wait_healthy(120).await;

    let all_acked = acked.lock().unwrap().clone();
    assert!(before_kill.is_subset(&all_acked));
    for p in &cluster.procs {
        let client = connect(&p.url()).await.expect("connect");
        let rows = client
            .query("SELECT k FROM kv", &[])
            .await
            .expect("read through every node");
        let stored: BTreeSet<i64> = rows.iter().map(|r| i64::from(r.get::<_, i32>(0))).collect();
        let missing: Vec<_> = all_acked.difference(&stored).take(5).collect();
        assert!(
            missing.is_empty(),
            "node {} lost acknowledged keys, e.g. {missing:?}",
            p.id
        );
    }
    eprintln!(
        "{} acknowledged inserts, all present on all 3 nodes",
        all_acked.len()
    );
}

/// Many autocommit statements sent at once to a follower: the node runs
/// them back to back on the connection's thread, each waiting for the
/// leader. (Such waits once spent the connection runtime's cooperative
/// budget and hung the connection.) Leaves rows 1000..1300 in `t`.
async fn pipelined_commits_through_a_follower(cluster: &Cluster) {
    let leader = cluster.leader().await;
    let follower = cluster.procs.iter().find(|p| p.id != leader).expect("a follower");
    let client = connect(&follower.url()).await.unwrap();
    let insert = client.prepare("INSERT INTO t VALUES ($1)").await.unwrap();
    let keys: Vec<i32> = (1000..1300).collect();
    let params: Vec<[&(dyn tokio_postgres::types::ToSql + Sync); 1]> =
        keys.iter().map(|k| [k as _]).collect();
    let inserts = params.iter().map(|p| client.execute(&insert, p));
    let done = tokio::time::timeout(Duration::from_secs(120), futures::future::join_all(inserts))
        .await
        .expect("pipelined commits through a follower finish");
    for result in done {
        assert_eq!(result.unwrap(), 1);
    }
    let n: i64 = client
        .query_one("SELECT count(*) FROM t WHERE k >= 1000", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 300);
    client
        .batch_execute("DELETE FROM t WHERE k >= 1000")
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_node_down_keeps_serving_two_down_refuses_with_a_clear_error() {
    let mut cluster = three_node_cluster().await;
    let client = connect(&cluster.procs[0].url()).await.unwrap();
    client
        .batch_execute("CREATE TABLE t (k INT PRIMARY KEY)")
        .await
        .unwrap();
    pipelined_commits_through_a_follower(&cluster).await;
    cluster.procs[2].kill9();
    client
        .execute("INSERT INTO t VALUES (1)", &[])
        .await
        .expect("two of three still commit");
    cluster.procs[1].kill9();
    let started = Instant::now();
    let err = client
        .execute("INSERT INTO t VALUES (2)", &[])
        .await
        .expect_err("no quorum: the write must fail");
    let code = err.as_db_error().map(|e| e.code().code().to_string());
    eprintln!("without quorum after {:?}: {err:?}", started.elapsed());
    // 57P03: refused before proposing (no leader); 40003: proposed, outcome unknown.
    assert!(
        matches!(code.as_deref(), Some("57P03") | Some("40003")),
        "code {code:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(90), "bounded wait");

    // A statement waiting for the cluster (BEGIN needs a read index) ends
    // with 57014 when the client cancels it, instead of after the bounded
    // wait with 57P03. A cancel that arrives before the statement starts is
    // forgotten (as in PostgreSQL), so the test cancels until it is done.
    // Likewise a catalog query of the shape psql's \d sends (answered by
    // the endpoint from the catalog at a read version).
    let client = Arc::new(client);
    let list = r#"SELECT n.nspname as "Schema", c.relname as "Name" FROM pg_catalog.pg_class c"#;
    for sql in ["BEGIN", list] {
        let token = client.cancel_token();
        let c = client.clone();
        let waiting = tokio::spawn(async move { c.batch_execute(sql).await });
        let deadline = Instant::now() + Duration::from_secs(60);
        while !waiting.is_finished() {
            assert!(Instant::now() < deadline, "{sql}: neither finished nor cancelled");
            token
                .cancel_query(tokio_postgres::NoTls)
                .await
                .expect("send the cancel request");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let err = waiting.await.unwrap().expect_err("no quorum: no read version");
        let code = err.as_db_error().map(|e| e.code().code().to_string());
        assert_eq!(code.as_deref(), Some("57014"), "{sql}: {err:?}");
    }
}
