//! DML: INSERT, UPDATE, DELETE and the row/index maintenance they share.
//!
//! Statements first materialise the rows they will change (so an UPDATE
//! never sees its own writes), then write rows and index entries through
//! the transaction. Constraints are checked per row as PostgreSQL does for
//! non-deferred constraints: NOT NULL (23502), CHECK (23514), primary key
//! and unique indexes (23505; NULLs never conflict). Values are cast to the
//! column type on the way in (22003 when out of range).
//!
//! INSERT ... ON CONFLICT picks its arbiters from the conflict target as
//! PostgreSQL infers them (the primary key or unique indexes with exactly
//! the target's columns, or the named one; every unique constraint for a
//! DO NOTHING without a target), probes only those for the proposed row
//! (as constraint reads, validated at commit), and otherwise inserts as a
//! plain INSERT does, so a conflict on any other constraint is 23505. It
//! does not support index predicates (there are no partial indexes).

use quorumdb_storage::{ScanOrder, Transaction};
use sqlparser::ast;

use crate::binder::{Binder, OutColumn, Scope, ScopeColumn, expr_name, ident, object_name};
use crate::catalog::{self, Index, Table};
use crate::error::{Result, SqlError, codes};
use crate::exec::{self, ExecCtx};
use crate::expr::{Expr, infer_type};
use crate::keys;
use crate::optimizer::{self, Leaf};
use crate::plan::Plan;
use crate::session::parse_expr;
use crate::types::{Row, Value};
use std::sync::Arc;

/// What a DML statement did: the row count, and the RETURNING rows.
pub struct DmlResult {
    pub count: u64,
    pub returning: Option<(Vec<OutColumn>, Vec<Row>)>,
}

/// Binds a RETURNING list against the table's columns.
fn bind_returning(
    txn: &mut Transaction,
    table: &Table,
    alias: Option<&str>,
    items: Option<&Vec<ast::SelectItem>>,
) -> Result<Option<(Vec<OutColumn>, Vec<Expr>)>> {
    let Some(items) = items else { return Ok(None) };
    let scope = table_scope(table, alias);
    let mut cols = Vec::new();
    let mut exprs = Vec::new();
    let types: Vec<_> = scope.iter().map(|c| c.ty).collect();
    // One binder for the whole list: its expressions are evaluated in one
    // context, whose subquery cache is keyed by the binder's numbering.
    let mut binder = Binder::new(txn);
    for item in items {
        match item {
            ast::SelectItem::Wildcard(_) => {
                for (i, c) in table.columns.iter().enumerate() {
                    cols.push(OutColumn {
                        name: c.name.clone(),
                        ty: c.ty,
                    });
                    exprs.push(Expr::Column(i));
                }
            }
            ast::SelectItem::UnnamedExpr(e) | ast::SelectItem::ExprWithAlias { expr: e, .. } => {
                let b = binder.bind_expr(e, &scope, None)?;
                let name = match item {
                    ast::SelectItem::ExprWithAlias { alias, .. } => ident(alias),
                    _ => expr_name(e),
                };
                cols.push(OutColumn {
                    name,
                    ty: infer_type(&b, &types),
                });
                exprs.push(b);
            }
            other => return Err(SqlError::unsupported(format!("RETURNING {other}"))),
        }
    }
    Ok(Some((cols, exprs)))
}

fn eval_returning(txn: &mut Transaction, exprs: &[Expr], row: &Row) -> Result<Row> {
    let mut ctx = ExecCtx::new(txn);
    exprs.iter().map(|e| e.eval(row, &mut ctx)).collect()
}

/// The primary-key values of a stored row (the hidden row id when the
/// table has no primary key).
pub fn pk_values(table: &Table, row: &Row) -> Vec<Value> {
    if table.primary_key.is_empty() {
        vec![row.get(table.columns.len()).cloned().unwrap_or(Value::Null)]
    } else {
        table
            .primary_key
            .iter()
            .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
            .collect()
    }
}

fn index_values(index: &Index, row: &Row) -> Vec<Value> {
    index
        .columns
        .iter()
        .map(|&i| row.get(i).cloned().unwrap_or(Value::Null))
        .collect()
}

fn index_key(index: &Index, row: &Row, pk: &[Value]) -> Vec<u8> {
    let mut k = keys::index_prefix(index.id);
    keys::append_values(&mut k, &index_values(index, row), &index.directions());
    keys::append_values(&mut k, pk, &[]);
    k
}

/// Writes one index entry, checking uniqueness first when asked.
pub fn put_index_entry(
    txn: &mut Transaction,
    table: &Table,
    index: &Index,
    row: &Row,
    pk: &[Value],
    check: bool,
) -> Result<()> {
    let vals = index_values(index, row);
    if check && index.unique && !vals.iter().any(Value::is_null) {
        let mut prefix = keys::index_prefix(index.id);
        keys::append_values(&mut prefix, &vals, &index.directions());
        let plen = keys::index_prefix(index.id).len();
        // Validated whatever the isolation level: under SNAPSHOT, two
        // rows with the same value write different index keys, so only
        // this read can make one of two concurrent inserts fail.
        let others = txn.constraint_reads(|txn| -> Result<bool> {
            for item in txn.scan_prefix(&prefix, ScanOrder::Forward) {
                let (k, _) = item?;
                if keys::decode_index_pk(&k, plen, index.columns.len())? != pk {
                    return Ok(true);
                }
            }
            Ok(false)
        })?;
        if others {
            return Err(SqlError::new(
                codes::UNIQUE_VIOLATION,
                format!(
                    "duplicate key value violates unique constraint \"{}\" on table \"{}\"",
                    index.name, table.name
                ),
            ));
        }
    }
    txn.set(index_key(index, row, pk), vec![])?;
    Ok(())
}

fn table_scope(table: &Table, alias: Option<&str>) -> Scope {
    let t = alias.unwrap_or(&table.name).to_string();
    let mut s: Scope = table
        .columns
        .iter()
        .map(|c| ScopeColumn {
            table: Some(t.clone()),
            name: c.name.clone(),
            ty: c.ty,
            hidden: false,
        })
        .collect();
    if table.primary_key.is_empty() {
        // The hidden row id: not nameable (NUL in the name).
        s.push(ScopeColumn {
            table: None,
            name: "\0rowid".into(),
            ty: crate::types::DataType::Int8,
            hidden: false,
        });
    }
    s
}

/// Casts, defaults and checks a full row (without hidden row id).
fn check_row(txn: &mut Transaction, table: &Table, row: &mut Row) -> Result<()> {
    for (i, c) in table.columns.iter().enumerate() {
        let v = std::mem::replace(&mut row[i], Value::Null);
        if let (crate::types::DataType::Text(Some(n)), Some(text)) = (c.ty, v.to_text())
            && text.chars().count() > n as usize
        {
            return Err(SqlError::new(
                codes::STRING_DATA_RIGHT_TRUNCATION,
                format!("value too long for type character varying({n})"),
            ));
        }
        row[i] = v.cast(c.ty)?;
        if !c.nullable && row[i].is_null() {
            return Err(SqlError::new(
                codes::NOT_NULL_VIOLATION,
                format!(
                    "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                    c.name, table.name
                ),
            ));
        }
    }
    if !table.checks.is_empty() {
        let scope = table_scope(table, None);
        for check in &table.checks {
            let e = parse_expr(check)?;
            let bound = Binder::new(txn).bind_expr(&e, &scope, None)?;
            let mut ctx = ExecCtx::new(txn);
            if bound.eval(row, &mut ctx)? == Value::Bool(false) {
                return Err(SqlError::new(
                    codes::CHECK_VIOLATION,
                    format!(
                        "new row for relation \"{}\" violates check constraint ({check})",
                        table.name
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn write_new_row(txn: &mut Transaction, table: &Table, row: Row) -> Result<()> {
    let pk = pk_values(table, &row);
    let key = keys::row_key(table.id, &pk);
    if !table.primary_key.is_empty() && txn.get(&key)?.is_some() {
        return Err(SqlError::new(
            codes::UNIQUE_VIOLATION,
            format!(
                "duplicate key value violates unique constraint \"{}_pkey\"",
                table.name
            ),
        ));
    }
    for index in &table.indexes {
        put_index_entry(txn, table, index, &row, &pk, true)?;
    }
    // After the uniqueness checks: a row ON CONFLICT skips is not checked.
    if !table.foreign_keys.is_empty() {
        crate::foreign_key::check_references(txn, table, &row, None)?;
    }
    txn.set(key, keys::encode_row(&row)?)?;
    Ok(())
}

/// An ON CONFLICT clause, bound.
enum OnConflict {
    Error,
    Nothing,
    /// Assignments over (existing row ++ proposed row), and a WHERE.
    Update(Vec<(usize, Expr)>, Option<Expr>),
}

/// A constraint an ON CONFLICT clause arbitrates on: the primary key, or
/// a unique index (its position in `Table::indexes`).
#[derive(Clone, Copy, PartialEq)]
enum Arbiter {
    PrimaryKey,
    Index(usize),
}

/// Every unique constraint of `table`: the arbiters of an ON CONFLICT
/// without a target.
fn all_arbiters(table: &Table) -> Vec<Arbiter> {
    let pk = (!table.primary_key.is_empty()).then_some(Arbiter::PrimaryKey);
    pk.into_iter()
        .chain(
            table
                .indexes
                .iter()
                .enumerate()
                .filter(|(_, i)| i.unique)
                .map(|(n, _)| Arbiter::Index(n)),
        )
        .collect()
}

/// What an ON CONFLICT target names, resolved against the table (unknown
/// columns are 42703, an unknown constraint 42704, as PostgreSQL reports
/// them while parsing); [`infer_arbiters`] then picks the constraints.
enum Target {
    /// No target: every unique constraint arbitrates.
    Any,
    /// `(cols)`: the set of column positions.
    Columns(Vec<usize>),
    /// `ON CONSTRAINT name`.
    Constraint(Arbiter),
}

fn resolve_target(table: &Table, target: Option<&ast::ConflictTarget>) -> Result<Target> {
    match target {
        None => Ok(Target::Any),
        // An index predicate (`ON CONFLICT (a) WHERE ...`) picks among
        // partial indexes; every unique index here is a whole-table one, so
        // any satisfies it, as in PostgreSQL.
        Some(ast::ConflictTarget::Columns { columns, .. }) => {
            let mut cols = Vec::new();
            for c in columns {
                let n = ident(c);
                let i = table.column_index(&n).ok_or_else(|| {
                    SqlError::new(codes::UNDEFINED_COLUMN, format!("column \"{n}\" does not exist"))
                })?;
                if !cols.contains(&i) {
                    cols.push(i);
                }
            }
            Ok(Target::Columns(cols))
        }
        Some(ast::ConflictTarget::OnConstraint(name)) => {
            let n = object_name(name)?;
            if !table.primary_key.is_empty() && n == format!("{}_pkey", table.name) {
                return Ok(Target::Constraint(Arbiter::PrimaryKey));
            }
            match table.indexes.iter().position(|i| i.unique && i.name == n) {
                Some(p) => Ok(Target::Constraint(Arbiter::Index(p))),
                None => Err(SqlError::new(
                    codes::UNDEFINED_OBJECT,
                    format!("constraint \"{n}\" for table \"{}\" does not exist", table.name),
                )),
            }
        }
    }
}

/// The arbiters of a resolved target: for a column list, every unique
/// constraint whose columns are exactly that set, in any order (42P10
/// when there is none).
fn infer_arbiters(table: &Table, target: &Target) -> Result<Vec<Arbiter>> {
    let cols = match target {
        Target::Any => return Ok(all_arbiters(table)),
        Target::Constraint(a) => return Ok(vec![*a]),
        Target::Columns(cols) => cols,
    };
    let same = |other: &[usize]| other.len() == cols.len() && other.iter().all(|c| cols.contains(c));
    let found: Vec<Arbiter> = all_arbiters(table)
        .into_iter()
        .filter(|a| match a {
            Arbiter::PrimaryKey => same(&table.primary_key),
            Arbiter::Index(n) => table.indexes.get(*n).is_some_and(|i| same(&i.columns)),
        })
        .collect();
    if found.is_empty() {
        return Err(SqlError::new(
            codes::INVALID_COLUMN_REFERENCE,
            "there is no unique or exclusion constraint matching the ON CONFLICT specification",
        ));
    }
    Ok(found)
}

/// Finds the stored row a new row conflicts with on one of `arbiters`
/// (in their order; NULLs never conflict). The probes are constraint
/// reads: the outcome they decide (skip, update or insert) is validated
/// at commit whatever the isolation level, as the uniqueness probes of
/// [`put_index_entry`] are.
fn conflicting_row(
    txn: &mut Transaction,
    table: &Table,
    arbiters: &[Arbiter],
    row: &Row,
) -> Result<Option<Row>> {
    txn.constraint_reads(|txn| {
        for arbiter in arbiters {
            match *arbiter {
                Arbiter::PrimaryKey => {
                    if let Some(v) = txn.get(&keys::row_key(table.id, &pk_values(table, row)))? {
                        return Ok(Some(keys::decode_row(&v)?));
                    }
                }
                Arbiter::Index(n) => {
                    let Some(index) = table.indexes.get(n) else {
                        continue;
                    };
                    let vals = index_values(index, row);
                    if vals.iter().any(Value::is_null) {
                        continue;
                    }
                    let mut prefix = keys::index_prefix(index.id);
                    keys::append_values(&mut prefix, &vals, &index.directions());
                    let plen = keys::index_prefix(index.id).len();
                    let first = txn.scan_prefix(&prefix, ScanOrder::Forward).next();
                    if let Some(item) = first {
                        let (k, _) = item?;
                        let pk = keys::decode_index_pk(&k, plen, index.columns.len())?;
                        if let Some(v) = txn.get(&keys::row_key(table.id, &pk))? {
                            return Ok(Some(keys::decode_row(&v)?));
                        }
                    }
                }
            }
        }
        Ok(None)
    })
}

pub fn insert(txn: &mut Transaction, ins: &ast::Insert) -> Result<DmlResult> {
    let ast::TableObject::TableName(name) = &ins.table else {
        return Err(SqlError::unsupported("INSERT into a table function"));
    };
    // Validated at commit whatever the isolation level: the definition says
    // which constraints (foreign keys on either side) the writes must keep.
    let name = object_name(name)?;
    let table = txn.constraint_reads(|txn| catalog::must_get_table_shared(txn, &name))?;
    let alias = ins.table_alias.as_ref().map(|a| ident(&a.alias));
    let returning = bind_returning(txn, &table, alias.as_deref(), ins.returning.as_ref())?;
    // The target is resolved before the DO UPDATE is bound, and the
    // arbiters inferred after, in PostgreSQL's order of errors.
    let target = match &ins.on {
        None => Target::Any,
        Some(ast::OnInsert::OnConflict(oc)) => {
            if oc.conflict_target.is_none() && matches!(oc.action, ast::OnConflictAction::DoUpdate(_)) {
                return Err(SqlError::syntax(
                    "ON CONFLICT DO UPDATE requires inference specification or constraint name",
                ));
            }
            resolve_target(&table, oc.conflict_target.as_ref())?
        }
        Some(_) => return Err(SqlError::unsupported("this ON clause")),
    };
    let on_conflict = match &ins.on {
        None => OnConflict::Error,
        Some(ast::OnInsert::OnConflict(oc)) => match &oc.action {
            ast::OnConflictAction::DoNothing => OnConflict::Nothing,
            ast::OnConflictAction::DoUpdate(du) => {
                let mut scope = table_scope(&table, alias.as_deref());
                for c in table_scope(&table, Some("excluded")) {
                    scope.push(c);
                }
                let mut sets = Vec::new();
                // One binder for SET and WHERE: they share one evaluation
                // context, whose subquery cache is keyed by its numbering.
                let mut binder = Binder::new(txn);
                for a in &du.assignments {
                    let ast::AssignmentTarget::ColumnName(c) = &a.target else {
                        return Err(SqlError::unsupported("tuple assignment"));
                    };
                    let n = object_name(c)?;
                    let i = table.column_index(&n).ok_or_else(|| {
                        SqlError::new(codes::UNDEFINED_COLUMN, format!("column \"{n}\" does not exist"))
                    })?;
                    sets.push((i, binder.bind_expr(&a.value, &scope, None)?));
                }
                let cond = match &du.selection {
                    Some(w) => Some(binder.bind_expr(w, &scope, None)?),
                    None => None,
                };
                OnConflict::Update(sets, cond)
            }
        },
        Some(_) => return Err(SqlError::unsupported("this ON clause")),
    };
    let arbiters = match on_conflict {
        OnConflict::Error => vec![],
        _ => infer_arbiters(&table, &target)?,
    };
    let targets: Vec<usize> = if ins.columns.is_empty() {
        (0..table.columns.len()).collect()
    } else {
        ins.columns
            .iter()
            .map(|c| {
                let n = object_name(c)?;
                table.column_index(&n).ok_or_else(|| {
                    SqlError::new(
                        codes::UNDEFINED_COLUMN,
                        format!("column \"{n}\" of relation \"{}\" does not exist", table.name),
                    )
                })
            })
            .collect::<Result<_>>()?
    };
    // Source rows; `None` marks DEFAULT. DEFAULT VALUES (no source) is one
    // row of defaults.
    let rows: Vec<Vec<Option<Value>>> = match ins.source.as_deref().map(|s| (s, &*s.body)) {
        None => vec![vec![]],
        Some((source, ast::SetExpr::Values(values)))
            if source.order_by.is_none() && source.limit_clause.is_none() && source.fetch.is_none() =>
        {
            let mut out = Vec::new();
            for r in &values.rows {
                crate::interrupt::check_current()?;
                let mut row = Vec::new();
                for e in r.iter() {
                    if let ast::Expr::Identifier(i) = e
                        && i.quote_style.is_none()
                        && i.value.eq_ignore_ascii_case("default")
                    {
                        row.push(None);
                        continue;
                    }
                    let b = Binder::new(txn).bind_expr(e, &vec![], None)?;
                    let mut ctx = ExecCtx::new(txn);
                    row.push(Some(b.eval(&[], &mut ctx)?));
                }
                out.push(row);
            }
            out
        }
        Some((source, _)) => {
            let (plan, _) = Binder::new(txn).bind_query(source)?;
            let mut ctx = ExecCtx::new(txn);
            exec::collect(&plan, &mut ctx)?
                .into_iter()
                .map(|r| r.into_iter().map(Some).collect())
                .collect()
        }
    };
    let first_rowid = if table.primary_key.is_empty() && !rows.is_empty() {
        catalog::reserve_row_ids(txn, table.id, rows.len() as u64)?
    } else {
        0
    };
    let mut count = 0;
    let mut returned = Vec::new();
    // With DO UPDATE, the keys of the rows this statement inserted or
    // updated.
    let mut touched = std::collections::HashSet::new();
    for (n, src) in rows.into_iter().enumerate() {
        crate::interrupt::check_current()?;
        if src.len() > targets.len() {
            return Err(SqlError::syntax(
                "INSERT has more expressions than target columns",
            ));
        }
        let mut row: Row = vec![Value::Null; table.columns.len()];
        let mut given = vec![false; table.columns.len()];
        for (v, &t) in src.into_iter().zip(&targets) {
            if let Some(v) = v {
                row[t] = v;
                given[t] = true;
            }
        }
        for (i, c) in table.columns.iter().enumerate() {
            if !given[i]
                && let Some(d) = &c.default
            {
                let e = parse_expr(d)?;
                let b = Binder::new(txn).bind_expr(&e, &vec![], None)?;
                let mut ctx = ExecCtx::new(txn);
                row[i] = b.eval(&[], &mut ctx)?;
            }
        }
        check_row(txn, &table, &mut row)?;
        if table.primary_key.is_empty() {
            row.push(Value::Int(first_rowid + n as i64));
        }
        let written = match &on_conflict {
            OnConflict::Error => None,
            _ => conflicting_row(txn, &table, &arbiters, &row)?,
        };
        let written = match (&on_conflict, written) {
            (_, None) => {
                // No conflict on an arbiter: a plain insert, whose conflict
                // on any other unique constraint is 23505.
                write_new_row(txn, &table, row.clone())?;
                if matches!(on_conflict, OnConflict::Update(..)) {
                    touched.insert(keys::row_key(table.id, &pk_values(&table, &row)));
                }
                Some(row)
            }
            (OnConflict::Update(sets, cond), Some(existing)) => {
                // A row this statement inserted or updated may not be
                // updated again, whatever the WHERE says (PostgreSQL's
                // rule: the outcome would depend on the order of rows).
                if touched.contains(&keys::row_key(table.id, &pk_values(&table, &existing))) {
                    return Err(SqlError::new(
                        codes::CARDINALITY_VIOLATION,
                        "ON CONFLICT DO UPDATE command cannot affect row a second time",
                    ));
                }
                let mut both = existing.clone();
                both.extend(row.iter().cloned());
                let mut ctx = ExecCtx::new(txn);
                let pass = match cond {
                    Some(c) => c.eval(&both, &mut ctx)?.is_true(),
                    None => true,
                };
                if pass {
                    let mut new = existing.clone();
                    for (i, e) in sets {
                        new[*i] = e.eval(&both, &mut ctx)?;
                    }
                    // The row as stored (after casts): its key is the one a
                    // later row of this statement would meet.
                    let stored = update_row(txn, &table, &existing, new)?;
                    touched.insert(keys::row_key(table.id, &pk_values(&table, &stored)));
                    Some(stored)
                } else {
                    None
                }
            }
            (_, Some(_)) => None,
        };
        if let Some(r) = written {
            count += 1;
            if let Some((_, exprs)) = &returning {
                returned.push(eval_returning(txn, exprs, &r)?);
            }
        }
    }
    Ok(DmlResult {
        count,
        returning: returning.map(|(c, _)| (c, returned)),
    })
}

/// Replaces `old` by `new` (a full stored row), maintaining indexes and
/// checking constraints, foreign keys included; returns the row as stored
/// (after the casts to the column types).
pub(crate) fn update_row(txn: &mut Transaction, table: &Table, old: &Row, mut new: Row) -> Result<Row> {
    let hidden = new.split_off(table.columns.len().min(new.len()));
    check_row(txn, table, &mut new)?;
    new.extend(hidden);
    if !table.foreign_keys.is_empty() {
        crate::foreign_key::check_references(txn, table, &new, Some(old))?;
    }
    if !table.referenced_by.is_empty() {
        crate::foreign_key::on_update(txn, table, old, &new)?;
    }
    let old_pk = pk_values(table, old);
    let new_pk = pk_values(table, &new);
    for index in &table.indexes {
        txn.delete(index_key(index, old, &old_pk))?;
    }
    if old_pk != new_pk {
        txn.delete(keys::row_key(table.id, &old_pk))?;
        let key = keys::row_key(table.id, &new_pk);
        if txn.get(&key)?.is_some() {
            return Err(SqlError::new(
                codes::UNIQUE_VIOLATION,
                format!(
                    "duplicate key value violates unique constraint \"{}_pkey\"",
                    table.name
                ),
            ));
        }
    }
    for index in &table.indexes {
        let changed = old_pk != new_pk || index_values(index, old) != index_values(index, &new);
        put_index_entry(txn, table, index, &new, &new_pk, changed)?;
    }
    txn.set(keys::row_key(table.id, &new_pk), keys::encode_row(&new)?)?;
    Ok(new)
}

/// Rows of `table` matching `selection`, with the hidden row id.
fn matching_rows(
    txn: &mut Transaction,
    table: &Arc<Table>,
    scope: &Scope,
    selection: Option<&ast::Expr>,
) -> Result<Vec<Row>> {
    let mut conj = Vec::new();
    if let Some(w) = selection {
        let mut binder = Binder::new(txn);
        let b = binder.bind_expr(w, scope, None)?;
        let mut ctx = ExecCtx::new(txn);
        conj = optimizer::fold(b, &mut ctx).conjuncts();
    }
    let leaf = Leaf {
        plan: optimizer::scan(table.clone(), true),
        start: 0,
        width: scope.len(),
    };
    let plan = optimizer::plan_join_group(vec![leaf], conj, 0);
    let mut ctx = ExecCtx::new(txn);
    exec::collect(&plan, &mut ctx)
}

/// Deletes a stored row (with its hidden row id, if any) and its index
/// entries, then applies the ON DELETE actions of foreign keys that
/// reference it (`depth`: cascades that led here; the stack grows on
/// demand for long cascades).
#[recursive::recursive]
pub(crate) fn delete_row(
    txn: &mut Transaction,
    table: &Table,
    row: &Row,
    depth: usize,
    pending: &mut Vec<crate::foreign_key::Pending>,
) -> Result<()> {
    let pk = pk_values(table, row);
    for index in &table.indexes {
        txn.delete(index_key(index, row, &pk))?;
    }
    txn.delete(keys::row_key(table.id, &pk))?;
    // After the delete, so a row that references itself is not found.
    if !table.referenced_by.is_empty() {
        crate::foreign_key::on_delete(txn, table, row, depth, pending)?;
    }
    Ok(())
}

fn single_table(f: &ast::TableFactor) -> Result<(String, Option<String>)> {
    match f {
        ast::TableFactor::Table {
            name,
            alias,
            args: None,
            ..
        } => Ok((object_name(name)?, alias.as_ref().map(|a| ident(&a.name)))),
        _ => Err(SqlError::unsupported("this UPDATE/DELETE target")),
    }
}

/// Plans the join of the target table's rows (with their hidden row ids)
/// with an `UPDATE ... FROM` / `DELETE ... USING` list under `selection`;
/// `scope` grows by the list's columns. Call with the binder whose
/// numbering the SET expressions use. [`distinct_targets`] then keeps each
/// target row once, with the first combination of FROM rows it matched
/// (PostgreSQL leaves which one unspecified).
fn joined_rows(
    binder: &mut Binder,
    table: &Arc<Table>,
    target: &str,
    scope: &mut Scope,
    from: &[ast::TableWithJoins],
    selection: Option<&ast::Expr>,
) -> Result<Plan> {
    // The target's name (or alias) may not name a FROM item too (42712,
    // as in PostgreSQL; alias the second use).
    for twj in from {
        for f in std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)) {
            if let ast::TableFactor::Table { name, alias, .. } = f {
                let visible = match alias {
                    Some(a) => ident(&a.name),
                    None => object_name(name)?,
                };
                if visible == target {
                    return Err(SqlError::new(
                        codes::DUPLICATE_ALIAS,
                        format!("table name \"{target}\" specified more than once"),
                    ));
                }
            }
        }
    }
    binder.bind_target_join(optimizer::scan(table.clone(), true), scope, from, selection)
}

/// Runs a [`joined_rows`] plan, keeping the first row per target row.
fn distinct_targets(txn: &mut Transaction, table: &Table, width: usize, plan: &Plan) -> Result<Vec<Row>> {
    let mut ctx = ExecCtx::new(txn);
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for row in exec::collect(plan, &mut ctx)? {
        let target: Row = row.get(..width).unwrap_or_default().to_vec();
        if seen.insert(keys::row_key(table.id, &pk_values(table, &target))) {
            out.push(row);
        }
    }
    Ok(out)
}

fn from_list(up: &ast::Update) -> Option<&[ast::TableWithJoins]> {
    match &up.from {
        None => None,
        Some(ast::UpdateTableFromKind::BeforeSet(f) | ast::UpdateTableFromKind::AfterSet(f)) => Some(f),
    }
}

pub fn update(txn: &mut Transaction, up: &ast::Update) -> Result<DmlResult> {
    if !up.table.joins.is_empty() {
        return Err(SqlError::unsupported("UPDATE of a join (use UPDATE ... FROM)"));
    }
    let (name, alias) = single_table(&up.table.relation)?;
    // Validated at commit at every level (see `insert`).
    let table = txn.constraint_reads(|txn| catalog::must_get_table_shared(txn, &name))?;
    let target_scope = table_scope(&table, alias.as_deref());
    let width = target_scope.len();
    let returning = bind_returning(txn, &table, alias.as_deref(), up.returning.as_ref())?;
    let mut sets: Vec<(usize, Expr)> = Vec::new();
    // One binder for every SET (and a FROM list's join): they are
    // evaluated in one context (see `bind_returning`).
    let mut binder = Binder::new(txn);
    let mut scope = target_scope.clone();
    let joined = match from_list(up) {
        Some(from) => Some(joined_rows(
            &mut binder,
            &table,
            alias.as_deref().unwrap_or(&table.name),
            &mut scope,
            from,
            up.selection.as_ref(),
        )?),
        None => None,
    };
    for a in &up.assignments {
        let ast::AssignmentTarget::ColumnName(c) = &a.target else {
            return Err(SqlError::unsupported("tuple assignment"));
        };
        let n = object_name(c)?;
        let i = table.column_index(&n).ok_or_else(|| {
            SqlError::new(
                codes::UNDEFINED_COLUMN,
                format!("column \"{n}\" of relation \"{}\" does not exist", table.name),
            )
        })?;
        let e = match &a.value {
            ast::Expr::Identifier(id)
                if id.quote_style.is_none() && id.value.eq_ignore_ascii_case("default") =>
            {
                match &table.columns[i].default {
                    Some(d) => binder.bind_expr(&parse_expr(d)?, &scope, None)?,
                    None => Expr::Literal(Value::Null),
                }
            }
            v => binder.bind_expr(v, &scope, None)?,
        };
        sets.push((i, e));
    }
    // With FROM, each row is the target row followed by the FROM rows it
    // matched; the SET expressions may read both.
    let rows = match &joined {
        Some(plan) => distinct_targets(txn, &table, width, plan)?,
        None => matching_rows(txn, &table, &target_scope, up.selection.as_ref())?,
    };
    let mut changes = Vec::with_capacity(rows.len());
    {
        let mut ctx = ExecCtx::new(txn);
        for full in rows {
            let old: Row = full.get(..width).unwrap_or_default().to_vec();
            let mut new = old.clone();
            for (i, e) in &sets {
                new[*i] = e.eval(&full, &mut ctx)?;
            }
            changes.push((old, new));
        }
    }
    let count = changes.len() as u64;
    let mut returned = Vec::new();
    for (old, new) in changes {
        crate::interrupt::check_current()?;
        // RETURNING shows the row as stored (after casts).
        let stored = update_row(txn, &table, &old, new)?;
        if let Some((_, exprs)) = &returning {
            returned.push(eval_returning(txn, exprs, &stored)?);
        }
    }
    Ok(DmlResult {
        count,
        returning: returning.map(|(c, _)| (c, returned)),
    })
}

pub fn delete(txn: &mut Transaction, del: &ast::Delete) -> Result<DmlResult> {
    if !del.tables.is_empty() {
        return Err(SqlError::unsupported("DELETE from several tables"));
    }
    let from = match &del.from {
        ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
    };
    let [twj] = from.as_slice() else {
        return Err(SqlError::unsupported("DELETE from several tables"));
    };
    let (name, alias) = single_table(&twj.relation)?;
    // Validated at commit at every level (see `insert`).
    let table = txn.constraint_reads(|txn| catalog::must_get_table_shared(txn, &name))?;
    let scope = table_scope(&table, alias.as_deref());
    let returning = bind_returning(txn, &table, alias.as_deref(), del.returning.as_ref())?;
    let rows = match &del.using {
        // Target rows matching some combination of USING rows, once each.
        Some(using) => {
            let width = scope.len();
            let mut full = scope.clone();
            let plan = joined_rows(
                &mut Binder::new(txn),
                &table,
                alias.as_deref().unwrap_or(&table.name),
                &mut full,
                using,
                del.selection.as_ref(),
            )?;
            distinct_targets(txn, &table, width, &plan)?
                .into_iter()
                .map(|r| r.get(..width).unwrap_or_default().to_vec())
                .collect()
        }
        None => matching_rows(txn, &table, &scope, del.selection.as_ref())?,
    };
    let count = rows.len() as u64;
    let mut returned = Vec::new();
    let mut pending = Vec::new();
    for row in rows {
        crate::interrupt::check_current()?;
        // An ON DELETE action of an earlier row may have deleted or changed
        // this one (a table that references itself): use it as it is now.
        let row = if table.referenced_by.is_empty() {
            row
        } else {
            match txn.get(&keys::row_key(table.id, &pk_values(&table, &row)))? {
                Some(v) => keys::decode_row(&v)?,
                None => continue,
            }
        };
        delete_row(txn, &table, &row, 0, &mut pending)?;
        if let Some((_, exprs)) = &returning {
            returned.push(eval_returning(txn, exprs, &row)?);
        }
    }
    crate::foreign_key::check_pending(txn, pending)?;
    Ok(DmlResult {
        count,
        returning: returning.map(|(c, _)| (c, returned)),
    })
}
