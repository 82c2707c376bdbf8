//! Auth in the engine, on injected time: missing / invalid / expired / not-yet-valid tokens
//! are refused at `hello` (4001); read and write grants are kept apart (a read-only token
//! subscribes but cannot mutate or broadcast); claims verified before the upgrade are checked
//! again at `hello`; a connection is closed with 4001 when its token's `exp` (plus leeway)
//! passes on the engine's clock, and not before.

use serde_json::json;
use tether_protocol::{CloseCode, ErrorCode, RejectReason, ServerMessage};

use super::{error_code, Got, H};
use crate::engine::{mint_hs256, AuthConfig, Claims, ConnId, ConnectInfo, ServerConfig};
use crate::store::Store as _;

const SECRET: &[u8] = b"s3cret";
/// The harness's wall clock, unix seconds.
const T: u64 = 1_700_000_000;
/// The default leeway.
const LEEWAY: u64 = crate::engine::DEFAULT_LEEWAY_SECS;

fn auth_h() -> H {
    H::with(ServerConfig {
        auth: AuthConfig::hs256(SECRET),
        ..ServerConfig::default()
    })
}

fn sign(claims: &Claims) -> String {
    mint_hs256(SECRET, claims).unwrap()
}

fn token(channels: &[&str], exp: Option<u64>) -> String {
    let mut claims = Claims::new("sarah").write(channels);
    claims.exp = exp;
    sign(&claims)
}

fn hello(h: &mut H, token: Option<String>) -> Vec<Got> {
    let c = h.raw();
    let mut v = json!({"type": "hello", "protocol": 1, "client_id": "c"});
    if let Some(t) = token {
        v["token"] = json!(t);
    }
    h.send(c, v);
    h.drain()
}

/// A connection that completed `hello` with `token`.
fn session(h: &mut H, token: String) -> ConnId {
    let got = hello(h, Some(token));
    let Got::Msg(c, ServerMessage::Welcome { .. }) = got[0].clone() else {
        panic!("{got:?}")
    };
    c
}

fn closed_with(got: &[Got], code: ErrorCode) {
    assert!(
        matches!(&got[0], Got::Msg(_, m) if error_code(m) == Some(code)),
        "{got:?}"
    );
    assert!(
        matches!(got[1], Got::Close(_, CloseCode::AuthFailed)),
        "{got:?}"
    );
}

fn welcomed(got: &[Got]) {
    assert!(
        matches!(&got[0], Got::Msg(_, ServerMessage::Welcome { .. })),
        "{got:?}"
    );
}

#[test]
fn missing_token_is_auth_required_4001() {
    let mut h = auth_h();
    closed_with(&hello(&mut h, None), ErrorCode::AuthRequired);
}

#[test]
fn bad_or_forged_token_is_auth_invalid_4001() {
    let mut h = auth_h();
    closed_with(
        &hello(&mut h, Some("garbage".into())),
        ErrorCode::AuthInvalid,
    );
    let forged = mint_hs256(b"other", &Claims::new("").write(&["*"])).unwrap();
    closed_with(&hello(&mut h, Some(forged)), ErrorCode::AuthInvalid);
    // The old `claims.mac` format is not a JWT.
    closed_with(
        &hello(&mut h, Some("eyJzdWIiOiJ4In0.c2ln".into())),
        ErrorCode::AuthInvalid,
    );
}

#[test]
fn exp_is_checked_on_the_injected_clock_with_the_leeway() {
    let mut h = auth_h();
    // Refused from exp + leeway on.
    closed_with(
        &hello(&mut h, Some(token(&["*"], Some(T - LEEWAY)))),
        ErrorCode::AuthInvalid,
    );
    welcomed(&hello(&mut h, Some(token(&["*"], Some(T - LEEWAY + 1)))));
    // The engine's clock, not the machine's: far in the future, a token valid today expired.
    h.e.set_unix_time_ms(4_000_000_000_000);
    closed_with(
        &hello(&mut h, Some(token(&["*"], Some(T + 3_600)))),
        ErrorCode::AuthInvalid,
    );
    // ... and a token not valid before 2096 by the machine's clock is valid on the engine's.
    let mut claims = Claims::new("sarah").write(&["*"]);
    claims.nbf = Some(4_000_000_000);
    welcomed(&hello(&mut h, Some(sign(&claims))));
}

#[test]
fn nbf_and_iat_in_the_future_are_refused_beyond_the_leeway() {
    let mut h = auth_h();
    let mut claims = Claims::new("sarah").write(&["tasks"]);
    claims.nbf = Some(T + LEEWAY + 1);
    closed_with(&hello(&mut h, Some(sign(&claims))), ErrorCode::AuthInvalid);
    claims.nbf = Some(T + LEEWAY);
    welcomed(&hello(&mut h, Some(sign(&claims))));
    claims.nbf = None;
    claims.iat = Some(T + LEEWAY + 1);
    closed_with(&hello(&mut h, Some(sign(&claims))), ErrorCode::AuthInvalid);
    claims.iat = Some(T);
    welcomed(&hello(&mut h, Some(sign(&claims))));
}

#[test]
fn claims_of_another_shape_are_auth_invalid() {
    let mut h = auth_h();
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let key = jsonwebtoken::EncodingKey::from_secret(SECRET);
    for claims in [
        json!({"sub": "s", "channels": ["tasks"]}),
        json!({"sub": "s", "channels": {"raed": ["tasks"]}}),
        json!({"sub": "s", "exp": "tomorrow"}),
        json!({"sub": 7}),
    ] {
        let t = jsonwebtoken::encode(&header, &claims, &key).unwrap();
        closed_with(&hello(&mut h, Some(t)), ErrorCode::AuthInvalid);
    }
    // A fractional NumericDate is a date.
    let t = jsonwebtoken::encode(&header, &json!({"exp": (T + 60) as f64 + 0.5}), &key).unwrap();
    welcomed(&hello(&mut h, Some(t)));
}

#[test]
fn a_read_only_grant_subscribes_but_cannot_write() {
    let mut h = auth_h();
    let claims = Claims::new("sarah")
        .read(&["tasks", "chat:*"])
        .write(&["notes"]);
    let c = session(&mut h, sign(&claims));
    assert!(matches!(
        h.subscribe(c, "tasks")[0],
        ServerMessage::Subscribed { .. }
    ));
    assert!(matches!(
        h.subscribe(c, "chat:1")[0],
        ServerMessage::Subscribed { .. }
    ));
    // Presence describes the reader: allowed.
    let got = h.call(
        c,
        json!({"type": "presence", "channel": "tasks", "state": {"viewing": true}}),
    );
    assert!(got.iter().all(|m| error_code(m).is_none()), "{got:?}");
    // Writes are refused, typed.
    let got = h.call(
        c,
        json!({"type": "mutate", "mutation_id": 1, "channel": "tasks", "op": "put", "id": "x", "doc": {}}),
    );
    assert!(
        matches!(
            &got[0],
            ServerMessage::Reject {
                mutation_id: 1,
                reason: RejectReason::Forbidden,
                ..
            }
        ),
        "{got:?}"
    );
    let got = h.call(
        c,
        json!({"type": "broadcast", "channel": "tasks", "payload": {"x": 1}}),
    );
    assert_eq!(error_code(&got[0]), Some(ErrorCode::Forbidden), "{got:?}");
    assert!(matches!(&got[0], ServerMessage::Error { channel: Some(ch), .. } if ch == "tasks"));
    // Nothing was written.
    assert!(h.e.store_mut().document("tasks", "x").unwrap().is_none());
    // A write grant writes, and reads.
    assert!(matches!(
        h.subscribe(c, "notes")[0],
        ServerMessage::Subscribed { .. }
    ));
    let got = h.call(
        c,
        json!({"type": "mutate", "mutation_id": 2, "channel": "notes", "op": "put", "id": "x", "doc": {}}),
    );
    assert!(
        got.iter().any(|m| matches!(m, ServerMessage::Ack { .. })),
        "{got:?}"
    );
    // Not granted at all.
    assert_eq!(
        error_code(&h.subscribe(c, "admin")[0]),
        Some(ErrorCode::Forbidden)
    );
    assert_eq!(
        error_code(&h.subscribe(c, "chat")[0]),
        Some(ErrorCode::Forbidden)
    );
}

#[test]
fn claims_verified_before_the_upgrade_need_no_token_in_hello() {
    let mut h = auth_h();
    let c = h.e.connect(
        h.now,
        ConnectInfo {
            origin: Some("https://app.example".into()),
            claims: Some(Claims::new("u").write(&["tasks"])),
        },
    );
    let got = h.call(c, json!({"type": "hello", "protocol": 1, "client_id": "c"}));
    assert!(matches!(got[0], ServerMessage::Welcome { .. }));
    assert_eq!(
        error_code(&h.subscribe(c, "other")[0]),
        Some(ErrorCode::Forbidden)
    );
}

#[test]
fn claims_that_expired_since_the_upgrade_are_refused_at_hello() {
    let mut h = auth_h();
    let c = h.e.connect(
        h.now,
        ConnectInfo {
            origin: None,
            claims: Some(Claims::new("u").write(&["tasks"]).expires(T - LEEWAY)),
        },
    );
    h.send(c, json!({"type": "hello", "protocol": 1, "client_id": "c"}));
    closed_with(&h.drain(), ErrorCode::AuthInvalid);
}

/// Advances the monotonic and the wall clock together by `ms`, running timers on the way.
fn advance_both(h: &mut H, ms: u64) -> Vec<Got> {
    let target = h.now + ms;
    let mut got = Vec::new();
    let unix0 = T * 1_000;
    while let Some(at) = h.e.poll_timeout().filter(|at| *at <= target) {
        h.now = h.now.max(at);
        h.e.set_unix_time_ms(unix0 + h.now);
        h.e.handle_timeout(h.now);
        got.extend(h.drain());
    }
    h.now = target;
    h.e.set_unix_time_ms(unix0 + h.now);
    h.e.handle_timeout(h.now);
    got.extend(h.drain());
    got
}

#[test]
fn the_connection_is_closed_4001_when_its_token_expires() {
    let mut h = auth_h();
    let c = session(&mut h, token(&["tasks"], Some(T + 10)));
    // The hook for a refresh: the engine knows when the token stops being valid.
    assert_eq!(h.e.token_expiry(c), Some((T + 10 + LEEWAY) * 1_000));
    assert!(matches!(
        h.subscribe(c, "tasks")[0],
        ServerMessage::Subscribed { .. }
    ));
    // Still open 1 ms before exp + leeway (pings keep the heartbeat happy).
    h.call(c, json!({"type": "ping", "nonce": 1}));
    let got = advance_both(&mut h, (10 + LEEWAY) * 1_000 - 1);
    assert!(got.is_empty(), "{got:?}");
    assert!(h.e.is_connected(c));
    let got = advance_both(&mut h, 1);
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(
        matches!(&got[0], Got::Msg(to, m) if *to == c && error_code(m) == Some(ErrorCode::AuthInvalid)),
        "{got:?}"
    );
    assert_eq!(got[1], Got::Close(c, CloseCode::AuthFailed));
    assert!(!h.e.is_connected(c));
}

#[test]
fn expiry_follows_the_wall_clock_when_it_lags_the_monotonic_one() {
    let mut h = auth_h();
    let c = session(&mut h, token(&["tasks"], Some(T + 2)));
    let deadline = (T + 2 + LEEWAY) * 1_000;
    // Monotonic time reaches the estimate, but the wall clock says 1 s earlier: still open.
    let at = h.e.poll_timeout().unwrap();
    h.now = at;
    h.e.set_unix_time_ms(deadline - 1_000);
    h.e.handle_timeout(h.now);
    assert!(h.drain().is_empty());
    assert!(h.e.is_connected(c));
    // The timer is re-armed for the rest; at the wall-clock deadline the connection closes.
    let at = h.e.poll_timeout().unwrap();
    assert_eq!(at, h.now + 1_000);
    h.now = at;
    h.e.set_unix_time_ms(deadline);
    h.e.handle_timeout(h.now);
    let got = h.drain();
    assert_eq!(got.last(), Some(&Got::Close(c, CloseCode::AuthFailed)));
}

#[test]
fn a_token_without_exp_never_closes_the_connection() {
    let mut h = auth_h();
    let c = session(&mut h, token(&["tasks"], None));
    assert_eq!(h.e.token_expiry(c), None);
    for n in 0..5 {
        h.call(c, json!({"type": "ping", "nonce": n}));
        let got = advance_both(&mut h, 20_000);
        assert!(got.is_empty(), "{got:?}");
    }
    assert!(h.e.is_connected(c));
}

#[test]
fn dev_mode_ignores_tokens() {
    let mut h = H::new();
    welcomed(&hello(&mut h, Some("whatever".into())));
    let c = h.conn("d");
    assert_eq!(h.e.token_expiry(c), None);
}
