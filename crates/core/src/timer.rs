//! The engine's timers in one table (one deadline per kind), like quinn's `enum Timer`.

/// A kind of deadline the engine keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Timer {
    /// Backoff elapsed: try to connect again.
    Reconnect = 0,
    /// The socket must open and `welcome` arrive before this.
    Handshake = 1,
    /// Send the next heartbeat `ping`.
    Ping = 2,
    /// Nothing received for the dead-link timeout: the link is dead.
    DeadLink = 3,
    /// Emit the batched change-sets (and, with `cache_interval_ms` 0, the cache writes).
    Flush = 4,
    /// Re-send subscriptions a rate limiter dropped.
    Resubscribe = 5,
    /// A subscribe must be answered before this, or the connection is replaced.
    SubscribeDeadline = 6,
    /// Emit the cache writes gathered since the last ones.
    CacheFlush = 7,
    /// The send budget has a token again: send queued broadcasts and requests, and presence
    /// states the server dropped.
    Drain = 8,
    /// Mutations sent on this connection must see an answer (`ack` or `reject`) before this,
    /// or the connection is replaced (their answers were lost: they are sent again).
    AckDeadline = 9,
}

impl Timer {
    const ALL: [Timer; 10] = [
        Timer::Reconnect,
        Timer::Handshake,
        Timer::Ping,
        Timer::DeadLink,
        Timer::Flush,
        Timer::Resubscribe,
        Timer::SubscribeDeadline,
        Timer::CacheFlush,
        Timer::Drain,
        Timer::AckDeadline,
    ];
}

/// One optional deadline (ms) per [`Timer`].
#[derive(Debug, Clone, Default)]
pub(crate) struct TimerTable {
    at: [Option<u64>; Timer::ALL.len()],
}

impl TimerTable {
    pub(crate) fn set(&mut self, timer: Timer, at: u64) {
        self.at[timer as usize] = Some(at);
    }

    pub(crate) fn get(&self, timer: Timer) -> Option<u64> {
        self.at[timer as usize]
    }

    pub(crate) fn stop(&mut self, timer: Timer) {
        self.at[timer as usize] = None;
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<u64> {
        self.at.iter().flatten().copied().min()
    }

    /// Removes and returns the timers due at `now`, earliest kind first.
    pub(crate) fn take_expired(&mut self, now: u64) -> Vec<Timer> {
        let mut due = Vec::new();
        for timer in Timer::ALL {
            if self.get(timer).is_some_and(|at| at <= now) {
                self.stop(timer);
                due.push(timer);
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_and_expiry() {
        let mut t = TimerTable::default();
        assert_eq!(t.next(), None);
        t.set(Timer::Ping, 50);
        t.set(Timer::Flush, 20);
        assert_eq!(t.next(), Some(20));
        assert_eq!(t.take_expired(10), vec![]);
        assert_eq!(t.take_expired(50), vec![Timer::Ping, Timer::Flush]);
        assert_eq!(t.next(), None);
    }
}
