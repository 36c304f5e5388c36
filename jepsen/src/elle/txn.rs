//! Transactions of the list-append workload, parsed from a history.
//!
//! A transaction is one invoke/completion pair with `f = "txn"` whose value
//! is a list of micro-ops: `["append", k, e]` or `["r", k, xs]` (`xs` is
//! `null` on the invocation and the whole list on an `ok` completion; an `ok`
//! read of `null` means the empty list, as in Elle).
//!
//! Invariants established here (violations are [`HistoryError`]s):
//! * keys and elements are integers;
//! * the completion lists the same micro-ops as the invocation (same
//!   functions, keys and appended elements);
//! * every `(key, element)` is appended at most once in the whole history:
//!   recoverability, which the inference in [`super::versions`] relies on.
//!
//! Reads of transactions that failed or ended `info` are unknown and are
//! kept as `None`; their appends are kept (a failed append matters for G1a,
//! an `info` one may have committed).

use std::collections::HashMap;

use serde_json::Value;

use crate::history::{History, HistoryError, Outcome, bad_value};

pub type Key = i64;
pub type Elem = i64;

/// One micro-operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mop {
    Append {
        key: Key,
        elem: Elem,
    },
    /// `list` is `None` when the read's result is unknown.
    Read {
        key: Key,
        list: Option<Vec<Elem>>,
    },
}

/// One transaction: an invocation and its completion.
#[derive(Clone, Debug)]
pub struct Txn {
    /// `T<index>`, after the completion's index (or the invocation's if the
    /// history ended first), as Elle names transactions.
    pub name: String,
    pub process: u64,
    pub outcome: Outcome,
    /// History positions of the invocation and completion.
    pub invoke: usize,
    pub completion: Option<usize>,
    pub mops: Vec<Mop>,
    /// The most informative op (completion, else invocation) as a JSON line.
    pub json: String,
}

impl Txn {
    /// Committed for sure.
    pub fn is_ok(&self) -> bool {
        self.outcome == Outcome::Ok
    }
}

fn int(history: &History, position: usize, v: &Value, what: &str) -> Result<i64, HistoryError> {
    v.as_i64()
        .ok_or_else(|| bad_value(history, position, format!("{what} must be an integer, not {v}")))
}

fn parse_mops(history: &History, position: usize, read_results: bool) -> Result<Vec<Mop>, HistoryError> {
    let op = history.op(position);
    let Value::Array(items) = &op.value else {
        return Err(bad_value(
            history,
            position,
            "a txn value must be a list of micro-ops",
        ));
    };
    let mut mops = Vec::with_capacity(items.len());
    for item in items {
        let parts = match item.as_array().map(Vec::as_slice) {
            Some([f, k, v]) => (f.as_str(), k, v),
            _ => {
                return Err(bad_value(
                    history,
                    position,
                    format!("a micro-op is [f, key, value], not {item}"),
                ));
            }
        };
        let key = int(history, position, parts.1, "a key")?;
        mops.push(match parts.0 {
            Some("append") => Mop::Append {
                key,
                elem: int(history, position, parts.2, "an appended element")?,
            },
            Some("r") => Mop::Read {
                key,
                list: if !read_results {
                    None
                } else {
                    match parts.2 {
                        Value::Null => Some(Vec::new()),
                        Value::Array(xs) => Some(
                            xs.iter()
                                .map(|x| int(history, position, x, "a read element"))
                                .collect::<Result<_, _>>()?,
                        ),
                        other => {
                            return Err(bad_value(
                                history,
                                position,
                                format!("a read returns a list, not {other}"),
                            ));
                        }
                    }
                },
            },
            _ => {
                return Err(bad_value(
                    history,
                    position,
                    format!(
                        "list-append micro-ops are append and r, not {}",
                        parts.0.map_or("?".into(), str::to_string)
                    ),
                ));
            }
        });
    }
    Ok(mops)
}

fn same_shape(a: &Mop, b: &Mop) -> bool {
    match (a, b) {
        (Mop::Append { key: k1, elem: e1 }, Mop::Append { key: k2, elem: e2 }) => k1 == k2 && e1 == e2,
        (Mop::Read { key: k1, .. }, Mop::Read { key: k2, .. }) => k1 == k2,
        _ => false,
    }
}

/// Parses every pair of the history into a [`Txn`], in invocation order.
pub fn parse(history: &History) -> Result<Vec<Txn>, HistoryError> {
    let mut txns = Vec::with_capacity(history.pairs().len());
    let mut appended: HashMap<(Key, Elem), usize> = HashMap::new();
    for pair in history.pairs() {
        let inv = history.op(pair.invoke);
        if inv.f != "txn" {
            return Err(bad_value(
                history,
                pair.invoke,
                format!("the list-append workload has only txn ops, not {:?}", inv.f),
            ));
        }
        let invoked = parse_mops(history, pair.invoke, false)?;
        let mops = match pair.completion {
            Some(c) if !history.op(c).value.is_null() => {
                let done = parse_mops(history, c, pair.outcome == Outcome::Ok)?;
                if done.len() != invoked.len() || !done.iter().zip(&invoked).all(|(a, b)| same_shape(a, b)) {
                    return Err(bad_value(
                        history,
                        c,
                        "the completion's micro-ops differ from the invocation's",
                    ));
                }
                done
            }
            Some(c) if pair.outcome == Outcome::Ok => {
                return Err(bad_value(history, c, "an ok txn must report its micro-ops"));
            }
            _ => invoked,
        };
        let at = pair.completion.unwrap_or(pair.invoke);
        for m in &mops {
            if let Mop::Append { key, elem } = m
                && let Some(first) = appended.insert((*key, *elem), at)
            {
                return Err(bad_value(
                    history,
                    at,
                    format!(
                        "element {elem} is appended to key {key} more than once (also at index {}); list-append needs unique elements per key",
                        history.index_of(first)
                    ),
                ));
            }
        }
        txns.push(Txn {
            name: format!("T{}", history.index_of(at)),
            process: inv.process,
            outcome: pair.outcome,
            invoke: pair.invoke,
            completion: pair.completion,
            mops,
            json: history.op(at).to_json_line(),
        });
    }
    Ok(txns)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{OpType::*, history_of};
    use serde_json::json;

    #[test]
    fn parses_reads_by_outcome() {
        let h = history_of(&[
            (0, Invoke, "txn", json!([["append", 1, 2], ["r", 1, null]])),
            (0, Ok, "txn", json!([["append", 1, 2], ["r", 1, [2]]])),
            (1, Invoke, "txn", json!([["r", 3, null]])),
            (1, Ok, "txn", json!([["r", 3, null]])),
            (2, Invoke, "txn", json!([["append", 3, 9], ["r", 3, null]])),
            (2, Info, "txn", json!([["append", 3, 9], ["r", 3, [9]]])),
        ])
        .expect("well-formed");
        let t = parse(&h).expect("parses");
        assert_eq!(t[0].name, "T1");
        assert_eq!(
            t[0].mops[1],
            Mop::Read {
                key: 1,
                list: Some(vec![2])
            }
        );
        assert_eq!(
            t[1].mops[0],
            Mop::Read {
                key: 3,
                list: Some(vec![])
            }
        );
        // An info txn's read is unknown, whatever the completion says.
        assert_eq!(t[2].mops[1], Mop::Read { key: 3, list: None });
    }

    #[test]
    fn malformed_txns_are_errors() {
        let cases = [
            vec![(0, Invoke, "txn", json!({"a": 1}))],
            vec![(0, Invoke, "txn", json!([["w", 1, 2]]))],
            vec![(0, Invoke, "txn", json!([["append", "k", 2]]))],
            vec![(0, Invoke, "txn", json!([["append", 1]]))],
            vec![(0, Invoke, "read", json!([]))],
            vec![
                (0, Invoke, "txn", json!([["r", 1, null]])),
                (0, Ok, "txn", json!([["r", 2, [1]]])),
            ],
            vec![
                (0, Invoke, "txn", json!([["r", 1, null]])),
                (0, Ok, "txn", json!([["r", 1, 5]])),
            ],
            vec![(0, Invoke, "txn", json!([["append", 1, 1], ["append", 1, 1]]))],
            vec![
                (0, Invoke, "txn", json!([["append", 1, 1]])),
                (1, Invoke, "txn", json!([["append", 1, 1]])),
            ],
        ];
        for events in cases {
            let h = history_of(&events).expect("well-formed");
            assert!(parse(&h).is_err(), "{events:?}");
        }
    }
}
