//! Test tool for the durable Raft log's crash test
//! (`crates/raft/tests/log_crash.rs`): appends to the log in the directory
//! given as the first argument, from several threads at once (so group
//! commit is exercised), until it is killed.
//!
//! It prints `ack N` once entry N is durable (after `append`, `wait_durable`
//! or an `append_async` callback), and `vote V` once `save_meta("vote", V)`
//! returned. Entry N has term `N / 100 + 1` and the payload
//! [`expected_payload`]`(N)`, so a checker can recompute it. Every 300
//! entries it purges all but the last 200. It resumes after the log's last
//! index, so it can be restarted on the same directory any number of times.
//!
//! Optional second argument: the segment size in bytes (default 256 KiB).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use quorumdb_raft::log::{Log, LogEntry, LogOptions};

/// The payload the writer stores at `index` (the crash test has its own copy).
fn expected_payload(index: u64) -> Vec<u8> {
    format!("entry {index};")
        .repeat((index % 23 + 1) as usize)
        .into_bytes()
}

fn term(index: u64) -> u64 {
    index / 100 + 1
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next() else {
        eprintln!("usage: raft-log-crash-writer DIR [SEGMENT_SIZE]");
        return ExitCode::from(2);
    };
    let segment_size = args.next().and_then(|s| s.parse().ok()).unwrap_or(256 * 1024);
    match run(PathBuf::from(dir), segment_size) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raft-log-crash-writer: {e}");
            ExitCode::FAILURE
        }
    }
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // One write per line: a kill never leaves half a line behind.
    let _ = out.write_all(format!("{line}\n").as_bytes());
    let _ = out.flush();
}

fn run(dir: PathBuf, segment_size: u64) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let log = Arc::new(Log::open(
        &dir,
        LogOptions {
            segment_size,
            sync_delay: None,
        },
    )?);
    let order = Arc::new(Mutex::new(()));
    let mut vote: u64 = match log.read_meta("vote")? {
        Some(v) => String::from_utf8(v)?.parse::<u64>()?,
        None => 0,
    };
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let (log, order) = (Arc::clone(&log), Arc::clone(&order));
            std::thread::spawn(move || writer(t, &log, &order))
        })
        .collect();
    // The main thread saves a new vote now and then.
    loop {
        vote += 1;
        log.save_meta("vote", vote.to_string().as_bytes())?;
        say(&format!("vote {vote}"));
        std::thread::sleep(std::time::Duration::from_millis(3));
        if threads.iter().any(|t| t.is_finished()) {
            break;
        }
    }
    for t in threads {
        match t.join() {
            Ok(r) => r?,
            Err(_) => return Err("a writer thread panicked".into()),
        }
    }
    Ok(())
}

fn writer(
    thread: usize,
    log: &Log,
    order: &Mutex<()>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut k = 0u64;
    loop {
        k += 1;
        let batch = k % 3 + 1;
        let guard = order.lock().map_err(|_| "order lock poisoned")?;
        let start = log
            .last_index()
            .or(log.last_purged().map(|p| p.0))
            .map_or(1, |l| l + 1);
        let payloads: Vec<Vec<u8>> = (start..start + batch).map(expected_payload).collect();
        let last = start + batch - 1;
        if thread == 0 {
            // Thread 0 goes through the asynchronous API.
            let entries = (start..=last)
                .zip(payloads)
                .map(|(index, payload)| LogEntry {
                    index,
                    term: term(index),
                    payload,
                })
                .collect();
            let (tx, rx) = std::sync::mpsc::channel();
            log.append_async(
                entries,
                Box::new(move |r| {
                    if r.is_ok() {
                        say(&format!("ack {last}"));
                    }
                    let _ = tx.send(r);
                }),
            )?;
            drop(guard);
            rx.recv()??;
        } else {
            let entries: Vec<(u64, u64, &[u8])> = (start..=last)
                .zip(&payloads)
                .map(|(index, payload)| (index, term(index), payload.as_slice()))
                .collect();
            let ticket = log.write(&entries)?;
            let purge = (start..=last).find(|i| i % 300 == 0);
            if let Some(p) = purge {
                log.purge_through(p - 200, term(p - 200))?;
            }
            drop(guard);
            log.wait_durable(ticket)?;
            say(&format!("ack {last}"));
        }
    }
}
