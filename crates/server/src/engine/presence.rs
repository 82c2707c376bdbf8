//! Presence (join / update / leave, `presence_sync`) and ephemeral `broadcast`.

use std::sync::Arc;

use tether_protocol::Json;
use tether_protocol::{codec, ErrorCode, PresenceEvent, PresenceMember, ServerMessage};

use super::{with_channel, ConnId, ServerEngine};
use crate::store::Store;

/// One present client on a channel.
#[derive(Debug, Clone)]
pub(crate) struct PresenceEntry {
    pub(crate) state: Json,
    /// The connection that set it; its departure is the client's leave.
    pub(crate) conn: ConnId,
}

impl<S: Store> ServerEngine<S> {
    /// The connection's client id if it is subscribed to `channel`, else a `NOT_SUBSCRIBED`
    /// error is sent.
    fn subscribed_client(&mut self, conn: ConnId, channel: &str) -> Option<String> {
        let c = self.conns.get(&conn)?;
        if c.subscriptions.contains_key(channel) {
            return c.client_id.clone();
        }
        let message = format!("subscribe to {channel} first");
        self.send_error(
            conn,
            ErrorCode::NotSubscribed,
            message,
            with_channel(channel),
        );
        None
    }

    /// Sends `frame` to every subscriber of `channel` except `except`.
    pub(super) fn send_to_channel(&mut self, channel: &str, except: ConnId, msg: &ServerMessage) {
        let Some(state) = self.channels.get(channel) else {
            return;
        };
        let targets: Vec<ConnId> = state
            .subscribers
            .iter()
            .copied()
            .filter(|c| *c != except)
            .collect();
        if targets.is_empty() {
            return;
        }
        let frame: Arc<str> = Arc::from(codec::encode_server(msg));
        for conn in targets {
            self.send_frame(conn, Arc::clone(&frame));
        }
    }

    pub(super) fn handle_broadcast(&mut self, conn: ConnId, channel: String, payload: Json) {
        let Some(from) = self.subscribed_client(conn, &channel) else {
            return;
        };
        if !self.conns.get(&conn).is_some_and(|c| c.may_write(&channel)) {
            let message = format!("the token does not allow writing channel {channel}");
            self.send_error(conn, ErrorCode::Forbidden, message, with_channel(&channel));
            return;
        }
        let msg = ServerMessage::Broadcast {
            channel: channel.clone(),
            payload,
            from,
        };
        self.send_to_channel(&channel, conn, &msg);
    }

    pub(super) fn handle_presence(&mut self, conn: ConnId, channel: String, state: Option<Json>) {
        let Some(client_id) = self.subscribed_client(conn, &channel) else {
            return;
        };
        let state = state.filter(|s| !s.is_null());
        let Some(state) = state else {
            self.presence_leave(conn, &client_id, &channel);
            return;
        };
        let Some(ch) = self.channels.get_mut(&channel) else {
            return;
        };
        let event = if ch.presence.contains_key(&client_id) {
            PresenceEvent::Update
        } else {
            PresenceEvent::Join
        };
        ch.presence.insert(
            client_id.clone(),
            PresenceEntry {
                state: state.clone(),
                conn,
            },
        );
        let msg = ServerMessage::Presence {
            channel: channel.clone(),
            event,
            client_id,
            state: Some(state),
        };
        self.send_to_channel(&channel, conn, &msg);
    }

    /// Removes `client_id`'s presence on `channel` if `conn` set it, telling the others.
    pub(super) fn presence_leave(&mut self, conn: ConnId, client_id: &str, channel: &str) {
        let Some(ch) = self.channels.get_mut(channel) else {
            return;
        };
        if ch.presence.get(client_id).is_none_or(|p| p.conn != conn) {
            return;
        }
        ch.presence.remove(client_id);
        let msg = ServerMessage::Presence {
            channel: channel.to_owned(),
            event: PresenceEvent::Leave,
            client_id: client_id.to_owned(),
            state: None,
        };
        self.send_to_channel(channel, conn, &msg);
    }

    /// Sends the channel's current presence set to one connection.
    pub(super) fn send_presence_sync(&mut self, conn: ConnId, channel: &str) {
        let members = self
            .channels
            .get(channel)
            .map(|ch| {
                ch.presence
                    .iter()
                    .map(|(client_id, p)| PresenceMember {
                        client_id: client_id.clone(),
                        state: p.state.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let msg = ServerMessage::PresenceSync {
            channel: channel.to_owned(),
            members,
        };
        self.send_msg(conn, &msg);
    }
}
