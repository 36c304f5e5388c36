//! SQL over a node that lags: transactions start at a provisional version
//! that misses the latest acknowledged commits (as on a follower that has
//! not applied them yet). Nothing a client sees may rest on such a stale
//! read unless it is confirmed: rows are confirmed at commit, and an error
//! found in stale data becomes a serialization failure (40001) instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quorumdb_sql::{Session, Value};
use quorumdb_storage::{Commit, Committer, KvStore, LocalCommitter, MemoryEngine, Mvcc, Result, Version};

/// Provisional version pinned by the test; everything else up to date.
struct Lagging {
    inner: LocalCommitter,
    pinned: AtomicU64,
}

impl Committer for Lagging {
    fn read_version(&self) -> Result<Version> {
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
    let lag = Arc::new(Lagging {
        inner: LocalCommitter::new(mvcc.clone()),
        pinned: AtomicU64::new(0),
    });
    (KvStore::new(mvcc.clone(), lag.clone()), lag)
}

/// Lets the provisional version catch up with everything applied.
fn catch_up(kv: &KvStore, lag: &Lagging) {
    lag.pinned.store(kv.mvcc().applied(), Ordering::SeqCst);
}

#[test]
fn a_unique_violation_seen_only_in_stale_data_is_a_serialization_failure() {
    let (kv, lag) = store();
    let mut s = Session::new(kv.clone());
    s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)").unwrap();
    catch_up(&kv, &lag);
    s.execute("INSERT INTO t VALUES (1)").unwrap();
    catch_up(&kv, &lag);
    s.execute("DELETE FROM t WHERE id = 1").unwrap(); // acknowledged; this node lags
    let err = s.execute("INSERT INTO t VALUES (1)").unwrap_err();
    assert_eq!(err.code, "40001", "{err:?}");
    // Once the node has caught up, the same statement succeeds.
    catch_up(&kv, &lag);
    s.execute("INSERT INTO t VALUES (1)").unwrap();
}

#[test]
fn a_real_unique_violation_is_still_23505() {
    let (kv, lag) = store();
    let mut s = Session::new(kv.clone());
    s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)").unwrap();
    catch_up(&kv, &lag);
    s.execute("INSERT INTO t VALUES (1)").unwrap();
    catch_up(&kv, &lag);
    s.execute("INSERT INTO t VALUES (2)").unwrap(); // newer, unrelated
    let err = s.execute("INSERT INTO t VALUES (1)").unwrap_err();
    assert_eq!(err.code, "23505", "{err:?}");
}

#[test]
fn stale_rows_are_never_returned_by_an_autocommit_select() {
    let (kv, lag) = store();
    let mut s = Session::new(kv.clone());
    s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO t VALUES (1, 1)")
        .unwrap();
    catch_up(&kv, &lag);
    s.execute("UPDATE t SET v = 2 WHERE id = 1").unwrap();
    // Stuck behind: every attempt reads v = 1 and fails to confirm.
    let err = s.execute("SELECT v FROM t WHERE id = 1").unwrap_err();
    assert_eq!(err.code, "40001", "{err:?}");
    catch_up(&kv, &lag);
    let rows = s.execute("SELECT v FROM t WHERE id = 1").unwrap().remove(0).rows;
    assert_eq!(rows, vec![vec![Value::Int(2)]]);
}

#[test]
fn an_explicit_read_only_transaction_on_stale_data_fails_at_commit() {
    let (kv, lag) = store();
    let mut s = Session::new(kv.clone());
    s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO t VALUES (1, 1)")
        .unwrap();
    catch_up(&kv, &lag);
    s.execute("UPDATE t SET v = 2 WHERE id = 1").unwrap();
    s.execute("BEGIN").unwrap();
    s.execute("SELECT v FROM t WHERE id = 1").unwrap();
    let err = s.execute("COMMIT").unwrap_err();
    assert_eq!(err.code, "40001", "{err:?}");
}
