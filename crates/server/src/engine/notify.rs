//! Notifications to a subject (API.md §6): an ephemeral payload from the app's backend to
//! every open connection whose session token has that `sub`, on this node.

use std::sync::Arc;

use tether_protocol::{codec, Json, ServerMessage};

use super::api::{valid_key_name, ApiAnswer, ApiRequestId};
use super::{ConnId, ServerEngine};
use crate::store::Store;

/// Longest subject a notification may name, in bytes.
pub const MAX_SUBJECT_LEN: usize = 256;

impl<S: Store> ServerEngine<S> {
    /// Sends `notification {payload, from: "api:<key name>"}` to every connection past `hello`
    /// whose token's `sub` is `subject` (sessions without a token, `--dev`, have no subject),
    /// never stored; answered [`ApiAnswer::Notified`] with how many connections it was sent
    /// to (0 is an answer, not an error). A subject of 1-256 bytes, else
    /// [`ApiAnswer::Invalid`].
    pub fn api_notify(
        &mut self,
        request: ApiRequestId,
        key_name: &str,
        subject: &str,
        payload: Json,
    ) {
        if self.failed {
            return self.api_answer(request, ApiAnswer::Unavailable("the engine stopped".into()));
        }
        if !valid_key_name(key_name) {
            let text = "API key names are 1-32 bytes of [A-Za-z0-9_.-]".to_owned();
            return self.api_answer(request, ApiAnswer::Invalid(text));
        }
        if subject.is_empty() || subject.len() > MAX_SUBJECT_LEN {
            let text = format!("a subject is 1-{MAX_SUBJECT_LEN} bytes");
            return self.api_answer(request, ApiAnswer::Invalid(text));
        }
        let mut targets: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| {
                c.client_id.is_some() && c.claims.as_ref().is_some_and(|cl| cl.sub == subject)
            })
            .map(|(id, _)| *id)
            .collect();
        targets.sort_unstable();
        if !targets.is_empty() {
            let msg = ServerMessage::Notification {
                payload,
                from: format!("api:{key_name}"),
            };
            let frame: Arc<str> = Arc::from(codec::encode_server(&msg));
            for &conn in &targets {
                self.send_frame(conn, Arc::clone(&frame));
            }
        }
        let delivered = targets.len() as u64;
        self.api_answer(request, ApiAnswer::Notified { delivered });
    }
}
