//! Presence (join / update / leave, `presence_sync`) and ephemeral `broadcast`; in cluster mode
//! both also reach and come from other nodes (`relay.rs`).

use std::sync::Arc;

use tether_protocol::Json;
use tether_protocol::{codec, ErrorCode, PresenceMember, ServerMessage};

use super::relay::{presence_event, NodeMessage};
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
        self.broadcast_from(conn, channel, payload, from);
    }

    /// Delivers a broadcast to this node's subscribers of `channel` but `except`, then relays
    /// it to the other nodes (cluster mode), which deliver it to theirs.
    pub(super) fn broadcast_from(
        &mut self,
        except: ConnId,
        channel: String,
        payload: Json,
        from: String,
    ) {
        let msg = ServerMessage::Broadcast {
            channel: channel.clone(),
            payload,
            from,
        };
        self.send_to_channel(&channel, except, &msg);
        if self.relay.enabled() {
            if let ServerMessage::Broadcast {
                channel,
                payload,
                from,
            } = msg
            {
                self.relay.push(NodeMessage::Broadcast {
                    channel,
                    payload,
                    from,
                });
            }
        }
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
        let before = self.visible_presence(&channel, &client_id);
        let Some(ch) = self.channels.get_mut(&channel) else {
            return;
        };
        ch.presence.insert(
            client_id.clone(),
            PresenceEntry {
                state: state.clone(),
                conn,
            },
        );
        self.relay.push(NodeMessage::Presence {
            channel: channel.clone(),
            client_id: client_id.clone(),
            state: Some(state.clone()),
        });
        // A state set again is an `update` even when equal (the client asked for it).
        if let Some(msg) = presence_event(&channel, &client_id, before.as_ref(), Some(state), true)
        {
            self.send_to_channel(&channel, conn, &msg);
        }
    }

    /// Removes `client_id`'s presence on `channel` if `conn` set it, telling the others (a
    /// `leave`, or an `update` to the state another node still has for the client).
    pub(super) fn presence_leave(&mut self, conn: ConnId, client_id: &str, channel: &str) {
        let before = self.visible_presence(channel, client_id);
        let Some(ch) = self.channels.get_mut(channel) else {
            return;
        };
        if ch.presence.get(client_id).is_none_or(|p| p.conn != conn) {
            return;
        }
        ch.presence.remove(client_id);
        self.relay.push(NodeMessage::Presence {
            channel: channel.to_owned(),
            client_id: client_id.to_owned(),
            state: None,
        });
        self.presence_changed(channel, client_id, before, conn);
    }

    /// What this node's subscribers see of `client_id` on `channel`: its state set on this
    /// node, else the one another node has for it.
    pub(super) fn visible_presence(&self, channel: &str, client_id: &str) -> Option<Json> {
        self.channels
            .get(channel)
            .and_then(|ch| ch.presence.get(client_id))
            .map(|p| p.state.clone())
            .or_else(|| self.relay.remote_state(channel, client_id).cloned())
    }

    /// Tells the subscribers of `channel` (but `except`) that `client_id`'s visible state
    /// changed from `before`, if it did.
    pub(super) fn presence_changed(
        &mut self,
        channel: &str,
        client_id: &str,
        before: Option<Json>,
        except: ConnId,
    ) {
        let after = self.visible_presence(channel, client_id);
        if let Some(msg) = presence_event(channel, client_id, before.as_ref(), after, false) {
            self.send_to_channel(channel, except, &msg);
        }
    }

    /// Sends the channel's current presence set to one connection.
    pub(super) fn send_presence_sync(&mut self, conn: ConnId, channel: &str) {
        // Members of other nodes, then this node's (which win for a client on both).
        let mut all = self.relay.remote_members(channel);
        if let Some(ch) = self.channels.get(channel) {
            for (client_id, p) in &ch.presence {
                all.insert(client_id.clone(), p.state.clone());
            }
        }
        let members = all
            .into_iter()
            .map(|(client_id, state)| PresenceMember { client_id, state })
            .collect();
        let msg = ServerMessage::PresenceSync {
            channel: channel.to_owned(),
            members,
        };
        self.send_msg(conn, &msg);
    }
}
