//! Cluster control: N real `quorumdb` processes on loopback, owned by PID.
//!
//! Every node slot gets its own data directory (under one temporary root),
//! free ports for SQL, gRPC and HTTP, and a fault-injecting proxy
//! ([`crate::proxy`]) in front of its gRPC port that it advertises to the
//! other nodes. Slot 0 initialises the cluster; the others join through a
//! live member. Node processes write their stdout and stderr to
//! `<log_dir>/n<slot>.log` (appended across restarts).
//!
//! Faults on processes: `kill -9` + restart with the same data dir,
//! several nodes killed at once, `SIGSTOP` / `SIGCONT`, and membership changes (remove a node with
//! `quorumdb node remove`, stop it, and later add the slot back with a fresh
//! data dir and a new node id).
//!
//! Cleanup: [`Cluster`]'s `Drop` resumes paused nodes, kills every node it
//! started (by PID), waits for them and deletes the data root. It runs on
//! normal return, on error and on panic unwinding; and every node is started
//! with `PR_SET_PDEATHSIG = SIGKILL`, so even a harness killed with `kill -9`
//! leaves no node running (only its temporary data root).
//!
//! Deliberately not here: talking SQL (workloads do that) and deciding when
//! to inject faults (the nemesis does).

use std::collections::HashSet;
use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::proxy::ProxyNet;

/// Errors of cluster control.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Other(String),
}

pub type Result<T> = std::result::Result<T, ClusterError>;

fn other(msg: impl Into<String>) -> ClusterError {
    ClusterError::Other(msg.into())
}

/// The addresses of one node slot.
#[derive(Clone, Debug)]
pub struct NodeAddrs {
    pub sql: SocketAddr,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    /// The proxy in front of `grpc`; what the node advertises.
    pub proxy: SocketAddr,
}

/// A node slot: addresses, the current process and its state.
struct Slot {
    addrs: NodeAddrs,
    /// The Raft node id of the current incarnation.
    id: u64,
    data_dir: PathBuf,
    child: Option<Child>,
    paused: bool,
    /// Removed from the membership (and stopped).
    removed: bool,
}

/// A running cluster. Drop it to stop and delete everything.
pub struct Cluster {
    bin: PathBuf,
    /// `QUORUMDB_FAULT_INJECTION` for every node process (`None`: removed
    /// from their environment, so a normal run is never a faulty one).
    fault_injection: Option<String>,
    root: PathBuf,
    log_dir: PathBuf,
    slots: Vec<Slot>,
    net: ProxyNet,
    next_id: u64,
}

/// Finds the `quorumdb` binary: `$QUORUMDB_BIN`, next to the current
/// executable (or its parent, for test executables in `deps/`), or in the
/// workspace target directories.
pub fn find_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("QUORUMDB_BIN") {
        return Some(PathBuf::from(p));
    }
    let mut candidates = Vec::new();
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join("quorumdb"));
        if let Some(up) = dir.parent() {
            candidates.push(up.join("quorumdb"));
        }
    }
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for t in [
        std::env::var("CARGO_TARGET_DIR").ok().map(PathBuf::from),
        Some(ws.join("target")),
    ]
    .into_iter()
    .flatten()
    {
        candidates.push(t.join("release/quorumdb"));
        candidates.push(t.join("debug/quorumdb"));
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// A minimal HTTP/1.0 GET on loopback: (status code, body).
pub async fn http_get(addr: SocketAddr, path: &str, timeout: Duration) -> Option<(u16, String)> {
    let fut = async {
        let mut s = TcpStream::connect(addr).await.ok()?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
            .await
            .ok()?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await.ok()?;
        let text = String::from_utf8_lossy(&buf).to_string();
        let status = text.split_whitespace().nth(1)?.parse::<u16>().ok()?;
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Some((status, body))
    };
    tokio::time::timeout(timeout, fut).await.ok().flatten()
}

/// The environment variable that turns on a node's test-only fault switch.
pub const FAULT_ENV: &str = "QUORUMDB_FAULT_INJECTION";

/// The nodes' fault-injection switches (`quorumdb_storage::fault::Switch`).
pub const FAULT_SWITCHES: [&str; 3] = ["skip-validation", "stale-reads", "ack-before-sync"];

/// The switches of `quorumdb_fault_injection{switch="..."} 1` lines.
pub fn fault_switches(metrics: &str) -> Vec<String> {
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("quorumdb_fault_injection{switch=\""))
        .filter_map(|rest| {
            let (name, value) = rest.split_once("\"}")?;
            (value.trim().parse::<f64>().ok()? == 1.0).then(|| name.to_string())
        })
        .collect()
}

/// The value of a metric line `name value` in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (n, v) = l.split_once(' ')?;
        (n == name).then(|| v.trim().parse::<f64>().ok()).flatten()
    })
}

fn signal(pid: u32, sig: libc::c_int) -> Result<()> {
    // SAFETY: kill(2) with a PID of a child we started and still own.
    let rc = unsafe { libc::kill(pid as libc::pid_t, sig) };
    if rc == 0 {
        Ok(())
    } else {
        Err(ClusterError::Io(std::io::Error::last_os_error()))
    }
}

impl Cluster {
    /// Starts `n` nodes and waits until all are healthy voters.
    pub async fn start(bin: &Path, n: usize, log_dir: &Path) -> Result<Cluster> {
        Cluster::start_with(bin, n, log_dir, None).await
    }

    /// [`Cluster::start`], with every node started with the test-only fault
    /// switch `fault_injection` (`QUORUMDB_FAULT_INJECTION`; the binary must
    /// be built with the `fault-injection` feature). Checks that every node
    /// reports exactly that switch in `/metrics`, and with `None` that no
    /// node reports any.
    pub async fn start_with(
        bin: &Path,
        n: usize,
        log_dir: &Path,
        fault_injection: Option<&str>,
    ) -> Result<Cluster> {
        if !bin.is_file() {
            return Err(other(format!("quorumdb binary not found at {}", bin.display())));
        }
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let root = std::env::temp_dir().join(format!("quorumdb-jepsen-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&root)?;
        std::fs::create_dir_all(log_dir)?;
        let mut cluster = Cluster {
            bin: bin.to_path_buf(),
            fault_injection: fault_injection.map(str::to_string),
            root,
            log_dir: log_dir.to_path_buf(),
            slots: Vec::new(),
            net: ProxyNet::new(),
            next_id: n as u64 + 1,
        };
        for slot in 0..n {
            let proxy_listener = TcpListener::bind("127.0.0.1:0").await?;
            let addrs = NodeAddrs {
                sql: crate::ports::loopback()?,
                grpc: crate::ports::loopback()?,
                http: crate::ports::loopback()?,
                proxy: proxy_listener.local_addr()?,
            };
            cluster.net.serve(slot, proxy_listener, addrs.grpc);
            let id = slot as u64 + 1;
            cluster.slots.push(Slot {
                addrs,
                id,
                data_dir: cluster.root.join(format!("n{slot}-id{id}")),
                child: None,
                paused: false,
                removed: false,
            });
        }
        cluster.spawn(0, None)?;
        cluster.wait_healthy(0, Duration::from_secs(60)).await?;
        let join = cluster.slots[0].addrs.grpc.to_string();
        for slot in 1..n {
            cluster.spawn(slot, Some(&join))?;
            cluster.wait_healthy(slot, Duration::from_secs(60)).await?;
        }
        cluster.wait_voters(n, Duration::from_secs(60)).await?;
        cluster.check_fault_injection().await?;
        Ok(cluster)
    }

    /// The fault switches each slot reports active in `/metrics`.
    pub async fn fault_switches(&self, slot: usize) -> Option<Vec<String>> {
        self.metrics(slot).await.map(|text| fault_switches(&text))
    }

    /// Every live node reports exactly the requested fault switch (or none).
    pub async fn check_fault_injection(&self) -> Result<()> {
        let want: Vec<String> = self.fault_injection.iter().cloned().collect();
        for slot in self.live() {
            let Some(got) = self.fault_switches(slot).await else {
                return Err(other(format!("node slot {slot}: /metrics did not answer")));
            };
            if got != want {
                return Err(other(match &self.fault_injection {
                    Some(f) => format!(
                        "node slot {slot} reports fault switches {got:?}, not [{f:?}]: \
                         is {} built with --features fault-injection?",
                        self.bin.display()
                    ),
                    None => format!("node slot {slot} reports fault switches {got:?} in a normal run"),
                }));
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn addrs(&self, slot: usize) -> &NodeAddrs {
        &self.slots[slot].addrs
    }

    pub fn node_id(&self, slot: usize) -> u64 {
        self.slots[slot].id
    }

    pub fn net(&self) -> &ProxyNet {
        &self.net
    }

    pub fn is_running(&self, slot: usize) -> bool {
        self.slots[slot].child.is_some()
    }

    pub fn is_paused(&self, slot: usize) -> bool {
        self.slots[slot].paused
    }

    pub fn is_removed(&self, slot: usize) -> bool {
        self.slots[slot].removed
    }

    /// Slots that run and are not paused.
    pub fn live(&self) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&s| self.slots[s].child.is_some() && !self.slots[s].paused && !self.slots[s].removed)
            .collect()
    }

    fn spawn(&mut self, slot: usize, join: Option<&str>) -> Result<()> {
        let log_path = self.log_dir.join(format!("n{slot}.log"));
        let log = OpenOptions::new().create(true).append(true).open(&log_path)?;
        let err = log.try_clone()?;
        let s = &self.slots[slot];
        let mut cmd = Command::new(&self.bin);
        cmd.arg("start")
            .arg("--id")
            .arg(s.id.to_string())
            .arg("--data-dir")
            .arg(&s.data_dir)
            .arg("--sql-addr")
            .arg(s.addrs.sql.to_string())
            .arg("--grpc-addr")
            .arg(s.addrs.grpc.to_string())
            .arg("--http-addr")
            .arg(s.addrs.http.to_string())
            .arg("--advertise-addr")
            .arg(s.addrs.proxy.to_string());
        if let Some(j) = join {
            cmd.arg("--join").arg(j);
        }
        match &self.fault_injection {
            Some(f) => cmd.env(FAULT_ENV, f),
            None => cmd.env_remove(FAULT_ENV),
        };
        cmd.stdin(Stdio::null()).stdout(log).stderr(err);
        // If the harness dies without running its Drop guards (SIGKILL), the
        // kernel kills the node too. (The signal fires when the spawning
        // thread exits: the runtime's threads live as long as the harness.)
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        self.net.set_pid(child.id(), slot);
        let s = &mut self.slots[slot];
        s.child = Some(child);
        s.paused = false;
        Ok(())
    }

    /// Polls `/health` of `slot` until it answers 200.
    pub async fn wait_healthy(&mut self, slot: usize, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let http = self.slots[slot].addrs.http;
        loop {
            if let Some((200, _)) = http_get(http, "/health", Duration::from_secs(1)).await {
                return Ok(());
            }
            if let Some(child) = self.slots[slot].child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                let log =
                    std::fs::read_to_string(self.log_dir.join(format!("n{slot}.log"))).unwrap_or_default();
                let last = log
                    .lines()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or_default();
                return Err(other(format!(
                    "node slot {slot} exited while starting ({status}): {last} (see n{slot}.log)"
                )));
            }
            if Instant::now() > deadline {
                return Err(other(format!("node slot {slot} not healthy after {timeout:?}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Metrics text of a slot, if it answers.
    pub async fn metrics(&self, slot: usize) -> Option<String> {
        http_get(self.slots[slot].addrs.http, "/metrics", Duration::from_secs(1))
            .await
            .and_then(|(code, body)| (code == 200).then_some(body))
    }

    /// The slot of the current leader, as reported by the live nodes.
    pub async fn leader(&self) -> Option<usize> {
        for slot in self.live() {
            if let Some(text) = self.metrics(slot).await
                && let Some(id) = metric(&text, "quorumdb_raft_leader_id")
                && let Some(s) = self.slots.iter().position(|s| s.id as f64 == id && !s.removed)
            {
                return Some(s);
            }
        }
        None
    }

    /// Waits until the leader reports `n` voters and every live slot is healthy.
    pub async fn wait_voters(&mut self, n: usize, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.leader().await
                && let Some(text) = self.metrics(l).await
                && metric(&text, "quorumdb_raft_voters") == Some(n as f64)
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(other(format!("cluster did not reach {n} voters in {timeout:?}")));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `kill -9` the node of `slot`.
    pub fn kill(&mut self, slot: usize) -> Result<()> {
        let s = &mut self.slots[slot];
        if let Some(mut child) = s.child.take() {
            if s.paused {
                let _ = signal(child.id(), libc::SIGCONT);
            }
            let _ = child.kill();
            let _ = child.wait();
            self.net.forget_pid(child.id());
        }
        s.paused = false;
        Ok(())
    }

    /// `kill -9` several nodes at once (a power failure of those machines):
    /// every signal is sent before any process is reaped.
    pub fn kill_many(&mut self, slots: &[usize]) -> Result<()> {
        for &slot in slots {
            let s = &self.slots[slot];
            if let Some(child) = &s.child {
                // SAFETY: see `signal`; SIGKILL also ends a stopped process.
                let _ = signal(child.id(), libc::SIGKILL);
            }
        }
        for &slot in slots {
            self.kill(slot)?;
        }
        Ok(())
    }

    /// How the node of `slot` exited, if it has (it is then forgotten).
    pub fn exit_status(&mut self, slot: usize) -> Option<String> {
        let s = &mut self.slots[slot];
        let child = s.child.as_mut()?;
        let status = child.try_wait().ok().flatten()?;
        self.net.forget_pid(child.id());
        s.child = None;
        Some(status.to_string())
    }

    /// Restarts a killed node with its data dir (it rejoins by itself).
    pub fn restart(&mut self, slot: usize) -> Result<()> {
        if self.slots[slot].child.is_some() || self.slots[slot].removed {
            return Ok(());
        }
        self.spawn(slot, None)
    }

    /// `SIGSTOP`.
    pub fn pause(&mut self, slot: usize) -> Result<()> {
        let s = &mut self.slots[slot];
        if let Some(child) = &s.child
            && !s.paused
        {
            signal(child.id(), libc::SIGSTOP)?;
            s.paused = true;
        }
        Ok(())
    }

    /// `SIGCONT`.
    pub fn resume(&mut self, slot: usize) -> Result<()> {
        let s = &mut self.slots[slot];
        if let Some(child) = &s.child
            && s.paused
        {
            signal(child.id(), libc::SIGCONT)?;
        }
        s.paused = false;
        Ok(())
    }

    /// Removes `slot`'s node from the membership through another live
    /// member, then stops it and deletes its data.
    pub async fn remove(&mut self, slot: usize) -> Result<()> {
        let via = self
            .live()
            .into_iter()
            .find(|&s| s != slot)
            .ok_or_else(|| other("no live member to remove through"))?;
        let id = self.slots[slot].id;
        let host = self.slots[via].addrs.grpc.to_string();
        let out = tokio::time::timeout(
            Duration::from_secs(20),
            tokio::process::Command::new(&self.bin)
                .args(["node", "remove", "--id", &id.to_string(), "--host", &host])
                .stdin(Stdio::null())
                .output(),
        )
        .await
        .map_err(|_| other(format!("`quorumdb node remove --id {id}` timed out")))??;
        if !out.status.success() {
            return Err(other(format!(
                "`quorumdb node remove --id {id}` failed: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )));
        }
        self.kill(slot)?;
        self.slots[slot].removed = true;
        let _ = std::fs::remove_dir_all(&self.slots[slot].data_dir);
        Ok(())
    }

    /// Adds a removed slot back: a fresh data dir and a new node id, joining
    /// through a live member.
    pub async fn add_back(&mut self, slot: usize) -> Result<()> {
        if !self.slots[slot].removed {
            return Ok(());
        }
        let via = self
            .live()
            .into_iter()
            .next()
            .ok_or_else(|| other("no live member to join through"))?;
        let join = self.slots[via].addrs.grpc.to_string();
        let id = self.next_id;
        self.next_id += 1;
        let s = &mut self.slots[slot];
        s.id = id;
        s.data_dir = self.root.join(format!("n{slot}-id{id}"));
        s.removed = false;
        self.spawn(slot, Some(&join))
    }

    /// Heals the network, resumes paused nodes, restarts killed ones and
    /// re-adds removed ones; then waits for every node to be a healthy voter.
    pub async fn heal_all(&mut self, timeout: Duration) -> Result<()> {
        self.net.heal();
        for slot in 0..self.slots.len() {
            self.resume(slot)?;
        }
        for slot in 0..self.slots.len() {
            if self.slots[slot].removed {
                self.add_back(slot).await?;
            } else if self.slots[slot].child.is_none() {
                self.restart(slot)?;
            }
        }
        for slot in 0..self.slots.len() {
            self.wait_healthy(slot, timeout).await?;
        }
        self.wait_voters(self.slots.len(), timeout).await
    }

    /// Checks that no node died on its own: (slot, exit status) of those that did.
    pub fn crashed(&mut self) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (i, s) in self.slots.iter_mut().enumerate() {
            if let Some(child) = s.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                out.push((i, status.to_string()));
                self.net.forget_pid(child.id());
                s.child = None;
            }
        }
        out
    }

    /// The directed flows that cut the listed pairs in both directions.
    pub fn cut(pairs: &[(usize, usize)]) -> HashSet<(usize, usize)> {
        pairs.iter().flat_map(|&(a, b)| [(a, b), (b, a)]).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.net.heal();
        for s in &mut self.slots {
            if let Some(mut child) = s.child.take() {
                if s.paused {
                    let _ = signal(child.id(), libc::SIGCONT);
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
