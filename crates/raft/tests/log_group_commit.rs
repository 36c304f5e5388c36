//! Group commit: concurrent appenders share `fdatasync`s, and nobody is
//! acknowledged before the sync that covers its data. Also an ignored
//! throughput measurement (`--ignored --nocapture`).

use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use quorumdb_raft::log::{Log, LogEntry, LogOptions};

/// Appends one entry under `order` (which keeps indexes contiguous across
/// threads) and waits for durability outside it.
fn append_one(log: &Log, order: &Mutex<()>, payload: &[u8]) -> u64 {
    let (index, ticket) = {
        let _g = order.lock().unwrap();
        let index = log.last_index().map_or(1, |l| l + 1);
        (index, log.write(&[(index, 1, payload)]).unwrap())
    };
    log.wait_durable(ticket).unwrap();
    index
}

#[test]
fn writes_made_while_a_sync_runs_share_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    // A slow "disk": every group sync takes at least 200 ms (generous, so a
    // busy machine cannot stretch the 16 writes over more than one sync).
    let log = Log::open(
        dir.path(),
        LogOptions {
            segment_size: 1 << 20,
            sync_delay: Some(Duration::from_millis(200)),
        },
    )
    .unwrap();
    let tickets: Vec<_> = (1..=16u64).map(|i| log.write(&[(i, 1, b"x")]).unwrap()).collect();
    for t in tickets {
        log.wait_durable(t).unwrap();
    }
    // The first write may start a sync alone; all the others land while it
    // runs and share one more.
    let s = log.stats();
    assert!(s.syncs <= 2, "{s:?}");
    assert_eq!(s.writes, 16);
}

#[test]
fn concurrent_appenders_share_syncs() {
    const THREADS: usize = 16;
    const PER_THREAD: usize = 20;
    let dir = tempfile::tempdir().unwrap();
    let log = Arc::new(
        Log::open(
            dir.path(),
            LogOptions {
                segment_size: 64 * 1024,
                sync_delay: Some(Duration::from_millis(5)),
            },
        )
        .unwrap(),
    );
    let order = Arc::new(Mutex::new(()));
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (log, order, barrier) = (Arc::clone(&log), Arc::clone(&order), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let mut mine = Vec::new();
                for k in 0..PER_THREAD {
                    let payload = format!("thread {t} entry {k}");
                    let index = append_one(&log, &order, payload.as_bytes());
                    // Acknowledged means readable and covered by a sync.
                    assert!(log.stats().syncs >= 1);
                    mine.push((index, payload));
                }
                mine
            })
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().unwrap());
    }
    let total = (THREADS * PER_THREAD) as u64;
    let s = log.stats();
    println!("{total} appends, {s:?}");
    assert_eq!(s.writes, total);
    assert!(
        s.syncs * 4 <= total,
        "{} syncs for {total} concurrent appends: group commit is not sharing syncs",
        s.syncs
    );
    drop(log);
    let log = Log::open(
        dir.path(),
        LogOptions {
            segment_size: 64 * 1024,
            sync_delay: None,
        },
    )
    .unwrap();
    assert_eq!(log.last_index(), Some(total));
    for (index, payload) in all {
        let e = log.entries(index..index + 1).unwrap();
        assert_eq!(e[0].payload, payload.as_bytes());
    }
}

#[test]
fn async_appends_share_syncs_and_complete_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(
        dir.path(),
        LogOptions {
            segment_size: 64 * 1024,
            sync_delay: Some(Duration::from_millis(100)),
        },
    )
    .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    for i in 1..=100u64 {
        let tx = tx.clone();
        log.append_async(
            vec![LogEntry {
                index: i,
                term: 3,
                payload: vec![1; 64],
            }],
            Box::new(move |r| tx.send((i, r.is_ok())).unwrap()),
        )
        .unwrap();
    }
    let done: Vec<(u64, bool)> = (0..100)
        .map(|_| rx.recv_timeout(Duration::from_secs(30)).unwrap())
        .collect();
    assert_eq!(done, (1..=100).map(|i| (i, true)).collect::<Vec<_>>());
    assert!(log.stats().syncs <= 3, "{:?}", log.stats());
}

/// Measures appends/s with 1 and 16 concurrent appenders on the real disk
/// (no artificial delay). Run with
/// `cargo test -p quorumdb-raft --release --test log_group_commit -- --ignored --nocapture`.
#[test]
#[ignore = "throughput measurement"]
fn measure_append_throughput() {
    for threads in [1usize, 16] {
        let dir =
            tempfile::tempdir_in(std::env::var("LOG_BENCH_DIR").unwrap_or_else(|_| "/tmp".into())).unwrap();
        let log = Arc::new(Log::open(dir.path(), LogOptions::default()).unwrap());
        let order = Arc::new(Mutex::new(()));
        let run_for = Duration::from_secs(3);
        let start = Instant::now();
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let (log, order) = (Arc::clone(&log), Arc::clone(&order));
                std::thread::spawn(move || {
                    let payload = [0x42u8; 256];
                    let mut n = 0u64;
                    while start.elapsed() < run_for {
                        append_one(&log, &order, &payload);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        let total: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let secs = start.elapsed().as_secs_f64();
        let s = log.stats();
        println!(
            "{threads:>2} appender(s): {total} appends in {secs:.2} s = {:.0} appends/s, {} syncs ({:.1} appends/sync, {:.2} ms/sync)",
            total as f64 / secs,
            s.syncs,
            total as f64 / s.syncs.max(1) as f64,
            secs * 1000.0 / s.syncs.max(1) as f64
        );
    }
}
