//! A half-open connection (nothing arrives any more) is detected by the heartbeat and
//! replaced; pongs measure the round trip.

use crate::common::{sent_of, Driver};
use tether_core::{Config, ConnectionError, ConnectionState, Output};
use tether_protocol::{ClientMessage, ServerMessage};

#[test]
fn pings_every_third_of_the_server_timeout_and_measures_rtt() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    let out = d.advance(10_000);
    let pings = sent_of(&out);
    let [ClientMessage::Ping { nonce }] = pings[..] else {
        panic!("expected one ping, got {pings:?}");
    };
    d.now = 10_040;
    d.server(ServerMessage::Pong { nonce });
    assert_eq!(d.engine.status().rtt_ms, Some(40));
    // Frames keep arriving: no dead link for as long as pongs come back.
    for t in 1..10u64 {
        let out = d.advance(10_000 * (t + 1));
        let nonce = sent_of(&out)
            .iter()
            .find_map(|m| match m {
                ClientMessage::Ping { nonce } => Some(*nonce),
                _ => None,
            })
            .expect("a ping per interval");
        d.server(ServerMessage::Pong { nonce });
        assert_eq!(d.engine.state(), ConnectionState::Ready);
    }
}

#[test]
fn silence_for_the_dead_link_timeout_closes_and_backs_off() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    let out = d.advance(19_999);
    assert!(!out.iter().any(|o| matches!(o, Output::CloseSocket { .. })));
    assert_eq!(d.engine.state(), ConnectionState::Ready);
    let out = d.advance(20_000);
    assert!(
        out.iter().any(|o| matches!(o, Output::CloseSocket { .. })),
        "{out:?}"
    );
    let status = d.engine.status();
    assert_eq!(status.state, ConnectionState::Backoff);
    assert_eq!(status.last_error, Some(ConnectionError::DeadLink));
    let retry = status.next_retry_at.unwrap();
    assert!((20_000..=20_500).contains(&retry), "{retry}");
    let out = d.advance(retry);
    assert!(out.contains(&Output::OpenSocket));
}

#[test]
fn configured_intervals_override_the_servers() {
    let mut d = Driver::new(Config {
        ping_interval_ms: Some(1_000),
        dead_link_timeout_ms: Some(2_500),
        ..Config::default()
    });
    d.connect_ready();
    let out = d.advance(2_000);
    assert_eq!(sent_of(&out).len(), 2);
    let out = d.advance(2_500);
    assert!(out.iter().any(|o| matches!(o, Output::CloseSocket { .. })));
}
