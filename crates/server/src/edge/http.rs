//! HTTP routes: `/ws` (Origin and token checked before the upgrade), `/healthz`, `/metrics`,
//! and optionally static files.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

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

async fn healthz() -> &'static str {
    "ok\n"
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
