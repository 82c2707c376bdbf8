//! Tokens and per-channel authorisation.
//!
//! A client token is a JWT (RFC 7519) signed HS256 with a shared secret, or RS256 / ES256 with
//! a key pair whose public half the server holds ([`VerifyKey`], see [`super::jwt`]). Its claims
//! ([`Claims`]) are the standard `sub`, `exp`, `nbf`, `iat` (and `aud` / `iss`, checked when the
//! server is configured to) plus Tether's `channels`, with read and write kept apart:
//!
//! ```json
//! {"sub": "sarah", "exp": 1795000000,
//!  "channels": {"read": ["tasks", "chat:*"], "write": ["tasks"]}}
//! ```
//!
//! A channel pattern is an exact name, or a prefix followed by `*`; `"*"` is every channel. A
//! `write` pattern also grants reading (a writer is shown the current document of a conflict).
//!
//! Time is the caller's: the signature and the claims' shape are checked by `jsonwebtoken`,
//! with its own clock checks off; `exp`, `nbf` and `iat` are checked here against the unix time
//! passed in, with [`TokenAuth::leeway_secs`] of slack. Tokens may also be listed verbatim in a
//! tokens file ([`TokenAuth::static_tokens`]).

use std::collections::HashMap;

use serde::{Deserialize, Deserializer, Serialize};

pub use super::jwt::{mint_hs256, KeyError, VerifyKey};

/// Default slack on `exp`, `nbf` and `iat`, seconds (clock skew between issuer and server).
pub const DEFAULT_LEEWAY_SECS: u64 = 5;

/// The channels a token grants, by access.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelGrants {
    /// Patterns of channels the holder may subscribe to (and set presence on).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    /// Patterns of channels the holder may also write to (`mutate`, `broadcast`); writing
    /// implies reading.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub write: Vec<String>,
}

/// The `aud` claim: one audience or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// `"aud": "tether"`.
    One(String),
    /// `"aud": ["tether", "api"]`.
    Many(Vec<String>),
}

/// What a token grants (the JWT claims Tether reads; others are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Subject (user id): client ids are bound to it; absent = the empty subject.
    #[serde(default)]
    pub sub: String,
    /// Channels the holder may read and write.
    #[serde(default)]
    pub channels: ChannelGrants,
    /// Expiry, unix seconds; absent = never. A fraction is dropped.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub exp: Option<u64>,
    /// Not valid before, unix seconds.
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub nbf: Option<u64>,
    /// Issued at, unix seconds (a token issued in the future is refused).
    #[serde(
        default,
        deserialize_with = "numeric_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub iat: Option<u64>,
    /// Issuer (checked by the JWT verifier when [`TokenAuth::issuers`] is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Audience (checked by the JWT verifier when [`TokenAuth::audiences`] is set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
}

/// A JWT NumericDate: a non-negative number of seconds, possibly with a fraction (dropped).
fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let Some(secs) = Option::<f64>::deserialize(d)? else {
        return Ok(None);
    };
    if !(secs.is_finite() && (0.0..9.0e15).contains(&secs)) {
        return Err(serde::de::Error::custom(
            "a date must be non-negative seconds",
        ));
    }
    // In range and finite: the cast only drops the fraction.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    Ok(Some(secs as u64))
}

fn matches_any(patterns: &[String], channel: &str) -> bool {
    patterns
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => channel.starts_with(prefix),
            None => pattern == channel,
        })
}

impl Claims {
    /// Claims for `sub` granting nothing yet.
    pub fn new(sub: &str) -> Claims {
        Claims {
            sub: sub.to_owned(),
            ..Claims::default()
        }
    }

    /// Adds read patterns.
    #[must_use]
    pub fn read(mut self, patterns: &[&str]) -> Claims {
        self.channels
            .read
            .extend(patterns.iter().map(|p| (*p).to_owned()));
        self
    }

    /// Adds write (and so read) patterns.
    #[must_use]
    pub fn write(mut self, patterns: &[&str]) -> Claims {
        self.channels
            .write
            .extend(patterns.iter().map(|p| (*p).to_owned()));
        self
    }

    /// Sets `exp` (unix seconds).
    #[must_use]
    pub fn expires(mut self, exp: u64) -> Claims {
        self.exp = Some(exp);
        self
    }

    /// Whether these claims allow reading the channel (subscribe, presence).
    pub fn may_read(&self, channel: &str) -> bool {
        matches_any(&self.channels.read, channel) || self.may_write(channel)
    }

    /// Whether these claims allow writing the channel (mutate, broadcast).
    pub fn may_write(&self, channel: &str) -> bool {
        matches_any(&self.channels.write, channel)
    }

    /// Checks `exp`, `nbf` and `iat` at `unix_ms`, with `leeway_secs` of slack.
    pub fn check_time(&self, unix_ms: u64, leeway_secs: u64) -> Result<(), AuthError> {
        let leeway_ms = leeway_secs.saturating_mul(1_000);
        if let Some(exp) = self.exp {
            if unix_ms >= exp.saturating_mul(1_000).saturating_add(leeway_ms) {
                return Err(AuthError::Expired { exp });
            }
        }
        if let Some(nbf) = self.nbf {
            if unix_ms.saturating_add(leeway_ms) < nbf.saturating_mul(1_000) {
                return Err(AuthError::NotYetValid { nbf });
            }
        }
        if let Some(iat) = self.iat {
            if unix_ms.saturating_add(leeway_ms) < iat.saturating_mul(1_000) {
                return Err(AuthError::IssuedInTheFuture { iat });
            }
        }
        Ok(())
    }
}

/// How tokens are verified when auth is on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TokenAuth {
    /// Keys JWTs are verified with (HS256 secrets, RS256 / ES256 public keys); empty = JWTs
    /// are refused (only static tokens work).
    pub keys: Vec<VerifyKey>,
    /// Opaque tokens accepted verbatim, with their claims (their `exp` / `nbf` are checked).
    pub static_tokens: HashMap<String, Claims>,
    /// Accepted `aud` values; when non-empty a JWT must carry one of them. Empty: `aud` is
    /// not checked.
    pub audiences: Vec<String>,
    /// Accepted `iss` values; when non-empty a JWT must carry one of them.
    pub issuers: Vec<String>,
    /// Slack on `exp`, `nbf` and `iat`, seconds: a token is refused (and its connection
    /// closed) from `exp + leeway_secs`.
    pub leeway_secs: u64,
}

impl TokenAuth {
    /// HS256 JWTs signed with `secret`, default leeway, nothing else.
    pub fn hs256(secret: &[u8]) -> TokenAuth {
        TokenAuth {
            keys: vec![VerifyKey::hs256(secret)],
            leeway_secs: DEFAULT_LEEWAY_SECS,
            ..TokenAuth::default()
        }
    }
}

/// How connections authenticate.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum AuthConfig {
    /// No authentication: every client may use every channel (development only).
    #[default]
    Dev,
    /// Tokens are required.
    Tokens(TokenAuth),
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// Not a JWT (three base64url parts with a JSON header) nor a known static token.
    Malformed,
    /// The claims are not of the documented shape.
    BadClaims {
        /// What is wrong with them.
        message: String,
    },
    /// No configured key verifies tokens of this algorithm (and key id).
    NoKey {
        /// The header's `alg`.
        alg: String,
        /// The header's `kid`, if any.
        kid: Option<String>,
    },
    /// The signature does not match.
    BadSignature,
    /// `aud` is missing or not one of the accepted audiences.
    BadAudience,
    /// `iss` is missing or not one of the accepted issuers.
    BadIssuer,
    /// The token expired at `exp` (unix seconds; refused from `exp` plus the leeway).
    Expired {
        /// Expiry of the token.
        exp: u64,
    },
    /// The token is not valid before `nbf` (unix seconds).
    NotYetValid {
        /// The token's `nbf`.
        nbf: u64,
    },
    /// The token claims to be issued at `iat`, later than now plus the leeway.
    IssuedInTheFuture {
        /// The token's `iat`.
        iat: u64,
    },
    /// A token could not be signed (`mint_hs256`).
    Signing {
        /// Why.
        message: String,
    },
}

impl std::fmt::Display for AuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthError::Malformed => f.write_str("token is not a JWT nor a known token"),
            AuthError::BadClaims { message } => write!(f, "token claims are invalid: {message}"),
            AuthError::NoKey { alg, kid: None } => write!(f, "no key verifies {alg} tokens"),
            AuthError::NoKey {
                alg,
                kid: Some(kid),
            } => write!(f, "no key verifies {alg} tokens with kid {kid}"),
            AuthError::BadSignature => f.write_str("token signature is invalid"),
            AuthError::BadAudience => f.write_str("token audience (aud) is not accepted"),
            AuthError::BadIssuer => f.write_str("token issuer (iss) is not accepted"),
            AuthError::Expired { exp } => write!(f, "token expired at {exp}"),
            AuthError::NotYetValid { nbf } => write!(f, "token is not valid before {nbf}"),
            AuthError::IssuedInTheFuture { iat } => {
                write!(f, "token is issued in the future ({iat})")
            }
            AuthError::Signing { message } => write!(f, "cannot sign the token: {message}"),
        }
    }
}

impl std::error::Error for AuthError {}

impl AuthConfig {
    /// Auth on with HS256 JWTs signed with `secret` (default leeway).
    pub fn hs256(secret: &[u8]) -> AuthConfig {
        AuthConfig::Tokens(TokenAuth::hs256(secret))
    }

    /// Whether authentication is off.
    pub fn is_dev(&self) -> bool {
        matches!(self, AuthConfig::Dev)
    }

    /// Checks a token at wall-clock time `unix_ms`. In dev mode every token is accepted and
    /// yields `None` (no restrictions).
    pub fn verify(&self, token: &str, unix_ms: u64) -> Result<Option<Claims>, AuthError> {
        let AuthConfig::Tokens(auth) = self else {
            return Ok(None);
        };
        let claims = match auth.static_tokens.get(token) {
            Some(claims) => claims.clone(),
            None => super::jwt::verify(auth, token)?,
        };
        claims.check_time(unix_ms, auth.leeway_secs)?;
        Ok(Some(claims))
    }

    /// Checks claims verified earlier (before the upgrade) again at `unix_ms`.
    pub fn recheck(&self, claims: &Claims, unix_ms: u64) -> Result<(), AuthError> {
        match self {
            AuthConfig::Dev => Ok(()),
            AuthConfig::Tokens(auth) => claims.check_time(unix_ms, auth.leeway_secs),
        }
    }

    /// Unix ms from which `claims` are no longer valid (`exp` plus the leeway); `None` for no
    /// expiry or in dev mode. A connection is closed with 4001 then.
    pub fn expires_at_ms(&self, claims: &Claims) -> Option<u64> {
        let AuthConfig::Tokens(auth) = self else {
            return None;
        };
        claims
            .exp
            .map(|exp| exp.saturating_add(auth.leeway_secs).saturating_mul(1_000))
    }
}
