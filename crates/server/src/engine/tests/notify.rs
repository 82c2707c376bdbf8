//! Notifications to a subject (API.md §6): sent to every open session whose token's `sub` is
//! the subject, and to no other; an unknown subject is answered with 0 delivered; a bad
//! subject or key name is `Invalid`; sessions without a token (`--dev`) have no subject.

use serde_json::json;
use tether_protocol::ServerMessage;

use super::{Got, H};
use crate::engine::{
    mint_hs256, ApiAnswer, ApiRequestId, AuthConfig, Claims, ConnId, NodeMessage, RelayConfig,
    ServerConfig,
};

const SECRET: &[u8] = b"s3cret";

fn session(h: &mut H, client_id: &str, sub: &str) -> ConnId {
    let c = h.raw();
    let token = mint_hs256(SECRET, &Claims::new(sub).write(&["tasks"])).unwrap();
    h.send(
        c,
        json!({"type": "hello", "protocol": 1, "client_id": client_id, "token": token}),
    );
    let got = h.drain();
    assert!(
        matches!(&got[..], [Got::Msg(to, ServerMessage::Welcome { .. })] if *to == c),
        "{got:?}"
    );
    c
}

fn answer(h: &mut H) -> ApiAnswer {
    let reply = h.e.poll_api_reply().expect("a reply");
    assert!(h.e.poll_api_reply().is_none());
    reply.answer
}

#[test]
fn every_connection_of_the_subject_gets_it_and_no_other() {
    let mut h = H::with(ServerConfig {
        auth: AuthConfig::hs256(SECRET),
        ..ServerConfig::default()
    });
    let tab1 = session(&mut h, "c1", "sarah");
    let tab2 = session(&mut h, "c2", "sarah");
    let other = session(&mut h, "c3", "tom");
    let before_hello = h.raw();
    h.e.api_notify(
        ApiRequestId(1),
        "jobs",
        "sarah",
        tether_protocol::json!({"text": "report ready"}),
    );
    let got = h.drain();
    let mut to: Vec<ConnId> = got
        .iter()
        .map(|g| match g {
            Got::Msg(conn, ServerMessage::Notification { payload, from }) => {
                assert_eq!(payload, &tether_protocol::json!({"text": "report ready"}));
                assert_eq!(from, "api:jobs");
                *conn
            }
            other => panic!("{other:?}"),
        })
        .collect();
    to.sort_unstable();
    assert_eq!(to, vec![tab1, tab2]);
    assert!(!to.contains(&other) && !to.contains(&before_hello));
    assert_eq!(answer(&mut h), ApiAnswer::Notified { delivered: 2 });

    // An unknown subject is no error: nobody got it.
    h.e.api_notify(ApiRequestId(2), "jobs", "nobody", tether_protocol::json!(1));
    assert!(h.drain().is_empty());
    assert_eq!(answer(&mut h), ApiAnswer::Notified { delivered: 0 });
}

#[test]
fn bad_subjects_and_key_names_are_invalid_and_dev_sessions_have_no_subject() {
    let mut h = H::new();
    let dev = h.conn("c1");
    for (request, key, subject) in [
        (1, "jobs", String::new()),
        (2, "jobs", "s".repeat(257)),
        (3, "bad key", "sarah".to_owned()),
    ] {
        h.e.api_notify(
            ApiRequestId(request),
            key,
            &subject,
            tether_protocol::json!(null),
        );
        assert!(
            matches!(answer(&mut h), ApiAnswer::Invalid(_)),
            "{key} / {subject}"
        );
    }
    h.e.api_notify(ApiRequestId(4), "jobs", "", tether_protocol::json!(null));
    assert!(matches!(answer(&mut h), ApiAnswer::Invalid(_)));
    h.e.api_notify(ApiRequestId(5), "jobs", "c1", tether_protocol::json!(null));
    assert!(h
        .drain()
        .iter()
        .all(|g| !matches!(g, Got::Msg(c, _) if *c == dev)));
    assert_eq!(answer(&mut h), ApiAnswer::Notified { delivered: 0 });
}

#[test]
fn with_the_relay_on_the_subject_s_connections_on_other_nodes_get_it_once() {
    let auth = || ServerConfig {
        auth: AuthConfig::hs256(SECRET),
        ..ServerConfig::default()
    };
    let relay = RelayConfig {
        heartbeat_ms: 1_000,
        expiry_ms: 5_000,
    };
    let (mut a, mut b) = (H::with(auth()), H::with(auth()));
    a.e.enable_relay(a.now, "A".into(), relay);
    b.e.enable_relay(b.now, "B".into(), relay);
    let here = session(&mut a, "c1", "sarah");
    let there = session(&mut b, "c2", "sarah");
    let other = session(&mut b, "c3", "tom");
    a.e.api_notify(
        ApiRequestId(1),
        "jobs",
        "sarah",
        tether_protocol::json!({"text": "report ready"}),
    );
    assert_eq!(H::to(&a.drain(), here).len(), 1);
    assert_eq!(answer(&mut a), ApiAnswer::Notified { delivered: 1 });
    let relayed: Vec<(u64, NodeMessage)> = std::iter::from_fn(|| a.e.poll_node_message()).collect();
    // Delivered twice (a repeat on the link): the second copy is ignored.
    for _ in 0..2 {
        for (seq, msg) in &relayed {
            b.e.handle_node_message(b.now, "A", *seq, msg.clone());
        }
    }
    let got = b.drain();
    assert_eq!(
        H::to(&got, there),
        vec![ServerMessage::Notification {
            payload: tether_protocol::json!({"text": "report ready"}),
            from: "api:jobs".into(),
        }]
    );
    assert!(H::to(&got, other).is_empty(), "{got:?}");
    // Its own message coming back to A is ignored.
    for (seq, msg) in &relayed {
        a.e.handle_node_message(a.now, "A", *seq, msg.clone());
    }
    assert!(a.drain().is_empty());
}
