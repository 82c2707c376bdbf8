//! With `--jwt-audience` and `--jwt-issuer`, a JWT must carry an accepted `aud` (one of a
//! list is enough) and `iss`; missing or other values are AUTH_INVALID (4001).

use crate::common::{auth_server, hello_with, unix_secs, Closed, SECRET};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audience_and_issuer_are_checked() {
    let server = auth_server(|o| {
        o.jwt_audiences = vec!["tether".into()];
        o.jwt_issuers = vec!["https://id.example".into()];
    })
    .await;
    let url = server.url();
    let sign = |aud: serde_json::Value, iss: serde_json::Value| {
        let mut claims = json!({"sub": "s", "exp": unix_secs() + 600});
        if !aud.is_null() {
            claims["aud"] = aud;
        }
        if !iss.is_null() {
            claims["iss"] = iss;
        }
        encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    };
    let good = sign(json!(["api", "tether"]), json!("https://id.example"));
    let (_, answer) = hello_with(&url, "ok", Some(&good)).await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    for (i, bad) in [
        sign(json!("api"), json!("https://id.example")),
        sign(json!(null), json!("https://id.example")),
        sign(json!("tether"), json!("https://evil.example")),
        sign(json!("tether"), json!(null)),
    ]
    .iter()
    .enumerate()
    {
        let (mut c, answer) = hello_with(&url, &format!("bad{i}"), Some(bad)).await;
        assert!(
            matches!(
                answer,
                ServerMessage::Error {
                    code: ErrorCode::AuthInvalid,
                    ..
                }
            ),
            "{i}: {answer:?}"
        );
        assert_eq!(c.closed().await, Closed::Code(4001));
    }
    server.stop().await;
}
