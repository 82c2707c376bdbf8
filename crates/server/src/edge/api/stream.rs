//! The change feed as server-sent events (`Accept: text/event-stream`): each committed change
//! is an event `change` with id `<epoch>:<offset>` (a reconnecting `EventSource` resumes from
//! it by `Last-Event-ID`); a `reset` event (the error object of a 410) ends the stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::stream;

use super::answers::change;
use super::error::{ApiError, Code};
use super::{failure, ApiState, MAX_WAIT_SECS};
use crate::engine::{ApiAnswer, ApiRead};

/// Where a stream stands.
struct Cursor {
    state: ApiState,
    channel: String,
    epoch: Option<String>,
    since: u64,
    limit: usize,
    pending: VecDeque<Event>,
    done: bool,
}

/// The stream of changes after `since`.
pub(crate) fn events(
    state: ApiState,
    channel: String,
    epoch: Option<String>,
    since: u64,
    limit: usize,
) -> Response {
    let cursor = Cursor {
        state,
        channel,
        epoch,
        since,
        limit,
        pending: VecDeque::new(),
        done: false,
    };
    let events = stream::unfold(cursor, |mut c| async move {
        loop {
            if let Some(event) = c.pending.pop_front() {
                return Some((Ok::<Event, Infallible>(event), c));
            }
            if c.done {
                return None;
            }
            let read = ApiRead::Events {
                channel: c.channel.clone(),
                epoch: c.epoch.clone(),
                since: c.since,
                limit: c.limit,
                wait: true,
            };
            let wait = Some(Duration::from_secs(MAX_WAIT_SECS));
            match c.state.read(read, wait).await {
                Ok(ApiAnswer::Events { epoch, events, .. }) => {
                    for e in &events {
                        let event = Event::default()
                            .event("change")
                            .id(format!("{epoch}:{}", e.offset))
                            .data(change(e).to_text());
                        c.pending.push_back(event);
                    }
                    if let Some(last) = events.last() {
                        c.since = last.offset;
                    }
                    c.epoch = Some(epoch);
                }
                Ok(other) => {
                    let error = failure(&other).unwrap_or_else(|| {
                        ApiError::new(Code::Unavailable, "unexpected answer from the engine")
                    });
                    c.pending.push_back(end_event(&error));
                    c.done = true;
                }
                Err(error) => {
                    c.pending.push_back(end_event(&error));
                    c.done = true;
                }
            }
        }
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The last event of a stream: `reset` for a 410, else `error`.
fn end_event(error: &ApiError) -> Event {
    let name = if error.code == Code::Reset {
        "reset"
    } else {
        "error"
    };
    Event::default().event(name).data(error.to_json().to_text())
}
