//! Several endpoints (`Config::endpoints`): the engine stays on the one that works, moves to
//! the next (round-robin) after a failed attempt or a drop, keeps the backoff of one endpoint,
//! and with one endpoint behaves as before.

use crate::common::{welcome, Driver};
use tether_core::{Config, ConnectionState, Output};

fn with_endpoints(endpoints: usize, seed: u64) -> Driver {
    Driver::from_engine(tether_core::Engine::new(
        Config {
            endpoints,
            ..Config::default()
        },
        "me",
        seed,
    ))
}

/// Fails the current attempt (the socket closes without a handshake) and waits for the next
/// `OpenSocket`; returns the backoff delay and the endpoint the new attempt is for.
fn fail_and_retry(d: &mut Driver) -> (u64, usize) {
    d.engine.socket_closed(d.now, 1006);
    d.drain();
    let status = d.engine.status();
    assert_eq!(status.state, ConnectionState::Backoff);
    let at = status.next_retry_at.expect("a retry is scheduled");
    let delay = at - d.now;
    let out = d.advance(at);
    assert!(out.contains(&Output::OpenSocket), "{out:?}");
    (delay, d.engine.current_endpoint())
}

#[test]
fn failed_attempts_go_round_robin() {
    let mut d = with_endpoints(3, 7);
    d.engine.connect(0);
    assert!(d.drain().contains(&Output::OpenSocket));
    assert_eq!(d.engine.current_endpoint(), 0);
    let order: Vec<usize> = (0..7).map(|_| fail_and_retry(&mut d).1).collect();
    assert_eq!(order, [1, 2, 0, 1, 2, 0, 1]);
    assert_eq!(d.engine.status().endpoint, 1);
}

#[test]
fn a_working_endpoint_is_kept_and_a_drop_moves_on() {
    let mut d = with_endpoints(2, 3);
    d.engine.connect(0);
    d.drain();
    let (_, endpoint) = fail_and_retry(&mut d);
    assert_eq!(endpoint, 1);
    d.engine.socket_opened(d.now);
    d.server(welcome());
    d.sent();
    assert_eq!(d.engine.state(), ConnectionState::Ready);
    // Minutes of heartbeats on endpoint 1: it stays.
    for _ in 0..100 {
        let at = d.now + 5_000;
        let _ = d.advance(at);
        d.server(tether_protocol::ServerMessage::Pong { nonce: 0 });
        assert_eq!(d.engine.current_endpoint(), 1);
    }
    // Going offline and back is not a failure of the endpoint.
    d.engine.went_offline(d.now);
    d.engine.went_online(d.now);
    assert!(d.drain().contains(&Output::OpenSocket));
    assert_eq!(d.engine.current_endpoint(), 1);
    d.engine.socket_opened(d.now);
    d.server(welcome());
    d.sent();
    // The server drops the connection (a restart: 1001 comes back at once): the next one.
    d.engine.socket_closed(d.now, 1001);
    assert!(d.drain().contains(&Output::OpenSocket));
    assert_eq!(d.engine.current_endpoint(), 0);
    assert_eq!(d.engine.status().endpoint, 0);
}

#[test]
fn a_handshake_timeout_moves_to_the_next_endpoint() {
    let mut d = with_endpoints(2, 5);
    d.engine.connect(0);
    d.drain();
    d.engine.socket_opened(0);
    d.sent();
    let out = d.advance(10_000);
    assert!(
        out.iter().any(|o| matches!(o, Output::CloseSocket { .. })),
        "{out:?}"
    );
    assert_eq!(d.engine.state(), ConnectionState::Backoff);
    assert_eq!(d.engine.current_endpoint(), 1);
}

#[test]
fn backoff_is_the_same_whatever_the_number_of_endpoints() {
    for seed in [1, 2, 99] {
        let mut one = with_endpoints(1, seed);
        let mut three = with_endpoints(3, seed);
        one.engine.connect(0);
        one.drain();
        three.engine.connect(0);
        three.drain();
        for attempt in 0..12u32 {
            let (a, endpoint_one) = fail_and_retry(&mut one);
            let (b, _) = fail_and_retry(&mut three);
            assert_eq!(a, b, "seed {seed} attempt {attempt}");
            assert_eq!(endpoint_one, 0, "one endpoint never moves");
            assert_eq!(one.engine.status().attempt, three.engine.status().attempt);
            let ceiling = (500u64 << attempt).min(30_000);
            assert!(a <= ceiling, "attempt {attempt}: {a} > {ceiling}");
        }
    }
}

#[test]
fn one_endpoint_is_the_default_and_zero_counts_as_one() {
    assert_eq!(Config::default().endpoints, 1);
    for endpoints in [0, 1] {
        let mut d = with_endpoints(endpoints, 4);
        d.engine.connect(0);
        d.drain();
        for _ in 0..5 {
            assert_eq!(fail_and_retry(&mut d).1, 0);
        }
        assert_eq!(d.engine.status().endpoint, 0);
    }
}

#[test]
fn resume_points_carry_over_to_the_next_endpoint() {
    use crate::common::{reset, sent_of};
    use tether_protocol::ClientMessage;
    let mut d = with_endpoints(2, 8);
    d.connect_ready();
    d.engine.subscribe(d.now, "room", None).unwrap();
    d.drain();
    d.server(reset("room", 41, Vec::new()));
    d.drain();
    d.engine.socket_closed(d.now, 1001);
    let out = d.drain();
    assert!(out.contains(&Output::OpenSocket));
    assert_eq!(d.engine.current_endpoint(), 1);
    d.engine.socket_opened(d.now);
    d.sent();
    d.server(welcome());
    let sent = sent_of(&d.drain());
    assert!(
        sent.iter().any(|m| matches!(
            m,
            ClientMessage::Subscribe { channel, since: Some(s), .. }
                if channel == "room" && s.offset == 41 && s.epoch == "e1"
        )),
        "{sent:?}"
    );
}
