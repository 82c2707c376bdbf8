//! Token verification by key kind, at the `AuthConfig::verify` level (typed errors): HS256
//! with a secret, RS256 / ES256 with a PEM public key, a JWKS by `kid`; an algorithm without a
//! configured key is refused (no RS256-key-as-HMAC-secret confusion); `aud` / `iss` when
//! configured; static tokens; time on the injected clock.

use std::collections::HashMap;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;

use crate::engine::{mint_hs256, AuthConfig, AuthError, Claims, TokenAuth, VerifyKey};

const RSA_PRIVATE: &str = include_str!("../../../tests/keys/rsa_private.pem");
const RSA_PUBLIC: &str = include_str!("../../../tests/keys/rsa_public.pem");
const OTHER_RSA_PRIVATE: &str = include_str!("../../../tests/keys/other_rsa_private.pem");
const EC_PRIVATE: &str = include_str!("../../../tests/keys/ec_private.pem");
const EC_PUBLIC: &str = include_str!("../../../tests/keys/ec_public.pem");

/// 2023-11-14T22:13:20Z, unix ms.
const NOW: u64 = 1_700_000_000_000;

fn claims() -> Claims {
    Claims::new("sarah")
        .read(&["chat:*"])
        .write(&["tasks"])
        .expires(1_700_000_600)
}

fn sign(
    alg: Algorithm,
    kid: Option<&str>,
    key: &EncodingKey,
    claims: &impl serde::Serialize,
) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn rsa(pem: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
}

fn ec() -> EncodingKey {
    EncodingKey::from_ec_pem(EC_PRIVATE.as_bytes()).unwrap()
}

fn with_keys(keys: Vec<VerifyKey>) -> AuthConfig {
    AuthConfig::Tokens(TokenAuth {
        keys,
        leeway_secs: 0,
        ..TokenAuth::default()
    })
}

#[test]
fn hs256_round_trips_and_a_wrong_secret_is_a_bad_signature() {
    let config = AuthConfig::hs256(b"secret");
    let token = mint_hs256(b"secret", &claims()).unwrap();
    assert_eq!(token.split('.').count(), 3);
    assert_eq!(config.verify(&token, NOW), Ok(Some(claims())));
    let forged = mint_hs256(b"other", &claims()).unwrap();
    assert_eq!(config.verify(&forged, NOW), Err(AuthError::BadSignature));
    assert_eq!(config.verify("no-dots", NOW), Err(AuthError::Malformed));
    assert_eq!(config.verify("a.b.c", NOW), Err(AuthError::Malformed));
}

#[test]
fn rs256_and_es256_verify_with_pem_public_keys() {
    let config = with_keys(vec![
        VerifyKey::public_pem(RSA_PUBLIC.as_bytes()).unwrap(),
        VerifyKey::public_pem(EC_PUBLIC.as_bytes()).unwrap(),
    ]);
    let rs = sign(Algorithm::RS256, None, &rsa(RSA_PRIVATE), &claims());
    assert_eq!(config.verify(&rs, NOW), Ok(Some(claims())));
    let es = sign(Algorithm::ES256, Some("any"), &ec(), &claims());
    assert_eq!(config.verify(&es, NOW), Ok(Some(claims())));
    // Signed by another RSA key.
    let other = sign(Algorithm::RS256, None, &rsa(OTHER_RSA_PRIVATE), &claims());
    assert_eq!(config.verify(&other, NOW), Err(AuthError::BadSignature));
    // HS256 with the public key's bytes as the secret: no HS256 key is configured.
    let confused = mint_hs256(RSA_PUBLIC.as_bytes(), &claims()).unwrap();
    assert_eq!(
        config.verify(&confused, NOW),
        Err(AuthError::NoKey {
            alg: "HS256".into(),
            kid: None
        })
    );
    // Time is the caller's.
    assert_eq!(
        config.verify(&rs, 1_700_000_600_000),
        Err(AuthError::Expired { exp: 1_700_000_600 })
    );
}

#[test]
fn pem_that_is_not_a_public_key_is_a_key_error() {
    assert!(VerifyKey::public_pem(b"not a pem").is_err());
    assert!(VerifyKey::public_pem(RSA_PRIVATE.as_bytes()).is_err());
    let rsa = VerifyKey::public_pem(RSA_PUBLIC.as_bytes()).unwrap();
    assert_eq!((rsa.algorithm(), rsa.kid()), ("RS256", None));
    let ec = VerifyKey::public_pem(EC_PUBLIC.as_bytes()).unwrap();
    assert_eq!(ec.algorithm(), "ES256");
    // A P-384 key is not an ES256 key.
    let p384 = include_str!("../../../tests/keys/p384_public.pem");
    assert!(VerifyKey::public_pem(p384.as_bytes()).is_err());
}

fn jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.into());
    jwk
}

#[test]
fn a_jwks_verifies_by_kid() {
    let set = JwkSet {
        keys: vec![
            jwk(&rsa(RSA_PRIVATE), Algorithm::RS256, "r1"),
            jwk(&rsa(OTHER_RSA_PRIVATE), Algorithm::RS256, "r2"),
            jwk(&ec(), Algorithm::ES256, "e1"),
        ],
    };
    let keys = VerifyKey::jwks(&serde_json::to_string(&set).unwrap()).unwrap();
    assert_eq!(keys.len(), 3);
    let config = with_keys(keys);
    for (alg, kid, key) in [
        (Algorithm::RS256, "r1", rsa(RSA_PRIVATE)),
        (Algorithm::RS256, "r2", rsa(OTHER_RSA_PRIVATE)),
        (Algorithm::ES256, "e1", ec()),
    ] {
        let t = sign(alg, Some(kid), &key, &claims());
        assert_eq!(config.verify(&t, NOW), Ok(Some(claims())), "{kid}");
    }
    // The right key signed it, but the header names the other key.
    let t = sign(Algorithm::RS256, Some("r2"), &rsa(RSA_PRIVATE), &claims());
    assert_eq!(config.verify(&t, NOW), Err(AuthError::BadSignature));
    // A kid the set does not hold.
    let t = sign(Algorithm::RS256, Some("r9"), &rsa(RSA_PRIVATE), &claims());
    assert_eq!(
        config.verify(&t, NOW),
        Err(AuthError::NoKey {
            alg: "RS256".into(),
            kid: Some("r9".into())
        })
    );
}

#[test]
fn a_jwks_skips_keys_it_cannot_use() {
    let mut enc = jwk(&rsa(RSA_PRIVATE), Algorithm::RS256, "enc");
    enc.common.public_key_use = Some(jsonwebtoken::jwk::PublicKeyUse::Encryption);
    let json = serde_json::to_string(&JwkSet { keys: vec![enc] }).unwrap();
    assert_eq!(
        VerifyKey::jwks(&json),
        Err(crate::engine::KeyError::NoUsableKey)
    );
    assert!(matches!(
        VerifyKey::jwks("{\"keys\": 3}"),
        Err(crate::engine::KeyError::Jwks { .. })
    ));
}

#[test]
fn audience_and_issuer_are_checked_when_configured() {
    let key = EncodingKey::from_secret(b"k");
    let config = AuthConfig::Tokens(TokenAuth {
        audiences: vec!["tether".into()],
        issuers: vec!["https://id.example".into()],
        ..TokenAuth::hs256(b"k")
    });
    let good = json!({"sub": "s", "aud": ["api", "tether"], "iss": "https://id.example"});
    let t = sign(Algorithm::HS256, None, &key, &good);
    assert_eq!(config.verify(&t, NOW).unwrap().unwrap().sub, "s");
    for (claims, err) in [
        (
            json!({"aud": "api", "iss": "https://id.example"}),
            AuthError::BadAudience,
        ),
        (json!({"iss": "https://id.example"}), AuthError::BadAudience),
        (
            json!({"aud": "tether", "iss": "https://evil.example"}),
            AuthError::BadIssuer,
        ),
        (json!({"aud": "tether"}), AuthError::BadIssuer),
    ] {
        let t = sign(Algorithm::HS256, None, &key, &claims);
        assert_eq!(config.verify(&t, NOW), Err(err), "{claims}");
    }
    // Without the flags, aud / iss are not checked.
    let t = sign(
        Algorithm::HS256,
        None,
        &key,
        &json!({"aud": "x", "iss": "y"}),
    );
    assert!(AuthConfig::hs256(b"k").verify(&t, NOW).is_ok());
}

#[test]
fn static_tokens_have_their_claims_and_their_expiry() {
    let mut static_tokens = HashMap::new();
    static_tokens.insert("t0k".to_string(), claims());
    let config = AuthConfig::Tokens(TokenAuth {
        static_tokens,
        ..TokenAuth::default()
    });
    let got = config.verify("t0k", NOW).unwrap().unwrap();
    assert!(got.may_write("tasks") && got.may_read("tasks"));
    assert!(got.may_read("chat:room1") && !got.may_write("chat:room1"));
    assert!(!got.may_read("tasks2") && !got.may_read("chat"));
    assert_eq!(config.verify("nope", NOW), Err(AuthError::Malformed));
    assert_eq!(
        config.verify("t0k", 1_700_000_600_000),
        Err(AuthError::Expired { exp: 1_700_000_600 })
    );
    assert_eq!(AuthConfig::Dev.verify("anything", 0), Ok(None));
}
