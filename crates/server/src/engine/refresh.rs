//! Token refresh on an open connection: `token_expiring` before the session's token expires
//! (to clients whose `hello` said `refresh: true`), and `auth {token}` replacing the session's
//! token without a reconnect.

use tether_protocol::{ErrorCode, ServerMessage};

use super::{with_channel, ConnId, ServerEngine};
use crate::store::Store;

impl<S: Store> ServerEngine<S> {
    /// Unix ms at which `conn` should be told its token is expiring, if it will be.
    pub(super) fn refresh_due_at(&self, conn: ConnId) -> Option<u64> {
        let c = self.conns.get(&conn)?;
        if !c.refresh || c.refresh_sent {
            return None;
        }
        let expiry = c.token_expires_at?;
        Some(expiry.saturating_sub(self.config.token_refresh_ms))
    }

    /// Sends `token_expiring` if its time has come (once per token).
    pub(super) fn maybe_warn_expiry(&mut self, conn: ConnId) {
        let Some(due) = self.refresh_due_at(conn) else {
            return;
        };
        if self.unix_ms < due {
            return;
        }
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.refresh_sent = true;
        let expires_in_ms = c
            .token_expires_at
            .unwrap_or(self.unix_ms)
            .saturating_sub(self.unix_ms);
        self.send_msg(conn, &ServerMessage::TokenExpiring { expires_in_ms });
    }

    /// `auth {token}`: verifies the token like `hello`'s; one of the session's subject replaces
    /// the session's token (its grants and expiry), and subscriptions it no longer allows
    /// reading end (`error FORBIDDEN` with the channel, then `unsubscribed`). Any other token
    /// is refused with `error AUTH_INVALID` and the old one stays in force.
    pub(super) fn handle_auth(&mut self, now: u64, conn: ConnId, token: String) {
        if self.config.auth.is_dev() {
            self.send_msg(
                conn,
                &ServerMessage::AuthOk {
                    expires_in_ms: None,
                },
            );
            return;
        }
        let claims = match self.config.auth.verify(&token, self.unix_ms) {
            Ok(Some(claims)) => claims,
            Ok(None) => return,
            Err(err) => {
                let message = format!("the new token is refused ({err}); the old one stays");
                self.send_error(conn, ErrorCode::AuthInvalid, message, |_| {});
                return;
            }
        };
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let session_sub = c.claims.as_ref().map(|cl| cl.sub.as_str()).unwrap_or("");
        if claims.sub != session_sub {
            let message = format!(
                "the new token is for subject {:?}, this session is {session_sub:?}: reconnect \
                 to change subject; the old token stays",
                claims.sub
            );
            self.send_error(conn, ErrorCode::AuthInvalid, message, |_| {});
            return;
        }
        let expires = self.config.auth.expires_at_ms(&claims);
        let ended: Vec<String> = c
            .subscriptions
            .keys()
            .filter(|channel| !claims.may_read(channel))
            .cloned()
            .collect();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.claims = Some(claims);
            c.token_expires_at = expires;
            c.refresh_sent = false;
        }
        for channel in ended {
            let message = "the new token does not allow reading this channel".to_owned();
            self.send_error(conn, ErrorCode::Forbidden, message, with_channel(&channel));
            self.handle_unsubscribe(conn, channel);
        }
        let expires_in_ms = expires.map(|at| at.saturating_sub(self.unix_ms));
        self.send_msg(conn, &ServerMessage::AuthOk { expires_in_ms });
        self.reschedule(now, conn);
    }
}
