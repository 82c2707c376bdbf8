//! A seeded, TCP-like link between one client and the server: in-order delivery with
//! latency and jitter; loss shows as a cut (both sides see the close), a half-open link
//! silently swallows everything, and an event frame may be duplicated or swapped with the
//! next one (what the protocol must tolerate, e.g. re-delivery around reconnects).

use std::collections::VecDeque;

use tether_core::Rng;
use tether_server::ConnId;

/// Something arriving at the client.
#[derive(Debug, Clone)]
pub enum Down {
    Frame(String),
    /// A duplicate of a frame delivered before (not a frame the server wrote).
    Copy(String),
    /// The server closed the connection with this code.
    Close(u16),
}

#[derive(Debug)]
pub struct Link {
    /// The link's own randomness (delays, duplicates, swaps), so the order in which the
    /// server outputs frames for different connections cannot change another link's draws.
    pub rng: Rng,
    /// The server's id for the current connection.
    pub conn: Option<ConnId>,
    /// The server node the current connection is to (0 in a schedule with one node).
    pub node: usize,
    /// An `OpenSocket` completes (or fails) at this time.
    pub opening_at: Option<u64>,
    pub up: VecDeque<(u64, String)>,
    pub down: VecDeque<(u64, Down)>,
    /// Half-open: frames and closes vanish in both directions.
    pub blackhole: bool,
    /// Offline: new connections fail.
    pub partitioned: bool,
    pub latency: u64,
    pub jitter: u64,
    /// Probability (per mille) that a delivered event frame is delivered again later.
    pub dup_permille: u64,
    /// Probability (per mille) that an event frame is swapped with the next frame.
    pub swap_permille: u64,
    /// Probability (per mille) that a delivered frame carries the frames already due behind it
    /// too, joined with `\n` (the `tether-lines` framing).
    pub join_permille: u64,
    pub last_up: u64,
    pub last_down: u64,
    /// Server frames delivered and not yet reported written to the server (its credit).
    pub written: usize,
    /// Cut the connection instead of delivering the next snapshot page that has more after it
    /// (armed until that happens, across connections).
    pub cut_mid_snapshot: bool,
    /// The server is not reading this connection (its inbox is full).
    pub up_blocked: bool,
    /// Events of the replay being received (after `subscribed recovered`).
    pub replayed: Option<u64>,
}

impl Link {
    pub fn new(seed: u64) -> Link {
        Link {
            rng: Rng::new(seed),
            conn: None,
            node: 0,
            opening_at: None,
            up: VecDeque::new(),
            down: VecDeque::new(),
            blackhole: false,
            partitioned: false,
            latency: 1,
            jitter: 0,
            dup_permille: 0,
            join_permille: 0,
            swap_permille: 0,
            last_up: 0,
            last_down: 0,
            written: 0,
            cut_mid_snapshot: false,
            up_blocked: false,
            replayed: None,
        }
    }

    fn at(&mut self, now: u64, last: u64) -> u64 {
        (now + self.latency + self.rng.up_to(self.jitter)).max(last)
    }

    /// When an `OpenSocket` started now completes.
    pub fn open_at(&mut self, now: u64) -> u64 {
        now + self.latency + self.rng.up_to(self.jitter)
    }

    pub fn push_up(&mut self, now: u64, frame: String) {
        if self.blackhole || self.conn.is_none() {
            return;
        }
        let at = self.at(now, self.last_up);
        self.last_up = at;
        self.up.push_back((at, frame));
    }

    pub fn push_down(&mut self, now: u64, d: Down) {
        if self.blackhole || self.conn.is_none() {
            return;
        }
        let at = self.at(now, self.last_down);
        self.last_down = at;
        self.down.push_back((at, d));
    }

    /// The next frame due for the client, with the duplicate / swap faults applied.
    pub fn pop_down(&mut self, now: u64) -> Option<Down> {
        if self.down.front().is_none_or(|(at, _)| *at > now) {
            return None;
        }
        let (at, d) = self.down.pop_front()?;
        if let Down::Frame(f) = &d {
            self.written += 1;
            if is_event(f) {
                if self.rng.below(1000) < self.swap_permille {
                    if let Some((_, Down::Frame(next))) = self.down.front() {
                        if is_event(next) {
                            let (next_at, next) = self.down.pop_front()?;
                            // `next` is delivered in its place (counted once); `d` is
                            // counted when it is popped again.
                            self.down.push_front((next_at, d));
                            return Some(next);
                        }
                    }
                }
                if self.rng.below(1000) < self.dup_permille {
                    let later = (self.down.len() as u64).min(self.rng.up_to(3)) as usize;
                    self.down.insert(later, (at, Down::Copy(f.clone())));
                }
            }
            if self.join_permille > 0 && self.rng.below(1000) < self.join_permille {
                let mut joined = f.clone();
                while let Some((next_at, Down::Frame(next))) = self.down.front() {
                    if *next_at > now {
                        break;
                    }
                    joined.push('\n');
                    joined.push_str(next);
                    self.down.pop_front();
                    self.written += 1;
                }
                return Some(Down::Frame(joined));
            }
        }
        Some(d)
    }

    /// Server frames delivered since the last call (what the edge reports written).
    pub fn take_written(&mut self) -> usize {
        std::mem::take(&mut self.written)
    }

    pub fn pop_up(&mut self, now: u64) -> Option<String> {
        if self.up.front().is_none_or(|(at, _)| *at > now) {
            return None;
        }
        self.up.pop_front().map(|(_, f)| f)
    }

    /// Forgets the connection and everything in flight.
    pub fn reset(&mut self) {
        self.conn = None;
        self.opening_at = None;
        self.up.clear();
        self.down.clear();
        self.blackhole = false;
        self.written = 0;
        self.up_blocked = false;
        self.replayed = None;
    }

    pub fn next_time(&self) -> Option<u64> {
        [
            self.opening_at,
            self.up
                .front()
                .filter(|_| !self.up_blocked)
                .map(|(at, _)| *at),
            self.down.front().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn idle(&self) -> bool {
        self.opening_at.is_none() && self.up.is_empty() && self.down.is_empty()
    }
}

fn is_event(frame: &str) -> bool {
    frame.starts_with(r#"{"type":"event""#)
}
