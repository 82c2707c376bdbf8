//! Auth configuration errors stop the server at start with a typed configuration error, never
//! a server that refuses every token: no key nor tokens file outside `--dev`, a private key or
//! a non-P-256 EC key as `--jwt-public-key`, a JWKS without a usable key, a tokens file whose
//! claims are of the old shape (`channels` as an array).

use tether_server::edge::{spawn, EdgeError, Options};

const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/keys");

async fn start_error(tweak: impl FnOnce(&mut Options)) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut options = Options::for_tests(dir.path().join("tether.sqlite3"));
    options.log = "warn".into();
    options.dev = false;
    tweak(&mut options);
    match spawn(options).await {
        Err(EdgeError::Config { message }) => message,
        Err(other) => panic!("expected a configuration error, got {other}"),
        Ok(server) => {
            server.shutdown().await.unwrap();
            panic!("the server started");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_auth_configuration_is_refused_at_start() {
    let message = start_error(|_| {}).await;
    assert!(message.contains("--auth-secret"), "{message}");
    for file in ["rsa_private.pem", "p384_public.pem"] {
        let message =
            start_error(|o| o.jwt_public_keys = vec![format!("{KEYS}/{file}").into()]).await;
        assert!(message.contains(file), "{message}");
    }
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(
        &jwks,
        r#"{"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}"#,
    )
    .unwrap();
    let message = start_error(|o| o.jwks_file = Some(jwks.clone())).await;
    assert!(message.contains("no RS256 or ES256"), "{message}");
    let tokens = dir.path().join("tokens.json");
    std::fs::write(&tokens, r#"{"t": {"sub": "u", "channels": ["tasks"]}}"#).unwrap();
    let message = start_error(|o| o.tokens_file = Some(tokens.clone())).await;
    assert!(message.contains("tokens file"), "{message}");
}
