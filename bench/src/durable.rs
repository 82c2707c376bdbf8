//! `--scenario durable`: durable mutations per second and the drain of a pipelined batch, on
//! one server (run once on SQLite, once on PostgreSQL, with the same load).
//!
//! 1. Throughput: `writers` connections each keep `in_flight` puts unacknowledged (one put per
//!    WebSocket message, ids cycling over 16 documents per writer, 4 channels) for `seconds`;
//!    the figure is the acks received in that window per second, with the put→ack latency.
//!    An ack means committed: the server acknowledges only after its store's commit.
//! 2. Drain: one connection sends `drain` puts at once (`tether-lines` frames of 50, as an
//!    outbox flushed after a reconnect) and the figure is the time until the last ack.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::Message;

use crate::catchup;
use crate::conn::{self, micros_since};
use crate::server::{self, ServerProcess};
use crate::stats::{new_histogram, record, Summary};
use crate::wire;

/// The client load (the same on every store).
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Writer connections of the throughput phase.
    pub writers: usize,
    /// Puts each writer keeps unacknowledged.
    pub in_flight: usize,
    /// Seconds of the throughput phase.
    pub seconds: f64,
    /// Puts of the drain phase.
    pub drain: u64,
}

/// The figures of one run.
#[derive(Debug, Serialize)]
pub struct DurableResult {
    pub scenario: &'static str,
    pub label: String,
    pub writers: usize,
    pub in_flight: usize,
    pub seconds: f64,
    /// Acks (and rejections, which are committed too) received inside the window.
    pub acked: u64,
    pub rejected: u64,
    pub mutations_per_sec: f64,
    /// Put → ack of every put acknowledged in the window.
    pub ack: Option<Summary>,
    /// Server CPU seconds (user + sys) over the window.
    pub cpu_secs: f64,
    pub writer_errors: Vec<String>,
    pub drain: u64,
    /// First put sent → last ack, milliseconds.
    pub drain_ms: f64,
    pub load_average: [Option<f64>; 2],
    pub server_alive_at_end: bool,
    pub server_command: Vec<String>,
}

/// Channels the writers share.
const CHANNELS: usize = 4;

/// Runs both phases against a started server.
pub async fn measure(
    server: &ServerProcess,
    load: Load,
    label: String,
    command: Vec<String>,
) -> Result<DurableResult, String> {
    let addr = server.addr();
    // Warm-up: the store's tables and code paths, outside the window.
    catchup::write(addr, "durable-warmup", 200, 20, 100).await?;

    let barrier = Arc::new(Barrier::new(load.writers + 1));
    let window = Duration::from_secs_f64(load.seconds);
    let mut writers = Vec::with_capacity(load.writers);
    for index in 0..load.writers {
        let barrier = Arc::clone(&barrier);
        writers.push(tokio::spawn(writer(
            addr,
            index,
            load.in_flight,
            window,
            barrier,
        )));
    }
    barrier.wait().await;
    let cpu_start = server.cpu_secs()?;
    let load_start = server::load_average();
    let (mut acked, mut rejected, mut hist, mut errors) = (0, 0, new_histogram(), Vec::new());
    for task in writers {
        let report = task.await.map_err(|e| format!("writer task: {e}"))?;
        acked += report.acked;
        rejected += report.rejected;
        let _ = hist.add(&report.ack);
        errors.extend(report.error);
    }
    let cpu_secs = server.cpu_secs()? - cpu_start;
    let load_end = server::load_average();
    let mutations_per_sec = (acked + rejected) as f64 / load.seconds;
    eprintln!(
        "[loadgen durable] {label}: {mutations_per_sec:.0} mutations/s ({} writers x {} in flight, {}s)",
        load.writers, load.in_flight, load.seconds
    );

    let drain_started = Instant::now();
    catchup::write(addr, "durable-drain", load.drain, load.drain, 100).await?;
    let drain_ms = drain_started.elapsed().as_secs_f64() * 1e3;
    eprintln!(
        "[loadgen durable] {label}: drain of {} pipelined mutations {drain_ms:.0} ms",
        load.drain
    );
    Ok(DurableResult {
        scenario: "durable",
        label,
        writers: load.writers,
        in_flight: load.in_flight,
        seconds: load.seconds,
        acked,
        rejected,
        mutations_per_sec,
        ack: Summary::of(&hist),
        cpu_secs,
        writer_errors: errors,
        drain: load.drain,
        drain_ms,
        load_average: [load_start, load_end],
        server_alive_at_end: server.alive(),
        server_command: command,
    })
}

/// What one writer did inside the window.
struct WriterReport {
    acked: u64,
    rejected: u64,
    ack: Histogram<u64>,
    error: Option<String>,
}

/// One writer: connects, waits at the barrier, then keeps `in_flight` puts outstanding until
/// `window` has passed; counts the answers received inside it.
async fn writer(
    addr: std::net::SocketAddr,
    index: usize,
    in_flight: usize,
    window: Duration,
    barrier: Arc<Barrier>,
) -> WriterReport {
    let mut report = WriterReport {
        acked: 0,
        rejected: 0,
        ack: new_histogram(),
        error: None,
    };
    let connected = catchup::connect(addr, &format!("bench-durable-{index}")).await;
    // Every writer reaches the barrier, also one that could not connect (it then measures
    // nothing), so the others are not held.
    barrier.wait().await;
    let mut ws = match connected {
        Ok(ws) => ws,
        Err(e) => {
            report.error = Some(e);
            return report;
        }
    };
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + window;
    let channel = format!("durable-{}", index % CHANNELS);
    let mut sent_at: HashMap<u64, u64> = HashMap::new();
    let mut next_id = 1u64;
    loop {
        while sent_at.len() < in_flight {
            let frame = serde_json::json!({"type": "mutate", "mutation_id": next_id,
                "channel": channel, "op": "put", "id": format!("w{index}-{}", next_id % 16),
                "doc": {"title": "Move card to In Progress", "status": "doing", "n": next_id}});
            if let Err(e) = conn::send(&mut ws, frame.to_string()).await {
                report.error = Some(e);
                return report;
            }
            sent_at.insert(next_id, micros_since(start));
            next_id += 1;
        }
        let msg = tokio::select! {
            msg = ws.next() => msg,
            () = tokio::time::sleep_until(deadline) => return report,
        };
        let text = match msg {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                report.error = Some(format!("closed by server: {frame:?}"));
                return report;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                report.error = Some(format!("receive: {e}"));
                return report;
            }
            None => {
                report.error = Some("connection ended".to_owned());
                return report;
            }
        };
        let now = micros_since(start);
        for message in text.as_str().split('\n') {
            let kind = wire::tether_type(message);
            match kind.as_deref() {
                Some("ack") | Some("reject") => {
                    let Some(id) = wire::find_u64(message, "\"mutation_id\":") else {
                        continue;
                    };
                    if let Some(sent) = sent_at.remove(&id) {
                        record(&mut report.ack, now.saturating_sub(sent));
                        if kind.as_deref() == Some("ack") {
                            report.acked += 1;
                        } else {
                            report.rejected += 1;
                        }
                    }
                }
                Some("error") => {
                    report.error = Some(format!("writer refused: {message}"));
                    return report;
                }
                _ => {}
            }
        }
    }
}
