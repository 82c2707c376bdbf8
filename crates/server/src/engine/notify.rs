//! Notifications to a subject (API.md §6): an ephemeral payload from the app's backend to
//! every open connection whose session token has that `sub`: on this node, and with the
//! relay between nodes on (cluster mode) on every other node too.

use std::sync::Arc;

use tether_protocol::{codec, Json, ServerMessage};

use super::api::{ApiAnswer, ApiRequestId};
use super::relay::NodeMessage;
use super::{ConnId, ServerEngine};
use crate::store::Store;

/// Longest subject a notification may name, in bytes.
pub const MAX_SUBJECT_LEN: usize = 256;

impl<S: Store> ServerEngine<S> {
    /// Sends `notification {payload, from: "api:<key name>"}` to every connection past `hello`
    /// whose token's `sub` is `subject` (sessions without a token, `--dev`, have no subject),
    /// never stored, then relays it to the other nodes (cluster mode); answered
    /// [`ApiAnswer::Notified`] with how many connections of this node it was sent to (0 is an
    /// answer, not an error). A subject of 1-256 bytes, else [`ApiAnswer::Invalid`].
    pub fn api_notify(
        &mut self,
        request: ApiRequestId,
        key_name: &str,
        subject: &str,
        payload: Json,
    ) {
        if self.refuse_ephemeral(request, key_name) {
            return;
        }
        if subject.is_empty() || subject.len() > MAX_SUBJECT_LEN {
            let text = format!("a subject is 1-{MAX_SUBJECT_LEN} bytes");
            return self.api_answer(request, ApiAnswer::Invalid(text));
        }
        let from = format!("api:{key_name}");
        let delivered = self.notify_local(subject, payload.clone(), from.clone());
        self.relay.push(NodeMessage::Notification {
            subject: subject.to_owned(),
            payload,
            from,
        });
        self.api_answer(request, ApiAnswer::Notified { delivered });
    }

    /// Sends `notification {payload, from}` to this node's connections of `subject` (past
    /// `hello`, in connection order); how many.
    pub(super) fn notify_local(&mut self, subject: &str, payload: Json, from: String) -> u64 {
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
            let msg = ServerMessage::Notification { payload, from };
            let frame: Arc<str> = Arc::from(codec::encode_server(&msg));
            for &conn in &targets {
                self.send_frame(conn, Arc::clone(&frame));
            }
        }
        targets.len() as u64
    }
}
