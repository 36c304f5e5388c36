//! Provisional transactions: started at a version that may miss recent
//! commits (a follower's applied version), and made safe by validation.
//!
//! The committer here hands out a *pinned* provisional version, standing in
//! for a node that has not applied the latest commits yet, while commits and
//! read versions are those of an up-to-date single node.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quorumdb_storage::{
    Commit, Committer, Error, Isolation, KvStore, LocalCommitter, MemoryEngine, Mvcc, Result, TxnOptions,
    Version,
};

/// A [`LocalCommitter`] whose provisional version lags: it stays where
/// [`Lagging::pin`] put it.
struct Lagging {
    inner: LocalCommitter,
    pinned: AtomicU64,
    read_versions: AtomicU64,
}

impl Committer for Lagging {
    fn read_version(&self) -> Result<Version> {
        self.read_versions.fetch_add(1, Ordering::SeqCst);
        self.inner.read_version()
    }

    fn provisional_version(&self) -> Option<Version> {
        Some(self.pinned.load(Ordering::SeqCst))
    }

    fn commit(&self, commit: Commit) -> Result<Version> {
        self.inner.commit(commit)
    }
}

fn store() -> (KvStore, Arc<Lagging>) {
    let mvcc = Mvcc::open(Arc::new(MemoryEngine::new())).unwrap();
    let committer = Arc::new(Lagging {
        inner: LocalCommitter::new(mvcc.clone()),
        pinned: AtomicU64::new(0),
        read_versions: AtomicU64::new(0),
    });
    (KvStore::new(mvcc, committer.clone()), committer)
}

fn write(store: &KvStore, key: &str, value: &str) -> Version {
    let mut txn = store.begin(TxnOptions::default()).unwrap();
    txn.set(key.as_bytes().to_vec(), value.as_bytes().to_vec())
        .unwrap();
    txn.commit().unwrap().unwrap()
}

#[test]
fn serializable_read_write_transactions_start_without_a_read_version() {
    let (store, lag) = store();
    let txn = store.begin_provisional(TxnOptions::default()).unwrap();
    assert!(txn.is_provisional());
    assert_eq!(lag.read_versions.load(Ordering::SeqCst), 0);
    // Snapshot isolation and READ ONLY do not validate reads: they start at
    // a linearizable read version.
    for options in [
        TxnOptions {
            isolation: Isolation::Snapshot,
            read_only: false,
        },
        TxnOptions {
            isolation: Isolation::Serializable,
            read_only: true,
        },
    ] {
        assert!(!store.begin_provisional(options).unwrap().is_provisional());
    }
    assert_eq!(lag.read_versions.load(Ordering::SeqCst), 2);
    // Plain `begin` is always linearizable.
    assert!(!store.begin(TxnOptions::default()).unwrap().is_provisional());
    assert_eq!(lag.read_versions.load(Ordering::SeqCst), 3);
}

#[test]
fn a_stale_read_only_transaction_fails_to_confirm() {
    let (store, lag) = store();
    write(&store, "k", "old");
    lag.pinned.store(1, Ordering::SeqCst);
    write(&store, "k", "new"); // acknowledged, but not at the pinned version
    let mut txn = store.begin_provisional(TxnOptions::default()).unwrap();
    assert_eq!(txn.get(b"k").unwrap(), Some(b"old".to_vec()));
    match txn.commit() {
        Err(Error::Conflict { key, .. }) => assert_eq!(key, b"k"),
        other => panic!("a stale read was confirmed: {other:?}"),
    }
}

#[test]
fn a_read_only_transaction_whose_reads_still_hold_is_confirmed() {
    let (store, lag) = store();
    write(&store, "k", "v");
    lag.pinned.store(1, Ordering::SeqCst);
    write(&store, "other", "x"); // newer, but outside the read set
    let mut txn = store.begin_provisional(TxnOptions::default()).unwrap();
    assert_eq!(txn.get(b"k").unwrap(), Some(b"v".to_vec()));
    let before = lag.read_versions.load(Ordering::SeqCst);
    assert_eq!(txn.commit().unwrap(), None);
    assert_eq!(
        lag.read_versions.load(Ordering::SeqCst),
        before + 1,
        "confirming takes a read version"
    );
}

#[test]
fn a_stale_range_read_is_caught_too() {
    let (store, lag) = store();
    write(&store, "a1", "x");
    lag.pinned.store(1, Ordering::SeqCst);
    write(&store, "a2", "y"); // a phantom for a scan at version 1
    let mut txn = store.begin_provisional(TxnOptions::default()).unwrap();
    let seen: Vec<_> = txn
        .scan_prefix(b"a", quorumdb_storage::ScanOrder::Forward)
        .collect::<Result<_>>()
        .unwrap();
    assert_eq!(seen.len(), 1);
    assert!(matches!(txn.confirm_reads(), Err(Error::Conflict { .. })));
}

#[test]
fn a_stale_read_write_transaction_is_rejected_by_commit_validation() {
    let (store, lag) = store();
    write(&store, "balance", "100");
    lag.pinned.store(1, Ordering::SeqCst);
    write(&store, "balance", "50");
    let mut txn = store.begin_provisional(TxnOptions::default()).unwrap();
    assert_eq!(txn.get(b"balance").unwrap(), Some(b"100".to_vec()));
    txn.set(b"balance".to_vec(), b"90".to_vec()).unwrap();
    assert!(matches!(txn.commit(), Err(Error::Conflict { .. })));
    // Nothing was lost: the acknowledged write stands.
    lag.pinned.store(store.mvcc().applied(), Ordering::SeqCst);
    let mut check = store.begin_provisional(TxnOptions::default()).unwrap();
    assert_eq!(check.get(b"balance").unwrap(), Some(b"50".to_vec()));
}

#[test]
fn nothing_read_nothing_to_confirm() {
    let (store, lag) = store();
    let txn = store.begin_provisional(TxnOptions::default()).unwrap();
    txn.commit().unwrap();
    assert_eq!(lag.read_versions.load(Ordering::SeqCst), 0);
}
