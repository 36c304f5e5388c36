//! PostgreSQL compatibility shims that belong to the protocol layer.
//!
//! The SQL engine knows nothing of session settings or of the functions
//! drivers call on connect. This module answers them per statement,
//! before the engine sees the text:
//!
//! - `SET` / `SET SESSION|LOCAL` / `SET TIME ZONE` / `SET NAMES` /
//!   `RESET` / `RESET ALL` / `SHOW` / `SHOW ALL` against [`Settings`].
//!   An unknown parameter in SET is remembered and answered with a WARNING
//!   notice, not an error (drivers and tools set things we do not
//!   implement). As in PostgreSQL, settings are transactional: a SET
//!   inside a transaction block is undone if the block rolls back, and a
//!   `SET LOCAL` (or `set_config(..., true)`) lasts until the block ends
//!   (outside one it only warns). `SET TRANSACTION ...` and `SET SESSION CHARACTERISTICS`
//!   are accepted and ignored (the engine runs SERIALIZABLE).
//! - Function calls rewritten to literals before the engine runs the
//!   statement: `version()`, `current_schema[()]`, `current_database()`,
//!   `current_catalog`, `current_user`, `session_user`, `user`,
//!   `current_role`, `pg_backend_pid()`, `current_setting(name[, missing_ok])`,
//!   `set_config(name, value, is_local)`, `pg_is_in_recovery()`,
//!   `pg_catalog.`-qualified forms included. A bare call in the select
//!   list is aliased to the function name, as PostgreSQL names the column.
//! - Canned empty answers for catalog probes we know to be harmless
//!   (the hstore / `to_regtype($1)` look-ups of SQLAlchemy and psycopg).
//!
//! Invariants: classification ([`intercept`]) is pure apart from the
//! [`Settings`] it is handed, so the extended protocol can classify at
//! Parse time on a copy and apply at Execute time. Nothing here panics on
//! user text.
//!
//! Deliberately not done: pg_catalog / information_schema emulation (psql
//! `\d`), `current_schemas()` (needs arrays), `txid_current()`.

use std::collections::BTreeMap;

use quorumdb_sql::{DataType, QueryResult, ResultColumn, SqlError, Value};
use sqlparser::ast::{self, Expr, SelectItem, Statement};

/// PostgreSQL version we speak like; psql and drivers parse the leading
/// number (15 → the catalog queries of PostgreSQL 15).
pub const PG_VERSION: &str = "15.0";
/// `server_version_num` matching [`PG_VERSION`].
pub const PG_VERSION_NUM: &str = "150000";

/// `server_version` as advertised in ParameterStatus and SHOW.
pub fn server_version() -> String {
    format!("{PG_VERSION} (QuorumDB {})", env!("CARGO_PKG_VERSION"))
}

/// The text of `version()`.
pub fn version_string() -> String {
    format!(
        "PostgreSQL {PG_VERSION} (QuorumDB {}) on {}-unknown-linux-gnu, compiled by rustc, 64-bit",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::ARCH
    )
}

/// A warning or notice to send before the statement's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub severity: &'static str,
    pub code: &'static str,
    pub message: String,
}

/// Per-connection identity used by the function rewrites.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user: String,
    pub database: String,
    pub pid: i32,
}

/// Session settings (GUCs) of one connection.
#[derive(Debug, Clone)]
pub struct Settings {
    values: Values,
    defaults: Values,
    /// `statement_timeout`, parsed (`None`: 0, no limit).
    statement_timeout: Option<std::time::Duration>,
    /// Whether the session is in a transaction block (the protocol layer
    /// says so before each statement).
    in_transaction: bool,
    /// What to put back when the block ends.
    undo: Undo,
    /// The settings as each of the block's savepoints found them, oldest
    /// first: what ROLLBACK TO puts back.
    savepoints: Vec<(Values, Undo)>,
}

/// Settings by lower-case name: (display name, value).
type Values = BTreeMap<String, (String, String)>;

/// One setting as stored (display name, value), or `None`: not set.
type Stored = Option<(String, String)>;

/// The values a transaction block changed, as they were.
#[derive(Debug, Clone, Default)]
struct Undo {
    /// At the start of the block: restored on ROLLBACK.
    at_begin: BTreeMap<String, Stored>,
    /// The session's value once the block commits, for settings changed
    /// by SET LOCAL (the value before it, or a later plain SET's).
    after_commit: BTreeMap<String, Stored>,
}

/// Settings a driver may set or show; (display name, default value).
fn known_defaults(user: &str) -> Vec<(&'static str, String)> {
    vec![
        ("application_name", String::new()),
        ("bytea_output", "hex".into()),
        ("client_encoding", "UTF8".into()),
        ("client_min_messages", "notice".into()),
        ("DateStyle", "ISO, MDY".into()),
        ("default_transaction_isolation", "serializable".into()),
        ("default_transaction_read_only", "off".into()),
        ("escape_string_warning", "on".into()),
        ("extra_float_digits", "1".into()),
        ("idle_in_transaction_session_timeout", "0".into()),
        ("in_hot_standby", "off".into()),
        ("integer_datetimes", "on".into()),
        ("IntervalStyle", "postgres".into()),
        ("is_superuser", "on".into()),
        ("lc_collate", "C".into()),
        ("lc_ctype", "C".into()),
        ("lc_messages", "C".into()),
        ("lock_timeout", "0".into()),
        ("max_connections", "1000".into()),
        ("max_identifier_length", "63".into()),
        ("search_path", "\"$user\", public".into()),
        ("server_encoding", "UTF8".into()),
        ("server_version", server_version()),
        ("server_version_num", PG_VERSION_NUM.into()),
        ("session_authorization", user.to_owned()),
        ("standard_conforming_strings", "on".into()),
        ("statement_timeout", "0".into()),
        ("synchronous_commit", "on".into()),
        ("TimeZone", "UTC".into()),
        ("transaction_isolation", "serializable".into()),
        ("transaction_read_only", "off".into()),
        ("row_security", "on".into()),
        // libpq asks before hashing a new password (psql's \password).
        ("password_encryption", "scram-sha-256".into()),
        ("block_size", "8192".into()),
    ]
}

/// Settings that may be shown but not changed.
const READ_ONLY: &[&str] = &[
    "server_version",
    "server_version_num",
    "server_encoding",
    "integer_datetimes",
    "max_identifier_length",
    "lc_collate",
    "lc_ctype",
    "block_size",
    "in_hot_standby",
    "is_superuser",
    "max_connections",
];

impl Settings {
    /// Defaults, overlaid with what the client sent in its startup packet.
    pub fn new(user: &str, startup: &BTreeMap<String, String>) -> Self {
        let defaults: BTreeMap<String, (String, String)> = known_defaults(user)
            .into_iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), (n.to_owned(), v)))
            .collect();
        let mut s = Self {
            values: defaults.clone(),
            defaults,
            statement_timeout: None,
            in_transaction: false,
            undo: Undo::default(),
            savepoints: Vec::new(),
        };
        let options = startup
            .get("options")
            .map(|o| parse_options(o))
            .unwrap_or_default();
        // As in PostgreSQL, `options` first: a parameter the client
        // names in the packet itself wins over the same one in `options`.
        let given = startup.iter().map(|(k, v)| (k.clone(), v.clone()));
        for (k, v) in options.into_iter().chain(given) {
            let lk = k.to_ascii_lowercase();
            if matches!(lk.as_str(), "user" | "database" | "options" | "replication") {
                continue;
            }
            // (A value that does not parse is ignored; PostgreSQL would
            // refuse the connection.)
            if s.values.contains_key(&lk) && !READ_ONLY.contains(&lk.as_str()) {
                let _ = s.set(&lk, &v);
            }
        }
        s
    }

    /// The value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(&canonical(name)).map(|(_, v)| v.as_str())
    }

    /// How long a statement may run (`statement_timeout`; `None`: no
    /// limit).
    pub fn statement_timeout(&self) -> Option<std::time::Duration> {
        self.statement_timeout
    }

    /// Recomputes what is kept parsed from the values.
    fn refresh(&mut self) {
        self.statement_timeout = self
            .values
            .get("statement_timeout")
            .and_then(|(_, v)| parse_milliseconds("statement_timeout", v).ok())
            .filter(|ms| *ms > 0)
            .map(|ms| std::time::Duration::from_millis(ms.unsigned_abs()));
    }

    /// Whether the session is in a transaction block now (SET and RESET
    /// are then undone by ROLLBACK, SET LOCAL at the block's end).
    pub fn set_in_transaction(&mut self, in_transaction: bool) {
        self.in_transaction = in_transaction;
    }

    /// The block ended: puts back what ROLLBACK (`committed` false) or the
    /// end of SET LOCAL (`committed` true) undoes.
    pub fn end_transaction(&mut self, committed: bool) {
        self.savepoints.clear();
        let undo = std::mem::take(&mut self.undo);
        let restore = if committed {
            undo.after_commit
        } else {
            undo.at_begin
        };
        for (key, stored) in restore {
            match stored {
                Some(v) => {
                    self.values.insert(key, v);
                }
                None => {
                    self.values.remove(&key);
                }
            }
        }
        self.in_transaction = false;
        self.refresh();
    }

    /// The block now holds `depth` savepoints: a new one remembers the
    /// settings as they are; after ROLLBACK TO (`rolled_back`) the
    /// settings go back to what the remaining innermost one remembers;
    /// released ones are forgotten.
    pub fn savepoints_changed(&mut self, depth: usize, rolled_back: bool) {
        if rolled_back && let Some((values, undo)) = depth.checked_sub(1).and_then(|i| self.savepoints.get(i))
        {
            self.values = values.clone();
            self.undo = undo.clone();
            self.refresh();
        }
        self.savepoints.truncate(depth);
        while self.savepoints.len() < depth {
            self.savepoints.push((self.values.clone(), self.undo.clone()));
        }
    }

    /// Records `key`'s value before a change in a transaction block.
    fn before_change(&mut self, key: &str, local: bool) {
        if !self.in_transaction {
            return;
        }
        let current = self.values.get(key).cloned();
        self.undo
            .at_begin
            .entry(key.to_owned())
            .or_insert_with(|| current.clone());
        if local {
            self.undo.after_commit.entry(key.to_owned()).or_insert(current);
        }
    }

    /// A plain SET after a SET LOCAL of the same setting is what stays
    /// once the block commits.
    fn after_change(&mut self, key: &str, local: bool) {
        if self.in_transaction && !local && self.undo.after_commit.contains_key(key) {
            let now = self.values.get(key).cloned();
            self.undo.after_commit.insert(key.to_owned(), now);
        }
    }

    /// Sets `name` for the session; returns a notice for unknown
    /// parameters.
    pub fn set(&mut self, name: &str, value: &str) -> Result<Option<Notice>, SqlError> {
        self.set_scoped(name, value, false)
    }

    /// Sets `name`, for the session or (`local`) until the transaction
    /// block ends; returns a notice for unknown parameters, or for a SET
    /// LOCAL outside a block (which changes nothing).
    pub fn set_scoped(&mut self, name: &str, value: &str, local: bool) -> Result<Option<Notice>, SqlError> {
        let key = canonical(name);
        if READ_ONLY.contains(&key.as_str()) {
            return Err(SqlError::new(
                "55P02",
                format!("parameter \"{key}\" cannot be changed"),
            ));
        }
        let value = match key.as_str() {
            "client_encoding" => {
                let v = value.to_ascii_uppercase().replace('-', "");
                if v != "UTF8" && v != "UNICODE" {
                    return Err(SqlError::new(
                        "0A000",
                        format!("client_encoding \"{value}\" is not supported; only UTF8"),
                    ));
                }
                "UTF8".to_owned()
            }
            "transaction_isolation" | "default_transaction_isolation" => value.to_ascii_lowercase(),
            "statement_timeout" => show_milliseconds(parse_milliseconds(&key, value)?),
            "timezone" => {
                let v = value.trim();
                if v.eq_ignore_ascii_case("utc")
                    || v.eq_ignore_ascii_case("etc/utc")
                    || v.eq_ignore_ascii_case("gmt")
                    || v == "0"
                    || v == "+00"
                    || v == "00:00"
                {
                    v.to_owned()
                } else {
                    // Timestamps are without time zone; remember it, warn.
                    if local && !self.in_transaction {
                        return Ok(Some(local_outside_block()));
                    }
                    self.before_change(&key, local);
                    self.put(&key, name, v.to_owned());
                    self.after_change(&key, local);
                    return Ok(Some(Notice {
                        severity: "WARNING",
                        code: "01000",
                        message: format!("time zone \"{v}\" is accepted but QuorumDB computes in UTC"),
                    }));
                }
            }
            _ => value.to_owned(),
        };
        if local && !self.in_transaction {
            return Ok(Some(local_outside_block()));
        }
        let known = self.values.contains_key(&key);
        self.before_change(&key, local);
        self.put(&key, name, value);
        self.after_change(&key, local);
        self.refresh();
        if known {
            Ok(None)
        } else {
            Ok(Some(Notice {
                severity: "WARNING",
                code: "01000",
                message: format!("unrecognized configuration parameter \"{name}\" (ignored)"),
            }))
        }
    }

    fn put(&mut self, key: &str, name: &str, value: String) {
        let display = self
            .values
            .get(key)
            .map(|(d, _)| d.clone())
            .unwrap_or_else(|| name.to_ascii_lowercase());
        self.values.insert(key.to_owned(), (display, value));
    }

    /// RESET name (`None`: RESET ALL).
    pub fn reset(&mut self, name: Option<&str>) {
        match name {
            None => {
                let keys: Vec<String> = self.values.keys().chain(self.defaults.keys()).cloned().collect();
                for key in &keys {
                    self.before_change(key, false);
                }
                self.values = self.defaults.clone();
                for key in &keys {
                    self.after_change(key, false);
                }
            }
            Some(n) => {
                let key = canonical(n);
                self.before_change(&key, false);
                match self.defaults.get(&key) {
                    Some(d) => {
                        self.values.insert(key.clone(), d.clone());
                    }
                    None => {
                        self.values.remove(&key);
                    }
                }
                self.after_change(&key, false);
            }
        }
        self.refresh();
    }

    /// `name`'s default value, if it has one.
    fn default_of(&self, name: &str) -> Option<String> {
        self.defaults.get(&canonical(name)).map(|(_, v)| v.clone())
    }
}

/// The settings in a startup packet's `options` (libpq's `PGOPTIONS`):
/// `-c name=value`, `-cname=value` or `--name=value`, separated by spaces,
/// a backslash escaping the next character. Anything else is skipped.
fn parse_options(options: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => word.extend(chars.next()),
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    let mut out = Vec::new();
    let mut words = words.into_iter();
    while let Some(w) = words.next() {
        let setting = if w == "-c" {
            words.next()
        } else if let Some(rest) = w.strip_prefix("--") {
            Some(rest.to_owned())
        } else {
            w.strip_prefix("-c").map(str::to_owned)
        };
        if let Some((name, value)) = setting.as_deref().and_then(|s| s.split_once('=')) {
            out.push((name.replace('-', "_"), value.to_owned()));
        }
    }
    out
}

/// PostgreSQL's answer to SET LOCAL outside a transaction block.
fn local_outside_block() -> Notice {
    Notice {
        severity: "WARNING",
        code: "25P01",
        message: "SET LOCAL can only be used in transaction blocks".into(),
    }
}

/// A time setting's value in milliseconds, as PostgreSQL reads one whose
/// unit is the millisecond: a number, with an optional unit (`us`, `ms`,
/// `s`, `min`, `h`, `d`), rounded to a whole millisecond, within
/// 0..=2147483647 (22023 otherwise).
fn parse_milliseconds(name: &str, value: &str) -> Result<i64, SqlError> {
    let invalid = |hint: &str| {
        SqlError::new(
            "22023",
            format!("invalid value for parameter \"{name}\": \"{value}\"{hint}"),
        )
    };
    let v = value.trim();
    // The number: digits, a sign, a point, an exponent (`1.5e3`).
    let bytes = v.as_bytes();
    let mut split = 0;
    while split < bytes.len() {
        let c = bytes[split];
        let exponent = matches!(c, b'e' | b'E')
            && split > 0
            && bytes
                .get(split + 1)
                .is_some_and(|d| d.is_ascii_digit() || matches!(d, b'+' | b'-'));
        if !(c.is_ascii_digit() || matches!(c, b'.' | b'+' | b'-') || exponent) {
            break;
        }
        split += 1;
    }
    let (number, unit) = v.split_at(split);
    let number: f64 = number.parse().map_err(|_| invalid(""))?;
    let per_ms = match unit.trim() {
        "" | "ms" => 1.0,
        "us" => 0.001,
        "s" => 1_000.0,
        "min" => 60_000.0,
        "h" => 3_600_000.0,
        "d" => 86_400_000.0,
        _ => {
            return Err(invalid(
                " (valid units for this parameter are \"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\")",
            ));
        }
    };
    // Rounded half to even, as PostgreSQL's rint().
    let ms = (number * per_ms).round_ties_even();
    if !ms.is_finite() || ms.abs() > f64::from(i32::MAX) {
        return Err(invalid(" (value exceeds integer range)"));
    }
    let ms = ms as i64;
    if ms < 0 {
        return Err(SqlError::new(
            "22023",
            format!("{ms} ms is outside the valid range for parameter \"{name}\" (0 .. 2147483647)"),
        ));
    }
    Ok(ms)
}

/// A millisecond setting as PostgreSQL shows it: in the largest unit that
/// divides it (`5s`, `1500ms`, `2min`), `0` for none.
fn show_milliseconds(ms: i64) -> String {
    const UNITS: [(&str, i64); 4] = [("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1_000)];
    if ms == 0 {
        return "0".into();
    }
    UNITS
        .iter()
        .find(|(_, per)| ms % per == 0)
        .map_or_else(|| format!("{ms}ms"), |(unit, per)| format!("{}{unit}", ms / per))
}

/// Lower-case name with PostgreSQL's aliases folded.
fn canonical(name: &str) -> String {
    let n = name.trim().trim_matches('"').to_ascii_lowercase();
    match n.as_str() {
        "time zone" | "time_zone" => "timezone".into(),
        "names" => "client_encoding".into(),
        "transaction isolation level" => "transaction_isolation".into(),
        "session authorization" => "session_authorization".into(),
        _ => n,
    }
}

/// What the compatibility layer does with one statement.
#[derive(Debug)]
pub enum Intercept {
    /// Answered here (SET/SHOW/RESET/canned): the result or an error.
    Answer(Result<QueryResult, SqlError>),
    /// Run this SQL instead (function calls replaced by literals).
    Rewrite(String),
    /// Hand the text to the engine unchanged.
    Pass,
}

/// Classifies (and, for SET/RESET, applies to `settings`) one statement.
pub fn intercept(sql: &str, settings: &mut Settings, id: &Identity, notices: &mut Vec<Notice>) -> Intercept {
    let text = normalize(sql);
    let lower = text.to_ascii_lowercase();
    let first = lower.split_whitespace().next().unwrap_or("");
    match first {
        "set" => return Intercept::Answer(do_set(&text, settings, notices)),
        "reset" => {
            let rest = text[5..].trim();
            if rest.eq_ignore_ascii_case("all") {
                settings.reset(None);
            } else {
                settings.reset(Some(rest));
            }
            return Intercept::Answer(Ok(command("RESET")));
        }
        "show" => return Intercept::Answer(do_show(&text[4..], settings)),
        "discard" if lower == "discard all" => {
            settings.reset(None);
            return Intercept::Answer(Ok(command("DISCARD ALL")));
        }
        // pgbench without -n; maintenance has no meaning here.
        "vacuum" | "analyze" | "checkpoint" => {
            let tag = first.to_ascii_uppercase();
            return Intercept::Answer(Ok(command(&tag)));
        }
        _ => {}
    }
    // Extension-type probes (SQLAlchemy/psycopg hstore): no such types.
    if lower.contains("pg_type") && (lower.contains("hstore") || lower.contains("to_regtype(")) {
        return Intercept::Answer(Ok(empty_result_for(&text)));
    }
    const MARKERS: &[&str] = &[
        "version",
        "current_",
        "session_user",
        "user",
        "pg_backend_pid",
        "set_config",
        "pg_is_in_recovery",
    ];
    if MARKERS.iter().any(|m| lower.contains(m)) {
        match rewrite_functions(&text, settings, id, notices) {
            Ok(Some(sql)) => return Intercept::Rewrite(sql),
            Ok(None) => {}
            Err(e) => return Intercept::Answer(Err(e)),
        }
    }
    Intercept::Pass
}

/// Trims whitespace, comments around, and a trailing semicolon.
fn normalize(sql: &str) -> String {
    let mut t = sql.trim();
    loop {
        if let Some(r) = t.strip_prefix("--") {
            t = r.split_once('\n').map(|(_, r)| r).unwrap_or("").trim();
        } else if let Some(r) = t.strip_suffix(';') {
            t = r.trim_end();
        } else {
            break;
        }
    }
    t.to_owned()
}

fn command(tag: &str) -> QueryResult {
    QueryResult {
        columns: vec![],
        rows: vec![],
        tag: tag.to_owned(),
    }
}

fn text_rows(name: &str, rows: Vec<String>) -> QueryResult {
    QueryResult {
        columns: vec![ResultColumn {
            name: name.to_owned(),
            ty: DataType::Text(None),
        }],
        tag: "SHOW".into(),
        rows: rows.into_iter().map(|v| vec![Value::Text(v)]).collect(),
    }
}

/// Strips one level of quotes from a SET value.
fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2
        && ((v.starts_with('\'') && v.ends_with('\'')) || (v.starts_with('"') && v.ends_with('"')))
    {
        let q = &v[..1];
        v[1..v.len() - 1].replace(&format!("{q}{q}"), q)
    } else {
        v.to_owned()
    }
}

fn do_set(text: &str, settings: &mut Settings, notices: &mut Vec<Notice>) -> Result<QueryResult, SqlError> {
    let mut rest = text[3..].trim_start();
    let mut local = false;
    for kw in ["session ", "local "] {
        if rest.get(..kw.len()).is_some_and(|h| h.eq_ignore_ascii_case(kw)) {
            rest = rest.get(kw.len()..).unwrap_or_default().trim_start();
            local = kw == "local ";
        }
    }
    let lower = rest.to_ascii_lowercase();
    if lower.starts_with("transaction") || lower.starts_with("characteristics") {
        return Ok(command("SET"));
    }
    let (name, value) = if lower.starts_with("time zone") {
        ("TimeZone".to_owned(), rest[9..].trim().to_owned())
    } else if lower.starts_with("names") {
        ("client_encoding".to_owned(), rest[5..].trim().to_owned())
    } else if lower.starts_with("session authorization") || lower.starts_with("role") {
        return Err(SqlError::new(
            "0A000",
            "SET ROLE / SESSION AUTHORIZATION is not supported",
        ));
    } else {
        let split = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .ok_or_else(|| SqlError::syntax(format!("syntax error in SET: {text}")))?;
        let name = rest[..split].trim().to_owned();
        let mut value = rest[split..].trim_start();
        if let Some(v) = value.strip_prefix('=') {
            value = v.trim_start();
        } else if value.get(..3).is_some_and(|h| h.eq_ignore_ascii_case("to ")) {
            value = value.get(3..).unwrap_or_default().trim_start();
        } else {
            return Err(SqlError::syntax(format!("syntax error in SET: {text}")));
        }
        (name, value.to_owned())
    };
    if name.is_empty() || value.is_empty() {
        return Err(SqlError::syntax(format!("syntax error in SET: {text}")));
    }
    let to_default = value.eq_ignore_ascii_case("default")
        || value.eq_ignore_ascii_case("local") && name.eq_ignore_ascii_case("TimeZone");
    let value = match (to_default, local) {
        (false, _) => value.split(',').map(unquote).collect::<Vec<_>>().join(", "),
        (true, true) if settings.default_of(&name).is_some() => {
            settings.default_of(&name).unwrap_or_default()
        }
        (true, _) => {
            if local && !settings.in_transaction {
                notices.push(local_outside_block());
            } else {
                settings.reset(Some(&name));
            }
            return Ok(command("SET"));
        }
    };
    if let Some(n) = settings.set_scoped(&name, &value, local)? {
        notices.push(n);
    }
    Ok(command("SET"))
}

fn do_show(rest: &str, settings: &Settings) -> Result<QueryResult, SqlError> {
    let name = rest.trim();
    if name.eq_ignore_ascii_case("all") {
        let mut r = QueryResult {
            columns: ["name", "setting", "description"]
                .into_iter()
                .map(|n| ResultColumn {
                    name: n.into(),
                    ty: DataType::Text(None),
                })
                .collect(),
            rows: settings
                .values
                .values()
                .map(|(n, v)| {
                    vec![
                        Value::Text(n.clone()),
                        Value::Text(v.clone()),
                        Value::Text(String::new()),
                    ]
                })
                .collect(),
            tag: String::new(),
        };
        r.tag = "SHOW".into();
        return Ok(r);
    }
    let key = canonical(name);
    let Some((display, value)) = settings.values.get(&key) else {
        return Err(SqlError::new(
            "42704",
            format!(
                "unrecognized configuration parameter \"{}\"",
                name.trim_matches('"')
            ),
        ));
    };
    let column = if key == "transaction_isolation" && name.contains(' ') {
        "transaction_isolation".to_owned()
    } else {
        display.to_ascii_lowercase()
    };
    Ok(text_rows(&column, vec![value.clone()]))
}

/// An empty result whose columns are named after the select list.
fn empty_result_for(sql: &str) -> QueryResult {
    let mut columns = Vec::new();
    if let Ok(stmts) = quorumdb_sql::session::parse(sql)
        && let Some(Statement::Query(q)) = stmts.first()
        && let ast::SetExpr::Select(s) = &*q.body
    {
        for item in &s.projection {
            let name = match item {
                SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                SelectItem::UnnamedExpr(Expr::Identifier(i)) => i.value.clone(),
                SelectItem::UnnamedExpr(Expr::CompoundIdentifier(is)) => {
                    is.last().map(|i| i.value.clone()).unwrap_or_default()
                }
                _ => "?column?".into(),
            };
            columns.push(ResultColumn {
                name,
                ty: DataType::Text(None),
            });
        }
    }
    QueryResult {
        columns,
        rows: vec![],
        tag: "SELECT 0".into(),
    }
}

/// Replaces compat function calls by literals; `None` if nothing changed.
fn rewrite_functions(
    sql: &str,
    settings: &mut Settings,
    id: &Identity,
    notices: &mut Vec<Notice>,
) -> Result<Option<String>, SqlError> {
    // The engine reports syntax errors; we only rewrite what parses. (The
    // engine's parser also refuses trees too deep to walk safely.)
    let Ok(mut stmts) = quorumdb_sql::session::parse(sql) else {
        return Ok(None);
    };
    if stmts.len() != 1 {
        return Ok(None);
    }
    let mut changed = false;
    let mut error = None;
    let stmt = &mut stmts[0];
    // Alias bare calls in a select list first, so the column is named
    // after the function (PostgreSQL's behaviour).
    if let Statement::Query(q) = stmt
        && let ast::SetExpr::Select(s) = &mut *q.body
    {
        for item in &mut s.projection {
            if let SelectItem::UnnamedExpr(e) = item
                && let Some(name) = compat_name(e)
            {
                *item = SelectItem::ExprWithAlias {
                    expr: e.clone(),
                    alias: ast::Ident::with_quote('"', name),
                };
            }
        }
    }
    let _ = ast::visit_expressions_mut(stmt, |e| {
        match replacement(e, settings, id, notices) {
            Ok(Some(new)) => {
                *e = new;
                changed = true;
            }
            Ok(None) => {}
            Err(err) => {
                error = Some(err);
                return std::ops::ControlFlow::Break(());
            }
        }
        std::ops::ControlFlow::Continue(())
    });
    if let Some(e) = error {
        return Err(e);
    }
    Ok(changed.then(|| stmt.to_string()))
}

/// The function name of a compat call (for the column alias).
fn compat_name(e: &Expr) -> Option<String> {
    match e {
        Expr::Function(f) => {
            let name = f.name.0.last()?.as_ident()?.value.to_ascii_lowercase();
            is_compat_function(&name).then_some(name)
        }
        Expr::Identifier(i) if i.quote_style.is_none() => {
            let n = i.value.to_ascii_lowercase();
            is_keyword_function(&n).then_some(n)
        }
        _ => None,
    }
}

fn is_keyword_function(n: &str) -> bool {
    matches!(
        n,
        "current_user" | "session_user" | "current_role" | "current_catalog" | "current_schema" | "user"
    )
}

fn is_compat_function(n: &str) -> bool {
    is_keyword_function(n)
        || matches!(
            n,
            "version"
                | "current_database"
                | "pg_backend_pid"
                | "current_setting"
                | "set_config"
                | "pg_is_in_recovery"
        )
}

fn string_lit(s: impl Into<String>) -> Expr {
    Expr::value(ast::Value::SingleQuotedString(s.into()))
}

/// Literal arguments of a call (strings and booleans as text).
fn literal_args(f: &ast::Function) -> Option<Vec<LiteralArg>> {
    let ast::FunctionArguments::List(list) = &f.args else {
        return Some(vec![]);
    };
    list.args
        .iter()
        .map(|a| match a {
            ast::FunctionArg::Unnamed(ast::FunctionArgExpr::Expr(Expr::Value(v))) => match &v.value {
                ast::Value::SingleQuotedString(s) => Some(LiteralArg::new(s.clone(), "unknown")),
                ast::Value::Boolean(b) => Some(LiteralArg::new(b.to_string(), "boolean")),
                ast::Value::Number(n, _) => Some(LiteralArg::new(n.clone(), number_type(n))),
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// A constant argument of an intercepted function: its text, and the type
/// PostgreSQL gives that literal when it resolves the call.
struct LiteralArg {
    text: String,
    ty: &'static str,
}

impl LiteralArg {
    fn new(text: String, ty: &'static str) -> Self {
        Self { text, ty }
    }
}

/// The type of a numeric literal, as PostgreSQL types one.
fn number_type(n: &str) -> &'static str {
    if n.parse::<i32>().is_ok() {
        "integer"
    } else if n.parse::<i64>().is_ok() {
        "bigint"
    } else {
        "numeric"
    }
}

/// Refuses a call to an intercepted function whose constant arguments
/// have types no version of it takes, as PostgreSQL does (42883): a text
/// parameter takes a string literal, a boolean one also `true`/`false`;
/// no number is taken for either (`set_config('x', 'y', 1)`).
fn check_signature(name: &str, args: &[LiteralArg]) -> Result<(), SqlError> {
    const TEXT: &[&str] = &["unknown"];
    const BOOL: &[&str] = &["unknown", "boolean"];
    let wanted: &[&[&str]] = match name {
        "current_setting" => &[TEXT, BOOL],
        "set_config" => &[TEXT, TEXT, BOOL],
        _ => return Ok(()),
    };
    if args.iter().zip(wanted).all(|(a, ok)| ok.contains(&a.ty)) {
        return Ok(());
    }
    let types: Vec<&str> = args.iter().map(|a| a.ty).collect();
    Err(SqlError::new(
        "42883",
        format!("function {name}({}) does not exist", types.join(", ")),
    ))
}

/// A boolean literal as PostgreSQL reads one: `true`/`false`, `yes`/`no`,
/// `on`/`off`, `1`/`0`, or a unique prefix of a word, in any case.
fn pg_bool(text: &str) -> Result<bool, SqlError> {
    let t = text.trim().to_ascii_lowercase();
    let prefix = |word: &str, min: usize| t.len() >= min && word.starts_with(&t);
    if prefix("true", 1) || prefix("yes", 1) || prefix("on", 2) || t == "1" {
        Ok(true)
    } else if prefix("false", 1) || prefix("no", 1) || prefix("off", 2) || t == "0" {
        Ok(false)
    } else {
        Err(SqlError::new(
            "22P02",
            format!("invalid input syntax for type boolean: \"{text}\""),
        ))
    }
}

fn replacement(
    e: &Expr,
    settings: &mut Settings,
    id: &Identity,
    notices: &mut Vec<Notice>,
) -> Result<Option<Expr>, SqlError> {
    let (name, func) = match e {
        Expr::Function(f) => {
            let parts: Vec<String> = f
                .name
                .0
                .iter()
                .filter_map(|p| p.as_ident().map(|i| i.value.to_ascii_lowercase()))
                .collect();
            match parts.as_slice() {
                [n] => (n.clone(), Some(f)),
                [schema, n] if schema == "pg_catalog" => (n.clone(), Some(f)),
                _ => return Ok(None),
            }
        }
        Expr::Identifier(i)
            if i.quote_style.is_none() && is_keyword_function(&i.value.to_ascii_lowercase()) =>
        {
            (i.value.to_ascii_lowercase(), None)
        }
        _ => return Ok(None),
    };
    let args = match func {
        Some(f) => match literal_args(f) {
            Some(a) => a,
            None => return Ok(None),
        },
        None => vec![],
    };
    check_signature(&name, &args)?;
    let args: Vec<String> = args.into_iter().map(|a| a.text).collect();
    Ok(Some(match (name.as_str(), args.as_slice()) {
        ("version", []) => string_lit(version_string()),
        ("current_schema", []) => string_lit("public"),
        ("current_database" | "current_catalog", []) => string_lit(id.database.clone()),
        ("current_user" | "session_user" | "user" | "current_role", []) => string_lit(id.user.clone()),
        ("pg_backend_pid", []) => Expr::value(ast::Value::Number(id.pid.to_string(), false)),
        ("pg_is_in_recovery", []) => Expr::value(ast::Value::Boolean(false)),
        ("current_setting", [n]) | ("current_setting", [n, _]) => {
            let missing_ok = args.get(1).map(|m| pg_bool(m)).transpose()? == Some(true);
            match settings.get(n) {
                Some(v) => string_lit(v.to_owned()),
                None if missing_ok => Expr::value(ast::Value::Null),
                None => {
                    return Err(SqlError::new(
                        "42704",
                        format!("unrecognized configuration parameter \"{n}\""),
                    ));
                }
            }
        }
        ("set_config", [n, v, local]) => {
            let local = pg_bool(local)?;
            if local && !settings.in_transaction {
                // Outside a block the statement is the transaction: the
                // value is checked and returned, the session keeps its own.
                let mut probe = settings.clone();
                probe.set_in_transaction(true);
                probe.set_scoped(n, v, true)?;
                string_lit(probe.get(n).unwrap_or(v).to_owned())
            } else {
                if let Some(notice) = settings.set_scoped(n, v, local)? {
                    notices.push(notice);
                }
                // The value as stored (`5000` reads back as `5s`).
                string_lit(settings.get(n).unwrap_or(v).to_owned())
            }
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> Identity {
        Identity {
            user: "root".into(),
            database: "db".into(),
            pid: 7,
        }
    }

    #[test]
    fn set_show_reset() {
        let mut s = Settings::new("root", &BTreeMap::new());
        let mut n = vec![];
        assert!(matches!(
            intercept("SET extra_float_digits = 3", &mut s, &id(), &mut n),
            Intercept::Answer(Ok(_))
        ));
        assert_eq!(s.get("extra_float_digits"), Some("3"));
        assert!(n.is_empty());
        intercept(
            "set application_name to 'PostgreSQL JDBC Driver';",
            &mut s,
            &id(),
            &mut n,
        );
        assert_eq!(s.get("application_name"), Some("PostgreSQL JDBC Driver"));
        intercept("SET no_such_thing = 1", &mut s, &id(), &mut n);
        assert_eq!(n.len(), 1);
        let Intercept::Answer(Ok(r)) = intercept("SHOW transaction isolation level", &mut s, &id(), &mut n)
        else {
            panic!()
        };
        assert_eq!(r.columns[0].name, "transaction_isolation");
        assert_eq!(r.rows[0][0], Value::Text("serializable".into()));
        intercept("RESET ALL", &mut s, &id(), &mut n);
        assert_eq!(s.get("extra_float_digits"), Some("1"));
        let Intercept::Answer(Err(e)) = intercept("show nope", &mut s, &id(), &mut n) else {
            panic!()
        };
        assert_eq!(e.code, "42704");
    }

    /// Values as PostgreSQL 15 reads and shows them.
    #[test]
    fn statement_timeout_is_read_and_shown_like_postgresql() {
        let mut s = Settings::new("root", &BTreeMap::new());
        assert_eq!(s.statement_timeout(), None);
        for (value, shown, ms) in [
            ("5000", "5s", 5000),
            ("1500ms", "1500ms", 1500),
            ("1.5s", "1500ms", 1500),
            ("1.5", "2ms", 2),
            ("2 min", "2min", 120_000),
            ("1500us", "2ms", 2),
            ("86400000", "1d", 86_400_000),
            (" 3h ", "3h", 10_800_000),
        ] {
            s.set("statement_timeout", value).expect(value);
            assert_eq!(s.get("statement_timeout"), Some(shown), "{value}");
            assert_eq!(
                s.statement_timeout(),
                Some(std::time::Duration::from_millis(ms)),
                "{value}"
            );
        }
        for (value, ms) in [
            ("1e5", 100_000),
            ("1e3ms", 1000),
            ("0.5", 0),
            ("2.5", 2),
            ("1.5E1s", 15_000),
        ] {
            s.set("statement_timeout", value).expect(value);
            assert_eq!(s.statement_timeout().map_or(0, |d| d.as_millis()), ms, "{value}");
        }
        s.set("statement_timeout", "3h").expect("3h");
        for bad in [
            "abc",
            "5 parsecs",
            "5S",
            "-1",
            "3000000000",
            "",
            "e5",
            "NaN",
            "1e400",
        ] {
            let err = s.set("statement_timeout", bad).expect_err(bad);
            assert_eq!(err.code, "22023", "{bad}");
        }
        // A bad value leaves the last good one.
        assert_eq!(s.get("statement_timeout"), Some("3h"));
        s.set("statement_timeout", "0").expect("0");
        assert_eq!(
            (s.get("statement_timeout"), s.statement_timeout()),
            (Some("0"), None)
        );
        s.set("statement_timeout", "1s").expect("1s");
        s.reset(Some("statement_timeout"));
        assert_eq!(s.statement_timeout(), None);
        let startup = BTreeMap::from([("statement_timeout".to_owned(), "250".to_owned())]);
        let s = Settings::new("root", &startup);
        assert_eq!(s.statement_timeout(), Some(std::time::Duration::from_millis(250)));
        // libpq's PGOPTIONS, pgjdbc's `options`.
        for options in [
            "-c statement_timeout=50",
            "-cstatement_timeout=50",
            "--statement-timeout=50",
        ] {
            let startup = BTreeMap::from([("options".to_owned(), format!("-c search_path=a\\ b {options}"))]);
            let s = Settings::new("root", &startup);
            assert_eq!(
                s.statement_timeout(),
                Some(std::time::Duration::from_millis(50)),
                "{options}"
            );
            assert_eq!(s.get("search_path"), Some("a b"), "{options}");
        }
        // A parameter named in the packet wins over `options`.
        let startup = BTreeMap::from([
            ("options".to_owned(), "-c statement_timeout=50".to_owned()),
            ("statement_timeout".to_owned(), "70".to_owned()),
        ]);
        let s = Settings::new("root", &startup);
        assert_eq!(s.statement_timeout(), Some(std::time::Duration::from_millis(70)));
    }

    #[test]
    fn booleans_are_read_like_postgresql() {
        for t in ["true", "TRUE", "t", "tr", " yes ", "y", "on", "1"] {
            assert_eq!(pg_bool(t).ok(), Some(true), "{t}");
        }
        for f in ["false", "f", "no", "n", "off", "of", "0"] {
            assert_eq!(pg_bool(f).ok(), Some(false), "{f}");
        }
        for bad in ["", "o", "2", "truee", "nope"] {
            assert_eq!(pg_bool(bad).map_err(|e| e.code), Err("22P02"), "{bad}");
        }
        let mut s = Settings::new("root", &BTreeMap::new());
        let mut n = vec![];
        intercept("BEGIN", &mut s, &id(), &mut n);
        let Intercept::Rewrite(sql) = intercept(
            "SELECT set_config('statement_timeout', '8s', 'on')",
            &mut s,
            &id(),
            &mut n,
        ) else {
            panic!()
        };
        assert!(sql.contains("'8s'"), "{sql}");
    }

    /// A number where a setting function takes text or a boolean matches
    /// no version of it (42883, as in PostgreSQL), and nothing is set.
    #[test]
    fn setting_functions_refuse_numbers_for_text_and_booleans() {
        let mut s = Settings::new("root", &BTreeMap::new());
        let mut n = vec![];
        for (sql, message) in [
            (
                "SELECT set_config('statement_timeout', '8s', 1)",
                "function set_config(unknown, unknown, integer) does not exist",
            ),
            (
                "SELECT set_config('statement_timeout', 8000, false)",
                "function set_config(unknown, integer, boolean) does not exist",
            ),
            (
                "SELECT current_setting('statement_timeout', 0)",
                "function current_setting(unknown, integer) does not exist",
            ),
            (
                "SELECT pg_catalog.current_setting(1.5)",
                "function current_setting(numeric) does not exist",
            ),
        ] {
            let Intercept::Answer(Err(e)) = intercept(sql, &mut s, &id(), &mut n) else {
                panic!("{sql}: not refused");
            };
            assert_eq!((e.code, e.message.as_str()), ("42883", message), "{sql}");
        }
        assert_eq!(s.statement_timeout(), None);
        let Intercept::Rewrite(sql) = intercept(
            "SELECT set_config('statement_timeout', '8s', false), current_setting('x', true)",
            &mut s,
            &id(),
            &mut n,
        ) else {
            panic!("a boolean literal is a boolean")
        };
        assert!(sql.contains("'8s'"), "{sql}");
    }

    /// The sequence PostgreSQL 15 answers with 2s, 3s, 2s, 4s, 5s, a
    /// warning and 5s, 8s and 5s, 0 and 5s, 5s.
    #[test]
    fn settings_are_transactional_and_set_local_lasts_until_the_block_ends() {
        let mut s = Settings::new("root", &BTreeMap::new());
        let mut n = vec![];
        let mut run = |s: &mut Settings, sql: &str| {
            let r = intercept(sql, s, &id(), &mut n);
            assert!(
                matches!(r, Intercept::Answer(Ok(_)) | Intercept::Rewrite(_)),
                "{sql}: {r:?}"
            );
            r
        };
        let shown = |s: &Settings| s.get("statement_timeout").unwrap_or_default().to_owned();
        run(&mut s, "SET statement_timeout = '2s'");
        // BEGIN; SET; ROLLBACK.
        s.set_in_transaction(true);
        run(&mut s, "SET statement_timeout = '1min'");
        s.end_transaction(false);
        assert_eq!(shown(&s), "2s");
        // BEGIN; SET LOCAL; COMMIT.
        s.set_in_transaction(true);
        run(&mut s, "SET LOCAL statement_timeout = '3s'");
        assert_eq!(shown(&s), "3s");
        assert_eq!(s.statement_timeout(), Some(std::time::Duration::from_secs(3)));
        s.end_transaction(true);
        assert_eq!(shown(&s), "2s");
        // SET LOCAL, then SET: the SET stays.
        s.set_in_transaction(true);
        run(&mut s, "SET LOCAL statement_timeout = '3s'");
        run(&mut s, "SET statement_timeout = '4s'");
        s.end_transaction(true);
        assert_eq!(shown(&s), "4s");
        // SET, then SET LOCAL: the SET stays.
        s.set_in_transaction(true);
        run(&mut s, "SET statement_timeout = '5s'");
        run(&mut s, "SET LOCAL statement_timeout = '6s'");
        s.end_transaction(true);
        assert_eq!(shown(&s), "5s");
        // SET LOCAL outside a block: a warning, no change.
        let mut warned = vec![];
        intercept("SET LOCAL statement_timeout = '7s'", &mut s, &id(), &mut warned);
        assert_eq!(warned.first().map(|w| w.code), Some("25P01"));
        assert_eq!(shown(&s), "5s");
        // set_config(.., true) outside a block: checked and returned only.
        let Intercept::Rewrite(sql) = run(&mut s, "SELECT set_config('statement_timeout', '8s', true)")
        else {
            unreachable!()
        };
        assert!(sql.contains("'8s'"), "{sql}");
        assert_eq!(shown(&s), "5s");
        // SET LOCAL ... TO DEFAULT, and RESET ALL rolled back.
        s.set_in_transaction(true);
        run(&mut s, "SET LOCAL statement_timeout TO DEFAULT");
        assert_eq!((shown(&s), s.statement_timeout()), ("0".to_owned(), None));
        s.end_transaction(true);
        assert_eq!(shown(&s), "5s");
        s.set_in_transaction(true);
        run(&mut s, "RESET ALL");
        s.end_transaction(false);
        assert_eq!(shown(&s), "5s");
        assert_eq!(s.statement_timeout(), Some(std::time::Duration::from_secs(5)));
    }

    #[test]
    fn odd_input_never_panics() {
        let mut s = Settings::new("root", &BTreeMap::new());
        let mut n = vec![];
        for sql in [
            "SET é = 1",
            "SET ééééééé TO x",
            "SET x tö 1",
            "SET",
            "SET x",
            "set session",
            "RESET",
            "SHOW",
            "show \"\"",
            "SET time zone",
            "SET names",
            "SET x = 'unterminated",
            "select current_setting(1, 2, 3)",
            "select version(",
            "select user",
        ] {
            let _ = intercept(sql, &mut s, &id(), &mut n);
        }
    }

    #[test]
    fn functions_become_literals() {
        let mut s = Settings::new("root", &BTreeMap::new());
        let mut n = vec![];
        let Intercept::Rewrite(sql) = intercept(
            "select pg_catalog.version(), current_schema()",
            &mut s,
            &id(),
            &mut n,
        ) else {
            panic!()
        };
        assert!(sql.contains("PostgreSQL 15.0"), "{sql}");
        assert!(sql.contains("AS \"current_schema\""), "{sql}");
        let Intercept::Rewrite(sql) = intercept(
            "select current_user, current_setting('DateStyle')",
            &mut s,
            &id(),
            &mut n,
        ) else {
            panic!()
        };
        assert!(sql.contains("'root'") && sql.contains("'ISO, MDY'"), "{sql}");
        assert!(matches!(
            intercept("select user_id from users", &mut s, &id(), &mut n),
            Intercept::Pass
        ));
    }
}
