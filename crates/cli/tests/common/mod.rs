//! Shared harness for the multi-process tests: `quorumdb start` processes
//! of the real binary on free loopback ports, each with its own data
//! directory under one temporary directory, driven only through what a
//! user has: the PostgreSQL protocol (tokio-postgres), HTTP `/health` and
//! `/metrics`, and the `quorumdb node ...` commands.
//!
//! Deadlines are generous and every wait polls; nothing sleeps to
//! synchronise. Dropping a [`Cluster`] kills its processes and removes the
//! temporary directory, also when a test fails (then the node logs' tails
//! are printed first).

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

/// The `quorumdb` binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_quorumdb");

pub struct Proc {
    pub id: u64,
    pub sql: SocketAddr,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    pub dir: PathBuf,
    /// Extra `quorumdb start` flags.
    pub extra: Vec<String>,
    child: Option<Child>,
}

impl Proc {
    pub fn new(id: u64, root: &Path, extra: &[&str]) -> Self {
        Self {
            id,
            sql: free(),
            grpc: free(),
            http: free(),
            dir: root.join(format!("n{id}")),
            extra: extra.iter().map(|s| s.to_string()).collect(),
            child: None,
        }
    }

    pub fn start(&mut self, join: Option<SocketAddr>) {
        std::fs::create_dir_all(&self.dir).expect("create node dir");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open node log");
        let mut cmd = Command::new(BIN);
        cmd.arg("start")
            .args(["--id", &self.id.to_string()])
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .args(["--sql-addr", &self.sql.to_string()])
            .args(["--grpc-addr", &self.grpc.to_string()])
            .args(["--http-addr", &self.http.to_string()])
            .args(&self.extra)
            .env("QUORUMDB_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(seed) = join {
            cmd.args(["--join", &seed.to_string()]);
        }
        self.child = Some(cmd.spawn().expect("spawn quorumdb"));
    }

    pub fn running(&self) -> bool {
        self.child.is_some()
    }

    /// Polls until the node answers `/health` with 200; panics if its
    /// process exits first (a port taken, a bad flag) or after `secs`.
    pub async fn wait_healthy(&mut self, secs: u64) {
        let what = format!("node {} healthy", self.id);
        eventually(secs, &what, || {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!(
                    "node {} exited ({status}) before serving:\n{}",
                    self.id,
                    self.log()
                );
            }
            self.healthy().then_some(())
        })
        .await;
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.join("node.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }

    /// SIGTERM, as an operator stops a node; SIGKILL if it has not exited
    /// after 60 s. Returns whether it exited on its own.
    pub async fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let pid = child.id() as libc::pid_t;
        // SAFETY: plain kill(2) on our own child, which has not been reaped.
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    pub fn url(&self) -> String {
        format!(
            "host={} port={} user=root dbname=quorumdb connect_timeout=5",
            self.sql.ip(),
            self.sql.port()
        )
    }

    pub fn metric(&self, name: &str) -> Option<f64> {
        metric(self.http, name)
    }

    pub fn healthy(&self) -> bool {
        http_get(self.http, "/health").is_some_and(|r| r.starts_with("HTTP/1.1 200"))
    }
}

pub struct Cluster {
    pub procs: Vec<Proc>,
    tmp: Option<tempfile::TempDir>,
    extra: Vec<String>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for p in &mut self.procs {
            // A node that exited by itself explains most failures; one that
            // exited 0 was stopped by SIGTERM/SIGINT, which (outside Proc::stop)
            // came from outside the test.
            if let Some(Ok(Some(status))) = p.child.as_mut().map(|c| c.try_wait()) {
                eprintln!("node {} had exited before the end of the test: {status}", p.id);
            }
            p.kill9();
        }
        if std::thread::panicking() {
            for p in &self.procs {
                let log = p.log();
                let tail: Vec<&str> = log.lines().rev().take(40).collect();
                eprintln!("---- node {} log (last 40 lines) ----", p.id);
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
            // For a post-mortem: QUORUMDB_KEEP_TEST_DIRS=1 keeps data and logs.
            if std::env::var("QUORUMDB_KEEP_TEST_DIRS").is_ok_and(|v| v == "1")
                && let Some(tmp) = self.tmp.take()
            {
                eprintln!("node data and logs kept in {}", tmp.keep().display());
            }
        }
    }
}

impl Cluster {
    /// `n` nodes: node 1 initialises, the others join through it; returns
    /// once every node is healthy and node 1 counts `n` voters.
    pub async fn start(n: u64, extra: &[&str]) -> Cluster {
        let tmp = tempfile::tempdir().expect("temp dir");
        let procs = (1..=n).map(|id| Proc::new(id, tmp.path(), extra)).collect();
        let mut cluster = Cluster {
            procs,
            tmp: Some(tmp),
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        let seed = cluster.procs[0].grpc;
        for i in 0..cluster.procs.len() {
            cluster.procs[i].start((i > 0).then_some(seed));
            cluster.procs[i].wait_healthy(120).await;
        }
        let first = &cluster.procs[0];
        eventually(120, &format!("{n} voters"), || {
            first.metric("quorumdb_raft_voters").filter(|v| *v == n as f64)
        })
        .await;
        cluster
    }

    /// Starts node `id` joining through a running member; returns its index.
    pub fn add(&mut self, id: u64) -> usize {
        let seed = self.running().next().expect("a running node").grpc;
        let extra: Vec<&str> = self.extra.iter().map(String::as_str).collect();
        let root = self.procs[0].dir.parent().expect("cluster dir").to_path_buf();
        let mut p = Proc::new(id, &root, &extra);
        p.start(Some(seed));
        self.procs.push(p);
        self.procs.len() - 1
    }

    pub fn running(&self) -> impl Iterator<Item = &Proc> {
        self.procs.iter().filter(|p| p.running())
    }

    pub fn get(&self, id: u64) -> &Proc {
        self.procs.iter().find(|p| p.id == id).expect("node id")
    }

    pub fn get_mut(&mut self, id: u64) -> &mut Proc {
        self.procs.iter_mut().find(|p| p.id == id).expect("node id")
    }

    /// The leader every running node agrees on (polls until they do).
    pub async fn leader(&self) -> u64 {
        let ids: Vec<u64> = self.running().map(|p| p.id).collect();
        self.leader_among(&ids).await
    }

    /// The leader the nodes `ids` agree on, one of them (polls until so).
    pub async fn leader_among(&self, ids: &[u64]) -> u64 {
        eventually(60, &format!("nodes {ids:?} agree on a leader among them"), || {
            let seen: BTreeSet<Option<u64>> = ids
                .iter()
                .map(|id| self.get(*id).metric("quorumdb_raft_leader_id").map(|v| v as u64))
                .collect();
            match seen.into_iter().collect::<Vec<_>>().as_slice() {
                [Some(id)] if ids.contains(id) => Some(*id),
                _ => None,
            }
        })
        .await
    }
}

/// A free loopback port for a node (see [`quorumdb_jepsen::ports`]).
pub fn free() -> SocketAddr {
    quorumdb_jepsen::ports::loopback().expect("a free loopback port")
}

pub fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

pub fn metric(addr: SocketAddr, name: &str) -> Option<f64> {
    let body = http_get(addr, "/metrics")?;
    body.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Polls `check` every 100 ms until it gives a value; panics after `secs`.
pub async fn eventually<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs} s waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn connect(url: &str) -> Option<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.ok()?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Some(client)
}

/// Runs `quorumdb args...` to completion (bounded: it has its own timeouts).
pub async fn quorumdb(args: &[&str]) -> Output {
    let out = tokio::process::Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(120), out)
        .await
        .expect("quorumdb command timed out")
        .expect("run quorumdb")
}

/// A member row of `quorumdb node status`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: u64,
    pub role: String,
}

/// `quorumdb node status --host <grpc>`: its members table, and the output.
pub async fn node_status(grpc: SocketAddr) -> (Vec<Member>, String) {
    let out = quorumdb(&["node", "status", "--host", &grpc.to_string()]).await;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "quorumdb node status failed: {}{}",
        text,
        String::from_utf8_lossy(&out.stderr)
    );
    let members = text
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let id = cells.first()?.parse().ok()?;
            Some(Member {
                id,
                role: cells.get(2)?.to_string(),
            })
        })
        .collect();
    (members, text)
}

/// One writer of a [`Load`].
struct Writer {
    node: u64,
    stop: Arc<AtomicBool>,
    acks: Arc<AtomicUsize>,
    errors: Arc<Mutex<BTreeMap<String, usize>>>,
    /// `None` once stopped (its counts stay).
    task: Option<tokio::task::JoinHandle<()>>,
}

/// A steady insert load: one writer per node, each inserting its own keys
/// into `kv (k INT PRIMARY KEY, writer INT)` as fast as it can, recording
/// every acknowledged key and counting errors by SQLSTATE.
#[derive(Default)]
pub struct Load {
    pub acked: Arc<Mutex<BTreeSet<i64>>>,
    writers: Vec<Writer>,
}

impl Drop for Load {
    fn drop(&mut self) {
        for w in &self.writers {
            w.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// The error class of a failed statement: its SQLSTATE, or what happened.
fn classify(e: &tokio_postgres::Error) -> String {
    match e.code() {
        Some(code) => code.code().to_string(),
        None if e.is_closed() => "connection closed".into(),
        None => format!("no SQLSTATE: {e}"),
    }
}

impl Load {
    pub const TABLE: &str = "CREATE TABLE kv (k INT PRIMARY KEY, writer INT)";

    /// Adds a writer through `node` (at `url`).
    pub fn add_writer(&mut self, node: u64, url: String) {
        let w = self.writers.len() as i64;
        let (stop, acks, errors) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
            Arc::new(Mutex::new(BTreeMap::<String, usize>::new())),
        );
        let acked = self.acked.clone();
        let task = {
            let (stop, acks, errors) = (stop.clone(), acks.clone(), errors.clone());
            tokio::spawn(async move {
                let mut client = connect(&url).await;
                let mut n = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let Some(c) = client.as_ref() else {
                        *errors.lock().unwrap().entry("cannot connect".into()).or_default() += 1;
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        client = connect(&url).await;
                        continue;
                    };
                    let key = w * 1_000_000 + n;
                    n += 1;
                    match c
                        .execute("INSERT INTO kv VALUES ($1, $2)", &[&(key as i32), &(w as i32)])
                        .await
                    {
                        Ok(1) => {
                            acked.lock().unwrap().insert(key);
                            acks.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(other) => panic!("INSERT reported {other} rows"),
                        // Unknown outcome, no quorum, lost connection: not acknowledged.
                        Err(e) => {
                            *errors.lock().unwrap().entry(classify(&e)).or_default() += 1;
                            if c.is_closed() {
                                client = None;
                            }
                        }
                    }
                }
            })
        };
        self.writers.push(Writer {
            node,
            stop,
            acks,
            errors,
            task: Some(task),
        });
    }

    pub fn acked_count(&self) -> usize {
        self.acked.lock().unwrap().len()
    }

    pub fn acked(&self) -> BTreeSet<i64> {
        self.acked.lock().unwrap().clone()
    }

    /// Acknowledged inserts of the writers through `node`.
    pub fn acks(&self, node: u64) -> usize {
        self.writers
            .iter()
            .filter(|w| w.node == node)
            .map(|w| w.acks.load(Ordering::Relaxed))
            .sum()
    }

    /// Errors of the writers through `node`, by SQLSTATE.
    pub fn errors(&self, node: u64) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for w in self.writers.iter().filter(|w| w.node == node) {
            for (k, v) in w.errors.lock().unwrap().iter() {
                *out.entry(k.clone()).or_default() += v;
            }
        }
        out
    }

    /// Stops the writers through `node` and waits for them (their counts
    /// stay).
    pub async fn stop_writers(&mut self, node: u64) {
        for w in self.writers.iter().filter(|w| w.node == node) {
            w.stop.store(true, Ordering::Relaxed);
        }
        for w in self.writers.iter_mut().filter(|w| w.node == node) {
            let Some(task) = w.task.take() else {
                continue;
            };
            task.await.expect("writer task");
            println!(
                "writer through node {node} stopped: {} acknowledged, errors {:?}",
                w.acks.load(Ordering::Relaxed),
                w.errors.lock().unwrap()
            );
        }
    }

    /// Stops every writer and waits for them.
    pub async fn stop(&mut self) {
        let nodes: BTreeSet<u64> = self.writers.iter().map(|w| w.node).collect();
        for node in nodes {
            self.stop_writers(node).await;
        }
    }

    /// Polls until the writers through each of `nodes` have acknowledged
    /// `more` inserts beyond what they had when called.
    pub async fn progress(&self, nodes: &[u64], more: usize, secs: u64, what: &str) {
        let base: Vec<usize> = nodes.iter().map(|n| self.acks(*n)).collect();
        eventually(secs, what, || {
            nodes
                .iter()
                .zip(&base)
                .all(|(n, b)| self.acks(*n) >= b + more)
                .then_some(())
        })
        .await;
    }
}

/// Panics unless every key of `acked` is in `kv` as read through `p`.
pub async fn assert_all_present(p: &Proc, acked: &BTreeSet<i64>) {
    let client = connect(&p.url()).await.expect("connect for the check");
    let rows = client
        .query("SELECT k FROM kv", &[])
        .await
        .unwrap_or_else(|e| panic!("read kv through node {}: {e:?}", p.id));
    let stored: BTreeSet<i64> = rows.iter().map(|r| i64::from(r.get::<_, i32>(0))).collect();
    let missing: Vec<_> = acked.difference(&stored).take(5).collect();
    assert!(
        missing.is_empty(),
        "node {} lacks {} acknowledged keys, e.g. {missing:?}",
        p.id,
        acked.difference(&stored).count()
    );
}
