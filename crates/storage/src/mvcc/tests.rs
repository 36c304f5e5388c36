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

#[test]
fn entries_carry_metadata_in_the_same_batch() {
    let mvcc = store();
    let c = commit(0, &[("a", Some("1"))]);
    let out = mvcc
        .apply_entry(1, Entry::Commits(std::slice::from_ref(&c)), &[("log_id", b"1:1")])
        .unwrap();
    assert_eq!(out, EntryOutcome::Commits(vec![ApplyOutcome::Committed]));
    mvcc.apply_entry(2, Entry::Empty, &[("log_id", b"1:2"), ("membership", b"{1,2,3}")])
        .unwrap();
    assert_eq!(mvcc.meta("log_id").unwrap().as_deref(), Some(&b"1:2"[..]));
    assert_eq!(mvcc.meta("membership").unwrap().as_deref(), Some(&b"{1,2,3}"[..]));
    assert_eq!(mvcc.meta("missing").unwrap(), None);
}

#[test]
fn a_gc_entry_raises_the_horizon_with_the_applied_version() {
    let mvcc = store();
    mvcc.apply(1, &commit(0, &[("a", Some("1"))])).unwrap();
    mvcc.apply(2, &commit(1, &[("a", Some("2"))])).unwrap();
    // A horizon beyond what is applied is clamped, deterministically.
    mvcc.apply_entry(3, Entry::Gc { horizon: 99 }, &[]).unwrap();
    assert_eq!((mvcc.applied(), mvcc.horizon()), (3, 2));
    assert_eq!(mvcc.snapshot(2).unwrap().get(b"a").unwrap(), Some(b"2".to_vec()));
    assert!(matches!(mvcc.snapshot(1), Err(Error::SnapshotTooOld { .. })));
    assert_eq!(
        mvcc.apply(4, &commit(1, &[("b", Some("b"))])).unwrap(),
        ApplyOutcome::TooOld { horizon: 2 }
    );
    mvcc.verify().unwrap();
}

fn transfer_source() -> Mvcc {
    let mvcc = store();
    mvcc.apply_entry(
        1,
        Entry::Commits(&[commit(0, &[("a", Some("1")), ("b", Some("1"))])]),
        &[("m", b"one")],
    )
    .unwrap();
    mvcc.apply(2, &commit(1, &[("a", Some("2")), ("c", Some("2"))]))
        .unwrap();
    mvcc.apply(3, &commit(2, &[("b", None)])).unwrap();
    mvcc.apply_entry(4, Entry::Gc { horizon: 1 }, &[("m", b"four")])
        .unwrap();
    mvcc
}

#[test]
fn export_then_import_reproduces_reads_and_commit_decisions() {
    let source = transfer_source();
    let mut buf = Vec::new();
    let header = source.export(&mut buf).unwrap();
    assert_eq!((header.version, header.horizon), (4, 1));

    let target = store();
    target.apply(1, &commit(0, &[("zzz", Some("old"))])).unwrap(); // replaced wholesale
    target.import(&mut std::io::Cursor::new(&buf)).unwrap();
    assert_eq!((target.applied(), target.horizon()), (4, 1));
    assert_eq!(target.meta("m").unwrap().as_deref(), Some(&b"four"[..]));
    for v in 1..=4 {
        assert_eq!(
            scan(&source, v, &all(), ScanOrder::Forward),
            scan(&target, v, &all(), ScanOrder::Forward)
        );
    }
    // A late commit that read at version 1 must be decided alike: it wrote
    // `a`, which version 2 also wrote.
    let late = commit(1, &[("a", Some("late"))]);
    assert_eq!(source.apply(5, &late).unwrap(), target.apply(5, &late).unwrap());
    assert!(matches!(
        target.apply(6, &late).unwrap(),
        ApplyOutcome::Conflict { .. }
    ));
    target.verify().unwrap();
}

#[test]
fn export_filters_versions_applied_after_it_began() {
    let source = transfer_source();
    let mut buf = Vec::new();
    source.export(&mut buf).unwrap();
    source.apply(5, &commit(4, &[("d", Some("5"))])).unwrap();
    let target = store();
    target.import(&mut std::io::Cursor::new(&buf)).unwrap();
    assert_eq!(target.applied(), 4);
    assert!(matches!(target.snapshot(5), Err(Error::NotYetApplied { .. })));
}

#[test]
fn a_damaged_transfer_is_refused_before_anything_changes() {
    let source = transfer_source();
    let mut buf = Vec::new();
    source.export(&mut buf).unwrap();
    let target = transfer_source();
    let before = scan(&target, 4, &all(), ScanOrder::Forward);
    for damage in [
        buf[..buf.len() / 2].to_vec(),
        {
            let mut b = buf.clone();
            let mid = b.len() / 2;
            b[mid] ^= 0x40;
            b
        },
        b"not a transfer at all".to_vec(),
    ] {
        assert!(target.import(&mut std::io::Cursor::new(damage)).is_err());
        assert_eq!(scan(&target, 4, &all(), ScanOrder::Forward), before);
    }
}

#[test]
fn an_interrupted_install_resets_to_empty_on_open() {
    let engine: Arc<dyn Engine> = Arc::new(MemoryEngine::new());
    let mvcc = Mvcc::open(engine.clone()).unwrap();
    mvcc.apply(1, &commit(0, &[("a", Some("1"))])).unwrap();
    let mut batch = WriteBatch::new();
    batch.put(keys::INSTALLING.to_vec(), vec![1]);
    engine.write(batch).unwrap();
    drop(mvcc);
    let mvcc = Mvcc::open(engine.clone()).unwrap();
    assert_eq!(mvcc.applied(), 0);
    assert_eq!(engine.scan(all()).count(), 0);
}

#[test]
fn a_data_less_entry_may_be_applied_at_version_zero() {
    let mvcc = store();
    mvcc.apply_entry(0, Entry::Empty, &[("membership", b"{1}")])
        .unwrap();
    assert_eq!(mvcc.applied(), 0);
    assert_eq!(mvcc.meta("membership").unwrap().as_deref(), Some(&b"{1}"[..]));
    // ... but never a commit, and never after version 0 was passed.
    assert!(matches!(
        mvcc.apply(0, &commit(0, &[("a", Some("1"))])),
        Err(Error::OutOfOrder { .. })
    ));
    mvcc.advance(1).unwrap();
    assert!(matches!(
        mvcc.apply_entry(0, Entry::Empty, &[]),
        Err(Error::OutOfOrder { .. })
    ));
}

#[test]
fn commits_sharing_an_entry_serialise_in_list_order() {
    let mvcc = store();
    mvcc.apply(1, &commit(0, &[("x", Some("0")), ("y", Some("0"))]))
        .unwrap();
    let read_x = |writes: &[(&str, Option<&str>)]| Commit {
        read_keys: vec![b"x".to_vec()],
        ..commit(1, writes)
    };
    let batch = [
        commit(1, &[("a", Some("1"))]), // committed
        commit(1, &[("a", Some("2"))]), // same key as the first: write-write
        commit(1, &[("x", Some("3"))]), // committed
        read_x(&[("z", Some("4"))]),    // read x, which the third wrote: read-write
        Commit {
            isolation: Isolation::Snapshot,
            ..read_x(&[("w", Some("5"))])
        }, // SI ignores reads
    ];
    let out = mvcc.apply_entry(2, Entry::Commits(&batch), &[]).unwrap();
    let EntryOutcome::Commits(outcomes) = out else {
        panic!("{out:?}")
    };
    assert_eq!(outcomes[0], ApplyOutcome::Committed);
    assert_eq!(
        outcomes[1],
        ApplyOutcome::Conflict {
            key: b"a".to_vec(),
            kind: ConflictKind::WriteWrite
        }
    );
    assert_eq!(outcomes[2], ApplyOutcome::Committed);
    assert_eq!(
        outcomes[3],
        ApplyOutcome::Conflict {
            key: b"x".to_vec(),
            kind: ConflictKind::ReadWrite
        }
    );
    assert_eq!(outcomes[4], ApplyOutcome::Committed);
    let snap = mvcc.snapshot(2).unwrap();
    assert_eq!(snap.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
    assert_eq!(snap.get(b"x").unwrap().as_deref(), Some(&b"3"[..]));
    assert_eq!(snap.get(b"z").unwrap(), None);
    assert_eq!(snap.get(b"w").unwrap().as_deref(), Some(&b"5"[..]));
    // A later commit that read at 1 conflicts with every key the entry wrote.
    assert!(matches!(
        mvcc.apply(3, &commit(1, &[("w", Some("6"))])).unwrap(),
        ApplyOutcome::Conflict { .. }
    ));
    mvcc.verify().unwrap();
}

#[test]
fn forward_scans_seek_past_long_histories_without_losing_keys() {
    // Keys whose encodings share prefixes, each with a long history, so the
    // scan seeks past old versions (scan::SEEK_AFTER) many times.
    let mvcc = store();
    let keys: [&str; 4] = ["a", "a\u{0}", "ab", "b"];
    let mut version = 0;
    for round in 0..(3 * scan::SEEK_AFTER) {
        for (i, k) in keys.iter().enumerate() {
            // Key i is deleted in round i, and written in every other round.
            let value = (round != i).then(|| format!("{k}@{round}"));
            version += 1;
            let c = commit(version - 1, &[(k, value.as_deref())]);
            assert_eq!(mvcc.apply(version, &c).unwrap(), ApplyOutcome::Committed);
        }
    }
    for at in 0..=version {
        let snapshot = mvcc.snapshot(at).unwrap();
        let expected: Vec<(String, String)> = keys
            .iter()
            .filter_map(|k| {
                let v = snapshot.get(k.as_bytes()).unwrap()?;
                Some((k.to_string(), String::from_utf8(v).unwrap()))
            })
            .collect();
        assert_eq!(scan(&mvcc, at, &all(), ScanOrder::Forward), expected, "at {at}");
        let mut reversed = expected.clone();
        reversed.reverse();
        assert_eq!(scan(&mvcc, at, &all(), ScanOrder::Reverse), reversed, "at {at}");
        let from_a0 = (Bound::Included(b"a\x00".to_vec()), Bound::Excluded(b"b".to_vec()));
        let inner: Vec<_> = expected
            .iter()
            .filter(|(k, _)| k == "a\u{0}" || k == "ab")
            .cloned()
            .collect();
        assert_eq!(
            scan(&mvcc, at, &from_a0, ScanOrder::Forward),
            inner,
            "range at {at}"
        );
    }
}

#[test]
fn validation_sees_old_and_recent_writes_alike() {
    // Far more versions than the in-memory window of recent write sets, so
    // old read versions are validated from the engine's commit records and
    // recent ones from memory; both must find the same conflicts.
    let mvcc = store();
    mvcc.apply(1, &commit(0, &[("old", Some("1"))])).unwrap();
    let last = RECENT_VERSIONS + 100;
    for v in 2..=last {
        mvcc.apply(v, &commit(v - 1, &[(&format!("k{v}"), Some("x"))]))
            .unwrap();
    }
    let reader = |read_version: Version, key: &str| Commit {
        read_keys: vec![key.as_bytes().to_vec()],
        ..commit(read_version, &[(&format!("out-{read_version}-{key}"), Some("y"))])
    };
    let next = last + 1;
    // From the engine: read at 0, "old" changed at 1.
    assert!(matches!(
        mvcc.apply(next, &reader(0, "old")).unwrap(),
        ApplyOutcome::Conflict { .. }
    ));
    // From memory: read just before the latest write of its key.
    let recent = format!("k{last}");
    assert!(matches!(
        mvcc.apply(next + 1, &reader(last - 1, &recent)).unwrap(),
        ApplyOutcome::Conflict { .. }
    ));
    // No conflict either way when nothing read changed.
    assert_eq!(
        mvcc.apply(next + 2, &reader(2, "nothing")).unwrap(),
        ApplyOutcome::Committed
    );
    assert_eq!(
        mvcc.apply(next + 3, &reader(last, "k2")).unwrap(),
        ApplyOutcome::Committed
    );
}

#[test]
fn exports_and_gc_entries_run_together_without_deadlock() {
    // An export holds the GC lock and wants the apply lock for its header;
    // a GC entry holds the apply lock and wants the GC lock. Both must take
    // them in the same order, or this hangs (and fails after 60 s).
    let mvcc = store();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let exporter = {
        let (mvcc, stop) = (mvcc.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                mvcc.export(&mut Vec::new()).unwrap();
            }
        })
    };
    let (done, finished) = std::sync::mpsc::channel();
    let applier = mvcc.clone();
    std::thread::spawn(move || {
        for round in 1..=2_000u64 {
            let version = 2 * round - 1;
            let key = format!("k{}", round % 7);
            applier
                .apply(version, &commit(version - 1, &[(&key, Some("v"))]))
                .unwrap();
            let gc = Entry::Gc { horizon: version };
            applier.apply_entry(version + 1, gc, &[]).unwrap();
        }
        done.send(()).unwrap();
    });
    let result = finished.recv_timeout(std::time::Duration::from_secs(60));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    result.expect("2,000 GC entries applied while exports ran (no deadlock)");
    exporter.join().unwrap();
}

/// Fails every write after the first `allowed` (a crash, or a full disk,
/// in the middle of a multi-batch operation).
struct FailingWrites {
    inner: MemoryEngine,
    allowed: std::sync::atomic::AtomicI64,
}

impl Engine for FailingWrites {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        self.inner.get(key)
    }
    fn scan(&self, range: KeyRange) -> crate::engine::ScanIter {
        self.inner.scan(range)
    }
    fn write(&self, batch: WriteBatch) -> Result<()> {
        if self.allowed.fetch_sub(1, std::sync::atomic::Ordering::SeqCst) <= 0 {
            return Err(Error::Unavailable("the disk is gone".into()));
        }
        self.inner.write(batch)
    }
    fn sync(&self) -> Result<()> {
        self.inner.sync()
    }
}

#[test]
fn gc_cut_short_between_its_batches_never_resurrects_a_deleted_row() {
    // GC deletes in batches of 1,024 keys. "a" has 1,023 garbage versions,
    // so the next deletion, b's tombstone, ends the first batch; b's older
    // value would be deleted by the next one. However many of GC's writes
    // go through, b must stay deleted at and above the horizon.
    for allowed in 0..6 {
        let engine = Arc::new(FailingWrites {
            inner: MemoryEngine::new(),
            allowed: std::sync::atomic::AtomicI64::new(i64::MAX),
        });
        let mvcc = Mvcc::open(engine.clone()).unwrap();
        for version in 1..=1024 {
            mvcc.apply(version, &commit(version - 1, &[("a", Some("a"))]))
                .unwrap();
        }
        mvcc.apply(1025, &commit(1024, &[("b", Some("old"))])).unwrap();
        mvcc.apply(1026, &commit(1025, &[("b", None)])).unwrap();
        engine.allowed.store(allowed, std::sync::atomic::Ordering::SeqCst);
        let _ = mvcc.gc(1026);
        let snapshot = mvcc.snapshot(1026).unwrap();
        assert_eq!(snapshot.get(b"b").unwrap(), None, "after {allowed} writes of GC");
        assert_eq!(snapshot.get(b"a").unwrap(), Some(b"a".to_vec()));
        assert_eq!(
            scan(&mvcc, 1026, &all(), ScanOrder::Forward),
            pairs(&[("a", "a")])
        );
    }
}

#[test]
fn point_reads_after_a_state_transfer_see_the_new_store_not_cached_values() {
    let source = transfer_source();
    let mut buf = Vec::new();
    source.export(&mut buf).unwrap();
    let target = store();
    // Cached in the target: "a" as it wrote it, and "b" as never written.
    target.apply(1, &commit(0, &[("a", Some("target"))])).unwrap();
    let before = target.snapshot(1).unwrap();
    assert_eq!(before.get(b"a").unwrap(), Some(b"target".to_vec()));
    assert_eq!(before.get(b"b").unwrap(), None);
    target.import(&mut std::io::Cursor::new(&buf)).unwrap();
    let after = target.snapshot(target.applied()).unwrap();
    let expected = source.snapshot(source.applied()).unwrap();
    for key in [&b"a"[..], b"b", b"c", b"d"] {
        assert_eq!(after.get(key).unwrap(), expected.get(key).unwrap(), "{key:?}");
    }
}

#[test]
fn reads_that_overlap_a_state_transfer_fail_instead_of_mixing_stores() {
    let source = transfer_source(); // version 4, horizon 1
    let mut buf = Vec::new();
    source.export(&mut buf).unwrap();
    let target = store();
    target
        .apply(
            1,
            &commit(0, &[("a", Some("old")), ("b", Some("old")), ("c", Some("old"))]),
        )
        .unwrap();
    let before = target.snapshot(1).unwrap();
    let mut reading = before.scan(&all(), ScanOrder::Forward);
    assert_eq!(reading.next().unwrap().unwrap(), (b"a".to_vec(), b"old".to_vec()));
    target.import(&mut std::io::Cursor::new(&buf)).unwrap();
    // Version 1 is at the new store's horizon, so the horizon alone would
    // let these reads go on, in the new store.
    assert_eq!(target.horizon(), 1);
    assert!(matches!(
        reading.next(),
        Some(Err(Error::StoreReplaced { version: 1 }))
    ));
    assert!(reading.next().is_none());
    assert!(matches!(
        before.get(b"b"),
        Err(Error::StoreReplaced { version: 1 })
    ));
    // A snapshot taken after the install reads the new store.
    assert_eq!(
        scan(&target, 1, &all(), ScanOrder::Forward),
        scan(&source, 1, &all(), ScanOrder::Forward)
    );
}

#[test]
fn readers_racing_state_transfers_see_one_whole_store_or_an_error() {
    // Two copies of version 4 that differ in every visible row; the store
    // is replaced by them in turn while readers scan and point-read it.
    let one = transfer_source();
    let two = store();
    two.apply(1, &commit(0, &[("a", Some("x")), ("e", Some("x"))]))
        .unwrap();
    two.apply(2, &commit(1, &[("f", Some("x"))])).unwrap();
    two.apply(3, &commit(2, &[("a", Some("y"))])).unwrap();
    two.apply(4, &commit(3, &[("g", Some("y"))])).unwrap();
    // (the transfer, the rows it holds at version 4)
    let copies: Vec<_> = [&one, &two]
        .iter()
        .map(|source| {
            let mut buf = Vec::new();
            source.export(&mut buf).unwrap();
            (buf, scan(source, 4, &all(), ScanOrder::Forward))
        })
        .collect();
    assert_ne!(copies[0].1, copies[1].1);
    let target = Arc::new(store());
    target.import(&mut std::io::Cursor::new(&copies[0].0)).unwrap();
    let expected: Vec<_> = copies.iter().map(|(_, rows)| rows.clone()).collect();
    // Counts of reads that saw a whole store and that were refused.
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (target, expected, counts, stop) =
                (target.clone(), expected.clone(), counts.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let read = target.snapshot(4).and_then(|snapshot| {
                        let rows = snapshot
                            .scan(&all(), ScanOrder::Forward)
                            .map(|item| {
                                item.map(|(k, v)| {
                                    (String::from_utf8(k).unwrap(), String::from_utf8(v).unwrap())
                                })
                            })
                            .collect::<Result<Vec<_>>>()?;
                        let a = snapshot.get(b"a")?.map(|v| String::from_utf8(v).unwrap());
                        Ok((rows, a))
                    });
                    match read {
                        Ok((rows, a)) => {
                            assert!(expected.contains(&rows), "a mixed read: {rows:?}");
                            // The point read came from the same store.
                            let row_a = rows.iter().find(|(k, _)| k == "a").map(|(_, v)| v.clone());
                            assert_eq!(a, row_a, "{rows:?}");
                            counts[0].fetch_add(1, Ordering::Relaxed);
                        }
                        Err(Error::StoreReplaced { .. }) => {
                            counts[1].fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => panic!("unexpected error: {e}"),
                    }
                }
            })
        })
        .collect();
    // Install until readers were refused often (at least once is enough to
    // pass), letting a reader finish a whole read between installs so that
    // both outcomes occur however the threads are scheduled. A reader that
    // panicked stops counting; its panic is reported by the join below.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let running = |readers: &[std::thread::JoinHandle<()>]| {
        std::time::Instant::now() < deadline && readers.iter().all(|r| !r.is_finished())
    };
    let mut round = 0;
    while counts[1].load(Ordering::Relaxed) < 100 && running(&readers) {
        let (buf, _) = &copies[round % 2];
        target.import(&mut std::io::Cursor::new(buf)).unwrap();
        round += 1;
        let whole = counts[0].load(Ordering::Relaxed);
        while counts[0].load(Ordering::Relaxed) == whole && running(&readers) {
            std::thread::yield_now();
        }
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        reader.join().unwrap();
    }
    let [whole, refused] = [0, 1].map(|i| counts[i].load(Ordering::Relaxed));
    assert!(
        whole >= round as u64 && refused >= 1,
        "whole {whole}, refused {refused} in {round} installs"
    );
}

#[test]
fn point_reads_race_applies_gc_and_cache_clears_and_stay_exact() {
    // Version v (not a multiple of 100) writes key v % 8: deleted when v is
    // a multiple of 7, else the value v. Multiples of 100 are GC entries.
    // Readers check every key at recent snapshots against that rule, while
    // a tiny cache budget clears the cache all the time.
    const KEYS: u64 = 8;
    const LAST: u64 = 6_000;
    fn expected(key: u64, at: Version) -> Option<Vec<u8>> {
        let newest = (1..=at).rev().find(|v| v % 100 != 0 && v % KEYS == key)?;
        (newest % 7 != 0).then(|| newest.to_string().into_bytes())
    }
    let mvcc = store();
    mvcc.set_point_read_budget(250);
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3u64)
        .map(|r| {
            let (mvcc, done) = (mvcc.clone(), done.clone());
            std::thread::spawn(move || {
                let mut checked = 0u64;
                let mut lag = r;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    lag = (lag * 7 + 3) % 40;
                    let at = mvcc.applied().saturating_sub(lag);
                    let Ok(snapshot) = mvcc.snapshot(at) else { continue };
                    for key in 0..KEYS {
                        match snapshot.get(key.to_string().as_bytes()) {
                            Ok(value) => assert_eq!(value, expected(key, at), "key {key} at {at}"),
                            Err(Error::SnapshotTooOld { .. }) => break,
                            Err(e) => panic!("{e}"),
                        }
                        checked += 1;
                    }
                }
                checked
            })
        })
        .collect();
    for v in 1..=LAST {
        if v % 100 == 0 {
            mvcc.apply_entry(v, Entry::Gc { horizon: v - 60 }, &[]).unwrap();
            continue;
        }
        let key = (v % KEYS).to_string();
        let value = (v % 7 != 0).then(|| v.to_string());
        mvcc.apply(v, &commit(v - 1, &[(&key, value.as_deref())]))
            .unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let checked: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(checked > 1_000, "readers checked only {checked} reads");
    let last = mvcc.snapshot(LAST).unwrap();
    for key in 0..KEYS {
        assert_eq!(last.get(key.to_string().as_bytes()).unwrap(), expected(key, LAST));
    }
}
