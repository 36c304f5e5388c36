//! The test-only `ack-before-sync` switch of the Raft log (cargo feature
//! `fault-injection`; see `src/log/fault.rs`): appends are acknowledged at
//! once, and reopening the log loses what was written after the last
//! simulated disk flush, while keeping everything up to it.
//!
//! Only built with the feature (the switch is a process-wide setting, so it
//! lives in a test binary of its own). Waits poll with generous deadlines.

#![cfg(feature = "fault-injection")]

use std::sync::mpsc;
use std::time::{Duration, Instant};

use quorumdb_raft::log::fault::MARK;
use quorumdb_raft::log::{Log, LogEntry, LogOptions};

fn opts() -> LogOptions {
    LogOptions {
        segment_size: 1 << 20,
        sync_delay: None,
    }
}

fn entries(from: u64, n: u64) -> Vec<LogEntry> {
    (from..from + n)
        .map(|index| LogEntry {
            index,
            term: 1,
            payload: format!("entry {index}").into_bytes(),
        })
        .collect()
}

fn mark(log: &Log) -> Option<u64> {
    let raw = log.read_meta(MARK).expect("read the mark")?;
    String::from_utf8_lossy(&raw).parse().ok()
}

/// Polls until the simulated disk flush has covered `index`.
fn wait_marked(log: &Log, index: u64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while mark(log) < Some(index) {
        assert!(Instant::now() < deadline, "the mark never reached {index}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn acknowledged_appends_after_the_last_flush_are_lost_on_reopen() {
    let switches = quorumdb_storage::fault::activate("ack-before-sync").expect("activate the switch");
    assert_eq!(switches.len(), 1);
    let dir = tempfile::tempdir().expect("tempdir");

    let log = Log::open(dir.path(), opts()).expect("open");
    let (tx, rx) = mpsc::channel();
    let done_tx = tx.clone();
    log.append_async(
        entries(1, 3),
        Box::new(move |r| {
            let _ = done_tx.send(r.is_ok());
        }),
    )
    .expect("append");
    // Acknowledged before append_async even returned: no sync waited for.
    assert_eq!(rx.try_recv(), Ok(true));
    wait_marked(&log, 3);

    // Entries written after the flush are acknowledged too, but a "power
    // failure" (closing and reopening) loses them. The flush runs once a
    // second, so it may rarely cover a fresh batch before the close: try a
    // few batches and require that a loss happens, and that nothing at or
    // below a mark seen before the close is ever lost.
    let mut log = log;
    let mut lost_once = false;
    for _ in 0..5 {
        let last = log.last_index().expect("entries");
        let marked = mark(&log).expect("a mark");
        let done_tx = tx.clone();
        log.append_async(
            entries(last + 1, 4),
            Box::new(move |r| {
                let _ = done_tx.send(r.is_ok());
            }),
        )
        .expect("append");
        assert_eq!(rx.try_recv(), Ok(true), "acknowledged at once");
        drop(log);
        log = Log::open(dir.path(), opts()).expect("reopen");
        let now = log.last_index().expect("entries");
        assert!(
            now >= marked,
            "entries through the mark {marked} survive; last is {now}"
        );
        let kept = log.entries(1..now + 1).expect("read back");
        assert_eq!(kept.len() as u64, now, "a contiguous prefix survives");
        if now < last + 4 {
            assert_eq!(now, last, "the whole unflushed batch is lost, nothing else");
            lost_once = true;
            break;
        }
    }
    assert!(
        lost_once,
        "an acknowledged batch must be lost by a reopen before the next flush"
    );
}
