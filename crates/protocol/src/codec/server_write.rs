//! Server frames (`ServerMessage`): the hand-written encoder.

use super::read::{write_array, Writer};
use crate::document::Document;
use crate::messages::{Continuity, EventOp, PresenceEvent, RejectReason, ServerMessage};

fn reject_reason_str(r: RejectReason) -> &'static str {
    match r {
        RejectReason::Conflict => "conflict",
        RejectReason::Forbidden => "forbidden",
        RejectReason::Invalid => "invalid",
        RejectReason::NotFound => "not_found",
        RejectReason::Unknown => "unknown",
    }
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
            kind,
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
                );
            if let Some(kind) = kind {
                w.str("kind", kind.as_str());
            }
            w.str("id", id).u64("version", *version);
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
        ServerMessage::Notification { payload, from } => Writer::message("notification")
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
        ServerMessage::TokenExpiring { expires_in_ms } => Writer::message("token_expiring")
            .u64("expires_in_ms", *expires_in_ms)
            .end(),
        ServerMessage::AuthOk { expires_in_ms } => {
            let mut w = Writer::message("auth_ok");
            if let Some(ms) = expires_in_ms {
                w.u64("expires_in_ms", *ms);
            }
            w.end()
        }
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
