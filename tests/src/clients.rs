//! The client-driver matrix (`tests/clients/`): psycopg 3, psycopg2,
//! asyncpg, SQLAlchemy core, node-postgres and pgjdbc, each run as a child
//! process against a server's SQL port. Each client checks DDL, every
//! supported type round-tripping with parameters (NULLs, text and binary
//! where the driver lets us choose), commit and rollback, SQLSTATE 23505
//! and a prepared statement reused 10 times, and prints `PASS <name>`.
//!
//! Used by `crates/server/tests/clients.rs` (an in-process server) and
//! `crates/cli/tests/cluster_clients.rs` (a follower of a 3-node cluster).
//!
//! A missing runtime or driver is an error naming the command that installs
//! it (`bash tests/clients/install.sh` installs them all), unless
//! `QUORUMDB_SKIP_CLIENTS` names the client (comma or space separated, or
//! `all`): then [`skipped`] is true and the caller says so plainly.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Longest a client may run (the JVM compiles the Java source first).
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(180);

pub const INSTALL_ALL: &str = "bash tests/clients/install.sh";

pub fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("clients")
}

/// True when `QUORUMDB_SKIP_CLIENTS` names `name` (or `all`).
pub fn skipped(name: &str) -> bool {
    let list = std::env::var("QUORUMDB_SKIP_CLIENTS").unwrap_or_default();
    list.split([',', ' '])
        .map(str::trim)
        .any(|s| s.eq_ignore_ascii_case(name) || s.eq_ignore_ascii_case("all"))
}

/// Runs `program args` quietly; true if it exits 0.
fn succeeds(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// One external client of the matrix.
#[derive(Clone, Copy)]
pub struct Client {
    pub name: &'static str,
    /// `Err(install command)` when its runtime or driver is missing.
    pub available: fn() -> Result<(), String>,
    /// Program and arguments (the port is appended).
    pub command: fn() -> (String, Vec<String>),
}

fn python_module(module: &str, pip: &str) -> Result<(), String> {
    if !succeeds("python3", &["--version"]) {
        return Err(format!(
            "python3 is missing: apt-get install -y python3 python3-pip, then {INSTALL_ALL}"
        ));
    }
    if !succeeds("python3", &["-c", &format!("import {module}")]) {
        return Err(format!(
            "Python module {module} is missing: python3 -m pip install {pip} (or {INSTALL_ALL})"
        ));
    }
    Ok(())
}

fn python_script(script: &str) -> (String, Vec<String>) {
    let path = clients_dir().join("python").join(script);
    ("python3".into(), vec![path.display().to_string()])
}

fn node_available() -> Result<(), String> {
    if !succeeds("node", &["--version"]) {
        return Err(format!(
            "node is missing: apt-get install -y nodejs npm, then {INSTALL_ALL}"
        ));
    }
    if !clients_dir().join("node/node_modules/pg/package.json").exists() {
        return Err(format!(
            "node-postgres is missing: (cd tests/clients/node && npm install) (or {INSTALL_ALL})"
        ));
    }
    Ok(())
}

const JDBC_JAR: &str = "/usr/share/java/postgresql.jar";

fn jdbc_available() -> Result<(), String> {
    if !succeeds("java", &["-version"]) {
        return Err(format!(
            "java is missing: apt-get install -y default-jdk-headless (or {INSTALL_ALL})"
        ));
    }
    if !Path::new(JDBC_JAR).exists() {
        return Err(format!(
            "pgjdbc is missing ({JDBC_JAR}): apt-get install -y libpostgresql-jdbc-java (or {INSTALL_ALL})"
        ));
    }
    Ok(())
}

pub const PSYCOPG3: Client = Client {
    name: "psycopg3",
    available: || python_module("psycopg", "'psycopg[binary]'"),
    command: || python_script("psycopg3_client.py"),
};

pub const PSYCOPG2: Client = Client {
    name: "psycopg2",
    available: || python_module("psycopg2", "psycopg2-binary"),
    command: || python_script("psycopg2_client.py"),
};

pub const ASYNCPG: Client = Client {
    name: "asyncpg",
    available: || python_module("asyncpg", "asyncpg"),
    command: || python_script("asyncpg_client.py"),
};

pub const SQLALCHEMY: Client = Client {
    name: "sqlalchemy",
    // Its checks go through both the psycopg2 and the psycopg dialects.
    available: || {
        python_module("sqlalchemy", "sqlalchemy")?;
        python_module("psycopg2", "psycopg2-binary")?;
        python_module("psycopg", "'psycopg[binary]'")
    },
    command: || python_script("sqlalchemy_client.py"),
};

pub const NODE_POSTGRES: Client = Client {
    name: "node-postgres",
    available: node_available,
    command: || {
        let script = clients_dir().join("node/client.js");
        ("node".into(), vec![script.display().to_string()])
    },
};

pub const PGJDBC: Client = Client {
    name: "pgjdbc",
    available: jdbc_available,
    // Java's single-file source launcher: no build step, no .class files.
    command: || {
        let source = clients_dir().join("java/ClientCheck.java");
        (
            "java".into(),
            vec!["-cp".into(), JDBC_JAR.into(), source.display().to_string()],
        )
    },
};

/// Every external client.
pub const ALL: &[Client] = &[PSYCOPG3, PSYCOPG2, ASYNCPG, SQLALCHEMY, NODE_POSTGRES, PGJDBC];

/// Runs `client` against the server on 127.0.0.1:`port`: its `PASS` line,
/// or why it failed (including a missing driver and how to install it).
pub async fn run(client: &Client, port: u16) -> Result<String, String> {
    if let Err(install) = (client.available)() {
        return Err(format!(
            "client {} cannot run: {install}\n(set QUORUMDB_SKIP_CLIENTS={} to skip it)",
            client.name, client.name
        ));
    }
    let port = port.to_string();
    let (program, mut args) = (client.command)();
    args.push(port.clone());
    let child = tokio::process::Command::new(&program)
        .args(&args)
        .current_dir(clients_dir())
        .env("QUORUMDB_PORT", &port)
        .env("TZ", "UTC")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PGPASSWORD")
        .env_remove("PGSERVICE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("client {}: cannot run {program}: {e}", client.name))?;
    let out = tokio::time::timeout(CLIENT_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| format!("client {} timed out after {CLIENT_TIMEOUT:?}", client.name))?
        .map_err(|e| format!("client {}: {e}", client.name))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let pass = stdout
        .lines()
        .find(|l| l.starts_with(&format!("PASS {}", client.name)));
    match pass {
        Some(line) if out.status.success() => Ok(line.to_string()),
        _ => Err(format!(
            "client {} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            client.name, out.status
        )),
    }
}
