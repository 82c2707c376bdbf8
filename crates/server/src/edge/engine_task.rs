//! The engine task: one thread owns the [`ServerEngine`] and its store (SQLite calls block
//! only it), fed by the socket tasks through a bounded channel. It never waits on a socket:
//! frames go to per-connection queues with `try_send`. Flow control is the engine's: each
//! writer reports the frames it wrote ([`Input::Written`]), the engine paces what it produces
//! by them and itself closes a reader that stopped reading (4009), so a queue (sized for the
//! engine's capacity) does not fill; should it, the connection is closed 4009 all the same.
//! Each reader takes permits of its connection's read window per frame (by size); they return
//! as the engine consumes the frames, so a connection whose inbound frames wait for credit is
//! not read further.
//!
//! Group commit: each wake-up (up to [`BATCH`] queued inputs, or the due timers) runs inside
//! one engine batch, so its commits share one SQLite transaction and one fsync; the outputs are
//! flushed to the sockets only after the batch is durable. If it cannot be made durable (the
//! database was lost in the middle of its transaction), the engine recovers by itself: nothing
//! of the batch is sent, the connections it affected are closed with 1011, its HTTP API calls
//! are answered `503 unavailable`, and the task goes on (see the engine's `recovery.rs`).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tether_protocol::{CloseCode, Json};
use tokio::sync::{mpsc, oneshot, Notify, Semaphore};

use super::cluster_link::ClusterLink;
use super::forward::Forwarder;
use super::metrics::Metrics;
use super::options::read_units;
use super::EdgeError;
use crate::engine::{
    ApiAnswer, ApiMutation, ApiRead, ApiRequestId, ConnId, ConnectInfo, ForwardId, ForwardOutcome,
    NodeMessage, Output, RelayConfig, ServerConfig, ServerEngine,
};
use crate::store::{Store, StoreError};

/// Inputs processed per wake-up before outputs are flushed and stats published.
const BATCH: usize = 256;

/// What socket tasks send to the engine task.
#[derive(Debug)]
pub(crate) enum Input {
    /// A socket was upgraded.
    Connect {
        /// Boxed: token claims make it large.
        info: Box<ConnectInfo>,
        handle: ConnHandle,
        reply: oneshot::Sender<ConnId>,
    },
    /// A frame arrived.
    Frame { conn: ConnId, data: Vec<u8> },
    /// The writer wrote this many engine frames to the socket.
    Written { conn: ConnId, frames: usize },
    /// The WebSocket layer refused a frame over the size limit.
    Oversized { conn: ConnId, size: Option<u64> },
    /// The socket closed.
    Disconnect { conn: ConnId },
    /// Close every connection with 1001, then stop.
    Shutdown { done: oneshot::Sender<()> },
    /// HTTP API writes, applied in order; answered together, in order, once all are durable.
    ApiMutate {
        items: Vec<(ApiRequestId, ApiMutation)>,
        reply: oneshot::Sender<Vec<ApiAnswer>>,
    },
    /// An HTTP API read (a waiting change-feed read is answered later).
    ApiRead {
        request: ApiRequestId,
        read: ApiRead,
        reply: oneshot::Sender<Vec<ApiAnswer>>,
    },
    /// An HTTP API broadcast.
    ApiBroadcast {
        request: ApiRequestId,
        key_name: String,
        channel: String,
        payload: Json,
        reply: oneshot::Sender<Vec<ApiAnswer>>,
    },
    /// An HTTP API notification to a subject.
    ApiNotify {
        request: ApiRequestId,
        key_name: String,
        subject: String,
        payload: Json,
        reply: oneshot::Sender<Vec<ApiAnswer>>,
    },
    /// A waiting change-feed read timed out: answer it with what there is.
    ApiExpire { request: ApiRequestId },
    /// The outcome of a request forwarded to the app's backend.
    ForwardDone {
        id: ForwardId,
        outcome: ForwardOutcome,
    },
    /// Cluster mode: another node committed `channel` up to `offset` (a hint from the fan-out
    /// link; ignored unless `epoch` is this database's).
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    LogHint {
        epoch: String,
        channel: String,
        offset: u64,
    },
    /// Cluster mode: a broadcast or presence message of another node (or this one's own,
    /// which the engine ignores).
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    NodeMessage {
        node: String,
        seq: u64,
        msg: NodeMessage,
    },
    /// Cluster mode: the fan-out link (re)connected; hints may have been missed, read the
    /// database now.
    #[cfg_attr(not(feature = "cluster"), allow(dead_code))]
    Resync,
    /// `/healthz`: whether the store can take writes ([`Store::check_writable`]).
    Probe {
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

/// What the engine task sends to a socket's writer.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A frame, with the time the engine output it.
    Frame(Arc<str>, Stamp),
    /// Close the socket after the frames before it.
    Close(CloseCode),
}

/// When a frame was output: microseconds since the first stamp of the process, wrapping after
/// about 71 minutes (only differences below that are read). Half the size of an `Instant`,
/// which matters because every connection's queue holds a block of 32 of them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp(u32);

impl Stamp {
    fn origin() -> Instant {
        static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
        *ORIGIN.get_or_init(Instant::now)
    }

    /// Now.
    pub(crate) fn now() -> Stamp {
        let micros = Self::origin().elapsed().as_micros() % (u128::from(u32::MAX) + 1);
        Stamp(u32::try_from(micros).unwrap_or(0))
    }

    /// Time since this stamp.
    pub(crate) fn elapsed(self) -> Duration {
        Duration::from_micros(u64::from(Stamp::now().0.wrapping_sub(self.0)))
    }
}

/// Closes a socket at once, without waiting for its queue (slow consumer).
#[derive(Debug, Default)]
pub(crate) struct Kill {
    code: Mutex<Option<CloseCode>>,
    notify: Notify,
}

impl Kill {
    pub(crate) fn fire(&self, code: CloseCode) {
        if let Ok(mut slot) = self.code.lock() {
            slot.get_or_insert(code);
        }
        self.notify.notify_one();
    }

    pub(crate) async fn fired(&self) -> CloseCode {
        self.notify.notified().await;
        self.code
            .lock()
            .ok()
            .and_then(|c| *c)
            .unwrap_or(CloseCode::Normal)
    }
}

/// The engine task's side of one connection.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    pub(crate) queue: mpsc::Sender<Outbound>,
    pub(crate) kill: Arc<Kill>,
    /// Permits for the reader, one per inbound frame handed to the engine.
    pub(crate) read_window: Arc<Semaphore>,
    /// Frames handed to the engine so far.
    pub(crate) delivered: u64,
    /// Frames whose permits were returned so far.
    pub(crate) released: u64,
    /// Permits of the frames handed over and not returned yet, in order.
    pub(crate) taken: VecDeque<u32>,
}

impl ConnHandle {
    /// A handle over the connection's queue, kill switch and read window.
    pub(crate) fn new(
        queue: mpsc::Sender<Outbound>,
        kill: Arc<Kill>,
        read_window: Arc<Semaphore>,
    ) -> ConnHandle {
        ConnHandle {
            queue,
            kill,
            read_window,
            delivered: 0,
            released: 0,
            taken: VecDeque::new(),
        }
    }
}

impl Drop for ConnHandle {
    fn drop(&mut self) {
        // A reader waiting for a permit of a connection the engine forgot stops.
        self.read_window.close();
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

struct Loop<S> {
    engine: ServerEngine<S>,
    conns: HashMap<ConnId, ConnHandle>,
    start: Instant,
    metrics: Arc<Metrics>,
    stopping: bool,
    /// Connections with inbound frames whose read-window permits are not all back.
    reading: HashSet<ConnId>,
    /// HTTP API requests in flight: their group and place in it.
    api_requests: HashMap<ApiRequestId, (ApiRequestId, usize)>,
    /// HTTP API answers being collected, by the group's first request.
    api_groups: HashMap<ApiRequestId, ApiGroup>,
    /// Makes the HTTP calls of forwarded requests (`None`: nothing is forwarded).
    forwarder: Option<Forwarder>,
    /// Cluster mode (a shared database): hints out, polls in.
    cluster: Option<ClusterLink>,
    /// When the shared database is polled next (cluster mode).
    next_poll: Instant,
}

/// The answers of one HTTP API call (one per request of the call).
struct ApiGroup {
    answers: Vec<Option<ApiAnswer>>,
    reply: oneshot::Sender<Vec<ApiAnswer>>,
}

impl<S: Store> Loop<S> {
    fn now(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn handle(&mut self, input: Input) -> Option<oneshot::Sender<()>> {
        let now = self.now();
        self.engine.set_unix_time_ms(unix_ms());
        match input {
            Input::Connect {
                info,
                handle,
                reply,
            } => {
                if self.stopping {
                    return None; // dropping `reply` refuses the socket
                }
                let conn = self.engine.connect(now, *info);
                self.conns.insert(conn, handle);
                if reply.send(conn).is_err() {
                    self.conns.remove(&conn);
                    self.engine.disconnect(now, conn);
                }
            }
            Input::Frame { conn, data } => {
                if let Some(handle) = self.conns.get_mut(&conn) {
                    handle.delivered += 1;
                    handle.taken.push_back(read_units(data.len()));
                    self.reading.insert(conn);
                }
                self.engine.handle_frame(now, conn, &data);
            }
            Input::Written { conn, frames } => self.engine.handle_written(now, conn, frames),
            Input::Oversized { conn, size } => {
                self.metrics.too_large.fetch_add(1, Ordering::Relaxed);
                self.engine.handle_oversized(now, conn, size);
            }
            Input::Disconnect { conn } => {
                self.conns.remove(&conn);
                self.engine.disconnect(now, conn);
            }
            Input::ApiMutate { items, reply } => {
                let ids: Vec<ApiRequestId> = items.iter().map(|(id, _)| *id).collect();
                if self.stopping || !self.track_api(&ids, reply) {
                    return None;
                }
                for (id, mutation) in items {
                    self.engine.api_mutate(id, mutation);
                }
            }
            Input::ApiRead {
                request,
                read,
                reply,
            } => {
                if self.stopping || !self.track_api(&[request], reply) {
                    return None;
                }
                self.engine.api_read(request, read);
            }
            Input::ApiBroadcast {
                request,
                key_name,
                channel,
                payload,
                reply,
            } => {
                if self.stopping || !self.track_api(&[request], reply) {
                    return None;
                }
                self.engine
                    .api_broadcast(request, &key_name, channel, payload);
            }
            Input::ApiNotify {
                request,
                key_name,
                subject,
                payload,
                reply,
            } => {
                if self.stopping || !self.track_api(&[request], reply) {
                    return None;
                }
                self.engine
                    .api_notify(request, &key_name, &subject, payload);
            }
            Input::ApiExpire { request } => self.engine.api_expire(request),
            Input::ForwardDone { id, outcome } => {
                self.engine.handle_forward_result(now, id, outcome);
            }
            Input::LogHint {
                epoch,
                channel,
                offset,
            } => {
                if epoch == self.engine.store().epoch() {
                    self.engine.handle_log_hint(now, &channel, offset);
                }
            }
            Input::NodeMessage { node, seq, msg } => {
                self.engine.handle_node_message(now, &node, seq, msg);
            }
            Input::Resync => self.engine.sync_channels(now),
            Input::Probe { reply } => {
                let _ = reply.send(self.engine.store_mut().check_writable());
            }
            Input::Shutdown { done } => {
                self.stopping = true;
                self.engine.shutdown(now);
                return Some(done);
            }
        }
        None
    }

    /// Registers the requests of one API call; `false` (nothing registered) for an empty call
    /// or an id already in flight.
    fn track_api(&mut self, ids: &[ApiRequestId], reply: oneshot::Sender<Vec<ApiAnswer>>) -> bool {
        let Some(first) = ids.first().copied() else {
            let _ = reply.send(Vec::new());
            return false;
        };
        if ids.iter().any(|id| self.api_requests.contains_key(id))
            || self.api_groups.contains_key(&first)
        {
            return false;
        }
        for (i, id) in ids.iter().enumerate() {
            self.api_requests.insert(*id, (first, i));
        }
        let answers = vec![None; ids.len()];
        self.api_groups.insert(first, ApiGroup { answers, reply });
        true
    }

    /// Hands the engine's API replies to the waiting HTTP handlers.
    fn flush_api(&mut self) {
        while let Some(reply) = self.engine.poll_api_reply() {
            let Some((first, i)) = self.api_requests.remove(&reply.request) else {
                continue;
            };
            let Some(group) = self.api_groups.get_mut(&first) else {
                continue;
            };
            if let Some(slot) = group.answers.get_mut(i) {
                *slot = Some(reply.answer);
            }
            if group.answers.iter().all(Option::is_some) {
                if let Some(group) = self.api_groups.remove(&first) {
                    let answers = group.answers.into_iter().flatten().collect();
                    let _ = group.reply.send(answers);
                }
            }
        }
    }

    /// Returns read-window permits for the frames the engine consumed.
    fn settle_read_windows(&mut self) {
        let engine = &self.engine;
        let conns = &mut self.conns;
        self.reading.retain(|conn| {
            let Some(handle) = conns.get_mut(conn) else {
                return false;
            };
            // The engine consumes a connection's frames in order: the oldest are done.
            let held = engine.inbound_held(*conn) as u64;
            let consumed = handle.delivered.saturating_sub(held);
            let mut permits = 0usize;
            while handle.released < consumed {
                let Some(units) = handle.taken.pop_front() else {
                    break;
                };
                permits += units as usize;
                handle.released += 1;
            }
            if permits > 0 {
                handle.read_window.add_permits(permits);
            }
            held > 0
        });
    }

    fn flush(&mut self) {
        self.start_forwarded_calls();
        // Publish the stats before any frame leaves: a client that saw a frame then reads
        // /metrics that already count what produced it.
        self.publish_stats();
        // Hints name durable commits only (the engine holds those of an open batch).
        if let Some(cluster) = &self.cluster {
            for (channel, head) in self.engine.take_hints() {
                cluster.publish(channel, head);
            }
        }
        // Broadcasts and presence for the other nodes (cluster mode; none without a relay).
        while let Some((seq, msg)) = self.engine.poll_node_message() {
            if let Some(cluster) = &self.cluster {
                cluster.relay(seq, &msg);
            }
        }
        self.settle_read_windows();
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Send { conn, frame } => {
                    let Some(handle) = self.conns.get(&conn) else {
                        continue;
                    };
                    match handle.queue.try_send(Outbound::Frame(frame, Stamp::now())) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            tracing::warn!(%conn, "outbound queue full: closing slow consumer");
                            self.metrics.queue_closes.fetch_add(1, Ordering::Relaxed);
                            handle.kill.fire(CloseCode::SlowConsumer);
                            self.conns.remove(&conn);
                            let now = self.now();
                            self.engine.disconnect(now, conn);
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => {
                            self.conns.remove(&conn);
                            let now = self.now();
                            self.engine.disconnect(now, conn);
                        }
                    }
                }
                Output::Close { conn, code } => {
                    if let Some(handle) = self.conns.remove(&conn) {
                        tracing::debug!(%conn, code = code.as_u16(), "closing");
                        if code == CloseCode::SlowConsumer {
                            // At once, without waiting for the queue the reader does not read.
                            tracing::warn!(%conn, "outbound capacity overflowed: closing slow consumer");
                            self.metrics.queue_closes.fetch_add(1, Ordering::Relaxed);
                            handle.kill.fire(code);
                        } else if handle.queue.try_send(Outbound::Close(code)).is_err() {
                            handle.kill.fire(code);
                        }
                    }
                }
            }
        }
        self.flush_api();
        // Disconnects of slow consumers above changed the stats again.
        self.publish_stats();
    }

    /// Starts the HTTP calls of requests the engine forwards to the app's backend.
    fn start_forwarded_calls(&mut self) {
        while let Some(call) = self.engine.poll_forward() {
            match &self.forwarder {
                Some(forwarder) => forwarder.spawn(call),
                None => {
                    let now = self.now();
                    let why = "this server has no HTTP client for forwarding".to_owned();
                    self.engine.handle_forward_result(
                        now,
                        call.id,
                        ForwardOutcome::Unavailable(why),
                    );
                }
            }
        }
    }

    /// Opens the group commit of one wake-up.
    fn begin_batch(&mut self) {
        if let Err(err) = self.engine.begin_batch() {
            tracing::warn!(%err, "cannot start a group commit: committing one by one");
        }
    }

    /// Makes the wake-up's commits durable; only then may its outputs be flushed (by the
    /// caller). On failure the engine has replaced them with a 1011 close of each connection
    /// the batch affected; the task goes on.
    fn end_batch(&mut self) {
        if let Err(err) = self.engine.end_batch() {
            tracing::error!(
                %err,
                "group commit failed: nothing of the batch was sent; closing the connections \
                 it affected with 1011 (clients resend what was not acknowledged) and going on"
            );
        }
    }

    fn publish_stats(&self) {
        if let Ok(mut stats) = self.metrics.engine.lock() {
            stats.clone_from(self.engine.stats());
        }
    }

    /// Runs until shutdown; returns the store.
    async fn run(mut self, mut inputs: mpsc::Receiver<Input>) -> S {
        self.run_loop(&mut inputs).await;
        // Any frame still queued from sockets is dropped unprocessed: those connections are
        // closed (1001) and their clients resend unacknowledged mutations.
        self.engine.into_store()
    }

    async fn run_loop(&mut self, inputs: &mut mpsc::Receiver<Input>) {
        loop {
            let far = Instant::now() + Duration::from_secs(3_600);
            let timer = self
                .engine
                .poll_timeout()
                .map(|at| self.start + Duration::from_millis(at));
            let polling = self.cluster.is_some();
            let first = tokio::select! {
                input = inputs.recv() => input,
                () = tokio::time::sleep_until(timer.unwrap_or(far).into()), if timer.is_some() => {
                    let now = self.now();
                    self.engine.set_unix_time_ms(unix_ms());
                    // Timers apply rate-delayed mutations: they commit too.
                    self.begin_batch();
                    self.engine.handle_timeout(now);
                    self.end_batch();
                    self.flush();
                    continue;
                }
                () = tokio::time::sleep_until(self.next_poll.into()), if polling => {
                    // Other nodes' commits, read from the shared database (cluster mode).
                    let now = self.now();
                    self.engine.set_unix_time_ms(unix_ms());
                    self.engine.sync_channels(now);
                    self.flush();
                    let interval = self.cluster.as_ref().map_or(far - Instant::now(), |c| {
                        c.poll_interval()
                    });
                    self.next_poll = Instant::now() + interval;
                    continue;
                }
            };
            let Some(first) = first else {
                return;
            };
            self.begin_batch();
            let mut done = self.handle(first);
            for _ in 1..BATCH {
                if done.is_some() {
                    break;
                }
                match inputs.try_recv() {
                    Ok(input) => done = self.handle(input),
                    Err(_) => break,
                }
            }
            self.end_batch();
            self.flush();
            if let Some(done) = done {
                let _ = done.send(());
                return;
            }
        }
    }
}

/// The running engine thread.
pub(crate) struct EngineThread<S> {
    /// Where socket tasks send their inputs.
    pub(crate) inputs: mpsc::Sender<Input>,
    /// Yields the store when the thread ends (`None` if its runtime could not start).
    pub(crate) join: std::thread::JoinHandle<Option<S>>,
}

/// How forwarded requests are sent (see `edge/forward.rs`).
pub(crate) struct ForwardSetup {
    /// Sent as `Authorization: Bearer <secret>`.
    pub(crate) secret: Option<String>,
    /// Largest answer body read.
    pub(crate) max_body: usize,
}

/// Starts the engine thread; forwarded requests' calls run on the caller's tokio runtime.
pub(crate) fn spawn_engine<S: Store + Send + 'static>(
    config: ServerConfig,
    store: S,
    metrics: Arc<Metrics>,
    capacity: usize,
    forward: &ForwardSetup,
    cluster: Option<ClusterLink>,
) -> Result<EngineThread<S>, EdgeError> {
    let (tx, rx) = mpsc::channel(capacity);
    let forwarding = !config.forward.routes.is_empty() || config.forward.fallback.is_some();
    let forwarder = if forwarding {
        Some(Forwarder::new(
            forward.secret.as_deref(),
            forward.max_body,
            tokio::runtime::Handle::current(),
            tx.downgrade(),
        )?)
    } else {
        None
    };
    let mut engine = ServerEngine::new(config, store);
    if let Some(node) = cluster.as_ref().and_then(|c| c.node_id.clone()) {
        // Engine time starts at 0 when the thread's loop starts.
        engine.enable_relay(0, node, RelayConfig::default());
    }
    let join = std::thread::Builder::new()
        .name("tether-engine".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .ok()?;
            let engine_loop = Loop {
                engine,
                conns: HashMap::new(),
                start: Instant::now(),
                metrics,
                stopping: false,
                reading: HashSet::new(),
                api_requests: HashMap::new(),
                api_groups: HashMap::new(),
                forwarder,
                cluster,
                next_poll: Instant::now(),
            };
            Some(rt.block_on(engine_loop.run(rx)))
        })
        .map_err(EdgeError::Io)?;
    Ok(EngineThread { inputs: tx, join })
}
