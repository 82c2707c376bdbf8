//! The shell's errors and their JavaScript form: an `Error` with a stable `code` property.

use std::fmt;

use tether_core::{Conflict, EngineError, Rejection, RequestError};
use wasm_bindgen::JsValue;

use super::convert::write_document;
use super::json::Writer;
use super::page;

/// Why a call of the browser client failed. Crosses into JavaScript as an `Error` whose `code`
/// is [`ShellError::code`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ShellError {
    /// The options object (or an argument) does not have the documented shape.
    InvalidArgument {
        /// What is wrong.
        reason: String,
    },
    /// The engine refused the call (bad channel or id, not subscribed, queue full, closed...).
    Engine(EngineError),
    /// The server refused the mutation because the document changed underneath it.
    Conflict(Box<Conflict>),
    /// The server refused the mutation for another reason.
    Rejected(Rejection),
    /// A request failed.
    Request(RequestError),
}

impl ShellError {
    /// The stable code JavaScript sees (`error.code`).
    pub fn code(&self) -> &'static str {
        // The engine's errors carry their codes (tether-core); the shell adds only its own.
        match self {
            ShellError::InvalidArgument { .. } => "INVALID_ARGUMENT",
            ShellError::Engine(e) => e.code(),
            ShellError::Conflict(_) => "CONFLICT",
            ShellError::Rejected(r) => r.code(),
            ShellError::Request(r) => r.code(),
        }
    }

    /// The JavaScript `Error` for this failure, with `code` (and for a conflict `local`,
    /// `server` and `mutationId`; for a server request error `serverCode`): its fields are
    /// written as JSON text and set on the `Error` in one call.
    pub fn to_js(&self) -> JsValue {
        let mut w = Writer::new();
        w.begin_object();
        w.key("message").str(&self.message());
        w.key("code").str(self.code());
        match self {
            ShellError::Conflict(conflict) => {
                w.key("mutationId").u64(conflict.mutation.mutation_id);
                w.key("local").opt_value(conflict.local.as_ref());
                w.key("base").opt_value(conflict.base.as_ref());
                w.key("server");
                match &conflict.server_current {
                    Some(document) => write_document(&mut w, document),
                    None => {
                        w.null();
                    }
                }
            }
            ShellError::Request(RequestError::Server { code, .. }) => {
                w.key("serverCode").str(code);
            }
            _ => {}
        }
        w.end_object();
        page::error(&w.into_text())
    }
}

impl ShellError {
    /// The message of the JavaScript `Error` (built without `core::fmt`; the engine's errors
    /// bring their own text).
    pub fn message(&self) -> String {
        match self {
            ShellError::InvalidArgument { reason } => ["invalid argument: ", reason].concat(),
            ShellError::Engine(e) => e.to_string(),
            ShellError::Conflict(c) => [
                "conflict: ",
                &c.mutation.id,
                " in ",
                &c.mutation.channel,
                " changed on the server",
            ]
            .concat(),
            ShellError::Rejected(r) => r.to_string(),
            ShellError::Request(e) => e.to_string(),
        }
    }
}

impl fmt::Display for ShellError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl From<ShellError> for JsValue {
    fn from(error: ShellError) -> JsValue {
        error.to_js()
    }
}
