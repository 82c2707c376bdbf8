//! The API's typed errors: a stable code, an HTTP status, and a JSON body
//! `{"error": {"code": "...", "message": "...", ...}}` (API.md, "Errors").

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use tether_protocol::{Json, Object};

/// Stable error codes of the API (API.md lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub(crate) enum Code {
    /// 404: no API key is configured, the API is off.
    ApiDisabled,
    /// 401: no `Authorization: Bearer` header.
    ApiKeyRequired,
    /// 403: the key is not one of the configured keys.
    ApiKeyInvalid,
    /// 400: malformed request (JSON body, query parameter, header, path).
    BadRequest,
    /// 400: a filter that is not valid.
    InvalidFilter,
    /// 400: the mutation is not valid (rejected `invalid`).
    Invalid,
    /// 409: `base_version` does not match (rejected `conflict`, with the current document).
    Conflict,
    /// 404: the document (or route) does not exist.
    NotFound,
    /// 403: rejected `forbidden`.
    Forbidden,
    /// 405: the route does not take this method.
    MethodNotAllowed,
    /// 410: the change feed cannot continue from that offset (carries the head).
    Reset,
    /// 413: the body is over the size limit.
    TooLarge,
    /// 429: the API key's request rate is exceeded; retry after `retry_after_ms`.
    RateLimited,
    /// 503: storage failed or the server is stopping; nothing was applied, retry.
    Unavailable,
}

impl Code {
    /// Every code, in the order API.md lists them.
    pub(crate) const ALL: [Code; 14] = [
        Code::BadRequest,
        Code::Invalid,
        Code::InvalidFilter,
        Code::ApiKeyRequired,
        Code::ApiKeyInvalid,
        Code::Forbidden,
        Code::ApiDisabled,
        Code::NotFound,
        Code::MethodNotAllowed,
        Code::Conflict,
        Code::Reset,
        Code::TooLarge,
        Code::RateLimited,
        Code::Unavailable,
    ];

    /// The code's place in [`Code::ALL`] (a new code fails to compile here until listed).
    #[cfg(test)]
    fn index(self) -> usize {
        match self {
            Code::BadRequest => 0,
            Code::Invalid => 1,
            Code::InvalidFilter => 2,
            Code::ApiKeyRequired => 3,
            Code::ApiKeyInvalid => 4,
            Code::Forbidden => 5,
            Code::ApiDisabled => 6,
            Code::NotFound => 7,
            Code::MethodNotAllowed => 8,
            Code::Conflict => 9,
            Code::Reset => 10,
            Code::TooLarge => 11,
            Code::RateLimited => 12,
            Code::Unavailable => 13,
        }
    }

    /// The code as sent.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Code::ApiDisabled => "API_DISABLED",
            Code::ApiKeyRequired => "API_KEY_REQUIRED",
            Code::ApiKeyInvalid => "API_KEY_INVALID",
            Code::BadRequest => "BAD_REQUEST",
            Code::InvalidFilter => "INVALID_FILTER",
            Code::Invalid => "INVALID",
            Code::Conflict => "CONFLICT",
            Code::NotFound => "NOT_FOUND",
            Code::Forbidden => "FORBIDDEN",
            Code::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            Code::Reset => "RESET",
            Code::TooLarge => "TOO_LARGE",
            Code::RateLimited => "RATE_LIMITED",
            Code::Unavailable => "UNAVAILABLE",
        }
    }

    /// The HTTP status it is sent with.
    pub(crate) fn status(self) -> StatusCode {
        match self {
            Code::ApiDisabled | Code::NotFound => StatusCode::NOT_FOUND,
            Code::ApiKeyRequired => StatusCode::UNAUTHORIZED,
            Code::ApiKeyInvalid | Code::Forbidden => StatusCode::FORBIDDEN,
            Code::BadRequest | Code::InvalidFilter | Code::Invalid => StatusCode::BAD_REQUEST,
            Code::Conflict => StatusCode::CONFLICT,
            Code::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Code::Reset => StatusCode::GONE,
            Code::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Code::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// An error answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    /// Its code.
    pub(crate) code: Code,
    /// Human-readable detail.
    pub(crate) message: String,
    /// More fields of the error object (`reason`, `current`, `epoch`, `offset`).
    pub(crate) extra: Vec<(String, Json)>,
}

impl ApiError {
    /// An error with a code and a message.
    pub(crate) fn new(code: Code, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
            extra: Vec::new(),
        }
    }

    /// Adds a field to the error object.
    pub(crate) fn with(mut self, key: &str, value: Json) -> ApiError {
        self.extra.push((key.to_owned(), value));
        self
    }

    /// The `{"code", "message", ...}` object.
    pub(crate) fn to_json(&self) -> Json {
        let mut error = Object::new();
        error.insert("code", Json::String(self.code.as_str().to_owned()));
        error.insert("message", Json::String(self.message.clone()));
        for (key, value) in &self.extra {
            error.insert(key.clone(), value.clone());
        }
        Json::Object(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = Object::new();
        body.insert("error", self.to_json());
        let mut response = json_response(self.code.status(), &Json::Object(body));
        let retry_ms = self
            .extra
            .iter()
            .find(|(k, _)| k == "retry_after_ms")
            .and_then(|(_, v)| v.as_u64());
        if let Some(ms) = retry_ms {
            // Whole seconds, rounded up, as HTTP's Retry-After wants.
            let secs = ms.div_ceil(1_000).max(1);
            if let Ok(value) = header::HeaderValue::from_str(&secs.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Json) -> Response {
    let mut text = body.to_text();
    text.push('\n');
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

#[cfg(test)]
mod tests {
    use super::Code;

    #[test]
    fn all_lists_every_code_once() {
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(code.index(), i, "{code:?}");
        }
    }
}
