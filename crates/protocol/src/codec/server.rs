//! Server frames (`ServerMessage`): the hand-written decoder (the encoder: `server_write`).

use super::read::{as_array, as_string, Fields, Shape};
use crate::codes::ErrorCode;
use crate::document::Document;
use crate::json::Json;
use crate::messages::{
    Continuity, EventKind, EventOp, Limits, Origin, PresenceEvent, PresenceMember, RejectReason,
    ResponseError, ServerMessage,
};

fn document(v: &Json) -> Result<Document, Shape> {
    let f = Fields::of(v, "document")?;
    Ok(Document {
        id: f.string("id")?,
        version: f.u64("version")?,
        doc: f.json("doc")?,
    })
}

fn documents(f: &Fields<'_>, field: &str) -> Result<Vec<Document>, Shape> {
    f.array(field, document)
}

fn continuity(s: &str) -> Option<Continuity> {
    match s {
        "recovered" => Some(Continuity::Recovered),
        "reset" => Some(Continuity::Reset),
        _ => None,
    }
}

fn event_op(s: &str) -> Option<EventOp> {
    match s {
        "upsert" => Some(EventOp::Upsert),
        "remove" => Some(EventOp::Remove),
        _ => None,
    }
}

fn presence_event(s: &str) -> Option<PresenceEvent> {
    match s {
        "join" => Some(PresenceEvent::Join),
        "update" => Some(PresenceEvent::Update),
        "leave" => Some(PresenceEvent::Leave),
        _ => None,
    }
}

fn reject_reason(s: &str) -> Option<RejectReason> {
    Some(match s {
        "conflict" => RejectReason::Conflict,
        "forbidden" => RejectReason::Forbidden,
        "invalid" => RejectReason::Invalid,
        "not_found" => RejectReason::NotFound,
        _ => RejectReason::Unknown,
    })
}

/// A server message out of a parsed frame.
pub(crate) fn read(value: &Json) -> Result<ServerMessage, Shape> {
    let f = Fields::of(value, "message")?;
    let tag = f.string("type")?;
    Ok(match tag.as_str() {
        "welcome" => ServerMessage::Welcome {
            protocol: f.u32("protocol")?,
            client_id: f.string("client_id")?,
            heartbeat_timeout_ms: f.u64("heartbeat_timeout_ms")?,
            limits: {
                let l = Fields::of(f.required("limits")?, "limits")?;
                Limits {
                    max_message_bytes: l.u64("max_message_bytes")?,
                    max_subscriptions: l.u32("max_subscriptions")?,
                    rate_per_sec: l.u32("rate_per_sec")?,
                    rate_burst: l.u32("rate_burst")?,
                }
            },
        },
        "subscribed" => ServerMessage::Subscribed {
            channel: f.string("channel")?,
            epoch: f.string("epoch")?,
            offset: f.u64("offset")?,
            continuity: f.variant("continuity", continuity)?,
            snapshot: match f.optional("snapshot")? {
                Some(v) => Some(as_array(v, "snapshot", document)?),
                None => None,
            },
            more: f.bool_or_false("more")?,
        },
        "snapshot" => ServerMessage::Snapshot {
            channel: f.string("channel")?,
            epoch: f.string("epoch")?,
            offset: f.u64("offset")?,
            docs: documents(&f, "docs")?,
            removed: match f.present("removed")? {
                Some(v) => as_array(v, "removed", |s| as_string(s, "removed"))?,
                None => Vec::new(),
            },
            more: f.bool("more")?,
        },
        "unsubscribed" => ServerMessage::Unsubscribed {
            channel: f.string("channel")?,
        },
        "event" => ServerMessage::Event {
            channel: f.string("channel")?,
            epoch: f.string("epoch")?,
            offset: f.u64("offset")?,
            prev: f.u64("prev")?,
            op: f.variant("op", event_op)?,
            kind: f.opt_variant("kind", EventKind::parse)?,
            id: f.string("id")?,
            version: f.u64("version")?,
            doc: f.opt_json("doc")?,
            origin: match f.optional("origin")? {
                Some(v) => {
                    let o = Fields::of(v, "origin")?;
                    Some(Origin {
                        client_id: o.string("client_id")?,
                        mutation_id: o.u64("mutation_id")?,
                    })
                }
                None => None,
            },
        },
        "ack" => ServerMessage::Ack {
            mutation_id: f.u64("mutation_id")?,
            version: f.u64("version")?,
            offset: f.u64("offset")?,
        },
        "reject" => ServerMessage::Reject {
            mutation_id: f.u64("mutation_id")?,
            reason: f.variant("reason", reject_reason)?,
            current: f.optional("current")?.map(document).transpose()?,
            message: f.string_or_empty("message")?,
        },
        "broadcast" => ServerMessage::Broadcast {
            channel: f.string("channel")?,
            payload: f.json("payload")?,
            from: f.string("from")?,
        },
        "notification" => ServerMessage::Notification {
            payload: f.json("payload")?,
            from: f.string("from")?,
        },
        "response" => ServerMessage::Response {
            id: f.u64("id")?,
            body: f.opt_json("body")?,
            error: match f.optional("error")? {
                Some(v) => {
                    let e = Fields::of(v, "error")?;
                    Some(ResponseError {
                        code: e.string("code")?,
                        message: e.string("message")?,
                    })
                }
                None => None,
            },
        },
        "presence" => ServerMessage::Presence {
            channel: f.string("channel")?,
            event: f.variant("event", presence_event)?,
            client_id: f.string("client_id")?,
            state: f.opt_json("state")?,
        },
        "presence_sync" => ServerMessage::PresenceSync {
            channel: f.string("channel")?,
            members: f.array("members", |v| {
                let m = Fields::of(v, "members")?;
                Ok(PresenceMember {
                    client_id: m.string("client_id")?,
                    state: m.json("state")?,
                })
            })?,
        },
        "token_expiring" => ServerMessage::TokenExpiring {
            expires_in_ms: f.u64("expires_in_ms")?,
        },
        "auth_ok" => ServerMessage::AuthOk {
            expires_in_ms: f.opt_u64("expires_in_ms")?,
        },
        "pong" => ServerMessage::Pong {
            nonce: f.u64("nonce")?,
        },
        "error" => ServerMessage::Error {
            code: f.variant("code", |s| Some(ErrorCode::from_wire(s)))?,
            message: f.string("message")?,
            channel: f.opt_string("channel")?,
            mutation_id: f.opt_u64("mutation_id")?,
            request_id: f.opt_u64("request_id")?,
            retry_after_ms: f.opt_u64("retry_after_ms")?,
        },
        _ => return Err(Shape::from("unknown message type")),
    })
}
