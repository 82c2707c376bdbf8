//! A change of round-trip time alone publishes a status (throttled to one per
//! `LATENCY_PUBLISH_MS`), so an app's latency display does not go stale on a quiet connection.

use crate::common::{sent_of, Driver};
use tether_core::{Config, Output, Status, LATENCY_PUBLISH_MS};
use tether_protocol::{ClientMessage, ServerMessage};

fn statuses(out: &[Output]) -> Vec<Status> {
    out.iter()
        .filter_map(|o| match o {
            Output::Status(s) => Some(s.clone()),
            _ => None,
        })
        .collect()
}

/// Advances to `at`, answers the ping sent then after `rtt` ms; returns every output.
fn ping_pong(d: &mut Driver, at: u64, rtt: u64) -> Vec<Output> {
    let mut out = d.advance(at);
    let nonce = sent_of(&out)
        .iter()
        .find_map(|m| match m {
            ClientMessage::Ping { nonce } => Some(*nonce),
            _ => None,
        })
        .expect("a ping");
    d.now = at + rtt;
    d.server(ServerMessage::Pong { nonce });
    out.extend(d.drain());
    out
}

#[test]
fn each_new_round_trip_time_is_published() {
    let mut d = Driver::new(Config {
        ping_interval_ms: Some(5_000),
        ..Config::default()
    });
    d.connect_ready();
    let first = statuses(&ping_pong(&mut d, 5_000, 40));
    assert_eq!(first.last().map(|s| s.rtt_ms), Some(Some(40)), "{first:?}");
    let second = statuses(&ping_pong(&mut d, 10_000, 200));
    let rtt = second
        .last()
        .and_then(|s| s.rtt_ms)
        .expect("a status with the new rtt");
    assert!(rtt > 40, "the smoothed rtt moved: {rtt}");
    // The same rtt again publishes nothing.
    let before = d.engine.status().rtt_ms;
    let out = d.advance(12_000);
    assert!(statuses(&out).iter().all(|s| s.rtt_ms == before));
}

#[test]
fn latency_only_changes_are_throttled() {
    let mut d = Driver::new(Config {
        ping_interval_ms: Some(LATENCY_PUBLISH_MS / 4),
        dead_link_timeout_ms: Some(60_000),
        ..Config::default()
    });
    d.connect_ready();
    let interval = LATENCY_PUBLISH_MS / 4;
    let mut published = 0;
    let mut rtt = 10;
    for i in 1..=16u64 {
        rtt += 5;
        published += statuses(&ping_pong(&mut d, i * interval, rtt))
            .iter()
            .filter(|s| s.rtt_ms.is_some())
            .count();
    }
    // 16 pongs over 4 publish intervals, each changing the rtt: about one status per interval.
    assert!((3..=6).contains(&published), "{published} statuses");
}
