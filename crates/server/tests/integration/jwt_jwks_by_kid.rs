//! With `--jwks-file`, tokens are verified by the key their header's `kid` names: RS256 and
//! ES256 keys of one set each verify their own tokens; a token naming a kid the set lacks, or
//! signed by a key other than the one its kid names, is AUTH_INVALID (4001).

use crate::common::{hello_with, unix_secs, Closed, TestServer};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use tether_protocol::{ErrorCode, ServerMessage};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

fn key(file: &str, alg: Algorithm) -> EncodingKey {
    let pem = std::fs::read(format!("{KEYS}/{file}")).unwrap();
    match alg {
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
        _ => EncodingKey::from_rsa_pem(&pem).unwrap(),
    }
}

fn jwk(file: &str, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(&key(file, alg), alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    jwk
}

fn sign(file: &str, alg: Algorithm, kid: &str) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    let claims = json!({"sub": "sarah", "exp": unix_secs() + 600,
                        "channels": {"read": ["*"]}});
    encode(&header, &claims, &key(file, alg)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_keys_verify_by_kid() {
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    let set = JwkSet {
        keys: vec![
            jwk("rsa_private.pem", Algorithm::RS256, "rsa-2026"),
            jwk("other_rsa_private.pem", Algorithm::RS256, "rsa-2025"),
            jwk("ec_private.pem", Algorithm::ES256, "ec-2026"),
        ],
    };
    std::fs::write(&jwks, serde_json::to_string(&set).unwrap()).unwrap();
    let server = TestServer::start(|o| {
        o.dev = false;
        o.jwks_file = Some(jwks.clone());
    })
    .await;
    let url = server.url();
    for (i, token) in [
        sign("rsa_private.pem", Algorithm::RS256, "rsa-2026"),
        sign("other_rsa_private.pem", Algorithm::RS256, "rsa-2025"),
        sign("ec_private.pem", Algorithm::ES256, "ec-2026"),
    ]
    .iter()
    .enumerate()
    {
        let (_, answer) = hello_with(&url, &format!("ok{i}"), Some(token)).await;
        assert!(
            matches!(answer, ServerMessage::Welcome { .. }),
            "{i}: {answer:?}"
        );
    }
    for (i, token) in [
        sign("rsa_private.pem", Algorithm::RS256, "rsa-1999"),
        sign("rsa_private.pem", Algorithm::RS256, "rsa-2025"),
    ]
    .iter()
    .enumerate()
    {
        let (mut c, answer) = hello_with(&url, &format!("bad{i}"), Some(token)).await;
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
