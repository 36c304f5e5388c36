//! Users (login roles) in the catalog: `CREATE USER|ROLE`, `ALTER
//! USER|ROLE`, `DROP USER|ROLE`, and the look-up the server does when a
//! client connects.
//!
//! A user is a catalog entry under its own key prefix (see `keys.rs`),
//! written through the statement's transaction like a table definition:
//! it commits or rolls back with the transaction and replicates through
//! the Raft log like any other write. The password is kept only as a
//! SCRAM-SHA-256 verifier (salt, iteration count, StoredKey, ServerKey;
//! RFC 5802/7677, PostgreSQL's format), never in clear. A password given
//! as a PostgreSQL verifier string (`SCRAM-SHA-256$<iter>:<salt>$<stored>:<server>`,
//! which psql's `\password` sends) is stored as is.
//!
//! Invariants:
//! - The superuser `root` always exists: with no catalog entry it is
//!   `root` without a password; `ALTER USER root PASSWORD ...` stores an
//!   entry. It can be neither dropped nor demoted.
//! - Only superusers create, alter or drop users; any user may change its
//!   own password (as in PostgreSQL). Errors: 42710 duplicate user, 42704
//!   unknown user, 42501 not allowed, 55006 dropping oneself, 2BP01
//!   dropping `root`, 0A000 options we do not model.
//! - `CREATE USER` logs in by default, `CREATE ROLE` does not (PostgreSQL).
//!
//! Deliberately not done: role membership (`IN ROLE`, `GRANT role`),
//! table privileges (every user may use every table), `CREATEDB`,
//! `CREATEROLE`, `CONNECTION LIMIT`, `VALID UNTIL`, MD5 passwords,
//! `RENAME TO`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use quorumdb_storage::{Isolation, KvStore, ScanOrder, Transaction, TxnOptions};
use serde::{Deserialize, Serialize};
use sqlparser::ast;

use crate::binder::{ident, object_name};
use crate::error::{Result, SqlError, codes};
use crate::keys;

/// The superuser that exists from the start.
pub const ROOT: &str = "root";
/// PBKDF2 iterations of verifiers derived here (PostgreSQL's default).
pub const SCRAM_ITERATIONS: u32 = 4096;
const SALT_LEN: usize = 16;

/// A SCRAM-SHA-256 verifier: what the server needs to check a client's
/// proof, and not enough to log in as the user.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScramVerifier {
    pub salt: Vec<u8>,
    pub iterations: u32,
    /// `SHA-256(HMAC(SaltedPassword, "Client Key"))`.
    pub stored_key: Vec<u8>,
    /// `HMAC(SaltedPassword, "Server Key")`.
    pub server_key: Vec<u8>,
}

impl fmt::Debug for ScramVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramVerifier")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    ring::hmac::sign(&key, data).as_ref().to_vec()
}

impl ScramVerifier {
    /// A verifier for `password` with a fresh random salt.
    pub fn derive(password: &str) -> Result<Self> {
        use ring::rand::SecureRandom;
        let mut salt = [0u8; SALT_LEN];
        ring::rand::SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| SqlError::internal("no random bytes for a password salt"))?;
        Ok(Self::derive_with(password, &salt, SCRAM_ITERATIONS))
    }

    /// A verifier for `password` with the given salt and iterations.
    /// The password is SASLprep-normalised first (as clients do); one that
    /// cannot be normalised is used as is, like PostgreSQL.
    pub fn derive_with(password: &str, salt: &[u8], iterations: u32) -> Self {
        let normalized = stringprep::saslprep(password).unwrap_or(std::borrow::Cow::Borrowed(password));
        let mut salted = [0u8; 32];
        let iters = std::num::NonZeroU32::new(iterations.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        ring::pbkdf2::derive(
            ring::pbkdf2::PBKDF2_HMAC_SHA256,
            iters,
            salt,
            normalized.as_bytes(),
            &mut salted,
        );
        let client_key = hmac(&salted, b"Client Key");
        let stored_key = ring::digest::digest(&ring::digest::SHA256, &client_key)
            .as_ref()
            .to_vec();
        Self {
            salt: salt.to_vec(),
            iterations: iters.get(),
            stored_key,
            server_key: hmac(&salted, b"Server Key"),
        }
    }

    /// True if `password` is the one this verifier was derived from.
    pub fn matches(&self, password: &str) -> bool {
        let other = Self::derive_with(password, &self.salt, self.iterations);
        let diff = other
            .stored_key
            .iter()
            .zip(&self.stored_key)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        diff == 0 && other.stored_key.len() == self.stored_key.len()
    }

    /// PostgreSQL's text form, `SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>`.
    pub fn to_text(&self) -> String {
        format!(
            "SCRAM-SHA-256${}:{}${}:{}",
            self.iterations,
            B64.encode(&self.salt),
            B64.encode(&self.stored_key),
            B64.encode(&self.server_key)
        )
    }

    /// Parses PostgreSQL's text form; `None` if `text` is not one.
    pub fn parse(text: &str) -> Option<Self> {
        let rest = text.strip_prefix("SCRAM-SHA-256$")?;
        let (head, keys) = rest.split_once('$')?;
        let (iter, salt) = head.split_once(':')?;
        let (stored, server) = keys.split_once(':')?;
        let iterations: u32 = iter.parse().ok().filter(|i| *i > 0)?;
        let salt = B64.decode(salt).ok()?;
        let stored_key = B64.decode(stored).ok().filter(|k| k.len() == 32)?;
        let server_key = B64.decode(server).ok().filter(|k| k.len() == 32)?;
        Some(Self {
            salt,
            iterations,
            stored_key,
            server_key,
        })
    }
}

/// A user as stored in the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub superuser: bool,
    /// May connect (`LOGIN`).
    pub login: bool,
    /// `None`: no password; such a user cannot log in where one is needed.
    pub password: Option<ScramVerifier>,
}

impl User {
    fn root() -> Self {
        Self {
            name: ROOT.into(),
            superuser: true,
            login: true,
            password: None,
        }
    }
}

fn encode(u: &User) -> Result<Vec<u8>> {
    postcard::to_allocvec(u).map_err(|e| SqlError::internal(format!("user encode: {e}")))
}

fn decode(b: &[u8]) -> Result<User> {
    postcard::from_bytes(b).map_err(|e| SqlError::internal(format!("user decode: {e}")))
}

/// The user `name` as seen by `txn` (`root` always exists).
pub fn get_user(txn: &mut Transaction, name: &str) -> Result<Option<User>> {
    match txn.get(&keys::catalog_key(keys::CATALOG_USER, name))? {
        Some(b) => Ok(Some(decode(&b)?)),
        None if name == ROOT => Ok(Some(User::root())),
        None => Ok(None),
    }
}

/// Every user, in name order (`root` included).
pub fn list_users(txn: &mut Transaction) -> Result<Vec<User>> {
    let mut users: Vec<User> = txn
        .scan_prefix(keys::CATALOG_USER, ScanOrder::Forward)
        .map(|item| {
            let (_, v) = item?;
            decode(&v)
        })
        .collect::<Result<_>>()?;
    if !users.iter().any(|u| u.name == ROOT) {
        users.push(User::root());
        users.sort_by(|a, b| a.name.cmp(&b.name));
    }
    Ok(users)
}

/// Reads user `name` in a fresh read-only transaction (a connection's
/// authentication). May block while the store obtains a read version.
pub fn lookup(store: &KvStore, name: &str) -> Result<Option<User>> {
    let mut txn = store.begin(TxnOptions {
        isolation: Isolation::Snapshot,
        read_only: true,
    })?;
    get_user(&mut txn, name)
}

fn put_user(txn: &mut Transaction, user: &User) -> Result<()> {
    txn.set(keys::catalog_key(keys::CATALOG_USER, &user.name), encode(user)?)?;
    Ok(())
}

fn undefined(name: &str) -> SqlError {
    SqlError::new(codes::UNDEFINED_OBJECT, format!("role \"{name}\" does not exist"))
}

fn denied(message: impl Into<String>) -> SqlError {
    SqlError::new(codes::INSUFFICIENT_PRIVILEGE, message)
}

fn is_superuser(txn: &mut Transaction, current: &str) -> Result<bool> {
    Ok(get_user(txn, current)?.is_some_and(|u| u.superuser))
}

/// The verifier for a `PASSWORD` clause (`None`: no password).
fn password_clause(p: &ast::Password) -> Result<Option<ScramVerifier>> {
    let expr = match p {
        ast::Password::NullPassword => return Ok(None),
        ast::Password::Password(e) => e,
    };
    let text = match expr {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::SingleQuotedString(s)
            | ast::Value::EscapedStringLiteral(s)
            | ast::Value::DollarQuotedString(ast::DollarQuotedString { value: s, .. }) => s.clone(),
            ast::Value::Null => return Ok(None),
            _ => return Err(SqlError::syntax("a password must be a string literal")),
        },
        _ => return Err(SqlError::syntax("a password must be a string literal")),
    };
    // PostgreSQL: an empty password means no password.
    if text.is_empty() {
        return Ok(None);
    }
    if text.starts_with("SCRAM-SHA-256$") {
        return ScramVerifier::parse(&text).map(Some).ok_or_else(|| {
            SqlError::new(
                codes::INVALID_PARAMETER_VALUE,
                "malformed SCRAM-SHA-256 password verifier",
            )
        });
    }
    if text.len() == 35 && text.starts_with("md5") && text[3..].bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(SqlError::new(
            codes::FEATURE_NOT_SUPPORTED,
            "MD5 password hashes are not supported; give the password or a SCRAM-SHA-256 verifier",
        ));
    }
    ScramVerifier::derive(&text).map(Some)
}

/// `CREATE ROLE` / `CREATE USER` (the parser turns the latter into a
/// role with `LOGIN` unless `NOLOGIN` was given).
pub fn create_role(txn: &mut Transaction, cr: &ast::CreateRole, current: &str) -> Result<()> {
    let unsupported = [
        (cr.create_db == Some(true), "CREATEDB"),
        (cr.create_role == Some(true), "CREATEROLE"),
        (cr.replication == Some(true), "REPLICATION"),
        (cr.bypassrls == Some(true), "BYPASSRLS"),
        (cr.connection_limit.is_some(), "CONNECTION LIMIT"),
        (cr.valid_until.is_some(), "VALID UNTIL"),
        (
            !(cr.in_role.is_empty() && cr.in_group.is_empty() && cr.role.is_empty()),
            "role membership",
        ),
        (!(cr.user.is_empty() && cr.admin.is_empty()), "role membership"),
        (cr.authorization_owner.is_some(), "AUTHORIZATION"),
    ];
    if let Some((_, what)) = unsupported.iter().find(|(set, _)| *set) {
        return Err(SqlError::unsupported(format!("role option {what}")));
    }
    if !is_superuser(txn, current)? {
        return Err(denied("permission denied to create role"));
    }
    let password = match &cr.password {
        Some(p) => password_clause(p)?,
        None => None,
    };
    for n in &cr.names {
        let name = object_name(n)?;
        if get_user(txn, &name)?.is_some() {
            if cr.if_not_exists {
                continue;
            }
            return Err(SqlError::new(
                codes::DUPLICATE_OBJECT,
                format!("role \"{name}\" already exists"),
            ));
        }
        put_user(
            txn,
            &User {
                name,
                superuser: cr.superuser.unwrap_or(false),
                login: cr.login.unwrap_or(false),
                password: password.clone(),
            },
        )?;
    }
    Ok(())
}

/// `ALTER ROLE|USER name [WITH] option ...`.
pub fn alter_role(
    txn: &mut Transaction,
    name: &ast::Ident,
    op: &ast::AlterRoleOperation,
    current: &str,
) -> Result<()> {
    let name = ident(name);
    let ast::AlterRoleOperation::WithOptions { options } = op else {
        return Err(SqlError::unsupported(format!("ALTER ROLE {op}")));
    };
    let Some(mut user) = get_user(txn, &name)? else {
        return Err(undefined(&name));
    };
    let superuser = is_superuser(txn, current)?;
    for o in options {
        match o {
            ast::RoleOption::Password(p) => {
                if !superuser && name != current {
                    return Err(denied("permission denied to alter role"));
                }
                user.password = password_clause(p)?;
            }
            ast::RoleOption::Login(b) | ast::RoleOption::SuperUser(b) => {
                if !superuser {
                    return Err(denied("permission denied to alter role"));
                }
                if name == ROOT && !*b {
                    return Err(SqlError::new(
                        codes::FEATURE_NOT_SUPPORTED,
                        "root must remain a superuser that can log in",
                    ));
                }
                match o {
                    ast::RoleOption::Login(_) => user.login = *b,
                    _ => user.superuser = *b,
                }
            }
            ast::RoleOption::Inherit(_) => {}
            other => return Err(SqlError::unsupported(format!("role option {other}"))),
        }
    }
    put_user(txn, &user)
}

/// `DROP ROLE|USER [IF EXISTS] name, ...`.
pub fn drop_roles(
    txn: &mut Transaction,
    if_exists: bool,
    names: &[ast::ObjectName],
    current: &str,
) -> Result<()> {
    if !is_superuser(txn, current)? {
        return Err(denied("permission denied to drop role"));
    }
    for n in names {
        let name = object_name(n)?;
        if name == current {
            return Err(SqlError::new(
                codes::OBJECT_IN_USE,
                "current user cannot be dropped",
            ));
        }
        if name == ROOT {
            return Err(SqlError::new(
                codes::DEPENDENT_OBJECTS_STILL_EXIST,
                "cannot drop role root because it is required by the database system",
            ));
        }
        if get_user(txn, &name)?.is_none() {
            if if_exists {
                continue;
            }
            return Err(undefined(&name));
        }
        txn.delete(keys::catalog_key(keys::CATALOG_USER, &name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_matches_rfc7677_example() {
        // RFC 7677 §3: user "user", password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
        let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let v = ScramVerifier::derive_with("pencil", &salt, 4096);
        // ServerSignature from the RFC = HMAC(ServerKey, AuthMessage).
        let auth = "n=user,r=rOprNGfwEbeRWgbNEkqO,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        assert_eq!(
            B64.encode(hmac(&v.server_key, auth.as_bytes())),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
        // The client's proof checks out against StoredKey alone.
        let proof = B64
            .decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .unwrap();
        let signature = hmac(&v.stored_key, auth.as_bytes());
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
        assert_eq!(
            ring::digest::digest(&ring::digest::SHA256, &client_key).as_ref(),
            v.stored_key.as_slice()
        );
        assert!(v.matches("pencil"));
        assert!(!v.matches("pencil2"));
    }

    #[test]
    fn users_are_stored_with_a_verifier_never_the_password() {
        use std::sync::Arc;

        use quorumdb_storage::{Engine, MemoryEngine};

        let store = KvStore::local(Arc::new(MemoryEngine::new()) as Arc<dyn Engine>).unwrap();
        let mut s = crate::Session::new(store.clone());
        assert_eq!(lookup(&store, ROOT).unwrap().map(|u| u.superuser), Some(true));
        assert_eq!(lookup(&store, "alice").unwrap(), None);
        s.execute("CREATE USER alice WITH PASSWORD 'wonderland'").unwrap();
        let alice = lookup(&store, "alice").unwrap().unwrap();
        assert!(alice.login && !alice.superuser);
        assert!(alice.password.as_ref().unwrap().matches("wonderland"));
        assert!(!alice.password.as_ref().unwrap().matches("Wonderland"));
        // No byte sequence of the password is anywhere in the store.
        let mut txn = store.begin(TxnOptions::default()).unwrap();
        for item in txn.scan_prefix(&[], ScanOrder::Forward) {
            let (k, v) = item.unwrap();
            assert!(!v.windows(10).any(|w| w == b"wonderland"), "{k:?}");
        }
        // A verifier given in PostgreSQL's text form (psql's \password) is kept as is.
        let v = ScramVerifier::derive("from-psql").unwrap();
        s.execute(&format!("ALTER USER alice PASSWORD '{}'", v.to_text()))
            .unwrap();
        assert_eq!(lookup(&store, "alice").unwrap().unwrap().password, Some(v));
        // CREATE ROLE does not log in unless told to.
        s.execute("CREATE ROLE r1; CREATE ROLE r2 LOGIN; CREATE USER r3 NOLOGIN")
            .unwrap();
        let login = |n: &str| lookup(&store, n).unwrap().unwrap().login;
        assert_eq!((login("r1"), login("r2"), login("r3")), (false, true, false));
        s.execute("DROP USER alice").unwrap();
        assert_eq!(lookup(&store, "alice").unwrap(), None);
        let names: Vec<String> = list_users(&mut store.begin(TxnOptions::default()).unwrap())
            .unwrap()
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert_eq!(names, ["r1", "r2", "r3", "root"]);
    }

    #[test]
    fn text_form_round_trips() {
        let v = ScramVerifier::derive("s3cret").unwrap();
        let t = v.to_text();
        assert!(t.starts_with("SCRAM-SHA-256$4096:"), "{t}");
        assert_eq!(ScramVerifier::parse(&t), Some(v));
        assert_eq!(ScramVerifier::parse("SCRAM-SHA-256$x:y$z:w"), None);
        assert_eq!(ScramVerifier::parse("plain"), None);
        assert!(!format!("{:?}", ScramVerifier::parse(&t)).contains("stored_key"));
    }
}
