//! Query handlers: one [`ConnHandler`] per connection, bridging pgwire's
//! simple and extended query protocols to a [`quorumdb_sql::Session`].
//!
//! - Simple query (`Q`): the string is split into statements
//!   ([`split::split_statements`]); each runs in turn (compat layer first,
//!   then the engine); the first error stops the batch, as in PostgreSQL.
//!   Notices (unknown SET, BEGIN inside a transaction, ...) are sent before
//!   the statement's result.
//! - Extended query: Parse classifies and describes the statement
//!   (parameter types inferred when the client sent no OIDs, see
//!   [`infer`]); Bind decodes text and binary parameters; Execute runs it
//!   and streams rows in the formats the client asked for; pgwire keeps
//!   the portal for `max_rows`/PortalSuspended.
//! - ReadyForQuery reports the session's real state: `I` idle, `T` in a
//!   transaction block, `E` in a failed one (from `Session::in_transaction`
//!   / `transaction_failed`), never pgwire's guess.
//!
//! Invariants: handlers run on the connection's own thread (`conn_thread`),
//! so engine calls run inline, blocking that thread alone while a commit
//! waits for Raft; the session sits behind a std `Mutex` shared by the
//! handlers of its one connection; no session is shared between
//! connections, so none blocks another. Dropping the handler drops the
//! session, which rolls back an open transaction (client disconnect).
//! Nothing here unwraps client input.
//!
//! A multi-statement simple query without transaction control runs as one
//! implicit transaction (as in PostgreSQL): an error rolls back the whole
//! string; a serialization failure re-runs it (results are buffered until
//! the batch is done, so nothing was sent yet).
//!
//! COPY FROM STDIN / TO STDOUT (text, CSV; simple and extended protocol):
//! the rows of a COPY FROM are inserted in batches of [`COPY_BATCH`] through
//! the session, inside one transaction (opened here outside a block), so a
//! bad row leaves nothing behind.
//!
//! CancelRequest: the session's [`quorumdb_sql::Interrupt`] is registered
//! under the connection's cancel key (see `cancel`); the engine clears it
//! as each statement starts, and a multi-statement query also checks it
//! between statements, so a cancel that lands in the gap still stops the
//! rest of the batch (57014).
//!
//! Not done: describing a portal re-uses the statement's description;
//! cursors (DECLARE/FETCH); a parse error in COPY data inside an explicit
//! block does not mark the block failed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::sink::{Sink, SinkExt};
use pgwire::api::copy::CopyHandler;
use pgwire::api::portal::{Format, Portal};
use pgwire::api::query::{ExtendedQueryHandler, SimpleQueryHandler};
use pgwire::api::results::{
    CopyResponse, DescribePortalResponse, DescribeStatementResponse, FieldFormat, FieldInfo, QueryResponse,
    Response, Tag,
};
use pgwire::api::stmt::{QueryParser, StoredStatement};
use pgwire::api::store::{Entry, PortalStore};
use pgwire::api::{ClientInfo, ClientPortalStore, DEFAULT_NAME, PgWireConnectionState, Type};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail, CopyInResponse, CopyOutResponse};
use pgwire::messages::data::{NoData, ParameterDescription, RowDescription};
use pgwire::messages::extendedquery::{
    Bind, BindComplete, Describe, Execute, Parse, ParseComplete, Sync as PgSync, TARGET_TYPE_BYTE_PORTAL,
    TARGET_TYPE_BYTE_STATEMENT,
};
use pgwire::messages::response::{
    CommandComplete, EmptyQueryResponse, NoticeResponse, ReadyForQuery, TransactionStatus,
};
use pgwire::messages::simplequery::Query;
use quorumdb_sql::{DataType, Description, QueryResult, ResultColumn, Session, SqlError, Value};
use quorumdb_storage::KvStore;

use super::codec;
use super::compat::{self, Identity, Intercept, Notice, Settings};
use super::copy::{self, CopySpec, RecordReader};
use super::deferred::DeferFlush;
use super::infer;
use super::pg_catalog;
use super::split;

const STATUS_IDLE: u8 = 0;
const STATUS_TXN: u8 = 1;
const STATUS_FAILED: u8 = 2;

/// Per-connection state, used only on the connection's own thread.
struct ConnState {
    session: Session,
    /// For catalog answers outside the session's transaction.
    store: KvStore,
    /// Initialised from the startup packet on first use.
    settings: Option<Settings>,
    id: Identity,
}

impl ConnState {
    fn settings(&mut self) -> &mut Settings {
        let id = &self.id;
        self.settings
            .get_or_insert_with(|| Settings::new(&id.user, &BTreeMap::new()))
    }

    /// Hands the session the `statement_timeout` the settings hold now
    /// (a SET changes only the settings).
    fn sync_statement_timeout(&mut self) {
        let timeout = self.settings().statement_timeout();
        self.session.set_statement_timeout(timeout);
    }

    fn status(&self) -> u8 {
        if self.session.transaction_failed() {
            STATUS_FAILED
        } else if self.session.in_transaction() {
            STATUS_TXN
        } else {
            STATUS_IDLE
        }
    }

    /// Runs one statement: compat layer first, then the engine.
    fn run_one(
        &mut self,
        text: &str,
        params: &[Value],
        notices: &mut Vec<Notice>,
    ) -> Result<QueryResult, SqlError> {
        self.sync_statement_timeout();
        let in_block = self.session.in_transaction();
        self.settings().set_in_transaction(in_block);
        // In a failed block everything but COMMIT/ROLLBACK fails with 25P02:
        // the engine enforces that, so compat answers are skipped.
        let sql: std::borrow::Cow<'_, str> = if self.session.transaction_failed() {
            text.into()
        } else {
            let (interrupt, timeout) = (self.session.interrupt(), self.session.statement_timeout());
            if let Some(r) = pg_catalog::answer(text, &self.store, &self.id, &interrupt, timeout) {
                return r;
            }
            let id = self.id.clone();
            match compat::intercept(text, self.settings(), &id, notices) {
                Intercept::Answer(r) => return r,
                Intercept::Rewrite(s) => s.into(),
                Intercept::Pass => text.into(),
            }
        };
        let first = first_keyword(&sql);
        let was_in_txn = self.session.in_transaction();
        match first.as_str() {
            "begin" | "start" if was_in_txn => notices.push(Notice {
                severity: "WARNING",
                code: "25001",
                message: "there is already a transaction in progress".into(),
            }),
            "commit" | "end" | "rollback" | "abort"
                if !was_in_txn && !sql.to_ascii_lowercase().contains(" to ") =>
            {
                notices.push(Notice {
                    severity: "WARNING",
                    code: "25P01",
                    message: "there is no transaction in progress".into(),
                })
            }
            _ => {}
        }
        // `END` and `ABORT` are PostgreSQL spellings the parser may not know.
        let sql: std::borrow::Cow<'_, str> = match first.as_str() {
            "end" => "COMMIT".into(),
            "abort" => "ROLLBACK".into(),
            _ => sql,
        };
        let depth = self.session.savepoint_depth();
        let result = self.session.execute_with_params(&sql, params);
        if was_in_txn && !self.session.in_transaction() {
            let committed = matches!(&result, Ok(r) if r.last().is_some_and(|r| r.tag == "COMMIT"));
            self.settings().end_transaction(committed);
        } else if self.session.in_transaction() {
            // SAVEPOINT, RELEASE or ROLLBACK TO: settings follow the
            // savepoints (ROLLBACK TO keeps the depth it rolls back to).
            let rolled_back = matches!(&result, Ok(r) if r.last().is_some_and(|r| r.tag == "ROLLBACK"));
            let now = self.session.savepoint_depth();
            if now != depth || rolled_back {
                self.settings().savepoints_changed(now, rolled_back);
            }
        }
        result?
            .pop()
            .ok_or_else(|| SqlError::new("42601", "empty statement"))
    }
}

/// What a `DEALLOCATE` statement drops.
#[derive(Debug, PartialEq)]
enum Deallocate {
    All,
    Named(String),
}

/// Recognises `DEALLOCATE [PREPARE] { name | ALL }` (a prepared statement
/// of the protocol and of SQL share one namespace, as in PostgreSQL). An
/// unquoted name is folded to lower case; a double-quoted one is exact.
fn parse_deallocate(sql: &str) -> Option<Deallocate> {
    let t = sql.trim().trim_end_matches(';').trim_end();
    let (kw, rest) = t.split_once(char::is_whitespace)?;
    if !kw.eq_ignore_ascii_case("deallocate") {
        return None;
    }
    let mut rest = rest.trim_start();
    if let Some((word, after)) = rest.split_once(char::is_whitespace)
        && word.eq_ignore_ascii_case("prepare")
    {
        rest = after.trim_start();
    }
    if rest.eq_ignore_ascii_case("all") {
        return Some(Deallocate::All);
    }
    if let Some(quoted) = rest.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return (!quoted.is_empty()).then(|| Deallocate::Named(quoted.replace("\"\"", "\"")));
    }
    let ident = !rest.is_empty() && rest.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '$');
    ident.then(|| Deallocate::Named(rest.to_lowercase()))
}

fn first_keyword(sql: &str) -> String {
    let t = sql.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
    t.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// A prepared statement (pgwire's `Statement` type).
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The statement's text (one statement: Parse refuses several).
    text: String,
    param_types: Vec<Type>,
    columns: Vec<ResultColumn>,
}

/// One connection's handlers (simple, extended, parser).
pub struct ConnHandler {
    state: Arc<Mutex<ConnState>>,
    status: Arc<AtomicU8>,
    parser: Arc<Parser>,
    max_query_bytes: usize,
    /// An open COPY FROM STDIN, between CopyInResponse and CopyDone/Fail.
    copy_in: Mutex<Option<CopyIn>>,
    /// Names of the named statements Parsed on this connection, so that
    /// `DEALLOCATE ALL` can drop them (pgwire's store cannot list them).
    statement_names: Mutex<BTreeSet<String>>,
    /// True once the server is shutting down (see [`ConnHandler::refuse_after_shutdown`]).
    shutdown: tokio::sync::watch::Receiver<bool>,
}

/// State of a COPY FROM STDIN in progress.
struct CopyIn {
    spec: CopySpec,
    reader: RecordReader,
    columns: Vec<String>,
    /// We opened the transaction (COPY is atomic) and must end it.
    began: bool,
    pending: Vec<Vec<Value>>,
    rows: u64,
    error: Option<SqlError>,
    /// When `statement_timeout` ends the whole COPY (its row batches are
    /// statements of their own to the session).
    deadline: Option<std::time::Instant>,
}

/// Rows per INSERT when loading COPY data.
const COPY_BATCH: usize = 256;

/// COPY rows ready to insert.
struct CopyBatch {
    table: String,
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
    deadline: Option<std::time::Instant>,
}

/// Inserts COPY rows through the session, [`COPY_BATCH`] per statement,
/// each within what is left of the COPY's `deadline` (57014 once none is).
fn copy_insert(
    st: &mut ConnState,
    table: &str,
    columns: &[String],
    rows: &[Vec<Value>],
    deadline: Option<std::time::Instant>,
) -> Result<(), SqlError> {
    let own = st.session.statement_timeout();
    for chunk in rows.chunks(COPY_BATCH) {
        let left = deadline.map(|d| d.saturating_duration_since(std::time::Instant::now()));
        if left.is_some_and(|l| l.is_zero()) {
            return Err(quorumdb_sql::interrupt::canceled(
                quorumdb_storage::cancel::Reason::StatementTimeout,
            ));
        }
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        let mut params = Vec::with_capacity(chunk.len() * columns.len());
        for (i, row) in chunk.iter().enumerate() {
            sql.push_str(if i == 0 { "(" } else { ", (" });
            for (j, v) in row.iter().enumerate() {
                params.push(v.clone());
                if j > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", params.len()));
            }
            sql.push(')');
        }
        st.session.set_statement_timeout(left.or(own));
        let inserted = st.session.execute_with_params(&sql, &params);
        st.session.set_statement_timeout(own);
        inserted?;
    }
    Ok(())
}

/// The extended protocol's statement parser for one connection.
pub struct Parser {
    state: Arc<Mutex<ConnState>>,
    max_query_bytes: usize,
}

impl ConnHandler {
    pub fn new(
        store: KvStore,
        sequences: Arc<quorumdb_sql::sequence::SequenceCache>,
        max_query_bytes: usize,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        let state = Arc::new(Mutex::new(ConnState {
            session: Session::new(store.clone()).with_sequence_cache(sequences),
            store,
            settings: None,
            id: Identity {
                user: String::new(),
                database: String::new(),
                pid: 0,
            },
        }));
        Self {
            parser: Arc::new(Parser {
                state: state.clone(),
                max_query_bytes,
            }),
            state,
            status: Arc::new(AtomicU8::new(STATUS_IDLE)),
            max_query_bytes,
            copy_in: Mutex::new(None),
            statement_names: Mutex::new(BTreeSet::new()),
            shutdown,
        }
    }

    /// Once the server is shutting down, a statement outside a transaction
    /// block ends the connection with FATAL 57P01, as PostgreSQL's
    /// shutdown does, instead of running: only an open transaction may
    /// still finish (within the server's grace period). So statements a
    /// client pipelined before it noticed the shutdown do not run.
    fn refuse_after_shutdown(&self) -> PgWireResult<()> {
        if *self.shutdown.borrow() && self.transaction_status() == TransactionStatus::Idle {
            return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                "FATAL".to_owned(),
                "57P01".to_owned(),
                "terminating connection due to administrator command".to_owned(),
            ))));
        }
        Ok(())
    }

    /// Marks the arrival of a Query or Execute message: the statements it
    /// runs (COPY's rows included) share its `statement_timestamp()`.
    fn message_arrived(&self) {
        lock(&self.state).session.message_arrived();
    }

    /// The handle that cancels this connection's running statement.
    pub fn interrupt(&self) -> quorumdb_sql::Interrupt {
        lock(&self.state).session.interrupt()
    }

    fn transaction_status(&self) -> TransactionStatus {
        match self.status.load(Ordering::Acquire) {
            STATUS_TXN => TransactionStatus::Transaction,
            STATUS_FAILED => TransactionStatus::Error,
            _ => TransactionStatus::Idle,
        }
    }
}

/// Fills identity and startup settings once the client is authenticated.
fn init_state<C: ClientInfo>(state: &Mutex<ConnState>, client: &C) {
    let Ok(mut st) = state.lock() else { return };
    if st.settings.is_some() {
        return;
    }
    let meta = client.metadata();
    let user = meta.get("user").cloned().unwrap_or_default();
    st.session.set_user(user.clone());
    st.id = Identity {
        database: meta.get("database").cloned().unwrap_or_else(|| user.clone()),
        user: user.clone(),
        pid: client.pid_and_secret_key().0,
    };
    let startup: BTreeMap<String, String> = meta.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    st.settings = Some(Settings::new(&user, &startup));
}

fn lock(state: &Mutex<ConnState>) -> std::sync::MutexGuard<'_, ConnState> {
    // A panic inside the engine poisons only this connection's state; the
    // session is still structurally valid, so keep serving it.
    state.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` on the connection state, inline: handlers run on the
/// connection's own thread (`conn_thread`), which may block. A panic in `f`
/// fails this call only (`XX000`); the session stays usable.
async fn with_state<T>(
    state: &Mutex<ConnState>,
    status: Option<&AtomicU8>,
    f: impl FnOnce(&mut ConnState) -> T,
) -> PgWireResult<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut st = lock(state);
        let r = f(&mut st);
        if let Some(cell) = status {
            cell.store(st.status(), Ordering::Release);
        }
        r
    }))
    .map_err(|_| {
        // Whatever the statement wrote so far must not commit.
        let mut st = lock(state);
        st.session.fail_transaction();
        if let Some(cell) = status {
            cell.store(st.status(), Ordering::Release);
        }
        user_error(&SqlError::internal("the statement panicked"), None)
    })
}

/// An SqlError as pgwire's error (ERROR severity, SQLSTATE, position).
fn error_info(e: &SqlError, position: Option<usize>) -> ErrorInfo {
    let mut info = ErrorInfo::new("ERROR".to_owned(), e.code.to_owned(), e.message.clone());
    info.position = position.map(|p| p.to_string());
    info
}

fn user_error(e: &SqlError, position: Option<usize>) -> PgWireError {
    PgWireError::UserError(Box::new(error_info(e, position)))
}

fn notice_message(n: &Notice) -> PgWireBackendMessage {
    PgWireBackendMessage::NoticeResponse(NoticeResponse::from(ErrorInfo::new(
        n.severity.to_owned(),
        n.code.to_owned(),
        n.message.clone(),
    )))
}

/// Wire field descriptions for result columns.
fn fields(columns: &[ResultColumn], format: Option<&Format>) -> Vec<FieldInfo> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let fmt = format
                .map(|f| codec::format_at(f, i))
                .unwrap_or(FieldFormat::Text);
            FieldInfo::new(c.name.clone(), None, None, codec::pg_type(c.ty), fmt)
                .with_type_modifier(codec::type_modifier(c.ty))
                .with_type_size(codec::type_size(c.ty))
        })
        .collect()
}

fn row_description(fields: &[FieldInfo]) -> RowDescription {
    RowDescription::new(fields.iter().map(Into::into).collect())
}

/// Where in `text` (1-based characters) an error points, when known:
/// the parser's line/column for syntax errors; the first whole-word
/// occurrence of the quoted name for undefined tables/columns/functions.
fn error_position(e: &SqlError, text: &str) -> Option<usize> {
    match e.code {
        "42601" => split::parser_error_position(&e.message, text),
        "42P01" | "42703" | "42883" => {
            let name = e.message.split('"').nth(1)?;
            let name = name.rsplit('.').next().unwrap_or(name).to_ascii_lowercase();
            if name.is_empty() {
                return None;
            }
            let lower = text.to_ascii_lowercase();
            let bytes = lower.as_bytes();
            let word = |i: usize| {
                bytes
                    .get(i)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
            };
            let mut from = 0;
            while let Some(i) = lower.get(from..)?.find(&name) {
                let at = from + i;
                let end = at + name.len();
                if (at == 0 || !word(at - 1)) && !word(end) {
                    return Some(text.get(..at)?.chars().count() + 1);
                }
                from = end;
            }
            None
        }
        _ => None,
    }
}

/// 54000 for a query string over the configured limit.
fn too_long(sql: &str, max: usize) -> Option<SqlError> {
    (sql.len() > max).then(|| {
        SqlError::new(
            "54000",
            format!(
                "query string is too long ({} bytes; the limit is {max})",
                sql.len()
            ),
        )
    })
}

/// One result of a simple-query batch.
enum Out {
    Notice(Notice),
    Result(QueryResult),
    Error(SqlError, Option<usize>),
    Empty,
}

/// How often a multi-statement batch (one implicit transaction) is
/// re-run after a serialization failure; nothing has been sent yet then.
const BATCH_RETRIES: usize = 8;

fn is_transaction_control(text: &str) -> bool {
    matches!(
        first_keyword(text).as_str(),
        "begin" | "start" | "commit" | "end" | "rollback" | "abort" | "savepoint" | "release" | "prepare"
    )
}

fn run_simple(st: &mut ConnState, sql: &str) -> Vec<Out> {
    let pieces = split::split_statements(sql);
    if pieces.is_empty() {
        return vec![Out::Empty];
    }
    // PostgreSQL runs a multi-statement string as one implicit transaction
    // unless it contains transaction control itself.
    let wrap = pieces.len() > 1
        && !st.session.in_transaction()
        && !pieces.iter().any(|p| is_transaction_control(p.text));
    if !wrap {
        return run_pieces(st, &pieces).0;
    }
    let mut attempt = 0;
    loop {
        if let Err(e) = st.session.execute("BEGIN") {
            return vec![Out::Error(e, None)];
        }
        let (mut out, failed) = run_pieces(st, &pieces);
        let outcome = if failed.is_some() {
            let _ = st.session.execute("ROLLBACK");
            failed
        } else {
            match st.session.execute("COMMIT") {
                Ok(_) => None,
                Err(e) => {
                    let code = e.code;
                    out.push(Out::Error(e, None));
                    Some(code)
                }
            }
        };
        if st.session.in_transaction() {
            let _ = st.session.execute("ROLLBACK");
        }
        // A SET in the string lasts if the implicit block committed.
        st.settings().end_transaction(outcome.is_none());
        if outcome == Some("40001") && attempt < BATCH_RETRIES {
            attempt += 1;
            continue;
        }
        return out;
    }
}

/// Runs statements until the first error; returns the outputs and the
/// SQLSTATE of that error, if any.
fn run_pieces(st: &mut ConnState, pieces: &[split::Piece<'_>]) -> (Vec<Out>, Option<&'static str>) {
    let mut out = Vec::with_capacity(pieces.len());
    let interrupt = st.session.interrupt();
    for (i, p) in pieces.iter().enumerate() {
        // The engine clears the flag as each statement starts: a cancel
        // that came after the previous one finished stops the batch here.
        if i > 0 && interrupt.is_tripped() {
            let e = interrupt.error();
            let code = e.code;
            out.push(Out::Error(e, None));
            return (out, Some(code));
        }
        let mut notices = Vec::new();
        let r = st.run_one(p.text, &[], &mut notices);
        out.extend(notices.into_iter().map(Out::Notice));
        match r {
            Ok(qr) => out.push(Out::Result(qr)),
            Err(e) => {
                let pos = error_position(&e, p.text).map(|c| c + p.char_offset);
                let code = e.code;
                out.push(Out::Error(e, pos));
                return (out, Some(code));
            }
        }
    }
    (out, None)
}

#[async_trait]
impl SimpleQueryHandler for ConnHandler {
    async fn on_query<C>(&self, client: &mut C, query: Query) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if !matches!(client.state(), PgWireConnectionState::ReadyForQuery) {
            return Err(PgWireError::NotReadyForQuery);
        }
        self.refuse_after_shutdown()?;
        self.message_arrived();
        client.set_state(PgWireConnectionState::QueryInProgress);
        init_state(&self.state, client);
        let sql = query.query;
        if let Some(e) = too_long(&sql, self.max_query_bytes) {
            client
                .feed(PgWireBackendMessage::ErrorResponse(error_info(&e, None).into()))
                .await?;
            let status = self.transaction_status();
            client.set_state(PgWireConnectionState::ReadyForQuery);
            client.set_transaction_status(status);
            client
                .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(status)))
                .await?;
            return Ok(());
        }
        let pieces = split::split_statements(&sql);
        if let [piece] = pieces.as_slice()
            && let Some(spec) = copy::parse_copy(piece.text)
        {
            let result = match spec {
                Ok(spec) if spec.query.is_some() => self.copy_out(client, spec).await,
                Ok(spec) => self.copy_in_start(client, spec).await,
                Err(e) => Err(e),
            };
            return match result {
                Ok(true) => Ok(()),
                Ok(false) => self.ready(client).await,
                Err(e) => {
                    client
                        .feed(PgWireBackendMessage::ErrorResponse(error_info(&e, None).into()))
                        .await?;
                    self.ready(client).await
                }
            };
        }
        if let [piece] = pieces.as_slice()
            && let Some(target) = parse_deallocate(piece.text)
            && self.transaction_status() != TransactionStatus::Error
        {
            let msg = match self.deallocate(client, target) {
                Ok(tag) => PgWireBackendMessage::CommandComplete(CommandComplete::new(tag.to_owned())),
                Err(e) => PgWireBackendMessage::ErrorResponse(error_info(&e, None).into()),
            };
            client.feed(msg).await?;
            return self.ready(client).await;
        }
        let outs = with_state(&self.state, Some(&self.status), move |st| run_simple(st, &sql)).await?;
        for out in outs {
            match out {
                Out::Notice(n) => client.feed(notice_message(&n)).await?,
                Out::Empty => {
                    client
                        .feed(PgWireBackendMessage::EmptyQueryResponse(EmptyQueryResponse::new()))
                        .await?
                }
                Out::Error(e, pos) => {
                    client
                        .feed(PgWireBackendMessage::ErrorResponse(error_info(&e, pos).into()))
                        .await?
                }
                Out::Result(qr) => {
                    if !qr.columns.is_empty() || qr.tag.starts_with("SELECT") || qr.tag.starts_with("SHOW") {
                        let schema = fields(&qr.columns, None);
                        client
                            .feed(PgWireBackendMessage::RowDescription(row_description(&schema)))
                            .await?;
                        let types: Vec<DataType> = qr.columns.iter().map(|c| c.ty).collect();
                        let formats = vec![FieldFormat::Text; types.len()];
                        let mut failed = None;
                        for row in &qr.rows {
                            match codec::encode_row(row, &types, &formats) {
                                Ok(r) => client.feed(PgWireBackendMessage::DataRow(r)).await?,
                                Err(e) => {
                                    failed = Some(e);
                                    break;
                                }
                            }
                        }
                        if let Some(e) = failed {
                            client
                                .feed(PgWireBackendMessage::ErrorResponse(error_info(&e, None).into()))
                                .await?;
                            break;
                        }
                    }
                    client
                        .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                            qr.tag,
                        )))
                        .await?;
                }
            }
        }
        let status = self.transaction_status();
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(status)))
            .await?;
        Ok(())
    }

    async fn do_query<C>(&self, _client: &mut C, _query: &str) -> PgWireResult<Vec<Response>>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // `on_query` is overridden and never calls this.
        Err(user_error(
            &SqlError::internal("simple query dispatch bypassed"),
            None,
        ))
    }
}

/// Parse: classify, describe, infer parameter types.
fn prepare(
    st: &mut ConnState,
    sql: &str,
    client_types: &[Option<Type>],
) -> Result<Option<Prepared>, SqlError> {
    let pieces = split::split_statements(sql);
    let text = match pieces.as_slice() {
        [] => return Ok(None),
        [one] => one.text,
        _ => {
            return Err(SqlError::new(
                "42601",
                "cannot insert multiple commands into a prepared statement",
            ));
        }
    };
    if !st.session.transaction_failed() && parse_deallocate(text).is_some() {
        return Ok(Some(Prepared {
            text: text.to_owned(),
            param_types: vec![],
            columns: vec![],
        }));
    }
    // Classify on a copy: SET etc. take effect at Execute, not Parse.
    let engine_sql = if st.session.transaction_failed() {
        text.to_owned()
    } else {
        st.sync_statement_timeout();
        let (interrupt, timeout) = (st.session.interrupt(), st.session.statement_timeout());
        if let Some(r) = pg_catalog::answer(text, &st.store, &st.id, &interrupt, timeout) {
            return Ok(Some(Prepared {
                text: text.to_owned(),
                param_types: vec![],
                columns: r?.columns,
            }));
        }
        let mut settings = st.settings().clone();
        let id = st.id.clone();
        match compat::intercept(text, &mut settings, &id, &mut Vec::new()) {
            Intercept::Answer(r) => {
                let columns = r.map(|q| q.columns).unwrap_or_default();
                return Ok(Some(Prepared {
                    text: text.to_owned(),
                    param_types: (0..infer::count_placeholders(text).max(client_types.len()))
                        .map(|i| client_types.get(i).cloned().flatten().unwrap_or(Type::TEXT))
                        .collect(),
                    columns,
                }));
            }
            Intercept::Rewrite(s) => s,
            Intercept::Pass => text.to_owned(),
        }
    };
    let first = first_keyword(&engine_sql);
    // One description gives the parameter count, their inferred types and
    // the result columns.
    let description = if matches!(first.as_str(), "end" | "abort") {
        Description::default()
    } else {
        st.session.describe_statement(&engine_sql).map_err(|e| {
            if e.code == "42601" {
                SqlError::new(e.code, e.message)
            } else {
                e
            }
        })?
    };
    let count = description.params.len();
    let columns = description.columns;
    // The engine describes only queries; RETURNING columns are those of
    // the same select list over the target table.
    let columns = match (columns.is_empty(), returning_probe(&engine_sql)) {
        (true, Some(probe)) => st.session.describe(&probe).map(|(_, c)| c).unwrap_or_default(),
        _ => columns,
    };
    let count = count.max(client_types.len());
    let mut types: Vec<Option<Type>> = (0..count)
        .map(|i| {
            client_types
                .get(i)
                .cloned()
                .flatten()
                .filter(|t| *t != Type::UNKNOWN)
        })
        .collect();
    // Types the client left open come from the engine's inference, against
    // the session's own view of the catalog (its uncommitted DDL included).
    for (slot, t) in types.iter_mut().zip(description.params) {
        if slot.is_none() && t != DataType::Unknown {
            *slot = Some(codec::pg_type(t));
        }
    }
    let param_types: Vec<Type> = types.into_iter().map(|t| t.unwrap_or(Type::TEXT)).collect();
    let columns = type_bare_placeholders(&engine_sql, columns, &param_types);
    Ok(Some(Prepared {
        text: text.to_owned(),
        param_types,
        columns,
    }))
}

/// `SELECT <returning list> FROM <target>` for a DML statement with
/// RETURNING (to describe its result columns).
fn returning_probe(sql: &str) -> Option<String> {
    use sqlparser::ast::{FromTable, Statement, TableObject};
    let stmts = quorumdb_sql::session::parse(sql).ok()?;
    let (items, table) = match stmts.first()? {
        Statement::Insert(i) => match &i.table {
            TableObject::TableName(n) => (i.returning.as_ref()?, n.to_string()),
            _ => return None,
        },
        Statement::Update(u) => (u.returning.as_ref()?, u.table.relation.to_string()),
        Statement::Delete(d) => {
            let tables = match &d.from {
                FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
            };
            (d.returning.as_ref()?, tables.first()?.relation.to_string())
        }
        _ => return None,
    };
    let list: Vec<String> = items.iter().map(ToString::to_string).collect();
    Some(format!("SELECT {} FROM {table}", list.join(", ")))
}

/// `SELECT $1` has the parameter's type (the engine, binding parameters
/// as NULL, reports it as unknown).
fn type_bare_placeholders(sql: &str, mut columns: Vec<ResultColumn>, params: &[Type]) -> Vec<ResultColumn> {
    use sqlparser::ast::{Expr, SelectItem, SetExpr, Statement};
    if !columns.iter().any(|c| c.ty == DataType::Unknown) {
        return columns;
    }
    let Ok(stmts) = quorumdb_sql::session::parse(sql) else {
        return columns;
    };
    let Some(Statement::Query(q)) = stmts.first() else {
        return columns;
    };
    let SetExpr::Select(sel) = &*q.body else {
        return columns;
    };
    if sel.projection.len() != columns.len() {
        return columns;
    }
    for (item, col) in sel.projection.iter().zip(columns.iter_mut()) {
        let e = match item {
            SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => e,
            _ => continue,
        };
        if col.ty != DataType::Unknown {
            continue;
        }
        if let Expr::Value(v) = e
            && let sqlparser::ast::Value::Placeholder(p) = &v.value
            && let Some(n) = p.strip_prefix('$').and_then(|n| n.parse::<usize>().ok())
            && let Some(t) = n
                .checked_sub(1)
                .and_then(|i| params.get(i))
                .and_then(codec::data_type_of)
        {
            col.ty = t;
        }
    }
    columns
}

#[async_trait]
impl QueryParser for Parser {
    type Statement = Prepared;

    async fn parse_sql<C>(
        &self,
        client: &C,
        sql: &str,
        types: &[Option<Type>],
    ) -> PgWireResult<Option<Prepared>>
    where
        C: ClientInfo + Unpin + Send + Sync,
    {
        init_state(&self.state, client);
        if let Some(e) = too_long(sql, self.max_query_bytes) {
            return Err(user_error(&e, None));
        }
        with_state(&self.state, None, |st| prepare(st, sql, types))
            .await?
            .map_err(|e| user_error(&e, error_position(&e, sql)))
    }

    fn get_parameter_types(&self, stmt: &Prepared) -> PgWireResult<Vec<Type>> {
        Ok(stmt.param_types.clone())
    }

    fn get_result_schema(&self, stmt: &Prepared, format: Option<&Format>) -> PgWireResult<Vec<FieldInfo>> {
        Ok(fields(&stmt.columns, format))
    }
}

/// Strips a trailing row count from a tag (pgwire appends the rows sent).
fn tag_prefix(tag: &str) -> String {
    match tag.rsplit_once(' ') {
        Some((head, n)) if n.chars().all(|c| c.is_ascii_digit()) => head.to_owned(),
        _ => tag.to_owned(),
    }
}

#[async_trait]
impl ExtendedQueryHandler for ConnHandler {
    type Statement = Prepared;
    type QueryParser = Parser;

    fn query_parser(&self) -> Arc<Parser> {
        self.parser.clone()
    }

    async fn do_query<C>(
        &self,
        client: &mut C,
        portal: &Portal<Prepared>,
        _max_rows: usize,
    ) -> PgWireResult<Response>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let stmt = &portal.statement.statement;
        if portal.parameters.len() != stmt.param_types.len() {
            return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                "ERROR".into(),
                "08P01".into(),
                format!(
                    "bind message supplies {} parameters, but prepared statement requires {}",
                    portal.parameters.len(),
                    stmt.param_types.len()
                ),
            ))));
        }
        let mut params = Vec::with_capacity(portal.parameters.len());
        for (i, p) in portal.parameters.iter().enumerate() {
            let fmt = codec::format_at(&portal.parameter_format, i);
            params.push(
                codec::decode_wire_param(p.as_deref(), stmt.param_types.get(i), fmt)
                    .map_err(|e| user_error(&e, None))?,
            );
        }
        if let Some(spec) = copy::parse_copy(&stmt.text) {
            let spec = spec.map_err(|e| user_error(&e, None))?;
            if spec.query.is_some() {
                let (n, lines) = self
                    .copy_out_lines(spec)
                    .await
                    .map_err(|e| user_error(&e, None))?;
                let data: Vec<PgWireResult<CopyData>> = lines
                    .into_iter()
                    .map(|l| Ok(CopyData::new(l.into_bytes().into())))
                    .collect();
                return Ok(Response::CopyOut(CopyResponse::new(
                    0,
                    n,
                    futures::stream::iter(data),
                )));
            }
            let n = self.copy_in_open(spec).await.map_err(|e| user_error(&e, None))?;
            return Ok(Response::CopyIn(CopyResponse::new(
                0,
                n,
                futures::stream::empty(),
            )));
        }
        if let Some(target) = parse_deallocate(&stmt.text)
            && self.transaction_status() != TransactionStatus::Error
        {
            let tag = self
                .deallocate(client, target)
                .map_err(|e| user_error(&e, None))?;
            return Ok(Response::Execution(Tag::new(tag)));
        }
        let (notices, result) = with_state(&self.state, Some(&self.status), |st| {
            let mut notices = Vec::new();
            let r = st.run_one(&stmt.text, &params, &mut notices);
            (notices, r)
        })
        .await?;
        for n in &notices {
            client.feed(notice_message(n)).await?;
        }
        let qr = result.map_err(|e| user_error(&e, None))?;
        if qr.columns.is_empty() && !qr.tag.starts_with("SELECT") && !qr.tag.starts_with("SHOW") {
            return Ok(Response::Execution(Tag::new(&qr.tag)));
        }
        // Encode with the types the client was told at Describe time.
        let columns = if stmt.columns.len() == qr.columns.len() {
            &stmt.columns
        } else {
            &qr.columns
        };
        let schema = Arc::new(fields(columns, Some(&portal.result_column_format)));
        let types: Vec<DataType> = columns.iter().map(|c| c.ty).collect();
        let formats: Vec<FieldFormat> = schema.iter().map(|f| f.format()).collect();
        let rows: Vec<PgWireResult<_>> = qr
            .rows
            .iter()
            .map(|r| codec::encode_row(r, &types, &formats).map_err(|e| user_error(&e, None)))
            .collect();
        let mut resp = QueryResponse::new(schema, futures::stream::iter(rows));
        resp.set_command_tag(&tag_prefix(&qr.tag));
        Ok(Response::Query(resp))
    }

    async fn do_describe_statement<C>(
        &self,
        _client: &mut C,
        stmt: &StoredStatement<Prepared>,
    ) -> PgWireResult<DescribeStatementResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Ok(DescribeStatementResponse::new(
            stmt.statement.param_types.clone(),
            fields(&stmt.statement.columns, None),
        ))
    }

    async fn do_describe_portal<C>(
        &self,
        _client: &mut C,
        portal: &Portal<Prepared>,
    ) -> PgWireResult<DescribePortalResponse>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        Ok(DescribePortalResponse::new(fields(
            &portal.statement.statement.columns,
            Some(&portal.result_column_format),
        )))
    }

    async fn on_describe<C>(&self, client: &mut C, message: Describe) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // Own implementation: ParameterDescription is always sent for a
        // statement, and NoData whenever there are no result columns (the
        // default sends an empty RowDescription when there are parameters).
        let name = message.name.as_deref().unwrap_or(DEFAULT_NAME);
        let (params, fields) = match message.target_type {
            TARGET_TYPE_BYTE_STATEMENT => match client.portal_store().get_statement(name) {
                Some(Entry::Value(stmt)) => (
                    Some(stmt.statement.param_types.clone()),
                    fields(&stmt.statement.columns, None),
                ),
                Some(Entry::Empty) => (Some(vec![]), vec![]),
                None => return Err(PgWireError::StatementNotFound(name.to_owned())),
            },
            TARGET_TYPE_BYTE_PORTAL => match client.portal_store().get_portal(name) {
                Some(Entry::Value(portal)) => (
                    None,
                    fields(
                        &portal.statement.statement.columns,
                        Some(&portal.result_column_format),
                    ),
                ),
                Some(Entry::Empty) => (None, vec![]),
                None => return Err(PgWireError::PortalNotFound(name.to_owned())),
            },
            other => return Err(PgWireError::InvalidTargetType(other)),
        };
        if let Some(params) = params {
            client
                .feed(PgWireBackendMessage::ParameterDescription(
                    ParameterDescription::new(params.iter().map(|t| t.oid()).collect()),
                ))
                .await?;
        }
        if fields.is_empty() {
            client.feed(PgWireBackendMessage::NoData(NoData::new())).await?;
        } else {
            client
                .feed(PgWireBackendMessage::RowDescription(row_description(&fields)))
                .await?;
        }
        Ok(())
    }

    async fn on_parse<C>(&self, client: &mut C, message: Parse) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        // pgwire's default, plus remembering the name for DEALLOCATE ALL.
        let name = message.name.clone().unwrap_or_else(|| DEFAULT_NAME.to_owned());
        match StoredStatement::parse(client, &message, self.query_parser()).await? {
            Some(stmt) => client.portal_store().put_statement(Arc::new(stmt)),
            None => client.portal_store().put_empty_statement(&name),
        }
        if name != DEFAULT_NAME {
            self.statement_names
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name);
        }
        // Queued like BindComplete: Sync, Flush or a flushing reply sends it.
        client
            .feed(PgWireBackendMessage::ParseComplete(ParseComplete::new()))
            .await?;
        Ok(())
    }

    /// pgwire's Bind, with BindComplete queued instead of flushed (see
    /// [`DeferFlush`]): parameters are checked against the statement when
    /// the portal is executed.
    async fn on_bind<C>(&self, client: &mut C, message: Bind) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let statement_name = message.statement_name.as_deref().unwrap_or(DEFAULT_NAME);
        let portal_name = message.portal_name.as_deref().unwrap_or(DEFAULT_NAME);
        match client.portal_store().get_statement(statement_name) {
            Some(Entry::Value(statement)) => {
                let portal = Portal::try_new(&message, statement)?;
                client.portal_store().put_portal(Arc::new(portal));
            }
            Some(Entry::Empty) => {
                if !message.parameters.is_empty() {
                    return Err(PgWireError::UserError(Box::new(ErrorInfo::new(
                        "ERROR".to_owned(),
                        "08P01".to_owned(),
                        format!(
                            "bind message supplies {} parameters, but prepared statement {:?} requires 0",
                            message.parameters.len(),
                            statement_name
                        ),
                    ))));
                }
                client.portal_store().put_empty_portal(portal_name);
            }
            None => return Err(PgWireError::StatementNotFound(statement_name.to_owned())),
        }
        client
            .feed(PgWireBackendMessage::BindComplete(BindComplete::new()))
            .await?;
        Ok(())
    }

    /// pgwire's Execute, with its replies queued until Sync or Flush.
    async fn on_execute<C>(&self, client: &mut C, message: Execute) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.refuse_after_shutdown()?;
        self.message_arrived();
        self._on_execute(&mut DeferFlush(client), message).await?;
        // COPY FROM STDIN waits for the client's data, and the client waits
        // for CopyInResponse: that one cannot wait for Sync.
        if matches!(client.state(), PgWireConnectionState::CopyInProgress(_)) {
            client.flush().await?;
        }
        Ok(())
    }

    async fn on_sync<C>(&self, client: &mut C, _message: PgSync) -> PgWireResult<()>
    where
        C: ClientInfo + ClientPortalStore + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::PortalStore: PortalStore<Statement = Prepared>,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        client.portal_store().rm_portal(DEFAULT_NAME);
        let status = self.transaction_status();
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(status)))
            .await?;
        client.flush().await?;
        Ok(())
    }
}

impl ConnHandler {
    /// Runs `DEALLOCATE`: drops one named statement (26000 if there is
    /// none) or all of them. Returns the command tag.
    fn deallocate<C>(&self, client: &mut C, target: Deallocate) -> Result<&'static str, SqlError>
    where
        C: ClientPortalStore,
        C::PortalStore: PortalStore,
    {
        let mut names = self.statement_names.lock().unwrap_or_else(|p| p.into_inner());
        match target {
            Deallocate::All => {
                for name in std::mem::take(&mut *names) {
                    client.portal_store().rm_statement(&name);
                }
                Ok("DEALLOCATE ALL")
            }
            Deallocate::Named(name) => {
                if client.portal_store().get_statement(&name).is_none() {
                    return Err(SqlError::new(
                        "26000",
                        format!("prepared statement \"{name}\" does not exist"),
                    ));
                }
                client.portal_store().rm_statement(&name);
                names.remove(&name);
                Ok("DEALLOCATE")
            }
        }
    }

    /// Sends ReadyForQuery with the session's status.
    async fn ready<C>(&self, client: &mut C) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let status = self.transaction_status();
        client.set_state(PgWireConnectionState::ReadyForQuery);
        client.set_transaction_status(status);
        client
            .send(PgWireBackendMessage::ReadyForQuery(ReadyForQuery::new(status)))
            .await?;
        Ok(())
    }

    /// COPY ... TO STDOUT: runs the query; returns the formatted lines.
    async fn copy_out_lines(&self, spec: CopySpec) -> Result<(usize, Vec<String>), SqlError> {
        let query = spec.query.clone().unwrap_or_default();
        let qr = with_state(&self.state, Some(&self.status), move |st| {
            st.run_one(&query, &[], &mut Vec::new())
        })
        .await
        .map_err(|e| SqlError::internal(e.to_string()))??;
        let mut lines = Vec::with_capacity(qr.rows.len());
        for row in &qr.rows {
            let mut texts = Vec::with_capacity(qr.columns.len());
            for (v, c) in row.iter().zip(&qr.columns) {
                texts.push(
                    codec::encode_value(v, c.ty, FieldFormat::Text)?
                        .map(|b| String::from_utf8_lossy(&b).into_owned()),
                );
            }
            lines.push(copy::format_row(&texts, &spec));
        }
        Ok((qr.columns.len(), lines))
    }

    /// COPY ... TO STDOUT in the simple protocol. `Ok(false)`: the caller
    /// sends ReadyForQuery.
    async fn copy_out<C>(&self, client: &mut C, spec: CopySpec) -> Result<bool, SqlError>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let (n, lines) = self.copy_out_lines(spec).await?;
        let io = |e: PgWireError| SqlError::new("08006", e.to_string());
        client
            .feed(PgWireBackendMessage::CopyOutResponse(CopyOutResponse::new(
                0,
                i16::try_from(n).unwrap_or(i16::MAX),
                vec![0; n],
            )))
            .await
            .map_err(|e| io(e.into()))?;
        let count = lines.len();
        for line in lines {
            client
                .feed(PgWireBackendMessage::CopyData(CopyData::new(
                    line.into_bytes().into(),
                )))
                .await
                .map_err(|e| io(e.into()))?;
        }
        client
            .feed(PgWireBackendMessage::CopyDone(CopyDone::new()))
            .await
            .map_err(|e| io(e.into()))?;
        client
            .feed(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                format!("COPY {count}"),
            )))
            .await
            .map_err(|e| io(e.into()))?;
        Ok(false)
    }

    /// COPY ... FROM STDIN: opens the copy state (and, outside a
    /// transaction block, a transaction); returns the column count.
    async fn copy_in_open(&self, spec: CopySpec) -> Result<usize, SqlError> {
        let table = spec.table.clone();
        let given = spec.columns.clone();
        let (columns, began, deadline) = with_state(&self.state, Some(&self.status), move |st| {
            st.sync_statement_timeout();
            let deadline = st
                .session
                .statement_timeout()
                .map(|t| std::time::Instant::now() + t);
            if st.session.transaction_failed() {
                return Err(SqlError::new(
                    "25P02",
                    "current transaction is aborted, commands ignored until end of transaction block",
                ));
            }
            let columns: Vec<String> = if given.is_empty() {
                st.session
                    .describe(&format!("SELECT * FROM {table}"))?
                    .1
                    .into_iter()
                    .map(|c| c.name)
                    .collect()
            } else {
                given
            };
            let began = !st.session.in_transaction();
            if began {
                st.session.execute("BEGIN")?;
            }
            Ok((columns, began, deadline))
        })
        .await
        .map_err(|e| SqlError::internal(e.to_string()))??;
        let n = columns.len();
        *self.copy_in.lock().unwrap_or_else(|p| p.into_inner()) = Some(CopyIn {
            reader: RecordReader::new(&spec),
            spec,
            columns,
            began,
            pending: Vec::new(),
            rows: 0,
            error: None,
            deadline,
        });
        Ok(n)
    }

    /// COPY ... FROM STDIN in the simple protocol. `Ok(true)`: copy mode
    /// entered (no ReadyForQuery until CopyDone/CopyFail).
    async fn copy_in_start<C>(&self, client: &mut C, spec: CopySpec) -> Result<bool, SqlError>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let n = self.copy_in_open(spec).await?;
        client
            .send(PgWireBackendMessage::CopyInResponse(CopyInResponse::new(
                0,
                i16::try_from(n).unwrap_or(i16::MAX),
                vec![0; n],
            )))
            .await
            .map_err(|e| SqlError::new("08006", PgWireError::from(e).to_string()))?;
        client.set_state(PgWireConnectionState::CopyInProgress(false));
        Ok(true)
    }

    /// Parses buffered records; returns a batch to insert when one is due.
    fn copy_take(&self, at_end: bool) -> Option<CopyBatch> {
        let mut guard = self.copy_in.lock().unwrap_or_else(|p| p.into_inner());
        let ci = guard.as_mut()?;
        if ci.error.is_some() {
            return None;
        }
        match ci.reader.records(&ci.spec, at_end) {
            Ok(records) => {
                for r in records {
                    if r.len() != ci.columns.len() {
                        ci.error = Some(SqlError::new(
                            "22P04",
                            format!(
                                "{} data for {} columns (COPY line {})",
                                if r.len() > ci.columns.len() {
                                    "extra"
                                } else {
                                    "missing"
                                },
                                ci.columns.len(),
                                ci.reader.line
                            ),
                        ));
                        return None;
                    }
                    ci.pending.push(copy::to_values(r));
                }
            }
            Err(e) => {
                ci.error = Some(e);
                return None;
            }
        }
        if ci.pending.is_empty() || (!at_end && ci.pending.len() < COPY_BATCH) {
            return None;
        }
        Some(CopyBatch {
            table: ci.spec.table.clone(),
            columns: ci.columns.clone(),
            rows: std::mem::take(&mut ci.pending),
            deadline: ci.deadline,
        })
    }

    /// Inserts a batch of COPY rows through the session, within what is
    /// left of the COPY's statement timeout.
    async fn copy_flush(&self, batch: CopyBatch) {
        let CopyBatch {
            table,
            columns,
            rows,
            deadline,
        } = batch;
        let count = rows.len() as u64;
        let r = with_state(&self.state, Some(&self.status), move |st| {
            copy_insert(st, &table, &columns, &rows, deadline)
        })
        .await;
        let mut guard = self.copy_in.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ci) = guard.as_mut() {
            match r {
                Ok(Ok(())) => ci.rows += count,
                Ok(Err(e)) => ci.error = Some(e),
                Err(e) => ci.error = Some(SqlError::internal(e.to_string())),
            }
        }
    }

    /// Ends our implicit COPY transaction (commit or roll back).
    async fn copy_finish(&self, began: bool, commit: bool) -> Result<(), SqlError> {
        if !began {
            return Ok(());
        }
        let stmt = if commit { "COMMIT" } else { "ROLLBACK" };
        with_state(&self.state, Some(&self.status), move |st| {
            let r = st.session.execute(stmt).map(|_| ());
            if st.session.in_transaction() {
                let _ = st.session.execute("ROLLBACK");
            }
            r
        })
        .await
        .map_err(|e| SqlError::internal(e.to_string()))?
    }
}

#[async_trait]
impl CopyHandler for ConnHandler {
    async fn on_copy_data<C>(&self, _client: &mut C, data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        {
            let mut guard = self.copy_in.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(ci) = guard.as_mut()
                && ci.error.is_none()
            {
                ci.reader.push(&data.data);
            }
        }
        if let Some(batch) = self.copy_take(false) {
            self.copy_flush(batch).await;
        }
        Ok(())
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        if let Some(batch) = self.copy_take(true) {
            self.copy_flush(batch).await;
        }
        let ci = self.copy_in.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(ci) = ci else {
            return Err(user_error(&SqlError::new("08P01", "CopyDone without COPY"), None));
        };
        let outcome = match ci.error {
            Some(e) => self.copy_finish(ci.began, false).await.and(Err(e)),
            None => self.copy_finish(ci.began, true).await,
        };
        client.set_transaction_status(self.transaction_status());
        match outcome {
            Ok(()) => {
                client
                    .send(PgWireBackendMessage::CommandComplete(CommandComplete::new(
                        format!("COPY {}", ci.rows),
                    )))
                    .await?;
                Ok(())
            }
            Err(e) => Err(user_error(&e, None)),
        }
    }

    async fn on_copy_fail<C>(&self, client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let ci = self.copy_in.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(ci) = ci {
            let _ = self.copy_finish(ci.began, false).await;
        }
        client.set_transaction_status(self.transaction_status());
        user_error(
            &SqlError::new("57014", format!("COPY from stdin failed: {}", fail.message)),
            None,
        )
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use quorumdb_storage::{Engine, MemoryEngine};

    use super::*;

    fn conn_state() -> ConnState {
        let store = KvStore::local(Arc::new(MemoryEngine::new()) as Arc<dyn Engine>).expect("store");
        ConnState {
            session: Session::new(store.clone()),
            store,
            settings: None,
            id: Identity {
                user: "root".into(),
                database: "root".into(),
                pid: 1,
            },
        }
    }

    fn count(st: &mut ConnState, table: &str) -> i64 {
        let result = st
            .session
            .execute(&format!("SELECT count(*) FROM {table}"))
            .expect("count");
        match result.last().map(|r| r.rows.as_slice()) {
            Some([row]) => match row.as_slice() {
                [Value::Int(n)] => *n,
                other => panic!("count: {other:?}"),
            },
            other => panic!("count: {other:?}"),
        }
    }

    /// COPY's rows go in as INSERTs of [`COPY_BATCH`] rows, each within
    /// what is left of the COPY's deadline: none is left, nothing goes in
    /// (57014); time enough, every row does, and the session's own
    /// `statement_timeout` is back in place afterwards.
    #[test]
    fn copy_insert_keeps_to_the_copy_deadline() {
        let mut st = conn_state();
        st.session
            .execute("CREATE TABLE c (id INT PRIMARY KEY)")
            .expect("create");
        let rows: Vec<Vec<Value>> = (0..2 * COPY_BATCH as i64 + 1)
            .map(|i| vec![Value::Int(i)])
            .collect();
        let columns = ["id".to_owned()];
        let own = Some(Duration::from_secs(3));
        st.session.set_statement_timeout(own);

        let err =
            copy_insert(&mut st, "c", &columns, &rows, Some(Instant::now())).expect_err("past deadline");
        assert_eq!(err.code, "57014", "{err:?}");
        assert_eq!(st.session.statement_timeout(), own);
        assert_eq!(count(&mut st, "c"), 0);

        let later = Instant::now() + Duration::from_secs(600);
        copy_insert(&mut st, "c", &columns, &rows, Some(later)).expect("in time");
        assert_eq!(count(&mut st, "c"), rows.len() as i64);
        assert_eq!(st.session.statement_timeout(), own);
    }

    /// A statement that panics fails this call with XX000 and fails its
    /// transaction block: what it wrote never commits, and the connection
    /// reports the failed block (`E`) until ROLLBACK.
    #[test]
    fn a_panicking_statement_fails_its_block() {
        let state = Mutex::new(conn_state());
        let status = AtomicU8::new(STATUS_IDLE);
        lock(&state)
            .session
            .execute("CREATE TABLE p (id INT PRIMARY KEY); BEGIN")
            .expect("begin");
        let r = futures::executor::block_on(with_state(&state, Some(&status), |st| {
            st.session.execute("INSERT INTO p VALUES (1)").expect("insert");
            panic!("a statement's bug");
        }));
        let Err(PgWireError::UserError(info)) = r else {
            panic!("a panic must fail the call");
        };
        assert_eq!(info.code, "XX000");
        assert_eq!(status.load(Ordering::Acquire), STATUS_FAILED);
        let mut st = lock(&state);
        let tag = st.session.execute("COMMIT").expect("commit").pop().map(|r| r.tag);
        assert_eq!(tag.as_deref(), Some("ROLLBACK"));
        assert_eq!(st.status(), STATUS_IDLE);
        assert_eq!(count(&mut st, "p"), 0);
    }

    #[test]
    fn deallocate_forms() {
        assert_eq!(parse_deallocate("DEALLOCATE ALL"), Some(Deallocate::All));
        assert_eq!(parse_deallocate("deallocate prepare all;"), Some(Deallocate::All));
        assert_eq!(
            parse_deallocate("DEALLOCATE _pg3_0"),
            Some(Deallocate::Named("_pg3_0".into()))
        );
        assert_eq!(
            parse_deallocate("DEALLOCATE PREPARE Stmt1"),
            Some(Deallocate::Named("stmt1".into()))
        );
        assert_eq!(
            parse_deallocate("DEALLOCATE \"My \"\"S\"\"\""),
            Some(Deallocate::Named("My \"S\"".into()))
        );
        for other in [
            "DEALLOCATE",
            "DEALLOCATE a b",
            "DEALLOCATE \"\"",
            "SELECT 1",
            "deallocatex all",
        ] {
            assert_eq!(parse_deallocate(other), None, "{other}");
        }
    }
}
