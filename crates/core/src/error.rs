//! Errors of the client engine: [`EngineError`] for app calls, [`ConnectionError`] for why the
//! connection failed (`Status::last_error`), [`Rejection`] for mutations the server refused,
//! [`RequestError`] for requests. Each has its stable `code()`.

use tether_protocol::{DecodeError, DocumentError, ErrorCode, RejectReason};

/// An app call could not be accepted (the `Err` of the engine's methods).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EngineError {
    /// The channel name is not valid (1-128 characters of `[A-Za-z0-9_.:-]`).
    InvalidChannel {
        /// The name given.
        channel: String,
    },
    /// The document id is empty or too long.
    InvalidDocId {
        /// The id given.
        id: String,
    },
    /// The mutation's body is missing or not a JSON object.
    InvalidBody {
        /// What is wrong.
        reason: DocumentError,
    },
    /// `broadcast` or `set_presence` on a channel no view is subscribed to.
    NotSubscribed {
        /// The channel.
        channel: String,
    },
    /// The view id is not (or no longer) known.
    UnknownView {
        /// The view id.
        view: u64,
    },
    /// A broadcast or request was made while offline and the offline queue is full.
    OfflineQueueFull {
        /// The configured bound.
        limit: usize,
    },
    /// The engine was closed (by the app, or after a fatal error); call `connect` first.
    Closed,
}

/// Why the connection failed or is not up: `Status::last_error`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The socket closed with this code.
    ConnectionClosed {
        /// WebSocket close code (1006 when the socket failed without a close frame).
        code: u16,
    },
    /// The socket did not open, or `welcome` did not arrive, within the handshake timeout.
    HandshakeTimeout,
    /// Nothing arrived within the dead-link timeout (half-open connection).
    DeadLink,
    /// A `subscribe` was not answered within the handshake timeout (e.g. dropped by a rate
    /// limiter without saying which frame); the connection was replaced.
    SubscribeTimeout,
    /// Mutations sent on the connection got no answer (`ack` or `reject`) within the
    /// handshake timeout; the connection was replaced and they were sent again.
    AckTimeout,
    /// The server refused the token (close 4001); a new one is needed.
    AuthFailed,
    /// The server does not speak this protocol version (close 4002); the engine stopped.
    UnsupportedVersion,
    /// The client id is bound to another authenticated subject (close 4003, e.g. another user
    /// signed in on this tab); the engine stopped: create a client with an id of its own.
    ClientIdTaken,
    /// `max_attempts` reconnect attempts failed; the engine stopped.
    GaveUp {
        /// Attempts made.
        attempts: u32,
    },
    /// The token provider failed; retried with backoff.
    TokenUnavailable,
    /// A frame from the server could not be decoded (it was ignored).
    Decode(DecodeError),
    /// The server answered with an `error` frame.
    Server {
        /// Its code.
        code: ErrorCode,
        /// Its message.
        message: String,
    },
}

impl EngineError {
    /// The stable code apps see (`error.code` in JavaScript).
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::InvalidChannel { .. }
            | EngineError::InvalidDocId { .. }
            | EngineError::InvalidBody { .. }
            | EngineError::UnknownView { .. } => "INVALID",
            EngineError::NotSubscribed { .. } => "NOT_SUBSCRIBED",
            EngineError::OfflineQueueFull { .. } => "QUEUE_FULL",
            EngineError::Closed => "CLOSED",
        }
    }
}

impl ConnectionError {
    /// The stable code apps see (`lastError.code` in JavaScript); the codes of the server's
    /// `error` frames pass through as they are.
    pub fn code(&self) -> &'static str {
        match self {
            ConnectionError::ConnectionClosed { .. } => "CONNECTION_CLOSED",
            ConnectionError::HandshakeTimeout => "HANDSHAKE_TIMEOUT",
            ConnectionError::DeadLink => "DEAD_LINK",
            ConnectionError::SubscribeTimeout => "SUBSCRIBE_TIMEOUT",
            ConnectionError::AckTimeout => "ACK_TIMEOUT",
            ConnectionError::AuthFailed => "AUTH_INVALID",
            ConnectionError::UnsupportedVersion => "UNSUPPORTED_VERSION",
            ConnectionError::ClientIdTaken => "CLIENT_ID_TAKEN",
            ConnectionError::GaveUp { .. } => "GAVE_UP",
            ConnectionError::TokenUnavailable => "TOKEN_UNAVAILABLE",
            ConnectionError::Decode(_) => "BAD_MESSAGE",
            ConnectionError::Server { code, .. } => code.as_str(),
        }
    }
}

impl std::fmt::Display for EngineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineError::InvalidChannel { channel } => write!(f, "invalid channel \"{channel}\""),
            EngineError::InvalidDocId { id } => write!(f, "invalid document id \"{id}\""),
            EngineError::InvalidBody { reason } => write!(f, "invalid body: {reason}"),
            EngineError::NotSubscribed { channel } => write!(f, "not subscribed to \"{channel}\""),
            EngineError::UnknownView { view } => write!(f, "unknown view {view}"),
            EngineError::OfflineQueueFull { limit } => {
                write!(f, "offline queue is full ({limit} messages)")
            }
            EngineError::Closed => f.write_str("the client is closed"),
        }
    }
}

impl std::fmt::Display for ConnectionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectionError::ConnectionClosed { code } => write!(f, "connection closed ({code})"),
            ConnectionError::HandshakeTimeout => f.write_str("handshake timed out"),
            ConnectionError::DeadLink => f.write_str("no data within the dead-link timeout"),
            ConnectionError::SubscribeTimeout => {
                f.write_str("a subscribe was not answered in time")
            }
            ConnectionError::AckTimeout => f.write_str("a write was not answered in time"),
            ConnectionError::AuthFailed => f.write_str("authentication failed"),
            ConnectionError::UnsupportedVersion => f.write_str("unsupported protocol version"),
            ConnectionError::ClientIdTaken => {
                f.write_str("the client id belongs to another user; create a client of its own")
            }
            ConnectionError::GaveUp { attempts } => {
                write!(f, "gave up reconnecting after {attempts} attempts")
            }
            ConnectionError::TokenUnavailable => f.write_str("token provider failed"),
            ConnectionError::Decode(e) => write!(f, "bad frame from server: {e}"),
            ConnectionError::Server { code, message } => {
                write!(f, "server error {code}: {message}")
            }
        }
    }
}

impl std::error::Error for ConnectionError {}

impl std::error::Error for EngineError {}

/// Why the server refused a mutation (other than a conflict, which is a `Conflict`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Rejection {
    /// The token does not allow writing the channel.
    Forbidden {
        /// The server's explanation.
        message: String,
    },
    /// The mutation was malformed, or its id was already used.
    Invalid {
        /// The server's explanation.
        message: String,
    },
    /// `patch` or `delete` of a document that does not exist.
    NotFound {
        /// The server's explanation.
        message: String,
    },
    /// The shell could not store the mutation durably, so it was withdrawn before it was
    /// sent (see `Engine::storage_failed`).
    Storage {
        /// What the storage reported.
        message: String,
    },
    /// A reason this version does not know.
    Other {
        /// The server's explanation.
        message: String,
    },
}

impl Rejection {
    pub(crate) fn from_wire(reason: RejectReason, message: String) -> Rejection {
        match reason {
            RejectReason::Forbidden => Rejection::Forbidden { message },
            RejectReason::Invalid => Rejection::Invalid { message },
            RejectReason::NotFound => Rejection::NotFound { message },
            _ => Rejection::Other { message },
        }
    }
}

impl Rejection {
    /// The stable code apps see (`error.code`, `rejections[].code` in JavaScript).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Forbidden { .. } => "FORBIDDEN",
            Rejection::Invalid { .. } => "INVALID",
            Rejection::NotFound { .. } => "NOT_FOUND",
            Rejection::Storage { .. } => "STORAGE",
            Rejection::Other { .. } => "REJECTED",
        }
    }

    /// The explanation (the server's, or the storage's).
    pub fn message(&self) -> &str {
        match self {
            Rejection::Forbidden { message }
            | Rejection::Invalid { message }
            | Rejection::NotFound { message }
            | Rejection::Storage { message }
            | Rejection::Other { message } => message,
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Forbidden { message } => write!(f, "forbidden: {message}"),
            Rejection::Invalid { message } => write!(f, "invalid: {message}"),
            Rejection::NotFound { message } => write!(f, "not found: {message}"),
            Rejection::Storage { message } => write!(f, "not stored: {message}"),
            Rejection::Other { message } => write!(f, "rejected: {message}"),
        }
    }
}

impl std::error::Error for Rejection {}

/// Why a `request` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// No response within the request timeout.
    Timeout,
    /// The connection dropped after the request was sent; it may or may not have run.
    ConnectionLost,
    /// The engine was closed.
    Closed,
    /// The server answered with an error.
    Server {
        /// Stable code (`UNKNOWN_METHOD`, `RATE_LIMITED`, ...).
        code: String,
        /// Explanation.
        message: String,
    },
}

impl RequestError {
    /// The stable code apps see (`error.code` in JavaScript; the server's own code of a
    /// `Server` error is `serverCode` there).
    pub fn code(&self) -> &'static str {
        match self {
            RequestError::Timeout => "TIMEOUT",
            RequestError::ConnectionLost => "CONNECTION_LOST",
            RequestError::Closed => "CLOSED",
            RequestError::Server { .. } => "SERVER",
        }
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RequestError::Timeout => f.write_str("request timed out"),
            RequestError::ConnectionLost => f.write_str("connection lost before the response"),
            RequestError::Closed => f.write_str("the client is closed"),
            RequestError::Server { code, message } => write!(f, "{code}: {message}"),
        }
    }
}

impl std::error::Error for RequestError {}
