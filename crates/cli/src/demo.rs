//! `quorumdb demo`: a throw-away local cluster with the SQL shell on it.
//!
//! Starts N real `quorumdb start` processes (this same binary) on free
//! loopback ports with data in a temporary directory, waits until every node
//! is healthy and the cluster has N voters, opens the shell on node 1, and
//! removes everything when the shell exits (also on errors). Node logs go to
//! `<tmp>/nN/node.log`.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use clap::Args;

use crate::BoxError;
use crate::shell::SqlArgs;

#[derive(Args, Clone, Debug)]
pub struct DemoArgs {
    /// How many nodes to run (1 to 7).
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=7))]
    pub nodes: u64,
    /// Run these statements instead of the interactive shell, then stop.
    #[arg(short = 'e', long = "execute")]
    pub execute: Option<String>,
}

struct DemoNode {
    id: u64,
    sql: SocketAddr,
    grpc: SocketAddr,
    http: SocketAddr,
    dir: PathBuf,
    child: Option<Child>,
    /// `--worker-threads`: the nodes share this machine's CPUs.
    workers: usize,
}

/// Kills the nodes and removes the data when dropped.
struct Cluster {
    nodes: Vec<DemoNode>,
    _tmp: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(child) = node.child.as_mut() {
                // SIGTERM for a graceful stop, SIGKILL if it takes too long.
                unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
                let deadline = Instant::now() + Duration::from_secs(5);
                while Instant::now() < deadline {
                    if let Ok(Some(_)) = child.try_wait() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// Three distinct free loopback ports (SQL, gRPC, HTTP): all three
/// listeners are held until each has its port, so none repeats.
fn free_ports() -> Result<[SocketAddr; 3], BoxError> {
    let listeners = [
        TcpListener::bind("127.0.0.1:0")?,
        TcpListener::bind("127.0.0.1:0")?,
        TcpListener::bind("127.0.0.1:0")?,
    ];
    Ok([
        listeners[0].local_addr()?,
        listeners[1].local_addr()?,
        listeners[2].local_addr()?,
    ])
}

/// `GET /health`; true on 200.
fn healthy(http: SocketAddr) -> bool {
    use std::io::{Read, Write};
    let Ok(mut stream) = TcpStream::connect_timeout(&http, Duration::from_millis(500)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

fn spawn(node: &mut DemoNode, join: Option<SocketAddr>) -> Result<(), BoxError> {
    std::fs::create_dir_all(&node.dir)?;
    let log = std::fs::File::create(node.dir.join("node.log"))?;
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("start")
        .args(["--id", &node.id.to_string()])
        .arg("--data-dir")
        .arg(node.dir.join("data"))
        .args(["--sql-addr", &node.sql.to_string()])
        .args(["--grpc-addr", &node.grpc.to_string()])
        .args(["--http-addr", &node.http.to_string()])
        .args(["--worker-threads", &node.workers.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    if let Some(seed) = join {
        command.args(["--join", &seed.to_string()]);
    }
    node.child = Some(command.spawn()?);
    Ok(())
}

fn wait_until(
    what: &str,
    node: &mut DemoNode,
    secs: u64,
    check: impl Fn(&DemoNode) -> bool,
) -> Result<(), BoxError> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check(node) {
        if let Some(Ok(Some(status))) = node.child.as_mut().map(|c| c.try_wait()) {
            let log = tail(&node.dir.join("node.log"));
            return Err(format!(
                "node {} exited ({status}) while {what}; its log ends:\n{log}",
                node.id
            )
            .into());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "node {} was not {what} after {secs} s; see {}",
                node.id,
                node.dir.join("node.log").display()
            )
            .into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

pub fn run(args: DemoArgs) -> Result<ExitCode, BoxError> {
    let tmp = tempfile::Builder::new().prefix("quorumdb-demo-").tempdir()?;
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let workers = (cpus / args.nodes as usize).clamp(1, 1024);
    let mut cluster = Cluster {
        nodes: Vec::new(),
        _tmp: tmp,
    };
    eprintln!(
        "Starting a {}-node QuorumDB cluster in {} ...",
        args.nodes,
        cluster._tmp.path().display()
    );
    let mut seed = None;
    for id in 1..=args.nodes {
        // Each node's ports are chosen just before it starts: a port from
        // bind(:0) stays free only until the kernel hands it to another
        // socket, so the window is kept short.
        let [sql, grpc, http] = free_ports()?;
        cluster.nodes.push(DemoNode {
            id,
            sql,
            grpc,
            http,
            dir: cluster._tmp.path().join(format!("n{id}")),
            child: None,
            workers,
        });
        let Some(node) = cluster.nodes.last_mut() else {
            break;
        };
        spawn(node, seed)?;
        wait_until("healthy", node, 120, |n| healthy(n.http))?;
        eprintln!(
            "  node {} up: SQL {}, gRPC {}, HTTP {}",
            node.id, node.sql, node.grpc, node.http
        );
        seed.get_or_insert(node.grpc);
    }
    let voters = args.nodes as usize;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let first = &mut cluster.nodes[0];
    wait_until("reporting every node as a voter", first, 120, |n| {
        runtime
            .block_on(crate::admin::fetch_status(&n.grpc.to_string()))
            .map(|s| s.members.iter().filter(|m| m.voter).count() == voters)
            .unwrap_or(false)
    })?;
    let url = format!("postgres://root@{}/quorumdb", cluster.nodes[0].sql);
    eprintln!(
        "All {voters} nodes are voters. Connect other clients with: psql -h {} -p {} -U root",
        cluster.nodes[0].sql.ip(),
        cluster.nodes[0].sql.port()
    );
    eprintln!(
        "Inspect the cluster with: quorumdb node status --host {}",
        cluster.nodes[0].grpc
    );
    let code = runtime.block_on(crate::shell::run_async(SqlArgs {
        url,
        execute: args.execute,
        file: None,
    }));
    eprintln!("Stopping the demo cluster and removing its data ...");
    drop(cluster);
    code
}
