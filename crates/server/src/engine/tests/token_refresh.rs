//! Token refresh on an open connection, on injected time: a client that offered `refresh` in
//! `hello` is told `token_expiring` once, `token_refresh_ms` before its token's expiry; `auth`
//! with a fresh token of the same subject moves the expiry without a reconnect (subscriptions
//! keep flowing), a token it may not use is refused and the old one stays in force, and grants
//! the new token drops end their subscriptions.

use serde_json::json;
use tether_protocol::{CloseCode, ErrorCode, ServerMessage};

use super::{error_code, Got, H};
use crate::engine::{mint_hs256, AuthConfig, Claims, ConnId, ServerConfig};

const SECRET: &[u8] = b"s3cret";
/// The harness's wall clock at time 0, unix seconds.
const T: u64 = 1_700_000_000;
const LEEWAY: u64 = crate::engine::DEFAULT_LEEWAY_SECS;

fn refresh_h() -> H {
    H::with(ServerConfig {
        auth: AuthConfig::hs256(SECRET),
        token_refresh_ms: 10_000,
        ..ServerConfig::default()
    })
}

fn token(sub: &str, read: &[&str], exp: u64) -> String {
    let mut claims = Claims::new(sub).write(&["tasks"]).read(read);
    claims.exp = Some(exp);
    mint_hs256(SECRET, &claims).unwrap()
}

/// A session of `sarah` (`refresh` as given) with a token expiring at `exp`, subscribed to
/// `tasks`.
fn session(h: &mut H, refresh: bool, exp: u64) -> ConnId {
    let c = h.raw();
    let mut hello = json!({"type": "hello", "protocol": 1, "client_id": "c1",
                           "token": token("sarah", &["chat"], exp)});
    if refresh {
        hello["refresh"] = json!(true);
    }
    let got = h.call(c, hello);
    assert!(matches!(got[0], ServerMessage::Welcome { .. }), "{got:?}");
    assert!(matches!(
        h.subscribe(c, "tasks")[0],
        ServerMessage::Subscribed { .. }
    ));
    c
}

/// Advances both clocks by `ms` in steps of 5 s, pinging so the heartbeat stays happy.
fn live_for(h: &mut H, c: ConnId, ms: u64) -> Vec<Got> {
    let mut got = Vec::new();
    let target = h.now + ms;
    while h.now < target {
        let step = (target - h.now).min(5_000);
        let to = h.now + step;
        while let Some(at) = h.e.poll_timeout().filter(|at| *at <= to) {
            h.now = h.now.max(at);
            h.e.set_unix_time_ms(T * 1_000 + h.now);
            h.e.handle_timeout(h.now);
            got.extend(h.drain());
        }
        h.now = to;
        h.e.set_unix_time_ms(T * 1_000 + h.now);
        h.e.handle_timeout(h.now);
        got.extend(h.drain());
        if h.e.is_connected(c) {
            h.send(c, json!({"type": "ping", "nonce": 1}));
            got.extend(
                h.drain()
                    .into_iter()
                    .filter(|g| !matches!(g, Got::Msg(_, ServerMessage::Pong { .. }))),
            );
        }
    }
    got
}

fn expiring(got: &[Got]) -> Vec<u64> {
    got.iter()
        .filter_map(|g| match g {
            Got::Msg(_, ServerMessage::TokenExpiring { expires_in_ms }) => Some(*expires_in_ms),
            _ => None,
        })
        .collect()
}

#[test]
fn a_fresh_token_on_the_open_connection_moves_the_expiry() {
    let mut h = refresh_h();
    // Expires (with the leeway) at T+25+LEEWAY s; the warning is due 10 s before.
    let c = session(&mut h, true, T + 25);
    let due_ms = (25 + LEEWAY) * 1_000 - 10_000;
    let got = live_for(&mut h, c, due_ms - 1);
    assert!(expiring(&got).is_empty(), "{got:?}");
    let got = live_for(&mut h, c, 1);
    assert_eq!(expiring(&got), vec![10_000], "{got:?}");
    // Only once for this token.
    let got = live_for(&mut h, c, 2_000);
    assert!(expiring(&got).is_empty(), "{got:?}");

    let fresh = token("sarah", &["chat"], T + 600);
    let got = h.call(c, json!({"type": "auth", "token": fresh}));
    let want_ms = (600 + LEEWAY) * 1_000 - h.now;
    assert_eq!(
        got,
        vec![ServerMessage::AuthOk {
            expires_in_ms: Some(want_ms)
        }]
    );
    assert_eq!(h.e.token_expiry(c), Some((T + 600 + LEEWAY) * 1_000));
    // Past the old expiry: still open, still subscribed (a write reaches it).
    let got = live_for(&mut h, c, 20_000);
    assert!(h.e.is_connected(c), "{got:?}");
    let other = h.raw();
    h.send(
        other,
        json!({"type": "hello", "protocol": 1, "client_id": "c2",
               "token": token("sarah", &[], T + 600)}),
    );
    h.drain();
    let got = h.put(other, 1, "t1", json!({"x": 1}));
    assert!(
        got.iter()
            .any(|g| matches!(g, Got::Msg(to, ServerMessage::Event { .. }) if *to == c)),
        "{got:?}"
    );
}

#[test]
fn a_client_that_did_not_offer_refresh_is_never_warned() {
    let mut h = refresh_h();
    let c = session(&mut h, false, T + 20);
    let got = live_for(&mut h, c, (20 + LEEWAY) * 1_000);
    assert!(expiring(&got).is_empty(), "{got:?}");
    assert!(
        got.contains(&Got::Close(c, CloseCode::AuthFailed)),
        "{got:?}"
    );
}

#[test]
fn a_token_within_the_window_at_hello_is_announced_at_once() {
    let mut h = refresh_h();
    let c = h.raw();
    let got = h.call(
        c,
        json!({"type": "hello", "protocol": 1, "client_id": "c1", "refresh": true,
               "token": token("sarah", &[], T + 3)}),
    );
    assert!(matches!(got[0], ServerMessage::Welcome { .. }), "{got:?}");
    assert_eq!(
        got[1],
        ServerMessage::TokenExpiring {
            expires_in_ms: (3 + LEEWAY) * 1_000
        }
    );
}

#[test]
fn a_refused_token_leaves_the_old_one_in_force() {
    let mut h = refresh_h();
    let c = session(&mut h, true, T + 25);
    for bad in [
        token("amir", &["chat"], T + 600), // another subject
        "not-a-jwt".to_owned(),            // malformed
        mint_hs256(b"other", &Claims::new("sarah")).unwrap(), // wrongly signed
        token("sarah", &["chat"], T - 100), // already expired
    ] {
        let got = h.call(c, json!({"type": "auth", "token": bad}));
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(error_code(&got[0]), Some(ErrorCode::AuthInvalid), "{got:?}");
        assert!(h.e.is_connected(c));
    }
    assert_eq!(h.e.token_expiry(c), Some((T + 25 + LEEWAY) * 1_000));
    let got = live_for(&mut h, c, (25 + LEEWAY) * 1_000);
    assert!(
        got.contains(&Got::Close(c, CloseCode::AuthFailed)),
        "{got:?}"
    );
}

#[test]
fn grants_the_new_token_drops_end_their_subscriptions() {
    let mut h = refresh_h();
    let c = session(&mut h, true, T + 600);
    assert!(matches!(
        h.subscribe(c, "chat")[0],
        ServerMessage::Subscribed { .. }
    ));
    // The new token still writes `tasks` but no longer reads `chat`.
    let got = h.call(
        c,
        json!({"type": "auth", "token": token("sarah", &[], T + 900)}),
    );
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(error_code(&got[0]), Some(ErrorCode::Forbidden));
    assert!(
        matches!(&got[0], ServerMessage::Error { channel: Some(ch), .. } if ch == "chat"),
        "{got:?}"
    );
    assert_eq!(
        got[1],
        ServerMessage::Unsubscribed {
            channel: "chat".into()
        }
    );
    assert!(matches!(got[2], ServerMessage::AuthOk { .. }), "{got:?}");
    // `tasks` (writable, hence readable) is kept.
    let got = h.call(c, json!({"type": "unsubscribe", "channel": "tasks"}));
    assert_eq!(
        got,
        vec![ServerMessage::Unsubscribed {
            channel: "tasks".into()
        }]
    );
}

#[test]
fn dev_mode_accepts_any_auth() {
    let mut h = H::new();
    let c = h.conn("c1");
    let got = h.call(c, json!({"type": "auth", "token": "anything"}));
    assert_eq!(
        got,
        vec![ServerMessage::AuthOk {
            expires_in_ms: None
        }]
    );
}
