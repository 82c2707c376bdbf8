//! Token refresh on an open connection (PROTOCOL.md §3 `hello.refresh`, `auth`; §4
//! `token_expiring` / `auth_ok`): with a provider the engine offers `refresh`, asks for a fresh
//! token on `token_expiring` and hands it over with `auth`, without a reconnect; a refused
//! `auth` leaves the connection open.

use crate::common::{sent_of, welcome, Driver};
use tether_core::{Auth, Config, ConnectionError, ConnectionState, Output};
use tether_protocol::{ClientMessage, ErrorCode, ServerMessage};

fn with_provider() -> Driver {
    Driver::new(Config {
        auth: Auth::Provider,
        ..Config::default()
    })
}

/// connect → `NeedToken` → token "t1" → socket open → `hello` (returned) → `welcome`.
fn ready(d: &mut Driver) -> ClientMessage {
    d.engine.connect(d.now);
    assert!(d.drain().contains(&Output::NeedToken));
    d.engine.set_token(d.now, Some("t1".into()));
    assert!(d.drain().contains(&Output::OpenSocket));
    d.engine.socket_opened(d.now);
    let hello = d.sent().remove(0);
    d.server(welcome());
    d.drain();
    assert_eq!(d.engine.state(), ConnectionState::Ready);
    hello
}

fn expiring(d: &mut Driver) -> Vec<Output> {
    d.server(ServerMessage::TokenExpiring {
        expires_in_ms: 30_000,
    });
    d.drain()
}

#[test]
fn hello_offers_refresh_only_with_a_provider() {
    let mut d = with_provider();
    let hello = ready(&mut d);
    assert!(
        matches!(&hello, ClientMessage::Hello { refresh: true, token: Some(t), .. } if t == "t1"),
        "{hello:?}"
    );
    for auth in [Auth::None, Auth::Static("fixed".into())] {
        let mut d = Driver::new(Config {
            auth,
            ..Config::default()
        });
        d.engine.connect(0);
        d.drain();
        d.engine.socket_opened(0);
        let hello = d.sent().remove(0);
        assert!(
            matches!(hello, ClientMessage::Hello { refresh: false, .. }),
            "{hello:?}"
        );
    }
}

#[test]
fn token_expiring_asks_the_provider_and_the_fresh_token_goes_out_as_auth() {
    let mut d = with_provider();
    ready(&mut d);
    let before = d.engine.status();
    let out = expiring(&mut d);
    assert_eq!(out, vec![Output::NeedToken]);
    d.now += 50;
    d.engine.set_token(d.now, Some("t2".into()));
    let out = d.drain();
    assert!(!out.contains(&Output::OpenSocket), "{out:?}");
    assert!(
        !out.iter().any(|o| matches!(o, Output::CloseSocket { .. })),
        "{out:?}"
    );
    assert_eq!(
        sent_of(&out),
        vec![ClientMessage::Auth { token: "t2".into() }]
    );
    d.server(ServerMessage::AuthOk {
        expires_in_ms: Some(3_600_000),
    });
    assert!(sent_of(&d.drain()).is_empty());
    let after = d.engine.status();
    assert_eq!(after.state, ConnectionState::Ready);
    assert_eq!(after.attempt, before.attempt);
    assert_eq!(after.counters.connections, before.counters.connections);
    assert_eq!(after.last_error, None);
}

#[test]
fn a_reconnect_after_a_refresh_asks_the_provider_again() {
    let mut d = with_provider();
    ready(&mut d);
    expiring(&mut d);
    d.engine.set_token(d.now, Some("t2".into()));
    d.drain();
    // The connection drops for another reason: the reconnect asks the provider again, and the
    // fresh token is kept meanwhile (a provider answer arriving first is used as is).
    d.engine.socket_closed(d.now, 1006);
    d.drain();
    let retry = d.engine.status().next_retry_at.unwrap();
    let out = d.advance(retry);
    assert!(out.contains(&Output::NeedToken), "{out:?}");
    d.engine.set_token(d.now, Some("t3".into()));
    d.drain();
    d.engine.socket_opened(d.now);
    let hello = d.sent().remove(0);
    assert!(
        matches!(&hello, ClientMessage::Hello { token: Some(t), .. } if t == "t3"),
        "{hello:?}"
    );
}

#[test]
fn a_refused_auth_keeps_the_connection_and_is_the_last_error() {
    let mut d = with_provider();
    ready(&mut d);
    expiring(&mut d);
    d.engine.set_token(d.now, Some("bad".into()));
    d.drain();
    d.server(ServerMessage::Error {
        code: ErrorCode::AuthInvalid,
        message: "token of another subject".into(),
        channel: None,
        mutation_id: None,
        request_id: None,
        retry_after_ms: None,
    });
    let out = d.drain();
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::CloseSocket { .. } | Output::OpenSocket)),
        "{out:?}"
    );
    let s = d.engine.status();
    assert_eq!(s.state, ConnectionState::Ready);
    assert!(
        matches!(
            &s.last_error,
            Some(ConnectionError::Server {
                code: ErrorCode::AuthInvalid,
                ..
            })
        ),
        "{:?}",
        s.last_error
    );
    // At expiry the server closes with 4001: the usual reconnect asks for a new token.
    d.engine.socket_closed(d.now, 4001);
    d.drain();
    assert_eq!(
        d.engine.status().last_error,
        Some(ConnectionError::AuthFailed)
    );
    let retry = d.engine.status().next_retry_at.unwrap();
    assert!(d.advance(retry).contains(&Output::NeedToken));
}

#[test]
fn a_failed_provider_on_an_open_connection_changes_nothing() {
    let mut d = with_provider();
    ready(&mut d);
    expiring(&mut d);
    let before = d.engine.status();
    d.engine.token_failed(d.now);
    let out = d.drain();
    assert!(sent_of(&out).is_empty(), "{out:?}");
    assert_eq!(d.engine.status(), before);
}

#[test]
fn without_a_provider_token_expiring_asks_for_nothing() {
    let mut d = Driver::new(Config {
        auth: Auth::Static("fixed".into()),
        ..Config::default()
    });
    d.connect_ready();
    let out = expiring(&mut d);
    assert!(!out.contains(&Output::NeedToken), "{out:?}");
    // A token the app sets on an open session is handed over too.
    d.engine.set_token(d.now, Some("new".into()));
    assert_eq!(
        d.sent(),
        vec![ClientMessage::Auth {
            token: "new".into()
        }]
    );
}

#[test]
fn a_token_set_while_hello_awaits_welcome_goes_out_as_auth_first_thing_after_it() {
    let mut d = with_provider();
    d.engine.subscribe(d.now, "tasks", None).unwrap();
    d.engine.connect(d.now);
    d.drain();
    d.engine.set_token(d.now, Some("t1".into()));
    d.drain();
    d.engine.socket_opened(d.now);
    let hello = d.sent().remove(0);
    assert!(
        matches!(&hello, ClientMessage::Hello { token: Some(t), .. } if t == "t1"),
        "{hello:?}"
    );
    // The app logs in again before the server's welcome: nothing can be sent yet.
    d.engine.set_token(d.now, Some("t2".into()));
    assert!(sent_of(&d.drain()).is_empty());
    d.server(welcome());
    let sent = sent_of(&d.drain());
    assert_eq!(
        sent.first(),
        Some(&ClientMessage::Auth { token: "t2".into() }),
        "auth before the subscriptions: {sent:?}"
    );
    assert!(
        sent.iter()
            .any(|m| matches!(m, ClientMessage::Subscribe { channel, .. } if channel == "tasks")),
        "{sent:?}"
    );
    // Only once; a reconnect's hello carries the newest token instead.
    d.engine.socket_closed(d.now, 1006);
    d.drain();
    d.now += 60_000;
    d.engine.handle_timeout(d.now);
    assert!(d.drain().contains(&Output::NeedToken));
    d.engine.set_token(d.now, Some("t2".into()));
    d.drain();
    d.engine.socket_opened(d.now);
    let hello = d.sent().remove(0);
    assert!(
        matches!(&hello, ClientMessage::Hello { token: Some(t), .. } if t == "t2"),
        "{hello:?}"
    );
    d.server(welcome());
    let sent = sent_of(&d.drain());
    assert!(
        !sent.iter().any(|m| matches!(m, ClientMessage::Auth { .. })),
        "{sent:?}"
    );
}
