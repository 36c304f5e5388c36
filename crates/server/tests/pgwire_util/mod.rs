//! Shared helpers for the pgwire integration tests: an in-process server
//! on 127.0.0.1:0 over a memory store, and client connections to it.
//!
//! Invariant: every helper waits with a generous timeout and polls; none
//! sleeps to synchronise.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quorumdb_server::pgwire::{PgConfig, serve};
use quorumdb_storage::{Engine, KvStore, MemoryEngine};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub const TIMEOUT: Duration = Duration::from_secs(20);

pub struct TestServer {
    pub addr: SocketAddr,
    pub shutdown: watch::Sender<bool>,
    pub handle: JoinHandle<std::io::Result<()>>,
}

impl TestServer {
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

pub fn memory_store() -> KvStore {
    KvStore::local(Arc::new(MemoryEngine::new()) as Arc<dyn Engine>).expect("store")
}

pub async fn start(config: PgConfig) -> TestServer {
    start_on(memory_store(), config).await
}

/// A server over `store` (prepared beforehand, e.g. with users).
pub async fn start_on(store: KvStore, config: PgConfig) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = watch::channel(false);
    let handle = tokio::spawn(serve(listener, store, config, rx));
    TestServer {
        addr,
        shutdown: tx,
        handle,
    }
}

pub async fn start_default() -> TestServer {
    start(PgConfig::default()).await
}

pub fn config(server: &TestServer, user: &str) -> tokio_postgres::Config {
    let mut c = tokio_postgres::Config::new();
    c.host("127.0.0.1")
        .port(server.port())
        .user(user)
        .dbname("qdb")
        .connect_timeout(TIMEOUT);
    c
}

pub async fn connect(server: &TestServer) -> tokio_postgres::Client {
    connect_as(server, "root").await
}

pub async fn connect_as(server: &TestServer, user: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio::time::timeout(TIMEOUT, config(server, user).connect(tokio_postgres::NoTls))
        .await
        .expect("connect timed out")
        .expect("connect");
    tokio::spawn(conn);
    client
}

/// The SQLSTATE of a tokio-postgres error.
pub fn sqlstate(e: &tokio_postgres::Error) -> String {
    e.code()
        .map(|c| c.code().to_owned())
        .unwrap_or_else(|| format!("no sqlstate: {e:?}"))
}

/// Reads one backend message from a raw protocol connection: its tag and
/// body. Panics (failing the test) after `timeout` or on a closed socket.
pub async fn read_message(s: &mut tokio::net::TcpStream, timeout: Duration) -> (u8, Vec<u8>) {
    use tokio::io::AsyncReadExt;
    let mut head = [0u8; 5];
    tokio::time::timeout(timeout, s.read_exact(&mut head))
        .await
        .expect("read timed out")
        .expect("read");
    let len = i32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize - 4;
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).await.expect("read body");
    (head[0], body)
}

/// Reads messages up to and including one tagged `tag`; returns all.
pub async fn read_until(s: &mut tokio::net::TcpStream, tag: u8, timeout: Duration) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    loop {
        let m = read_message(s, timeout).await;
        let done = m.0 == tag;
        out.push(m);
        if done {
            return out;
        }
    }
}
