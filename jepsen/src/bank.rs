//! The bank checker: money moves between accounts, but never appears or
//! disappears.
//!
//! Workload shape: `f = "transfer"` with value `{"from":a,"to":b,"amount":n}`
//! (run in an explicit transaction), and `f = "read"` whose `ok` value maps
//! every account to its balance: `{"0":10,"1":90}`.
//!
//! Every `ok` read must
//! * sum to the constant total (`wrong-total`),
//! * show no negative balance unless the workload allows overdrafts
//!   (`negative-balance`),
//! * show a balance for every account (`nil-balance` for a `null`), and, if
//!   the account set is configured, exactly those accounts (`wrong-accounts`).
//!
//! Reads that fail or end `info` carry no information and are ignored, as are
//! transfers of any outcome: a transfer's effect is only ever judged through
//! the reads. With no `ok` read at all the verdict is `unknown`.
//!
//! Deliberately not checked: that transfers happen atomically with respect to
//! each other beyond what the totals show (that is the list-append
//! workload's job), or any balance trajectory over time.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::checker::{Anomaly, Checker, Verdict};
use crate::history::{History, HistoryError, Outcome, bad_value};

/// Configuration of the bank invariant.
#[derive(Clone, Debug)]
pub struct BankChecker {
    /// The sum every read must show.
    pub total: i64,
    /// If set, every read must show exactly these accounts.
    pub accounts: Option<BTreeSet<String>>,
    /// Whether balances may go below zero.
    pub allow_negative: bool,
}

impl BankChecker {
    pub fn new(total: i64) -> BankChecker {
        BankChecker {
            total,
            accounts: None,
            allow_negative: false,
        }
    }
}

impl Checker for BankChecker {
    fn name(&self) -> &'static str {
        "bank"
    }

    fn check(&self, history: &History) -> Result<Verdict, HistoryError> {
        let mut anomalies = Vec::new();
        let mut reads = 0usize;
        for pair in history.pairs() {
            let inv = history.op(pair.invoke);
            match inv.f.as_str() {
                "transfer" => continue,
                "read" => {}
                other => {
                    return Err(bad_value(
                        history,
                        pair.invoke,
                        format!("the bank workload has only transfer and read ops, not {other:?}"),
                    ));
                }
            }
            let (Outcome::Ok, Some(pos)) = (pair.outcome, pair.completion) else {
                continue;
            };
            reads += 1;
            let index = history.index_of(pos);
            let Value::Object(balances) = &history.op(pos).value else {
                return Err(bad_value(
                    history,
                    pos,
                    "an ok read's value must map accounts to balances",
                ));
            };
            let mut sum: i128 = 0;
            let mut shown = Vec::new();
            for (account, balance) in balances {
                match balance {
                    Value::Null => anomalies.push(Anomaly::new(
                        "nil-balance",
                        format!("read at index {index} shows no balance for account {account}"),
                    )),
                    b => {
                        let Some(b) = b.as_i64() else {
                            return Err(bad_value(
                                history,
                                pos,
                                format!("balance of {account} is not an integer: {b}"),
                            ));
                        };
                        sum += i128::from(b);
                        shown.push(format!("{account}={b}"));
                        if b < 0 && !self.allow_negative {
                            anomalies.push(Anomaly::new(
                                "negative-balance",
                                format!("read at index {index} shows account {account} with balance {b}"),
                            ));
                        }
                    }
                }
            }
            if sum != i128::from(self.total) {
                anomalies.push(Anomaly::new(
                    "wrong-total",
                    format!(
                        "read at index {index} shows a total of {sum}, not {}: {}",
                        self.total,
                        shown.join(", ")
                    ),
                ));
            }
            if let Some(expected) = &self.accounts {
                let got: BTreeSet<String> = balances.keys().cloned().collect();
                if &got != expected {
                    let missing: Vec<&String> = expected.difference(&got).collect();
                    let extra: Vec<&String> = got.difference(expected).collect();
                    anomalies.push(Anomaly::new(
                        "wrong-accounts",
                        format!("read at index {index} is missing accounts {missing:?} and shows unknown accounts {extra:?}"),
                    ));
                }
            }
        }
        if reads == 0 && anomalies.is_empty() {
            return Ok(Verdict::unknown(
                "no-reads",
                "no read completed ok, so the invariant was never observed",
            ));
        }
        Ok(Verdict::from_anomalies(anomalies))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checker::Validity;
    use crate::history::{OpType::*, history_of};
    use proptest::prelude::*;
    use serde_json::json;

    fn check(events: &[(u64, crate::history::OpType, &str, Value)]) -> Verdict {
        let h = history_of(events).expect("well-formed");
        BankChecker::new(100).check(&h).expect("checkable")
    }

    #[test]
    fn valid_history_with_failed_and_unknown_reads() {
        let v = check(&[
            (0, Invoke, "transfer", json!({"from":0,"to":1,"amount":5})),
            (1, Invoke, "read", Value::Null),
            (0, Ok, "transfer", json!({"from":0,"to":1,"amount":5})),
            (1, Ok, "read", json!({"0":45,"1":55})),
            (2, Invoke, "read", Value::Null),
            (2, Fail, "read", json!({"0":-1})),
            (3, Invoke, "read", Value::Null),
            (3, Info, "read", Value::Null),
        ]);
        assert_eq!(v, Verdict::valid());
    }

    #[test]
    fn wrong_total_and_negative_balance_are_detected() {
        let v = check(&[
            (1, Invoke, "read", Value::Null),
            (1, Ok, "read", json!({"0":45,"1":50})),
            (1, Invoke, "read", Value::Null),
            (1, Ok, "read", json!({"0":-5,"1":105})),
        ]);
        assert_eq!(v.valid, Validity::Invalid);
        assert_eq!(v.kinds(), ["wrong-total", "negative-balance"]);
        assert!(v.anomalies[0].explanation.contains("total of 95, not 100"));
        assert!(v.anomalies[1].explanation.contains("account 0 with balance -5"));
    }

    #[test]
    fn nil_balance_and_account_set() {
        let h = history_of(&[
            (1, Invoke, "read", Value::Null),
            (1, Ok, "read", json!({"0":100,"1":null})),
            (1, Invoke, "read", Value::Null),
            (1, Ok, "read", json!({"0":100})),
        ])
        .expect("well-formed");
        let mut c = BankChecker::new(100);
        c.accounts = Some(["0".to_string(), "1".to_string()].into());
        let v = c.check(&h).expect("checkable");
        assert_eq!(v.kinds(), ["nil-balance", "wrong-accounts"]);
    }

    #[test]
    fn no_reads_is_unknown_and_bad_values_are_errors() {
        let v = check(&[(0, Invoke, "transfer", json!({})), (0, Ok, "transfer", json!({}))]);
        assert_eq!(v.valid, Validity::Unknown);
        let h = history_of(&[(1, Invoke, "read", Value::Null), (1, Ok, "read", json!([1, 2]))]).expect("ok");
        assert!(BankChecker::new(3).check(&h).is_err());
        let h = history_of(&[(1, Invoke, "withdraw", Value::Null)]).expect("ok");
        assert!(BankChecker::new(3).check(&h).is_err());
        let h = history_of(&[
            (1, Invoke, "read", Value::Null),
            (1, Ok, "read", json!({"a":"x"})),
        ])
        .expect("ok");
        assert!(BankChecker::new(3).check(&h).is_err());
    }

    proptest! {
        /// A serial bank (the model) only produces valid histories, and
        /// skimming one unit off any read is caught.
        #[test]
        fn serial_bank_is_valid_and_skims_are_caught(
            steps in prop::collection::vec((0usize..4, 0usize..4, 0i64..30, any::<bool>()), 1..40),
            skim in any::<prop::sample::Index>(),
        ) {
            let mut balances = [25i64; 4];
            let mut events = Vec::new();
            for (from, to, amount, read) in steps {
                if read {
                    let m: serde_json::Map<String, Value> =
                        balances.iter().enumerate().map(|(i, b)| (i.to_string(), json!(b))).collect();
                    events.push((0, Invoke, "read", Value::Null));
                    events.push((0, Ok, "read", Value::Object(m)));
                } else {
                    let t = json!({"from": from, "to": to, "amount": amount});
                    events.push((0, Invoke, "transfer", t.clone()));
                    if balances[from] >= amount {
                        balances[from] -= amount;
                        balances[to] += amount;
                        events.push((0, Ok, "transfer", t));
                    } else {
                        events.push((0, Fail, "transfer", t));
                    }
                }
            }
            let v = check(&events);
            prop_assert!(v.valid != Validity::Invalid, "{}", v.explain());
            let reads: Vec<usize> = (0..events.len()).filter(|&i| events[i].2 == "read" && events[i].1 == Ok).collect();
            if !reads.is_empty() {
                let i = reads[skim.index(reads.len())];
                if let Value::Object(m) = &mut events[i].3 && let Some(b) = m.get_mut("0") {
                    *b = json!(b.as_i64().unwrap_or(0) - 1);
                }
                let v = check(&events);
                prop_assert_eq!(v.valid, Validity::Invalid);
                prop_assert!(v.kinds().contains(&"wrong-total"));
            }
        }
    }
}
