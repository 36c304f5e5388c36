//! Segment files: creation (preallocated and zero-filled), recovery scans,
//! reading one record back, and zeroing a range.
//!
//! A segment is created as `<name>.tmp`, filled with its header and zeros up
//! to its full size, `fdatasync`ed, renamed to `<seq:020>.seg` and the
//! directory is `fsync`ed; so a segment file either exists complete with a
//! valid header or not at all. Appends then overwrite the preallocated zero
//! blocks, which keeps the file size constant and makes `fdatasync` cheap
//! (no block allocation or size change to journal).
//!
//! The scan ([`scan`]) reads records from the header on and stops at the
//! first position that does not hold a valid record continuing the index
//! sequence. It only *reports* that position and why it stopped; whether the
//! rest is a torn tail to cut or corruption to refuse is decided by the
//! caller (`store.rs`), which knows whether the segment is the last one.
//!
//! Deliberately not done: memory-mapping (plain `pread`/`pwrite` keep error
//! handling explicit and never turn an I/O error into a `SIGBUS`) and
//! `O_DIRECT` (the page cache is fine; durability comes from `fdatasync`).

use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::LogError;
use super::format::{RECORD_HEADER_LEN, RecordHeader, SEGMENT_HEADER_LEN, SegmentHeader};

/// Where one record lives in its segment.
#[derive(Debug, Clone, Copy)]
pub struct Loc {
    /// Offset of the record header in the segment file.
    pub offset: u64,
    /// Payload length.
    pub len: u32,
    /// Raft term of the entry.
    pub term: u64,
}

/// File name of segment `seq`.
pub fn segment_name(seq: u64) -> String {
    format!("{seq:020}.seg")
}

/// Parses a segment file name back into its sequence number.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// `fsync`s a directory so that creations, renames and unlinks in it are
/// durable.
pub fn sync_dir(dir: &Path) -> Result<(), LogError> {
    let d = File::open(dir).map_err(|e| LogError::io("open directory", dir, e))?;
    d.sync_all().map_err(|e| LogError::io("fsync directory", dir, e))
}

/// Opens a file for reading and writing in place.
pub fn open_rw(path: &Path) -> Result<File, LogError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| LogError::io("open", path, e))
}

/// Name of the spare segment that is zero-filled in the background, ready
/// for the next roll-over (ends in `.seg.tmp`, so a leftover is deleted on open).
pub const SPARE_NAME: &str = "spare.seg.tmp";

/// Creates segment `seq` with base index `base` and `size` bytes, zero-filled
/// and durable (file data and directory entry). Returns its path and handle.
pub fn create(dir: &Path, seq: u64, base: u64, size: u64) -> Result<(PathBuf, File), LogError> {
    let tmp = dir.join(format!("{}.tmp", segment_name(seq)));
    let file = prepare_zeroed(&tmp, size)?;
    let path = install(dir, &tmp, &file, seq, base)?;
    Ok((path, file))
}

/// Creates (or replaces) `tmp` as a file of `size` zero bytes, synced. The
/// zeros are really written (not just `set_len`, which leaves a sparse file),
/// so that later overwrites need no block allocation.
pub fn prepare_zeroed(tmp: &Path, size: u64) -> Result<File, LogError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(tmp)
        .map_err(|e| LogError::io("create", tmp, e))?;
    zero_range(&file, tmp, 0, size)?;
    file.sync_data().map_err(|e| LogError::io("fdatasync", tmp, e))?;
    Ok(file)
}

/// Turns a zero-filled temporary file into segment `seq`: writes the header,
/// syncs, renames it to its final name and syncs the directory.
pub fn install(dir: &Path, tmp: &Path, file: &File, seq: u64, base: u64) -> Result<PathBuf, LogError> {
    let path = dir.join(segment_name(seq));
    let header = SegmentHeader { seq, base }.encode();
    file.write_all_at(&header, 0)
        .map_err(|e| LogError::io("write", tmp, e))?;
    file.sync_data().map_err(|e| LogError::io("fdatasync", tmp, e))?;
    std::fs::rename(tmp, &path).map_err(|e| LogError::io("rename", tmp, e))?;
    sync_dir(dir)?;
    Ok(path)
}

/// Writes zeros over `[from, to)` of `file` (no sync).
pub fn zero_range(file: &File, path: &Path, from: u64, to: u64) -> Result<(), LogError> {
    const CHUNK: u64 = 256 * 1024;
    let zeros = vec![0u8; CHUNK.min(to.saturating_sub(from)) as usize];
    let mut at = from;
    while at < to {
        let n = CHUNK.min(to - at) as usize;
        file.write_all_at(&zeros[..n], at)
            .map_err(|e| LogError::io("write zeros", path, e))?;
        at += n as u64;
    }
    Ok(())
}

/// Zeroes every non-zero 64 KiB block in `[from, end of file)`. Returns true
/// if anything had to be zeroed. Used to cut a torn tail: after it, nothing
/// beyond `from` can ever be read back as a record. No sync.
pub fn zero_nonzero_tail(file: &File, path: &Path, from: u64) -> Result<bool, LogError> {
    const CHUNK: u64 = 64 * 1024;
    let len = file_len(file, path)?;
    let mut buf = vec![0u8; CHUNK as usize];
    let mut at = from;
    let mut any = false;
    while at < len {
        let n = CHUNK.min(len - at) as usize;
        file.read_exact_at(&mut buf[..n], at)
            .map_err(|e| LogError::io("read", path, e))?;
        if buf[..n].iter().any(|&b| b != 0) {
            zero_range(file, path, at, at + n as u64)?;
            any = true;
        }
        at += n as u64;
    }
    Ok(any)
}

/// True if every byte of `[from, end of file)` is zero.
pub fn is_zero_from(file: &File, path: &Path, from: u64) -> Result<bool, LogError> {
    const CHUNK: u64 = 64 * 1024;
    let len = file_len(file, path)?;
    let mut buf = vec![0u8; CHUNK as usize];
    let mut at = from;
    while at < len {
        let n = CHUNK.min(len - at) as usize;
        file.read_exact_at(&mut buf[..n], at)
            .map_err(|e| LogError::io("read", path, e))?;
        if buf[..n].iter().any(|&b| b != 0) {
            return Ok(false);
        }
        at += n as u64;
    }
    Ok(true)
}

/// The length of `file`.
pub fn file_len(file: &File, path: &Path) -> Result<u64, LogError> {
    Ok(file.metadata().map_err(|e| LogError::io("stat", path, e))?.len())
}

/// Why a scan stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// An all-zero record header (or the exact end of the file): a clean end.
    End,
    /// Something that is not a valid next record; `detail` says what.
    Bad {
        /// What was wrong.
        detail: String,
        /// The header's claimed record length, when it fits in the file;
        /// used to look past the bad record.
        claimed_len: Option<u64>,
    },
}

/// The result of scanning one segment.
#[derive(Debug)]
pub struct Scan {
    /// The decoded header.
    pub header: SegmentHeader,
    /// One location per valid record, for indexes `header.base ..`.
    pub locs: Vec<Loc>,
    /// Offset just past the last valid record (where the next one goes).
    pub end: u64,
    /// Why the scan stopped at `end`.
    pub stop: Stop,
    /// The file length.
    pub len: u64,
}

/// Scans a segment file from its header on. I/O errors and a bad header are
/// errors; a bad record is reported in [`Scan::stop`].
pub fn scan(path: &Path, file: &File) -> Result<Scan, LogError> {
    let len = file_len(file, path)?;
    let mut hbuf = [0u8; SEGMENT_HEADER_LEN as usize];
    if len < SEGMENT_HEADER_LEN {
        return Err(LogError::corrupt(
            path,
            0,
            format!("segment file is only {len} bytes"),
        ));
    }
    file.read_exact_at(&mut hbuf, 0)
        .map_err(|e| LogError::io("read", path, e))?;
    let header = SegmentHeader::decode(&hbuf).map_err(|d| LogError::corrupt(path, 0, d))?;

    let mut reader = BufReader::with_capacity(1 << 20, file);
    // BufReader reads through `&File` from the file's cursor: position it.
    {
        use std::io::{Seek, SeekFrom};
        reader
            .seek(SeekFrom::Start(SEGMENT_HEADER_LEN))
            .map_err(|e| LogError::io("seek", path, e))?;
    }
    let mut locs = Vec::new();
    let mut pos = SEGMENT_HEADER_LEN;
    let mut payload = Vec::new();
    let stop = loop {
        if pos == len {
            break Stop::End;
        }
        if len - pos < RECORD_HEADER_LEN {
            // A few trailing bytes: zero padding is a clean end, anything else is torn.
            let mut rest = vec![0u8; (len - pos) as usize];
            reader
                .read_exact(&mut rest)
                .map_err(|e| LogError::io("read", path, e))?;
            if rest.iter().all(|&b| b == 0) {
                break Stop::End;
            }
            break Stop::Bad {
                detail: "a partial record header at the end of the file".to_string(),
                claimed_len: None,
            };
        }
        let mut h = [0u8; RECORD_HEADER_LEN as usize];
        reader
            .read_exact(&mut h)
            .map_err(|e| LogError::io("read", path, e))?;
        let rec = RecordHeader::parse(&h);
        if rec.is_zero() {
            break Stop::End;
        }
        let expected = header.base + locs.len() as u64;
        if pos + rec.record_len() > len {
            break Stop::Bad {
                detail: format!(
                    "record claims {} payload bytes, past the end of the file ({len} bytes)",
                    rec.len
                ),
                claimed_len: None,
            };
        }
        payload.resize(rec.len as usize, 0);
        reader
            .read_exact(&mut payload)
            .map_err(|e| LogError::io("read", path, e))?;
        if !rec.checks(&payload) {
            break Stop::Bad {
                detail: format!("checksum mismatch in the record expected to hold index {expected}"),
                claimed_len: Some(rec.record_len()),
            };
        }
        if rec.index != expected {
            break Stop::Bad {
                detail: format!("record has index {}, expected {expected}", rec.index),
                claimed_len: Some(rec.record_len()),
            };
        }
        locs.push(Loc {
            offset: pos,
            len: rec.len,
            term: rec.term,
        });
        pos += rec.record_len();
    };
    Ok(Scan {
        header,
        locs,
        end: pos,
        stop,
        len,
    })
}

/// Reads the record at `loc`, checks it is a valid record for `index`, and
/// returns its payload.
pub fn read_record(path: &Path, file: &File, loc: Loc, index: u64) -> Result<Vec<u8>, LogError> {
    let mut buf = vec![0u8; RECORD_HEADER_LEN as usize + loc.len as usize];
    file.read_exact_at(&mut buf, loc.offset)
        .map_err(|e| LogError::io("read", path, e))?;
    let mut h = [0u8; RECORD_HEADER_LEN as usize];
    h.copy_from_slice(&buf[..RECORD_HEADER_LEN as usize]);
    let rec = RecordHeader::parse(&h);
    let payload = buf.split_off(RECORD_HEADER_LEN as usize);
    if rec.len != loc.len || rec.index != index || rec.term != loc.term || !rec.checks(&payload) {
        return Err(LogError::corrupt(
            path,
            loc.offset,
            format!(
                "record of index {index} changed on disk since it was written (checksum or header mismatch)"
            ),
        ));
    }
    Ok(payload)
}

/// Searches `[from, file_len)` byte by byte for a valid record whose index
/// is greater than `after` (and not absurdly far beyond it). Returns its
/// offset and index. Used only when recovery found a bad record or stray
/// bytes in the last segment, to tell damage *inside* the log (valid records
/// follow) from a torn tail (nothing valid follows). Reads the whole range
/// into memory (at most one segment).
pub fn find_later_record(
    file: &File,
    path: &Path,
    from: u64,
    file_len: u64,
    after: u64,
) -> Result<Option<(u64, u64)>, LogError> {
    if from >= file_len {
        return Ok(None);
    }
    let mut buf = vec![0u8; (file_len - from) as usize];
    file.read_exact_at(&mut buf, from)
        .map_err(|e| LogError::io("read", path, e))?;
    let hdr = RECORD_HEADER_LEN as usize;
    let mut at = 0usize;
    while at + hdr <= buf.len() {
        let mut idx = [0u8; 8];
        idx.copy_from_slice(&buf[at + 8..at + 16]);
        let index = u64::from_le_bytes(idx);
        if index > after && index - after < (1 << 32) {
            let mut h = [0u8; RECORD_HEADER_LEN as usize];
            h.copy_from_slice(&buf[at..at + hdr]);
            let rec = RecordHeader::parse(&h);
            let end = at + hdr + rec.len as usize;
            if end <= buf.len() && rec.checks(&buf[at + hdr..end]) {
                return Ok(Some((from + at as u64, index)));
            }
        }
        at += 1;
    }
    Ok(None)
}

/// True if `[from, from+len)` of `file` contains a 512-byte-aligned sector
/// that is all zeros: the signature of a write that never reached the disk
/// (the etcd WAL's torn-write rule).
pub fn has_zero_sector(file: &File, from: u64, len: u64) -> bool {
    const SECTOR: u64 = 512;
    let mut buf = vec![0u8; len as usize];
    if file.read_exact_at(&mut buf, from).is_err() {
        return false;
    }
    let mut at = from.div_ceil(SECTOR) * SECTOR;
    while at + SECTOR <= from + len {
        let s = (at - from) as usize;
        if buf[s..s + SECTOR as usize].iter().all(|&b| b == 0) {
            return true;
        }
        at += SECTOR;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::format::encode_record;

    #[test]
    fn names_round_trip() {
        assert_eq!(segment_name(42), "00000000000000000042.seg");
        assert_eq!(parse_segment_name(&segment_name(42)), Some(42));
        assert_eq!(parse_segment_name("42.seg"), None);
        assert_eq!(parse_segment_name("00000000000000000042.seg.tmp"), None);
        assert_eq!(parse_segment_name("meta"), None);
    }

    #[test]
    fn create_scan_and_stop_reasons() {
        let dir = tempfile::tempdir().unwrap();
        let (path, file) = create(dir.path(), 1, 10, 4096).unwrap();
        assert_eq!(file_len(&file, &path).unwrap(), 4096);
        let s = scan(&path, &file).unwrap();
        assert_eq!(s.header, SegmentHeader { seq: 1, base: 10 });
        assert!(s.locs.is_empty());
        assert_eq!((s.end, s.stop.clone()), (SEGMENT_HEADER_LEN, Stop::End));

        let mut buf = Vec::new();
        encode_record(&mut buf, 10, 1, b"a");
        encode_record(&mut buf, 11, 1, b"bb");
        file.write_all_at(&buf, SEGMENT_HEADER_LEN).unwrap();
        let s = scan(&path, &file).unwrap();
        assert_eq!(s.locs.len(), 2);
        assert_eq!(s.stop, Stop::End);
        assert_eq!(read_record(&path, &file, s.locs[1], 11).unwrap(), b"bb");
        assert!(read_record(&path, &file, s.locs[1], 12).is_err());

        // A record with the wrong index stops the scan.
        let mut bad = Vec::new();
        encode_record(&mut bad, 99, 1, b"c");
        file.write_all_at(&bad, s.end).unwrap();
        let s2 = scan(&path, &file).unwrap();
        assert_eq!(s2.locs.len(), 2);
        assert!(matches!(s2.stop, Stop::Bad { .. }));
    }

    #[test]
    fn zero_sector_detection() {
        let dir = tempfile::tempdir().unwrap();
        let (_path, file) = create(dir.path(), 1, 0, 4096).unwrap();
        file.write_all_at(&[1u8; 4096 - 32], 32).unwrap();
        assert!(!has_zero_sector(&file, 32, 2000));
        file.write_all_at(&[0u8; 512], 1024).unwrap();
        assert!(has_zero_sector(&file, 32, 2000));
        assert!(!has_zero_sector(&file, 1100, 1000));
    }
}
