//! The two wire protocols the load generator speaks: Tether's JSON frames (PROTOCOL.md) and
//! Socket.IO 5 over Engine.IO 4 on a plain WebSocket (`/socket.io/?EIO=4&transport=websocket`).
//!
//! Both peers carry the same document body; the publish time travels inside it as
//! `"bench_t":<microseconds since the load generator started>` and is found in each delivered
//! frame by a substring search (no full JSON parse on the hot path).

use clap::ValueEnum;
use serde_json::{json, Value};

/// The channel (Tether) or room (Socket.IO) every subscriber joins.
pub const CHANNEL: &str = "bench";

/// Which server the generator drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Peer {
    /// `tether-server` (PROTOCOL.md, `GET /ws`).
    Tether,
    /// A Socket.IO 4 server (`bench/peers/socketio-server.mjs`).
    Socketio,
}

impl Peer {
    /// The name used in results.
    pub fn name(self) -> &'static str {
        match self {
            Peer::Tether => "tether",
            Peer::Socketio => "socketio",
        }
    }

    /// The WebSocket path of the peer's endpoint.
    pub fn ws_path(self) -> &'static str {
        match self {
            Peer::Tether => "/ws",
            Peer::Socketio => "/socket.io/?EIO=4&transport=websocket",
        }
    }

    /// True when a frame received by a subscriber is a fan-out delivery.
    pub fn is_delivery(self, frame: &str) -> bool {
        match self {
            Peer::Tether => frame.starts_with("{\"type\":\"event\""),
            Peer::Socketio => frame.starts_with("42[\"event\""),
        }
    }

    /// The publish frame for sequence number `seq` sent at `t_us`. Its mutation id (Tether) or
    /// ack id (Socket.IO) is `seq + 2`; id 1 is the warm-up publish.
    pub fn publish_frame(self, seq: u64, t_us: u64) -> String {
        let doc = json!({
            "title": "Move card to In Progress",
            "status": "doing",
            "bench_seq": seq,
            "bench_t": t_us,
        });
        self.mutate_frame(seq + 2, &format!("card-{}", seq % 16), doc)
    }

    /// The warm-up publish (id 1), sent before any subscriber connects, so that the server's
    /// storage and code paths are warm when the baseline memory is read.
    pub fn warmup_frame(self) -> String {
        self.mutate_frame(1, "warmup", json!({"title": "warm-up"}))
    }

    fn mutate_frame(self, id_num: u64, doc_id: &str, doc: Value) -> String {
        let body = json!({
            "mutation_id": id_num,
            "channel": CHANNEL,
            "op": "put",
            "id": doc_id,
            "doc": doc,
        });
        match self {
            Peer::Tether => {
                let mut frame = body;
                frame["type"] = json!("mutate");
                frame.to_string()
            }
            Peer::Socketio => format!("42{id_num}{}", json!(["mutate", body])),
        }
    }

    /// If `frame` acknowledges a publish, its id: 1 for the warm-up, `seq + 2` otherwise.
    pub fn ack_id(self, frame: &str) -> Option<u64> {
        match self {
            Peer::Tether => {
                if !frame.starts_with("{\"type\":\"ack\"") {
                    return None;
                }
                let v: Value = serde_json::from_str(frame).ok()?;
                v.get("mutation_id")?.as_u64()
            }
            Peer::Socketio => {
                let rest = frame.strip_prefix("43")?;
                let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
                rest[..digits].parse::<u64>().ok().filter(|id| *id >= 1)
            }
        }
    }
}

/// Reads the unsigned integer after `"key":` in `frame`.
pub fn find_u64(frame: &str, key: &str) -> Option<u64> {
    let at = frame.find(key)? + key.len();
    let rest = frame.get(at..)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest.get(..digits)?.parse().ok()
}

/// `(seq, t_us)` of a delivery frame.
pub fn delivery_stamp(frame: &str) -> Option<(u64, u64)> {
    Some((
        find_u64(frame, "\"bench_seq\":")?,
        find_u64(frame, "\"bench_t\":")?,
    ))
}

/// Tether: the `hello` frame.
pub fn tether_hello(client_id: &str) -> String {
    json!({"type": "hello", "protocol": 1, "client_id": client_id}).to_string()
}

/// Tether: the `subscribe` frame.
pub fn tether_subscribe() -> String {
    json!({"type": "subscribe", "channel": CHANNEL}).to_string()
}

/// Tether: a `ping` frame.
pub fn tether_ping(nonce: u64) -> String {
    json!({"type": "ping", "nonce": nonce}).to_string()
}

/// Tether: the `type` of a frame (handshake path only).
pub fn tether_type(frame: &str) -> Option<String> {
    let v: Value = serde_json::from_str(frame).ok()?;
    Some(v.get("type")?.as_str()?.to_owned())
}

/// Tether: `heartbeat_timeout_ms` of a `welcome` frame.
pub fn tether_heartbeat_ms(frame: &str) -> Option<u64> {
    let v: Value = serde_json::from_str(frame).ok()?;
    v.get("heartbeat_timeout_ms")?.as_u64()
}

/// Socket.IO: the event that joins the room, with ack id 0.
pub fn socketio_subscribe() -> String {
    format!("420{}", json!(["subscribe", CHANNEL]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_found_in_both_peers_frames() {
        for peer in [Peer::Tether, Peer::Socketio] {
            let frame = peer.publish_frame(41, 123_456);
            assert_eq!(delivery_stamp(&frame), Some((41, 123_456)));
        }
        let event =
            "{\"type\":\"event\",\"channel\":\"bench\",\"doc\":{\"bench_seq\":7,\"bench_t\":99}}";
        assert!(Peer::Tether.is_delivery(event));
        assert_eq!(delivery_stamp(event), Some((7, 99)));
        let sio = "42[\"event\",{\"doc\":{\"bench_seq\":3,\"bench_t\":5}}]";
        assert!(Peer::Socketio.is_delivery(sio));
        assert!(!Peer::Tether.is_delivery(sio));
        assert_eq!(delivery_stamp(sio), Some((3, 5)));
    }

    #[test]
    fn acks_map_back_to_sequence_numbers() {
        assert_eq!(
            Peer::Tether.ack_id("{\"type\":\"ack\",\"mutation_id\":5,\"version\":1,\"offset\":5}"),
            Some(5)
        );
        assert_eq!(Peer::Tether.ack_id("{\"type\":\"pong\",\"nonce\":1}"), None);
        assert_eq!(Peer::Socketio.ack_id("4312[{\"offset\":3}]"), Some(12));
        assert_eq!(Peer::Socketio.ack_id("430[{}]"), None);
        assert_eq!(Peer::Socketio.ack_id("42[\"event\"]"), None);
    }

    #[test]
    fn socketio_publish_carries_an_ack_id() {
        let frame = Peer::Socketio.publish_frame(0, 1);
        assert!(frame.starts_with("422[\"mutate\","), "{frame}");
        let warm = Peer::Socketio.warmup_frame();
        assert!(warm.starts_with("421[\"mutate\","), "{warm}");
        let tether = Peer::Tether.publish_frame(3, 1);
        assert!(tether.contains("\"mutation_id\":5"), "{tether}");
        assert!(tether.contains("\"type\":\"mutate\""), "{tether}");
    }
}
