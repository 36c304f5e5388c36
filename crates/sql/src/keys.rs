//! Key layout in the KV store and row encoding.
//!
//! ```text
//! 0x01 0x01 <name>                  catalog: table definition (postcard)
//! 0x01 0x02 <name>                  catalog: index name -> table name
//! 0x01 0x03                         catalog: next object id (u64)
//! 0x01 0x04 <table id>              hidden row-id counter of a table
//! 0x01 0x05 <name>                  catalog: a user (postcard; see users.rs)
//! 0x01 0x06 <name>                  catalog: a sequence (postcard; see sequence.rs)
//! 0x01 0x07 <sequence id> <nonce>   a sequence's counter (next value to hand out)
//! 0x01 0x08 <name>                  catalog: a view (postcard; see view.rs)
//! 0x02 <table id> <pk values...>    a row (postcard of the column values)
//! 0x03 <index id> <values...> <pk>  a secondary index entry (empty value)
//! ```
//!
//! Every element after the leading bytes uses the storage crate's
//! order-preserving `keycode`, so a primary-key range is a key range and an
//! index prefix is a key prefix. Table and index ids never repeat (dropping
//! a table does not free its id), so a dropped table's leftover keys can
//! never be mistaken for a new table's.

use quorumdb_storage::keycode::{self, Direction, KeyValue};

use crate::error::{Result, SqlError};

use crate::types::{Row, Value};

pub const CATALOG_TABLE: &[u8] = &[0x01, 0x01];
pub const CATALOG_INDEX: &[u8] = &[0x01, 0x02];
pub const CATALOG_NEXT_ID: &[u8] = &[0x01, 0x03];
pub const CATALOG_ROWID: &[u8] = &[0x01, 0x04];
pub const CATALOG_USER: &[u8] = &[0x01, 0x05];
pub const CATALOG_SEQUENCE: &[u8] = &[0x01, 0x06];
const SEQUENCE_COUNTER: &[u8] = &[0x01, 0x07];
pub const CATALOG_VIEW: &[u8] = &[0x01, 0x08];
const ROW: u8 = 0x02;
const INDEX: u8 = 0x03;

pub fn to_key_value(v: &Value) -> KeyValue {
    match v {
        Value::Null => KeyValue::Null,
        Value::Bool(b) => KeyValue::Bool(*b),
        Value::Int(i) => KeyValue::Int(*i),
        Value::Float(f) => KeyValue::Float(*f),
        Value::Text(s) => KeyValue::Text(s.clone()),
        // A column holds one type, so dates and timestamps order correctly
        // as integers within it.
        Value::Date(d) => KeyValue::Int(i64::from(*d)),
        Value::Timestamp(t) => KeyValue::Int(*t),
        Value::Bytes(b) => KeyValue::Bytes(b.clone()),
        Value::Numeric(d) => KeyValue::Bytes(d.key_bytes()),
        Value::Interval(iv) => KeyValue::Bytes(iv.key_bytes()),
        // Byte order is UUID order.
        Value::Uuid(u) => KeyValue::Bytes(u.to_vec()),
    }
}

pub fn from_key_value(v: KeyValue) -> Result<Value> {
    Ok(match v {
        KeyValue::Null => Value::Null,
        KeyValue::Bool(b) => Value::Bool(b),
        KeyValue::Int(i) => Value::Int(i),
        KeyValue::Float(f) => Value::Float(f),
        KeyValue::Text(s) => Value::Text(s),
        KeyValue::Bytes(b) => Value::Bytes(b),
    })
}

pub fn catalog_key(prefix: &[u8], name: &str) -> Vec<u8> {
    let mut k = prefix.to_vec();
    keycode::encode_value(&mut k, &KeyValue::Text(name.to_string()), Direction::Asc);
    k
}

pub fn rowid_key(table_id: u64) -> Vec<u8> {
    let mut k = CATALOG_ROWID.to_vec();
    keycode::encode_value(&mut k, &KeyValue::Int(table_id as i64), Direction::Asc);
    k
}

pub fn sequence_counter_key(sequence_id: u64, nonce: u64) -> Vec<u8> {
    let mut k = SEQUENCE_COUNTER.to_vec();
    keycode::encode_value(&mut k, &KeyValue::Int(sequence_id as i64), Direction::Asc);
    keycode::encode_value(&mut k, &KeyValue::Int(nonce as i64), Direction::Asc);
    k
}

/// The prefix of every row of a table.
pub fn table_prefix(table_id: u64) -> Vec<u8> {
    let mut k = vec![ROW];
    keycode::encode_value(&mut k, &KeyValue::Int(table_id as i64), Direction::Asc);
    k
}

/// The prefix of every entry of an index.
pub fn index_prefix(index_id: u64) -> Vec<u8> {
    let mut k = vec![INDEX];
    keycode::encode_value(&mut k, &KeyValue::Int(index_id as i64), Direction::Asc);
    k
}

/// Appends values, each in its direction (ascending when `dirs` is short).
pub fn append_values(key: &mut Vec<u8>, values: &[Value], dirs: &[Direction]) {
    for (i, v) in values.iter().enumerate() {
        let dir = dirs.get(i).copied().unwrap_or(Direction::Asc);
        keycode::encode_value(key, &to_key_value(v), dir);
    }
}

pub fn row_key(table_id: u64, pk: &[Value]) -> Vec<u8> {
    let mut k = table_prefix(table_id);
    append_values(&mut k, pk, &[]);
    k
}

pub fn encode_row(row: &Row) -> Result<Vec<u8>> {
    postcard::to_allocvec(row).map_err(|e| SqlError::internal(format!("cannot encode row: {e}")))
}

pub fn decode_row(bytes: &[u8]) -> Result<Row> {
    postcard::from_bytes(bytes).map_err(|e| SqlError::internal(format!("cannot decode row: {e}")))
}

/// Decodes the trailing primary key of an index entry: the index entry is
/// `prefix ++ indexed values ++ pk`, and `skip` is the number of indexed values.
pub fn decode_index_pk(key: &[u8], prefix_len: usize, skip: usize) -> Result<Vec<Value>> {
    let mut rest = key
        .get(prefix_len..)
        .ok_or_else(|| SqlError::internal("short index key"))?;
    for _ in 0..skip {
        keycode::decode_value(&mut rest)?;
    }
    keycode::decode(rest)?.into_iter().map(from_key_value).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_keys_order_by_pk() {
        let a = row_key(7, &[Value::Int(-5)]);
        let b = row_key(7, &[Value::Int(3)]);
        let c = row_key(8, &[Value::Int(-100)]);
        assert!(a < b && b < c);
        assert!(a.starts_with(&table_prefix(7)));
    }

    #[test]
    fn index_pk_round_trips() {
        let mut k = index_prefix(3);
        let plen = k.len();
        append_values(&mut k, &[Value::Text("x".into())], &[Direction::Desc]);
        append_values(&mut k, &[Value::Int(42)], &[]);
        assert_eq!(decode_index_pk(&k, plen, 1).unwrap(), vec![Value::Int(42)]);
    }
}
