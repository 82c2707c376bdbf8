//! Broadcasts and requests made while disconnected wait in a bounded queue; overflow and
//! request timeouts are typed errors.

use crate::common::Driver;
use tether_core::{Config, EngineError, Output, RequestError};
use tether_protocol::json;
use tether_protocol::{ClientMessage, ServerMessage};

#[test]
fn queue_is_bounded_and_drained_on_connect() {
    let mut d = Driver::new(Config {
        offline_queue_limit: 2,
        ..Config::default()
    });
    assert_eq!(
        d.engine.broadcast(0, "chat", json!(1)),
        Err(EngineError::NotSubscribed {
            channel: "chat".into()
        })
    );
    d.engine.subscribe(0, "chat", None).unwrap();
    d.engine.broadcast(0, "chat", json!(1)).unwrap();
    let id = d.engine.request(0, "time", json!(null)).unwrap();
    assert_eq!(
        d.engine.broadcast(0, "chat", json!(2)),
        Err(EngineError::OfflineQueueFull { limit: 2 })
    );
    assert_eq!(d.engine.status().queued_messages, 2);
    let sent = d.connect_ready();
    assert!(matches!(sent[0], ClientMessage::Subscribe { .. }));
    assert!(matches!(sent[1], ClientMessage::Broadcast { .. }));
    assert!(matches!(sent[2], ClientMessage::Request { id: rid, .. } if rid == id));
    d.server(ServerMessage::Response {
        id,
        body: Some(json!(42)),
        error: None,
    });
    assert!(d.drain().contains(&Output::Response {
        id,
        result: Ok(json!(42))
    }));
}

#[test]
fn requests_time_out_and_fail_on_connection_loss() {
    let mut d = Driver::new(Config {
        request_timeout_ms: 5_000,
        ..Config::default()
    });
    let queued = d.engine.request(0, "slow", json!(null)).unwrap();
    let out = d.advance(5_000);
    assert!(out.contains(&Output::Response {
        id: queued,
        result: Err(RequestError::Timeout)
    }));
    d.connect_ready();
    let sent = d.engine.request(d.now, "slow", json!(null)).unwrap();
    d.drain();
    d.engine.socket_closed(d.now, 1006);
    assert!(d.drain().contains(&Output::Response {
        id: sent,
        result: Err(RequestError::ConnectionLost)
    }));
}
