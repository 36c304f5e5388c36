//! The sqllogictest corpus against a 3-node cluster of real `quorumdb`
//! processes, through a follower: every record's SQL goes over the
//! PostgreSQL protocol (simple query) to a node that is not the leader, so
//! every write is forwarded to the leader and every read takes a read index
//! from it.
//!
//! - Corpus: `$QUORUMDB_SLT_DIR`, default `../shared/slt` next to the
//!   workspace. When it is absent the test says so and passes.
//! - Default (CI): the files of the in-process sample
//!   (`quorumdb_tests::slt_corpus::SAMPLE`), each cut to its first
//!   [`SAMPLE_RECORDS`] records (`QUORUMDB_SLT_CLUSTER_RECORDS=N` changes
//!   that).
//! - `QUORUMDB_SLT_CLUSTER_FULL=1`: every `.test` file, whole (hours; run it
//!   in release: `QUORUMDB_SLT_CLUSTER_FULL=1 cargo test --release -p
//!   quorumdb-cli --test slt_cluster -- --nocapture`).
//! - `QUORUMDB_SLT_FILTER` and `QUORUMDB_SLT_VERBOSE` as for the in-process
//!   run.
//!
//! Each file runs on a new connection after every table of the previous
//! file was dropped (the in-process runner starts each file on a fresh
//! store). The test fails below the in-process threshold, [`MIN_PASS_RATE`].

mod common;

use common::Cluster;
use quorumdb_tests::slt::{FileReport, run_script_on};
use quorumdb_tests::slt_corpus::{Selection, corpus_dir, corpus_hint, run_corpus};
use quorumdb_tests::slt_pgwire::PgWire;

/// The in-process sample's threshold.
const MIN_PASS_RATE: f64 = 0.995;

/// Records per file in the default sample.
const SAMPLE_RECORDS: usize = 150;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_through_a_follower_of_a_three_node_cluster() {
    let Some(dir) = corpus_dir() else {
        println!(
            "sqllogictest (cluster): corpus not found at {} (set QUORUMDB_SLT_DIR); skipped",
            corpus_hint()
        );
        return;
    };
    let selection = if std::env::var("QUORUMDB_SLT_CLUSTER_FULL").is_ok_and(|v| v == "1") {
        Selection::Full
    } else {
        let records = std::env::var("QUORUMDB_SLT_CLUSTER_RECORDS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(SAMPLE_RECORDS);
        Selection::Sample { records }
    };

    let cluster = Cluster::start(3, &[]).await;
    let leader = cluster.leader().await;
    let follower = cluster.procs.iter().find(|p| p.id != leader).expect("a follower");
    let (id, url) = (follower.id, follower.url());
    println!("running the corpus through node {id}; the leader is node {leader}");

    let handle = tokio::runtime::Handle::current();
    let total = tokio::task::spawn_blocking(move || {
        let label = format!("through follower node {id} of 3");
        run_corpus(&dir, &selection, &label, |text, name| {
            let mut db = match PgWire::connect(handle.clone(), &url) {
                Ok(db) => db,
                Err(e) => panic!("{name}: {e}"),
            };
            let report: FileReport = run_script_on(&mut db, text, name);
            if let Err(e) = db.drop_all_tables() {
                panic!("after {name}: cannot drop its tables: {e}");
            }
            report
        })
    })
    .await
    .expect("corpus run");

    let still = cluster.leader().await;
    if still != leader {
        println!("note: leadership moved from node {leader} to node {still} during the run");
    }
    let rate = total.pass_rate();
    if rate < MIN_PASS_RATE {
        for f in &total.failures {
            println!("  {f}");
        }
    }
    assert!(
        rate >= MIN_PASS_RATE,
        "pass rate {:.2}% through a follower is below the threshold {:.2}%",
        100.0 * rate,
        100.0 * MIN_PASS_RATE
    );
}
