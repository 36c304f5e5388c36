//! A directed graph whose edges carry a set of dependency types, and its
//! strongly connected components.
//!
//! Edge types are bits ([`WW`], [`WR`], [`RW`], [`PROCESS`], [`REALTIME`]);
//! parallel edges between the same two vertices are merged into one edge
//! with the union of their bits. There are no self-edges.
//!
//! Tarjan's algorithm is iterative, so deep graphs cannot overflow the
//! stack. Only components with more than one vertex are returned (a
//! component of one vertex has no cycle, since there are no self-edges).
//!
//! Deliberately not here: what the edges mean (see [`super::deps`]) or which
//! cycles matter (see [`super::cycles`]).

use std::collections::HashMap;

/// Write-write: the target appended directly after the source.
pub const WW: u8 = 1;
/// Write-read: the target read the source's append.
pub const WR: u8 = 2;
/// Read-write (anti-dependency): the source read a state the target's append overwrote.
pub const RW: u8 = 4;
/// Same process, one after the other.
pub const PROCESS: u8 = 8;
/// The source completed before the target was invoked.
pub const REALTIME: u8 = 16;

/// The short name of one edge type.
pub fn type_name(t: u8) -> &'static str {
    match t {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PROCESS => "process",
        REALTIME => "realtime",
        _ => "?",
    }
}

/// Adjacency lists with merged edge types.
#[derive(Debug, Default)]
pub struct Graph {
    adj: Vec<Vec<(u32, u8)>>,
    slot: HashMap<(u32, u32), usize>,
}

impl Graph {
    pub fn new(vertices: usize) -> Graph {
        Graph {
            adj: vec![Vec::new(); vertices],
            slot: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.adj.len()
    }

    pub fn is_empty(&self) -> bool {
        self.adj.is_empty()
    }

    /// Adds type `t` to the edge `a -> b` (ignored if `a == b`).
    pub fn link(&mut self, a: u32, b: u32, t: u8) {
        if a == b {
            return;
        }
        let adj = &mut self.adj;
        let i = *self.slot.entry((a, b)).or_insert_with(|| {
            adj[a as usize].push((b, 0));
            adj[a as usize].len() - 1
        });
        adj[a as usize][i].1 |= t;
    }

    /// Outgoing edges of `a`.
    pub fn out(&self, a: u32) -> &[(u32, u8)] {
        &self.adj[a as usize]
    }

    /// Components with more than one vertex of the subgraph of edges having
    /// any type in `allowed`, and for every vertex its component id
    /// (`u32::MAX` for vertices in no such component).
    pub fn sccs(&self, allowed: u8) -> (Vec<Vec<u32>>, Vec<u32>) {
        const UNSEEN: u32 = u32::MAX;
        let n = self.adj.len();
        let mut index = vec![UNSEEN; n];
        let mut low = vec![0u32; n];
        let mut on_stack = vec![false; n];
        let mut stack: Vec<u32> = Vec::new();
        let mut comps: Vec<Vec<u32>> = Vec::new();
        let mut comp_of = vec![u32::MAX; n];
        let mut counter = 0u32;
        for root in 0..n as u32 {
            if index[root as usize] != UNSEEN {
                continue;
            }
            let mut calls: Vec<(u32, usize)> = vec![(root, 0)];
            index[root as usize] = counter;
            low[root as usize] = counter;
            counter += 1;
            stack.push(root);
            on_stack[root as usize] = true;
            while let Some(frame) = calls.last_mut() {
                let v = frame.0;
                let edges = &self.adj[v as usize];
                let mut child = None;
                while frame.1 < edges.len() {
                    let (w, t) = edges[frame.1];
                    frame.1 += 1;
                    if t & allowed == 0 {
                        continue;
                    }
                    if index[w as usize] == UNSEEN {
                        child = Some(w);
                        break;
                    } else if on_stack[w as usize] {
                        low[v as usize] = low[v as usize].min(index[w as usize]);
                    }
                }
                if let Some(w) = child {
                    index[w as usize] = counter;
                    low[w as usize] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w as usize] = true;
                    calls.push((w, 0));
                    continue;
                }
                calls.pop();
                if let Some(parent) = calls.last() {
                    let p = parent.0 as usize;
                    low[p] = low[p].min(low[v as usize]);
                }
                if low[v as usize] == index[v as usize] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w as usize] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    if comp.len() > 1 {
                        comp.sort_unstable();
                        for &w in &comp {
                            comp_of[w as usize] = comps.len() as u32;
                        }
                        comps.push(comp);
                    }
                }
            }
        }
        (comps, comp_of)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_edges_and_finds_components() {
        let mut g = Graph::new(6);
        g.link(0, 1, WW);
        g.link(0, 1, RW);
        g.link(1, 2, WR);
        g.link(2, 0, RW);
        g.link(3, 4, WW);
        g.link(4, 3, PROCESS);
        g.link(5, 5, WW);
        assert_eq!(g.out(0), &[(1, WW | RW)]);
        assert!(g.out(5).is_empty());
        let (comps, comp_of) = g.sccs(WW | WR | RW | PROCESS);
        assert_eq!(comps, vec![vec![0, 1, 2], vec![3, 4]]);
        assert_eq!(comp_of, vec![0, 0, 0, 1, 1, u32::MAX]);
        let (comps, _) = g.sccs(WW | WR);
        assert!(comps.is_empty());
    }

    #[test]
    fn deep_chain_does_not_overflow() {
        let n = 200_000u32;
        let mut g = Graph::new(n as usize);
        for i in 0..n {
            g.link(i, (i + 1) % n, WW);
        }
        let (comps, _) = g.sccs(WW);
        assert_eq!(comps.len(), 1);
        assert_eq!(comps[0].len(), n as usize);
    }
}
