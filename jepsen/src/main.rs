//! `quorumdb-jepsen`: run chaos tests against real local QuorumDB clusters.
//!
//! `--workload` and `--nemesis` take comma-separated lists and run their
//! product (a matrix); `--runs` repeats it with seeds `seed, seed+1, ...`.
//! Prints each run's verdicts and the evidence folder, then a closing line
//! `N passed, N failed`; exits 0 only when every checker of every run says
//! valid.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use quorumdb_jepsen::cluster::find_binary;
use quorumdb_jepsen::runner::{RunConfig, run};

#[derive(Parser, Debug)]
#[command(about = "Jepsen-style chaos tests for QuorumDB on one machine")]
struct Args {
    /// Workloads: bank, register, append, set (comma-separated).
    #[arg(long, default_value = "append")]
    workload: String,
    /// Nemeses: none, kill, pause, partition, partition-one, partition-leader,
    /// partition-halves, partition-ring, partition-bridge, one-way, member,
    /// all, or `+`-combinations (comma-separated for a matrix).
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
    /// The quorumdb binary (default: $QUORUMDB_BIN, or next to this one).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Where the evidence folders go.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/jepsen"))]
    store: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let Some(bin) = args.bin.clone().or_else(find_binary) else {
        eprintln!(
            "quorumdb binary not found: build it (cargo build -p quorumdb-cli) or pass --bin / QUORUMDB_BIN"
        );
        return ExitCode::from(2);
    };
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
                };
                eprintln!(
                    "== {workload} x {nemesis}, {} nodes, seed {}",
                    cfg.nodes, cfg.seed
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
                        if result.valid {
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
