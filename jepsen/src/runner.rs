//! One test run: start a cluster, set up the workload, run the client
//! workers and the nemesis for the time limit, heal everything, run the
//! final reads, check the history and write the evidence folder.
//!
//! The evidence folder (`<store>/<timestamp>-<workload>-<nemesis>/`) holds
//! `history.jsonl`, `results.json` and `results.txt` (every checker's
//! verdict with its explanations), `nemesis.log`, the node logs `n<i>.log`
//! and `latency.svg` (throughput and latency over time, fault windows
//! shaded).
//!
//! Fault-injection runs (`fault_injection: Some(switch)`): every node runs
//! with a test-only switch that breaks it on purpose (a binary built with
//! the `fault-injection` feature; see `docs/jepsen.md`). The cluster checks
//! through `/metrics` that every node really runs the switch (at start and
//! after healing; a normal run checks that none does), and the run
//! *passes* only if some checker says invalid: the suite must catch the
//! broken system. `RunResult::caught_by` names the checkers that did.
//!
//! Workers: `concurrency` tasks, worker `w` talks to node `w % n` and starts
//! as process `w`; after an `info` it continues as process `w + k *
//! concurrency`. Operations are invoked only on an open connection; a
//! connection error before the invocation is not an operation.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

use crate::checker::{Validity, Verdict};
use crate::cluster::Cluster;
use crate::history::{History, Op, OpType};
use crate::nemesis::{self, Window};
use crate::report;
use crate::workload::{OpError, Workload};

/// What to run.
#[derive(Clone, Debug)]
pub struct RunConfig {
    pub workload: String,
    pub nemesis: String,
    pub nodes: usize,
    pub time_limit: Duration,
    pub seed: u64,
    pub concurrency: usize,
    /// Calm time before each fault window.
    pub healthy: Duration,
    /// Length of each fault window.
    pub faulty: Duration,
    /// Client-side timeout of one operation (then `info`).
    pub op_timeout: Duration,
    /// Pause between a worker's operations.
    pub op_delay: Duration,
    /// Time budget of the linearizability checker.
    pub lin_budget: Duration,
    pub bin: PathBuf,
    pub store: PathBuf,
    /// Faults active at once (below 2: one fault per window); see
    /// [`crate::nemesis::run`].
    pub overlap: usize,
    /// Run every node with this test-only fault switch
    /// (`QUORUMDB_FAULT_INJECTION`; `bin` must be a `fault-injection`
    /// build). The run then *expects* a checker to say invalid.
    pub fault_injection: Option<String>,
}

/// One checker's answer.
#[derive(Clone, Debug, Serialize)]
pub struct CheckerResult {
    pub checker: String,
    pub verdict: Verdict,
}

/// The outcome of a run.
#[derive(Clone, Debug, Serialize)]
pub struct RunResult {
    pub workload: String,
    pub nemesis: String,
    pub nodes: usize,
    pub seed: u64,
    pub time_limit_s: f64,
    pub dir: PathBuf,
    /// Every checker said valid.
    pub valid: bool,
    /// The fault switch the nodes ran with, if any.
    pub fault_injection: Option<String>,
    /// The run did what it is for: without a fault switch, every checker
    /// said valid and the harness had no trouble; with one, at least one
    /// checker said invalid (the deliberately broken system was caught).
    pub passed: bool,
    /// The checkers that said invalid, with the anomaly kinds they found.
    pub caught_by: Vec<String>,
    pub results: Vec<CheckerResult>,
    pub ops: OpCounts,
    pub windows: Vec<Window>,
    /// Problems of the harness or cluster (not anomalies), e.g. a node that
    /// died on its own or a cluster that did not heal.
    pub errors: Vec<String>,
    /// Connections the proxies could attribute to a node, and could not.
    pub proxy_connections: (u64, u64),
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct OpCounts {
    pub invoked: usize,
    pub ok: usize,
    pub fail: usize,
    pub info: usize,
}

/// Appends ops with a monotonic timestamp taken under the lock.
pub struct Recorder {
    start: Instant,
    ops: StdMutex<Vec<Op>>,
}

impl Recorder {
    pub fn new(start: Instant) -> Recorder {
        Recorder {
            start,
            ops: StdMutex::new(Vec::new()),
        }
    }

    pub fn record(&self, op_type: OpType, process: u64, f: &str, value: Value, error: Option<String>) {
        let mut ops = self.ops.lock().unwrap_or_else(|e| e.into_inner());
        let mut op = Op::new(op_type, process, f, value);
        op.time = Some(self.start.elapsed().as_nanos() as u64);
        op.index = Some(ops.len() as u64);
        op.error = error.map(Value::String);
        ops.push(op);
    }

    pub fn take(&self) -> Vec<Op> {
        std::mem::take(&mut *self.ops.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

async fn connect(addr: std::net::SocketAddr, timeout: Duration) -> Option<Client> {
    let conf = format!(
        "host={} port={} user=root dbname=quorumdb connect_timeout=2",
        addr.ip(),
        addr.port()
    );
    let (client, conn) = tokio::time::timeout(timeout, tokio_postgres::connect(&conf, NoTls))
        .await
        .ok()?
        .ok()?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Some(client)
}

/// Runs one operation and records invoke + completion. Returns whether the
/// process must be retired (an `info`) and whether the connection is unusable.
async fn one_op(
    workload: &Workload,
    client: &Client,
    recorder: &Recorder,
    process: u64,
    f: &str,
    value: Value,
    timeout: Duration,
) -> (bool, bool) {
    recorder.record(OpType::Invoke, process, f, value.clone(), None);
    match tokio::time::timeout(timeout, workload.execute(client, f, &value)).await {
        Ok(Ok(v)) => {
            recorder.record(OpType::Ok, process, f, v, None);
            (false, client.is_closed())
        }
        Ok(Err(OpError::Fail(e))) => {
            recorder.record(OpType::Fail, process, f, value, Some(e));
            (false, client.is_closed())
        }
        Ok(Err(OpError::Info(e))) => {
            recorder.record(OpType::Info, process, f, value, Some(e));
            (true, true)
        }
        Err(_) => {
            recorder.record(OpType::Info, process, f, value, Some("client timeout".into()));
            (true, true)
        }
    }
}

/// Runs `sql` until it succeeds (setup only; not part of the history).
async fn setup(addr: std::net::SocketAddr, statements: &[String]) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = String::new();
    for sql in statements {
        loop {
            if Instant::now() > deadline {
                return Err(format!("setup statement {sql:?} did not succeed: {last}"));
            }
            let Some(client) = connect(addr, Duration::from_secs(5)).await else {
                last = "cannot connect".into();
                tokio::time::sleep(Duration::from_millis(300)).await;
                continue;
            };
            match client.simple_query(sql).await {
                Ok(_) => break,
                Err(e) => {
                    let msg = e.to_string();
                    let db = e
                        .as_db_error()
                        .map(|d| d.message().to_string())
                        .unwrap_or_default();
                    // A retried CREATE whose first attempt committed.
                    if db.contains("already exists") {
                        break;
                    }
                    last = format!("{msg} {db}");
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        }
    }
    Ok(())
}

fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    // UTC civil date from days since the epoch (Howard Hinnant's algorithm).
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Runs one test and writes its evidence folder.
pub async fn run(cfg: &RunConfig) -> Result<RunResult, String> {
    let workload = Arc::new(Workload::new(&cfg.workload)?);
    let faults = nemesis::parse(&cfg.nemesis, cfg.nodes)?;
    let fault_tag = cfg
        .fault_injection
        .as_ref()
        .map(|f| format!("-FAULT-{f}"))
        .unwrap_or_default();
    let overlap_tag = if cfg.overlap >= 2 {
        format!("-overlap{}", cfg.overlap)
    } else {
        String::new()
    };
    let dir = cfg.store.join(format!(
        "{}-{}-{}{overlap_tag}{fault_tag}-s{}",
        timestamp(),
        workload.name(),
        cfg.nemesis.replace('+', "_"),
        cfg.seed
    ));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let nemesis_log = Arc::new(StdMutex::new(Vec::<String>::new()));
    let log = {
        let l = nemesis_log.clone();
        let label = format!("{} x {}", cfg.workload, cfg.nemesis);
        move |line: String| {
            eprintln!("[{label}] {line}");
            l.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    };

    if let Some(f) = &cfg.fault_injection {
        log(format!(
            "FAULT INJECTION: every node runs with the test-only switch {f}; \
             a checker must find an anomaly"
        ));
    }
    let cluster = Cluster::start_with(&cfg.bin, cfg.nodes, &dir, cfg.fault_injection.as_deref())
        .await
        .map_err(|e| format!("cluster start: {e}"))?;
    let sql_addrs: Vec<_> = (0..cluster.len()).map(|s| cluster.addrs(s).sql).collect();
    setup(sql_addrs[0], &workload.setup_sql()).await?;
    let cluster = Arc::new(Mutex::new(cluster));

    let start = Instant::now();
    let deadline = start + cfg.time_limit;
    let recorder = Arc::new(Recorder::new(start));

    let nem = tokio::spawn(nemesis::run(
        cluster.clone(),
        faults,
        cfg.seed,
        nemesis::Schedule {
            start,
            deadline,
            healthy: cfg.healthy,
            faulty: cfg.faulty,
        },
        cfg.overlap,
        log.clone(),
    ));

    let mut workers = Vec::new();
    for w in 0..cfg.concurrency {
        let workload = workload.clone();
        let recorder = recorder.clone();
        let addr = sql_addrs[w % sql_addrs.len()];
        let cfg = cfg.clone();
        workers.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(cfg.seed.wrapping_mul(1_000_003).wrapping_add(w as u64));
            let mut process = w as u64;
            let mut client: Option<Client> = None;
            while Instant::now() < deadline {
                if client.as_ref().is_none_or(Client::is_closed) {
                    client = connect(addr, Duration::from_secs(2)).await;
                    if client.is_none() {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                }
                let Some(c) = client.as_ref() else { continue };
                let (f, value) = workload.generate(&mut rng);
                let (retire, drop_conn) =
                    one_op(&workload, c, &recorder, process, &f, value, cfg.op_timeout).await;
                if retire {
                    process += cfg.concurrency as u64;
                }
                if drop_conn {
                    client = None;
                }
                tokio::time::sleep(cfg.op_delay).await;
            }
            process
        }));
    }
    let mut next_process = 0u64;
    for w in workers {
        if let Ok(p) = w.await {
            next_process = next_process.max(p + 1);
        }
    }
    let windows = nem.await.unwrap_or_default();

    // Heal and final reads.
    let mut errors = Vec::new();
    {
        let mut c = cluster.lock().await;
        for (slot, status) in c.crashed() {
            errors.push(format!("node n{slot} exited on its own: {status}"));
        }
        log(format!(
            "{:7.2}s healing everything",
            start.elapsed().as_secs_f64()
        ));
        if let Err(e) = c.heal_all(Duration::from_secs(60)).await {
            errors.push(format!("cluster did not heal: {e}"));
        }
        // Restarted nodes must still run with (or without) the switch.
        if let Err(e) = c.check_fault_injection().await {
            errors.push(format!("after healing: {e}"));
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let process = next_process.max(cfg.concurrency as u64) + 1000;
    for (i, (f, value)) in workload.final_ops().into_iter().enumerate() {
        // Retry on a fresh process until one final op succeeds (30 s).
        let until = Instant::now() + Duration::from_secs(30);
        let mut p = process + 100 * i as u64;
        let mut done = false;
        while !done && Instant::now() < until {
            for addr in &sql_addrs {
                let Some(client) = connect(*addr, Duration::from_secs(3)).await else {
                    continue;
                };
                recorder.record(OpType::Invoke, p, &f, value.clone(), None);
                match tokio::time::timeout(Duration::from_secs(10), workload.execute(&client, &f, &value))
                    .await
                {
                    Ok(Ok(v)) => {
                        recorder.record(OpType::Ok, p, &f, v, None);
                        done = true;
                        break;
                    }
                    Ok(Err(OpError::Fail(e))) => recorder.record(OpType::Fail, p, &f, value.clone(), Some(e)),
                    Ok(Err(OpError::Info(e))) => {
                        recorder.record(OpType::Info, p, &f, value.clone(), Some(e));
                        p += 1;
                    }
                    Err(_) => {
                        recorder.record(OpType::Info, p, &f, value.clone(), Some("client timeout".into()));
                        p += 1;
                    }
                }
            }
            if !done {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        if !done {
            errors.push(format!("final {f} never succeeded"));
        }
    }
    let proxy_connections = cluster.lock().await.net().identification_counts();
    // Stop the nodes before checking (frees the CPU); logs stay in `dir`.
    match Arc::try_unwrap(cluster) {
        Ok(m) => drop(m.into_inner()),
        Err(_) => errors.push("cluster still shared at the end; stopped on exit".into()),
    }

    let ops = recorder.take();
    let history_text: String = ops.iter().map(|o| o.to_json_line() + "\n").collect();
    std::fs::write(dir.join("history.jsonl"), &history_text).map_err(|e| format!("write history: {e}"))?;
    let mut counts = OpCounts::default();
    for o in &ops {
        match o.op_type {
            OpType::Invoke => counts.invoked += 1,
            OpType::Ok => counts.ok += 1,
            OpType::Fail => counts.fail += 1,
            OpType::Info => counts.info += 1,
        }
    }
    let history = History::new(ops).map_err(|e| format!("the recorded history is malformed: {e}"))?;
    let mut results = Vec::new();
    for checker in workload.checkers(cfg.lin_budget) {
        let verdict = match checker.check(&history) {
            Ok(v) => v,
            Err(e) => Verdict::unknown("history-error", e.to_string()),
        };
        results.push(CheckerResult {
            checker: checker.name().to_string(),
            verdict,
        });
    }
    let valid = errors.is_empty() && results.iter().all(|r| r.verdict.valid == Validity::Valid);
    let caught_by: Vec<String> = results
        .iter()
        .filter(|r| r.verdict.valid == Validity::Invalid)
        .map(|r| format!("{} ({})", r.checker, r.verdict.kinds().join(", ")))
        .collect();
    let passed = match cfg.fault_injection {
        None => valid,
        Some(_) => !caught_by.is_empty(),
    };
    let result = RunResult {
        workload: workload.name().to_string(),
        nemesis: cfg.nemesis.clone(),
        nodes: cfg.nodes,
        seed: cfg.seed,
        time_limit_s: cfg.time_limit.as_secs_f64(),
        dir: dir.clone(),
        valid,
        fault_injection: cfg.fault_injection.clone(),
        passed,
        caught_by,
        results,
        ops: counts,
        windows,
        errors,
        proxy_connections,
    };
    write_evidence(&dir, &result, &history, &nemesis_log)?;
    Ok(result)
}

fn write_evidence(
    dir: &Path,
    result: &RunResult,
    history: &History,
    nemesis_log: &StdMutex<Vec<String>>,
) -> Result<(), String> {
    let w = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("write {name}: {e}"))
    };
    w(
        "results.json",
        serde_json::to_string_pretty(result).unwrap_or_else(|e| json!({"error": e.to_string()}).to_string()),
    )?;
    w("results.txt", report::text(result))?;
    w(
        "nemesis.log",
        nemesis_log.lock().unwrap_or_else(|e| e.into_inner()).join("\n") + "\n",
    )?;
    w("latency.svg", report::svg(result, history))?;
    Ok(())
}
