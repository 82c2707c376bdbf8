use serde_json::json;
use tether_protocol::{CloseCode, ErrorCode, ServerMessage};

use super::{error_code, Got, H};
use crate::engine::ServerConfig;

#[test]
fn hello_gets_welcome_with_limits() {
    let mut h = H::new();
    let c = h.raw();
    let got = h.call(
        c,
        json!({"type": "hello", "protocol": 1, "client_id": "c1"}),
    );
    match got.as_slice() {
        [ServerMessage::Welcome {
            client_id,
            heartbeat_timeout_ms,
            limits,
            ..
        }] => {
            assert_eq!(client_id, "c1");
            assert_eq!(*heartbeat_timeout_ms, 30_000);
            assert_eq!(limits.max_subscriptions, 64);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn frames_before_hello_get_handshake_required_and_keep_the_connection() {
    let mut h = H::new();
    let c = h.raw();
    let got = h.call(c, json!({"type": "ping", "nonce": 1}));
    assert_eq!(error_code(&got[0]), Some(ErrorCode::HandshakeRequired));
    assert!(h.e.is_connected(c));
    let got = h.call(
        c,
        json!({"type": "hello", "protocol": 1, "client_id": "c1"}),
    );
    assert!(matches!(got[0], ServerMessage::Welcome { .. }));
}

#[test]
fn unsupported_version_closes_4002() {
    let mut h = H::new();
    let c = h.raw();
    h.send(
        c,
        json!({"type": "hello", "protocol": 99, "client_id": "c1"}),
    );
    let got = h.drain();
    assert!(
        matches!(&got[0], Got::Msg(_, m) if error_code(m) == Some(ErrorCode::UnsupportedVersion))
    );
    assert_eq!(got[1], Got::Close(c, CloseCode::UnsupportedVersion));
    assert!(!h.e.is_connected(c));
}

#[test]
fn malformed_frames_get_bad_message_and_keep_state() {
    let mut h = H::new();
    let c = h.conn("c1");
    h.subscribe(c, "tasks");
    for junk in [
        &b"{not json"[..],
        b"\xff\xfe",
        b"{\"type\":\"nope\"}",
        b"[]",
        b"",
    ] {
        h.e.handle_frame(h.now, c, junk);
        let got = h.drain();
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(matches!(&got[0], Got::Msg(_, m) if error_code(m) == Some(ErrorCode::BadMessage)));
    }
    // The subscription survived: a mutation still reaches us.
    let got = h.put(c, 1, "t1", json!({"a": 1}));
    assert!(matches!(H::to(&got, c)[0], ServerMessage::Event { .. }));
    assert_eq!(h.e.stats().bad_messages, 5);
}

#[test]
fn second_hello_is_a_bad_message() {
    let mut h = H::new();
    let c = h.conn("c1");
    let got = h.call(
        c,
        json!({"type": "hello", "protocol": 1, "client_id": "c2"}),
    );
    assert_eq!(error_code(&got[0]), Some(ErrorCode::BadMessage));
    assert!(h.e.is_connected(c));
}

#[test]
fn oversized_frame_is_too_large_and_closes_1009() {
    let mut h = H::with(ServerConfig {
        max_message_bytes: 100,
        ..ServerConfig::default()
    });
    let c = h.conn("c1");
    let big = json!({"type": "ping", "nonce": 1, "pad": "x".repeat(200)});
    h.send(c, big);
    let got = h.drain();
    assert!(matches!(&got[0], Got::Msg(_, m) if error_code(m) == Some(ErrorCode::TooLarge)));
    assert_eq!(got[1], Got::Close(c, CloseCode::TooLarge));
}

#[test]
fn ping_is_answered_and_keeps_the_connection_alive() {
    let mut h = H::with(ServerConfig {
        heartbeat_timeout_ms: 1_000,
        ..ServerConfig::default()
    });
    let c = h.conn("c1");
    for n in 0..5 {
        assert!(h.advance(600).is_empty());
        let got = h.call(c, json!({"type": "ping", "nonce": n}));
        assert_eq!(got, vec![ServerMessage::Pong { nonce: n }]);
    }
    let got = h.advance(999);
    assert!(got.is_empty(), "{got:?}");
    let got = h.advance(1);
    assert_eq!(got, vec![Got::Close(c, CloseCode::HeartbeatTimeout)]);
    assert!(h.e.poll_timeout().is_none_or(|t| t >= h.now));
}

#[test]
fn silent_connection_before_hello_times_out_too() {
    let mut h = H::with(ServerConfig {
        heartbeat_timeout_ms: 500,
        ..ServerConfig::default()
    });
    let c = h.raw();
    assert_eq!(
        h.advance(500),
        vec![Got::Close(c, CloseCode::HeartbeatTimeout)]
    );
    assert_eq!(h.e.connection_count(), 0);
}

#[test]
fn shutdown_closes_everyone_with_1001() {
    let mut h = H::new();
    let a = h.conn("a");
    let b = h.conn("b");
    h.e.shutdown(h.now);
    let got = h.drain();
    assert_eq!(
        got,
        vec![
            Got::Close(a, CloseCode::GoingAway),
            Got::Close(b, CloseCode::GoingAway)
        ]
    );
    assert_eq!(h.e.stats().connections, 0);
}

#[test]
fn frames_for_unknown_connections_are_ignored() {
    let mut h = H::new();
    let c = h.conn("c1");
    h.e.disconnect(h.now, c);
    h.e.handle_frame(h.now, c, b"{\"type\":\"ping\",\"nonce\":1}");
    h.e.disconnect(h.now, c);
    assert!(h.drain().is_empty());
}
