//! [`Pair`]: real client engines and the real server engine joined by perfect in-memory links,
//! in virtual time — quinn's `Pair` for Tether. A scripted test makes app calls on a client,
//! calls [`Pair::drive`] and asserts on what the engines report, instead of writing the
//! server's frames by hand. Write batches are durable at once; links deliver in order with a
//! fixed latency; [`Pair::cut`] drops a client's connection (both sides see the close).

use std::collections::{BTreeMap, VecDeque};

use tether_core::{Config, Engine, Output, PersistedState};
use tether_server::{ConnId, ConnectInfo, MemoryStore, Output as ServerOutput, ServerConfig};

/// The server engine over the in-memory store.
pub type Server = tether_server::ServerEngine<MemoryStore>;

/// One client of a [`Pair`].
pub struct PairClient {
    /// The engine.
    pub engine: Engine,
    /// What its shell made durable.
    pub persisted: PersistedState,
    /// Every output other than frames, sockets and writes, in order (change-sets, outcomes,
    /// status, presence, responses, broadcasts).
    pub outputs: Vec<Output>,
    conn: Option<ConnId>,
    opening: bool,
    up: VecDeque<(u64, String)>,
    down: VecDeque<(u64, Result<String, u16>)>,
}

/// Client engines, the server engine, and the links between them.
pub struct Pair {
    /// Virtual time (ms).
    pub now: u64,
    /// The server.
    pub server: Server,
    /// The clients, in the order they were added.
    pub clients: Vec<PairClient>,
    /// One-way latency of every link (ms).
    pub latency: u64,
    owners: BTreeMap<ConnId, usize>,
}

impl Pair {
    /// A server with `server_config` over a fresh in-memory store, and no clients yet.
    pub fn new(server_config: ServerConfig) -> Pair {
        Pair {
            now: 0,
            server: Server::new(server_config, MemoryStore::new("pair".into())),
            clients: Vec::new(),
            latency: 1,
            owners: BTreeMap::new(),
        }
    }

    /// Adds a client (id `client_id`) and connects it; returns its index.
    pub fn add_client(&mut self, config: Config, client_id: &str) -> usize {
        let mut engine = Engine::new(config, client_id, self.clients.len() as u64 + 1);
        engine.connect(self.now);
        self.clients.push(PairClient {
            engine,
            persisted: PersistedState::default(),
            outputs: Vec::new(),
            conn: None,
            opening: false,
            up: VecDeque::new(),
            down: VecDeque::new(),
        });
        self.clients.len() - 1
    }

    /// Client `i`.
    pub fn client(&mut self, i: usize) -> &mut Engine {
        &mut self.clients[i].engine
    }

    /// Runs until nothing is in flight and no timer is due before `now + quiet_ms`; then time
    /// stands at the last event. Bounded: panics after a million steps (a livelock).
    pub fn drive(&mut self) {
        for _ in 0..1_000_000 {
            self.pump();
            let next = self.next_event();
            match next {
                Some(at) if at <= self.now + 1_000 => {
                    self.now = self.now.max(at);
                    self.step();
                }
                _ => return,
            }
        }
        panic!("Pair::drive: no quiet point within a million steps");
    }

    /// Advances virtual time to `to`, running everything due on the way.
    pub fn advance(&mut self, to: u64) {
        for _ in 0..1_000_000 {
            self.pump();
            match self.next_event() {
                Some(at) if at <= to => {
                    self.now = self.now.max(at);
                    self.step();
                }
                _ => {
                    self.now = self.now.max(to);
                    self.pump();
                    return;
                }
            }
        }
        panic!("Pair::advance: livelock");
    }

    /// Drops client `i`'s connection: frames in flight are lost, both sides see the close.
    pub fn cut(&mut self, i: usize) {
        let c = &mut self.clients[i];
        c.up.clear();
        c.down.clear();
        if let Some(conn) = c.conn.take() {
            self.owners.remove(&conn);
            self.server.disconnect(self.now, conn);
            c.engine.socket_closed(self.now, 1006);
        }
        self.pump();
    }

    /// The outputs of client `i` matching `f`, taken out of its record.
    pub fn take_outputs<T>(&mut self, i: usize, f: impl Fn(&Output) -> Option<T>) -> Vec<T> {
        let outputs = std::mem::take(&mut self.clients[i].outputs);
        outputs.iter().filter_map(f).collect()
    }

    fn next_event(&self) -> Option<u64> {
        let mut at = self.server.poll_timeout();
        for c in &self.clients {
            let times = [
                c.engine.poll_timeout(),
                c.up.front().map(|(t, _)| *t),
                c.down.front().map(|(t, _)| *t),
                c.opening.then_some(self.now),
            ];
            for t in times.into_iter().flatten() {
                at = Some(at.map_or(t, |a: u64| a.min(t)));
            }
        }
        at
    }

    /// Delivers what is due at `now` and runs the timers due.
    fn step(&mut self) {
        let now = self.now;
        self.server.set_unix_time_ms(now);
        self.server.handle_timeout(now);
        for i in 0..self.clients.len() {
            if self.clients[i].opening {
                self.clients[i].opening = false;
                let conn = self.server.connect(now, ConnectInfo::default());
                self.owners.insert(conn, i);
                self.clients[i].conn = Some(conn);
                self.clients[i].engine.socket_opened(now);
            }
            while self.clients[i].up.front().is_some_and(|(t, _)| *t <= now) {
                let Some((_, frame)) = self.clients[i].up.pop_front() else {
                    break;
                };
                if let Some(conn) = self.clients[i].conn {
                    self.server.handle_frame(now, conn, frame.as_bytes());
                }
            }
            while self.clients[i].down.front().is_some_and(|(t, _)| *t <= now) {
                let Some((_, item)) = self.clients[i].down.pop_front() else {
                    break;
                };
                match item {
                    Ok(frame) => self.clients[i].engine.handle_message(now, frame.as_bytes()),
                    Err(code) => {
                        self.clients[i].conn = None;
                        self.clients[i].engine.socket_closed(now, code);
                    }
                }
            }
            self.clients[i].engine.handle_timeout(now);
        }
    }

    /// Drains every engine's outputs onto the links.
    fn pump(&mut self) {
        loop {
            let mut moved = false;
            while let Some(out) = self.server.poll_output() {
                moved = true;
                match out {
                    ServerOutput::Send { conn, frame } => {
                        if let Some(&i) = self.owners.get(&conn) {
                            let at = self.now + self.latency;
                            self.clients[i].down.push_back((at, Ok(frame.to_string())));
                            // A perfect socket writes at once.
                            self.server.handle_written(self.now, conn, 1);
                        }
                    }
                    ServerOutput::Close { conn, code } => {
                        if let Some(i) = self.owners.remove(&conn) {
                            let at = self.now + self.latency;
                            self.clients[i].down.push_back((at, Err(code.as_u16())));
                        }
                    }
                }
            }
            for i in 0..self.clients.len() {
                while let Some(out) = self.clients[i].engine.poll_output() {
                    moved = true;
                    self.route(i, out);
                }
            }
            if !moved {
                return;
            }
        }
    }

    fn route(&mut self, i: usize, out: Output) {
        let now = self.now;
        if let Output::CloseSocket { .. } = out {
            let c = &mut self.clients[i];
            c.up.clear();
            c.down.clear();
            if let Some(conn) = c.conn.take() {
                self.owners.remove(&conn);
                self.server.disconnect(now, conn);
            }
            return;
        }
        let latency = self.latency;
        let c = &mut self.clients[i];
        match out {
            Output::OpenSocket => c.opening = true,
            Output::CloseSocket { .. } => {}
            Output::Send(frame) => c.up.push_back((now + latency, frame)),
            Output::WriteReady => {
                if let Some(batch) = c.engine.take_writes() {
                    for w in &batch.writes {
                        c.persisted.apply(w);
                    }
                    c.engine.write_done(now, batch.id, Ok(()));
                }
            }
            Output::NeedToken => c.engine.set_token(now, None),
            other => c.outputs.push(other),
        }
    }
}
