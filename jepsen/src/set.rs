//! The set checker: every acknowledged insert survives.
//!
//! Workload shape: `f = "add"` with a unique integer element as value, and
//! `f = "read"` whose `ok` value is the list of all elements present. The
//! *final read* is the last `ok` read in the history (the harness takes it
//! after healing every fault).
//!
//! Anomalies, all judged against the final read:
//! * `lost`: an add that completed `ok` before the final read was invoked is
//!   absent;
//! * `unexpected`: a present element that no add ever attempted, or that only
//!   failed adds attempted (`fail` means it definitely did not happen);
//! * `duplicate`: an element present more than once.
//!
//! Adds that ended `info`, or completed `ok` while the final read was in
//! flight, may be present or absent. With no `ok` read the verdict is
//! `unknown`.
//!
//! Deliberately not checked: intermediate reads (Jepsen's `set-full`
//! stale/never-read analysis); only the final state counts.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::checker::{Anomaly, Checker, Verdict};
use crate::history::{History, HistoryError, Outcome, bad_value};

/// The set checker (no configuration).
#[derive(Clone, Copy, Debug, Default)]
pub struct SetChecker;

fn element(history: &History, position: usize, v: &Value) -> Result<i64, HistoryError> {
    v.as_i64().ok_or_else(|| {
        bad_value(
            history,
            position,
            format!("set elements must be integers, not {v}"),
        )
    })
}

impl Checker for SetChecker {
    fn name(&self) -> &'static str {
        "set"
    }

    fn check(&self, history: &History) -> Result<Verdict, HistoryError> {
        // element -> (any add attempt that did not fail, adds acked ok: completion positions)
        let mut attempted: HashMap<i64, bool> = HashMap::new();
        let mut acked: HashMap<i64, usize> = HashMap::new();
        let mut final_read: Option<(usize, usize)> = None; // (invoke, completion)
        for pair in history.pairs() {
            let inv = history.op(pair.invoke);
            match inv.f.as_str() {
                "add" => {
                    let e = element(history, pair.invoke, &inv.value)?;
                    let live = attempted.entry(e).or_insert(false);
                    *live |= pair.outcome != Outcome::Fail;
                    if let (Outcome::Ok, Some(c)) = (pair.outcome, pair.completion) {
                        acked.insert(e, c);
                    }
                }
                "read" => {
                    if let (Outcome::Ok, Some(c)) = (pair.outcome, pair.completion)
                        && final_read.is_none_or(|(_, prev)| c > prev)
                    {
                        final_read = Some((pair.invoke, c));
                    }
                }
                other => {
                    return Err(bad_value(
                        history,
                        pair.invoke,
                        format!("the set workload has only add and read ops, not {other:?}"),
                    ));
                }
            }
        }
        let Some((read_inv, read_pos)) = final_read else {
            return Ok(Verdict::unknown("no-final-read", "no read completed ok"));
        };
        let read_index = history.index_of(read_pos);
        let Value::Array(items) = &history.op(read_pos).value else {
            return Err(bad_value(
                history,
                read_pos,
                "an ok read's value must be a list of elements",
            ));
        };
        let mut present: BTreeMap<i64, usize> = BTreeMap::new();
        for v in items {
            *present.entry(element(history, read_pos, v)?).or_default() += 1;
        }

        let mut anomalies = Vec::new();
        let mut lost: Vec<(i64, usize)> = acked
            .iter()
            .filter(|(e, c)| **c < read_inv && !present.contains_key(e))
            .map(|(e, c)| (*e, *c))
            .collect();
        lost.sort_unstable();
        for (e, c) in lost {
            anomalies.push(Anomaly::new(
                "lost",
                format!(
                    "element {e} was acknowledged (index {}) before the final read (index {read_index}) began, but the final read does not contain it",
                    history.index_of(c)
                ),
            ));
        }
        for (e, n) in &present {
            match attempted.get(e) {
                None => anomalies.push(Anomaly::new(
                    "unexpected",
                    format!("the final read (index {read_index}) contains {e}, which no add ever attempted"),
                )),
                Some(false) => anomalies.push(Anomaly::new(
                    "unexpected",
                    format!(
                        "the final read (index {read_index}) contains {e}, but every add of {e} failed (definitely did not happen)"
                    ),
                )),
                Some(true) => {}
            }
            if *n > 1 {
                anomalies.push(Anomaly::new(
                    "duplicate",
                    format!("the final read (index {read_index}) contains {e} {n} times"),
                ));
            }
        }
        Ok(Verdict::from_anomalies(anomalies))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::Validity;
    use crate::history::{OpType, OpType::*, history_of};
    use proptest::prelude::*;
    use serde_json::json;

    fn check(events: &[(u64, OpType, &str, Value)]) -> Verdict {
        SetChecker
            .check(&history_of(events).expect("well-formed"))
            .expect("checkable")
    }

    #[test]
    fn info_adds_may_be_present_or_absent() {
        let v = check(&[
            (0, Invoke, "add", json!(1)),
            (0, Ok, "add", json!(1)),
            (1, Invoke, "add", json!(2)),
            (1, Info, "add", json!(2)),
            (2, Invoke, "add", json!(3)),
            (2, Info, "add", json!(3)),
            (3, Invoke, "add", json!(4)),
            (3, Fail, "add", json!(4)),
            (0, Invoke, "read", Value::Null),
            (0, Ok, "read", json!([1, 2])),
        ]);
        assert_eq!(v, Verdict::valid());
    }

    #[test]
    fn lost_unexpected_and_duplicate_are_detected() {
        let v = check(&[
            (0, Invoke, "add", json!(1)),
            (0, Ok, "add", json!(1)),
            (0, Invoke, "add", json!(2)),
            (0, Ok, "add", json!(2)),
            (1, Invoke, "add", json!(3)),
            (1, Fail, "add", json!(3)),
            (0, Invoke, "read", Value::Null),
            (0, Ok, "read", json!([2, 3, 9, 2])),
        ]);
        assert_eq!(v.valid, Validity::Invalid);
        assert_eq!(v.kinds(), ["lost", "duplicate", "unexpected"]);
        assert!(
            v.anomalies[0]
                .explanation
                .starts_with("element 1 was acknowledged (index 1)")
        );
        assert!(v.explain().contains("every add of 3 failed"));
        assert!(v.explain().contains("contains 9, which no add ever attempted"));
    }

    #[test]
    fn only_the_final_read_counts_and_concurrent_acks_are_unknown() {
        let v = check(&[
            (0, Invoke, "read", Value::Null),
            (0, Ok, "read", json!([])),
            (1, Invoke, "add", json!(1)),
            (0, Invoke, "read", Value::Null),
            (1, Ok, "add", json!(1)),
            (0, Ok, "read", json!([])),
        ]);
        assert_eq!(v, Verdict::valid());
        let v = check(&[(1, Invoke, "add", json!(1)), (1, Ok, "add", json!(1))]);
        assert_eq!(v.valid, Validity::Unknown);
        let h = history_of(&[(1, Invoke, "add", json!("x"))]).expect("ok");
        assert!(SetChecker.check(&h).is_err());
    }

    proptest! {
        /// A correct set keeps every ok add and may or may not keep info adds;
        /// removing any acknowledged element from the final read is caught.
        #[test]
        fn model_set_is_valid_and_drops_are_lost(
            outcomes in prop::collection::vec(0u8..4, 1..30),
            drop in any::<prop::sample::Index>(),
        ) {
            let mut events = Vec::new();
            let mut present = Vec::new();
            let mut acked = Vec::new();
            for (i, o) in outcomes.iter().enumerate() {
                let p = i as u64;
                events.push((p, Invoke, "add", json!(i)));
                match o {
                    0 | 1 => { events.push((p, Ok, "add", json!(i))); present.push(i); acked.push(i); }
                    2 => events.push((p, Fail, "add", json!(i))),
                    _ => { events.push((p, Info, "add", json!(i))); if i % 2 == 0 { present.push(i); } }
                }
            }
            let mut with_read = events.clone();
            with_read.push((1000, Invoke, "read", Value::Null));
            with_read.push((1000, Ok, "read", json!(present)));
            prop_assert_eq!(check(&with_read), Verdict::valid());
            if !acked.is_empty() {
                let gone = acked[drop.index(acked.len())];
                present.retain(|e| *e != gone);
                events.push((1000, Invoke, "read", Value::Null));
                events.push((1000, Ok, "read", json!(present)));
                let v = check(&events);
                prop_assert_eq!(v.kinds(), vec!["lost"]);
            }
        }
    }
}
