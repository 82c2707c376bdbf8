//! Engine answers turned into HTTP responses (JSON bodies, API.md).

use axum::http::StatusCode;
use axum::response::Response;
use tether_protocol::{Document, EventKind, Json, Object, Origin, RejectReason, ServerMessage};

use super::error::{json_response, ApiError, Code};
use crate::engine::ApiAnswer;
use crate::store::LogEntry;

/// A JSON object from fields.
pub(crate) fn object(fields: Vec<(&str, Json)>) -> Json {
    Json::Object(Object::from_entries(
        fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    ))
}

/// `{"id", "version", "doc"}`.
pub(crate) fn document(d: &Document) -> Json {
    object(vec![
        ("id", Json::from(d.id.as_str())),
        ("version", Json::from(d.version)),
        ("doc", d.doc.clone()),
    ])
}

fn origin(o: &Origin) -> Json {
    object(vec![
        ("client_id", Json::from(o.client_id.as_str())),
        ("mutation_id", Json::from(o.mutation_id)),
    ])
}

/// One change of the feed: `{"offset", "id", "version", "op", "kind", "doc"?, "origin"?}`.
/// The feed is unfiltered, so `kind` is `created`, `updated` or `deleted` (API.md §5).
pub(crate) fn change(e: &LogEntry) -> Json {
    let mut fields = vec![
        ("offset", Json::from(e.offset)),
        ("id", Json::from(e.id.as_str())),
        ("version", Json::from(e.version)),
    ];
    let kind = match (&e.prev_body, &e.body) {
        (None, Some(_)) => EventKind::Created,
        (Some(_), Some(_)) => EventKind::Updated,
        (_, None) => EventKind::Deleted,
    };
    match &e.body {
        Some(body) => {
            fields.push(("op", Json::from("upsert")));
            fields.push(("doc", body.clone()));
        }
        None => fields.push(("op", Json::from("remove"))),
    }
    fields.push(("kind", Json::from(kind.as_str())));
    if let Some(o) = &e.origin {
        fields.push(("origin", origin(o)));
    }
    object(fields)
}

/// A failure answer of any request as an error (`None` for a success answer).
pub(crate) fn failure(answer: &ApiAnswer) -> Option<ApiError> {
    match answer {
        ApiAnswer::Invalid(message) => Some(ApiError::new(Code::Invalid, message.clone())),
        ApiAnswer::Unavailable(message) => Some(ApiError::new(Code::Unavailable, message.clone())),
        ApiAnswer::Reset { epoch, offset } => Some(
            ApiError::new(
                Code::Reset,
                "the feed cannot continue from this offset: read the documents again, then \
                 follow from this epoch and offset",
            )
            .with("epoch", Json::from(epoch.as_str()))
            .with("offset", Json::from(*offset)),
        ),
        _ => None,
    }
}

/// A write's answer: `(status, body)`; the body is the success object or `{"error": …}`.
pub(crate) fn mutation(
    answer: &ApiAnswer,
    id: &str,
    origin_of: &dyn Fn(u64) -> Origin,
) -> (StatusCode, Json) {
    let error = match answer {
        ApiAnswer::Mutation(ServerMessage::Ack {
            mutation_id,
            version,
            offset,
        }) => {
            let body = object(vec![
                ("id", Json::from(id)),
                ("version", Json::from(*version)),
                ("offset", Json::from(*offset)),
                ("origin", origin(&origin_of(*mutation_id))),
            ]);
            return (StatusCode::OK, body);
        }
        ApiAnswer::Mutation(ServerMessage::Reject {
            reason,
            current,
            message,
            ..
        }) => {
            let (code, name) = match reason {
                RejectReason::Conflict => (Code::Conflict, "conflict"),
                RejectReason::Forbidden => (Code::Forbidden, "forbidden"),
                RejectReason::NotFound => (Code::NotFound, "not_found"),
                RejectReason::Invalid | RejectReason::Unknown => (Code::Invalid, "invalid"),
            };
            let mut error = ApiError::new(code, message.clone())
                .with("reason", Json::from(name))
                .with("id", Json::from(id));
            if *reason == RejectReason::Conflict {
                error = error.with("current", current.as_ref().map_or(Json::Null, document));
            }
            error
        }
        other => failure(other).unwrap_or_else(|| {
            ApiError::new(Code::Unavailable, "unexpected answer from the engine")
        }),
    };
    let status = error.code.status();
    (status, object(vec![("error", error.to_json())]))
}

/// A single answer as a response.
pub(crate) fn respond(status: StatusCode, body: &Json) -> Response {
    json_response(status, body)
}
