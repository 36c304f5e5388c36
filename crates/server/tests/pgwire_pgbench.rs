//! The pgwire endpoint driven by `pgbench` (15): its builtin select-only
//! and tpcb-like scripts in the simple, extended and prepared modes —
//! untyped (OID 0) text parameters, `END;`, `+ -N`, CURRENT_TIMESTAMP,
//! pipelined Parse/Bind/Execute — must finish with 0 failed transactions
//! (serialization failures, 40001, are retried by pgbench's --max-tries).
//!
//! The tables are created and loaded by the test (a tiny data set: pgbench
//! derives the scale from `count(*)` of pgbench_branches, and statements on
//! absent accounts simply touch 0 rows). A second test runs pgbench's own
//! initialisation, `-i -I dtGp -s 1` (drop, create, server-side
//! generate_series load, primary keys). Skipped when pgbench is absent.

mod pgwire_util;

use pgwire_util::*;

const PGBENCH: &str = "/usr/bin/pgbench";

async fn pgbench(server: &TestServer, args: &[&str]) -> std::process::Output {
    pgbench_within(server, args, TIMEOUT).await
}

/// Loading 100,000 accounts takes a while on a debug build of a busy machine.
const INIT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

async fn pgbench_within(
    server: &TestServer,
    args: &[&str],
    limit: std::time::Duration,
) -> std::process::Output {
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
    tokio::time::timeout(limit, cmd.output())
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgbench_initialises_with_server_side_generation_and_primary_keys() {
    if !std::path::Path::new(PGBENCH).exists() {
        eprintln!("pgbench not installed; skipping");
        return;
    }
    let server = start_default().await;
    // Twice: the second run drops the tables the first one made.
    for _ in 0..2 {
        let out = pgbench_within(&server, &["-i", "-I", "dtGp", "-s", "1"], INIT_TIMEOUT).await;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(stderr.contains("done in"), "{stderr}");
    }
    let c = connect(&server).await;
    for (table, rows) in [
        ("pgbench_branches", 1i64),
        ("pgbench_tellers", 10),
        ("pgbench_accounts", 100_000),
        ("pgbench_history", 0),
    ] {
        let n: i64 = c
            .query_one(&format!("select count(*) from {table}"), &[])
            .await
            .expect(table)
            .get(0);
        assert_eq!(n, rows, "{table}");
    }
    let row = c
        .query_one(
            "select bid, abalance, filler from pgbench_accounts where aid = 100000",
            &[],
        )
        .await
        .expect("last account");
    assert_eq!(row.get::<_, i32>(0), 1);
    assert_eq!(row.get::<_, i32>(1), 0);
    // Step p made the primary keys: a duplicate account is refused.
    let err = c
        .batch_execute("insert into pgbench_accounts(aid, bid, abalance) values (5, 1, 0)")
        .await
        .expect_err("duplicate aid");
    assert_eq!(sqlstate(&err), "23505");
    // And the loaded database runs pgbench's own scripts.
    let out = pgbench(&server, &["-n", "-S", "-t", "20"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("scaling factor: 1"), "{stdout}");
    assert!(stdout.contains("number of failed transactions: 0"), "{stdout}");
}
