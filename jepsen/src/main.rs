//! `quorumdb-jepsen`: run chaos tests against real local QuorumDB clusters.
//!
//! `--workload` and `--nemesis` take comma-separated lists and run their
//! product (a matrix); `--runs` repeats it with seeds `seed, seed+1, ...`.
//! Prints each run's verdicts and the evidence folder, then a closing line
//! `N passed, N failed`; exits 0 only when every run passed: every checker
//! says valid, or, with `--fault-injection SWITCH` (nodes broken on purpose,
//! a binary built with the `fault-injection` feature), some checker says
//! invalid.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use quorumdb_jepsen::cluster::{FAULT_SWITCHES, find_binary};
use quorumdb_jepsen::runner::{RunConfig, run};

#[derive(Parser, Debug)]
#[command(about = "Jepsen-style chaos tests for QuorumDB on one machine")]
struct Args {
    /// Workloads: bank, register, append, set (comma-separated).
    #[arg(long, default_value = "append")]
    workload: String,
    /// Nemeses: none, kill, kill-majority, kill-all, pause, partition,
    /// partition-one, partition-leader, partition-halves, partition-ring,
    /// partition-bridge, one-way, member, all, or `+`-combinations
    /// (comma-separated for a matrix).
    #[arg(long, default_value = "partition")]
    nemesis: String,
    /// Nodes per cluster (3 or 5).
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Seconds of workload per run (final reads come after).
    #[arg(long, default_value_t = 60)]
    time_limit: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Repeat the matrix this many times (seed, seed+1, ...).
    #[arg(long, default_value_t = 1)]
    runs: u64,
    /// Client workers (default: 2 per node).
    #[arg(long)]
    concurrency: Option<usize>,
    /// Seconds of calm before each fault window.
    #[arg(long, default_value_t = 5)]
    healthy: u64,
    /// Seconds each fault window lasts.
    #[arg(long, default_value_t = 5)]
    faulty: u64,
    /// Client timeout per operation in milliseconds (then `info`).
    #[arg(long, default_value_t = 5000)]
    op_timeout_ms: u64,
    /// Pause between one worker's operations in milliseconds.
    #[arg(long, default_value_t = 10)]
    op_delay_ms: u64,
    /// Time budget of the linearizability checker in seconds.
    #[arg(long, default_value_t = 60)]
    lin_budget: u64,
    /// Let K faults overlap (default 2 when given without a value): each
    /// round, K faults start one after another, each before the previous
    /// one ends, and are undone in random order.
    #[arg(long, num_args = 0..=1, default_missing_value = "2", value_name = "K")]
    overlap: Option<usize>,
    /// Run every node with a test-only switch that breaks it on purpose
    /// (skip-validation, stale-reads, ack-before-sync) and expect the
    /// checkers to say invalid. Needs a binary built with
    /// `--features fault-injection` (--bin or $QUORUMDB_FAULTY_BIN).
    #[arg(long, value_name = "SWITCH")]
    fault_injection: Option<String>,
    /// The quorumdb binary (default: $QUORUMDB_BIN, or next to this one;
    /// with --fault-injection: $QUORUMDB_FAULTY_BIN).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Where the evidence folders go.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/jepsen"))]
    store: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let bin = match &args.fault_injection {
        None => args.bin.clone().or_else(find_binary),
        Some(_) => args
            .bin
            .clone()
            .or_else(|| std::env::var_os("QUORUMDB_FAULTY_BIN").map(PathBuf::from)),
    };
    let Some(bin) = bin else {
        if args.fault_injection.is_some() {
            eprintln!(
                "--fault-injection needs a quorumdb built with the feature: cargo build -p quorumdb-cli \
                 --features fault-injection --target-dir target/fault-injection, then pass --bin \
                 target/fault-injection/debug/quorumdb (or set QUORUMDB_FAULTY_BIN)"
            );
        } else {
            eprintln!(
                "quorumdb binary not found: build it (cargo build -p quorumdb-cli) or pass --bin / QUORUMDB_BIN"
            );
        }
        return ExitCode::from(2);
    };
    if let Some(f) = &args.fault_injection
        && !FAULT_SWITCHES.contains(&f.as_str())
    {
        eprintln!(
            "unknown fault-injection switch {f:?}: one of {}",
            FAULT_SWITCHES.join(", ")
        );
        return ExitCode::from(2);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("tokio runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let (mut passed, mut failed) = (0u32, 0u32);
    for r in 0..args.runs {
        for workload in args.workload.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            for nemesis in args.nemesis.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let cfg = RunConfig {
                    workload: workload.to_string(),
                    nemesis: nemesis.to_string(),
                    nodes: args.nodes,
                    time_limit: Duration::from_secs(args.time_limit),
                    seed: args.seed + r,
                    concurrency: args.concurrency.unwrap_or(2 * args.nodes),
                    healthy: Duration::from_secs(args.healthy),
                    faulty: Duration::from_secs(args.faulty),
                    op_timeout: Duration::from_millis(args.op_timeout_ms),
                    op_delay: Duration::from_millis(args.op_delay_ms),
                    lin_budget: Duration::from_secs(args.lin_budget),
                    bin: bin.clone(),
                    store: args.store.clone(),
                    overlap: args.overlap.unwrap_or(1),
                    fault_injection: args.fault_injection.clone(),
                };
                eprintln!(
                    "== {workload} x {nemesis}{}, {} nodes, seed {}{}",
                    if cfg.overlap >= 2 {
                        format!(" (overlap {})", cfg.overlap)
                    } else {
                        String::new()
                    },
                    cfg.nodes,
                    cfg.seed,
                    cfg.fault_injection
                        .as_ref()
                        .map(|f| format!(", FAULT INJECTION {f} (expecting invalid)"))
                        .unwrap_or_default()
                );
                let outcome = runtime.block_on(async {
                    tokio::select! {
                        r = run(&cfg) => Some(r),
                        _ = tokio::signal::ctrl_c() => None,
                    }
                });
                match outcome {
                    None => {
                        eprintln!("interrupted; cluster stopped");
                        println!("{passed} passed, {} failed", failed + 1);
                        return ExitCode::from(130);
                    }
                    Some(Ok(result)) => {
                        print!("{}", quorumdb_jepsen::report::text(&result));
                        println!("evidence: {}", result.dir.display());
                        if result.passed {
                            passed += 1;
                        } else {
                            failed += 1;
                        }
                    }
                    Some(Err(e)) => {
                        println!("{workload} x {nemesis}: run failed: {e}");
                        failed += 1;
                    }
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
