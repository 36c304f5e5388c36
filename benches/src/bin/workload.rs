//! The workload generator: read, write and bank workloads over the
//! PostgreSQL wire protocol, shaped like toydb's, so the same command runs
//! against QuorumDB and against PostgreSQL.
//!
//! - `read`: point selects by primary key over `--rows` rows (1,000).
//! - `write`: single-row inserts of fresh keys.
//! - `bank`: transfers between `--rows` accounts in explicit transactions
//!   (read both balances, update both); serialization failures (40001) are
//!   retried and counted.
//!
//! N clients (`--clients`) spread round-robin over the `--url`s; it prints
//! progress every second, then throughput, p50/p90/p99/max latency of
//! successful transactions, errors by SQLSTATE, and checks the data at the
//! end (write: every insert this run acknowledged is there, looked up by
//! key; bank: the total is unchanged and no balance is negative). A failed
//! check exits non-zero.
//!
//! Example: `cargo run --release -p quorumdb-bench --bin workload -- --workload bank
//! --clients 16 --duration 30 --url 'host=127.0.0.1 port=5433 user=root'`

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use rand::{Rng, SeedableRng};
use tokio_postgres::{Client, NoTls, Statement};

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq)]
enum Workload {
    Read,
    Write,
    Bank,
}

#[derive(Parser, Debug)]
#[command(about = "QuorumDB workload generator (read, write, bank) over the PostgreSQL protocol")]
struct Args {
    #[arg(long, value_enum)]
    workload: Workload,
    /// Connection strings (libpq key=value or postgres:// URL); clients are
    /// spread over them round-robin. Repeat for several nodes.
    #[arg(long = "url", required = true)]
    urls: Vec<String>,
    /// Concurrent clients, one connection each (at most 65,535).
    #[arg(long, default_value_t = 16, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=65535))]
    clients: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 30)]
    duration: u64,
    /// Rows (read) or accounts (bank).
    #[arg(long, default_value_t = 1000)]
    rows: i32,
    /// Skip creating and loading the tables (reuse a previous load).
    #[arg(long)]
    no_setup: bool,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const INITIAL_BALANCE: i64 = 100;

async fn connect(url: &str) -> Result<Client, BoxError> {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_string())
        .unwrap_or_else(|| "connection".into())
}

async fn setup(args: &Args, client: &Client) -> Result<(), BoxError> {
    match args.workload {
        Workload::Read => {
            client.batch_execute("DROP TABLE IF EXISTS wl_read; CREATE TABLE wl_read (id INT PRIMARY KEY, value TEXT)").await?;
            load(client, "wl_read", args.rows, "'row-' || x").await
        }
        Workload::Write => Ok(client
            .batch_execute("DROP TABLE IF EXISTS wl_write; CREATE TABLE wl_write (id BIGINT PRIMARY KEY, client INT, value TEXT)")
            .await?),
        Workload::Bank => {
            client.batch_execute("DROP TABLE IF EXISTS wl_bank; CREATE TABLE wl_bank (id INT PRIMARY KEY, balance BIGINT)").await?;
            load(client, "wl_bank", args.rows, &INITIAL_BALANCE.to_string()).await
        }
    }
}

/// Inserts ids 1..=rows with `value` (an SQL expression over `x`), in chunks.
async fn load(client: &Client, table: &str, rows: i32, value: &str) -> Result<(), BoxError> {
    let mut start = 1;
    while start <= rows {
        let end = (start + 499).min(rows);
        let values: Vec<String> = (start..=end)
            .map(|x| format!("({x}, {})", value.replace('x', &x.to_string())))
            .collect();
        client
            .batch_execute(&format!("INSERT INTO {table} VALUES {}", values.join(", ")))
            .await?;
        start = end + 1;
    }
    Ok(())
}

#[derive(Default)]
struct ClientStats {
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
    retries: u64,
    acked_writes: Vec<i64>,
}

async fn run_client(
    args: Arc<Args>,
    id: usize,
    first_key: i64,
    done: Arc<AtomicBool>,
    ops: Arc<AtomicU64>,
) -> Result<ClientStats, BoxError> {
    let client = connect(&args.urls[id % args.urls.len()]).await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(args.seed.wrapping_mul(1000).wrapping_add(id as u64));
    let mut stats = ClientStats::default();
    // Each client prepares its statements once, as an application with a
    // statement cache does: a transaction then costs one round trip per
    // statement (toydb's client likewise sends each statement once).
    let prepared = prepare(&client, args.workload).await?;
    let mut seq: i64 = 0;
    while !done.load(Ordering::Relaxed) {
        let started = Instant::now();
        let result = match args.workload {
            Workload::Read => client
                .query_opt(&prepared[0], &[&rng.random_range(1..=args.rows)])
                .await
                .map(|_| ()),
            Workload::Write => {
                let key = first_key + (((id as i64) << 32) | seq);
                seq += 1;
                let r = client
                    .execute(&prepared[0], &[&key, &(id as i32), &"payload"])
                    .await;
                if r.is_ok() {
                    stats.acked_writes.push(key);
                }
                r.map(|_| ())
            }
            Workload::Bank => {
                let from = rng.random_range(1..=args.rows);
                let mut to = rng.random_range(1..=args.rows);
                if to == from {
                    to = to % args.rows + 1;
                }
                let amount: i64 = rng.random_range(1..=10);
                loop {
                    match transfer(&client, &prepared, from, to, amount).await {
                        Err(e) if sqlstate(&e) == "40001" => {
                            stats.retries += 1;
                            if done.load(Ordering::Relaxed) {
                                break Err(e);
                            }
                        }
                        other => break other,
                    }
                }
            }
        };
        match result {
            Ok(()) => {
                stats.latencies_us.push(started.elapsed().as_micros() as u64);
                ops.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                *stats.errors.entry(sqlstate(&e)).or_default() += 1;
                if client.is_closed() {
                    return Ok(stats);
                }
            }
        }
    }
    Ok(stats)
}

/// The statements a client of `workload` runs, prepared on its connection.
async fn prepare(client: &Client, workload: Workload) -> Result<Vec<Statement>, BoxError> {
    let texts: &[&str] = match workload {
        Workload::Read => &["SELECT value FROM wl_read WHERE id = $1"],
        Workload::Write => &["INSERT INTO wl_write VALUES ($1, $2, $3)"],
        Workload::Bank => &[
            "BEGIN ISOLATION LEVEL SERIALIZABLE",
            "SELECT balance FROM wl_bank WHERE id = $1",
            "UPDATE wl_bank SET balance = $1 WHERE id = $2",
            "COMMIT",
        ],
    };
    let mut prepared = Vec::with_capacity(texts.len());
    for text in texts {
        prepared.push(
            client
                .prepare(text)
                .await
                .map_err(|e| format!("prepare {text}: {e}"))?,
        );
    }
    Ok(prepared)
}

/// One transfer; `stmts` are the bank statements of [`prepare`].
async fn transfer(
    client: &Client,
    stmts: &[Statement],
    from: i32,
    to: i32,
    amount: i64,
) -> Result<(), tokio_postgres::Error> {
    let [begin, select, update, commit] = stmts else {
        unreachable!("prepare returns the four bank statements")
    };
    // SERIALIZABLE everywhere (QuorumDB's default; PostgreSQL's default
    // READ COMMITTED would let this read-then-write lose updates).
    client.execute(begin, &[]).await?;
    let result = async {
        let a: i64 = client.query_one(select, &[&from]).await?.try_get(0)?;
        let b: i64 = client.query_one(select, &[&to]).await?.try_get(0)?;
        let moved = amount.min(a);
        client.execute(update, &[&(a - moved), &from]).await?;
        client.execute(update, &[&(b + moved), &to]).await?;
        client.execute(commit, &[]).await.map(|_| ())
    }
    .await;
    if result.is_err() && !client.is_closed() {
        let _ = client.batch_execute("ROLLBACK").await;
    }
    result
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// The write workload's keys are `first_key + (client << 32 | n)`. After a
/// setup the table is empty and `first_key` is 0; with `--no-setup` it is
/// the next multiple of 2^48 above the keys already stored, so a second
/// run inserts new rows instead of failing on its predecessor's keys.
async fn first_write_key(args: &Args, admin: &Client) -> Result<i64, BoxError> {
    if args.workload != Workload::Write || !args.no_setup {
        return Ok(0);
    }
    let max: Option<i64> = admin
        .query_one("SELECT max(id) FROM wl_write", &[])
        .await?
        .try_get(0)?;
    match max {
        // This workload's keys are never negative; others cannot collide.
        None => Ok(0),
        Some(max) if max < 0 => Ok(0),
        Some(max) => ((max >> 48) + 1).checked_mul(1 << 48).ok_or_else(|| {
            "wl_write has no keys left for another run: drop it (run without --no-setup)".into()
        }),
    }
}

async fn run(args: Args) -> Result<bool, BoxError> {
    let args = Arc::new(args);
    let admin = connect(&args.urls[0]).await?;
    if !args.no_setup {
        eprintln!("setting up {:?} ...", args.workload);
        setup(&args, &admin).await?;
    }
    let first_key = first_write_key(&args, &admin).await?;
    let done = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for id in 0..args.clients {
        tasks.push(tokio::spawn(run_client(
            args.clone(),
            id,
            first_key,
            done.clone(),
            ops.clone(),
        )));
    }
    let started = Instant::now();
    let mut last = 0;
    while started.elapsed() < Duration::from_secs(args.duration) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = ops.load(Ordering::Relaxed);
        eprintln!(
            "[{:>4}s] {:>8} txn/s, {} total",
            started.elapsed().as_secs(),
            now - last,
            now
        );
        last = now;
    }
    done.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let mut all = ClientStats::default();
    for task in tasks {
        let stats = task.await??;
        all.latencies_us.extend(stats.latencies_us);
        all.retries += stats.retries;
        all.acked_writes.extend(stats.acked_writes);
        for (k, v) in stats.errors {
            *all.errors.entry(k).or_default() += v;
        }
    }
    all.latencies_us.sort_unstable();
    let n = all.latencies_us.len();
    println!(
        "workload={:?} clients={} urls={} duration={:.1}s",
        args.workload,
        args.clients,
        args.urls.len(),
        elapsed
    );
    println!(
        "throughput={:.0} txn/s  ok={n}  p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms  retries(40001)={}  errors={:?}",
        n as f64 / elapsed,
        percentile(&all.latencies_us, 0.5),
        percentile(&all.latencies_us, 0.9),
        percentile(&all.latencies_us, 0.99),
        percentile(&all.latencies_us, 1.0),
        all.retries,
        all.errors
    );
    // Check the data.
    let ok = match args.workload {
        Workload::Read => true,
        Workload::Write => {
            // This run's keys (a --no-setup run's table also holds older
            // ones): every acknowledged insert must be among them.
            let stored: std::collections::HashSet<i64> = admin
                .query("SELECT id FROM wl_write WHERE id >= $1", &[&first_key])
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            let missing = all.acked_writes.iter().filter(|k| !stored.contains(k)).count();
            println!(
                "check: {} rows stored by this run, {} inserts acknowledged, {missing} acknowledged but missing",
                stored.len(),
                all.acked_writes.len()
            );
            missing == 0
        }
        Workload::Bank => {
            // sum(bigint) is NUMERIC in PostgreSQL: cast so both answer BIGINT.
            let total: i64 = admin
                .query_one("SELECT CAST(sum(balance) AS BIGINT) FROM wl_bank", &[])
                .await?
                .try_get::<_, Option<i64>>(0)?
                .unwrap_or(0);
            let expected = INITIAL_BALANCE * i64::from(args.rows);
            let negative: i64 = admin
                .query_one("SELECT count(*) FROM wl_bank WHERE balance < 0", &[])
                .await?
                .try_get(0)?;
            println!("check: total balance {total} (expected {expected}), {negative} negative balances");
            total == expected && negative == 0
        }
    };
    Ok(ok)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("workload: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("workload: the data check FAILED");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("workload: {e}");
            ExitCode::FAILURE
        }
    }
}
