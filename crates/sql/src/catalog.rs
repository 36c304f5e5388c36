//! The catalog: table and index definitions stored in the KV store.
//!
//! Definitions live under the system prefix (see `keys.rs`) and are read
//! through the statement's transaction, so they are seen at the
//! transaction's read version and DDL commits or rolls back with the rest of
//! the transaction. Under SERIALIZABLE, reading a definition puts its key in
//! the read set, so a concurrent DDL on that table makes one side retry.
//!
//! Decoding a definition is a function of its stored bytes alone, so each
//! thread shares its last few decoded definitions by those bytes
//! ([`get_table_shared`]); the read through the transaction still happens.
//!
//! Limits: one schema (`public`, which may be written as a qualifier);
//! names are case-folded to lower case unless quoted.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::Arc;

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
    /// This table's foreign keys (it is the referencing side).
    pub foreign_keys: Vec<ForeignKey>,
    /// Names of the tables with a foreign key referencing this one (this
    /// table's own name for a self-reference), so that a DELETE or UPDATE
    /// here finds the rows that reference the row it changes.
    pub referenced_by: Vec<String>,
}

/// A foreign key: unless one of `columns` is NULL (MATCH SIMPLE), their
/// values must be those of a row of `parent` in `parent_columns`, which
/// are its primary key or a unique index.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub name: String,
    /// Positions in the referencing table.
    pub columns: Vec<usize>,
    pub parent: String,
    /// Positions in the parent table, matching `columns` one by one.
    pub parent_columns: Vec<usize>,
    pub on_delete: OnDelete,
}

/// What deleting a referenced row does (updating a referenced key is
/// always refused while it is referenced: NO ACTION).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnDelete {
    /// Refuse (23503); checked at once, where PostgreSQL's NO ACTION waits
    /// for the end of the statement.
    NoAction,
    Restrict,
    Cascade,
    SetNull,
}

/// How a table definition was stored before foreign keys: decoded when
/// the current layout does not fit (postcard has no optional fields).
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct TableWithoutForeignKeys {
    id: u64,
    name: String,
    columns: Vec<Column>,
    primary_key: Vec<usize>,
    indexes: Vec<Index>,
    checks: Vec<String>,
}

/// Decodes a stored definition. Every byte must be used: bytes left over
/// mean a layout this build does not know (a newer version's), which must
/// fail rather than lose fields. The older layout is tried only when the
/// bytes end early, as they do for a definition stored before foreign
/// keys.
fn decode_table(b: &[u8]) -> Result<Table> {
    let whole = |rest: &[u8]| {
        if rest.is_empty() {
            Ok(())
        } else {
            Err(SqlError::internal(format!(
                "catalog decode: {} unexpected trailing bytes in a table definition",
                rest.len()
            )))
        }
    };
    match postcard::take_from_bytes::<Table>(b) {
        Ok((t, rest)) => whole(rest).map(|()| t),
        Err(postcard::Error::DeserializeUnexpectedEnd) => {
            let (t, rest) = postcard::take_from_bytes::<TableWithoutForeignKeys>(b)
                .map_err(|e| SqlError::internal(format!("catalog decode: {e}")))?;
            whole(rest)?;
            Ok(Table {
                id: t.id,
                name: t.name,
                columns: t.columns,
                primary_key: t.primary_key,
                indexes: t.indexes,
                checks: t.checks,
                foreign_keys: vec![],
                referenced_by: vec![],
            })
        }
        Err(e) => Err(SqlError::internal(format!("catalog decode: {e}"))),
    }
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

/// A table's definition as `txn` sees it (the read joins its read set, so
/// a concurrent DDL on the table is a conflict).
pub fn get_table(txn: &mut Transaction, name: &str) -> Result<Option<Table>> {
    Ok(get_table_shared(txn, name)?.map(Arc::unwrap_or_clone))
}

/// [`get_table`], shared. Decoding is a function of the stored bytes
/// alone, so each thread keeps its last few decoded definitions keyed by
/// their bytes, and statements that read an unchanged definition share it
/// (no invalidation is needed: changed bytes simply miss).
pub fn get_table_shared(txn: &mut Transaction, name: &str) -> Result<Option<Arc<Table>>> {
    let Some(bytes) = txn.get(&keys::catalog_key(keys::CATALOG_TABLE, name))? else {
        return Ok(None);
    };
    DECODED.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some((_, table)) = cache.iter().find(|(b, _)| *b == bytes) {
            return Ok(Some(table.clone()));
        }
        let table = Arc::new(decode_table(&bytes)?);
        if cache.len() >= DECODED_TABLES {
            cache.pop_back();
        }
        cache.push_front((bytes, table.clone()));
        Ok(Some(table))
    })
}

/// Decoded definitions a thread keeps (see [`get_table_shared`]).
const DECODED_TABLES: usize = 8;

thread_local! {
    static DECODED: RefCell<VecDeque<(Vec<u8>, Arc<Table>)>> = const { RefCell::new(VecDeque::new()) };
}

/// Every table definition, in name order, as seen by `txn`.
pub fn list_tables(txn: &mut Transaction) -> Result<Vec<Table>> {
    txn.scan_prefix(keys::CATALOG_TABLE, ScanOrder::Forward)
        .map(|item| {
            let (_, v) = item?;
            decode_table(&v)
        })
        .collect()
}

pub fn must_get_table(txn: &mut Transaction, name: &str) -> Result<Table> {
    must_get_table_shared(txn, name).map(Arc::unwrap_or_clone)
}

/// [`must_get_table`], shared (see [`get_table_shared`]).
pub fn must_get_table_shared(txn: &mut Transaction, name: &str) -> Result<Arc<Table>> {
    if let Some(t) = get_table_shared(txn, name)? {
        return Ok(t);
    }
    if crate::view::get(txn, name)?.is_some() {
        return Err(SqlError::new(
            codes::WRONG_OBJECT_TYPE,
            format!("\"{name}\" is a view, not a table: views can only be read"),
        ));
    }
    Err(SqlError::new(
        codes::UNDEFINED_TABLE,
        format!("relation \"{name}\" does not exist"),
    ))
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

#[cfg(test)]
mod tests {
    use quorumdb_storage::{Engine, KvStore, MemoryEngine, TxnOptions};

    use super::*;

    #[test]
    fn a_shared_definition_is_reused_until_its_bytes_change() {
        let store = KvStore::local(Arc::new(MemoryEngine::new()) as Arc<dyn Engine>).unwrap();
        let mut table = Table {
            id: 1,
            name: "t".into(),
            columns: vec![Column {
                name: "a".into(),
                ty: DataType::Int4,
                nullable: false,
                default: None,
            }],
            primary_key: vec![0],
            indexes: vec![],
            checks: vec![],
            foreign_keys: vec![],
            referenced_by: vec![],
        };
        let mut txn = store.begin(TxnOptions::default()).unwrap();
        put_table(&mut txn, &table).unwrap();
        txn.commit().unwrap();

        let read = |store: &KvStore| {
            let mut txn = store.begin(TxnOptions::default()).unwrap();
            must_get_table_shared(&mut txn, "t").unwrap()
        };
        let (first, second) = (read(&store), read(&store));
        assert!(
            Arc::ptr_eq(&first, &second),
            "an unchanged definition is decoded once"
        );

        table.checks.push("a > 0".into());
        let mut txn = store.begin(TxnOptions::default()).unwrap();
        put_table(&mut txn, &table).unwrap();
        txn.commit().unwrap();
        let changed = read(&store);
        assert_eq!(changed.checks, vec!["a > 0".to_owned()]);
        assert!(first.checks.is_empty());
    }

    /// Data directories written before foreign keys existed hold table
    /// definitions without the two new fields; they still read, as tables
    /// without foreign keys.
    #[test]
    fn a_definition_stored_before_foreign_keys_still_decodes() {
        let old = TableWithoutForeignKeys {
            id: 7,
            name: "legacy".into(),
            columns: vec![Column {
                name: "a".into(),
                ty: DataType::Int8,
                nullable: false,
                default: Some("5".into()),
            }],
            primary_key: vec![0],
            indexes: vec![],
            checks: vec!["a > 0".into()],
        };
        let t = decode_table(&postcard::to_allocvec(&old).unwrap()).unwrap();
        assert_eq!((t.id, t.name.as_str(), t.checks.len()), (7, "legacy", 1));
        assert!(t.foreign_keys.is_empty() && t.referenced_by.is_empty());
        let mut new = t.clone();
        new.referenced_by.push("child".into());
        let bytes = encode(&new).unwrap();
        let back = decode_table(&bytes).unwrap();
        assert_eq!(back.referenced_by, vec!["child".to_owned()]);
        // A definition with more than this build knows is refused, not
        // read with its extra fields dropped.
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(decode_table(&longer).is_err());
    }
}
