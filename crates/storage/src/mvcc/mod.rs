//! The multi-version store: snapshots, deterministic commit validation, GC.
//!
//! # Model
//!
//! Every committed read-write transaction is one [`Commit`] applied at a
//! *version*: a `u64` that increases by at least one per apply. In a cluster
//! the version is the Raft log index of the commit entry; on a single node a
//! local counter. A [`Snapshot`] at version `v` sees exactly the writes of
//! the commits applied at or below `v`, and nothing else.
//!
//! # Validation (optimistic concurrency control, decided at apply)
//!
//! A commit carries the version its transaction read at (`read_version`),
//! its buffered writes and, under SERIALIZABLE, its read set (point keys and
//! key ranges). [`Mvcc::apply`] looks at the write sets of the commits
//! applied after `read_version` (their *commit records*) and aborts the
//! commit if any of those keys
//! - is in its write set: a write-write conflict (both isolation levels), or
//! - under SERIALIZABLE, is one of its read keys or lies in a read range: a
//!   read-write conflict. Ranges make phantoms conflicts too.
//!
//! Otherwise every write is stored at the commit's version, all in one atomic
//! engine batch together with the commit record and the new applied version.
//! The decision depends only on the store's state and the commit, so every
//! replica applying the same log reaches the same decision. One mechanism
//! serves both checks, and a range read costs one range comparison per
//! recently written key, not a scan of the range.
//!
//! # Garbage collection
//!
//! [`Mvcc::gc`] with horizon `h` keeps, per key, the newest version at or
//! below `h` (dropped too when it is a tombstone) and every version above
//! `h`, and drops the commit records at or below `h`. Snapshots below `h`,
//! and commits whose `read_version` is below `h`, fail with
//! [`Error::SnapshotTooOld`] rather than giving a wrong answer: readers
//! re-check the horizon after each read, and GC raises it before deleting.
//!
//! # Concurrency
//!
//! One applier at a time (apply and GC hold their own mutexes); any number
//! of readers, whose only lock is, briefly, the point-read cache's
//! ([`latest`]). Readers never see a
//! half-applied commit: versions above their snapshot are ignored, and a
//! snapshot is only handed out for versions already applied. Locks are
//! always taken in the order apply, GC, recent writes / checkpoint / point
//! reads (a GC
//! entry takes the GC lock while applying; an export takes the apply lock
//! only to read its header), so no two of these paths can deadlock. The
//! metadata's lock is a leaf: nothing else is taken while it is held.
//!
//! A state transfer ([`Mvcc::import`]) replaces the whole store. It bumps
//! an install count before it wipes anything and again when it is done,
//! and every read checks that count after it ends, as it re-checks the
//! horizon: a read that overlapped an install in any way fails with
//! [`Error::StoreReplaced`] (40001, retryable), never returning a mix of
//! the old and the new store.
//!
//! # Durability: two modes
//!
//! - [`Durability::AtomicApplies`] ([`Mvcc::open`]): every apply is one
//!   atomic engine batch with the new applied version, so the store on disk
//!   is always at some applied version. For a store with nothing beneath it
//!   (a single node's `LocalCommitter`). It refuses a checkpointed store.
//! - [`Durability::Checkpointed`] ([`Mvcc::open_checkpointed`]): for a
//!   store whose entries a caller can apply again (the Raft state machine:
//!   the log holds them). Applies write only data (versions, commit
//!   records, a GC entry's horizon) with the engine's cheaper, non-atomic
//!   [`Engine::write_relaxed`]; the applied version and the metadata are
//!   kept in memory, and [`Mvcc::sync`] writes a *checkpoint*:
//!   it syncs, then records the applied version, horizon and metadata as of
//!   that sync in one atomic batch, and syncs again. Opening restores the
//!   last checkpoint: the applied version, horizon and metadata go back to
//!   it, and commit records above it are dropped. Writes of later entries
//!   may survive the crash in part; they are versions above the applied
//!   version, which no reader and no validation looks at, and applying the
//!   entries again (deterministic, with validation bounded by the applied
//!   version) writes them again byte for byte. The caller must keep every
//!   entry above the last checkpoint (Raft purges its log only behind a
//!   snapshot, and building one checkpoints). A GC entry checkpoints before
//!   deleting anything, so no restore goes back below a horizon whose
//!   garbage is already gone.
//!
//! Not here: durability policy (callers decide when to [`Mvcc::sync`]), the
//! choice of versions (the committer's job), and the retention window
//! (whoever calls GC decides the horizon).

pub(crate) mod keys;
mod latest;
mod scan;
mod transfer;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

pub use self::scan::{ScanOrder, VisibleScan};
pub use self::transfer::TransferHeader;
use crate::engine::{Engine, KeyRange, WriteBatch};
use crate::error::{Error, Result};

/// A commit version. 0 is the empty initial state; commits start at 1.
pub type Version = u64;

/// Isolation level of a transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Isolation {
    /// Snapshot isolation: reads see one snapshot; write-write conflicts
    /// abort. Write skew is possible.
    Snapshot,
    /// Serializable: snapshot isolation plus read-write conflict checks on
    /// the read set, which rule out write skew and phantoms.
    Serializable,
}

/// What a read-write transaction asks the store to apply.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    pub read_version: Version,
    pub isolation: Isolation,
    /// Key and new value; `None` deletes. Keys are unique.
    pub writes: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Keys read by point lookups (SERIALIZABLE only; empty otherwise).
    pub read_keys: Vec<Vec<u8>>,
    /// Key ranges read by scans (SERIALIZABLE only; empty otherwise).
    pub read_ranges: Vec<KeyRange>,
}

/// Which check aborted a commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConflictKind {
    WriteWrite,
    ReadWrite,
}

impl fmt::Display for ConflictKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConflictKind::WriteWrite => "write-write",
            ConflictKind::ReadWrite => "read-write",
        })
    }
}

/// The decision [`Mvcc::apply`] reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ApplyOutcome {
    Committed,
    /// Aborted: `key` was written after the commit's read version.
    Conflict {
        key: Vec<u8>,
        kind: ConflictKind,
    },
    /// Aborted: the read version is below the GC horizon.
    TooOld {
        horizon: Version,
    },
}

impl ApplyOutcome {
    /// `Ok(version)` if committed, else the matching error.
    pub fn into_result(self, version: Version, read_version: Version) -> Result<Version> {
        match self {
            ApplyOutcome::Committed => Ok(version),
            ApplyOutcome::Conflict { key, kind } => Err(Error::Conflict { key, kind }),
            ApplyOutcome::TooOld { horizon } => Err(Error::SnapshotTooOld {
                version: read_version,
                horizon,
            }),
        }
    }
}

/// The multi-version store over an [`Engine`]. Cheap to clone.
#[derive(Clone)]
pub struct Mvcc {
    inner: Arc<Inner>,
}

/// How applies reach the disk; see the module docs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// One atomic engine batch per apply.
    AtomicApplies,
    /// Relaxed writes per apply; [`Mvcc::sync`] checkpoints; the caller
    /// applies again what came after the last checkpoint.
    Checkpointed,
}

pub(crate) struct Inner {
    engine: Arc<dyn Engine>,
    durability: Durability,
    applied: AtomicU64,
    horizon: AtomicU64,
    /// Twice the state transfers installed in this store, plus one while
    /// one is being installed (see [`Mvcc::import`]). A read that began
    /// with it odd, or during which it changed, may have seen a
    /// half-replaced store; readers check it after each read, as they
    /// re-check the horizon.
    installs: AtomicU64,
    /// The version of the last checkpoint written (checkpointed stores);
    /// held while one is written, so checkpoints never go backwards.
    checkpointed: Mutex<Version>,
    /// The latest commit records, decoded, so validation rarely reads them
    /// back from the engine.
    recent: Mutex<RecentWrites>,
    /// The newest version of recently used keys, for point reads.
    latest: Mutex<latest::LatestValues>,
    /// The metadata as of the applied version (see [`Mvcc::apply_entry`]).
    /// Changed only under the apply lock; a leaf lock (nothing else is
    /// taken while it is held).
    meta: Mutex<BTreeMap<String, Vec<u8>>>,
    apply_lock: Mutex<()>,
    gc_lock: Mutex<()>,
}

impl Inner {
    fn lock_latest(&self) -> std::sync::MutexGuard<'_, latest::LatestValues> {
        self.latest.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_meta(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.meta.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn check_horizon(&self, version: Version) -> Result<()> {
        let horizon = self.horizon.load(Ordering::Acquire);
        if version < horizon {
            return Err(Error::SnapshotTooOld { version, horizon });
        }
        Ok(())
    }

    /// The install count, to hand to [`Inner::check_read`] after a read
    /// that starts now.
    fn installs(&self) -> u64 {
        self.installs.load(Ordering::SeqCst)
    }

    /// Called *after* a read at `version` that began when the install count
    /// was `installs`: fails if GC went above `version` or a state transfer
    /// ran during the read (either may have removed what it looked for).
    fn check_read(&self, version: Version, installs: u64) -> Result<()> {
        if self.replaced_since(installs) {
            return Err(Error::StoreReplaced { version });
        }
        self.check_horizon(version)
    }

    /// Whether a state transfer ran since the install count was `installs`
    /// (or was running then).
    fn replaced_since(&self, installs: u64) -> bool {
        installs % 2 == 1 || self.installs.load(Ordering::SeqCst) != installs
    }

    /// The outcome of a read at `version` begun at install count
    /// `installs`: [`Inner::check_read`] after a success; after a failure
    /// (the engine or a decode), `StoreReplaced` if an install overlapped,
    /// since the failure may be the install's doing.
    fn read_outcome<T>(&self, read: Result<T>, version: Version, installs: u64) -> Result<T> {
        match read {
            Ok(value) => self.check_read(version, installs).map(|()| value),
            Err(_) if self.replaced_since(installs) => Err(Error::StoreReplaced { version }),
            Err(e) => Err(e),
        }
    }
}

impl Mvcc {
    /// Opens the store kept in `engine` with atomic applies, checking that
    /// its metadata agrees with its data. Refuses a checkpointed store.
    pub fn open(engine: Arc<dyn Engine>) -> Result<Self> {
        Self::open_with(engine, Durability::AtomicApplies)
    }

    /// Opens the store kept in `engine` in checkpointed mode: at its last
    /// checkpoint (or, with none yet, where it is, which it then
    /// checkpoints). The caller applies again every entry above
    /// [`Mvcc::applied`].
    pub fn open_checkpointed(engine: Arc<dyn Engine>) -> Result<Self> {
        Self::open_with(engine, Durability::Checkpointed)
    }

    fn open_with(engine: Arc<dyn Engine>, durability: Durability) -> Result<Self> {
        let read = |key: &[u8], what| -> Result<u64> {
            match engine.get(key)? {
                Some(raw) => keys::decode_u64(what, &raw),
                None => Ok(0),
            }
        };
        if engine.get(keys::INSTALLING)?.is_some() {
            tracing::warn!("a snapshot install was interrupted; resetting the state machine to empty");
            let mvcc = Self::empty(engine.clone());
            mvcc.wipe_except_install_mark()?;
            let mut batch = WriteBatch::new();
            batch.delete(keys::INSTALLING.to_vec());
            engine.write(batch)?;
            engine.sync()?;
        }
        let checkpoint = match engine.get(keys::CHECKPOINT)? {
            Some(_) if durability == Durability::AtomicApplies => {
                // Its data past the checkpoint may be partial, and nothing
                // would apply those entries again.
                return Err(Error::decode(
                    "store metadata",
                    "the store is checkpointed (a Raft node's state machine) and cannot be opened with atomic applies",
                ));
            }
            Some(raw) => {
                let header: TransferHeader =
                    postcard::from_bytes(&raw).map_err(|e| Error::decode("checkpoint", e))?;
                restore_checkpoint(engine.as_ref(), &header)?;
                Some(header.version)
            }
            None => None,
        };
        let applied = read(keys::APPLIED, "applied version")?;
        let horizon = read(keys::HORIZON, "GC horizon")?;
        if horizon > applied {
            return Err(Error::decode(
                "store metadata",
                format!("GC horizon {horizon} is above the applied version {applied}"),
            ));
        }
        // Commit records are written in the same batch as the applied
        // version, so none can be newer than it.
        if let Some(last) = engine.scan(keys::all_commits()).next_back() {
            let newest = keys::commit_version(&last?.0)?;
            if newest > applied {
                return Err(Error::decode(
                    "store metadata",
                    format!("a commit at version {newest} is stored but only {applied} is applied"),
                ));
            }
        }
        let mut meta = BTreeMap::new();
        for item in engine.scan(keys::all_meta()) {
            let (k, v) = item?;
            meta.insert(keys::meta_name(&k)?, v);
        }
        tracing::debug!(applied, horizon, ?checkpoint, ?durability, "opened MVCC store");
        let mvcc = Self::new(engine, durability, applied, horizon);
        *mvcc.inner.lock_meta() = meta;
        if durability == Durability::Checkpointed {
            match checkpoint {
                Some(version) => *mvcc.lock_checkpointed() = version,
                // Written atomically so far: where it is is consistent.
                None => mvcc.sync()?,
            }
        }
        Ok(mvcc)
    }

    fn new(engine: Arc<dyn Engine>, durability: Durability, applied: Version, horizon: Version) -> Self {
        Self {
            inner: Arc::new(Inner {
                engine,
                durability,
                applied: AtomicU64::new(applied),
                horizon: AtomicU64::new(horizon),
                installs: AtomicU64::new(0),
                checkpointed: Mutex::new(0),
                recent: Mutex::new(RecentWrites::starting_after(applied)),
                latest: Mutex::new(latest::LatestValues::new(latest::BUDGET)),
                meta: Mutex::new(BTreeMap::new()),
                apply_lock: Mutex::new(()),
                gc_lock: Mutex::new(()),
            }),
        }
    }

    fn empty(engine: Arc<dyn Engine>) -> Self {
        Self::new(engine, Durability::AtomicApplies, 0, 0)
    }

    /// Replaces the point-read cache with an empty one of `budget` bytes.
    #[cfg(test)]
    fn set_point_read_budget(&self, budget: usize) {
        *self.inner.lock_latest() = latest::LatestValues::new(budget);
    }

    fn lock_recent(&self) -> std::sync::MutexGuard<'_, RecentWrites> {
        self.inner.recent.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn lock_checkpointed(&self) -> std::sync::MutexGuard<'_, Version> {
        self.inner.checkpointed.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The version of the last checkpoint (0 for a store with atomic
    /// applies, which needs none): after a crash the store opens there.
    pub fn checkpointed(&self) -> Version {
        *self.lock_checkpointed()
    }

    /// How many handles (clones) of this store are alive. A caller that
    /// shuts a node down waits for 1 before reopening the same directory.
    pub fn handle_count(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// The highest version applied.
    pub fn applied(&self) -> Version {
        self.inner.applied.load(Ordering::Acquire)
    }

    /// The GC horizon: snapshots below it are gone.
    pub fn horizon(&self) -> Version {
        self.inner.horizon.load(Ordering::Acquire)
    }

    pub fn engine(&self) -> &Arc<dyn Engine> {
        &self.inner.engine
    }

    /// Makes everything applied so far durable: an engine sync, or for a
    /// checkpointed store a checkpoint at the applied version.
    pub fn sync(&self) -> Result<()> {
        match self.inner.durability {
            Durability::AtomicApplies => self.inner.engine.sync(),
            Durability::Checkpointed => {
                let header = {
                    let _apply = self.inner.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
                    self.header()?
                };
                self.write_checkpoint(&header)
            }
        }
    }

    /// The applied version with its horizon and metadata. The caller holds
    /// the apply lock, so the three agree.
    fn header(&self) -> Result<TransferHeader> {
        let meta = self
            .inner
            .lock_meta()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(TransferHeader {
            version: self.applied(),
            horizon: self.horizon(),
            meta,
        })
    }

    /// Records `header` as the checkpoint once everything written so far
    /// (so everything up to its version) is durable; for a header no newer
    /// than the last checkpoint it only syncs. Never called with the
    /// checkpoint lock held; may be called with the apply lock held (lock
    /// order: apply, checkpoint).
    fn write_checkpoint(&self, header: &TransferHeader) -> Result<()> {
        let engine = &self.inner.engine;
        let mut last = self.lock_checkpointed();
        if header.version <= *last && *last > 0 {
            return engine.sync();
        }
        engine.sync()?;
        let mut batch = WriteBatch::new();
        batch.put(keys::CHECKPOINT.to_vec(), encode_checkpoint(header)?);
        engine.write(batch)?;
        engine.sync()?;
        *last = header.version;
        Ok(())
    }

    /// A read view at `version`, which must be applied and not below the
    /// GC horizon.
    pub fn snapshot(&self, version: Version) -> Result<Snapshot> {
        // Counted first: a transfer that begins after this fails the
        // snapshot's first read; one that ended before it is its store.
        let installs = self.inner.installs();
        let applied = self.applied();
        if version > applied {
            return Err(Error::NotYetApplied { version, applied });
        }
        self.inner.check_read(version, installs)?;
        Ok(Snapshot {
            inner: self.inner.clone(),
            version,
            installs,
        })
    }

    /// Validates `commit` and, unless it conflicts, stores its writes at
    /// `version`. Either way `version` becomes the applied version, in the
    /// same atomic batch as the writes. See the module docs for the rules.
    pub fn apply(&self, version: Version, commit: &Commit) -> Result<ApplyOutcome> {
        match self.apply_entry(version, Entry::Commits(std::slice::from_ref(commit)), &[])? {
            EntryOutcome::Commits(mut outcomes) if outcomes.len() == 1 => Ok(outcomes.remove(0)),
            _ => Err(Error::decode(
                "apply",
                "a one-commit entry did not produce one outcome",
            )),
        }
    }

    /// Marks `version` applied without data: for log entries that carry no
    /// commit (Raft membership changes, blank leader entries).
    pub fn advance(&self, version: Version) -> Result<()> {
        self.apply_entry(version, Entry::Empty, &[]).map(|_| ())
    }

    /// Applies one log entry at `version`: the one path by which the applied
    /// version moves. `meta` (named values the embedding layer keeps with
    /// the data, such as Raft's last applied log id and membership) moves
    /// with it: written in the same atomic batch (atomic applies) or
    /// recorded with the next checkpoint (checkpointed), so after a crash
    /// the data, the applied version and the metadata always agree.
    ///
    /// A [`Entry::Gc`] raises the horizon in that batch too (clamped to the
    /// applied version), so every replica's commit decisions stay the same;
    /// the garbage itself is deleted afterwards, and leftovers from a crash
    /// are invisible to every snapshot and validation at or above the
    /// horizon.
    pub fn apply_entry(
        &self,
        version: Version,
        entry: Entry<'_>,
        meta: &[(&str, &[u8])],
    ) -> Result<EntryOutcome> {
        let _guard = self.inner.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let applied = self.applied();
        // Version 0 is the empty initial state. A log that starts at index 0
        // (openraft puts its initial membership there) may apply a data-less
        // entry at 0: the state it describes is still the empty one.
        let initial_entry = version == 0 && applied == 0 && !matches!(entry, Entry::Commits(_));
        if version <= applied && !initial_entry {
            return Err(Error::OutOfOrder { version, applied });
        }
        let mut batch = WriteBatch::new();
        if self.inner.durability == Durability::AtomicApplies {
            // A checkpointed store records its metadata in checkpoints.
            for (name, value) in meta {
                batch.put(keys::meta_key(name), value.to_vec());
            }
        }
        match entry {
            Entry::Commits(commits) => {
                // Keys written by the commits of this entry decided so far:
                // every later commit of the entry read below them.
                let mut entry_writes: HashSet<&[u8]> = HashSet::new();
                let mut written: Vec<&[u8]> = Vec::new();
                let mut values: Vec<(&[u8], Option<&[u8]>)> = Vec::new();
                let mut outcomes = Vec::with_capacity(commits.len());
                for commit in commits {
                    let mut outcome = self.validate(commit, applied)?;
                    if outcome == ApplyOutcome::Committed
                        && let Some((key, kind)) = first_conflict(commit, entry_writes.iter().copied())
                    {
                        outcome = conflict(key, kind);
                    }
                    if outcome == ApplyOutcome::Committed {
                        for (key, value) in &commit.writes {
                            batch.put(
                                keys::version_key(key, version),
                                keys::encode_value(value.as_deref()),
                            );
                            entry_writes.insert(key.as_slice());
                            written.push(key.as_slice());
                            values.push((key.as_slice(), value.as_deref()));
                        }
                    }
                    outcomes.push(outcome);
                }
                if !written.is_empty() {
                    let record =
                        postcard::to_stdvec(&written).map_err(|e| Error::decode("commit record", e))?;
                    batch.put(keys::commit_key(version), record);
                }
                let written: Vec<Vec<u8>> = written.into_iter().map(<[u8]>::to_vec).collect();
                self.write_applied(batch, version, meta, written, &values)?;
                Ok(EntryOutcome::Commits(outcomes))
            }
            Entry::Gc { horizon } => {
                let _gc = self.inner.gc_lock.lock().unwrap_or_else(|e| e.into_inner());
                let horizon = horizon.min(applied);
                let raise = horizon > self.horizon();
                if raise {
                    batch.put(keys::HORIZON.to_vec(), keys::encode_u64(horizon));
                }
                self.write_applied(batch, version, meta, vec![], &[])?;
                if raise {
                    self.inner.horizon.store(horizon, Ordering::Release);
                    if self.inner.durability == Durability::Checkpointed {
                        // No restore may go back below this horizon once
                        // garbage under it is gone (see the module docs).
                        self.write_checkpoint(&self.header()?)?;
                    }
                    self.collect_garbage(horizon)?;
                }
                Ok(EntryOutcome::Done)
            }
            Entry::Empty => {
                self.write_applied(batch, version, meta, vec![], &[])?;
                Ok(EntryOutcome::Done)
            }
        }
    }

    /// A value written with [`Mvcc::apply_entry`]'s `meta`, as of the
    /// applied version.
    pub fn meta(&self, name: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.inner.lock_meta().get(name).cloned())
    }

    /// Writes an entry's `batch` (with the new applied version when applies
    /// are atomic), records its `meta`, then makes the entry's `written`
    /// keys known to validation and its `values` to point reads, then
    /// publishes the version: anyone who sees it applied finds its writes
    /// in memory too.
    fn write_applied(
        &self,
        mut batch: WriteBatch,
        version: Version,
        meta: &[(&str, &[u8])],
        written: Vec<Vec<u8>>,
        values: &[(&[u8], Option<&[u8]>)],
    ) -> Result<()> {
        match self.inner.durability {
            Durability::AtomicApplies => {
                batch.put(keys::APPLIED.to_vec(), keys::encode_u64(version));
                self.inner.engine.write(batch)?
            }
            // The applied version and metadata reach the disk with the
            // next checkpoint; until then a restart goes back to the last.
            Durability::Checkpointed => self.inner.engine.write_relaxed(batch)?,
        }
        if !meta.is_empty() {
            let mut current = self.inner.lock_meta();
            for (name, value) in meta {
                current.insert((*name).to_owned(), value.to_vec());
            }
        }
        self.lock_recent().record(version, written);
        // Published under the point-read cache's lock (see `latest`).
        let mut latest = self.inner.lock_latest();
        for (key, value) in values {
            latest.applied(key, version, *value);
        }
        self.inner.applied.store(version, Ordering::Release);
        Ok(())
    }

    /// Checks a transaction that wrote nothing: would its reads at
    /// `commit.read_version` have been the same at `through`? `Committed`
    /// when none of the commits applied in `(read_version, through]` wrote
    /// into its read set, so its reads stand as if made at `through`.
    /// `through` must already be applied here. Takes no lock: commit
    /// records below the applied version never change, except that GC may
    /// drop them, which the horizon re-check after the scan catches, and a
    /// state transfer may replace them, which the install count catches.
    pub fn confirm_reads(&self, commit: &Commit, through: Version) -> Result<ApplyOutcome> {
        let installs = self.inner.installs();
        let applied = self.applied();
        if through > applied {
            return Err(Error::decode(
                "confirm",
                format!("version {through} is above the applied version {applied}"),
            ));
        }
        let outcome = self.validate(commit, through)?;
        match self.inner.check_read(commit.read_version, installs) {
            Ok(()) => Ok(outcome),
            Err(Error::SnapshotTooOld { horizon, .. }) => Ok(ApplyOutcome::TooOld { horizon }),
            Err(e) => Err(e),
        }
    }

    fn validate(&self, commit: &Commit, applied: Version) -> Result<ApplyOutcome> {
        let horizon = self.horizon();
        if commit.read_version < horizon {
            return Ok(ApplyOutcome::TooOld { horizon });
        }
        if commit.read_version > applied {
            return Err(Error::decode(
                "commit",
                format!(
                    "read version {} is above the applied version {applied}",
                    commit.read_version
                ),
            ));
        }
        if commit.read_version == applied {
            return Ok(ApplyOutcome::Committed);
        }
        {
            let recent = self.lock_recent();
            if let Some(written) = recent.between(commit.read_version, applied) {
                return Ok(match first_conflict(commit, written) {
                    Some((key, kind)) => conflict(key, kind),
                    None => ApplyOutcome::Committed,
                });
            }
        }
        let mut records = Vec::new();
        for record in self
            .inner
            .engine
            .scan(keys::commit_range(commit.read_version + 1, applied))
        {
            records.push(record?.1);
        }
        let mut written = Vec::new();
        for raw in &records {
            let keys: Vec<&[u8]> =
                postcard::from_bytes(raw).map_err(|e| Error::decode("commit record", e))?;
            written.extend(keys);
        }
        Ok(match first_conflict(commit, written.into_iter()) {
            Some((key, kind)) => conflict(key, kind),
            None => ApplyOutcome::Committed,
        })
    }

    /// Garbage-collects versions no snapshot at or above `horizon` can see
    /// (see module docs), outside the log: for a single node. A cluster
    /// applies [`Entry::Gc`] instead. `horizon` must not exceed the applied
    /// version; one at or below the current horizon does nothing. Returns
    /// the number of engine keys removed.
    pub fn gc(&self, horizon: Version) -> Result<u64> {
        let apply = self.inner.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let _gc = self.inner.gc_lock.lock().unwrap_or_else(|e| e.into_inner());
        let applied = self.applied();
        if horizon > applied {
            return Err(Error::NotYetApplied {
                version: horizon,
                applied,
            });
        }
        if horizon <= self.horizon() {
            return Ok(0);
        }
        // Raise the horizon first, durably and in memory, so any reader that
        // might observe a deletion below fails its horizon re-check.
        let mut batch = WriteBatch::new();
        batch.put(keys::HORIZON.to_vec(), keys::encode_u64(horizon));
        self.inner.engine.write(batch)?;
        self.inner.horizon.store(horizon, Ordering::Release);
        if self.inner.durability == Durability::Checkpointed {
            // As for a GC entry: no restore below a horizon whose garbage is gone.
            self.write_checkpoint(&self.header()?)?;
        }
        drop(apply);
        self.collect_garbage(horizon)
    }

    /// Deletes what no snapshot at or above `horizon` (already raised) can
    /// see. Caller holds the GC lock.
    fn collect_garbage(&self, horizon: Version) -> Result<u64> {
        const CHUNK: usize = 1024;
        self.lock_recent().forget_below(horizon.saturating_add(1));
        let engine = &self.inner.engine;
        let mut removed = 0u64;
        let mut batch = WriteBatch::new();
        let mut flush = |batch: &mut WriteBatch, force: bool| -> Result<()> {
            if batch.len() >= CHUNK || (force && !batch.is_empty()) {
                removed += batch.len() as u64;
                engine.write(std::mem::take(batch))?;
            }
            Ok(())
        };
        let all = keys::version_range(&(Bound::Unbounded, Bound::Unbounded));
        let mut kept_for: Option<Vec<u8>> = None; // key whose newest version <= horizon we passed
        // A key's newest version at or below the horizon, if a tombstone,
        // goes too, but only after every older version of that key: the
        // deletes land in several batches, and a tombstone deleted first
        // would let a reader (or a crash between batches) see the value it
        // deleted again. Versions come newest first.
        let mut tombstone: Option<Vec<u8>> = None;
        for item in engine.scan(all) {
            let (raw_key, raw_value) = item?;
            let (prefix, version) = keys::split_version_key(&raw_key)?;
            if version > horizon {
                continue;
            }
            if kept_for.as_deref() == Some(prefix) {
                batch.delete(raw_key);
            } else {
                kept_for = Some(prefix.to_vec());
                if let Some(previous) = tombstone.take() {
                    batch.delete(previous);
                }
                if keys::decode_value(&raw_value)?.is_none() {
                    tombstone = Some(raw_key); // a tombstone nobody can see past
                }
            }
            flush(&mut batch, false)?;
        }
        if let Some(last) = tombstone {
            batch.delete(last);
        }
        for item in engine.scan(keys::commit_range(0, horizon)) {
            batch.delete(item?.0);
            flush(&mut batch, false)?;
        }
        flush(&mut batch, true)?;
        tracing::debug!(horizon, removed, "garbage-collected old versions");
        Ok(removed)
    }
}

/// How many versions [`RecentWrites`] covers at most.
const RECENT_VERSIONS: u64 = 2048;

/// The write sets of the commit records of the latest versions, in memory:
/// what validation reads for a commit that read a recent version, instead
/// of scanning and decoding the records in the engine. It covers *every*
/// version from `from` up to the applied version (a version with no entry
/// here has no record), so an answer from it is complete; anything older
/// is read from the engine. Filled by apply (after the engine write),
/// trimmed to [`RECENT_VERSIONS`] and by GC, reset by a state transfer.
struct RecentWrites {
    from: Version,
    records: std::collections::BTreeMap<Version, Vec<Vec<u8>>>,
}

impl RecentWrites {
    fn starting_after(applied: Version) -> Self {
        Self {
            from: applied.saturating_add(1),
            records: Default::default(),
        }
    }

    fn record(&mut self, version: Version, written: Vec<Vec<u8>>) {
        if !written.is_empty() {
            self.records.insert(version, written);
        }
        self.forget_below(version.saturating_sub(RECENT_VERSIONS - 1));
    }

    /// Drops what is below `version` (no longer covered).
    fn forget_below(&mut self, version: Version) {
        while self.records.first_key_value().is_some_and(|(&v, _)| v < version) {
            self.records.pop_first();
        }
        self.from = self.from.max(version);
    }

    /// The keys written in `(after, through]`, if all of it is covered.
    fn between(&self, after: Version, through: Version) -> Option<impl Iterator<Item = &[u8]>> {
        (after.saturating_add(1) >= self.from).then(|| {
            self.records
                .range(after.saturating_add(1)..=through)
                .flat_map(|(_, keys)| keys.iter().map(Vec::as_slice))
        })
    }
}

/// The checkpoint record's value.
fn encode_checkpoint(header: &TransferHeader) -> Result<Vec<u8>> {
    postcard::to_stdvec(header).map_err(|e| Error::decode("checkpoint", e))
}

/// Puts the store back at `checkpoint` (see the module docs): its applied
/// version, horizon and metadata (metadata not in it is dropped), and no
/// commit record above it. One atomic batch, so a crash during it changes
/// nothing.
fn restore_checkpoint(engine: &dyn Engine, checkpoint: &TransferHeader) -> Result<()> {
    let mut batch = WriteBatch::new();
    for item in engine.scan(keys::all_meta()) {
        batch.delete(item?.0);
    }
    for (name, value) in &checkpoint.meta {
        batch.put(keys::meta_key(name), value.clone());
    }
    if let Some(after) = checkpoint.version.checked_add(1) {
        for item in engine.scan(keys::commit_range(after, Version::MAX)) {
            batch.delete(item?.0);
        }
    }
    batch.put(keys::APPLIED.to_vec(), keys::encode_u64(checkpoint.version));
    batch.put(keys::HORIZON.to_vec(), keys::encode_u64(checkpoint.horizon));
    engine.write(batch)?;
    tracing::info!(
        version = checkpoint.version,
        "opened the state machine at its last checkpoint; later entries are applied again"
    );
    Ok(())
}

/// One log entry as the store sees it; see [`Mvcc::apply_entry`].
#[derive(Clone, Copy, Debug)]
pub enum Entry<'a> {
    /// Transactions' commits, each validated (also against the commits
    /// before it in the list) and then stored at the entry's version or
    /// aborted. Several commits share an entry when the committer batches
    /// them; they serialise in list order.
    Commits(&'a [Commit]),
    /// Raise the GC horizon (a retention decision made by the leader).
    Gc { horizon: Version },
    /// Nothing but the version (and metadata): membership, blank entries.
    Empty,
}

/// What [`Mvcc::apply_entry`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryOutcome {
    /// One outcome per commit, in order.
    Commits(Vec<ApplyOutcome>),
    Done,
}

/// What [`Mvcc::verify`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    pub applied: Version,
    pub horizon: Version,
    /// Stored versions of keys (values and tombstones).
    pub versions: u64,
    /// The newest version any key or commit record carries.
    pub newest_version: Version,
}

impl Mvcc {
    /// Reads the whole store and checks its invariants: every stored version
    /// decodes, is at or below the applied version, and (above the GC
    /// horizon) belongs to a commit record that lists its key. Slow: for
    /// tests and operators, not for the request path. Holds the apply and
    /// GC locks throughout, so no apply, GC or state-transfer install runs
    /// under it.
    pub fn verify(&self) -> Result<VerifyReport> {
        let _apply = self.inner.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
        let _gc = self.inner.gc_lock.lock().unwrap_or_else(|e| e.into_inner());
        let engine = &self.inner.engine;
        let corrupt = |detail: String| Error::decode("store", detail);
        let mut report = VerifyReport {
            applied: self.applied(),
            horizon: self.horizon(),
            ..Default::default()
        };
        let mut records = std::collections::BTreeMap::new();
        for item in engine.scan(keys::all_commits()) {
            let (raw_key, raw_value) = item?;
            let version = keys::commit_version(&raw_key)?;
            let written: Vec<Vec<u8>> =
                postcard::from_bytes(&raw_value).map_err(|e| Error::decode("commit record", e))?;
            records.insert(version, written.into_iter().collect::<HashSet<_>>());
        }
        for item in engine.scan(keys::version_range(&(Bound::Unbounded, Bound::Unbounded))) {
            let (raw_key, raw_value) = item?;
            let (prefix, version) = keys::split_version_key(&raw_key)?;
            let key = keys::user_key(prefix)?;
            keys::decode_value(&raw_value)?;
            report.versions += 1;
            report.newest_version = report.newest_version.max(version);
            if version > report.applied {
                return Err(corrupt(format!(
                    "key {} has version {version} above the applied version {}",
                    crate::display_key(&key),
                    report.applied
                )));
            }
            if version > report.horizon && !records.get(&version).is_some_and(|r| r.contains(&key)) {
                return Err(corrupt(format!(
                    "key {} at version {version} has no commit record",
                    crate::display_key(&key)
                )));
            }
        }
        if let Some((&newest, _)) = records.last_key_value() {
            report.newest_version = report.newest_version.max(newest);
        }
        if report.newest_version > report.applied {
            return Err(corrupt(format!(
                "commit record {} is above the applied version {}",
                report.newest_version, report.applied
            )));
        }
        Ok(report)
    }
}

/// The first of `written` (keys changed after `commit`'s snapshot) that
/// conflicts with `commit`: in its write set (write-write), or under
/// SERIALIZABLE among its read keys or inside a read range (read-write).
fn first_conflict<'k>(
    commit: &Commit,
    written: impl Iterator<Item = &'k [u8]>,
) -> Option<(&'k [u8], ConflictKind)> {
    // fault-injection hook: test builds only, see crate::fault.
    if crate::fault::enabled(crate::fault::Switch::SkipValidation) {
        return None;
    }
    let mut written = written.peekable();
    written.peek()?;
    let writes: HashSet<&[u8]> = commit.writes.iter().map(|(k, _)| k.as_slice()).collect();
    let serializable = commit.isolation == Isolation::Serializable;
    let read_keys: HashSet<&[u8]> = if serializable {
        commit.read_keys.iter().map(Vec::as_slice).collect()
    } else {
        HashSet::new()
    };
    let read_ranges = if serializable {
        ReadRanges::new(&commit.read_ranges)
    } else {
        ReadRanges::default()
    };
    for key in written {
        if writes.contains(key) {
            return Some((key, ConflictKind::WriteWrite));
        }
        if read_keys.contains(key) || read_ranges.contains(key) {
            return Some((key, ConflictKind::ReadWrite));
        }
    }
    None
}

fn conflict(key: &[u8], kind: ConflictKind) -> ApplyOutcome {
    ApplyOutcome::Conflict {
        key: key.to_vec(),
        kind,
    }
}

type RangeRef<'a> = (Bound<&'a [u8]>, Bound<&'a [u8]>);

/// A read set's ranges, sorted by start, for membership tests.
#[derive(Default)]
struct ReadRanges<'a> {
    ranges: Vec<RangeRef<'a>>,
}

impl<'a> ReadRanges<'a> {
    fn new(ranges: &'a [KeyRange]) -> Self {
        let mut ranges: Vec<_> = ranges.iter().map(|(s, e)| (bound_ref(s), bound_ref(e))).collect();
        ranges.sort_by(|a, b| cmp_start(&a.0, &b.0));
        Self { ranges }
    }

    fn contains(&self, key: &[u8]) -> bool {
        // Ranges whose start is at or below `key` are a prefix of the sorted
        // list; any of them may still cover it (they may nest or overlap).
        let n = self.ranges.partition_point(|(start, _)| match start {
            Bound::Unbounded => true,
            Bound::Included(s) => *s <= key,
            Bound::Excluded(s) => *s < key,
        });
        self.ranges[..n].iter().any(|(_, end)| match end {
            Bound::Unbounded => true,
            Bound::Included(e) => key <= *e,
            Bound::Excluded(e) => key < *e,
        })
    }
}

fn bound_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

fn cmp_start(a: &Bound<&[u8]>, b: &Bound<&[u8]>) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (Bound::Unbounded, Bound::Unbounded) => Equal,
        (Bound::Unbounded, _) => Less,
        (_, Bound::Unbounded) => Greater,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => x
            .cmp(y)
            .then(matches!(a, Bound::Excluded(_)).cmp(&matches!(b, Bound::Excluded(_)))),
    }
}

/// A consistent read view at one version. Takes no locks; cheap to clone.
#[derive(Clone)]
pub struct Snapshot {
    inner: Arc<Inner>,
    version: Version,
    /// [`Inner::installs`] when the snapshot was taken.
    installs: u64,
}

impl Snapshot {
    pub fn version(&self) -> Version {
        self.version
    }

    /// The value of `key` at this snapshot: from the cache of newest
    /// versions if it answers (see [`latest`]), else from the engine, which
    /// then fills the cache.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let (generation, applied) = {
            let cache = self.inner.lock_latest();
            match cache.lookup(key, self.version) {
                latest::Lookup::Hit(value) => {
                    drop(cache);
                    self.inner.check_read(self.version, self.installs)?;
                    return Ok(value);
                }
                // Read together with the generation (see `latest`).
                latest::Lookup::Miss { generation } => {
                    (generation, self.inner.applied.load(Ordering::Acquire))
                }
            }
        };
        let value = self.get_uncached(key, generation, applied);
        self.inner.read_outcome(value, self.version, self.installs)
    }

    /// [`Snapshot::get`] past the cache: the engine, then filling the cache
    /// (`generation` and `applied` read together from it on the miss).
    fn get_uncached(&self, key: &[u8], generation: u64, applied: Version) -> Result<Option<Vec<u8>>> {
        Ok(if applied >= self.version {
            let (newest, value) = self.newest_at(key, applied)?;
            // Keys never written are not cached (an INSERT's existence
            // check of a new key ends here, without taking the lock again).
            if newest != 0 {
                self.inner
                    .lock_latest()
                    .fill(generation, key, newest, value.clone());
            }
            if newest <= self.version {
                value
            } else {
                self.newest_at(key, self.version)?.1
            }
        } else {
            self.newest_at(key, self.version)?.1
        })
    }

    /// The newest version of `key` at or below `version` (0 if none) and
    /// its value, from the engine.
    fn newest_at(&self, key: &[u8], version: Version) -> Result<(Version, Option<Vec<u8>>)> {
        let newest = self
            .inner
            .engine
            .scan(keys::versions_at_or_below(key, version))
            .next()
            .transpose()?;
        match newest {
            Some((raw_key, raw)) => Ok((
                keys::split_version_key(&raw_key)?.1,
                keys::decode_value(&raw)?.map(<[u8]>::to_vec),
            )),
            None => Ok((0, None)),
        }
    }

    /// [`Mvcc::confirm_reads`] on this snapshot's store.
    pub fn confirm_reads(&self, commit: &Commit, through: Version) -> Result<ApplyOutcome> {
        Mvcc {
            inner: self.inner.clone(),
        }
        .confirm_reads(commit, through)
    }

    /// The visible pairs of `range`, in key order or reverse key order.
    pub fn scan(&self, range: &KeyRange, order: ScanOrder) -> VisibleScan {
        VisibleScan::new(
            self.inner.clone(),
            keys::version_range(range),
            (self.version, self.installs),
            order,
        )
    }
}

#[cfg(test)]
mod checkpoint_tests;
#[cfg(test)]
mod tests;
