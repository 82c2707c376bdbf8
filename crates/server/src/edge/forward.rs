//! The HTTP client of requests forwarded to the app's backend: each [`ForwardCall`] the engine
//! outputs becomes one POST on the server's runtime; its outcome goes back to the engine task
//! as an input. Plain `http://` only (the app's backend on the private network).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tether_protocol::Json;
use tokio::sync::mpsc;

use super::engine_task::Input;
use super::EdgeError;
use crate::engine::{ForwardCall, ForwardOutcome};

/// Checks a forward URL at start: an absolute `http://` URL with a host.
pub(crate) fn check_url(url: &str) -> Result<(), EdgeError> {
    let bad = |why: &str| EdgeError::Config {
        message: format!("forward URL {url:?} {why}"),
    };
    let uri: Uri = url.parse().map_err(|_| bad("is not a valid URL"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(bad(
                "uses https, which the reference server's client does not speak: point it at \
                 the backend's plain-HTTP address on the private network (or a local TLS proxy)",
            ))
        }
        _ => return Err(bad("must start with http://")),
    }
    if uri.host().is_none() {
        return Err(bad("has no host"));
    }
    Ok(())
}

/// Makes the engine's forwarded calls.
#[derive(Clone)]
pub(crate) struct Forwarder {
    client: Client<HttpConnector, Full<Bytes>>,
    /// Sent as `Authorization: Bearer <secret>` so the backend knows the caller.
    secret: Option<HeaderValue>,
    /// Largest answer body read (the WebSocket message limit).
    max_body: usize,
    runtime: tokio::runtime::Handle,
    /// Where outcomes go; weak, so that it does not keep the engine task's input open.
    results: mpsc::WeakSender<Input>,
}

impl Forwarder {
    /// A forwarder spawning its calls on `runtime`.
    pub(crate) fn new(
        secret: Option<&str>,
        max_body: usize,
        runtime: tokio::runtime::Handle,
        results: mpsc::WeakSender<Input>,
    ) -> Result<Forwarder, EdgeError> {
        let secret = match secret {
            None => None,
            Some(s) => Some(HeaderValue::from_str(&format!("Bearer {s}")).map_err(|_| {
                EdgeError::Config {
                    message: "--forward-secret must be printable ASCII".into(),
                }
            })?),
        };
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Forwarder {
            client,
            secret,
            max_body,
            runtime,
            results,
        })
    }

    /// Starts one call; its outcome arrives as [`Input::ForwardDone`].
    pub(crate) fn spawn(&self, mut call: ForwardCall) {
        let this = self.clone();
        self.runtime.spawn(async move {
            let timeout = Duration::from_millis(call.timeout_ms);
            let body = std::mem::take(&mut call.body);
            let outcome = match tokio::time::timeout(timeout, this.post(&call.url, body)).await {
                Ok(outcome) => outcome,
                Err(_) => ForwardOutcome::Timeout,
            };
            if let Some(results) = this.results.upgrade() {
                let _ = results
                    .send(Input::ForwardDone {
                        id: call.id,
                        outcome,
                    })
                    .await;
            }
        });
    }

    async fn post(&self, url: &str, body: String) -> ForwardOutcome {
        let mut request = Request::post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(
                "user-agent",
                concat!("tether-server/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(secret) = &self.secret {
            request = request.header(AUTHORIZATION, secret.clone());
        }
        let request = match request.body(Full::new(Bytes::from(body))) {
            Ok(r) => r,
            Err(err) => return ForwardOutcome::Unavailable(err.to_string()),
        };
        let response = match self.client.request(request).await {
            Ok(r) => r,
            Err(err) => return ForwardOutcome::Unavailable(describe(&err)),
        };
        let status = response.status();
        let bytes = match Limited::new(response.into_body(), self.max_body)
            .collect()
            .await
        {
            Ok(body) => body.to_bytes(),
            Err(err) => {
                return if err.is::<http_body_util::LengthLimitError>() {
                    ForwardOutcome::BadResponse(format!("the body exceeds {} bytes", self.max_body))
                } else {
                    ForwardOutcome::Unavailable(format!("the answer broke off: {err}"))
                };
            }
        };
        let body = parse_body(&bytes);
        if status.is_success() {
            match body {
                Ok(json) => ForwardOutcome::Answer(json),
                Err(why) => ForwardOutcome::BadResponse(why),
            }
        } else {
            ForwardOutcome::Status {
                status: status.as_u16(),
                body: body.ok(),
            }
        }
    }
}

/// An answer's body as JSON: empty is `null`.
fn parse_body(bytes: &[u8]) -> Result<Json, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Json::Null);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "the body is not UTF-8".to_owned())?;
    Json::parse(text).map_err(|err| format!("the body is not JSON: {err}"))
}

/// A client error with its cause chain (hyper's top-level message alone says little).
fn describe(err: &hyper_util::client::legacy::Error) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
