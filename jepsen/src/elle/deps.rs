//! The dependency graph of a list-append history, with every edge's reason.
//!
//! Vertices are transactions (indices into the parsed transactions). Only
//! `ok` transactions and `info` ones (which may have committed) get edges;
//! reads of `info` transactions are unknown and add none.
//!
//! * `ww`: `T2` appended `e` to `k` directly after `T1`'s element in the
//!   version order (an unobserved `e` follows the last observed element).
//! * `wr`: `T2` read `k` ending in `T1`'s element.
//! * `rw`: `T1` read `k` ending in the element that `T2`'s append follows
//!   (or read `k` empty and `T2` appended the first element): `T1` did not
//!   see `T2`'s append.
//! * `process`: successive `ok` transactions of one process.
//! * `realtime`: `T1` completed `ok` before `T2` was invoked. Only a
//!   transitive reduction is built (Elle's frontier sweep): when `T2` is
//!   invoked it gets an edge from every completed transaction not already
//!   implied by a later completion, so the edge count stays
//!   O(transactions x concurrency).
//!
//! Invariant: every edge type on every edge has a recorded [`Why`].
//!
//! Deliberately not here: cycle search, and edges into failed transactions.

use std::collections::HashMap;

use super::graph::{Graph, PROCESS, REALTIME, RW, WR, WW};
use super::txn::{Elem, Key, Mop, Txn};
use super::versions::{Prev, Versions};
use crate::history::{History, Outcome};

/// Why an edge of one type exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Why {
    Ww { key: Key, prev: Elem, elem: Elem },
    Wr { key: Key, elem: Elem },
    Rw { key: Key, read_last: Prev, elem: Elem },
    Process { process: u64 },
    Realtime { completed: u64, invoked: u64 },
}

/// The graph plus the reason of every (edge, type).
#[derive(Debug)]
pub struct Deps {
    pub graph: Graph,
    why: HashMap<(u32, u32, u8), Why>,
}

impl Deps {
    fn add(&mut self, a: usize, b: usize, t: u8, why: Why) {
        if a == b {
            return;
        }
        let (a, b) = (a as u32, b as u32);
        self.graph.link(a, b, t);
        self.why.entry((a, b, t)).or_insert(why);
    }

    /// Why `a -> b` has type `t`.
    pub fn why(&self, a: u32, b: u32, t: u8) -> Option<&Why> {
        self.why.get(&(a, b, t))
    }

    /// The edge in words, e.g. "T3 appended 5 to key 1 after T1 appended 4 (ww)".
    pub fn explain(&self, txns: &[Txn], a: u32, b: u32, t: u8) -> String {
        let (x, y) = (&txns[a as usize].name, &txns[b as usize].name);
        match self.why(a, b, t) {
            Some(Why::Ww { key, prev, elem }) => {
                format!("{y} appended {elem} to key {key} after {x} appended {prev} (ww)")
            }
            Some(Why::Wr { key, elem }) => {
                format!("{y} read key {key} and observed {x}'s append of {elem} (wr)")
            }
            Some(Why::Rw {
                key,
                read_last: Some(last),
                elem,
            }) => format!(
                "{x} read key {key} ending in {last} and did not observe {y}'s append of {elem}, which came next (rw)"
            ),
            Some(Why::Rw {
                key,
                read_last: None,
                elem,
            }) => format!(
                "{x} read key {key} as empty and did not observe {y}'s append of {elem}, which came first (rw)"
            ),
            Some(Why::Process { process }) => {
                format!("{x} completed before {y} began, on the same process {process} (process)")
            }
            Some(Why::Realtime { completed, invoked }) => format!(
                "{x} completed (index {completed}) before {y} was invoked (index {invoked}) (realtime)"
            ),
            None => format!("{x} precedes {y}"),
        }
    }
}

/// Builds the graph; `extra` selects [`PROCESS`] and/or [`REALTIME`] edges.
pub fn build(history: &History, txns: &[Txn], versions: &Versions, extra: u8) -> Deps {
    let mut deps = Deps {
        graph: Graph::new(txns.len()),
        why: HashMap::new(),
    };
    let live = |t: &Txn| t.outcome != Outcome::Fail;
    let mut writer: HashMap<(Key, Elem), usize> = HashMap::new();
    let mut readers: HashMap<(Key, Prev), Vec<usize>> = HashMap::new();
    for (t, txn) in txns.iter().enumerate().filter(|(_, t)| live(t)) {
        for m in &txn.mops {
            match m {
                Mop::Append { key, elem } => {
                    writer.insert((*key, *elem), t);
                }
                Mop::Read { key, list: Some(xs) } => {
                    let r = readers.entry((*key, xs.last().copied())).or_default();
                    if r.last() != Some(&t) {
                        r.push(t);
                    }
                }
                Mop::Read { list: None, .. } => {}
            }
        }
    }
    for (t, txn) in txns.iter().enumerate().filter(|(_, t)| live(t)) {
        for m in &txn.mops {
            match m {
                Mop::Read { key, list: Some(xs) } => {
                    if let Some(&last) = xs.last()
                        && let Some(&w) = writer.get(&(*key, last))
                    {
                        deps.add(
                            w,
                            t,
                            WR,
                            Why::Wr {
                                key: *key,
                                elem: last,
                            },
                        );
                    }
                }
                Mop::Read { list: None, .. } => {}
                Mop::Append { key, elem } => {
                    let prev = versions.prev(*key, *elem);
                    if let Some(p) = prev
                        && let Some(&w) = writer.get(&(*key, p))
                    {
                        deps.add(
                            w,
                            t,
                            WW,
                            Why::Ww {
                                key: *key,
                                prev: p,
                                elem: *elem,
                            },
                        );
                    }
                    for &r in readers.get(&(*key, prev)).map_or(&[][..], Vec::as_slice) {
                        deps.add(
                            r,
                            t,
                            RW,
                            Why::Rw {
                                key: *key,
                                read_last: prev,
                                elem: *elem,
                            },
                        );
                    }
                }
            }
        }
    }
    if extra & PROCESS != 0 {
        let mut last: HashMap<u64, usize> = HashMap::new();
        for (t, txn) in txns.iter().enumerate().filter(|(_, t)| t.is_ok()) {
            if let Some(p) = last.insert(txn.process, t) {
                deps.add(p, t, PROCESS, Why::Process { process: txn.process });
            }
        }
    }
    if extra & REALTIME != 0 {
        realtime(history, txns, &mut deps);
    }
    deps
}

fn realtime(history: &History, txns: &[Txn], deps: &mut Deps) {
    // history position -> (txn, is the invocation)
    let mut events: Vec<(usize, usize, bool)> = Vec::new();
    for (t, txn) in txns.iter().enumerate() {
        match txn.outcome {
            Outcome::Fail => {}
            Outcome::Info => events.push((txn.invoke, t, true)),
            Outcome::Ok => {
                events.push((txn.invoke, t, true));
                if let Some(c) = txn.completion {
                    events.push((c, t, false));
                }
            }
        }
    }
    events.sort_unstable();
    let mut frontier: Vec<usize> = Vec::new();
    let mut preds: HashMap<usize, Vec<usize>> = HashMap::new();
    for (_, t, is_invoke) in events {
        if is_invoke {
            for &p in &frontier {
                let completed = txns[p].completion.map_or(0, |c| history.index_of(c));
                let invoked = history.index_of(txns[t].invoke);
                deps.add(p, t, REALTIME, Why::Realtime { completed, invoked });
            }
            preds.insert(t, frontier.clone());
        } else {
            if let Some(implied) = preds.remove(&t) {
                frontier.retain(|f| !implied.contains(f));
            }
            frontier.push(t);
        }
    }
}
