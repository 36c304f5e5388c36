//! The chaos suite must catch a system that is broken on purpose.
//!
//! Each test runs a short workload against a cluster whose every node runs
//! one of the test-only fault switches of a `quorumdb` built with the cargo
//! feature `fault-injection`, and fails unless the checker that should
//! notice says invalid:
//!
//! | switch | run | must be caught by |
//! | --- | --- | --- |
//! | `skip-validation` | bank x none, 10 s, 9 workers, 1 ms between ops | bank (`wrong-total`) |
//! | `stale-reads` | register x partition-one, 20 s | register (`not-linearizable`) |
//! | `ack-before-sync` | set x kill-all, 24 s | set (`lost`) |
//!
//! The faulty binary comes from `$QUORUMDB_FAULTY_BIN`; `.ci/run` builds it
//! into its own target directory (`cargo build -p quorumdb-cli --features
//! fault-injection --target-dir <target>/fault-injection`) and always sets
//! the variable. Without it every test here prints `SKIPPED` and passes: a
//! normal `cargo test` never compiles the feature in.
//!
//! Detection is near-certain but not guaranteed in one short run (a
//! stale read needs a write to finish elsewhere while a cut-off node
//! serves a read; a lost write needs one acknowledged in the last fraction
//! of a second before the cluster dies). So each test makes up to
//! [`ATTEMPTS`] runs with different seeds and passes on the first that is
//! caught; every attempt is printed with its evidence folder.

use std::path::PathBuf;
use std::time::Duration;

use quorumdb_jepsen::checker::Validity;
use quorumdb_jepsen::runner::{RunConfig, RunResult, run};

/// Runs per switch before the test gives up (each with a new seed).
const ATTEMPTS: u64 = 3;

fn faulty_bin(test: &str) -> Option<PathBuf> {
    match std::env::var_os("QUORUMDB_FAULTY_BIN") {
        Some(p) => {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "QUORUMDB_FAULTY_BIN={} is not a file", p.display());
            Some(p)
        }
        None => {
            eprintln!(
                "SKIPPED {test}: QUORUMDB_FAULTY_BIN is not set (build the faulty binary with \
                 `cargo build -p quorumdb-cli --features fault-injection --target-dir \
                 target/fault-injection` and point QUORUMDB_FAULTY_BIN at it; .ci/run does)"
            );
            None
        }
    }
}

fn config(bin: PathBuf, switch: &str, workload: &str, nemesis: &str, seed: u64) -> RunConfig {
    RunConfig {
        workload: workload.into(),
        nemesis: nemesis.into(),
        nodes: 3,
        time_limit: Duration::from_secs(20),
        seed,
        concurrency: 6,
        healthy: Duration::from_secs(4),
        faulty: Duration::from_secs(5),
        op_timeout: Duration::from_secs(5),
        op_delay: Duration::from_millis(10),
        lin_budget: Duration::from_secs(30),
        bin,
        store: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target/jepsen-faults")),
        overlap: 1,
        fault_injection: Some(switch.into()),
    }
}

/// Runs `cfg` with seeds `cfg.seed, +1, ...` until `checker` reports `kind`
/// (invalid); panics with every attempt's verdict if it never does.
fn expect_caught(mut cfg: RunConfig, checker: &str, kind: &str) -> RunResult {
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let label = format!(
        "{} x {} with {}",
        cfg.workload,
        cfg.nemesis,
        cfg.fault_injection.clone().unwrap_or_default()
    );
    let mut misses = Vec::new();
    for attempt in 1..=ATTEMPTS {
        match runtime.block_on(run(&cfg)) {
            Err(e) => misses.push(format!("attempt {attempt} (seed {}): run failed: {e}", cfg.seed)),
            Ok(r) => {
                eprint!("{}", quorumdb_jepsen::report::text(&r));
                eprintln!("evidence: {}", r.dir.display());
                assert!(r.ops.ok > 0, "{label}: no operation succeeded");
                let verdict = r.results.iter().find(|c| c.checker == checker);
                let caught = verdict.is_some_and(|c| {
                    c.verdict.valid == Validity::Invalid && c.verdict.kinds().contains(&kind)
                });
                if caught {
                    assert!(r.passed, "{label}: caught, so the run must count as passed");
                    eprintln!("{label}: caught by {checker} ({kind}) on attempt {attempt}");
                    return r;
                }
                misses.push(format!(
                    "attempt {attempt} (seed {}): {checker} says {} (evidence in {})",
                    cfg.seed,
                    verdict.map_or("nothing".into(), |c| c.verdict.explain()),
                    r.dir.display()
                ));
            }
        }
        cfg.seed += 100;
    }
    panic!(
        "{label}: the broken system was NOT caught in {ATTEMPTS} attempts:\n{}",
        misses.join("\n")
    );
}

#[test]
fn skip_validation_loses_updates_and_the_bank_checker_sees_it() {
    let Some(bin) = faulty_bin("skip-validation") else {
        return;
    };
    let mut cfg = config(bin, "skip-validation", "bank", "none", 501);
    // Contention: 9 workers on 5 accounts, as fast as they can go.
    cfg.time_limit = Duration::from_secs(10);
    cfg.concurrency = 9;
    cfg.op_delay = Duration::from_millis(1);
    let r = expect_caught(cfg, "bank", "wrong-total");
    assert!(r.windows.is_empty(), "no nemesis in this run");
}

#[test]
fn stale_reads_on_a_cut_off_node_are_not_linearizable() {
    let Some(bin) = faulty_bin("stale-reads") else {
        return;
    };
    let mut cfg = config(bin, "stale-reads", "register", "partition-one", 601);
    cfg.healthy = Duration::from_secs(3);
    cfg.faulty = Duration::from_secs(6);
    let r = expect_caught(cfg, "register", "not-linearizable");
    assert!(!r.windows.is_empty(), "a node was cut off");
}

#[test]
fn ack_before_sync_loses_acknowledged_inserts_when_every_node_dies() {
    let Some(bin) = faulty_bin("ack-before-sync") else {
        return;
    };
    let mut cfg = config(bin, "ack-before-sync", "set", "kill-all", 701);
    cfg.time_limit = Duration::from_secs(24);
    cfg.concurrency = 9;
    cfg.op_delay = Duration::from_millis(2);
    cfg.healthy = Duration::from_secs(4);
    cfg.faulty = Duration::from_secs(2);
    let r = expect_caught(cfg, "set", "lost");
    assert!(
        r.windows.iter().any(|w| w.fault == "kill-all"),
        "the whole cluster was killed at least once"
    );
}
