//! The client's copy of the server's rate limit (PROTOCOL §9): a token bucket with the rate and
//! burst announced in `welcome.limits`, charged for every frame sent after `hello` (the server
//! charges each one, mutations included). Broadcasts and requests wait in the engine's queue
//! while it is empty, so the server never drops them as `RATE_LIMITED`; everything else is sent
//! at once and only charged (mutations are delayed, never dropped, by the server; subscribes
//! are resent on `RATE_LIMITED`; pings must not wait).
//!
//! The copy is conservative: it starts full at `welcome`, and the server's bucket, which started
//! earlier and refills from each frame's later arrival, holds at least as many tokens.

/// Token bucket in thousandths of a token, so sub-token refills are not lost.
#[derive(Debug, Clone)]
pub(crate) struct SendBudget {
    rate_per_sec: u64,
    burst_milli: i64,
    tokens_milli: i64,
    at: u64,
}

impl SendBudget {
    /// A full bucket at `now`. A rate of 0 means "no limit announced".
    pub(crate) fn new(now: u64, rate_per_sec: u32, burst: u32) -> SendBudget {
        let burst_milli = i64::from(burst.max(1)) * 1000;
        SendBudget {
            rate_per_sec: u64::from(rate_per_sec),
            burst_milli,
            tokens_milli: burst_milli,
            at: now,
        }
    }

    fn refill(&mut self, now: u64) {
        if self.rate_per_sec == 0 {
            self.tokens_milli = self.burst_milli;
            return;
        }
        let elapsed = now.saturating_sub(self.at);
        self.at = self.at.max(now);
        // ms × tokens/s = thousandths of a token.
        let gained = i64::try_from(elapsed.saturating_mul(self.rate_per_sec)).unwrap_or(i64::MAX);
        self.tokens_milli = self
            .tokens_milli
            .saturating_add(gained)
            .min(self.burst_milli);
    }

    /// Whether a frame may be sent now.
    pub(crate) fn has_token(&mut self, now: u64) -> bool {
        self.refill(now);
        self.tokens_milli >= 1000
    }

    /// Charges one frame (the balance may go below zero: the server delays such mutations).
    /// Refills happen on the next look at the bucket, from the time of the last one.
    pub(crate) fn charge(&mut self) {
        self.tokens_milli -= 1000;
    }

    /// When the next token is available (now if one is).
    pub(crate) fn ready_at(&mut self, now: u64) -> u64 {
        self.refill(now);
        if self.tokens_milli >= 1000 || self.rate_per_sec == 0 {
            return now;
        }
        let missing = u64::try_from(1000 - self.tokens_milli).unwrap_or(u64::MAX);
        now + missing.div_ceil(self.rate_per_sec)
    }
}

#[cfg(test)]
mod tests {
    use super::SendBudget;

    #[test]
    fn burst_then_rate() {
        let mut b = SendBudget::new(0, 10, 3);
        for _ in 0..3 {
            assert!(b.has_token(0));
            b.charge();
        }
        assert!(!b.has_token(0));
        assert_eq!(b.ready_at(0), 100);
        assert!(!b.has_token(99));
        assert!(b.has_token(100));
        // Charged below zero, it takes longer.
        b.charge();
        b.charge();
        assert_eq!(b.ready_at(100), 300);
        // Never above the burst.
        assert!(b.has_token(100_000));
        for _ in 0..3 {
            b.charge();
        }
        assert!(!b.has_token(100_000));
    }

    #[test]
    fn no_rate_means_no_limit() {
        let mut b = SendBudget::new(0, 0, 0);
        for _ in 0..10 {
            b.charge();
        }
        assert!(b.has_token(0));
        assert_eq!(b.ready_at(0), 0);
    }
}
