//! Unit tests of the engine, one file per concern, over a [`MemoryStore`].

mod api;
mod auth;
mod auth_keys;
mod batch;
mod bindings;
mod closed_mid_decision;
mod cluster;
mod cluster_faults;
mod dedupe_expiry;
mod event_kinds;
mod failed_batch;
mod flow;
mod forward;
mod fuzz;
mod limits;
mod malformed_mutate;
mod mutations;
mod notify;
mod presence;
mod registry;
mod relay;
mod requests;
mod session;
mod shared_client_id;
mod snapshot_pages;
mod subscriptions;
mod token_refresh;

use serde_json::{json, Value};
use tether_protocol::{codec, CloseCode, ServerMessage};

use super::{ConnId, ConnectInfo, Output, ServerConfig, ServerEngine};
use crate::store::MemoryStore;

/// A decoded output.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Got {
    Msg(ConnId, ServerMessage),
    Close(ConnId, CloseCode),
}

/// Drives one engine with virtual time.
pub(super) struct H {
    pub(super) e: ServerEngine<MemoryStore>,
    pub(super) now: u64,
}

impl H {
    pub(super) fn new() -> H {
        H::with(ServerConfig::default())
    }

    pub(super) fn with(config: ServerConfig) -> H {
        H::on(config, MemoryStore::new("ep1".into()))
    }

    pub(super) fn on(config: ServerConfig, store: MemoryStore) -> H {
        let mut e = ServerEngine::new(config, store);
        e.set_unix_time_ms(1_700_000_000_000);
        H { e, now: 0 }
    }

    /// Connects without hello.
    pub(super) fn raw(&mut self) -> ConnId {
        self.e.connect(self.now, ConnectInfo::default())
    }

    /// Connects and completes the handshake as `client`.
    pub(super) fn conn(&mut self, client: &str) -> ConnId {
        let c = self.raw();
        self.send(
            c,
            json!({"type": "hello", "protocol": 1, "client_id": client}),
        );
        let got = self.drain();
        assert!(
            matches!(got.as_slice(), [Got::Msg(_, ServerMessage::Welcome { .. })]),
            "{got:?}"
        );
        c
    }

    pub(super) fn send(&mut self, conn: ConnId, v: Value) {
        let text = v.to_string();
        self.e.handle_frame(self.now, conn, text.as_bytes());
    }

    pub(super) fn drain(&mut self) -> Vec<Got> {
        let mut got = Vec::new();
        while let Some(out) = self.e.poll_output() {
            got.push(match out {
                Output::Send { conn, frame } => {
                    // A prompt reader: every frame is written at once.
                    self.e.handle_written(self.now, conn, 1);
                    let msg = codec::decode_server(frame.as_bytes())
                        .unwrap_or_else(|e| panic!("engine sent undecodable {frame}: {e}"));
                    Got::Msg(conn, msg)
                }
                Output::Close { conn, code } => Got::Close(conn, code),
            });
        }
        got
    }

    /// Messages for one connection out of a drained batch.
    pub(super) fn to(got: &[Got], conn: ConnId) -> Vec<ServerMessage> {
        got.iter()
            .filter_map(|g| match g {
                Got::Msg(c, m) if *c == conn => Some(m.clone()),
                _ => None,
            })
            .collect()
    }

    /// Sends and returns the messages to `conn` only.
    pub(super) fn call(&mut self, conn: ConnId, v: Value) -> Vec<ServerMessage> {
        self.send(conn, v);
        let got = self.drain();
        H::to(&got, conn)
    }

    pub(super) fn subscribe(&mut self, conn: ConnId, channel: &str) -> Vec<ServerMessage> {
        self.call(conn, json!({"type": "subscribe", "channel": channel}))
    }

    pub(super) fn put(&mut self, conn: ConnId, mid: u64, id: &str, doc: Value) -> Vec<Got> {
        self.send(
            conn,
            json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put", "id": id, "doc": doc}),
        );
        self.drain()
    }

    pub(super) fn advance(&mut self, ms: u64) -> Vec<Got> {
        let target = self.now + ms;
        while let Some(at) = self.e.poll_timeout().filter(|at| *at <= target) {
            self.now = self.now.max(at);
            self.e.handle_timeout(self.now);
        }
        self.now = target;
        self.e.handle_timeout(self.now);
        self.drain()
    }
}

/// The error code of a message, if it is an error.
pub(super) fn error_code(msg: &ServerMessage) -> Option<tether_protocol::ErrorCode> {
    match msg {
        ServerMessage::Error { code, .. } => Some(*code),
        _ => None,
    }
}
