//! The pgwire endpoint driven by `pgbench` (15): its builtin select-only
//! and tpcb-like scripts in the simple, extended and prepared modes —
//! untyped (OID 0) text parameters, `END;`, `+ -N`, CURRENT_TIMESTAMP,
//! pipelined Parse/Bind/Execute — must finish with 0 failed transactions
//! (serialization failures, 40001, are retried by pgbench's --max-tries).
//!
//! The tables are created and loaded by the test (a tiny data set: pgbench
//! derives the scale from `count(*)` of pgbench_branches, and statements on
//! absent accounts simply touch 0 rows). Skipped when pgbench is absent.

mod pgwire_util;

use pgwire_util::*;

const PGBENCH: &str = "/usr/bin/pgbench";

async fn pgbench(server: &TestServer, args: &[&str]) -> std::process::Output {
    let mut cmd = tokio::process::Command::new(PGBENCH);
    cmd.args([
        "-h",
        "127.0.0.1",
        "-p",
        &server.port().to_string(),
        "-U",
        "root",
        "qdb",
    ])
    .args(args)
    .env("PGCONNECT_TIMEOUT", "10")
    .env_remove("PGPASSWORD")
    .kill_on_drop(true);
    tokio::time::timeout(TIMEOUT, cmd.output())
        .await
        .expect("pgbench timed out")
        .expect("run pgbench")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_builtin_scripts_in_every_mode() {
    if !std::path::Path::new(PGBENCH).exists() {
        eprintln!("pgbench not installed; skipping");
        return;
    }
    let server = start_default().await;
    let c = connect(&server).await;
    c.batch_execute(
        "create table pgbench_history(tid int,bid int,aid int,delta int,mtime timestamp,filler char(22));
         create table pgbench_tellers(tid int not null primary key,bid int,tbalance int,filler char(84));
         create table pgbench_accounts(aid int not null primary key,bid int,abalance int,filler char(84));
         create table pgbench_branches(bid int not null primary key,bbalance int,filler char(88));
         insert into pgbench_branches(bid,bbalance) values (1,0);
         insert into pgbench_tellers(tid,bid,tbalance) values (1,1,0),(2,1,0),(3,1,0),(4,1,0),(5,1,0),(6,1,0),(7,1,0),(8,1,0),(9,1,0),(10,1,0);
         insert into pgbench_accounts(aid,bid,abalance,filler) values (1,1,0,''),(2,1,0,''),(3,1,0,'')",
    )
    .await
    .expect("load");
    for mode in ["simple", "extended", "prepared"] {
        for script in [&["-S"][..], &["-b", "tpcb-like"][..]] {
            // Two clients updating one branch row conflict under
            // SERIALIZABLE (40001); pgbench retries those transactions.
            let mut args = vec!["-n", "-t", "10", "-c", "2", "--max-tries=1000", "-M", mode];
            args.extend_from_slice(script);
            let out = pgbench(&server, &args).await;
            let stdout = String::from_utf8_lossy(&out.stdout);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success(),
                "{args:?}\nstdout: {stdout}\nstderr: {stderr}"
            );
            assert!(
                stdout.contains("number of transactions actually processed: 20/20"),
                "{args:?}\n{stdout}\n{stderr}"
            );
            assert!(
                stdout.contains("number of failed transactions: 0"),
                "{args:?}\n{stdout}"
            );
        }
    }
    let n: i64 = c
        .query_one("select count(*) from pgbench_history", &[])
        .await
        .expect("history")
        .get(0);
    assert_eq!(n, 60);
}
