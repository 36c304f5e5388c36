//! List-append anomalies visible without a dependency graph.
//!
//! Over committed (`ok`) transactions:
//! * `duplicate-elements`: a read list holds an element twice (every append
//!   is unique, so a correct list never does);
//! * `internal`: a read disagrees with the transaction's own earlier reads
//!   and appends (after appending `e` the list must end in `e`; after reading
//!   `xs` the next read must be `xs` plus what it appended since);
//! * `future-read`: a transaction reads an element it only appends later;
//! * `G1a` (aborted read): a read contains an element appended by a
//!   transaction that failed;
//! * `G1b` (intermediate read): a read ends in an element that another
//!   transaction later followed with another append to the same key, i.e. it
//!   saw that transaction's non-final state.
//!
//! Each is reported once per offending read (internal and future-read once
//! per transaction), with the transactions named.
//!
//! Deliberately not here: anything needing the version order (see
//! [`super::versions`]) or cycles (see [`super::cycles`]).

use std::collections::{BTreeMap, HashMap};

use super::txn::{Elem, Key, Mop, Txn};
use crate::checker::Anomaly;
use crate::history::Outcome;

fn show(xs: &[Elem]) -> String {
    let items: Vec<String> = xs.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(","))
}

/// Runs every check above.
pub fn check(txns: &[Txn]) -> Vec<Anomaly> {
    let mut out = Vec::new();
    // (key, elem) -> failed txn that appended it
    let mut failed: HashMap<(Key, Elem), usize> = HashMap::new();
    // (key, elem) -> txn that appended it and later appended to key again
    let mut intermediate: HashMap<(Key, Elem), usize> = HashMap::new();
    for (t, txn) in txns.iter().enumerate() {
        let mut last: HashMap<Key, Elem> = HashMap::new();
        for m in &txn.mops {
            if let Mop::Append { key, elem } = m {
                if txn.outcome == Outcome::Fail {
                    failed.insert((*key, *elem), t);
                }
                if let Some(prev) = last.insert(*key, *elem) {
                    intermediate.insert((*key, prev), t);
                }
            }
        }
    }
    for (t, txn) in txns.iter().enumerate().filter(|(_, t)| t.is_ok()) {
        duplicates(txn, &mut out);
        internal(txn, &mut out);
        future_read(txn, &mut out);
        for m in &txn.mops {
            let Mop::Read { key, list: Some(xs) } = m else {
                continue;
            };
            for e in xs {
                if let Some(&w) = failed.get(&(*key, *e)) {
                    out.push(Anomaly::new(
                        "G1a",
                        format!(
                            "{} read key {key} as {}, which contains {e}, appended by {}, which failed (aborted read).\n{}\n{}",
                            txn.name,
                            show(xs),
                            txns[w].name,
                            txn.json,
                            txns[w].json
                        ),
                    ));
                }
            }
            if let Some(last) = xs.last()
                && let Some(&w) = intermediate.get(&(*key, *last))
                && w != t
            {
                out.push(Anomaly::new(
                    "G1b",
                    format!(
                        "{} read key {key} as {}, ending in {last}, but {} appended more to key {key} after {last}: {} saw an intermediate state (intermediate read).\n{}\n{}",
                        txn.name,
                        show(xs),
                        txns[w].name,
                        txn.name,
                        txn.json,
                        txns[w].json
                    ),
                ));
            }
        }
    }
    out
}

fn duplicates(txn: &Txn, out: &mut Vec<Anomaly>) {
    for m in &txn.mops {
        let Mop::Read { key, list: Some(xs) } = m else {
            continue;
        };
        let mut counts: BTreeMap<Elem, usize> = BTreeMap::new();
        for e in xs {
            *counts.entry(*e).or_default() += 1;
        }
        let dups: Vec<String> = counts
            .iter()
            .filter(|(_, n)| **n > 1)
            .map(|(e, n)| format!("{e} ({n} times)"))
            .collect();
        if !dups.is_empty() {
            out.push(Anomaly::new(
                "duplicate-elements",
                format!(
                    "{} read key {key} as {}, which repeats {} although every append is unique.\n{}",
                    txn.name,
                    show(xs),
                    dups.join(", "),
                    txn.json
                ),
            ));
        }
    }
}

/// What a transaction knows a key holds, from its own micro-ops.
enum Expect {
    Exactly(Vec<Elem>),
    /// Something unknown, then these elements.
    EndsWith(Vec<Elem>),
}

fn internal(txn: &Txn, out: &mut Vec<Anomaly>) {
    let mut state: HashMap<Key, Expect> = HashMap::new();
    for m in &txn.mops {
        match m {
            Mop::Append { key, elem } => match state.get_mut(key) {
                Some(Expect::Exactly(v) | Expect::EndsWith(v)) => v.push(*elem),
                None => {
                    state.insert(*key, Expect::EndsWith(vec![*elem]));
                }
            },
            Mop::Read { key, list: Some(xs) } => {
                let expected = match state.get(key) {
                    Some(Expect::Exactly(s)) if s != xs => Some(show(s)),
                    Some(Expect::EndsWith(s)) if !xs.ends_with(s) => {
                        Some(format!("[...,{}]", show(s).trim_start_matches('[')))
                    }
                    _ => None,
                };
                if let Some(expected) = expected {
                    out.push(Anomaly::new(
                        "internal",
                        format!(
                            "{} read key {key} as {}, but its own earlier reads and appends say it must be {expected}.\n{}",
                            txn.name,
                            show(xs),
                            txn.json
                        ),
                    ));
                    return;
                }
                state.insert(*key, Expect::Exactly(xs.clone()));
            }
            Mop::Read { list: None, .. } => {}
        }
    }
}

fn future_read(txn: &Txn, out: &mut Vec<Anomaly>) {
    for (j, m) in txn.mops.iter().enumerate() {
        let Mop::Append { key, elem } = m else {
            continue;
        };
        let seen_before = txn.mops[..j]
            .iter()
            .any(|r| matches!(r, Mop::Read { key: k, list: Some(xs) } if k == key && xs.contains(elem)));
        if seen_before {
            out.push(Anomaly::new(
                "future-read",
                format!(
                    "{} read {elem} in key {key} before it appended {elem} itself.\n{}",
                    txn.name, txn.json
                ),
            ));
            return;
        }
    }
}
