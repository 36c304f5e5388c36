//! A fault-injecting TCP proxy in front of every node's gRPC port: the
//! network partitions of the chaos suite.
//!
//! Each node advertises its proxy's address instead of its own gRPC address,
//! so every Raft RPC, admin call and commit forwarded between nodes crosses
//! a proxy. One proxy listens per *destination* node; it learns the *source*
//! node of every accepted connection from the kernel: the connecting socket's
//! address is looked up in `/proc/net/tcp` (its inode) and the inode among
//! the file descriptors of the node processes we started (`/proc/<pid>/fd`).
//! Connections whose owner is not one of our nodes (the harness's own admin
//! commands) are never faulted.
//!
//! Faults are a set of *blocked directed flows* `(from, to)` (node slots):
//! bytes from `from` to `to` stop being forwarded. A blocked flow stalls, it
//! does not drop bytes or close the connection, which behaves like an
//! iptables `DROP` rule: requests hang until the sender's timeout, TCP
//! back-pressure builds up, and when the fault heals the stalled bytes flow
//! again (as retransmissions would). On a connection from node `c` to node
//! `s`, the upstream direction is flow `(c, s)` and the downstream direction
//! (responses) is flow `(s, c)`; so a one-way fault `(a, b)` silences a's
//! requests to b *and* a's responses to b's requests. Each fault
//! ([`ProxyNet::block`]) keeps its own set of flows and is lifted on its
//! own ([`ProxyNet::unblock`]); the blocked set is their union, so
//! overlapping faults can be undone in any order.
//!
//! Deliberately not here: delay and byte-level loss (TCP hides loss; a stall
//! is what loss looks like to the application), and client (SQL) links.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Shared fault state: which directed flows are blocked, which process is
/// which node slot, and where each slot's node listens.
#[derive(Default)]
struct State {
    /// The union of `grudges`: what the pumps check.
    blocked: HashSet<(usize, usize)>,
    /// Active faults by id; overlapping faults each keep their own flows,
    /// so lifting one leaves the others in force.
    grudges: HashMap<u64, HashSet<(usize, usize)>>,
    next_grudge: u64,
    pids: HashMap<u32, usize>,
    targets: HashMap<usize, SocketAddr>,
    identified: u64,
    unidentified: u64,
}

/// One active network fault of a [`ProxyNet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrudgeId(u64);

/// The proxies of one cluster. Dropping it stops them.
pub struct ProxyNet {
    state: Arc<Mutex<State>>,
    /// Bumped on every change of the blocked set, so stalled copies re-check.
    changed: watch::Sender<u64>,
    tasks: Vec<JoinHandle<()>>,
}

impl ProxyNet {
    pub fn new() -> ProxyNet {
        let (changed, _) = watch::channel(0);
        ProxyNet {
            state: Arc::new(Mutex::new(State::default())),
            changed,
            tasks: Vec::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Starts the proxy for `slot` on an already bound listener, forwarding
    /// to `target` (which may change later through [`ProxyNet::set_target`]).
    pub fn serve(&mut self, slot: usize, listener: TcpListener, target: SocketAddr) {
        self.lock().targets.insert(slot, target);
        let state = self.state.clone();
        let changed = self.changed.subscribe();
        self.tasks.push(tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let state = state.clone();
                let changed = changed.clone();
                tokio::spawn(async move {
                    let local = stream.local_addr().ok();
                    let from = identify(&state, peer, local).await;
                    let target = {
                        let s = state.lock().unwrap_or_else(|e| e.into_inner());
                        s.targets.get(&slot).copied()
                    };
                    let Some(target) = target else { return };
                    let Ok(upstream) = TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = stream.set_nodelay(true);
                    let _ = upstream.set_nodelay(true);
                    let (cr, cw) = stream.into_split();
                    let (ur, uw) = upstream.into_split();
                    let up = pump(cr, uw, from.map(|f| (f, slot)), state.clone(), changed.clone());
                    let down = pump(ur, cw, from.map(|f| (slot, f)), state, changed);
                    let _ = tokio::join!(up, down);
                });
            }
        }));
    }

    /// Records that process `pid` is node slot `slot`.
    pub fn set_pid(&self, pid: u32, slot: usize) {
        self.lock().pids.insert(pid, slot);
    }

    /// Forgets a process (it exited).
    pub fn forget_pid(&self, pid: u32) {
        self.lock().pids.remove(&pid);
    }

    /// Where slot's proxy forwards to.
    pub fn set_target(&self, slot: usize, target: SocketAddr) {
        self.lock().targets.insert(slot, target);
    }

    /// Blocks `flows` in addition to whatever is blocked already; returns
    /// the id to [`ProxyNet::unblock`] exactly these flows later.
    pub fn block(&self, flows: HashSet<(usize, usize)>) -> GrudgeId {
        let id = {
            let mut s = self.lock();
            let id = s.next_grudge;
            s.next_grudge += 1;
            s.blocked.extend(flows.iter().copied());
            s.grudges.insert(id, flows);
            id
        };
        self.changed.send_modify(|v| *v += 1);
        GrudgeId(id)
    }

    /// Lifts one fault; flows that another active fault blocks stay blocked.
    pub fn unblock(&self, id: GrudgeId) {
        {
            let mut s = self.lock();
            s.grudges.remove(&id.0);
            s.blocked = s.grudges.values().flatten().copied().collect();
        }
        self.changed.send_modify(|v| *v += 1);
    }

    /// The flows blocked now.
    pub fn blocked(&self) -> HashSet<(usize, usize)> {
        self.lock().blocked.clone()
    }

    /// Unblocks everything.
    pub fn heal(&self) {
        {
            let mut s = self.lock();
            s.grudges.clear();
            s.blocked.clear();
        }
        self.changed.send_modify(|v| *v += 1);
    }

    /// (connections attributed to a node, connections from elsewhere).
    pub fn identification_counts(&self) -> (u64, u64) {
        let s = self.lock();
        (s.identified, s.unidentified)
    }
}

impl Default for ProxyNet {
    fn default() -> Self {
        ProxyNet::new()
    }
}

impl Drop for ProxyNet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Waits while `flow` is blocked. False when the network is being torn
/// down (the pump should stop).
async fn wait_unblocked(
    flow: Option<(usize, usize)>,
    state: &Mutex<State>,
    changed: &mut watch::Receiver<u64>,
) -> bool {
    let Some(flow) = flow else { return true };
    loop {
        let blocked = state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .blocked
            .contains(&flow);
        if !blocked {
            return true;
        }
        if changed.changed().await.is_err() {
            return false;
        }
    }
}

/// Copies bytes while the flow is not blocked; stalls while it is.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    flow: Option<(usize, usize)>,
    state: Arc<Mutex<State>>,
    mut changed: watch::Receiver<u64>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if !wait_unblocked(flow, &state, &mut changed).await {
            return;
        }
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        // A flow blocked while we were reading holds these bytes back too.
        if !wait_unblocked(flow, &state, &mut changed).await {
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}

/// Which node slot owns the client socket `peer` connected to `local`.
async fn identify(state: &Arc<Mutex<State>>, peer: SocketAddr, local: Option<SocketAddr>) -> Option<usize> {
    let pids: Vec<(u32, usize)> = {
        let s = state.lock().unwrap_or_else(|e| e.into_inner());
        s.pids.iter().map(|(p, s)| (*p, *s)).collect()
    };
    let found = tokio::task::spawn_blocking(move || {
        // The connecting process holds the socket by now; retry briefly in
        // case /proc lags behind.
        for _ in 0..3 {
            if let Some(inode) = socket_inode(peer, local)
                && let Some(slot) = owner(inode, &pids)
            {
                return Some(slot);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    })
    .await
    .ok()
    .flatten();
    let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
    if found.is_some() {
        s.identified += 1;
    } else {
        s.unidentified += 1;
    }
    found
}

fn hex_addr(addr: SocketAddr) -> Option<String> {
    match addr {
        SocketAddr::V4(a) => {
            let ip = u32::from_le_bytes(a.ip().octets());
            Some(format!("{ip:08X}:{:04X}", a.port()))
        }
        SocketAddr::V6(_) => None,
    }
}

/// The inode of the socket whose local address is `peer` (and remote
/// address `local`, our listener), from `/proc/net/tcp`.
fn socket_inode(peer: SocketAddr, local: Option<SocketAddr>) -> Option<u64> {
    let want_local = hex_addr(peer)?;
    let want_remote = local.and_then(hex_addr);
    let text = std::fs::read_to_string("/proc/net/tcp").ok()?;
    for line in text.lines().skip(1) {
        let cols: Vec<&str> = line.split_whitespace().collect();
        if cols.len() < 10 {
            continue;
        }
        if cols[1] != want_local {
            continue;
        }
        if let Some(r) = &want_remote
            && cols[2] != r
        {
            continue;
        }
        if let Ok(inode) = cols[9].parse::<u64>()
            && inode != 0
        {
            return Some(inode);
        }
    }
    None
}

/// Which of `pids` holds socket `inode`.
fn owner(inode: u64, pids: &[(u32, usize)]) -> Option<usize> {
    let needle = format!("socket:[{inode}]");
    for (pid, slot) in pids {
        let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for entry in dir.flatten() {
            if let Ok(link) = std::fs::read_link(entry.path())
                && link.to_string_lossy() == needle
            {
                return Some(*slot);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_faults_lift_independently() {
        let net = ProxyNet::new();
        let a = net.block([(0, 1), (1, 0)].into_iter().collect());
        let b = net.block([(0, 1), (2, 0)].into_iter().collect());
        net.unblock(a);
        // (0, 1) is still part of b.
        assert_eq!(net.blocked(), [(0, 1), (2, 0)].into_iter().collect());
        net.unblock(b);
        assert!(net.blocked().is_empty());
        let _ = net.block([(1, 2)].into_iter().collect());
        net.heal();
        assert!(net.blocked().is_empty());
    }

    #[test]
    fn hex_addresses_match_proc_net_tcp() {
        let a: SocketAddr = "127.0.0.1:7433".parse().expect("addr");
        assert_eq!(hex_addr(a).as_deref(), Some("0100007F:1D09"));
    }

    #[tokio::test]
    async fn identifies_our_own_connections_and_stalls_blocked_flows() {
        // An echo server as the "node".
        let echo = TcpListener::bind("127.0.0.1:0").await.expect("bind echo");
        let echo_addr = echo.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut s, _)) = echo.accept().await {
                tokio::spawn(async move {
                    let mut b = [0u8; 1024];
                    while let Ok(n) = s.read(&mut b).await {
                        if n == 0 || s.write_all(&b[..n]).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let mut net = ProxyNet::new();
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let proxy_addr = l.local_addr().expect("addr");
        net.serve(1, l, echo_addr);
        // This test process plays node slot 0.
        net.set_pid(std::process::id(), 0);
        let mut c = TcpStream::connect(proxy_addr).await.expect("connect");
        c.write_all(b"ping").await.expect("write");
        let mut b = [0u8; 4];
        c.read_exact(&mut b).await.expect("echo");
        assert_eq!(&b, b"ping");
        assert_eq!(net.identification_counts(), (1, 0));
        let _ = net.block([(0, 1)].into_iter().collect());
        c.write_all(b"pong").await.expect("write");
        let r = tokio::time::timeout(Duration::from_millis(300), c.read_exact(&mut b)).await;
        assert!(r.is_err(), "a blocked flow must stall");
        net.heal();
        tokio::time::timeout(Duration::from_secs(2), c.read_exact(&mut b))
            .await
            .expect("healed flow delivers")
            .expect("read");
        assert_eq!(&b, b"pong");
    }
}
