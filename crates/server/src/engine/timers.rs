//! Per-connection timers: one armed deadline per connection (heartbeat, token expiry, or the
//! next rate-limit token for delayed mutations), kept in a min-heap; superseded entries are
//! skipped when popped. Token expiry is a wall-clock (unix ms) deadline: the timer is armed at
//! its monotonic estimate and re-checks the injected unix time when it fires.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use tether_protocol::CloseCode;

use super::{ConnId, ServerEngine};
use crate::store::Store;

/// Min-heap of `(deadline, connection)`.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(u64, ConnId)>>,
}

impl Timers {
    pub(crate) fn push(&mut self, at: u64, conn: ConnId) {
        self.heap.push(Reverse((at, conn)));
    }

    pub(crate) fn next(&self) -> Option<u64> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    pub(crate) fn pop_due(&mut self, now: u64) -> Option<(u64, ConnId)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }
}

impl<S: Store> ServerEngine<S> {
    /// Arms the connection's timer at `at` unless an earlier one is armed.
    pub(super) fn schedule(&mut self, conn: ConnId, at: u64) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.scheduled.is_some_and(|s| s <= at) {
            return;
        }
        c.scheduled = Some(at);
        self.timers.push(at, conn);
    }

    /// Re-arms the connection's timer for its next deadline.
    pub(super) fn reschedule(&mut self, now: u64, conn: ConnId) {
        let refresh_at = self.refresh_due_at(conn);
        let hb = self.config.heartbeat_timeout_ms;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let mut at = c.last_seen.saturating_add(hb);
        if let Some(expiry) = c.token_expires_at {
            at = at.min(now.saturating_add(expiry.saturating_sub(self.unix_ms)));
        }
        if let Some(due) = refresh_at {
            at = at.min(now.saturating_add(due.saturating_sub(self.unix_ms)));
        }
        if !c.delayed.is_empty() {
            at = at.min(now.saturating_add(c.bucket.wait_ms(now).max(1)));
        }
        self.schedule(conn, at);
    }

    /// A popped timer entry: token expiry, heartbeat check, the expiry warning, then queued
    /// mutations.
    pub(super) fn run_conn_timer(&mut self, now: u64, (at, conn): (u64, ConnId)) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.scheduled != Some(at) {
            return; // superseded
        }
        c.scheduled = None;
        if c.token_expires_at.is_some_and(|at| self.unix_ms >= at) {
            self.expire_token(now, conn);
            return;
        }
        if now >= c.last_seen.saturating_add(self.config.heartbeat_timeout_ms) {
            self.close_at(now, conn, CloseCode::HeartbeatTimeout);
            return;
        }
        self.maybe_warn_expiry(conn);
        self.drain_delayed(now, conn);
        self.pump(now, conn);
        self.reschedule(now, conn);
    }
}
