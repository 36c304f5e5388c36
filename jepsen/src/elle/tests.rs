//! Hand-made histories: one per anomaly class (each detected, with its
//! explanation) and valid ones (accepted).

use serde_json::{Value, json};

use super::{ConsistencyModel, ListAppendChecker};
use crate::checker::{Checker, Validity, Verdict};
use crate::history::{OpType, history_of};

/// An event: `(process, type, completed micro-ops)`. Invocations get the
/// same micro-ops with reads replaced by `null`.
type Ev = (u64, OpType, Value);

fn inv(p: u64, done: Value) -> Ev {
    (p, OpType::Invoke, done)
}
fn ok(p: u64, done: Value) -> Ev {
    (p, OpType::Ok, done)
}
fn fail(p: u64, done: Value) -> Ev {
    (p, OpType::Fail, done)
}
fn info(p: u64, done: Value) -> Ev {
    (p, OpType::Info, done)
}

fn null_reads(v: &Value) -> Value {
    match v {
        Value::Array(mops) => Value::Array(
            mops.iter()
                .map(|m| match m.as_array().map(Vec::as_slice) {
                    Some([f, k, _]) if f == "r" => json!(["r", k, null]),
                    _ => m.clone(),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

fn check_with(model: ConsistencyModel, events: &[Ev]) -> Verdict {
    let events: Vec<(u64, OpType, &str, Value)> = events
        .iter()
        .map(|(p, t, v)| {
            let v = if *t == OpType::Invoke {
                null_reads(v)
            } else {
                v.clone()
            };
            (*p, *t, "txn", v)
        })
        .collect();
    let h = history_of(&events).expect("well-formed history");
    ListAppendChecker::new(model).check(&h).expect("checkable")
}

fn check(events: &[Ev]) -> Verdict {
    check_with(ConsistencyModel::StrictSerializable, events)
}

/// Asserts the verdict is invalid with exactly these kinds, and returns the
/// explanation of the first anomaly.
fn expect(v: &Verdict, kinds: &[&str]) -> String {
    assert_eq!(v.valid, Validity::Invalid, "{}", v.explain());
    assert_eq!(v.kinds(), kinds, "{}", v.explain());
    v.anomalies[0].explanation.clone()
}

/// Serial committed transactions: invoke, ok, invoke, ok...
fn serial(p: u64, txns: &[Value]) -> Vec<Ev> {
    txns.iter()
        .flat_map(|t| [inv(p, t.clone()), ok(p, t.clone())])
        .collect()
}

#[test]
fn serial_history_is_valid() {
    let v = check(&serial(
        0,
        &[
            json!([["append", 1, 1], ["r", 1, [1]]]),
            json!([["r", 2, []], ["append", 1, 2], ["append", 2, 1]]),
            json!([["r", 1, [1, 2]], ["r", 2, [1]]]),
            json!([["append", 1, 3], ["append", 1, 4], ["r", 1, [1, 2, 3, 4]]]),
        ],
    ));
    assert_eq!(v, Verdict::valid());
}

#[test]
fn concurrent_history_with_unknown_outcomes_is_valid() {
    let t1 = json!([["append", 1, 1]]);
    let t2 = json!([["append", 1, 2], ["r", 2, []]]);
    let t3 = json!([["append", 2, 7]]);
    let t4 = json!([["append", 1, 3]]);
    let t5 = json!([["r", 1, [1, 2]], ["r", 2, [7]]]);
    let v = check(&[
        inv(0, t1.clone()),
        inv(1, t2.clone()),
        ok(1, t2),
        ok(0, t1),
        // Unknown outcome, later observed: it committed.
        inv(2, t3.clone()),
        info(2, t3),
        // Unknown outcome, never observed: fine too.
        inv(3, t4.clone()),
        info(3, t4),
        // Failed, never observed.
        inv(4, json!([["append", 1, 9]])),
        fail(4, json!([["append", 1, 9]])),
        inv(0, t5.clone()),
        ok(0, t5),
    ]);
    assert_eq!(v, Verdict::valid(), "{}", v.explain());
}

#[test]
fn g0_write_cycle() {
    let t1 = json!([["append", 1, 1], ["append", 2, 1]]);
    let t2 = json!([["append", 1, 2], ["append", 2, 2]]);
    let t3 = json!([["r", 1, [1, 2]], ["r", 2, [2, 1]]]);
    let v = check(&[
        inv(0, t1.clone()),
        inv(1, t2.clone()),
        ok(0, t1),
        ok(1, t2),
        inv(2, t3.clone()),
        ok(2, t3),
    ]);
    let text = expect(&v, &["G0"]);
    assert!(
        text.contains("a cycle of 2 transactions with write-write dependencies only"),
        "{text}"
    );
    assert!(
        text.contains("  - T2 < T3, because T3 appended 2 to key 1 after T2 appended 1 (ww).\n"),
        "{text}"
    );
    assert!(
        text.contains(
            "  - However, T3 < T2, because T2 appended 1 to key 2 after T3 appended 2 (ww): a contradiction!"
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"  T2 = {"type":"ok","f":"txn","value":[["append",1,1],["append",2,1]],"process":0"#),
        "{text}"
    );
}

#[test]
fn g1a_aborted_read() {
    let t1 = json!([["append", 1, 1]]);
    let t2 = json!([["r", 1, [1]]]);
    let v = check(&[inv(0, t1.clone()), fail(0, t1), inv(1, t2.clone()), ok(1, t2)]);
    let text = expect(&v, &["G1a"]);
    assert!(
        text.starts_with(
            "T3 read key 1 as [1], which contains 1, appended by T1, which failed (aborted read)"
        ),
        "{text}"
    );
}

#[test]
fn g1b_intermediate_read() {
    let t1 = json!([["append", 1, 1], ["append", 1, 2]]);
    let t2 = json!([["r", 1, [1]]]);
    let v = check(&[inv(0, t1.clone()), inv(1, t2.clone()), ok(1, t2), ok(0, t1)]);
    // T2 also did not see T3's second append while seeing its first: a cycle too.
    let text = expect(&v, &["G1b", "G-single"]);
    assert!(
        text.starts_with("T2 read key 1 as [1], ending in 1, but T3 appended more to key 1 after 1"),
        "{text}"
    );
}

#[test]
fn g1c_circular_information_flow() {
    let t1 = json!([["append", 1, 1], ["r", 2, [1]]]);
    let t2 = json!([["append", 2, 1], ["r", 1, [1]]]);
    let v = check(&[inv(0, t1.clone()), inv(1, t2.clone()), ok(0, t1), ok(1, t2)]);
    let text = expect(&v, &["G1c"]);
    assert!(
        text.contains("T2 < T3, because T3 read key 1 and observed T2's append of 1 (wr)."),
        "{text}"
    );
    assert!(
        text.contains(
            "However, T3 < T2, because T2 read key 2 and observed T3's append of 1 (wr): a contradiction!"
        ),
        "{text}"
    );
}

#[test]
fn g_single_read_skew() {
    // T2 sees T1's append to key 2 but not its append to key 1.
    let t1 = json!([["append", 1, 1], ["append", 2, 1]]);
    let t2 = json!([["r", 1, []], ["r", 2, [1]]]);
    let v = check(&[inv(0, t1.clone()), inv(1, t2.clone()), ok(0, t1), ok(1, t2)]);
    let text = expect(&v, &["G-single"]);
    assert!(text.contains("exactly one anti-dependency"), "{text}");
    assert!(
        text.contains("T3 read key 1 as empty and did not observe T2's append of 1, which came first (rw)"),
        "{text}"
    );
    assert!(
        text.contains("T3 read key 2 and observed T2's append of 1 (wr)"),
        "{text}"
    );
}

#[test]
fn g2_item_write_skew() {
    let t1 = json!([["r", 1, []], ["r", 2, []], ["append", 1, 1]]);
    let t2 = json!([["r", 1, []], ["r", 2, []], ["append", 2, 1]]);
    let v = check(&[inv(0, t1.clone()), inv(1, t2.clone()), ok(0, t1), ok(1, t2)]);
    let text = expect(&v, &["G2-item"]);
    assert!(text.contains("two or more anti-dependencies"), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("  - ") && l.contains("(rw)"))
            .count(),
        2,
        "{text}"
    );
}

#[test]
fn g2_item_with_observed_versions() {
    // Write skew where the appends are observed by a later reader.
    let t1 = json!([["r", 1, [0]], ["r", 2, [0]], ["append", 1, 1]]);
    let t2 = json!([["r", 1, [0]], ["r", 2, [0]], ["append", 2, 1]]);
    let mut events = serial(0, &[json!([["append", 1, 0], ["append", 2, 0]])]);
    events.extend([inv(1, t1.clone()), inv(2, t2.clone()), ok(1, t1), ok(2, t2)]);
    events.extend(serial(0, &[json!([["r", 1, [0, 1]], ["r", 2, [0, 1]]])]));
    let text = expect(&check(&events), &["G2-item"]);
    assert!(
        text.contains("read key 1 ending in 0 and did not observe T"),
        "{text}"
    );
}

#[test]
fn internal_inconsistency() {
    let t = json!([["append", 1, 5], ["r", 1, []]]);
    let text = expect(&check(&serial(0, &[t])), &["internal"]);
    assert!(
        text.starts_with("T1 read key 1 as [], but its own earlier reads and appends say it must be [...,5]"),
        "{text}"
    );
    let t = json!([["r", 1, [3]], ["r", 1, [3, 4]]]);
    let mut events = serial(1, &[json!([["append", 1, 3]]), json!([["append", 1, 4]])]);
    events.extend(serial(0, &[t]));
    // Reading [3] and then [3,4] also puts the transaction on both sides of T3's append.
    let text = expect(&check(&events), &["internal", "G-single"]);
    assert!(text.contains("must be [3]"), "{text}");
}

#[test]
fn future_read() {
    let t = json!([["r", 1, [1]], ["append", 1, 1]]);
    let text = expect(&check(&serial(0, &[t])), &["future-read"]);
    assert!(
        text.starts_with("T1 read 1 in key 1 before it appended 1 itself"),
        "{text}"
    );
}

#[test]
fn incompatible_order() {
    let mut events = serial(0, &[json!([["append", 1, 1]]), json!([["append", 1, 2]])]);
    events.extend(serial(1, &[json!([["r", 1, [1, 2]]]), json!([["r", 1, [2, 1]]])]));
    let v = check(&events);
    assert_eq!(v.valid, Validity::Invalid);
    assert!(v.kinds().contains(&"incompatible-order"), "{}", v.explain());
    assert!(
        v.explain().contains(
            "key 1 was read as [1,2] (by T5) and as [2,1] (by T7); neither is a prefix of the other"
        ),
        "{}",
        v.explain()
    );
}

#[test]
fn duplicate_elements() {
    let mut events = serial(0, &[json!([["append", 1, 1]])]);
    events.extend(serial(1, &[json!([["r", 1, [1, 1]]])]));
    let v = check(&events);
    assert!(v.kinds().contains(&"duplicate-elements"), "{}", v.explain());
    assert!(
        v.explain()
            .contains("T3 read key 1 as [1,1], which repeats 1 (2 times)")
    );
}

#[test]
fn stale_read_is_g_single_realtime_and_only_strict_forbids_it() {
    // T1 commits an append; T2 starts after that and still reads the key empty.
    let events = [
        inv(0, json!([["append", 1, 1]])),
        ok(0, json!([["append", 1, 1]])),
        inv(1, json!([["r", 1, []]])),
        ok(1, json!([["r", 1, []]])),
    ];
    let text = expect(&check(&events), &["G-single-realtime"]);
    assert!(text.contains("which needs real-time order"), "{text}");
    assert!(
        text.contains("T1 < T3, because T1 completed (index 1) before T3 was invoked (index 2) (realtime)"),
        "{text}"
    );
    assert!(text.contains("T3 < T1, because T3 read key 1 as empty and did not observe T1's append of 1, which came first (rw)"), "{text}");
    assert_eq!(
        check_with(ConsistencyModel::Serializable, &events),
        Verdict::valid()
    );
    // Different processes, so process order says nothing either.
    assert_eq!(
        check_with(ConsistencyModel::StrongSessionSerializable, &events),
        Verdict::valid()
    );
}

#[test]
fn read_from_the_future_is_g1c_realtime() {
    let events = [
        inv(0, json!([["r", 1, [1]]])),
        ok(0, json!([["r", 1, [1]]])),
        inv(1, json!([["append", 1, 1]])),
        ok(1, json!([["append", 1, 1]])),
    ];
    expect(&check(&events), &["G1c-realtime"]);
    assert_eq!(
        check_with(ConsistencyModel::Serializable, &events),
        Verdict::valid()
    );
}

#[test]
fn reordered_writes_of_one_process_are_g0_process() {
    // Process 0 appends 1 then 2, but the database applied them as [2, 1].
    let mut events = serial(0, &[json!([["append", 1, 1]]), json!([["append", 1, 2]])]);
    events.extend(serial(1, &[json!([["r", 1, [2, 1]]])]));
    let text = expect(
        &check_with(ConsistencyModel::StrongSessionSerializable, &events),
        &["G0-process"],
    );
    assert!(
        text.contains("T1 < T3, because T1 completed before T3 began, on the same process 0 (process)"),
        "{text}"
    );
    expect(&check(&events), &["G0-realtime"]);
    assert_eq!(
        check_with(ConsistencyModel::Serializable, &events),
        Verdict::valid()
    );
}

#[test]
fn lost_update_is_a_cycle() {
    // Both read [0] and append: one update was lost.
    let t1 = json!([["r", 1, [0]], ["append", 1, 1]]);
    let t2 = json!([["r", 1, [0]], ["append", 1, 2]]);
    let mut events = serial(0, &[json!([["append", 1, 0]])]);
    events.extend([inv(1, t1.clone()), inv(2, t2.clone()), ok(1, t1), ok(2, t2)]);
    events.extend(serial(0, &[json!([["r", 1, [0, 1, 2]]])]));
    expect(&check(&events), &["G-single"]);
}

#[test]
fn every_edge_of_a_cycle_is_explained() {
    // A three-transaction G1c: T1 -ww-> T2 -wr-> T3 -wr-> T1 (via key 3).
    let t1 = json!([["append", 1, 4], ["r", 3, [8]]]);
    let t2 = json!([["append", 1, 5], ["append", 2, 6]]);
    let t3 = json!([["r", 2, [6]], ["append", 3, 8]]);
    let reader = json!([["r", 1, [4, 5]]]);
    let v = check(&[
        inv(0, t1.clone()),
        inv(1, t2.clone()),
        inv(2, t3.clone()),
        ok(0, t1),
        ok(1, t2),
        ok(2, t3),
        inv(0, reader.clone()),
        ok(0, reader),
    ]);
    let text = expect(&v, &["G1c"]);
    assert_eq!(text.matches("  - ").count(), 3, "{text}");
    assert!(
        text.contains("because T4 appended 5 to key 1 after T3 appended 4 (ww)"),
        "{text}"
    );
    assert!(
        text.contains("because T5 read key 2 and observed T4's append of 6 (wr)"),
        "{text}"
    );
    assert!(
        text.contains("because T3 read key 3 and observed T5's append of 8 (wr)"),
        "{text}"
    );
}

#[test]
fn budget_exhaustion_still_reports_the_cycle() {
    let t1 = json!([["r", 1, []], ["r", 2, []], ["append", 1, 1]]);
    let t2 = json!([["r", 1, []], ["r", 2, []], ["append", 2, 1]]);
    let events: Vec<(u64, OpType, &str, Value)> =
        [inv(0, t1.clone()), inv(1, t2.clone()), ok(0, t1), ok(1, t2)]
            .into_iter()
            .map(|(p, t, v)| (p, t, "txn", if t == OpType::Invoke { null_reads(&v) } else { v }))
            .collect();
    let h = history_of(&events).expect("well-formed");
    let checker = ListAppendChecker {
        cycle_search_budget: 0,
        ..ListAppendChecker::default()
    };
    let v = checker.check(&h).expect("checkable");
    let text = expect(&v, &["G2-item"]);
    assert!(text.starts_with("cycle search budget exhausted"), "{text}");
}
