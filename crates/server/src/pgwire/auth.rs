//! Authentication and the startup phase.
//!
//! - Users live in the SQL catalog ([`quorumdb_sql::users`]): they are
//!   created with `CREATE USER` and replicate like any table. At each
//!   connection attempt the user is read afresh from the node's
//!   [`KvStore`] (a read-only transaction, run inline on the connection's
//!   own thread), so a dropped user or a changed password takes effect for
//!   the next login.
//! - [`AuthMode`]: trust for loopback clients and SCRAM-SHA-256 for the
//!   others (the default), SCRAM for everyone, or trust for everyone.
//! - [`QdbStartup`]: pgwire's [`StartupHandler`] built on its
//!   [`AuthDriver`]: per connection it picks a trust mechanism or SCRAM
//!   over the user's stored verifier, and advertises QuorumDB's
//!   ParameterStatus set (`server_version` reads like PostgreSQL 15 and
//!   names QuorumDB). After authentication it registers the connection's
//!   cancel key ([`super::cancel`]).
//!
//! Errors: a missing user name, an unknown user or one without `LOGIN` is
//! FATAL 28000; a wrong password (or a user without a password where one
//! is required) is FATAL 28P01 — both close the connection, as in
//! PostgreSQL. If the user cannot be read (no quorum), the SQLSTATE of
//! that failure is returned, FATAL.
//!
//! Invariants: the server never sees or stores a password in clear; SCRAM
//! runs against the verifier (StoredKey/ServerKey) read at startup, so one
//! login uses one consistent view of the user. Unknown users are answered
//! before any SCRAM exchange (PostgreSQL instead fakes one to hide which
//! users exist; we follow the requirement of a distinct 28000).
//! Over TLS, SCRAM-SHA-256-PLUS (channel binding to the server
//! certificate) is offered as well.
//!
//! Not done: MD5 and cleartext methods, pg_hba-style per-database rules.

use std::fmt::Debug;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::sink::Sink;
use pgwire::api::ClientInfo;
use pgwire::api::auth::driver::AuthOutcome;
use pgwire::api::auth::mechanism::{AuthMechanism, AuthMechanismFactory, AuthState};
use pgwire::api::auth::sasl::SaslMechanisms;
use pgwire::api::auth::sasl::scram::{ScramAuth, ScramSecret};
use pgwire::api::auth::{
    AuthDriver, AuthSource, DefaultServerParameterProvider, LoginInfo, Password, StartupHandler,
    protocol_negotiation, save_startup_parameters_to_metadata,
};
use pgwire::error::{ErrorInfo, PgWireError, PgWireResult};
use pgwire::messages::startup::PasswordMessageFamily;
use pgwire::messages::{PgWireBackendMessage, PgWireFrontendMessage};
use quorumdb_sql::Interrupt;
use quorumdb_sql::users::{self, SCRAM_ITERATIONS, ScramVerifier, User};
use quorumdb_storage::KvStore;

use super::cancel::{CancelGuard, CancelRegistry};
use super::compat;

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

/// pgwire's view of one user's stored verifier (one per connection).
#[derive(Debug)]
struct VerifierSource(ScramVerifier);

fn invalid_password(user: &str) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new(
        "FATAL".into(),
        "28P01".into(),
        format!("password authentication failed for user \"{user}\""),
    )))
}

#[async_trait]
impl AuthSource for VerifierSource {
    async fn get_password(&self, login: &LoginInfo) -> PgWireResult<Password> {
        // Only the SCRAM path is used, and it asks for the secret below.
        Err(invalid_password(login.user().unwrap_or_default()))
    }

    async fn get_scram_secret(&self, _login: &LoginInfo) -> PgWireResult<(ScramSecret, Option<()>)> {
        let v = &self.0;
        Ok((
            ScramSecret::Verifier {
                salt: v.salt.clone(),
                iterations: v.iterations as usize,
                stored_key: v.stored_key.clone(),
                server_key: v.server_key.clone(),
            },
            None,
        ))
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
    p.scram_iterations = SCRAM_ITERATIONS as usize;
    p
}

/// The startup handler shared by every connection: trust or SCRAM.
pub struct QdbStartup {
    driver: AuthDriver<Arc<DefaultServerParameterProvider>>,
    store: KvStore,
    mode: AuthMode,
    cancels: Arc<CancelRegistry>,
    /// PEM of the TLS certificate, for SCRAM-SHA-256-PLUS over TLS.
    tls_cert_pem: Option<Arc<Vec<u8>>>,
}

impl QdbStartup {
    pub fn new(
        store: KvStore,
        mode: AuthMode,
        cancels: Arc<CancelRegistry>,
        tls_cert_pem: Option<Arc<Vec<u8>>>,
    ) -> Self {
        Self {
            driver: AuthDriver::new(Arc::new(parameter_provider())),
            store,
            mode,
            cancels,
            tls_cert_pem,
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        match self.mode {
            AuthMode::TrustAll => true,
            AuthMode::PasswordEverywhere => false,
            AuthMode::TrustLoopback => ip.is_loopback() || ip.to_canonical().is_loopback(),
        }
    }

    /// Reads `name` from the catalog. This blocks (it may wait for a read
    /// index), which is fine on the connection's own thread (`conn_thread`).
    async fn lookup(&self, name: &str) -> PgWireResult<Option<User>> {
        let looked_up =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| users::lookup(&self.store, name)));
        match looked_up {
            Ok(Ok(u)) => Ok(u),
            Ok(Err(e)) => Err(fatal(
                e.code,
                format!("cannot read role \"{name}\": {}", e.message),
            )),
            Err(_) => Err(fatal("XX000", "role look-up failed: it panicked".to_string())),
        }
    }

    /// SCRAM over `verifier`, with channel binding offered on TLS.
    fn scram(&self, verifier: ScramVerifier, secure: bool) -> Box<dyn AuthMechanism> {
        let mut scram = ScramAuth::new(Arc::new(VerifierSource(verifier)));
        scram.set_iterations(SCRAM_ITERATIONS as usize);
        if secure
            && let Some(pem) = &self.tls_cert_pem
            && let Err(e) = scram.configure_certificate(pem)
        {
            tracing::warn!(error = %e, "pgwire: no SCRAM channel binding for this certificate");
        }
        SaslMechanisms::new(vec![Arc::new(scram)]).create()
    }
}

fn fatal(code: &str, message: String) -> PgWireError {
    PgWireError::UserError(Box::new(ErrorInfo::new("FATAL".into(), code.into(), message)))
}

/// One connection's startup handler: the shared [`QdbStartup`] plus the
/// session's interrupt, registered under the connection's cancel key once
/// it has authenticated.
pub struct ConnStartup {
    shared: Arc<QdbStartup>,
    interrupt: Interrupt,
    guard: Mutex<Option<CancelGuard>>,
}

impl ConnStartup {
    pub fn new(shared: Arc<QdbStartup>, interrupt: Interrupt) -> Self {
        Self {
            shared,
            interrupt,
            guard: Mutex::new(None),
        }
    }
}

#[async_trait]
impl StartupHandler for ConnStartup {
    async fn on_startup<C>(&self, client: &mut C, message: PgWireFrontendMessage) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let this = &self.shared;
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
                let Some(record) = this.lookup(&user).await? else {
                    return Err(fatal("28000", format!("role \"{user}\" does not exist")));
                };
                if !record.login {
                    return Err(fatal(
                        "28000",
                        format!("role \"{user}\" is not permitted to log in"),
                    ));
                }
                let mechanism: Box<dyn AuthMechanism> = if this.trusted(client.socket_addr().ip()) {
                    Box::new(Trust)
                } else {
                    match record.password {
                        Some(v) => this.scram(v, client.is_secure()),
                        None => return Err(invalid_password(&user)),
                    }
                };
                this.driver.begin_authentication(client, mechanism).await?
            }
            PgWireFrontendMessage::PasswordMessageFamily(msg) => {
                let user = client.metadata().get("user").cloned().unwrap_or_default();
                match this.driver.advance_authentication(client, msg).await {
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
                // Generates the pid and secret and sends BackendKeyData and
                // ReadyForQuery. No statement can run before we register
                // right after, so no cancel that matters can be missed.
                let result = this.driver.complete_authentication(client, final_message).await;
                let (pid, secret) = client.pid_and_secret_key();
                let guard = this.cancels.register(pid, &secret, self.interrupt.clone());
                *self.guard.lock().unwrap_or_else(|p| p.into_inner()) = Some(guard);
                result
            }
        }
    }
}
