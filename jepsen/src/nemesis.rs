//! Nemeses: the faults, and the schedule of healthy and faulty windows.
//!
//! A nemesis spec is a `+`-separated list of fault kinds (`kill+partition`);
//! each faulty window deals one of them from a shuffled deck (seeded; every
//! kind once per round) and undoes it at the end of the window. Kinds:
//!
//! * `kill`: `kill -9` a random node or the leader; restart it (same data
//!   dir) at the end of the window.
//! * `pause`: `SIGSTOP` a random node or the leader; `SIGCONT` it at the end.
//! * `partition-one`: isolate a random node from all others (both ways).
//! * `partition-leader`: isolate the current leader.
//! * `partition-halves`: shuffle, split into a minority and a majority.
//! * `partition-ring`: majorities ring; every node sees a majority (itself
//!   and its two ring neighbours for 5 nodes) but no two the same one.
//! * `partition-bridge`: two halves that share one node which sees both.
//! * `one-way`: one node stops hearing another, the other way still works
//!   (one directed flow; see [`crate::proxy`] for what that means on TCP).
//! * `member`: remove a random node from the membership, stop it, and at the
//!   end of the window add the slot back with a fresh data dir and a new id.
//! * `partition` = any of the partition kinds that fit the cluster size;
//!   `none` = no faults; `all` = every kind.
//!
//! Every window is recorded (start, end, what was done) for the report.
//!
//! Deliberately not here: clock faults (the kernel and libfaketime allow
//! only fixed offsets, see the research notes) and overlapping faults.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::cluster::Cluster;

/// One kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Kill,
    Pause,
    PartitionOne,
    PartitionLeader,
    PartitionHalves,
    PartitionRing,
    PartitionBridge,
    OneWay,
    Member,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::Kill => "kill",
            Fault::Pause => "pause",
            Fault::PartitionOne => "partition-one",
            Fault::PartitionLeader => "partition-leader",
            Fault::PartitionHalves => "partition-halves",
            Fault::PartitionRing => "partition-ring",
            Fault::PartitionBridge => "partition-bridge",
            Fault::OneWay => "one-way",
            Fault::Member => "member",
        }
    }
}

/// Parses a nemesis spec for a cluster of `nodes` nodes.
pub fn parse(spec: &str, nodes: usize) -> Result<Vec<Fault>, String> {
    let partitions = |out: &mut Vec<Fault>| {
        out.extend([
            Fault::PartitionOne,
            Fault::PartitionLeader,
            Fault::PartitionHalves,
            Fault::PartitionBridge,
        ]);
        if nodes >= 5 {
            out.push(Fault::PartitionRing);
        }
    };
    let mut out = Vec::new();
    for part in spec.split('+').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "none" => {}
            "kill" => out.push(Fault::Kill),
            "pause" => out.push(Fault::Pause),
            "partition" => partitions(&mut out),
            "partition-one" => out.push(Fault::PartitionOne),
            "partition-leader" => out.push(Fault::PartitionLeader),
            "partition-halves" => out.push(Fault::PartitionHalves),
            "partition-ring" => {
                if nodes < 5 {
                    return Err("partition-ring needs at least 5 nodes".into());
                }
                out.push(Fault::PartitionRing)
            }
            "partition-bridge" => out.push(Fault::PartitionBridge),
            "one-way" => out.push(Fault::OneWay),
            "member" => out.push(Fault::Member),
            "all" => {
                out.extend([Fault::Kill, Fault::Pause, Fault::OneWay, Fault::Member]);
                partitions(&mut out);
            }
            other => return Err(format!("unknown nemesis {other:?}")),
        }
    }
    out.dedup();
    Ok(out)
}

/// A faulty window, for the report. Times are seconds since the run started.
#[derive(Clone, Debug, Serialize)]
pub struct Window {
    pub start: f64,
    pub end: f64,
    pub fault: String,
    pub detail: String,
}

/// What to do at the end of a window.
enum Undo {
    Restart(usize),
    Resume(usize),
    Heal,
    AddBack(usize),
    Nothing,
}

/// The directed flows of a grudge: `groups` are the components (a node may
/// be in several, e.g. the bridge node); two nodes can talk iff they share a
/// group.
pub fn grudge(n: usize, groups: &[Vec<usize>]) -> HashSet<(usize, usize)> {
    let mut out = HashSet::new();
    for a in 0..n {
        for b in 0..n {
            if a != b && !groups.iter().any(|g| g.contains(&a) && g.contains(&b)) {
                out.insert((a, b));
            }
        }
    }
    out
}

/// Majorities ring: node at ring position i talks to positions i-1, i, i+1
/// (for 5 nodes; in general the m = n/2+1 nodes centred on itself).
pub fn ring(order: &[usize]) -> HashSet<(usize, usize)> {
    let n = order.len();
    let m = n / 2 + 1;
    let half = (m - 1) / 2;
    let mut talk: HashSet<(usize, usize)> = HashSet::new();
    for i in 0..n {
        for d in 0..m {
            let j = (i + n + d - half) % n;
            talk.insert((order[i], order[j]));
            talk.insert((order[j], order[i]));
        }
    }
    let mut out = HashSet::new();
    for a in 0..n {
        for b in 0..n {
            if a != b && !talk.contains(&(a, b)) {
                out.insert((a, b));
            }
        }
    }
    out
}

/// When faults happen: `healthy` of calm, then `faulty` of fault,
/// repeated from `start` until `deadline`.
#[derive(Clone, Copy, Debug)]
pub struct Schedule {
    pub start: Instant,
    pub deadline: Instant,
    pub healthy: Duration,
    pub faulty: Duration,
}

/// Runs the schedule. Returns the windows.
pub async fn run(
    cluster: Arc<Mutex<Cluster>>,
    faults: Vec<Fault>,
    seed: u64,
    schedule: Schedule,
    log: impl Fn(String) + Send + 'static,
) -> Vec<Window> {
    let Schedule {
        start,
        deadline,
        healthy,
        faulty,
    } = schedule;
    let mut windows = Vec::new();
    if faults.is_empty() {
        return windows;
    }
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6e656d65);
    let mut deck: Vec<Fault> = Vec::new();
    loop {
        if Instant::now() + healthy + faulty > deadline {
            break;
        }
        tokio::time::sleep(healthy).await;
        // Deal from a shuffled deck so every kind comes up once per round.
        if deck.is_empty() {
            deck = faults.clone();
            deck.shuffle(&mut rng);
        }
        let Some(fault) = deck.pop() else { break };
        let t0 = start.elapsed().as_secs_f64();
        let (undo, detail) = inject(&cluster, fault, &mut rng).await;
        log(format!("{t0:7.2}s nemesis {}: {detail}", fault.name()));
        tokio::time::sleep(faulty).await;
        let end_detail = undo_fault(&cluster, undo).await;
        let t1 = start.elapsed().as_secs_f64();
        log(format!("{t1:7.2}s nemesis healed {}: {end_detail}", fault.name()));
        windows.push(Window {
            start: t0,
            end: t1,
            fault: fault.name().to_string(),
            detail,
        });
    }
    windows
}

async fn pick(cluster: &Cluster, rng: &mut StdRng, leader_bias: bool) -> Option<usize> {
    if leader_bias
        && rng.random_bool(0.5)
        && let Some(l) = cluster.leader().await
    {
        return Some(l);
    }
    let live = cluster.live();
    if live.is_empty() {
        None
    } else {
        Some(live[rng.random_range(0..live.len())])
    }
}

async fn inject(cluster: &Arc<Mutex<Cluster>>, fault: Fault, rng: &mut StdRng) -> (Undo, String) {
    let mut c = cluster.lock().await;
    let n = c.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    match fault {
        Fault::Kill => match pick(&c, rng, true).await {
            Some(s) => match c.kill(s) {
                Ok(()) => (Undo::Restart(s), format!("kill -9 n{s} (id {})", c.node_id(s))),
                Err(e) => (Undo::Nothing, format!("kill n{s} failed: {e}")),
            },
            None => (Undo::Nothing, "no live node".into()),
        },
        Fault::Pause => match pick(&c, rng, true).await {
            Some(s) => match c.pause(s) {
                Ok(()) => (Undo::Resume(s), format!("SIGSTOP n{s} (id {})", c.node_id(s))),
                Err(e) => (Undo::Nothing, format!("pause n{s} failed: {e}")),
            },
            None => (Undo::Nothing, "no live node".into()),
        },
        Fault::PartitionOne | Fault::PartitionLeader => {
            let victim = if fault == Fault::PartitionLeader {
                c.leader().await.unwrap_or(order[0])
            } else {
                order[0]
            };
            let rest: Vec<usize> = (0..n).filter(|&s| s != victim).collect();
            c.net().block(grudge(n, &[vec![victim], rest.clone()]));
            (Undo::Heal, format!("isolate n{victim} from {rest:?}"))
        }
        Fault::PartitionHalves => {
            let (a, b) = order.split_at(n / 2);
            c.net().block(grudge(n, &[a.to_vec(), b.to_vec()]));
            (Undo::Heal, format!("halves {a:?} | {b:?}"))
        }
        Fault::PartitionBridge => {
            let mid = n / 2;
            let left = order[..=mid].to_vec();
            let right = order[mid..].to_vec();
            c.net().block(grudge(n, &[left.clone(), right.clone()]));
            (
                Undo::Heal,
                format!("bridge {left:?} | {right:?} (n{} sees both)", order[mid]),
            )
        }
        Fault::PartitionRing => {
            c.net().block(ring(&order));
            (Undo::Heal, format!("majorities ring {order:?}"))
        }
        Fault::OneWay => {
            let (a, b) = (order[0], order[1 % n]);
            c.net().block([(a, b)].into_iter().collect());
            (Undo::Heal, format!("one-way: n{b} stops hearing n{a}"))
        }
        Fault::Member => {
            let live = c.live();
            if live.len() < n {
                return (Undo::Nothing, "skipped: not every node is live".into());
            }
            let s = order[0];
            let id = c.node_id(s);
            match c.remove(s).await {
                Ok(()) => (
                    Undo::AddBack(s),
                    format!("removed n{s} (id {id}) from the membership"),
                ),
                Err(e) => (Undo::Nothing, format!("remove n{s} (id {id}) failed: {e}")),
            }
        }
    }
}

async fn undo_fault(cluster: &Arc<Mutex<Cluster>>, undo: Undo) -> String {
    let mut c = cluster.lock().await;
    let wait = Duration::from_secs(30);
    match undo {
        Undo::Nothing => "nothing to undo".into(),
        Undo::Heal => {
            c.net().heal();
            "network healed".into()
        }
        Undo::Resume(s) => match c.resume(s) {
            Ok(()) => format!("SIGCONT n{s}"),
            Err(e) => format!("SIGCONT n{s} failed: {e}"),
        },
        Undo::Restart(s) => match c.restart(s) {
            Ok(()) => match c.wait_healthy(s, wait).await {
                Ok(()) => format!("restarted n{s}, healthy"),
                Err(e) => format!("restarted n{s}: {e}"),
            },
            Err(e) => format!("restart n{s} failed: {e}"),
        },
        Undo::AddBack(s) => match c.add_back(s).await {
            Ok(()) => match c.wait_healthy(s, wait).await {
                Ok(()) => format!("added n{s} back as id {}", c.node_id(s)),
                Err(e) => format!("added n{s} back as id {}: {e}", c.node_id(s)),
            },
            Err(e) => format!("add n{s} back failed: {e}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grudges_have_the_right_shape() {
        let g = grudge(3, &[vec![0], vec![1, 2]]);
        assert_eq!(g.len(), 4);
        assert!(g.contains(&(0, 1)) && g.contains(&(2, 0)) && !g.contains(&(1, 2)));
        // Bridge on 5: {0,1,2} | {2,3,4}: 2 talks to everyone.
        let b = grudge(5, &[vec![0, 1, 2], vec![2, 3, 4]]);
        assert!(!b.iter().any(|&(x, y)| x == 2 || y == 2));
        assert!(b.contains(&(0, 3)) && b.contains(&(4, 1)));
        // Ring on 5: each node hears exactly 2 others.
        let r = ring(&[0, 1, 2, 3, 4]);
        for a in 0..5 {
            let hears = (0..5).filter(|&b| b != a && !r.contains(&(b, a))).count();
            assert_eq!(hears, 2, "node {a}");
        }
        assert!(!r.contains(&(0, 1)) && !r.contains(&(0, 4)) && r.contains(&(0, 2)));
    }

    #[test]
    fn parses_specs() {
        assert_eq!(parse("none", 3).map(|v| v.len()), Ok(0));
        assert_eq!(parse("kill+pause", 3), Ok(vec![Fault::Kill, Fault::Pause]));
        assert!(parse("partition-ring", 3).is_err());
        assert!(parse("partition", 5).is_ok_and(|v| v.contains(&Fault::PartitionRing)));
        assert!(parse("bogus", 3).is_err());
    }
}
