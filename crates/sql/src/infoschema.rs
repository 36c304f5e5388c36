//! `information_schema` and a little of `pg_catalog`: read-only views
//! answered from the catalog.
//!
//! `information_schema.tables` and `information_schema.columns` are not
//! stored anywhere: when a query names one in FROM, the binder asks
//! [`view`] for its rows, which reads the catalog through the statement's
//! transaction, i.e. at the transaction's read version and including the
//! transaction's own uncommitted DDL (as PostgreSQL does). The rows become
//! a literal `Values` plan, so WHERE, ORDER BY, joins and aggregates work on
//! them as on any derived table.
//!
//! Only the `public` schema exists, so every row has `table_schema =
//! 'public'`; the views themselves are not listed. Writing to them (or
//! naming `information_schema` anywhere but in FROM) is 42501.
//!
//! `pg_catalog.pg_class` (tables only, relkind `r`) and
//! `pg_catalog.pg_namespace` exist for the catalog queries of drivers and
//! ORMs (SQLAlchemy's `has_table` / `get_table_names`). A table's OID is
//! `16384 + table id`, as in the pgwire endpoint's psql answers. They must
//! be named with the `pg_catalog.` qualifier; other `pg_catalog` relations
//! do not exist (42P01).

use quorumdb_storage::Transaction;
use sqlparser::ast;

use crate::binder::ident;
use crate::catalog;
use crate::error::{Result, SqlError, codes};
use crate::types::{DataType, Row, Value};

/// The view name when `n` is qualified by `information_schema`.
pub fn view_name(n: &ast::ObjectName) -> Option<String> {
    let parts: Vec<&ast::Ident> =
        n.0.iter()
            .filter_map(|p| match p {
                ast::ObjectNamePart::Identifier(i) => Some(i),
                _ => None,
            })
            .collect();
    match parts.as_slice() {
        [.., schema, view] if ident(schema) == "information_schema" => Some(ident(view)),
        _ => None,
    }
}

/// The `pg_catalog` relations provided.
const PG_VIEWS: &[&str] = &["pg_class", "pg_namespace"];
/// OIDs of user tables start here (PostgreSQL's FirstNormalObjectId).
pub const FIRST_OID: i64 = 16384;
/// OIDs of the schemas, as in PostgreSQL.
const PG_CATALOG_OID: i64 = 11;
const PUBLIC_OID: i64 = 2200;
const INFORMATION_SCHEMA_OID: i64 = 13_000;

/// `(schema, view)` when `n` names a virtual view: `information_schema.*`,
/// or `pg_catalog.pg_class` / `pg_catalog.pg_namespace`.
pub fn virtual_view(n: &ast::ObjectName) -> Option<(&'static str, String)> {
    if let Some(v) = view_name(n) {
        return Some(("information_schema", v));
    }
    let parts: Vec<String> =
        n.0.iter()
            .filter_map(|p| match p {
                ast::ObjectNamePart::Identifier(i) => Some(ident(i)),
                _ => None,
            })
            .collect();
    match parts.as_slice() {
        [.., schema, view] if schema == "pg_catalog" && PG_VIEWS.contains(&view.as_str()) => {
            Some(("pg_catalog", view.clone()))
        }
        _ => None,
    }
}

/// The columns and rows of the virtual view `schema.view`.
pub fn rows(txn: &mut Transaction, schema: &str, view: &str) -> Result<ViewData> {
    if schema != "pg_catalog" {
        return self::view(txn, view);
    }
    let text = DataType::Text(None);
    let oid = DataType::Int8;
    let t = |s: &str| Value::Text(s.to_owned());
    match view {
        "pg_class" => {
            let cols = vec![
                ("oid", oid),
                ("relname", text),
                ("relnamespace", oid),
                ("relkind", text),
                ("relpersistence", text),
                ("relowner", oid),
                ("relnatts", DataType::Int2),
                ("relhasindex", DataType::Bool),
            ];
            let rows = catalog::list_tables(txn)?
                .into_iter()
                .map(|tb| {
                    vec![
                        Value::Int(FIRST_OID + tb.id as i64),
                        Value::Text(tb.name),
                        Value::Int(PUBLIC_OID),
                        t("r"),
                        t("p"),
                        Value::Int(10),
                        Value::Int(tb.columns.len() as i64),
                        Value::Bool(!tb.primary_key.is_empty() || !tb.indexes.is_empty()),
                    ]
                })
                .collect();
            Ok((cols, rows))
        }
        _ => {
            let cols = vec![("oid", oid), ("nspname", text), ("nspowner", oid)];
            let rows = [
                (PG_CATALOG_OID, "pg_catalog"),
                (PUBLIC_OID, "public"),
                (INFORMATION_SCHEMA_OID, "information_schema"),
            ]
            .into_iter()
            .map(|(o, n)| vec![Value::Int(o), t(n), Value::Int(10)])
            .collect();
            Ok((cols, rows))
        }
    }
}

/// A view's columns (name, type) and rows.
pub type ViewData = (Vec<(&'static str, DataType)>, Vec<Row>);

/// The columns and rows of `information_schema.<view>`.
pub fn view(txn: &mut Transaction, view: &str) -> Result<ViewData> {
    let text = DataType::Text(None);
    let text_or_null = |s: Option<String>| s.map_or(Value::Null, Value::Text);
    match view {
        "tables" => {
            let cols = vec![("table_schema", text), ("table_name", text), ("table_type", text)];
            let mut rows: Vec<Row> = catalog::list_tables(txn)?
                .into_iter()
                .map(|t| {
                    vec![
                        Value::Text("public".into()),
                        Value::Text(t.name),
                        Value::Text("BASE TABLE".into()),
                    ]
                })
                .collect();
            rows.extend(crate::view::list(txn)?.into_iter().map(|v| {
                vec![
                    Value::Text("public".into()),
                    Value::Text(v.name),
                    Value::Text("VIEW".into()),
                ]
            }));
            rows.sort_by(|a, b| a[1].to_text().cmp(&b[1].to_text()));
            Ok((cols, rows))
        }
        "columns" => {
            let cols = vec![
                ("table_schema", text),
                ("table_name", text),
                ("column_name", text),
                ("ordinal_position", DataType::Int4),
                ("column_default", text),
                ("is_nullable", text),
                ("data_type", text),
                ("character_maximum_length", DataType::Int4),
            ];
            let mut rows = Vec::new();
            for t in catalog::list_tables(txn)? {
                for (i, c) in t.columns.iter().enumerate() {
                    let nullable = c.nullable && !t.primary_key.contains(&i);
                    let max_len = match c.ty {
                        DataType::Text(Some(n)) => Value::Int(i64::from(n)),
                        _ => Value::Null,
                    };
                    rows.push(vec![
                        Value::Text("public".into()),
                        Value::Text(t.name.clone()),
                        Value::Text(c.name.clone()),
                        Value::Int(i as i64 + 1),
                        text_or_null(c.default.clone()),
                        Value::Text(if nullable { "YES" } else { "NO" }.into()),
                        Value::Text(c.ty.name().into()),
                        max_len,
                    ]);
                }
            }
            // A view's columns as of CREATE VIEW.
            for v in crate::view::list(txn)? {
                for (i, (name, ty)) in v.output.iter().enumerate() {
                    let max_len = match ty {
                        DataType::Text(Some(n)) => Value::Int(i64::from(*n)),
                        _ => Value::Null,
                    };
                    rows.push(vec![
                        Value::Text("public".into()),
                        Value::Text(v.name.clone()),
                        Value::Text(name.clone()),
                        Value::Int(i as i64 + 1),
                        Value::Null,
                        Value::Text("YES".into()),
                        Value::Text(ty.name().into()),
                        max_len,
                    ]);
                }
            }
            Ok((cols, rows))
        }
        other => Err(SqlError::new(
            codes::UNDEFINED_TABLE,
            format!(
                "relation \"information_schema.{other}\" does not exist (only tables and columns are provided)"
            ),
        )),
    }
}
