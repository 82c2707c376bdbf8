//! Flow control: each connection's credit (frames output and not yet reported written), the
//! inbox of inbound frames held while it is over its low watermark, and the pump that runs
//! server-produced bursts (replay pages, snapshot pages, held inbound frames) as credit returns.
//!
//! Invariant: a burst the server produces itself only runs while the connection has fewer than
//! [`ServerConfig::low_watermark`] frames in flight, and each step of it outputs at most the
//! room left below that mark (plus a bounded reply to one inbound frame). So only live traffic
//! (events of other writers, broadcasts, presence) can take a connection to its
//! [`ServerConfig::capacity`]; doing so closes it with 4009, the slow-consumer rule.

use std::collections::VecDeque;

use tether_protocol::CloseCode;

use super::catchup::Catchup;
#[cfg(doc)]
use super::ServerConfig;
use super::{ConnId, ServerEngine};
use crate::store::Store;

/// Store rows one pump may read before it yields to other connections (it resumes from a
/// timer due at once).
const PUMP_ROWS: usize = 4_096;

/// Snapshot pages (each up to `snapshot_page_bytes`) in flight to one connection at most, so
/// a large snapshot holds a bounded number of bytes in the edge whatever the capacity.
const SNAPSHOT_PAGES_IN_FLIGHT: usize = 8;

/// One connection's flow-control state.
#[derive(Debug, Default)]
pub(crate) struct Flow {
    /// Frames output to the connection and not yet reported written by the edge.
    pub(crate) in_flight: usize,
    /// Inbound frames held until credit returns, in arrival order.
    pub(crate) inbox: VecDeque<Box<[u8]>>,
}

impl<S: Store> ServerEngine<S> {
    /// The edge wrote `frames` frames of `conn` to its socket (under `tether-lines` one
    /// WebSocket message may carry several): they no longer count against the connection's
    /// outbound capacity. Resumes the connection's paced work (replay, snapshot pages, held
    /// inbound frames) while it is below its low watermark. Unknown connections are ignored.
    pub fn handle_written(&mut self, now: u64, conn: ConnId, frames: usize) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.flow.in_flight = c.flow.in_flight.saturating_sub(frames);
        if frames > 0 {
            // The peer is taking frames: alive, even while its own frames (pings) wait behind
            // a full inbox unread by the edge.
            c.last_seen = c.last_seen.max(now);
        }
        self.pump(now, conn);
    }

    /// Frames output to `conn` and not yet reported written (0 for an unknown connection).
    pub fn in_flight(&self, conn: ConnId) -> usize {
        self.conns.get(&conn).map_or(0, |c| c.flow.in_flight)
    }

    /// Inbound frames of `conn` the engine holds unprocessed (waiting for credit). The edge
    /// keeps reading a socket only while this stays below [`ServerConfig::max_inbox`].
    pub fn inbound_held(&self, conn: ConnId) -> usize {
        self.conns.get(&conn).map_or(0, |c| c.flow.inbox.len())
    }

    /// Channels whose replay or snapshot is still streaming to `conn`, in name order.
    pub fn streaming(&self, conn: ConnId) -> Vec<String> {
        self.conns
            .get(&conn)
            .map(|c| c.catchups.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether a new inbound frame of `conn` must wait in its inbox rather than run now.
    pub(super) fn must_hold(&self, conn: ConnId) -> bool {
        self.conns.get(&conn).is_some_and(|c| {
            !c.flow.inbox.is_empty()
                || !c.catchups.is_empty()
                || c.flow.in_flight >= self.config.low_watermark()
        })
    }

    /// Holds an inbound frame; one more than [`ServerConfig::max_inbox`] closes with 4008.
    pub(super) fn hold(&mut self, now: u64, conn: ConnId, frame: &[u8]) {
        let limit = self.config.max_inbox.max(1);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if c.flow.inbox.len() >= limit {
            self.close_at(now, conn, CloseCode::RateLimited);
            return;
        }
        c.flow.inbox.push_back(frame.into());
    }

    /// Runs the connection's paced work while it has credit: first its catch-ups (replays and
    /// snapshots, one channel at a time), then its held inbound frames in order.
    pub(super) fn pump(&mut self, now: u64, conn: ConnId) {
        let low = self.config.low_watermark();
        let mut rows = PUMP_ROWS;
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.flow.in_flight >= low {
                return;
            }
            let room = low - c.flow.in_flight;
            if let Some((channel, catchup)) = c.catchups.iter().next() {
                let resume = match catchup {
                    // Hysteresis: a replay step waits for room for a good part of a page.
                    Catchup::Replay { .. } => low / 2,
                    // Snapshot pages are large: only a few in flight bound the memory.
                    Catchup::Snapshot(_) => (low / 2).min(SNAPSHOT_PAGES_IN_FLIGHT - 1),
                };
                if c.flow.in_flight > resume {
                    return;
                }
                let channel = channel.clone();
                if rows == 0 {
                    // Yield: other connections keep their latency; a timer resumes soon.
                    self.schedule(conn, now.saturating_add(1));
                    return;
                }
                self.catchup_step(now, conn, &channel, room, &mut rows);
                continue;
            }
            let Some(frame) = c.flow.inbox.pop_front() else {
                return;
            };
            self.process_frame(now, conn, &frame);
        }
    }

    /// Counts a frame against the connection's capacity; `false` (after closing it with 4009)
    /// when the connection is full: a reader that stopped reading.
    pub(super) fn take_credit(&mut self, conn: ConnId) -> bool {
        let capacity = self.config.capacity();
        let Some(c) = self.conns.get_mut(&conn) else {
            return false;
        };
        if c.flow.in_flight >= capacity {
            self.stats.slow_consumers += 1;
            self.close(conn, CloseCode::SlowConsumer);
            return false;
        }
        c.flow.in_flight += 1;
        true
    }
}
