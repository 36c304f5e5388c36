//! Views: `CREATE [OR REPLACE] VIEW`, `DROP VIEW`, and their use in FROM.
//!
//! A view is stored as the text of its query (plus optional column names)
//! under the system prefix (see `keys.rs`), and expanded where a query
//! names it: the binder parses and binds the text as a derived table, in a
//! scope of its own (a view sees neither the enclosing query's columns nor
//! its WITH names). Its query is bound once at CREATE, so a view that
//! cannot run is refused then (42P01, 42703, ...).
//!
//! Invariants: a view is a relation, in the namespace tables, indexes and
//! sequences share; each definition lists the tables and views it reads
//! (`depends_on`), so DROP TABLE or DROP VIEW of something a view reads is
//! refused (2BP01) unless CASCADE drops the dependent views too, and
//! renaming a table or view others read is refused (the stored text names
//! it). Expanding a view that (through OR REPLACE) reads itself is 42P17.
//!
//! Not here: writing through a view (INSERT/UPDATE/DELETE on a view is
//! 0A000), materialized views, `WITH CHECK OPTION`, recursive views. Unlike
//! PostgreSQL, `SELECT *` in a view is expanded each time it is used, so
//! columns added to a base table later appear in the view, and dropping a
//! column a view reads breaks the view (42703 when used) instead of being
//! refused.

use std::ops::ControlFlow;

use quorumdb_storage::{ScanOrder, Transaction};
use serde::{Deserialize, Serialize};
use sqlparser::ast;

use crate::binder::{Binder, ident, object_name};
use crate::catalog;
use crate::error::{Result, SqlError, codes};
use crate::keys;

/// A view's definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct View {
    pub name: String,
    /// The query, as SQL text.
    pub sql: String,
    /// Column names given in CREATE VIEW (may name fewer columns than the
    /// query has; the rest keep the query's names).
    pub columns: Vec<String>,
    /// Tables and views its query reads.
    pub depends_on: Vec<String>,
}

fn encode(v: &View) -> Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| SqlError::internal(format!("view encode: {e}")))
}

fn decode(b: &[u8]) -> Result<View> {
    postcard::from_bytes(b).map_err(|e| SqlError::internal(format!("view decode: {e}")))
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

/// The views that read `name` (a table or view).
pub fn dependents(txn: &mut Transaction, name: &str) -> Result<Vec<View>> {
    Ok(list(txn)?
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

/// CREATE [OR REPLACE] VIEW.
pub fn create(txn: &mut Transaction, cv: &ast::CreateView, relation_exists: bool) -> Result<()> {
    if cv.materialized {
        return Err(SqlError::unsupported("materialized views"));
    }
    if cv.temporary {
        return Err(SqlError::unsupported("temporary views"));
    }
    let name = object_name(&cv.name)?;
    if relation_exists {
        let replacing = cv.or_replace && get(txn, &name)?.is_some();
        if !replacing {
            if cv.if_not_exists {
                return Ok(());
            }
            return Err(SqlError::new(
                codes::DUPLICATE_TABLE,
                format!("relation \"{name}\" already exists"),
            ));
        }
    }
    let columns: Vec<String> = cv.columns.iter().map(|c| ident(&c.name)).collect();
    // Bound once now: a view that cannot run is refused here.
    let (_, out) = Binder::new(txn).bind_query(&cv.query)?;
    if columns.len() > out.len() {
        return Err(SqlError::new(
            codes::SYNTAX_ERROR,
            "CREATE VIEW specifies more column names than columns",
        ));
    }
    let mut names: Vec<String> = out.into_iter().map(|c| c.name).collect();
    for (n, given) in names.iter_mut().zip(&columns) {
        *n = given.clone();
    }
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            return Err(SqlError::new(
                codes::DUPLICATE_COLUMN,
                format!("column \"{n}\" specified more than once"),
            ));
        }
    }
    let mut depends_on: Vec<String> = Vec::new();
    let mut relations = Vec::new();
    let _ = ast::visit_relations(&*cv.query, |r| {
        relations.push(r.clone());
        ControlFlow::<()>::Continue(())
    });
    for r in relations {
        let Ok(n) = object_name(&r) else { continue };
        let exists = catalog::get_table(txn, &n)?.is_some() || get(txn, &n)?.is_some();
        if exists && n != name && !depends_on.contains(&n) {
            depends_on.push(n);
        }
    }
    let view = View {
        name: name.clone(),
        sql: cv.query.to_string(),
        columns,
        depends_on,
    };
    txn.set(keys::catalog_key(keys::CATALOG_VIEW, &name), encode(&view)?)?;
    // Expanded once as stored: a definition that reads itself, directly or
    // through other views (OR REPLACE can close such a loop), is refused
    // now (42P17) rather than on every use.
    let probe = crate::session::parse(&format!("SELECT * FROM {}", quote(&name)))?;
    if let Some(ast::Statement::Query(q)) = probe.first() {
        Binder::new(txn).bind_query(q)?;
    }
    Ok(())
}

/// `name` as an SQL identifier that keeps its exact spelling.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Refuses (2BP01) dropping `name` while views read it, or, with
/// `cascade`, drops those views (and theirs) first. Views in `dropped`
/// (the statement's own list) do not count.
pub fn drop_dependents(txn: &mut Transaction, name: &str, cascade: bool, dropped: &[String]) -> Result<()> {
    let views: Vec<View> = dependents(txn, name)?
        .into_iter()
        .filter(|v| !dropped.contains(&v.name))
        .collect();
    let Some(first) = views.first() else {
        return Ok(());
    };
    if !cascade {
        return Err(SqlError::new(
            codes::DEPENDENT_OBJECTS_STILL_EXIST,
            format!(
                "cannot drop {name} because other objects depend on it (view {}; DROP ... CASCADE drops them)",
                first.name
            ),
        ));
    }
    for v in views {
        drop_dependents(txn, &v.name, true, dropped)?;
        txn.delete(keys::catalog_key(keys::CATALOG_VIEW, &v.name))?;
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
