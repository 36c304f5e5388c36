//! An Elle-style checker for the list-append workload.
//!
//! Pipeline (after Kingsbury & Alvaro, "Elle", VLDB 2020; names as in Elle):
//! 1. [`txn`]: parse transactions, check recoverability (unique appends);
//! 2. [`direct`]: anomalies visible in single transactions or pairs:
//!    duplicates, internal inconsistency, future reads, G1a, G1b;
//! 3. [`versions`]: version order per key from the longest read, and
//!    incompatible orders;
//! 4. [`deps`]: the dependency graph (ww, wr, rw, plus process and/or
//!    real-time edges as the model requires), every edge with its reason;
//! 5. [`cycles`]: Tarjan SCCs, then a shortest cycle per component, named
//!    G0 / G1c / G-single / G2-item, or their `-process` / `-realtime`
//!    variants when the cycle needs those edges.
//!
//! Every anomaly found is forbidden by each of the supported models
//! (serializable and stronger); the verdict is invalid iff there is one.
//! The default model is strict serializable, QuorumDB's target.
//!
//! Deliberately not here: weaker models (read committed, snapshot isolation:
//! their verdicts would need per-model filtering of anomalies), the
//! rw-register workload, G-nonadjacent as its own class, predicate anomalies,
//! and `lost-update` / `dirty-update` as separate reports (in this workload
//! both always also show up as a cycle or as G1a). Reads of elements that no
//! transaction ever appended are not reported (they add no edges).

pub mod cycles;
pub mod deps;
pub mod direct;
pub mod graph;
pub mod txn;
pub mod versions;

use crate::checker::{Checker, Verdict};
use crate::history::{History, HistoryError};

/// Which ordering constraints the history must respect beyond serializability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ConsistencyModel {
    /// Data dependencies only (PL-3).
    Serializable,
    /// Plus the order of each process's transactions.
    StrongSessionSerializable,
    /// Plus real-time order (PL-SS).
    #[default]
    StrictSerializable,
}

impl ConsistencyModel {
    fn extra_edges(self) -> u8 {
        match self {
            ConsistencyModel::Serializable => 0,
            ConsistencyModel::StrongSessionSerializable => graph::PROCESS,
            // Process order is implied by real-time order for ok transactions.
            ConsistencyModel::StrictSerializable => graph::REALTIME,
        }
    }
}

/// The list-append checker.
#[derive(Clone, Debug)]
pub struct ListAppendChecker {
    pub model: ConsistencyModel,
    /// BFS edge relaxations allowed for the whole cycle search.
    pub cycle_search_budget: u64,
}

impl Default for ListAppendChecker {
    fn default() -> ListAppendChecker {
        ListAppendChecker {
            model: ConsistencyModel::StrictSerializable,
            cycle_search_budget: 50_000_000,
        }
    }
}

impl ListAppendChecker {
    pub fn new(model: ConsistencyModel) -> ListAppendChecker {
        ListAppendChecker {
            model,
            ..ListAppendChecker::default()
        }
    }
}

impl Checker for ListAppendChecker {
    fn name(&self) -> &'static str {
        "list-append"
    }

    fn check(&self, history: &History) -> Result<Verdict, HistoryError> {
        let txns = txn::parse(history)?;
        let mut anomalies = direct::check(&txns);
        let (versions, incompatible) = versions::infer(&txns);
        anomalies.extend(incompatible);
        let extra = self.model.extra_edges();
        let deps = deps::build(history, &txns, &versions, extra);
        anomalies.extend(cycles::search(&deps, &txns, extra, self.cycle_search_budget));
        Ok(Verdict::from_anomalies(anomalies))
    }
}

#[cfg(test)]
mod tests;
