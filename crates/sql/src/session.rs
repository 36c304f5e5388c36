//! Sessions: statement dispatch and transaction control.
//!
//! A [`Session`] runs SQL text against a [`KvStore`]. Outside BEGIN, each
//! statement runs in its own (implicit) transaction, which is retried up to
//! [`IMPLICIT_RETRIES`] times when it fails with a serialization failure
//! (40001) — it has had no visible effect, so the retry is safe. Inside
//! BEGIN ... COMMIT, a 40001 is returned to the client, and after any error
//! every statement but ROLLBACK (or ROLLBACK TO SAVEPOINT) fails with 25P02.
//! A commit whose outcome is unknown (40003) is never retried.
//!
//! An implicit transaction's first attempt starts *provisionally* at the
//! node's applied version ([`KvStore::begin_provisional`]): no read-index
//! round, with its reads confirmed before anything derived from them is
//! returned (rows at commit, errors via [`confirmed_error`]); its retries,
//! and every explicit transaction, start at a linearizable read version, so
//! they never fail merely because they read while others wrote.
//!
//! Isolation: SERIALIZABLE (default); REPEATABLE READ maps to SNAPSHOT;
//! READ COMMITTED / READ UNCOMMITTED are accepted and run at SNAPSHOT.
//!
//! A session runs as a user ([`Session::set_user`], `root` by default),
//! which decides who may manage users (see [`crate::users`]). Its
//! [`Interrupt`] cancels the statement running now (57014); the flag is
//! cleared when each `execute` call begins.

use std::sync::Arc;

use quorumdb_storage::{Isolation, KvStore, Savepoint, Transaction, TxnOptions};
use sqlparser::ast::{self, Statement};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use crate::binder::{Binder, MAX_DEPTH, ident};
use crate::datetime;
use crate::error::{Result, SqlError, codes};
use crate::exec::{self, ExecCtx};
use crate::interrupt::{self, Interrupt};
use crate::placeholders;
use crate::sequence::{self, SequenceCache, SessionSequences};
use crate::types::{DataType, Row, Value};
use crate::{ddl, dml};

/// How many times an implicit transaction is retried after 40001.
pub const IMPLICIT_RETRIES: usize = 8;

/// A result column: name and type.
#[derive(Clone, Debug, PartialEq)]
pub struct ResultColumn {
    pub name: String,
    pub ty: DataType,
}

/// The result of one statement.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryResult {
    /// Empty for statements that return no rows.
    pub columns: Vec<ResultColumn>,
    pub rows: Vec<Row>,
    /// The PostgreSQL command tag, e.g. `SELECT 3`, `INSERT 0 1`.
    pub tag: String,
}

impl QueryResult {
    fn command(tag: impl Into<String>) -> Self {
        Self {
            columns: vec![],
            rows: vec![],
            tag: tag.into(),
        }
    }
}

/// What [`Session::describe_statement`] reports.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Description {
    /// The inferred type of `$1`, `$2`, ... (`DataType::Unknown` if unsure).
    pub params: Vec<DataType>,
    /// The result columns of a query; empty for other statements.
    pub columns: Vec<ResultColumn>,
}

struct Explicit {
    txn: Transaction,
    /// When BEGIN arrived: `now()` in every statement of the block.
    started: i64,
    failed: bool,
    savepoints: Vec<(String, Savepoint)>,
}

/// One client's session.
pub struct Session {
    store: KvStore,
    txn: Option<Explicit>,
    user: String,
    interrupt: Interrupt,
    /// How long a statement may run before it is cancelled with 57014
    /// (PostgreSQL's `statement_timeout`); `None`: no limit.
    statement_timeout: Option<std::time::Duration>,
    /// When the statements being executed arrived (`statement_timestamp()`).
    statement_started: i64,
    /// The arrival of the client's current message, when the protocol layer
    /// says ([`Session::message_arrived`]): every statement of a message
    /// then shares it. Otherwise each execute call is a message of its own.
    message_arrived: Option<i64>,
    /// Where `nextval` takes its values, and what this session took
    /// (`currval`, `lastval`); see [`crate::sequence`].
    sequences: SessionSequences,
    /// Parsed statements by SQL text: drivers send the same few texts over
    /// and over (Parse, then Execute, for every call). Queries and DML run
    /// from the shared tree (see [`crate::placeholders`]). Emptied when it
    /// reaches [`PARSE_CACHE`].
    parsed: std::collections::HashMap<String, Arc<[Statement]>>,
}

/// Most SQL texts a session keeps parsed.
const PARSE_CACHE: usize = 64;
/// Longest SQL text (bytes) a session keeps parsed.
const PARSE_CACHE_TEXT: usize = 1024;

/// The error a failed statement reports. An error may rest on what a
/// provisional transaction read (a unique violation found in a stale
/// snapshot, say), so those reads are confirmed first; if they no longer
/// hold, the statement raced a concurrent commit and the truthful answer is
/// a serialization failure (40001), which an implicit transaction retries.
fn confirmed_error(txn: &Transaction, e: SqlError) -> SqlError {
    if e.code == codes::SERIALIZATION_FAILURE {
        return e;
    }
    match txn.confirm_reads() {
        Ok(()) => e,
        Err(stale) => SqlError::from(stale),
    }
}

/// Parses SQL text into statements (42601 on a syntax error).
///
/// `CREATE USER` is read as PostgreSQL defines it, `CREATE ROLE ... LOGIN`
/// (sqlparser parses it with Snowflake's grammar), and operators are
/// grouped with PostgreSQL's precedence where sqlparser's differs (see
/// [`pg_precedence`]).
pub fn parse(sql: &str) -> Result<Vec<Statement>> {
    let mut stmts = parse_statements(sql).map_err(|e| SqlError::syntax(e.to_string()))?;
    refuse_deep_expressions(&mut stmts)?;
    if has_regrouped_operator(sql) {
        regroup(&mut stmts)?;
    }
    Ok(stmts)
}

/// Refuses (54001) a tree with expressions nested deeper than
/// [`MAX_DEPTH`], before anything else walks it. sqlparser builds a chain
/// of left-associative operators (`1 + 1 + ... + 1`) in a loop, so its own
/// recursion limit does not bound such a tree, while every later pass over
/// it, and even dropping it, recurses once per level: a long enough chain
/// would overflow the connection thread's stack and abort the node. Only
/// this check's walk is bounded: it cuts the tree at the limit, and the
/// cut-off parts are dropped piece by piece ([`drop_deep`]).
fn refuse_deep_expressions<V: ast::VisitMut>(node: &mut V) -> Result<()> {
    let cut = cut_below(node, MAX_DEPTH);
    if cut.is_empty() {
        return Ok(());
    }
    drop_deep(cut);
    Err(SqlError::new(
        codes::STATEMENT_TOO_COMPLEX,
        format!("statement too complex: nesting deeper than {MAX_DEPTH}"),
    ))
}

/// Takes every expression nested more than `limit` deep out of `node`
/// (leaving NULL in its place) and returns them. Its walk never goes
/// deeper than `limit` expressions.
fn cut_below<V: ast::VisitMut>(node: &mut V, limit: usize) -> Vec<ast::Expr> {
    struct Cut {
        depth: usize,
        limit: usize,
        taken: Vec<ast::Expr>,
    }
    impl ast::VisitorMut for Cut {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &mut ast::Expr) -> std::ops::ControlFlow<()> {
            self.depth += 1;
            if self.depth > self.limit {
                // The NULL left behind has no children to descend into.
                self.taken
                    .push(std::mem::replace(e, ast::Expr::value(ast::Value::Null)));
            }
            std::ops::ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, _e: &mut ast::Expr) -> std::ops::ControlFlow<()> {
            self.depth -= 1;
            std::ops::ControlFlow::Continue(())
        }
    }
    let mut cut = Cut {
        depth: 0,
        limit,
        taken: Vec::new(),
    };
    let _ = node.visit(&mut cut);
    cut.taken
}

/// Drops expressions of any depth without deep recursion: each is cut into
/// pieces at most 64 levels deep first.
fn drop_deep(mut pending: Vec<ast::Expr>) {
    while let Some(mut e) = pending.pop() {
        pending.extend(cut_below(&mut e, 64));
        drop(e);
    }
}

/// [`pg_precedence`] over every expression of `node`, within
/// [`REGROUP_STEPS`].
fn regroup<V: ast::VisitMut>(node: &mut V) -> Result<()> {
    let mut budget = REGROUP_STEPS;
    let regrouped = ast::visit_expressions_mut(node, |e| match pg_precedence(e, &mut budget) {
        Some(()) => std::ops::ControlFlow::Continue(()),
        None => std::ops::ControlFlow::Break(()),
    });
    if regrouped.is_break() {
        return Err(SqlError::new(
            codes::STATEMENT_TOO_COMPLEX,
            "statement too complex: too many operators to regroup",
        ));
    }
    Ok(())
}

/// Steps down operands [`pg_precedence`] may take over one statement (text).
/// Each `+`/`-` walks the right edge of its left operand, so a long chain
/// like `1 + @1 + @1 + ...` costs the square of its length: this bounds
/// the work a single statement can ask for (54001 beyond it).
const REGROUP_STEPS: usize = 10_000_000;

/// Whether the text may hold an operator [`pg_precedence`] regroups.
fn has_regrouped_operator(sql: &str) -> bool {
    sql.contains(['^', '@']) || sql.contains("|/")
}

/// Regroups the operators sqlparser nests differently from PostgreSQL's
/// grammar; applied bottom-up to every expression of a statement:
///
/// - unary minus (and plus) binds tighter than `^`: sqlparser reads
///   `-2 ^ 2` as `-(2 ^ 2)`, PostgreSQL as `(-2) ^ 2` = 4;
/// - the prefix operators `|/`, `||/` and `@` bind looser than `+` and
///   `-`: sqlparser reads `|/ 16 + 9` as `(|/ 16) + 9`, PostgreSQL as
///   `|/ (16 + 9)` = 5.
///
/// Parenthesised operands (`Expr::Nested`) stay as written. The display
/// form of a regrouped tree parses back to the same tree through this
/// function, so stored DEFAULT and CHECK expressions keep their meaning.
///
/// `budget` is the number of steps down operands still allowed; `None` once
/// it is spent (see [`REGROUP_STEPS`]).
fn pg_precedence(e: &mut ast::Expr, budget: &mut usize) -> Option<()> {
    use ast::{BinaryOperator as B, Expr as E, UnaryOperator as U};
    let placeholder = || E::value(ast::Value::Null);
    match e {
        E::UnaryOp {
            op: U::Minus | U::Plus,
            expr,
        } if matches!(**expr, E::BinaryOp { op: B::PGExp, .. }) => {
            if let E::UnaryOp { op, expr } = std::mem::replace(e, placeholder()) {
                *e = sign_into_power(op, *expr);
            }
        }
        E::BinaryOp {
            op: B::Plus | B::Minus,
            left,
            ..
        } => {
            let Some(depth) = prefix_operator_depth(left, budget)? else {
                return Some(());
            };
            if let E::BinaryOp { left, op, right } = std::mem::replace(e, placeholder()) {
                let mut left = *left;
                if let E::UnaryOp { expr, .. } = right_spine_at(&mut left, depth) {
                    let operand = std::mem::replace(&mut **expr, placeholder());
                    **expr = E::BinaryOp {
                        left: Box::new(operand),
                        op,
                        right,
                    };
                }
                *e = left;
            }
        }
        _ => {}
    }
    Some(())
}

/// `op (a ^ b) ^ c` as `((op a) ^ b) ^ c`.
#[recursive::recursive]
fn sign_into_power(op: ast::UnaryOperator, e: ast::Expr) -> ast::Expr {
    match e {
        ast::Expr::BinaryOp {
            left,
            op: ast::BinaryOperator::PGExp,
            right,
        } => ast::Expr::BinaryOp {
            left: Box::new(sign_into_power(op, *left)),
            op: ast::BinaryOperator::PGExp,
            right,
        },
        e => ast::Expr::UnaryOp {
            op,
            expr: Box::new(e),
        },
    }
}

/// Steps down the right edge of `e` (binary operators' right operands,
/// unary operators' operands) to its deepest `|/`, `||/` or `@`: the
/// operator a following `+` or `-` belongs under in PostgreSQL. `None`
/// when `budget` runs out on the way.
fn prefix_operator_depth(mut e: &ast::Expr, budget: &mut usize) -> Option<Option<usize>> {
    use ast::UnaryOperator as U;
    let mut found = None;
    let mut depth = 0;
    loop {
        *budget = budget.checked_sub(1)?;
        e = match e {
            ast::Expr::UnaryOp { op, expr } => {
                if matches!(op, U::PGSquareRoot | U::PGCubeRoot | U::PGAbs) {
                    found = Some(depth);
                }
                expr
            }
            ast::Expr::BinaryOp { right, .. } => right,
            _ => return Some(found),
        };
        depth += 1;
    }
}

fn right_spine_at(mut e: &mut ast::Expr, depth: usize) -> &mut ast::Expr {
    for _ in 0..depth {
        e = match e {
            ast::Expr::UnaryOp { expr, .. } => expr,
            ast::Expr::BinaryOp { right, .. } => right,
            other => return other,
        };
    }
    e
}

fn parse_statements(sql: &str) -> std::result::Result<Vec<Statement>, sqlparser::parser::ParserError> {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::Token;
    let dialect = PostgreSqlDialect {};
    let mut p = Parser::new(&dialect).try_with_sql(sql)?;
    let is_kw = |t: &Token, k: Keyword| matches!(t, Token::Word(w) if w.keyword == k);
    // sqlparser's `parse_statements`, with the CREATE USER case added.
    let mut stmts = Vec::new();
    let mut expecting_delimiter = false;
    loop {
        while p.consume_token(&Token::SemiColon) {
            expecting_delimiter = false;
        }
        match &p.peek_token_ref().token {
            Token::EOF => break,
            Token::Word(w) if expecting_delimiter && w.keyword == Keyword::END => break,
            _ => {}
        }
        if expecting_delimiter {
            return p.expected_ref("end of statement", p.peek_token_ref());
        }
        let create_user = is_kw(&p.peek_nth_token_ref(0).token, Keyword::CREATE)
            && is_kw(&p.peek_nth_token_ref(1).token, Keyword::USER)
            && !is_kw(&p.peek_nth_token_ref(2).token, Keyword::MAPPING);
        let stmt = if create_user {
            let _ = p.parse_keywords(&[Keyword::CREATE, Keyword::USER]);
            let mut role = p.parse_create_role(ast::RoleKeyword::Role)?;
            role.login.get_or_insert(true);
            Statement::CreateRole(role)
        } else {
            p.parse_statement()?
        };
        stmts.push(stmt);
        expecting_delimiter = true;
    }
    Ok(stmts)
}

/// Whether `stmt` binds its parameters as it runs: queries and DML (the
/// statements PostgreSQL lets take parameters), and transaction control,
/// which has none.
fn binds_parameters(stmt: &Statement) -> bool {
    match stmt {
        Statement::Query(_)
        | Statement::Insert(_)
        | Statement::Update(_)
        | Statement::Delete(_)
        | Statement::StartTransaction { .. }
        | Statement::Commit { .. }
        | Statement::Rollback { .. }
        | Statement::Savepoint { .. }
        | Statement::ReleaseSavepoint { .. } => true,
        Statement::Explain { statement, .. } => matches!(**statement, Statement::Query(_)),
        _ => false,
    }
}

/// Whether `stmt` has a `$n` anywhere.
fn has_placeholders(stmt: &Statement) -> bool {
    use std::ops::ControlFlow;
    ast::visit_expressions(stmt, |e| match e {
        ast::Expr::Value(v) if matches!(v.value, ast::Value::Placeholder(_)) => ControlFlow::Break(()),
        _ => ControlFlow::Continue(()),
    })
    .is_break()
}

/// Parses one stored expression (DEFAULT, CHECK).
pub fn parse_expr(sql: &str) -> Result<ast::Expr> {
    let mut e = Parser::new(&PostgreSqlDialect {})
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SqlError::internal(format!("stored expression {sql}: {e}")))?;
    refuse_deep_expressions(&mut e)?;
    if has_regrouped_operator(sql) {
        regroup(&mut e)?;
    }
    Ok(e)
}

impl Session {
    /// A session with sequence blocks of its own; a server's sessions
    /// share their node's through [`Session::with_sequence_cache`].
    pub fn new(store: KvStore) -> Self {
        Self {
            sequences: SessionSequences::new(store.clone(), SequenceCache::new()),
            store,
            txn: None,
            user: crate::users::ROOT.to_owned(),
            interrupt: Interrupt::new(),
            statement_timeout: None,
            statement_started: 0,
            message_arrived: None,
            parsed: Default::default(),
        }
    }

    /// Takes sequence values from `cache`, the node's (see
    /// [`crate::sequence`]: one cache per node keeps each node's values in
    /// order across its sessions).
    pub fn with_sequence_cache(mut self, cache: Arc<SequenceCache>) -> Self {
        self.sequences = SessionSequences::new(self.store.clone(), cache);
        self
    }

    /// Marks the arrival of a client message (a simple Query, an Execute):
    /// `statement_timestamp()`, and `now()` outside a transaction block,
    /// give this time in every statement executed until the next mark, as
    /// PostgreSQL does for the statements of one message, however the
    /// protocol layer splits them into execute calls.
    pub fn message_arrived(&mut self) {
        self.message_arrived = Some(datetime::now_micros());
    }

    /// The SQL clock of the next statement (see [`datetime::Clock`]).
    fn clock(&self) -> datetime::Clock {
        let statement = self.statement_started;
        datetime::Clock {
            transaction: self.txn.as_ref().map_or(statement, |t| t.started),
            statement,
        }
    }

    /// [`parse`], remembered per SQL text (see [`Session::parsed`]).
    fn parse_cached(&mut self, sql: &str) -> Result<Arc<[Statement]>> {
        if let Some(stmts) = self.parsed.get(sql) {
            return Ok(stmts.clone());
        }
        let stmts: Arc<[Statement]> = parse(sql)?.into();
        if sql.len() > PARSE_CACHE_TEXT {
            // Long texts are rarely repeated (and this one is then never
            // cloned: see `execute_uninterrupted`).
            return Ok(stmts);
        }
        if self.parsed.len() >= PARSE_CACHE {
            self.parsed.clear();
        }
        self.parsed.insert(sql.to_owned(), stmts.clone());
        Ok(stmts)
    }

    /// The user this session runs as (default `root`).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// Sets the session's user (the server does this after authentication).
    pub fn set_user(&mut self, user: impl Into<String>) {
        self.user = user.into();
    }

    /// A handle that cancels the statement this session is running.
    pub fn interrupt(&self) -> Interrupt {
        self.interrupt.clone()
    }

    /// Limits how long each statement (each of a multi-statement string,
    /// each Describe) may run: past it, the statement stops with 57014
    /// `canceling statement due to statement timeout`. `None` (the
    /// default): no limit.
    pub fn set_statement_timeout(&mut self, timeout: Option<std::time::Duration>) {
        self.statement_timeout = timeout;
    }

    /// The limit [`Session::set_statement_timeout`] set.
    pub fn statement_timeout(&self) -> Option<std::time::Duration> {
        self.statement_timeout
    }

    /// True inside BEGIN ... COMMIT/ROLLBACK.
    pub fn in_transaction(&self) -> bool {
        self.txn.is_some()
    }

    /// Marks the explicit transaction failed, as a statement's error does:
    /// for a statement that ended without returning (it panicked), whose
    /// partial writes must never commit. COMMIT then rolls back; ROLLBACK
    /// TO a savepoint recovers as after any error.
    pub fn fail_transaction(&mut self) {
        if let Some(t) = self.txn.as_mut() {
            t.failed = true;
        }
    }

    /// How many savepoints the explicit transaction holds (0 outside one).
    pub fn savepoint_depth(&self) -> usize {
        self.txn.as_ref().map_or(0, |t| t.savepoints.len())
    }

    /// True when the explicit transaction has failed (awaiting ROLLBACK).
    pub fn transaction_failed(&self) -> bool {
        self.txn.as_ref().is_some_and(|t| t.failed)
    }

    /// Executes every statement in `sql`; stops at the first error.
    pub fn execute(&mut self, sql: &str) -> Result<Vec<QueryResult>> {
        self.execute_with_params(sql, &[])
    }

    /// Like [`Session::execute`], with `$1`, `$2`, ... bound to `params`.
    /// A parameter acts like a literal of its value; a text value acts like
    /// an untyped string literal (it is coerced where it is used), which is
    /// how text-format parameters of the extended protocol arrive.
    ///
    /// Clears the session's [`Interrupt`] first; a trip while this runs
    /// stops it with 57014.
    pub fn execute_with_params(&mut self, sql: &str, params: &[Value]) -> Result<Vec<QueryResult>> {
        let i = self.interrupt.clone();
        interrupt::statement(&i, self.statement_timeout, || {
            self.execute_uninterrupted(sql, params)
        })
    }

    fn execute_uninterrupted(&mut self, sql: &str, params: &[Value]) -> Result<Vec<QueryResult>> {
        // Queries and DML bind their parameters from the scope; a string
        // with a `$n` in any other statement gets them written into a copy
        // of its trees (see `crate::placeholders`).
        let stmts = self.parse_cached(sql).and_then(|mut parsed| {
            if parsed.iter().all(|s| binds_parameters(s) || !has_placeholders(s)) {
                return Ok(parsed);
            }
            // A text too long to be cached is this call's alone: rewritten
            // in place (a deeply nested tree is not cloned at all).
            if let Some(own) = Arc::get_mut(&mut parsed) {
                for stmt in own.iter_mut() {
                    placeholders::substitute(stmt, Some(params))?;
                }
                return Ok(parsed);
            }
            let mut copy = parsed.to_vec();
            for stmt in &mut copy {
                placeholders::substitute(stmt, Some(params))?;
            }
            Ok(copy.into())
        });
        let stmts = match stmts {
            Ok(s) => s,
            Err(e) => {
                if let Some(t) = self.txn.as_mut() {
                    t.failed = true;
                }
                return Err(e);
            }
        };
        placeholders::scope(params, || self.execute_parsed(&stmts))
    }

    fn execute_parsed(&mut self, stmts: &[Statement]) -> Result<Vec<QueryResult>> {
        // One arrival time for the statements sent together, as in
        // PostgreSQL's simple query protocol.
        self.statement_started = self.message_arrived.unwrap_or_else(datetime::now_micros);
        let control = |s: &Statement| {
            matches!(
                s,
                Statement::StartTransaction { .. }
                    | Statement::Commit { .. }
                    | Statement::Rollback { .. }
                    | Statement::Savepoint { .. }
                    | Statement::ReleaseSavepoint { .. }
            )
        };
        if self.txn.is_none() && stmts.len() > 1 && !stmts.iter().any(control) {
            // As in PostgreSQL's simple query protocol, several statements
            // sent together without transaction control run as one
            // implicit transaction (retried as a whole on 40001).
            let user = self.user.clone();
            let clock = self.clock();
            let sequences = self.sequences.clone();
            return sequence::scope(&sequences, || {
                datetime::with_clock(clock, || {
                    self.implicit(|txn| stmts.iter().map(|s| run(txn, s, &user)).collect())
                })
            });
        }
        let mut out = Vec::new();
        for s in stmts {
            out.push(self.execute_statement(s)?);
        }
        Ok(out)
    }

    /// Runs `f` in an implicit transaction, retrying it on 40001.
    fn implicit<T>(&mut self, mut f: impl FnMut(&mut Transaction) -> Result<T>) -> Result<T> {
        let mut attempt = 0;
        loop {
            // The first attempt starts provisionally (no read-index round);
            // a retry starts at a linearizable read version, so a read-only
            // statement that raced concurrent writes cannot fail again.
            let mut txn = if attempt == 0 {
                self.store.begin_provisional(TxnOptions::default())?
            } else {
                self.store.begin(TxnOptions::default())?
            };
            let r = match f(&mut txn) {
                Ok(res) => txn.commit().map(|_| res).map_err(SqlError::from),
                Err(e) => Err(confirmed_error(&txn, e)),
            };
            match r {
                Err(e) if e.code == codes::SERIALIZATION_FAILURE && attempt < IMPLICIT_RETRIES => {
                    attempt += 1
                }
                r => return r,
            }
        }
    }

    /// Describes `sql` without running it: the number of parameters and,
    /// for a query, its result columns (parameters bound as NULL). See
    /// [`Session::describe_statement`] for the parameter types too.
    pub fn describe(&mut self, sql: &str) -> Result<(usize, Vec<ResultColumn>)> {
        let d = self.describe_statement(sql)?;
        Ok((d.params.len(), d.columns))
    }

    /// Describes the first statement of `sql` without running it: the
    /// inferred type of each parameter `$1..$n` ([`DataType::Unknown`] when
    /// the context does not say; see [`crate::params`]) and, for a query,
    /// its result columns (parameters bound as NULL).
    ///
    /// Clears the session's [`Interrupt`] first; a trip while this waits for
    /// the catalog (a read version) stops it with 57014.
    pub fn describe_statement(&mut self, sql: &str) -> Result<Description> {
        let i = self.interrupt.clone();
        interrupt::statement(&i, self.statement_timeout, || {
            placeholders::describing(|| self.describe_uninterrupted(sql))
        })
    }

    fn describe_uninterrupted(&mut self, sql: &str) -> Result<Description> {
        let parsed = self.parse_cached(sql)?;
        let Some(original) = parsed.first() else {
            return Ok(Description::default());
        };
        let mut stmt = original.clone();
        let n = placeholders::substitute(&mut stmt, None)?;
        let describe = |txn: &mut Transaction| -> Result<Description> {
            let params = if n == 0 {
                vec![]
            } else {
                crate::params::infer(txn, original, n)
            };
            let columns = match &stmt {
                Statement::Query(q) => {
                    let (_, cols) = Binder::new(txn).bind_query(q)?;
                    cols.into_iter()
                        .map(|c| ResultColumn {
                            name: c.name,
                            ty: c.ty,
                        })
                        .collect()
                }
                _ => vec![],
            };
            Ok(Description { params, columns })
        };
        let options = TxnOptions {
            isolation: Isolation::Snapshot,
            read_only: true,
        };
        match self.txn.as_mut() {
            Some(t) => describe(&mut t.txn),
            // A description only needs the catalog, so it starts from what
            // this node has applied; only if that fails (say, a table just
            // created through another node is not here yet) does it pay for
            // a linearizable read version and try again.
            None => describe(&mut self.store.begin_unconfirmed(options)?)
                .or_else(|_| describe(&mut self.store.begin(options)?)),
        }
    }

    /// One statement of those [`Session::execute_parsed`] runs, under the
    /// session's interrupt and clock (taken anew for each statement: a
    /// BEGIN before it starts the transaction whose time `now()` gives).
    fn execute_statement(&mut self, stmt: &Statement) -> Result<QueryResult> {
        let i = self.interrupt.clone();
        let clock = self.clock();
        let sequences = self.sequences.clone();
        interrupt::scope(&i, || {
            sequence::scope(&sequences, || {
                datetime::with_clock(clock, || self.execute_one(stmt))
            })
        })
    }

    fn execute_one(&mut self, stmt: &Statement) -> Result<QueryResult> {
        match stmt {
            Statement::StartTransaction { modes, .. } => return self.begin(modes),
            Statement::Commit { .. } => {
                return match self.txn.take() {
                    None => Ok(QueryResult::command("COMMIT")),
                    Some(t) if t.failed => Ok(QueryResult::command("ROLLBACK")),
                    Some(t) => {
                        t.txn.commit()?;
                        Ok(QueryResult::command("COMMIT"))
                    }
                };
            }
            Statement::Rollback { savepoint: None, .. } => {
                self.txn = None;
                return Ok(QueryResult::command("ROLLBACK"));
            }
            Statement::Rollback {
                savepoint: Some(name),
                ..
            } => {
                let name = ident(name);
                let t = self.txn.as_mut().ok_or_else(|| {
                    SqlError::new(
                        codes::NO_ACTIVE_TRANSACTION,
                        "ROLLBACK TO SAVEPOINT can only be used in transaction blocks",
                    )
                })?;
                let Some(pos) = t.savepoints.iter().rposition(|(n, _)| *n == name) else {
                    t.failed = true;
                    return Err(SqlError::new(
                        codes::UNDEFINED_SAVEPOINT,
                        format!("savepoint \"{name}\" does not exist"),
                    ));
                };
                let sp = t.savepoints[pos].1;
                t.savepoints.truncate(pos + 1);
                t.txn.rollback_to(sp);
                t.failed = false;
                return Ok(QueryResult::command("ROLLBACK"));
            }
            _ => {}
        }
        if let Some(t) = self.txn.as_mut() {
            if t.failed {
                return Err(SqlError::new(
                    codes::IN_FAILED_TRANSACTION,
                    "current transaction is aborted, commands ignored until end of transaction block",
                ));
            }
            match stmt {
                Statement::Savepoint { name } => {
                    let sp = t.txn.savepoint();
                    t.savepoints.push((ident(name), sp));
                    return Ok(QueryResult::command("SAVEPOINT"));
                }
                Statement::ReleaseSavepoint { name } => {
                    let name = ident(name);
                    let Some(pos) = t.savepoints.iter().rposition(|(n, _)| *n == name) else {
                        t.failed = true;
                        return Err(SqlError::new(
                            codes::UNDEFINED_SAVEPOINT,
                            format!("savepoint \"{name}\" does not exist"),
                        ));
                    };
                    t.savepoints.truncate(pos);
                    return Ok(QueryResult::command("RELEASE"));
                }
                _ => {}
            }
            // Statement-level atomicity inside the transaction.
            let sp = t.txn.savepoint();
            let r = run(&mut t.txn, stmt, &self.user).map_err(|e| confirmed_error(&t.txn, e));
            if r.is_err() {
                t.txn.rollback_to(sp);
                t.failed = true;
            }
            return r;
        }
        if matches!(
            stmt,
            Statement::Savepoint { .. } | Statement::ReleaseSavepoint { .. }
        ) {
            return Err(SqlError::new(
                codes::NO_ACTIVE_TRANSACTION,
                "SAVEPOINT can only be used in transaction blocks",
            ));
        }
        // Implicit transaction, retried on serialization failure.
        let user = self.user.clone();
        self.implicit(|txn| run(txn, stmt, &user))
    }

    fn begin(&mut self, modes: &[ast::TransactionMode]) -> Result<QueryResult> {
        if self.txn.is_some() {
            // PostgreSQL warns and carries on.
            return Ok(QueryResult::command("BEGIN"));
        }
        let mut options = TxnOptions::default();
        for m in modes {
            match m {
                ast::TransactionMode::AccessMode(ast::TransactionAccessMode::ReadOnly) => {
                    options.read_only = true
                }
                ast::TransactionMode::AccessMode(ast::TransactionAccessMode::ReadWrite) => {
                    options.read_only = false
                }
                ast::TransactionMode::IsolationLevel(l) => {
                    options.isolation = match l {
                        ast::TransactionIsolationLevel::Serializable => Isolation::Serializable,
                        _ => Isolation::Snapshot,
                    }
                }
            }
        }
        let txn = self.store.begin(options)?;
        self.txn = Some(Explicit {
            txn,
            started: self.statement_started,
            failed: false,
            savepoints: vec![],
        });
        Ok(QueryResult::command("BEGIN"))
    }
}

fn dml_result(tag: &str, r: dml::DmlResult) -> QueryResult {
    let tag = format!("{tag} {}", r.count);
    match r.returning {
        None => QueryResult::command(tag),
        Some((cols, rows)) => QueryResult {
            columns: cols
                .into_iter()
                .map(|c| ResultColumn {
                    name: c.name,
                    ty: c.ty,
                })
                .collect(),
            rows,
            tag,
        },
    }
}

/// Runs one non-transaction-control statement in `txn` as `user`.
fn run(txn: &mut Transaction, stmt: &Statement, user: &str) -> Result<QueryResult> {
    Ok(match stmt {
        Statement::Query(q) => {
            let (plan, cols) = Binder::new(txn).bind_query(q)?;
            let mut ctx = ExecCtx::new(txn);
            let rows = exec::collect(&plan, &mut ctx)?;
            QueryResult {
                tag: format!("SELECT {}", rows.len()),
                columns: cols
                    .into_iter()
                    .map(|c| ResultColumn {
                        name: c.name,
                        ty: c.ty,
                    })
                    .collect(),
                rows,
            }
        }
        Statement::Explain { statement, .. } => {
            let Statement::Query(q) = &**statement else {
                return Err(SqlError::unsupported("EXPLAIN of this statement"));
            };
            let (plan, _) = Binder::new(txn).bind_query(q)?;
            let rows: Vec<Row> = plan
                .explain()
                .into_iter()
                .map(|l| vec![crate::types::Value::Text(l)])
                .collect();
            QueryResult {
                tag: format!("EXPLAIN {}", rows.len()),
                columns: vec![ResultColumn {
                    name: "QUERY PLAN".into(),
                    ty: DataType::Text(None),
                }],
                rows,
            }
        }
        Statement::Insert(i) => dml_result("INSERT 0", dml::insert(txn, i)?),
        Statement::Update(u) => dml_result("UPDATE", dml::update(txn, u)?),
        Statement::Delete(d) => dml_result("DELETE", dml::delete(txn, d)?),
        Statement::AlterTable(at) => {
            ddl::alter_table(txn, at)?;
            QueryResult::command("ALTER TABLE")
        }
        Statement::CreateTable(ct) => {
            ddl::create_table(txn, ct)?;
            QueryResult::command("CREATE TABLE")
        }
        Statement::CreateView(cv) => {
            ddl::create_view(txn, cv)?;
            QueryResult::command("CREATE VIEW")
        }
        Statement::CreateSequence {
            temporary,
            if_not_exists,
            name,
            sequence_options,
        } => {
            ddl::create_sequence(txn, name, *if_not_exists, *temporary, sequence_options)?;
            QueryResult::command("CREATE SEQUENCE")
        }
        Statement::CreateIndex(ci) => {
            ddl::create_index(txn, ci)?;
            QueryResult::command("CREATE INDEX")
        }
        Statement::CreateRole(cr) => {
            crate::users::create_role(txn, cr, user)?;
            QueryResult::command("CREATE ROLE")
        }
        Statement::AlterRole { name, operation } => {
            crate::users::alter_role(txn, name, operation, user)?;
            QueryResult::command("ALTER ROLE")
        }
        Statement::Drop {
            object_type: ast::ObjectType::Role | ast::ObjectType::User,
            if_exists,
            names,
            ..
        } => {
            crate::users::drop_roles(txn, *if_exists, names, user)?;
            QueryResult::command("DROP ROLE")
        }
        Statement::Drop {
            object_type,
            if_exists,
            cascade,
            names,
            ..
        } => {
            ddl::drop(txn, object_type, *if_exists, *cascade, names)?;
            QueryResult::command(format!("DROP {}", object_type.to_string().to_uppercase()))
        }
        Statement::Truncate(t) => {
            let names = t
                .table_names
                .iter()
                .map(|target| crate::binder::object_name(&target.name))
                .collect::<Result<Vec<_>>>()?;
            ddl::truncate(
                txn,
                names,
                matches!(t.cascade, Some(ast::CascadeOption::Cascade)),
                matches!(t.identity, Some(ast::TruncateIdentityOption::Restart)),
            )?;
            QueryResult::command("TRUNCATE TABLE")
        }
        other => {
            let s = other.to_string();
            let head: String = s.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
            return Err(SqlError::unsupported(head));
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use quorumdb_storage::{Engine, MemoryEngine};

    use super::*;

    fn session() -> Session {
        Session::new(KvStore::local(Arc::new(MemoryEngine::new()) as Arc<dyn Engine>).expect("store"))
    }

    /// The single value of a one-row, one-column result.
    fn timestamp(s: &mut Session, sql: &str) -> i64 {
        match s.execute(sql).unwrap().pop().unwrap().rows.as_slice() {
            [row] => match row.as_slice() {
                [Value::Timestamp(t)] => *t,
                other => panic!("{sql}: {other:?}"),
            },
            other => panic!("{sql}: {other:?}"),
        }
    }

    /// A statement that panicked halfway leaves its writes in the
    /// transaction: the block must then refuse to commit them.
    #[test]
    fn a_failed_transaction_never_commits_its_writes() {
        let mut s = session();
        s.execute("CREATE TABLE t (id INT PRIMARY KEY)").unwrap();
        s.execute("BEGIN; INSERT INTO t VALUES (1)").unwrap();
        s.fail_transaction();
        let err = s.execute("INSERT INTO t VALUES (2)").unwrap_err();
        assert_eq!(err.code, codes::IN_FAILED_TRANSACTION);
        let tag = s.execute("COMMIT").unwrap().pop().unwrap().tag;
        assert_eq!(tag, "ROLLBACK");
        let rows = s.execute("SELECT count(*) FROM t").unwrap().pop().unwrap().rows;
        assert_eq!(rows, vec![vec![Value::Int(0)]]);
        s.fail_transaction(); // outside a block: nothing to fail
        assert!(!s.in_transaction());
    }

    /// Returns once the wall clock has moved past every time seen so far.
    fn clock_ticks() {
        let start = datetime::now_micros();
        while datetime::now_micros() <= start {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn now_is_the_transactions_start_and_statement_timestamp_each_statements() {
        let mut s = session();
        s.execute("BEGIN").unwrap();
        let began = timestamp(&mut s, "SELECT now()");
        let first = timestamp(&mut s, "SELECT statement_timestamp()");
        clock_ticks();
        assert_eq!(timestamp(&mut s, "SELECT current_timestamp"), began);
        assert!(timestamp(&mut s, "SELECT statement_timestamp()") > first);
        s.execute("COMMIT").unwrap();
        clock_ticks();
        // Outside a block each statement is its own transaction.
        let alone = timestamp(&mut s, "SELECT now()");
        assert!(alone > began);
        clock_ticks();
        assert!(timestamp(&mut s, "SELECT transaction_timestamp()") > alone);
        // Statements sent together share one arrival time.
        let together = s.execute("SELECT now(); SELECT statement_timestamp()").unwrap();
        assert_eq!(together[0].rows, together[1].rows);
    }

    #[test]
    fn parameters_bind_as_literals() {
        let mut s = session();
        s.execute("CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT, x DOUBLE PRECISION)")
            .unwrap();
        let ins = "INSERT INTO p VALUES ($1, $2, $3)";
        s.execute_with_params(
            ins,
            &[Value::Int(-1), Value::Text("o'k".into()), Value::Float(0.5)],
        )
        .unwrap();
        // Text parameters are coerced where used, like untyped literals.
        s.execute_with_params(
            ins,
            &[Value::Text("2".into()), Value::Null, Value::Text("1.5".into())],
        )
        .unwrap();
        let r = s
            .execute_with_params("SELECT name, x FROM p WHERE id = $1", &[Value::Int(-1)])
            .unwrap();
        assert_eq!(
            r[0].rows,
            vec![vec![Value::Text("o'k".into()), Value::Float(0.5)]]
        );
        let r = s
            .execute_with_params("SELECT x FROM p WHERE id = $1", &[Value::Text("2".into())])
            .unwrap();
        assert_eq!(r[0].rows, vec![vec![Value::Float(1.5)]]);
        let err = s.execute_with_params("SELECT $2", &[Value::Int(1)]).unwrap_err();
        assert_eq!(err.code, "42P02");
    }

    /// A query binds its parameters from the scope; other statements get
    /// them written into their tree. Both must mean the same.
    #[test]
    fn bound_parameters_mean_what_their_substituted_literals_mean() {
        let mut s = session();
        let values = [
            Value::Null,
            Value::Bool(true),
            Value::Int(i64::MIN),
            Value::Int(7),
            Value::Float(-0.25),
            Value::Text("it's".into()),
            Value::Date(19_000),
            Value::Timestamp(1_700_000_000_123_456),
            Value::Bytes(vec![0, 255]),
            Value::Numeric(crate::numeric::Decimal::parse("-12.50").unwrap()),
        ];
        s.execute("CREATE TABLE o (id INTEGER PRIMARY KEY)").unwrap();
        s.execute("INSERT INTO o VALUES (1), (2)").unwrap();
        let sqls = [
            "SELECT $1, $1 IS NULL",
            "SELECT -$1",
            "SELECT $1 || 'x'",
            "SELECT id FROM o ORDER BY $1, id DESC",
            "SELECT count(*) FROM o GROUP BY $1",
        ];
        for (v, sql) in values.into_iter().flat_map(|v| sqls.map(|sql| (v.clone(), sql))) {
            let bound = s.execute_with_params(sql, std::slice::from_ref(&v));
            let mut stmt = parse(sql).unwrap().remove(0);
            placeholders::substitute(&mut stmt, Some(std::slice::from_ref(&v))).unwrap();
            let substituted = s.execute(&stmt.to_string());
            // Values, types and tags; not names: `$1` is `?column?`, and
            // the literal written for it may be a cast, which PostgreSQL
            // names after its type (`float8`).
            let unnamed = |r: Result<Vec<QueryResult>>| {
                r.map(|results| {
                    results
                        .into_iter()
                        .map(|q| {
                            (
                                q.columns.into_iter().map(|c| c.ty).collect::<Vec<_>>(),
                                q.rows,
                                q.tag,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            };
            assert_eq!(unnamed(bound), unnamed(substituted), "{v:?}: {sql}");
        }
        // A parameter is a value, not a position (as in PostgreSQL).
        let r = s
            .execute_with_params("SELECT id FROM o ORDER BY $1, id DESC", &[Value::Int(1)])
            .unwrap();
        assert_eq!(r[0].rows, vec![vec![Value::Int(2)], vec![Value::Int(1)]]);
    }

    #[test]
    fn describe_reports_parameters_and_columns() {
        let mut s = session();
        s.execute("CREATE TABLE d (id BIGINT PRIMARY KEY, v TEXT)")
            .unwrap();
        let (n, cols) = s
            .describe("SELECT v, id + 1 AS n FROM d WHERE id = $1 AND v <> $2")
            .unwrap();
        assert_eq!(n, 2);
        let names: Vec<_> = cols.iter().map(|c| (c.name.as_str(), c.ty)).collect();
        assert_eq!(names, vec![("v", DataType::Text(None)), ("n", DataType::Int8)]);
        assert_eq!(s.describe("INSERT INTO d VALUES ($1, $2)").unwrap().0, 2);
    }

    #[test]
    fn describe_infers_parameter_types() {
        let mut s = session();
        s.execute(
            "CREATE TABLE acc (aid INTEGER PRIMARY KEY, bid INTEGER, abalance BIGINT, filler VARCHAR(84), at TIMESTAMP)",
        )
        .unwrap();
        let params = |s: &mut Session, sql: &str| s.describe_statement(sql).unwrap().params;
        use DataType::*;
        assert_eq!(
            params(&mut s, "UPDATE acc SET abalance = abalance + $1 WHERE aid = $2"),
            [Int8, Int4]
        );
        assert_eq!(
            params(&mut s, "SELECT abalance FROM acc WHERE acc.aid = $1"),
            [Int4]
        );
        assert_eq!(
            params(&mut s, "INSERT INTO acc (aid, filler, at) VALUES ($1, $2, $3)"),
            [Int4, Text(Some(84)), Timestamp]
        );
        assert_eq!(
            params(&mut s, "INSERT INTO acc VALUES ($1, $2, $3, $4, $5)"),
            [Int4, Int4, Int8, Text(Some(84)), Timestamp]
        );
        assert_eq!(
            params(
                &mut s,
                "SELECT aid FROM acc WHERE bid IN ($1, 2) AND aid BETWEEN $2 AND $3 AND filler LIKE $4 LIMIT $5 OFFSET $6"
            ),
            [Int4, Int4, Int4, Text(None), Int8, Int8]
        );
        assert_eq!(
            params(
                &mut s,
                "SELECT aid FROM acc OFFSET $1 ROWS FETCH FIRST $2 ROWS ONLY"
            ),
            [Int8, Int8]
        );
        assert_eq!(
            params(&mut s, "SELECT $1::date, $2, $3 + 1.5"),
            [Date, Unknown, Numeric(None)]
        );
        assert_eq!(
            params(
                &mut s,
                "SELECT $1 ^ 2, 2.5 ^ $2, |/ $3, aid FROM acc WHERE bid ^ 2 = $4"
            ),
            [Float8, Numeric(None), Float8, Float8]
        );
        assert_eq!(
            params(
                &mut s,
                "SELECT aid FROM acc WHERE filler ~ $1 OR $2 !~* filler OR regexp_like(filler, $3)"
            ),
            [Text(None), Text(None), Unknown]
        );
        let d = s
            .describe_statement("SELECT filler FROM acc WHERE aid = $1")
            .unwrap();
        assert_eq!(d.columns.len(), 1);
        // A missing table is reported when the statement runs, not here.
        assert_eq!(params(&mut s, "INSERT INTO nope VALUES ($1)"), [Unknown]);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        // Runs on a test thread (2 MiB stack) in debug builds.
        let mut s = session();
        let n = 900;
        let ok = format!("SELECT {}", vec!["1"; n].join(" + "));
        assert_eq!(s.execute(&ok).unwrap()[0].rows, vec![vec![Value::Int(n as i64)]]);
        let nested = format!("SELECT {}1{}", "(-".repeat(20), ")".repeat(20));
        assert_eq!(s.execute(&nested).unwrap()[0].rows, vec![vec![Value::Int(1)]]);
        let deep = format!("SELECT {}", vec!["1"; 5000].join(" + "));
        assert_eq!(s.execute(&deep).unwrap_err().code, "54001");
        let unions = vec!["SELECT 1"; 3000].join(" UNION ");
        assert_eq!(s.execute(&unions).unwrap_err().code, "54001");
        // The operator regrouping pass walks the whole tree too.
        let powers = format!("SELECT -{}", vec!["1"; 5000].join(" ^ "));
        assert_eq!(s.execute(&powers).unwrap_err().code, "54001");
        let sums = format!("SELECT @ {}", vec!["-1"; 5000].join(" + "));
        assert_eq!(s.execute(&sums).unwrap_err().code, "54001");
        // Every `+` walks the right edge of its left side, which regrouping
        // lengthens: the square of this chain's length, refused by the step
        // budget long before that much work is done.
        let chain = format!("1{}", " + @1".repeat(900));
        let e = s
            .execute(&format!("SELECT {}", vec![chain; 20].join(", ")))
            .unwrap_err();
        assert_eq!((e.code, e.message.contains("regroup")), ("54001", true), "{e}");
        // A chain far too deep for any recursive pass, or a recursive drop,
        // on this thread's 2 MiB stack: refused before anything walks it.
        for op in [" + 1", " AND true", " IS NULL", " || 'x'"] {
            let chain = format!("SELECT 1{}", op.repeat(100_000));
            assert_eq!(s.execute(&chain).unwrap_err().code, "54001", "{op}");
        }
    }

    #[test]
    fn operators_group_with_postgres_precedence() {
        let mut s = session();
        let row = |s: &mut Session, sql: &str| {
            s.execute(sql).unwrap()[0].rows[0]
                .iter()
                .map(|v| v.to_text().unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            row(&mut s, "SELECT -2 ^ 2, -2 ^ 3 ^ 2, -(2 ^ 2), - 2 ^ 2 + 1"),
            ["4", "64", "-4", "5"]
        );
        assert_eq!(
            row(
                &mut s,
                "SELECT |/ 16 + 9, |/ 16 + 9 - 9, 2 + |/ 16 + 9, - |/ 16 + 9, |/ |/ 16 + 65, @ -5 + 2, (|/ 16) + 9, |/ 16 * 4, |/ 16 = 4"
            ),
            ["5", "4", "7", "-5", "3", "3", "13", "8", "t"]
        );
        // A stored expression keeps its grouping through its text form.
        s.execute("CREATE TABLE g (k INTEGER PRIMARY KEY, a DOUBLE PRECISION DEFAULT |/ 16 + 9, b DOUBLE PRECISION DEFAULT -3 ^ 2)")
            .unwrap();
        s.execute("INSERT INTO g (k) VALUES (1)").unwrap();
        assert_eq!(row(&mut s, "SELECT a, b FROM g"), ["5", "9"]);
    }

    #[test]
    fn a_multi_statement_string_is_one_implicit_transaction() {
        let mut s = session();
        s.execute("CREATE TABLE m (id INTEGER PRIMARY KEY)").unwrap();
        let err = s
            .execute("INSERT INTO m VALUES (1); INSERT INTO m VALUES (1)")
            .unwrap_err();
        assert_eq!(err.code, "23505");
        // The first INSERT was rolled back with the second.
        assert_eq!(
            s.execute("SELECT count(*) FROM m").unwrap()[0].rows,
            vec![vec![Value::Int(0)]]
        );
    }

    /// Runs `sql` on another thread, tripping the session's interrupt
    /// until it returns (the engine clears the flag as a statement starts,
    /// so one trip before it started would be forgotten).
    fn run_cancelled(s: Session, sql: &'static str) -> (Session, Result<Vec<QueryResult>>) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let interrupt = s.interrupt();
        let done = Arc::new(AtomicBool::new(false));
        let finished = done.clone();
        let worker = std::thread::spawn(move || {
            let mut s = s;
            let r = s.execute(sql);
            finished.store(true, Ordering::SeqCst);
            (s, r)
        });
        while !done.load(Ordering::SeqCst) {
            interrupt.trip();
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        worker.join().expect("worker")
    }

    #[test]
    fn an_interrupt_cancels_the_running_statement_with_57014() {
        let mut s = session();
        for t in ["a", "b", "c"] {
            s.execute(&format!(
                "CREATE TABLE {t} (x INTEGER); INSERT INTO {t} SELECT x FROM generate_series(1, 300) AS x"
            ))
            .unwrap();
        }
        // 27 million joined rows: far longer than it takes to cancel.
        let (mut s, r) = run_cancelled(s, "SELECT count(*) FROM a, b, c WHERE a.x + b.x + c.x > 0");
        let e = r.unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("57014", "canceling statement due to user request")
        );
        // The session carries on; the flag does not leak into the next statement.
        assert_eq!(
            s.execute("SELECT count(*) FROM a").unwrap()[0].rows,
            vec![vec![Value::Int(300)]]
        );
        // A cancelled write inside a block fails the block and writes nothing.
        s.execute("BEGIN").unwrap();
        let (mut s, r) = run_cancelled(s, "INSERT INTO a SELECT a.x FROM a, b, c");
        assert_eq!(r.unwrap_err().code, "57014");
        assert_eq!(s.execute("SELECT 1").unwrap_err().code, "25P02");
        s.execute("ROLLBACK").unwrap();
        assert_eq!(
            s.execute("SELECT count(*) FROM a").unwrap()[0].rows,
            vec![vec![Value::Int(300)]]
        );
    }

    /// A WITH RECURSIVE query that never stops recursing runs round after
    /// round (never deeper on the stack) until it is cancelled.
    #[test]
    fn an_interrupt_cancels_an_endless_recursive_query() {
        let s = session();
        let (s, r) = run_cancelled(
            s,
            "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t) SELECT count(*) FROM t",
        );
        assert_eq!(r.unwrap_err().code, "57014");
        let (mut s, r) = run_cancelled(
            s,
            "WITH RECURSIVE t(n) AS (SELECT 1 UNION SELECT n + 1 FROM t) SELECT * FROM t",
        );
        assert_eq!(r.unwrap_err().code, "57014");
        assert_eq!(s.execute("SELECT 1").unwrap()[0].rows, vec![vec![Value::Int(1)]]);
    }

    #[test]
    fn an_interrupt_cancels_window_evaluation() {
        // A frame from each row to the partition's end is recomputed per
        // row: about 2e10 additions here, so the statement ends only by
        // being cancelled (in the series or in the window's loops).
        let (mut s, r) = run_cancelled(
            session(),
            "SELECT count(s) FROM (SELECT sum(x) OVER (ORDER BY x ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS s FROM generate_series(1, 200000) AS x) t",
        );
        assert_eq!(r.unwrap_err().code, "57014");
        assert_eq!(
            s.execute("SELECT sum(x) OVER () FROM generate_series(1, 3) AS x")
                .unwrap()[0]
                .rows,
            vec![vec![Value::Int(6)]; 3]
        );
    }

    #[test]
    fn command_tags() {
        let mut s = session();
        let tags: Vec<String> = s
            .execute("CREATE TABLE c (a INTEGER); INSERT INTO c VALUES (1), (2); UPDATE c SET a = 3; SELECT * FROM c; DELETE FROM c; DROP TABLE c")
            .unwrap()
            .into_iter()
            .map(|r| r.tag)
            .collect();
        assert_eq!(
            tags,
            [
                "CREATE TABLE",
                "INSERT 0 2",
                "UPDATE 2",
                "SELECT 2",
                "DELETE 2",
                "DROP TABLE"
            ]
        );
    }
}
