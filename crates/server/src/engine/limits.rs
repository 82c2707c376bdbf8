//! Per-connection token bucket (integer milli-tokens, injected time).

/// A token bucket: `burst` tokens, refilled at `rate_per_sec`. One message costs one token.
#[derive(Debug, Clone)]
pub(crate) struct TokenBucket {
    /// Milli-tokens available.
    level: u64,
    capacity: u64,
    /// Milli-tokens added per millisecond (= tokens per second).
    per_ms: u64,
    last: u64,
}

const COST: u64 = 1_000;

impl TokenBucket {
    /// A full bucket at time `now`; `rate_per_sec == 0` disables limiting.
    pub(crate) fn new(rate_per_sec: u32, burst: u32, now: u64) -> TokenBucket {
        let capacity = u64::from(burst.max(1)) * COST;
        TokenBucket {
            level: capacity,
            capacity,
            per_ms: u64::from(rate_per_sec),
            last: now,
        }
    }

    fn refill(&mut self, now: u64) {
        let elapsed = now.saturating_sub(self.last);
        self.last = self.last.max(now);
        self.level = self
            .level
            .saturating_add(elapsed.saturating_mul(self.per_ms))
            .min(self.capacity);
    }

    /// Takes a token if one is available.
    pub(crate) fn try_take(&mut self, now: u64) -> bool {
        if self.per_ms == 0 {
            return true;
        }
        self.refill(now);
        if self.level >= COST {
            self.level -= COST;
            true
        } else {
            false
        }
    }

    /// Milliseconds until a token is available (0 if one is).
    pub(crate) fn wait_ms(&mut self, now: u64) -> u64 {
        if self.per_ms == 0 {
            return 0;
        }
        self.refill(now);
        let missing = COST.saturating_sub(self.level);
        missing.div_ceil(self.per_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill_at_rate() {
        let mut b = TokenBucket::new(10, 3, 0);
        assert!(b.try_take(0) && b.try_take(0) && b.try_take(0));
        assert!(!b.try_take(0));
        assert_eq!(b.wait_ms(0), 100);
        assert!(!b.try_take(99));
        assert!(b.try_take(100));
        assert!(!b.try_take(100));
        // Refill caps at the burst.
        assert!(b.try_take(10_000) && b.try_take(10_000) && b.try_take(10_000));
        assert!(!b.try_take(10_000));
    }

    #[test]
    fn zero_rate_is_unlimited() {
        let mut b = TokenBucket::new(0, 0, 0);
        for _ in 0..10_000 {
            assert!(b.try_take(0));
        }
        assert_eq!(b.wait_ms(0), 0);
    }
}
