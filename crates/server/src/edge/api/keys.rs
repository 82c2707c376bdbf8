//! API keys (`--api-key name:secret`) and the `Authorization: Bearer` check.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::{ApiError, Code};
use super::ApiState;
use crate::edge::EdgeError;
use crate::engine::{valid_key_name, TokenBucket};

/// Shortest accepted secret, in bytes.
pub(crate) const MIN_SECRET_LEN: usize = 16;

/// The configured API keys.
#[derive(Debug, Default)]
pub(crate) struct ApiKeys {
    /// `(name, secret)`.
    keys: Vec<(String, Vec<u8>)>,
    /// `--dev` without keys: the API needs no key (requests are named `dev`).
    open: bool,
    /// Requests per second and burst per key (`--api-rate-per-sec`, `--api-rate-burst`).
    rate: Option<(u32, u32)>,
    /// One token bucket per key name, on milliseconds since `origin`.
    buckets: Mutex<HashMap<String, TokenBucket>>,
    origin: Option<Instant>,
}

impl ApiKeys {
    /// Parses `--api-key` values (`name:secret`, or `secret` named `default`).
    pub(crate) fn parse(values: &[String], dev: bool) -> Result<ApiKeys, EdgeError> {
        let config = |message: String| EdgeError::Config { message };
        let mut keys: Vec<(String, Vec<u8>)> = Vec::new();
        for value in values.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
            let (name, secret) = match value.split_once(':') {
                Some((name, secret)) => (name, secret),
                None => ("default", value),
            };
            if !valid_key_name(name) {
                return Err(config(format!(
                    "--api-key: the name {name:?} is not 1-32 bytes of [A-Za-z0-9_.-]"
                )));
            }
            if secret.len() < MIN_SECRET_LEN {
                return Err(config(format!(
                    "--api-key {name}: the secret must be at least {MIN_SECRET_LEN} bytes"
                )));
            }
            if keys.iter().any(|(n, _)| n == name) {
                return Err(config(format!("--api-key: the name {name} is given twice")));
            }
            if keys.iter().any(|(_, s)| s == secret.as_bytes()) {
                return Err(config(format!("--api-key {name}: a secret is given twice")));
            }
            keys.push((name.to_owned(), secret.as_bytes().to_vec()));
        }
        let open = dev && keys.is_empty();
        Ok(ApiKeys {
            keys,
            open,
            ..ApiKeys::default()
        })
    }

    /// Limits every key to `per_sec` requests per second with bursts of `burst` (0: no
    /// limit).
    pub(crate) fn with_rate(mut self, per_sec: u32, burst: u32) -> ApiKeys {
        self.rate = (per_sec > 0).then_some((per_sec, burst.max(1)));
        self.origin = Some(Instant::now());
        self
    }

    /// Takes one request of `name`'s rate, or says how long to wait.
    fn admit(&self, name: &str) -> Result<(), ApiError> {
        let (Some((per_sec, burst)), Some(origin)) = (self.rate, self.origin) else {
            return Ok(());
        };
        let now = u64::try_from(origin.elapsed().as_millis()).unwrap_or(u64::MAX);
        let Ok(mut buckets) = self.buckets.lock() else {
            return Ok(());
        };
        let bucket = buckets
            .entry(name.to_owned())
            .or_insert_with(|| TokenBucket::new(per_sec, burst, now));
        if bucket.try_take(now) {
            return Ok(());
        }
        let wait = bucket.wait_ms(now).max(1);
        Err(ApiError::new(
            Code::RateLimited,
            format!("API key {name} is over {per_sec} requests per second"),
        )
        .with("retry_after_ms", tether_protocol::Json::from(wait)))
    }

    /// Whether the API is served at all.
    pub(crate) fn enabled(&self) -> bool {
        self.open || !self.keys.is_empty()
    }

    /// The key name of an `Authorization` header value.
    fn authorize(&self, header: Option<&[u8]>) -> Result<String, ApiError> {
        if !self.enabled() {
            return Err(ApiError::new(
                Code::ApiDisabled,
                "the HTTP API is off: start the server with --api-key",
            ));
        }
        if self.open {
            return Ok("dev".to_owned());
        }
        let Some(value) = header else {
            return Err(ApiError::new(
                Code::ApiKeyRequired,
                "send the API key as Authorization: Bearer <key>",
            ));
        };
        let secret = value
            .strip_prefix(b"Bearer ")
            .or_else(|| value.strip_prefix(b"bearer "))
            .ok_or_else(|| {
                ApiError::new(
                    Code::ApiKeyRequired,
                    "the Authorization header must be Bearer <key>",
                )
            })?;
        let mut found = None;
        for (name, key) in &self.keys {
            // Every key is compared in full: the time does not tell which one matched.
            if constant_time_eq(key, secret) && found.is_none() {
                found = Some(name.clone());
            }
        }
        found.ok_or_else(|| ApiError::new(Code::ApiKeyInvalid, "unknown API key"))
    }
}

/// Equality whose time depends only on the lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The name of the API key a request was authorized with (extracting it checks the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyName(pub(crate) String);

impl FromRequestParts<ApiState> for KeyName {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &ApiState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        let name = state.keys.authorize(header)?;
        state.keys.admit(&name)?;
        Ok(KeyName(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(values: &[&str], dev: bool) -> Result<ApiKeys, EdgeError> {
        let values: Vec<String> = values.iter().map(|v| (*v).to_owned()).collect();
        ApiKeys::parse(&values, dev)
    }

    #[test]
    fn keys_are_named_and_checked() {
        let k = keys(&["jobs:0123456789abcdef", "fedcba9876543210"], false).expect("keys");
        assert_eq!(
            k.authorize(Some(b"Bearer 0123456789abcdef")),
            Ok("jobs".into())
        );
        assert_eq!(
            k.authorize(Some(b"Bearer fedcba9876543210")),
            Ok("default".into())
        );
        let code = |r: Result<String, ApiError>| r.map_err(|e| e.code);
        assert_eq!(code(k.authorize(None)), Err(Code::ApiKeyRequired));
        assert_eq!(
            code(k.authorize(Some(b"Basic abc"))),
            Err(Code::ApiKeyRequired)
        );
        assert_eq!(
            code(k.authorize(Some(b"Bearer nope"))),
            Err(Code::ApiKeyInvalid)
        );
    }

    #[test]
    fn without_keys_the_api_is_off_unless_dev() {
        let off = keys(&[], false).expect("none");
        assert_eq!(
            off.authorize(None).map_err(|e| e.code),
            Err(Code::ApiDisabled)
        );
        let dev = keys(&[], true).expect("dev");
        assert_eq!(dev.authorize(None), Ok("dev".into()));
        let dev_with_key = keys(&["a:0123456789abcdef"], true).expect("key");
        assert!(dev_with_key.authorize(None).is_err());
    }

    #[test]
    fn each_key_has_its_own_rate() {
        let k = keys(&["a:0123456789abcdef", "b:fedcba9876543210"], false)
            .expect("keys")
            .with_rate(1, 2);
        assert!(k.admit("a").is_ok());
        assert!(k.admit("a").is_ok());
        let err = k.admit("a").expect_err("third in a burst of 2");
        assert_eq!(err.code, Code::RateLimited);
        let wait = err
            .extra
            .iter()
            .find(|(key, _)| key == "retry_after_ms")
            .and_then(|(_, v)| v.as_u64())
            .expect("retry_after_ms");
        assert!((1..=1_000).contains(&wait), "{wait}");
        assert!(k.admit("b").is_ok(), "another key is not affected");
        let unlimited = keys(&["a:0123456789abcdef"], false)
            .expect("keys")
            .with_rate(0, 0);
        assert!((0..10_000).all(|_| unlimited.admit("a").is_ok()));
    }

    #[test]
    fn bad_keys_are_refused_at_start() {
        assert!(keys(&["short"], false).is_err());
        assert!(keys(&["bad name:0123456789abcdef"], false).is_err());
        assert!(keys(&["a:0123456789abcdef", "a:0123456789abcdeX"], false).is_err());
        assert!(keys(&["0123456789abcdef", "0123456789abcdeX"], false).is_err());
    }
}
