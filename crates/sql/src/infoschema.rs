//! `information_schema`: read-only views answered from the catalog.
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

/// A view's columns (name, type) and rows.
pub type ViewData = (Vec<(&'static str, DataType)>, Vec<Row>);

/// The columns and rows of `information_schema.<view>`.
pub fn view(txn: &mut Transaction, view: &str) -> Result<ViewData> {
    let text = DataType::Text(None);
    let text_or_null = |s: Option<String>| s.map_or(Value::Null, Value::Text);
    match view {
        "tables" => {
            let cols = vec![("table_schema", text), ("table_name", text), ("table_type", text)];
            let rows = catalog::list_tables(txn)?
                .into_iter()
                .map(|t| {
                    vec![
                        Value::Text("public".into()),
                        Value::Text(t.name),
                        Value::Text("BASE TABLE".into()),
                    ]
                })
                .collect();
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
