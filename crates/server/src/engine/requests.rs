//! `request` / `response`: built-in methods (`time`, `echo`), handlers registered by the
//! embedding code, and methods forwarded to the app's backend (`forward.rs`).

use tether_protocol::ResponseError;
use tether_protocol::{Json, Object};

use super::{ConnId, ServerEngine};
use crate::store::Store;

/// What a request handler knows about the caller.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The caller's client id.
    pub client_id: &'a str,
    /// The token subject (`None` in dev mode).
    pub sub: Option<&'a str>,
    /// Monotonic time, milliseconds.
    pub now: u64,
    /// Wall-clock unix time, milliseconds.
    pub unix_ms: u64,
}

/// A registered request handler.
pub(crate) type Handler =
    Box<dyn FnMut(&RequestContext<'_>, Json) -> Result<Json, ResponseError> + Send>;

/// Registers `time` (`{"unix_ms": ...}`) and `echo` (returns its body).
pub(crate) fn register_builtins<S: Store>(engine: &mut ServerEngine<S>) {
    engine.register_handler("time", |ctx, _body| {
        let mut body = Object::new();
        body.insert("unix_ms", Json::from(ctx.unix_ms));
        Ok(Json::Object(body))
    });
    engine.register_handler("echo", |_ctx, body| Ok(body));
}

impl<S: Store> ServerEngine<S> {
    pub(super) fn handle_request(
        &mut self,
        now: u64,
        conn: ConnId,
        id: u64,
        method: String,
        body: Json,
    ) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let client_id = c.client_id.clone().unwrap_or_default();
        let sub = c.claims.as_ref().map(|cl| cl.sub.clone());
        let ctx = RequestContext {
            client_id: &client_id,
            sub: sub.as_deref(),
            now,
            unix_ms: self.unix_ms,
        };
        // 1. a route for exactly this method, 2. a handler (embedding code or built-in),
        // 3. the fallback URL (see `ForwardConfig`).
        if let Some(url) = self.forward_route(&method) {
            self.forward_request(now, conn, id, url, &method, body);
            return;
        }
        let result = match self.handlers.get_mut(&method) {
            Some(handler) => handler(&ctx, body),
            None => match self.config.forward.fallback.clone() {
                Some(url) => {
                    self.forward_request(now, conn, id, url, &method, body);
                    return;
                }
                None => Err(ResponseError {
                    code: "UNKNOWN_METHOD".into(),
                    message: format!("no method named {method:?}"),
                }),
            },
        };
        self.send_response(conn, id, result);
    }
}
