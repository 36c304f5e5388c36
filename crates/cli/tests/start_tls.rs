//! `quorumdb start --tls-cert/--tls-key` with the real binary: a node
//! started with a self-signed certificate (made by the `openssl` command)
//! serves `psql "sslmode=require"`; bad flags and unusable files are
//! one-line errors before anything starts (as is a bad `--worker-threads`).
//!
//! Every wait polls with a generous deadline. Skipped (with a message)
//! when psql or openssl is absent.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn have_tools() -> bool {
    let openssl = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    openssl && Path::new("/usr/bin/psql").exists()
}

fn free() -> SocketAddr {
    quorumdb_jepsen::ports::loopback().expect("a free loopback port")
}

fn quorumdb(dir: &Path, sql: SocketAddr) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorumdb"));
    cmd.arg("start")
        .arg("--data-dir")
        .arg(dir.join("data"))
        .args(["--sql-addr", &sql.to_string()])
        .args(["--grpc-addr", &free().to_string()])
        .args(["--http-addr", &free().to_string()])
        .env_remove("QUORUMDB_TLS_CERT")
        .env_remove("QUORUMDB_TLS_KEY")
        .stdin(Stdio::null());
    cmd
}

/// Kills the node (a process this test started) when the test ends.
struct Node(std::process::Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn start_with_tls_serves_sslmode_require() {
    if !have_tools() {
        eprintln!("psql or openssl not installed; skipping");
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("node.crt"), dir.path().join("node.key"));
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let sql = free();
    let log = std::fs::File::create(dir.path().join("node.log")).expect("log");
    let mut cmd = quorumdb(dir.path(), sql);
    cmd.env("QUORUMDB_TLS_CERT", &cert)
        .env("QUORUMDB_TLS_KEY", &key)
        .stdout(Stdio::null())
        .stderr(log);
    let _node = Node(cmd.spawn().expect("spawn quorumdb"));

    let conninfo = format!(
        "host=127.0.0.1 port={} user=root dbname=qdb sslmode=require",
        sql.port()
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let stdout = loop {
        let out = Command::new("/usr/bin/psql")
            .args([
                "-X",
                &conninfo,
                "-A",
                "-t",
                "-c",
                "SELECT 40 + 2",
                "-c",
                "\\conninfo",
            ])
            .env("PGCONNECT_TIMEOUT", "5")
            .env_remove("PGSSLMODE")
            .output()
            .expect("psql");
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).into_owned();
        }
        assert!(
            Instant::now() < deadline,
            "psql never connected: {}\nnode log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(dir.path().join("node.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(stdout.lines().next(), Some("42"), "{stdout}");
    assert!(stdout.contains("SSL connection"), "{stdout}");
}

#[test]
fn tls_flags_must_come_in_pairs_and_name_unusable_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = quorumdb(dir.path(), free())
        .args(["--tls-cert", "/nonexistent/cert.pem"])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--tls-key"), "{stderr}");

    let out = quorumdb(dir.path(), free())
        .args([
            "--tls-cert",
            "/nonexistent/cert.pem",
            "--tls-key",
            "/nonexistent/key.pem",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with("quorumdb:")).collect();
    assert_eq!(
        lines,
        [
            "quorumdb: cannot read TLS certificate /nonexistent/cert.pem: No such file or directory (os error 2)"
        ],
        "{stderr}"
    );
}

/// A bad `--worker-threads` is a one-line usage error before anything
/// starts (nothing is created in the data directory).
#[test]
fn a_bad_worker_thread_count_is_refused_before_starting() {
    let dir = tempfile::tempdir().expect("tempdir");
    for bad in ["0", "many", "2000"] {
        let mut child = quorumdb(dir.path(), free())
            .args(["--worker-threads", bad])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run");
        // A node that accepted the value would run until killed.
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("--worker-threads {bad} was accepted: the node kept running");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut stderr = String::new();
        if let Some(mut pipe) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut pipe, &mut stderr);
        }
        assert!(!status.success(), "--worker-threads {bad} was accepted");
        assert!(
            stderr.contains(&format!("invalid value '{bad}' for '--worker-threads")),
            "{stderr}"
        );
        assert!(
            !dir.path().join("data").exists(),
            "--worker-threads {bad} created the data directory"
        );
    }
}
