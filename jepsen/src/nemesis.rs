//! Nemeses: the faults, and the schedule of healthy and faulty windows.
//!
//! A nemesis spec is a `+`-separated list of fault kinds (`kill+partition`).
//! By default each faulty window deals one of them from a shuffled deck
//! (seeded; every kind once per round) and undoes it at the end of the
//! window. Kinds:
//!
//! * `kill`: `kill -9` a random node or the leader; restart it (same data
//!   dir) at the end of the window.
//! * `kill-majority`: `kill -9` n/2+1 nodes at once (the leader among them
//!   when one is known); restart them at the end.
//! * `kill-all`: `kill -9` every node at once, as a power failure of the
//!   whole cluster would; restart them all at the end. This is the fault
//!   that exposes a log that acknowledges before it is durable (the
//!   `ack-before-sync` switch): with a majority left alive, the survivor
//!   that still holds the acknowledged entries usually wins the election.
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
//!   end of the window add the slot back with a fresh data dir and a new id
//!   (skipped while a node is down or the network is cut).
//! * `partition` = any of the partition kinds that fit the cluster size;
//!   `none` = no faults; `all` = `kill`, `pause`, `one-way`, `member` and
//!   every partition kind (not `kill-majority` / `kill-all`: name those).
//!
//! **Overlapping faults** (`overlap = k >= 2`, the runner's `--overlap`):
//! each round is a calm period and then a burst of `k` faults from the same
//! deck, each starting while the previous one is still active and lasting a
//! random length, so they are undone in no fixed order (a partition may be
//! lifted while a killed node is still down, or the other way round). Every
//! fault keeps its own undo: a network fault lifts only its own flows
//! ([`crate::proxy::ProxyNet::unblock`]), a killed node is restarted by the
//! fault that killed it, and health waits do not hold the cluster lock.
//!
//! Every window is recorded (start, end, what was done) for the report and
//! the picture, overlapping ones included.
//!
//! Deliberately not here: clock faults (the kernel and libfaketime allow
//! only fixed offsets, see the research notes), and faults inside a node
//! (those are the node's test-only fault-injection switches, see
//! `docs/jepsen.md`).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::cluster::{Cluster, http_get};
use crate::proxy::GrudgeId;

/// One kind of fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Kill,
    KillMajority,
    KillAll,
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
            Fault::KillMajority => "kill-majority",
            Fault::KillAll => "kill-all",
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
            "kill-majority" => out.push(Fault::KillMajority),
            "kill-all" => out.push(Fault::KillAll),
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
    /// Restart these killed nodes, then wait until each is healthy.
    Restart(Vec<usize>),
    Resume(usize),
    /// Lift this network fault (and only this one).
    Unblock(GrudgeId),
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

/// Runs the schedule. Returns the windows, in order of their start.
///
/// With `overlap` below 2, one fault per window: `healthy` of calm, then a
/// fault for `faulty`, undone at the end of the window. With `overlap = k`
/// (2 or more), each round is `healthy` of calm and then a burst of `k`
/// faults dealt from the same deck: fault `i` starts a random 1/4 to 1/2 of
/// `faulty` after fault `i-1` and lasts a random 3/4 to 3/2 of `faulty`, so
/// each overlaps the one before it, and they end (and are undone) in
/// whatever order their random lengths give. The round ends when all are
/// undone.
pub async fn run(
    cluster: Arc<Mutex<Cluster>>,
    faults: Vec<Fault>,
    seed: u64,
    schedule: Schedule,
    overlap: usize,
    log: impl Fn(String) + Send + Sync + 'static,
) -> Vec<Window> {
    if faults.is_empty() {
        return Vec::new();
    }
    let log = Arc::new(log);
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6e656d65);
    let mut deck = Deck::default();
    if overlap < 2 {
        run_serial(&cluster, &faults, &mut rng, &mut deck, schedule, log).await
    } else {
        run_overlapping(&cluster, &faults, &mut rng, &mut deck, schedule, overlap, log).await
    }
}

/// Deals fault kinds from a shuffled deck so every kind comes up once per round.
#[derive(Default)]
struct Deck(Vec<Fault>);

impl Deck {
    fn deal(&mut self, faults: &[Fault], rng: &mut StdRng) -> Option<Fault> {
        if self.0.is_empty() {
            self.0 = faults.to_vec();
            self.0.shuffle(rng);
        }
        self.0.pop()
    }
}

async fn run_serial(
    cluster: &Arc<Mutex<Cluster>>,
    faults: &[Fault],
    rng: &mut StdRng,
    deck: &mut Deck,
    schedule: Schedule,
    log: Arc<dyn Fn(String) + Send + Sync>,
) -> Vec<Window> {
    let Schedule {
        start,
        deadline,
        healthy,
        faulty,
    } = schedule;
    let mut windows = Vec::new();
    loop {
        if Instant::now() + healthy + faulty > deadline {
            break;
        }
        tokio::time::sleep(healthy).await;
        let Some(fault) = deck.deal(faults, rng) else {
            break;
        };
        let t0 = start.elapsed().as_secs_f64();
        let (undo, detail) = inject(cluster, fault, rng).await;
        log(format!("{t0:7.2}s nemesis {}: {detail}", fault.name()));
        tokio::time::sleep(faulty).await;
        let end_detail = undo_fault(cluster, undo).await;
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

async fn run_overlapping(
    cluster: &Arc<Mutex<Cluster>>,
    faults: &[Fault],
    rng: &mut StdRng,
    deck: &mut Deck,
    schedule: Schedule,
    overlap: usize,
    log: Arc<dyn Fn(String) + Send + Sync>,
) -> Vec<Window> {
    let Schedule {
        start,
        deadline,
        healthy,
        faulty,
    } = schedule;
    let mut windows = Vec::new();
    // A burst of k faults ends at most (k-1)/2 + 3/2 fault lengths after it starts.
    let burst_max = faulty.mul_f64((overlap - 1) as f64 / 2.0 + 1.5);
    loop {
        if Instant::now() + healthy + burst_max > deadline {
            break;
        }
        tokio::time::sleep(healthy).await;
        let burst = Instant::now();
        let plan = plan_burst(rng, overlap, faulty);
        let mut undos = Vec::new();
        for (offset, length) in plan {
            tokio::time::sleep_until((burst + offset).into()).await;
            let Some(fault) = deck.deal(faults, rng) else {
                break;
            };
            let t0 = start.elapsed().as_secs_f64();
            let (undo, detail) = inject(cluster, fault, rng).await;
            log(format!(
                "{t0:7.2}s nemesis {} (overlapping, for {:.1}s): {detail}",
                fault.name(),
                length.as_secs_f64()
            ));
            // Each fault is undone by its own task at its own time.
            let (cluster, log) = (cluster.clone(), log.clone());
            let end = burst + offset + length;
            undos.push(tokio::spawn(async move {
                tokio::time::sleep_until(end.into()).await;
                let end_detail = undo_fault(&cluster, undo).await;
                let t1 = start.elapsed().as_secs_f64();
                log(format!("{t1:7.2}s nemesis healed {}: {end_detail}", fault.name()));
                Window {
                    start: t0,
                    end: t1,
                    fault: fault.name().to_string(),
                    detail,
                }
            }));
        }
        for u in undos {
            match u.await {
                Ok(w) => windows.push(w),
                Err(e) => log(format!("nemesis: an undo task failed: {e}")),
            }
        }
    }
    windows.sort_by(|a, b| a.start.total_cmp(&b.start));
    windows
}

/// The plan of one burst of `k` overlapping faults: (start offset, length)
/// per fault. Fault `i` starts 1/4 to 1/2 of `faulty` after fault `i-1` and
/// lasts 3/4 to 3/2 of it, so it starts before fault `i-1` ends.
fn plan_burst(rng: &mut StdRng, k: usize, faulty: Duration) -> Vec<(Duration, Duration)> {
    let mut plan = Vec::with_capacity(k);
    let mut at = Duration::ZERO;
    for i in 0..k {
        if i > 0 {
            at += faulty.mul_f64(rng.random_range(0.25..0.5));
        }
        plan.push((at, faulty.mul_f64(rng.random_range(0.75..1.5))));
    }
    plan
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
    let isolate = |c: &Cluster, groups: &[Vec<usize>]| Undo::Unblock(c.net().block(grudge(n, groups)));
    match fault {
        Fault::Kill => match pick(&c, rng, true).await {
            Some(s) => match c.kill(s) {
                Ok(()) => (
                    Undo::Restart(vec![s]),
                    format!("kill -9 n{s} (id {})", c.node_id(s)),
                ),
                Err(e) => (Undo::Nothing, format!("kill n{s} failed: {e}")),
            },
            None => (Undo::Nothing, "no live node".into()),
        },
        Fault::KillMajority | Fault::KillAll => {
            let running: Vec<usize> = (0..n).filter(|&s| c.is_running(s) && !c.is_removed(s)).collect();
            let mut victims = running.clone();
            if fault == Fault::KillMajority {
                // The leader (if known) and random others, n/2 + 1 in all.
                victims.shuffle(rng);
                if let Some(l) = c.leader().await
                    && let Some(i) = victims.iter().position(|&s| s == l)
                {
                    victims.swap(0, i);
                }
                victims.truncate(n / 2 + 1);
            }
            victims.sort_unstable();
            if victims.is_empty() {
                return (Undo::Nothing, "no running node".into());
            }
            match c.kill_many(&victims) {
                Ok(()) => {
                    let names: Vec<String> = victims.iter().map(|s| format!("n{s}")).collect();
                    let detail = format!("kill -9 {} at once", names.join(" "));
                    (Undo::Restart(victims), detail)
                }
                Err(e) => (Undo::Restart(victims), format!("kill failed: {e}")),
            }
        }
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
            let undo = isolate(&c, &[vec![victim], rest.clone()]);
            (undo, format!("isolate n{victim} from {rest:?}"))
        }
        Fault::PartitionHalves => {
            let (a, b) = order.split_at(n / 2);
            let undo = isolate(&c, &[a.to_vec(), b.to_vec()]);
            (undo, format!("halves {a:?} | {b:?}"))
        }
        Fault::PartitionBridge => {
            let mid = n / 2;
            let left = order[..=mid].to_vec();
            let right = order[mid..].to_vec();
            let undo = isolate(&c, &[left.clone(), right.clone()]);
            (
                undo,
                format!("bridge {left:?} | {right:?} (n{} sees both)", order[mid]),
            )
        }
        Fault::PartitionRing => {
            let undo = Undo::Unblock(c.net().block(ring(&order)));
            (undo, format!("majorities ring {order:?}"))
        }
        Fault::OneWay => {
            let (a, b) = (order[0], order[1 % n]);
            let undo = Undo::Unblock(c.net().block([(a, b)].into_iter().collect()));
            (undo, format!("one-way: n{b} stops hearing n{a}"))
        }
        Fault::Member => {
            let live = c.live();
            if live.len() < n || !c.net().blocked().is_empty() {
                return (
                    Undo::Nothing,
                    "skipped: not every node is live and connected".into(),
                );
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

/// Polls `/health` of `slot` without holding the cluster lock for longer
/// than a look, so overlapping faults can be undone meanwhile.
async fn wait_healthy(cluster: &Arc<Mutex<Cluster>>, slot: usize, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        let http = {
            let mut c = cluster.lock().await;
            if let Some(status) = c.exit_status(slot) {
                return Err(format!("n{slot} exited ({status})"));
            }
            c.addrs(slot).http
        };
        if let Some((200, _)) = http_get(http, "/health", Duration::from_secs(1)).await {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("n{slot} not healthy after {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn undo_fault(cluster: &Arc<Mutex<Cluster>>, undo: Undo) -> String {
    let wait = Duration::from_secs(30);
    match undo {
        Undo::Nothing => "nothing to undo".into(),
        Undo::Unblock(id) => {
            cluster.lock().await.net().unblock(id);
            "network fault lifted".into()
        }
        Undo::Resume(s) => match cluster.lock().await.resume(s) {
            Ok(()) => format!("SIGCONT n{s}"),
            Err(e) => format!("SIGCONT n{s} failed: {e}"),
        },
        Undo::Restart(slots) => {
            let mut out = Vec::new();
            for &s in &slots {
                if let Err(e) = cluster.lock().await.restart(s) {
                    out.push(format!("restart n{s} failed: {e}"));
                }
            }
            for &s in &slots {
                out.push(match wait_healthy(cluster, s, wait).await {
                    Ok(()) => format!("restarted n{s}, healthy"),
                    Err(e) => format!("restarted n{s}: {e}"),
                });
            }
            out.join("; ")
        }
        Undo::AddBack(s) => {
            let added = cluster.lock().await.add_back(s).await;
            match added {
                Ok(()) => {
                    let health = wait_healthy(cluster, s, wait).await;
                    let id = cluster.lock().await.node_id(s);
                    match health {
                        Ok(()) => format!("added n{s} back as id {id}"),
                        Err(e) => format!("added n{s} back as id {id}: {e}"),
                    }
                }
                Err(e) => format!("add n{s} back failed: {e}"),
            }
        }
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
        assert_eq!(
            parse("kill-all+kill-majority", 3),
            Ok(vec![Fault::KillAll, Fault::KillMajority])
        );
        assert!(parse("all", 3).is_ok_and(|v| !v.contains(&Fault::KillAll)));
    }

    #[test]
    fn bursts_overlap_and_end_in_varying_order() {
        let mut rng = StdRng::seed_from_u64(1);
        let faulty = Duration::from_secs(4);
        let mut orders = HashSet::new();
        for _ in 0..200 {
            let plan = plan_burst(&mut rng, 3, faulty);
            assert_eq!(plan.len(), 3);
            for w in plan.windows(2) {
                let ((s0, l0), (s1, _)) = (w[0], w[1]);
                assert!(
                    s1 > s0 && s1 < s0 + l0,
                    "each fault starts while the previous is active"
                );
            }
            let mut ends: Vec<(Duration, usize)> =
                plan.iter().enumerate().map(|(i, &(s, l))| (s + l, i)).collect();
            ends.sort();
            orders.insert(ends.into_iter().map(|e| e.1).collect::<Vec<_>>());
        }
        assert!(
            orders.len() > 2,
            "faults are undone in varying orders: {orders:?}"
        );
    }
}
