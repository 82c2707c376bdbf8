//! Stable error codes (in `error` frames) and WebSocket close codes.

#[cfg(feature = "serde")]
use serde::{Deserialize, Serialize};

/// The `code` of an `error` frame. Wire strings are stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
#[non_exhaustive]
pub enum ErrorCode {
    /// The server requires a token and `hello` carried none.
    AuthRequired,
    /// The token is malformed, badly signed or expired; get a new one.
    AuthInvalid,
    /// The token's claims do not allow this channel.
    Forbidden,
    /// The `subscribe` filter is not valid; the message says why.
    InvalidFilter,
    /// The `subscribe` ids are not valid (PROTOCOL.md §3); the message says why.
    InvalidIds,
    /// Too many messages; the frame was dropped, retry after `retry_after_ms`.
    RateLimited,
    /// A frame exceeded the size limit (the connection is closed with 1009).
    TooLarge,
    /// A frame is not valid JSON or not a valid message; nothing else is affected.
    BadMessage,
    /// `hello.protocol` is not supported by this server.
    UnsupportedVersion,
    /// `broadcast` or `presence` on a channel this connection is not subscribed to.
    NotSubscribed,
    /// `subscribe` would exceed the per-connection subscription limit.
    TooManySubscriptions,
    /// A frame other than `hello` arrived before the handshake completed.
    HandshakeRequired,
    /// The server failed (e.g. storage); the frame may be retried.
    Internal,
    /// `hello.client_id` is bound to another authenticated subject (the connection is closed
    /// with 4003); the client must use a client id of its own.
    ClientIdTaken,
    /// A code this version of the protocol crate does not know.
    #[cfg_attr(feature = "serde", serde(other))]
    Unknown,
}

impl ErrorCode {
    /// The wire string, e.g. `"RATE_LIMITED"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::AuthRequired => "AUTH_REQUIRED",
            ErrorCode::AuthInvalid => "AUTH_INVALID",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::InvalidFilter => "INVALID_FILTER",
            ErrorCode::InvalidIds => "INVALID_IDS",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::TooLarge => "TOO_LARGE",
            ErrorCode::BadMessage => "BAD_MESSAGE",
            ErrorCode::UnsupportedVersion => "UNSUPPORTED_VERSION",
            ErrorCode::NotSubscribed => "NOT_SUBSCRIBED",
            ErrorCode::TooManySubscriptions => "TOO_MANY_SUBSCRIPTIONS",
            ErrorCode::HandshakeRequired => "HANDSHAKE_REQUIRED",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::ClientIdTaken => "CLIENT_ID_TAKEN",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }
}

impl ErrorCode {
    /// The code of a wire string; [`ErrorCode::Unknown`] for one this crate does not know.
    pub fn from_wire(text: &str) -> ErrorCode {
        [
            ErrorCode::AuthRequired,
            ErrorCode::AuthInvalid,
            ErrorCode::Forbidden,
            ErrorCode::InvalidFilter,
            ErrorCode::InvalidIds,
            ErrorCode::RateLimited,
            ErrorCode::TooLarge,
            ErrorCode::BadMessage,
            ErrorCode::UnsupportedVersion,
            ErrorCode::NotSubscribed,
            ErrorCode::TooManySubscriptions,
            ErrorCode::HandshakeRequired,
            ErrorCode::Internal,
            ErrorCode::ClientIdTaken,
        ]
        .into_iter()
        .find(|code| code.as_str() == text)
        .unwrap_or(ErrorCode::Unknown)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// WebSocket close codes the server uses, and what a client should do on each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseCode {
    /// 1000: normal closure requested by either side.
    Normal,
    /// 1001: the server is shutting down or restarting; reconnect at once.
    GoingAway,
    /// 1008: policy violation (e.g. handshake not completed in time).
    PolicyViolation,
    /// 1009: a frame exceeded `max_message_bytes`.
    TooLarge,
    /// 1011: the server failed.
    Internal,
    /// 4001: the token is missing, invalid or expired; ask the token provider again.
    AuthFailed,
    /// 4002: unsupported protocol version; do not retry with the same client.
    UnsupportedVersion,
    /// 4003: the client id is bound to another authenticated subject; reconnect only with a
    /// client id of this subject's own.
    ClientIdTaken,
    /// 4008: closed for flooding; reconnect with backoff.
    RateLimited,
    /// 4009: the client read too slowly and its outbound queue overflowed.
    SlowConsumer,
    /// 4010: nothing was received within the heartbeat timeout.
    HeartbeatTimeout,
    /// Any other code.
    Other(u16),
}

impl CloseCode {
    /// The numeric code.
    pub fn as_u16(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::PolicyViolation => 1008,
            CloseCode::TooLarge => 1009,
            CloseCode::Internal => 1011,
            CloseCode::AuthFailed => 4001,
            CloseCode::UnsupportedVersion => 4002,
            CloseCode::ClientIdTaken => 4003,
            CloseCode::RateLimited => 4008,
            CloseCode::SlowConsumer => 4009,
            CloseCode::HeartbeatTimeout => 4010,
            CloseCode::Other(code) => code,
        }
    }

    /// The code for a number.
    pub fn from_u16(code: u16) -> CloseCode {
        match code {
            1000 => CloseCode::Normal,
            1001 => CloseCode::GoingAway,
            1008 => CloseCode::PolicyViolation,
            1009 => CloseCode::TooLarge,
            1011 => CloseCode::Internal,
            4001 => CloseCode::AuthFailed,
            4002 => CloseCode::UnsupportedVersion,
            4003 => CloseCode::ClientIdTaken,
            4008 => CloseCode::RateLimited,
            4009 => CloseCode::SlowConsumer,
            4010 => CloseCode::HeartbeatTimeout,
            other => CloseCode::Other(other),
        }
    }

    /// The short reason text sent with the close frame.
    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::Normal => "normal",
            CloseCode::GoingAway => "server going away",
            CloseCode::PolicyViolation => "policy violation",
            CloseCode::TooLarge => "message too large",
            CloseCode::Internal => "internal error",
            CloseCode::AuthFailed => "authentication failed",
            CloseCode::UnsupportedVersion => "unsupported protocol version",
            CloseCode::ClientIdTaken => "client id belongs to another subject",
            CloseCode::RateLimited => "rate limited",
            CloseCode::SlowConsumer => "slow consumer",
            CloseCode::HeartbeatTimeout => "heartbeat timeout",
            CloseCode::Other(_) => "closed",
        }
    }

    /// Whether the client should refresh its token before reconnecting.
    pub fn needs_new_token(self) -> bool {
        self == CloseCode::AuthFailed
    }

    /// Whether reconnecting with the same configuration can succeed.
    pub fn is_retryable(self) -> bool {
        self != CloseCode::UnsupportedVersion
    }
}
