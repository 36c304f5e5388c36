//! The PostgreSQL wire protocol endpoint.
//!
//! [`serve`] accepts connections on a listener and speaks protocol 3.0 to
//! each through the `pgwire` crate:
//!
//! ```text
//!  TcpListener ─accept─► [tls: SSLRequest → S + handshake | N]
//!                        per connection: Handlers
//!                          ├─ auth::ConnStartup    (users from the catalog; trust / SCRAM-SHA-256,
//!                          │                        ParameterStatus, cancel key registration)
//!                          ├─ handler::ConnHandler (simple + extended query → Session)
//!                          │     ├─ compat  (SET/SHOW/RESET, version(), current_user, ...)
//!                          │     ├─ pg_catalog (psql's \d, \dt, \di, \l answered from the catalog)
//!                          │     ├─ infer   ($n types when the client sends no OIDs)
//!                          │     └─ codec   (text/binary values)
//!                          ├─ copy         (COPY FROM STDIN / TO STDOUT, text and CSV)
//!                          ├─ split        (statements of a simple query, error positions)
//!                          └─ cancel       (CancelRequest → the session's Interrupt, 57014)
//! ```
//!
//! Invariants:
//! - Each connection owns one [`quorumdb_sql::Session`] and is served,
//!   protocol and statements, on a thread of its own (`conn_thread`), so a
//!   slow commit (Raft) blocks neither the node's runtime nor other
//!   sessions.
//! - A client that disconnects mid-transaction has its transaction rolled
//!   back (the session is dropped with the connection).
//! - Bytes from the network never panic the server: malformed messages end
//!   that connection only (pgwire's codec), handler code has no unwraps on
//!   client input, and a connection task that fails is logged and dropped.
//! - When `shutdown` becomes `true`, the listener stops accepting; open
//!   connections get [`PgConfig::shutdown_grace`] to finish, then are closed
//!   (closing rolls back their open transactions). Meanwhile a statement
//!   outside a transaction block is not run: it ends its connection with
//!   FATAL 57P01 (`admin_shutdown`), so only open transactions finish.
//!
//! Deliberately not here: binary COPY, general pg_catalog emulation,
//! table privileges.

pub mod auth;
pub mod cancel;
mod codec;
mod compat;
mod conn_thread;
mod copy;
mod deferred;
mod handler;
mod infer;
mod pg_catalog;
mod split;
pub mod tls;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use ::pgwire::api::PgWireServerHandlers;
use ::pgwire::api::auth::StartupHandler;
use ::pgwire::api::cancel::CancelHandler;
use ::pgwire::api::copy::CopyHandler;
use ::pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use quorumdb_storage::KvStore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

pub use auth::AuthMode;
pub use tls::{TlsConfig, TlsError};

/// Configuration of the SQL endpoint.
#[derive(Clone, Debug)]
pub struct PgConfig {
    /// How clients authenticate (default: trust loopback, SCRAM otherwise).
    /// Users and their passwords are in the SQL catalog (`CREATE USER`).
    pub auth: AuthMode,
    /// TLS certificate and key; `None`: SSLRequest is answered `N`.
    pub tls: Option<TlsConfig>,
    /// How long open connections may continue after shutdown is requested.
    pub shutdown_grace: Duration,
    /// Connections beyond this many are refused with 53300.
    pub max_connections: usize,
    /// Longest accepted query string in bytes (longer: 54000).
    pub max_query_bytes: usize,
}

impl Default for PgConfig {
    fn default() -> Self {
        Self {
            auth: AuthMode::default(),
            tls: None,
            shutdown_grace: Duration::from_secs(5),
            max_connections: 1000,
            max_query_bytes: 16 << 20,
        }
    }
}

/// The handlers of one connection.
struct Handlers {
    startup: Arc<auth::ConnStartup>,
    query: Arc<handler::ConnHandler>,
    cancels: Arc<cancel::CancelRegistry>,
}

impl PgWireServerHandlers for Handlers {
    fn simple_query_handler(&self) -> Arc<impl SimpleQueryHandler> {
        self.query.clone()
    }

    fn extended_query_handler(&self) -> Arc<impl ExtendedQueryHandler> {
        self.query.clone()
    }

    fn startup_handler(&self) -> Arc<impl StartupHandler> {
        self.startup.clone()
    }

    fn copy_handler(&self) -> Arc<impl CopyHandler> {
        self.query.clone()
    }

    fn cancel_handler(&self) -> Arc<impl CancelHandler> {
        self.cancels.clone()
    }
}

/// Serves the PostgreSQL protocol on `listener` until `shutdown` is true
/// (or its sender is dropped). Returns once every connection has closed.
///
/// Errors: only a fatal listener error is returned; per-connection errors
/// (garbage bytes, resets, auth failures) are logged and end that
/// connection alone.
pub async fn serve(
    listener: TcpListener,
    store: KvStore,
    config: PgConfig,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let local = listener.local_addr().ok();
    tracing::info!(addr = ?local, auth = ?config.auth, tls = config.tls.is_some(), "pgwire: listening");
    let cancels = Arc::new(cancel::CancelRegistry::new());
    let startup = Arc::new(auth::QdbStartup::new(
        store.clone(),
        config.auth,
        cancels.clone(),
        config.tls.as_ref().map(TlsConfig::cert_pem),
    ));
    let acceptor = config.tls.as_ref().map(TlsConfig::acceptor);
    // One per node: its sessions hand out sequence values from shared
    // blocks, so values taken on this node increase in call order.
    let sequences = quorumdb_sql::sequence::SequenceCache::new();
    let mut conns: JoinSet<()> = JoinSet::new();
    loop {
        if *shutdown.borrow() {
            break;
        }
        tokio::select! {
            changed = shutdown.changed() => {
                if changed.is_err() || *shutdown.borrow() {
                    break;
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            accepted = listener.accept() => {
                let (socket, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "pgwire: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                if conns.len() >= config.max_connections {
                    tracing::warn!(%peer, "pgwire: too many connections");
                    conns.spawn(refuse(socket, "sorry, too many clients already"));
                    continue;
                }
                let _ = socket.set_nodelay(true);
                let query = Arc::new(handler::ConnHandler::new(
                    store.clone(),
                    sequences.clone(),
                    config.max_query_bytes,
                    shutdown.clone(),
                ));
                let handlers = Handlers {
                    startup: Arc::new(auth::ConnStartup::new(startup.clone(), query.interrupt())),
                    query,
                    cancels: cancels.clone(),
                };
                let tls = acceptor.clone();
                let interrupt = handlers.query.interrupt();
                conns.spawn(async move {
                    let serve = move |socket| connection(socket, peer, tls, handlers);
                    // Closed by shutdown: a running statement stops first.
                    let stop = move || interrupt.trip();
                    if let Some(socket) = conn_thread::serve_on_own_thread(socket, peer, serve, stop).await {
                        refuse(socket, "could not start a thread for this connection").await;
                    }
                });
            }
        }
    }
    drop(listener);
    tracing::info!(open = conns.len(), "pgwire: shutting down");
    let drain = async { while conns.join_next().await.is_some() {} };
    if tokio::time::timeout(config.shutdown_grace, drain).await.is_err() {
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
    Ok(())
}

async fn connection(
    socket: tokio::net::TcpStream,
    peer: SocketAddr,
    tls: Option<::pgwire::tokio::TlsAcceptor>,
    handlers: Handlers,
) {
    tracing::debug!(%peer, "pgwire: connection opened");
    if let Err(e) = ::pgwire::tokio::process_socket(socket, tls, handlers).await {
        tracing::debug!(%peer, error = %e, "pgwire: connection ended with an error");
    }
    tracing::debug!(%peer, "pgwire: connection closed");
}

/// A FATAL 53300 ErrorResponse saying `message`.
fn refusal(message: &str) -> Vec<u8> {
    let mut fields = b"SFATAL\0VFATAL\0C53300\0M".to_vec();
    fields.extend_from_slice(message.as_bytes());
    fields.extend_from_slice(b"\0\0");
    let mut buf = Vec::with_capacity(fields.len() + 5);
    buf.push(b'E');
    buf.extend_from_slice(&((fields.len() + 4) as u32).to_be_bytes());
    buf.extend_from_slice(&fields);
    buf
}

/// Answers a connection the server cannot take (over the limit, or no
/// thread for it) with FATAL 53300 and closes it.
async fn refuse(mut socket: tokio::net::TcpStream, message: &str) {
    use tokio::io::AsyncWriteExt;
    let _ = tokio::time::timeout(Duration::from_secs(1), socket.write_all(&refusal(message))).await;
}
