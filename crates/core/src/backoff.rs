//! Reconnect backoff: capped exponential growth with full jitter.
//!
//! The delay before attempt `n` (0-based) is uniform in `0..=min(max, initial * factor^n)`
//! ("full jitter"), drawn from the engine's seeded [`Rng`]. The attempt counter resets only
//! after a connection stayed up for `reset_after_ms`, so a server that accepts and immediately
//! drops connections still sees growing delays.

use crate::rng::Rng;

/// Backoff settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackoffConfig {
    /// Ceiling of the first delay, in ms (default 500).
    pub initial_ms: u64,
    /// Largest ceiling, in ms (default 30 000).
    pub max_ms: u64,
    /// Growth of the ceiling per attempt (default 2).
    pub factor: u32,
    /// Give up after this many consecutive failed attempts (default: never).
    pub max_attempts: Option<u32>,
    /// A connection must stay up this long (ms) before the attempt counter resets
    /// (default 10 000).
    pub reset_after_ms: u64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial_ms: 500,
            max_ms: 30_000,
            factor: 2,
            max_attempts: None,
            reset_after_ms: 10_000,
        }
    }
}

/// Backoff state: the attempt counter and when the current link came up.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    attempt: u32,
    up_since: Option<u64>,
}

impl Backoff {
    /// Fresh state (attempt 0).
    pub fn new(config: BackoffConfig) -> Backoff {
        Backoff {
            config,
            attempt: 0,
            up_since: None,
        }
    }

    /// Consecutive failed attempts so far.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// The jitter ceiling for attempt `attempt`: `min(max, initial * factor^attempt)`.
    pub fn ceiling(&self, attempt: u32) -> u64 {
        let growth = u64::from(self.config.factor).saturating_pow(attempt);
        self.config
            .initial_ms
            .saturating_mul(growth)
            .min(self.config.max_ms)
    }

    /// The delay before the next attempt, at least `hint_ms` (a server's retry-after), or
    /// `None` when `max_attempts` is exhausted. Counts the attempt.
    pub fn next_delay(&mut self, rng: &mut Rng, hint_ms: Option<u64>) -> Option<u64> {
        if let Some(max) = self.config.max_attempts {
            if self.attempt >= max {
                return None;
            }
        }
        let delay = rng.up_to(self.ceiling(self.attempt));
        self.attempt = self.attempt.saturating_add(1);
        Some(delay.max(hint_ms.unwrap_or(0)))
    }

    /// Counts an attempt that is retried at once (e.g. after close 1001 or `went_online`).
    pub fn count_immediate(&mut self) {
        self.attempt = self.attempt.saturating_add(1);
    }

    /// The link is up (handshake completed) at `now`.
    pub fn link_up(&mut self, now: u64) {
        self.up_since = Some(now);
    }

    /// The link went down at `now`; resets the counter if it stayed up long enough.
    pub fn link_down(&mut self, now: u64) {
        if let Some(since) = self.up_since.take() {
            if now.saturating_sub(since) >= self.config.reset_after_ms {
                self.attempt = 0;
            }
        }
    }

    /// Forgets all failures (e.g. the app called `connect` again after giving up).
    pub fn reset(&mut self) {
        self.attempt = 0;
        self.up_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_grow_and_cap() {
        let b = Backoff::new(BackoffConfig::default());
        assert_eq!(b.ceiling(0), 500);
        assert_eq!(b.ceiling(1), 1000);
        assert_eq!(b.ceiling(5), 16_000);
        assert_eq!(b.ceiling(6), 30_000);
        assert_eq!(b.ceiling(200), 30_000);
    }

    #[test]
    fn delays_stay_within_bounds() {
        let mut rng = Rng::new(42);
        for seed in 0..50 {
            let mut b = Backoff::new(BackoffConfig::default());
            rng = Rng::new(rng.next_u64() ^ seed);
            for attempt in 0..40 {
                let ceiling = b.ceiling(attempt);
                let d = b.next_delay(&mut rng, None).unwrap();
                assert!(d <= ceiling, "attempt {attempt}: {d} > {ceiling}");
                assert!(d <= 30_000);
            }
        }
    }

    #[test]
    fn full_jitter_is_roughly_uniform() {
        // Attempt 6+ has ceiling 30 000: 20 000 draws in 10 buckets of 3 000 ms each.
        let mut rng = Rng::new(9);
        let mut b = Backoff::new(BackoffConfig::default());
        for _ in 0..6 {
            let _ = b.next_delay(&mut rng, None);
        }
        let mut buckets = [0u32; 10];
        let mut sum = 0u64;
        let n = 20_000;
        for _ in 0..n {
            let d = b.next_delay(&mut rng, None).unwrap();
            buckets[(d.min(29_999) / 3_000) as usize] += 1;
            sum += d;
        }
        for (i, count) in buckets.iter().enumerate() {
            assert!(
                (1_800..=2_200).contains(count),
                "bucket {i} has {count} of {n}: {buckets:?}"
            );
        }
        let mean = sum / n;
        assert!((14_500..=15_500).contains(&mean), "mean {mean}");
    }

    #[test]
    fn hint_is_a_minimum_and_attempts_are_bounded() {
        let mut rng = Rng::new(1);
        let mut b = Backoff::new(BackoffConfig {
            max_attempts: Some(3),
            ..BackoffConfig::default()
        });
        assert!(b.next_delay(&mut rng, Some(7_000)).unwrap() >= 7_000);
        assert!(b.next_delay(&mut rng, None).is_some());
        assert!(b.next_delay(&mut rng, None).is_some());
        assert_eq!(b.next_delay(&mut rng, None), None);
    }

    #[test]
    fn resets_only_after_a_stable_link() {
        let mut rng = Rng::new(1);
        let mut b = Backoff::new(BackoffConfig::default());
        for _ in 0..4 {
            let _ = b.next_delay(&mut rng, None);
        }
        b.link_up(1_000);
        b.link_down(1_500); // flapping: up for 500 ms only
        assert_eq!(b.attempt(), 4);
        b.link_up(2_000);
        b.link_down(12_000); // stable for 10 s
        assert_eq!(b.attempt(), 0);
    }
}
