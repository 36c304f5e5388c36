//! Multi-process cluster tests with the real `quorumdb` binary: three
//! `quorumdb start` processes on loopback ports, driven only through the
//! PostgreSQL protocol (tokio-postgres) and HTTP, then broken with SIGKILL.
//!
//! Deadlines are generous and every wait polls; nothing sleeps to
//! synchronise. Node logs are printed when a test fails.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

struct Proc {
    id: u64,
    sql: SocketAddr,
    grpc: SocketAddr,
    http: SocketAddr,
    dir: PathBuf,
    child: Option<Child>,
}

impl Proc {
    fn start(&mut self, join: Option<SocketAddr>) {
        std::fs::create_dir_all(&self.dir).unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("node.log"))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorumdb"));
        cmd.arg("start")
            .args(["--id", &self.id.to_string()])
            .arg("--data-dir")
            .arg(self.dir.join("data"))
            .args(["--sql-addr", &self.sql.to_string()])
            .args(["--grpc-addr", &self.grpc.to_string()])
            .args(["--http-addr", &self.http.to_string()])
            .env("QUORUMDB_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        if let Some(seed) = join {
            cmd.args(["--join", &seed.to_string()]);
        }
        self.child = Some(cmd.spawn().expect("spawn quorumdb"));
    }

    fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
        }
    }

    fn url(&self) -> String {
        format!(
            "host={} port={} user=root dbname=quorumdb connect_timeout=5",
            self.sql.ip(),
            self.sql.port()
        )
    }
}

struct Cluster {
    procs: Vec<Proc>,
    tmp: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for p in &mut self.procs {
            p.kill9();
        }
        if std::thread::panicking() {
            for p in &self.procs {
                let log = std::fs::read_to_string(p.dir.join("node.log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(30).collect();
                eprintln!("---- node {} log (last 30 lines) ----", p.id);
                for line in tail.iter().rev() {
                    eprintln!("{line}");
                }
            }
        }
        let _ = self.tmp.path();
    }
}

fn free() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn http_get(addr: SocketAddr, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}

fn metric(addr: SocketAddr, name: &str) -> Option<f64> {
    let body = http_get(addr, "/metrics")?;
    body.lines()
        .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

async fn eventually<T>(secs: u64, what: &str, mut check: impl FnMut() -> Option<T>) -> T {
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

async fn connect(url: &str) -> Option<Client> {
    let (client, conn) = tokio_postgres::connect(url, NoTls).await.ok()?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Some(client)
}

async fn three_node_cluster() -> Cluster {
    let tmp = tempfile::tempdir().unwrap();
    let procs = (1..=3)
        .map(|id| Proc {
            id,
            sql: free(),
            grpc: free(),
            http: free(),
            dir: tmp.path().join(format!("n{id}")),
            child: None,
        })
        .collect();
    let mut cluster = Cluster { procs, tmp };
    let seed = cluster.procs[0].grpc;
    for i in 0..3 {
        cluster.procs[i].start((i > 0).then_some(seed));
        let http = cluster.procs[i].http;
        eventually(120, "node healthy", || {
            http_get(http, "/health").filter(|r| r.starts_with("HTTP/1.1 200"))
        })
        .await;
    }
    let http = cluster.procs[0].http;
    eventually(120, "three voters", || {
        metric(http, "quorumdb_raft_voters").filter(|v| *v == 3.0)
    })
    .await;
    cluster
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_the_leader_under_load_loses_no_acknowledged_write() {
    let mut cluster = three_node_cluster().await;
    let first = connect(&cluster.procs[0].url()).await.expect("connect to node 1");
    first
        .batch_execute("CREATE TABLE kv (k INT PRIMARY KEY, writer INT)")
        .await
        .unwrap();

    // One writer per node, each inserting its own keys as fast as it can.
    let acked: Arc<Mutex<BTreeSet<i64>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for (w, p) in cluster.procs.iter().enumerate() {
        let (url, acked, stop) = (p.url(), acked.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut client = connect(&url).await;
            let mut n = 0i64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Some(c) = client.as_ref() else {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    client = connect(&url).await;
                    continue;
                };
                let key = w as i64 * 1_000_000 + n;
                n += 1;
                match c
                    .execute("INSERT INTO kv VALUES ($1, $2)", &[&(key as i32), &(w as i32)])
                    .await
                {
                    Ok(1) => {
                        acked.lock().unwrap().insert(key);
                    }
                    Ok(other) => panic!("INSERT reported {other} rows"),
                    // Unknown outcome, lost connection, no quorum: not acknowledged.
                    Err(_) => {
                        if c.is_closed() {
                            client = None;
                        }
                    }
                }
            }
        }));
    }

    let count = || acked.lock().unwrap().len();
    eventually(60, "writes flowing", || (count() >= 100).then_some(())).await;
    let leader = eventually(30, "a leader", || {
        metric(cluster.procs[0].http, "quorumdb_raft_leader_id")
    })
    .await as u64;
    let before_kill: BTreeSet<i64> = acked.lock().unwrap().clone();
    let victim = cluster.procs.iter().position(|p| p.id == leader).unwrap();
    cluster.procs[victim].kill9();
    let killed_at = Instant::now();

    // A new leader takes writes within a few election timeouts.
    let base = count();
    eventually(60, "writes resume after the kill", || {
        (count() >= base + 50).then_some(())
    })
    .await;
    let failover = killed_at.elapsed();
    eprintln!("writes resumed {failover:?} after SIGKILL of leader {leader}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }

    // The killed node restarts from its data directory and converges.
    cluster.procs[victim].start(None);
    let http = cluster.procs[victim].http;
    eventually(120, "restarted node healthy", || {
        http_get(http, "/health").filter(|r| r.starts_with("HTTP/1.1 200"))
    })
    .await;

    let all_acked = acked.lock().unwrap().clone();
    assert!(before_kill.is_subset(&all_acked));
    for p in &cluster.procs {
        let client = connect(&p.url()).await.expect("connect");
        let rows = client
            .query("SELECT k FROM kv", &[])
            .await
            .expect("read through every node");
        let stored: BTreeSet<i64> = rows.iter().map(|r| i64::from(r.get::<_, i32>(0))).collect();
        let missing: Vec<_> = all_acked.difference(&stored).take(5).collect();
        assert!(
            missing.is_empty(),
            "node {} lost acknowledged keys, e.g. {missing:?}",
            p.id
        );
    }
    eprintln!(
        "{} acknowledged inserts, all present on all 3 nodes",
        all_acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_node_down_keeps_serving_two_down_refuses_with_a_clear_error() {
    let mut cluster = three_node_cluster().await;
    let client = connect(&cluster.procs[0].url()).await.unwrap();
    client
        .batch_execute("CREATE TABLE t (k INT PRIMARY KEY)")
        .await
        .unwrap();
    cluster.procs[2].kill9();
    client
        .execute("INSERT INTO t VALUES (1)", &[])
        .await
        .expect("two of three still commit");
    cluster.procs[1].kill9();
    let started = Instant::now();
    let err = client
        .execute("INSERT INTO t VALUES (2)", &[])
        .await
        .expect_err("no quorum: the write must fail");
    let code = err.as_db_error().map(|e| e.code().code().to_string());
    eprintln!("without quorum after {:?}: {err:?}", started.elapsed());
    // 57P03: refused before proposing (no leader); 40003: proposed, outcome unknown.
    assert!(
        matches!(code.as_deref(), Some("57P03") | Some("40003")),
        "code {code:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(90), "bounded wait");
}
