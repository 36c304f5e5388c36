//! Committers turn a transaction's [`Commit`] into an applied version, and
//! hand out the version new transactions read at.
//!
//! The SQL layer talks to [`KvStore`] and never knows which committer sits
//! behind it. [`LocalCommitter`] serves a single node: it assigns the next
//! version, applies, and syncs before acknowledging. The Raft layer provides
//! another committer (propose the commit as a log entry, wait until it is
//! applied) without the SQL layer changing.
//!
//! Local durability rule: a commit is acknowledged only after an engine sync
//! that covers it, and new transactions read at the highest *synced* version,
//! so nobody ever sees data that a crash could take back. Syncs are grouped:
//! one sync covers every commit applied before it started.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::engine::Engine;
use crate::error::Result;
use crate::mvcc::{Commit, Isolation, Mvcc, Version};
use crate::txn::{Transaction, TxnOptions};

/// Decides versions and makes commits durable. See the module docs.
pub trait Committer: Send + Sync {
    /// A version at which a new transaction may read: every commit
    /// acknowledged before this call is visible at it, and it is applied
    /// locally when this returns.
    fn read_version(&self) -> Result<Version>;

    /// A version already applied locally at which a SERIALIZABLE read-write
    /// transaction may start *without coordination*, when that is cheaper
    /// than [`Committer::read_version`]. It may miss commits acknowledged
    /// elsewhere, so such a transaction is *provisional*: if it writes, the
    /// validation of its commit covers its reads (they are checked against
    /// every commit between this version and its own); if it writes
    /// nothing, [`crate::Transaction::commit`] confirms its reads against a
    /// fresh [`Committer::read_version`]. `None` (the default): always start
    /// at `read_version`.
    fn provisional_version(&self) -> Option<Version> {
        None
    }

    /// Applies `commit` durably. `Ok(version)` once committed; a conflict
    /// is [`crate::Error::Conflict`]; [`crate::Error::OutcomeUnknown`] when
    /// the caller cannot know whether it applied.
    fn commit(&self, commit: Commit) -> Result<Version>;
}

/// The committer of a single-node store.
pub struct LocalCommitter {
    mvcc: Mvcc,
    apply_lock: Mutex<()>,
    sync_lock: Mutex<()>,
    durable: AtomicU64,
}

impl LocalCommitter {
    pub fn new(mvcc: Mvcc) -> Self {
        let durable = AtomicU64::new(mvcc.applied());
        Self {
            mvcc,
            apply_lock: Mutex::new(()),
            sync_lock: Mutex::new(()),
            durable,
        }
    }

    /// Group commit: returns once a sync covering `version` has finished.
    fn sync_through(&self, version: Version) -> Result<()> {
        if self.durable.load(Ordering::Acquire) >= version {
            return Ok(());
        }
        let _guard = self.sync_lock.lock().unwrap_or_else(|e| e.into_inner());
        if self.durable.load(Ordering::Acquire) >= version {
            return Ok(()); // someone else's sync covered us while we waited
        }
        let target = self.mvcc.applied();
        self.mvcc.sync()?;
        self.durable.fetch_max(target, Ordering::AcqRel);
        Ok(())
    }
}

impl Committer for LocalCommitter {
    fn read_version(&self) -> Result<Version> {
        Ok(self.durable.load(Ordering::Acquire))
    }

    fn commit(&self, commit: Commit) -> Result<Version> {
        let (version, outcome) = {
            let _guard = self.apply_lock.lock().unwrap_or_else(|e| e.into_inner());
            let version = self.mvcc.applied() + 1;
            (version, self.mvcc.apply(version, &commit)?)
        };
        let committed = outcome.into_result(version, commit.read_version)?;
        self.sync_through(committed)?;
        Ok(committed)
    }
}

/// What the SQL layer holds: an MVCC store plus a committer.
#[derive(Clone)]
pub struct KvStore {
    mvcc: Mvcc,
    committer: Arc<dyn Committer>,
}

impl KvStore {
    pub fn new(mvcc: Mvcc, committer: Arc<dyn Committer>) -> Self {
        Self { mvcc, committer }
    }

    /// A single-node store over `engine` with a [`LocalCommitter`].
    pub fn local(engine: Arc<dyn Engine>) -> Result<Self> {
        let mvcc = Mvcc::open(engine)?;
        let committer = Arc::new(LocalCommitter::new(mvcc.clone()));
        Ok(Self { mvcc, committer })
    }

    pub fn mvcc(&self) -> &Mvcc {
        &self.mvcc
    }

    /// Starts a read-only transaction at the committer's provisional version
    /// (else its read version) whose reads are *never* confirmed: they may
    /// miss recent commits. For work that only needs a recent view, such as
    /// describing a statement from the catalog, never for answering queries.
    pub fn begin_unconfirmed(&self, mut options: TxnOptions) -> Result<Transaction> {
        options.read_only = true;
        let version = match self.committer.provisional_version() {
            Some(version) => version,
            None => self.committer.read_version()?,
        };
        let snapshot = self.mvcc.snapshot(version)?;
        Ok(Transaction::new(snapshot, self.committer.clone(), options, false))
    }

    /// Starts a transaction at the committer's linearizable read version.
    pub fn begin(&self, options: TxnOptions) -> Result<Transaction> {
        let snapshot = self.mvcc.snapshot(self.committer.read_version()?)?;
        Ok(Transaction::new(snapshot, self.committer.clone(), options, false))
    }

    /// Starts a transaction that may be *provisional*: a SERIALIZABLE
    /// read-write transaction starts at the committer's provisional version
    /// when it offers one (its reads are validated at commit, see
    /// [`Committer::provisional_version`]); any other like [`KvStore::begin`].
    ///
    /// Meant for work that is retried when its reads fail to confirm (the
    /// SQL layer's single-statement transactions): a provisional transaction
    /// that read a key written after its start version, even by a commit
    /// that finished while it ran, fails with a conflict. Long reads under
    /// concurrent writes therefore belong in [`KvStore::begin`].
    pub fn begin_provisional(&self, options: TxnOptions) -> Result<Transaction> {
        let validated = options.isolation == Isolation::Serializable && !options.read_only;
        match self.committer.provisional_version().filter(|_| validated) {
            Some(version) => {
                let snapshot = self.mvcc.snapshot(version)?;
                Ok(Transaction::new(snapshot, self.committer.clone(), options, true))
            }
            None => self.begin(options),
        }
    }
}
