//! The catalog: table and index definitions stored in the KV store.
//!
//! Definitions live under the system prefix (see `keys.rs`) and are read
//! through the statement's transaction, so they are seen at the
//! transaction's read version and DDL commits or rolls back with the rest of
//! the transaction. Under SERIALIZABLE, reading a definition puts its key in
//! the read set, so a concurrent DDL on that table makes one side retry.
//!
//! Limits: one schema (`public`, which may be written as a qualifier);
//! names are case-folded to lower case unless quoted.

use quorumdb_storage::keycode::Direction;
use quorumdb_storage::{ScanOrder, Transaction};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SqlError, codes};
use crate::keys;
use crate::types::DataType;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub ty: DataType,
    pub nullable: bool,
    /// Default expression as SQL text (re-parsed when used).
    pub default: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Index {
    pub id: u64,
    pub name: String,
    /// Column positions in the table.
    pub columns: Vec<usize>,
    pub desc: Vec<bool>,
    pub unique: bool,
}

impl Index {
    pub fn directions(&self) -> Vec<Direction> {
        self.desc
            .iter()
            .map(|d| if *d { Direction::Desc } else { Direction::Asc })
            .collect()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Table {
    pub id: u64,
    pub name: String,
    pub columns: Vec<Column>,
    /// Primary-key column positions; empty means a hidden row id is the key.
    pub primary_key: Vec<usize>,
    pub indexes: Vec<Index>,
    /// CHECK constraints as SQL text.
    pub checks: Vec<String>,
}

impl Table {
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| SqlError::internal(format!("catalog encode: {e}")))
}

fn decode<'a, T: Deserialize<'a>>(b: &'a [u8]) -> Result<T> {
    postcard::from_bytes(b).map_err(|e| SqlError::internal(format!("catalog decode: {e}")))
}

pub fn get_table(txn: &mut Transaction, name: &str) -> Result<Option<Table>> {
    match txn.get(&keys::catalog_key(keys::CATALOG_TABLE, name))? {
        Some(b) => Ok(Some(decode(&b)?)),
        None => Ok(None),
    }
}

/// Every table definition, in name order, as seen by `txn`.
pub fn list_tables(txn: &mut Transaction) -> Result<Vec<Table>> {
    txn.scan_prefix(keys::CATALOG_TABLE, ScanOrder::Forward)
        .map(|item| {
            let (_, v) = item?;
            decode(&v)
        })
        .collect()
}

pub fn must_get_table(txn: &mut Transaction, name: &str) -> Result<Table> {
    get_table(txn, name)?.ok_or_else(|| {
        SqlError::new(
            codes::UNDEFINED_TABLE,
            format!("relation \"{name}\" does not exist"),
        )
    })
}

pub fn put_table(txn: &mut Transaction, table: &Table) -> Result<()> {
    txn.set(
        keys::catalog_key(keys::CATALOG_TABLE, &table.name),
        encode(table)?,
    )?;
    Ok(())
}

pub fn delete_table(txn: &mut Transaction, name: &str) -> Result<()> {
    txn.delete(keys::catalog_key(keys::CATALOG_TABLE, name))?;
    Ok(())
}

pub fn index_owner(txn: &mut Transaction, index: &str) -> Result<Option<String>> {
    match txn.get(&keys::catalog_key(keys::CATALOG_INDEX, index))? {
        Some(b) => Ok(Some(decode(&b)?)),
        None => Ok(None),
    }
}

pub fn put_index_owner(txn: &mut Transaction, index: &str, table: &str) -> Result<()> {
    txn.set(
        keys::catalog_key(keys::CATALOG_INDEX, index),
        encode(&table.to_string())?,
    )?;
    Ok(())
}

pub fn delete_index_owner(txn: &mut Transaction, index: &str) -> Result<()> {
    txn.delete(keys::catalog_key(keys::CATALOG_INDEX, index))?;
    Ok(())
}

/// Allocates a fresh object id (tables and indexes share the sequence).
pub fn next_id(txn: &mut Transaction) -> Result<u64> {
    let id = match txn.get(keys::CATALOG_NEXT_ID)? {
        Some(b) => decode::<u64>(&b)?,
        None => 1,
    };
    txn.set(keys::CATALOG_NEXT_ID.to_vec(), encode(&(id + 1))?)?;
    Ok(id)
}

/// Reserves `n` hidden row ids for a table; returns the first.
pub fn reserve_row_ids(txn: &mut Transaction, table_id: u64, n: u64) -> Result<i64> {
    let key = keys::rowid_key(table_id);
    let first = match txn.get(&key)? {
        Some(b) => decode::<i64>(&b)?,
        None => 1,
    };
    txn.set(key, encode(&(first + n as i64))?)?;
    Ok(first)
}
