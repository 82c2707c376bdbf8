//! `--scenario catchup`: how long a client that missed many events takes to be current again,
//! and what subscribing to a large channel costs. Against `tether-server` only (run it with
//! `--rate-per-sec 0` so the writer's pipelined puts are not rate-limited, and with
//! `--retain-events` at least `--events`).
//!
//! 1. A writer puts `--events` events into channel `catchup` (pipelined, ids cycling over 100);
//!    a reader that saw none of them subscribes `since {epoch, 0}`: the figure is the time from
//!    sending that `subscribe` to receiving the last event (the server's side of a resume).
//! 2. For each size in `--docs`, a writer puts that many distinct documents (~400 bytes each)
//!    into a channel of their own; a reader subscribes without `since`: the figures are the time
//!    from `subscribe` to the end of the snapshot (the `presence_sync` after its last page), the
//!    number of pages, the largest WebSocket message, and the server's RSS before and at its peak
//!    while the snapshot streamed (sampled every 5 ms from `/proc`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::conn::{self, Ws};
use crate::server::{self, ServerProcess};
use crate::wire::{self, Peer};

/// Puts joined into one `tether-lines` frame by the writer.
const PUTS_PER_FRAME: u64 = 50;
/// Puts the writer has unacknowledged at most.
const WINDOW: u64 = 1_000;

/// The catch-up figures of one run.
#[derive(Debug, Serialize)]
pub struct CatchupResult {
    pub scenario: &'static str,
    pub label: String,
    /// Events the resuming reader missed.
    pub events: u64,
    /// `subscribe since` → the last missed event, milliseconds.
    pub resume_ms: f64,
    /// Whether the answer was `recovered` and every event arrived in order.
    pub resume_recovered: bool,
    pub snapshots: Vec<SnapshotFigure>,
    pub server_alive_at_end: bool,
    pub server_command: Vec<String>,
}

/// Subscribing to one large channel.
#[derive(Debug, Serialize)]
pub struct SnapshotFigure {
    pub docs: u64,
    /// `subscribe` → the end of the snapshot, milliseconds.
    pub subscribe_ms: f64,
    /// Documents received (must equal `docs`).
    pub docs_received: u64,
    /// `subscribed` plus `snapshot` messages.
    pub pages: u64,
    pub largest_message_bytes: usize,
    pub rss_before_bytes: u64,
    pub peak_rss_bytes: u64,
}

/// Runs the scenario against a started server.
pub async fn measure(
    server: &ServerProcess,
    events: u64,
    docs: &[u64],
    label: String,
    command: Vec<String>,
) -> Result<CatchupResult, String> {
    let addr = server.addr();
    write(addr, "catchup", events, 100, 40).await?;
    let epoch = epoch_of(addr, "catchup").await?;
    let (resume_ms, resume_recovered) = resume(addr, &epoch, events).await?;
    eprintln!(
        "[loadgen catchup] resume after {events} missed events: {resume_ms:.0} ms (recovered: {resume_recovered})"
    );
    let mut snapshots = Vec::new();
    for &n in docs {
        let channel = format!("docs-{n}");
        write(addr, &channel, n, n, 400).await?;
        let figure = snapshot(server, &channel, n).await?;
        eprintln!(
            "[loadgen catchup] subscribe to {n} documents: {:.0} ms, {} pages, peak RSS {:.1} MB (before {:.1} MB)",
            figure.subscribe_ms,
            figure.pages,
            figure.peak_rss_bytes as f64 / 1e6,
            figure.rss_before_bytes as f64 / 1e6
        );
        snapshots.push(figure);
    }
    Ok(CatchupResult {
        scenario: "catchup",
        label,
        events,
        resume_ms,
        resume_recovered,
        snapshots,
        server_alive_at_end: server.alive(),
        server_command: command,
    })
}

/// A `tether-lines` connection past `welcome`.
pub async fn connect(addr: SocketAddr, client_id: &str) -> Result<Ws, String> {
    let mut ws = conn::open(addr, Peer::Tether, true).await?;
    conn::tether_hello(&mut ws, client_id).await?;
    Ok(ws)
}

/// Puts `n` documents (ids cycling over `distinct`, bodies of about `body_bytes`) into
/// `channel`, pipelined (frames of 50, up to 1,000 unacknowledged: an outbox flushed at once),
/// and waits for every ack.
pub async fn write(
    addr: SocketAddr,
    channel: &str,
    n: u64,
    distinct: u64,
    body_bytes: usize,
) -> Result<(), String> {
    let mut ws = connect(addr, &format!("bench-writer-{channel}")).await?;
    let filler = "x".repeat(body_bytes);
    let (mut sent, mut acked) = (0u64, 0u64);
    while acked < n {
        while sent < n && sent - acked < WINDOW {
            let upto = (sent + PUTS_PER_FRAME).min(n);
            let frame: Vec<String> = (sent + 1..=upto)
                .map(|mid| {
                    serde_json::json!({"type": "mutate", "mutation_id": mid, "channel": channel,
                        "op": "put", "id": format!("d{:07}", (mid - 1) % distinct.max(1)),
                        "doc": {"n": mid, "body": filler}})
                    .to_string()
                })
                .collect();
            conn::send(&mut ws, frame.join("\n")).await?;
            sent = upto;
        }
        let frame = conn::next_text(&mut ws).await?;
        for message in frame.split('\n') {
            match wire::tether_type(message).as_deref() {
                Some("ack") | Some("reject") => acked += 1,
                Some("error") => return Err(format!("writer refused: {message}")),
                _ => {}
            }
        }
    }
    Ok(())
}

/// The channel's epoch, from a throw-away subscription.
async fn epoch_of(addr: SocketAddr, channel: &str) -> Result<String, String> {
    let mut ws = connect(addr, "bench-epoch").await?;
    let subscribe = serde_json::json!({"type": "subscribe", "channel": channel});
    conn::send(&mut ws, subscribe.to_string()).await?;
    loop {
        let frame = conn::next_text(&mut ws).await?;
        for message in frame.split('\n') {
            if wire::tether_type(message).as_deref() == Some("subscribed") {
                let value: serde_json::Value =
                    serde_json::from_str(message).map_err(|e| format!("subscribed: {e}"))?;
                return value["epoch"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "subscribed without an epoch".to_owned());
            }
        }
    }
}

/// Resumes `since {epoch, 0}`; (milliseconds to the last event, recovered and in order).
async fn resume(addr: SocketAddr, epoch: &str, events: u64) -> Result<(f64, bool), String> {
    let mut ws = connect(addr, "bench-resume").await?;
    let subscribe = serde_json::json!({"type": "subscribe", "channel": "catchup",
        "since": {"epoch": epoch, "offset": 0}});
    let started = Instant::now();
    conn::send(&mut ws, subscribe.to_string()).await?;
    let (mut recovered, mut next) = (false, 1u64);
    let mut in_order = true;
    while next <= events {
        let frame = conn::next_text(&mut ws).await?;
        for message in frame.split('\n') {
            match wire::tether_type(message).as_deref() {
                Some("subscribed") => recovered = message.contains(r#""recovered""#),
                Some("event") => {
                    in_order &= wire::find_u64(message, r#""offset":"#) == Some(next);
                    next += 1;
                }
                Some("error") => return Err(format!("resume refused: {message}")),
                _ => {}
            }
        }
    }
    Ok((started.elapsed().as_secs_f64() * 1e3, recovered && in_order))
}

/// Subscribes to `channel` (of `n` documents) without `since` and reads the whole snapshot.
async fn snapshot(server: &ServerProcess, channel: &str, n: u64) -> Result<SnapshotFigure, String> {
    let mut ws = connect(server.addr(), &format!("bench-snapshot-{channel}")).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let rss_before = server.rss_bytes()?;
    let peak = Arc::new(AtomicU64::new(rss_before));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop, pid) = (Arc::clone(&peak), Arc::clone(&stop), server.pid());
        tokio::spawn(async move {
            let path = format!("/proc/{pid}/status");
            while !stop.load(Ordering::Relaxed) {
                if let Some(rss) = std::fs::read_to_string(&path)
                    .ok()
                    .and_then(|t| server::parse_vm_rss(&t))
                {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let subscribe = serde_json::json!({"type": "subscribe", "channel": channel});
    let started = Instant::now();
    conn::send(&mut ws, subscribe.to_string()).await?;
    let (mut pages, mut received, mut largest) = (0u64, 0u64, 0usize);
    'read: loop {
        let frame = conn::next_text(&mut ws).await?;
        largest = largest.max(frame.len());
        for message in frame.split('\n') {
            match wire::tether_type(message).as_deref() {
                Some("subscribed") | Some("snapshot") => {
                    pages += 1;
                    received += message.matches(r#""version":"#).count() as u64;
                }
                Some("presence_sync") => break 'read,
                Some("error") => return Err(format!("subscribe refused: {message}")),
                _ => {}
            }
        }
    }
    let subscribe_ms = started.elapsed().as_secs_f64() * 1e3;
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.await;
    Ok(SnapshotFigure {
        docs: n,
        subscribe_ms,
        docs_received: received,
        pages,
        largest_message_bytes: largest,
        rss_before_bytes: rss_before,
        peak_rss_bytes: peak.load(Ordering::Relaxed),
    })
}
