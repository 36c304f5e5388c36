use std::ops::Bound;
use std::sync::Arc;

use super::*;
use crate::engine::MemoryEngine;

fn store() -> Mvcc {
    Mvcc::open(Arc::new(MemoryEngine::new())).unwrap()
}

fn commit(read_version: Version, writes: &[(&str, Option<&str>)]) -> Commit {
    Commit {
        read_version,
        isolation: Isolation::Serializable,
        writes: writes
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
            .collect(),
        read_keys: vec![],
        read_ranges: vec![],
    }
}

fn all() -> KeyRange {
    (Bound::Unbounded, Bound::Unbounded)
}

fn scan(mvcc: &Mvcc, version: Version, range: &KeyRange, order: ScanOrder) -> Vec<(String, String)> {
    mvcc.snapshot(version)
        .unwrap()
        .scan(range, order)
        .map(|r| {
            let (k, v) = r.unwrap();
            (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap())
        })
        .collect()
}

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn snapshots_see_exactly_the_versions_at_or_below_them() {
    let mvcc = store();
    assert_eq!(
        mvcc.apply(1, &commit(0, &[("a", Some("a1")), ("b", Some("b1"))]))
            .unwrap(),
        ApplyOutcome::Committed
    );
    assert_eq!(
        mvcc.apply(3, &commit(1, &[("a", Some("a3")), ("c", Some("c3"))]))
            .unwrap(),
        ApplyOutcome::Committed
    );
    assert_eq!(
        mvcc.apply(4, &commit(3, &[("b", None)])).unwrap(),
        ApplyOutcome::Committed
    );

    let get = |v: Version, k: &str| {
        mvcc.snapshot(v)
            .unwrap()
            .get(k.as_bytes())
            .unwrap()
            .map(|v| String::from_utf8(v).unwrap())
    };
    assert_eq!(get(0, "a"), None);
    assert_eq!(get(1, "a").as_deref(), Some("a1"));
    assert_eq!(get(2, "a").as_deref(), Some("a1"));
    assert_eq!(get(3, "a").as_deref(), Some("a3"));
    assert_eq!(get(3, "b").as_deref(), Some("b1"));
    assert_eq!(get(4, "b"), None);

    assert_eq!(
        scan(&mvcc, 1, &all(), ScanOrder::Forward),
        pairs(&[("a", "a1"), ("b", "b1")])
    );
    assert_eq!(
        scan(&mvcc, 3, &all(), ScanOrder::Forward),
        pairs(&[("a", "a3"), ("b", "b1"), ("c", "c3")])
    );
    assert_eq!(
        scan(&mvcc, 4, &all(), ScanOrder::Reverse),
        pairs(&[("c", "c3"), ("a", "a3")])
    );
    assert_eq!(
        scan(&mvcc, 3, &all(), ScanOrder::Reverse),
        pairs(&[("c", "c3"), ("b", "b1"), ("a", "a3")])
    );
    let range = (Bound::Excluded(b"a".to_vec()), Bound::Included(b"c".to_vec()));
    assert_eq!(
        scan(&mvcc, 3, &range, ScanOrder::Forward),
        pairs(&[("b", "b1"), ("c", "c3")])
    );
    assert_eq!(
        scan(&mvcc, 3, &range, ScanOrder::Reverse),
        pairs(&[("c", "c3"), ("b", "b1")])
    );
}

#[test]
fn keys_with_shared_prefixes_and_zero_bytes_stay_apart() {
    let mvcc = store();
    let keys: [&[u8]; 5] = [b"", b"\x00", b"a", b"a\x00", b"a\x00\xff"];
    let writes = keys.iter().map(|k| (k.to_vec(), Some(k.to_vec()))).collect();
    let c = Commit {
        writes,
        ..commit(0, &[])
    };
    mvcc.apply(1, &c).unwrap();
    let snap = mvcc.snapshot(1).unwrap();
    let got: Vec<Vec<u8>> = snap
        .scan(&all(), ScanOrder::Forward)
        .map(|r| r.unwrap().0)
        .collect();
    assert_eq!(got, keys.iter().map(|k| k.to_vec()).collect::<Vec<_>>());
    let prefix = (Bound::Included(b"a".to_vec()), Bound::Excluded(b"b".to_vec()));
    assert_eq!(snap.scan(&prefix, ScanOrder::Reverse).count(), 3);
    for k in keys {
        assert_eq!(snap.get(k).unwrap(), Some(k.to_vec()));
    }
}

#[test]
fn versions_must_increase_and_snapshots_must_be_applied() {
    let mvcc = store();
    mvcc.apply(5, &commit(0, &[("a", Some("1"))])).unwrap();
    assert!(matches!(
        mvcc.apply(5, &commit(0, &[])),
        Err(Error::OutOfOrder { .. })
    ));
    assert!(matches!(
        mvcc.apply(4, &commit(0, &[])),
        Err(Error::OutOfOrder { .. })
    ));
    assert!(matches!(mvcc.snapshot(6), Err(Error::NotYetApplied { .. })));
    mvcc.advance(6).unwrap();
    assert_eq!(mvcc.applied(), 6);
    assert_eq!(mvcc.snapshot(6).unwrap().get(b"a").unwrap(), Some(b"1".to_vec()));
}

#[test]
fn write_write_conflicts_abort_under_both_levels() {
    for isolation in [Isolation::Snapshot, Isolation::Serializable] {
        let mvcc = store();
        mvcc.apply(1, &commit(0, &[("x", Some("1"))])).unwrap();
        // Both read at 1; the second writer to x loses.
        mvcc.apply(
            2,
            &Commit {
                isolation,
                ..commit(1, &[("x", Some("2"))])
            },
        )
        .unwrap();
        let outcome = mvcc
            .apply(
                3,
                &Commit {
                    isolation,
                    ..commit(1, &[("x", Some("3"))])
                },
            )
            .unwrap();
        assert_eq!(
            outcome,
            ApplyOutcome::Conflict {
                key: b"x".to_vec(),
                kind: ConflictKind::WriteWrite
            }
        );
        // Nothing of the aborted commit is visible, but the version is applied.
        assert_eq!(mvcc.applied(), 3);
        assert_eq!(mvcc.snapshot(3).unwrap().get(b"x").unwrap(), Some(b"2".to_vec()));
        // A commit that read after the winner is fine.
        assert_eq!(
            mvcc.apply(4, &commit(3, &[("x", Some("4"))])).unwrap(),
            ApplyOutcome::Committed
        );
    }
}

#[test]
fn read_write_conflicts_only_under_serializable() {
    for (isolation, expect_conflict) in [(Isolation::Snapshot, false), (Isolation::Serializable, true)] {
        let mvcc = store();
        mvcc.apply(1, &commit(0, &[("a", Some("1")), ("m", Some("1"))]))
            .unwrap();
        mvcc.apply(2, &commit(1, &[("m", Some("2"))])).unwrap();
        let point = Commit {
            isolation,
            read_keys: vec![b"m".to_vec()],
            ..commit(1, &[("z", Some("z"))])
        };
        let range = Commit {
            isolation,
            read_ranges: vec![(Bound::Included(b"k".to_vec()), Bound::Excluded(b"n".to_vec()))],
            ..commit(1, &[("w", Some("w"))])
        };
        let outside = Commit {
            isolation,
            read_ranges: vec![(Bound::Excluded(b"m".to_vec()), Bound::Unbounded)],
            ..commit(1, &[("y", Some("y"))])
        };
        for (version, c) in [(3, point), (4, range)] {
            let outcome = mvcc.apply(version, &c).unwrap();
            if expect_conflict {
                assert_eq!(
                    outcome,
                    ApplyOutcome::Conflict {
                        key: b"m".to_vec(),
                        kind: ConflictKind::ReadWrite
                    }
                );
            } else {
                assert_eq!(outcome, ApplyOutcome::Committed);
            }
        }
        assert_eq!(mvcc.apply(5, &outside).unwrap(), ApplyOutcome::Committed);
    }
}

#[test]
fn read_range_membership_handles_nested_and_overlapping_ranges() {
    let owned: Vec<KeyRange> = vec![
        (Bound::Included(b"a".to_vec()), Bound::Excluded(b"z".to_vec())),
        (Bound::Included(b"b".to_vec()), Bound::Excluded(b"c".to_vec())),
        (Bound::Excluded(b"zz".to_vec()), Bound::Unbounded),
    ];
    let ranges = ReadRanges::new(&owned);
    for (key, inside) in [
        (&b"a"[..], true),
        (b"q", true),
        (b"y", true),
        (b"z", false),
        (b"zz", false),
        (b"zzz", true),
        (b"0", false),
    ] {
        assert_eq!(ranges.contains(key), inside, "{:?}", String::from_utf8_lossy(key));
    }
}

#[test]
fn gc_keeps_what_snapshots_at_or_above_the_horizon_see() {
    let mvcc = store();
    mvcc.apply(
        1,
        &commit(0, &[("a", Some("a1")), ("b", Some("b1")), ("c", Some("c1"))]),
    )
    .unwrap();
    mvcc.apply(2, &commit(1, &[("a", Some("a2")), ("b", None)]))
        .unwrap();
    mvcc.apply(3, &commit(2, &[("a", Some("a3"))])).unwrap();
    let before: Vec<_> = (2..=3)
        .map(|v| scan(&mvcc, v, &all(), ScanOrder::Forward))
        .collect();
    let raw_before = mvcc.engine().scan(all()).count();

    let removed = mvcc.gc(2).unwrap();
    // a@1, b@1 and the tombstone b@2 go, and the commit records at 1 and 2.
    assert_eq!(removed, 5);
    // ... and the horizon's own metadata key appears.
    assert_eq!(mvcc.engine().scan(all()).count(), raw_before - 5 + 1);
    let after: Vec<_> = (2..=3)
        .map(|v| scan(&mvcc, v, &all(), ScanOrder::Forward))
        .collect();
    assert_eq!(before, after);
    assert!(matches!(
        mvcc.snapshot(1),
        Err(Error::SnapshotTooOld {
            version: 1,
            horizon: 2
        })
    ));
    // A commit that read below the horizon is refused deterministically.
    assert_eq!(
        mvcc.apply(4, &commit(1, &[("d", Some("d"))])).unwrap(),
        ApplyOutcome::TooOld { horizon: 2 }
    );
    // A lower horizon is a no-op, a future one an error.
    assert_eq!(mvcc.gc(1).unwrap(), 0);
    assert!(mvcc.gc(99).is_err());
}

#[test]
fn a_reader_racing_gc_gets_an_error_not_a_short_answer() {
    let mvcc = store();
    mvcc.apply(1, &commit(0, &[("a", Some("1")), ("b", Some("1"))]))
        .unwrap();
    mvcc.apply(2, &commit(1, &[("a", None), ("b", None)])).unwrap();
    let old = mvcc.snapshot(1).unwrap();
    let mut scan = old.scan(&all(), ScanOrder::Forward);
    assert!(scan.next().unwrap().is_ok());
    mvcc.gc(2).unwrap();
    assert!(matches!(scan.next(), Some(Err(Error::SnapshotTooOld { .. }))));
    assert!(scan.next().is_none());
    assert!(matches!(old.get(b"a"), Err(Error::SnapshotTooOld { .. })));
}

#[test]
fn reopening_restores_applied_version_and_horizon() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new());
    let mvcc = Mvcc::open(engine.clone()).unwrap();
    mvcc.apply(1, &commit(0, &[("a", Some("1"))])).unwrap();
    mvcc.apply(2, &commit(1, &[("a", Some("2"))])).unwrap();
    mvcc.gc(1).unwrap();
    drop(mvcc);
    let mvcc = Mvcc::open(engine).unwrap();
    assert_eq!((mvcc.applied(), mvcc.horizon()), (2, 1));
}

#[test]
fn opening_detects_metadata_that_disagrees_with_the_data() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new());
    let mvcc = Mvcc::open(engine.clone()).unwrap();
    mvcc.apply(1, &commit(0, &[("a", Some("1"))])).unwrap();
    mvcc.apply(2, &commit(1, &[("a", Some("2"))])).unwrap();
    let mut batch = WriteBatch::new();
    batch.put(keys::APPLIED.to_vec(), keys::encode_u64(1));
    engine.write(batch).unwrap();
    assert!(Mvcc::open(engine.clone()).is_err());
    let mut batch = WriteBatch::new();
    batch.put(keys::APPLIED.to_vec(), b"xyz".to_vec());
    engine.write(batch).unwrap();
    assert!(matches!(Mvcc::open(engine), Err(Error::Decode { .. })));
}
