//! Forwarding commits, and read-index requests, from a follower to the
//! leader over one gRPC stream.
//!
//! A unary call per forwarded commit costs a new HTTP/2 stream each time
//! (headers both ways, trailers, a server task per request), and on a
//! CPU-bound cluster that was a large share of a follower's work. Instead a
//! follower keeps one `CommitStream` open to the leader: each commit is a
//! message with an id, each reply names the id it answers, and commits that
//! are ready at the same moment share socket writes. A follower's request
//! for a read index (one per batch of transactions starting there) rides
//! the same stream, for the same reason; a leader that answers one without
//! a read index (a version from before) gets unary `ReadIndex` calls from
//! then on.
//!
//! **Outcomes stay exact.** A commit is *sent* once it is queued on an open
//! stream. Anything that goes wrong before that (no stream could be opened,
//! the stream had already broken) means nothing was sent, and the caller
//! falls back to a unary `Commit`, whose errors are mapped as before. Once
//! sent, only the leader's reply says what happened; if the stream breaks or
//! no reply comes within [`COMMIT_TIMEOUT`], the outcome is `Unknown`, never
//! a retry. A read-index request has no outcome to protect: any failure is
//! an error its caller may retry.
//!
//! **Lifecycle.** The stream is opened on first use and replaced when the
//! leader changes, when it breaks, or after one of its commits timed out (a
//! connection can die silently). A replaced stream is not cut: commits
//! already on it still get their replies, or time out on their own. After a
//! failed open, commits go unary for a second before the next attempt, so
//! they never queue behind one another's attempts.
//!
//! Known limits: without HTTP/2 keepalive, the reply reader of a stream
//! whose connection died silently waits until the connection errors; and
//! the leader runs every commit a stream sends (a follower sends at most
//! one per client session at a time).
//!
//! What it does not do: batch commits into fewer messages (holding a commit
//! back until the previous batch returns would cost it a Raft round, see
//! `commit_batch.rs`), or forward anything but commits and read-index
//! requests.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};

use crate::admin::{self, COMMIT_TIMEOUT, ForwardResult};
use crate::network::Channels;
use crate::pb::admin::{StreamedCommit, StreamedCommitReply};
use crate::types::{Node, NodeId};

/// The follower's side: at most one live stream, to the leader it last used.
#[derive(Default)]
pub struct Forwarder {
    slot: tokio::sync::Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    stream: Option<Arc<CommitStream>>,
    /// When opening a stream last failed: for [`RETRY_OPEN_AFTER`] after
    /// that, commits go unary at once instead of queueing behind new
    /// attempts.
    open_failed: Option<Instant>,
}

/// How long opening a stream may take (the connection itself has a 1 s
/// connect timeout).
const OPEN_TIMEOUT: Duration = Duration::from_secs(1);
/// How long after a failed open commits skip the stream.
const RETRY_OPEN_AFTER: Duration = Duration::from_secs(1);

/// What a message sent on a stream gets: the leader's reply, or why none
/// will come.
type Answer = Result<StreamedCommitReply, String>;

/// Messages sent on a stream and not yet answered; `None` once the stream
/// broke (then nothing more may be registered on it).
type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<Answer>>>>>;

/// One open `CommitStream` to `leader`. Dropping the last handle ends the
/// request side; the leader then answers what it has and closes.
struct CommitStream {
    leader: NodeId,
    sender: mpsc::UnboundedSender<StreamedCommit>,
    pending: Pending,
    /// Set when a commit on it timed out: new commits go to a new stream,
    /// while those already on this one still wait for their own answers.
    retired: AtomicBool,
    /// Set when the leader answered a read-index request without a read
    /// index (a version from before they rode the stream): later requests
    /// take the unary call.
    no_read_index: AtomicBool,
    /// Ids of the messages sent on it.
    next_id: AtomicU64,
}

impl CommitStream {
    fn usable(&self) -> bool {
        !self.retired.load(Ordering::Relaxed)
            && self.pending.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

/// Marks a stream broken and answers everything still waiting on it.
fn break_with(pending: &Pending, why: &str) {
    let waiting = pending.lock().unwrap_or_else(|e| e.into_inner()).take();
    for (_, waiter) in waiting.into_iter().flatten() {
        let _ = waiter.send(Err(why.to_string()));
    }
}

impl Forwarder {
    /// Sends `commit` (postcard bytes) to `leader` and waits for its outcome.
    /// `None` means it was not sent: the caller should use a unary `Commit`.
    pub async fn forward(
        &self,
        channels: &Channels,
        leader: NodeId,
        node: &Node,
        commit: &[u8],
    ) -> Option<ForwardResult> {
        let stream = self.stream_to(channels, leader, node).await?;
        let message = StreamedCommit {
            id: 0,
            commit: commit.to_vec().into(),
            read_index: false,
        };
        Some(match Self::call(&stream, message).await? {
            Ok(reply) => postcard::from_bytes(&reply.result).unwrap_or_else(|e| {
                ForwardResult::Unknown(format!("undecodable reply from the leader: {e}"))
            }),
            Err(why) => ForwardResult::Unknown(why),
        })
    }

    /// Asks `leader` for its read index over the stream (what the unary
    /// `ReadIndex` returns). `None` means it was not sent: the caller should
    /// use the unary call.
    pub async fn read_index(
        &self,
        channels: &Channels,
        leader: NodeId,
        node: &Node,
    ) -> Option<Result<u64, String>> {
        let stream = self.stream_to(channels, leader, node).await?;
        if stream.no_read_index.load(Ordering::Relaxed) {
            return None;
        }
        let message = StreamedCommit {
            id: 0,
            commit: Default::default(),
            read_index: true,
        };
        Some(match Self::call(&stream, message).await? {
            Ok(StreamedCommitReply {
                read_index: Some(reply),
                ..
            }) if reply.error.is_empty() => Ok(reply.index),
            Ok(StreamedCommitReply {
                read_index: Some(reply),
                ..
            }) => Err(reply.error),
            Ok(_) => {
                tracing::info!(
                    leader,
                    "the leader does not answer read indexes on its commit stream"
                );
                stream.no_read_index.store(true, Ordering::Relaxed);
                return None;
            }
            Err(why) => Err(why),
        })
    }

    /// Sends `message` (its id is set here) on `stream` and waits for the
    /// reply. `None`: it was not sent; `Some(Err)`: it was sent, and no reply
    /// will come.
    async fn call(stream: &CommitStream, mut message: StreamedCommit) -> Option<Answer> {
        let id = stream.next_id.fetch_add(1, Ordering::Relaxed);
        message.id = id;
        let (tx, rx) = oneshot::channel();
        {
            let mut pending = stream.pending.lock().unwrap_or_else(|e| e.into_inner());
            // Broken since we looked: nothing was sent.
            let waiting = pending.as_mut()?;
            waiting.insert(id, tx);
            if stream.sender.send(message).is_err() {
                // The request side is gone: the message never left.
                waiting.remove(&id);
                stream.retired.store(true, Ordering::Relaxed);
                return None;
            }
        }
        match tokio::time::timeout(COMMIT_TIMEOUT, rx).await {
            Ok(Ok(answer)) => Some(answer),
            Ok(Err(_)) => Some(Err(
                "the commit stream to the leader closed without an answer".into()
            )),
            Err(_) => {
                // The connection may have died silently: later messages get
                // a fresh stream.
                stream.retired.store(true, Ordering::Relaxed);
                if let Some(waiting) = stream.pending.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                    waiting.remove(&id);
                }
                Some(Err(format!(
                    "no answer from leader {} within {COMMIT_TIMEOUT:?}",
                    stream.leader
                )))
            }
        }
    }

    /// The open stream to `leader`, opening one if needed; `None` if none
    /// could be opened.
    async fn stream_to(&self, channels: &Channels, leader: NodeId, node: &Node) -> Option<Arc<CommitStream>> {
        let mut slot = self.slot.lock().await;
        if let Some(stream) = slot.stream.as_ref()
            && stream.leader == leader
            && stream.usable()
        {
            return Some(stream.clone());
        }
        if slot.open_failed.is_some_and(|at| at.elapsed() < RETRY_OPEN_AFTER) {
            return None;
        }
        // Held while opening: concurrent commits wait for this attempt (at
        // most OPEN_TIMEOUT) rather than each opening a stream of its own.
        match Self::open(channels, leader, node).await {
            Some(stream) => {
                *slot = Slot {
                    stream: Some(stream.clone()),
                    open_failed: None,
                };
                Some(stream)
            }
            None => {
                *slot = Slot {
                    stream: None,
                    open_failed: Some(Instant::now()),
                };
                None
            }
        }
    }

    async fn open(channels: &Channels, leader: NodeId, node: &Node) -> Option<Arc<CommitStream>> {
        let mut client = admin::client(channels, leader, node).ok()?;
        let (sender, requests) = mpsc::unbounded_channel();
        let requests = tokio_stream::wrappers::UnboundedReceiverStream::new(requests);
        let call = tokio::time::timeout(OPEN_TIMEOUT, client.commit_stream(requests));
        let mut replies = match call.await {
            Ok(Ok(response)) => response.into_inner(),
            Ok(Err(status)) => {
                tracing::debug!(leader, %status, "cannot open a commit stream; using unary commits");
                return None;
            }
            Err(_) => {
                tracing::debug!(leader, "opening a commit stream timed out; using unary commits");
                return None;
            }
        };
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));
        let reader = pending.clone();
        tokio::spawn(async move {
            loop {
                match replies.message().await {
                    Ok(Some(reply)) => {
                        let waiter = reader
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .as_mut()
                            .and_then(|waiting| waiting.remove(&reply.id));
                        if let Some(waiter) = waiter {
                            let _ = waiter.send(Ok(reply));
                        }
                    }
                    Ok(None) => return break_with(&reader, "the leader closed the commit stream"),
                    Err(status) => {
                        return break_with(&reader, &format!("leader {leader}: {}", status.message()));
                    }
                }
            }
        });
        let stream = Arc::new(CommitStream {
            leader,
            sender,
            pending,
            retired: AtomicBool::new(false),
            no_read_index: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
        });
        Some(stream)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use crate::pb::admin::admin_server::{Admin, AdminServer};
    use crate::pb::admin::*;

    use super::*;

    /// A leader from before read indexes rode the commit stream: it takes
    /// every stream message for a commit (and cannot decode an empty one).
    #[derive(Clone, Default)]
    struct OldLeader {
        stream_messages: Arc<AtomicUsize>,
    }

    type Replies = std::pin::Pin<
        Box<dyn futures::Stream<Item = Result<StreamedCommitReply, tonic::Status>> + Send + 'static>,
    >;

    #[tonic::async_trait]
    impl Admin for OldLeader {
        async fn commit(
            &self,
            _: tonic::Request<CommitRequest>,
        ) -> Result<tonic::Response<CommitReply>, tonic::Status> {
            Err(tonic::Status::unimplemented("not in this test"))
        }

        type CommitStreamStream = Replies;

        async fn commit_stream(
            &self,
            request: tonic::Request<tonic::Streaming<StreamedCommit>>,
        ) -> Result<tonic::Response<Replies>, tonic::Status> {
            let mut incoming = request.into_inner();
            let (tx, rx) = mpsc::unbounded_channel();
            let counter = self.stream_messages.clone();
            tokio::spawn(async move {
                while let Ok(Some(message)) = incoming.message().await {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let result = ForwardResult::Unknown("undecodable commit".into());
                    let _ = tx.send(Ok(StreamedCommitReply {
                        id: message.id,
                        result: postcard::to_stdvec(&result).unwrap().into(),
                        read_index: None,
                    }));
                }
            });
            Ok(tonic::Response::new(Box::pin(
                tokio_stream::wrappers::UnboundedReceiverStream::new(rx),
            )))
        }

        async fn read_index(
            &self,
            _: tonic::Request<ReadIndexRequest>,
        ) -> Result<tonic::Response<ReadIndexReply>, tonic::Status> {
            Err(tonic::Status::unimplemented("not in this test"))
        }

        async fn status(
            &self,
            _: tonic::Request<StatusRequest>,
        ) -> Result<tonic::Response<StatusReply>, tonic::Status> {
            Err(tonic::Status::unimplemented("not in this test"))
        }

        async fn add_node(
            &self,
            _: tonic::Request<AddNodeRequest>,
        ) -> Result<tonic::Response<AddNodeReply>, tonic::Status> {
            Err(tonic::Status::unimplemented("not in this test"))
        }

        async fn remove_node(
            &self,
            _: tonic::Request<RemoveNodeRequest>,
        ) -> Result<tonic::Response<RemoveNodeReply>, tonic::Status> {
            Err(tonic::Status::unimplemented("not in this test"))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_leader_without_read_indexes_on_the_stream_gets_unary_calls() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let leader = OldLeader::default();
        let messages = leader.stream_messages.clone();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(AdminServer::new(leader))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        let (channels, node) = (Channels::default(), Node::new(addr.to_string()));
        let forwarder = Forwarder::default();
        assert_eq!(
            forwarder.read_index(&channels, 1, &node).await,
            None,
            "the old leader's answer means: use the unary call"
        );
        assert_eq!(messages.load(Ordering::SeqCst), 1);
        assert_eq!(forwarder.read_index(&channels, 1, &node).await, None);
        assert_eq!(
            messages.load(Ordering::SeqCst),
            1,
            "not asked on the stream again"
        );
        // Commits still use the stream.
        let commit = forwarder.forward(&channels, 1, &node, b"c").await;
        assert_eq!(commit, Some(ForwardResult::Unknown("undecodable commit".into())));
        assert_eq!(messages.load(Ordering::SeqCst), 2);
    }
}
