//! API keys (`--api-key name:secret`) and the `Authorization: Bearer` check.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::{ApiError, Code};
use super::ApiState;
use crate::edge::EdgeError;
use crate::engine::valid_key_name;

/// Shortest accepted secret, in bytes.
pub(crate) const MIN_SECRET_LEN: usize = 16;

/// The configured API keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct ApiKeys {
    /// `(name, secret)`.
    keys: Vec<(String, Vec<u8>)>,
    /// `--dev` without keys: the API needs no key (requests are named `dev`).
    open: bool,
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
        Ok(ApiKeys { keys, open })
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
        state.keys.authorize(header).map(KeyName)
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
    fn bad_keys_are_refused_at_start() {
        assert!(keys(&["short"], false).is_err());
        assert!(keys(&["bad name:0123456789abcdef"], false).is_err());
        assert!(keys(&["a:0123456789abcdef", "a:0123456789abcdeX"], false).is_err());
        assert!(keys(&["0123456789abcdef", "0123456789abcdeX"], false).is_err());
    }
}
