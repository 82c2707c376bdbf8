//! HTTP routes: `/ws` (Origin and token checked before the upgrade), `/healthz`, `/metrics`,
//! and optionally static files.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

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
    pub(crate) allowed_origins: Arc<Vec<String>>,
    pub(crate) max_message_bytes: usize,
    pub(crate) health: Arc<Health>,
}

/// How long a `/healthz` probe result is reused: a flood of health checks costs the engine at
/// most one probe (one small durable write) per interval.
const PROBE_REUSE: Duration = Duration::from_millis(500);
/// How long `/healthz` waits for the engine to answer the probe.
const PROBE_WAIT: Duration = Duration::from_secs(2);

/// The last store probe of `/healthz`.
#[derive(Default)]
pub(crate) struct Health {
    last: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Health {
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

fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    if allowed.is_empty() {
        return true;
    }
    origin.is_some_and(|o| allowed.iter().any(|a| a == "*" || a == o))
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
    if !origin_allowed(&state.allowed_origins, origin.as_deref()) {
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
        let unix_secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        match state.auth.verify(token, unix_secs) {
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

/// 200 `ok` when the store takes writes, else 503 with the reason (one line of text).
async fn healthz(State(state): State<AppState>) -> Response {
    match state.health.check(&state.env.inputs).await {
        Ok(()) => (StatusCode::OK, "ok\n").into_response(),
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
pub(crate) fn router(state: AppState, static_dir: Option<&std::path::Path>) -> Router {
    let router = Router::new()
        .route("/ws", get(ws))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics));
    let router = match static_dir {
        Some(dir) => router.fallback_service(tower_http::services::ServeDir::new(dir)),
        None => router,
    };
    router.with_state(state)
}
