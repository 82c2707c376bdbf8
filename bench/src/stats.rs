//! Latency recording shared by every connection task: HDR histograms in microseconds, sharded
//! by connection so that 10k tasks on a few threads rarely wait on one lock, and per-publish
//! counters for "every subscriber received it".

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency a histogram records (60 s, in microseconds); larger values are clamped.
const MAX_US: u64 = 60_000_000;
const SHARDS: usize = 16;

/// A new histogram for 1 µs .. 60 s with 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    // Constant, valid bounds: this cannot fail.
    Histogram::new_with_bounds(1, MAX_US, 3).expect("valid histogram bounds")
}

/// Records `us` (clamped to the histogram's range).
pub fn record(h: &mut Histogram<u64>, us: u64) {
    let _ = h.record(us.clamp(1, MAX_US));
}

/// Summary of one histogram.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Summary {
    /// Number of samples.
    pub count: u64,
    /// Median, microseconds.
    pub p50_us: u64,
    /// 90th percentile, microseconds.
    pub p90_us: u64,
    /// 99th percentile, microseconds.
    pub p99_us: u64,
    /// 99.9th percentile, microseconds.
    pub p999_us: u64,
    /// Largest sample, microseconds.
    pub max_us: u64,
    /// Mean, microseconds.
    pub mean_us: f64,
}

impl Summary {
    /// Summarises `h` (`None` when it holds no sample).
    pub fn of(h: &Histogram<u64>) -> Option<Summary> {
        if h.is_empty() {
            return None;
        }
        Some(Summary {
            count: h.len(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            mean_us: h.mean(),
        })
    }
}

/// Every delivery's publish→receive latency, plus per-publish bookkeeping.
pub struct Recorder {
    shards: Vec<Mutex<Histogram<u64>>>,
    /// Deliveries received per publish sequence number.
    received: Vec<AtomicU32>,
    /// Latest receive latency per publish (the time until the last subscriber had it).
    last_us: Vec<AtomicU64>,
    /// Deliveries of a sequence number outside the expected range (should stay 0).
    unexpected: AtomicU64,
}

impl Recorder {
    /// A recorder for publishes `0..publishes`.
    pub fn new(publishes: usize) -> Recorder {
        Recorder {
            shards: (0..SHARDS).map(|_| Mutex::new(new_histogram())).collect(),
            received: (0..publishes).map(|_| AtomicU32::new(0)).collect(),
            last_us: (0..publishes).map(|_| AtomicU64::new(0)).collect(),
            unexpected: AtomicU64::new(0),
        }
    }

    /// Records a delivery of publish `seq` to connection `conn`, `us` after it was sent.
    pub fn delivery(&self, conn: usize, seq: u64, us: u64) {
        let Some(slot) = usize::try_from(seq)
            .ok()
            .filter(|s| *s < self.received.len())
        else {
            self.unexpected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        if let Ok(mut h) = self.shards[conn % SHARDS].lock() {
            record(&mut h, us);
        }
        self.received[slot].fetch_add(1, Ordering::Relaxed);
        self.last_us[slot].fetch_max(us, Ordering::Relaxed);
    }

    /// True when each of the first `published` publishes reached `subscribers` connections.
    pub fn complete(&self, published: usize, subscribers: u32) -> bool {
        self.received
            .iter()
            .take(published)
            .all(|r| r.load(Ordering::Relaxed) >= subscribers)
    }

    /// Total deliveries recorded.
    pub fn deliveries(&self) -> u64 {
        self.received
            .iter()
            .map(|r| u64::from(r.load(Ordering::Relaxed)))
            .sum()
    }

    /// Deliveries that did not match a publish.
    pub fn unexpected(&self) -> u64 {
        self.unexpected.load(Ordering::Relaxed)
    }

    /// All deliveries merged into one histogram.
    pub fn merged(&self) -> Histogram<u64> {
        let mut all = new_histogram();
        for shard in &self.shards {
            if let Ok(h) = shard.lock() {
                let _ = all.add(&*h);
            }
        }
        all
    }
}

/// Over several recorders (one per node, `subscribers[k]` connections on node `k`): per
/// publish that reached every subscriber of every node, the time until the last had it.
pub fn all_received_across(
    recorders: &[std::sync::Arc<Recorder>],
    subscribers: &[u32],
    published: usize,
) -> Histogram<u64> {
    let mut h = new_histogram();
    for seq in 0..published {
        let mut last = 0u64;
        let mut everyone = true;
        for (r, &n) in recorders.iter().zip(subscribers) {
            let (Some(received), Some(at)) = (r.received.get(seq), r.last_us.get(seq)) else {
                everyone = false;
                break;
            };
            everyone &= received.load(Ordering::Relaxed) >= n;
            last = last.max(at.load(Ordering::Relaxed));
        }
        if everyone {
            record(&mut h, last);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_deliveries_and_completion() {
        let r = std::sync::Arc::new(Recorder::new(2));
        r.delivery(0, 0, 100);
        r.delivery(1, 0, 300);
        r.delivery(0, 1, 50);
        r.delivery(5, 9, 50);
        assert!(!r.complete(2, 2));
        assert!(r.complete(1, 2));
        assert_eq!(r.deliveries(), 3);
        assert_eq!(r.unexpected(), 1);
        let all = Summary::of(&all_received_across(&[std::sync::Arc::clone(&r)], &[2], 2)).unwrap();
        assert_eq!(all.count, 1);
        assert!((299..=301).contains(&all.max_us));
        let merged = Summary::of(&r.merged()).unwrap();
        assert_eq!(merged.count, 3);
        assert!(Summary::of(&new_histogram()).is_none());
    }

    #[test]
    fn all_received_spans_the_nodes() {
        let (a, b) = (
            std::sync::Arc::new(Recorder::new(2)),
            std::sync::Arc::new(Recorder::new(2)),
        );
        a.delivery(0, 0, 100);
        b.delivery(1, 0, 700);
        a.delivery(0, 1, 50);
        let all = Summary::of(&all_received_across(&[a, b], &[1, 1], 2)).unwrap();
        assert_eq!(all.count, 1, "publish 1 missed node b");
        assert!((699..=701).contains(&all.max_us));
    }
}
