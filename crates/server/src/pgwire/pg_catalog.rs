//! Canned answers to psql's catalog queries (`\d`, `\dt`, `\di`,
//! `\d TABLE`, `\l`), computed from QuorumDB's catalog.
//!
//! The engine has no pg_catalog. Rather than emulate the system tables,
//! this module recognises the exact query shapes psql 15 sends (see
//! `shared/research/pgwire-captures/psql_E_queries.txt`) and answers them:
//!
//! - relation list (`\d`, `\dt`, `\di`, with an optional name pattern);
//! - `\d NAME`: the name look-up, the relation details, the columns
//!   (`format_type`, defaults, NOT NULL), the indexes (the primary key as
//!   `<table>_pkey`), and empty answers for policies, statistics objects,
//!   publications and inheritance;
//! - `\l`: the one database;
//! - `\du`: the users of the catalog (`quorumdb_sql::users`).
//!
//! A table's OID is `16384 + table id` (stable for the table's lifetime).
//!
//! Invariants: read-only (a snapshot of its own, outside the session's
//! transaction, so it never disturbs it; cancellable like a statement);
//! never panics; a query it does not recognise is left to the engine
//! (`None`). pgbench's partition probe
//! is deliberately *not* answered: pgbench tolerates its error but exits on
//! an empty answer.
//!
//! Not done: views, sequences, `\d+` extras, `\dn`, `\df`, any
//! other tool's catalog queries; patterns beyond `*`/`?` globs.

use quorumdb_sql::catalog::{self, Table};
use quorumdb_sql::interrupt::{self, Interrupt};
use quorumdb_sql::{DataType, QueryResult, ResultColumn, SqlError, Value};
use quorumdb_storage::{Isolation, KvStore, ScanOrder, Transaction, TxnOptions};

use super::compat::Identity;

/// OIDs of user tables start here (PostgreSQL's FirstNormalObjectId).
const FIRST_OID: u64 = 16384;

fn oid_of(t: &Table) -> String {
    (FIRST_OID + t.id).to_string()
}

/// Answers `sql` if it is one of psql's catalog queries. It runs as a
/// statement of the session `interrupt` belongs to: the flag is cleared
/// first and a cancel or the session's `timeout` ends its wait for a read
/// version (57014).
pub fn answer(
    sql: &str,
    store: &KvStore,
    id: &Identity,
    interrupt: &Interrupt,
    timeout: Option<std::time::Duration>,
) -> Option<Result<QueryResult, SqlError>> {
    if !sql.contains("pg_catalog.") {
        return None;
    }
    let flat = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = flat.to_ascii_lowercase();
    let kind = classify(&flat, &lower)?;
    Some(interrupt::statement(interrupt, timeout, || {
        run(kind, &flat, store, &id.user, &id.database)
    }))
}

/// Which relations a `\d`-style list asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Relations {
    /// `\dt`.
    Tables,
    /// `\dv`.
    Views,
    /// `\d`.
    TablesAndViews,
}

enum Kind {
    /// `\d`, `\dt`, `\dv` (indexes: `\di`).
    List {
        indexes: bool,
        views: Relations,
    },
    Lookup,
    Details,
    Columns,
    Indexes,
    Empty,
    Databases,
    /// `\du`.
    Roles,
}

fn classify(flat: &str, lower: &str) -> Option<Kind> {
    if lower.contains("pg_partitioned_table") {
        return None;
    }
    if lower.contains("from pg_catalog.pg_database d") && lower.contains("as \"name\"") {
        return Some(Kind::Databases);
    }
    if lower.starts_with("select n.nspname as \"schema\", c.relname as \"name\"")
        && lower.contains("from pg_catalog.pg_class c")
    {
        let indexes = flat.contains("c.relkind IN ('i','I'") || lower.contains("as \"table\"");
        let views = if flat.contains("c.relkind IN ('v',") {
            Relations::Views
        } else if flat.contains("c.relkind IN ('r','p','v'") {
            Relations::TablesAndViews
        } else {
            Relations::Tables
        };
        return Some(Kind::List { indexes, views });
    }
    if lower.starts_with("select c.oid, n.nspname, c.relname from pg_catalog.pg_class c") {
        return Some(Kind::Lookup);
    }
    if lower.starts_with("select r.rolname, r.rolsuper, r.rolinherit,")
        && lower.contains("from pg_catalog.pg_roles r")
    {
        return Some(Kind::Roles);
    }
    if lower.starts_with("select c.relchecks, c.relkind, c.relhasindex") {
        return Some(Kind::Details);
    }
    if lower.starts_with("select a.attname,") && lower.contains("from pg_catalog.pg_attribute a") {
        return Some(Kind::Columns);
    }
    if lower.contains("from pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i") {
        return Some(Kind::Indexes);
    }
    const EMPTY: &[&str] = &[
        "from pg_catalog.pg_policy",
        "from pg_catalog.pg_statistic_ext",
        "from pg_catalog.pg_publication",
        "pg_catalog.pg_inherits i",
        "from pg_catalog.pg_trigger",
        "from pg_catalog.pg_rewrite",
    ];
    EMPTY.iter().any(|m| lower.contains(m)).then_some(Kind::Empty)
}

fn snapshot(store: &KvStore) -> Result<Transaction, SqlError> {
    Ok(store.begin(TxnOptions {
        isolation: Isolation::Snapshot,
        read_only: true,
    })?)
}

/// Every table, by name. (The engine has no list API yet: this scans the
/// catalog's key prefix and decodes the names from the keys.)
fn all_tables(txn: &mut Transaction) -> Result<Vec<Table>, SqlError> {
    let prefix = quorumdb_sql::keys::CATALOG_TABLE;
    let mut names = Vec::new();
    for item in txn.scan_prefix(prefix, ScanOrder::Forward) {
        let (key, _) = item?;
        let mut rest = key.get(prefix.len()..).unwrap_or_default();
        if let Ok(quorumdb_storage::keycode::KeyValue::Text(name)) =
            quorumdb_storage::keycode::decode_value(&mut rest)
        {
            names.push(name);
        }
    }
    let mut out = Vec::new();
    for n in names {
        if let Some(t) = catalog::get_table(txn, &n)? {
            out.push(t);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn table_by_oid(txn: &mut Transaction, flat: &str) -> Result<Option<Table>, SqlError> {
    let Some(oid) = quoted_oid(flat) else {
        return Ok(None);
    };
    Ok(all_tables(txn)?.into_iter().find(|t| oid_of(t) == oid))
}

/// The first `'<digits>'` literal in the query (psql quotes OIDs).
fn quoted_oid(flat: &str) -> Option<String> {
    let mut rest = flat;
    while let Some(i) = rest.find('\'') {
        let after = &rest[i + 1..];
        let end = after.find('\'')?;
        let lit = &after[..end];
        if !lit.is_empty() && lit.chars().all(|c| c.is_ascii_digit()) {
            return Some(lit.to_owned());
        }
        rest = &after[end + 1..];
    }
    None
}

/// The pattern of `c.relname OPERATOR(pg_catalog.~) '^(...)$'`, if any.
fn name_pattern(flat: &str) -> Option<String> {
    let at = flat.find("OPERATOR(pg_catalog.~) '^(")?;
    let rest = &flat[at + "OPERATOR(pg_catalog.~) '^(".len()..];
    let end = rest.find(")$'")?;
    Some(rest[..end].to_owned())
}

/// Matches psql's translated glob: `.*` any run, `.` one char, `\x` x.
fn matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p {
            [] => n.is_empty(),
            ['.', '*', rest @ ..] => (0..=n.len()).any(|k| go(rest, &n[k..])),
            ['.', rest @ ..] => !n.is_empty() && go(rest, &n[1..]),
            ['\\', c, rest @ ..] => n.first() == Some(c) && go(rest, &n[1..]),
            [c, rest @ ..] => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

fn text_cols(names: &[&str]) -> Vec<ResultColumn> {
    names
        .iter()
        .map(|n| ResultColumn {
            name: (*n).to_owned(),
            ty: DataType::Text(None),
        })
        .collect()
}

fn t(s: impl Into<String>) -> Value {
    Value::Text(s.into())
}

fn b(v: bool) -> Value {
    t(if v { "t" } else { "f" })
}

fn result(columns: Vec<ResultColumn>, rows: Vec<Vec<Value>>) -> QueryResult {
    QueryResult {
        tag: format!("SELECT {}", rows.len()),
        columns,
        rows,
    }
}

/// `format_type(atttypid, atttypmod)`.
fn format_type(ty: DataType) -> String {
    match ty {
        DataType::Text(Some(n)) => format!("character varying({n})"),
        DataType::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
        other => other.name().to_owned(),
    }
}

/// Index descriptions: (name, primary, unique, column list).
fn index_list(table: &Table) -> Vec<(String, bool, bool, String)> {
    let col = |i: &usize, desc: bool| {
        let name = table.columns.get(*i).map(|c| c.name.as_str()).unwrap_or("?");
        if desc {
            format!("{name} DESC")
        } else {
            name.to_owned()
        }
    };
    let mut out = Vec::new();
    if !table.primary_key.is_empty() {
        let cols: Vec<String> = table.primary_key.iter().map(|i| col(i, false)).collect();
        out.push((format!("{}_pkey", table.name), true, true, cols.join(", ")));
    }
    for ix in &table.indexes {
        let cols: Vec<String> = ix
            .columns
            .iter()
            .enumerate()
            .map(|(k, i)| col(i, ix.desc.get(k).copied().unwrap_or(false)))
            .collect();
        out.push((ix.name.clone(), false, ix.unique, cols.join(", ")));
    }
    out
}

fn run(kind: Kind, flat: &str, store: &KvStore, user: &str, database: &str) -> Result<QueryResult, SqlError> {
    let mut txn = snapshot(store)?;
    Ok(match kind {
        Kind::Databases => result(
            text_cols(&[
                "Name",
                "Owner",
                "Encoding",
                "Collate",
                "Ctype",
                "ICU Locale",
                "Locale Provider",
                "Access privileges",
            ]),
            vec![vec![
                t(database),
                t(user),
                t("UTF8"),
                t("C"),
                t("C"),
                Value::Null,
                t("libc"),
                Value::Null,
            ]],
        ),
        Kind::Roles => {
            // The columns psql 15 reads by position; booleans in text form.
            let pattern = name_pattern(flat);
            let rows = quorumdb_sql::users::list_users(&mut txn)?
                .into_iter()
                .filter(|u| pattern.as_deref().is_none_or(|p| matches(p, &u.name)))
                .map(|u| {
                    let su = u.superuser;
                    vec![
                        t(u.name),
                        b(su),
                        b(true),
                        b(su),
                        b(su),
                        b(u.login),
                        t("-1"),
                        Value::Null,
                        t("{}"),
                        b(su),
                        b(su),
                    ]
                })
                .collect();
            result(
                text_cols(&[
                    "rolname",
                    "rolsuper",
                    "rolinherit",
                    "rolcreaterole",
                    "rolcreatedb",
                    "rolcanlogin",
                    "rolconnlimit",
                    "rolvaliduntil",
                    "memberof",
                    "rolreplication",
                    "rolbypassrls",
                ]),
                rows,
            )
        }
        Kind::List { indexes, views } => {
            let pattern = name_pattern(flat);
            let keep = |n: &str| pattern.as_deref().is_none_or(|p| matches(p, n));
            let mut rows = Vec::new();
            if !indexes && views != Relations::Tables {
                for v in quorumdb_sql::view::list(&mut txn)? {
                    if keep(&v.name) {
                        rows.push(vec![t("public"), t(v.name), t("view"), t(user)]);
                    }
                }
            }
            let tables = if views == Relations::Views && !indexes {
                vec![]
            } else {
                all_tables(&mut txn)?
            };
            for table in tables {
                if indexes {
                    for (name, ..) in index_list(&table) {
                        if keep(&name) {
                            rows.push(vec![
                                t("public"),
                                t(name),
                                t("index"),
                                t(user),
                                t(table.name.clone()),
                            ]);
                        }
                    }
                } else if keep(&table.name) {
                    rows.push(vec![t("public"), t(table.name.clone()), t("table"), t(user)]);
                }
            }
            rows.sort_by(|a, b| a[1].sort_cmp(&b[1]));
            let cols: &[&str] = if indexes {
                &["Schema", "Name", "Type", "Owner", "Table"]
            } else {
                &["Schema", "Name", "Type", "Owner"]
            };
            result(text_cols(cols), rows)
        }
        Kind::Lookup => {
            let pattern = name_pattern(flat);
            let rows = all_tables(&mut txn)?
                .into_iter()
                .filter(|tb| pattern.as_deref().is_none_or(|p| matches(p, &tb.name)))
                .map(|tb| vec![t(oid_of(&tb)), t("public"), t(tb.name.clone())])
                .collect();
            result(text_cols(&["oid", "nspname", "relname"]), rows)
        }
        Kind::Details => {
            let cols = text_cols(&[
                "relchecks",
                "relkind",
                "relhasindex",
                "relhasrules",
                "relhastriggers",
                "relrowsecurity",
                "relforcerowsecurity",
                "relhasoids",
                "relispartition",
                "?column?",
                "reltablespace",
                "reloftype",
                "relpersistence",
                "relreplident",
                "amname",
            ]);
            let rows = match table_by_oid(&mut txn, flat)? {
                Some(tb) => vec![vec![
                    t(tb.checks.len().to_string()),
                    t("r"),
                    b(!index_list(&tb).is_empty()),
                    b(false),
                    b(false),
                    b(false),
                    b(false),
                    b(false),
                    b(false),
                    t(""),
                    t("0"),
                    t(""),
                    t("p"),
                    t("d"),
                    t("heap"),
                ]],
                None => vec![],
            };
            result(cols, rows)
        }
        Kind::Columns => {
            let cols = text_cols(&[
                "attname",
                "format_type",
                "pg_get_expr",
                "attnotnull",
                "attcollation",
                "attidentity",
                "attgenerated",
            ]);
            let rows = match table_by_oid(&mut txn, flat)? {
                Some(tb) => tb
                    .columns
                    .iter()
                    .map(|c| {
                        vec![
                            t(c.name.clone()),
                            t(format_type(c.ty)),
                            c.default.clone().map(Value::Text).unwrap_or(Value::Null),
                            b(!c.nullable),
                            Value::Null,
                            t(""),
                            t(""),
                        ]
                    })
                    .collect(),
                None => vec![],
            };
            result(cols, rows)
        }
        Kind::Indexes => {
            let cols = text_cols(&[
                "relname",
                "indisprimary",
                "indisunique",
                "indisclustered",
                "indisvalid",
                "pg_get_indexdef",
                "pg_get_constraintdef",
                "contype",
                "condeferrable",
                "condeferred",
                "indisreplident",
                "reltablespace",
            ]);
            let rows = match table_by_oid(&mut txn, flat)? {
                Some(tb) => index_list(&tb)
                    .into_iter()
                    .map(|(name, primary, unique, cols)| {
                        let def = format!(
                            "CREATE {}INDEX {name} ON public.{} USING btree ({cols})",
                            if unique { "UNIQUE " } else { "" },
                            tb.name
                        );
                        vec![
                            t(name),
                            b(primary),
                            b(unique),
                            b(false),
                            b(true),
                            t(def),
                            if primary {
                                t(format!("PRIMARY KEY ({cols})"))
                            } else {
                                Value::Null
                            },
                            if primary { t("p") } else { Value::Null },
                            b(false),
                            b(false),
                            b(false),
                            t("0"),
                        ]
                    })
                    .collect(),
                None => vec![],
            };
            result(cols, rows)
        }
        Kind::Empty => result(vec![], vec![]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_and_literals() {
        assert!(matches("t1", "t1"));
        assert!(!matches("t1", "t10"));
        assert!(matches("t.*", "t10"));
        assert!(matches("a.c", "abc"));
        assert_eq!(quoted_oid("WHERE c.oid = '16520' AND x"), Some("16520".into()));
        assert_eq!(
            name_pattern("WHERE c.relname OPERATOR(pg_catalog.~) '^(t1)$' COLLATE"),
            Some("t1".into())
        );
    }
}
