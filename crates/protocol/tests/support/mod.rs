//! Generators of every protocol message, shared by the codec tests.

#![allow(dead_code)]

pub mod reference;

use proptest::prelude::*;
use serde_json::{json, Value};
use tether_protocol::{
    ClientMessage, Continuity, Document, ErrorCode, EventKind, EventOp, Json, Limits, Op, Origin,
    PresenceEvent, PresenceMember, RejectReason, ResponseError, ServerMessage, Since,
};

pub fn json_value() -> impl Strategy<Value = Json> {
    value_tree().prop_map(Json::from)
}

pub fn value_tree() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u32>().prop_map(|n| json!(f64::from(n) / 8.0)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

pub fn object() -> impl Strategy<Value = Json> {
    prop::collection::btree_map("[a-z]{1,6}", value_tree(), 0..4)
        .prop_map(|m| Json::from(Value::Object(m.into_iter().collect())))
}

/// `subscribe.ids`: mostly arrays of ids, sometimes any JSON value (the codec carries it as is)
/// but `null`, which reads as an absent field (PROTOCOL.md §1), so `Some(null)` cannot round-trip.
pub fn ids() -> impl Strategy<Value = Json> {
    prop_oneof![
        3 => prop::collection::vec(".{0,8}", 0..4)
            .prop_map(|ids| Json::Array(ids.into_iter().map(Json::String).collect())),
        1 => json_value().prop_filter("null reads as absent", |v| !v.is_null()),
    ]
}

pub fn name() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_:.-]{1,16}"
}

pub fn document() -> impl Strategy<Value = Document> {
    (name(), any::<u64>(), object()).prop_map(|(id, version, doc)| Document { id, version, doc })
}

pub fn client_message() -> impl Strategy<Value = ClientMessage> {
    let op = prop_oneof![Just(Op::Put), Just(Op::Patch), Just(Op::Delete)];
    prop_oneof![
        (
            any::<u32>(),
            name(),
            prop::option::of(".{0,20}"),
            any::<bool>()
        )
            .prop_map(
                |(protocol, client_id, token, refresh)| ClientMessage::Hello {
                    protocol,
                    client_id,
                    token,
                    refresh,
                }
            ),
        (
            name(),
            prop::option::of(object()),
            prop::option::of(ids()),
            prop::option::of((name(), any::<u64>()))
        )
            .prop_map(|(channel, filter, ids, since)| ClientMessage::Subscribe {
                channel,
                filter,
                ids,
                since: since.map(|(epoch, offset)| Since { epoch, offset }),
            }),
        name().prop_map(|channel| ClientMessage::Unsubscribe { channel }),
        (
            any::<u64>(),
            name(),
            op,
            name(),
            prop::option::of(any::<u64>()),
            prop::option::of(object()),
            prop::option::of(name())
        )
            .prop_map(
                |(mutation_id, channel, op, id, base_version, doc, client_id)| {
                    ClientMessage::Mutate {
                        mutation_id,
                        channel,
                        op,
                        id,
                        base_version,
                        doc,
                        client_id,
                    }
                }
            ),
        (name(), json_value())
            .prop_map(|(channel, payload)| ClientMessage::Broadcast { channel, payload }),
        (any::<u64>(), name(), json_value())
            .prop_map(|(id, method, body)| ClientMessage::Request { id, method, body }),
        (name(), prop::option::of(object()))
            .prop_map(|(channel, state)| ClientMessage::Presence { channel, state }),
        any::<u64>().prop_map(|nonce| ClientMessage::Ping { nonce }),
        ".{0,40}".prop_map(|token| ClientMessage::Auth { token }),
    ]
}

/// Every event kind, `Unknown` (written `unknown`) included.
pub fn event_kind() -> impl Strategy<Value = EventKind> {
    prop_oneof![
        Just(EventKind::Created),
        Just(EventKind::Updated),
        Just(EventKind::Deleted),
        Just(EventKind::Entered),
        Just(EventKind::Left),
        Just(EventKind::Unknown),
    ]
}

pub fn server_message() -> impl Strategy<Value = ServerMessage> {
    let continuity = prop_oneof![Just(Continuity::Recovered), Just(Continuity::Reset)];
    let event_op = prop_oneof![Just(EventOp::Upsert), Just(EventOp::Remove)];
    let kind = prop::option::of(event_kind());
    let reason = prop_oneof![
        Just(RejectReason::Conflict),
        Just(RejectReason::Forbidden),
        Just(RejectReason::Invalid),
        Just(RejectReason::NotFound),
    ];
    let presence = prop_oneof![
        Just(PresenceEvent::Join),
        Just(PresenceEvent::Update),
        Just(PresenceEvent::Leave),
    ];
    let code = prop_oneof![
        Just(ErrorCode::AuthRequired),
        Just(ErrorCode::AuthInvalid),
        Just(ErrorCode::Forbidden),
        Just(ErrorCode::InvalidFilter),
        Just(ErrorCode::InvalidIds),
        Just(ErrorCode::RateLimited),
        Just(ErrorCode::TooLarge),
        Just(ErrorCode::BadMessage),
        Just(ErrorCode::UnsupportedVersion),
        Just(ErrorCode::NotSubscribed),
        Just(ErrorCode::TooManySubscriptions),
        Just(ErrorCode::HandshakeRequired),
        Just(ErrorCode::Internal),
        Just(ErrorCode::ClientIdTaken),
    ];
    prop_oneof![
        (
            any::<u32>(),
            name(),
            any::<u64>(),
            any::<(u64, u32, u32, u32)>()
        )
            .prop_map(
                |(protocol, client_id, heartbeat_timeout_ms, (a, b, c, d))| {
                    ServerMessage::Welcome {
                        protocol,
                        client_id,
                        heartbeat_timeout_ms,
                        limits: Limits {
                            max_message_bytes: a,
                            max_subscriptions: b,
                            rate_per_sec: c,
                            rate_burst: d,
                        },
                    }
                }
            ),
        (
            name(),
            name(),
            any::<u64>(),
            continuity,
            prop::option::of(prop::collection::vec(document(), 0..3)),
            any::<bool>()
        )
            .prop_map(|(channel, epoch, offset, continuity, snapshot, more)| {
                ServerMessage::Subscribed {
                    channel,
                    epoch,
                    offset,
                    continuity,
                    snapshot,
                    more,
                }
            }),
        (
            (name(), name(), any::<u64>()),
            prop::collection::vec(document(), 0..3),
            prop::collection::vec(name(), 0..3),
            any::<bool>()
        )
            .prop_map(|((channel, epoch, offset), docs, removed, more)| {
                ServerMessage::Snapshot {
                    channel,
                    epoch,
                    offset,
                    docs,
                    removed,
                    more,
                }
            }),
        name().prop_map(|channel| ServerMessage::Unsubscribed { channel }),
        (
            (name(), name(), any::<u64>(), any::<u64>()),
            (event_op, name(), any::<u64>(), prop::option::of(object())),
            (prop::option::of((name(), any::<u64>())), kind)
        )
            .prop_map(
                |((channel, epoch, offset, prev), (op, id, version, doc), (origin, kind))| {
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
                        origin: origin.map(|(client_id, mutation_id)| Origin {
                            client_id,
                            mutation_id,
                        }),
                    }
                }
            ),
        (any::<u64>(), any::<u64>(), any::<u64>()).prop_map(|(mutation_id, version, offset)| {
            ServerMessage::Ack {
                mutation_id,
                version,
                offset,
            }
        }),
        (
            any::<u64>(),
            reason,
            prop::option::of(document()),
            ".{0,20}"
        )
            .prop_map(
                |(mutation_id, reason, current, message)| ServerMessage::Reject {
                    mutation_id,
                    reason,
                    current,
                    message,
                }
            ),
        (name(), json_value(), name()).prop_map(|(channel, payload, from)| {
            ServerMessage::Broadcast {
                channel,
                payload,
                from,
            }
        }),
        (json_value(), name())
            .prop_map(|(payload, from)| ServerMessage::Notification { payload, from }),
        (
            any::<u64>(),
            prop::option::of(object()),
            prop::option::of((name(), ".{0,10}"))
        )
            .prop_map(|(id, body, error)| ServerMessage::Response {
                id,
                body,
                error: error.map(|(code, message)| ResponseError { code, message }),
            }),
        (name(), presence, name(), prop::option::of(object())).prop_map(
            |(channel, event, client_id, state)| ServerMessage::Presence {
                channel,
                event,
                client_id,
                state,
            }
        ),
        (name(), prop::collection::vec((name(), object()), 0..3)).prop_map(|(channel, members)| {
            ServerMessage::PresenceSync {
                channel,
                members: members
                    .into_iter()
                    .map(|(client_id, state)| PresenceMember { client_id, state })
                    .collect(),
            }
        }),
        any::<u64>().prop_map(|nonce| ServerMessage::Pong { nonce }),
        any::<u64>().prop_map(|expires_in_ms| ServerMessage::TokenExpiring { expires_in_ms }),
        prop::option::of(any::<u64>())
            .prop_map(|expires_in_ms| ServerMessage::AuthOk { expires_in_ms }),
        (
            code,
            ".{0,20}",
            prop::option::of(name()),
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u64>()),
            prop::option::of(any::<u64>())
        )
            .prop_map(
                |(code, message, channel, mutation_id, request_id, retry_after_ms)| {
                    ServerMessage::Error {
                        code,
                        message,
                        channel,
                        mutation_id,
                        request_id,
                        retry_after_ms,
                    }
                }
            ),
    ]
}
