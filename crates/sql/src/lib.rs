//! QuorumDB's SQL engine: PostgreSQL-flavoured SQL over the MVCC key-value
//! layer of `quorumdb-storage`.
//!
//! ```text
//!  SQL text ─► session (parse with sqlparser, transaction control)
//!              ─► binder (names/types via catalog) ─► plan
//!              ─► optimizer (folding, push-down, index choice, join order)
//!              ─► exec (pull-based operators over the Transaction)
//!  INSERT/UPDATE/DELETE ─► dml      CREATE/DROP ─► ddl ─► catalog
//! ```
//!
//! - [`types`], [`numeric`], [`datetime`], [`interval`], [`uuid`]: data
//!   types and values.
//! - [`math`]: power, sqrt, exp, ln, log, ... for double precision and
//!   NUMERIC, with [`bigint`] for NUMERIC's wide intermediate values;
//!   [`strings`]: replace, lpad, split_part, ... and greatest/least;
//!   [`regexp`]: `~` and the `regexp_*` functions; [`to_char`]: date/time
//!   formatting.
//! - [`error`]: [`SqlError`] with its SQLSTATE.
//! - [`keys`]: how rows, index entries and the catalog map to KV keys.
//! - [`catalog`]: table/index definitions stored transactionally;
//!   [`infoschema`]: the read-only `information_schema` views over it.
//! - [`expr`], [`plan`]: bound expressions and plan trees.
//! - [`window`]: window functions (`... OVER (...)`), bound and evaluated.
//! - [`binder`], [`optimizer`], [`exec`]: planning and execution.
//! - [`dml`], [`ddl`]: statements that write.
//! - [`users`]: users and their SCRAM verifiers in the catalog.
//! - [`interrupt`]: cancelling a running statement (57014).
//! - [`session`]: the public entry point ([`Session`]).
//!
//! This crate never depends on the Raft layer: it talks to
//! [`quorumdb_storage::KvStore`] and its [`quorumdb_storage::Transaction`].

pub mod bigint;
pub mod binder;
pub mod catalog;
pub mod datetime;
pub mod ddl;
pub mod dml;
pub mod error;
pub mod exec;
pub mod expr;
pub mod foreign_key;
pub mod infoschema;
pub mod interrupt;
pub mod interval;
pub mod keys;
pub mod math;
pub mod numeric;
pub mod optimizer;
pub mod params;
pub mod placeholders;
pub mod plan;
pub mod regexp;
pub mod sequence;
pub mod session;
pub mod strings;
pub mod to_char;
pub mod types;
pub mod users;
pub mod uuid;
pub mod view;
pub mod window;

pub use error::{SqlError, SqlState};
pub use interrupt::Interrupt;
pub use session::{Description, QueryResult, ResultColumn, Session};
pub use types::{DataType, Value};
