//! The channel registry stays bounded: idle channels are evicted (and read again from the store
//! when used), channels in use keep their state, and one connection cannot load new channels
//! faster than `new_channels_per_sec`.

use serde_json::json;
use tether_protocol::{Continuity, ErrorCode, ServerMessage};

use super::{Got, H};
use crate::engine::registry::SWEEP_FLOOR;
use crate::engine::ServerConfig;

fn unlimited() -> H {
    H::with(ServerConfig {
        rate_per_sec: 0,
        new_channels_per_sec: 0,
        ..ServerConfig::default()
    })
}

#[test]
fn cycling_through_100k_channels_leaves_the_registry_near_where_it_started() {
    let mut h = unlimited();
    let keeper = h.conn("keeper");
    h.subscribe(keeper, "kept");
    h.call(
        keeper,
        json!({"type": "presence", "channel": "kept", "state": {"here": true}}),
    );
    let cycler = h.conn("cycler");
    let start = h.e.channel_count();
    assert_eq!(start, 1);
    let mut peak = 0;
    for i in 0..100_000u64 {
        let channel = format!("c{i}");
        if i % 2 == 0 {
            h.subscribe(cycler, &channel);
            h.call(cycler, json!({"type": "unsubscribe", "channel": channel}));
        } else {
            // A write by a connection that is not subscribed also loads the channel.
            h.send(
                cycler,
                json!({"type": "mutate", "mutation_id": i, "channel": channel, "op": "put",
                       "id": "d", "doc": {"i": i}}),
            );
            h.drain();
        }
        peak = peak.max(h.e.channel_count());
    }
    let end = h.e.channel_count();
    // One channel in use.
    let bound = SWEEP_FLOOR + 2 + 1;
    assert!(peak <= bound, "peak {peak}");
    assert!(end <= bound, "{end} channels left of 100,000");
    assert_eq!(h.e.stats().channels, end as u64);
    assert!(h.e.stats().subscriptions == 1);

    // The channel in use kept its view, subscribers and presence.
    h.send(
        cycler,
        json!({"type": "mutate", "mutation_id": 200_000, "channel": "kept", "op": "put",
               "id": "k", "doc": {}}),
    );
    let got = h.drain();
    assert!(
        H::to(&got, keeper)
            .iter()
            .any(|m| matches!(m, ServerMessage::Event { offset: 1, .. })),
        "{got:?}"
    );
    let other = h.conn("other");
    let got = h.subscribe(other, "kept");
    assert!(
        matches!(got.last(), Some(ServerMessage::PresenceSync { members, .. }) if members.len() == 1),
        "{got:?}"
    );
}

#[test]
fn an_evicted_channel_is_read_again_from_the_store() {
    let mut h = unlimited();
    let writer = h.conn("writer");
    for mid in 1..=3 {
        h.send(
            writer,
            json!({"type": "mutate", "mutation_id": mid, "channel": "x", "op": "put",
                   "id": format!("d{mid}"), "doc": {}}),
        );
        h.drain();
    }
    // Push it out.
    for i in 0..(4 * SWEEP_FLOOR) {
        h.subscribe(writer, &format!("filler{i}"));
        h.call(
            writer,
            json!({"type": "unsubscribe", "channel": format!("filler{i}")}),
        );
    }
    assert!(h.e.channel_count() < 4 * SWEEP_FLOOR);
    let reader = h.conn("reader");
    let got = h.call(
        reader,
        json!({"type": "subscribe", "channel": "x", "since": {"epoch": "ep1", "offset": 3}}),
    );
    assert!(
        matches!(
            got[0],
            ServerMessage::Subscribed {
                continuity: Continuity::Recovered,
                offset: 3,
                ..
            }
        ),
        "{got:?}"
    );
    h.send(
        writer,
        json!({"type": "mutate", "mutation_id": 4, "channel": "x", "op": "put",
               "id": "d4", "doc": {}}),
    );
    let got = h.drain();
    assert!(
        H::to(&got, reader).iter().any(|m| matches!(
            m,
            ServerMessage::Event {
                offset: 4,
                prev: 3,
                ..
            }
        )),
        "{got:?}"
    );
}

#[test]
fn new_channels_per_connection_are_rate_limited_with_the_channel_and_retry_after() {
    let mut h = H::with(ServerConfig {
        rate_per_sec: 0,
        new_channels_per_sec: 20,
        max_subscriptions: 64,
        ..ServerConfig::default()
    });
    let c = h.conn("c");
    let other = h.conn("other");
    h.subscribe(other, "busy");
    // Burst: 20 + 64.
    for i in 0..84 {
        let got = h.subscribe(c, &format!("n{i}"));
        assert!(
            matches!(got[0], ServerMessage::Subscribed { .. }),
            "{i}: {got:?}"
        );
        h.call(
            c,
            json!({"type": "unsubscribe", "channel": format!("n{i}")}),
        );
    }
    let got = h.subscribe(c, "n84");
    match &got[..] {
        [ServerMessage::Error {
            code: ErrorCode::RateLimited,
            channel: Some(channel),
            retry_after_ms: Some(50),
            ..
        }] => assert_eq!(channel, "n84"),
        other => panic!("{other:?}"),
    }
    // A channel in use is not new; another connection has its own budget.
    assert!(matches!(
        h.subscribe(c, "busy")[0],
        ServerMessage::Subscribed { .. }
    ));
    assert!(matches!(
        h.subscribe(other, "fresh")[0],
        ServerMessage::Subscribed { .. }
    ));
    let got: Vec<Got> = h.advance(50);
    assert!(got.is_empty(), "{got:?}");
    assert!(matches!(
        h.subscribe(c, "n84")[0],
        ServerMessage::Subscribed { .. }
    ));
}
