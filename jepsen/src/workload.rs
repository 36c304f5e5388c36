//! Workloads: what the client workers do to the cluster, over the
//! PostgreSQL wire protocol (tokio-postgres, simple query protocol, integer
//! literals only), and how each outcome is classified.
//!
//! * `bank`: accounts with a constant total; transfers in explicit
//!   transactions (read both balances, refuse overdrafts, update both);
//!   reads of all balances.
//! * `register`: per-key read / write / compare-and-set; write and cas are
//!   explicit transactions (read, then insert or update); keys rotate so that
//!   each key's history stays small for the WGL checker.
//! * `append`: Elle list-append; transactions of 1-4 appends and reads over
//!   a few rotating keys; a list is a TEXT of comma-separated elements,
//!   appended with `UPDATE ... SET v = v || ',e'` or an `INSERT` when the row
//!   does not exist yet.
//! * `set`: unique inserts; one final read after the faults are healed.
//!
//! Outcome discipline (the point of the exercise): an error *before* the
//! statement that may commit (explicit `COMMIT`, or an autocommit write) is
//! `fail`: nothing was proposed. At the committing statement: SQLSTATE 40001
//! (serialization failure), 57P03 (no quorum), 25P02, 23xxx, 42xxx and 22xxx
//! are `fail`; 40003 (outcome unknown), any other error, a lost connection
//! and a client-side timeout are `info`. Reads that fail are `fail` (they
//! change nothing). No commit is ever retried.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use tokio_postgres::{Client, SimpleQueryMessage};

use crate::bank::BankChecker;
use crate::checker::Checker;
use crate::elle::ListAppendChecker;
use crate::linearizable::RegisterChecker;
use crate::set::SetChecker;

/// How an operation ended, if not `ok`.
#[derive(Debug)]
pub enum OpError {
    /// Definitely did not take effect.
    Fail(String),
    /// May or may not have taken effect.
    Info(String),
}

type OpResult = Result<Value, OpError>;

/// The rows (as text) and the affected-row count of one statement.
struct Reply {
    rows: Vec<Vec<Option<String>>>,
    affected: u64,
}

async fn query(client: &Client, sql: &str) -> Result<Reply, tokio_postgres::Error> {
    let msgs = client.simple_query(sql).await?;
    let mut rows = Vec::new();
    let mut affected = 0;
    for m in msgs {
        match m {
            SimpleQueryMessage::Row(r) => {
                rows.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect());
            }
            SimpleQueryMessage::CommandComplete(n) => affected = n,
            _ => {}
        }
    }
    Ok(Reply { rows, affected })
}

fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// Classifies an error of a statement that may have committed.
fn at_commit(e: &tokio_postgres::Error) -> OpError {
    let text = describe(e);
    match e.code().map(|c| c.code()) {
        Some(c)
            if c == "40001"
                || c == "57P03"
                || c == "25P02"
                || c.starts_with("23")
                || c.starts_with("42")
                || c.starts_with("22") =>
        {
            OpError::Fail(text)
        }
        _ => OpError::Info(text),
    }
}

/// Classifies an error before anything was proposed.
fn before_commit(e: &tokio_postgres::Error) -> OpError {
    OpError::Fail(describe(e))
}

/// After a failed statement inside an explicit transaction.
async fn rollback(client: &Client) {
    let _ = client.simple_query("ROLLBACK").await;
}

/// Runs `COMMIT`, classifying its outcome.
async fn commit(client: &Client) -> Result<(), OpError> {
    match client.simple_query("COMMIT").await {
        Ok(msgs) => {
            // A COMMIT of an aborted transaction answers ROLLBACK.
            for m in &msgs {
                if let SimpleQueryMessage::CommandComplete(_) = m {
                    return Ok(());
                }
            }
            Ok(())
        }
        Err(e) => {
            if e.as_db_error().is_some() {
                rollback(client).await;
            }
            Err(at_commit(&e))
        }
    }
}

macro_rules! pre {
    ($client:expr, $e:expr) => {
        match $e {
            Ok(v) => v,
            Err(e) => {
                rollback($client).await;
                return Err(before_commit(&e));
            }
        }
    };
}

fn int(s: &Option<String>) -> Option<i64> {
    s.as_deref().and_then(|t| t.trim().parse::<i64>().ok())
}

/// The workloads.
pub enum Workload {
    /// `transactional: false` is the suite's self-test (`bank-no-txn`):
    /// transfers as separate autocommit statements, which loses updates
    /// under concurrency; the bank checker must flag it.
    Bank {
        accounts: i64,
        total: i64,
        transactional: bool,
    },
    Register(Mutex<RegisterGen>),
    Append(Mutex<AppendGen>),
    Set(Mutex<i64>),
}

/// Key rotation for the register workload.
pub struct RegisterGen {
    ops: u64,
    per_key: u64,
    keys: u64,
}

/// Key rotation and unique elements for list-append.
pub struct AppendGen {
    active: Vec<i64>,
    writes: HashMap<i64, u32>,
    next_key: i64,
    next_elem: i64,
    max_writes: u32,
}

pub const WORKLOADS: [&str; 4] = ["bank", "register", "append", "set"];

impl Workload {
    pub fn new(name: &str) -> Result<Workload, String> {
        Ok(match name {
            "bank" | "bank-no-txn" => Workload::Bank {
                accounts: 5,
                total: 100,
                transactional: name == "bank",
            },
            "register" => Workload::Register(Mutex::new(RegisterGen {
                ops: 0,
                per_key: 120,
                keys: 4,
            })),
            "append" | "list-append" => Workload::Append(Mutex::new(AppendGen {
                active: (0..6).collect(),
                writes: HashMap::new(),
                next_key: 6,
                next_elem: 1,
                max_writes: 40,
            })),
            "set" => Workload::Set(Mutex::new(0)),
            other => return Err(format!("unknown workload {other:?} (one of {WORKLOADS:?})")),
        })
    }

    pub fn name(&self) -> &'static str {
        match self {
            Workload::Bank {
                transactional: false, ..
            } => "bank-no-txn",
            Workload::Bank { .. } => "bank",
            Workload::Register(_) => "register",
            Workload::Append(_) => "append",
            Workload::Set(_) => "set",
        }
    }

    /// Statements that create the schema and the initial data (run once, on
    /// a healthy cluster, before the history starts).
    pub fn setup_sql(&self) -> Vec<String> {
        match self {
            Workload::Bank { accounts, total, .. } => {
                let each = total / accounts;
                let mut v = vec!["CREATE TABLE acct (id INT PRIMARY KEY, balance BIGINT)".to_string()];
                for a in 0..*accounts {
                    let b = if a == 0 {
                        total - each * (accounts - 1)
                    } else {
                        each
                    };
                    v.push(format!("INSERT INTO acct VALUES ({a}, {b})"));
                }
                v
            }
            Workload::Register(_) => vec!["CREATE TABLE reg (k INT PRIMARY KEY, v INT)".into()],
            Workload::Append(_) => vec!["CREATE TABLE app (k INT PRIMARY KEY, v TEXT)".into()],
            Workload::Set(_) => vec!["CREATE TABLE s (e INT PRIMARY KEY)".into()],
        }
    }

    /// The checkers that judge this workload's history.
    pub fn checkers(&self, lin_budget: std::time::Duration) -> Vec<Box<dyn Checker + Send>> {
        match self {
            Workload::Bank { accounts, total, .. } => {
                let mut c = BankChecker::new(*total);
                c.accounts = Some((0..*accounts).map(|a| a.to_string()).collect());
                vec![Box::new(c)]
            }
            Workload::Register(_) => vec![Box::new(RegisterChecker {
                time_budget: lin_budget,
                ..RegisterChecker::default()
            })],
            Workload::Append(_) => vec![Box::new(ListAppendChecker::default())],
            Workload::Set(_) => vec![Box::new(SetChecker)],
        }
    }

    /// The next operation: (f, invocation value).
    pub fn generate(&self, rng: &mut StdRng) -> (String, Value) {
        match self {
            Workload::Bank { accounts, .. } => {
                if rng.random_bool(0.4) {
                    ("read".into(), Value::Null)
                } else {
                    let from = rng.random_range(0..*accounts);
                    let mut to = rng.random_range(0..*accounts - 1);
                    if to >= from {
                        to += 1;
                    }
                    let amount = rng.random_range(1..=5);
                    (
                        "transfer".into(),
                        json!({"from": from, "to": to, "amount": amount}),
                    )
                }
            }
            Workload::Register(g) => {
                let mut g = g.lock().unwrap_or_else(|e| e.into_inner());
                g.ops += 1;
                let key = (g.ops / g.per_key) * g.keys + rng.random_range(0..g.keys);
                drop(g);
                match rng.random_range(0..3) {
                    0 => ("read".into(), json!([key, null])),
                    1 => ("write".into(), json!([key, rng.random_range(0..5)])),
                    _ => (
                        "cas".into(),
                        json!([key, [rng.random_range(0..5), rng.random_range(0..5)]]),
                    ),
                }
            }
            Workload::Append(g) => {
                let mut g = g.lock().unwrap_or_else(|e| e.into_inner());
                let n = rng.random_range(1..=4);
                let mut mops = Vec::new();
                for _ in 0..n {
                    let i = rng.random_range(0..g.active.len());
                    let key = g.active[i];
                    if rng.random_bool(0.5) {
                        mops.push(json!(["r", key, null]));
                    } else {
                        let elem = g.next_elem;
                        g.next_elem += 1;
                        mops.push(json!(["append", key, elem]));
                        let max = g.max_writes;
                        let w = g.writes.entry(key).or_insert(0);
                        *w += 1;
                        if *w >= max {
                            let next = g.next_key;
                            g.next_key += 1;
                            g.active[i] = next;
                        }
                    }
                }
                ("txn".into(), Value::Array(mops))
            }
            Workload::Set(next) => {
                let mut n = next.lock().unwrap_or_else(|e| e.into_inner());
                *n += 1;
                ("add".into(), json!(*n))
            }
        }
    }

    /// The final operations, run after every fault is healed.
    pub fn final_ops(&self) -> Vec<(String, Value)> {
        match self {
            Workload::Bank { .. } => vec![("read".into(), Value::Null)],
            Workload::Set(_) => vec![("read".into(), Value::Null)],
            Workload::Register(_) | Workload::Append(_) => Vec::new(),
        }
    }

    /// The self-test's broken transfer: read both balances and write both
    /// in four autocommit statements (a lost update waiting to happen).
    /// Any error is `info`: some of the statements may have committed.
    async fn unsafe_transfer(
        &self,
        client: &Client,
        from: i64,
        to: i64,
        amount: i64,
        value: &Value,
    ) -> OpResult {
        let info = |e: tokio_postgres::Error| OpError::Info(describe(&e));
        let a = query(client, &format!("SELECT balance FROM acct WHERE id = {from}"))
            .await
            .map_err(|e| OpError::Fail(describe(&e)))?;
        let b = query(client, &format!("SELECT balance FROM acct WHERE id = {to}"))
            .await
            .map_err(|e| OpError::Fail(describe(&e)))?;
        let (Some(ba), Some(bb)) = (
            a.rows.first().and_then(|r| r.first()).and_then(int),
            b.rows.first().and_then(|r| r.first()).and_then(int),
        ) else {
            return Err(OpError::Fail("account row missing".into()));
        };
        if ba < amount {
            return Err(OpError::Fail("insufficient funds".into()));
        }
        // Widen the race window, as a slow client would.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        query(
            client,
            &format!("UPDATE acct SET balance = {} WHERE id = {from}", ba - amount),
        )
        .await
        .map_err(info)?;
        query(
            client,
            &format!("UPDATE acct SET balance = {} WHERE id = {to}", bb + amount),
        )
        .await
        .map_err(info)?;
        Ok(value.clone())
    }

    /// Performs one operation; `Ok` carries the completion value.
    pub async fn execute(&self, client: &Client, f: &str, value: &Value) -> OpResult {
        match (self, f) {
            (Workload::Bank { .. }, "read") => {
                let r = query(client, "SELECT id, balance FROM acct")
                    .await
                    .map_err(|e| before_commit(&e))?;
                let mut m = BTreeMap::new();
                for row in &r.rows {
                    let id = row.first().and_then(int);
                    let bal = row.get(1).and_then(int);
                    match id {
                        Some(id) => {
                            m.insert(id.to_string(), bal.map(Value::from).unwrap_or(Value::Null));
                        }
                        None => return Err(OpError::Fail(format!("bad row {row:?}"))),
                    }
                }
                Ok(json!(m))
            }
            (Workload::Bank { transactional, .. }, "transfer") => {
                let from = value["from"].as_i64().unwrap_or_default();
                let to = value["to"].as_i64().unwrap_or_default();
                let amount = value["amount"].as_i64().unwrap_or_default();
                if !*transactional {
                    return self.unsafe_transfer(client, from, to, amount, value).await;
                }
                pre!(client, query(client, "BEGIN").await);
                let a = pre!(
                    client,
                    query(client, &format!("SELECT balance FROM acct WHERE id = {from}")).await
                );
                let b = pre!(
                    client,
                    query(client, &format!("SELECT balance FROM acct WHERE id = {to}")).await
                );
                let (Some(ba), Some(bb)) = (
                    a.rows.first().and_then(|r| r.first()).and_then(int),
                    b.rows.first().and_then(|r| r.first()).and_then(int),
                ) else {
                    rollback(client).await;
                    return Err(OpError::Fail("account row missing".into()));
                };
                if ba < amount {
                    rollback(client).await;
                    return Err(OpError::Fail("insufficient funds".into()));
                }
                pre!(
                    client,
                    query(
                        client,
                        &format!("UPDATE acct SET balance = {} WHERE id = {from}", ba - amount)
                    )
                    .await
                );
                pre!(
                    client,
                    query(
                        client,
                        &format!("UPDATE acct SET balance = {} WHERE id = {to}", bb + amount)
                    )
                    .await
                );
                commit(client).await?;
                Ok(value.clone())
            }
            (Workload::Register(_), _) => {
                let key = value[0].as_i64().unwrap_or_default();
                let select = format!("SELECT v FROM reg WHERE k = {key}");
                match f {
                    "read" => {
                        let r = query(client, &select).await.map_err(|e| before_commit(&e))?;
                        let v = r.rows.first().and_then(|r| r.first()).and_then(int);
                        Ok(json!([key, v]))
                    }
                    "write" => {
                        let v = value[1].as_i64().unwrap_or_default();
                        pre!(client, query(client, "BEGIN").await);
                        let r = pre!(client, query(client, &select).await);
                        let sql = if r.rows.is_empty() {
                            format!("INSERT INTO reg VALUES ({key}, {v})")
                        } else {
                            format!("UPDATE reg SET v = {v} WHERE k = {key}")
                        };
                        pre!(client, query(client, &sql).await);
                        commit(client).await?;
                        Ok(value.clone())
                    }
                    _ => {
                        let old = value[1][0].as_i64().unwrap_or_default();
                        let new = value[1][1].as_i64().unwrap_or_default();
                        pre!(client, query(client, "BEGIN").await);
                        let r = pre!(client, query(client, &select).await);
                        let cur = r.rows.first().and_then(|r| r.first()).and_then(int);
                        if cur != Some(old) {
                            rollback(client).await;
                            return Err(OpError::Fail(format!("cas: current value {cur:?}")));
                        }
                        pre!(
                            client,
                            query(client, &format!("UPDATE reg SET v = {new} WHERE k = {key}")).await
                        );
                        commit(client).await?;
                        Ok(value.clone())
                    }
                }
            }
            (Workload::Append(_), _) => {
                let Some(mops) = value.as_array() else {
                    return Err(OpError::Fail("bad txn".into()));
                };
                pre!(client, query(client, "BEGIN").await);
                let mut out = Vec::with_capacity(mops.len());
                for m in mops {
                    let key = m[1].as_i64().unwrap_or_default();
                    if m[0] == "r" {
                        let r = pre!(
                            client,
                            query(client, &format!("SELECT v FROM app WHERE k = {key}")).await
                        );
                        let list: Vec<i64> = match r.rows.first().and_then(|r| r.first()).cloned().flatten() {
                            Some(text) => {
                                let mut xs = Vec::new();
                                for part in text.split(',').filter(|p| !p.is_empty()) {
                                    match part.trim().parse::<i64>() {
                                        Ok(x) => xs.push(x),
                                        Err(_) => {
                                            rollback(client).await;
                                            return Err(OpError::Fail(format!("unparsable list {text:?}")));
                                        }
                                    }
                                }
                                xs
                            }
                            None => Vec::new(),
                        };
                        out.push(json!(["r", key, list]));
                    } else {
                        let elem = m[2].as_i64().unwrap_or_default();
                        let u = pre!(
                            client,
                            query(
                                client,
                                &format!("UPDATE app SET v = v || ',{elem}' WHERE k = {key}")
                            )
                            .await
                        );
                        if u.affected == 0 {
                            pre!(
                                client,
                                query(client, &format!("INSERT INTO app VALUES ({key}, '{elem}')")).await
                            );
                        }
                        out.push(m.clone());
                    }
                }
                commit(client).await?;
                Ok(Value::Array(out))
            }
            (Workload::Set(_), "add") => {
                let e = value.as_i64().unwrap_or_default();
                query(client, &format!("INSERT INTO s VALUES ({e})"))
                    .await
                    .map_err(|e| at_commit(&e))?;
                Ok(value.clone())
            }
            (Workload::Set(_), _) => {
                let r = query(client, "SELECT e FROM s")
                    .await
                    .map_err(|e| before_commit(&e))?;
                let mut xs = Vec::with_capacity(r.rows.len());
                for row in &r.rows {
                    match row.first().and_then(int) {
                        Some(x) => xs.push(x),
                        None => return Err(OpError::Fail(format!("bad row {row:?}"))),
                    }
                }
                xs.sort_unstable();
                Ok(json!(xs))
            }
            (Workload::Bank { .. }, other) => Err(OpError::Fail(format!("unknown bank op {other}"))),
        }
    }
}
