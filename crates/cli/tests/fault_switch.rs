//! `QUORUMDB_FAULT_INJECTION` (test-only switches that break a node on
//! purpose, see `quorumdb_storage::fault`) can never take effect by
//! accident:
//!
//! - a normal build (no `fault-injection` feature) refuses to start with
//!   it, with a one-line error and before touching the data directory;
//! - a `fault-injection` build starts with it and says so in `/health` and
//!   `/metrics`, and without it is a normal node (these run only when the
//!   tests are built with `--features fault-injection`).
//!
//! Every wait polls with a generous deadline.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

fn free_addr() -> SocketAddr {
    quorumdb_jepsen::ports::loopback().expect("a free loopback port")
}

struct Node {
    child: Child,
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    http: SocketAddr,
    /// The node's stderr (a file, so a chatty node never blocks on a pipe).
    stderr: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(dir: &Path, fault: Option<&str>) -> Node {
    std::fs::create_dir_all(dir).expect("create the test dir");
    let stderr = dir.join("stderr.log");
    let err = std::fs::File::create(&stderr).expect("create stderr.log");
    let http = free_addr();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorumdb"));
    cmd.arg("start")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--sql-addr", &free_addr().to_string()])
        .args(["--grpc-addr", &free_addr().to_string()])
        .args(["--http-addr", &http.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err);
    match fault {
        Some(f) => cmd.env("QUORUMDB_FAULT_INJECTION", f),
        None => cmd.env_remove("QUORUMDB_FAULT_INJECTION"),
    };
    Node {
        child: cmd.spawn().expect("spawn quorumdb"),
        http,
        stderr,
    }
}

/// Waits for the process to exit (generous deadline); `None` if it did not.
fn wait_exit(node: &mut Node, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = node.child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stderr_of(node: &Node) -> String {
    std::fs::read_to_string(&node.stderr).unwrap_or_default()
}

#[cfg(not(feature = "fault-injection"))]
#[test]
fn a_normal_build_refuses_to_start_with_a_fault_switch() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut node = start(tmp.path(), Some("skip-validation"));
    let status =
        wait_exit(&mut node, Duration::from_secs(60)).expect("the node must refuse to start, not run");
    assert!(!status.success(), "exit status {status}");
    let err = stderr_of(&node);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains("QUORUMDB_FAULT_INJECTION") && err.contains("built without the fault-injection feature"),
        "{err}"
    );
    assert!(
        !tmp.path().join("data").exists(),
        "nothing is created before the refusal"
    );
}

/// `(status, body)` of `GET path`, once it answers.
#[cfg(feature = "fault-injection")]
fn get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text.split_once("\r\n\r\n")?.1.to_string()))
}

#[cfg(feature = "fault-injection")]
fn healthy(node: &mut Node) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, body)) = get(node.http, "/health") {
            return body;
        }
        if let Ok(Some(status)) = node.child.try_wait() {
            panic!("node exited ({status}): {}", stderr_of(node));
        }
        assert!(Instant::now() < deadline, "node not healthy in 60 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_fault_build_runs_the_switch_loudly_and_only_when_asked() {
    let tmp = tempfile::tempdir().expect("tempdir");
    {
        let mut node = start(&tmp.path().join("a"), Some("stale-reads"));
        let health = healthy(&mut node);
        assert!(health.contains("FAULT INJECTION ACTIVE: stale-reads"), "{health}");
        let (_, metrics) = get(node.http, "/metrics").expect("metrics");
        assert!(
            metrics.contains("quorumdb_fault_injection{switch=\"stale-reads\"} 1"),
            "{metrics}"
        );
        assert!(!metrics.contains("switch=\"skip-validation\""), "{metrics}");
        let _ = node.child.kill();
        let _ = node.child.wait();
        let err = stderr_of(&node);
        assert!(
            err.contains("ERROR") && err.contains("FAULT INJECTION ACTIVE: switch stale-reads"),
            "{err}"
        );
    }
    {
        let mut node = start(&tmp.path().join("b"), None);
        let health = healthy(&mut node);
        assert!(!health.contains("FAULT"), "{health}");
        let (_, metrics) = get(node.http, "/metrics").expect("metrics");
        assert!(!metrics.contains("quorumdb_fault_injection"), "{metrics}");
    }
    {
        let mut node = start(&tmp.path().join("c"), Some("skip-validaton"));
        let status = wait_exit(&mut node, Duration::from_secs(60)).expect("a misspelt switch is refused");
        assert!(!status.success());
        let err = stderr_of(&node);
        assert!(err.contains("unknown fault-injection switch"), "{err}");
    }
}
