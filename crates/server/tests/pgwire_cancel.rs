//! CancelRequest over the wire: tokio-postgres' `cancel_query` stops a
//! long query with 57014 and the session carries on, and so does
//! `statement_timeout`; a raw client checks
//! that BackendKeyData's pid is `pg_backend_pid()`, that a wrong secret
//! cancels nothing and that the right one does.
//!
//! A cancel only stops a statement that is running, and the test cannot
//! know the instant the server starts one, so every test keeps sending
//! cancels until the query answers (polling, generous timeouts).

mod pgwire_util;

use std::sync::Arc;
use std::time::Duration;

use pgwire_util::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::NoTls;

/// How long a cancelled query may take to stop before the test fails.
const CANCEL_TIMEOUT: Duration = Duration::from_secs(120);
/// Pause between two cancel attempts.
const RETRY: Duration = Duration::from_millis(20);

/// Three tables of `n` rows; their cross join has n³ rows.
async fn cube(c: &tokio_postgres::Client, n: u32) {
    for t in ["a", "b", "c"] {
        c.batch_execute(&format!(
            "CREATE TABLE {t} (x INT); INSERT INTO {t} SELECT x FROM generate_series(1, {n}) AS x"
        ))
        .await
        .expect("setup");
    }
}

/// Far more work than it takes to cancel it (27 million joined rows).
const LONG: &str = "SELECT count(*) FROM a, b, c WHERE a.x + b.x + c.x > 0";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_query_stops_a_running_statement() {
    let server = start_default().await;
    let client = Arc::new(connect(&server).await);
    cube(&client, 300).await;
    let token = client.cancel_token();

    for extended in [true, false] {
        let c = client.clone();
        let query = tokio::spawn(async move {
            if extended {
                c.query_one(LONG, &[]).await.map(|_| ())
            } else {
                c.simple_query(LONG).await.map(|_| ())
            }
        });
        let result = tokio::time::timeout(CANCEL_TIMEOUT, async {
            while !query.is_finished() {
                token.cancel_query(NoTls).await.expect("send cancel");
                tokio::time::sleep(RETRY).await;
            }
            query.await.expect("query task")
        })
        .await
        .expect("the query was not cancelled in time");
        let err = result.expect_err("a cancelled query fails");
        assert_eq!(sqlstate(&err), "57014", "{err:?}");
        // The session is still usable, and the next statement is not
        // cancelled by a leftover flag.
        let row = client
            .query_one("SELECT count(*) FROM a", &[])
            .await
            .expect("after cancel");
        assert_eq!(row.get::<_, i64>(0), 300);
    }
    // Inside a transaction block, the block fails until ROLLBACK.
    client.batch_execute("BEGIN").await.expect("begin");
    let c = client.clone();
    let query = tokio::spawn(async move { c.simple_query(LONG).await.map(|_| ()) });
    tokio::time::timeout(CANCEL_TIMEOUT, async {
        while !query.is_finished() {
            token.cancel_query(NoTls).await.expect("send cancel");
            tokio::time::sleep(RETRY).await;
        }
    })
    .await
    .expect("not cancelled in time");
    let err = client
        .simple_query("SELECT 1")
        .await
        .map(|_| ())
        .expect_err("failed block");
    assert_eq!(sqlstate(&err), "25P02");
    client.batch_execute("ROLLBACK").await.expect("rollback");
    client.simple_query("SELECT 1").await.expect("after rollback");
}

/// `SET statement_timeout` stops a statement that runs past it, in the
/// simple and the extended protocol, in a row loop and in `pg_sleep`, with
/// PostgreSQL's 57014 message; the session carries on, a block fails until
/// ROLLBACK, and `0` lifts the limit. If the timeout did nothing, the
/// statements would run for a minute and succeed, and the test would fail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statement_timeout_stops_a_statement_and_the_session_carries_on() {
    let server = start_default().await;
    let client = connect(&server).await;
    cube(&client, 400).await;
    let timed_out = |r: Result<(), tokio_postgres::Error>| {
        let err = r.expect_err("a statement past its timeout fails");
        assert_eq!(sqlstate(&err), "57014", "{err:?}");
        let message = err
            .as_db_error()
            .map(|e| e.message().to_owned())
            .unwrap_or_default();
        assert_eq!(message, "canceling statement due to statement timeout");
    };
    assert_eq!(set_timeout(&client, "100").await, "100ms");
    let run = |sql: &'static str, extended: bool| {
        let c = &client;
        async move {
            tokio::time::timeout(CANCEL_TIMEOUT, async move {
                if extended {
                    c.query(sql, &[]).await.map(|_| ())
                } else {
                    c.simple_query(sql).await.map(|_| ())
                }
            })
            .await
            .expect("the statement outlived its timeout by minutes")
        }
    };
    timed_out(run("SELECT pg_sleep('infinity')", false).await);
    timed_out(run("SELECT pg_sleep(60)", true).await);
    // 64 million joined rows: far longer than 100 ms.
    timed_out(run(LONG, true).await);
    let row = client
        .query_one("SELECT count(*) FROM a", &[])
        .await
        .expect("after the timeout");
    assert_eq!(row.get::<_, i64>(0), 400);

    client.batch_execute("BEGIN").await.expect("begin");
    timed_out(run("SELECT pg_sleep(60)", false).await);
    let err = client
        .simple_query("SELECT 1")
        .await
        .map(|_| ())
        .expect_err("failed block");
    assert_eq!(sqlstate(&err), "25P02");
    client.batch_execute("ROLLBACK").await.expect("rollback");

    let err = client
        .batch_execute("SET statement_timeout = '5 parsecs'")
        .await
        .expect_err("bad unit");
    assert_eq!(sqlstate(&err), "22023");
    assert_eq!(set_timeout(&client, "'1min'").await, "1min");
    client
        .batch_execute("SET statement_timeout = 0")
        .await
        .expect("no limit");
    let row = client
        .query_one("SELECT pg_sleep(0.3)", &[])
        .await
        .expect("no limit now");
    assert_eq!(row.get::<_, String>(0), "");

    // SET LOCAL lasts until the block ends; a SET in a rolled-back block,
    // or in a query string that failed, is undone.
    client
        .batch_execute("BEGIN; SET LOCAL statement_timeout = '100ms'")
        .await
        .expect("set local");
    timed_out(run("SELECT pg_sleep(60)", true).await);
    client.batch_execute("ROLLBACK").await.expect("rollback");
    client
        .batch_execute("BEGIN; SET statement_timeout = '100ms'; ROLLBACK")
        .await
        .expect("undone");
    let err = client
        .simple_query("SET statement_timeout = '100ms'; SELECT 1/0")
        .await
        .map(|_| ())
        .expect_err("division by zero");
    assert_eq!(sqlstate(&err), "22012");
    assert_eq!(show_timeout(&client).await, "0");
    let row = client
        .query_one("SELECT pg_sleep(0.3)", &[])
        .await
        .expect("no limit after the block");
    assert_eq!(row.get::<_, String>(0), "");
    // Savepoints: ROLLBACK TO puts settings back as the savepoint found
    // them; RELEASE keeps them (PostgreSQL 15 answers 2s, 1s, 4s, 5s, 5s).
    client
        .batch_execute(
            "BEGIN; SET statement_timeout = '1s'; SAVEPOINT a; SET statement_timeout = '2s'; \
             SAVEPOINT b; SET LOCAL statement_timeout = '3s'; ROLLBACK TO b",
        )
        .await
        .expect("savepoints");
    assert_eq!(show_timeout(&client).await, "2s");
    client
        .batch_execute("ROLLBACK TO a")
        .await
        .expect("rollback to a");
    assert_eq!(show_timeout(&client).await, "1s");
    client
        .batch_execute("RELEASE a; SET statement_timeout = '4s'; COMMIT")
        .await
        .expect("commit");
    assert_eq!(show_timeout(&client).await, "4s");
    client
        .batch_execute("BEGIN; SAVEPOINT a; SET statement_timeout = '5s'; RELEASE a; SAVEPOINT b")
        .await
        .expect("release");
    client
        .batch_execute("SELECT 1/0")
        .await
        .expect_err("division by zero");
    client
        .batch_execute("ROLLBACK TO b")
        .await
        .expect("rollback to b");
    assert_eq!(show_timeout(&client).await, "5s");
    client.batch_execute("COMMIT").await.expect("commit");
    assert_eq!(set_timeout(&client, "0").await, "0");

    // COPY FROM runs under the timeout in force when it starts, as one
    // statement (its row batches share one deadline).
    use futures::SinkExt;
    client
        .batch_execute(
            "CREATE TABLE cp (id INT PRIMARY KEY); SET statement_timeout = 1; SET statement_timeout = 0",
        )
        .await
        .expect("setup");
    let copy = |rows: u32| {
        let c = &client;
        async move {
            let sink = c.copy_in("COPY cp FROM STDIN").await?;
            futures::pin_mut!(sink);
            let data: String = (0..rows).map(|i| format!("{i}\n")).collect();
            sink.send(bytes::Bytes::from(data)).await?;
            sink.finish().await
        }
    };
    assert_eq!(copy(600).await.expect("no limit: the last SET counts"), 600);
    client
        .batch_execute("TRUNCATE cp; SET statement_timeout = 50")
        .await
        .expect("set");
    let err = copy(300_000)
        .await
        .expect_err("300,000 rows take longer than 50 ms");
    assert_eq!(sqlstate(&err), "57014", "{err:?}");
    client
        .batch_execute("SET statement_timeout = 0")
        .await
        .expect("reset");
    let n: i64 = client
        .query_one("SELECT count(*) FROM cp", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 0, "a timed-out COPY leaves nothing behind");
}

/// `SET statement_timeout = value`, then what SHOW says.
async fn set_timeout(c: &tokio_postgres::Client, value: &str) -> String {
    c.batch_execute(&format!("SET statement_timeout = {value}"))
        .await
        .expect("set statement_timeout");
    show_timeout(c).await
}

async fn show_timeout(c: &tokio_postgres::Client) -> String {
    c.query_one("SHOW statement_timeout", &[])
        .await
        .expect("show")
        .get(0)
}

/// A bare protocol connection that remembers its BackendKeyData.
struct Raw {
    s: TcpStream,
    pid: i32,
    secret: i32,
}

impl Raw {
    async fn connect(server: &TestServer) -> Raw {
        let mut s = TcpStream::connect(server.addr).await.expect("tcp");
        let mut body = 196_608i32.to_be_bytes().to_vec();
        for part in ["user", "root", "database", "qdb", ""] {
            body.extend_from_slice(part.as_bytes());
            body.push(0);
        }
        let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        msg.extend_from_slice(&body);
        s.write_all(&msg).await.expect("startup");
        let mut r = Raw { s, pid: 0, secret: 0 };
        for (tag, body) in r.until(b'Z').await {
            if tag == b'K' {
                r.pid = i32::from_be_bytes(body[0..4].try_into().expect("pid"));
                r.secret = i32::from_be_bytes(body[4..8].try_into().expect("secret"));
            }
        }
        assert_ne!(r.pid, 0, "no BackendKeyData");
        r
    }

    async fn until(&mut self, tag: u8) -> Vec<(u8, Vec<u8>)> {
        read_until(&mut self.s, tag, CANCEL_TIMEOUT).await
    }

    async fn send_query(&mut self, sql: &str) {
        let mut body = sql.as_bytes().to_vec();
        body.push(0);
        let mut m = vec![b'Q'];
        m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        m.extend_from_slice(&body);
        self.s.write_all(&m).await.expect("query");
    }

    /// Sends `sql`, and a CancelRequest for (`pid`, `secret`) every
    /// [`RETRY`] until the answer is complete; returns the messages.
    async fn query_while_cancelling(
        &mut self,
        server: &TestServer,
        sql: &str,
        pid: i32,
        secret: i32,
    ) -> Vec<(u8, Vec<u8>)> {
        self.send_query(sql).await;
        let addr = server.addr;
        let canceller = tokio::spawn(async move {
            loop {
                send_cancel(addr, pid, secret).await;
                tokio::time::sleep(RETRY).await;
            }
        });
        let answer = self.until(b'Z').await;
        canceller.abort();
        answer
    }
}

async fn send_cancel(addr: std::net::SocketAddr, pid: i32, secret: i32) {
    let mut s = TcpStream::connect(addr).await.expect("cancel connection");
    let mut m = 16i32.to_be_bytes().to_vec();
    m.extend_from_slice(&80_877_102i32.to_be_bytes());
    m.extend_from_slice(&pid.to_be_bytes());
    m.extend_from_slice(&secret.to_be_bytes());
    s.write_all(&m).await.expect("cancel request");
    // The server closes the connection without answering.
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(TIMEOUT, s.read_to_end(&mut buf)).await;
}

fn error_code(msgs: &[(u8, Vec<u8>)]) -> Option<String> {
    let (_, body) = msgs.iter().find(|(t, _)| *t == b'E')?;
    body.split(|b| *b == 0)
        .find_map(|f| f.strip_prefix(b"C"))
        .map(|c| String::from_utf8_lossy(c).into_owned())
}

fn first_value(msgs: &[(u8, Vec<u8>)]) -> Option<String> {
    let (_, body) = msgs.iter().find(|(t, _)| *t == b'D')?;
    let len = i32::from_be_bytes(body.get(2..6)?.try_into().ok()?);
    Some(String::from_utf8_lossy(body.get(6..6 + usize::try_from(len).ok()?)?).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_key_data_matches_and_only_the_right_secret_cancels() {
    let server = start_default().await;
    let setup = connect(&server).await;
    cube(&setup, 300).await;
    setup
        .batch_execute(
            "CREATE TABLE small (x INT); INSERT INTO small SELECT x FROM generate_series(1, 60) AS x",
        )
        .await
        .expect("small");

    let mut r = Raw::connect(&server).await;
    let other = Raw::connect(&server).await;
    assert_ne!(r.pid, other.pid, "pids are unique");
    r.send_query("SELECT pg_backend_pid()").await;
    let msgs = r.until(b'Z').await;
    assert_eq!(first_value(&msgs), Some(r.pid.to_string()));

    // A wrong secret (and another connection's key) cancel nothing: the
    // query (216,000 joined rows) runs to its end.
    let (pid, wrong) = (r.pid, r.secret.wrapping_add(1));
    let msgs = r
        .query_while_cancelling(
            &server,
            "SELECT count(*) FROM small s1, small s2, small s3",
            pid,
            wrong,
        )
        .await;
    assert_eq!(error_code(&msgs), None, "{msgs:?}");
    assert_eq!(first_value(&msgs).as_deref(), Some("216000"));
    let msgs = r
        .query_while_cancelling(
            &server,
            "SELECT count(*) FROM small s1, small s2, small s3",
            other.pid,
            other.secret,
        )
        .await;
    assert_eq!(first_value(&msgs).as_deref(), Some("216000"));

    // The right key cancels.
    let secret = r.secret;
    let msgs = r.query_while_cancelling(&server, LONG, pid, secret).await;
    assert_eq!(error_code(&msgs).as_deref(), Some("57014"), "{msgs:?}");
    r.send_query("SELECT 1").await;
    let msgs = r.until(b'Z').await;
    assert_eq!(first_value(&msgs).as_deref(), Some("1"));
}
