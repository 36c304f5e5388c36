//! The sqllogictest runner over the PostgreSQL wire protocol: a
//! [`SltDb`] that sends each record's SQL as a simple query with
//! tokio-postgres, so it can run the corpus against a real server or
//! cluster.
//!
//! Simple-query results arrive as text, without types (tokio-postgres drops
//! the type OIDs of the row description). The runner renders a value by its
//! type (a boolean is `1`/`0` in an `I` column; bytea bytes print as they
//! are), so for a query that returned rows the column types come from
//! describing the same SQL (an extended-protocol prepare), and each text
//! value is turned back into the [`Value`] the engine produced: `bool`,
//! integers, floats and bytea by their OIDs, everything else as text (the
//! engine's text form is what the runner renders for those anyway).
//!
//! The runner is synchronous: [`PgWire`] blocks on a Tokio runtime handle,
//! so call it from a blocking thread (`spawn_blocking`), never from a task.

use quorumdb_sql::Value;
use tokio::runtime::Handle;
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

use crate::slt::{ResultSet, SltDb};

/// One connection to a PostgreSQL-protocol server.
pub struct PgWire {
    handle: Handle,
    client: Client,
}

/// A result set as text: column count and rows (`None` is NULL).
type TextRows = (usize, Vec<Vec<Option<String>>>);

/// `SQLSTATE: message` of an error, or its description.
fn error_text(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

impl PgWire {
    /// Connects (`url` in libpq key=value or URL form).
    pub fn connect(handle: Handle, url: &str) -> Result<Self, String> {
        let (client, conn) = handle
            .block_on(tokio_postgres::connect(url, NoTls))
            .map_err(|e| format!("connect {url}: {}", error_text(&e)))?;
        handle.spawn(async move {
            let _ = conn.await;
        });
        Ok(Self { handle, client })
    }

    /// The result set of the last statement in `sql`, as text.
    fn simple(&self, sql: &str) -> Result<TextRows, String> {
        let messages = self
            .handle
            .block_on(self.client.simple_query(sql))
            .map_err(|e| error_text(&e))?;
        // Each statement ends with CommandComplete; keep the last one's rows.
        let (mut columns, mut rows) = (0, Vec::new());
        let (mut current_columns, mut current_rows) = (0, Vec::new());
        for m in messages {
            match m {
                SimpleQueryMessage::RowDescription(c) => current_columns = c.len(),
                SimpleQueryMessage::Row(r) => {
                    current_rows.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                SimpleQueryMessage::CommandComplete(_) => {
                    columns = std::mem::take(&mut current_columns);
                    rows = std::mem::take(&mut current_rows);
                }
                _ => {}
            }
        }
        Ok((columns, rows))
    }

    /// The type OIDs of the columns `sql` returns, if it can be described.
    fn column_types(&self, sql: &str) -> Option<Vec<u32>> {
        let stmt = self.handle.block_on(self.client.prepare(sql)).ok()?;
        Some(stmt.columns().iter().map(|c| c.type_().oid()).collect())
    }

    /// Drops every table (what a fresh in-process store starts without).
    pub fn drop_all_tables(&mut self) -> Result<(), String> {
        let (_, rows) = self.simple("SELECT table_name FROM information_schema.tables")?;
        for name in rows.into_iter().filter_map(|r| r.into_iter().next().flatten()) {
            let quoted = name.replace('"', "\"\"");
            self.simple(&format!("DROP TABLE \"{quoted}\""))
                .map_err(|e| format!("DROP TABLE {name}: {e}"))?;
        }
        Ok(())
    }
}

/// The engine's value behind the text `s` of a column of type `oid`.
pub fn value_from_text(s: &str, oid: Option<u32>) -> Value {
    const BOOL: u32 = 16;
    const BYTEA: u32 = 17;
    const INT8: u32 = 20;
    const INT2: u32 = 21;
    const INT4: u32 = 23;
    const FLOAT4: u32 = 700;
    const FLOAT8: u32 = 701;
    let text = || Value::Text(s.to_string());
    match oid {
        Some(BOOL) => match s {
            "t" => Value::Bool(true),
            "f" => Value::Bool(false),
            _ => text(),
        },
        Some(INT2 | INT4 | INT8) => s.parse().map(Value::Int).unwrap_or_else(|_| text()),
        Some(FLOAT4 | FLOAT8) => s.parse().map(Value::Float).unwrap_or_else(|_| text()),
        Some(BYTEA) => s
            .strip_prefix("\\x")
            .and_then(quorumdb_sql::types::parse_hex)
            .map(Value::Bytes)
            .unwrap_or_else(text),
        _ => text(),
    }
}

impl SltDb for PgWire {
    fn statement(&mut self, sql: &str) -> Result<(), String> {
        self.simple(sql).map(|_| ())
    }

    fn query(&mut self, sql: &str) -> Result<ResultSet, String> {
        let (columns, text_rows) = self.simple(sql)?;
        let types = if columns > 0 {
            self.column_types(sql).filter(|t| t.len() == columns)
        } else {
            None
        };
        let rows = text_rows
            .into_iter()
            .map(|row| {
                row.into_iter()
                    .enumerate()
                    .map(|(i, v)| match v {
                        None => Value::Null,
                        Some(s) => value_from_text(&s, types.as_ref().map(|t| t[i])),
                    })
                    .collect()
            })
            .collect();
        Ok(ResultSet { columns, rows })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slt::render;

    #[test]
    fn typed_text_renders_like_the_engine_value() {
        let cases = [
            (Value::Bool(true), "t", 16, 'I'),
            (Value::Bool(false), "f", 16, 'R'),
            (Value::Int(-7), "-7", 23, 'I'),
            (Value::Float(2.75), "2.75", 701, 'I'),
            (Value::Float(2.75), "2.75", 701, 'R'),
            (Value::Bytes(vec![b'a', 0, b'b']), "\\x610062", 17, 'T'),
            (Value::Text(String::new()), "", 25, 'T'),
        ];
        for (value, text, oid, ty) in cases {
            assert_eq!(
                render(&value_from_text(text, Some(oid)), ty),
                render(&value, ty),
                "{text} as {oid} rendered as {ty}"
            );
        }
    }
}
