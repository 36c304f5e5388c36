//! The log itself: recovery on open, the write path with group commit, the
//! background flusher, truncation, purging and reads.
//!
//! Concurrency model: one mutex guards the in-memory index ([`State`]); writes
//! (`pwrite` into the active segment's preallocated blocks) happen under it,
//! `fdatasync` never does. Every successful write gets a *ticket* (a sequence
//! number). A single flusher thread repeatedly takes the highest ticket
//! written so far plus the set of files written since its last round, drops
//! the lock, syncs those files, and then marks every ticket up to the one it
//! took as durable. Writes that arrive while a sync runs are covered by the
//! next round: N concurrent appenders cost about one sync per round, not N.
//!
//! Invariants:
//! - a ticket is reported durable (waiter woken, callback run with `Ok`) only
//!   after an `fdatasync` that started after its bytes were written;
//! - callbacks run in ticket order, on the flusher thread, never under a lock;
//! - segment `k+1` is created only after segment `k` was synced, so every
//!   segment but the last is complete on disk, and recovery may treat damage
//!   anywhere but at the end of the last segment as corruption;
//! - truncation deletes later segments newest-first before zeroing the cut
//!   segment, and purging persists `last_purged` before deleting oldest-first,
//!   so a crash in the middle of either leaves a valid log (the old one, or a
//!   prefix/suffix of it);
//! - any failed write, zeroing or sync poisons the log (no further writes,
//!   waiters and callbacks get [`LogError::Poisoned`]): after a failed
//!   `fdatasync` the page cache may no longer hold what we wrote.
//!
//! The next segment is zero-filled ahead of time by a helper thread
//! (`spare.seg.tmp`), so a roll-over costs a header write, a sync, a rename
//! and a directory sync, not a 64 MiB zero-fill.
//!
//! Deliberately not done: an in-memory entry cache (reads are `pread`s that
//! the page cache serves), reading without the lock.

use std::collections::VecDeque;
use std::fs::File;
use std::ops::Range;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::error::LogError;
use super::format::{RECORD_HEADER_LEN, SEGMENT_HEADER_LEN, encode_record};
use super::meta::MetaFile;
use super::segment::{self, Loc, Stop};
use super::{LogEntry, LogOptions, LogStats, Ticket};

/// Completion callback of [`Log::append_async`].
pub type Done = Box<dyn FnOnce(Result<(), LogError>) + Send>;

/// Reserved metadata key holding the last purged (index, term).
const PURGED_KEY: &str = "__log/last_purged";
/// Prefix of metadata keys reserved for the log itself.
pub(crate) const RESERVED_PREFIX: &str = "__log/";
/// Name of the lock file that keeps two `Log`s off one directory.
const LOCK_NAME: &str = "LOCK";

/// One segment file and the index of its records.
#[derive(Debug)]
struct Segment {
    seq: u64,
    base: u64,
    path: PathBuf,
    file: Arc<File>,
    locs: Vec<Loc>,
    /// Where the next record goes (just past the last valid one).
    write_pos: u64,
    /// File size: records must end at or before it.
    capacity: u64,
}

impl Segment {
    /// The index one past this segment's last record.
    fn next(&self) -> u64 {
        self.base + self.locs.len() as u64
    }
}

/// Everything the mutex guards.
struct State {
    segments: Vec<Segment>,
    /// Index the next append must start at; `None` while the log has never
    /// held anything (then any start index is accepted).
    next: Option<u64>,
    /// First live index (meaningful when `next` is `Some`; the log is empty
    /// when `first == next`).
    first: u64,
    last_purged: Option<(u64, u64)>,
    next_seq: u64,
    /// Highest ticket handed out.
    written: u64,
    /// Highest ticket known durable.
    durable: u64,
    /// Files written since the flusher last took this list.
    dirty: Vec<(PathBuf, Arc<File>)>,
    /// `append_async` callbacks in ticket order.
    callbacks: VecDeque<(u64, Done)>,
    poisoned: Option<String>,
    shutdown: bool,
    /// The next segment file, being zero-filled in the background.
    spare: Option<JoinHandle<Result<File, LogError>>>,
}

impl State {
    fn writable(&self) -> Result<(), LogError> {
        if let Some(detail) = &self.poisoned {
            return Err(LogError::Poisoned {
                detail: detail.clone(),
            });
        }
        if self.shutdown {
            return Err(LogError::Closed);
        }
        Ok(())
    }

    fn mark_dirty(&mut self, path: &Path, file: &Arc<File>) {
        if !self.dirty.iter().any(|(_, f)| Arc::ptr_eq(f, file)) {
            self.dirty.push((path.to_path_buf(), Arc::clone(file)));
        }
    }

    /// The segment holding `index` (which must be live).
    fn segment_of(&self, index: u64) -> Option<&Segment> {
        let i = self.segments.partition_point(|s| s.next() <= index);
        self.segments.get(i).filter(|s| s.base <= index)
    }
}

#[derive(Default)]
struct Counters {
    syncs: AtomicU64,
    extra_syncs: AtomicU64,
    writes: AtomicU64,
    entries: AtomicU64,
    segments_created: AtomicU64,
    tail_cuts: AtomicU64,
}

struct Shared {
    dir: PathBuf,
    opts: LogOptions,
    state: Mutex<State>,
    /// Wakes the flusher.
    work: Condvar,
    /// Wakes `wait_durable` callers.
    durable_cv: Condvar,
    meta: Mutex<MetaFile>,
    counters: Counters,
    /// Held for the lifetime of the log (advisory `flock`).
    _lock: File,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the files inconsistent
        // with what was acknowledged; keep going rather than cascade panics.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_meta(&self) -> MutexGuard<'_, MetaFile> {
        self.meta.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn poison(&self, st: &mut State, err: &LogError) {
        tracing::error!(dir = %self.dir.display(), error = %err, "raft log poisoned by an I/O failure");
        if st.poisoned.is_none() {
            st.poisoned = Some(err.to_string());
        }
        self.durable_cv.notify_all();
        self.work.notify_one();
    }
}

/// The durable Raft log. See the module documentation of [`crate::log`].
pub struct Log {
    shared: Arc<Shared>,
    flusher: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Log {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log")
            .field("dir", &self.shared.dir)
            .finish_non_exhaustive()
    }
}

impl Log {
    /// Opens the log in `dir`, creating the directory if needed, or recovers
    /// it: validates every segment, cuts a torn tail of the last segment
    /// (logged at warn level), refuses corruption anywhere else, and finishes
    /// an interrupted purge.
    pub fn open(dir: &Path, options: LogOptions) -> Result<Log, LogError> {
        if options.segment_size < SEGMENT_HEADER_LEN + RECORD_HEADER_LEN {
            return Err(LogError::InvalidArgument(format!(
                "segment_size {} is smaller than a segment header plus one record header",
                options.segment_size
            )));
        }
        std::fs::create_dir_all(dir).map_err(|e| LogError::io("create directory", dir, e))?;
        let lock_path = dir.join(LOCK_NAME);
        let lock = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock_path)
            .map_err(|e| LogError::io("open", &lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(LogError::Locked { path: lock_path }),
            Err(std::fs::TryLockError::Error(e)) => return Err(LogError::io("lock", lock_path, e)),
        }

        let meta = MetaFile::open(dir)?;
        let meta_path = dir.join(MetaFile::NAME);
        let last_purged = match meta.get(PURGED_KEY) {
            None => None,
            Some(b) if b.len() == 16 => {
                let mut i = [0u8; 8];
                let mut t = [0u8; 8];
                i.copy_from_slice(&b[0..8]);
                t.copy_from_slice(&b[8..16]);
                Some((u64::from_le_bytes(i), u64::from_le_bytes(t)))
            }
            Some(b) => {
                return Err(LogError::corrupt(
                    meta_path,
                    0,
                    format!("last-purged record is {} bytes, expected 16", b.len()),
                ));
            }
        };

        let counters = Counters::default();
        let segments = recover_segments(dir, last_purged, &counters)?;
        let (first, next) = match (last_purged, segments.last()) {
            (Some((p, _)), Some(last)) => (p + 1, Some(last.next())),
            (Some((p, _)), None) => (p + 1, Some(p + 1)),
            (None, Some(last)) => (segments[0].base, Some(last.next())),
            (None, None) => (0, None),
        };
        let next_seq = segments.last().map_or(1, |s| s.seq + 1);
        let mut state = State {
            segments,
            next,
            first,
            last_purged,
            next_seq,
            written: 0,
            durable: 0,
            dirty: Vec::new(),
            callbacks: VecDeque::new(),
            poisoned: None,
            shutdown: false,
            spare: None,
        };
        start_spare(dir, options.segment_size, &mut state);
        let shared = Arc::new(Shared {
            dir: dir.to_path_buf(),
            opts: options,
            state: Mutex::new(state),
            work: Condvar::new(),
            durable_cv: Condvar::new(),
            meta: Mutex::new(meta),
            counters,
            _lock: lock,
        });
        let for_thread = Arc::clone(&shared);
        let flusher = std::thread::Builder::new()
            .name("raft-log-flusher".to_string())
            .spawn(move || flusher_loop(&for_thread))
            .map_err(|e| LogError::io("spawn flusher thread for", dir, e))?;
        let log = Log {
            shared,
            flusher: Some(flusher),
        };
        // fault-injection hook (ack-before-sync; test builds only), see super::fault.
        super::fault::after_open(&log)?;
        Ok(log)
    }

    /// Appends `entries` and returns once they are durable. Indexes must be
    /// contiguous and start at `last_index() + 1` (after a purge of
    /// everything: `last_purged + 1`; on a log that never held anything: any
    /// index). Equivalent to [`Log::write`] then [`Log::wait_durable`].
    pub fn append(&self, entries: &[(u64, u64, &[u8])]) -> Result<(), LogError> {
        let ticket = self.write(entries)?;
        self.wait_durable(ticket)
    }

    /// Writes `entries` (readable as soon as this returns) and returns a
    /// ticket to wait on with [`Log::wait_durable`]. Lets a caller issue the
    /// write under its own ordering lock and wait for the sync outside it.
    pub fn write(&self, entries: &[(u64, u64, &[u8])]) -> Result<Ticket, LogError> {
        let sh = &*self.shared;
        let mut st = sh.lock();
        let ticket = self.write_locked(&mut st, entries)?;
        Ok(Ticket(ticket))
    }

    /// Like [`Log::append`] but returns as soon as the entries are written
    /// (and readable); `done` is called from the flusher thread once they are
    /// durable, with `Ok(())`, or with the error that prevented it. Callbacks
    /// run in call order. If this returns `Err`, `done` is never called.
    pub fn append_async(&self, entries: Vec<LogEntry>, done: Done) -> Result<(), LogError> {
        let borrowed: Vec<(u64, u64, &[u8])> = entries
            .iter()
            .map(|e| (e.index, e.term, e.payload.as_slice()))
            .collect();
        let sh = &*self.shared;
        let mut st = sh.lock();
        let ticket = self.write_locked(&mut st, &borrowed)?;
        // fault-injection hook (ack-before-sync; test builds only), see super::fault.
        let Some(done) = super::fault::acknowledge_early(done) else {
            return Ok(());
        };
        st.callbacks.push_back((ticket, done));
        sh.work.notify_one();
        Ok(())
    }

    /// Blocks until `ticket`'s write is durable.
    pub fn wait_durable(&self, ticket: Ticket) -> Result<(), LogError> {
        let sh = &*self.shared;
        let mut st = sh.lock();
        if ticket.0 > st.written {
            return Err(LogError::InvalidArgument(format!("unknown ticket {}", ticket.0)));
        }
        loop {
            if st.durable >= ticket.0 {
                return Ok(());
            }
            if let Some(detail) = &st.poisoned {
                return Err(LogError::Poisoned {
                    detail: detail.clone(),
                });
            }
            st = sh.durable_cv.wait(st).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn write_locked(&self, st: &mut State, entries: &[(u64, u64, &[u8])]) -> Result<u64, LogError> {
        let sh = &*self.shared;
        st.writable()?;
        let Some(&(start, _, _)) = entries.first() else {
            // Nothing to write: durable once everything before it is.
            return Ok(st.written);
        };
        let expected = st.next.unwrap_or(start);
        for (k, &(index, _, payload)) in entries.iter().enumerate() {
            if index != expected + k as u64 {
                return Err(LogError::NonContiguous {
                    expected: expected + k as u64,
                    got: index,
                });
            }
            if payload.len() > (u32::MAX as usize) - 1024 {
                return Err(LogError::InvalidArgument(format!(
                    "entry {index} has a {} byte payload; the limit is 4 GiB",
                    payload.len()
                )));
            }
        }
        if st.next.is_none() {
            st.first = start;
        }
        if let Err(e) = self.write_records(st, entries) {
            sh.poison(st, &e);
            return Err(e);
        }
        st.written += 1;
        sh.counters.writes.fetch_add(1, Ordering::Relaxed);
        sh.counters
            .entries
            .fetch_add(entries.len() as u64, Ordering::Relaxed);
        sh.work.notify_one();
        Ok(st.written)
    }

    /// Encodes and `pwrite`s the records, rolling to new segments as needed.
    fn write_records(&self, st: &mut State, entries: &[(u64, u64, &[u8])]) -> Result<(), LogError> {
        let mut buf = Vec::new();
        let mut locs = Vec::new();
        for &(index, term, payload) in entries {
            let rec_len = RECORD_HEADER_LEN + payload.len() as u64;
            let fits = st
                .segments
                .last()
                .is_some_and(|s| s.write_pos + buf.len() as u64 + rec_len <= s.capacity);
            if !fits {
                self.flush_buf(st, &mut buf, &mut locs)?;
                self.roll(st, index, rec_len)?;
            }
            let offset = st.segments.last().map_or(0, |s| s.write_pos) + buf.len() as u64;
            locs.push(Loc {
                offset,
                len: payload.len() as u32,
                term,
            });
            encode_record(&mut buf, index, term, payload);
        }
        self.flush_buf(st, &mut buf, &mut locs)
    }

    /// Writes `buf` at the active segment's write position and publishes
    /// `locs` in the index.
    fn flush_buf(&self, st: &mut State, buf: &mut Vec<u8>, locs: &mut Vec<Loc>) -> Result<(), LogError> {
        if buf.is_empty() {
            return Ok(());
        }
        let Some(seg) = st.segments.last_mut() else {
            return Err(LogError::InvalidArgument(
                "internal: no active segment".to_string(),
            ));
        };
        seg.file
            .write_all_at(buf, seg.write_pos)
            .map_err(|e| LogError::io("write", &seg.path, e))?;
        seg.write_pos += buf.len() as u64;
        seg.locs.append(locs);
        let next = seg.next();
        let (path, file) = (seg.path.clone(), Arc::clone(&seg.file));
        st.next = Some(next);
        st.mark_dirty(&path, &file);
        buf.clear();
        Ok(())
    }

    /// Seals the active segment (sync) and creates the next one, starting at
    /// `base`, large enough for a record of `rec_len` bytes.
    fn roll(&self, st: &mut State, base: u64, rec_len: u64) -> Result<(), LogError> {
        let sh = &*self.shared;
        if let Some(seg) = st.segments.last() {
            // Segment k must be complete on disk before segment k+1 exists.
            seg.file
                .sync_data()
                .map_err(|e| LogError::io("fdatasync", &seg.path, e))?;
            sh.counters.extra_syncs.fetch_add(1, Ordering::Relaxed);
        }
        let size = sh.opts.segment_size.max(SEGMENT_HEADER_LEN + rec_len);
        let seq = st.next_seq;
        let spare = if size == sh.opts.segment_size {
            st.spare.take()
        } else {
            None
        };
        let (path, file) = match spare.map(JoinHandle::join) {
            Some(Ok(Ok(file))) => {
                let tmp = sh.dir.join(segment::SPARE_NAME);
                (segment::install(&sh.dir, &tmp, &file, seq, base)?, file)
            }
            Some(Ok(Err(e))) => {
                tracing::warn!(error = %e, "raft log: preparing the spare segment failed; creating one inline");
                segment::create(&sh.dir, seq, base, size)?
            }
            Some(Err(_)) => {
                tracing::warn!("raft log: the spare segment thread panicked; creating one inline");
                segment::create(&sh.dir, seq, base, size)?
            }
            None => segment::create(&sh.dir, seq, base, size)?,
        };
        sh.counters.segments_created.fetch_add(1, Ordering::Relaxed);
        st.next_seq += 1;
        st.segments.push(Segment {
            seq,
            base,
            path,
            file: Arc::new(file),
            locs: Vec::new(),
            write_pos: SEGMENT_HEADER_LEN,
            capacity: size,
        });
        start_spare(&sh.dir, sh.opts.segment_size, st);
        Ok(())
    }

    /// Removes every entry with index `>= index`; durable on return. Entries
    /// at or below the last purged index cannot be truncated.
    pub fn truncate_from(&self, index: u64) -> Result<(), LogError> {
        let sh = &*self.shared;
        let mut st = sh.lock();
        st.writable()?;
        if let Some((p, _)) = st.last_purged
            && index <= p
        {
            return Err(LogError::InvalidArgument(format!(
                "cannot truncate from {index}: entries through {p} are purged"
            )));
        }
        let Some(next) = st.next else { return Ok(()) };
        if index >= next {
            return Ok(());
        }
        // fault-injection hook (ack-before-sync; test builds only), see super::fault.
        super::fault::on_truncate(self, index)?;
        if let Err(e) = self.truncate_locked(&mut st, index) {
            sh.poison(&mut st, &e);
            return Err(e);
        }
        Ok(())
    }

    fn truncate_locked(&self, st: &mut State, index: u64) -> Result<(), LogError> {
        let sh = &*self.shared;
        // Newest first, so a crash leaves a prefix of the old log.
        let mut removed = false;
        while let Some(seg) = st.segments.last() {
            if seg.base <= index {
                break;
            }
            std::fs::remove_file(&seg.path).map_err(|e| LogError::io("remove", &seg.path, e))?;
            st.segments.pop();
            removed = true;
        }
        if removed {
            segment::sync_dir(&sh.dir)?;
        }
        match st.segments.last_mut() {
            Some(seg) => {
                let keep = (index - seg.base) as usize;
                if let Some(loc) = seg.locs.get(keep) {
                    let from = loc.offset;
                    // Zero everything we ever wrote past the cut, so no stale
                    // record can be mistaken for a continuation later.
                    segment::zero_range(&seg.file, &seg.path, from, seg.write_pos)?;
                    seg.file
                        .sync_data()
                        .map_err(|e| LogError::io("fdatasync", &seg.path, e))?;
                    sh.counters.extra_syncs.fetch_add(1, Ordering::Relaxed);
                    seg.locs.truncate(keep);
                    seg.write_pos = from;
                }
                st.next = Some(seg.next());
            }
            None => {
                st.next = st.last_purged.map(|(p, _)| p + 1);
                st.first = st.next.unwrap_or(0);
            }
        }
        Ok(())
    }

    /// Removes every entry with index `<= index` and records `(index, term)`
    /// as the last purged log id (durably, before anything is deleted).
    /// Whole segments are deleted; a partly purged segment stays on disk and
    /// its purged entries are just no longer served. `index` may lie beyond
    /// the last entry (after a snapshot install): then the log becomes empty
    /// and the next append must be at `index + 1`. Purging at or below the
    /// current last purged index is a no-op.
    pub fn purge_through(&self, index: u64, term: u64) -> Result<(), LogError> {
        let sh = &*self.shared;
        let mut st = sh.lock();
        st.writable()?;
        if st.last_purged.is_some_and(|(p, _)| index <= p) {
            return Ok(());
        }
        if let Some(known) = st
            .segment_of(index)
            .and_then(|s| s.locs.get((index - s.base) as usize))
            && index >= st.first
            && known.term != term
        {
            tracing::warn!(
                index,
                term,
                stored_term = known.term,
                "purge_through: term differs from the stored entry's term"
            );
        }
        let mut value = Vec::with_capacity(16);
        value.extend_from_slice(&index.to_le_bytes());
        value.extend_from_slice(&term.to_le_bytes());
        sh.lock_meta().set(PURGED_KEY, &value)?;
        st.last_purged = Some((index, term));
        st.first = index + 1;
        st.next = Some(st.next.map_or(index + 1, |n| n.max(index + 1)));
        if let Err(e) = drop_purged_segments(&sh.dir, &mut st.segments, index) {
            sh.poison(&mut st, &e);
            return Err(e);
        }
        Ok(())
    }

    /// The live entries whose indexes fall in `range`, in order. Indexes
    /// outside `[first_index, last_index]` are simply absent from the result
    /// (so a caller can detect a purged or missing range by the count).
    /// Every record's checksum is verified on the way out.
    pub fn entries(&self, range: Range<u64>) -> Result<Vec<LogEntry>, LogError> {
        let st = self.shared.lock();
        let Some(next) = st.next else {
            return Ok(Vec::new());
        };
        let start = range.start.max(st.first);
        let end = range.end.min(next);
        let mut out = Vec::with_capacity(end.saturating_sub(start).min(1 << 16) as usize);
        let mut i = st.segments.partition_point(|s| s.next() <= start);
        for index in start..end {
            while st.segments.get(i).is_some_and(|s| s.next() <= index) {
                i += 1;
            }
            let Some(seg) = st.segments.get(i) else { break };
            let Some(&loc) = index.checked_sub(seg.base).and_then(|k| seg.locs.get(k as usize)) else {
                return Err(LogError::corrupt(
                    &seg.path,
                    0,
                    format!("internal: index {index} not found"),
                ));
            };
            let payload = segment::read_record(&seg.path, &seg.file, loc, index)?;
            out.push(LogEntry {
                index,
                term: loc.term,
                payload,
            });
        }
        Ok(out)
    }

    /// The term of live entry `index`, from memory (no disk read).
    pub fn term(&self, index: u64) -> Option<u64> {
        let st = self.shared.lock();
        if index < st.first || st.next.is_none_or(|n| index >= n) {
            return None;
        }
        st.segment_of(index)
            .and_then(|s| s.locs.get((index - s.base) as usize))
            .map(|l| l.term)
    }

    /// The first live index, if the log holds any entry.
    pub fn first_index(&self) -> Option<u64> {
        let st = self.shared.lock();
        st.next.filter(|&n| st.first < n).map(|_| st.first)
    }

    /// The last index, if the log holds any entry.
    pub fn last_index(&self) -> Option<u64> {
        let st = self.shared.lock();
        st.next.filter(|&n| st.first < n).map(|n| n - 1)
    }

    /// The last entry's (index, term), or else the last purged (index, term):
    /// exactly what openraft's `LogState::last_log_id` wants.
    pub fn last_log_id(&self) -> Option<(u64, u64)> {
        let st = self.shared.lock();
        match st.next {
            Some(n) if st.first < n => {
                let last = n - 1;
                st.segment_of(last)
                    .and_then(|s| s.locs.get((last - s.base) as usize))
                    .map(|l| (last, l.term))
            }
            _ => st.last_purged,
        }
    }

    /// The last purged (index, term), as persisted by [`Log::purge_through`].
    pub fn last_purged(&self) -> Option<(u64, u64)> {
        self.shared.lock().last_purged
    }

    /// Durably stores `value` under `key` (atomic replace + fsync + directory
    /// fsync) before returning. Keys starting with `__log/` are reserved.
    pub fn save_meta(&self, key: &str, value: &[u8]) -> Result<(), LogError> {
        if key.starts_with(RESERVED_PREFIX) {
            return Err(LogError::InvalidArgument(format!(
                "metadata key {key:?} is reserved"
            )));
        }
        self.shared.lock_meta().set(key, value)
    }

    /// The value last saved under `key`.
    pub fn read_meta(&self, key: &str) -> Result<Option<Vec<u8>>, LogError> {
        Ok(self.shared.lock_meta().get(key).map(<[u8]>::to_vec))
    }

    /// Counters since open.
    pub fn stats(&self) -> LogStats {
        let c = &self.shared.counters;
        LogStats {
            syncs: c.syncs.load(Ordering::Relaxed),
            extra_syncs: c.extra_syncs.load(Ordering::Relaxed),
            writes: c.writes.load(Ordering::Relaxed),
            entries: c.entries.load(Ordering::Relaxed),
            segments_created: c.segments_created.load(Ordering::Relaxed),
            tail_cuts: c.tail_cuts.load(Ordering::Relaxed),
        }
    }

    /// The directory the log lives in.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// A handle that reaches the log without keeping it open (for `fault`).
    #[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
    pub(super) fn watch(&self) -> Watch {
        Watch(Arc::downgrade(&self.shared))
    }
}

/// See [`Log::watch`].
#[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
pub(super) struct Watch(std::sync::Weak<Shared>);

#[cfg_attr(not(feature = "fault-injection"), allow(dead_code))]
impl Watch {
    /// Durably saves `value(last index)` under `key`, holding the log's lock
    /// so no write or truncation slips in between; `None` once the log is
    /// closed.
    pub(super) fn save_meta_at_last_index(
        &self,
        key: &str,
        value: impl Fn(Option<u64>) -> Vec<u8>,
    ) -> Option<Result<(), LogError>> {
        let sh = self.0.upgrade()?;
        let st = sh.lock();
        if st.shutdown {
            return None;
        }
        let last = st.next.filter(|&n| st.first < n).map(|n| n - 1);
        let result = sh.lock_meta().set(key, &value(last));
        drop(st);
        Some(result)
    }
}

impl Drop for Log {
    /// Stops the flusher after it has synced everything written and run every
    /// pending callback.
    fn drop(&mut self) {
        let spare = {
            let mut st = self.shared.lock();
            st.shutdown = true;
            self.shared.work.notify_one();
            st.spare.take()
        };
        if let Some(handle) = spare {
            let _ = handle.join();
        }
        if let Some(handle) = self.flusher.take() {
            // A callback that drops the last handle runs on the flusher
            // itself: it exits on its own once the callback returns.
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

/// The group-commit flusher: see the module documentation.
fn flusher_loop(sh: &Shared) {
    let mut st = sh.lock();
    loop {
        loop {
            let sync_work = st.written > st.durable && st.poisoned.is_none();
            let callback_work = st
                .callbacks
                .front()
                .is_some_and(|(t, _)| *t <= st.durable || st.poisoned.is_some());
            if sync_work || callback_work {
                break;
            }
            if st.shutdown {
                return;
            }
            st = sh.work.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        if st.written > st.durable && st.poisoned.is_none() {
            let target = st.written;
            let files = std::mem::take(&mut st.dirty);
            drop(st);
            if let Some(delay) = sh.opts.sync_delay {
                std::thread::sleep(delay);
            }
            let mut result = Ok(());
            for (path, file) in &files {
                if let Err(e) = file.sync_data() {
                    result = Err(LogError::io("fdatasync", path, e));
                    break;
                }
            }
            sh.counters.syncs.fetch_add(1, Ordering::Relaxed);
            st = sh.lock();
            match result {
                Ok(()) => st.durable = target,
                Err(e) => sh.poison(&mut st, &e),
            }
            sh.durable_cv.notify_all();
        }
        let mut ready = Vec::new();
        while st
            .callbacks
            .front()
            .is_some_and(|(t, _)| *t <= st.durable || st.poisoned.is_some())
        {
            if let Some(c) = st.callbacks.pop_front() {
                ready.push(c);
            }
        }
        let durable = st.durable;
        let poisoned = st.poisoned.clone();
        drop(st);
        for (ticket, done) in ready {
            let result = if ticket <= durable {
                Ok(())
            } else {
                Err(LogError::Poisoned {
                    detail: poisoned.clone().unwrap_or_default(),
                })
            };
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| done(result))).is_err() {
                tracing::error!("raft log: an append_async callback panicked");
            }
        }
        st = sh.lock();
    }
}

/// Starts zero-filling the spare segment in the background, unless one is
/// already there (or being made) or the log is shutting down. A failure to
/// start the thread only means the next roll-over creates its file inline.
fn start_spare(dir: &Path, size: u64, st: &mut State) {
    if st.spare.is_some() || st.shutdown {
        return;
    }
    let tmp = dir.join(segment::SPARE_NAME);
    st.spare = std::thread::Builder::new()
        .name("raft-log-spare".to_string())
        .spawn(move || segment::prepare_zeroed(&tmp, size))
        .ok();
}

/// Deletes (oldest first) every segment whose entries are all `<= index`,
/// except a last segment that ends exactly at `index` (it stays the active
/// segment, so the next append continues it). Syncs the directory if
/// anything was deleted.
fn drop_purged_segments(dir: &Path, segments: &mut Vec<Segment>, index: u64) -> Result<(), LogError> {
    let mut n = 0;
    while let Some(seg) = segments.get(n) {
        let is_last = n + 1 == segments.len();
        let all_purged = seg.next() <= index + 1;
        let keep_as_active = is_last && seg.next() == index + 1;
        if !all_purged || keep_as_active {
            break;
        }
        std::fs::remove_file(&seg.path).map_err(|e| LogError::io("remove", &seg.path, e))?;
        n += 1;
    }
    if n > 0 {
        segments.drain(..n);
        segment::sync_dir(dir)?;
    }
    Ok(())
}

/// Scans and validates every segment in `dir`; cuts a torn tail of the last
/// one; finishes an interrupted purge. See the module documentation of
/// [`crate::log`] for the rules.
fn recover_segments(
    dir: &Path,
    last_purged: Option<(u64, u64)>,
    counters: &Counters,
) -> Result<Vec<Segment>, LogError> {
    let mut found = Vec::new();
    let rd = std::fs::read_dir(dir).map_err(|e| LogError::io("read directory", dir, e))?;
    for item in rd {
        let item = item.map_err(|e| LogError::io("read directory", dir, e))?;
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".seg.tmp") {
            // A segment whose creation never finished: it never held data.
            let p = item.path();
            std::fs::remove_file(&p).map_err(|e| LogError::io("remove", &p, e))?;
        } else if let Some(seq) = segment::parse_segment_name(name) {
            found.push((seq, item.path()));
        }
    }
    found.sort();

    let mut segments: Vec<Segment> = Vec::with_capacity(found.len());
    let count = found.len();
    for (i, (seq, path)) in found.into_iter().enumerate() {
        let is_last = i + 1 == count;
        let file = segment::open_rw(&path)?;
        let scan = segment::scan(&path, &file)?;
        if scan.header.seq != seq {
            return Err(LogError::corrupt(
                &path,
                0,
                format!(
                    "header says segment {} but the file name says {seq}",
                    scan.header.seq
                ),
            ));
        }
        if let Some(prev) = segments.last()
            && scan.header.base != prev.next()
        {
            return Err(LogError::corrupt(
                &prev.path,
                prev.write_pos,
                format!(
                    "segment ends before index {} but the next segment {} starts at index {}: entries are missing",
                    prev.next(),
                    path.display(),
                    scan.header.base
                ),
            ));
        }
        let expected = scan.header.base + scan.locs.len() as u64;
        match &scan.stop {
            Stop::Bad { detail, .. } if !is_last => {
                return Err(LogError::corrupt(
                    &path,
                    scan.end,
                    format!("{detail} (in a sealed segment, so not a torn write)"),
                ));
            }
            Stop::Bad { detail, .. } => {
                refuse_if_valid_records_follow(&path, &file, &scan, expected, detail)?;
                tracing::warn!(
                    file = %path.display(),
                    offset = scan.end,
                    last_valid_index = expected.checked_sub(1),
                    reason = %detail,
                    "raft log: cutting a torn tail"
                );
                cut_tail(&path, &file, scan.end, counters)?;
            }
            Stop::End if is_last => {
                // Stray bytes after the clean end (e.g. a partly written
                // batch whose first header never reached the disk).
                if !segment::is_zero_from(&file, &path, scan.end)? {
                    let detail = "non-zero bytes after the last record";
                    refuse_if_valid_records_follow(&path, &file, &scan, expected, detail)?;
                    tracing::warn!(
                        file = %path.display(),
                        offset = scan.end,
                        "raft log: cutting non-zero garbage after the last record"
                    );
                    cut_tail(&path, &file, scan.end, counters)?;
                }
            }
            Stop::End => {}
        }
        segments.push(Segment {
            seq,
            base: scan.header.base,
            path,
            file: Arc::new(file),
            locs: scan.locs,
            write_pos: scan.end,
            capacity: scan.len,
        });
    }

    if let Some((p, _)) = last_purged {
        drop_purged_segments(dir, &mut segments, p)?;
        if let Some(first) = segments.first()
            && first.base > p + 1
        {
            return Err(LogError::corrupt(
                &first.path,
                0,
                format!(
                    "first segment starts at index {} but only entries through {p} were purged: entries are missing",
                    first.base
                ),
            ));
        }
    }
    Ok(segments)
}

/// The torn-tail rule for the last segment: the log stopped at `scan.end`
/// (because of `detail`). If a valid record with a later index follows, and
/// the bytes in between contain no all-zero sector (the mark of a write that
/// never reached the disk, so of data that was never acknowledged), then
/// this is damage inside the log and recovery must refuse, not cut.
fn refuse_if_valid_records_follow(
    path: &Path,
    file: &File,
    scan: &segment::Scan,
    expected: u64,
    detail: &str,
) -> Result<(), LogError> {
    let after = expected.saturating_sub(1);
    let from = scan.end + 1;
    if let Some((offset, index)) = segment::find_later_record(file, path, from, scan.len, after)?
        && !segment::has_zero_sector(file, scan.end, offset - scan.end)
    {
        return Err(LogError::corrupt(
            path,
            scan.end,
            format!(
                "{detail}, yet a valid record for index {index} follows at byte {offset}: \
                 damage inside the log, not a torn tail"
            ),
        ));
    }
    Ok(())
}

/// Zeroes everything from `from` to the end of the segment and syncs.
fn cut_tail(path: &Path, file: &File, from: u64, counters: &Counters) -> Result<(), LogError> {
    segment::zero_nonzero_tail(file, path, from)?;
    file.sync_data().map_err(|e| LogError::io("fdatasync", path, e))?;
    counters.tail_cuts.fetch_add(1, Ordering::Relaxed);
    Ok(())
}
