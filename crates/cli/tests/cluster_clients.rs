//! The client matrix against a follower of a 3-node cluster of real
//! `quorumdb` processes: psql, tokio-postgres, and the drivers of
//! `tests/clients/` (psycopg 3, psycopg2, asyncpg, SQLAlchemy core,
//! node-postgres, pgjdbc; see `quorumdb_tests::clients`), each connected to
//! a node that is not the leader, so their writes are forwarded and their
//! reads take a read index from the leader.
//!
//! psql and tokio-postgres check here what the driver scripts check: DDL,
//! types round-tripping (NULLs too), commit and rollback, SQLSTATE 23505,
//! and (tokio-postgres) a prepared statement reused 10 times.
//!
//! One cluster serves every client in turn (each uses its own tables); the
//! test reports every client's outcome and fails if any failed. A missing
//! driver fails with its install command unless `QUORUMDB_SKIP_CLIENTS`
//! names it (then the test says it skipped it); psql missing is reported
//! the same way (`apt-get install -y postgresql-client`).

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{Cluster, Proc, connect};
use quorumdb_tests::clients;

/// psql through the follower: a script with ON_ERROR_STOP, its rows as
/// unaligned text, then a duplicate key with verbose errors (23505).
async fn psql(p: &Proc) -> Result<String, String> {
    if !std::path::Path::new("/usr/bin/psql").exists() {
        return Err("psql is missing: apt-get install -y postgresql-client \
                    (set QUORUMDB_SKIP_CLIENTS=psql to skip it)"
            .into());
    }
    let script = "\
DROP TABLE IF EXISTS psql_t;
CREATE TABLE psql_t (id INT PRIMARY KEY, v TEXT, n NUMERIC(12,3), d DATE, b BOOLEAN, f DOUBLE PRECISION);
INSERT INTO psql_t VALUES (1, 'one ☃ ''q''', 1.5, '2024-02-29', true, -0.25), (2, NULL, NULL, NULL, NULL, NULL);
BEGIN;
INSERT INTO psql_t VALUES (3, 'three', 0, '2000-01-01', false, 12345.5);
COMMIT;
BEGIN;
INSERT INTO psql_t VALUES (4, 'rolled back', 0, '2000-01-01', false, 0);
ROLLBACK;
SELECT id, coalesce(v, '<null>'), n, d, b, f FROM psql_t ORDER BY id;
";
    let want = "1|one ☃ 'q'|1.500|2024-02-29|t|-0.25\n2|<null>||||\n3|three|0.000|2000-01-01|f|12345.5\n";
    let port = p.sql.port().to_string();
    let run = |args: Vec<String>, input: &'static str| {
        let port = port.clone();
        async move {
            use tokio::io::AsyncWriteExt;
            let mut child = tokio::process::Command::new("/usr/bin/psql")
                .args([
                    "-X",
                    "-q",
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &port,
                    "-U",
                    "root",
                    "-d",
                    "quorumdb",
                ])
                .args(&args)
                .env("PGCONNECT_TIMEOUT", "10")
                .env_remove("PGPASSWORD")
                .env_remove("PGSERVICE")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .kill_on_drop(true)
                .spawn()
                .map_err(|e| format!("cannot run psql: {e}"))?;
            if let Some(mut stdin) = child.stdin.take() {
                stdin
                    .write_all(input.as_bytes())
                    .await
                    .map_err(|e| e.to_string())?;
            }
            tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
                .await
                .map_err(|_| "psql timed out".to_string())?
                .map_err(|e| e.to_string())
        }
    };
    let out = run(
        ["-v", "ON_ERROR_STOP=1", "-A", "-t", "-F", "|"]
            .map(String::from)
            .to_vec(),
        script,
    )
    .await?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || stdout != want {
        return Err(format!(
            "psql script ({}):\n--- want\n{want}--- got\n{stdout}--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let dup = run(
        [
            "-v",
            "VERBOSITY=verbose",
            "-c",
            "INSERT INTO psql_t VALUES (1, 'dup', 0, NULL, NULL, NULL)",
        ]
        .map(String::from)
        .to_vec(),
        "",
    )
    .await?;
    let stderr = String::from_utf8_lossy(&dup.stderr);
    if dup.status.success() || !stderr.contains("23505") {
        return Err(format!(
            "psql duplicate key: want a failure with 23505, got {}: {stderr}",
            dup.status
        ));
    }
    Ok("PASS psql".into())
}

/// tokio-postgres through the follower (extended protocol, binary values).
async fn tokio_postgres(p: &Proc) -> Result<String, String> {
    let e = |what: &'static str| move |err: tokio_postgres::Error| format!("{what}: {err}");
    let mut c = connect(&p.url()).await.ok_or("cannot connect")?;
    c.batch_execute(
        "DROP TABLE IF EXISTS tp_types; CREATE TABLE tp_types (id INT PRIMARY KEY, \
         c_bool BOOLEAN, c_int2 SMALLINT, c_int4 INT, c_int8 BIGINT, c_float4 REAL, \
         c_float8 DOUBLE PRECISION, c_text TEXT, c_varchar VARCHAR(20), c_bytea BYTEA, \
         c_numeric NUMERIC(12,3), c_date DATE, c_ts TIMESTAMP)",
    )
    .await
    .map_err(e("create"))?;
    type Row = (
        i32,
        Option<bool>,
        Option<i16>,
        Option<i32>,
        Option<i64>,
        Option<f32>,
        Option<f64>,
        Option<String>,
        Option<String>,
        Option<Vec<u8>>,
    );
    let rows: Vec<Row> = vec![
        (
            1,
            Some(true),
            Some(i16::MAX),
            Some(i32::MAX),
            Some(i64::MAX),
            Some(3.25),
            Some(std::f64::consts::PI),
            Some("héllo ☃ 'q' \"dq\" \\ back\nline".into()),
            Some("varchar ☃".into()),
            Some(vec![0, 1, 2, 0xff, 0x80, b'\\']),
        ),
        (
            2,
            Some(false),
            Some(i16::MIN),
            Some(i32::MIN),
            Some(i64::MIN),
            Some(-1234.5),
            Some(-1e300),
            Some(String::new()),
            Some("x".repeat(20)),
            Some(vec![]),
        ),
        (3, None, None, None, None, None, None, None, None, None),
    ];
    let insert = c
        .prepare(
            "INSERT INTO tp_types (id, c_bool, c_int2, c_int4, c_int8, c_float4, c_float8, \
             c_text, c_varchar, c_bytea) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .await
        .map_err(e("prepare insert"))?;
    for r in &rows {
        c.execute(
            &insert,
            &[&r.0, &r.1, &r.2, &r.3, &r.4, &r.5, &r.6, &r.7, &r.8, &r.9],
        )
        .await
        .map_err(e("insert"))?;
    }
    c.batch_execute(
        "UPDATE tp_types SET c_numeric = 123456789.125, c_date = '2024-02-29', \
         c_ts = '2024-02-29 13:45:30.123456' WHERE id = 1",
    )
    .await
    .map_err(e("update"))?;
    let got: Vec<Row> = c
        .query(
            "SELECT id, c_bool, c_int2, c_int4, c_int8, c_float4, c_float8, c_text, c_varchar, \
             c_bytea FROM tp_types ORDER BY id",
            &[],
        )
        .await
        .map_err(e("select"))?
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
                r.get(7),
                r.get(8),
                r.get(9),
            )
        })
        .collect();
    if got != rows {
        return Err(format!("round trip: want {rows:?}\n got {got:?}"));
    }
    let text = c
        .query_one(
            "SELECT c_numeric::text, c_date::text, c_ts::text FROM tp_types WHERE id = 1",
            &[],
        )
        .await
        .map_err(e("select text"))?;
    let text: (String, String, String) = (text.get(0), text.get(1), text.get(2));
    let want = (
        "123456789.125".to_string(),
        "2024-02-29".to_string(),
        "2024-02-29 13:45:30.123456".to_string(),
    );
    if text != want {
        return Err(format!("numeric/date/timestamp: want {want:?}, got {text:?}"));
    }

    // Commit and rollback.
    c.batch_execute("DROP TABLE IF EXISTS tp_tx; CREATE TABLE tp_tx (id INT PRIMARY KEY, v TEXT)")
        .await
        .map_err(e("create tp_tx"))?;
    let t = c.transaction().await.map_err(e("begin"))?;
    t.execute("INSERT INTO tp_tx VALUES (1, 'kept')", &[])
        .await
        .map_err(e("insert in txn"))?;
    t.commit().await.map_err(e("commit"))?;
    let t = c.transaction().await.map_err(e("begin"))?;
    t.execute("INSERT INTO tp_tx VALUES (2, 'dropped')", &[])
        .await
        .map_err(e("insert in txn"))?;
    t.rollback().await.map_err(e("rollback"))?;
    let ids: Vec<i32> = c
        .query("SELECT id FROM tp_tx ORDER BY id", &[])
        .await
        .map_err(e("select tp_tx"))?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if ids != vec![1] {
        return Err(format!("after commit and rollback: want [1], got {ids:?}"));
    }

    // Unique violation.
    match c.execute("INSERT INTO tp_tx VALUES (1, 'dup')", &[]).await {
        Err(err) if err.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {}
        other => return Err(format!("duplicate key: want 23505, got {other:?}")),
    }

    // A prepared statement reused.
    let stmt = c
        .prepare("SELECT c_text FROM tp_types WHERE id = $1")
        .await
        .map_err(e("prepare select"))?;
    for i in 0..10 {
        let id = 1 + i % 3;
        let v: Option<String> = c
            .query_one(&stmt, &[&id])
            .await
            .map_err(e("prepared select"))?
            .get(0);
        if v != rows[(id - 1) as usize].7 {
            return Err(format!("prepared select of id {id}: got {v:?}"));
        }
    }
    Ok("PASS tokio-postgres".into())
}

/// A SERIAL table filled through every node at once: each node reserves
/// its own blocks of the sequence (separate Raft commits), so ids must be
/// unique cluster-wide and increase on each connection.
async fn serial_through_every_node(cluster: &Cluster) -> Result<String, String> {
    let e = |what: &'static str| move |err: tokio_postgres::Error| format!("{what}: {err}");
    let first = connect(&cluster.procs[0].url()).await.ok_or("cannot connect")?;
    first
        .batch_execute(
            "DROP TABLE IF EXISTS serial_t; CREATE TABLE serial_t (id SERIAL PRIMARY KEY, node INT)",
        )
        .await
        .map_err(e("create"))?;
    let mut tasks = Vec::new();
    for p in &cluster.procs {
        let (url, node) = (p.url(), p.id as i32);
        tasks.push(tokio::spawn(async move {
            let c = connect(&url).await.ok_or("cannot connect".to_string())?;
            let mut ids = Vec::new();
            for _ in 0..20 {
                let row = c
                    .query_one("INSERT INTO serial_t (node) VALUES ($1) RETURNING id", &[&node])
                    .await
                    .map_err(|err| format!("insert through node {node}: {err}"))?;
                ids.push(row.try_get::<_, i32>(0).map_err(|err| err.to_string())?);
            }
            Ok::<_, String>(ids)
        }));
    }
    let mut all = std::collections::BTreeSet::new();
    for t in tasks {
        let ids = t.await.map_err(|err| err.to_string())??;
        if !ids.windows(2).all(|w| w[0] < w[1]) {
            return Err(format!("ids of one connection do not increase: {ids:?}"));
        }
        all.extend(ids);
    }
    if all.len() != 60 {
        return Err(format!("{} distinct ids for 60 inserts: {all:?}", all.len()));
    }
    let last = cluster.procs.last().ok_or("no nodes")?;
    let c = connect(&last.url()).await.ok_or("cannot connect")?;
    let stored: i64 = c
        .query_one("SELECT count(DISTINCT id) FROM serial_t", &[])
        .await
        .map_err(e("count"))?
        .get(0);
    if stored != 60 {
        return Err(format!("{stored} distinct ids stored, 60 acknowledged"));
    }
    Ok("PASS SERIAL through every node".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_client_works_through_a_follower_of_a_three_node_cluster() {
    let cluster = Cluster::start(3, &[]).await;
    let leader = cluster.leader().await;
    let follower = cluster.procs.iter().find(|p| p.id != leader).expect("a follower");
    println!(
        "clients connect to node {} (SQL port {}); the leader is node {leader}",
        follower.id,
        follower.sql.port()
    );

    let mut outcomes: Vec<(&str, Result<String, String>)> = Vec::new();
    for name in ["psql", "tokio-postgres"] {
        if clients::skipped(name) {
            println!("SKIPPED client {name}: listed in QUORUMDB_SKIP_CLIENTS");
            continue;
        }
        let result = match name {
            "psql" => psql(follower).await,
            _ => tokio_postgres(follower).await,
        };
        outcomes.push((name, result));
    }
    for client in clients::ALL {
        if clients::skipped(client.name) {
            println!("SKIPPED client {}: listed in QUORUMDB_SKIP_CLIENTS", client.name);
            continue;
        }
        outcomes.push((client.name, clients::run(client, follower.sql.port()).await));
    }
    outcomes.push(("serial", serial_through_every_node(&cluster).await));

    let now = cluster.leader().await;
    if now == follower.id {
        println!("note: node {now} became the leader during the run");
    }
    let mut failed = Vec::new();
    for (name, result) in &outcomes {
        match result {
            Ok(pass) => println!("{pass} (through follower node {})", follower.id),
            Err(e) => {
                println!("FAIL {name}: {e}");
                failed.push(*name);
            }
        }
    }
    assert!(failed.is_empty(), "clients failed through a follower: {failed:?}");
}
