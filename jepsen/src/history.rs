//! Histories: what the workers asked the database to do and what came back.
//!
//! A history is a sequence of [`Op`]s in the order the harness observed them,
//! serialised as JSON lines in Elle's shape:
//!
//! ```json
//! {"type":"invoke","f":"txn","value":[["append",1,2],["r",1,null]],"process":0,"time":100,"index":4}
//! {"type":"ok","f":"txn","value":[["append",1,2],["r",1,[1,2]]],"process":0,"time":123,"index":5}
//! ```
//!
//! Every operation is an `invoke` followed, on the same process, by `ok`
//! (it took effect), `fail` (it definitely did not) or `info` (unknown: a
//! timeout, SQLSTATE 40003, a lost connection). An invocation with no
//! completion at the end of the history counts as `info`.
//!
//! Invariants enforced by [`History::new`] (violations are a
//! [`HistoryError`], never a panic):
//! * `index` values strictly increase (missing ones are filled in with the
//!   position in the history);
//! * `time` values, where present, never decrease (a monotonic clock);
//! * per process, invocations and completions alternate, and a completion has
//!   the same `f` as its invocation;
//! * a process that saw `info` never invokes again: the worker continues under
//!   a new process id, so each process is single-threaded.
//!
//! The position of an op in the history (not its `time`) is what the checkers
//! use for real-time order: the harness appends events as they happen.
//!
//! Deliberately not here: interpreting `value`. Each checker parses the values
//! of its own workload and reports shape errors through
//! [`HistoryError::BadValue`]. Non-client (nemesis) events are not part of
//! this format: `process` is always a worker number.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The four event types of a Jepsen/Elle history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    Invoke,
    Ok,
    Fail,
    Info,
}

impl fmt::Display for OpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        })
    }
}

/// One event of a history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Op {
    #[serde(rename = "type")]
    pub op_type: OpType,
    /// The operation's function: `txn`, `read`, `write`, `cas`, `add`, `transfer`...
    pub f: String,
    /// Workload-specific payload; `null` when absent.
    #[serde(default)]
    pub value: Value,
    /// The worker that performed the operation.
    pub process: u64,
    /// Monotonic harness clock in nanoseconds, if recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
    /// Position in the history; filled in from the position if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
    /// Why an operation failed or is indeterminate (e.g. a SQLSTATE), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<Value>,
}

impl Op {
    /// A convenience constructor (index and time left to [`History::new`]).
    pub fn new(op_type: OpType, process: u64, f: &str, value: Value) -> Op {
        Op {
            op_type,
            f: f.to_string(),
            value,
            process,
            time: None,
            index: None,
            error: None,
        }
    }

    /// This op as one JSON line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        // Serialising a struct of strings, integers and `Value`s cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why a history (or a value inside it) could not be used.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("line {line}: not a valid history event: {source}")]
    Json {
        line: usize,
        #[source]
        source: serde_json::Error,
    },
    #[error("op {position} (index {index}): index does not increase (previous index {previous})")]
    IndexOrder {
        position: usize,
        index: u64,
        previous: u64,
    },
    #[error("op index {index}: time {time} is before the previous time {previous}")]
    TimeOrder { index: u64, time: u64, previous: u64 },
    #[error("op index {index}: {message}")]
    Pairing { index: u64, message: String },
    #[error("op index {index}: bad value for this workload: {message}")]
    BadValue { index: u64, message: String },
}

/// How an operation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    Fail,
    /// Unknown: an `info` completion, or no completion at all.
    Info,
}

/// An invocation together with its completion, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair {
    /// Position of the `invoke` in [`History::ops`].
    pub invoke: usize,
    /// Position of the completion, or `None` if the history ended first.
    pub completion: Option<usize>,
    pub outcome: Outcome,
}

/// A validated history: the ops, and every invocation paired with its
/// completion.
#[derive(Clone, Debug, Default)]
pub struct History {
    ops: Vec<Op>,
    pairs: Vec<Pair>,
}

impl History {
    /// Validates `ops` (see the module doc) and pairs invocations with
    /// completions. Missing indexes are filled in from positions.
    pub fn new(mut ops: Vec<Op>) -> Result<History, HistoryError> {
        let mut prev_index: Option<u64> = None;
        let mut prev_time: Option<u64> = None;
        for (position, op) in ops.iter_mut().enumerate() {
            let index = *op.index.get_or_insert(position as u64);
            if let Some(previous) = prev_index
                && index <= previous
            {
                return Err(HistoryError::IndexOrder {
                    position,
                    index,
                    previous,
                });
            }
            prev_index = Some(index);
            if let Some(time) = op.time {
                if let Some(previous) = prev_time
                    && time < previous
                {
                    return Err(HistoryError::TimeOrder {
                        index,
                        time,
                        previous,
                    });
                }
                prev_time = Some(time);
            }
        }

        let mut pairs: Vec<Pair> = Vec::new();
        // process -> position in `pairs` of its pending invocation
        let mut pending: HashMap<u64, usize> = HashMap::new();
        // processes that ended with `info` and must not be reused
        let mut crashed: HashMap<u64, u64> = HashMap::new();
        for (position, op) in ops.iter().enumerate() {
            let index = op.index.unwrap_or(position as u64);
            let pairing = |message: String| HistoryError::Pairing { index, message };
            if op.op_type == OpType::Invoke {
                if let Some(&p) = pending.get(&op.process) {
                    let other = ops[pairs[p].invoke].index.unwrap_or_default();
                    return Err(pairing(format!(
                        "process {} invokes again while its op at index {other} is still pending",
                        op.process
                    )));
                }
                if let Some(at) = crashed.get(&op.process) {
                    return Err(pairing(format!(
                        "process {} invokes again after its op completed with info at index {at}; \
                         a worker must continue under a new process id",
                        op.process
                    )));
                }
                pending.insert(op.process, pairs.len());
                pairs.push(Pair {
                    invoke: position,
                    completion: None,
                    outcome: Outcome::Info,
                });
                continue;
            }
            let Some(p) = pending.remove(&op.process) else {
                return Err(pairing(format!(
                    "{} completion on process {} without a pending invocation",
                    op.op_type, op.process
                )));
            };
            let inv = &ops[pairs[p].invoke];
            if inv.f != op.f {
                return Err(pairing(format!(
                    "completion f {:?} does not match its invocation's f {:?}",
                    op.f, inv.f
                )));
            }
            pairs[p].completion = Some(position);
            pairs[p].outcome = match op.op_type {
                OpType::Ok => Outcome::Ok,
                OpType::Fail => Outcome::Fail,
                OpType::Info | OpType::Invoke => {
                    crashed.insert(op.process, index);
                    Outcome::Info
                }
            };
        }
        Ok(History { ops, pairs })
    }

    /// Parses JSON lines (blank lines are skipped) and validates the result.
    pub fn from_json_lines(text: &str) -> Result<History, HistoryError> {
        let mut ops = Vec::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let op: Op =
                serde_json::from_str(line).map_err(|source| HistoryError::Json { line: i + 1, source })?;
            ops.push(op);
        }
        History::new(ops)
    }

    /// The history as JSON lines, one op per line, each line ending in `\n`.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for op in &self.ops {
            out.push_str(&op.to_json_line());
            out.push('\n');
        }
        out
    }

    /// All ops, in history order (indexes filled in).
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Every invocation with its completion, in invocation order.
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    /// The op at `position`.
    pub fn op(&self, position: usize) -> &Op {
        &self.ops[position]
    }

    /// The index of the op at `position` (always present after validation).
    pub fn index_of(&self, position: usize) -> u64 {
        self.ops[position].index.unwrap_or(position as u64)
    }

    /// The completion op of a pair if there is one, otherwise its invocation:
    /// the op whose value is the most informative.
    pub fn final_op(&self, pair: &Pair) -> &Op {
        &self.ops[pair.completion.unwrap_or(pair.invoke)]
    }
}

/// A [`HistoryError::BadValue`] for the op at `position`.
pub(crate) fn bad_value(history: &History, position: usize, message: impl Into<String>) -> HistoryError {
    HistoryError::BadValue {
        index: history.index_of(position),
        message: message.into(),
    }
}

/// Builds a history in tests and examples: `(process, type, f, value)`
/// tuples, indexes and times from positions.
pub fn history_of(events: &[(u64, OpType, &str, Value)]) -> Result<History, HistoryError> {
    let ops = events
        .iter()
        .enumerate()
        .map(|(i, (process, op_type, f, value))| {
            let mut op = Op::new(*op_type, *process, f, value.clone());
            op.time = Some(i as u64 * 1_000);
            op
        })
        .collect();
    History::new(ops)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn parses_elle_shape_and_pairs() {
        let text = r#"{"type":"invoke","f":"txn","value":[["append",1,2],["r",1,null]],"process":0,"time":100,"index":4}
{"type":"invoke","f":"txn","value":[["r",1,null]],"process":1,"time":110,"index":5}

{"type":"ok","f":"txn","value":[["append",1,2],["r",1,[1,2]]],"process":0,"time":123,"index":6}
{"type":"info","f":"txn","value":[["r",1,null]],"process":1,"time":130,"index":7,"error":"40003"}
{"type":"invoke","f":"txn","value":[["r",1,null]],"process":2,"time":140,"index":8}"#;
        let h = History::from_json_lines(text).expect("valid history");
        assert_eq!(h.ops().len(), 5);
        assert_eq!(
            h.pairs(),
            &[
                Pair {
                    invoke: 0,
                    completion: Some(2),
                    outcome: Outcome::Ok
                },
                Pair {
                    invoke: 1,
                    completion: Some(3),
                    outcome: Outcome::Info
                },
                Pair {
                    invoke: 4,
                    completion: None,
                    outcome: Outcome::Info
                },
            ]
        );
        assert_eq!(h.op(2).value, json!([["append", 1, 2], ["r", 1, [1, 2]]]));
        assert_eq!(h.op(3).error, Some(json!("40003")));
        // Round trip, byte for byte.
        let again = History::from_json_lines(&h.to_json_lines()).expect("round trip");
        assert_eq!(again.ops(), h.ops());
        assert_eq!(
            h.op(2).to_json_line(),
            r#"{"type":"ok","f":"txn","value":[["append",1,2],["r",1,[1,2]]],"process":0,"time":123,"index":6}"#
        );
    }

    #[test]
    fn fills_in_missing_index() {
        let h = History::from_json_lines(
            "{\"type\":\"invoke\",\"f\":\"read\",\"process\":3}\n{\"type\":\"ok\",\"f\":\"read\",\"value\":5,\"process\":3}\n",
        )
        .expect("valid");
        assert_eq!(h.index_of(0), 0);
        assert_eq!(h.index_of(1), 1);
        assert_eq!(h.op(0).value, Value::Null);
    }

    fn err(text: &str) -> String {
        match History::from_json_lines(text) {
            Ok(_) => panic!("expected an error for {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn malformed_histories_are_clear_errors() {
        let e = err("{\"type\":\"invoke\",\"f\":\"read\",\"process\":0}\nnot json\n");
        assert!(e.starts_with("line 2: not a valid history event"), "{e}");
        let e = err("{\"type\":\"launch\",\"f\":\"read\",\"process\":0}");
        assert!(e.contains("line 1"), "{e}");
        let e = err("{\"type\":\"invoke\",\"f\":\"read\"}");
        assert!(e.contains("missing field `process`"), "{e}");
        let e = err("{\"type\":\"ok\",\"f\":\"read\",\"process\":0}");
        assert!(e.contains("without a pending invocation"), "{e}");
        let e = err(
            "{\"type\":\"invoke\",\"f\":\"read\",\"process\":0}\n{\"type\":\"invoke\",\"f\":\"read\",\"process\":0}",
        );
        assert!(e.contains("still pending"), "{e}");
        let e = err(
            "{\"type\":\"invoke\",\"f\":\"read\",\"process\":0}\n{\"type\":\"ok\",\"f\":\"write\",\"process\":0}",
        );
        assert!(e.contains("does not match"), "{e}");
        let e = err(
            "{\"type\":\"invoke\",\"f\":\"read\",\"process\":0}\n{\"type\":\"info\",\"f\":\"read\",\"process\":0}\n{\"type\":\"invoke\",\"f\":\"read\",\"process\":0}",
        );
        assert!(e.contains("new process id"), "{e}");
        let e = err(
            "{\"type\":\"invoke\",\"f\":\"read\",\"process\":0,\"index\":5}\n{\"type\":\"ok\",\"f\":\"read\",\"process\":0,\"index\":5}",
        );
        assert!(e.contains("does not increase"), "{e}");
        let e = err(
            "{\"type\":\"invoke\",\"f\":\"read\",\"process\":0,\"time\":9}\n{\"type\":\"ok\",\"f\":\"read\",\"process\":0,\"time\":3}",
        );
        assert!(e.contains("before the previous time"), "{e}");
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<i64>().prop_map(|x| json!(x)),
            prop::collection::vec(any::<i32>(), 0..4).prop_map(|xs| json!(["r", 1, xs])),
        ]
    }

    proptest! {
        #[test]
        fn json_lines_round_trip(steps in prop::collection::vec((0u64..4, 0u8..3, arb_value(), any::<bool>()), 0..30)) {
            // Each process alternates invoke / completion; info retires the process id.
            let mut ops = Vec::new();
            let mut pending = [false; 4];
            let mut generation = [0u64; 4];
            for (i, (p, kind, value, with_time)) in steps.into_iter().enumerate() {
                let slot = p as usize;
                let process = p + 4 * generation[slot];
                let op_type = if pending[slot] {
                    pending[slot] = false;
                    match kind { 0 => OpType::Ok, 1 => OpType::Fail, _ => { generation[slot] += 1; OpType::Info } }
                } else {
                    pending[slot] = true;
                    OpType::Invoke
                };
                let mut op = Op::new(op_type, process, "txn", value);
                op.index = Some(i as u64 * 2);
                op.time = with_time.then_some(1_000);
                ops.push(op);
            }
            let h = History::new(ops.clone()).expect("generated histories are well formed");
            let text = h.to_json_lines();
            let back = History::from_json_lines(&text).expect("round trip parses");
            prop_assert_eq!(back.ops(), &ops[..]);
            prop_assert_eq!(back.pairs(), h.pairs());
        }
    }
}
