//! A sqllogictest runner for SQLite's corpus, run in-process.
//!
//! Format (see SQLite's `about.wiki`): records separated by blank lines —
//! `statement ok|error`, `query <types> [nosort|rowsort|valuesort] [label]`
//! with expected values after `----`, `hash-threshold N`, `halt`, and the
//! conditions `skipif <engine>` / `onlyif <engine>`. Our engine label is
//! `postgresql`, so records marked `skipif postgresql` are skipped and
//! `onlyif postgresql` ones run.
//!
//! Values are rendered as SQLite's reference driver does: `I` as an integer
//! (floats truncate), `R` as `%.3f`, `T` as text with the empty string as
//! `(empty)` and bytes outside 0x20..=0x7E as `@`, NULL as `NULL`. Result
//! sets with more values than the hash threshold (default 8) are compared
//! as `N values hashing to <md5>`, the md5 taken over each value followed by
//! a newline, after sorting.
//!
//! Limits: labels are not cross-checked (each query is compared against its
//! own expected result, which the corpus always gives).
//!
//! The runner drives any [`SltDb`]: [`InProcess`] (a [`Session`] over a
//! memory store, what [`run_script`] uses) or
//! [`PgWire`](crate::slt_pgwire::PgWire) (a server over the PostgreSQL
//! protocol). Both hand back typed [`Value`]s, so rendering is the same code.

use std::sync::Arc;
use std::time::{Duration, Instant};

use quorumdb_sql::{Session, Value};
use quorumdb_storage::{Engine, KvStore, MemoryEngine};

/// A database the runner can drive.
pub trait SltDb {
    /// Runs a `statement` record's SQL; `Err` carries the error text.
    fn statement(&mut self, sql: &str) -> Result<(), String>;
    /// Runs a `query` record's SQL: the last result set, or `Err`.
    fn query(&mut self, sql: &str) -> Result<ResultSet, String>;
}

/// What a query returned: its column count and rows.
#[derive(Debug, Default, Clone)]
pub struct ResultSet {
    pub columns: usize,
    pub rows: Vec<Vec<Value>>,
}

/// The SQL engine in this process, on a fresh memory store.
pub struct InProcess(Session);

impl InProcess {
    pub fn new() -> Self {
        Self(new_session())
    }
}

impl Default for InProcess {
    fn default() -> Self {
        Self::new()
    }
}

impl SltDb for InProcess {
    fn statement(&mut self, sql: &str) -> Result<(), String> {
        self.0.execute(sql).map(|_| ()).map_err(|e| e.to_string())
    }

    fn query(&mut self, sql: &str) -> Result<ResultSet, String> {
        let mut results = self.0.execute(sql).map_err(|e| e.to_string())?;
        let last = results.pop().ok_or_else(|| "no result".to_string())?;
        Ok(ResultSet {
            columns: last.columns.len(),
            rows: last.rows,
        })
    }
}

pub const ENGINE: &str = "postgresql";

/// Outcome of one file.
#[derive(Debug, Default, Clone)]
pub struct FileReport {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub failures: Vec<String>,
    pub elapsed: Duration,
}

impl FileReport {
    /// Share of executed records that passed (0 when none ran).
    pub fn pass_rate(&self) -> f64 {
        self.passed as f64 / (self.passed + self.failed).max(1) as f64
    }
}

enum SortMode {
    No,
    Row,
    Value,
}

pub fn render(v: &Value, ty: char) -> String {
    match v {
        Value::Null => "NULL".into(),
        _ => match ty {
            'I' => match v {
                Value::Int(i) => i.to_string(),
                Value::Float(f) => {
                    if f.is_finite() {
                        (f.trunc() as i64).to_string()
                    } else {
                        "0".into()
                    }
                }
                Value::Bool(b) => i64::from(*b).to_string(),
                other => {
                    let s = other.to_text().unwrap_or_default();
                    let t = s.trim_start();
                    let end = t
                        .char_indices()
                        .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && (*c == '-' || *c == '+')))
                        .count();
                    t[..end].parse::<i64>().unwrap_or(0).to_string()
                }
            },
            'R' => {
                let f = match v {
                    Value::Int(i) => *i as f64,
                    Value::Float(f) => *f,
                    Value::Bool(b) => f64::from(u8::from(*b)),
                    other => other.to_text().and_then(|s| s.trim().parse().ok()).unwrap_or(0.0),
                };
                format!("{f:.3}")
            }
            _ => {
                let s = match v {
                    // SQLite prints a blob's bytes as they are.
                    Value::Bytes(b) => b.iter().map(|&c| char::from(c)).collect(),
                    v => v.to_text().unwrap_or_default(),
                };
                if s.is_empty() {
                    "(empty)".into()
                } else {
                    s.chars()
                        .map(|c| if (' '..='~').contains(&c) { c } else { '@' })
                        .collect()
                }
            }
        },
    }
}

fn new_session() -> Session {
    let engine = Arc::new(MemoryEngine::new()) as Arc<dyn Engine>;
    match KvStore::local(engine) {
        Ok(store) => Session::new(store),
        Err(e) => panic!("cannot open an in-memory store: {e}"),
    }
}

/// Runs one test script (its text) in-process on a fresh store and reports
/// per-record outcomes.
pub fn run_script(text: &str, name: &str) -> FileReport {
    run_script_on(&mut InProcess::new(), text, name)
}

/// Runs one test script (its text) on `db` and reports per-record outcomes.
pub fn run_script_on(db: &mut dyn SltDb, text: &str, name: &str) -> FileReport {
    let start = Instant::now();
    let mut report = FileReport::default();
    let mut hash_threshold = 8usize;
    let lines: Vec<&str> = text.lines().collect();
    let mut i = 0;
    let fail = |report: &mut FileReport, line: usize, msg: String| {
        report.failed += 1;
        if report.failures.len() < 20 {
            report.failures.push(format!("{name}:{}: {msg}", line + 1));
        }
    };
    while i < lines.len() {
        // Skip blank lines and comments between records.
        let line = lines[i].trim_end();
        if line.trim().is_empty() || line.starts_with('#') {
            i += 1;
            continue;
        }
        let record_line = i;
        // Conditions.
        let mut skip = false;
        while i < lines.len() {
            let l = lines[i].trim();
            let mut words = l.split_whitespace();
            match (words.next(), words.next()) {
                (Some("skipif"), Some(e)) => {
                    skip |= e == ENGINE;
                    i += 1;
                }
                (Some("onlyif"), Some(e)) => {
                    skip |= e != ENGINE;
                    i += 1;
                }
                _ => break,
            }
        }
        let Some(head) = lines.get(i).map(|l| l.trim()) else {
            break;
        };
        let words: Vec<&str> = head.split_whitespace().collect();
        i += 1;
        // The SQL runs until a blank line or `----`.
        let mut sql = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() && lines[i].trim() != "----" {
            sql.push(lines[i]);
            i += 1;
        }
        let mut expected = Vec::new();
        if i < lines.len() && lines[i].trim() == "----" {
            i += 1;
            while i < lines.len() && !lines[i].trim().is_empty() {
                expected.push(lines[i].trim_end());
                i += 1;
            }
        }
        let sql = sql.join("\n");
        let sql = sql.trim().trim_end_matches(';');
        match words.first().copied() {
            Some("halt") => {
                if !skip {
                    break;
                }
            }
            Some("hash-threshold") => {
                if let Some(n) = words.get(1).and_then(|n| n.parse().ok()) {
                    hash_threshold = n;
                }
            }
            Some("statement") => {
                if skip {
                    report.skipped += 1;
                    continue;
                }
                let want_ok = words.get(1) == Some(&"ok");
                match (db.statement(sql), want_ok) {
                    (Ok(_), true) | (Err(_), false) => report.passed += 1,
                    (Ok(_), false) => fail(&mut report, record_line, format!("statement should fail: {sql}")),
                    (Err(e), true) => fail(&mut report, record_line, format!("{e}: {sql}")),
                }
            }
            Some("query") => {
                if skip {
                    report.skipped += 1;
                    continue;
                }
                let types: Vec<char> = words.get(1).map(|t| t.chars().collect()).unwrap_or_default();
                let mode = match words.get(2).copied() {
                    Some("rowsort") => SortMode::Row,
                    Some("valuesort") => SortMode::Value,
                    _ => SortMode::No,
                };
                let result = match db.query(sql) {
                    Ok(r) => r,
                    Err(e) => {
                        fail(&mut report, record_line, format!("{e}: {sql}"));
                        continue;
                    }
                };
                if result.columns != types.len() {
                    fail(
                        &mut report,
                        record_line,
                        format!("expected {} columns, got {}: {sql}", types.len(), result.columns),
                    );
                    continue;
                }
                let mut rows: Vec<Vec<String>> = result
                    .rows
                    .iter()
                    .map(|r| r.iter().zip(&types).map(|(v, t)| render(v, *t)).collect())
                    .collect();
                let mut values: Vec<String> = match mode {
                    SortMode::Row => {
                        rows.sort();
                        rows.into_iter().flatten().collect()
                    }
                    SortMode::Value => {
                        let mut v: Vec<String> = rows.into_iter().flatten().collect();
                        v.sort();
                        v
                    }
                    SortMode::No => rows.into_iter().flatten().collect(),
                };
                let hashed = expected.len() == 1 && expected[0].contains(" values hashing to ");
                let ok = if hashed || (hash_threshold > 0 && values.len() > hash_threshold) {
                    let mut ctx = md5::Context::new();
                    for v in &values {
                        ctx.consume(v.as_bytes());
                        ctx.consume(b"\n");
                    }
                    let got = format!("{} values hashing to {:x}", values.len(), ctx.compute());
                    let want = expected.first().map(|s| s.trim()).unwrap_or("");
                    if got == want {
                        true
                    } else {
                        values = vec![got];
                        false
                    }
                } else {
                    let flat: Vec<String> = expected.iter().map(|s| s.trim().to_string()).collect();
                    if flat.len() == values.len() {
                        flat == values
                    } else {
                        // Some scripts print a row per line.
                        let joined: Vec<String> = expected
                            .iter()
                            .flat_map(|l| l.split_whitespace().map(str::to_string))
                            .collect();
                        joined == values
                    }
                };
                if ok {
                    report.passed += 1;
                } else {
                    let got: Vec<String> = values.into_iter().take(12).collect();
                    let want: Vec<&str> = expected.iter().take(12).copied().collect();
                    fail(
                        &mut report,
                        record_line,
                        format!("wrong result: {sql}\n  want {want:?}\n  got  {got:?}"),
                    );
                }
            }
            _ => {
                fail(&mut report, record_line, format!("unknown record {head}"));
            }
        }
    }
    report.elapsed = start.elapsed();
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_sqlite() {
        assert_eq!(render(&Value::Float(2.7), 'I'), "2");
        assert_eq!(render(&Value::Int(3), 'R'), "3.000");
        assert_eq!(render(&Value::Text(String::new()), 'T'), "(empty)");
        assert_eq!(render(&Value::Null, 'I'), "NULL");
    }

    #[test]
    fn runs_a_small_script() {
        let script = "statement ok\nCREATE TABLE t(a INTEGER, b TEXT)\n\nstatement ok\nINSERT INTO t VALUES(1,'x'),(2,'')\n\nquery IT rowsort\nSELECT a, b FROM t\n----\n1\nx\n2\n(empty)\n\nskipif postgresql\nquery I\nSELECT nonsense\n----\n1\n\nstatement error\nSELECT * FROM missing\n\nquery I nosort\nSELECT a FROM t ORDER BY a\n----\n2 values hashing to 6ddb4095eb719e2a9f0a3f95677d24e0\n";
        let r = run_script(script, "inline");
        assert_eq!((r.passed, r.failed, r.skipped), (5, 0, 1), "{:?}", r.failures);
    }
}
