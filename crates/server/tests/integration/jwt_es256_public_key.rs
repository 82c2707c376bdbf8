//! With `--jwt-public-key` of an EC P-256 key (PEM), an ES256 JWT signed with its private half
//! is accepted (whatever its `kid`); an RS256 token is refused: no key for that algorithm.

use crate::common::{hello_with, unix_secs, Closed, TestServer};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_es256_jwt_verifies_with_the_public_key() {
    let server = TestServer::start(|o| {
        o.dev = false;
        o.jwt_public_keys = vec![format!("{KEYS}/ec_public.pem").into()];
    })
    .await;
    let url = server.url();
    let claims = json!({"sub": "sarah", "exp": unix_secs() + 600,
                        "channels": {"write": ["tasks"]}});
    let ec = std::fs::read(format!("{KEYS}/ec_private.pem")).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("k1".into());
    let good = encode(&header, &claims, &EncodingKey::from_ec_pem(&ec).unwrap()).unwrap();
    let (mut c, answer) = hello_with(&url, "c1", Some(&good)).await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    c.put(1, "tasks", "t1", json!({"title": "x"})).await;
    assert!(matches!(c.recv().await, ServerMessage::Ack { .. }));

    let rsa = std::fs::read(format!("{KEYS}/rsa_private.pem")).unwrap();
    let rs = encode(
        &Header::new(Algorithm::RS256),
        &claims,
        &EncodingKey::from_rsa_pem(&rsa).unwrap(),
    )
    .unwrap();
    let (mut c, answer) = hello_with(&url, "c2", Some(&rs)).await;
    match answer {
        ServerMessage::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::AuthInvalid);
            assert!(message.contains("RS256"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(c.closed().await, Closed::Code(4001));
    server.stop().await;
}
