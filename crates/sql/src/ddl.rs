//! DDL: CREATE/DROP TABLE, CREATE/DROP INDEX, ALTER TABLE, TRUNCATE.
//!
//! All of it runs inside the statement's transaction: catalog entries and
//! data keys are written through the same [`Transaction`], so DDL commits
//! or rolls back atomically with everything else. CREATE INDEX backfills
//! from existing rows (checking uniqueness); DROP deletes the data keys.

use quorumdb_storage::{ScanOrder, Transaction};
use sqlparser::ast;

use crate::binder::{ident, map_type, object_name};
use crate::catalog::{self, Column, Index, Table};
use crate::dml;
use crate::error::{Result, SqlError, codes};
use crate::keys;

pub fn create_table(txn: &mut Transaction, ct: &ast::CreateTable) -> Result<()> {
    if ct.query.is_some() || ct.like.is_some() || ct.clone.is_some() {
        return Err(SqlError::unsupported("CREATE TABLE AS/LIKE/CLONE"));
    }
    let name = object_name(&ct.name)?;
    if catalog::get_table(txn, &name)?.is_some() {
        if ct.if_not_exists {
            return Ok(());
        }
        return Err(SqlError::new(
            codes::DUPLICATE_TABLE,
            format!("relation \"{name}\" already exists"),
        ));
    }
    let mut columns: Vec<Column> = Vec::new();
    let mut primary_key: Vec<usize> = Vec::new();
    let mut uniques: Vec<Vec<usize>> = Vec::new();
    let mut checks = Vec::new();
    for (i, c) in ct.columns.iter().enumerate() {
        let cname = ident(&c.name);
        if columns.iter().any(|x| x.name == cname) {
            return Err(SqlError::new(
                codes::DUPLICATE_COLUMN,
                format!("column \"{cname}\" specified more than once"),
            ));
        }
        let mut col = Column {
            name: cname,
            ty: map_type(&c.data_type)?,
            nullable: true,
            default: None,
        };
        for o in &c.options {
            match &o.option {
                ast::ColumnOption::Null => {}
                ast::ColumnOption::NotNull => col.nullable = false,
                ast::ColumnOption::Default(e) => col.default = Some(e.to_string()),
                ast::ColumnOption::PrimaryKey(_) => {
                    if !primary_key.is_empty() {
                        return Err(SqlError::new(
                            codes::INVALID_PARAMETER_VALUE,
                            "multiple primary keys are not allowed",
                        ));
                    }
                    primary_key = vec![i];
                }
                ast::ColumnOption::Unique(_) => uniques.push(vec![i]),
                ast::ColumnOption::Check(c) => checks.push(c.expr.to_string()),
                other => return Err(SqlError::unsupported(format!("column option {other}"))),
            }
        }
        columns.push(col);
    }
    let resolve = |cols: &[ast::IndexColumn], columns: &[Column]| -> Result<Vec<usize>> {
        cols.iter()
            .map(|ic| {
                let n = match &ic.column.expr {
                    ast::Expr::Identifier(i) => ident(i),
                    other => return Err(SqlError::unsupported(format!("key expression {other}"))),
                };
                columns.iter().position(|c| c.name == n).ok_or_else(|| {
                    SqlError::new(
                        codes::UNDEFINED_COLUMN,
                        format!("column \"{n}\" named in key does not exist"),
                    )
                })
            })
            .collect()
    };
    for c in &ct.constraints {
        match c {
            ast::TableConstraint::PrimaryKey(pk) => {
                if !primary_key.is_empty() {
                    return Err(SqlError::new(
                        codes::INVALID_PARAMETER_VALUE,
                        "multiple primary keys are not allowed",
                    ));
                }
                primary_key = resolve(&pk.columns, &columns)?;
            }
            ast::TableConstraint::Unique(u) => uniques.push(resolve(&u.columns, &columns)?),
            ast::TableConstraint::Check(c) => checks.push(c.expr.to_string()),
            other => return Err(SqlError::unsupported(format!("constraint {other}"))),
        }
    }
    for &p in &primary_key {
        columns[p].nullable = false;
    }
    let id = catalog::next_id(txn)?;
    let mut table = Table {
        id,
        name: name.clone(),
        columns,
        primary_key,
        indexes: vec![],
        checks,
    };
    for (n, cols) in uniques.into_iter().enumerate() {
        let iname = format!(
            "{name}_{}_key{}",
            table.columns[cols[0]].name,
            if n > 0 { n.to_string() } else { String::new() }
        );
        let iid = catalog::next_id(txn)?;
        catalog::put_index_owner(txn, &iname, &name)?;
        table.indexes.push(Index {
            id: iid,
            name: iname,
            desc: vec![false; cols.len()],
            columns: cols,
            unique: true,
        });
    }
    catalog::put_table(txn, &table)
}

pub fn create_index(txn: &mut Transaction, ci: &ast::CreateIndex) -> Result<()> {
    let tname = object_name(&ci.table_name)?;
    let mut table = catalog::must_get_table(txn, &tname)?;
    let name = match &ci.name {
        Some(n) => object_name(n)?,
        None => format!("{tname}_idx{}", table.indexes.len() + 1),
    };
    if catalog::index_owner(txn, &name)?.is_some() || catalog::get_table(txn, &name)?.is_some() {
        if ci.if_not_exists {
            return Ok(());
        }
        return Err(SqlError::new(
            codes::DUPLICATE_TABLE,
            format!("relation \"{name}\" already exists"),
        ));
    }
    if ci.predicate.is_some() {
        return Err(SqlError::unsupported("partial indexes"));
    }
    let mut columns = Vec::new();
    let mut desc = Vec::new();
    for ic in &ci.columns {
        let n = match &ic.column.expr {
            ast::Expr::Identifier(i) => ident(i),
            other => return Err(SqlError::unsupported(format!("index expression {other}"))),
        };
        let pos = table.column_index(&n).ok_or_else(|| {
            SqlError::new(codes::UNDEFINED_COLUMN, format!("column \"{n}\" does not exist"))
        })?;
        columns.push(pos);
        desc.push(matches!(ic.column.options.sort, Some(ast::OrderBySort::Desc)));
    }
    let index = Index {
        id: catalog::next_id(txn)?,
        name: name.clone(),
        columns,
        desc,
        unique: ci.unique,
    };
    // Backfill.
    let rows: Vec<(Vec<u8>, Vec<u8>)> = txn
        .scan_prefix(&keys::table_prefix(table.id), ScanOrder::Forward)
        .collect::<Result<_, _>>()?;
    for (_, value) in rows {
        let row = keys::decode_row(&value)?;
        let pk = dml::pk_values(&table, &row);
        dml::put_index_entry(txn, &table, &index, &row, &pk, true)?;
    }
    table.indexes.push(index);
    catalog::put_index_owner(txn, &name, &tname)?;
    catalog::put_table(txn, &table)
}

fn delete_prefix(txn: &mut Transaction, prefix: &[u8]) -> Result<()> {
    let keys: Vec<Vec<u8>> = txn
        .scan_prefix(prefix, ScanOrder::Forward)
        .map(|r| r.map(|(k, _)| k))
        .collect::<Result<_, _>>()?;
    for k in keys {
        txn.delete(k)?;
    }
    Ok(())
}

pub fn drop(
    txn: &mut Transaction,
    object_type: &ast::ObjectType,
    if_exists: bool,
    names: &[ast::ObjectName],
) -> Result<()> {
    for n in names {
        let name = object_name(n)?;
        match object_type {
            ast::ObjectType::Table => {
                let Some(table) = catalog::get_table(txn, &name)? else {
                    if if_exists {
                        continue;
                    }
                    return Err(SqlError::new(
                        codes::UNDEFINED_TABLE,
                        format!("table \"{name}\" does not exist"),
                    ));
                };
                truncate_table(txn, &table)?;
                for i in &table.indexes {
                    catalog::delete_index_owner(txn, &i.name)?;
                }
                txn.delete(keys::rowid_key(table.id))?;
                catalog::delete_table(txn, &name)?;
            }
            ast::ObjectType::Index => {
                let Some(owner) = catalog::index_owner(txn, &name)? else {
                    if if_exists {
                        continue;
                    }
                    return Err(SqlError::new(
                        codes::UNDEFINED_OBJECT,
                        format!("index \"{name}\" does not exist"),
                    ));
                };
                let mut table = catalog::must_get_table(txn, &owner)?;
                if let Some(pos) = table.indexes.iter().position(|i| i.name == name) {
                    let idx = table.indexes.remove(pos);
                    delete_prefix(txn, &keys::index_prefix(idx.id))?;
                }
                catalog::delete_index_owner(txn, &name)?;
                catalog::put_table(txn, &table)?;
            }
            other => return Err(SqlError::unsupported(format!("DROP {other}"))),
        }
    }
    Ok(())
}

pub fn truncate_table(txn: &mut Transaction, table: &Table) -> Result<()> {
    delete_prefix(txn, &keys::table_prefix(table.id))?;
    for i in &table.indexes {
        delete_prefix(txn, &keys::index_prefix(i.id))?;
    }
    Ok(())
}

/// ALTER TABLE: ADD COLUMN, DROP COLUMN, RENAME COLUMN, RENAME TO, ADD
/// PRIMARY KEY. ADD and DROP COLUMN rewrite every row (and drop indexes on a
/// dropped column); ADD PRIMARY KEY re-keys every row and rebuilds the
/// indexes.
pub fn alter_table(txn: &mut Transaction, at: &ast::AlterTable) -> Result<()> {
    let name = object_name(&at.name)?;
    let Some(mut table) = catalog::get_table(txn, &name)? else {
        if at.if_exists {
            return Ok(());
        }
        return Err(SqlError::new(
            codes::UNDEFINED_TABLE,
            format!("relation \"{name}\" does not exist"),
        ));
    };
    for op in &at.operations {
        match op {
            ast::AlterTableOperation::AddColumn {
                if_not_exists,
                column_def,
                ..
            } => {
                let cname = ident(&column_def.name);
                if table.column_index(&cname).is_some() {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(SqlError::new(
                        codes::DUPLICATE_COLUMN,
                        format!("column \"{cname}\" of relation \"{name}\" already exists"),
                    ));
                }
                let mut col = Column {
                    name: cname,
                    ty: map_type(&column_def.data_type)?,
                    nullable: true,
                    default: None,
                };
                for o in &column_def.options {
                    match &o.option {
                        ast::ColumnOption::Null => {}
                        ast::ColumnOption::NotNull => col.nullable = false,
                        ast::ColumnOption::Default(e) => col.default = Some(e.to_string()),
                        other => return Err(SqlError::unsupported(format!("ADD COLUMN with {other}"))),
                    }
                }
                let fill = match &col.default {
                    Some(d) => {
                        let e = crate::session::parse_expr(d)?;
                        let b = crate::binder::Binder::new(txn).bind_expr(&e, &vec![], None)?;
                        let mut ctx = crate::exec::ExecCtx::new(txn);
                        b.eval(&[], &mut ctx)?.cast(col.ty)?
                    }
                    None => crate::types::Value::Null,
                };
                let pos = table.columns.len();
                let rows = table_rows(txn, &table)?;
                if fill.is_null() && !col.nullable && !rows.is_empty() {
                    return Err(SqlError::new(
                        codes::NOT_NULL_VIOLATION,
                        format!(
                            "column \"{}\" of relation \"{name}\" contains null values",
                            col.name
                        ),
                    ));
                }
                for (key, mut row) in rows {
                    row.insert(pos, fill.clone());
                    txn.set(key, keys::encode_row(&row)?)?;
                }
                table.columns.push(col);
            }
            ast::AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => {
                for c in column_names {
                    let cname = ident(c);
                    let Some(pos) = table.column_index(&cname) else {
                        if *if_exists {
                            continue;
                        }
                        return Err(SqlError::new(
                            codes::UNDEFINED_COLUMN,
                            format!("column \"{cname}\" of relation \"{name}\" does not exist"),
                        ));
                    };
                    if table.primary_key.contains(&pos) {
                        return Err(SqlError::unsupported("dropping a primary-key column"));
                    }
                    if !table.checks.is_empty() {
                        return Err(SqlError::unsupported(
                            "dropping a column of a table with CHECK constraints",
                        ));
                    }
                    let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut table.indexes)
                        .into_iter()
                        .partition(|i| i.columns.contains(&pos));
                    for i in gone {
                        delete_prefix(txn, &keys::index_prefix(i.id))?;
                        catalog::delete_index_owner(txn, &i.name)?;
                    }
                    table.indexes = kept;
                    for (key, mut row) in table_rows(txn, &table)? {
                        if pos < row.len() {
                            row.remove(pos);
                        }
                        txn.set(key, keys::encode_row(&row)?)?;
                    }
                    table.columns.remove(pos);
                    let shift = |c: &mut usize| {
                        if *c > pos {
                            *c -= 1;
                        }
                    };
                    table.primary_key.iter_mut().for_each(shift);
                    for i in &mut table.indexes {
                        i.columns.iter_mut().for_each(shift);
                    }
                }
            }
            ast::AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => {
                let (old, new) = (ident(old_column_name), ident(new_column_name));
                let pos = table.column_index(&old).ok_or_else(|| {
                    SqlError::new(
                        codes::UNDEFINED_COLUMN,
                        format!("column \"{old}\" does not exist"),
                    )
                })?;
                if table.column_index(&new).is_some() {
                    return Err(SqlError::new(
                        codes::DUPLICATE_COLUMN,
                        format!("column \"{new}\" already exists"),
                    ));
                }
                if !table.checks.is_empty() {
                    // Stored expressions refer to columns by name.
                    return Err(SqlError::unsupported(
                        "renaming a column of a table with CHECK constraints",
                    ));
                }
                table.columns[pos].name = new;
            }
            ast::AlterTableOperation::RenameTable { table_name } => {
                let (ast::RenameTableNameKind::As(n) | ast::RenameTableNameKind::To(n)) = table_name;
                let new = object_name(n)?;
                if catalog::get_table(txn, &new)?.is_some() {
                    return Err(SqlError::new(
                        codes::DUPLICATE_TABLE,
                        format!("relation \"{new}\" already exists"),
                    ));
                }
                catalog::delete_table(txn, &table.name)?;
                for i in &table.indexes {
                    catalog::put_index_owner(txn, &i.name, &new)?;
                }
                table.name = new;
            }
            ast::AlterTableOperation::AddConstraint {
                constraint: ast::TableConstraint::PrimaryKey(pk),
                ..
            } => {
                let cols = resolve_key_columns(&pk.columns, &table.columns)?;
                add_primary_key(txn, &mut table, cols)?;
            }
            other => return Err(SqlError::unsupported(format!("ALTER TABLE {other}"))),
        }
    }
    catalog::put_table(txn, &table)
}

fn resolve_key_columns(cols: &[ast::IndexColumn], columns: &[Column]) -> Result<Vec<usize>> {
    let mut out: Vec<usize> = Vec::new();
    for ic in cols {
        let n = match &ic.column.expr {
            ast::Expr::Identifier(i) => ident(i),
            other => return Err(SqlError::unsupported(format!("key expression {other}"))),
        };
        let pos = columns.iter().position(|c| c.name == n).ok_or_else(|| {
            SqlError::new(
                codes::UNDEFINED_COLUMN,
                format!("column \"{n}\" named in key does not exist"),
            )
        })?;
        if out.contains(&pos) {
            return Err(SqlError::new(
                codes::DUPLICATE_COLUMN,
                format!("column \"{n}\" appears twice in primary key constraint"),
            ));
        }
        out.push(pos);
    }
    Ok(out)
}

/// ALTER TABLE ... ADD PRIMARY KEY on a table keyed by its hidden row id:
/// every row moves from its row-id key to its primary-key key and every
/// secondary index is rebuilt (index entries end with the key), all in the
/// statement's transaction. NULLs in a key column are 23502, two rows with
/// the same key 23505; the key columns become NOT NULL.
fn add_primary_key(txn: &mut Transaction, table: &mut Table, cols: Vec<usize>) -> Result<()> {
    if !table.primary_key.is_empty() {
        return Err(SqlError::new(
            codes::INVALID_TABLE_DEFINITION,
            format!(
                "multiple primary keys for table \"{}\" are not allowed",
                table.name
            ),
        ));
    }
    let old_rows = table_rows(txn, table)?;
    let width = table.columns.len();
    let mut moved = Vec::with_capacity(old_rows.len());
    let mut seen = std::collections::HashSet::with_capacity(old_rows.len());
    for (_, mut row) in old_rows.iter().cloned() {
        row.truncate(width);
        let pk: Vec<crate::types::Value> = cols
            .iter()
            .map(|&i| row.get(i).cloned().unwrap_or(crate::types::Value::Null))
            .collect();
        if let Some(i) = cols.iter().zip(&pk).find_map(|(&i, v)| v.is_null().then_some(i)) {
            return Err(SqlError::new(
                codes::NOT_NULL_VIOLATION,
                format!(
                    "column \"{}\" of relation \"{}\" contains null values",
                    table.columns[i].name, table.name
                ),
            ));
        }
        let key = keys::row_key(table.id, &pk);
        if !seen.insert(key.clone()) {
            let names: Vec<&str> = cols.iter().map(|&i| table.columns[i].name.as_str()).collect();
            let vals: Vec<String> = pk
                .iter()
                .map(|v| v.to_text().unwrap_or_else(|| "NULL".into()))
                .collect();
            return Err(SqlError::new(
                codes::UNIQUE_VIOLATION,
                format!(
                    "could not create unique index \"{}_pkey\": key ({})=({}) is duplicated",
                    table.name,
                    names.join(", "),
                    vals.join(", ")
                ),
            ));
        }
        moved.push((key, pk, row));
    }
    // Old keys go first: a new key may equal an old row-id key.
    for (key, _) in old_rows {
        txn.delete(key)?;
    }
    for index in &table.indexes {
        delete_prefix(txn, &keys::index_prefix(index.id))?;
    }
    txn.delete(keys::rowid_key(table.id))?;
    table.primary_key = cols;
    for &i in &table.primary_key {
        table.columns[i].nullable = false;
    }
    for (key, pk, row) in moved {
        for index in &table.indexes {
            dml::put_index_entry(txn, table, index, &row, &pk, index.unique)?;
        }
        txn.set(key, keys::encode_row(&row)?)?;
    }
    Ok(())
}

/// Every stored row of a table with its key.
fn table_rows(txn: &mut Transaction, table: &Table) -> Result<Vec<(Vec<u8>, crate::types::Row)>> {
    txn.scan_prefix(&keys::table_prefix(table.id), ScanOrder::Forward)
        .map(|item| {
            let (k, v) = item?;
            Ok((k, keys::decode_row(&v)?))
        })
        .collect()
}
