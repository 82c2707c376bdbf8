//! `tether-server token --sub … --read … --write … --ttl …` prints one HS256 JWT on stdout,
//! signed with `--auth-secret` / `TETHER_AUTH_SECRET`, with `iat`, `exp = iat + ttl` and the
//! grants; a server with that secret accepts it and enforces read vs write. A bad `--ttl` or a
//! missing secret exits non-zero without printing a token.

use std::process::Command;

use crate::common::{auth_server, hello_with, unix_secs, SECRET};
use jsonwebtoken::{decode, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};
use tether_protocol::{RejectReason, ServerMessage};

fn cli(args: &[&str], secret_env: Option<&str>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tether-server"));
    cmd.arg("token").args(args).env_remove("TETHER_AUTH_SECRET");
    if let Some(secret) = secret_env {
        cmd.env("TETHER_AUTH_SECRET", secret);
    }
    cmd.output().expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_subcommand_mints_a_token_the_server_accepts() {
    let before = unix_secs();
    let out = cli(
        &[
            "--sub",
            "sarah",
            "--read",
            "tasks,chat:*",
            "--write",
            "notes",
            "--ttl",
            "10m",
        ],
        Some(SECRET),
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.trim_end_matches('\n');
    assert_eq!(token.lines().count(), 1, "{stdout:?}");

    // A standard JWT with the documented claims.
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let claims: Value = decode(
        token,
        &DecodingKey::from_secret(SECRET.as_bytes()),
        &validation,
    )
    .expect("verifies with the secret")
    .claims;
    assert_eq!(claims["sub"], "sarah");
    assert_eq!(
        claims["channels"],
        json!({"read": ["tasks", "chat:*"], "write": ["notes"]})
    );
    let iat = claims["iat"].as_u64().unwrap();
    assert!(iat >= before && iat <= unix_secs());
    assert_eq!(claims["exp"].as_u64(), Some(iat + 600));

    let server = auth_server(|_| {}).await;
    let (mut c, answer) = hello_with(&server.url(), "c", Some(token)).await;
    assert!(
        matches!(answer, ServerMessage::Welcome { .. }),
        "{answer:?}"
    );
    assert!(matches!(
        c.subscribe(json!({"channel": "chat:1"})).await[0],
        ServerMessage::Subscribed { .. }
    ));
    c.put(1, "tasks", "t1", json!({})).await;
    assert!(matches!(
        c.recv().await,
        ServerMessage::Reject {
            reason: RejectReason::Forbidden,
            ..
        }
    ));
    c.put(2, "notes", "n1", json!({})).await;
    assert!(matches!(c.recv().await, ServerMessage::Ack { .. }));
    server.stop().await;

    // The flag works like the env var; errors print no token.
    let out = cli(&["--auth-secret", SECRET, "--channels", "*"], None);
    assert!(out.status.success(), "{out:?}");
    for (args, env) in [
        (&["--channels", "*", "--ttl", "1w"][..], Some(SECRET)),
        (&["--channels", "*"][..], None),
    ] {
        let out = cli(args, env);
        assert!(!out.status.success(), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
