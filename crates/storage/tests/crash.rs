//! Crash test: a writer process commits in a loop and reports every
//! acknowledged commit; it is SIGKILLed at random moments, many times over.
//! After each kill the store is reopened and must hold every acknowledged
//! commit, no partial commit, and an applied version that matches the data.
//!
//! A SIGKILL keeps the kernel's page cache, so this proves process-crash
//! safety (atomic batches, recovery, acknowledging only after sync) — not
//! power-loss safety, which needs a machine to lose power.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::ops::Bound;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use quorumdb_storage::{KvStore, ScanOrder, SledEngine, TxnOptions};
use rand::{Rng, SeedableRng};

const KILLS: usize = 30;

#[test]
fn acknowledged_commits_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let seed: u64 = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("crash test seed {seed} (set CRASH_SEED to replay)");
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut acked: BTreeMap<u64, u64> = BTreeMap::new(); // n -> version

    for round in 0..KILLS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_storage-crash-writer"))
            .arg(&data)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the writer");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Wait for the writer to get going (generous: the machine may be
        // busy), then let it run a random while before the kill.
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("writer acknowledged nothing in 60 s");
        let mut lines = vec![first];
        std::thread::sleep(Duration::from_millis(rng.random_range(0..120)));
        child.kill().expect("SIGKILL the writer");
        child.wait().expect("reap the writer");
        reader.join().expect("reader thread");
        lines.extend(rx.try_iter());
        for line in &lines {
            let mut parts = line.split_whitespace();
            let (Some("ack"), Some(n), Some(v)) = (parts.next(), parts.next(), parts.next()) else {
                panic!("unexpected writer output {line:?}");
            };
            acked.insert(n.parse().unwrap(), v.parse().unwrap());
        }
        check(&data, &acked, round);
    }
    println!("{} commits acknowledged across {KILLS} kills", acked.len());
}

fn check(data: &std::path::Path, acked: &BTreeMap<u64, u64>, round: usize) {
    let store = KvStore::local(Arc::new(SledEngine::open(data).expect("reopen after kill"))).unwrap();
    let report = store.mvcc().verify().expect("store invariants hold after a kill");
    let mut txn = store.begin(TxnOptions::default()).unwrap();

    // Group the stored keys by transaction number: each is all or nothing.
    let mut stored: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    let range = (Bound::Included(b"c/".to_vec()), Bound::Excluded(b"c0".to_vec()));
    for item in txn.scan(range, ScanOrder::Forward) {
        let (key, value) = item.unwrap();
        let key = String::from_utf8(key).unwrap();
        let mut parts = key.split('/');
        let n: u64 = parts.nth(1).unwrap().parse().unwrap();
        assert_eq!(
            String::from_utf8(value).unwrap(),
            n.to_string(),
            "round {round}: value of {key}"
        );
        stored
            .entry(n)
            .or_default()
            .push(parts.next().unwrap().to_string());
    }
    for (n, parts) in &stored {
        assert_eq!(parts, &["a", "b", "c"], "round {round}: partial commit {n}");
    }
    for (n, version) in acked {
        assert!(
            stored.contains_key(n),
            "round {round}: acknowledged commit {n} was lost"
        );
        // It is visible exactly from its acknowledged version on.
        let at = store.mvcc().snapshot(*version).unwrap();
        assert!(at.get(format!("c/{n:010}/a").as_bytes()).unwrap().is_some());
        let before = store.mvcc().snapshot(version - 1).unwrap();
        assert!(before.get(format!("c/{n:010}/a").as_bytes()).unwrap().is_none());
    }
    // Commits are numbered 1, 2, ... with no gaps, and `last` names the newest.
    let newest = stored.keys().next_back().copied().unwrap_or(0);
    assert_eq!(
        stored.len() as u64,
        newest,
        "round {round}: a gap in the committed transactions"
    );
    let last = txn.get(b"last").unwrap().map(|v| String::from_utf8(v).unwrap());
    assert_eq!(
        last,
        Some(newest.to_string()),
        "round {round}: `last` disagrees with the data"
    );
    // One version per commit, no conflicts: the applied version is exactly
    // the newest stored version.
    assert_eq!(
        report.applied, report.newest_version,
        "round {round}: applied version vs data"
    );
}
