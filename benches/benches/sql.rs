//! SQL-engine benchmarks (issue 3): parse+plan of a point SELECT, a
//! primary-key point lookup end to end, a filtered aggregate over a
//! 100k-row scan, a 100k x 100k hash join and a 10k-row INSERT in one
//! transaction. Everything but parse+plan runs in-process through
//! `Session` on sled on disk (a fresh temporary directory per group).
//! Run: `cargo bench -p quorumdb-bench --bench sql`.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use quorumdb_sql::binder::Binder;
use quorumdb_sql::session::parse;
use quorumdb_sql::{Session, Value};
use quorumdb_storage::{Engine, Isolation, KvStore, SledEngine, TxnOptions};
use sqlparser::ast::Statement;

const ROWS: i64 = 100_000;

fn open_sled() -> (tempfile::TempDir, KvStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let engine: Arc<dyn Engine> = Arc::new(SledEngine::open(dir.path()).expect("open sled"));
    (dir, KvStore::local(engine).expect("open store"))
}

fn run(s: &mut Session, sql: &str) -> Vec<Vec<Value>> {
    let mut r = s.execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    r.pop().map(|r| r.rows).unwrap_or_default()
}

/// `a(id BIGINT PRIMARY KEY, k INTEGER, v BIGINT)` with `ROWS` rows, loaded
/// in statements of 10k rows.
fn load(s: &mut Session, table: &str) {
    run(
        s,
        &format!("CREATE TABLE {table} (id BIGINT PRIMARY KEY, k INTEGER NOT NULL, v BIGINT NOT NULL)"),
    );
    for start in (0..ROWS).step_by(10_000) {
        run(
            s,
            &format!(
                "INSERT INTO {table} SELECT g, g % 100, g * 3 FROM generate_series({}, {}) AS t(g)",
                start,
                start + 9_999
            ),
        );
    }
}

fn bench_parse_plan(c: &mut Criterion) {
    let (_dir, store) = open_sled();
    let mut s = Session::new(store.clone());
    run(
        &mut s,
        "CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner TEXT NOT NULL, balance BIGINT NOT NULL)",
    );
    let mut txn = store
        .begin(TxnOptions {
            isolation: Isolation::Snapshot,
            read_only: true,
        })
        .expect("begin");
    let sql = "SELECT owner, balance FROM accounts WHERE id = 42";
    c.bench_function("sql/parse_plan_point_select", |b| {
        b.iter(|| {
            let stmts = parse(black_box(sql)).expect("parse");
            let Some(Statement::Query(q)) = stmts.first() else {
                panic!("not a query")
            };
            black_box(Binder::new(&mut txn).bind_query(q).expect("plan"))
        })
    });
}

fn bench_reads(c: &mut Criterion) {
    let (_dir, store) = open_sled();
    let mut s = Session::new(store);
    load(&mut s, "a");
    load(&mut s, "b");
    for q in [
        "EXPLAIN SELECT v FROM a WHERE id = 1",
        "EXPLAIN SELECT count(*), sum(v) FROM a WHERE k < 10",
        "EXPLAIN SELECT count(*) FROM a JOIN b ON a.id = b.id",
    ] {
        let plan: Vec<String> = run(&mut s, q)
            .into_iter()
            .map(|r| format!("{:?}", r[0]))
            .collect();
        eprintln!("{q}:\n  {}", plan.join("\n  "));
    }

    let mut i = 0i64;
    c.bench_function("sql/point_select_pk_100k", |b| {
        b.iter(|| {
            i = (i + 7919) % ROWS;
            let rows = run(&mut s, &format!("SELECT v FROM a WHERE id = {i}"));
            assert_eq!(rows.len(), 1);
        })
    });
    c.bench_function("sql/point_select_pk_100k_param", |b| {
        b.iter(|| {
            i = (i + 7919) % ROWS;
            let r = s
                .execute_with_params("SELECT v FROM a WHERE id = $1", &[Value::Int(i)])
                .expect("select");
            assert_eq!(r[0].rows.len(), 1);
        })
    });

    let mut group = c.benchmark_group("sql");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("filtered_aggregate_100k_scan", |b| {
        b.iter(|| {
            let rows = run(&mut s, "SELECT count(*), sum(v) FROM a WHERE k < 10");
            assert_eq!(rows[0][0], Value::Int(ROWS / 10));
        })
    });
    group.throughput(Throughput::Elements(2 * ROWS as u64));
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("hash_join_100k_x_100k", |b| {
        b.iter(|| {
            let rows = run(&mut s, "SELECT count(*) FROM a JOIN b ON a.id = b.id");
            assert_eq!(rows[0][0], Value::Int(ROWS));
        })
    });
    group.finish();
}

fn bench_insert(c: &mut Criterion) {
    let (_dir, store) = open_sled();
    let mut s = Session::new(store);
    run(
        &mut s,
        "CREATE TABLE ins (id BIGINT PRIMARY KEY, name TEXT NOT NULL, balance BIGINT NOT NULL)",
    );
    let mut next = 0i64;
    let mut group = c.benchmark_group("sql");
    group.throughput(Throughput::Elements(10_000));
    group.bench_function("insert_10k_rows_one_txn", |b| {
        b.iter_batched(
            || {
                let values: Vec<String> = (next..next + 10_000)
                    .map(|i| format!("({i}, 'customer-{i:08}', {})", i * 7))
                    .collect();
                next += 10_000;
                format!("INSERT INTO ins VALUES {}", values.join(", "))
            },
            |sql| {
                run(&mut s, "BEGIN");
                let r = s.execute(&sql).expect("insert");
                assert_eq!(r[0].tag, "INSERT 0 10000");
                run(&mut s, "COMMIT");
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_parse_plan, bench_reads, bench_insert
}
criterion_main!(benches);
