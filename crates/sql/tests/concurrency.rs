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

/// A child inserted while its parent is deleted concurrently: one of the
/// two must fail, at either isolation level, or an orphan would remain.
#[test]
fn a_child_and_the_deletion_of_its_parent_cannot_both_commit() {
    for isolation in ["SERIALIZABLE", "REPEATABLE READ"] {
        let kv = store();
        let mut a = Session::new(kv.clone());
        let mut b = Session::new(kv);
        a.execute(
            "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER REFERENCES p); \
             INSERT INTO p VALUES (1)",
        )
        .unwrap();
        a.execute(&format!("BEGIN ISOLATION LEVEL {isolation}")).unwrap();
        b.execute(&format!("BEGIN ISOLATION LEVEL {isolation}")).unwrap();
        a.execute("INSERT INTO c VALUES (1, 1)").unwrap();
        b.execute("DELETE FROM p WHERE id = 1").unwrap();
        a.execute("COMMIT").unwrap();
        let err = b.execute("COMMIT").unwrap_err();
        assert_eq!(err.code, "40001", "{isolation}: {err:?}");
        assert_eq!(
            one(&mut a, "SELECT count(*) FROM p"),
            Value::Int(1),
            "{isolation}"
        );
    }
}

/// Two rows with the same value of a UNIQUE column inserted concurrently:
/// their index keys differ, so only the validated uniqueness probe stops
/// the second, under REPEATABLE READ too.
#[test]
fn concurrent_duplicates_of_a_unique_column_cannot_both_commit() {
    for isolation in ["SERIALIZABLE", "REPEATABLE READ"] {
        let kv = store();
        let mut a = Session::new(kv.clone());
        let mut b = Session::new(kv);
        a.execute("CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE)")
            .unwrap();
        a.execute(&format!("BEGIN ISOLATION LEVEL {isolation}")).unwrap();
        b.execute(&format!("BEGIN ISOLATION LEVEL {isolation}")).unwrap();
        a.execute("INSERT INTO u VALUES (1, 'x@y')").unwrap();
        b.execute("INSERT INTO u VALUES (2, 'x@y')").unwrap();
        a.execute("COMMIT").unwrap();
        let err = b.execute("COMMIT").unwrap_err();
        assert_eq!(err.code, "40001", "{isolation}: {err:?}");
        assert_eq!(
            one(&mut a, "SELECT count(*) FROM u"),
            Value::Int(1),
            "{isolation}"
        );
    }
}

/// A REPEATABLE READ transaction whose snapshot predates a new foreign key
/// does not see it; its definition read is validated at commit, so it
/// cannot slip an orphan in.
#[test]
fn a_foreign_key_added_concurrently_is_not_bypassed_by_an_older_snapshot() {
    let kv = store();
    let mut a = Session::new(kv.clone());
    let mut b = Session::new(kv);
    a.execute("CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (id INTEGER PRIMARY KEY, p INTEGER)")
        .unwrap();
    a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ").unwrap();
    assert_eq!(one(&mut a, "SELECT count(*) FROM c"), Value::Int(0));
    b.execute("ALTER TABLE c ADD FOREIGN KEY (p) REFERENCES p")
        .unwrap();
    a.execute("INSERT INTO c VALUES (1, 42)").unwrap();
    let err = a.execute("COMMIT").unwrap_err();
    assert_eq!(err.code, "40001", "{err:?}");
    assert_eq!(one(&mut b, "SELECT count(*) FROM c"), Value::Int(0));
}

/// ON CONFLICT's arbiter probe is a constraint read: a concurrent insert
/// of the same key makes one of two upserts fail at commit, and a skip
/// decided on a row deleted concurrently is not committed either, under
/// REPEATABLE READ too.
#[test]
fn on_conflict_probes_are_validated_at_commit() {
    for isolation in ["SERIALIZABLE", "REPEATABLE READ"] {
        let kv = store();
        let mut a = Session::new(kv.clone());
        let mut b = Session::new(kv);
        a.execute(
            "CREATE TABLE u (id INTEGER PRIMARY KEY, email TEXT UNIQUE, n INTEGER); \
             CREATE TABLE log (id INTEGER PRIMARY KEY)",
        )
        .unwrap();
        // Both see no conflict on the arbiter and insert.
        a.execute(&format!("BEGIN ISOLATION LEVEL {isolation}")).unwrap();
        b.execute(&format!("BEGIN ISOLATION LEVEL {isolation}")).unwrap();
        a.execute("INSERT INTO u VALUES (1, 'x@y', 0) ON CONFLICT (email) DO UPDATE SET n = u.n + 1")
            .unwrap();
        b.execute("INSERT INTO u VALUES (2, 'x@y', 0) ON CONFLICT (email) DO UPDATE SET n = u.n + 1")
            .unwrap();
        a.execute("COMMIT").unwrap();
        let err = b.execute("COMMIT").unwrap_err();
        assert_eq!(err.code, "40001", "{isolation}: {err:?}");
        assert_eq!(
            one(&mut a, "SELECT count(*) FROM u"),
            Value::Int(1),
            "{isolation}"
        );
        // B skips its row because of a row that A deletes meanwhile.
        a.execute(&format!("BEGIN ISOLATION LEVEL {isolation}")).unwrap();
        b.execute(&format!("BEGIN ISOLATION LEVEL {isolation}")).unwrap();
        a.execute("DELETE FROM u WHERE email = 'x@y'").unwrap();
        b.execute("INSERT INTO u VALUES (3, 'x@y', 0) ON CONFLICT (email) DO NOTHING")
            .unwrap();
        b.execute("INSERT INTO log VALUES (1)").unwrap();
        a.execute("COMMIT").unwrap();
        let err = b.execute("COMMIT").unwrap_err();
        assert_eq!(err.code, "40001", "{isolation}: {err:?}");
        assert_eq!(
            one(&mut a, "SELECT count(*) FROM log"),
            Value::Int(0),
            "{isolation}"
        );
    }
}
