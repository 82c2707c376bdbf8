//! Read routes: a document, documents by filter and cursor, the head, the change feed.

use std::time::Duration;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use tether_protocol::{Filter, Json};

use super::answers::{change, document, object, respond};
use super::error::{ApiError, Code};
use super::keys::KeyName;
use super::{limit, number, params, path, unexpected, ApiState, Params, MAX_WAIT_SECS};
use crate::engine::{ApiAnswer, ApiRead};

pub(super) async fn head(
    State(state): State<ApiState>,
    _key: KeyName,
    channel: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let channel = path(channel)?;
    let answer = state
        .read(
            ApiRead::Head {
                channel: channel.clone(),
            },
            None,
        )
        .await?;
    match answer {
        ApiAnswer::Head { epoch, offset } => {
            let body = object(vec![
                ("channel", Json::from(channel.as_str())),
                ("epoch", Json::from(epoch.as_str())),
                ("offset", Json::from(offset)),
            ]);
            Ok(respond(StatusCode::OK, &body))
        }
        other => Err(unexpected(&other)),
    }
}

pub(super) async fn get_document(
    State(state): State<ApiState>,
    _key: KeyName,
    ids: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (channel, id) = path(ids)?;
    match state.read(ApiRead::Document { channel, id }, None).await? {
        ApiAnswer::Document(Some(d)) => Ok(respond(StatusCode::OK, &document(&d))),
        ApiAnswer::Document(None) => Err(ApiError::new(Code::NotFound, "no such document")),
        other => Err(unexpected(&other)),
    }
}

pub(super) async fn list(
    State(state): State<ApiState>,
    _key: KeyName,
    channel: Result<Path<String>, PathRejection>,
    query: Params,
) -> Result<Response, ApiError> {
    let channel = path(channel)?;
    let q = params(query)?;
    let filter = match q.get("filter") {
        None => None,
        Some(text) => {
            let value = Json::parse(text).map_err(|e| {
                ApiError::new(Code::InvalidFilter, format!("filter is not JSON: {e}"))
            })?;
            Some(
                Filter::parse(&value)
                    .map_err(|e| ApiError::new(Code::InvalidFilter, e.to_string()))?,
            )
        }
    };
    let read = ApiRead::Query {
        channel,
        filter,
        after: q.get("after").cloned(),
        limit: limit(&q)?,
    };
    match state.read(read, None).await? {
        ApiAnswer::Page { docs, next } => {
            let body = object(vec![
                (
                    "documents",
                    Json::Array(docs.iter().map(document).collect()),
                ),
                ("next", next.map_or(Json::Null, Json::from)),
            ]);
            Ok(respond(StatusCode::OK, &body))
        }
        other => Err(unexpected(&other)),
    }
}

pub(super) async fn events(
    State(state): State<ApiState>,
    _key: KeyName,
    channel: Result<Path<String>, PathRejection>,
    query: Params,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let channel = path(channel)?;
    let q = params(query)?;
    let wants_stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/event-stream"));
    if wants_stream {
        let (epoch, since) = match last_event_id(&headers) {
            Some((epoch, offset)) => (Some(epoch), offset),
            None => (q.get("epoch").cloned(), number(&q, "since")?.unwrap_or(0)),
        };
        return Ok(super::stream::events(
            state,
            channel,
            epoch,
            since,
            limit(&q)?,
        ));
    }
    let since = number(&q, "since")?.unwrap_or(0);
    let wait = number(&q, "wait")?.unwrap_or(0);
    if wait > MAX_WAIT_SECS {
        return Err(ApiError::new(
            Code::BadRequest,
            format!("wait must be 0-{MAX_WAIT_SECS} seconds"),
        ));
    }
    let read = ApiRead::Events {
        channel,
        epoch: q.get("epoch").cloned(),
        since,
        limit: limit(&q)?,
        wait: wait > 0,
    };
    let wait = (wait > 0).then(|| Duration::from_secs(wait));
    match state.read(read, wait).await? {
        ApiAnswer::Events {
            epoch,
            events,
            head,
        } => {
            let next = events.last().map_or(since, |e| e.offset);
            let body = object(vec![
                ("epoch", Json::from(epoch.as_str())),
                ("events", Json::Array(events.iter().map(change).collect())),
                ("next", Json::from(next)),
                ("head", Json::from(head)),
            ]);
            Ok(respond(StatusCode::OK, &body))
        }
        other => Err(unexpected(&other)),
    }
}

/// `Last-Event-ID: <epoch>:<offset>` of a reconnecting event stream.
fn last_event_id(headers: &HeaderMap) -> Option<(String, u64)> {
    let value = headers.get("last-event-id")?.to_str().ok()?;
    let (epoch, offset) = value.rsplit_once(':')?;
    Some((epoch.to_owned(), offset.parse().ok()?))
}
