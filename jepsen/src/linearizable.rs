//! Linearizability of a read/write/compare-and-set register, per key.
//!
//! Algorithm: Wing & Gong's search with Lowe's memoisation (Porcupine's
//! `checkSingle`). Calls and returns are laid out in history order in a
//! doubly linked list; the search linearizes a pending call whenever the
//! model allows it and the configuration `(set of linearized ops, register
//! state)` is new, and backtracks when it meets the return of an op it has
//! not linearized. The history is split by key first (P-compositionality:
//! a history is linearizable iff every per-key sub-history is), and keys are
//! checked in parallel.
//!
//! Workload shape (Jepsen's independent register): `f` is `read`, `write` or
//! `cas`; the value is `[key, v]`: `read` returns `[k, v]` (`null` = never
//! written), `write` sends `[k, v]`, `cas` sends `[k, [old, new]]`.
//!
//! Outcomes: `fail` ops did not happen and are dropped (as Knossos does);
//! `info` reads carry no information and are dropped; `info` writes and cas
//! may take effect at any point after their invocation, or never (their
//! return is at +infinity and the search succeeds as soon as every definite
//! op is linearized).
//!
//! Budget: a wall-clock deadline shared by all keys and a per-key step
//! limit. When either runs out the key's answer is `unknown`; the search
//! never hangs.
//!
//! Deliberately not here: other data types (the model is the register only),
//! and a minimal counterexample: on failure we report the longest
//! linearizable prefix and the ops that could not extend it.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::checker::{Anomaly, Checker, Verdict};
use crate::history::{History, HistoryError, Outcome, bad_value};

/// What a register op did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterOp {
    /// A read that returned this value (`None` = never written).
    Read(Option<i64>),
    Write(i64),
    Cas {
        old: i64,
        new: i64,
    },
}

impl fmt::Display for RegisterOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterOp::Read(Some(v)) => write!(f, "read -> {v}"),
            RegisterOp::Read(None) => write!(f, "read -> nil"),
            RegisterOp::Write(v) => write!(f, "write {v}"),
            RegisterOp::Cas { old, new } => write!(f, "cas {old} -> {new}"),
        }
    }
}

/// One op of a single key's sub-history.
#[derive(Clone, Debug)]
pub struct KeyOp {
    pub op: RegisterOp,
    /// History position of the invocation.
    pub call: usize,
    /// History position of the completion; `None` for an `info` op (+infinity).
    pub ret: Option<usize>,
    /// Index of the invocation and of the completion, for explanations.
    pub call_index: u64,
    pub ret_index: Option<u64>,
}

impl KeyOp {
    fn describe(&self) -> String {
        match self.ret_index {
            Some(r) => format!("{} (index {}..{r})", self.op, self.call_index),
            None => format!("{} (index {}.., outcome unknown)", self.op, self.call_index),
        }
    }
}

/// The register model: `None` = never written.
type State = Option<i64>;

/// Applies `op` to `state`, or `None` if `op` cannot take effect there.
fn step(state: State, op: RegisterOp) -> Option<State> {
    match op {
        RegisterOp::Read(v) => (v == state).then_some(state),
        RegisterOp::Write(v) => Some(Some(v)),
        RegisterOp::Cas { old, new } => (state == Some(old)).then_some(Some(new)),
    }
}

/// The answer for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyVerdict {
    /// Linearizable; the witness order (indices into the key's ops).
    Linearizable(Vec<usize>),
    /// Not linearizable, with an explanation.
    NotLinearizable(String),
    /// The budget ran out.
    Unknown(String),
}

const NIL: usize = usize::MAX;

/// Checks one key's ops (WGL with memoisation).
pub fn check_key(ops: &[KeyOp], deadline: Instant, max_steps: u64) -> KeyVerdict {
    let n = ops.len();
    // Entries: (time, is_return, op). Calls before returns on equal times.
    let mut entries: Vec<(usize, bool, usize)> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        entries.push((op.call, false, i));
        entries.push((op.ret.unwrap_or(usize::MAX), true, i));
    }
    entries.sort_unstable();
    let head = 2 * n;
    let tail = 2 * n + 1;
    let mut next = vec![NIL; 2 * n + 2];
    let mut prev = vec![NIL; 2 * n + 2];
    let mut order = vec![head];
    order.extend(0..2 * n);
    order.push(tail);
    for w in order.windows(2) {
        next[w[0]] = w[1];
        prev[w[1]] = w[0];
    }
    let mut ret_entry = vec![NIL; n];
    for (e, &(_, is_ret, op)) in entries.iter().enumerate() {
        if is_ret {
            ret_entry[op] = e;
        }
    }
    let unlink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize| {
        let (p, q) = (prev[e], next[e]);
        next[p] = q;
        prev[q] = p;
    };
    let relink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, e: usize| {
        let (p, q) = (prev[e], next[e]);
        next[p] = e;
        prev[q] = e;
    };

    let mut definite_left = ops.iter().filter(|o| o.ret.is_some()).count();
    let mut state: State = None;
    let mut linearized = vec![0u64; n.div_ceil(64)];
    let mut cache: HashSet<(Vec<u64>, State)> = HashSet::new();
    let mut stack: Vec<(usize, State)> = Vec::new();
    // Longest prefix seen: (order, state after it, candidates, blocking op).
    let mut best: (Vec<usize>, State, Vec<usize>, usize) = (Vec::new(), None, Vec::new(), NIL);
    let mut steps: u64 = 0;
    let mut e = next[head];
    while definite_left > 0 {
        steps += 1;
        if steps > max_steps || (steps.is_multiple_of(4096) && Instant::now() > deadline) {
            return KeyVerdict::Unknown(format!(
                "gave up after {} search steps ({} ops on this key, longest linearizable prefix {})",
                steps - 1,
                n,
                best.0.len()
            ));
        }
        let (_, is_ret, op) = entries[e];
        if !is_ret {
            if let Some(s2) = step(state, ops[op].op) {
                let mut l2 = linearized.clone();
                l2[op / 64] |= 1 << (op % 64);
                if cache.insert((l2.clone(), s2)) {
                    stack.push((e, state));
                    state = s2;
                    linearized = l2;
                    unlink(&mut next, &mut prev, e);
                    unlink(&mut next, &mut prev, ret_entry[op]);
                    if ops[op].ret.is_some() {
                        definite_left -= 1;
                    }
                    if stack.len() > best.0.len() {
                        let mut candidates = Vec::new();
                        let mut c = next[head];
                        while c != tail && !entries[c].1 {
                            candidates.push(entries[c].2);
                            c = next[c];
                        }
                        let blocking = if c == tail { NIL } else { entries[c].2 };
                        best = (
                            stack.iter().map(|&(ce, _)| entries[ce].2).collect(),
                            state,
                            candidates,
                            blocking,
                        );
                    }
                    e = next[head];
                    continue;
                }
            }
            e = next[e];
        } else {
            let Some((ce, s)) = stack.pop() else {
                return KeyVerdict::NotLinearizable(explain_failure(ops, &best));
            };
            let op = entries[ce].2;
            state = s;
            linearized[op / 64] &= !(1 << (op % 64));
            if ops[op].ret.is_some() {
                definite_left += 1;
            }
            relink(&mut next, &mut prev, ret_entry[op]);
            relink(&mut next, &mut prev, ce);
            e = next[ce];
        }
    }
    KeyVerdict::Linearizable(stack.iter().map(|&(ce, _)| entries[ce].2).collect())
}

fn show_state(s: State) -> String {
    s.map_or_else(|| "nil".to_string(), |v| v.to_string())
}

fn explain_failure(ops: &[KeyOp], best: &(Vec<usize>, State, Vec<usize>, usize)) -> String {
    let (order, state, candidates, blocking) = best;
    let mut out = format!(
        "no order of these {} ops is legal for a register and respects real time.\n",
        ops.len()
    );
    if order.is_empty() {
        out.push_str("Not even the first op can take effect on the initial (nil) register.\n");
    } else {
        out.push_str(&format!("Longest linearizable prefix ({} ops):\n", order.len()));
        for &i in order {
            out.push_str(&format!("  {}\n", ops[i].describe()));
        }
        out.push_str(&format!(
            "after which the register holds {}.\n",
            show_state(*state)
        ));
    }
    if *blocking != NIL {
        out.push_str(&format!(
            "Then {} must take effect before it returns, but none of the ops that may come next is legal:\n",
            ops[*blocking].describe()
        ));
        for &c in candidates {
            let why = match ops[c].op {
                RegisterOp::Read(_) => format!("the register holds {}", show_state(*state)),
                RegisterOp::Cas { old, .. } => format!(
                    "it compares with {old} but the register holds {}",
                    show_state(*state)
                ),
                RegisterOp::Write(_) => "taking it here leads to a dead end later".to_string(),
            };
            out.push_str(&format!("  {}: {why}\n", ops[c].describe()));
        }
    }
    out
}

/// The register checker.
#[derive(Clone, Debug)]
pub struct RegisterChecker {
    /// Wall-clock budget for the whole history.
    pub time_budget: Duration,
    /// Search steps allowed per key.
    pub max_steps_per_key: u64,
    /// Threads to check keys on (0 = available parallelism).
    pub threads: usize,
}

impl Default for RegisterChecker {
    fn default() -> RegisterChecker {
        RegisterChecker {
            time_budget: Duration::from_secs(60),
            max_steps_per_key: 20_000_000,
            threads: 0,
        }
    }
}

fn int(history: &History, position: usize, v: &Value) -> Result<i64, HistoryError> {
    v.as_i64().ok_or_else(|| {
        bad_value(
            history,
            position,
            format!("register values must be integers, not {v}"),
        )
    })
}

/// Splits `[key, v]` into a printable key and `v`.
fn key_value<'a>(
    history: &History,
    position: usize,
    v: &'a Value,
) -> Result<(String, &'a Value), HistoryError> {
    match v.as_array().map(Vec::as_slice) {
        Some([k, v]) if !k.is_array() && !k.is_object() => Ok((k.to_string(), v)),
        _ => Err(bad_value(
            history,
            position,
            format!("register ops carry [key, value], not {v}"),
        )),
    }
}

/// Groups the ops that matter by key, in key order of first appearance.
pub fn register_ops_by_key(history: &History) -> Result<Vec<(String, Vec<KeyOp>)>, HistoryError> {
    let mut keys: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<(String, Vec<KeyOp>)> = Vec::new();
    for pair in history.pairs() {
        let inv = history.op(pair.invoke);
        let (key, v) = key_value(history, pair.invoke, &inv.value)?;
        let op = match inv.f.as_str() {
            "read" => {
                let Some(c) = pair.completion.filter(|_| pair.outcome == Outcome::Ok) else {
                    continue;
                };
                let (k2, v) = key_value(history, c, &history.op(c).value)?;
                if k2 != key {
                    return Err(bad_value(
                        history,
                        c,
                        format!("read completion is for key {k2}, not {key}"),
                    ));
                }
                RegisterOp::Read(if v.is_null() {
                    None
                } else {
                    Some(int(history, c, v)?)
                })
            }
            "write" => RegisterOp::Write(int(history, pair.invoke, v)?),
            "cas" => match v.as_array().map(Vec::as_slice) {
                Some([old, new]) => RegisterOp::Cas {
                    old: int(history, pair.invoke, old)?,
                    new: int(history, pair.invoke, new)?,
                },
                _ => {
                    return Err(bad_value(
                        history,
                        pair.invoke,
                        format!("cas carries [key, [old, new]], not {v}"),
                    ));
                }
            },
            other => {
                return Err(bad_value(
                    history,
                    pair.invoke,
                    format!("the register workload has only read, write and cas ops, not {other:?}"),
                ));
            }
        };
        let ret = match pair.outcome {
            Outcome::Fail => continue,
            Outcome::Ok => pair.completion,
            Outcome::Info => None,
        };
        let slot = *keys.entry(key.clone()).or_insert_with(|| {
            out.push((key, Vec::new()));
            out.len() - 1
        });
        out[slot].1.push(KeyOp {
            op,
            call: pair.invoke,
            ret,
            call_index: history.index_of(pair.invoke),
            ret_index: ret.map(|r| history.index_of(r)),
        });
    }
    Ok(out)
}

impl Checker for RegisterChecker {
    fn name(&self) -> &'static str {
        "register"
    }

    fn check(&self, history: &History) -> Result<Verdict, HistoryError> {
        let keys = register_ops_by_key(history)?;
        let deadline = Instant::now() + self.time_budget;
        let threads = if self.threads == 0 {
            thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.threads
        }
        .clamp(1, keys.len().max(1));
        let next = std::sync::atomic::AtomicUsize::new(0);
        let mut results: Vec<(usize, KeyVerdict)> = thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some((_, ops)) = keys.get(i) else { break };
                            mine.push((i, check_key(ops, deadline, self.max_steps_per_key)));
                        }
                        mine
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                .collect()
        });
        results.sort_by_key(|(i, _)| *i);
        let mut verdict = Verdict::valid();
        for (i, r) in results {
            let key = &keys[i].0;
            match r {
                KeyVerdict::Linearizable(_) => {}
                KeyVerdict::NotLinearizable(why) => {
                    verdict = verdict.merge(Verdict::from_anomalies(vec![Anomaly::new(
                        "not-linearizable",
                        format!("key {key}: {why}"),
                    )]));
                }
                KeyVerdict::Unknown(why) => {
                    verdict = verdict.merge(Verdict::unknown(
                        "linearizability-unknown",
                        format!("key {key}: {why}"),
                    ));
                }
            }
        }
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::Validity;
    use crate::history::{OpType, OpType::*, history_of};
    use proptest::prelude::*;
    use serde_json::json;

    type Event = (u64, OpType, &'static str, Value);

    fn check(events: &[Event]) -> Verdict {
        RegisterChecker::default()
            .check(&history_of(events).expect("well-formed"))
            .expect("checkable")
    }

    #[test]
    fn concurrent_write_and_reads_are_linearizable() {
        let v = check(&[
            (0, Invoke, "write", json!([1, 1])),
            (1, Invoke, "read", json!([1, null])),
            (1, Ok, "read", json!([1, 1])),
            (2, Invoke, "read", json!([1, null])),
            (2, Ok, "read", json!([1, 1])),
            (0, Ok, "write", json!([1, 1])),
            (0, Invoke, "cas", json!([1, [1, 2]])),
            (0, Ok, "cas", json!([1, [1, 2]])),
            (0, Invoke, "cas", json!([1, [1, 3]])),
            (0, Fail, "cas", json!([1, [1, 3]])),
            (1, Invoke, "read", json!([1, null])),
            (1, Ok, "read", json!([1, 2])),
        ]);
        assert_eq!(v, Verdict::valid());
    }

    #[test]
    fn stale_read_is_detected_with_explanation() {
        let v = check(&[
            (0, Invoke, "write", json!([7, 1])),
            (0, Ok, "write", json!([7, 1])),
            (0, Invoke, "write", json!([7, 2])),
            (0, Ok, "write", json!([7, 2])),
            (1, Invoke, "read", json!([7, null])),
            (1, Ok, "read", json!([7, 1])),
        ]);
        assert_eq!(v.valid, Validity::Invalid);
        assert_eq!(v.kinds(), ["not-linearizable"]);
        let text = &v.anomalies[0].explanation;
        assert!(text.starts_with("key 7: no order of these 3 ops"), "{text}");
        assert!(
            text.contains("  write 1 (index 0..1)\n  write 2 (index 2..3)\n"),
            "{text}"
        );
        assert!(
            text.contains("read -> 1 (index 4..5): the register holds 2"),
            "{text}"
        );
    }

    #[test]
    fn info_write_may_happen_later_or_never() {
        // The info write of 5 may take effect after the first read...
        let base = [
            (0, Invoke, "write", json!(["k", 1])),
            (0, Ok, "write", json!(["k", 1])),
            (1, Invoke, "write", json!(["k", 5])),
            (1, Info, "write", json!(["k", 5])),
            (2, Invoke, "read", json!(["k", null])),
            (2, Ok, "read", json!(["k", 1])),
            (2, Invoke, "read", json!(["k", null])),
            (2, Ok, "read", json!(["k", 5])),
        ];
        assert_eq!(check(&base), Verdict::valid());
        // ...or never,
        let mut never = base.to_vec();
        never[7] = (2, Ok, "read", json!(["k", 1]));
        assert_eq!(check(&never), Verdict::valid());
        // but not before it was invoked, and an info read says nothing.
        let early = [
            (2, Invoke, "read", json!(["k", null])),
            (2, Ok, "read", json!(["k", 5])),
            (3, Invoke, "read", json!(["k", null])),
            (3, Info, "read", json!(["k", null])),
            (1, Invoke, "write", json!(["k", 5])),
            (1, Info, "write", json!(["k", 5])),
        ];
        assert_eq!(check(&early).valid, Validity::Invalid);
    }

    #[test]
    fn failed_cas_has_no_effect_and_wrong_cas_is_caught() {
        let v = check(&[
            (0, Invoke, "write", json!([1, 1])),
            (0, Ok, "write", json!([1, 1])),
            (0, Invoke, "cas", json!([1, [2, 3]])),
            (0, Ok, "cas", json!([1, [2, 3]])),
        ]);
        assert_eq!(v.valid, Validity::Invalid);
        assert!(
            v.anomalies[0]
                .explanation
                .contains("compares with 2 but the register holds 1")
        );
    }

    #[test]
    fn keys_are_independent() {
        // Each key alone is fine; a single register could not explain both.
        let v = check(&[
            (0, Invoke, "write", json!([1, 1])),
            (0, Ok, "write", json!([1, 1])),
            (0, Invoke, "write", json!([2, 2])),
            (0, Ok, "write", json!([2, 2])),
            (1, Invoke, "read", json!([1, null])),
            (1, Ok, "read", json!([1, 1])),
        ]);
        assert_eq!(v, Verdict::valid());
    }

    #[test]
    fn budget_yields_unknown_not_a_hang() {
        // 40 concurrent writes, then an impossible read: the search space is 2^40.
        let mut events: Vec<Event> = Vec::new();
        for p in 0..40 {
            events.push((p, Invoke, "write", json!([0, p])));
        }
        for p in 0..40 {
            events.push((p, Ok, "write", json!([0, p])));
        }
        events.push((99, Invoke, "read", json!([0, null])));
        events.push((99, Ok, "read", json!([0, 1000])));
        let h = history_of(&events).expect("well-formed");
        let checker = RegisterChecker {
            max_steps_per_key: 20_000,
            ..RegisterChecker::default()
        };
        let started = Instant::now();
        let v = checker.check(&h).expect("checkable");
        assert_eq!(v.valid, Validity::Unknown, "{}", v.explain());
        assert!(
            v.anomalies[0]
                .explanation
                .contains("gave up after 20000 search steps")
        );
        let checker = RegisterChecker {
            time_budget: Duration::from_millis(100),
            ..RegisterChecker::default()
        };
        assert_eq!(checker.check(&h).expect("checkable").valid, Validity::Unknown);
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn malformed_values_are_errors() {
        for (f, value) in [
            ("read", json!(3)),
            ("write", json!([1, "x"])),
            ("cas", json!([1, 2])),
            ("incr", json!([1, 1])),
        ] {
            let h = history_of(&[(0, Invoke, f, value)]).expect("well-formed");
            assert!(RegisterChecker::default().check(&h).is_err(), "{f}");
        }
    }

    /// A brute-force oracle: some order of the ops (info ops optional)
    /// respecting real time in which every op is legal.
    fn brute_force(ops: &[KeyOp]) -> bool {
        fn go(ops: &[KeyOp], used: &mut Vec<bool>, state: State) -> bool {
            if ops.iter().zip(used.iter()).all(|(o, u)| *u || o.ret.is_none()) {
                return true;
            }
            for i in 0..ops.len() {
                if used[i] {
                    continue;
                }
                // Every unused op that returned before i was called must go first.
                let blocked = (0..ops.len()).any(|j| !used[j] && ops[j].ret.is_some_and(|r| r < ops[i].call));
                if blocked {
                    continue;
                }
                if let Some(s2) = step(state, ops[i].op) {
                    used[i] = true;
                    if go(ops, used, s2) {
                        return true;
                    }
                    used[i] = false;
                }
            }
            false
        }
        go(ops, &mut vec![false; ops.len()], None)
    }

    /// Builds a random small concurrent register history from choices.
    fn random_history(choices: &[(u8, u8, u8)]) -> Vec<Event> {
        let mut events: Vec<Event> = Vec::new();
        let mut pending: [Option<(&'static str, Value)>; 3] = [None, None, None];
        let mut gen_ = [0u64; 3];
        for &(p, kind, v) in choices {
            let slot = usize::from(p % 3);
            let process = u64::from(p % 3) + 3 * gen_[slot];
            let v = i64::from(v % 3);
            match pending[slot].take() {
                None => {
                    let (f, value) = match kind % 3 {
                        0 => ("read", json!([0, null])),
                        1 => ("write", json!([0, v])),
                        _ => ("cas", json!([0, [v, (v + 1) % 3]])),
                    };
                    events.push((process, Invoke, f, value.clone()));
                    pending[slot] = Some((f, value));
                }
                Some((f, value)) => {
                    let outcome = match kind % 8 {
                        0 => Info,
                        1 => Fail,
                        _ => Ok,
                    };
                    if outcome == Info {
                        gen_[slot] += 1;
                    }
                    let value = if f == "read" && outcome == Ok {
                        json!([0, if v == 2 { Value::Null } else { json!(v) }])
                    } else {
                        value
                    };
                    events.push((process, outcome, f, value));
                }
            }
        }
        events
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// WGL agrees with exhaustive search on small random histories.
        #[test]
        fn wgl_agrees_with_brute_force(choices in prop::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 0..24)) {
            let events = random_history(&choices);
            let h = history_of(&events).expect("well-formed");
            let keys = register_ops_by_key(&h).expect("checkable");
            let ops: Vec<KeyOp> = keys.into_iter().flat_map(|(_, ops)| ops).collect();
            let expected = brute_force(&ops);
            let far = Instant::now() + Duration::from_secs(30);
            match check_key(&ops, far, u64::MAX) {
                KeyVerdict::Linearizable(order) => {
                    prop_assert!(expected, "WGL says linearizable, brute force says not: {events:?}");
                    // The witness is a legal order containing every definite op.
                    let mut s = None;
                    for &i in &order {
                        s = step(s, ops[i].op).expect("witness steps are legal");
                    }
                    prop_assert!(ops.iter().enumerate().all(|(i, o)| o.ret.is_none() || order.contains(&i)));
                }
                KeyVerdict::NotLinearizable(_) => prop_assert!(!expected, "WGL says not linearizable: {events:?}"),
                KeyVerdict::Unknown(why) => prop_assert!(false, "unexpected unknown: {why}"),
            }
        }
    }

    #[test]
    fn simulated_atomic_register_is_linearizable() {
        // Many ops over 4 keys; each op takes effect at a point inside its interval.
        use rand::{Rng, SeedableRng, rngs::StdRng};
        let mut rng = StdRng::seed_from_u64(7);
        let mut state = [None::<i64>; 4];
        let mut events: Vec<Event> = Vec::new();
        /// (key, f, value, effect applied, result)
        type Pending = (usize, &'static str, i64, bool, Value);
        let mut pending: Vec<Option<Pending>> = vec![None; 5];
        let mut gen_ = [0u64; 5];
        for _ in 0..4000 {
            let slot = rng.random_range(0..5);
            let process = slot as u64 + 5 * gen_[slot];
            match pending[slot].take() {
                None => {
                    let k = rng.random_range(0..4);
                    let v = rng.random_range(0..5);
                    let (f, value) = match rng.random_range(0..3) {
                        0 => ("read", json!([k, null])),
                        1 => ("write", json!([k, v])),
                        _ => ("cas", json!([k, [v, v + 1]])),
                    };
                    events.push((process, Invoke, f, value));
                    pending[slot] = Some((k, f, v, false, Value::Null));
                }
                Some((k, f, v, applied, _)) if !applied => {
                    // Take effect now.
                    let result = match f {
                        "read" => json!([k, state[k]]),
                        "write" => {
                            state[k] = Some(v);
                            json!([k, v])
                        }
                        _ => {
                            if state[k] == Some(v) {
                                state[k] = Some(v + 1);
                                json!([k, [v, v + 1]])
                            } else {
                                json!(null)
                            }
                        }
                    };
                    pending[slot] = Some((k, f, v, true, result));
                }
                Some((k, f, v, _, result)) => {
                    let outcome = if result.is_null() {
                        Fail
                    } else if rng.random_bool(0.05) {
                        gen_[slot] += 1;
                        Info
                    } else {
                        Ok
                    };
                    let value = if result.is_null() {
                        json!([k, [v, v + 1]])
                    } else {
                        result
                    };
                    events.push((process, outcome, f, value));
                }
            }
        }
        let v = check(&events);
        assert_eq!(v, Verdict::valid(), "{}", v.explain());
    }
}
