use std::collections::HashMap;

use serde_json::json;
use tether_protocol::{CloseCode, ErrorCode, RejectReason, ServerMessage};

use super::{error_code, Got, H};
use crate::engine::{sign_token, AuthConfig, Claims, ConnectInfo, ServerConfig};

const SECRET: &[u8] = b"s3cret";

fn auth_h() -> H {
    H::with(ServerConfig {
        auth: AuthConfig::Tokens {
            hmac_secret: Some(SECRET.to_vec()),
            static_tokens: HashMap::new(),
        },
        ..ServerConfig::default()
    })
}

fn token(channels: &[&str], exp: Option<u64>) -> String {
    sign_token(
        SECRET,
        &Claims {
            sub: "sarah".into(),
            channels: channels.iter().map(|c| c.to_string()).collect(),
            exp,
        },
    )
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

#[test]
fn missing_token_is_auth_required_4001() {
    let mut h = auth_h();
    closed_with(&hello(&mut h, None), ErrorCode::AuthRequired);
}

#[test]
fn bad_or_expired_token_is_auth_invalid_4001() {
    let mut h = auth_h();
    closed_with(
        &hello(&mut h, Some("garbage".into())),
        ErrorCode::AuthInvalid,
    );
    let forged = sign_token(
        b"other",
        &Claims {
            sub: String::new(),
            channels: vec!["*".into()],
            exp: None,
        },
    );
    closed_with(&hello(&mut h, Some(forged)), ErrorCode::AuthInvalid);
    // Wall clock is 1_700_000_000 s in the harness.
    closed_with(
        &hello(&mut h, Some(token(&["*"], Some(1_700_000_000)))),
        ErrorCode::AuthInvalid,
    );
    let got = hello(&mut h, Some(token(&["*"], Some(1_700_000_001))));
    assert!(matches!(
        &got[0],
        Got::Msg(_, ServerMessage::Welcome { .. })
    ));
}

#[test]
fn claims_limit_channels_for_subscribe_and_mutate() {
    let mut h = auth_h();
    let got = hello(&mut h, Some(token(&["tasks", "chat:*"], None)));
    let Got::Msg(c, _) = got[0].clone() else {
        panic!()
    };
    assert!(matches!(
        h.subscribe(c, "tasks")[0],
        ServerMessage::Subscribed { .. }
    ));
    assert!(matches!(
        h.subscribe(c, "chat:1")[0],
        ServerMessage::Subscribed { .. }
    ));
    let got = h.subscribe(c, "admin");
    assert_eq!(error_code(&got[0]), Some(ErrorCode::Forbidden));
    let got = h.call(
        c,
        json!({"type": "mutate", "mutation_id": 1, "channel": "admin", "op": "put", "id": "x", "doc": {}}),
    );
    assert!(matches!(
        &got[0],
        ServerMessage::Reject {
            reason: RejectReason::Forbidden,
            ..
        }
    ));
}

#[test]
fn claims_verified_before_the_upgrade_need_no_token_in_hello() {
    let mut h = auth_h();
    let c = h.e.connect(
        h.now,
        ConnectInfo {
            origin: Some("https://app.example".into()),
            claims: Some(Claims {
                sub: "u".into(),
                channels: vec!["tasks".into()],
                exp: None,
            }),
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
fn dev_mode_ignores_tokens() {
    let mut h = H::new();
    let got = hello(&mut h, Some("whatever".into()));
    assert!(matches!(
        &got[0],
        Got::Msg(_, ServerMessage::Welcome { .. })
    ));
}
