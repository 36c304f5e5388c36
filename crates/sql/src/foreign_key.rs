//! Foreign keys: `REFERENCES` and `FOREIGN KEY (...) REFERENCES ...`.
//!
//! A foreign key lives in the referencing table's definition
//! ([`catalog::ForeignKey`]); the referenced table lists the tables that
//! reference it (`referenced_by`), so a DELETE or UPDATE there knows where
//! to look without scanning the catalog.
//!
//! Enforcement is plain reads and writes in the statement's transaction:
//! - a row written to a referencing table must find its key in the parent
//!   (a point read of the parent's primary key or unique index), unless
//!   one of its key columns is NULL (MATCH SIMPLE);
//! - a parent row deleted, or whose referenced key changes, must not be
//!   referenced: ON DELETE NO ACTION / RESTRICT refuse (23503), CASCADE
//!   deletes the referencing rows (and what references them), SET NULL
//!   clears their key columns. Referencing rows are found through an index
//!   or primary key that starts with the foreign-key columns when the
//!   table has one, else by scanning the table.
//!
//! **Why this is enough under concurrency:** both sides' reads join the
//! transaction's read set and are validated at commit whatever the
//! isolation level (`Transaction::constraint_reads`), so a concurrent
//! insert of a child and delete of its parent conflict (40001) instead of
//! both committing, under REPEATABLE READ too.
//!
//! ON DELETE NO ACTION is checked when the DELETE statement has removed all
//! its rows (so `DELETE FROM tree` may remove parents and children
//! together), RESTRICT at once, as in PostgreSQL.
//!
//! Not here: ON UPDATE CASCADE / SET NULL / SET DEFAULT, ON DELETE SET
//! DEFAULT, MATCH FULL (0A000). A `DEFERRABLE` constraint is accepted but
//! checked within the statement, not at COMMIT; an UPDATE that changes a
//! referenced key is refused row by row, not at the end of the statement.

use quorumdb_storage::{ScanOrder, Transaction};
use sqlparser::ast;

use crate::binder::{ident, object_name};
use crate::catalog::{self, ForeignKey, OnDelete, Table};
use crate::dml;
use crate::error::{Result, SqlError, codes};
use crate::keys;
use crate::types::{DataType, Row, Value};

/// How deep ON DELETE CASCADE may chain.
const MAX_CASCADE: usize = 1000;

/// Builds the foreign key `spec` declares on `table` (`column`: the column
/// it is written on, for a column's `REFERENCES`). A self-reference is
/// resolved against `table` itself.
pub fn define(
    txn: &mut Transaction,
    table: &Table,
    spec: &ast::ForeignKeyConstraint,
    column: Option<usize>,
) -> Result<ForeignKey> {
    let columns: Vec<usize> = match column {
        Some(c) => vec![c],
        None => spec
            .columns
            .iter()
            .map(|c| position(table, &ident(c)))
            .collect::<Result<_>>()?,
    };
    let parent_name = object_name(&spec.foreign_table)?;
    let parent = if parent_name == table.name {
        table.clone()
    } else {
        catalog::must_get_table(txn, &parent_name)?
    };
    let parent_columns: Vec<usize> = if spec.referred_columns.is_empty() {
        if parent.primary_key.is_empty() {
            return Err(SqlError::new(
                codes::INVALID_FOREIGN_KEY,
                format!("there is no primary key for referenced table \"{parent_name}\""),
            ));
        }
        parent.primary_key.clone()
    } else {
        spec.referred_columns
            .iter()
            .map(|c| position(&parent, &ident(c)))
            .collect::<Result<_>>()?
    };
    if columns.len() != parent_columns.len() {
        return Err(SqlError::new(
            codes::INVALID_FOREIGN_KEY,
            "number of referencing and referenced columns for foreign key disagree",
        ));
    }
    let unique = parent_columns == parent.primary_key
        || parent
            .indexes
            .iter()
            .any(|i| i.unique && i.columns == parent_columns);
    if !unique {
        return Err(SqlError::new(
            codes::INVALID_FOREIGN_KEY,
            format!(
                "there is no unique constraint matching given keys for referenced table \"{parent_name}\""
            ),
        ));
    }
    let name = match &spec.name {
        Some(n) => ident(n),
        None => {
            let cols: Vec<&str> = columns.iter().map(|&c| table.columns[c].name.as_str()).collect();
            format!("{}_{}_fkey", table.name, cols.join("_"))
        }
    };
    for (&c, &p) in columns.iter().zip(&parent_columns) {
        let (a, b) = (table.columns[c].ty, parent.columns[p].ty);
        let text = |t: DataType| matches!(t, DataType::Text(_));
        if !(a == b || (a.is_numeric() && b.is_numeric()) || (text(a) && text(b))) {
            return Err(SqlError::new(
                codes::DATATYPE_MISMATCH,
                format!(
                    "foreign key constraint \"{name}\" cannot be implemented: key columns \"{}\" and \"{}\" are of incompatible types: {} and {}",
                    table.columns[c].name,
                    parent.columns[p].name,
                    a.name(),
                    b.name()
                ),
            ));
        }
    }
    let on_delete = match spec.on_delete {
        None | Some(ast::ReferentialAction::NoAction) => OnDelete::NoAction,
        Some(ast::ReferentialAction::Restrict) => OnDelete::Restrict,
        Some(ast::ReferentialAction::Cascade) => OnDelete::Cascade,
        Some(ast::ReferentialAction::SetNull) => OnDelete::SetNull,
        Some(ast::ReferentialAction::SetDefault) => {
            return Err(SqlError::unsupported("ON DELETE SET DEFAULT"));
        }
    };
    match spec.on_update {
        None | Some(ast::ReferentialAction::NoAction | ast::ReferentialAction::Restrict) => {}
        Some(other) => return Err(SqlError::unsupported(format!("ON UPDATE {other}"))),
    }
    if let Some(kind) = &spec.match_kind
        && !matches!(kind, ast::ConstraintReferenceMatchKind::Simple)
    {
        return Err(SqlError::unsupported(format!("{kind}")));
    }
    Ok(ForeignKey {
        name,
        columns,
        parent: parent_name,
        parent_columns,
        on_delete,
    })
}

fn position(table: &Table, name: &str) -> Result<usize> {
    table.column_index(name).ok_or_else(|| {
        SqlError::new(
            codes::UNDEFINED_COLUMN,
            format!("column \"{name}\" referenced in foreign key constraint does not exist"),
        )
    })
}

/// `row`'s values in `cols`, cast to `to`'s column types at `to_cols`:
/// `None` if one is NULL (nothing to check), `Some(None)` if one has no
/// exact equal there (a cast that fails, rounds or truncates: no row of
/// `to` holds that key, so 1.5 never matches 2, nor 'abcd' 'abc').
fn key_values(row: &Row, cols: &[usize], to: &Table, to_cols: &[usize]) -> Option<Option<Vec<Value>>> {
    let mut out = Vec::with_capacity(cols.len());
    for (&c, &t) in cols.iter().zip(to_cols) {
        let v = row.get(c)?;
        if v.is_null() {
            return None;
        }
        let exact = to
            .columns
            .get(t)
            .and_then(|col| v.clone().cast(col.ty).ok())
            .filter(|cast| cast.clone().cast(v.data_type()).is_ok_and(|back| back == *v));
        out.push(exact);
    }
    Some(out.into_iter().collect())
}

/// Checks that the foreign keys of `table` find their keys for `row`
/// (about to be written; 23503 if not): all of them for a new row, those
/// whose columns change for an update of `old`.
pub fn check_references(txn: &mut Transaction, table: &Table, row: &Row, old: Option<&Row>) -> Result<()> {
    for fk in &table.foreign_keys {
        if let Some(old) = old
            && fk.columns.iter().all(|&c| old.get(c) == row.get(c))
        {
            continue;
        }
        let parent = if fk.parent == table.name {
            None
        } else {
            Some(txn.constraint_reads(|txn| catalog::must_get_table_shared(txn, &fk.parent))?)
        };
        let parent_ref: &Table = parent.as_deref().unwrap_or(table);
        let Some(vals) = key_values(row, &fk.columns, parent_ref, &fk.parent_columns) else {
            continue;
        };
        // A row may reference itself.
        let own = parent.is_none()
            && vals.as_ref().is_some_and(|v| {
                fk.parent_columns
                    .iter()
                    .zip(v)
                    .all(|(&p, v)| row.get(p) == Some(v))
            });
        let found = match &vals {
            Some(v) => own || parent_has(txn, parent_ref, &fk.parent_columns, v)?,
            None => false,
        };
        if !found {
            return Err(SqlError::new(
                codes::FOREIGN_KEY_VIOLATION,
                format!(
                    "insert or update on table \"{}\" violates foreign key constraint \"{}\"",
                    table.name, fk.name
                ),
            ));
        }
    }
    Ok(())
}

/// True if `parent` has a row with `vals` in `cols` (its primary key or a
/// unique index).
fn parent_has(txn: &mut Transaction, parent: &Table, cols: &[usize], vals: &[Value]) -> Result<bool> {
    txn.constraint_reads(|txn| parent_has_read(txn, parent, cols, vals))
}

fn parent_has_read(txn: &mut Transaction, parent: &Table, cols: &[usize], vals: &[Value]) -> Result<bool> {
    if cols == parent.primary_key.as_slice() {
        return Ok(txn.get(&keys::row_key(parent.id, vals))?.is_some());
    }
    for index in parent.indexes.iter().filter(|i| i.unique && i.columns == cols) {
        let mut prefix = keys::index_prefix(index.id);
        keys::append_values(&mut prefix, vals, &index.directions());
        if let Some(item) = txn.scan_prefix(&prefix, ScanOrder::Forward).next() {
            item?;
            return Ok(true);
        }
    }
    Ok(false)
}

/// The rows of `child` whose `fk` columns hold `vals` (already cast to
/// the child's column types).
fn referencing_rows(
    txn: &mut Transaction,
    child: &Table,
    fk: &ForeignKey,
    vals: &[Value],
) -> Result<Vec<Row>> {
    txn.constraint_reads(|txn| referencing_rows_read(txn, child, fk, vals))
}

fn referencing_rows_read(
    txn: &mut Transaction,
    child: &Table,
    fk: &ForeignKey,
    vals: &[Value],
) -> Result<Vec<Row>> {
    let n = fk.columns.len();
    if child.primary_key.len() >= n && child.primary_key[..n] == fk.columns[..] {
        let mut prefix = keys::table_prefix(child.id);
        keys::append_values(&mut prefix, vals, &[]);
        return txn
            .scan_prefix(&prefix, ScanOrder::Forward)
            .map(|item| keys::decode_row(&item?.1))
            .collect();
    }
    if let Some(index) = child
        .indexes
        .iter()
        .find(|i| i.columns.len() >= n && i.columns[..n] == fk.columns[..])
    {
        let plen = keys::index_prefix(index.id).len();
        let mut prefix = keys::index_prefix(index.id);
        keys::append_values(&mut prefix, vals, &index.directions());
        let pks: Vec<Vec<Value>> = txn
            .scan_prefix(&prefix, ScanOrder::Forward)
            .map(|item| keys::decode_index_pk(&item?.0, plen, index.columns.len()))
            .collect::<Result<_>>()?;
        let mut rows = Vec::with_capacity(pks.len());
        for pk in pks {
            if let Some(v) = txn.get(&keys::row_key(child.id, &pk))? {
                rows.push(keys::decode_row(&v)?);
            }
        }
        return Ok(rows);
    }
    // No index leads with the key: read the whole table.
    let mut rows = Vec::new();
    for item in txn.scan_prefix(&keys::table_prefix(child.id), ScanOrder::Forward) {
        crate::interrupt::check_current()?;
        let row = keys::decode_row(&item?.1)?;
        if fk.columns.iter().zip(vals).all(|(&c, v)| row.get(c) == Some(v)) {
            rows.push(row);
        }
    }
    Ok(rows)
}

/// Every (referencing table, foreign key) that points at `parent`.
fn referencing(txn: &mut Transaction, parent: &Table) -> Result<Vec<(Table, ForeignKey)>> {
    let mut out = Vec::new();
    for name in &parent.referenced_by {
        let child = if *name == parent.name {
            parent.clone()
        } else {
            match txn.constraint_reads(|txn| catalog::get_table(txn, name))? {
                Some(t) => t,
                None => continue,
            }
        };
        for fk in child.foreign_keys.iter().filter(|fk| fk.parent == parent.name) {
            out.push((child.clone(), fk.clone()));
        }
    }
    Ok(out)
}

fn still_referenced(parent: &str, fk: &ForeignKey, child: &Table) -> SqlError {
    SqlError::new(
        codes::FOREIGN_KEY_VIOLATION,
        format!(
            "update or delete on table \"{parent}\" violates foreign key constraint \"{}\" on table \"{}\"",
            fk.name, child.name
        ),
    )
}

/// A NO ACTION check left for the end of the statement: rows of `child`
/// must no longer reference `vals` once every row the statement deletes
/// is gone (as PostgreSQL checks NO ACTION after the statement).
pub struct Pending {
    parent: String,
    child: Table,
    fk: ForeignKey,
    vals: Vec<Value>,
}

/// Runs the checks [`on_delete`] left for the end of a statement.
pub fn check_pending(txn: &mut Transaction, pending: Vec<Pending>) -> Result<()> {
    for p in pending {
        if !referencing_rows(txn, &p.child, &p.fk, &p.vals)?.is_empty() {
            return Err(still_referenced(&p.parent, &p.fk, &p.child));
        }
    }
    Ok(())
}

/// `row` of `parent` has just been deleted: applies each referencing
/// foreign key's ON DELETE action; NO ACTION checks go to `pending`.
/// `depth`: how many cascades led here.
pub fn on_delete(
    txn: &mut Transaction,
    parent: &Table,
    row: &Row,
    depth: usize,
    pending: &mut Vec<Pending>,
) -> Result<()> {
    if depth > MAX_CASCADE {
        return Err(SqlError::new(
            codes::STATEMENT_TOO_COMPLEX,
            format!("ON DELETE CASCADE chains deeper than {MAX_CASCADE} rows"),
        ));
    }
    for (child, fk) in referencing(txn, parent)? {
        let Some(Some(vals)) = key_values(row, &fk.parent_columns, &child, &fk.columns) else {
            continue;
        };
        let rows = referencing_rows(txn, &child, &fk, &vals)?;
        if rows.is_empty() {
            continue;
        }
        match fk.on_delete {
            OnDelete::NoAction => pending.push(Pending {
                parent: parent.name.clone(),
                child,
                fk,
                vals,
            }),
            OnDelete::Restrict => return Err(still_referenced(&parent.name, &fk, &child)),
            OnDelete::Cascade => {
                for r in rows {
                    dml::delete_row(txn, &child, &r, depth + 1, pending)?;
                }
            }
            OnDelete::SetNull => {
                for r in rows {
                    let mut new = r.clone();
                    for &c in &fk.columns {
                        new[c] = Value::Null;
                    }
                    dml::update_row(txn, &child, &r, new)?;
                }
            }
        }
    }
    Ok(())
}

/// `old` of `parent` becomes `new`: refused (23503) if a referenced key
/// changes while rows reference it.
pub fn on_update(txn: &mut Transaction, parent: &Table, old: &Row, new: &Row) -> Result<()> {
    for (child, fk) in referencing(txn, parent)? {
        let changed = fk.parent_columns.iter().any(|&c| old.get(c) != new.get(c));
        if !changed {
            continue;
        }
        let Some(Some(vals)) = key_values(old, &fk.parent_columns, &child, &fk.columns) else {
            continue;
        };
        if !referencing_rows(txn, &child, &fk, &vals)?.is_empty() {
            return Err(still_referenced(&parent.name, &fk, &child));
        }
    }
    Ok(())
}

/// Adds `fk` (of `table`) to its parent's `referenced_by`, writing the
/// parent back (a self-reference updates `table` itself).
pub fn link(txn: &mut Transaction, table: &mut Table, fk: &ForeignKey) -> Result<()> {
    if fk.parent == table.name {
        if !table.referenced_by.contains(&table.name) {
            table.referenced_by.push(table.name.clone());
        }
        return Ok(());
    }
    let mut parent = catalog::must_get_table(txn, &fk.parent)?;
    if !parent.referenced_by.contains(&table.name) {
        parent.referenced_by.push(table.name.clone());
        catalog::put_table(txn, &parent)?;
    }
    Ok(())
}

/// Removes `table` from the `referenced_by` of `parent_name` once no
/// foreign key of `table` points there any more.
pub fn unlink(txn: &mut Transaction, table: &mut Table, parent_name: &str) -> Result<()> {
    if table.foreign_keys.iter().any(|fk| fk.parent == parent_name) {
        return Ok(());
    }
    if parent_name == table.name {
        let own = table.name.clone();
        table.referenced_by.retain(|n| *n != own);
        return Ok(());
    }
    if let Some(mut parent) = catalog::get_table(txn, parent_name)? {
        parent.referenced_by.retain(|n| *n != table.name);
        catalog::put_table(txn, &parent)?;
    }
    Ok(())
}

/// Checks every stored row of `table` against `fk` (ALTER TABLE ... ADD
/// FOREIGN KEY on a table with data).
pub fn validate_existing(txn: &mut Transaction, table: &Table, fk: &ForeignKey) -> Result<()> {
    let rows: Vec<Row> = txn.constraint_reads(|txn| {
        txn.scan_prefix(&keys::table_prefix(table.id), ScanOrder::Forward)
            .map(|item| keys::decode_row(&item?.1))
            .collect::<Result<_>>()
    })?;
    let mut only = table.clone();
    only.foreign_keys = vec![fk.clone()];
    for row in rows {
        crate::interrupt::check_current()?;
        check_references(txn, &only, &row, None)?;
    }
    Ok(())
}
