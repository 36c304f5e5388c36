//! `quorumdb demo`, the README's first command, with the real binary: it
//! starts three node processes, runs statements and meta-commands through
//! the SQL shell (`-e`), then stops the nodes and removes their data.
//!
//! The wait for the demo polls with a generous deadline; nothing sleeps to
//! synchronise. The demo runs in a process group of its own, so a demo
//! that hangs is killed together with its nodes.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Reads a child's pipe to the end on a thread, so a chatty child never
/// blocks on a full pipe while the test waits for it.
fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    })
}

#[test]
fn demo_runs_statements_on_a_three_node_cluster_and_cleans_up() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_quorumdb"))
        .args(["demo", "--nodes", "3", "-e"])
        .arg("CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b'); SELECT v FROM t ORDER BY id;\n\\d\n\\d t")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start quorumdb demo");
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + Duration::from_secs(300);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the demo") {
            break status;
        }
        if Instant::now() > deadline {
            // The demo and the nodes it started share its process group.
            let group = child.id() as libc::pid_t;
            // SAFETY: kill only sends a signal to the group this test made.
            unsafe { libc::kill(-group, libc::SIGKILL) };
            let _ = child.wait();
            panic!("quorumdb demo did not finish within 300 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    assert!(
        status.success(),
        "demo failed: {status}\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.contains("INSERT 0 2"), "{stdout}");
    assert!(stdout.contains(" a\n b\n(2 rows)"), "{stdout}");
    // The shell's meta-commands: \d lists the tables, \d t describes one.
    assert!(stdout.contains(" table\n-------\n t\n(1 row)"), "{stdout}");
    assert!(stdout.contains(" v      | text    | YES      | NULL"), "{stdout}");
    assert!(stderr.contains("All 3 nodes are voters"), "{stderr}");

    // The data directory it named is gone.
    let dir = stderr
        .lines()
        .find_map(|l| l.strip_prefix("Starting a 3-node QuorumDB cluster in "))
        .and_then(|rest| rest.strip_suffix(" ..."))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no data directory named in:\n{stderr}"));
    assert!(!dir.exists(), "{} was left behind", dir.display());
}
