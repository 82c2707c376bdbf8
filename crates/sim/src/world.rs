//! The simulated world: N real client engines, one or more real server engines (nodes) over
//! one in-memory store, seeded links, virtual time, and the event loop that routes outputs
//! between them. With several nodes each client connects to the node its engine's endpoint
//! names, and the nodes learn each other's commits from hints ([`super::hints`]) and polls.

use std::collections::{BTreeSet, HashMap, VecDeque};

use tether_core::{Config, Engine, Output, Persist, Rng, WriteBatch};
use tether_server::{ConnId, ConnectInfo, RelayConfig, ServerConfig, ServerEngine};

use super::client::SimClient;
use super::ephemeral::Ephemeral;
use super::hints::{HintLink, POLL_MS};
use super::plan::Action;
use super::recording::{Journal, RecordingStore};
use super::relay::RelayLink;

pub type Server = ServerEngine<RecordingStore>;

/// Counts of what a schedule did, summed over a run for the report.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    /// Schedules run.
    pub schedules: u64,
    /// Mutations the apps made.
    pub mutations: u64,
    /// Mutations acknowledged.
    pub acked: u64,
    /// Mutations that conflicted (or converged).
    pub conflicts: u64,
    /// Mutations rejected for another reason.
    pub rejected: u64,
    /// Connection cuts.
    pub cuts: u64,
    /// Half-open links.
    pub half_opens: u64,
    /// Offline periods.
    pub offline_periods: u64,
    /// Client crash-restarts.
    pub client_crashes: u64,
    /// Server crashes.
    pub server_crashes: u64,
    /// Graceful server restarts.
    pub graceful_restarts: u64,
    /// Database resets (new epoch).
    pub db_resets: u64,
    /// View or filter changes.
    pub view_changes: u64,
    /// Changes to by-id views.
    pub by_id_views: u64,
    /// Schedules with auth on.
    pub auth_schedules: u64,
    /// Schedules with a tight server rate limit.
    pub tight_rate_schedules: u64,
    /// Token provider answers.
    pub token_replies: u64,
    /// Crashes in the middle of a drain.
    pub mid_drain_crashes: u64,
    /// Schedules with flow-control rows.
    pub flow_schedules: u64,
    /// Write batches that failed.
    pub storage_failures: u64,
    /// Bursts of writes.
    pub bursts: u64,
    /// Paged snapshots seen.
    pub snapshot_pages: u64,
    /// Cuts in the middle of a paged snapshot.
    pub mid_snapshot_cuts: u64,
    /// Slow-consumer closes (4009).
    pub slow_consumer_closes: u64,
    /// Replays longer than the outbound capacity.
    pub long_replays: u64,
    /// Frames the clients sent.
    pub frames: u64,
    /// Gaps the clients detected.
    pub gaps: u64,
    /// Resubscriptions answered `reset`.
    pub resets: u64,
    /// Resubscriptions answered `recovered`.
    pub recovered: u64,
    /// Duplicate events dropped.
    pub deduped_events: u64,
    /// Virtual time simulated (ms).
    pub virtual_ms: u64,
    /// Schedules with several server nodes.
    pub cluster_schedules: u64,
    /// Hints between nodes that were lost.
    pub lost_hints: u64,
    /// Schedules whose nodes handle frames in batches (group commit).
    pub batched_schedules: u64,
    /// Batches that failed at their end, their commits durable.
    pub failed_batches_durable: u64,
    /// Batches that failed at their end, their commits lost.
    pub failed_batches_lost: u64,
    /// Relayed messages (broadcasts, presence) between nodes that were lost.
    pub lost_relays: u64,
    /// Relayed messages that reached a node.
    pub delivered_relays: u64,
    /// Broadcasts delivered to a connection.
    pub broadcast_deliveries: u64,
}

impl Tally {
    /// Adds another run's counts.
    pub fn add(&mut self, o: &Tally) {
        let fields = [
            (&mut self.schedules, o.schedules),
            (&mut self.mutations, o.mutations),
            (&mut self.acked, o.acked),
            (&mut self.conflicts, o.conflicts),
            (&mut self.rejected, o.rejected),
            (&mut self.cuts, o.cuts),
            (&mut self.half_opens, o.half_opens),
            (&mut self.offline_periods, o.offline_periods),
            (&mut self.client_crashes, o.client_crashes),
            (&mut self.server_crashes, o.server_crashes),
            (&mut self.graceful_restarts, o.graceful_restarts),
            (&mut self.db_resets, o.db_resets),
            (&mut self.view_changes, o.view_changes),
            (&mut self.by_id_views, o.by_id_views),
            (&mut self.auth_schedules, o.auth_schedules),
            (&mut self.tight_rate_schedules, o.tight_rate_schedules),
            (&mut self.token_replies, o.token_replies),
            (&mut self.mid_drain_crashes, o.mid_drain_crashes),
            (&mut self.flow_schedules, o.flow_schedules),
            (&mut self.storage_failures, o.storage_failures),
            (&mut self.bursts, o.bursts),
            (&mut self.snapshot_pages, o.snapshot_pages),
            (&mut self.mid_snapshot_cuts, o.mid_snapshot_cuts),
            (&mut self.slow_consumer_closes, o.slow_consumer_closes),
            (&mut self.long_replays, o.long_replays),
            (&mut self.frames, o.frames),
            (&mut self.gaps, o.gaps),
            (&mut self.resets, o.resets),
            (&mut self.recovered, o.recovered),
            (&mut self.deduped_events, o.deduped_events),
            (&mut self.virtual_ms, o.virtual_ms),
            (&mut self.cluster_schedules, o.cluster_schedules),
            (&mut self.lost_hints, o.lost_hints),
            (&mut self.batched_schedules, o.batched_schedules),
            (&mut self.failed_batches_durable, o.failed_batches_durable),
            (&mut self.failed_batches_lost, o.failed_batches_lost),
            (&mut self.lost_relays, o.lost_relays),
            (&mut self.delivered_relays, o.delivered_relays),
            (&mut self.broadcast_deliveries, o.broadcast_deliveries),
        ];
        for (a, b) in fields {
            *a += b;
        }
    }
}

/// One server node: its engine while it is up.
#[derive(Default)]
pub struct Node {
    /// The engine (None while the node is down).
    pub engine: Option<Server>,
    /// A node that is down comes back at this time.
    pub up_at: Option<u64>,
    /// Its next poll of the store (cluster schedules only).
    pub next_poll: Option<u64>,
    /// Times it started (its relay id names the incarnation, as each process draws its own).
    pub incarnation: u64,
}

pub struct World {
    pub seed: u64,
    pub rng: Rng,
    pub now: u64,
    /// The server nodes (one, or several over the one store).
    pub nodes: Vec<Node>,
    /// The database every node uses.
    pub store: RecordingStore,
    /// The hints between nodes.
    pub hint_link: HintLink,
    /// The broadcasts and presence relayed between nodes.
    pub relay_link: RelayLink,
    /// What the ephemeral-message invariants need to remember.
    pub ephemeral: Ephemeral,
    pub server_config: ServerConfig,
    pub journal: Journal,
    pub epochs: u32,
    /// `(node, connection)` -> client.
    pub conn_owner: HashMap<(usize, ConnId), usize>,
    pub clients: Vec<SimClient>,
    pub client_config: Config,
    pub plan: VecDeque<(u64, Action)>,
    pub healed: bool,
    /// A violation seen while routing (checked after the step).
    pub violation: Option<String>,
    /// Each node handles the frames of a step in one batch (group commit).
    pub batched: bool,
    pub trace: Option<Vec<String>>,
    pub tally: Tally,
}

impl World {
    pub fn log(&mut self, text: impl FnOnce() -> String) {
        if let Some(t) = &mut self.trace {
            t.push(format!("[{:>7}] {}", self.now, text()));
        }
    }

    /// A fresh database (a new epoch).
    pub fn new_store(&mut self) -> RecordingStore {
        self.epochs += 1;
        RecordingStore::new(
            format!("epoch-{}-{}", self.seed, self.epochs),
            self.journal.clone(),
        )
    }

    /// Whether this schedule runs several nodes.
    pub fn is_cluster(&self) -> bool {
        self.nodes.len() > 1
    }

    /// Starts node `k`'s engine over the current database.
    pub fn start_server(&mut self, k: usize) {
        let mut server = ServerEngine::new(self.server_config.clone(), self.store.clone());
        server.set_unix_time_ms(self.now);
        let now = self.now;
        let cluster = self.is_cluster();
        if cluster {
            self.nodes[k].incarnation += 1;
            server.enable_relay(now, self.relay_id(k), RelayConfig::default());
        }
        let node = &mut self.nodes[k];
        node.engine = Some(server);
        node.up_at = None;
        node.next_poll = cluster.then_some(now + POLL_MS);
        self.log(|| format!("server node {k} up at {now}"));
    }

    /// Every node up (the run can only settle then).
    pub fn all_nodes_up(&self) -> bool {
        self.nodes.iter().all(|n| n.engine.is_some())
    }

    /// Starts (or restarts from its persisted state) client `i`'s engine and app.
    pub fn boot_client(&mut self, i: usize) {
        let c = &mut self.clients[i];
        c.incarnation += 1;
        let config = Config {
            start_online: c.online,
            ..self.client_config.clone()
        };
        let seed = self.seed ^ (i as u64 + 1).wrapping_mul(0x9E37) ^ c.incarnation << 32;
        let mut engine = if c.incarnation == 1 {
            Engine::new(config, c.id.clone(), seed)
        } else {
            // The shell knows its id without storage (the browser's sessionStorage), so a
            // first write batch that failed does not lose it.
            let mut state = c.persisted.clone();
            state.client_id.clone_from(&c.id);
            Engine::restore(config, state, seed)
        };
        c.views = c
            .specs
            .iter()
            .map(|s| {
                engine
                    .subscribe_selector(self.now, s.channel, s.selector())
                    .expect("valid view")
            })
            .collect();
        engine.connect(self.now);
        c.engine = Some(engine);
        c.mirror.clear();
        c.requests.clear();
        c.changes_routed = false;
        self.drain_client(i);
    }

    // ---- routing ----

    pub fn drain_client(&mut self, i: usize) {
        loop {
            let Some(engine) = self.clients[i].engine.as_mut() else {
                return;
            };
            let Some(out) = engine.poll_output() else {
                self.clients[i].removed_unreported.clear();
                if std::mem::take(&mut self.clients[i].changes_routed) {
                    self.check_views_after_flush(i);
                }
                return;
            };
            self.route_client(i, out);
            let c = &mut self.clients[i];
            if let Some(n) = c.crash_after {
                if n == 0 {
                    c.crash_after = None;
                    let lost: Vec<u64> = c.removed_unreported.iter().copied().collect();
                    c.outcome_lost_in_crash.extend(lost.iter().copied());
                    c.removed_unreported.clear();
                    self.log(|| {
                        format!("c{i} crashes in the middle of its outputs (unreported {lost:?})")
                    });
                    self.tally.mid_drain_crashes += 1;
                    self.crash(i);
                    return;
                }
                c.crash_after = Some(n - 1);
            }
        }
    }

    /// A flush reports everything up to now: after the drain that carried it, every view
    /// matches the app's copy built from change-sets alone.
    fn check_views_after_flush(&mut self, i: usize) {
        let c = &self.clients[i];
        let Some(e) = &c.engine else { return };
        for (k, view) in c.views.iter().enumerate() {
            let engine_view: Vec<_> = e.view(*view).unwrap_or_default();
            let mirror = c.mirror.get(view);
            let same = match mirror {
                Some(m) => {
                    m.len() == engine_view.len()
                        && m.values().zip(&engine_view).all(|(a, b)| a == *b)
                }
                None => engine_view.is_empty(),
            };
            if !same {
                self.violation = Some(format!(
                    "client {i} view {k}: after a flush the app copy differs from the engine\n  app    {mirror:?}\n  engine {engine_view:?}"
                ));
            }
        }
    }

    /// The app dies: its socket drops, its memory is gone; it restarts from what it
    /// persisted after `down` ms.
    pub fn crash(&mut self, i: usize) {
        let down = 100 + self.rng.below(20_000);
        self.crash_for(i, down);
    }

    /// Crash, restart after `down` ms (at once when healing). Frames already handed to the
    /// socket may still reach the server (half the time they do).
    pub fn crash_for(&mut self, i: usize, down: u64) {
        if self.rng.below(2) == 0 {
            let now = self.now;
            let conn = self.clients[i].link.conn;
            let k = self.clients[i].link.node;
            while let Some((_, frame)) = self.clients[i].link.up.pop_front() {
                if let (true, Some(conn)) = (self.nodes[k].engine.is_some(), conn) {
                    self.observe_up(k, conn, &frame);
                    let server = self.nodes[k].engine.as_mut().expect("up");
                    server.set_unix_time_ms(now);
                    server.handle_frame(now, conn, frame.as_bytes());
                    self.drain_server(k);
                }
            }
        }
        self.drop_link(i);
        // A write in flight either committed before the crash (the engine never heard) or not.
        if let Some((_, batch)) = self.clients[i].in_flight.take() {
            if self.rng.below(2) == 0 {
                let c = &mut self.clients[i];
                c.persisted.last_mutation_id =
                    c.persisted.last_mutation_id.max(batch.last_mutation_id);
                for write in &batch.writes {
                    Self::persist(c, write);
                    if let Persist::OutboxRemove { mutation_id } = write {
                        if !c.outcomes.contains_key(mutation_id) {
                            // Removed durably, the app died before reporting it.
                            c.outcome_lost_in_crash.insert(*mutation_id);
                        }
                    }
                }
                self.log(|| format!("c{i} crashes after its write batch committed"));
            }
        }
        let c = &mut self.clients[i];
        let restored: Vec<u64> = c
            .persisted
            .outbox
            .keys()
            .copied()
            .filter(|id| c.outcomes.contains_key(id))
            .collect();
        c.reported_then_restored.extend(restored);
        self.clients[i].engine = None;
        self.tally.client_crashes += 1;
        if !self.healed {
            self.schedule(self.now + down, super::plan::Action::Restart(i));
        } else {
            self.boot_client(i);
        }
    }

    /// The client's write batch finished: durable (applied to what it persisted) or failed.
    pub fn finish_write(&mut self, i: usize, batch: WriteBatch, ok: bool) {
        let now = self.now;
        let c = &mut self.clients[i];
        if ok {
            for write in &batch.writes {
                Self::persist(c, write);
            }
            // Stored beside the outbox with every batch, as the shell does (so an id whose
            // write failed and was withdrawn is not used again after a restart).
            c.persisted.last_mutation_id = c.persisted.last_mutation_id.max(batch.last_mutation_id);
        } else {
            self.tally.storage_failures += 1;
        }
        let id = batch.id;
        self.log(|| format!("c{i} write batch {id} done (ok: {ok})"));
        if let Some(engine) = self.clients[i].engine.as_mut() {
            let result = if ok {
                Ok(())
            } else {
                Err("injected storage failure".into())
            };
            engine.write_done(now, id, result);
        }
    }

    /// A write made durable in the client's "IndexedDB".
    fn persist(c: &mut super::client::SimClient, write: &Persist) {
        c.persisted.apply(write);
        match write {
            Persist::OutboxPut { mutation } => {
                c.persisted_mutations
                    .insert(mutation.mutation_id, mutation.clone());
            }
            Persist::OutboxRemove { mutation_id } => {
                c.removed_unreported.insert(*mutation_id);
            }
            _ => {}
        }
    }

    /// `WriteDone(i, incarnation)`: the batch the incarnation took finishes now.
    pub fn write_done(&mut self, i: usize, incarnation: u64) {
        let c = &mut self.clients[i];
        if c.incarnation != incarnation || c.engine.is_none() {
            return;
        }
        let Some((_, batch)) = c.in_flight.take() else {
            return;
        };
        // Storage faults belong to the fault phase; after healing every write succeeds.
        let ok = self.healed || self.rng.below(1000) >= c.write_fail_permille;
        self.finish_write(i, batch, ok);
        self.drain_client(i);
    }

    fn route_client(&mut self, i: usize, out: Output) {
        let now = self.now;
        if !matches!(out, Output::Send(_)) {
            self.log(|| format!("c{i} output {out:?}"));
        }
        match out {
            Output::OpenSocket => {
                let link = &mut self.clients[i].link;
                link.reset();
                link.opening_at = Some(link.open_at(now));
            }
            Output::CloseSocket { .. } => self.drop_link(i),
            Output::Send(frame) => {
                self.log(|| format!("c{i} -> {frame}"));
                self.tally.frames += 1;
                self.clients[i].link.push_up(now, frame);
            }
            Output::WriteReady => {
                let c = &mut self.clients[i];
                let Some(batch) = c.engine.as_mut().and_then(Engine::take_writes) else {
                    return;
                };
                if c.write_delay == 0 && c.write_fail_permille == 0 {
                    self.finish_write(i, batch, true);
                } else {
                    let at = now + 1 + self.rng.below(c.write_delay.max(1));
                    let incarnation = c.incarnation;
                    c.in_flight = Some((incarnation, batch));
                    self.schedule(at, super::plan::Action::WriteDone(i, incarnation));
                }
            }
            Output::Changes(sets) => {
                let c = &mut self.clients[i];
                c.apply_changes(sets);
                c.changes_routed = true;
            }
            Output::Mutation(outcome) => {
                self.log(|| format!("c{i} outcome {outcome:?}"));
                let id = outcome.mutation().mutation_id;
                self.clients[i].removed_unreported.remove(&id);
                self.clients[i]
                    .outcomes
                    .entry(id)
                    .or_default()
                    .push(outcome);
            }
            Output::Presence(change) => {
                let c = &mut self.clients[i];
                let members = change
                    .members
                    .into_iter()
                    .map(|m| (m.client_id, m.state))
                    .collect();
                c.members.insert(change.channel, (c.incarnation, members));
            }
            Output::Response { id, .. } => {
                *self.clients[i].requests.entry(id).or_default() += 1;
            }
            Output::NeedToken => {
                // The provider answers asynchronously (also after healing).
                let at = now + self.rng.below(300);
                let pos = self.plan.partition_point(|(t, _)| *t <= at);
                self.plan
                    .insert(pos, (at, super::plan::Action::TokenReply(i)));
            }
            _ => {}
        }
    }

    /// Routes node `k`'s outputs; in a cluster schedule, then publishes its hints.
    pub fn drain_server(&mut self, k: usize) {
        loop {
            let Some(server) = self.nodes[k].engine.as_mut() else {
                return;
            };
            let Some(out) = server.poll_output() else {
                let hints = server.take_hints();
                if self.is_cluster() {
                    let nodes = self.nodes.len();
                    for (channel, head) in hints {
                        self.hint_link.publish(self.now, k, nodes, &channel, head);
                    }
                    self.publish_relay(k);
                }
                return;
            };
            let now = self.now;
            match out {
                tether_server::Output::Send { conn, frame } => {
                    self.observe_down(k, conn, &frame);
                    if let Some(&i) = self.conn_owner.get(&(k, conn)) {
                        self.log(|| format!("c{i} <- {frame}"));
                        let link = &mut self.clients[i].link;
                        if link.conn == Some(conn) && link.node == k {
                            link.push_down(now, super::link::Down::Frame(frame.to_string()));
                        }
                    }
                }
                tether_server::Output::Close { conn, code } => {
                    if code == tether_protocol::CloseCode::SlowConsumer {
                        self.tally.slow_consumer_closes += 1;
                    }
                    self.forget_conn(k, conn);
                    if let Some(i) = self.conn_owner.remove(&(k, conn)) {
                        self.log(|| format!("c{i} <- close {}", code.as_u16()));
                        let link = &mut self.clients[i].link;
                        if link.conn == Some(conn) && link.node == k {
                            link.push_down(now, super::link::Down::Close(code.as_u16()));
                        }
                    }
                }
            }
        }
    }

    /// Counts replays longer than the server's outbound capacity (`subscribed recovered`,
    /// then events until `presence_sync`).
    fn note_replay(&mut self, i: usize, frame: &str) {
        let capacity = self.server_config.capacity() as u64;
        for part in frame.split('\n') {
            let link = &mut self.clients[i].link;
            if part.starts_with(r#"{"type":"subscribed""#) {
                link.replayed = part.contains(r#""recovered""#).then_some(0);
            } else if part.starts_with(r#"{"type":"event""#) {
                if let Some(n) = link.replayed.as_mut() {
                    *n += 1;
                }
            } else if part.starts_with(r#"{"type":"presence_sync""#)
                && link.replayed.take().is_some_and(|n| n > capacity)
            {
                self.tally.long_replays += 1;
            }
        }
    }

    /// The client side closed (or lost) its socket: the server sees a disconnect.
    pub fn drop_link(&mut self, i: usize) {
        if let Some(conn) = self.clients[i].link.conn {
            let k = self.clients[i].link.node;
            self.conn_owner.remove(&(k, conn));
            if let Some(server) = self.nodes[k].engine.as_mut() {
                server.set_unix_time_ms(self.now);
                server.disconnect(self.now, conn);
            }
            self.drain_server(k);
            self.forget_conn(k, conn);
        }
        self.clients[i].link.reset();
    }

    // ---- the event loop ----

    pub fn next_time(&self) -> Option<u64> {
        let mut t: Option<u64> = self.plan.front().map(|(at, _)| *at);
        let mut consider = |x: Option<u64>| {
            if let Some(x) = x {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        };
        for node in &self.nodes {
            consider(node.up_at);
            consider(node.engine.as_ref().and_then(|s| s.poll_timeout()));
            consider(node.next_poll);
        }
        consider(self.hint_link.next_time());
        consider(self.relay_link.next_time());
        for c in &self.clients {
            consider(c.link.next_time());
            consider(c.engine.as_ref().and_then(|e| e.poll_timeout()));
        }
        t.map(|t| t.max(self.now))
    }

    /// Processes everything due at `self.now`.
    pub fn step(&mut self) {
        let now = self.now;
        while self.plan.front().is_some_and(|(at, _)| *at <= now) {
            let Some((_, action)) = self.plan.pop_front() else {
                break;
            };
            self.apply(action);
        }
        for k in 0..self.nodes.len() {
            if self.nodes[k].up_at.is_some_and(|at| at <= now) {
                self.start_server(k);
            }
        }
        self.cluster_step();
        for i in 0..self.clients.len() {
            if self.clients[i].link.opening_at.is_some_and(|at| at <= now) {
                self.complete_open(i);
            }
        }
        if self.batched {
            // As the edge: one batch per node for the frames it reads now, one node at a time.
            for k in 0..self.nodes.len() {
                self.begin_node_batch(k);
                for i in 0..self.clients.len() {
                    if self.clients[i].link.node == k {
                        self.read_up(i);
                    }
                }
                self.end_node_batch(k);
            }
        } else {
            for i in 0..self.clients.len() {
                self.read_up(i);
            }
        }
        for i in 0..self.clients.len() {
            while let Some(d) = self.clients[i].link.pop_down(now) {
                if let super::link::Down::Frame(frame) = &d {
                    let pages = frame.matches(r#"{"type":"snapshot""#).count() as u64;
                    self.tally.snapshot_pages += pages;
                    self.note_replay(i, frame);
                    let more_follows = frame.contains(r#""more":true"#);
                    if more_follows && self.clients[i].link.cut_mid_snapshot {
                        self.clients[i].link.cut_mid_snapshot = false;
                        self.tally.mid_snapshot_cuts += 1;
                        self.log(|| format!("c{i}: cut in the middle of a paged snapshot"));
                        self.cut(i);
                        break;
                    }
                }
                let c = &mut self.clients[i];
                let Some(engine) = c.engine.as_mut() else {
                    break;
                };
                match d {
                    super::link::Down::Frame(frame) | super::link::Down::Copy(frame) => {
                        let own = own_event(&frame, &c.id);
                        let before = own
                            .as_ref()
                            .and_then(|(ch, _, _)| engine.cursor(ch).map(|s| s.offset));
                        engine.handle_message(now, frame.as_bytes());
                        if let Some((ch, offset, m)) = own {
                            let after = engine.cursor(&ch).map(|s| s.offset);
                            let applied = after == Some(offset) && before != Some(offset);
                            if applied && engine.pending().any(|p| p.mutation_id == m) {
                                self.violation = Some(format!(
                                    "client {i}: mutation {m} still pending after its own event (offset {offset}) was applied"
                                ));
                            }
                        }
                    }
                    super::link::Down::Close(code) => {
                        c.link.reset();
                        engine.socket_closed(now, code);
                    }
                }
                self.drain_client(i);
                // The frames reached the client: the server's credit for them returns.
                let written = self.clients[i].link.take_written();
                let conn = self.clients[i].link.conn;
                let k = self.clients[i].link.node;
                if let (Some(server), Some(conn), true) =
                    (self.nodes[k].engine.as_mut(), conn, written > 0)
                {
                    server.set_unix_time_ms(now);
                    server.handle_written(now, conn, written);
                    self.drain_server(k);
                }
            }
        }
        for k in 0..self.nodes.len() {
            if let Some(server) = self.nodes[k].engine.as_mut() {
                if server.poll_timeout().is_some_and(|at| at <= now) {
                    server.set_unix_time_ms(now);
                    server.handle_timeout(now);
                    self.drain_server(k);
                }
            }
        }
        for i in 0..self.clients.len() {
            if let Some(engine) = self.clients[i].engine.as_mut() {
                if engine.poll_timeout().is_some_and(|at| at <= now) {
                    engine.handle_timeout(now);
                    self.drain_client(i);
                }
            }
        }
    }

    /// The node of client `i`'s link reads the frames that have arrived from it, as far as
    /// the edge's read window lets it.
    fn read_up(&mut self, i: usize) {
        let now = self.now;
        loop {
            // The edge's read window: the socket is not read while the engine holds a
            // full inbox of this connection's frames.
            let conn = self.clients[i].link.conn;
            let k = self.clients[i].link.node;
            let full = match (self.nodes[k].engine.as_ref(), conn) {
                (Some(server), Some(conn)) => {
                    server.inbound_held(conn) >= server.config().max_inbox
                }
                _ => false,
            };
            self.clients[i].link.up_blocked = full;
            if full {
                break;
            }
            let Some(frame) = self.clients[i].link.pop_up(now) else {
                break;
            };
            if let (true, Some(conn)) = (self.nodes[k].engine.is_some(), conn) {
                self.observe_up(k, conn, &frame);
                let server = self.nodes[k].engine.as_mut().expect("up");
                server.set_unix_time_ms(now);
                server.handle_frame(now, conn, frame.as_bytes());
                self.drain_server(k);
            }
        }
    }

    /// Opens a batch on node `k` (batched schedules).
    fn begin_node_batch(&mut self, k: usize) {
        if let Some(server) = self.nodes[k].engine.as_mut() {
            server.begin_batch().ok();
        }
    }

    /// Ends node `k`'s batch (which may fail, see `recording.rs`) and routes its outputs.
    fn end_node_batch(&mut self, k: usize) {
        let Some(server) = self.nodes[k].engine.as_mut() else {
            return;
        };
        if let Err(err) = server.end_batch() {
            if err.to_string().contains("(durable)") {
                self.tally.failed_batches_durable += 1;
            } else {
                self.tally.failed_batches_lost += 1;
            }
            self.log(|| format!("node {k}: batch failed: {err}"));
        }
        self.drain_server(k);
    }

    fn complete_open(&mut self, i: usize) {
        let now = self.now;
        self.clients[i].link.opening_at = None;
        let reachable = !self.clients[i].link.partitioned;
        if self.clients[i].engine.is_none() {
            return;
        }
        // The node the engine's endpoint names (the SDK's list of URLs, one per node).
        let k = match &self.clients[i].engine {
            Some(e) if self.is_cluster() => e.current_endpoint() % self.nodes.len(),
            _ => 0,
        };
        match (self.nodes[k].engine.as_mut(), reachable) {
            (Some(server), true) => {
                server.set_unix_time_ms(now);
                let conn = server.connect(now, ConnectInfo::default());
                self.conn_owner.insert((k, conn), i);
                let c = &mut self.clients[i];
                c.link.conn = Some(conn);
                c.link.node = k;
                if let Some(engine) = c.engine.as_mut() {
                    engine.socket_opened(now);
                }
                self.log(|| format!("c{i} connected to node {k} as {conn}"));
            }
            _ => {
                if let Some(engine) = self.clients[i].engine.as_mut() {
                    engine.socket_closed(now, 1006);
                }
                self.log(|| format!("c{i} connection to node {k} refused"));
            }
        }
        self.drain_server(k);
        self.drain_client(i);
    }

    /// Cluster schedules: hints due now reach their nodes, and nodes due to poll the store do.
    fn cluster_step(&mut self) {
        let now = self.now;
        while let Some(hint) = self.hint_link.pop_due(now) {
            let k = hint.to;
            if let Some(server) = self.nodes[k].engine.as_mut() {
                server.set_unix_time_ms(now);
                server.handle_log_hint(now, &hint.channel, hint.head);
                self.drain_server(k);
            }
        }
        self.relay_step();
        for k in 0..self.nodes.len() {
            if self.nodes[k].next_poll.is_none_or(|at| at > now) {
                continue;
            }
            self.nodes[k].next_poll = Some(now + POLL_MS);
            if let Some(server) = self.nodes[k].engine.as_mut() {
                server.set_unix_time_ms(now);
                server.sync_channels(now);
                self.drain_server(k);
            }
        }
    }

    /// Cluster schedules: every node polls the store now; whether that sent any client
    /// anything (a node was behind the log).
    pub fn poll_every_node(&mut self) -> bool {
        if !self.is_cluster() {
            return false;
        }
        let now = self.now;
        for k in 0..self.nodes.len() {
            if let Some(server) = self.nodes[k].engine.as_mut() {
                server.set_unix_time_ms(now);
                server.sync_channels(now);
                self.drain_server(k);
            }
        }
        self.clients.iter().any(|c| !c.link.idle())
    }

    /// Channels each client's views cover.
    pub fn spec_channels(&self, i: usize) -> BTreeSet<&'static str> {
        self.clients[i].specs.iter().map(|s| s.channel).collect()
    }
}

/// `(channel, offset, mutation_id)` of an event frame caused by `client_id`'s own mutation.
fn own_event(frame: &str, client_id: &str) -> Option<(String, u64, u64)> {
    if !frame.starts_with(r#"{"type":"event""#) || !frame.contains(client_id) {
        return None;
    }
    match tether_protocol::codec::decode_server(frame.as_bytes()) {
        Ok(tether_protocol::ServerMessage::Event {
            channel,
            offset,
            origin: Some(origin),
            ..
        }) if origin.client_id == client_id => Some((channel, offset, origin.mutation_id)),
        _ => None,
    }
}
