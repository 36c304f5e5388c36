//! `information_schema` and a little of `pg_catalog`: read-only views
//! answered from the catalog.
//!
//! `information_schema.tables`, `.columns`, the key constraints
//! (`.table_constraints`, `.key_column_usage`, `.constraint_column_usage`,
//! `.referential_constraints`: primary keys, unique indexes and foreign
//! keys, not CHECK or NOT NULL), `.sequences` and `.views` are not
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
use crate::catalog::{self, OnDelete, Table};
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
        "table_constraints" => {
            let cols = vec![
                ("constraint_schema", text),
                ("constraint_name", text),
                ("table_schema", text),
                ("table_name", text),
                ("constraint_type", text),
                ("is_deferrable", text),
                ("initially_deferred", text),
                ("enforced", text),
            ];
            let rows = constraints(txn)?
                .into_iter()
                .map(|c| {
                    vec![
                        t("public"),
                        Value::Text(c.name),
                        t("public"),
                        Value::Text(c.table),
                        t(c.kind.sql()),
                        t("NO"),
                        t("NO"),
                        t("YES"),
                    ]
                })
                .collect();
            Ok((cols, rows))
        }
        "key_column_usage" => {
            let cols = vec![
                ("constraint_schema", text),
                ("constraint_name", text),
                ("table_schema", text),
                ("table_name", text),
                ("column_name", text),
                ("ordinal_position", DataType::Int4),
                ("position_in_unique_constraint", DataType::Int4),
            ];
            let mut rows = Vec::new();
            for c in constraints(txn)? {
                for (i, column) in c.columns.iter().enumerate() {
                    // A foreign key's column pairs with the referenced
                    // key's column in the same place.
                    let in_unique = match c.kind {
                        Kind::ForeignKey { .. } => Value::Int(i as i64 + 1),
                        _ => Value::Null,
                    };
                    rows.push(vec![
                        t("public"),
                        Value::Text(c.name.clone()),
                        t("public"),
                        Value::Text(c.table.clone()),
                        Value::Text(column.clone()),
                        Value::Int(i as i64 + 1),
                        in_unique,
                    ]);
                }
            }
            Ok((cols, rows))
        }
        "constraint_column_usage" => {
            // The columns a constraint constrains: its own for a key, the
            // referenced ones for a foreign key.
            let cols = vec![
                ("table_schema", text),
                ("table_name", text),
                ("column_name", text),
                ("constraint_schema", text),
                ("constraint_name", text),
            ];
            let mut rows = Vec::new();
            for c in constraints(txn)? {
                let (table, columns) = match c.kind {
                    Kind::ForeignKey {
                        parent,
                        parent_columns,
                        ..
                    } => (parent, parent_columns),
                    _ => (c.table, c.columns),
                };
                for column in columns {
                    rows.push(vec![
                        t("public"),
                        Value::Text(table.clone()),
                        Value::Text(column),
                        t("public"),
                        Value::Text(c.name.clone()),
                    ]);
                }
            }
            Ok((cols, rows))
        }
        "referential_constraints" => {
            let cols = vec![
                ("constraint_schema", text),
                ("constraint_name", text),
                ("unique_constraint_schema", text),
                ("unique_constraint_name", text),
                ("match_option", text),
                ("update_rule", text),
                ("delete_rule", text),
            ];
            let rows = constraints(txn)?
                .into_iter()
                .filter_map(|c| match c.kind {
                    Kind::ForeignKey {
                        unique, on_delete, ..
                    } => Some(vec![
                        t("public"),
                        Value::Text(c.name),
                        t("public"),
                        text_or_null(unique),
                        t("NONE"),
                        t("NO ACTION"),
                        t(match on_delete {
                            OnDelete::NoAction => "NO ACTION",
                            OnDelete::Restrict => "RESTRICT",
                            OnDelete::Cascade => "CASCADE",
                            OnDelete::SetNull => "SET NULL",
                        }),
                    ]),
                    _ => None,
                })
                .collect();
            Ok((cols, rows))
        }
        "sequences" => {
            let cols = vec![
                ("sequence_schema", text),
                ("sequence_name", text),
                ("data_type", text),
                ("start_value", text),
                ("minimum_value", text),
                ("maximum_value", text),
                ("increment", text),
                ("cycle_option", text),
            ];
            let rows = crate::sequence::list(txn)?
                .into_iter()
                .map(|q| {
                    vec![
                        t("public"),
                        Value::Text(q.name),
                        t(q.ty.name()),
                        Value::Text(q.start.to_string()),
                        Value::Text(q.min.to_string()),
                        Value::Text(q.max.to_string()),
                        Value::Text(q.increment.to_string()),
                        t(if q.cycle { "YES" } else { "NO" }),
                    ]
                })
                .collect();
            Ok((cols, rows))
        }
        "views" => {
            let cols = vec![
                ("table_schema", text),
                ("table_name", text),
                ("view_definition", text),
                ("check_option", text),
                ("is_updatable", text),
                ("is_insertable_into", text),
            ];
            let rows = crate::view::list(txn)?
                .into_iter()
                .map(|v| {
                    vec![
                        t("public"),
                        Value::Text(v.name),
                        Value::Text(v.sql),
                        t("NONE"),
                        t("NO"),
                        t("NO"),
                    ]
                })
                .collect();
            Ok((cols, rows))
        }
        other => Err(SqlError::new(
            codes::UNDEFINED_TABLE,
            format!(
                "relation \"information_schema.{other}\" does not exist (provided: {})",
                INFORMATION_SCHEMA_VIEWS.join(", ")
            ),
        )),
    }
}

/// The `information_schema` views provided.
const INFORMATION_SCHEMA_VIEWS: &[&str] = &[
    "tables",
    "columns",
    "table_constraints",
    "key_column_usage",
    "constraint_column_usage",
    "referential_constraints",
    "sequences",
    "views",
];

fn t(s: &str) -> Value {
    Value::Text(s.to_owned())
}

/// What kind of constraint a [`Constraint`] is.
enum Kind {
    PrimaryKey,
    Unique,
    ForeignKey {
        parent: String,
        parent_columns: Vec<String>,
        /// The referenced primary key or unique constraint, by name.
        unique: Option<String>,
        on_delete: OnDelete,
    },
}

impl Kind {
    fn sql(&self) -> &'static str {
        match self {
            Kind::PrimaryKey => "PRIMARY KEY",
            Kind::Unique => "UNIQUE",
            Kind::ForeignKey { .. } => "FOREIGN KEY",
        }
    }
}

/// One key constraint of a table, with its columns by name.
struct Constraint {
    name: String,
    table: String,
    columns: Vec<String>,
    kind: Kind,
}

/// The key constraint names PostgreSQL shows: `<table>_pkey`, a unique
/// index's own name, a foreign key's name.
fn pkey_name(table: &Table) -> String {
    format!("{}_pkey", table.name)
}

/// Every primary key, unique index and foreign key, by table and name.
/// (CHECK and NOT NULL constraints are not listed.)
fn constraints(txn: &mut Transaction) -> Result<Vec<Constraint>> {
    let tables = catalog::list_tables(txn)?;
    let names = |t: &Table, positions: &[usize]| -> Vec<String> {
        positions
            .iter()
            .filter_map(|&i| t.columns.get(i).map(|c| c.name.clone()))
            .collect()
    };
    let mut out = Vec::new();
    for table in &tables {
        if !table.primary_key.is_empty() {
            out.push(Constraint {
                name: pkey_name(table),
                table: table.name.clone(),
                columns: names(table, &table.primary_key),
                kind: Kind::PrimaryKey,
            });
        }
        for index in table.indexes.iter().filter(|i| i.unique) {
            out.push(Constraint {
                name: index.name.clone(),
                table: table.name.clone(),
                columns: names(table, &index.columns),
                kind: Kind::Unique,
            });
        }
        for fk in &table.foreign_keys {
            let parent = tables.iter().find(|p| p.name == fk.parent);
            let unique = parent.and_then(|p| {
                if p.primary_key == fk.parent_columns {
                    Some(pkey_name(p))
                } else {
                    p.indexes
                        .iter()
                        .find(|i| i.unique && i.columns == fk.parent_columns)
                        .map(|i| i.name.clone())
                }
            });
            out.push(Constraint {
                name: fk.name.clone(),
                table: table.name.clone(),
                columns: names(table, &fk.columns),
                kind: Kind::ForeignKey {
                    parent: fk.parent.clone(),
                    parent_columns: parent.map(|p| names(p, &fk.parent_columns)).unwrap_or_default(),
                    unique,
                    on_delete: fk.on_delete,
                },
            });
        }
    }
    out.sort_by(|a, b| (&a.table, &a.name).cmp(&(&b.table, &b.name)));
    Ok(out)
}
