//! Authentication and the startup phase.
//!
//! - [`UserStore`]: where users and their credentials come from. The SQL
//!   engine has no CREATE USER yet, so [`MemoryUserStore`] (in memory,
//!   filled from configuration) is what the node uses today; a
//!   catalog-backed store only has to implement the trait.
//! - [`AuthMode`]: trust for loopback clients and SCRAM-SHA-256 for the
//!   others (the default), SCRAM for everyone, or trust for everyone.
//! - [`QdbStartup`]: pgwire's [`StartupHandler`] built on its
//!   [`AuthDriver`]: per connection it picks a trust mechanism or SCRAM,
//!   and advertises QuorumDB's ParameterStatus set (`server_version`
//!   reads like PostgreSQL 15 and names QuorumDB).
//!
//! Errors: a missing user name or an unknown user is FATAL 28000; a wrong
//! password (or a user without a password where one is required) is FATAL
//! 28P01 — both close the connection, as in PostgreSQL.
//!
//! Invariants: passwords are never stored in clear — a user's SCRAM
//! verifier (salted password, per-user random salt) is derived once when
//! the user is added. Unknown users are answered before any SCRAM
//! exchange (PostgreSQL instead fakes one to hide which users exist; we
//! follow the requirement of a distinct 28000).
//!
//! Not done: MD5 and cleartext methods, TLS / SCRAM-SHA-256-PLUS channel
//! binding, pg_hba-style per-database rules, cancel-key registration.

use std::collections::HashMap;
use std::fmt::Debug;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use futures::sink::Sink;
use pgwire::api::ClientInfo;
use pgwire::api::auth::driver::AuthOutcome;
use pgwire::api::auth::mechanism::{AuthMechanism, AuthMechanismFactory, AuthState};
use pgwire::api::auth::sasl::SaslMechanisms;
use pgwire::api::auth::sasl::scram::{ScramAuth, ScramSecret, gen_salted_password};
use pgwire::api::auth::{
    AuthDriver, AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
    protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::startup::PasswordMessageFamily;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};

use super::compat;

/// SCRAM iteration count for verifiers derived here.
pub const SCRAM_ITERATIONS: usize = 4096;

/// How clients must authenticate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthMode {
    /// Loopback clients are trusted (any existing user, no password);
    /// everyone else uses SCRAM-SHA-256.
    #[default]
    TrustLoopback,
    /// SCRAM-SHA-256 for every client, loopback included.
    PasswordEverywhere,
    /// No passwords at all (existing users only). For tests and demos.
    TrustAll,
}

/// A user's stored credential.
#[derive(Clone)]
pub struct Credential {
    /// `None`: the user has no password (cannot log in where one is needed).
    scram: Option<(Vec<u8>, Vec<u8>)>,
}

impl Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("has_password", &self.scram.is_some())
            .finish()
    }
}

impl Credential {
    /// A credential for `password` (`None`: no password).
    pub fn new(password: Option<&str>) -> Self {
        Self {
            scram: password.map(|p| {
                let salt: [u8; 16] = rand_salt();
                (salt.to_vec(), gen_salted_password(p, &salt, SCRAM_ITERATIONS))
            }),
        }
    }

    pub fn has_password(&self) -> bool {
        self.scram.is_some()
    }
}

fn rand_salt() -> [u8; 16] {
    // Salt only needs to be unique, not secret: mix the clock, a counter
    // and the address of a fresh allocation through std's SipHash.
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut out = [0u8; 16];
    for chunk in out.chunks_mut(8) {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        chunk.copy_from_slice(&h.finish().to_le_bytes());
    }
    out
}

/// Where users come from. Implementations must be cheap to query (called
/// once per connection attempt, from async code).
pub trait UserStore: Send + Sync + Debug {
    /// The user's credential, or `None` if there is no such user.
    fn lookup(&self, user: &str) -> Option<Credential>;
}

/// Users kept in memory (from configuration). `root` exists from the start.
#[derive(Debug)]
pub struct MemoryUserStore {
    users: RwLock<HashMap<String, Credential>>,
}

impl Default for MemoryUserStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryUserStore {
    /// A store with the superuser `root` and no password.
    pub fn new() -> Self {
        let mut users = HashMap::new();
        users.insert("root".to_owned(), Credential::new(None));
        Self {
            users: RwLock::new(users),
        }
    }

    /// Adds or replaces a user (`password: None` = no password).
    pub fn set_user(&self, name: &str, password: Option<&str>) {
        let cred = Credential::new(password);
        self.users
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), cred);
    }

    /// Removes a user; true if it existed.
    pub fn remove_user(&self, name: &str) -> bool {
        self.users
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .is_some()
    }
}

impl UserStore for MemoryUserStore {
    fn lookup(&self, user: &str) -> Option<Credential> {
        self.users
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(user)
            .cloned()
    }
}

/// pgwire's view of our user store (SCRAM secrets).
#[derive(Debug)]
struct ScramSource(Arc<dyn UserStore>);

fn invalid_password(user: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        "28P01".into(),
        format!("password authentication failed for user \"{user}\""),
    )))
}

#[async_trait]
impl AuthSource for ScramSource {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        let user = login.user().unwrap_or_default();
        match self.0.lookup(user).and_then(|c| c.scram) {
            Some((salt, salted)) => Ok(Password::new(Some(salt), salted)),
            None => Err(invalid_password(user)),
        }
    }

    async fn get_scram_secret(&self, login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let user = login.user().unwrap_or_default();
        match self.0.lookup(user).and_then(|c| c.scram) {
            Some((salt, salted_password)) => Ok((
                ScramSecret::SaltedPassword {
                    salt,
                    salted_password,
                },
                None,
            )),
            None => Err(invalid_password(user)),
        }
    }
}

/// A mechanism that accepts the client as is.
struct Trust;

#[async_trait]
impl AuthMechanism for Trust {
    async fn begin(&mut self, _client: &(dyn ClientInfo + Send + Sync)) -> PgWireResult<AuthState> {
        Ok(AuthState::Ok {
            final_message: None,
            identity: None,
        })
    }

    async fn next(
        &mut self,
        _client: &(dyn ClientInfo + Send + Sync),
        _message: PasswordMessageFamily,
    ) -> PgWireResult<AuthState> {
        Err(PgWireError::NoAuthenticationInProgress)
    }
}

/// ParameterStatus values sent after authentication.
pub fn parameter_provider() -> DefaultServerParameterProvider {
    let mut p = DefaultServerParameterProvider::default();
    p.server_version = compat::server_version();
    p.date_style = "ISO, MDY".into();
    p.time_zone = "UTC".into();
    p.scram_iterations = SCRAM_ITERATIONS;
    p
}

/// The startup handler: trust or SCRAM per connection.
pub struct QdbStartup {
    driver: AuthDriver<Arc<DefaultServerParameterProvider>>,
    sasl: SaslMechanisms,
    users: Arc<dyn UserStore>,
    mode: AuthMode,
}

impl QdbStartup {
    pub fn new(users: Arc<dyn UserStore>, mode: AuthMode) -> Self {
        let mut scram = ScramAuth::new(Arc::new(ScramSource(users.clone())));
        scram.set_iterations(SCRAM_ITERATIONS);
        Self {
            driver: AuthDriver::new(Arc::new(parameter_provider())),
            sasl: SaslMechanisms::new(vec![Arc::new(scram)]),
            users,
            mode,
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        match self.mode {
            AuthMode::TrustAll => true,
            AuthMode::PasswordEverywhere => false,
            AuthMode::TrustLoopback => ip.is_loopback() || ip.to_canonical().is_loopback(),
        }
    }
}

fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("FATAL".into(), code.into(), message)))
}

#[async_trait]
impl StartupHandler for QdbStartup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let outcome = match message {
            PgWireFrontendMessage::Startup(ref startup) => {
                protocol_negotiation(client, startup).await?;
                save_startup_parameters_to_metadata(client, startup);
                let Some(user) = client.metadata().get("user").cloned() else {
                    return Err(fatal(
                        "28000",
                        "no PostgreSQL user name specified in startup packet".into(),
                    ));
                };
                let Some(cred) = self.users.lookup(&user) else {
                    return Err(fatal("28000", format!("role \"{user}\" does not exist")));
                };
                let mechanism: Box<dyn AuthMechanism> = if self.trusted(client.socket_addr().ip()) {
                    Box::new(Trust)
                } else if !cred.has_password() {
                    return Err(invalid_password(&user));
                } else {
                    self.sasl.create()
                };
                self.driver.begin_authentication(client, mechanism).await?
            }
            PgWireFrontendMessage::PasswordMessageFamily(msg) => {
                let user = client.metadata().get("user").cloned().unwrap_or_default();
                match self.driver.advance_authentication(client, msg).await {
                    Ok(o) => o,
                    Err(PgWireError::InvalidPassword(_)) => return Err(invalid_password(&user)),
                    Err(e) => return Err(e),
                }
            }
            _ => return Ok(()),
        };
        match outcome {
            AuthOutcome::InProgress => Ok(()),
            AuthOutcome::Authenticated { final_message, .. } => {
                self.driver.complete_authentication(client, final_message).await
            }
        }
    }
}
