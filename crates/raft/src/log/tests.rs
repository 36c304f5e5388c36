//! Unit tests of [`Log`] edge cases that need no process tricks: empty-log
//! rules, purge beyond the end, truncation bounds, locking, reserved keys,
//! callback order. Round trips, the model test, recovery and crash tests are
//! in `crates/raft/tests/log_*.rs`.

use std::sync::{Arc, Mutex};

use super::*;

fn small() -> LogOptions {
    LogOptions {
        segment_size: 512,
        sync_delay: None,
    }
}

fn append_range(log: &Log, from: u64, to: u64, term: u64) {
    let payloads: Vec<Vec<u8>> = (from..to).map(|i| format!("e{i}").into_bytes()).collect();
    let entries: Vec<(u64, u64, &[u8])> = (from..to)
        .zip(&payloads)
        .map(|(i, p)| (i, term, p.as_slice()))
        .collect();
    log.append(&entries).unwrap();
}

#[test]
fn log_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<Log>();
    assert_send_sync::<LogError>();
}

#[test]
fn fresh_log_accepts_any_start_then_requires_contiguity() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), small()).unwrap();
    assert_eq!(
        (log.first_index(), log.last_index(), log.last_log_id()),
        (None, None, None)
    );
    append_range(&log, 0, 3, 1);
    assert_eq!((log.first_index(), log.last_index()), (Some(0), Some(2)));
    let err = log.append(&[(5, 1, b"x")]).unwrap_err();
    assert!(
        matches!(err, LogError::NonContiguous { expected: 3, got: 5 }),
        "{err}"
    );
    let err = log.append(&[(3, 1, b"x"), (5, 1, b"y")]).unwrap_err();
    assert!(
        matches!(err, LogError::NonContiguous { expected: 4, got: 5 }),
        "{err}"
    );
    // A rejected append wrote nothing.
    assert_eq!(log.last_index(), Some(2));
    log.append(&[]).unwrap();
    assert_eq!(log.last_log_id(), Some((2, 1)));
}

#[test]
fn purge_beyond_the_end_empties_the_log_and_moves_the_start() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), small()).unwrap();
        append_range(&log, 1, 40, 2);
        log.purge_through(100, 7).unwrap();
        assert_eq!((log.first_index(), log.last_index()), (None, None));
        assert_eq!(log.last_log_id(), Some((100, 7)));
        assert!(log.entries(0..200).unwrap().is_empty());
        let err = log.append(&[(5, 1, b"x")]).unwrap_err();
        assert!(
            matches!(err, LogError::NonContiguous { expected: 101, .. }),
            "{err}"
        );
    }
    let log = Log::open(dir.path(), small()).unwrap();
    assert_eq!(log.last_purged(), Some((100, 7)));
    assert_eq!(log.last_index(), None);
    append_range(&log, 101, 104, 8);
    assert_eq!((log.first_index(), log.last_index()), (Some(101), Some(103)));
    // Purging at or below the last purged index is a no-op.
    log.purge_through(50, 1).unwrap();
    assert_eq!(log.last_purged(), Some((100, 7)));
    // Truncating purged entries is refused.
    assert!(matches!(
        log.truncate_from(100),
        Err(LogError::InvalidArgument(_))
    ));
}

#[test]
fn purge_exactly_through_the_last_entry_keeps_appending_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), small()).unwrap();
    append_range(&log, 1, 5, 1);
    log.purge_through(4, 1).unwrap();
    assert_eq!(log.last_index(), None);
    assert_eq!(log.last_log_id(), Some((4, 1)));
    append_range(&log, 5, 7, 1);
    drop(log);
    let log = Log::open(dir.path(), small()).unwrap();
    assert_eq!((log.first_index(), log.last_index()), (Some(5), Some(6)));
    assert_eq!(log.entries(0..10).unwrap().len(), 2);
}

#[test]
fn truncate_everything_of_a_fresh_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), small()).unwrap();
    append_range(&log, 10, 50, 1);
    log.truncate_from(10).unwrap();
    assert_eq!(log.last_index(), None);
    // The segment holding index 10 is kept (empty), so the log continues at 10.
    append_range(&log, 10, 12, 2);
    drop(log);
    let log = Log::open(dir.path(), small()).unwrap();
    assert_eq!((log.first_index(), log.last_index()), (Some(10), Some(11)));
    assert_eq!(log.term(11), Some(2));
}

#[test]
fn a_second_open_of_the_same_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), small()).unwrap();
    let err = Log::open(dir.path(), small()).unwrap_err();
    assert!(matches!(err, LogError::Locked { .. }), "{err}");
    drop(log);
    Log::open(dir.path(), small()).unwrap();
}

#[test]
fn meta_round_trip_and_reserved_keys() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), small()).unwrap();
        assert_eq!(log.read_meta("vote").unwrap(), None);
        log.save_meta("vote", b"term=3,node=2").unwrap();
        assert!(matches!(
            log.save_meta("__log/last_purged", b"x"),
            Err(LogError::InvalidArgument(_))
        ));
    }
    let log = Log::open(dir.path(), small()).unwrap();
    assert_eq!(
        log.read_meta("vote").unwrap().as_deref(),
        Some(&b"term=3,node=2"[..])
    );
}

#[test]
fn append_async_callbacks_run_in_call_order_and_entries_are_readable_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(Log::open(dir.path(), small()).unwrap());
    let order = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 0..50u64 {
        let order = Arc::clone(&order);
        let tx = tx.clone();
        let entries = if i % 7 == 3 {
            Vec::new() // empty appends keep their place in the order too
        } else {
            vec![LogEntry {
                index: log.last_index().map_or(0, |l| l + 1),
                term: 1,
                payload: vec![i as u8; 40],
            }]
        };
        log.append_async(
            entries,
            Box::new(move |r| {
                r.unwrap();
                order.lock().unwrap().push(i);
                tx.send(()).unwrap();
            }),
        )
        .unwrap();
        assert!(log.last_index().is_some());
    }
    for _ in 0..50 {
        rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap();
    }
    assert_eq!(*order.lock().unwrap(), (0..50).collect::<Vec<_>>());
}

#[test]
fn an_entry_larger_than_a_segment_gets_its_own_segment() {
    let dir = tempfile::tempdir().unwrap();
    let big = vec![0xab; 5000];
    {
        let log = Log::open(dir.path(), small()).unwrap();
        append_range(&log, 1, 3, 1);
        log.append(&[(3, 1, &big)]).unwrap();
        append_range(&log, 4, 6, 1);
    }
    let log = Log::open(dir.path(), small()).unwrap();
    let got = log.entries(1..6).unwrap();
    assert_eq!(got.len(), 5);
    assert_eq!(got[2].payload, big);
}

#[test]
fn tiny_segment_size_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = Log::open(
        dir.path(),
        LogOptions {
            segment_size: 40,
            sync_delay: None,
        },
    )
    .unwrap_err();
    assert!(matches!(err, LogError::InvalidArgument(_)), "{err}");
}
