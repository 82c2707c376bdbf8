//! Tokens and per-channel authorisation.
//!
//! A token is `base64url(claims_json) + "." + base64url(hmac_sha256(secret, first_part))`
//! (no padding), with claims `{"sub": "...", "channels": ["tasks", "chat:*"], "exp": 1700000000}`.
//! A channel pattern is an exact name, or a prefix followed by `*`; `"*"` allows every channel.
//! Tokens may also be listed verbatim in a tokens file ([`AuthConfig::Tokens`]).

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// What a token grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject (user id), for logs and request handlers.
    #[serde(default)]
    pub sub: String,
    /// Channel patterns the holder may read and write.
    #[serde(default)]
    pub channels: Vec<String>,
    /// Expiry, unix seconds; absent = never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
}

impl Claims {
    /// Whether these claims allow the channel.
    pub fn allows(&self, channel: &str) -> bool {
        self.channels
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => channel.starts_with(prefix),
                None => pattern == channel,
            })
    }
}

/// How connections authenticate.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AuthConfig {
    /// No authentication: every client may use every channel (development only).
    #[default]
    Dev,
    /// Tokens are required.
    Tokens {
        /// Secret for HMAC-SHA256 signed tokens.
        hmac_secret: Option<Vec<u8>>,
        /// Opaque tokens accepted verbatim, with their claims.
        static_tokens: HashMap<String, Claims>,
    },
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// Not of the form `claims.mac`, not base64url, or claims not JSON.
    Malformed,
    /// The signature does not match.
    BadSignature,
    /// The token expired at `exp` (unix seconds).
    Expired {
        /// Expiry of the token.
        exp: u64,
    },
    /// Not a known token and no HMAC secret is configured.
    Unknown,
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthError::Malformed => f.write_str("token is malformed"),
            AuthError::BadSignature => f.write_str("token signature is invalid"),
            AuthError::Expired { exp } => write!(f, "token expired at {exp}"),
            AuthError::Unknown => f.write_str("token is not known"),
        }
    }
}

impl std::error::Error for AuthError {}

impl AuthConfig {
    /// Whether authentication is off.
    pub fn is_dev(&self) -> bool {
        matches!(self, AuthConfig::Dev)
    }

    /// Checks a token at wall-clock time `unix_secs`. In dev mode every token is accepted and
    /// yields `None` (no restrictions).
    pub fn verify(&self, token: &str, unix_secs: u64) -> Result<Option<Claims>, AuthError> {
        let AuthConfig::Tokens {
            hmac_secret,
            static_tokens,
        } = self
        else {
            return Ok(None);
        };
        let claims = if let Some(claims) = static_tokens.get(token) {
            claims.clone()
        } else if let Some(secret) = hmac_secret {
            verify_signed(secret, token)?
        } else {
            return Err(AuthError::Unknown);
        };
        match claims.exp {
            Some(exp) if exp <= unix_secs => Err(AuthError::Expired { exp }),
            _ => Ok(Some(claims)),
        }
    }
}

fn verify_signed(secret: &[u8], token: &str) -> Result<Claims, AuthError> {
    let (payload, mac) = token.split_once('.').ok_or(AuthError::Malformed)?;
    let mac = URL_SAFE_NO_PAD
        .decode(mac)
        .map_err(|_| AuthError::Malformed)?;
    let mut hmac = HmacSha256::new_from_slice(secret).map_err(|_| AuthError::BadSignature)?;
    hmac.update(payload.as_bytes());
    hmac.verify_slice(&mac)
        .map_err(|_| AuthError::BadSignature)?;
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AuthError::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| AuthError::Malformed)
}

/// Signs claims into a token accepted by [`AuthConfig::Tokens`] with the same secret.
pub fn sign_token(secret: &[u8], claims: &Claims) -> String {
    let json = serde_json::to_vec(claims).unwrap_or_default();
    let payload = URL_SAFE_NO_PAD.encode(json);
    // HMAC accepts keys of any length, so this cannot fail; an empty MAC would never verify.
    let mac = match HmacSha256::new_from_slice(secret) {
        Ok(mut hmac) => {
            hmac.update(payload.as_bytes());
            hmac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    };
    format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hmac_config(secret: &[u8]) -> AuthConfig {
        AuthConfig::Tokens {
            hmac_secret: Some(secret.to_vec()),
            static_tokens: HashMap::new(),
        }
    }

    fn claims(exp: Option<u64>) -> Claims {
        Claims {
            sub: "sarah".into(),
            channels: vec!["tasks".into(), "chat:*".into()],
            exp,
        }
    }

    #[test]
    fn signed_token_round_trips_and_expires() {
        let config = hmac_config(b"secret");
        let token = sign_token(b"secret", &claims(Some(100)));
        assert_eq!(config.verify(&token, 99), Ok(Some(claims(Some(100)))));
        assert_eq!(
            config.verify(&token, 100),
            Err(AuthError::Expired { exp: 100 })
        );
    }

    #[test]
    fn wrong_secret_and_garbage_are_refused() {
        let token = sign_token(b"other", &claims(None));
        assert_eq!(
            hmac_config(b"secret").verify(&token, 0),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            hmac_config(b"secret").verify("no-dot", 0),
            Err(AuthError::Malformed)
        );
        assert_eq!(
            hmac_config(b"secret").verify("a.!!", 0),
            Err(AuthError::Malformed)
        );
        // A tampered payload with the original MAC.
        let (_, mac) = token.split_once('.').unwrap();
        let forged = format!(
            "{}.{mac}",
            URL_SAFE_NO_PAD.encode(b"{\"channels\":[\"*\"]}")
        );
        assert_eq!(
            hmac_config(b"other").verify(&forged, 0),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn static_tokens_and_patterns() {
        let mut static_tokens = HashMap::new();
        static_tokens.insert("t0k".to_string(), claims(None));
        let config = AuthConfig::Tokens {
            hmac_secret: None,
            static_tokens,
        };
        let got = config.verify("t0k", 0).unwrap().unwrap();
        assert!(got.allows("tasks"));
        assert!(got.allows("chat:room1"));
        assert!(!got.allows("tasks2"));
        assert!(!got.allows("chat"));
        assert_eq!(config.verify("nope", 0), Err(AuthError::Unknown));
        assert_eq!(AuthConfig::Dev.verify("anything", 0), Ok(None));
    }
}
