//! Membership changes under a steady write load, with the real binary:
//! a node added while every node takes inserts catches up (from a snapshot,
//! the log having been purged) and becomes a voter; the leader and then a
//! follower removed with `quorumdb node remove` while writes go on. After
//! each change every acknowledged insert must be readable on the nodes that
//! remain, and writers on those nodes may only have seen the documented
//! transient errors (40003 outcome unknown, 57P03 no leader), which are
//! counted and printed.

mod common;

use std::collections::BTreeMap;

use common::{Cluster, Load, Member, assert_all_present, connect, eventually, node_status, quorumdb};

/// Errors a writer on a node that stays may see while membership changes.
const TRANSIENT: &[&str] = &["40003", "57P03"];

fn assert_only_transient(node: u64, errors: &BTreeMap<String, usize>) {
    let other: Vec<_> = errors
        .iter()
        .filter(|(code, _)| !TRANSIENT.contains(&code.as_str()))
        .collect();
    assert!(
        other.is_empty(),
        "writer through node {node} saw errors other than 40003/57P03: {other:?}"
    );
}

async fn create_table(cluster: &Cluster) {
    let client = connect(&cluster.procs[0].url()).await.expect("connect");
    client.batch_execute(Load::TABLE).await.expect("create table");
}

fn voter_ids(members: &[Member]) -> Vec<u64> {
    members
        .iter()
        .filter(|m| m.role == "voter" || m.role == "leader")
        .map(|m| m.id)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_added_under_load_catches_up_from_a_snapshot_and_becomes_a_voter() {
    // Snapshots every 300 entries, 50 kept behind: the log is purged early,
    // so node 4 cannot be sent the whole log.
    let mut cluster = Cluster::start(3, &["--snapshot-every", "300", "--log-keep", "50"]).await;
    create_table(&cluster).await;
    let mut load = Load::default();
    for p in &cluster.procs {
        load.add_writer(p.id, p.url());
    }
    let leader = cluster.leader().await;
    let purged = eventually(180, "the leader purges its log", || {
        cluster
            .get(leader)
            .metric("quorumdb_raft_purged_index")
            .filter(|i| *i > 0.0)
    })
    .await;
    println!(
        "leader {leader} purged its log through index {purged} after {} inserts",
        load.acked_count()
    );

    let at_join = load.acked_count();
    let new = cluster.add(4);
    let node4 = &cluster.procs[new];
    eventually(300, "node 4 counts itself among 4 voters", || {
        node4.metric("quorumdb_raft_voters").filter(|v| *v == 4.0)
    })
    .await;
    let (members, status) = node_status(node4.grpc).await;
    assert_eq!(voter_ids(&members), vec![1, 2, 3, 4], "members:\n{status}");
    println!("{status}");
    assert!(
        load.acked_count() > at_join,
        "writes went on while node 4 caught up"
    );
    assert!(
        node4.log().contains("installed a snapshot from the leader"),
        "node 4 caught up without a snapshot although the log was purged"
    );
    for p in cluster.running() {
        let voters = eventually(60, "every node counts 4 voters", || {
            p.metric("quorumdb_raft_voters").filter(|v| *v == 4.0)
        })
        .await;
        assert_eq!(voters, 4.0);
    }

    // The new node takes writes too, then everything stops.
    load.add_writer(4, node4.url());
    load.progress(&[1, 2, 3, 4], 20, 120, "writes through all four nodes")
        .await;
    load.stop().await;
    for id in 1..=4 {
        let errors = load.errors(id);
        println!(
            "node {id}: {} inserts acknowledged, errors {errors:?}",
            load.acks(id)
        );
        assert_only_transient(id, &errors);
    }
    let acked = load.acked();
    for p in cluster.running() {
        assert_all_present(p, &acked).await;
    }
    println!(
        "{} acknowledged inserts ({} before node 4 joined), all readable on all 4 nodes",
        acked.len(),
        at_join
    );
}

/// Removes `victim` with `quorumdb node remove` through `via` while the load
/// runs, checks the remaining nodes, then stops the victim.
async fn remove_under_load(cluster: &mut Cluster, load: &mut Load, victim: u64, via: u64) {
    let remaining: Vec<u64> = cluster
        .running()
        .map(|p| p.id)
        .filter(|id| *id != victim)
        .collect();
    let host = cluster.get(via).grpc.to_string();
    let out = quorumdb(&["node", "remove", "--id", &victim.to_string(), "--host", &host]).await;
    assert!(
        out.status.success(),
        "quorumdb node remove --id {victim} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for id in &remaining {
        let p = cluster.get(*id);
        eventually(
            60,
            &format!("node {id} counts {} voters", remaining.len()),
            || {
                p.metric("quorumdb_raft_voters")
                    .filter(|v| *v == remaining.len() as f64)
            },
        )
        .await;
    }
    let (members, status) = node_status(cluster.get(remaining[0]).grpc).await;
    let mut ids: Vec<u64> = members.iter().map(|m| m.id).collect();
    ids.sort();
    assert_eq!(ids, remaining, "members after removing node {victim}:\n{status}");
    println!("after removing node {victim}:\n{status}");

    // Writes go on through every remaining node, with the removed one still up.
    load.progress(&remaining, 20, 120, "writes through the remaining nodes")
        .await;
    // The removed node is still running; a load balancer asking its /health
    // must learn that it no longer serves.
    let v = cluster.get(victim);
    let said = eventually(
        60,
        &format!("removed node {victim} reports 503 on /health"),
        || {
            let r = common::http_get(v.http, "/health")?;
            (!r.starts_with("HTTP/1.1 200")).then(|| r.lines().last().unwrap_or("").to_string())
        },
    )
    .await;
    println!("removed node {victim} /health: {said}");
    let new_leader = cluster.leader_among(&remaining).await;
    assert!(remaining.contains(&new_leader));

    load.stop_writers(victim).await;
    let exited = cluster.get_mut(victim).stop().await;
    assert!(exited, "node {victim} did not exit on SIGTERM");
    load.progress(&remaining, 20, 120, "writes after the removed node stopped")
        .await;
    for id in &remaining {
        let errors = load.errors(*id);
        println!(
            "node {id} so far: {} inserts acknowledged, errors {errors:?}",
            load.acks(*id)
        );
        assert_only_transient(*id, &errors);
    }
    let acked = load.acked();
    for id in &remaining {
        assert_all_present(cluster.get(*id), &acked).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn removing_the_leader_then_a_follower_under_load_keeps_writes_flowing() {
    let mut cluster = Cluster::start(3, &[]).await;
    create_table(&cluster).await;
    let mut load = Load::default();
    for p in &cluster.procs {
        load.add_writer(p.id, p.url());
    }
    load.progress(&[1, 2, 3], 20, 120, "writes through all three nodes")
        .await;

    let leader = cluster.leader().await;
    let via = cluster
        .procs
        .iter()
        .map(|p| p.id)
        .find(|id| *id != leader)
        .unwrap_or(1);
    println!("removing the leader, node {leader}, through node {via}");
    remove_under_load(&mut cluster, &mut load, leader, via).await;

    let leader = cluster.leader().await;
    let follower = cluster
        .running()
        .map(|p| p.id)
        .find(|id| *id != leader)
        .expect("a follower");
    println!("removing follower node {follower} through the leader, node {leader}");
    remove_under_load(&mut cluster, &mut load, follower, leader).await;

    load.stop().await;
    let last = cluster.running().map(|p| p.id).collect::<Vec<_>>();
    assert_eq!(last, vec![leader]);
    for id in &last {
        let errors = load.errors(*id);
        println!("node {id}: {} acknowledged, errors {errors:?}", load.acks(*id));
        assert_only_transient(*id, &errors);
    }
    let acked = load.acked();
    assert_all_present(cluster.get(leader), &acked).await;
    println!(
        "{} acknowledged inserts, all readable on the last node",
        acked.len()
    );
}
