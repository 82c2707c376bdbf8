//! HTTP routes: `/ws` (Origin and token checked before the upgrade), `/healthz`, `/metrics`,
//! the backend API under `/api/v1` (see `api/`), and optionally static files.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::cluster_link::{LinkStatus, DEGRADED_POLL};
use super::engine_task::Input;
use super::socket::{run_socket, SocketEnv};
use crate::engine::{AuthConfig, ConnectInfo};

/// WebSocket read chunk and write batching size, in bytes: small, because every idle
/// connection holds them (1 KiB: 8.0 KiB RSS per idle subscribed connection, 4 KiB: 11.0).
const IO_BUFFER: usize = 1024;

/// Shared state of the routes.
#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) env: SocketEnv,
    pub(crate) auth: Arc<AuthConfig>,
    pub(crate) origins: Arc<OriginRule>,
    pub(crate) max_message_bytes: usize,
    pub(crate) health: Arc<Health>,
}

/// How long a `/healthz` probe result is reused: a flood of health checks costs the engine at
/// most one probe (one small durable write) per interval.
const PROBE_REUSE: Duration = Duration::from_millis(500);
/// How long `/healthz` waits for the engine to answer the probe.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// The last store probe of `/healthz`, and the cluster's fan-out link.
#[derive(Default)]
pub(crate) struct Health {
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
    link: Option<Arc<LinkStatus>>,
}

impl Health {
    /// Health over the fan-out link `link` (cluster mode with Redis), if any.
    pub(crate) fn new(link: Option<Arc<LinkStatus>>) -> Health {
        Health {
            last: tokio::sync::Mutex::default(),
            link,
        }
    }

    /// `Some(reason)` while the fan-out link is down (the node serves, degraded).
    fn degraded(&self) -> Option<String> {
        let link = self.link.as_ref()?;
        if link.is_up() {
            return None;
        }
        Some(format!(
            "degraded: redis unavailable; other nodes' commits are read from the database \
             every {} ms",
            DEGRADED_POLL.as_millis()
        ))
    }

    /// Whether the store takes writes (reusing a probe younger than [`PROBE_REUSE`]); the
    /// reason if not.
    async fn check(&self, inputs: &tokio::sync::mpsc::Sender<Input>) -> Result<(), String> {
        let mut last = self.last.lock().await;
        if let Some((at, result)) = last.as_ref() {
            if at.elapsed() < PROBE_REUSE {
                return result.clone();
            }
        }
        let (reply, answer) = tokio::sync::oneshot::channel();
        let result = match inputs.try_send(Input::Probe { reply }) {
            Err(_) => Err("the engine is busy or stopped".to_owned()),
            Ok(()) => match tokio::time::timeout(PROBE_WAIT, answer).await {
                Ok(Ok(Ok(()))) => Ok(()),
                Ok(Ok(Err(err))) => Err(format!("the database is not writable: {err}")),
                Ok(Err(_)) => Err("the engine stopped".to_owned()),
                Err(_) => Err("the engine did not answer the probe in time".to_owned()),
            },
        };
        *last = Some((Instant::now(), result.clone()));
        result
    }
}

/// Which `Origin` headers a WebSocket upgrade may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum OriginRule {
    /// Any Origin, or none (`--dev` without `--allowed-origin`).
    Any,
    /// No Origin (a non-browser client), or one whose host and port are the request's `Host`
    /// (the default outside `--dev`).
    SameOrigin,
    /// Exactly these origins (`*`: any); an upgrade without Origin is refused.
    List(Vec<String>),
}

impl OriginRule {
    /// The rule the flags select.
    pub(crate) fn new(dev: bool, allowed: &[String]) -> OriginRule {
        match (allowed.is_empty(), dev) {
            (false, _) => OriginRule::List(allowed.to_vec()),
            (true, true) => OriginRule::Any,
            (true, false) => OriginRule::SameOrigin,
        }
    }

    fn allows(&self, origin: Option<&str>, host: Option<&str>) -> bool {
        match self {
            OriginRule::Any => true,
            OriginRule::SameOrigin => origin.is_none_or(|o| same_origin(o, host)),
            OriginRule::List(allowed) => {
                origin.is_some_and(|o| allowed.iter().any(|a| a == "*" || a == o))
            }
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`) names the host and port of the `Host` header,
/// case-insensitively, a scheme's default port (80, 443) written or not.
fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let (Some((scheme, authority)), Some(host)) = (origin.split_once("://"), host) else {
        return false;
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => ":80",
        "https" => ":443",
        _ => return false,
    };
    let bare = |a: &str| {
        a.strip_suffix(default_port)
            .unwrap_or(a)
            .to_ascii_lowercase()
    };
    !authority.is_empty() && bare(authority) == bare(host)
}

async fn ws(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let origin = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if !state.origins.allows(origin.as_deref(), host) {
        state
            .env
            .metrics
            .refused_upgrades
            .fetch_add(1, Ordering::Relaxed);
        tracing::info!(?origin, "refused upgrade: origin not allowed");
        return (StatusCode::FORBIDDEN, "origin not allowed\n").into_response();
    }
    let mut claims = None;
    if let Some(token) = query.get("token") {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        match state.auth.verify(token, unix_ms) {
            Ok(c) => claims = c,
            Err(err) => {
                state
                    .env
                    .metrics
                    .refused_upgrades
                    .fetch_add(1, Ordering::Relaxed);
                tracing::info!(%err, "refused upgrade: bad token");
                return (StatusCode::UNAUTHORIZED, format!("{err}\n")).into_response();
            }
        }
    }
    let info = ConnectInfo { origin, claims };
    let env = state.env.clone();
    upgrade
        // Small initial buffers (they grow for larger frames): idle connections stay cheap.
        .read_buffer_size(IO_BUFFER)
        .write_buffer_size(IO_BUFFER)
        .max_message_size(state.max_message_bytes)
        .max_frame_size(state.max_message_bytes)
        // Several messages per frame for clients that ask for it.
        .protocols([tether_protocol::LINES_SUBPROTOCOL])
        .on_upgrade(move |socket| run_socket(socket, info, env))
}

/// 200 `ok` when the store takes writes, else 503 with the reason (one line of text). In
/// cluster mode with the Redis link down: 200 `degraded: …` (the node serves every client
/// correctly, other nodes' commits reach them by polling, CLUSTER.md).
async fn healthz(State(state): State<AppState>) -> Response {
    match state.health.check(&state.env.inputs).await {
        Ok(()) => match state.health.degraded() {
            None => (StatusCode::OK, "ok\n").into_response(),
            Some(reason) => (StatusCode::OK, format!("{reason}\n")).into_response(),
        },
        Err(reason) => {
            tracing::warn!(%reason, "healthz: unhealthy");
            (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response()
        }
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.env.metrics.render(),
    )
        .into_response()
}

/// The router.
pub(crate) fn router(
    state: AppState,
    api: super::api::ApiState,
    static_dir: Option<&std::path::Path>,
) -> Router {
    let router = Router::new()
        .nest("/api/v1", super::api::router(api))
        .route("/ws", get(ws))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics));
    let router = match static_dir {
        Some(dir) => router.fallback_service(tower_http::services::ServeDir::new(dir)),
        None => router,
    };
    router.with_state(state)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_compares_host_and_port() {
        let rule = OriginRule::SameOrigin;
        let host = Some("board.example:8080");
        assert!(rule.allows(None, host));
        assert!(rule.allows(Some("http://board.example:8080"), host));
        assert!(rule.allows(Some("https://BOARD.example:8080"), host));
        assert!(!rule.allows(Some("http://board.example:8081"), host));
        assert!(!rule.allows(Some("http://evil.example:8080"), host));
        assert!(!rule.allows(Some("null"), host));
        assert!(!rule.allows(Some("http://board.example:8080"), None));
        assert!(rule.allows(Some("https://board.example"), Some("board.example")));
        assert!(rule.allows(Some("https://board.example"), Some("board.example:443")));
        assert!(rule.allows(Some("http://board.example:80"), Some("board.example")));
        assert!(!rule.allows(Some("https://board.example"), Some("board.example:80")));
    }

    #[test]
    fn the_flags_select_the_rule() {
        assert_eq!(OriginRule::new(true, &[]), OriginRule::Any);
        assert_eq!(OriginRule::new(false, &[]), OriginRule::SameOrigin);
        let list = vec!["https://a.example".to_owned()];
        assert_eq!(OriginRule::new(true, &list), OriginRule::List(list.clone()));
        let rule = OriginRule::new(false, &list);
        assert!(rule.allows(Some("https://a.example"), None));
        assert!(!rule.allows(None, Some("a.example")));
        assert!(OriginRule::new(false, &["*".to_owned()]).allows(Some("http://x"), None));
    }
}
