//! A thread per connection: each client connection is served, protocol and
//! SQL alike, on an OS thread of its own.
//!
//! The SQL layer is synchronous (a commit blocks until Raft answers), so a
//! statement must not run on the node's shared async runtime. Running the
//! protocol there and handing each statement to another thread costs two
//! thread wake-ups per round trip (runtime → statement thread → runtime):
//! with one statement per client round trip, profiles of the bank workload
//! put those hand-offs at about a tenth of a node's CPU. Instead the
//! accepted socket moves to a new thread that runs a single-threaded tokio
//! runtime of its own, driving that one connection: pgwire's codec, the
//! handlers, and the statements themselves, inline. A statement may block
//! its thread (waiting for a read index or a commit, which are served by
//! the node's shared runtime): the only task it holds up is its own
//! connection's, as in PostgreSQL's process per connection.
//!
//! Invariants: everything a connection's handlers do runs on its thread
//! (so `handler` and `auth` call the engine directly); the listener's task
//! for the connection lives exactly as long as the thread serves it, so
//! the server's connection limit bounds threads; dropping that task (server
//! shutdown after its grace period) closes the connection, which rolls
//! back its open transaction. If no thread can be started (the process is
//! out of threads or memory), the client gets FATAL 53300 and the node
//! carries on.
//!
//! Not here: a cap on threads of its own (the connection limit is it), or
//! pooling of idle connections' threads.

use std::future::Future;
use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio::sync::oneshot;

/// Serves `socket` on a new thread with `serve(socket)` and returns when
/// that thread is done with it. Dropping the returned future closes the
/// connection: `interrupt` is called at once (to stop a running statement),
/// and the thread drops `serve`'s future at its next await point and ends.
///
/// Returns the socket back when no thread could be started, so the caller
/// can refuse the client properly.
pub async fn serve_on_own_thread<F, Fut>(
    socket: TcpStream,
    peer: SocketAddr,
    serve: F,
    interrupt: impl FnOnce(),
) -> Option<TcpStream>
where
    F: FnOnce(TcpStream) -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    // The socket is registered with the shared runtime's reactor; it has to
    // leave it before the connection's own runtime can take it.
    let std_socket = match socket.into_std() {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(%peer, error = %e, "pgwire: cannot hand the connection to its thread");
            return None;
        }
    };
    // Kept until the thread is running, to answer the client if it is not.
    let spare = std_socket.try_clone().ok();
    // `_stop` is never sent on: `stopped` resolves when this future is
    // dropped.
    let (_stop, stopped) = oneshot::channel::<()>();
    let (finished, done) = oneshot::channel::<()>();
    let started = std::thread::Builder::new()
        .name("quorumdb-conn".into())
        // Statements run below the runtime's and pgwire's frames here, and
        // an overflow would abort the process: the SQL layer's depth limits
        // were sized for a bare 2 MiB thread.
        .stack_size(CONN_STACK)
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::warn!(%peer, error = %e, "pgwire: cannot start a connection's runtime");
                    refuse_blocking(std_socket);
                    return;
                }
            };
            runtime.block_on(async move {
                match TcpStream::from_std(std_socket) {
                    Ok(socket) => tokio::select! {
                        () = serve(socket) => {}
                        _ = stopped => tracing::debug!(%peer, "pgwire: connection closed by shutdown"),
                    },
                    Err(e) => tracing::warn!(%peer, error = %e, "pgwire: cannot register the connection"),
                }
            });
            // The connection, and with it its session, is gone by now.
            drop(runtime);
            let _ = finished.send(());
        });
    match started {
        Ok(_) => {
            drop(spare);
            let mut abandoned = OnDrop(Some(interrupt));
            let _ = done.await;
            abandoned.0 = None;
            None
        }
        Err(e) => {
            tracing::warn!(%peer, error = %e, "pgwire: cannot start a connection thread");
            spare.and_then(|s| TcpStream::from_std(s).ok())
        }
    }
}

/// Stack size of a connection's thread.
const CONN_STACK: usize = 8 << 20;

/// Calls its function when dropped, unless disarmed (`.0 = None`).
struct OnDrop<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        if let Some(f) = self.0.take() {
            f();
        }
    }
}

/// FATAL 53300 on a socket, from a thread that may block (briefly).
fn refuse_blocking(socket: std::net::TcpStream) {
    use std::io::Write;
    let _ = socket.set_nonblocking(false);
    let _ = socket.set_write_timeout(Some(std::time::Duration::from_secs(1)));
    let _ = (&socket).write_all(&super::refusal("could not start a thread for this connection"));
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_connection_is_served_on_its_own_thread_until_done_or_dropped() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The client sends a byte; the server answers with its thread's name.
        let client = std::thread::spawn(move || {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.write_all(b"x").unwrap();
            let mut reply = Vec::new();
            c.read_to_end(&mut reply).unwrap();
            reply
        });
        let (socket, peer) = listener.accept().await.unwrap();
        let refused = serve_on_own_thread(
            socket,
            peer,
            |mut socket| async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let mut b = [0u8; 1];
                socket.read_exact(&mut b).await.unwrap();
                // Blocking here holds up nobody else.
                std::thread::sleep(std::time::Duration::from_millis(10));
                let name = std::thread::current().name().unwrap_or_default().to_string();
                socket.write_all(name.as_bytes()).await.unwrap();
            },
            || panic!("not abandoned"),
        )
        .await;
        assert!(refused.is_none());
        assert_eq!(client.join().unwrap(), b"quorumdb-conn");

        // Dropping the listener's future interrupts a connection busy in a
        // (blocking) statement, and closes it once that returns (at its
        // next await).
        let client = std::thread::spawn(move || {
            let mut c = std::net::TcpStream::connect(addr).unwrap();
            c.set_read_timeout(Some(std::time::Duration::from_secs(30)))
                .unwrap();
            let mut reply = Vec::new();
            // The server closes after its statement was interrupted.
            c.read_to_end(&mut reply).map(|_| reply)
        });
        let (socket, peer) = listener.accept().await.unwrap();
        let tripped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (seen, trip) = (tripped.clone(), tripped.clone());
        let (running, statement_started) = std::sync::mpsc::channel();
        let (ended, statement_ended) = std::sync::mpsc::channel();
        let serving = serve_on_own_thread(
            socket,
            peer,
            move |mut socket: TcpStream| async move {
                use tokio::io::AsyncWriteExt;
                running.send(()).unwrap();
                // A statement that runs until interrupted.
                while !seen.load(std::sync::atomic::Ordering::SeqCst) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                ended.send(()).unwrap();
                // Its error reply may or may not go out before the close.
                let _ = socket.write_all(b"57014").await;
                std::future::pending::<()>().await
            },
            move || trip.store(true, std::sync::atomic::Ordering::SeqCst),
        );
        // Drop the listener's future while the statement runs.
        let started = async {
            while statement_started.try_recv().is_err() {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        };
        tokio::select! {
            _ = serving => panic!("the connection ended by itself"),
            () = started => {}
        }
        assert!(tripped.load(std::sync::atomic::Ordering::SeqCst));
        statement_ended
            .recv_timeout(std::time::Duration::from_secs(30))
            .expect("the statement saw the interrupt");
        let reply = client
            .join()
            .unwrap()
            .expect("the connection is closed, not left open");
        assert!(reply.is_empty() || reply == b"57014", "{reply:?}");
    }
}
