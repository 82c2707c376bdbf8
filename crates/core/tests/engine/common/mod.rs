//! A scripted driver for behaviour tests of the engine: frames from the "server" are written
//! by the test itself; the simulation (`simulation.rs`) uses the real server engine.
#![allow(dead_code)]

use tether_core::{Config, Engine, Output, Persist, PersistedState, WriteBatch};
use tether_protocol::Json;
use tether_protocol::{
    codec, ClientMessage, Continuity, Document, EventOp, Limits, Origin, ServerMessage,
};

pub struct Driver {
    pub engine: Engine,
    pub now: u64,
    pub persisted: PersistedState,
    /// Every write made durable, in order.
    pub writes: Vec<Persist>,
    /// Leave write batches in flight (`take_writes` at `WriteReady`) until the test finishes
    /// them with `finish_write`; by default each is durable at once.
    pub manual_writes: bool,
    /// The batch in flight (with `manual_writes`).
    pub in_flight: Option<WriteBatch>,
    /// Fail the next batch with this message.
    pub fail_next_write: Option<String>,
}

impl Driver {
    pub fn new(config: Config) -> Driver {
        Driver::from_engine(Engine::new(config, "me", 7))
    }

    pub fn from_engine(engine: Engine) -> Driver {
        let mut d = Driver {
            engine,
            now: 0,
            persisted: PersistedState::default(),
            writes: Vec::new(),
            manual_writes: false,
            in_flight: None,
            fail_next_write: None,
        };
        d.drain();
        d
    }

    /// Drains outputs; write batches are made durable in `persisted` at once (unless
    /// `manual_writes`), or fail once with `fail_next_write`.
    pub fn drain(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some(o) = self.engine.poll_output() {
            if o == Output::WriteReady {
                if let Some(batch) = self.engine.take_writes() {
                    self.in_flight = Some(batch);
                    if !self.manual_writes {
                        self.finish_write();
                    }
                }
            }
            out.push(o);
        }
        out
    }

    /// Completes the batch in flight: durable, or failed with `fail_next_write`.
    pub fn finish_write(&mut self) {
        let Some(batch) = self.in_flight.take() else {
            return;
        };
        match self.fail_next_write.take() {
            Some(message) => self.engine.write_done(self.now, batch.id, Err(message)),
            None => {
                for w in &batch.writes {
                    self.persisted.apply(w);
                }
                self.writes.extend(batch.writes);
                self.engine.write_done(self.now, batch.id, Ok(()));
            }
        }
    }

    /// Drains outputs and returns the frames sent.
    pub fn sent(&mut self) -> Vec<ClientMessage> {
        sent_of(&self.drain())
    }

    pub fn server(&mut self, msg: ServerMessage) {
        let frame = codec::encode_server(&msg);
        self.engine.handle_message(self.now, frame.as_bytes());
    }

    /// connect → socket open → welcome; returns the frames sent after `welcome`.
    pub fn connect_ready(&mut self) -> Vec<ClientMessage> {
        self.engine.connect(self.now);
        let out = self.drain();
        assert!(out.contains(&Output::OpenSocket), "{out:?}");
        self.engine.socket_opened(self.now);
        let hello = self.sent();
        assert!(
            matches!(hello[..], [ClientMessage::Hello { .. }]),
            "{hello:?}"
        );
        self.server(welcome());
        self.sent()
    }

    /// Advances virtual time to `to`, firing every deadline on the way.
    pub fn advance(&mut self, to: u64) -> Vec<Output> {
        let mut out = Vec::new();
        while let Some(at) = self.engine.poll_timeout() {
            if at > to {
                break;
            }
            self.now = self.now.max(at);
            self.engine.handle_timeout(self.now);
            out.extend(self.drain());
        }
        self.now = self.now.max(to);
        out
    }
}

pub fn sent_of(out: &[Output]) -> Vec<ClientMessage> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(frame) => Some(codec::decode_client(frame.as_bytes()).unwrap()),
            _ => None,
        })
        .collect()
}

pub fn welcome() -> ServerMessage {
    ServerMessage::Welcome {
        protocol: 1,
        client_id: "me".into(),
        heartbeat_timeout_ms: 30_000,
        limits: Limits {
            max_message_bytes: 1 << 18,
            max_subscriptions: 64,
            rate_per_sec: 100,
            rate_burst: 200,
        },
    }
}

pub fn doc(id: &str, version: u64, body: Json) -> Document {
    Document {
        id: id.into(),
        version,
        doc: body,
    }
}

pub fn reset(channel: &str, offset: u64, snapshot: Vec<Document>) -> ServerMessage {
    ServerMessage::Subscribed {
        channel: channel.into(),
        epoch: "e1".into(),
        offset,
        continuity: Continuity::Reset,
        snapshot: Some(snapshot),
        more: false,
    }
}

pub fn upsert(
    channel: &str,
    offset: u64,
    prev: u64,
    id: &str,
    version: u64,
    body: Json,
    origin: Option<(&str, u64)>,
) -> ServerMessage {
    ServerMessage::Event {
        channel: channel.into(),
        epoch: "e1".into(),
        offset,
        prev,
        op: EventOp::Upsert,
        kind: None,
        id: id.into(),
        version,
        doc: Some(body),
        origin: origin.map(|(c, m)| Origin {
            client_id: c.into(),
            mutation_id: m,
        }),
    }
}

pub fn changes(out: &[Output]) -> Vec<tether_core::ChangeSet> {
    out.iter()
        .filter_map(|o| match o {
            Output::Changes(sets) => Some(sets.clone()),
            _ => None,
        })
        .flatten()
        .collect()
}
