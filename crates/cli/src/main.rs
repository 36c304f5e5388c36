//! `quorumdb`: one binary for everything a user or operator does.
//!
//! | command | what it does |
//! | --- | --- |
//! | `quorumdb start` | start a node (alone: node 1 of a new single-node cluster) |
//! | `quorumdb demo [--nodes 3]` | a throw-away local cluster and the SQL shell on it |
//! | `quorumdb sql [--url ...] [-e SQL] [-f FILE]` | the SQL shell |
//! | `quorumdb node status [--host G]` | members, roles, term, indexes, lag |
//! | `quorumdb node remove --id N [--host G]` | take node N out of the cluster |
//!
//! Every flag can also come from a `QUORUMDB_*` environment variable (shown
//! in `--help`). Errors are one line on stderr and a non-zero exit code.

mod admin;
mod demo;
mod shell;
mod start;
mod table;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc instead of glibc malloc: a node allocates many small, short-lived
/// buffers per statement, and glibc's allocator cost about 15% of its CPU.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "quorumdb",
    version,
    about = "QuorumDB: a distributed SQL database that speaks PostgreSQL"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a node. With no flags: node 1 of a new single-node cluster in
    /// ./quorumdb-data, SQL on 127.0.0.1:5433, gRPC on 127.0.0.1:7433, HTTP on
    /// 127.0.0.1:8433.
    Start(start::StartArgs),
    /// Run a throw-away local cluster (temporary data) and open the SQL shell
    /// on it. Everything is removed when the shell exits.
    Demo(demo::DemoArgs),
    /// The SQL shell (any PostgreSQL-compatible server).
    Sql(shell::SqlArgs),
    /// Cluster administration.
    #[command(subcommand)]
    Node(admin::NodeCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Start(args) => start::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Sql(args) => shell::run(args),
        Command::Node(command) => admin::run(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("quorumdb: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr; `QUORUMDB_LOG` (or `RUST_LOG`) overrides `default`.
fn init_logging(default: &str) {
    let filter = std::env::var("QUORUMDB_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| default.to_string());
    use std::io::IsTerminal;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .try_init();
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Turns on the test-only fault switches named in `QUORUMDB_FAULT_INJECTION`
/// (see `quorumdb_storage::fault`), loudly. A binary built without the
/// `fault-injection` feature refuses to go on when the variable names one.
fn fault_switches() -> Result<(), BoxError> {
    for switch in quorumdb_storage::fault::activate_from_env()? {
        tracing::error!(
            "FAULT INJECTION ACTIVE: switch {switch}: {}. This node is broken on purpose \
             for the chaos suite; never use it for data you care about.",
            switch.effect()
        );
    }
    Ok(())
}
