//! Loopback ports for nodes started as separate processes: the chaos
//! harness's clusters and the multi-process tests of `quorumdb-cli`.
//!
//! A node is told its ports on the command line, so they are chosen before
//! it binds them, and the choice can go stale in between. Two ways it did,
//! both seen in CI as a node exiting with "Address already in use":
//!
//! * A port from `bind(127.0.0.1:0)` lies in the kernel's ephemeral range,
//!   which the kernel hands to every outgoing connection and every other
//!   `bind(:0)`. So [`loopback`] chooses *below* that range, where only
//!   explicit choosers compete.
//! * Below the range, two test processes running at the same time could
//!   still choose the same port, both finding it free before either node
//!   bound it. So under cargo-nextest, which numbers the tests running at
//!   one time (`NEXTEST_TEST_GLOBAL_SLOT`, distinct among them), each slot
//!   chooses from a band of ports of its own. Without nextest every
//!   process chooses from the whole range, in a random order of its own.
//!
//! Within one process a port is never handed out twice, and each is checked
//! to be free when it is chosen. What this cannot prevent is some unrelated
//! program binding the port in between; a node then refuses to start with
//! that error, never runs on a wrong port.

use std::collections::BTreeSet;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::ops::Range;
use std::sync::Mutex;

use rand::Rng;

/// How many bands the ports below the ephemeral range are cut into; test
/// slots beyond this share bands (modulo), which only brings back the
/// small chance of a shared choice.
const BANDS: u16 = 16;

/// A loopback address with a port that is free now, below the kernel's
/// ephemeral range (in this test slot's band under nextest), and not
/// returned before by this process.
pub fn loopback() -> io::Result<SocketAddr> {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let slot = std::env::var("NEXTEST_TEST_GLOBAL_SLOT")
        .ok()
        .and_then(|s| s.parse::<u64>().ok());
    let range = candidates(ephemeral_start(), slot);
    let mut rng = rand::rng();
    for _ in 0..500 {
        let port = rng.random_range(range.clone());
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.contains(&port) {
            continue;
        }
        if let Ok(addr) = TcpListener::bind(("127.0.0.1", port)).and_then(|l| l.local_addr()) {
            given.insert(port);
            return Ok(addr);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AddrInUse,
        format!("no free loopback port in {range:?} after 500 tries"),
    ))
}

/// The ports to choose from: `[low, ephemeral_start)`, or the `slot`'s band
/// of it.
fn candidates(ephemeral_start: u16, slot: Option<u64>) -> Range<u16> {
    let low = 10_000u16.min(ephemeral_start.saturating_sub(1000)).max(1024);
    let high = ephemeral_start.max(low + BANDS);
    match slot {
        None => low..high,
        Some(slot) => {
            let width = (high - low) / BANDS;
            let band = (slot % u64::from(BANDS)) as u16;
            let start = low + band * width;
            start..start + width
        }
    }
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
        let ports: BTreeSet<u16> = (0..50).map(|_| loopback().expect("a free port").port()).collect();
        assert_eq!(ports.len(), 50, "a port was handed out twice");
        for port in ports {
            assert!(port < ephemeral_start(), "port {port} is in the ephemeral range");
            TcpListener::bind(("127.0.0.1", port)).expect("the port is still free");
        }
    }

    #[test]
    fn test_slots_choose_from_disjoint_bands() {
        let whole = candidates(32768, None);
        assert_eq!(whole, 10_000..32768);
        let bands: Vec<Range<u16>> = (0..u64::from(BANDS))
            .map(|slot| candidates(32768, Some(slot)))
            .collect();
        for (i, a) in bands.iter().enumerate() {
            assert!(a.len() >= 1000, "band {a:?} is too narrow");
            assert!(whole.start <= a.start && a.end <= whole.end);
            for b in &bands[i + 1..] {
                assert!(a.end <= b.start || b.end <= a.start, "{a:?} overlaps {b:?}");
            }
        }
        // Slots past the last band wrap around rather than leave the range.
        assert_eq!(candidates(32768, Some(u64::from(BANDS) + 3)), bands[3]);
        // A narrow ephemeral setting still gives every slot a non-empty band.
        for slot in 0..u64::from(BANDS) {
            assert!(!candidates(1030, Some(slot)).is_empty());
        }
    }
}
