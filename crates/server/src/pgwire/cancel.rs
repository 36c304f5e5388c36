//! CancelRequest: stopping another connection's running statement.
//!
//! Every authenticated connection gets a BackendKeyData (a process id and
//! a random secret; pgwire's generator: pids count up from 100000 per
//! server, the secret is 4 random bytes, 32 with protocol 3.2) and is
//! entered here as pid → (secret, the session's [`Interrupt`]). A
//! CancelRequest arrives on a fresh connection; if its pid and secret
//! match an entry, that session's interrupt is tripped and the statement
//! it is running fails with 57014. The entry leaves the registry when the
//! connection ends ([`CancelGuard`]).
//!
//! Invariants: a wrong secret, an unknown pid or a connection that already
//! ended changes nothing, and the requester learns nothing (PostgreSQL
//! never answers a CancelRequest either); secrets are compared in
//! constant time. `pg_backend_pid()` reports the same pid.
//!
//! Not done: forwarding a cancel to another node of the cluster (a client
//! sends it to the node it is connected to, which is the one running the
//! statement).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pgwire::api::cancel::CancelHandler;
use pgwire::messages::cancel::CancelRequest;
use pgwire::messages::startup::SecretKey;
use quorumdb_sql::Interrupt;

/// The cancel keys of one server's open connections.
#[derive(Debug, Default)]
pub struct CancelRegistry {
    entries: Mutex<HashMap<i32, (Vec<u8>, Interrupt)>>,
}

/// Removes a connection's entry when dropped (the connection ended).
#[derive(Debug)]
pub struct CancelGuard {
    registry: Arc<CancelRegistry>,
    pid: i32,
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.pid);
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl CancelRegistry {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i32, (Vec<u8>, Interrupt)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Enters a connection; it stays until the guard is dropped.
    pub fn register(self: &Arc<Self>, pid: i32, secret: &SecretKey, interrupt: Interrupt) -> CancelGuard {
        self.lock().insert(pid, (secret.to_bytes().to_vec(), interrupt));
        CancelGuard {
            registry: self.clone(),
            pid,
        }
    }

    /// Trips the interrupt of connection `pid` if `secret` is its secret;
    /// true if it did.
    pub fn cancel(&self, pid: i32, secret: &SecretKey) -> bool {
        let given = secret.to_bytes();
        match self.lock().get(&pid) {
            Some((key, interrupt)) if ct_eq(key, &given) => {
                interrupt.trip();
                true
            }
            _ => false,
        }
    }

    /// How many connections are registered.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl CancelHandler for CancelRegistry {
    async fn on_cancel_request(&self, request: CancelRequest) {
        let done = self.cancel(request.pid, &request.secret_key);
        tracing::debug!(pid = request.pid, matched = done, "pgwire: cancel request");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_secret_cancels_and_entries_leave_with_the_guard() {
        let reg = Arc::new(CancelRegistry::new());
        let i = Interrupt::new();
        let guard = reg.register(100_000, &SecretKey::I32(42), i.clone());
        assert!(!reg.cancel(100_000, &SecretKey::I32(41)));
        assert!(!reg.cancel(100_001, &SecretKey::I32(42)));
        assert!(!i.is_tripped());
        // The same 4 bytes arriving as protocol-3.2 bytes also match.
        assert!(reg.cancel(100_000, &SecretKey::Bytes(42i32.to_be_bytes().to_vec().into())));
        assert!(i.is_tripped());
        drop(guard);
        assert!(reg.is_empty());
        i.clear();
        assert!(!reg.cancel(100_000, &SecretKey::I32(42)));
        assert!(!i.is_tripped());
    }
}
