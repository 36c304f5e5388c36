//! The pgwire endpoint driven by tokio-postgres (extended protocol with
//! binary parameters and results, simple protocol with text), plus raw
//! protocol checks (ReadyForQuery I/T/E, text parameters without OIDs,
//! garbage bytes) and trust authentication (passwords: `pgwire_users.rs`).
//!
//! Each test starts its own in-process server on 127.0.0.1:0.

mod pgwire_util;

use std::error::Error;
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use pgwire_util::*;
use quorumdb_server::pgwire::PgConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_postgres::SimpleQueryMessage;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

type BoxErr = Box<dyn Error + Sync + Send>;

/// DATE as days since 2000-01-01 (the binary wire value).
#[derive(Debug, PartialEq, Clone, Copy)]
struct PgDate(i32);
/// TIMESTAMP as microseconds since 2000-01-01.
#[derive(Debug, PartialEq, Clone, Copy)]
struct PgTimestamp(i64);
/// NUMERIC as its raw binary wire bytes.
#[derive(Debug, PartialEq, Clone)]
struct PgNumeric(Vec<u8>);

impl<'a> FromSql<'a> for PgDate {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxErr> {
        Ok(PgDate(i32::from_be_bytes(raw.try_into()?)))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }
}
impl ToSql for PgDate {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxErr> {
        out.put_i32(self.0);
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::DATE
    }
    to_sql_checked!();
}
impl<'a> FromSql<'a> for PgTimestamp {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxErr> {
        Ok(PgTimestamp(i64::from_be_bytes(raw.try_into()?)))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMP
    }
}
impl ToSql for PgTimestamp {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxErr> {
        out.put_i64(self.0);
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::TIMESTAMP
    }
    to_sql_checked!();
}
impl<'a> FromSql<'a> for PgNumeric {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxErr> {
        Ok(PgNumeric(raw.to_vec()))
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
}
impl ToSql for PgNumeric {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxErr> {
        out.put_slice(&self.0);
        Ok(IsNull::No)
    }
    fn accepts(ty: &Type) -> bool {
        *ty == Type::NUMERIC
    }
    to_sql_checked!();
}

/// 123.45 in PostgreSQL's binary NUMERIC: 2 digits, weight 0, +, dscale 2, [123, 4500].
fn numeric_123_45() -> PgNumeric {
    PgNumeric(vec![0, 2, 0, 0, 0, 0, 0, 2, 0, 123, 0x11, 0x94])
}

fn rows_of(msgs: &[SimpleQueryMessage]) -> Vec<Vec<Option<String>>> {
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(r) => Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect()),
            _ => None,
        })
        .collect()
}

fn counts_of(msgs: &[SimpleQueryMessage]) -> Vec<u64> {
    msgs.iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::CommandComplete(n) => Some(*n),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simple_protocol_runs_several_statements() {
    let server = start_default().await;
    let c = connect(&server).await;
    let msgs = c
        .simple_query(
            "CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, NULL); \
             UPDATE t SET v = 'c' WHERE id = 1; DELETE FROM t WHERE id = 2; SELECT id, v FROM t ORDER BY id",
        )
        .await
        .expect("batch");
    assert_eq!(counts_of(&msgs), [0, 3, 1, 1, 2]);
    assert_eq!(
        rows_of(&msgs),
        [
            vec![Some("1".into()), Some("c".into())],
            vec![Some("3".into()), None]
        ]
    );
    // An error stops the batch, and the batch is one implicit
    // transaction: the first INSERT is rolled back too.
    let err = c
        .simple_query("INSERT INTO t VALUES (4, 'd'); SELECT nope FROM t; INSERT INTO t VALUES (5, 'e')")
        .await
        .expect_err("undefined column");
    assert_eq!(sqlstate(&err), "42703");
    let msgs = c.simple_query("SELECT count(*) FROM t").await.expect("count");
    assert_eq!(rows_of(&msgs), [vec![Some("2".into())]]);
    // With explicit transaction control, statements before the error stay.
    let err = c
        .simple_query("BEGIN; INSERT INTO t VALUES (4, 'd'); COMMIT; SELECT nope FROM t")
        .await
        .expect_err("undefined column");
    assert_eq!(sqlstate(&err), "42703");
    let msgs = c.simple_query("SELECT count(*) FROM t").await.expect("count");
    assert_eq!(rows_of(&msgs), [vec![Some("3".into())]]);
    // Empty query strings are fine.
    c.simple_query(";;").await.expect("empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_protocol_round_trips_every_type_binary() {
    let server = start_default().await;
    let c = connect(&server).await;
    c.batch_execute(
        "CREATE TABLE ty (id BIGINT PRIMARY KEY, b BOOLEAN, i2 SMALLINT, i4 INTEGER, f4 REAL, f8 DOUBLE PRECISION, \
         s TEXT, vc VARCHAR(10), n NUMERIC(10,2), d DATE, ts TIMESTAMP, by BYTEA)",
    )
    .await
    .expect("create");
    // No OIDs sent: the server must infer every parameter type.
    let ins = c
        .prepare("INSERT INTO ty VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
        .await
        .expect("prepare insert");
    assert_eq!(
        ins.params(),
        [
            Type::INT8,
            Type::BOOL,
            Type::INT2,
            Type::INT4,
            Type::FLOAT4,
            Type::FLOAT8,
            Type::TEXT,
            Type::VARCHAR,
            Type::NUMERIC,
            Type::DATE,
            Type::TIMESTAMP,
            Type::BYTEA
        ]
    );
    let date = PgDate(8_766); // 2024-01-01
    let ts = PgTimestamp(757_382_400_123_456); // 2024-01-01 00:00:00.123456
    let blob: Vec<u8> = vec![0, 1, 2, 255];
    let n = c
        .execute(
            &ins,
            &[
                &1i64,
                &true,
                &-7i16,
                &123_456i32,
                &1.5f32,
                &-2.25f64,
                &"héllo 'quoted'",
                &"short",
                &numeric_123_45(),
                &date,
                &ts,
                &blob,
            ],
        )
        .await
        .expect("insert");
    assert_eq!(n, 1);
    // NULLs in every column.
    let mut params: Vec<&(dyn ToSql + Sync)> = vec![&2i64];
    let null_b: Option<bool> = None;
    let null_i2: Option<i16> = None;
    let null_i4: Option<i32> = None;
    let null_f4: Option<f32> = None;
    let null_f8: Option<f64> = None;
    let null_s: Option<&str> = None;
    let null_n: Option<PgNumeric> = None;
    let null_d: Option<PgDate> = None;
    let null_ts: Option<PgTimestamp> = None;
    let null_by: Option<Vec<u8>> = None;
    params.extend([
        &null_b as &(dyn ToSql + Sync),
        &null_i2,
        &null_i4,
        &null_f4,
        &null_f8,
        &null_s,
        &null_s,
        &null_n,
        &null_d,
        &null_ts,
        &null_by,
    ]);
    assert_eq!(params.len(), 12);
    c.execute(&ins, &params).await.expect("insert nulls");

    let sel = c
        .prepare("SELECT b, i2, i4, f4, f8, s, vc, n, d, ts, by FROM ty WHERE id = $1")
        .await
        .expect("prepare select");
    assert_eq!(sel.params(), [Type::INT8]);
    let row = c.query_one(&sel, &[&1i64]).await.expect("select 1");
    assert!(row.get::<_, bool>(0));
    assert_eq!(row.get::<_, i16>(1), -7);
    assert_eq!(row.get::<_, i32>(2), 123_456);
    assert_eq!(row.get::<_, f32>(3), 1.5);
    assert_eq!(row.get::<_, f64>(4), -2.25);
    assert_eq!(row.get::<_, String>(5), "héllo 'quoted'");
    assert_eq!(row.get::<_, String>(6), "short");
    assert_eq!(row.get::<_, PgNumeric>(7), numeric_123_45());
    assert_eq!(row.get::<_, PgDate>(8), date);
    assert_eq!(row.get::<_, PgTimestamp>(9), ts);
    assert_eq!(row.get::<_, Vec<u8>>(10), blob);

    let row = c.query_one(&sel, &[&2i64]).await.expect("select 2");
    assert_eq!(row.get::<_, Option<bool>>(0), None);
    assert_eq!(row.get::<_, Option<i32>>(2), None);
    assert_eq!(row.get::<_, Option<String>>(5), None);
    assert_eq!(row.get::<_, Option<PgDate>>(8), None);

    // Text results of the same values (simple protocol).
    let msgs = c
        .simple_query("SELECT b, i2, f4, n, d, ts, by FROM ty WHERE id = 1")
        .await
        .expect("text");
    assert_eq!(
        rows_of(&msgs),
        [[
            "t",
            "-7",
            "1.5",
            "123.45",
            "2024-01-01",
            "2024-01-01 00:00:00.123456",
            "\\x000102ff"
        ]
        .map(|s| Some(s.to_owned()))
        .to_vec()]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_statement_reused_and_transactions() {
    let server = start_default().await;
    let mut c = connect(&server).await;
    c.batch_execute("CREATE TABLE acc (id INT PRIMARY KEY, bal BIGINT NOT NULL)")
        .await
        .expect("create");
    let ins = c
        .prepare("INSERT INTO acc (id, bal) VALUES ($1, $2)")
        .await
        .expect("prepare");
    for i in 0..10i32 {
        assert_eq!(
            c.execute(&ins, &[&i, &(i64::from(i) * 10)])
                .await
                .expect("insert"),
            1
        );
    }
    let upd = c
        .prepare("UPDATE acc SET bal = bal + $1 WHERE id = $2")
        .await
        .expect("prepare update");
    assert_eq!(upd.params(), [Type::INT8, Type::INT4]);

    // Commit.
    let tx = c.transaction().await.expect("begin");
    tx.execute(&upd, &[&5i64, &1i32]).await.expect("update");
    tx.commit().await.expect("commit");
    // Rollback.
    let tx = c.transaction().await.expect("begin");
    tx.execute(&upd, &[&1000i64, &2i32]).await.expect("update");
    tx.rollback().await.expect("rollback");
    let rows = c
        .query(
            "SELECT id, bal FROM acc WHERE id IN ($1, $2) ORDER BY id",
            &[&1i32, &2i32],
        )
        .await
        .expect("select");
    let got: Vec<(i32, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [(1, 15), (2, 20)]);

    // Unique violation by SQLSTATE, in and out of a transaction.
    let err = c.execute(&ins, &[&1i32, &0i64]).await.expect_err("duplicate");
    assert_eq!(sqlstate(&err), "23505");

    // A failed transaction block: 25P02 until ROLLBACK.
    c.batch_execute("BEGIN").await.expect("begin");
    let err = c.execute(&ins, &[&1i32, &0i64]).await.expect_err("duplicate");
    assert_eq!(sqlstate(&err), "23505");
    let err = c.query("SELECT 1", &[]).await.expect_err("aborted");
    assert_eq!(sqlstate(&err), "25P02");
    let err = c.simple_query("SELECT 1").await.expect_err("aborted");
    assert_eq!(sqlstate(&err), "25P02");
    c.batch_execute("ROLLBACK").await.expect("rollback");
    c.query("SELECT 1", &[]).await.expect("usable again");
}

/// What an application schema uses beyond plain tables, through the
/// extended protocol: a SERIAL key read back with RETURNING, a foreign key
/// (23503 by SQLSTATE), and a view described and read like a table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serial_keys_foreign_keys_and_views_through_a_driver() {
    let server = start_default().await;
    let c = connect(&server).await;
    c.batch_execute(
        "CREATE TABLE authors (id SERIAL PRIMARY KEY, name TEXT NOT NULL); \
         CREATE TABLE books (id BIGSERIAL PRIMARY KEY, author INT NOT NULL REFERENCES authors ON DELETE CASCADE, title TEXT); \
         CREATE VIEW shelf AS SELECT a.name, count(b.id) AS books FROM authors a LEFT JOIN books b ON b.author = a.id GROUP BY a.name",
    )
    .await
    .expect("schema");
    let add_author = c
        .prepare("INSERT INTO authors (name) VALUES ($1) RETURNING id")
        .await
        .expect("prepare");
    let ann: i32 = c.query_one(&add_author, &[&"ann"]).await.expect("ann").get(0);
    let bob: i32 = c.query_one(&add_author, &[&"bob"]).await.expect("bob").get(0);
    assert_eq!((ann, bob), (1, 2));
    let add_book = c
        .prepare("INSERT INTO books (author, title) VALUES ($1, $2) RETURNING id")
        .await
        .expect("prepare");
    let first: i64 = c.query_one(&add_book, &[&ann, &"a"]).await.expect("book").get(0);
    assert_eq!(first, 1);
    c.query_one(&add_book, &[&ann, &"b"]).await.expect("book");
    let err = c
        .query_one(&add_book, &[&99i32, &"orphan"])
        .await
        .expect_err("dangling");
    assert_eq!(sqlstate(&err), "23503");

    let shelf = c
        .prepare("SELECT name, books FROM shelf ORDER BY name")
        .await
        .expect("describe view");
    assert_eq!(shelf.columns()[1].type_(), &Type::INT8);
    let rows: Vec<(String, i64)> = c
        .query(&shelf, &[])
        .await
        .expect("view")
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(rows, [("ann".to_string(), 2), ("bob".to_string(), 0)]);
    // A parameter compared with a view's column gets that column's type.
    let busy = c
        .query("SELECT name FROM shelf WHERE books > $1", &[&1i64])
        .await
        .expect("typed parameter against a view");
    assert_eq!(busy.len(), 1);

    c.execute("DELETE FROM authors WHERE id = $1", &[&ann])
        .await
        .expect("cascade");
    let left: i64 = c
        .query_one("SELECT count(*) FROM books", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_max_rows_suspends() {
    let server = start_default().await;
    let mut c = connect(&server).await;
    c.batch_execute("CREATE TABLE p (id INT PRIMARY KEY); INSERT INTO p VALUES (1), (2), (3), (4), (5)")
        .await
        .expect("setup");
    let tx = c.transaction().await.expect("begin");
    let stmt = tx
        .prepare("SELECT id FROM p WHERE id > $1 ORDER BY id")
        .await
        .expect("prepare");
    let portal = tx.bind(&stmt, &[&0i32]).await.expect("bind");
    let mut seen = Vec::new();
    loop {
        let rows = tx.query_portal(&portal, 2).await.expect("fetch");
        if rows.is_empty() {
            break;
        }
        assert!(rows.len() <= 2);
        seen.extend(rows.iter().map(|r| r.get::<_, i32>(0)));
    }
    assert_eq!(seen, [1, 2, 3, 4, 5]);
    tx.commit().await.expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compat_functions_and_settings() {
    let server = start_default().await;
    let c = connect(&server).await;
    let row = c
        .query_one(
            "SELECT version(), current_schema(), current_database(), current_user",
            &[],
        )
        .await
        .expect("functions");
    let version: String = row.get(0);
    assert!(version.starts_with("PostgreSQL 15.0 (QuorumDB "), "{version}");
    assert_eq!(row.get::<_, String>(1), "public");
    assert_eq!(row.get::<_, String>(2), "qdb");
    assert_eq!(row.get::<_, String>(3), "root");
    assert_eq!(row.columns()[0].name(), "version");
    let pid: i32 = c
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pid")
        .get(0);
    assert_ne!(pid, 0);

    c.batch_execute("SET extra_float_digits = 3; SET application_name TO 'tests'")
        .await
        .expect("set");
    let msgs = c.simple_query("SHOW extra_float_digits").await.expect("show");
    assert_eq!(rows_of(&msgs), [vec![Some("3".into())]]);
    let v: String = c
        .query_one("SELECT current_setting('application_name')", &[])
        .await
        .expect("current_setting")
        .get(0);
    assert_eq!(v, "tests");
    let msgs = c.simple_query("SHOW server_version").await.expect("show");
    assert!(
        rows_of(&msgs)[0][0]
            .as_deref()
            .is_some_and(|v| v.starts_with("15.0 (QuorumDB"))
    );
    let msgs = c
        .simple_query("SHOW transaction isolation level")
        .await
        .expect("show");
    assert_eq!(rows_of(&msgs), [vec![Some("serializable".into())]]);
    // Unknown SET is a warning, not an error.
    c.batch_execute("SET no_such_setting = 42")
        .await
        .expect("unknown set");
    let err = c
        .simple_query("SHOW no_such_thing_at_all")
        .await
        .expect_err("unknown show");
    assert_eq!(sqlstate(&err), "42704");
    c.batch_execute("RESET ALL").await.expect("reset");
    let msgs = c.simple_query("SHOW extra_float_digits").await.expect("show");
    assert_eq!(rows_of(&msgs), [vec![Some("1".into())]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_independent_and_disconnect_rolls_back() {
    let server = start_default().await;
    let a = connect(&server).await;
    let b = connect(&server).await;
    a.batch_execute("CREATE TABLE s (id INT PRIMARY KEY)")
        .await
        .expect("create");
    a.batch_execute("BEGIN; INSERT INTO s VALUES (1)")
        .await
        .expect("open txn");
    // B is not blocked by A's open transaction and does not see its write.
    let n: i64 = tokio::time::timeout(TIMEOUT, b.query_one("SELECT count(*) FROM s", &[]))
        .await
        .expect("b blocked")
        .expect("count")
        .get(0);
    assert_eq!(n, 0);
    drop(a); // disconnect mid-transaction
    // A's insert never commits: B can insert the same key.
    b.batch_execute("INSERT INTO s VALUES (1)")
        .await
        .expect("insert after disconnect");
    let n: i64 = b
        .query_one("SELECT count(*) FROM s", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 1);
}

// ---------------------------------------------------------------------
// Raw protocol helpers (for what tokio-postgres does not expose).

struct Raw {
    s: TcpStream,
}

impl Raw {
    async fn connect(server: &TestServer, user: &str) -> Raw {
        let s = TcpStream::connect(server.addr).await.expect("tcp");
        let mut r = Raw { s };
        let mut body = Vec::new();
        body.extend_from_slice(&196_608i32.to_be_bytes());
        for (k, v) in [("user", user), ("database", "qdb")] {
            body.extend_from_slice(k.as_bytes());
            body.push(0);
            body.extend_from_slice(v.as_bytes());
            body.push(0);
        }
        body.push(0);
        let mut msg = ((body.len() + 4) as i32).to_be_bytes().to_vec();
        msg.extend_from_slice(&body);
        r.s.write_all(&msg).await.expect("startup");
        r.until(b'Z').await;
        r
    }

    async fn send(&mut self, tag: u8, body: &[u8]) {
        let mut m = vec![tag];
        m.extend_from_slice(&((body.len() + 4) as i32).to_be_bytes());
        m.extend_from_slice(body);
        self.s.write_all(&m).await.expect("send");
    }

    /// Reads messages up to and including one tagged `tag`; returns all.
    async fn until(&mut self, tag: u8) -> Vec<(u8, Vec<u8>)> {
        read_until(&mut self.s, tag, TIMEOUT).await
    }

    /// Simple query; returns the ReadyForQuery status byte and messages.
    async fn query(&mut self, sql: &str) -> (u8, Vec<(u8, Vec<u8>)>) {
        let mut body = sql.as_bytes().to_vec();
        body.push(0);
        self.send(b'Q', &body).await;
        let msgs = self.until(b'Z').await;
        let status = msgs.last().map(|m| m.1[0]).unwrap_or(0);
        (status, msgs)
    }
}

fn cstr(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_for_query_reports_idle_transaction_failed() {
    let server = start_default().await;
    let mut r = Raw::connect(&server, "root").await;
    assert_eq!(r.query("CREATE TABLE r (id INT PRIMARY KEY)").await.0, b'I');
    assert_eq!(r.query("BEGIN").await.0, b'T');
    assert_eq!(r.query("INSERT INTO r VALUES (1)").await.0, b'T');
    let (status, msgs) = r.query("SELECT * FROM missing").await;
    assert_eq!(status, b'E');
    assert!(msgs.iter().any(|m| m.0 == b'E'));
    let (status, msgs) = r.query("SELECT 1").await;
    assert_eq!(status, b'E');
    let err = msgs.iter().find(|m| m.0 == b'E').expect("error");
    assert!(String::from_utf8_lossy(&err.1).contains("25P02"));
    assert_eq!(r.query("ROLLBACK").await.0, b'I');
    // Syntax errors carry a position.
    let (_, msgs) = r.query("SELECT 1; SELEC 2").await;
    let err = msgs.iter().find(|m| m.0 == b'E').expect("error");
    let fields = String::from_utf8_lossy(&err.1).to_string();
    assert!(fields.contains("C42601"), "{fields}");
    assert!(fields.contains("P11"), "{fields}");
    // A notice for BEGIN inside a transaction.
    r.query("BEGIN").await;
    let (_, msgs) = r.query("BEGIN").await;
    assert!(msgs.iter().any(|m| m.0 == b'N'));
    assert_eq!(r.query("COMMIT").await.0, b'I');
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_parameters_without_oids() {
    // What pgbench -M extended and node-postgres send: Parse with no
    // types, Bind with text parameters, Describe portal, Execute, Sync.
    let server = start_default().await;
    let mut r = Raw::connect(&server, "root").await;
    r.query("CREATE TABLE tp (id INT PRIMARY KEY, bal INT, note TEXT)")
        .await;
    r.query("INSERT INTO tp VALUES (1, 10, 'x')").await;
    let sql = "UPDATE tp SET bal = bal + $1 WHERE id = $2";
    let mut parse = cstr("");
    parse.extend(cstr(sql));
    parse.extend(0i16.to_be_bytes());
    r.send(b'P', &parse).await;
    let mut bind = cstr("");
    bind.extend(cstr(""));
    bind.extend(0i16.to_be_bytes()); // all params text
    bind.extend(2i16.to_be_bytes());
    for p in ["-3", "1"] {
        bind.extend((p.len() as i32).to_be_bytes());
        bind.extend(p.as_bytes());
    }
    bind.extend(0i16.to_be_bytes());
    r.send(b'B', &bind).await;
    let mut describe = vec![b'P'];
    describe.extend(cstr(""));
    r.send(b'D', &describe).await;
    let mut exec = cstr("");
    exec.extend(0i32.to_be_bytes());
    r.send(b'E', &exec).await;
    r.send(b'S', &[]).await;
    let msgs = r.until(b'Z').await;
    let tags: Vec<u8> = msgs.iter().map(|m| m.0).collect();
    assert_eq!(tags, b"12nCZ", "{msgs:?}");
    let complete = &msgs[3].1;
    assert_eq!(&complete[..complete.len() - 1], b"UPDATE 1");
    let (_, msgs) = r.query("SELECT bal FROM tp WHERE id = 1").await;
    let row = msgs.iter().find(|m| m.0 == b'D').expect("row");
    assert_eq!(&row.1[6..], b"7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_bytes_never_crash_the_server() {
    let server = start_default().await;
    let c = connect(&server).await;
    let garbage: Vec<&[u8]> = vec![
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        &[0xff; 64],
        &[0, 0, 0, 8, 0, 3, 0, 0],          // startup with no parameters
        &[0, 0, 0, 3],                      // impossible length
        &[0, 0],                            // truncated
        &[0x7f, 0xff, 0xff, 0xff, 1, 2, 3], // huge length
    ];
    for g in garbage {
        let mut s = TcpStream::connect(server.addr).await.expect("tcp");
        let _ = s.write_all(g).await;
        let _ = s.shutdown().await;
        // The server answers or closes; either way the read ends.
        let mut buf = Vec::new();
        let _ = tokio::time::timeout(TIMEOUT, s.read_to_end(&mut buf))
            .await
            .expect("server hung");
    }
    // Garbage after a good startup.
    let mut r = Raw::connect(&server, "root").await;
    r.send(b'!', b"nonsense").await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(TIMEOUT, r.s.read_to_end(&mut buf))
        .await
        .expect("server hung");
    // Others are unaffected.
    c.simple_query("SELECT 1").await.expect("still serving");
    let c2 = connect(&server).await;
    c2.simple_query("SELECT 1").await.expect("new connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_on_loopback_by_default_and_unknown_user() {
    let server = start_default().await;
    connect_as(&server, "root")
        .await
        .simple_query("SELECT 1")
        .await
        .expect("trusted");
    let err = config(&server, "nobody")
        .connect(tokio_postgres::NoTls)
        .await
        .err()
        .expect("unknown user");
    assert_eq!(sqlstate(&err), "28000");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown() {
    let server = start(PgConfig {
        shutdown_grace: Duration::from_millis(500),
        ..PgConfig::default()
    })
    .await;
    let c = connect(&server).await;
    c.simple_query("SELECT 1").await.expect("query");
    server.shutdown.send(true).expect("signal");
    let r = tokio::time::timeout(TIMEOUT, server.handle)
        .await
        .expect("serve did not stop");
    r.expect("join").expect("serve result");
    // New connections are refused once the listener is gone.
    assert!(TcpStream::connect(server.addr).await.is_err());
    // The open connection was closed.
    let closed = tokio::time::timeout(TIMEOUT, async {
        loop {
            if c.simple_query("SELECT 1").await.is_err() {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(closed.is_ok());
}

/// The statements of one simple Query message share their arrival time, as
/// in PostgreSQL, though the server runs them one by one; the next message
/// gets a later one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_of_one_message_share_statement_timestamp() {
    let server = start_default().await;
    let c = connect(&server).await;
    let times = |messages: Vec<SimpleQueryMessage>| -> Vec<String> {
        messages
            .into_iter()
            .filter_map(|m| match m {
                SimpleQueryMessage::Row(r) => r.get(0).map(str::to_owned),
                _ => None,
            })
            .collect()
    };
    let one = times(
        c.simple_query("SELECT statement_timestamp(); SELECT 1 + 1; SELECT now()")
            .await
            .expect("one message"),
    );
    assert_eq!(one.len(), 3);
    assert_eq!(one[0], one[2], "{one:?}");
    // Wait until the clock has moved on (no fixed sleep).
    tokio::time::timeout(TIMEOUT, async {
        loop {
            let later = times(
                c.simple_query("SELECT statement_timestamp()")
                    .await
                    .expect("later"),
            );
            if later[0] > one[0] {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("a later message gets a later time");
}

/// A statement nested far deeper than any recursive pass could walk (a
/// long chain of `+`) is refused with 54001, on both protocols and through
/// the compatibility rewrite (the text names `user`), and the server lives
/// on: such a chain used to overflow the connection thread's stack, which
/// aborts the whole process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_statement_too_deep_to_walk_is_refused_not_a_crash() {
    let server = start_default().await;
    let c = connect(&server).await;
    let chain = format!("SELECT 1{} AS username", " + 1".repeat(200_000));
    let e = c.simple_query(&chain).await.expect_err("simple");
    assert_eq!(sqlstate(&e), "54001", "{e}");
    let e = c.prepare(&chain).await.expect_err("extended");
    assert_eq!(sqlstate(&e), "54001", "{e}");
    let rows = c.simple_query("SELECT 1").await.expect("still serving");
    assert!(!rows.is_empty());
}

/// Once shutdown begins, an open transaction may finish, but a statement
/// outside one ends its connection with FATAL 57P01 instead of running,
/// including statements a client had already pipelined. Connections that
/// send something close at once: the server stops long before its grace.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_open_transactions_finish_and_runs_nothing_new() {
    let store = memory_store();
    let server = start_on(
        store.clone(),
        PgConfig {
            shutdown_grace: Duration::from_secs(600),
            ..PgConfig::default()
        },
    )
    .await;
    let idle = connect(&server).await;
    idle.batch_execute("CREATE TABLE s (id INT PRIMARY KEY)")
        .await
        .expect("create");
    let busy = connect(&server).await;
    busy.batch_execute("BEGIN; INSERT INTO s VALUES (1)")
        .await
        .expect("begin");
    let pipelining = connect(&server).await;
    let insert = pipelining
        .prepare("INSERT INTO s VALUES ($1)")
        .await
        .expect("prepare");
    server.shutdown.send(true).expect("signal");

    // The open transaction finishes; its connection's next statement is
    // refused.
    busy.batch_execute("INSERT INTO s VALUES (2)")
        .await
        .expect("in the block");
    busy.batch_execute("COMMIT").await.expect("commit");
    let refused = busy.batch_execute("SELECT 1").await.expect_err("after the block");
    assert_eq!(sqlstate(&refused), "57P01", "{refused}");
    // Idle connections: simple and extended protocol alike.
    let refused = idle
        .simple_query("INSERT INTO s VALUES (3)")
        .await
        .expect_err("idle");
    assert_eq!(sqlstate(&refused), "57P01", "{refused}");
    let (a, b) = tokio::join!(
        pipelining.execute(&insert, &[&4i32]),
        pipelining.execute(&insert, &[&5i32])
    );
    assert_eq!(sqlstate(&a.expect_err("pipelined")), "57P01");
    assert!(b.is_err(), "the connection is closed");
    for c in [&idle, &busy, &pipelining] {
        tokio::time::timeout(TIMEOUT, async {
            while !c.is_closed() {
                tokio::task::yield_now().await;
            }
        })
        .await
        .expect("the connection closes");
    }
    tokio::time::timeout(TIMEOUT, server.handle)
        .await
        .expect("serve stops once its connections closed, not after its grace")
        .expect("join")
        .expect("serve result");

    let mut check = quorumdb_sql::Session::new(store);
    let rows = check
        .execute("SELECT id FROM s ORDER BY id")
        .expect("select")
        .remove(0)
        .rows;
    let ids: Vec<_> = rows.iter().map(|r| r[0].to_text()).collect();
    assert_eq!(ids, [Some("1".to_string()), Some("2".to_string())]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bare_parameters_take_their_types() {
    let server = start_default().await;
    let c = connect(&server).await;
    let n: i32 = c
        .query_one("SELECT $1::int4 + 1", &[&41i32])
        .await
        .expect("cast")
        .get(0);
    assert_eq!(n, 42);
    let stmt = c.prepare_typed("SELECT $1", &[Type::INT4]).await.expect("typed");
    assert_eq!(stmt.columns()[0].type_(), &Type::INT4);
    let v: i32 = c.query_one(&stmt, &[&7i32]).await.expect("typed select").get(0);
    assert_eq!(v, 7);
    let s: String = c
        .query_one("SELECT $1", &[&"hello"])
        .await
        .expect("untyped")
        .get(0);
    assert_eq!(s, "hello");
    let v: Option<String> = c
        .query_one("SELECT $1", &[&None::<&str>])
        .await
        .expect("null")
        .get(0);
    assert_eq!(v, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn driver_startup_sequences() {
    // SQLAlchemy (psycopg2 and psycopg 3 dialects) and JDBC on connect.
    let server = start_default().await;
    let c = connect(&server).await;
    for sql in [
        "BEGIN",
        "SELECT t.oid, typarray FROM pg_type t JOIN pg_namespace ns ON typnamespace = ns.oid WHERE typname = 'hstore';",
        "ROLLBACK",
        "BEGIN",
        "select pg_catalog.version()",
        "select current_schema()",
        "show transaction isolation level",
        "show standard_conforming_strings",
        "SAVEPOINT \"_pg3_1\"",
        "RELEASE \"_pg3_1\"",
        "ROLLBACK",
        "SET extra_float_digits = 3",
        "SET application_name = 'PostgreSQL JDBC Driver'",
    ] {
        c.simple_query(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }
    // The psycopg 3 hstore probe goes through the extended protocol.
    let rows = c
        .query(
            "SELECT typname AS name, oid, typarray AS array_oid, oid::regtype::text AS regtype, typdelim AS delimiter \
             FROM pg_type t WHERE t.oid = to_regtype($1) ORDER BY t.oid",
            &[&"hstore"],
        )
        .await
        .expect("hstore probe");
    assert!(rows.is_empty());
    // JDBC sends SET through the extended protocol.
    c.execute("SET extra_float_digits = 3", &[])
        .await
        .expect("extended SET");
    let msgs = c
        .simple_query("show standard_conforming_strings")
        .await
        .expect("show");
    assert_eq!(rows_of(&msgs), [vec![Some("on".into())]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_invalid_input() {
    let server = start_default().await;
    let c = connect(&server).await;
    // A 64 MiB query string: a clear error, and the session goes on.
    let big = format!("SELECT '{}'", "x".repeat(64 << 20));
    let err = c.simple_query(&big).await.expect_err("too long");
    assert_eq!(sqlstate(&err), "54000");
    drop(big);
    c.simple_query("SELECT 1").await.expect("after big query");
    // Invalid UTF-8 in a query: the connection may end, the server does not.
    let mut r = Raw::connect(&server, "root").await;
    r.send(b'Q', &[b'S', 0xff, 0xfe, b'1', 0]).await;
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), r.s.read_to_end(&mut buf)).await;
    // A parameter of the wrong type: 22P02.
    c.batch_execute("CREATE TABLE w (id INT PRIMARY KEY)")
        .await
        .expect("create");
    let err = c
        .query("SELECT id FROM w WHERE id = $1::int4", &[&"abc"])
        .await
        .expect_err("wrong type");
    assert!(err.code().is_none() || sqlstate(&err) == "22P02", "{err:?}");
    let mut raw = Raw::connect(&server, "root").await;
    let (_, msgs) = raw.query("INSERT INTO w VALUES ('abc')").await;
    let e = msgs.iter().find(|m| m.0 == b'E').expect("error");
    assert!(String::from_utf8_lossy(&e.1).contains("C22P02"));
    c.simple_query("SELECT 1").await.expect("still serving");
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_connections_opened_and_dropped() {
    let server = start_default().await;
    let keep = connect(&server).await;
    keep.simple_query("SELECT 1").await.expect("warm up");
    let baseline = open_fds();
    for _ in 0..10 {
        let mut batch = Vec::new();
        for _ in 0..100 {
            batch.push(connect(&server));
        }
        let clients = futures::future::join_all(batch).await;
        for c in &clients {
            c.simple_query("SELECT 1").await.expect("query");
        }
        drop(clients);
    }
    // Server-side sockets close once it sees the disconnects.
    let settled = tokio::time::timeout(TIMEOUT, async {
        loop {
            if open_fds() <= baseline + 5 {
                return;
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(settled.is_ok(), "fds: baseline {baseline}, now {}", open_fds());
    keep.simple_query("SELECT 1").await.expect("still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn returning_through_the_extended_protocol() {
    let server = start_default().await;
    let c = connect(&server).await;
    c.batch_execute("CREATE TABLE rt (id INT PRIMARY KEY, v TEXT)")
        .await
        .expect("create");
    let rows = c
        .query(
            "INSERT INTO rt VALUES ($1, $2), ($3, $4) RETURNING id, v",
            &[&1i32, &"a", &2i32, &"b"],
        )
        .await
        .expect("insert returning");
    let got: Vec<(i32, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [(1, "a".to_owned()), (2, "b".to_owned())]);
    let rows = c
        .query("UPDATE rt SET v = $1 WHERE id = $2 RETURNING id", &[&"z", &2i32])
        .await
        .expect("update returning");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i32>(0), 2);
    let n = c
        .execute("DELETE FROM rt WHERE id = $1", &[&1i32])
        .await
        .expect("delete");
    assert_eq!(n, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_limit_are_refused() {
    let server = start(PgConfig {
        max_connections: 1,
        ..PgConfig::default()
    })
    .await;
    let first = connect(&server).await;
    let err = config(&server, "root")
        .connect(tokio_postgres::NoTls)
        .await
        .err()
        .expect("over the limit");
    assert_eq!(sqlstate(&err), "53300");
    first.simple_query("SELECT 1").await.expect("first still served");
    drop(first);
    // Once the first has gone, a new client gets in.
    let ok = tokio::time::timeout(TIMEOUT, async {
        loop {
            if let Ok((c, conn)) = config(&server, "root").connect(tokio_postgres::NoTls).await {
                tokio::spawn(conn);
                return c;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("never admitted");
    ok.simple_query("SELECT 1").await.expect("query");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_through_the_extended_protocol() {
    use futures::{SinkExt, TryStreamExt};
    let server = start_default().await;
    let c = connect(&server).await;
    c.batch_execute("CREATE TABLE cx (id INT PRIMARY KEY, v TEXT)")
        .await
        .expect("create");
    let sink = c.copy_in("COPY cx FROM STDIN").await.expect("copy in");
    futures::pin_mut!(sink);
    for i in 0..600 {
        sink.send(bytes::Bytes::from(format!("{i}\tv{i}\n")))
            .await
            .expect("send");
    }
    assert_eq!(sink.finish().await.expect("finish"), 600);
    let stream = c
        .copy_out("COPY (SELECT id, v FROM cx WHERE id < 3 ORDER BY id) TO STDOUT")
        .await
        .expect("copy out");
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.expect("collect");
    let out: Vec<u8> = chunks.concat();
    assert_eq!(String::from_utf8_lossy(&out), "0\tv0\n1\tv1\n2\tv2\n");
    let n: i64 = c
        .query_one("SELECT count(*) FROM cx", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(n, 600);
}

/// `DEALLOCATE ALL` drops the protocol-level prepared statements (psycopg
/// 3 sends it after a failed transaction); using one afterwards, or
/// deallocating an unknown name, fails with 26000.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deallocate_drops_prepared_statements() {
    let server = start_default().await;
    let c = connect(&server).await;
    let one = c.prepare("SELECT $1::INTEGER + 1").await.expect("prepare");
    let two = c.prepare("SELECT $1::INTEGER + 2").await.expect("prepare");
    let v: i32 = c.query_one(&one, &[&1i32]).await.expect("run").get(0);
    assert_eq!(v, 2);
    let e = c
        .batch_execute("DEALLOCATE no_such_statement")
        .await
        .expect_err("unknown name");
    assert_eq!(sqlstate(&e), "26000", "{e:?}");
    // Through the extended protocol, as psycopg 3 sends it.
    c.execute("DEALLOCATE ALL", &[]).await.expect("deallocate all");
    for stmt in [&one, &two] {
        let e = c.query_one(stmt, &[&1i32]).await.expect_err("all deallocated");
        assert_eq!(sqlstate(&e), "26000", "{e:?}");
    }
    let v: i32 = c
        .query_one("SELECT $1::INTEGER + 3", &[&1i32])
        .await
        .expect("new statements still work")
        .get(0);
    assert_eq!(v, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_with_utc_offsets() {
    use std::time::{Duration as StdDuration, SystemTime, UNIX_EPOCH};
    let server = start_default().await;
    let c = connect(&server).await;
    // Text results: a TIMESTAMPTZ in UTC with its offset; TIMESTAMP ignores one.
    let msgs = c
        .simple_query(
            "SELECT TIMESTAMPTZ '2024-01-01 12:00:00+02', '2024-01-01T12:00:00Z'::timestamptz, \
             '2024-01-01 12:00:00-05:30'::timestamp",
        )
        .await
        .expect("literals");
    assert_eq!(
        rows_of(&msgs),
        vec![vec![
            Some("2024-01-01 10:00:00+00".to_owned()),
            Some("2024-01-01 12:00:00+00".to_owned()),
            Some("2024-01-01 12:00:00".to_owned()),
        ]]
    );
    // A TIMESTAMPTZ column through the extended protocol (binary, OID 1184).
    c.batch_execute(
        "CREATE TABLE ev (id INT PRIMARY KEY, at TIMESTAMPTZ); \
         INSERT INTO ev VALUES (1, '2024-01-01 12:00:00+02')",
    )
    .await
    .expect("setup");
    let ten_utc = UNIX_EPOCH + StdDuration::from_secs(1_704_103_200); // 2024-01-01 10:00:00Z
    let row = c
        .query_one("SELECT at FROM ev WHERE id = 1", &[])
        .await
        .expect("select");
    assert_eq!(row.columns()[0].type_(), &Type::TIMESTAMPTZ);
    assert_eq!(row.get::<_, SystemTime>(0), ten_utc);
    let later = ten_utc + StdDuration::from_secs(3600);
    c.execute("INSERT INTO ev VALUES ($1, $2)", &[&2i32, &later])
        .await
        .expect("binary timestamptz parameter");
    let msgs = c
        .simple_query("SELECT id FROM ev WHERE at = '2024-01-01 06:00:00-05' ORDER BY id")
        .await
        .expect("compare");
    assert_eq!(rows_of(&msgs), vec![vec![Some("2".to_owned())]]);
}

/// PostgreSQL's binary INTERVAL (time in microseconds, days, months), as a
/// driver sends and reads it.
#[derive(Debug, PartialEq)]
struct PgInterval {
    micros: i64,
    days: i32,
    months: i32,
}

impl<'a> FromSql<'a> for PgInterval {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        let [t @ .., d0, d1, d2, d3, m0, m1, m2, m3] = raw else {
            return Err("an interval is 16 bytes".into());
        };
        Ok(PgInterval {
            micros: i64::from_be_bytes(t.try_into()?),
            days: i32::from_be_bytes([*d0, *d1, *d2, *d3]),
            months: i32::from_be_bytes([*m0, *m1, *m2, *m3]),
        })
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }
}

impl ToSql for PgInterval {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.put_i64(self.micros);
        out.put_i32(self.days);
        out.put_i32(self.months);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INTERVAL
    }

    to_sql_checked!();
}

/// INTERVAL through the extended protocol in binary: described as
/// `interval`, read back as PostgreSQL encodes it, and bound as a typed
/// parameter against an interval column and in timestamp arithmetic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intervals_travel_in_binary() {
    let server = start_default().await;
    let c = connect(&server).await;
    c.batch_execute(
        "CREATE TABLE jobs (id INT PRIMARY KEY, took INTERVAL); \
         INSERT INTO jobs VALUES (1, '1 day 02:00:00'), (2, '1 mon'), (3, '90 seconds')",
    )
    .await
    .expect("schema");
    let stmt = c
        .prepare("SELECT took FROM jobs WHERE id = $1")
        .await
        .expect("prepare");
    assert_eq!(stmt.columns()[0].type_(), &Type::INTERVAL);
    let took: PgInterval = c.query_one(&stmt, &[&1i32]).await.expect("row").get(0);
    assert_eq!(
        took,
        PgInterval {
            micros: 2 * 3_600_000_000,
            days: 1,
            months: 0
        }
    );
    let long = PgInterval {
        micros: 0,
        days: 2,
        months: 0,
    };
    let ids: Vec<i32> = c
        .query("SELECT id FROM jobs WHERE took > $1 ORDER BY id", &[&long])
        .await
        .expect("interval parameter")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        ids,
        [2],
        "a month (30 days) is longer than 2 days; 1 day 2 hours is not"
    );
    let text: String = c
        .query_one(
            "SELECT (TIMESTAMP '2024-01-31 10:00' + $1)::text",
            &[&PgInterval {
                micros: 0,
                days: 0,
                months: 1,
            }],
        )
        .await
        .expect("timestamp + interval parameter")
        .get(0);
    assert_eq!(text, "2024-02-29 10:00:00");
}

/// Window calls with parameters through the extended protocol: Describe
/// types a ROWS offset as bigint and lag's offset as integer, as
/// PostgreSQL does, instead of refusing the NULLs that stand for them; a
/// NULL offset sent at execution is 22004.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_parameters_through_a_driver() {
    let server = start_default().await;
    let c = connect(&server).await;
    c.batch_execute(
        "CREATE TABLE w (id INT PRIMARY KEY, v INT); INSERT INTO w VALUES (1, 10), (2, 20), (3, 30)",
    )
    .await
    .expect("schema");
    let stmt = c
        .prepare(
            "SELECT id, sum(v) OVER (ORDER BY id ROWS BETWEEN $1 PRECEDING AND CURRENT ROW), \
             lag(v, $2) OVER (ORDER BY id) FROM w ORDER BY id",
        )
        .await
        .expect("prepare");
    assert_eq!(stmt.params(), &[Type::INT8, Type::INT4]);
    let rows = c.query(&stmt, &[&1i64, &2i32]).await.expect("run");
    let got: Vec<(i32, i64, Option<i32>)> = rows.iter().map(|r| (r.get(0), r.get(1), r.get(2))).collect();
    assert_eq!(got, [(1, 10, None), (2, 30, None), (3, 50, Some(10))]);
    let err = c
        .query(&stmt, &[&None::<i64>, &1i32])
        .await
        .expect_err("a NULL offset");
    assert_eq!(sqlstate(&err), "22004");
}

/// A RANGE offset over a timestamp key is an interval: Describe types its
/// parameter so, and one sent as text is read as an interval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interval_range_offsets_through_a_driver() {
    let server = start_default().await;
    let c = connect(&server).await;
    c.batch_execute(
        "CREATE TABLE ts (t TIMESTAMP PRIMARY KEY, v INT); \
         INSERT INTO ts VALUES ('2024-01-01 00:00', 1), ('2024-01-01 12:00', 2), ('2024-01-03 00:00', 4)",
    )
    .await
    .expect("schema");
    let sql =
        "SELECT v, sum(v) OVER (ORDER BY t RANGE BETWEEN $1 PRECEDING AND CURRENT ROW) FROM ts ORDER BY t";
    let described = c.prepare(sql).await.expect("prepare");
    assert_eq!(described.params(), &[Type::INTERVAL]);
    let as_text = c
        .prepare_typed(sql, &[Type::TEXT])
        .await
        .expect("prepare as text");
    for (offset, want) in [
        ("1 day", [(1, 1i64), (2, 3), (4, 4)]),
        ("2 days", [(1, 1), (2, 3), (4, 7)]),
    ] {
        let rows = c.query(&as_text, &[&offset]).await.expect("run");
        let got: Vec<(i32, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(got, want, "{offset}");
    }
}

/// An aggregate's FILTER with parameters: Describe types a parameter that
/// is the whole condition as boolean, and the rows it leaves out are not
/// aggregated, in a plain and in a windowed aggregate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregate_filters_with_parameters_through_a_driver() {
    let server = start_default().await;
    let c = connect(&server).await;
    c.batch_execute(
        "CREATE TABLE fw (id INT PRIMARY KEY, v INT); INSERT INTO fw VALUES (1, 10), (2, 20), (3, 30)",
    )
    .await
    .expect("schema");
    let stmt = c
        .prepare("SELECT count(*) FILTER (WHERE v > $1), sum(v) FILTER (WHERE $2) FROM fw")
        .await
        .expect("prepare");
    assert_eq!(stmt.params(), &[Type::INT4, Type::BOOL]);
    for (above, keep, want) in [(15, true, (2i64, Some(60i64))), (25, false, (1, None))] {
        let row = c.query_one(&stmt, &[&above, &keep]).await.expect("run");
        assert_eq!((row.get::<_, i64>(0), row.get::<_, Option<i64>>(1)), want);
    }
    let windowed = c
        .query(
            "SELECT id, sum(v) FILTER (WHERE id <> $1) OVER (ORDER BY id) FROM fw ORDER BY id",
            &[&2i32],
        )
        .await
        .expect("windowed");
    let got: Vec<(i32, i64)> = windowed.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_eq!(got, [(1, 10), (2, 10), (3, 40)]);
}
