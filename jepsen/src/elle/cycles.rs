//! Cycle search and classification (Adya's G0, G1c, G-single, G2-item).
//!
//! 1. Tarjan finds the strongly connected components of the whole graph
//!    (every edge type the consistency model forbids cycles in). Each
//!    component with more than one vertex contains a forbidden cycle.
//! 2. In each component, cycles are searched from the most to the least
//!    severe class; the first class found names the component's anomaly:
//!    * `G0`: only ww edges;
//!    * `G1c`: ww and wr edges, at least one wr;
//!    * `G-single`: exactly one rw edge (plus ww/wr);
//!    * `G2-item`: two or more rw edges;
//!    * then the same four with `-process` / `-realtime` appended (Elle's
//!      names), for components whose cycles all need such an edge.
//! 3. A search anchors the cycle on an edge of its defining type `a -> b`
//!    and runs a BFS from `b` back to `a` over the allowed types, tracking
//!    which required types the path has used (so the BFS runs over
//!    `(vertex, types seen)` states). The shortest closed walk over all
//!    anchors is kept; only anchors inside one strongly connected component
//!    of the class's own edge types are tried.
//!
//! An edge that carries several types (say ww and rw) may be used as any of
//! them; because the milder classes are searched first, a cycle is named
//! after the mildest reading that exists.
//!
//! Budget: every BFS edge relaxation costs one step. If the budget runs out,
//! the component is still reported (its existence alone proves the anomaly)
//! with *some* cycle found by a plain BFS, classified by its edges, and the
//! explanation says the search was cut short.
//!
//! Deliberately not here: `G-nonadjacent` as a separate class (such cycles
//! are reported as `G2-item`), and more than one cycle per component.

use std::collections::{HashMap, VecDeque};

use super::deps::Deps;
use super::graph::{PROCESS, REALTIME, RW, WR, WW};
use super::txn::Txn;
use crate::checker::Anomaly;

/// One edge of a cycle: from `from` (to the next step's `from`), used as type `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub from: u32,
    pub t: u8,
}

/// A cycle class to look for.
#[derive(Clone, Copy, Debug)]
struct Spec {
    name: &'static str,
    /// The type of the first edge.
    anchor: u8,
    /// Types the rest of the cycle may use.
    path: u8,
    /// Types the rest of the cycle must use at least once.
    need: u8,
}

fn specs(extra: u8) -> Vec<Spec> {
    let mut out = vec![
        Spec {
            name: "G0",
            anchor: WW,
            path: WW,
            need: 0,
        },
        Spec {
            name: "G1c",
            anchor: WR,
            path: WW | WR,
            need: 0,
        },
        Spec {
            name: "G-single",
            anchor: RW,
            path: WW | WR,
            need: 0,
        },
        Spec {
            name: "G2-item",
            anchor: RW,
            path: WW | WR | RW,
            need: RW,
        },
    ];
    for (x, names) in [
        (
            PROCESS,
            ["G0-process", "G1c-process", "G-single-process", "G2-item-process"],
        ),
        (
            REALTIME,
            [
                "G0-realtime",
                "G1c-realtime",
                "G-single-realtime",
                "G2-item-realtime",
            ],
        ),
    ] {
        if extra & x != 0 {
            out.extend([
                Spec {
                    name: names[0],
                    anchor: x,
                    path: WW | x,
                    need: 0,
                },
                Spec {
                    name: names[1],
                    anchor: x,
                    path: WW | WR | x,
                    need: WR,
                },
                Spec {
                    name: names[2],
                    anchor: RW,
                    path: WW | WR | x,
                    need: x,
                },
                Spec {
                    name: names[3],
                    anchor: RW,
                    path: WW | WR | RW | x,
                    need: RW | x,
                },
            ]);
        }
    }
    out
}

/// Names a cycle from the types its edges were used as.
pub fn classify(steps: &[Step]) -> String {
    let count = |t: u8| steps.iter().filter(|s| s.t == t).count();
    let base = match count(RW) {
        0 if count(WR) > 0 => "G1c",
        0 => "G0",
        1 => "G-single",
        _ => "G2-item",
    };
    let suffix = if count(REALTIME) > 0 {
        "-realtime"
    } else if count(PROCESS) > 0 {
        "-process"
    } else {
        ""
    };
    format!("{base}{suffix}")
}

struct Search<'a> {
    deps: &'a Deps,
    budget: u64,
    exhausted: bool,
}

impl Search<'_> {
    /// Shortest walk `b ~> a` over `spec.path` that uses every type of
    /// `spec.need`, staying inside vertices with `sub[v] == sub[a]`, such
    /// that the cycle `a -> b ~> a` is shorter than `max_len`. Returns the
    /// steps from `b`, the last one arriving at `a`.
    fn bfs(&mut self, spec: &Spec, sub: &[u32], a: u32, b: u32, max_len: usize) -> Option<Vec<Step>> {
        let comp = sub[a as usize];
        let mut parent: HashMap<(u32, u8), (u32, u8, u8)> = HashMap::new();
        // (vertex, types seen, path edges so far); closing the cycle from
        // depth d gives a cycle of d + 2 edges (anchor included).
        let mut queue: VecDeque<(u32, u8, usize)> = VecDeque::from([(b, 0u8, 0usize)]);
        parent.insert((b, 0), (u32::MAX, 0, 0));
        while let Some((v, seen, depth)) = queue.pop_front() {
            if depth.saturating_add(2) >= max_len {
                return None;
            }
            for &(w, m) in self.deps.graph.out(v) {
                if self.budget == 0 {
                    self.exhausted = true;
                    return None;
                }
                self.budget -= 1;
                if sub[w as usize] != comp {
                    continue;
                }
                let mut usable = m & spec.path;
                while usable != 0 {
                    let t = usable & usable.wrapping_neg();
                    usable &= !t;
                    let s2 = seen | (t & spec.need);
                    if w == a {
                        if s2 == spec.need {
                            let mut steps = vec![Step { from: v, t }];
                            let mut at = (v, seen);
                            while let Some(&(pv, ps, pt)) = parent.get(&at) {
                                if pv == u32::MAX {
                                    break;
                                }
                                steps.push(Step { from: pv, t: pt });
                                at = (pv, ps);
                            }
                            steps.reverse();
                            return Some(steps);
                        }
                        continue;
                    }
                    if let std::collections::hash_map::Entry::Vacant(e) = parent.entry((w, s2)) {
                        e.insert((v, seen, t));
                        queue.push_back((w, s2, depth + 1));
                    }
                }
            }
        }
        None
    }

    /// The shortest cycle of class `spec` among the given anchor edges.
    fn shortest(&mut self, spec: &Spec, sub: &[u32], anchors: &[(u32, u32)]) -> Option<Vec<Step>> {
        let mut best: Option<Vec<Step>> = None;
        for &(a, b) in anchors {
            let max_len = best.as_ref().map_or(usize::MAX, Vec::len);
            if max_len <= 2 || self.exhausted {
                break;
            }
            if let Some(path) = self.bfs(spec, sub, a, b, max_len) {
                let mut cycle = vec![Step {
                    from: a,
                    t: spec.anchor,
                }];
                cycle.extend(path);
                if cycle.len() < max_len {
                    best = Some(cycle);
                }
            }
        }
        best
    }
}

/// Some cycle through `comp[0]` over `allowed` edges, each edge used as its
/// mildest allowed type (the fallback when the budget runs out).
fn any_cycle(deps: &Deps, comp_of: &[u32], comp: &[u32], allowed: u8) -> Vec<Step> {
    let Some(&start) = comp.first() else {
        return Vec::new();
    };
    let c = comp_of[start as usize];
    let mut parent: HashMap<u32, (u32, u8)> = HashMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &(w, m) in deps.graph.out(v) {
            let usable = m & allowed;
            if usable == 0 || comp_of[w as usize] != c {
                continue;
            }
            let t = usable & usable.wrapping_neg();
            if w == start {
                let mut steps = vec![Step { from: v, t }];
                let mut at = v;
                while let Some(&(p, pt)) = parent.get(&at) {
                    steps.push(Step { from: p, t: pt });
                    at = p;
                }
                steps.reverse();
                return steps;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = parent.entry(w) {
                e.insert((v, t));
                queue.push_back(w);
            }
        }
    }
    Vec::new()
}

fn describe(kind: &str) -> &'static str {
    match kind.split('-').next().unwrap_or("") {
        "G0" => "write-write dependencies only (dirty write)",
        "G1c" => "write-write and write-read dependencies (circular information flow)",
        "G2" => "two or more anti-dependencies (rw)",
        _ => "exactly one anti-dependency (rw)",
    }
}

fn explain(deps: &Deps, txns: &[Txn], kind: &str, steps: &[Step], note: &str) -> String {
    let mut out = format!(
        "{note}a cycle of {} transactions with {}{}.\nLet:\n",
        steps.len(),
        describe(kind),
        if kind.ends_with("-realtime") {
            ", which needs real-time order"
        } else if kind.ends_with("-process") {
            ", which needs process order"
        } else {
            ""
        }
    );
    for s in steps {
        let t = &txns[s.from as usize];
        out.push_str(&format!("  {} = {}\n", t.name, t.json));
    }
    out.push_str("Then:\n");
    for (i, s) in steps.iter().enumerate() {
        let to = steps[(i + 1) % steps.len()].from;
        let last = i + 1 == steps.len();
        out.push_str(&format!(
            "  - {}{} < {}, because {}{}\n",
            if last { "However, " } else { "" },
            txns[s.from as usize].name,
            txns[to as usize].name,
            deps.explain(txns, s.from, to, s.t),
            if last { ": a contradiction!" } else { "." }
        ));
    }
    out
}

/// Finds and explains one cycle per strongly connected component of the
/// graph restricted to data edges plus `extra` ([`PROCESS`] and/or
/// [`REALTIME`]). `budget` bounds the BFS work over the whole graph.
pub fn search(deps: &Deps, txns: &[Txn], extra: u8, budget: u64) -> Vec<Anomaly> {
    let allowed = WW | WR | RW | extra;
    let (comps, comp_of) = deps.graph.sccs(allowed);
    if comps.is_empty() {
        return Vec::new();
    }
    let specs = specs(extra);
    let subs: Vec<Vec<u32>> = specs
        .iter()
        .map(|s| deps.graph.sccs(s.anchor | s.path).1)
        .collect();
    let mut search = Search {
        deps,
        budget,
        exhausted: false,
    };
    let mut out = Vec::new();
    for comp in &comps {
        let mut found = None;
        for (spec, sub) in specs.iter().zip(&subs) {
            let mut anchors = Vec::new();
            for &a in comp {
                for &(b, m) in deps.graph.out(a) {
                    if m & spec.anchor != 0
                        && sub[a as usize] != u32::MAX
                        && sub[a as usize] == sub[b as usize]
                    {
                        anchors.push((a, b));
                    }
                }
            }
            if let Some(cycle) = search.shortest(spec, sub, &anchors) {
                found = Some((spec.name.to_string(), cycle, ""));
                break;
            }
            if search.exhausted {
                break;
            }
        }
        if found.is_none() {
            let cycle = any_cycle(deps, &comp_of, comp, allowed);
            found = Some((
                classify(&cycle),
                cycle,
                "cycle search budget exhausted, so this need not be the most severe cycle here; ",
            ));
        }
        if let Some((kind, cycle, note)) = found {
            let text = explain(deps, txns, &kind, &cycle, note);
            out.push(Anomaly::new(kind, text));
        }
    }
    out
}
