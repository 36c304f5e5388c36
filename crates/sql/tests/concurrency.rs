//! Several sessions over one store: isolation and serialization failures.

use std::sync::Arc;

use quorumdb_sql::{Session, Value};
use quorumdb_storage::{Engine, KvStore, MemoryEngine};

fn store() -> KvStore {
    KvStore::local(Arc::new(MemoryEngine::new()) as Arc<dyn Engine>).expect("memory store")
}

fn one(s: &mut Session, sql: &str) -> Value {
    let mut r = s.execute(sql).expect(sql);
    r.pop()
        .and_then(|r| r.rows.into_iter().next())
        .and_then(|row| row.into_iter().next())
        .expect("a value")
}

#[test]
fn explicit_write_conflict_is_40001_and_the_loser_can_retry() {
    let kv = store();
    let mut a = Session::new(kv.clone());
    let mut b = Session::new(kv);
    a.execute("CREATE TABLE c (id INTEGER PRIMARY KEY, n INTEGER); INSERT INTO c VALUES (1, 0)")
        .unwrap();
    a.execute("BEGIN").unwrap();
    b.execute("BEGIN").unwrap();
    assert_eq!(one(&mut a, "SELECT n FROM c WHERE id = 1"), Value::Int(0));
    assert_eq!(one(&mut b, "SELECT n FROM c WHERE id = 1"), Value::Int(0));
    a.execute("UPDATE c SET n = n + 1 WHERE id = 1").unwrap();
    b.execute("UPDATE c SET n = n + 1 WHERE id = 1").unwrap();
    a.execute("COMMIT").unwrap();
    let err = b.execute("COMMIT").unwrap_err();
    assert_eq!(err.code, "40001");
    assert!(!b.in_transaction());
    // The retry sees the first commit; no update is lost.
    b.execute("UPDATE c SET n = n + 1 WHERE id = 1").unwrap();
    assert_eq!(one(&mut b, "SELECT n FROM c"), Value::Int(2));
}

#[test]
fn snapshot_reads_ignore_later_commits() {
    let kv = store();
    let mut a = Session::new(kv.clone());
    let mut b = Session::new(kv);
    a.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)").unwrap();
    b.execute("BEGIN ISOLATION LEVEL REPEATABLE READ").unwrap();
    assert_eq!(one(&mut b, "SELECT count(*) FROM t"), Value::Int(0));
    a.execute("INSERT INTO t VALUES (1)").unwrap();
    assert_eq!(one(&mut b, "SELECT count(*) FROM t"), Value::Int(0));
    b.execute("COMMIT").unwrap();
    assert_eq!(one(&mut b, "SELECT count(*) FROM t"), Value::Int(1));
}

#[test]
fn serializable_write_skew_is_prevented() {
    let kv = store();
    let mut a = Session::new(kv.clone());
    let mut b = Session::new(kv);
    a.execute("CREATE TABLE doc (id INTEGER PRIMARY KEY, on_call BOOLEAN)")
        .unwrap();
    a.execute("INSERT INTO doc VALUES (1, true), (2, true)").unwrap();
    a.execute("BEGIN").unwrap();
    b.execute("BEGIN").unwrap();
    assert_eq!(
        one(&mut a, "SELECT count(*) FROM doc WHERE on_call"),
        Value::Int(2)
    );
    assert_eq!(
        one(&mut b, "SELECT count(*) FROM doc WHERE on_call"),
        Value::Int(2)
    );
    a.execute("UPDATE doc SET on_call = false WHERE id = 1").unwrap();
    b.execute("UPDATE doc SET on_call = false WHERE id = 2").unwrap();
    a.execute("COMMIT").unwrap();
    assert_eq!(b.execute("COMMIT").unwrap_err().code, "40001");
    assert_eq!(
        one(&mut a, "SELECT count(*) FROM doc WHERE on_call"),
        Value::Int(1)
    );
}

#[test]
fn ddl_in_an_open_transaction_is_invisible_to_others() {
    let kv = store();
    let mut a = Session::new(kv.clone());
    let mut b = Session::new(kv);
    a.execute("BEGIN; CREATE TABLE hidden (x INTEGER); INSERT INTO hidden VALUES (1)")
        .unwrap();
    assert_eq!(b.execute("SELECT * FROM hidden").unwrap_err().code, "42P01");
    a.execute("COMMIT").unwrap();
    assert_eq!(one(&mut b, "SELECT x FROM hidden"), Value::Int(1));
}
