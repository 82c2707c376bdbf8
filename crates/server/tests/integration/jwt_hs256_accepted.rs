//! An HS256 JWT signed with `--auth-secret` (by any JWT library; here `jsonwebtoken` with a
//! hand-written header and claims) is accepted in `hello` and as `?token=`; one signed with
//! another secret, or in the old `claims.mac` format, is AUTH_INVALID (4001) / 401.

use crate::common::{auth_server, hello_with, unix_secs, Closed, SECRET};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};

fn hs256(secret: &str, claims: &serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hs256_jwt_is_accepted_and_a_forged_one_refused() {
    let server = auth_server(|_| {}).await;
    let url = server.url();
    let claims = json!({"sub": "sarah", "iat": unix_secs(), "exp": unix_secs() + 600,
                        "channels": {"write": ["tasks"]}, "name": "ignored"});
    let good = hs256(SECRET, &claims);
    let (mut c, answer) = hello_with(&url, "c1", Some(&good)).await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    assert!(matches!(
        c.subscribe(json!({"channel": "tasks"})).await[0],
        ServerMessage::Subscribed { .. }
    ));
    // As `?token=`: hello needs none.
    let (_, answer) = hello_with(&format!("{url}?token={good}"), "c2", None).await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );

    let forged = hs256("another-secret", &claims);
    let (mut c, answer) = hello_with(&url, "c3", Some(&forged)).await;
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
    // The former `base64url(claims).base64url(mac)` format.
    let old = "eyJzdWIiOiJzYXJhaCIsImNoYW5uZWxzIjpbIioiXX0.bWFj";
    let (mut c, answer) = hello_with(&url, "c4", Some(old)).await;
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
    match tokio_tungstenite::connect_async(format!("{url}?token={forged}")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status().as_u16(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    server.stop().await;
}
