//! With `--jwt-public-key` of an RSA key (PEM), an RS256 JWT signed with its private half is
//! accepted; one signed with another RSA key, or an HS256 token using the public key as its
//! secret (algorithm confusion), is AUTH_INVALID and closed 4001.

use crate::common::{hello_with, unix_secs, Closed, TestServer};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

fn rs256(private_pem: &str, claims: &serde_json::Value) -> String {
    let pem = std::fs::read(format!("{KEYS}/{private_pem}")).unwrap();
    encode(
        &Header::new(Algorithm::RS256),
        claims,
        &EncodingKey::from_rsa_pem(&pem).unwrap(),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rs256_jwt_verifies_with_the_public_key() {
    let server = TestServer::start(|o| {
        o.dev = false;
        o.jwt_public_keys = vec![format!("{KEYS}/rsa_public.pem").into()];
    })
    .await;
    let url = server.url();
    let claims = json!({"sub": "sarah", "exp": unix_secs() + 600,
                        "channels": {"read": ["tasks"]}});
    let (mut c, answer) = hello_with(&url, "c1", Some(&rs256("rsa_private.pem", &claims))).await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    assert!(matches!(
        c.subscribe(json!({"channel": "tasks"})).await[0],
        ServerMessage::Subscribed { .. }
    ));

    let other = rs256("other_rsa_private.pem", &claims);
    let public = std::fs::read(format!("{KEYS}/rsa_public.pem")).unwrap();
    let confused = encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&public),
    )
    .unwrap();
    for (i, bad) in [other, confused].into_iter().enumerate() {
        let (mut c, answer) = hello_with(&url, &format!("bad{i}"), Some(&bad)).await;
        assert!(
            matches!(
                answer,
                ServerMessage::Error {
                    code: ErrorCode::AuthInvalid,
                    ..
                }
            ),
            "{answer:?}"
        );
        assert_eq!(c.closed().await, Closed::Code(4001));
    }
    server.stop().await;
}
