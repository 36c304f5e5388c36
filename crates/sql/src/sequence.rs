//! Sequences: `CREATE SEQUENCE`, `SERIAL` columns and `nextval()`.
//!
//! A sequence is a catalog object (its definition, under the system
//! prefix, see `keys.rs`) plus one counter key holding the next value no
//! node has handed out yet. As in PostgreSQL, taking values is *not*
//! transactional: a value is never handed out twice, and never given back
//! when the transaction that took it rolls back, so sequences have gaps.
//!
//! **Blocks.** Moving the counter is a commit of its own (a Raft entry in a
//! cluster), so a node takes values in blocks of the sequence's `CACHE`
//! size and hands them out from memory ([`SequenceCache`], shared by every
//! session of the node; [`DEFAULT_CACHE`] unless the sequence says
//! otherwise). Within one node, values increase in the order `nextval` is
//! called; sessions on different nodes draw from different blocks, so
//! values across nodes interleave (PostgreSQL behaves the same way with
//! `CACHE` above 1, where each session has its own block). A block left
//! unused when a node stops is a gap. `CACHE 1` gives PostgreSQL's default
//! order at the price of a commit per value.
//!
//! **Invariants.** The counter only moves forward (or wraps, for `CYCLE`),
//! and a block is handed out only after the commit that reserved it
//! succeeded, so no two `nextval` calls anywhere return the same value (a
//! non-cycling sequence). The counter and the blocks are keyed by the
//! sequence's id *and* a random nonce drawn when it is defined: an id may
//! be handed out again after the transaction that created a sequence
//! rolled back (after its counter had moved), and a re-created sequence of
//! the same name must start afresh, so neither may inherit an old counter
//! or block. A reservation re-reads the definition in its own transaction,
//! so one racing a DROP fails instead of restarting the counter.
//!
//! **A sequence created by a transaction not yet committed** (`BEGIN;
//! CREATE TABLE t (id SERIAL); INSERT ...`) is invisible to a reservation's
//! own transaction, so while it is uncommitted its values are taken inside
//! the creating transaction itself, one at a time; they go with it if it
//! rolls back, and the counter is where it left it if it commits.
//!
//! **Per session** ([`SessionSequences`]): `currval` and `lastval` answer
//! from the values this session took; the functions reach the session's
//! state through [`scope`], like the statement clock.
//!
//! `TRUNCATE ... RESTART IDENTITY` restarts a sequence by storing its
//! definition again under a new nonce ([`restart`]), inside the statement's
//! transaction: once it commits, statements that look the sequence up get
//! the new definition, so a node's block of the old nonce is never used
//! again by them; a reservation still holding the old definition fails
//! with 40001 (an implicit statement retries with the new one); and a
//! transaction that took a value under the old definition, having started
//! before the restart, fails at commit (`nextval` puts the definition in
//! its read set), so no stored row gets a value the restarted sequence
//! hands out again. As in PostgreSQL (whose sessions use up their cached
//! values after `ALTER SEQUENCE ... RESTART`), a value merely *returned*
//! by such a transaction, not stored by it, may repeat.
//!
//! Not here: `ALTER SEQUENCE` (sqlparser cannot parse it), reading a sequence as a relation (`SELECT *
//! FROM s`), `setval` reaching other nodes' blocks (they hand out what they
//! hold first, as other sessions' caches do in PostgreSQL). A node
//! reserves one block at a time (one lock for all its sequences), so while
//! a reservation waits for Raft, other `nextval` calls on that node wait
//! too; it is one commit, bounded by the committer's own timeouts.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use quorumdb_storage::{KvStore, ScanOrder, Transaction, TxnOptions};
use serde::{Deserialize, Serialize};
use sqlparser::ast;

use crate::error::{Result, SqlError, codes};
use crate::keys;
use crate::types::{DataType, Value};

/// Values a node reserves per counter commit unless `CACHE` says otherwise.
pub const DEFAULT_CACHE: i64 = 32;
/// Tries of a block reservation that keeps meeting concurrent ones (40001).
const RESERVE_TRIES: usize = 50;

/// A sequence's definition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    pub id: u64,
    pub name: String,
    /// SMALLINT, INTEGER or BIGINT: bounds the default limits.
    pub ty: DataType,
    pub increment: i64,
    pub min: i64,
    pub max: i64,
    pub start: i64,
    pub cache: i64,
    pub cycle: bool,
    /// The table (by id) and column of a `SERIAL` column: dropped with it.
    pub owned_by: Option<(u64, String)>,
    /// Random, drawn at definition: with `id`, names this sequence's
    /// counter and blocks (see the module docs).
    pub nonce: u64,
}

/// A fresh nonce for a new definition.
fn nonce() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(now);
    h.finish()
}

/// Which sequence function an expression calls.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SeqFunc {
    NextVal,
    CurrVal,
    /// `setval(s, v)` and `setval(s, v, is_called)`.
    SetVal,
    LastVal,
}

impl SeqFunc {
    pub fn name(self) -> &'static str {
        match self {
            SeqFunc::NextVal => "nextval",
            SeqFunc::CurrVal => "currval",
            SeqFunc::SetVal => "setval",
            SeqFunc::LastVal => "lastval",
        }
    }
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| SqlError::internal(format!("sequence encode: {e}")))
}

fn decode<'a, T: Deserialize<'a>>(b: &'a [u8]) -> Result<T> {
    postcard::from_bytes(b).map_err(|e| SqlError::internal(format!("sequence decode: {e}")))
}

/// The sequence named `name` as `txn` sees it.
pub fn get(txn: &mut Transaction, name: &str) -> Result<Option<Sequence>> {
    txn.get(&keys::catalog_key(keys::CATALOG_SEQUENCE, name))?
        .map(|b| decode(&b))
        .transpose()
}

/// Every sequence, in name order.
pub fn list(txn: &mut Transaction) -> Result<Vec<Sequence>> {
    txn.scan_prefix(keys::CATALOG_SEQUENCE, ScanOrder::Forward)
        .map(|item| {
            let (_, v) = item?;
            decode(&v)
        })
        .collect()
}

pub fn put(txn: &mut Transaction, seq: &Sequence) -> Result<()> {
    txn.set(keys::catalog_key(keys::CATALOG_SEQUENCE, &seq.name), encode(seq)?)?;
    Ok(())
}

/// Removes the definition and the counter (in `txn`).
pub fn delete(txn: &mut Transaction, seq: &Sequence) -> Result<()> {
    txn.delete(keys::catalog_key(keys::CATALOG_SEQUENCE, &seq.name))?;
    txn.delete(keys::sequence_counter_key(seq.id, seq.nonce))?;
    Ok(())
}

/// Starts `seq` again at its START value, in `txn` (`TRUNCATE ... RESTART
/// IDENTITY`): the definition is stored again under a new nonce, so the
/// counter starts afresh and every node's cached block of the old one is
/// abandoned once `txn` commits (nothing changes if it rolls back).
pub fn restart(txn: &mut Transaction, seq: &Sequence) -> Result<()> {
    txn.delete(keys::sequence_counter_key(seq.id, seq.nonce))?;
    put(
        txn,
        &Sequence {
            nonce: nonce(),
            ..seq.clone()
        },
    )
}

/// The sequences a table's `SERIAL` columns own.
pub fn owned_by_table(txn: &mut Transaction, table_id: u64) -> Result<Vec<Sequence>> {
    Ok(list(txn)?
        .into_iter()
        .filter(|s| s.owned_by.as_ref().is_some_and(|(t, _)| *t == table_id))
        .collect())
}

/// The limits of a sequence of type `ty` (PostgreSQL's defaults).
fn type_bounds(ty: DataType) -> (i64, i64) {
    match ty {
        DataType::Int2 => (i16::MIN.into(), i16::MAX.into()),
        DataType::Int4 => (i32::MIN.into(), i32::MAX.into()),
        _ => (i64::MIN, i64::MAX),
    }
}

fn option_int(e: &ast::Expr, what: &str) -> Result<i64> {
    let text = e.to_string();
    text.trim()
        .parse::<i64>()
        .map_err(|_| SqlError::syntax(format!("{what} must be an integer, not {text}")))
}

/// A definition from `CREATE SEQUENCE` options (or a `SERIAL` column's
/// none), checked as PostgreSQL checks it.
pub fn define(id: u64, name: String, ty: DataType, options: &[ast::SequenceOptions]) -> Result<Sequence> {
    let mut ty = ty;
    let (mut increment, mut min, mut max, mut start, mut cache, mut cycle) =
        (1, None, None, None, None, false);
    for o in options {
        match o {
            ast::SequenceOptions::DataType(t) => {
                ty = crate::binder::map_type(t)?;
                if !ty.is_integer() {
                    return Err(SqlError::new(
                        codes::INVALID_PARAMETER_VALUE,
                        "sequence type must be smallint, integer, or bigint",
                    ));
                }
            }
            ast::SequenceOptions::IncrementBy(e, _) => increment = option_int(e, "INCREMENT")?,
            ast::SequenceOptions::MinValue(e) => {
                min = e.as_ref().map(|e| option_int(e, "MINVALUE")).transpose()?
            }
            ast::SequenceOptions::MaxValue(e) => {
                max = e.as_ref().map(|e| option_int(e, "MAXVALUE")).transpose()?
            }
            ast::SequenceOptions::StartWith(e, _) => start = Some(option_int(e, "START")?),
            ast::SequenceOptions::Cache(e) => cache = Some(option_int(e, "CACHE")?),
            // sqlparser's flag means "NO CYCLE".
            ast::SequenceOptions::Cycle(no) => cycle = !*no,
            ast::SequenceOptions::OwnedBy(_) => {
                return Err(SqlError::unsupported("CREATE SEQUENCE ... OWNED BY"));
            }
        }
    }
    let invalid = |m: String| SqlError::new(codes::INVALID_PARAMETER_VALUE, m);
    if increment == 0 {
        return Err(invalid("INCREMENT must not be zero".into()));
    }
    let (ty_min, ty_max) = type_bounds(ty);
    let min = min.unwrap_or(if increment > 0 { 1 } else { ty_min });
    let max = max.unwrap_or(if increment > 0 { ty_max } else { -1 });
    for (what, v) in [("MINVALUE", min), ("MAXVALUE", max)] {
        if v < ty_min || v > ty_max {
            return Err(invalid(format!(
                "{what} ({v}) is out of range for sequence data type {}",
                ty.name()
            )));
        }
    }
    if min >= max {
        return Err(invalid(format!(
            "MINVALUE ({min}) must be less than MAXVALUE ({max})"
        )));
    }
    let start = start.unwrap_or(if increment > 0 { min } else { max });
    if start < min {
        return Err(invalid(format!(
            "START value ({start}) cannot be less than MINVALUE ({min})"
        )));
    }
    if start > max {
        return Err(invalid(format!(
            "START value ({start}) cannot be greater than MAXVALUE ({max})"
        )));
    }
    let cache = cache.unwrap_or(DEFAULT_CACHE);
    if cache < 1 {
        return Err(invalid(format!("CACHE ({cache}) must be greater than zero")));
    }
    Ok(Sequence {
        id,
        name,
        ty,
        increment,
        min,
        max,
        start,
        cache,
        cycle,
        owned_by: None,
        nonce: nonce(),
    })
}

/// A block of values a node holds: `left` more, starting at `next`.
#[derive(Clone, Copy, Debug)]
struct Block {
    next: i64,
    left: i64,
}

/// The blocks a node holds, by sequence id. One per node, shared by its
/// sessions (see the module docs); a session made on its own gets its own.
#[derive(Default)]
pub struct SequenceCache {
    /// By (sequence id, nonce).
    blocks: Mutex<HashMap<(u64, u64), Block>>,
}

impl SequenceCache {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The next value of `seq`, reserving a new block through `store` when
    /// this node's is used up.
    fn next(&self, store: &KvStore, seq: &Sequence) -> Result<i64> {
        // The lock is held across a reservation: sessions of this node
        // wanting the same sequence wait for its block instead of each
        // reserving one (and conflicting with each other).
        let mut blocks = self.blocks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(b) = blocks.get_mut(&(seq.id, seq.nonce)).filter(|b| b.left > 0) {
            let v = b.next;
            b.left -= 1;
            b.next = b.next.wrapping_add(seq.increment);
            return Ok(v);
        }
        let block = reserve(store, seq)?;
        // A block of an earlier definition (before a restart) is dead.
        blocks.retain(|(id, _), _| *id != seq.id);
        blocks.insert(
            (seq.id, seq.nonce),
            Block {
                next: block.next.wrapping_add(seq.increment),
                left: block.left - 1,
            },
        );
        Ok(block.next)
    }

    /// Forgets this node's block of `seq` (after `setval`).
    fn forget(&self, seq: &Sequence) {
        self.blocks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&(seq.id, seq.nonce));
    }
}

/// What the counter key holds: the next value to hand out, or `None` once
/// a non-cycling sequence is exhausted.
type Counter = Option<i64>;

/// Reserves up to `seq.cache` values in a transaction of its own, retried
/// while it meets concurrent reservations.
fn reserve(store: &KvStore, seq: &Sequence) -> Result<Block> {
    let mut tries = 0;
    loop {
        let mut txn = store.begin(TxnOptions::default())?;
        still_defined(&mut txn, seq)?;
        let block = take(&mut txn, seq, seq.cache)?;
        match txn.commit() {
            Ok(_) => return Ok(block),
            Err(quorumdb_storage::Error::Conflict { .. }) if tries < RESERVE_TRIES => tries += 1,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Moves the counter past up to `most` values in `txn` and returns them.
fn take(txn: &mut Transaction, seq: &Sequence, most: i64) -> Result<Block> {
    let key = keys::sequence_counter_key(seq.id, seq.nonce);
    let current: Counter = match txn.get(&key)? {
        Some(b) => decode(&b)?,
        None => Some(seq.start),
    };
    let first = match current.filter(|v| (seq.min..=seq.max).contains(v)) {
        Some(v) => v,
        None if seq.cycle => wrap_start(seq),
        None => return Err(exhausted(seq)),
    };
    // How many values fit before the limit, and what follows them.
    let room = if seq.increment > 0 {
        (i128::from(seq.max) - i128::from(first)) / i128::from(seq.increment) + 1
    } else {
        (i128::from(first) - i128::from(seq.min)) / -i128::from(seq.increment) + 1
    };
    let n = room.clamp(1, i128::from(most.max(1)));
    let after = i128::from(first) + n * i128::from(seq.increment);
    let next: Counter = i64::try_from(after)
        .ok()
        .filter(|v| (seq.min..=seq.max).contains(v));
    txn.set(key, encode(&next)?)?;
    Ok(Block {
        next: first,
        left: n as i64,
    })
}

/// True if `seq` was created (or changed) by `txn` and not committed yet:
/// no other transaction can see it, so its values are taken inside `txn`
/// (and vanish with it if it rolls back).
fn created_in(txn: &Transaction, seq: &Sequence) -> bool {
    txn.buffered(&keys::catalog_key(keys::CATALOG_SEQUENCE, &seq.name))
}

/// Fails unless `seq` is still the sequence its name holds (read in the
/// reservation's own transaction, so a concurrent DROP conflicts with it).
fn still_defined(txn: &mut Transaction, seq: &Sequence) -> Result<()> {
    match get(txn, &seq.name)? {
        Some(now) if now.id == seq.id && now.nonce == seq.nonce => Ok(()),
        // Restarted since the statement looked it up: a retry sees the new
        // definition.
        Some(now) if now.id == seq.id => Err(SqlError::new(
            codes::SERIALIZATION_FAILURE,
            format!(
                "sequence \"{}\" was restarted by a concurrent transaction",
                seq.name
            ),
        )),
        _ => Err(SqlError::new(
            codes::UNDEFINED_TABLE,
            format!("sequence \"{}\" no longer exists", seq.name),
        )),
    }
}

fn wrap_start(seq: &Sequence) -> i64 {
    if seq.increment > 0 { seq.min } else { seq.max }
}

fn exhausted(seq: &Sequence) -> SqlError {
    let (which, limit) = if seq.increment > 0 {
        ("maximum", seq.max)
    } else {
        ("minimum", seq.min)
    };
    SqlError::new(
        codes::SEQUENCE_GENERATOR_LIMIT_EXCEEDED,
        format!(
            "nextval: reached {which} value of sequence \"{}\" ({limit})",
            seq.name
        ),
    )
}

/// `setval(seq, value, is_called)`: the counter moves (in a commit of its
/// own) so that the next `nextval` returns `value` (`is_called` false) or
/// the value after it.
/// `setval` (see [`SessionSequences::call`]); `user` is the statement's
/// transaction, which holds the counter if it created the sequence.
fn set(
    store: &KvStore,
    cache: &SequenceCache,
    user: &mut Transaction,
    seq: &Sequence,
    value: i64,
    is_called: bool,
) -> Result<()> {
    if value < seq.min || value > seq.max {
        return Err(SqlError::new(
            codes::NUMERIC_OUT_OF_RANGE,
            format!(
                "setval: value {value} is out of bounds for sequence \"{}\" ({}..{})",
                seq.name, seq.min, seq.max
            ),
        ));
    }
    let next: Counter = if is_called {
        value
            .checked_add(seq.increment)
            .filter(|v| (seq.min..=seq.max).contains(v))
    } else {
        Some(value)
    };
    if created_in(user, seq) {
        user.set(keys::sequence_counter_key(seq.id, seq.nonce), encode(&next)?)?;
        return Ok(());
    }
    let mut tries = 0;
    loop {
        let mut txn = store.begin(TxnOptions::default())?;
        still_defined(&mut txn, seq)?;
        txn.set(keys::sequence_counter_key(seq.id, seq.nonce), encode(&next)?)?;
        match txn.commit() {
            Ok(_) => break,
            Err(quorumdb_storage::Error::Conflict { .. }) if tries < RESERVE_TRIES => tries += 1,
            Err(e) => return Err(e.into()),
        }
    }
    cache.forget(seq);
    Ok(())
}

/// A session's sequence state: where blocks come from, and the values it
/// took (for `currval` and `lastval`).
#[derive(Clone)]
pub struct SessionSequences {
    store: KvStore,
    cache: Arc<SequenceCache>,
    taken: Arc<Mutex<Taken>>,
}

#[derive(Default)]
struct Taken {
    by_id: HashMap<u64, i64>,
    last: Option<i64>,
}

impl SessionSequences {
    pub fn new(store: KvStore, cache: Arc<SequenceCache>) -> Self {
        Self {
            store,
            cache,
            taken: Arc::default(),
        }
    }

    /// Records a value for `currval` and, if `nextval` took it, `lastval`
    /// (PostgreSQL's `setval` sets the former only).
    fn took(&self, seq: &Sequence, v: i64, by_nextval: bool) {
        let mut t = self.taken.lock().unwrap_or_else(|e| e.into_inner());
        t.by_id.insert(seq.id, v);
        if by_nextval {
            t.last = Some(v);
        }
    }

    /// Evaluates a sequence function (`args` already evaluated: setval's
    /// value and optional `is_called`) for a statement running in `txn`.
    pub fn call(
        &self,
        f: SeqFunc,
        seq: Option<&Sequence>,
        args: &[Value],
        txn: &mut Transaction,
    ) -> Result<Value> {
        let not_defined = |what: String| SqlError::new(codes::OBJECT_NOT_IN_PREREQUISITE_STATE, what);
        let Some(seq) = seq else {
            // lastval()
            let t = self.taken.lock().unwrap_or_else(|e| e.into_inner());
            return t
                .last
                .map(Value::Int)
                .ok_or_else(|| not_defined("lastval is not yet defined in this session".into()));
        };
        match f {
            SeqFunc::NextVal => {
                let v = if created_in(txn, seq) {
                    take(txn, seq, 1)?.next
                } else {
                    // The definition the value comes from joins the read
                    // set whatever the isolation: if a restart replaced it
                    // after this transaction's snapshot, the commit fails
                    // (40001) instead of storing a value the restarted
                    // sequence will hand out again.
                    txn.constraint_reads(|t| t.get(&keys::catalog_key(keys::CATALOG_SEQUENCE, &seq.name)))?;
                    self.cache.next(&self.store, seq)?
                };
                self.took(seq, v, true);
                Ok(Value::Int(v))
            }
            SeqFunc::CurrVal => {
                let t = self.taken.lock().unwrap_or_else(|e| e.into_inner());
                t.by_id.get(&seq.id).map(|v| Value::Int(*v)).ok_or_else(|| {
                    not_defined(format!(
                        "currval of sequence \"{}\" is not yet defined in this session",
                        seq.name
                    ))
                })
            }
            SeqFunc::SetVal => {
                let value = match args.first() {
                    Some(Value::Int(v)) => *v,
                    Some(Value::Null) | None => return Ok(Value::Null),
                    Some(other) => {
                        return Err(SqlError::new(
                            codes::DATATYPE_MISMATCH,
                            format!(
                                "setval: the value must be an integer, not {}",
                                other.data_type().name()
                            ),
                        ));
                    }
                };
                let is_called = match args.get(1) {
                    None => true,
                    Some(Value::Bool(b)) => *b,
                    Some(Value::Null) => return Ok(Value::Null),
                    Some(other) => {
                        return Err(SqlError::new(
                            codes::DATATYPE_MISMATCH,
                            format!(
                                "setval: is_called must be a boolean, not {}",
                                other.data_type().name()
                            ),
                        ));
                    }
                };
                set(&self.store, &self.cache, txn, seq, value, is_called)?;
                if is_called {
                    self.took(seq, value, false);
                }
                Ok(Value::Int(value))
            }
            SeqFunc::LastVal => unreachable_lastval(),
        }
    }
}

/// `lastval` is bound without a sequence; a binder bug would land here.
fn unreachable_lastval() -> Result<Value> {
    Err(SqlError::internal("lastval bound with a sequence"))
}

thread_local! {
    static CURRENT: RefCell<Option<SessionSequences>> = const { RefCell::new(None) };
}

/// Runs `f` with `seqs` as this thread's session sequence state (the
/// previous one is restored afterwards, even if `f` panics).
pub fn scope<T>(seqs: &SessionSequences, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<SessionSequences>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|c| *c.borrow_mut() = previous);
        }
    }
    let _restore = Restore(CURRENT.with(|c| c.borrow_mut().replace(seqs.clone())));
    f()
}

/// Evaluates a sequence function in the running session (see [`scope`])
/// for a statement running in `txn`.
pub fn call(f: SeqFunc, seq: Option<&Sequence>, args: &[Value], txn: &mut Transaction) -> Result<Value> {
    let seqs = CURRENT.with(|c| c.borrow().clone());
    match seqs {
        Some(s) => s.call(f, seq, args, txn),
        None => Err(SqlError::unsupported(format!("{}() outside a session", f.name()))),
    }
}

/// The sequence a `nextval`-style argument names: PostgreSQL reads the
/// text as a possibly qualified, possibly quoted name (`'public.s'`,
/// `'"MySeq"'`); unquoted parts fold to lower case.
pub fn parse_name(text: &str) -> Result<String> {
    let mut parts = Vec::new();
    let mut chars = text.trim().chars().peekable();
    loop {
        let mut part = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        part.push('"');
                    }
                    Some('"') => break,
                    Some(c) => part.push(c),
                    None => return Err(SqlError::syntax(format!("invalid name syntax: {text}"))),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == '.' {
                    break;
                }
                part.push(c.to_ascii_lowercase());
                chars.next();
            }
        }
        if part.is_empty() {
            return Err(SqlError::syntax(format!("invalid name syntax: {text}")));
        }
        parts.push(part);
        match chars.next() {
            Some('.') => continue,
            None => break,
            Some(_) => return Err(SqlError::syntax(format!("invalid name syntax: {text}"))),
        }
    }
    match parts.as_slice() {
        [name] => Ok(name.clone()),
        [schema, name] if schema == "public" => Ok(name.clone()),
        [schema, _] => Err(SqlError::new(
            codes::INVALID_SCHEMA_NAME,
            format!("schema \"{schema}\" does not exist"),
        )),
        _ => Err(SqlError::syntax(format!(
            "improper relation name (too many dotted names): {text}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fold_and_unquote_as_postgres_reads_them() {
        assert_eq!(parse_name("T_id_seq").unwrap(), "t_id_seq");
        assert_eq!(parse_name("public.s").unwrap(), "s");
        assert_eq!(parse_name("\"My\"\"Seq\"").unwrap(), "My\"Seq");
        assert_eq!(
            parse_name("other.s").unwrap_err().code,
            codes::INVALID_SCHEMA_NAME
        );
        assert!(parse_name("").is_err());
        assert!(parse_name("a.").is_err());
    }

    #[test]
    fn definitions_get_postgres_defaults_and_checks() {
        let s = define(1, "s".into(), DataType::Int8, &[]).unwrap();
        assert_eq!((s.min, s.max, s.start, s.increment), (1, i64::MAX, 1, 1));
        let parse = |sql: &str| match crate::session::parse(sql).unwrap().remove(0) {
            ast::Statement::CreateSequence { sequence_options, .. } => sequence_options,
            other => panic!("{other}"),
        };
        let down = define(
            1,
            "s".into(),
            DataType::Int8,
            &parse("CREATE SEQUENCE s INCREMENT BY -2"),
        )
        .unwrap();
        assert_eq!((down.min, down.max, down.start), (i64::MIN, -1, -1));
        let small = define(
            1,
            "s".into(),
            DataType::Int8,
            &parse("CREATE SEQUENCE s AS smallint"),
        )
        .unwrap();
        assert_eq!(small.max, 32767);
        for bad in [
            "CREATE SEQUENCE s INCREMENT 0",
            "CREATE SEQUENCE s MINVALUE 5 MAXVALUE 5",
            "CREATE SEQUENCE s START 0",
            "CREATE SEQUENCE s CACHE 0",
            "CREATE SEQUENCE s AS smallint MAXVALUE 40000",
        ] {
            let e = define(1, "s".into(), DataType::Int8, &parse(bad)).unwrap_err();
            assert_eq!(e.code, codes::INVALID_PARAMETER_VALUE, "{bad}: {e:?}");
        }
    }
}

#[cfg(test)]
mod concurrency_tests {
    use std::collections::HashSet;
    use std::sync::Arc;

    use quorumdb_storage::{Engine, KvStore, MemoryEngine};

    use crate::Session;
    use crate::types::Value;

    fn int(s: &mut Session, sql: &str) -> i64 {
        match s.execute(sql).unwrap().pop().unwrap().rows.as_slice() {
            [row] => match row.as_slice() {
                [Value::Int(v)] => *v,
                other => panic!("{sql}: {other:?}"),
            },
            other => panic!("{sql}: {other:?}"),
        }
    }

    /// Sessions with caches of their own stand for nodes: their blocks
    /// race for the counter, and no value may be handed out twice; each
    /// session's own values increase.
    #[test]
    fn racing_nodes_never_hand_out_a_value_twice() {
        let store = KvStore::local(Arc::new(MemoryEngine::new()) as Arc<dyn Engine>).unwrap();
        Session::new(store.clone())
            .execute("CREATE SEQUENCE s CACHE 3")
            .unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || {
                    let mut s = Session::new(store);
                    (0..200)
                        .map(|_| int(&mut s, "SELECT nextval('s')"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = HashSet::new();
        for t in threads {
            let values = t.join().unwrap();
            assert!(values.windows(2).all(|w| w[0] < w[1]), "{values:?}");
            for v in values {
                assert!(all.insert(v), "{v} handed out twice");
            }
        }
        assert_eq!(all.len(), 800);
        // Blocks of 3 from one counter: nothing beyond what was reserved.
        assert!(all.iter().all(|v| (1..=800 + 4 * 3).contains(v)));
    }

    /// Two sessions over one store, as on one node (`same_node`: sharing a
    /// sequence cache) or on two, after `CREATE TABLE t (id SERIAL ...)`.
    fn two_sessions(same_node: bool) -> (Session, Session) {
        let store = KvStore::local(Arc::new(MemoryEngine::new()) as Arc<dyn Engine>).unwrap();
        let cache = super::SequenceCache::new();
        let other = if same_node {
            cache.clone()
        } else {
            super::SequenceCache::new()
        };
        let mut a = Session::new(store.clone()).with_sequence_cache(cache);
        let b = Session::new(store).with_sequence_cache(other);
        a.execute("CREATE TABLE t (id SERIAL PRIMARY KEY, v TEXT)")
            .unwrap();
        (a, b)
    }

    /// `TRUNCATE ... RESTART IDENTITY` on one node restarts the sequence
    /// for every node: blocks cached elsewhere are abandoned, not used up.
    #[test]
    fn a_restart_reaches_the_blocks_other_nodes_hold() {
        let (mut a, mut b) = two_sessions(false);
        assert_eq!(int(&mut a, "INSERT INTO t (v) VALUES ('a') RETURNING id"), 1);
        assert_eq!(int(&mut b, "INSERT INTO t (v) VALUES ('b') RETURNING id"), 33);
        b.execute("TRUNCATE t RESTART IDENTITY").unwrap();
        // Node a still holds 2..=32 of the old block: it must not hand them out.
        assert_eq!(int(&mut a, "INSERT INTO t (v) VALUES ('c') RETURNING id"), 1);
        assert_eq!(int(&mut b, "INSERT INTO t (v) VALUES ('d') RETURNING id"), 33);
        assert_eq!(int(&mut a, "INSERT INTO t (v) VALUES ('e') RETURNING id"), 2);
    }

    /// A snapshot transaction that started before a restart and inserts a
    /// value of the old definition fails at commit: the restarted
    /// sequence will hand that value out again.
    #[test]
    fn a_transaction_from_before_a_restart_cannot_store_an_old_value() {
        let (mut a, mut b) = two_sessions(true);
        assert_eq!(int(&mut a, "INSERT INTO t (v) VALUES ('a') RETURNING id"), 1);
        a.execute("BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT 1")
            .unwrap();
        b.execute("TRUNCATE t RESTART IDENTITY").unwrap();
        assert_eq!(int(&mut a, "INSERT INTO t (v) VALUES ('old') RETURNING id"), 2);
        let err = a.execute("COMMIT").unwrap_err();
        assert_eq!(err.code, crate::error::codes::SERIALIZATION_FAILURE, "{err:?}");
        assert_eq!(int(&mut b, "INSERT INTO t (v) VALUES ('new') RETURNING id"), 1);
        assert_eq!(int(&mut b, "SELECT count(*) FROM t"), 1);
    }

    /// Sessions sharing a cache (one node) take values in call order, and
    /// `currval` is per session.
    #[test]
    fn sessions_of_one_node_share_its_block() {
        let (mut a, mut b) = two_sessions(true);
        assert_eq!(int(&mut a, "INSERT INTO t (v) VALUES ('a') RETURNING id"), 1);
        assert_eq!(int(&mut b, "INSERT INTO t (v) VALUES ('b') RETURNING id"), 2);
        assert_eq!(int(&mut a, "INSERT INTO t (v) VALUES ('c') RETURNING id"), 3);
        assert_eq!(int(&mut b, "SELECT currval('t_id_seq')"), 2);
        assert_eq!(int(&mut a, "SELECT lastval()"), 3);
    }
}
