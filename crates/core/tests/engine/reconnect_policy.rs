//! How the engine reacts to closes: backoff within bounds, immediate retry on `online` and
//! close 1001, a new token after close 4001 instead of hammering, stop on 4002.

use crate::common::Driver;
use tether_core::{Auth, Config, ConnectionError, ConnectionState, Output};
use tether_protocol::ClientMessage;

fn failing_attempt(d: &mut Driver, code: u16) -> Vec<Output> {
    d.engine.socket_closed(d.now, code);
    d.drain()
}

#[test]
fn failed_attempts_back_off_with_growing_ceilings() {
    let mut d = Driver::new(Config::default());
    d.engine.connect(0);
    d.drain();
    for attempt in 0..10u32 {
        failing_attempt(&mut d, 1006);
        let s = d.engine.status();
        assert_eq!(s.state, ConnectionState::Backoff);
        let delay = s.next_retry_at.unwrap() - d.now;
        let ceiling = (500u64 << attempt).min(30_000);
        assert!(delay <= ceiling, "attempt {attempt}: {delay} > {ceiling}");
        let out = d.advance(s.next_retry_at.unwrap());
        assert!(out.contains(&Output::OpenSocket));
    }
}

#[test]
fn went_online_retries_at_once_and_offline_stops_retrying() {
    let mut d = Driver::new(Config::default());
    d.engine.connect(0);
    d.drain();
    failing_attempt(&mut d, 1006);
    d.engine.went_offline(d.now);
    assert_eq!(d.engine.state(), ConnectionState::Offline);
    assert_eq!(d.engine.poll_timeout(), None);
    d.now = 1_000_000;
    d.engine.went_online(d.now);
    assert!(d.drain().contains(&Output::OpenSocket));
}

#[test]
fn going_offline_closes_an_open_socket_and_online_resumes() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    d.engine.went_offline(d.now);
    let out = d.drain();
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::CloseSocket { code: 1000, .. })),
        "{out:?}"
    );
    assert_eq!(d.engine.state(), ConnectionState::Offline);
    d.engine.went_online(d.now + 10);
    assert!(d.drain().contains(&Output::OpenSocket));
}

#[test]
fn going_away_reconnects_immediately() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    let out = failing_attempt(&mut d, 1001);
    assert!(out.contains(&Output::OpenSocket), "{out:?}");
}

#[test]
fn auth_failure_with_a_provider_asks_for_a_new_token_after_a_delay() {
    let mut d = Driver::new(Config {
        auth: Auth::Provider,
        ..Config::default()
    });
    d.engine.connect(0);
    assert!(d.drain().contains(&Output::NeedToken));
    d.engine.set_token(0, Some("old".into()));
    d.drain();
    d.engine.socket_opened(0);
    let hello = d.sent();
    assert!(matches!(&hello[0], ClientMessage::Hello { token: Some(t), .. } if t == "old"));
    let out = failing_attempt(&mut d, 4001);
    assert!(!out.contains(&Output::NeedToken), "not immediately");
    assert_eq!(
        d.engine.status().last_error,
        Some(ConnectionError::AuthFailed)
    );
    let at = d.engine.status().next_retry_at.unwrap();
    let out = d.advance(at);
    assert!(out.contains(&Output::NeedToken));
    assert!(!out.contains(&Output::OpenSocket));
    d.engine.set_token(d.now, Some("new".into()));
    assert!(d.drain().contains(&Output::OpenSocket));
    d.engine.socket_opened(d.now);
    let hello = d.sent();
    assert!(matches!(&hello[0], ClientMessage::Hello { token: Some(t), .. } if t == "new"));
}

#[test]
fn a_refused_fixed_token_waits_for_the_app_to_set_a_new_one() {
    let mut d = Driver::new(Config {
        auth: Auth::Static("old".into()),
        ..Config::default()
    });
    d.engine.connect(0);
    d.drain();
    d.engine.socket_opened(0);
    let hello = d.sent();
    assert!(matches!(&hello[0], ClientMessage::Hello { token: Some(t), .. } if t == "old"));
    let out = failing_attempt(&mut d, 4001);
    // Sending the same token again cannot succeed: no retry loop, the error stays visible.
    assert_eq!(
        out.iter().filter(|o| **o == Output::NeedToken).count(),
        1,
        "{out:?}"
    );
    let status = d.engine.status();
    assert_eq!(status.state, ConnectionState::AwaitingToken);
    assert_eq!(status.last_error, Some(ConnectionError::AuthFailed));
    assert_eq!(status.next_retry_at, None);
    let out = d.advance(3_600_000);
    assert!(!out.contains(&Output::OpenSocket), "{out:?}");
    assert!(!out.contains(&Output::NeedToken), "{out:?}");
    assert_eq!(
        d.engine.status().last_error,
        Some(ConnectionError::AuthFailed)
    );
    // Going offline and online again does not resend the refused token either.
    d.engine.went_offline(d.now);
    d.engine.went_online(d.now);
    let out = d.drain();
    assert!(!out.contains(&Output::OpenSocket), "{out:?}");
    assert_eq!(d.engine.state(), ConnectionState::AwaitingToken);
    d.engine.set_token(d.now, Some("new".into()));
    assert!(d.drain().contains(&Output::OpenSocket));
    d.engine.socket_opened(d.now);
    let hello = d.sent();
    assert!(matches!(&hello[0], ClientMessage::Hello { token: Some(t), .. } if t == "new"));
}

#[test]
fn token_provider_is_asked_before_every_attempt() {
    let mut d = Driver::new(Config {
        auth: Auth::Provider,
        ..Config::default()
    });
    d.engine.connect(0);
    assert!(d.drain().contains(&Output::NeedToken));
    d.engine.token_failed(0);
    assert_eq!(d.engine.state(), ConnectionState::Backoff);
    let at = d.engine.status().next_retry_at.unwrap();
    assert!(d.advance(at).contains(&Output::NeedToken));
    d.engine.set_token(d.now, Some("t".into()));
    assert!(d.drain().contains(&Output::OpenSocket));
}

#[test]
fn unsupported_version_stops() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    failing_attempt(&mut d, 4002);
    assert_eq!(d.engine.state(), ConnectionState::Closed);
    assert_eq!(d.engine.poll_timeout(), None);
}

#[test]
fn gives_up_after_max_attempts() {
    let mut d = Driver::new(Config {
        backoff: tether_core::BackoffConfig {
            max_attempts: Some(2),
            ..Default::default()
        },
        ..Config::default()
    });
    d.engine.connect(0);
    d.drain();
    for _ in 0..2 {
        failing_attempt(&mut d, 1006);
        let at = d.engine.status().next_retry_at.unwrap();
        d.advance(at);
    }
    failing_attempt(&mut d, 1006);
    assert_eq!(d.engine.state(), ConnectionState::Closed);
    assert_eq!(
        d.engine.status().last_error,
        Some(ConnectionError::GaveUp { attempts: 2 })
    );
}

#[test]
fn handshake_timeout_closes_and_retries() {
    let mut d = Driver::new(Config::default());
    d.engine.connect(0);
    d.drain();
    d.engine.socket_opened(0);
    d.drain();
    let out = d.advance(10_000);
    assert!(out.iter().any(|o| matches!(o, Output::CloseSocket { .. })));
    assert_eq!(
        d.engine.status().last_error,
        Some(ConnectionError::HandshakeTimeout)
    );
}

#[test]
fn a_client_id_bound_to_another_user_stops_with_a_typed_error() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    failing_attempt(&mut d, 4003);
    assert_eq!(d.engine.state(), ConnectionState::Closed);
    assert_eq!(
        d.engine.status().last_error,
        Some(ConnectionError::ClientIdTaken)
    );
    assert_eq!(d.engine.poll_timeout(), None, "no retry with the same id");
}
