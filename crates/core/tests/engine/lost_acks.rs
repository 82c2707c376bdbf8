//! Mutations whose answers never come on a connection that otherwise works (a server or proxy
//! dropped the frames): after the handshake timeout without any answer the connection is
//! replaced, and they are sent again with the same ids (the server's dedupe answers each once).
//! Answers that keep coming keep the connection.

use crate::common::{sent_of, Driver};
use tether_core::{Config, ConnectionError, ConnectionState, Output, Precondition};
use tether_protocol::json;
use tether_protocol::{ClientMessage, Op, ServerMessage};

fn write(d: &mut Driver, id: &str) -> u64 {
    let m = d
        .engine
        .mutate(
            d.now,
            "tasks",
            Op::Put,
            id,
            Some(json!({"title": id})),
            Precondition::Auto,
        )
        .unwrap();
    d.drain();
    m
}

/// Advances to `to`, answering every ping (the link is alive), and returns the outputs.
fn alive_until(d: &mut Driver, to: u64) -> Vec<Output> {
    let mut all = Vec::new();
    loop {
        let next = d.engine.poll_timeout().filter(|&at| at <= to);
        let out = d.advance(next.unwrap_or(to));
        for m in sent_of(&out) {
            if let ClientMessage::Ping { nonce } = m {
                d.server(ServerMessage::Pong { nonce });
            }
        }
        all.extend(out);
        all.extend(d.drain());
        if next.is_none() || d.now >= to {
            return all;
        }
    }
}

fn closed(out: &[Output]) -> bool {
    out.iter().any(|o| matches!(o, Output::CloseSocket { .. }))
}

fn mutation_ids(msgs: &[ClientMessage]) -> Vec<u64> {
    msgs.iter()
        .filter_map(|m| match m {
            ClientMessage::Mutate { mutation_id, .. } => Some(*mutation_id),
            _ => None,
        })
        .collect()
}

#[test]
fn unanswered_writes_replace_the_connection_and_are_sent_again() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    let m1 = write(&mut d, "a");
    let m2 = write(&mut d, "b");
    let out = alive_until(&mut d, 9_999);
    assert!(!closed(&out), "{out:?}");
    let out = alive_until(&mut d, 10_000);
    assert!(closed(&out), "{out:?}");
    let status = d.engine.status();
    assert_eq!(status.state, ConnectionState::Backoff);
    assert_eq!(status.last_error, Some(ConnectionError::AckTimeout));
    assert_eq!(status.pending_mutations, 2);

    let retry = status.next_retry_at.unwrap();
    let out = d.advance(retry);
    assert!(out.contains(&Output::OpenSocket));
    d.engine.socket_opened(d.now);
    d.drain();
    d.server(crate::common::welcome());
    assert_eq!(mutation_ids(&d.sent()), vec![m1, m2]);
}

#[test]
fn answers_that_keep_coming_keep_the_connection() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    let m1 = write(&mut d, "a");
    let m2 = write(&mut d, "b");
    alive_until(&mut d, 6_000);
    d.server(ServerMessage::Ack {
        mutation_id: m1,
        version: 1,
        offset: 1,
    });
    // An answer within the deadline: the deadline starts again from it.
    let out = alive_until(&mut d, 15_999);
    assert!(!closed(&out), "{out:?}");
    assert_eq!(d.engine.state(), ConnectionState::Ready);
    // Nothing for m2 in a whole deadline since: replaced.
    let out = alive_until(&mut d, 16_000);
    assert!(closed(&out), "{out:?}");
    assert_eq!(d.engine.status().pending_mutations, 1);
    let _ = m2;
}

#[test]
fn answered_writes_leave_no_deadline() {
    let mut d = Driver::new(Config::default());
    d.connect_ready();
    let m1 = write(&mut d, "a");
    d.server(ServerMessage::Reject {
        mutation_id: m1,
        reason: tether_protocol::RejectReason::Forbidden,
        current: None,
        message: "no".into(),
    });
    let m2 = write(&mut d, "b");
    d.server(ServerMessage::Ack {
        mutation_id: m2,
        version: 1,
        offset: 1,
    });
    let out = alive_until(&mut d, 60_000);
    assert!(!closed(&out), "{out:?}");
    assert_eq!(d.engine.state(), ConnectionState::Ready);
}
