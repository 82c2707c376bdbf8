//! Client frames (`ClientMessage`): hand-written encoder and decoder.

use super::read::{as_u64, Fields, Shape, Writer};
use super::DecodeError;
use super::MutateClientId;
use crate::json::Json;
use crate::messages::{ClientMessage, Since};
use crate::Op;

pub(crate) fn op_from(s: &str) -> Option<Op> {
    match s {
        "put" => Some(Op::Put),
        "patch" => Some(Op::Patch),
        "delete" => Some(Op::Delete),
        _ => None,
    }
}

pub(crate) fn op_str(op: Op) -> &'static str {
    match op {
        Op::Put => "put",
        Op::Patch => "patch",
        Op::Delete => "delete",
    }
}

fn since(v: &Json) -> Result<Since, Shape> {
    let f = Fields::of(v, "since")?;
    Ok(Since {
        epoch: f.string("epoch")?,
        offset: f.u64("offset")?,
    })
}

/// A client message out of a parsed frame.
pub(crate) fn read(value: &Json) -> Result<ClientMessage, DecodeError> {
    read_fields(value).map_err(|message| invalid_mutate(value, message))
}

fn read_fields(value: &Json) -> Result<ClientMessage, Shape> {
    let f = Fields::of(value, "message")?;
    let tag = f.string("type")?;
    Ok(match tag.as_str() {
        "hello" => ClientMessage::Hello {
            protocol: f.u32("protocol")?,
            client_id: f.string("client_id")?,
            token: f.opt_string("token")?,
            refresh: f.bool_or_false("refresh")?,
        },
        "subscribe" => ClientMessage::Subscribe {
            channel: f.string("channel")?,
            filter: f.opt_json("filter")?,
            ids: f.opt_json("ids")?,
            since: f.optional("since")?.map(since).transpose()?,
        },
        "unsubscribe" => ClientMessage::Unsubscribe {
            channel: f.string("channel")?,
        },
        "mutate" => ClientMessage::Mutate {
            mutation_id: f.u64("mutation_id")?,
            channel: f.string("channel")?,
            op: f.variant("op", op_from)?,
            id: f.string("id")?,
            base_version: f.opt_u64("base_version")?,
            doc: f.opt_json("doc")?,
            client_id: f.opt_string("client_id")?,
        },
        "broadcast" => ClientMessage::Broadcast {
            channel: f.string("channel")?,
            payload: f.json("payload")?,
        },
        "request" => ClientMessage::Request {
            id: f.u64("id")?,
            method: f.string("method")?,
            body: f.json_or_null("body")?,
        },
        "presence" => ClientMessage::Presence {
            channel: f.string("channel")?,
            state: f.opt_json("state")?,
        },
        "ping" => ClientMessage::Ping {
            nonce: f.u64("nonce")?,
        },
        "auth" => ClientMessage::Auth {
            token: f.string("token")?,
        },
        _ => return Err(Shape::from("unknown message type")),
    })
}

/// A shape error of a frame that is a `mutate` with a readable `mutation_id` becomes
/// [`DecodeError::InvalidMutate`].
fn invalid_mutate(value: &Json, message: Shape) -> DecodeError {
    let Json::Object(fields) = value else {
        return DecodeError::Shape { message };
    };
    let is_mutate = fields.get("type").and_then(Json::as_str) == Some("mutate");
    let mutation_id = fields
        .get("mutation_id")
        .and_then(|v| as_u64(v, "mutation_id").ok());
    match (is_mutate, mutation_id) {
        (true, Some(mutation_id)) => DecodeError::InvalidMutate {
            mutation_id,
            client_id: match fields.get("client_id") {
                None | Some(Json::Null) => MutateClientId::Absent,
                Some(Json::String(s)) => MutateClientId::Given(s.clone()),
                Some(_) => MutateClientId::Unreadable,
            },
            message,
        },
        _ => DecodeError::Shape { message },
    }
}

/// The frame of a client message (fields in declaration order, `type` first).
pub(crate) fn write(msg: &ClientMessage) -> String {
    match msg {
        ClientMessage::Hello {
            protocol,
            client_id,
            token,
            refresh,
        } => {
            let mut w = Writer::message("hello");
            w.u64("protocol", u64::from(*protocol))
                .str("client_id", client_id);
            if let Some(token) = token {
                w.str("token", token);
            }
            if *refresh {
                w.bool("refresh", true);
            }
            w.end()
        }
        ClientMessage::Subscribe {
            channel,
            filter,
            ids,
            since,
        } => {
            let mut w = Writer::message("subscribe");
            w.str("channel", channel);
            if let Some(filter) = filter {
                w.json("filter", filter);
            }
            if let Some(ids) = ids {
                w.json("ids", ids);
            }
            if let Some(since) = since {
                let text = Writer::object()
                    .str("epoch", &since.epoch)
                    .u64("offset", since.offset)
                    .end();
                w.raw("since", &text);
            }
            w.end()
        }
        ClientMessage::Unsubscribe { channel } => {
            Writer::message("unsubscribe").str("channel", channel).end()
        }
        ClientMessage::Mutate {
            mutation_id,
            channel,
            op,
            id,
            base_version,
            doc,
            client_id,
        } => {
            let mut w = Writer::message("mutate");
            w.u64("mutation_id", *mutation_id)
                .str("channel", channel)
                .str("op", op_str(*op))
                .str("id", id);
            if let Some(base) = base_version {
                w.u64("base_version", *base);
            }
            if let Some(doc) = doc {
                w.json("doc", doc);
            }
            if let Some(client_id) = client_id {
                w.str("client_id", client_id);
            }
            w.end()
        }
        ClientMessage::Broadcast { channel, payload } => Writer::message("broadcast")
            .str("channel", channel)
            .json("payload", payload)
            .end(),
        ClientMessage::Request { id, method, body } => Writer::message("request")
            .u64("id", *id)
            .str("method", method)
            .json("body", body)
            .end(),
        ClientMessage::Presence { channel, state } => Writer::message("presence")
            .str("channel", channel)
            .json("state", state.as_ref().unwrap_or(&Json::Null))
            .end(),
        ClientMessage::Ping { nonce } => Writer::message("ping").u64("nonce", *nonce).end(),
        ClientMessage::Auth { token } => Writer::message("auth").str("token", token).end(),
    }
}
