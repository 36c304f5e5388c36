//! Views: `CREATE [OR REPLACE] VIEW`, `DROP VIEW`, and their use in FROM.
//!
//! A view is stored as the text of its query, with its columns' names and
//! types as of CREATE, under the system prefix (see `keys.rs`), and
//! expanded where a query names it: the binder parses and binds the text
//! as a derived table, in a scope of its own (a view sees neither the
//! enclosing query's columns nor its WITH names). Its query is bound once
//! at CREATE, so a view that cannot run is refused then (42P01, 42703, ...).
//!
//! Invariants: a view is a relation, in the namespace tables, indexes and
//! sequences share. Each definition lists what its query names, as the
//! binder resolved it (`depends_on`: tables, views, sequences), so DROP of
//! one of those is refused (2BP01) unless CASCADE drops the dependent
//! views too, and renaming a table, or renaming or dropping a column of a
//! table, that a view reads is refused (the stored text names them). A
//! view whose query no longer binds to the column types recorded at
//! CREATE (a column added under `SELECT *`) is never shown with shifted
//! names: ALTER TABLE and CREATE OR REPLACE VIEW re-expand the views that
//! read what they changed and refuse a change that would break one
//! (0A000), and a use that still finds a mismatch is 55000. A view reading itself, also through
//! others, is 42P17 at CREATE.
//!
//! Not here: writing through a view (INSERT/UPDATE/DELETE, ALTER TABLE or
//! CREATE INDEX on a view is 42809), renaming a view, materialized views,
//! `WITH CHECK OPTION`, recursive views.

use quorumdb_storage::{ScanOrder, Transaction};
use serde::{Deserialize, Serialize};
use sqlparser::ast;

use crate::binder::{Binder, ident, object_name};
use crate::catalog;
use crate::error::{Result, SqlError, codes};
use crate::keys;
use crate::types::DataType;

/// A view's definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub name: String,
    /// The query, as SQL text.
    pub sql: String,
    /// Its columns as of CREATE: names (those given in CREATE VIEW, else
    /// the query's) and types. A use whose query no longer binds to these
    /// types is refused rather than mislabelled.
    pub output: Vec<(String, DataType)>,
    /// Tables, views and sequences its query names (as the binder resolved
    /// them, so WITH names and table functions are not among them).
    pub depends_on: Vec<String>,
}

fn encode(v: &View) -> Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| SqlError::internal(format!("view encode: {e}")))
}

/// Every byte must be used: leftovers mean a layout this build does not
/// know, which must fail rather than lose fields.
fn decode(b: &[u8]) -> Result<View> {
    match postcard::take_from_bytes(b) {
        Ok((v, [])) => Ok(v),
        Ok((_, rest)) => Err(SqlError::internal(format!(
            "view decode: {} unexpected trailing bytes",
            rest.len()
        ))),
        Err(e) => Err(SqlError::internal(format!("view decode: {e}"))),
    }
}

pub fn get(txn: &mut Transaction, name: &str) -> Result<Option<View>> {
    txn.get(&keys::catalog_key(keys::CATALOG_VIEW, name))?
        .map(|b| decode(&b))
        .transpose()
}

/// Every view, in name order.
pub fn list(txn: &mut Transaction) -> Result<Vec<View>> {
    txn.scan_prefix(keys::CATALOG_VIEW, ScanOrder::Forward)
        .map(|item| decode(&item?.1))
        .collect()
}

/// The views that name `name` (a table, view or sequence). A constraint
/// read (validated at commit whatever the isolation level), so a view
/// created concurrently with a DROP of what it reads makes one of them
/// fail.
pub fn dependents(txn: &mut Transaction, name: &str) -> Result<Vec<View>> {
    Ok(txn
        .constraint_reads(list)?
        .into_iter()
        .filter(|v| v.depends_on.iter().any(|d| d == name))
        .collect())
}

/// The query of a stored view, parsed.
pub fn query(view: &View) -> Result<ast::Query> {
    let mut stmts = crate::session::parse(&view.sql)?;
    match (stmts.pop(), stmts.is_empty()) {
        (Some(ast::Statement::Query(q)), true) => Ok(*q),
        _ => Err(SqlError::internal(format!(
            "view \"{}\" holds no query",
            view.name
        ))),
    }
}

/// CREATE [OR REPLACE] VIEW. `relation_exists`: something of that name is
/// in the relation namespace.
pub fn create(txn: &mut Transaction, cv: &ast::CreateView, relation_exists: bool) -> Result<()> {
    if cv.materialized {
        return Err(SqlError::unsupported("materialized views"));
    }
    if cv.temporary {
        return Err(SqlError::unsupported("temporary views"));
    }
    let name = object_name(&cv.name)?;
    let old = get(txn, &name)?;
    if relation_exists {
        if cv.or_replace && old.is_none() {
            return Err(SqlError::new(
                codes::WRONG_OBJECT_TYPE,
                format!("\"{name}\" is not a view"),
            ));
        }
        if !cv.or_replace {
            if cv.if_not_exists {
                return Ok(());
            }
            return Err(SqlError::new(
                codes::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
    }
    // Everything read to define it is validated at commit, so a concurrent
    // DROP of a table it reads cannot slip past (see `dependents`).
    txn.constraint_reads(|txn| define(txn, cv, name, old))
}

fn define(txn: &mut Transaction, cv: &ast::CreateView, name: String, old: Option<View>) -> Result<()> {
    let given: Vec<String> = cv.columns.iter().map(|c| ident(&c.name)).collect();
    // Bound once now: a view that cannot run is refused here.
    let mut binder = Binder::new(txn);
    let (_, out) = binder.bind_query(&cv.query)?;
    let depends_on: Vec<String> = std::mem::take(&mut binder.resolved)
        .into_iter()
        .filter(|r| *r != name)
        .collect();
    if given.len() > out.len() {
        return Err(SqlError::new(
            codes::SYNTAX_ERROR,
            "CREATE VIEW specifies more column names than columns",
        ));
    }
    let mut output: Vec<(String, DataType)> = out.into_iter().map(|c| (c.name, c.ty)).collect();
    for ((n, _), g) in output.iter_mut().zip(&given) {
        *n = g.clone();
    }
    for (i, (n, _)) in output.iter().enumerate() {
        if output[..i].iter().any(|(m, _)| m == n) {
            return Err(SqlError::new(
                codes::DUPLICATE_COLUMN,
                format!("column \"{n}\" specified more than once"),
            ));
        }
    }
    // As in PostgreSQL, OR REPLACE may add columns at the end, nothing
    // else: views and queries built on this one rely on its columns.
    if let Some(old) = &old {
        if output.len() < old.output.len() {
            return Err(SqlError::new(
                codes::INVALID_TABLE_DEFINITION,
                "cannot drop columns from view",
            ));
        }
        for ((n, t), (on, ot)) in output.iter().zip(&old.output) {
            if n != on || t != ot {
                return Err(SqlError::new(
                    codes::INVALID_TABLE_DEFINITION,
                    format!("cannot change name or data type of view column \"{on}\""),
                ));
            }
        }
    }
    let view = View {
        name: name.clone(),
        sql: cv.query.to_string(),
        output,
        depends_on,
    };
    txn.set(keys::catalog_key(keys::CATALOG_VIEW, &name), encode(&view)?)?;
    // Expanded once as stored: a definition that reads itself, directly or
    // through other views (OR REPLACE can close such a loop), is refused
    // now (42P17) rather than on every use.
    expand(txn, &name)?;
    check_dependents(txn, &name)
}

/// Binds `SELECT * FROM name` (a view), which expands it.
fn expand(txn: &mut Transaction, name: &str) -> Result<()> {
    let probe = crate::session::parse(&format!("SELECT * FROM {}", quote(name)))?;
    if let Some(ast::Statement::Query(q)) = probe.first() {
        Binder::new(txn).bind_query(q)?;
    }
    Ok(())
}

/// After DDL on `name` (a table or view, already written): refuses
/// (0A000) a change that would leave a view reading it unusable, such as
/// a column added under a view's `SELECT *`, instead of letting the view
/// fail on every later use. Checking the direct readers is enough: a
/// view further up sees a change only through one of them.
pub fn check_dependents(txn: &mut Transaction, name: &str) -> Result<()> {
    for v in dependents(txn, name)? {
        if let Err(e) = expand(txn, &v.name) {
            return Err(SqlError::unsupported(format!(
                "this change to {name} would break view {} ({}); drop and re-create the view",
                v.name, e.message
            )));
        }
    }
    Ok(())
}

/// `name` as an SQL identifier that keeps its exact spelling.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Refuses (2BP01) dropping `name` while views read it, or, with
/// `cascade`, drops those views (and the views that read them) first.
/// Views in `dropped` (a DROP VIEW statement's own list) do not count.
pub fn drop_dependents(txn: &mut Transaction, name: &str, cascade: bool, dropped: &[String]) -> Result<()> {
    // A walk over the recorded dependencies that visits each view once: a
    // stale record can never make it loop.
    let mut seen: Vec<String> = vec![name.to_string()];
    let mut queue: Vec<String> = vec![name.to_string()];
    let mut doomed: Vec<String> = Vec::new();
    while let Some(current) = queue.pop() {
        for v in dependents(txn, &current)? {
            if dropped.contains(&v.name) || seen.contains(&v.name) {
                continue;
            }
            if !cascade {
                return Err(SqlError::new(
                    codes::DEPENDENT_OBJECTS_STILL_EXIST,
                    format!(
                        "cannot drop {name} because other objects depend on it (view {}; DROP ... CASCADE drops them)",
                        v.name
                    ),
                ));
            }
            seen.push(v.name.clone());
            queue.push(v.name.clone());
            doomed.push(v.name);
        }
    }
    for v in doomed {
        txn.delete(keys::catalog_key(keys::CATALOG_VIEW, &v))?;
    }
    Ok(())
}

/// DROP VIEW of one name.
pub fn drop(
    txn: &mut Transaction,
    name: &str,
    if_exists: bool,
    cascade: bool,
    dropped: &[String],
) -> Result<()> {
    if get(txn, name)?.is_none() {
        if catalog::get_table(txn, name)?.is_some()
            || catalog::index_owner(txn, name)?.is_some()
            || crate::sequence::get(txn, name)?.is_some()
        {
            return Err(SqlError::new(
                codes::WRONG_OBJECT_TYPE,
                format!("\"{name}\" is not a view"),
            ));
        }
        if if_exists {
            return Ok(());
        }
        return Err(SqlError::new(
            codes::UNDEFINED_TABLE,
            format!("view \"{name}\" does not exist"),
        ));
    }
    drop_dependents(txn, name, cascade, dropped)?;
    txn.delete(keys::catalog_key(keys::CATALOG_VIEW, name))?;
    Ok(())
}

/// Refuses renaming `name` while views read it (their text names it).
pub fn refuse_rename(txn: &mut Transaction, name: &str) -> Result<()> {
    if let Some(v) = dependents(txn, name)?.first() {
        return Err(SqlError::unsupported(format!(
            "renaming {name}, which view {} reads (drop and re-create the view)",
            v.name
        )));
    }
    Ok(())
}
