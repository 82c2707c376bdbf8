//! `--scenario failover`: `clients` subscribers on node 2 of a cluster, node 2 SIGKILLed, and
//! the time until each of them is current again on another node.
//!
//! Each client behaves as the SDK with a list of endpoints (package README, Several endpoints;
//! PROTOCOL.md §5): it keeps its cursor (epoch, last complete offset) of channel `failover`;
//! after its connection drops it waits the SDK's backoff (`tether_core::Backoff`, default
//! settings: full jitter in `[0, 500 ms]` for the first attempt, doubling), connects to the
//! next endpoint of its list (round-robin; the lists alternate `[2, 3, 1]` and `[2, 1, 3]`, so
//! the clients of node 2 spread over the two others), says `hello` with its client id and
//! subscribes `since` its cursor. It is *current* when that `subscribed` says `recovered`, the
//! replay has ended (`presence_sync` follows the last replayed event) and its cursor is at
//! least the head the writer had acknowledged when node 2 was killed. A writer on node 1 puts
//! `rate` events per second throughout, so the clients miss events while they are away.
//! Events are checked as a client applies them (PROTOCOL.md §5 table): an offset at or below
//! the cursor is a duplicate, a `prev` above it a gap; both are counted (the promise is none).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use tether_core::{Backoff, BackoffConfig, Rng};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

use crate::conn::{self, Ws};
use crate::server::{self, ServerProcess};
use crate::stats::{new_histogram, record, Summary};
use crate::wire::{self, Peer};

/// The channel the clients follow.
const CHANNEL: &str = "failover";
/// How long the clients have to be current after the kill before the run gives up on them.
const CURRENT_WITHIN: Duration = Duration::from_secs(60);
/// How long they have to reach the writer's final head after it stopped.
const FINAL_WITHIN: Duration = Duration::from_secs(15);

/// The load.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Clients on node 2.
    pub clients: usize,
    /// The writer's puts per second on node 1.
    pub rate: f64,
    /// Clients connecting at the same time at the start (not after the kill: they reconnect
    /// on their own, as real clients do).
    pub concurrency: usize,
    /// Longest time for connecting every client at the start.
    pub connect_timeout: Duration,
}

/// The figures of one run.
#[derive(Debug, Serialize)]
pub struct FailoverResult {
    pub scenario: &'static str,
    pub label: String,
    pub nodes: usize,
    pub clients: usize,
    /// Clients subscribed on node 2 before the kill.
    pub subscribed: usize,
    pub connect_secs: f64,
    pub first_connect_error: Option<String>,
    pub rate_per_sec: f64,
    /// The writer's last acknowledged offset when node 2 was killed.
    pub head_at_kill: u64,
    /// Its last acknowledged offset when it stopped (after every client was current).
    pub final_head: u64,
    /// Clients current again within the bound.
    pub current: usize,
    /// Of those, how many resumed `recovered` (the others got `reset`).
    pub recovered: usize,
    pub reset: usize,
    /// Kill → the client saw its connection end.
    pub detect: Option<Summary>,
    /// Kill → the client was current again (every current client).
    pub time_to_current: Option<Summary>,
    /// Kill → the last client was current, milliseconds.
    pub all_current_ms: Option<f64>,
    /// Backoff waits of each client between the drop and its successful attempt.
    pub backoff: Option<Summary>,
    /// Connection attempts per client after the drop (mean, max).
    pub attempts_mean: f64,
    pub attempts_max: u64,
    /// Clients that ended on each node (node 1 first).
    pub clients_per_node: Vec<usize>,
    pub duplicates: u64,
    pub gaps: u64,
    /// Clients whose cursor reached `final_head` (every event once, in order) in time.
    pub final_consistent: usize,
    pub writer_error: Option<String>,
    pub load_average: [Option<f64>; 2],
    pub survivors_alive_at_end: bool,
    pub server_command: Vec<String>,
}

/// What each client reports once it is current again.
#[derive(Debug, Clone, Copy)]
struct Outcome {
    node: usize,
    detect_us: u64,
    current_us: u64,
    backoff_us: u64,
    attempts: u64,
    recovered: bool,
}

/// State shared by the clients, the writer and the run.
struct Shared {
    /// Measurement zero (the kill).
    start: Instant,
    /// Microseconds since `start` of the kill (0 until then).
    killed_at_us: AtomicU64,
    head_at_kill: AtomicU64,
    ready: AtomicUsize,
    failed: AtomicUsize,
    first_error: Mutex<Option<String>>,
    outcomes: Mutex<Vec<Outcome>>,
    cursors: Vec<AtomicU64>,
    duplicates: AtomicU64,
    gaps: AtomicU64,
    head: AtomicU64,
    stop_writer: AtomicBool,
}

/// Runs the scenario on started nodes (`servers[1]` is killed).
pub async fn measure(
    servers: &mut [ServerProcess],
    load: Load,
    label: String,
    command: Vec<String>,
) -> Result<FailoverResult, String> {
    if servers.len() < 2 {
        return Err("the failover scenario needs --nodes 2 or more".to_owned());
    }
    let addrs: Vec<SocketAddr> = servers.iter().map(ServerProcess::addr).collect();
    let shared = Arc::new(Shared {
        start: Instant::now(),
        killed_at_us: AtomicU64::new(0),
        head_at_kill: AtomicU64::new(u64::MAX),
        ready: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        first_error: Mutex::new(None),
        outcomes: Mutex::new(Vec::new()),
        cursors: (0..load.clients).map(|_| AtomicU64::new(0)).collect(),
        duplicates: AtomicU64::new(0),
        gaps: AtomicU64::new(0),
        head: AtomicU64::new(0),
        stop_writer: AtomicBool::new(false),
    });

    // The writer on node 1: one put first, so the channel has an event before anyone follows.
    let mut writer_ws = catchup_connect(addrs[0], "bench-failover-writer").await?;
    let mut writer_next = 1u64;
    put(&mut writer_ws, &mut writer_next).await?;
    let first = await_ack(&mut writer_ws).await?;
    shared.head.store(first, Ordering::Relaxed);

    // The clients on node 2.
    let gate = Arc::new(Semaphore::new(load.concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let connect_started = Instant::now();
    for index in 0..load.clients {
        // Node 2 first, then alternately 3, 1 or 1, 3 (when there are three nodes).
        let mut order: Vec<usize> = (0..addrs.len()).collect();
        order.rotate_left(1);
        if index % 2 == 1 && order.len() > 2 {
            order[1..].reverse();
        }
        let endpoints: Vec<(usize, SocketAddr)> = order.iter().map(|&i| (i, addrs[i])).collect();
        let (shared, gate) = (Arc::clone(&shared), Arc::clone(&gate));
        tasks.spawn(client(index, endpoints, shared, gate));
    }
    let connect_deadline = Instant::now() + load.connect_timeout;
    while shared.ready.load(Ordering::Relaxed) + shared.failed.load(Ordering::Relaxed)
        < load.clients
        && Instant::now() < connect_deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    let subscribed = shared.ready.load(Ordering::Relaxed);
    eprintln!(
        "[loadgen failover] {subscribed} of {} clients subscribed on node 2 in {connect_secs:.1}s",
        load.clients
    );

    // The writer puts throughout; after a second of live traffic node 2 is killed.
    let writer = tokio::spawn(run_writer(
        writer_ws,
        writer_next,
        load.rate,
        Arc::clone(&shared),
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let load_start = server::load_average();
    let head_at_kill = shared.head.load(Ordering::Relaxed);
    shared.head_at_kill.store(head_at_kill, Ordering::Relaxed);
    let killed_at = conn::micros_since(shared.start).max(1);
    shared.killed_at_us.store(killed_at, Ordering::Relaxed);
    servers[1].kill().await;
    eprintln!("[loadgen failover] node 2 killed at head {head_at_kill}");

    let deadline = Instant::now() + CURRENT_WITHIN;
    let mut last_log = Instant::now();
    loop {
        let current = shared.outcomes.lock().map(|o| o.len()).unwrap_or(0);
        if current >= subscribed || Instant::now() >= deadline {
            break;
        }
        if last_log.elapsed() >= Duration::from_secs(5) {
            eprintln!("[loadgen failover] {current} of {subscribed} current");
            last_log = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let load_end = server::load_average();
    shared.stop_writer.store(true, Ordering::Relaxed);
    let writer_error = writer.await.map_err(|e| format!("writer task: {e}"))?.err();
    let final_head = shared.head.load(Ordering::Relaxed);
    let final_deadline = Instant::now() + FINAL_WITHIN;
    let consistent = |s: &Shared| {
        s.cursors
            .iter()
            .filter(|c| c.load(Ordering::Relaxed) == final_head)
            .count()
    };
    while consistent(&shared) < subscribed && Instant::now() < final_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let final_consistent = consistent(&shared);
    let survivors_alive_at_end = servers.iter().enumerate().all(|(i, s)| i == 1 || s.alive());
    tasks.abort_all();

    let outcomes = shared
        .outcomes
        .lock()
        .map(|o| o.clone())
        .unwrap_or_default();
    let (mut detect, mut current, mut backoff) =
        (new_histogram(), new_histogram(), new_histogram());
    let mut clients_per_node = vec![0usize; addrs.len()];
    let (mut attempts, mut attempts_max, mut recovered) = (0u64, 0u64, 0usize);
    for o in &outcomes {
        record(&mut detect, o.detect_us);
        record(&mut current, o.current_us);
        record(&mut backoff, o.backoff_us);
        clients_per_node[o.node] += 1;
        attempts += o.attempts;
        attempts_max = attempts_max.max(o.attempts);
        recovered += usize::from(o.recovered);
    }
    let time_to_current = Summary::of(&current);
    let all_current_ms = time_to_current.as_ref().map(|s| s.max_us as f64 / 1e3);
    if let Some(s) = &time_to_current {
        eprintln!(
            "[loadgen failover] {} of {subscribed} current again: p50 {:.0} ms, p99 {:.0} ms, all {:.0} ms",
            outcomes.len(),
            s.p50_us as f64 / 1e3,
            s.p99_us as f64 / 1e3,
            s.max_us as f64 / 1e3
        );
    }
    let first_connect_error = shared.first_error.lock().ok().and_then(|e| e.clone());
    Ok(FailoverResult {
        scenario: "failover",
        label,
        nodes: addrs.len(),
        clients: load.clients,
        subscribed,
        connect_secs,
        first_connect_error,
        rate_per_sec: load.rate,
        head_at_kill,
        final_head,
        current: outcomes.len(),
        recovered,
        reset: outcomes.len() - recovered,
        detect: Summary::of(&detect),
        time_to_current,
        all_current_ms,
        backoff: Summary::of(&backoff),
        attempts_mean: if outcomes.is_empty() {
            0.0
        } else {
            attempts as f64 / outcomes.len() as f64
        },
        attempts_max,
        clients_per_node,
        duplicates: shared.duplicates.load(Ordering::Relaxed),
        gaps: shared.gaps.load(Ordering::Relaxed),
        final_consistent,
        writer_error,
        load_average: [load_start, load_end],
        survivors_alive_at_end,
        server_command: command,
    })
}

async fn catchup_connect(addr: SocketAddr, client_id: &str) -> Result<Ws, String> {
    crate::catchup::connect(addr, client_id).await
}

/// Sends the writer's next put.
async fn put(ws: &mut Ws, next: &mut u64) -> Result<(), String> {
    let frame = serde_json::json!({"type": "mutate", "mutation_id": *next, "channel": CHANNEL,
        "op": "put", "id": format!("f{}", *next % 16), "doc": {"title": "card", "n": *next}});
    *next += 1;
    conn::send(ws, frame.to_string()).await
}

/// The offset of the next `ack` (handshake path: the first put).
async fn await_ack(ws: &mut Ws) -> Result<u64, String> {
    loop {
        let frame = conn::next_text(ws).await?;
        for message in frame.split('\n') {
            match wire::tether_type(message).as_deref() {
                Some("ack") => {
                    return wire::find_u64(message, "\"offset\":")
                        .ok_or_else(|| format!("ack without an offset: {message}"))
                }
                Some("reject") | Some("error") => return Err(format!("put refused: {message}")),
                _ => {}
            }
        }
    }
}

/// Puts `rate` per second until told to stop, then waits (bounded) for the outstanding acks;
/// keeps `shared.head` at the highest acknowledged offset.
async fn run_writer(
    mut ws: Ws,
    mut next: u64,
    rate: f64,
    shared: Arc<Shared>,
) -> Result<(), String> {
    let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
    let mut tick = tokio::time::interval(period);
    let mut ping = tokio::time::interval(Duration::from_secs(5));
    let mut acked = next - 1;
    let mut stop_deadline: Option<tokio::time::Instant> = None;
    loop {
        if stop_deadline.is_none() && shared.stop_writer.load(Ordering::Relaxed) {
            stop_deadline = Some(tokio::time::Instant::now() + Duration::from_secs(10));
        }
        if stop_deadline.is_some() && acked + 1 == next {
            return Ok(());
        }
        tokio::select! {
            _ = tick.tick(), if stop_deadline.is_none() => put(&mut ws, &mut next).await?,
            _ = ping.tick() => conn::send(&mut ws, wire::tether_ping(next)).await?,
            () = tokio::time::sleep_until(stop_deadline.unwrap_or_else(tokio::time::Instant::now)),
                if stop_deadline.is_some() => {
                return Err(format!("{} puts unacknowledged after the writer stopped", next - 1 - acked));
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    for message in text.as_str().split('\n') {
                        if message.starts_with("{\"type\":\"ack\"") {
                            acked += 1;
                            if let Some(offset) = wire::find_u64(message, "\"offset\":") {
                                shared.head.fetch_max(offset, Ordering::Relaxed);
                            }
                        } else if message.starts_with("{\"type\":\"reject\"")
                            || message.starts_with("{\"type\":\"error\"")
                        {
                            return Err(format!("writer refused: {message}"));
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => return Err(format!("writer closed: {frame:?}")),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("writer: {e}")),
                None => return Err("writer connection ended".to_owned()),
            },
        }
    }
}

/// A connection past its `subscribed`.
struct Attached {
    ws: Ws,
    heartbeat: Duration,
    subscribed: serde_json::Value,
    /// Messages after `subscribed` in its frame (replayed events, `presence_sync`).
    rest: Vec<String>,
}

/// A client's view of channel `failover`.
struct Cursor {
    epoch: String,
    offset: u64,
}

/// Connects to `addr`, says hello as `client_id` and subscribes (`since` the cursor when there
/// is one). Returns the connection, the heartbeat, the `subscribed` message and the messages
/// that followed it in the same frame.
async fn attach(
    addr: SocketAddr,
    client_id: &str,
    cursor: Option<&Cursor>,
) -> Result<Attached, String> {
    let mut ws = conn::open(addr, Peer::Tether, true).await?;
    let heartbeat = conn::tether_hello(&mut ws, client_id).await?;
    let mut subscribe = serde_json::json!({"type": "subscribe", "channel": CHANNEL});
    if let Some(c) = cursor {
        subscribe["since"] = serde_json::json!({"epoch": c.epoch, "offset": c.offset});
    }
    conn::send(&mut ws, subscribe.to_string()).await?;
    loop {
        let frame = conn::next_text(&mut ws).await?;
        let mut messages = frame.split('\n');
        while let Some(message) = messages.next() {
            match wire::tether_type(message).as_deref() {
                Some("subscribed") => {
                    let subscribed =
                        serde_json::from_str(message).map_err(|e| format!("subscribed: {e}"))?;
                    let rest = messages.map(str::to_owned).collect();
                    return Ok(Attached {
                        ws,
                        heartbeat,
                        subscribed,
                        rest,
                    });
                }
                Some("error") => return Err(format!("subscribe refused: {message}")),
                _ => {}
            }
        }
    }
}

/// One client: subscribes on its first endpoint (node 2), follows the channel, and after a
/// drop reconnects as the SDK does, reporting when it is current again.
async fn client(
    index: usize,
    endpoints: Vec<(usize, SocketAddr)>,
    shared: Arc<Shared>,
    gate: Arc<Semaphore>,
) {
    let client_id = format!("bench-failover-{index}");
    let permit = gate.acquire_owned().await;
    let first = attach(endpoints[0].1, &client_id, None).await;
    drop(permit);
    let Attached {
        mut ws,
        mut heartbeat,
        subscribed,
        mut rest,
    } = match first {
        Ok(ok) => ok,
        Err(e) => {
            shared.failed.fetch_add(1, Ordering::Relaxed);
            if let Ok(mut slot) = shared.first_error.lock() {
                slot.get_or_insert(e);
            }
            return;
        }
    };
    let mut cursor = Cursor {
        epoch: subscribed["epoch"].as_str().unwrap_or_default().to_owned(),
        offset: subscribed["offset"].as_u64().unwrap_or(0),
    };
    shared.cursors[index].store(cursor.offset, Ordering::Relaxed);
    shared.ready.fetch_add(1, Ordering::Relaxed);

    let mut rng = Rng::new(0x5eed ^ index as u64);
    let mut backoff = Backoff::new(BackoffConfig::default());
    let ms_now = |s: &Shared| conn::micros_since(s.start) / 1000;
    backoff.link_up(ms_now(&shared));
    let mut endpoint = 0usize;
    // After a drop: (detected at, backoff slept, attempts), until current again.
    let mut pending: Option<(u64, u64, u64)> = None;
    // Set once the resumed subscription's replay has ended.
    let mut replayed = false;
    let mut recovered = true;
    loop {
        // Follow the channel until the connection ends.
        let leftover = std::mem::take(&mut rest);
        follow(
            &mut ws,
            heartbeat,
            leftover,
            index,
            &mut cursor,
            &shared,
            &mut |cursor, event_or_sync| {
                if event_or_sync {
                    replayed = true;
                }
                if let Some((detect, slept, attempts)) = pending {
                    let killed = shared.killed_at_us.load(Ordering::Relaxed);
                    if replayed && cursor >= shared.head_at_kill.load(Ordering::Relaxed) {
                        if let Ok(mut o) = shared.outcomes.lock() {
                            o.push(Outcome {
                                node: endpoints[endpoint].0,
                                detect_us: detect.saturating_sub(killed),
                                current_us: conn::micros_since(shared.start).saturating_sub(killed),
                                backoff_us: slept,
                                attempts,
                                recovered,
                            });
                        }
                        pending = None;
                    }
                }
            },
        )
        .await;
        // Dropped: reconnect to the next endpoints with the SDK's backoff.
        let detected = conn::micros_since(shared.start);
        backoff.link_down(ms_now(&shared));
        let (mut slept, mut attempts) = pending.map_or((0, 0), |(_, s, a)| (s, a));
        let detect = pending.map_or(detected, |(d, _, _)| d);
        loop {
            let delay = backoff.next_delay(&mut rng, None).unwrap_or(30_000);
            tokio::time::sleep(Duration::from_millis(delay)).await;
            slept += delay * 1000;
            attempts += 1;
            endpoint = (endpoint + 1) % endpoints.len();
            match attach(endpoints[endpoint].1, &client_id, Some(&cursor)).await {
                Ok(attached) => {
                    backoff.link_up(ms_now(&shared));
                    let subscribed = attached.subscribed;
                    ws = attached.ws;
                    heartbeat = attached.heartbeat;
                    rest = attached.rest;
                    recovered = subscribed["continuity"].as_str() == Some("recovered");
                    if !recovered {
                        cursor.epoch = subscribed["epoch"].as_str().unwrap_or_default().to_owned();
                        cursor.offset = subscribed["offset"].as_u64().unwrap_or(0);
                        shared.cursors[index].store(cursor.offset, Ordering::Relaxed);
                    }
                    replayed = false;
                    pending = Some((detect, slept, attempts));
                    break;
                }
                Err(_) => continue,
            }
        }
    }
}

/// Reads the connection until it ends, applying events to `cursor` (counting duplicates and
/// gaps) and pinging as the heartbeat asks; `leftover` messages first. Calls
/// `progress(cursor, replay_done)` after each event and at `presence_sync` (with `replay_done`
/// true).
async fn follow(
    ws: &mut Ws,
    heartbeat: Duration,
    leftover: Vec<String>,
    index: usize,
    cursor: &mut Cursor,
    shared: &Shared,
    progress: &mut impl FnMut(u64, bool),
) {
    for message in &leftover {
        apply(message, index, cursor, shared, progress);
    }
    let every = heartbeat / 3;
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    let mut nonce = 0u64;
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    for message in text.as_str().split('\n') {
                        apply(message, index, cursor, shared, progress);
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
            _ = ping.tick() => {
                nonce += 1;
                if ws.send(Message::text(wire::tether_ping(nonce))).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Applies one message to the cursor (PROTOCOL.md §5: at or below the cursor a duplicate, a
/// `prev` above it a gap).
fn apply(
    message: &str,
    index: usize,
    cursor: &mut Cursor,
    shared: &Shared,
    progress: &mut impl FnMut(u64, bool),
) {
    if message.starts_with("{\"type\":\"event\"") {
        let offset = wire::find_u64(message, "\"offset\":").unwrap_or(0);
        let prev = wire::find_u64(message, "\"prev\":").unwrap_or(0);
        if offset <= cursor.offset {
            shared.duplicates.fetch_add(1, Ordering::Relaxed);
        } else {
            if prev > cursor.offset {
                shared.gaps.fetch_add(1, Ordering::Relaxed);
            }
            cursor.offset = offset;
            shared.cursors[index].store(offset, Ordering::Relaxed);
        }
        progress(cursor.offset, false);
    } else if message.starts_with("{\"type\":\"presence_sync\"") {
        progress(cursor.offset, true);
    }
}
