//! Recovery of the durable Raft log from damaged files: a torn tail (file
//! cut mid-record, a flipped byte in the last record, garbage after the
//! last record) is cut on reopen and the log is usable afterwards; damage
//! anywhere else is a clear `Corrupt` error naming the file, never silent
//! data loss and never a panic.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use quorumdb_raft::log::{Log, LogError, LogOptions};

const SEG: u64 = 2048;
const SEGMENT_HEADER: u64 = 32;
const RECORD_HEADER: u64 = 24;
const PAYLOAD: usize = 100;

fn opts() -> LogOptions {
    LogOptions {
        segment_size: SEG,
        sync_delay: None,
    }
}

fn payload(i: u64) -> Vec<u8> {
    vec![(i % 250) as u8 + 1; PAYLOAD]
}

/// A log with entries 1..=n, every payload PAYLOAD bytes (so record k of a
/// segment sits at a computable offset). Returns the segment paths in order.
fn build(dir: &Path, n: u64) -> Vec<PathBuf> {
    let log = Log::open(dir, opts()).unwrap();
    for i in 1..=n {
        log.append(&[(i, 1, &payload(i))]).unwrap();
    }
    drop(log);
    segments(dir)
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "seg"))
        .collect();
    v.sort();
    v
}

/// Offset of the k-th record (0-based) in a segment.
fn record_offset(k: u64) -> u64 {
    SEGMENT_HEADER + k * (RECORD_HEADER + PAYLOAD as u64)
}

fn per_segment() -> u64 {
    (SEG - SEGMENT_HEADER) / (RECORD_HEADER + PAYLOAD as u64)
}

fn flip(path: &Path, offset: u64) {
    let f = OpenOptions::new().read(true).write(true).open(path).unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, offset).unwrap();
    b[0] ^= 0x5a;
    f.write_all_at(&b, offset).unwrap();
}

/// Reopens, expects the log to end at `last`, then appends and reopens again.
fn assert_cut_and_usable(dir: &Path, last: u64) {
    let log = Log::open(dir, opts()).unwrap();
    assert_eq!(log.last_index(), Some(last));
    assert_eq!(log.stats().tail_cuts, 1, "{:?}", log.stats());
    let got = log.entries(1..last + 1).unwrap();
    assert_eq!(got.len() as u64, last);
    for e in &got {
        assert_eq!(e.payload, payload(e.index));
    }
    for i in last + 1..last + 30 {
        log.append(&[(i, 2, format!("after {i}").as_bytes())]).unwrap();
    }
    drop(log);
    let log = Log::open(dir, opts()).unwrap();
    assert_eq!(log.last_index(), Some(last + 29));
    assert_eq!(log.stats().tail_cuts, 0, "the cut was made durable");
    assert_eq!(
        log.entries(last + 1..last + 2).unwrap()[0].payload,
        format!("after {}", last + 1).as_bytes()
    );
}

#[test]
fn file_cut_mid_record_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let n = per_segment() + 5; // 5 records in the second segment
    let segs = build(dir.path(), n);
    assert_eq!(segs.len(), 2);
    let f = OpenOptions::new().write(true).open(&segs[1]).unwrap();
    f.set_len(record_offset(4) + 50).unwrap(); // the last record is half there
    drop(f);
    assert_cut_and_usable(dir.path(), n - 1);
}

#[test]
fn file_cut_mid_header_is_a_torn_tail() {
    let dir = tempfile::tempdir().unwrap();
    let n = per_segment() + 3;
    let segs = build(dir.path(), n);
    let f = OpenOptions::new().write(true).open(&segs[1]).unwrap();
    f.set_len(record_offset(2) + 10).unwrap();
    drop(f);
    assert_cut_and_usable(dir.path(), n - 1);
}

#[test]
fn flipped_byte_in_the_last_record_is_a_torn_tail() {
    for at in [0, 5, 9, 17, 30, RECORD_HEADER + PAYLOAD as u64 - 1] {
        let dir = tempfile::tempdir().unwrap();
        let n = per_segment() + 4;
        let segs = build(dir.path(), n);
        flip(&segs[1], record_offset(3) + at);
        assert_cut_and_usable(dir.path(), n - 1);
    }
}

#[test]
fn garbage_after_the_last_record_is_cut() {
    // Garbage right after the last record (where the next header would be).
    let dir = tempfile::tempdir().unwrap();
    let n = 7;
    let segs = build(dir.path(), n);
    let f = OpenOptions::new().write(true).open(&segs[0]).unwrap();
    f.write_all_at(b"\x13garbage garbage garbage garbage", record_offset(7))
        .unwrap();
    drop(f);
    assert_cut_and_usable(dir.path(), n);

    // Garbage appended at the end of the file, beyond the preallocated zeros.
    let dir = tempfile::tempdir().unwrap();
    let segs = build(dir.path(), n);
    let mut f = OpenOptions::new().append(true).open(&segs[0]).unwrap();
    f.write_all(&[0xee; 300]).unwrap();
    drop(f);
    assert_cut_and_usable(dir.path(), n);
}

#[test]
fn a_record_that_never_reached_the_disk_before_a_later_one_is_a_torn_tail() {
    // Power-loss-style reordering: a whole sector of the last-but-one record
    // never reached the disk (reads as zeros) but the last record did.
    // Neither can have been acknowledged (one sync covers both), so both are
    // cut, following the etcd WAL's torn-write rule.
    let dir = tempfile::tempdir().unwrap();
    let big = LogOptions {
        segment_size: 8192,
        sync_delay: None,
    };
    {
        let log = Log::open(dir.path(), big.clone()).unwrap();
        log.append(&[(1, 1, &[7u8; 1200][..])]).unwrap();
        log.append(&[(2, 1, &[8u8; 1200][..]), (3, 1, &[9u8; 1200][..])])
            .unwrap();
    }
    let seg = segments(dir.path()).remove(0);
    let second = SEGMENT_HEADER + RECORD_HEADER + 1200; // record of index 2
    let sector = second.div_ceil(512) * 512 + 512;
    let f = OpenOptions::new().write(true).open(&seg).unwrap();
    f.write_all_at(&[0u8; 512], sector).unwrap();
    drop(f);
    let log = Log::open(dir.path(), big).unwrap();
    assert_eq!(log.last_index(), Some(1));
    assert_eq!(log.stats().tail_cuts, 1);
    log.append(&[(2, 2, b"again")]).unwrap();
}

#[test]
fn damage_in_a_sealed_segment_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let segs = build(dir.path(), per_segment() * 3 + 2);
    assert_eq!(segs.len(), 4);
    flip(&segs[1], record_offset(4) + 40);
    let err = Log::open(dir.path(), opts()).unwrap_err();
    match &err {
        LogError::Corrupt { path, offset, detail } => {
            assert_eq!(path, &segs[1], "{err}");
            assert_eq!(*offset, record_offset(4), "{err}");
            assert!(detail.contains("checksum"), "{err}");
        }
        other => panic!("expected Corrupt, got {other}"),
    }
    assert!(err.to_string().contains(&segs[1].display().to_string()));
    // Nothing was repaired behind our back: still an error the second time.
    assert!(matches!(
        Log::open(dir.path(), opts()),
        Err(LogError::Corrupt { .. })
    ));
}

#[test]
fn damage_in_the_middle_of_the_last_segment_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let segs = build(dir.path(), 10);
    assert_eq!(segs.len(), 1);
    flip(&segs[0], record_offset(3) + 60);
    let err = Log::open(dir.path(), opts()).unwrap_err();
    assert!(
        matches!(&err, LogError::Corrupt { path, offset, .. } if path == &segs[0] && *offset == record_offset(3)),
        "{err}"
    );
}

#[test]
fn a_missing_segment_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let segs = build(dir.path(), per_segment() * 3 + 2);
    std::fs::remove_file(&segs[1]).unwrap();
    let err = Log::open(dir.path(), opts()).unwrap_err();
    assert!(
        matches!(&err, LogError::Corrupt { path, .. } if path == &segs[0]),
        "{err}"
    );
    assert!(err.to_string().contains("missing"), "{err}");
}

#[test]
fn a_damaged_segment_header_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let segs = build(dir.path(), 5);
    flip(&segs[0], 12);
    let err = Log::open(dir.path(), opts()).unwrap_err();
    assert!(
        matches!(&err, LogError::Corrupt { path, offset: 0, .. } if path == &segs[0]),
        "{err}"
    );
}

#[test]
fn a_damaged_meta_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    {
        let log = Log::open(dir.path(), opts()).unwrap();
        log.save_meta("vote", b"some vote").unwrap();
    }
    flip(&dir.path().join("meta"), 20);
    let err = Log::open(dir.path(), opts()).unwrap_err();
    assert!(
        matches!(&err, LogError::Corrupt { path, .. } if path.ends_with("meta")),
        "{err}"
    );
}

#[test]
fn leftover_temp_files_are_ignored() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), 5);
    std::fs::write(dir.path().join("00000000000000000009.seg.tmp"), b"half a segment").unwrap();
    std::fs::write(dir.path().join("meta.tmp"), b"half a meta").unwrap();
    let log = Log::open(dir.path(), opts()).unwrap();
    assert_eq!(log.last_index(), Some(5));
    assert!(!dir.path().join("00000000000000000009.seg.tmp").exists());
}

#[test]
fn any_single_byte_flip_in_a_middle_record_of_the_last_segment_is_an_error() {
    // Every byte, including the length field (a wrong length points the scan
    // into the middle of the next record, so only a search for later valid
    // records can tell this from a torn tail).
    for at in 0..RECORD_HEADER + PAYLOAD as u64 {
        let dir = tempfile::tempdir().unwrap();
        let segs = build(dir.path(), 10);
        flip(&segs[0], record_offset(3) + at);
        match Log::open(dir.path(), opts()) {
            Err(LogError::Corrupt { path, offset, .. }) => {
                assert_eq!(
                    (path, offset),
                    (segs[0].clone(), record_offset(3)),
                    "flip at {at}"
                );
            }
            Err(other) => panic!("flip at {at}: expected Corrupt, got {other}"),
            Ok(log) => panic!("flip at {at}: opened with last index {:?}", log.last_index()),
        }
    }
}

#[test]
fn any_single_byte_flip_in_the_last_record_is_cut() {
    for at in 0..RECORD_HEADER + PAYLOAD as u64 {
        let dir = tempfile::tempdir().unwrap();
        build(dir.path(), 10);
        let seg = segments(dir.path()).remove(0);
        flip(&seg, record_offset(9) + at);
        let log = Log::open(dir.path(), opts()).unwrap_or_else(|e| panic!("flip at {at}: {e}"));
        assert_eq!(log.last_index(), Some(9), "flip at {at}");
    }
}

#[test]
fn a_zeroed_header_followed_by_valid_records_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let segs = build(dir.path(), 10);
    let f = OpenOptions::new().write(true).open(&segs[0]).unwrap();
    f.write_all_at(&[0u8; RECORD_HEADER as usize], record_offset(4))
        .unwrap();
    drop(f);
    let err = Log::open(dir.path(), opts()).unwrap_err();
    assert!(
        matches!(&err, LogError::Corrupt { offset, .. } if *offset == record_offset(4)),
        "{err}"
    );
}
