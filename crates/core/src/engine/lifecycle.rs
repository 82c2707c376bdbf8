//! Inputs from the shell: connection lifecycle, frames, timers, network and visibility.

use tether_protocol::{codec, ClientMessage, CloseCode, Limits, PROTOCOL_VERSION};

use super::{Burst, Engine, Queued};
use crate::budget::SendBudget;
use crate::config::Auth;
use crate::connection::ConnectionState;
use crate::continuity::SubState;
use crate::error::{ConnectionError, RequestError};
use crate::output::Output;
use crate::timer::Timer;

impl Engine {
    /// Starts connecting (from idle, or again after `close` / giving up).
    pub fn connect(&mut self, now: u64) {
        if matches!(self.state, ConnectionState::Idle | ConnectionState::Closed) {
            self.backoff.reset();
            self.start_attempt(now);
        }
        self.finish(now);
    }

    /// Stops: closes the socket, fails outstanding requests, keeps the outbox and cache.
    pub fn close(&mut self, now: u64) {
        if self.state.has_socket() {
            self.outputs.push_back(Output::CloseSocket {
                code: CloseCode::Normal.as_u16(),
                reason: "client closed".into(),
            });
        }
        self.drop_connection(now);
        self.state = ConnectionState::Closed;
        for timer in [Timer::Reconnect, Timer::Handshake] {
            self.timers.stop(timer);
        }
        self.queue.clear();
        let ids = self.requests.keys_where(&|_| true);
        for id in ids {
            self.respond(id, Err(RequestError::Closed));
        }
        self.flush_cache();
        self.finish(now);
    }

    /// The socket asked for by `OpenSocket` is open.
    pub fn socket_opened(&mut self, now: u64) {
        if self.state == ConnectionState::Connecting {
            self.state = ConnectionState::Handshaking;
            // This `hello` carries the newest token.
            self.auth_after_welcome = false;
            let hello = ClientMessage::Hello {
                protocol: PROTOCOL_VERSION,
                client_id: self.client_id.clone(),
                token: self.token.clone(),
                // With a provider, a fresh token can be handed over on this connection
                // (`token_expiring` → `NeedToken` → `set_token` → `auth`).
                refresh: self.config.auth == Auth::Provider,
            };
            self.send(&hello);
        }
        self.finish(now);
    }

    /// The socket closed (or failed to open) with this close code (1006 when there was no
    /// close frame).
    pub fn socket_closed(&mut self, now: u64, code: u16) {
        if self.state.has_socket() {
            self.last_error = Some(match CloseCode::from_u16(code) {
                CloseCode::AuthFailed => ConnectionError::AuthFailed,
                CloseCode::UnsupportedVersion => ConnectionError::UnsupportedVersion,
                CloseCode::ClientIdTaken => ConnectionError::ClientIdTaken,
                _ => ConnectionError::ConnectionClosed { code },
            });
            self.drop_connection(now);
            self.next_endpoint();
            if CloseCode::from_u16(code) != CloseCode::RateLimited {
                // The `retry_after_ms` of a RATE_LIMITED only floors the delay of a
                // reconnect caused by flooding (4008), never an unrelated one.
                self.retry_hint = None;
            }
            match CloseCode::from_u16(code) {
                // Retrying the same id fails again: stop, and say why (the app creates a client
                // with an id of its own, e.g. a `dbName` per signed-in user).
                CloseCode::UnsupportedVersion | CloseCode::ClientIdTaken => {
                    self.state = ConnectionState::Closed;
                }
                CloseCode::GoingAway => {
                    // The server is restarting: come back at once (still counted).
                    self.backoff.count_immediate();
                    self.start_attempt(now);
                }
                CloseCode::AuthFailed => {
                    self.token_stale = true;
                    if self.config.auth == Auth::Provider {
                        self.schedule_retry(now);
                    } else {
                        // A fixed token was refused: sending it again cannot succeed. Wait,
                        // with `AuthFailed` as the last error, for the app's `set_token`.
                        self.await_new_token();
                    }
                }
                _ => self.schedule_retry(now),
            }
        }
        self.finish(now);
    }

    /// A frame arrived on the socket: one message, or several separated by `\n` when the
    /// socket negotiated [`tether_protocol::LINES_SUBPROTOCOL`] (handled in order, one flush
    /// decision for all of them).
    pub fn handle_message(&mut self, now: u64, bytes: &[u8]) {
        if matches!(
            self.state,
            ConnectionState::Handshaking | ConnectionState::Ready
        ) {
            self.ingest.counters.frames_received += 1;
            if self.state == ConnectionState::Ready {
                self.timers
                    .set(Timer::DeadLink, now + self.heartbeat.dead_after_ms);
            }
            let mut messages = 0usize;
            for message in codec::split_frame(bytes) {
                messages += 1;
                if !matches!(
                    self.state,
                    ConnectionState::Handshaking | ConnectionState::Ready
                ) {
                    break; // an earlier message of the frame ended the connection
                }
                // The frequent `event` straight from its text; anything else (or an event in
                // a rarer form) through the full decoder.
                if let Some(event) = codec::decode_event(message) {
                    self.on_event(now, event);
                    continue;
                }
                match codec::decode_server(message) {
                    Ok(msg) => self.dispatch(now, msg),
                    Err(e) => {
                        self.ingest.counters.decode_errors += 1;
                        self.last_error = Some(ConnectionError::Decode(e));
                    }
                }
            }
            // What the frame says of a burst, counted in the same pass (see `Burst`).
            self.burst = if bytes.len() >= tether_protocol::MAX_JOINED_FRAME_BYTES {
                Burst::Continues
            } else if messages > 1 {
                Burst::Backlog
            } else {
                Burst::None
            };
        }
        self.finish(now);
    }

    /// Deadlines at or before `now` fire. Extra calls are harmless.
    pub fn handle_timeout(&mut self, now: u64) {
        for timer in self.timers.take_expired(now) {
            match timer {
                Timer::Reconnect => {
                    if self.state == ConnectionState::Backoff {
                        self.start_attempt(now);
                    }
                }
                Timer::Handshake => match self.state {
                    ConnectionState::Connecting | ConnectionState::Handshaking => {
                        self.close_locally(
                            now,
                            ConnectionError::HandshakeTimeout,
                            "handshake timeout",
                        );
                    }
                    ConnectionState::AwaitingToken => {
                        self.last_error = Some(ConnectionError::TokenUnavailable);
                        self.schedule_retry(now);
                    }
                    _ => {}
                },
                Timer::Ping => {
                    if self.state == ConnectionState::Ready {
                        self.send_ping(now);
                    }
                }
                Timer::DeadLink => {
                    if self.state == ConnectionState::Ready {
                        self.close_locally(now, ConnectionError::DeadLink, "heartbeat timeout");
                    }
                }
                Timer::Flush => self.flush(now),
                Timer::CacheFlush => self.flush_cache(),
                Timer::Resubscribe => {
                    if self.state == ConnectionState::Ready {
                        self.resend_subscriptions(now);
                    }
                }
                Timer::SubscribeDeadline => {
                    if self.state == ConnectionState::Ready {
                        self.check_subscribe_deadline(now);
                    }
                }
                Timer::AckDeadline => {
                    if self.state == ConnectionState::Ready {
                        self.check_ack_deadline(now);
                    }
                }
                Timer::Drain => self.drain_queue(now),
            }
        }
        let expired = self.requests.keys_where(&|r| r.deadline <= now);
        for id in expired {
            self.respond(id, Err(RequestError::Timeout));
        }
        self.finish(now);
    }

    /// The device is online again (`online` event): retry at once.
    pub fn went_online(&mut self, now: u64) {
        self.online = true;
        if matches!(
            self.state,
            ConnectionState::Offline | ConnectionState::Backoff
        ) {
            self.start_attempt(now);
        }
        self.finish(now);
    }

    /// The device went offline (`offline` event): close the socket, if any, and stop retrying
    /// until `went_online`. The socket is not kept on the hope that it still works: writes sent
    /// on a link the browser reports gone would sit unacknowledged in its buffer, while closing
    /// costs one resume by offset when the device is back.
    pub fn went_offline(&mut self, now: u64) {
        self.flush_cache();
        self.online = false;
        if self.state.has_socket() {
            self.outputs.push_back(Output::CloseSocket {
                code: CloseCode::Normal.as_u16(),
                reason: "offline".into(),
            });
            self.drop_connection(now);
            self.state = ConnectionState::Offline;
        } else if matches!(
            self.state,
            ConnectionState::Backoff | ConnectionState::AwaitingToken
        ) {
            self.timers.stop(Timer::Reconnect);
            self.timers.stop(Timer::Handshake);
            self.state = ConnectionState::Offline;
        }
        self.finish(now);
    }

    /// The page became visible or hidden. Becoming visible retries a waiting reconnect at once
    /// and probes an open connection with a ping (timers of hidden tabs are throttled).
    pub fn set_visible(&mut self, now: u64, visible: bool) {
        let was = self.visible;
        self.visible = visible;
        if !visible {
            // The page may be discarded while hidden: the cache waits no longer.
            self.flush_cache();
        }
        if visible && !was {
            match self.state {
                ConnectionState::Backoff => self.start_attempt(now),
                ConnectionState::Ready => self.send_ping(now),
                _ => {}
            }
        }
        self.finish(now);
    }

    /// The token provider answered, or the app set a new token (None: connect without a
    /// token). While the engine waits for a token (after `NeedToken`) it connects at once;
    /// on an open session (`Ready`) a token is sent at once with `auth`, so the session runs
    /// on it without a reconnect (a refused one leaves the old token in force: the server's
    /// `error AUTH_INVALID` becomes the last error), and while `hello` awaits its `welcome`
    /// it is sent with `auth` right after the `welcome`; in any case the token is used for
    /// the connections that follow.
    pub fn set_token(&mut self, now: u64, token: Option<String>) {
        self.token = token;
        self.token_stale = false;
        match self.state {
            ConnectionState::AwaitingToken => self.open_socket(now),
            ConnectionState::Ready => {
                if let Some(token) = self.token.clone() {
                    self.send(&ClientMessage::Auth { token });
                }
            }
            ConnectionState::Handshaking => self.auth_after_welcome = self.token.is_some(),
            _ => {}
        }
        self.finish(now);
    }

    /// The token provider failed: retry later with backoff (on an open session, after a
    /// `token_expiring`, nothing changes: the old token stays until the server closes the
    /// connection at its expiry with 4001, and the reconnect asks the provider again).
    pub fn token_failed(&mut self, now: u64) {
        if self.state == ConnectionState::AwaitingToken {
            self.timers.stop(Timer::Handshake);
            self.last_error = Some(ConnectionError::TokenUnavailable);
            self.schedule_retry(now);
        }
        self.finish(now);
    }

    // ---- transitions ----

    fn start_attempt(&mut self, now: u64) {
        self.timers.stop(Timer::Reconnect);
        if !self.online {
            self.state = ConnectionState::Offline;
        } else if self.token_stale && self.config.auth != Auth::Provider {
            self.await_new_token();
        } else if self.token_stale || self.config.auth == Auth::Provider {
            self.state = ConnectionState::AwaitingToken;
            self.outputs.push_back(Output::NeedToken);
            self.timers
                .set(Timer::Handshake, now + self.config.handshake_timeout_ms);
        } else {
            self.open_socket(now);
        }
    }

    /// Waits, without a deadline or retries, for `set_token` (a fixed token was refused).
    fn await_new_token(&mut self) {
        self.timers.stop(Timer::Reconnect);
        self.timers.stop(Timer::Handshake);
        self.state = ConnectionState::AwaitingToken;
        self.outputs.push_back(Output::NeedToken);
    }

    fn open_socket(&mut self, now: u64) {
        self.state = ConnectionState::Connecting;
        self.outputs.push_back(Output::OpenSocket);
        self.timers
            .set(Timer::Handshake, now + self.config.handshake_timeout_ms);
    }

    /// Waits for the backoff delay (or goes offline / gives up).
    fn schedule_retry(&mut self, now: u64) {
        if !self.online {
            self.state = ConnectionState::Offline;
            return;
        }
        let hint = self.retry_hint.take();
        match self.backoff.next_delay(&mut self.rng, hint) {
            Some(delay) => {
                self.state = ConnectionState::Backoff;
                self.timers.set(Timer::Reconnect, now + delay);
            }
            None => {
                self.state = ConnectionState::Closed;
                self.last_error = Some(ConnectionError::GaveUp {
                    attempts: self.backoff.attempt(),
                });
            }
        }
    }

    /// Closes the socket from our side and retries with backoff.
    pub(super) fn close_locally(&mut self, now: u64, error: ConnectionError, reason: &str) {
        self.outputs.push_back(Output::CloseSocket {
            code: CloseCode::Normal.as_u16(),
            reason: reason.into(),
        });
        self.last_error = Some(error);
        self.drop_connection(now);
        self.next_endpoint();
        self.retry_hint = None;
        self.schedule_retry(now);
    }

    /// The connection failed or dropped: the next attempt goes to the next endpoint
    /// (round-robin). Not called when the app closes or the device goes offline.
    fn next_endpoint(&mut self) {
        self.endpoint = (self.endpoint + 1) % self.config.endpoints.max(1);
    }

    /// Forgets everything tied to the current connection.
    fn drop_connection(&mut self, now: u64) {
        if self.state == ConnectionState::Ready {
            self.backoff.link_down(now);
        }
        // Frames still held for a write belong to this socket: the outbox is resent after the
        // next connect, so they are never sent on another.
        self.barrier.drop_frames();
        for timer in [
            Timer::Handshake,
            Timer::Ping,
            Timer::DeadLink,
            Timer::Resubscribe,
            Timer::SubscribeDeadline,
            Timer::AckDeadline,
        ] {
            self.timers.stop(timer);
        }
        self.outbox.connection_lost();
        for ch in self.channels.values_mut() {
            ch.sub.connection_lost();
        }
        let in_flight = self.requests.keys_where(&|r| r.sent);
        for id in in_flight {
            self.respond(id, Err(RequestError::ConnectionLost));
        }
    }

    /// `welcome` arrived: resubscribe, resend the outbox in order, drain the offline queue.
    pub(super) fn on_ready(&mut self, now: u64, server_heartbeat_ms: u64, limits: &Limits) {
        self.state = ConnectionState::Ready;
        self.budget = Some(SendBudget::new(now, limits.rate_per_sec, limits.rate_burst));
        // A rate-limit hint of an earlier connection says nothing about later reconnects.
        self.retry_hint = None;
        self.timers.stop(Timer::Handshake);
        self.backoff.link_up(now);
        self.ingest.counters.connections += 1;
        self.last_error = None;
        self.heartbeat.start(
            server_heartbeat_ms,
            self.config.ping_interval_ms,
            self.config.dead_link_timeout_ms,
        );
        self.timers
            .set(Timer::Ping, now + self.heartbeat.interval_ms);
        self.timers
            .set(Timer::DeadLink, now + self.heartbeat.dead_after_ms);
        // A token set while `hello` was on its way, before the subscriptions (whose grants it
        // may change).
        if std::mem::take(&mut self.auth_after_welcome) {
            if let Some(token) = self.token.clone() {
                self.send(&ClientMessage::Auth { token });
            }
        }
        self.send_subscriptions(now);
        self.send_unsent(now);
        self.drain_queue(now);
    }

    /// Sends the mutations not yet sent on this connection, in order, and arms the ack
    /// deadline if none is armed.
    pub(super) fn send_unsent(&mut self, now: u64) {
        for m in self.outbox.take_unsent() {
            self.send(&m.to_message());
        }
        if self.timers.get(Timer::AckDeadline).is_none() {
            self.arm_ack_deadline(now);
        }
    }

    /// Mutations sent on this connection must see an answer within the handshake timeout
    /// from `now` (a send with none awaited, or an answer); none awaited: no deadline.
    pub(super) fn arm_ack_deadline(&mut self, now: u64) {
        if self.outbox.unanswered() == 0 {
            self.timers.stop(Timer::AckDeadline);
        } else {
            self.timers
                .set(Timer::AckDeadline, now + self.config.handshake_timeout_ms);
        }
    }

    /// The ack deadline passed with mutations unanswered: their answers were lost (a server or
    /// proxy dropped frames on a connection that otherwise works). Replace the connection,
    /// which sends them again (the server's dedupe answers each once).
    fn check_ack_deadline(&mut self, now: u64) {
        if self.outbox.unanswered() > 0 {
            self.close_locally(now, ConnectionError::AckTimeout, "ack timeout");
        }
    }

    /// Sends queued broadcasts and requests, and presence states the server dropped, as far as
    /// the send budget allows; arms `Timer::Drain` for the rest.
    pub(super) fn drain_queue(&mut self, now: u64) {
        if self.state != ConnectionState::Ready {
            return;
        }
        let resend = self.channels.keys_where(&|c| c.presence_resend);
        for name in resend {
            if !self.budget_allows(now) {
                break;
            }
            if let Some(ch) = self.channels.get_mut(&name) {
                ch.presence_resend = false;
                let msg = ClientMessage::Presence {
                    channel: name,
                    state: ch.presence.clone(),
                };
                self.send(&msg);
            }
        }
        while !self.queue.is_empty() && self.budget_allows(now) {
            let Some(q) = self.queue.pop_front() else {
                break;
            };
            match q {
                Queued::Broadcast { channel, payload } => {
                    self.send(&ClientMessage::Broadcast { channel, payload });
                }
                Queued::Request { id, method, body } => {
                    if let Some(r) = self.requests.get_mut(&id) {
                        r.sent = true;
                        self.send(&ClientMessage::Request { id, method, body });
                    }
                }
            }
        }
        let waiting = !self.queue.is_empty() || self.channels.values().any(|c| c.presence_resend);
        match (waiting, self.budget.as_mut()) {
            (true, Some(budget)) => {
                let at = budget.ready_at(now).max(now + 1);
                self.timers.set(Timer::Drain, at);
            }
            _ => self.timers.stop(Timer::Drain),
        }
    }

    /// Whether the server's rate limit (as announced) has room for one more frame now.
    pub(super) fn budget_allows(&mut self, now: u64) -> bool {
        self.budget.as_mut().is_none_or(|b| b.has_token(now))
    }

    fn send_ping(&mut self, now: u64) {
        let nonce = self.heartbeat.ping(now);
        self.send(&ClientMessage::Ping { nonce });
        self.timers
            .set(Timer::Ping, now + self.heartbeat.interval_ms);
    }

    /// Sends `subscribe` (and our presence) for every channel not yet subscribed on this
    /// connection.
    pub(super) fn send_subscriptions(&mut self, now: u64) {
        let names = self
            .channels
            .keys_where(&|c| c.sub.state == SubState::NotSent);
        for name in names {
            self.resubscribe(now, &name);
            if let Some(state) = self.channels.get(&name).and_then(|c| c.presence.clone()) {
                self.send(&ClientMessage::Presence {
                    channel: name,
                    state: Some(state),
                });
            }
        }
    }

    /// After a rate limiter dropped frames: sends subscriptions that were refused outright,
    /// and sends again (identically) those that may have been dropped silently.
    fn resend_subscriptions(&mut self, now: u64) {
        self.send_subscriptions(now);
        let names = self
            .channels
            .keys_where(&|c| c.sub.resend_due && matches!(c.sub.state, SubState::Pending { .. }));
        for name in names {
            if let Some(ch) = self.channels.get_mut(&name) {
                ch.sub.resend_due = false;
                if ch.sub.sent_key.as_ref() != Some(&ch.sub.filter_key) {
                    // The views changed since it was sent: the identical frame cannot be made
                    // again, and a different one could be answered by the first. Only a new
                    // connection keeps answers unambiguous; every channel is subscribed on it.
                    ch.sub.state = SubState::NotSent;
                    self.close_locally(now, ConnectionError::SubscribeTimeout, "resubscribe");
                    return;
                }
                ch.sub.resent = true;
                ch.sub.state = SubState::Pending { sent_at: now };
                let msg = subscribe_frame(&name, &ch.sub);
                self.send(&msg);
            }
        }
        self.arm_subscribe_deadline(now);
    }

    /// (Re)subscribes a channel with its current filter and, when valid, `since`. While an
    /// answer is awaited the new subscribe waits for it, so every answer is attributable.
    pub(super) fn resubscribe(&mut self, now: u64, name: &str) {
        let ready = self.state == ConnectionState::Ready;
        let Some(ch) = self.channels.get_mut(name) else {
            return;
        };
        if !ready {
            ch.sub.state = SubState::NotSent;
            return;
        }
        if matches!(ch.sub.state, SubState::Pending { .. }) {
            ch.sub.deferred = true;
            return;
        }
        if ch.sub.resent && ch.sub.sent_key.as_ref() != Some(&ch.sub.filter_key) {
            // An identical earlier answer may still be on its way: only a new connection
            // keeps answers unambiguous. The channel is subscribed on the next one.
            ch.sub.state = SubState::NotSent;
            self.close_locally(now, ConnectionError::SubscribeTimeout, "resubscribe");
            return;
        }
        ch.sub.state = SubState::Pending { sent_at: now };
        ch.sub.sent_key = Some(ch.sub.filter_key.clone());
        let msg = subscribe_frame(name, &ch.sub);
        self.send(&msg);
        self.arm_subscribe_deadline(now);
    }

    fn arm_subscribe_deadline(&mut self, now: u64) {
        let timeout = self.config.handshake_timeout_ms;
        let earliest = self
            .channels
            .values()
            .filter_map(|c| match c.sub.state {
                SubState::Pending { sent_at } => Some(sent_at + timeout),
                _ => None,
            })
            .min();
        match earliest {
            Some(at) => self.timers.set(Timer::SubscribeDeadline, at.max(now)),
            None => self.timers.stop(Timer::SubscribeDeadline),
        }
    }

    /// A subscribe unanswered for the handshake timeout: replace the connection.
    fn check_subscribe_deadline(&mut self, now: u64) {
        let timeout = self.config.handshake_timeout_ms;
        let overdue = self.channels.values().any(
            |c| matches!(c.sub.state, SubState::Pending { sent_at } if sent_at + timeout <= now),
        );
        if overdue {
            self.close_locally(now, ConnectionError::SubscribeTimeout, "subscribe timeout");
        } else {
            self.arm_subscribe_deadline(now);
        }
    }
}

fn subscribe_frame(name: &str, sub: &crate::continuity::Subscription) -> ClientMessage {
    ClientMessage::Subscribe {
        channel: name.to_owned(),
        filter: sub.selector.filter.as_ref().map(|f| f.to_value()),
        ids: sub.selector.ids.as_ref().map(|ids| ids.to_value()),
        since: sub.since(),
    }
}
