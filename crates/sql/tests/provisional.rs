//! SQL over a node that lags: single-statement transactions first start at
//! a provisional version that misses the latest acknowledged commits (as on
//! a follower that has not applied them yet). Nothing a client sees may
//! rest on such a stale read: rows are confirmed at commit, an error found
//! in stale data is confirmed too, and when the confirmation fails the
//! statement is retried at a linearizable version, so the client sees the
//! current answer. Explicit transactions start linearizably.

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
fn a_unique_violation_seen_only_in_stale_data_is_not_reported() {
    let (kv, lag) = store();
    let mut s = Session::new(kv.clone());
    s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)").unwrap();
    catch_up(&kv, &lag);
    s.execute("INSERT INTO t VALUES (1)").unwrap();
    catch_up(&kv, &lag);
    s.execute("DELETE FROM t WHERE id = 1").unwrap(); // acknowledged; this node lags
    // The provisional attempt finds id 1 (stale), fails to confirm that, and
    // the retry at a linearizable version inserts.
    s.execute("INSERT INTO t VALUES (1)").unwrap();
    let rows = s.execute("SELECT count(*) FROM t").unwrap().remove(0).rows;
    assert_eq!(rows, vec![vec![Value::Int(1)]]);
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
    // Still lagging: the provisional attempt reads v = 1, fails to confirm,
    // and the retry reads the current row.
    let rows = s.execute("SELECT v FROM t WHERE id = 1").unwrap().remove(0).rows;
    assert_eq!(rows, vec![vec![Value::Int(2)]]);
}

#[test]
fn explicit_transactions_start_linearizably() {
    let (kv, lag) = store();
    let mut s = Session::new(kv.clone());
    s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO t VALUES (1, 1)")
        .unwrap();
    catch_up(&kv, &lag);
    s.execute("UPDATE t SET v = 2 WHERE id = 1").unwrap();
    s.execute("BEGIN").unwrap();
    let rows = s.execute("SELECT v FROM t WHERE id = 1").unwrap().remove(0).rows;
    assert_eq!(rows, vec![vec![Value::Int(2)]]);
    s.execute("COMMIT").unwrap();
}
