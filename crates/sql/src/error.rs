//! SQL errors: every error carries a PostgreSQL SQLSTATE code.
//!
//! Invariant: no error leaves the SQL layer without a code. Storage errors
//! are mapped here ([`From<quorumdb_storage::Error>`]): conflicts become
//! 40001, unknown commit outcomes 40003, writes in read-only transactions
//! 25006, snapshot-too-old 72000, I/O 58030, anything else XX000.

use std::fmt;

/// A five-character SQLSTATE code (see PostgreSQL's errcodes table).
pub type SqlState = &'static str;

pub mod codes {
    //! The SQLSTATE codes this crate produces.
    pub const SYNTAX_ERROR: &str = "42601";
    pub const UNDEFINED_TABLE: &str = "42P01";
    pub const UNDEFINED_COLUMN: &str = "42703";
    pub const UNDEFINED_OBJECT: &str = "42704";
    pub const UNDEFINED_FUNCTION: &str = "42883";
    pub const AMBIGUOUS_COLUMN: &str = "42702";
    pub const DUPLICATE_TABLE: &str = "42P07";
    pub const DUPLICATE_COLUMN: &str = "42701";
    pub const DUPLICATE_OBJECT: &str = "42710";
    pub const GROUPING_ERROR: &str = "42803";
    pub const DATATYPE_MISMATCH: &str = "42804";
    pub const WRONG_OBJECT_TYPE: &str = "42809";
    pub const INVALID_COLUMN_REFERENCE: &str = "42P10";
    pub const UNIQUE_VIOLATION: &str = "23505";
    pub const NOT_NULL_VIOLATION: &str = "23502";
    pub const CHECK_VIOLATION: &str = "23514";
    pub const DIVISION_BY_ZERO: &str = "22012";
    /// `0 ^ -1`, a negative number to a non-integer power, sqrt of a negative.
    pub const INVALID_ARGUMENT_FOR_POWER_FUNCTION: &str = "2201F";
    /// The logarithm of zero or of a negative number.
    pub const INVALID_ARGUMENT_FOR_LOG: &str = "2201E";
    pub const NUMERIC_OUT_OF_RANGE: &str = "22003";
    pub const INVALID_TEXT_REPRESENTATION: &str = "22P02";
    pub const STRING_DATA_RIGHT_TRUNCATION: &str = "22001";
    pub const CARDINALITY_VIOLATION: &str = "21000";
    pub const INVALID_PARAMETER_VALUE: &str = "22023";
    /// A regular expression that does not compile.
    pub const INVALID_REGULAR_EXPRESSION: &str = "2201B";
    pub const SERIALIZATION_FAILURE: &str = "40001";
    pub const COMPLETION_UNKNOWN: &str = "40003";
    /// The cluster cannot commit right now (no quorum / no leader); nothing
    /// was committed. PostgreSQL's `cannot_connect_now`.
    pub const CANNOT_CONNECT_NOW: &str = "57P03";
    pub const IN_FAILED_TRANSACTION: &str = "25P02";
    pub const ACTIVE_TRANSACTION: &str = "25001";
    pub const NO_ACTIVE_TRANSACTION: &str = "25P01";
    pub const READ_ONLY_TRANSACTION: &str = "25006";
    pub const SNAPSHOT_TOO_OLD: &str = "72000";
    pub const FEATURE_NOT_SUPPORTED: &str = "0A000";
    pub const IO_ERROR: &str = "58030";
    pub const INTERNAL_ERROR: &str = "XX000";
    pub const UNDEFINED_SAVEPOINT: &str = "3B001";
    pub const UNDEFINED_PARAMETER: &str = "42P02";
    pub const STATEMENT_TOO_COMPLEX: &str = "54001";
    /// A result too large to build (`repeat`, `lpad`), a bad `chr` code.
    pub const PROGRAM_LIMIT_EXCEEDED: &str = "54000";
    pub const INSUFFICIENT_PRIVILEGE: &str = "42501";
    pub const INVALID_TABLE_DEFINITION: &str = "42P16";
    pub const INVALID_DATETIME_FORMAT: &str = "22007";
    pub const DATETIME_FIELD_OVERFLOW: &str = "22008";
    pub const INTERVAL_FIELD_OVERFLOW: &str = "22015";
    /// The statement was cancelled (CancelRequest, statement timeout).
    /// PostgreSQL's `query_canceled`.
    pub const QUERY_CANCELED: &str = "57014";
    pub const INSUFFICIENT_RESOURCES: &str = "53000";
    /// The object is in use (e.g. dropping the session's own user).
    pub const OBJECT_IN_USE: &str = "55006";
    /// A system object cannot be dropped (the `root` user).
    pub const DEPENDENT_OBJECTS_STILL_EXIST: &str = "2BP01";
    /// A sequence ran past its MAXVALUE or MINVALUE (without CYCLE).
    pub const FOREIGN_KEY_VIOLATION: &str = "23503";
    pub const INVALID_FOREIGN_KEY: &str = "42830";
    pub const INVALID_SCHEMA_NAME: &str = "3F000";
    pub const INVALID_RECURSION: &str = "42P17";
    /// PostgreSQL's `invalid_recursion`: a malformed WITH RECURSIVE query
    /// (`INVALID_RECURSION` above is 42P17, for views expanding themselves).
    pub const INVALID_RECURSIVE_QUERY: &str = "42P19";
    pub const DUPLICATE_ALIAS: &str = "42712";
    pub const SEQUENCE_GENERATOR_LIMIT_EXCEEDED: &str = "2200H";
    /// E.g. `currval` before `nextval` in the session.
    pub const OBJECT_NOT_IN_PREREQUISITE_STATE: &str = "55000";
    pub const INVALID_PASSWORD: &str = "28P01";
    pub const INVALID_AUTHORIZATION: &str = "28000";
}

/// An error with its SQLSTATE and a message a user can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlError {
    pub code: SqlState,
    pub message: String,
}

pub type Result<T, E = SqlError> = std::result::Result<T, E>;

impl SqlError {
    pub fn new(code: SqlState, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
    pub fn syntax(message: impl Into<String>) -> Self {
        Self::new(codes::SYNTAX_ERROR, message)
    }
    pub fn unsupported(what: impl fmt::Display) -> Self {
        Self::new(codes::FEATURE_NOT_SUPPORTED, format!("not supported: {what}"))
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(codes::INTERNAL_ERROR, message)
    }
    pub fn overflow(what: &str) -> Self {
        Self::new(codes::NUMERIC_OUT_OF_RANGE, format!("{what} out of range"))
    }
    pub fn division_by_zero() -> Self {
        Self::new(codes::DIVISION_BY_ZERO, "division by zero")
    }
    pub fn mismatch(message: impl Into<String>) -> Self {
        Self::new(codes::DATATYPE_MISMATCH, message)
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (SQLSTATE {})", self.message, self.code)
    }
}

impl std::error::Error for SqlError {}

impl From<quorumdb_storage::Error> for SqlError {
    fn from(e: quorumdb_storage::Error) -> Self {
        use quorumdb_storage::Error as E;
        let code = match &e {
            E::Conflict { .. } | E::StoreReplaced { .. } => codes::SERIALIZATION_FAILURE,
            E::OutcomeUnknown(_) => codes::COMPLETION_UNKNOWN,
            E::Unavailable(_) => codes::CANNOT_CONNECT_NOW,
            E::ReadOnly => codes::READ_ONLY_TRANSACTION,
            E::SnapshotTooOld { .. } => codes::SNAPSHOT_TOO_OLD,
            E::Io { .. } => codes::IO_ERROR,
            E::Canceled => return crate::interrupt::current_error(),
            _ => codes::INTERNAL_ERROR,
        };
        SqlError::new(code, e.to_string())
    }
}
