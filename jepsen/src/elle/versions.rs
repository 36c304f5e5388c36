//! Version orders of list-append keys, inferred from reads.
//!
//! Every read returns a whole list, so it reveals the order of every append
//! it saw. For each key, the distinct non-empty lists read by committed
//! transactions, sorted by length, must each be a prefix of the next; the
//! longest one is then the key's version order. Two reads where neither is a
//! prefix of the other are an `incompatible-order` anomaly (no single
//! sequence of appends explains both); the longest read is still used, so
//! that the rest of the analysis can go on.
//!
//! An element appended but never read is *unobserved*: it came after every
//! observed element (otherwise some read containing a later element would
//! contain it), but its order relative to other unobserved elements is
//! unknown, so no edge is inferred between unobserved appends.
//!
//! Deliberately not here: reads of `fail`/`info` transactions (unknown), and
//! any guess from real time or process order (version orders come from reads
//! only, as in Elle).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::txn::{Elem, Key, Mop, Txn};
use crate::checker::Anomaly;

/// The element a version follows: `None` is the initial, empty list.
pub type Prev = Option<Elem>;

/// Inferred version order per key.
#[derive(Debug, Default)]
pub struct Versions {
    order: HashMap<Key, Vec<Elem>>,
    position: HashMap<(Key, Elem), usize>,
}

impl Versions {
    /// The version order of `key` (observed elements only).
    pub fn order(&self, key: Key) -> &[Elem] {
        self.order.get(&key).map_or(&[], Vec::as_slice)
    }

    /// The element directly before `elem` on `key`; for an unobserved
    /// element, the last observed one.
    pub fn prev(&self, key: Key, elem: Elem) -> Prev {
        let order = self.order(key);
        match self.position.get(&(key, elem)) {
            Some(&0) => None,
            Some(&i) => order.get(i - 1).copied(),
            None => order.last().copied(),
        }
    }
}

fn show(xs: &[Elem]) -> String {
    let items: Vec<String> = xs.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(","))
}

/// Infers version orders from the reads of committed transactions, and
/// reports incompatible orders.
pub fn infer(txns: &[Txn]) -> (Versions, Vec<Anomaly>) {
    // key -> list read -> names of the txns that read it
    let mut reads: BTreeMap<Key, BTreeMap<Vec<Elem>, BTreeSet<usize>>> = BTreeMap::new();
    for (t, txn) in txns.iter().enumerate().filter(|(_, t)| t.is_ok()) {
        for m in &txn.mops {
            if let Mop::Read { key, list: Some(xs) } = m
                && !xs.is_empty()
            {
                reads
                    .entry(*key)
                    .or_default()
                    .entry(xs.clone())
                    .or_default()
                    .insert(t);
            }
        }
    }
    let mut versions = Versions::default();
    let mut anomalies = Vec::new();
    for (key, lists) in reads {
        let mut lists: Vec<(Vec<Elem>, BTreeSet<usize>)> = lists.into_iter().collect();
        lists.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)));
        if let Some(w) = lists.windows(2).find(|w| !w[1].0.starts_with(&w[0].0)) {
            let who = |s: &BTreeSet<usize>| {
                s.iter()
                    .map(|&t| txns[t].name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            anomalies.push(Anomaly::new(
                "incompatible-order",
                format!(
                    "key {key} was read as {} (by {}) and as {} (by {}); neither is a prefix of the other, so no single order of appends explains both",
                    show(&w[0].0),
                    who(&w[0].1),
                    show(&w[1].0),
                    who(&w[1].1)
                ),
            ));
        }
        let longest = lists.pop().map(|(xs, _)| xs).unwrap_or_default();
        let mut order = Vec::with_capacity(longest.len());
        for e in longest {
            if let std::collections::hash_map::Entry::Vacant(v) = versions.position.entry((key, e)) {
                v.insert(order.len());
                order.push(e);
            }
        }
        versions.order.insert(key, order);
    }
    (versions, anomalies)
}
