//! Client ids bound to authenticated subjects.
//!
//! With auth on, a client id belongs to the subject (token `sub`) that first used it in a
//! `hello` or as an adopted `mutate.client_id`; the binding is durable in the store. Another
//! subject's `hello` with that id is refused (`CLIENT_ID_TAKEN`, close 4003) and its `mutate`
//! adopting it is rejected `forbidden`, unrecorded, so no subject reads or extends another
//! subject's dedupe stream. Dev mode binds nothing.

use tether_protocol::{CloseCode, ErrorCode};

use super::{ConnId, ServerEngine};
use crate::store::{Store, StoreError};

/// Longest accepted client id, in bytes.
pub(crate) const MAX_CLIENT_ID_LEN: usize = 128;

/// Whether a client id has an accepted length (1..=128 bytes) and is not reserved for the
/// HTTP API (`api:` prefix: those dedupe streams belong to API keys).
pub(crate) fn valid_client_id(client_id: &str) -> bool {
    !client_id.is_empty() && client_id.len() <= MAX_CLIENT_ID_LEN && !client_id.starts_with("api:")
}

impl<S: Store> ServerEngine<S> {
    /// Binds the session's client id to the token's subject (dev mode: nothing to do).
    /// Returns `false` after refusing the hello (taken by another subject, or a store
    /// failure): the error is sent and the connection closed.
    pub(super) fn bind_session(
        &mut self,
        conn: ConnId,
        client_id: &str,
        subject: Option<&str>,
    ) -> bool {
        let Some(subject) = subject else {
            return true;
        };
        let retention = self.retention();
        // Read first: a returning client (the common case) costs no write.
        let owner = match self.store.client_subject(client_id) {
            Ok(Some(owner)) => Ok(owner),
            Ok(None) => self
                .store
                .bind_client(client_id, subject, &retention, self.unix_ms),
            Err(err) => Err(err),
        };
        match owner {
            Ok(owner) if owner == subject => true,
            Ok(_) => {
                let message =
                    format!("client id {client_id} is bound to another authenticated subject");
                self.send_error(conn, ErrorCode::ClientIdTaken, message, |_| {});
                self.close(conn, CloseCode::ClientIdTaken);
                false
            }
            Err(err) => {
                self.stats.store_errors += 1;
                self.send_error(conn, ErrorCode::Internal, err.to_string(), |_| {});
                self.close(conn, CloseCode::Internal);
                false
            }
        }
    }

    /// Whether the connection's subject may write under `client_id` (binding it if it is not
    /// bound yet). Always with auth off.
    pub(super) fn owns_client(
        &mut self,
        conn: ConnId,
        client_id: &str,
    ) -> Result<bool, StoreError> {
        let Some(subject) = self
            .conns
            .get(&conn)
            .and_then(|c| c.claims.as_ref())
            .map(|c| c.sub.clone())
        else {
            return Ok(true);
        };
        let owner = match self.store.client_subject(client_id)? {
            Some(owner) => owner,
            None => {
                let retention = self.retention();
                self.store
                    .bind_client(client_id, &subject, &retention, self.unix_ms)?
            }
        };
        Ok(owner == subject)
    }
}
