//! Loopback ports for nodes a test starts as separate processes.
//!
//! A port from `bind(127.0.0.1:0)` is free only until the listener is
//! dropped: the kernel hands ports of its ephemeral range to every outgoing
//! connection and every other `bind(:0)`, so with tests running in parallel
//! a node started a moment later found "its" port taken (CI saw "Address
//! already in use"). [`loopback`] picks a port *below* the ephemeral range,
//! where only explicit choosers compete, checks that it is free now, and
//! never hands out the same port twice in one process. The jepsen harness
//! does the same for its clusters.

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// A loopback address with a port that is free now, below the kernel's
/// ephemeral range, and not returned before by this process.
pub fn loopback() -> SocketAddr {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let ephemeral_start = ephemeral_start();
    let low = 10_000u16.min(ephemeral_start.saturating_sub(1000));
    let span = u64::from(ephemeral_start.saturating_sub(low).max(1));
    // A cheap per-process random walk: processes started together must not
    // all try the same ports first.
    let mut state = u64::from(std::process::id())
        ^ SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
    for _ in 0..500 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let port = low + ((state >> 33) % span) as u16;
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.contains(&port) {
            continue;
        }
        if let Ok(addr) = TcpListener::bind(("127.0.0.1", port)).and_then(|l| l.local_addr()) {
            given.insert(port);
            return addr;
        }
    }
    // Everything tried was taken: fall back to the kernel's choice.
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
}

/// The first port of the kernel's ephemeral range (Linux; 32768 elsewhere).
fn ephemeral_start() -> u16 {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse::<u16>().ok()))
        .unwrap_or(32768)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_distinct_free_and_below_the_ephemeral_range() {
        let ports: BTreeSet<u16> = (0..50).map(|_| loopback().port()).collect();
        assert_eq!(ports.len(), 50, "a port was handed out twice");
        for port in ports {
            assert!(port < ephemeral_start(), "port {port} is in the ephemeral range");
            TcpListener::bind(("127.0.0.1", port)).expect("the port is still free");
        }
    }
}
