//! Isolation scenarios through the public transaction API: the anomalies a
//! user would try by hand in two SQL sessions.

use std::ops::Bound;
use std::sync::Arc;

use quorumdb_storage::{
    ConflictKind, Engine, Error, Isolation, KvStore, MemoryEngine, ScanOrder, SledEngine, Transaction,
    TxnOptions,
};

fn stores() -> Vec<(&'static str, KvStore, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let sled: Arc<dyn Engine> = Arc::new(SledEngine::open(dir.path().join("data")).unwrap());
    vec![
        (
            "memory",
            KvStore::local(Arc::new(MemoryEngine::new())).unwrap(),
            None,
        ),
        ("sled", KvStore::local(sled).unwrap(), Some(dir)),
    ]
}

fn begin(store: &KvStore, isolation: Isolation) -> Transaction {
    store
        .begin(TxnOptions {
            isolation,
            read_only: false,
        })
        .unwrap()
}

fn seed(store: &KvStore, pairs: &[(&str, i64)]) {
    let mut txn = begin(store, Isolation::Serializable);
    for (k, v) in pairs {
        txn.set(k.as_bytes().to_vec(), v.to_string().into_bytes())
            .unwrap();
    }
    txn.commit().unwrap();
}

fn read_int(txn: &mut Transaction, key: &str) -> i64 {
    let raw = txn.get(key.as_bytes()).unwrap().expect("key exists");
    String::from_utf8(raw).unwrap().parse().unwrap()
}

fn assert_conflict(result: Result<Option<u64>, Error>, kind: ConflictKind) {
    match result {
        Err(Error::Conflict { kind: k, .. }) => assert_eq!(k, kind),
        other => panic!("expected a {kind} conflict, got {other:?}"),
    }
}

#[test]
fn lost_update_is_prevented_under_snapshot_and_serializable() {
    for (name, store, _dir) in stores() {
        for isolation in [Isolation::Snapshot, Isolation::Serializable] {
            seed(&store, &[("counter", 0)]);
            let mut t1 = begin(&store, isolation);
            let mut t2 = begin(&store, isolation);
            let v1 = read_int(&mut t1, "counter");
            let v2 = read_int(&mut t2, "counter");
            t1.set(b"counter".to_vec(), (v1 + 1).to_string().into_bytes())
                .unwrap();
            t2.set(b"counter".to_vec(), (v2 + 1).to_string().into_bytes())
                .unwrap();
            assert!(t1.commit().unwrap().is_some(), "{name} {isolation:?}");
            assert_conflict(t2.commit(), ConflictKind::WriteWrite);
            let mut check = begin(&store, isolation);
            assert_eq!(read_int(&mut check, "counter"), 1, "{name} {isolation:?}");
        }
    }
}

/// Two doctors on call; each goes off call if the other is still on.
fn write_skew(
    store: &KvStore,
    isolation: Isolation,
) -> (Result<Option<u64>, Error>, Result<Option<u64>, Error>) {
    seed(store, &[("alice", 1), ("bob", 1)]);
    let mut t1 = begin(store, isolation);
    let mut t2 = begin(store, isolation);
    let on_call_1 = read_int(&mut t1, "alice") + read_int(&mut t1, "bob");
    let on_call_2 = read_int(&mut t2, "alice") + read_int(&mut t2, "bob");
    assert_eq!((on_call_1, on_call_2), (2, 2));
    t1.set(b"alice".to_vec(), b"0".to_vec()).unwrap();
    t2.set(b"bob".to_vec(), b"0".to_vec()).unwrap();
    (t1.commit(), t2.commit())
}

#[test]
fn write_skew_is_allowed_under_snapshot() {
    for (name, store, _dir) in stores() {
        let (r1, r2) = write_skew(&store, Isolation::Snapshot);
        assert!(
            r1.is_ok() && r2.is_ok(),
            "{name}: snapshot isolation permits write skew"
        );
    }
}

#[test]
fn write_skew_is_prevented_under_serializable() {
    for (_name, store, _dir) in stores() {
        let (r1, r2) = write_skew(&store, Isolation::Serializable);
        assert!(r1.is_ok());
        assert_conflict(r2, ConflictKind::ReadWrite);
        let mut check = begin(&store, Isolation::Serializable);
        assert_eq!(read_int(&mut check, "alice") + read_int(&mut check, "bob"), 1);
    }
}

#[test]
fn a_phantom_insert_aborts_the_scanner_under_serializable() {
    for (name, store, _dir) in stores() {
        seed(&store, &[("order/1", 10), ("order/2", 20), ("zzz", 0)]);
        let mut scanner = begin(&store, Isolation::Serializable);
        let total: i64 = scanner
            .scan_prefix(b"order/", ScanOrder::Forward)
            .map(|r| String::from_utf8(r.unwrap().1).unwrap().parse::<i64>().unwrap())
            .sum();
        assert_eq!(total, 30);

        let mut inserter = begin(&store, Isolation::Serializable);
        inserter.set(b"order/3".to_vec(), b"5".to_vec()).unwrap();
        inserter.commit().unwrap();

        scanner
            .set(b"summary".to_vec(), total.to_string().into_bytes())
            .unwrap();
        assert_conflict(scanner.commit(), ConflictKind::ReadWrite);

        // Under snapshot isolation the same interleaving commits.
        let mut scanner = begin(&store, Isolation::Snapshot);
        let n = scanner.scan_prefix(b"order/", ScanOrder::Forward).count();
        let mut inserter = begin(&store, Isolation::Snapshot);
        inserter.set(b"order/4".to_vec(), b"1".to_vec()).unwrap();
        inserter.commit().unwrap();
        scanner
            .set(b"summary".to_vec(), n.to_string().into_bytes())
            .unwrap();
        assert!(scanner.commit().is_ok(), "{name}");

        // A write outside the scanned range does not abort the scanner.
        let mut scanner = begin(&store, Isolation::Serializable);
        let _ = scanner.scan_prefix(b"order/", ScanOrder::Forward).count();
        let mut other = begin(&store, Isolation::Serializable);
        other.set(b"zzz".to_vec(), b"1".to_vec()).unwrap();
        other.commit().unwrap();
        scanner.set(b"summary".to_vec(), b"x".to_vec()).unwrap();
        assert!(scanner.commit().is_ok(), "{name}");
    }
}

#[test]
fn reads_see_own_writes_in_order_and_nothing_of_others() {
    for (_name, store, _dir) in stores() {
        seed(&store, &[("b", 1), ("d", 1), ("f", 1)]);
        let mut txn = begin(&store, Isolation::Serializable);
        txn.set(b"a".to_vec(), b"2".to_vec()).unwrap();
        txn.set(b"d".to_vec(), b"2".to_vec()).unwrap();
        txn.delete(b"f".to_vec()).unwrap();
        txn.delete(b"zz".to_vec()).unwrap(); // deleting a missing key is fine
        let mut other = begin(&store, Isolation::Serializable);
        other.set(b"c".to_vec(), b"9".to_vec()).unwrap();
        other.commit().unwrap();

        let all = (Bound::Unbounded, Bound::Unbounded);
        let forward: Vec<_> = txn
            .scan(all.clone(), ScanOrder::Forward)
            .map(|r| r.unwrap())
            .collect();
        let expected = vec![
            (b"a".to_vec(), b"2".to_vec()),
            (b"b".to_vec(), b"1".to_vec()),
            (b"d".to_vec(), b"2".to_vec()),
        ];
        assert_eq!(forward, expected);
        let reverse: Vec<_> = txn.scan(all, ScanOrder::Reverse).map(|r| r.unwrap()).collect();
        assert_eq!(reverse, expected.into_iter().rev().collect::<Vec<_>>());
        assert_eq!(txn.get(b"f").unwrap(), None);
        assert_eq!(txn.get(b"c").unwrap(), None, "a later commit is invisible");
    }
}

#[test]
fn savepoints_undo_buffered_writes() {
    let store = KvStore::local(Arc::new(MemoryEngine::new())).unwrap();
    seed(&store, &[("k", 1)]);
    let mut txn = begin(&store, Isolation::Serializable);
    txn.set(b"k".to_vec(), b"2".to_vec()).unwrap();
    let sp = txn.savepoint();
    txn.set(b"k".to_vec(), b"3".to_vec()).unwrap();
    txn.set(b"new".to_vec(), b"x".to_vec()).unwrap();
    txn.delete(b"k".to_vec()).unwrap();
    txn.rollback_to(sp);
    assert_eq!(txn.get(b"k").unwrap(), Some(b"2".to_vec()));
    assert_eq!(txn.get(b"new").unwrap(), None);
    txn.commit().unwrap();
    let mut check = begin(&store, Isolation::Serializable);
    assert_eq!(read_int(&mut check, "k"), 2);
    assert_eq!(check.get(b"new").unwrap(), None);
}

#[test]
fn read_only_transactions_refuse_writes_and_never_commit_anything() {
    let store = KvStore::local(Arc::new(MemoryEngine::new())).unwrap();
    seed(&store, &[("k", 1)]);
    let applied = store.mvcc().applied();
    let mut txn = store
        .begin(TxnOptions {
            isolation: Isolation::Serializable,
            read_only: true,
        })
        .unwrap();
    assert!(matches!(
        txn.set(b"k".to_vec(), b"2".to_vec()),
        Err(Error::ReadOnly)
    ));
    assert_eq!(read_int(&mut txn, "k"), 1);
    assert_eq!(txn.commit().unwrap(), None);
    assert_eq!(
        store.mvcc().applied(),
        applied,
        "read-only work never reaches the log"
    );
}
