//! Round trips of the durable Raft log: append / read / truncate / purge,
//! across segment boundaries and across reopen.

use std::path::Path;

use quorumdb_raft::log::{Log, LogEntry, LogOptions};

fn opts(segment_size: u64) -> LogOptions {
    LogOptions {
        segment_size,
        sync_delay: None,
    }
}

/// Deterministic payload of varying size for `index`.
fn payload(index: u64) -> Vec<u8> {
    let len = (index * 37 % 200) as usize;
    (0..len).map(|i| (index as usize + i) as u8).collect()
}

fn term_of(index: u64) -> u64 {
    index / 10 + 1
}

fn append(log: &Log, from: u64, to: u64) {
    let payloads: Vec<Vec<u8>> = (from..to).map(payload).collect();
    let entries: Vec<(u64, u64, &[u8])> = (from..to)
        .zip(&payloads)
        .map(|(i, p)| (i, term_of(i), p.as_slice()))
        .collect();
    log.append(&entries).unwrap();
}

fn expect(log: &Log, from: u64, to: u64) {
    let got = log.entries(from..to).unwrap();
    let want: Vec<LogEntry> = (from..to)
        .map(|i| LogEntry {
            index: i,
            term: term_of(i),
            payload: payload(i),
        })
        .collect();
    assert_eq!(got, want);
}

fn segment_count(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".seg")
        })
        .count()
}

#[test]
fn append_read_reopen_across_segments() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), opts(1024)).unwrap();
        append(&log, 1, 2);
        for from in (2..300).step_by(7) {
            append(&log, from, (from + 7).min(300));
        }
        assert_eq!((log.first_index(), log.last_index()), (Some(1), Some(299)));
        expect(&log, 1, 300);
        expect(&log, 123, 257);
        assert!(log.stats().segments_created > 10, "{:?}", log.stats());
        assert_eq!(log.term(150), Some(term_of(150)));
        assert_eq!(log.last_log_id(), Some((299, term_of(299))));
    }
    assert!(segment_count(dir.path()) > 10);
    let log = Log::open(dir.path(), opts(1024)).unwrap();
    assert_eq!((log.first_index(), log.last_index()), (Some(1), Some(299)));
    expect(&log, 1, 300);
    // Out-of-range parts of a request are simply absent.
    assert_eq!(log.entries(290..1000).unwrap().len(), 10);
    assert!(log.entries(400..500).unwrap().is_empty());
    append(&log, 300, 320);
    expect(&log, 1, 320);
}

#[test]
fn truncate_across_segments_then_append_new_terms() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), opts(1024)).unwrap();
    append(&log, 1, 200);
    let before = segment_count(dir.path());
    log.truncate_from(57).unwrap();
    assert!(segment_count(dir.path()) < before);
    assert_eq!(log.last_index(), Some(56));
    expect(&log, 1, 57);
    // The replacement entries have a different term and payload.
    let new: Vec<Vec<u8>> = (57..90).map(|i| format!("new {i}").into_bytes()).collect();
    let entries: Vec<(u64, u64, &[u8])> = (57..90).zip(&new).map(|(i, p)| (i, 99, p.as_slice())).collect();
    log.append(&entries).unwrap();
    drop(log);

    let log = Log::open(dir.path(), opts(1024)).unwrap();
    assert_eq!(log.last_index(), Some(89));
    expect(&log, 1, 57);
    let got = log.entries(57..90).unwrap();
    assert_eq!(got.len(), 33);
    for (e, p) in got.iter().zip(&new) {
        assert_eq!((e.term, &e.payload), (99, p));
    }
    // Truncating past the end is a no-op; truncating in the middle of a
    // segment, then reopening, keeps exactly the prefix.
    log.truncate_from(1000).unwrap();
    log.truncate_from(60).unwrap();
    drop(log);
    let log = Log::open(dir.path(), opts(1024)).unwrap();
    assert_eq!(log.last_index(), Some(59));
}

#[test]
fn purge_drops_whole_segments_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), opts(1024)).unwrap();
    append(&log, 1, 300);
    let before = segment_count(dir.path());
    log.purge_through(150, term_of(150)).unwrap();
    assert!(segment_count(dir.path()) < before, "whole segments are deleted");
    assert_eq!((log.first_index(), log.last_index()), (Some(151), Some(299)));
    assert_eq!(log.last_purged(), Some((150, term_of(150))));
    assert_eq!(log.entries(100..160).unwrap().len(), 9);
    assert_eq!(log.term(150), None);
    expect(&log, 151, 300);
    drop(log);

    let log = Log::open(dir.path(), opts(1024)).unwrap();
    assert_eq!((log.first_index(), log.last_index()), (Some(151), Some(299)));
    assert_eq!(log.last_purged(), Some((150, term_of(150))));
    expect(&log, 151, 300);
    append(&log, 300, 310);
    log.purge_through(305, term_of(305)).unwrap();
    log.truncate_from(308).unwrap();
    drop(log);
    let log = Log::open(dir.path(), opts(1024)).unwrap();
    assert_eq!((log.first_index(), log.last_index()), (Some(306), Some(307)));
    expect(&log, 306, 308);
}

#[test]
fn default_segments_are_preallocated() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::open(dir.path(), LogOptions::default()).unwrap();
    append(&log, 0, 3);
    let seg = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "seg"))
        .unwrap();
    assert_eq!(std::fs::metadata(&seg).unwrap().len(), 64 * 1024 * 1024);
    // Blocks are really allocated (not a sparse file).
    use std::os::unix::fs::MetadataExt;
    assert!(std::fs::metadata(&seg).unwrap().blocks() * 512 >= 64 * 1024 * 1024);
}
