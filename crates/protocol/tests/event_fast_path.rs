//! The `event` fast path ([`codec::decode_event`]) against the full decoder and the serde
//! reference: whenever the fast path reads a frame, both decoders read it as the same `event`;
//! every `event` the codec writes is read by the fast path; mutated frames and garbage never
//! make it disagree (it may decline, never differ) and never panic.

mod support;

use proptest::prelude::*;
use serde_json::Value;
use support::{event_kind, json_value, name, reference, server_message};
use tether_protocol::codec::{self, EventRef};
use tether_protocol::{EventOp, Json, Origin, ServerMessage};

/// The message the fast path's reading stands for.
fn as_message(ev: &EventRef<'_>) -> ServerMessage {
    ServerMessage::Event {
        channel: ev.channel.to_owned(),
        epoch: ev.epoch.to_owned(),
        offset: ev.offset,
        prev: ev.prev,
        op: ev.op,
        kind: ev.kind,
        id: ev.id.to_owned(),
        version: ev.version,
        doc: ev.doc.clone(),
        origin: ev.origin.map(|(client_id, mutation_id)| Origin {
            client_id: client_id.to_owned(),
            mutation_id,
        }),
    }
}

/// The message with its body, if any, replaced by `null`.
fn envelope(msg: ServerMessage) -> ServerMessage {
    match msg {
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
        } => ServerMessage::Event {
            channel,
            epoch,
            offset,
            prev,
            op,
            kind,
            id,
            version,
            doc: doc.map(|_| Json::Null),
            origin,
        },
        other => other,
    }
}

/// If the fast path reads `frame`, the full decoder and serde read the same message.
fn agree(frame: &[u8]) -> Result<bool, TestCaseError> {
    let Some(ev) = codec::decode_event(frame) else {
        return Ok(false);
    };
    let msg = as_message(&ev);
    prop_assert_eq!(codec::decode_server(frame), Ok(msg.clone()), "full decoder");
    // serde reads integers beyond 64 bits as the nearest double (the hand codec keeps their
    // text, see `numbers_exact`): against it, the envelope and the body's presence count.
    let reference = reference::decode_server(frame).map(envelope);
    prop_assert_eq!(reference, Ok(envelope(msg)), "serde reference");
    Ok(true)
}

fn event() -> impl Strategy<Value = ServerMessage> {
    let op = prop_oneof![Just(EventOp::Upsert), Just(EventOp::Remove)];
    let origin =
        prop::option::of(
            (name(), any::<u64>()).prop_map(|(client_id, mutation_id)| Origin {
                client_id,
                mutation_id,
            }),
        );
    (
        (name(), name(), any::<u64>(), any::<u64>(), op),
        (name(), any::<u64>(), prop::option::of(json_value()), origin),
        prop::option::of(event_kind()),
    )
        .prop_map(
            |((channel, epoch, offset, prev, op), (id, version, doc, origin), kind)| {
                ServerMessage::Event {
                    channel,
                    epoch,
                    offset,
                    prev,
                    op,
                    kind,
                    id,
                    version,
                    doc: doc.filter(|d| !d.is_null()),
                    origin,
                }
            },
        )
}

/// Text-level changes of a frame: a byte range replaced, a field repeated or changed.
#[derive(Debug, Clone)]
enum Change {
    Splice(prop::sample::Index, usize, Vec<u8>),
    Repeat(prop::sample::Index),
    Replace(prop::sample::Index, Value),
}

fn change() -> impl Strategy<Value = Change> {
    let value = prop_oneof![
        Just(Value::Null),
        Just(serde_json::json!(1.0)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(1e2)),
        Just(serde_json::json!("e\"x")),
        Just(serde_json::json!("upsert")),
        Just(serde_json::json!("created")),
        Just(serde_json::json!("event")),
        Just(serde_json::json!({"client_id": "c", "mutation_id": 2, "x": 1})),
        Just(serde_json::json!({"client_id": "c"})),
        Just(serde_json::json!([1])),
        Just(serde_json::json!(18446744073709551615u64)),
    ];
    let bytes = prop::collection::vec(
        prop::sample::select(b"{}[]\":,\\ 0123456789enulltrx-.".to_vec()),
        0..4,
    );
    prop_oneof![
        (any::<prop::sample::Index>(), 0usize..4, bytes)
            .prop_map(|(i, n, b)| Change::Splice(i, n, b)),
        any::<prop::sample::Index>().prop_map(Change::Repeat),
        (any::<prop::sample::Index>(), value).prop_map(|(i, v)| Change::Replace(i, v)),
    ]
}

fn changed(frame: &str, changes: &[Change]) -> Vec<u8> {
    let mut bytes = frame.as_bytes().to_vec();
    for c in changes {
        match c {
            Change::Splice(i, cut, insert) => {
                let at = i.index(bytes.len() + 1);
                let end = (at + cut).min(bytes.len());
                bytes.splice(at..end, insert.iter().copied());
            }
            Change::Repeat(i) | Change::Replace(i, _) => {
                let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&bytes) else {
                    continue;
                };
                let keys: Vec<&String> = fields.keys().collect();
                if keys.is_empty() {
                    continue;
                }
                let key = keys[i.index(keys.len())].clone();
                let v = match c {
                    Change::Replace(_, v) => v.clone(),
                    _ => fields[&key].clone(),
                };
                let entry = format!("{}:{},", Value::from(key), v);
                bytes.splice(1..1, entry.into_bytes());
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn every_written_event_is_read_by_the_fast_path(msg in event()) {
        let frame = codec::encode_server(&msg);
        prop_assert!(agree(frame.as_bytes())?, "declined {}", frame);
        let ev = codec::decode_event(frame.as_bytes()).map(|ev| as_message(&ev));
        prop_assert_eq!(ev, Some(msg));
    }

    #[test]
    fn changed_events_are_read_alike_or_declined(
        msg in event(),
        changes in prop::collection::vec(change(), 1..4),
    ) {
        let frame = codec::encode_server(&msg);
        agree(&changed(&frame, &changes))?;
    }

    #[test]
    fn other_messages_are_declined_or_read_alike(msg in server_message()) {
        let frame = codec::encode_server(&msg);
        let read = agree(frame.as_bytes())?;
        prop_assert_eq!(read, matches!(msg, ServerMessage::Event { .. }));
    }

    #[test]
    fn garbage_never_disagrees(bytes in prop::collection::vec(any::<u8>(), 0..96)) {
        agree(&bytes)?;
    }
}

#[test]
fn edge_frames() {
    let base = r#"{"type":"event","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1,"doc":{"a":1}}"#;
    assert!(agree(base.as_bytes()).unwrap());
    for (frame, read) in [
        (
            r#" { "type" : "event" , "channel":"c","epoch":"e","offset":2,"prev":1,"op":"remove","id":"d","version":1 } "#,
            true,
        ),
        (
            r#"{"type":"event","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1,"doc":null,"origin":null,"x":[1,{"y":2}],"x":3}"#,
            true,
        ),
        (
            r#"{"type":"event","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1,"doc":{},"doc":{}}"#,
            false,
        ),
        (
            r#"{"type":"event","channel":"c","epoch":"e","offset":2.0,"prev":1,"op":"upsert","id":"d","version":1}"#,
            false,
        ),
        (
            r#"{"type":"event","channel":"c\n","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1}"#,
            false,
        ),
        (
            r#"{"type":"event","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1,"doc":{"n":1e999}}"#,
            false,
        ),
        (
            r#"{"type":"event","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1} x"#,
            false,
        ),
        (
            r#"{"type":"event","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d"}"#,
            false,
        ),
        // Fields out of the codec's order, keys spaced from their colon, a kind before its
        // place: read by name, as written in order.
        (
            r#"{"version":1,"id":"d","doc":{"a":1},"kind":"updated","op":"upsert","prev":1,"offset":2,"epoch":"e","channel":"c","type":"event"}"#,
            true,
        ),
        (
            r#"{"type" :"event","channel" : "c","kind":"created","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1}"#,
            true,
        ),
        (
            r#"{"type":"event","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","kind":null,"id":"d","version":1,"origin":{"client_id":"x","mutation_id":3}}"#,
            true,
        ),
        // A repeated field right where the order expects the next one.
        (
            r#"{"type":"event","type":"event","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1}"#,
            false,
        ),
        (
            r#"{"type":"event","channel":"c","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1}"#,
            false,
        ),
        // Values that only start like the expected ones.
        (
            r#"{"type":"events","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1}"#,
            false,
        ),
        (
            r#"{"type":"event","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upserted","id":"d","version":1}"#,
            false,
        ),
        (
            r#"{"type":"event","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert"x,"id":"d","version":1}"#,
            false,
        ),
        (
            r#"{"type":"ev\u0065nt","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1}"#,
            false,
        ),
        (
            r#"{"type\u0020":"event","channel":"c","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"d","version":1}"#,
            false,
        ),
        (r#"{"type":"pong","nonce":1}"#, false),
        ("", false),
        ("{}", false),
    ] {
        assert_eq!(agree(frame.as_bytes()).unwrap(), read, "{frame}");
    }
    // Nesting: the body counts its depth from the message, as the full parser does.
    for depth in [125, 126, 127] {
        let doc = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let frame = base.replace(r#"{"a":1}"#, &doc);
        let full = codec::decode_server(frame.as_bytes()).is_ok();
        assert_eq!(agree(frame.as_bytes()).unwrap(), full, "depth {depth}");
    }
}
