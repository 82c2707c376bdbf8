//! JWT keys, verification and HS256 minting, on the `jsonwebtoken` crate (RustCrypto backend).
//!
//! The library checks the signature, the algorithm against the key (an RS256 key never
//! verifies an HS256 token), `aud` and `iss`; its clock checks are off: `exp`, `nbf` and `iat`
//! are checked on the engine's injected time ([`super::auth::Claims::check_time`]).

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use super::auth::{AuthError, Claims, TokenAuth};

/// One key JWTs are verified with.
#[derive(Clone)]
pub struct VerifyKey {
    kid: Option<String>,
    alg: Algorithm,
    key: DecodingKey,
    /// The material the key was made from (for equality of configurations).
    material: Vec<u8>,
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl PartialEq for VerifyKey {
    fn eq(&self, other: &Self) -> bool {
        self.kid == other.kid && self.alg == other.alg && self.material == other.material
    }
}

/// Why a verification key could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// Not a PEM public key of RSA or EC P-256.
    Pem {
        /// What the PEM parser said.
        message: String,
    },
    /// Not a JWKS document (`{"keys": [...]}`).
    Jwks {
        /// What is wrong.
        message: String,
    },
    /// The JWKS holds no RS256 or ES256 signing key.
    NoUsableKey,
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Pem { message } => {
                write!(f, "not an RSA or EC P-256 public key in PEM: {message}")
            }
            KeyError::Jwks { message } => write!(f, "not a JWKS document: {message}"),
            KeyError::NoUsableKey => f.write_str("the JWKS holds no RS256 or ES256 signing key"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Selects the RustCrypto provider of `jsonwebtoken` for the process unless one is installed
/// (with two backends compiled in, the library would otherwise have none).
fn install_provider() {
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
}

impl VerifyKey {
    /// An HS256 shared secret (its bytes as given).
    pub fn hs256(secret: &[u8]) -> VerifyKey {
        install_provider();
        VerifyKey {
            kid: None,
            alg: Algorithm::HS256,
            key: DecodingKey::from_secret(secret),
            material: secret.to_vec(),
        }
    }

    /// A public key in PEM: RSA (`PUBLIC KEY` or `RSA PUBLIC KEY`) verifies RS256, EC P-256
    /// (`PUBLIC KEY`) verifies ES256. It verifies tokens with any `kid`.
    pub fn public_pem(pem: &[u8]) -> Result<VerifyKey, KeyError> {
        install_provider();
        // The library would also take a private key here (and then verify nothing).
        let text = String::from_utf8_lossy(pem);
        let label = text
            .split("-----BEGIN ")
            .nth(1)
            .and_then(|rest| rest.split_once("-----"))
            .map(|(label, _)| label);
        if !matches!(label, Some("PUBLIC KEY" | "RSA PUBLIC KEY")) {
            return Err(KeyError::Pem {
                message: format!(
                    "expected a BEGIN PUBLIC KEY block, found {}",
                    label.map_or("none".to_owned(), |l| format!("BEGIN {l}"))
                ),
            });
        }
        let (alg, key) = match DecodingKey::from_rsa_pem(pem) {
            Ok(key) => (Algorithm::RS256, key),
            Err(rsa_err) => match DecodingKey::from_ec_pem(pem) {
                // An uncompressed P-256 point: 0x04, x and y of 32 bytes each.
                Ok(key) if key.as_bytes().len() == 65 => (Algorithm::ES256, key),
                Ok(_) => {
                    return Err(KeyError::Pem {
                        message: "an EC key of another curve than P-256".into(),
                    })
                }
                Err(_) => {
                    return Err(KeyError::Pem {
                        message: rsa_err.to_string(),
                    })
                }
            },
        };
        Ok(VerifyKey {
            kid: None,
            alg,
            key,
            material: pem.to_vec(),
        })
    }

    /// The signing keys of a JWKS document: RSA keys verify RS256, EC P-256 keys ES256, each
    /// tokens whose header names its `kid`. Keys for encryption (`"use": "enc"`), of another
    /// `alg`, or of another type are skipped; none left is [`KeyError::NoUsableKey`].
    pub fn jwks(json: &str) -> Result<Vec<VerifyKey>, KeyError> {
        install_provider();
        let set: JwkSet = serde_json::from_str(json).map_err(|e| KeyError::Jwks {
            message: e.to_string(),
        })?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
                continue;
            }
            let alg = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => Algorithm::RS256,
                AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
                    Algorithm::ES256
                }
                _ => continue,
            };
            let wanted = match alg {
                Algorithm::RS256 => KeyAlgorithm::RS256,
                _ => KeyAlgorithm::ES256,
            };
            if jwk
                .common
                .key_algorithm
                .as_ref()
                .is_some_and(|a| *a != wanted)
            {
                continue;
            }
            let key = DecodingKey::from_jwk(jwk).map_err(|e| KeyError::Jwks {
                message: e.to_string(),
            })?;
            keys.push(VerifyKey {
                kid: jwk.common.key_id.clone(),
                alg,
                key,
                material: serde_json::to_vec(jwk).unwrap_or_default(),
            });
        }
        if keys.is_empty() {
            return Err(KeyError::NoUsableKey);
        }
        Ok(keys)
    }

    /// The key id this key answers to (`None`: any).
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm this key verifies (`HS256`, `RS256` or `ES256`).
    pub fn algorithm(&self) -> &'static str {
        match self.alg {
            Algorithm::HS256 => "HS256",
            Algorithm::RS256 => "RS256",
            _ => "ES256",
        }
    }
}

fn alg_name(alg: Algorithm) -> String {
    format!("{alg:?}")
}

/// The library's validation for `key`: signature, algorithm, `aud` / `iss` when configured;
/// no clock checks and no required claims.
fn validation(auth: &TokenAuth, key: &VerifyKey) -> Validation {
    let mut v = Validation::new(key.alg);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.leeway = 0;
    v.required_spec_claims.clear();
    if auth.audiences.is_empty() {
        v.validate_aud = false;
    } else {
        v.set_audience(&auth.audiences);
        v.required_spec_claims.insert("aud".into());
    }
    if !auth.issuers.is_empty() {
        v.set_issuer(&auth.issuers);
        v.required_spec_claims.insert("iss".into());
    }
    v
}

fn map_error(err: &jsonwebtoken::errors::Error) -> AuthError {
    match err.kind() {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::InvalidAudience => AuthError::BadAudience,
        ErrorKind::InvalidIssuer => AuthError::BadIssuer,
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => AuthError::BadAudience,
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => AuthError::BadIssuer,
        ErrorKind::Json(e) => AuthError::BadClaims {
            message: e.to_string(),
        },
        // Key material the backend cannot use for this token: it does not verify it.
        ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            AuthError::BadSignature
        }
        _ => AuthError::Malformed,
    }
}

/// Verifies a JWT's signature (and `aud` / `iss`) with the configured keys and reads its claims.
pub(super) fn verify(auth: &TokenAuth, token: &str) -> Result<Claims, AuthError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
    let no_key = || AuthError::NoKey {
        alg: alg_name(header.alg),
        kid: header.kid.clone(),
    };
    let same_alg = auth.keys.iter().filter(|k| k.alg == header.alg);
    // A token naming a key id is verified by the key with that id, else by keys without one.
    let named: Vec<&VerifyKey> = match &header.kid {
        Some(kid) => {
            let exact: Vec<&VerifyKey> = same_alg
                .clone()
                .filter(|k| k.kid.as_deref() == Some(kid))
                .collect();
            if exact.is_empty() {
                same_alg.filter(|k| k.kid.is_none()).collect()
            } else {
                exact
            }
        }
        None => same_alg.collect(),
    };
    let mut last = no_key();
    for key in named {
        match jsonwebtoken::decode::<Claims>(token, &key.key, &validation(auth, key)) {
            Ok(data) => return Ok(data.claims),
            Err(err) => {
                last = map_error(&err);
                // A wrong signature may verify with another key of the same algorithm.
                if last != AuthError::BadSignature {
                    return Err(last);
                }
            }
        }
    }
    Err(last)
}

/// Signs `claims` into an HS256 JWT accepted by a server with the same secret.
pub fn mint_hs256(secret: &[u8], claims: &Claims) -> Result<String, AuthError> {
    install_provider();
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| AuthError::Signing {
        message: e.to_string(),
    })
}
