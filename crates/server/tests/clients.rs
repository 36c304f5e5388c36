//! The client-driver matrix (tests/clients/, run by
//! `quorumdb_tests::clients`): psycopg 3, psycopg2, asyncpg, SQLAlchemy
//! core, node-postgres and pgjdbc, each run as a child process against an
//! in-process server on a free loopback port. Each client checks DDL, every
//! supported type round-tripping with parameters (NULLs, text and binary
//! where the driver lets us choose), commit and rollback, SQLSTATE 23505
//! and a prepared statement reused 10 times, and prints `PASS <name>` (psql
//! and tokio-postgres have their own tests). The same clients run against
//! a follower of a 3-node cluster in `crates/cli/tests/cluster_clients.rs`.
//!
//! A missing runtime or driver FAILS the test with the command that
//! installs it (`bash tests/clients/install.sh` installs them all), unless
//! `QUORUMDB_SKIP_CLIENTS` names the client (comma or space separated, or
//! `all`), in which case the test says plainly that it skipped it.

mod pgwire_util;

use pgwire_util::*;
use quorumdb_tests::clients::{self, Client};

/// Starts a server, runs the client against it, asserts it passed.
async fn run_client(client: Client) {
    if clients::skipped(client.name) {
        println!("SKIPPED client {}: listed in QUORUMDB_SKIP_CLIENTS", client.name);
        return;
    }
    let server = start_default().await;
    let result = clients::run(&client, server.port()).await;
    let _ = server.shutdown.send(true);
    match result {
        Ok(pass) => println!("{pass}"),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_psycopg3() {
    run_client(clients::PSYCOPG3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_psycopg2() {
    run_client(clients::PSYCOPG2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_asyncpg() {
    run_client(clients::ASYNCPG).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_sqlalchemy() {
    run_client(clients::SQLALCHEMY).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_node_postgres() {
    run_client(clients::NODE_POSTGRES).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_pgjdbc() {
    run_client(clients::PGJDBC).await;
}
