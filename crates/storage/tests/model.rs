//! Model-based test: random interleavings of concurrent transactions run
//! against the real store and against a deliberately naive model, and must
//! agree on every read and on every commit/abort decision.
//!
//! The model keeps a full copy of the database per committed version and,
//! per key, the version that last changed it. Its rules are the isolation
//! definitions themselves: a commit aborts when a key it wrote (or, under
//! SERIALIZABLE, a key it read, or any key inside a range it scanned) was
//! changed by a commit after its snapshot. It shares no code with the store.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Arc;

use proptest::prelude::*;
use quorumdb_storage::{
    Engine, Error, Isolation, KeyRange, KvStore, MemoryEngine, ScanOrder, SledEngine, Transaction, TxnOptions,
};

const KEYS: &[&[u8]] = &[b"a", b"b", b"b\x00", b"c", b"d"];

#[derive(Clone, Debug)]
enum Step {
    Begin {
        txn: usize,
        isolation: Isolation,
    },
    Get {
        txn: usize,
        key: usize,
    },
    Scan {
        txn: usize,
        from: usize,
        to: usize,
        reverse: bool,
    },
    Set {
        txn: usize,
        key: usize,
        value: u8,
    },
    Delete {
        txn: usize,
        key: usize,
    },
    Savepoint {
        txn: usize,
    },
    RollbackToSavepoint {
        txn: usize,
    },
    Commit {
        txn: usize,
    },
    Rollback {
        txn: usize,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let txn = 0..4usize;
    let key = 0..KEYS.len();
    prop_oneof![
        2 => (txn.clone(), prop_oneof![Just(Isolation::Snapshot), Just(Isolation::Serializable)])
            .prop_map(|(txn, isolation)| Step::Begin { txn, isolation }),
        3 => (txn.clone(), key.clone()).prop_map(|(txn, key)| Step::Get { txn, key }),
        2 => (txn.clone(), 0..=KEYS.len(), 0..=KEYS.len(), any::<bool>())
            .prop_map(|(txn, from, to, reverse)| Step::Scan { txn, from, to, reverse }),
        4 => (txn.clone(), key.clone(), any::<u8>()).prop_map(|(txn, key, value)| Step::Set { txn, key, value }),
        1 => (txn.clone(), key).prop_map(|(txn, key)| Step::Delete { txn, key }),
        1 => txn.clone().prop_map(|txn| Step::Savepoint { txn }),
        1 => txn.clone().prop_map(|txn| Step::RollbackToSavepoint { txn }),
        3 => txn.clone().prop_map(|txn| Step::Commit { txn }),
        1 => txn.prop_map(|txn| Step::Rollback { txn }),
    ]
}

type Data = BTreeMap<Vec<u8>, Vec<u8>>;

/// Scan bounds from key indexes: `from` included, `to` excluded; the last
/// index means unbounded.
fn range(from: usize, to: usize) -> KeyRange {
    let bound = |i: usize, included: bool| match KEYS.get(i) {
        Some(k) if included => Bound::Included(k.to_vec()),
        Some(k) => Bound::Excluded(k.to_vec()),
        None => Bound::Unbounded,
    };
    let start = if from == KEYS.len() {
        Bound::Unbounded
    } else {
        bound(from, true)
    };
    (start, bound(to, false))
}

fn in_range(r: &KeyRange, key: &[u8]) -> bool {
    (match &r.0 {
        Bound::Included(s) => key >= s.as_slice(),
        Bound::Excluded(s) => key > s.as_slice(),
        Bound::Unbounded => true,
    }) && (match &r.1 {
        Bound::Included(e) => key <= e.as_slice(),
        Bound::Excluded(e) => key < e.as_slice(),
        Bound::Unbounded => true,
    })
}

struct ModelTxn {
    isolation: Isolation,
    snapshot: usize,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    savepoint: Option<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
    read_keys: Vec<Vec<u8>>,
    read_ranges: Vec<KeyRange>,
}

#[derive(Default)]
struct Model {
    versions: Vec<Data>, // versions[i] = state after i commits
    last_changed: HashMap<Vec<u8>, usize>,
}

impl Model {
    fn new() -> Self {
        Self {
            versions: vec![Data::new()],
            ..Default::default()
        }
    }

    fn view(&self, txn: &ModelTxn) -> Data {
        let mut data = self.versions[txn.snapshot].clone();
        for (k, v) in &txn.writes {
            match v {
                Some(v) => data.insert(k.clone(), v.clone()),
                None => data.remove(k),
            };
        }
        data
    }

    fn changed_since(&self, key: &[u8], snapshot: usize) -> bool {
        self.last_changed.get(key).is_some_and(|&v| v > snapshot)
    }

    /// True if committed.
    fn commit(&mut self, txn: ModelTxn) -> bool {
        if txn.writes.is_empty() {
            return true;
        }
        let ww = txn.writes.keys().any(|k| self.changed_since(k, txn.snapshot));
        let rw = txn.isolation == Isolation::Serializable
            && (txn.read_keys.iter().any(|k| self.changed_since(k, txn.snapshot))
                || self
                    .last_changed
                    .iter()
                    .any(|(k, &v)| v > txn.snapshot && txn.read_ranges.iter().any(|r| in_range(r, k))));
        if ww || rw {
            return false;
        }
        let mut next = self.versions.last().cloned().unwrap_or_default();
        let version = self.versions.len();
        for (k, v) in txn.writes {
            match v {
                Some(v) => next.insert(k.clone(), v),
                None => next.remove(&k),
            };
            self.last_changed.insert(k, version);
        }
        self.versions.push(next);
        true
    }
}

fn run(store: &KvStore, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut model = Model::new();
    let mut real: HashMap<usize, (Transaction, Option<quorumdb_storage::Savepoint>)> = HashMap::new();
    let mut shadow: HashMap<usize, ModelTxn> = HashMap::new();
    for (i, step) in steps.iter().enumerate() {
        match step.clone() {
            Step::Begin { txn, isolation } => {
                if real.contains_key(&txn) {
                    continue;
                }
                let t = store
                    .begin(TxnOptions {
                        isolation,
                        read_only: false,
                    })
                    .unwrap();
                real.insert(txn, (t, None));
                shadow.insert(
                    txn,
                    ModelTxn {
                        isolation,
                        snapshot: model.versions.len() - 1,
                        writes: BTreeMap::new(),
                        savepoint: None,
                        read_keys: vec![],
                        read_ranges: vec![],
                    },
                );
            }
            Step::Get { txn, key } => {
                let (Some((t, _)), Some(m)) = (real.get_mut(&txn), shadow.get_mut(&txn)) else {
                    continue;
                };
                let key = KEYS[key];
                let got = t.get(key).unwrap();
                let expected = model.view(m).get(key).cloned();
                prop_assert_eq!(got, expected, "step {}: get", i);
                m.read_keys.push(key.to_vec());
            }
            Step::Scan {
                txn,
                from,
                to,
                reverse,
            } => {
                let (Some((t, _)), Some(m)) = (real.get_mut(&txn), shadow.get_mut(&txn)) else {
                    continue;
                };
                let r = range(from, to);
                let order = if reverse {
                    ScanOrder::Reverse
                } else {
                    ScanOrder::Forward
                };
                let got: Vec<_> = t.scan(r.clone(), order).map(|x| x.unwrap()).collect();
                let mut expected: Vec<_> = model
                    .view(m)
                    .into_iter()
                    .filter(|(k, _)| in_range(&r, k))
                    .collect();
                if reverse {
                    expected.reverse();
                }
                prop_assert_eq!(got, expected, "step {}: scan {:?}", i, r);
                m.read_ranges.push(r);
            }
            Step::Set { txn, key, value } => {
                let (Some((t, _)), Some(m)) = (real.get_mut(&txn), shadow.get_mut(&txn)) else {
                    continue;
                };
                t.set(KEYS[key].to_vec(), vec![value]).unwrap();
                m.writes.insert(KEYS[key].to_vec(), Some(vec![value]));
            }
            Step::Delete { txn, key } => {
                let (Some((t, _)), Some(m)) = (real.get_mut(&txn), shadow.get_mut(&txn)) else {
                    continue;
                };
                t.delete(KEYS[key].to_vec()).unwrap();
                m.writes.insert(KEYS[key].to_vec(), None);
            }
            Step::Savepoint { txn } => {
                let (Some((t, sp)), Some(m)) = (real.get_mut(&txn), shadow.get_mut(&txn)) else {
                    continue;
                };
                *sp = Some(t.savepoint());
                m.savepoint = Some(m.writes.clone());
            }
            Step::RollbackToSavepoint { txn } => {
                let (Some((t, Some(sp))), Some(m)) = (real.get_mut(&txn), shadow.get_mut(&txn)) else {
                    continue;
                };
                t.rollback_to(*sp);
                m.writes = m.savepoint.clone().unwrap_or_default();
            }
            Step::Commit { txn } => {
                let (Some((t, _)), Some(m)) = (real.remove(&txn), shadow.remove(&txn)) else {
                    continue;
                };
                let got = match t.commit() {
                    Ok(_) => true,
                    Err(Error::Conflict { .. }) => false,
                    Err(e) => return Err(TestCaseError::fail(format!("step {i}: commit failed: {e}"))),
                };
                prop_assert_eq!(got, model.commit(m), "step {}: commit decision", i);
            }
            Step::Rollback { txn } => {
                real.remove(&txn);
                shadow.remove(&txn);
            }
        }
    }
    // The final state agrees too.
    let mut check = store.begin(TxnOptions::default()).unwrap();
    let all: Vec<_> = check
        .scan((Bound::Unbounded, Bound::Unbounded), ScanOrder::Forward)
        .map(|x| x.unwrap())
        .collect();
    let expected: Vec<_> = model
        .versions
        .last()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    prop_assert_eq!(all, expected);
    store
        .mvcc()
        .verify()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn memory_store_agrees_with_the_model(steps in prop::collection::vec(step(), 1..80)) {
        let store = KvStore::local(Arc::new(MemoryEngine::new())).unwrap();
        run(&store, &steps)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn sled_store_agrees_with_the_model(steps in prop::collection::vec(step(), 1..80)) {
        let dir = tempfile::tempdir().unwrap();
        let engine: Arc<dyn Engine> = Arc::new(SledEngine::open(dir.path()).unwrap());
        let store = KvStore::local(engine).unwrap();
        run(&store, &steps)?;
    }
}
