//! Server frames (`ServerMessage`): hand-written encoder and decoder.

use super::read::{as_array, as_string, write_array, Fields, Shape, Writer};
use crate::codes::ErrorCode;
use crate::document::Document;
use crate::json::Json;
use crate::messages::{
    Continuity, EventOp, Limits, Origin, PresenceEvent, PresenceMember, RejectReason,
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

fn reject_reason_str(r: RejectReason) -> &'static str {
    match r {
        RejectReason::Conflict => "conflict",
        RejectReason::Forbidden => "forbidden",
        RejectReason::Invalid => "invalid",
        RejectReason::NotFound => "not_found",
        RejectReason::Unknown => "unknown",
    }
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

fn write_document(d: &Document, out: &mut String) {
    out.push_str(
        &Writer::object()
            .str("id", &d.id)
            .u64("version", d.version)
            .json("doc", &d.doc)
            .end(),
    );
}

fn write_documents(docs: &[Document], out: &mut String) {
    write_array(docs, out, write_document);
}

/// The frame of a server message (fields in declaration order, `type` first).
pub(crate) fn write(msg: &ServerMessage) -> String {
    match msg {
        ServerMessage::Welcome {
            protocol,
            client_id,
            heartbeat_timeout_ms,
            limits,
        } => {
            let limits = Writer::object()
                .u64("max_message_bytes", limits.max_message_bytes)
                .u64("max_subscriptions", u64::from(limits.max_subscriptions))
                .u64("rate_per_sec", u64::from(limits.rate_per_sec))
                .u64("rate_burst", u64::from(limits.rate_burst))
                .end();
            Writer::message("welcome")
                .u64("protocol", u64::from(*protocol))
                .str("client_id", client_id)
                .u64("heartbeat_timeout_ms", *heartbeat_timeout_ms)
                .raw("limits", &limits)
                .end()
        }
        ServerMessage::Subscribed {
            channel,
            epoch,
            offset,
            continuity,
            snapshot,
            more,
        } => {
            let mut w = Writer::message("subscribed");
            w.str("channel", channel)
                .str("epoch", epoch)
                .u64("offset", *offset)
                .str(
                    "continuity",
                    match continuity {
                        Continuity::Recovered => "recovered",
                        Continuity::Reset => "reset",
                    },
                );
            if let Some(docs) = snapshot {
                w.with("snapshot", |out| write_documents(docs, out));
            }
            if *more {
                w.bool("more", true);
            }
            w.end()
        }
        ServerMessage::Snapshot {
            channel,
            epoch,
            offset,
            docs,
            removed,
            more,
        } => {
            let mut w = Writer::message("snapshot");
            w.str("channel", channel)
                .str("epoch", epoch)
                .u64("offset", *offset)
                .with("docs", |out| write_documents(docs, out));
            if !removed.is_empty() {
                w.with("removed", |out| {
                    write_array(removed, out, |s, out| crate::json::write_str(s, out))
                });
            }
            w.bool("more", *more).end()
        }
        ServerMessage::Unsubscribed { channel } => Writer::message("unsubscribed")
            .str("channel", channel)
            .end(),
        ServerMessage::Event {
            channel,
            epoch,
            offset,
            prev,
            op,
            id,
            version,
            doc,
            origin,
        } => {
            let mut w = Writer::message("event");
            w.str("channel", channel)
                .str("epoch", epoch)
                .u64("offset", *offset)
                .u64("prev", *prev)
                .str(
                    "op",
                    match op {
                        EventOp::Upsert => "upsert",
                        EventOp::Remove => "remove",
                    },
                )
                .str("id", id)
                .u64("version", *version);
            if let Some(doc) = doc {
                w.json("doc", doc);
            }
            if let Some(origin) = origin {
                let text = Writer::object()
                    .str("client_id", &origin.client_id)
                    .u64("mutation_id", origin.mutation_id)
                    .end();
                w.raw("origin", &text);
            }
            w.end()
        }
        ServerMessage::Ack {
            mutation_id,
            version,
            offset,
        } => Writer::message("ack")
            .u64("mutation_id", *mutation_id)
            .u64("version", *version)
            .u64("offset", *offset)
            .end(),
        ServerMessage::Reject {
            mutation_id,
            reason,
            current,
            message,
        } => {
            let mut w = Writer::message("reject");
            w.u64("mutation_id", *mutation_id)
                .str("reason", reject_reason_str(*reason));
            if let Some(current) = current {
                w.with("current", |out| write_document(current, out));
            }
            w.str("message", message).end()
        }
        ServerMessage::Broadcast {
            channel,
            payload,
            from,
        } => Writer::message("broadcast")
            .str("channel", channel)
            .json("payload", payload)
            .str("from", from)
            .end(),
        ServerMessage::Response { id, body, error } => {
            let mut w = Writer::message("response");
            w.u64("id", *id);
            if let Some(body) = body {
                w.json("body", body);
            }
            if let Some(error) = error {
                let text = Writer::object()
                    .str("code", &error.code)
                    .str("message", &error.message)
                    .end();
                w.raw("error", &text);
            }
            w.end()
        }
        ServerMessage::Presence {
            channel,
            event,
            client_id,
            state,
        } => {
            let mut w = Writer::message("presence");
            w.str("channel", channel)
                .str(
                    "event",
                    match event {
                        PresenceEvent::Join => "join",
                        PresenceEvent::Update => "update",
                        PresenceEvent::Leave => "leave",
                    },
                )
                .str("client_id", client_id);
            if let Some(state) = state {
                w.json("state", state);
            }
            w.end()
        }
        ServerMessage::PresenceSync { channel, members } => Writer::message("presence_sync")
            .str("channel", channel)
            .with("members", |out| {
                write_array(members, out, |m, out| {
                    out.push_str(
                        &Writer::object()
                            .str("client_id", &m.client_id)
                            .json("state", &m.state)
                            .end(),
                    )
                })
            })
            .end(),
        ServerMessage::Pong { nonce } => Writer::message("pong").u64("nonce", *nonce).end(),
        ServerMessage::Error {
            code,
            message,
            channel,
            mutation_id,
            request_id,
            retry_after_ms,
        } => {
            let mut w = Writer::message("error");
            w.str("code", code.as_str()).str("message", message);
            if let Some(channel) = channel {
                w.str("channel", channel);
            }
            if let Some(id) = mutation_id {
                w.u64("mutation_id", *id);
            }
            if let Some(id) = request_id {
                w.u64("request_id", *id);
            }
            if let Some(ms) = retry_after_ms {
                w.u64("retry_after_ms", *ms);
            }
            w.end()
        }
    }
}
