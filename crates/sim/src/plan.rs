//! A schedule: world parameters and timed actions (user operations and faults), all drawn
//! from the seed; and how each action is applied.

use std::collections::VecDeque;

use tether_core::{Auth, Config, Rng};
use tether_protocol::json;
use tether_protocol::Filter;
use tether_server::{AuthConfig, Claims, ServerConfig, TokenAuth};

/// HS256 secret of the simulated server's JWTs when a schedule runs with auth.
pub const SECRET: &[u8] = b"simulation-secret";

use super::client::{SimClient, ViewSpec};
use super::hints::HintLink;
use super::link::Link;
use super::world::{Node, Tally, World};

#[derive(Debug, Clone)]
pub enum Action {
    /// A random app call on a client.
    UserOp(usize),
    /// The connection drops: both sides see a close; frames in flight are lost.
    Cut(usize),
    /// The connection stops delivering anything, silently (heartbeats must notice).
    HalfOpen(usize),
    /// The device goes offline for a while.
    Offline(usize, u64),
    Online(usize),
    /// The app crashes; it restarts from its persisted state after a while.
    Crash(usize, u64),
    Restart(usize),
    /// The app crashes after routing a few more of its outputs (in the middle of a drain:
    /// some writes and sends done, the rest never happen).
    CrashMidDrain(usize),
    /// A server node stops (gracefully with 1001, or killed) and comes back after `down` ms
    /// on the same store, or every node on a fresh one (new epoch) with `reset_db`. Which
    /// node, in a cluster schedule, is drawn when it happens.
    ServerDown {
        graceful: bool,
        reset_db: bool,
        down: u64,
    },
    /// The token provider answers (valid, expired, or failing).
    TokenReply(usize),
    /// A client writes `n` new documents at once (large replays and snapshots for the others).
    Burst(usize, u64),
    /// The client's connection is cut when the next snapshot page with more after it arrives.
    CutMidSnapshot(usize),
    /// A client's write batch in flight finishes (for the incarnation that took it).
    WriteDone(usize, u64),
    /// The next batch of a server node (drawn when it happens) that commits something fails
    /// at its end, with its commits durable or lost (group-commit rows).
    FailBatch {
        durable: bool,
    },
    /// End of the fault phase: everything recovers; the run must reach quiescence.
    Heal,
}

pub fn todo_filter() -> Filter {
    Filter::parse(&json!({"field": "status", "op": "eq", "value": "todo"})).expect("valid")
}

pub fn low_filter() -> Filter {
    Filter::parse(&json!({"field": "n", "op": "lt", "value": 5})).expect("valid")
}

pub fn high_filter() -> Filter {
    Filter::parse(&json!({"field": "n", "op": "gte", "value": 5})).expect("valid")
}

/// Builds the world and its plan for a seed.
pub fn build(seed: u64, trace: bool) -> World {
    let mut rng = Rng::new(seed);
    let n_clients = 2 + rng.below(3) as usize;
    let duration = 20_000 + rng.below(60_000);
    let auth = rng.below(4) == 0;
    let tight_rate = rng.below(5) == 0;
    let mut server_config = ServerConfig {
        retain_events: if rng.below(4) == 0 {
            3 + rng.below(10)
        } else {
            10_000
        },
        ..ServerConfig::default()
    };
    if tight_rate {
        server_config.rate_per_sec = 1 + rng.below(5) as u32;
        server_config.rate_burst = 1 + rng.below(5) as u32;
    }
    if auth {
        // No leeway: an `exp` of 0 is expired from the first millisecond.
        server_config.auth = AuthConfig::Tokens(TokenAuth {
            leeway_secs: 0,
            ..TokenAuth::hs256(SECRET)
        });
    }
    let client_config = Config {
        flush_interval_ms: [0, 16, 50][rng.below(3) as usize],
        auth: if auth { Auth::Provider } else { Auth::None },
        ..Config::default()
    };
    let mut clients = Vec::new();
    for i in 0..n_clients {
        let chaotic = rng.below(3) == 0;
        let link = Link {
            latency: 1 + rng.below(50),
            jitter: rng.below(30),
            dup_permille: if chaotic { rng.below(150) } else { 0 },
            swap_permille: if chaotic { rng.below(100) } else { 0 },
            join_permille: if rng.below(2) == 0 {
                rng.below(1000)
            } else {
                0
            },
            ..Link::new(rng.next_u64())
        };
        let mut specs = match rng.below(4) {
            0 => vec![ViewSpec {
                channel: "tasks",
                filter: None,
                ids: None,
            }],
            1 => vec![ViewSpec {
                channel: "tasks",
                filter: Some(todo_filter()),
                ids: None,
            }],
            2 => vec![
                ViewSpec {
                    channel: "tasks",
                    filter: None,
                    ids: None,
                },
                ViewSpec {
                    channel: "tasks",
                    filter: Some(todo_filter()),
                    ids: None,
                },
            ],
            _ => vec![
                ViewSpec {
                    channel: "tasks",
                    filter: Some(low_filter()),
                    ids: None,
                },
                ViewSpec {
                    channel: "tasks",
                    filter: Some(todo_filter()),
                    ids: None,
                },
            ],
        };
        if rng.below(2) == 0 {
            specs.push(ViewSpec {
                channel: "notes",
                filter: None,
                ids: None,
            });
        }
        let mut client = SimClient::new(format!("client-{i}"), link, specs);
        // Its IndexedDB: most clients' writes take a while (the write barrier holds frames),
        // some fail now and then (the mutations of a failed batch are withdrawn).
        client.write_delay = [0, 3, 30][rng.below(3) as usize];
        client.write_fail_permille = if rng.below(5) == 0 { rng.below(150) } else { 0 };
        clients.push(client);
    }

    let mut plan: Vec<(u64, Action)> = Vec::new();
    let ops = 5 + rng.below(30);
    for _ in 0..ops {
        let c = rng.below(n_clients as u64) as usize;
        plan.push((rng.below(duration), Action::UserOp(c)));
    }
    let mut faults = |rng: &mut Rng, max: u64, make: &mut dyn FnMut(&mut Rng) -> Action| {
        if rng.below(2) == 0 {
            for _ in 0..1 + rng.below(max) {
                let at = rng.below(duration);
                plan.push((at, make(rng)));
            }
        }
    };
    let n = n_clients as u64;
    faults(&mut rng, 5, &mut |r| Action::Cut(r.below(n) as usize));
    faults(&mut rng, 2, &mut |r| Action::HalfOpen(r.below(n) as usize));
    faults(&mut rng, 3, &mut |r| {
        Action::Offline(r.below(n) as usize, 1_000 + r.below(40_000))
    });
    faults(&mut rng, 3, &mut |r| {
        Action::Crash(r.below(n) as usize, 100 + r.below(20_000))
    });
    faults(&mut rng, 3, &mut |r| {
        Action::CrashMidDrain(r.below(n) as usize)
    });
    faults(&mut rng, 2, &mut |r| Action::ServerDown {
        graceful: r.below(2) == 0,
        reset_db: r.below(6) == 0,
        down: r.below(15_000),
    });
    // Flow-control rows, drawn from their own generator so the other schedules stay as they
    // were: a small outbound capacity and small snapshot pages, bursts of writes that make
    // the others' replays and snapshots far longer than it, and cuts in the middle of a paged
    // snapshot.
    let mut frng = Rng::new(seed ^ 0x00F1_0C0D_E5EE_D000);
    let flow = frng.below(8) == 0;
    if flow {
        server_config.outbound_capacity = 2 + frng.below(12) as usize;
        server_config.snapshot_page_bytes = 64 + frng.below(512) as usize;
        if frng.below(2) == 0 {
            // Most resumes become paged snapshots.
            server_config.retain_events = 3 + frng.below(10);
        }
        if !tight_rate && frng.below(3) == 0 {
            let c = frng.below(n) as usize;
            plan.push((frng.below(duration), Action::Burst(c, 10 + frng.below(16))));
        }
        for _ in 0..1 + frng.below(3) {
            let c = frng.below(n) as usize;
            plan.push((frng.below(duration), Action::CutMidSnapshot(c)));
        }
    }
    // Cluster rows, from their own generator too: two or three nodes over the one store, each
    // client given every node as an endpoint, hints between the nodes that may be lost,
    // duplicated or reordered.
    let mut crng = Rng::new(seed ^ 0x0C1A_57E2_0000_0001);
    let nodes = if crng.below(4) == 0 {
        2 + crng.below(2) as usize
    } else {
        1
    };
    let mut client_config = client_config;
    if nodes > 1 {
        server_config.shared_store = true;
        client_config.endpoints = nodes;
    }
    // Group-commit rows, from their own generator: the nodes handle each step's frames in one
    // batch per node, as the edge does per wake-up, and some batches fail at their end (the
    // database lost mid-transaction), their commits durable or not.
    let mut brng = Rng::new(seed ^ 0x0BA7_C4ED_0000_0002);
    let batched = brng.below(4) == 0;
    if batched {
        for _ in 0..1 + brng.below(4) {
            let durable = brng.below(2) == 0;
            plan.push((brng.below(duration), Action::FailBatch { durable }));
        }
    }
    plan.sort_by_key(|(at, _)| *at);
    plan.push((duration, Action::Heal));

    let mut world = World {
        seed,
        rng,
        now: 0,
        nodes: (0..nodes).map(|_| Node::default()).collect(),
        store: super::recording::RecordingStore::new(String::new(), Default::default()),
        hint_link: HintLink::new(crng.next_u64()),
        relay_link: super::relay::RelayLink::new(seed ^ 0x5E1A_7000_0000_0003),
        ephemeral: Default::default(),
        server_config,
        journal: Default::default(),
        epochs: 0,
        conn_owner: Default::default(),
        clients,
        client_config,
        plan: VecDeque::from(plan),
        healed: false,
        violation: None,
        batched,
        trace: trace.then(Vec::new),
        tally: Tally::default(),
    };
    world.tally.auth_schedules = u64::from(auth);
    world.tally.tight_rate_schedules = u64::from(tight_rate);
    world.tally.flow_schedules = u64::from(flow);
    world.tally.cluster_schedules = u64::from(nodes > 1);
    world.tally.batched_schedules = u64::from(batched);
    world.store = world.new_store();
    for k in 0..nodes {
        world.start_server(k);
    }
    world
}

impl World {
    pub fn schedule(&mut self, at: u64, action: Action) {
        let pos = self.plan.partition_point(|(t, _)| *t <= at);
        self.plan.insert(pos, (at, action));
    }

    pub fn apply(&mut self, action: Action) {
        let now = self.now;
        self.log(|| format!("action {action:?}"));
        match action {
            Action::UserOp(i) => self.user_op(i),
            Action::Cut(i) => self.cut(i),
            Action::HalfOpen(i) => {
                let link = &mut self.clients[i].link;
                if link.conn.is_some() && !link.blackhole {
                    link.blackhole = true;
                    link.up.clear();
                    link.down.clear();
                    self.tally.half_opens += 1;
                }
            }
            Action::Offline(i, dur) => {
                let c = &mut self.clients[i];
                if c.engine.is_none() || !c.online {
                    return;
                }
                c.online = false;
                c.link.partitioned = true;
                if let Some(e) = c.engine.as_mut() {
                    e.went_offline(now);
                }
                self.drain_client(i);
                if self.rng.below(2) == 0 {
                    self.cut(i);
                } else if self.clients[i].link.conn.is_some() {
                    let link = &mut self.clients[i].link;
                    link.blackhole = true;
                    link.up.clear();
                    link.down.clear();
                }
                self.tally.offline_periods += 1;
                self.schedule(now + dur, Action::Online(i));
            }
            Action::Online(i) => {
                let c = &mut self.clients[i];
                c.online = true;
                c.link.partitioned = false;
                if let Some(e) = c.engine.as_mut() {
                    e.went_online(now);
                }
                self.drain_client(i);
            }
            Action::Crash(i, down) => {
                if self.clients[i].engine.is_none() {
                    return;
                }
                self.crash_for(i, down);
            }
            Action::CrashMidDrain(i) => {
                let after = self.rng.below(4) as u32;
                self.clients[i].crash_after = Some(after);
            }
            Action::WriteDone(i, incarnation) => self.write_done(i, incarnation),
            Action::FailBatch { durable } => {
                let k = self.rng.below(self.nodes.len() as u64) as usize;
                if let Some(server) = self.nodes[k].engine.as_mut() {
                    server.store_mut().fail_batch = Some(durable);
                }
            }
            Action::Restart(i) => {
                if self.clients[i].engine.is_none() {
                    self.boot_client(i);
                }
            }
            Action::ServerDown {
                graceful,
                reset_db,
                down,
            } => self.server_down(graceful, reset_db, down),
            Action::Burst(i, n) => self.burst(i, n),
            Action::CutMidSnapshot(i) => {
                self.clients[i].link.cut_mid_snapshot = true;
                // The next subscribe answers with a snapshot: make one happen.
                if self.rng.below(2) == 0 {
                    self.cut(i);
                }
            }
            Action::TokenReply(i) => {
                self.tally.token_replies += 1;
                let roll = self.rng.below(10);
                let exp = if roll == 1 { 0 } else { now / 1000 + 3_600 };
                let claims = Claims::new(&self.clients[i].id)
                    .write(&["tasks", "notes"])
                    .expires(exp);
                let token = tether_server::mint_hs256(SECRET, &claims).unwrap_or_default();
                if let Some(e) = self.clients[i].engine.as_mut() {
                    if roll == 0 {
                        e.token_failed(now);
                    } else {
                        e.set_token(now, Some(token));
                    }
                }
                self.drain_client(i);
            }
            Action::Heal => {
                self.healed = true;
                // Fault actions end; writes in flight still finish (and now succeed).
                self.plan
                    .retain(|(_, a)| matches!(a, Action::WriteDone(..)));
                for node in &mut self.nodes {
                    match node.engine.as_mut() {
                        // No batch fails after healing.
                        Some(server) => server.store_mut().fail_batch = None,
                        None => node.up_at = Some(now),
                    }
                }
                for i in 0..self.clients.len() {
                    self.clients[i].crash_after = None;
                    if !self.clients[i].online {
                        self.apply(Action::Online(i));
                    }
                    if self.clients[i].link.blackhole {
                        self.cut(i);
                    }
                    if self.clients[i].engine.is_none() {
                        self.boot_client(i);
                    }
                }
            }
        }
    }

    pub fn cut(&mut self, i: usize) {
        if self.clients[i].link.conn.is_none() {
            return;
        }
        self.tally.cuts += 1;
        self.drop_link(i);
        if let Some(e) = self.clients[i].engine.as_mut() {
            e.socket_closed(self.now, 1006);
        }
        self.drain_client(i);
    }

    fn server_down(&mut self, graceful: bool, reset_db: bool, down: u64) {
        let now = self.now;
        // A database reset takes every node down (they come back on the new database); else
        // one node goes, drawn only in a cluster schedule (so single-node schedules draw as
        // they always did).
        let going: Vec<usize> = if reset_db {
            (0..self.nodes.len()).collect()
        } else if self.is_cluster() {
            vec![self.rng.below(self.nodes.len() as u64) as usize]
        } else {
            vec![0]
        };
        let mut any = false;
        for k in going {
            let Some(mut server) = self.nodes[k].engine.take() else {
                continue;
            };
            any = true;
            if graceful {
                self.tally.graceful_restarts += 1;
                server.shutdown(now);
                self.nodes[k].engine = Some(server);
                self.drain_server(k);
                self.nodes[k].engine = None;
                for c in &mut self.clients {
                    if c.link.node == k {
                        // Close frames already queued still arrive; nothing more gets through.
                        c.link.up.clear();
                        c.link.conn = None;
                    }
                }
            } else {
                self.tally.server_crashes += 1;
                for i in 0..self.clients.len() {
                    if self.clients[i].link.node == k && self.clients[i].link.conn.is_some() {
                        self.clients[i].link.reset();
                        if let Some(e) = self.clients[i].engine.as_mut() {
                            e.socket_closed(now, 1006);
                        }
                        self.drain_client(i);
                    }
                }
            }
            self.conn_owner.retain(|(node, _), _| *node != k);
            self.forget_node(k);
            self.nodes[k].up_at = Some(now + down);
            self.nodes[k].next_poll = None;
        }
        if reset_db && any {
            self.tally.db_resets += 1;
            self.store = self.new_store();
        }
    }
}
