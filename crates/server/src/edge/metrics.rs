//! Edge metrics and the Prometheus text rendering of `/metrics`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::engine::Stats;

/// Upper bounds (seconds) of the event-delivery latency histogram buckets.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Counters shared by the engine task and the socket tasks.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Engine counters, copied after each batch of inputs.
    pub engine: Mutex<Stats>,
    /// Connections closed because their outbound queue overflowed (4009).
    pub queue_closes: AtomicU64,
    /// Frames refused for size before being read (1009).
    pub too_large: AtomicU64,
    /// Upgrades refused (bad Origin or token).
    pub refused_upgrades: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Metrics {
    /// Records the time from commit (frame output by the engine) to socket write of an event.
    pub fn observe_delivery(&self, latency: Duration) {
        let secs = latency.as_secs_f64();
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            if secs <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    /// Number of event deliveries observed.
    pub fn deliveries(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let stats = self.engine.lock().map(|s| s.clone()).unwrap_or_default();
        let mut out = String::new();
        let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        };
        metric(
            "tether_connections",
            "gauge",
            "Open WebSocket connections.",
            stats.connections,
        );
        metric(
            "tether_subscriptions",
            "gauge",
            "Active channel subscriptions.",
            stats.subscriptions,
        );
        metric(
            "tether_channels",
            "gauge",
            "Channels the engine holds state for (idle ones are evicted).",
            stats.channels,
        );
        metric(
            "tether_messages_in_total",
            "counter",
            "Frames received from clients.",
            stats.messages_in,
        );
        metric(
            "tether_messages_out_total",
            "counter",
            "Frames sent to clients.",
            stats.messages_out,
        );
        metric(
            "tether_mutations_applied_total",
            "counter",
            "Mutations committed.",
            stats.mutations_applied,
        );
        metric(
            "tether_mutations_deduped_total",
            "counter",
            "Repeated mutations answered from the dedupe record.",
            stats.mutations_deduped,
        );
        metric(
            "tether_mutations_conflicted_total",
            "counter",
            "Mutations rejected as conflicts.",
            stats.mutations_conflicted,
        );
        metric(
            "tether_mutations_rejected_total",
            "counter",
            "Mutations rejected for other reasons.",
            stats.mutations_rejected,
        );
        metric(
            "tether_rate_limited_total",
            "counter",
            "Frames dropped or mutations delayed by the rate limiter.",
            stats.rate_limited,
        );
        metric(
            "tether_bad_messages_total",
            "counter",
            "Frames answered with BAD_MESSAGE.",
            stats.bad_messages,
        );
        metric(
            "tether_mutations_held_back_total",
            "counter",
            "Mutations not applied (connection closed 1011) because an earlier mutation of the same client failed in the store and was not resent yet.",
            stats.mutations_held_back,
        );
        metric(
            "tether_events_learned_total",
            "counter",
            "Events of other cluster nodes read from the shared database and delivered.",
            stats.events_learned,
        );
        metric(
            "tether_commit_retries_total",
            "counter",
            "Mutations decided again because another cluster node wrote their channel or recorded them first.",
            stats.commit_retries,
        );
        metric(
            "tether_store_errors_total",
            "counter",
            "Storage failures.",
            stats.store_errors,
        );
        metric(
            "tether_failed_batches_total",
            "counter",
            "Group commits that could not be made durable (the engine recovered from each without a restart).",
            stats.failed_batches,
        );
        metric(
            "tether_batch_closes_total",
            "counter",
            "Connections closed 1011 because a failed group commit held one of their outputs or wrote a channel they subscribe to.",
            stats.batch_closes,
        );
        metric(
            "tether_queue_closes_total",
            "counter",
            "Connections closed because their outbound queue overflowed (4009).",
            self.queue_closes.load(Ordering::Relaxed),
        );
        metric(
            "tether_too_large_total",
            "counter",
            "Frames refused for size (1009).",
            self.too_large.load(Ordering::Relaxed),
        );
        metric(
            "tether_refused_upgrades_total",
            "counter",
            "WebSocket upgrades refused (Origin or token).",
            self.refused_upgrades.load(Ordering::Relaxed),
        );
        let name = "tether_event_delivery_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from commit to socket write of an event frame."
        );
        let _ = writeln!(out, "# TYPE {name} histogram");
        for (bound, bucket) in BUCKETS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
        out
    }
}
