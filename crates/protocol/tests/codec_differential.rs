//! The hand-written codec against the serde derives of the message types (the reference, as
//! the codec was before): for generated messages of every variant, the same frames and each
//! side decodes the other's frames to the same message; for mutated and garbage frames, both
//! accept (the same message) or both reject (the same `DecodeError` class).
//!
//! Two documented differences: the hand codec checks the whole frame's JSON syntax before its
//! shape, so a frame that is not well-formed JSON is always `Syntax`, where serde, streaming,
//! may report a shape error it met before the syntax error (`Shape` or `InvalidMutate`); and an
//! integer literal beyond 64 bits inside a JSON value keeps its text in the hand codec
//! (PROTOCOL.md §1: numbers pass through as written) where the serde reference, without
//! arbitrary precision, reads it as a double — both accept, with that number's text differing.

mod support;

use proptest::prelude::*;
use serde_json::Value;
use support::{client_message, reference, server_message};
use tether_protocol::{codec, DecodeError};

/// The class of an error: variant, and for `InvalidMutate` what a server answers with.
fn class(e: &DecodeError) -> String {
    match e {
        DecodeError::NotUtf8 { valid_up_to } => format!("utf8 {valid_up_to}"),
        DecodeError::Syntax { .. } => "syntax".into(),
        DecodeError::Shape { .. } => "shape".into(),
        DecodeError::InvalidMutate {
            mutation_id,
            client_id,
            ..
        } => format!("invalid mutate {mutation_id} {client_id:?}"),
        other => format!("{other:?}"),
    }
}

fn agree<T: PartialEq + std::fmt::Debug + serde::Serialize>(
    frame: &[u8],
    hand: Result<T, DecodeError>,
    reference: Result<T, DecodeError>,
) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(frame);
    match (&hand, &reference) {
        (Ok(a), Ok(b)) if a != b && equal_as_doubles(a, b) => {}
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", text),
        (Err(a), Err(b)) if class(a) == class(b) => {}
        (Err(DecodeError::Syntax { .. }), Err(_))
            if serde_json::from_slice::<Value>(frame).is_err() => {}
        _ => prop_assert!(false, "{}: hand {:?}, serde {:?}", text, hand, reference),
    }
    Ok(())
}

fn check_client(frame: &[u8]) -> Result<(), TestCaseError> {
    agree(
        frame,
        codec::decode_client(frame),
        reference::decode_client(frame),
    )
}

fn check_server(frame: &[u8]) -> Result<(), TestCaseError> {
    agree(
        frame,
        codec::decode_server(frame),
        reference::decode_server(frame),
    )
}

/// Whether two messages are equal once every number in them is read as a double: written
/// out and read back as `serde_json::Value`s (serde_json, without arbitrary precision, keeps a
/// number as an `f64`, `u64` or `i64`), so only a number's text may differ.
fn equal_as_doubles<T: serde::Serialize>(a: &T, b: &T) -> bool {
    let read = |m: &T| {
        serde_json::to_string(m)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .map(|v| as_doubles(&v))
    };
    matches!((read(a), read(b)), (Some(x), Some(y)) if x == y)
}

/// The value with every number as an `f64` (an integer that fits 64 bits and the double
/// nearest it compare alike).
fn as_doubles(v: &Value) -> Value {
    match v {
        Value::Number(n) => n
            .as_f64()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::Null, Value::Number),
        Value::Array(items) => Value::Array(items.iter().map(as_doubles).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), as_doubles(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A JSON value to put in place of a field: scalars of every type, strings that are wire
/// names, small objects. (Arrays of two or more elements and one-key objects named like an
/// enum variant are left out: serde also reads a struct from an array of its fields and a unit
/// variant from `{"name": null}`, forms the protocol does not define and the hand codec
/// refuses.)
fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u64>().prop_map(Value::from),
        (0u64..5).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(serde_json::json!(4294967296u64)),
        Just(serde_json::json!(1.0)),
        Just(serde_json::json!(-0.0)),
        Just(serde_json::json!(1.5e300)),
        prop::sample::select(vec![
            "",
            "put",
            "patch",
            "delete",
            "upsert",
            "remove",
            "reset",
            "recovered",
            "conflict",
            "join",
            "RATE_LIMITED",
            "mutate",
            "event",
            "hello",
            "x",
        ])
        .prop_map(Value::from),
        Just(serde_json::json!([])),
        Just(serde_json::json!(["e"])),
        Just(serde_json::json!({})),
        Just(serde_json::json!({"epoch": "e", "offset": 1})),
        Just(serde_json::json!({"client_id": "c", "mutation_id": 2})),
        Just(serde_json::json!({"id": "d", "version": 1, "doc": {}})),
        Just(serde_json::json!([{"id": "d", "version": 1, "doc": {}}])),
        Just(serde_json::json!({"code": "X", "message": "m"})),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    Remove(prop::sample::Index),
    Replace(prop::sample::Index, Value),
    Add(String, Value),
    Type(String),
    Duplicate(prop::sample::Index, Value),
    Bytes(prop::sample::Index, usize, Vec<u8>),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let field = prop::sample::select(vec![
        "type",
        "mutation_id",
        "client_id",
        "op",
        "doc",
        "since",
        "ids",
        "snapshot",
        "more",
        "docs",
        "removed",
        "origin",
        "current",
        "message",
        "state",
        "members",
        "limits",
        "code",
        "zz",
    ]);
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::Remove),
        (any::<prop::sample::Index>(), replacement()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        (field, replacement()).prop_map(|(k, v)| Mutation::Add(k.to_owned(), v)),
        prop::sample::select(vec![
            "hello",
            "subscribe",
            "unsubscribe",
            "mutate",
            "broadcast",
            "request",
            "presence",
            "ping",
            "welcome",
            "subscribed",
            "snapshot",
            "unsubscribed",
            "event",
            "ack",
            "reject",
            "response",
            "presence_sync",
            "notification",
            "pong",
            "error",
            "nope",
            "Event",
        ])
        .prop_map(|t| Mutation::Type(t.to_owned())),
        (any::<prop::sample::Index>(), replacement()).prop_map(|(i, v)| Mutation::Duplicate(i, v)),
        (
            any::<prop::sample::Index>(),
            0usize..3,
            prop::collection::vec(any::<u8>(), 0..3)
        )
            .prop_map(|(i, cut, bytes)| Mutation::Bytes(i, cut, bytes)),
    ]
}

/// Applies mutations to the frame of a message (at the JSON level, then as text).
fn mutate(frame: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut value: Value = serde_json::from_str(frame).unwrap();
    let mut duplicates = Vec::new();
    let mut bytes_ops = Vec::new();
    for m in mutations {
        let fields = value.as_object_mut().unwrap();
        let keys: Vec<String> = fields.keys().cloned().collect();
        match m {
            Mutation::Remove(i) => {
                fields.remove(&keys[i.index(keys.len())]);
            }
            Mutation::Replace(i, v) => {
                fields.insert(keys[i.index(keys.len())].clone(), v.clone());
            }
            Mutation::Add(k, v) => {
                fields.insert(k.clone(), v.clone());
            }
            Mutation::Type(t) => {
                fields.insert("type".into(), Value::from(t.clone()));
            }
            Mutation::Duplicate(i, v) => duplicates.push((keys[i.index(keys.len())].clone(), v)),
            Mutation::Bytes(..) => bytes_ops.push(m),
        }
        if fields.is_empty() {
            fields.insert("type".into(), Value::from("ping"));
        }
    }
    let mut text = serde_json::to_string(&value).unwrap();
    for (key, v) in duplicates {
        let entry = format!("{}:{},", Value::from(key), v);
        text.insert_str(1, &entry);
    }
    let mut bytes = text.into_bytes();
    for m in bytes_ops {
        if let Mutation::Bytes(i, cut, insert) = m {
            let at = i.index(bytes.len() + 1);
            let end = (at + cut).min(bytes.len());
            bytes.splice(at..end, insert.iter().copied());
        }
    }
    bytes
}

/// Fixed replacement values: one of each kind [`replacement`] draws from.
fn replacements() -> Vec<Value> {
    use serde_json::json;
    vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(7),
        json!(-1),
        json!(4294967296u64),
        json!(1.0),
        json!(""),
        json!("put"),
        json!("upsert"),
        json!("reset"),
        json!("conflict"),
        json!("join"),
        json!([]),
        json!(["e"]),
        json!({}),
        json!({"epoch": "e", "offset": 1}),
        json!([{"id": "d", "version": 1, "doc": {}}]),
    ]
}

/// Every field of the frame removed, and replaced by each of [`replacements`], one at a time.
fn every_field_changed(
    frame: &str,
    check: impl Fn(&[u8]) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let value: Value = serde_json::from_str(frame).unwrap();
    let fields = value.as_object().unwrap();
    for key in fields.keys() {
        let mut without = fields.clone();
        without.remove(key);
        check(serde_json::to_string(&without).unwrap().as_bytes())?;
        for v in replacements() {
            let mut changed = fields.clone();
            changed.insert(key.clone(), v);
            check(serde_json::to_string(&changed).unwrap().as_bytes())?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn every_field_of_client_frames_is_checked_alike(msg in client_message()) {
        every_field_changed(&codec::encode_client(&msg), check_client)?;
    }

    #[test]
    fn every_field_of_server_frames_is_checked_alike(msg in server_message()) {
        every_field_changed(&codec::encode_server(&msg), check_server)?;
    }

    #[test]
    fn client_frames_agree_with_serde(msg in client_message()) {
        let hand = codec::encode_client(&msg);
        let serde = serde_json::to_string(&msg).unwrap();
        prop_assert_eq!(&hand, &serde);
        prop_assert_eq!(
            serde_json::from_str::<Value>(&hand).unwrap(),
            serde_json::from_str::<Value>(&serde).unwrap()
        );
        prop_assert_eq!(codec::decode_client(serde.as_bytes()), Ok(msg.clone()));
        prop_assert_eq!(reference::decode_client(hand.as_bytes()), Ok(msg));
    }

    #[test]
    fn server_frames_agree_with_serde(msg in server_message()) {
        let hand = codec::encode_server(&msg);
        let serde = serde_json::to_string(&msg).unwrap();
        prop_assert_eq!(&hand, &serde);
        prop_assert_eq!(codec::decode_server(serde.as_bytes()), Ok(msg.clone()));
        prop_assert_eq!(reference::decode_server(hand.as_bytes()), Ok(msg));
    }

    #[test]
    fn mutated_client_frames_are_judged_alike(
        msg in client_message(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let frame = mutate(&codec::encode_client(&msg), &mutations);
        check_client(&frame)?;
        check_server(&frame)?;
    }

    #[test]
    fn mutated_server_frames_are_judged_alike(
        msg in server_message(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        let frame = mutate(&codec::encode_server(&msg), &mutations);
        check_server(&frame)?;
        check_client(&frame)?;
    }

    #[test]
    fn garbage_is_judged_alike(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        check_client(&bytes)?;
        check_server(&bytes)?;
    }
}

#[test]
fn edge_frames_are_judged_alike() {
    let frames = [
        r#"{"type":"event","channel":"t","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"a","version":3,"doc":{"x":[1,2.5,"s"]},"origin":{"client_id":"c","mutation_id":9}}"#,
        r#"{"type":"event","channel":"t","epoch":"e","offset":2,"prev":1,"op":"remove","id":"a","version":4}"#,
        r#"{"type":"event","channel":"t","epoch":"e","offset":2,"prev":1,"op":"upsert","id":"a","version":3,"doc":null,"extra":true}"#,
        r#"{"type":"event","channel":"t","epoch":"e","offset":2,"prev":1,"op":"nope","id":"a","version":3}"#,
        r#"{"type":"event","channel":"t","offset":2}"#,
        r#"{"type":"event","channel":"t","epoch":"e","offset":-1,"prev":1,"op":"remove","id":"a","version":4}"#,
        r#"{"channel":"t","type":"unsubscribed"}"#,
        r#"{"type":"ping","nonce":1,"x":1,"x":2}"#,
        r#"{"type":"ping","nonce":1,"nonce":2}"#,
        r#"{"type":"ping","type":"ping","nonce":1}"#,
        r#"{"type":"mutate","mutation_id":3,"mutation_id":4,"channel":"c","op":"put","id":"d"}"#,
        r#"{"type":"mutate","mutation_id":3,"channel":"c","op":"put","id":"d","doc":{"a":1,"a":2}}"#,
        r#"{"type":"mutate","mutation_id":3,"channel":"c","op":"nope","id":"d","client_id":7}"#,
        r#"{"type":"mutate","mutation_id":3.0,"channel":"c","op":"put","id":"d"}"#,
        r#"{"type":"mutate","mutation_id":-0,"channel":"c","op":"put","id":"d"}"#,
        r#"{"type":"hello","protocol":4294967296,"client_id":"c"}"#,
        r#"{"type":"hello","protocol":1,"client_id":"c","token":null}"#,
        r#"{"type":"request","id":1,"method":"m"}"#,
        r#"{"type":"presence","channel":"c","state":null}"#,
        r#"{"type":"presence","channel":"c"}"#,
        r#"{"type":"broadcast","channel":"c"}"#,
        r#"{"type":"subscribed","channel":"c","epoch":"e","offset":0,"continuity":"reset","more":null}"#,
        r#"{"type":"snapshot","channel":"c","epoch":"e","offset":0,"docs":[],"removed":null,"more":false}"#,
        r#"{"type":"reject","mutation_id":1,"reason":"conflict","message":null}"#,
        r#"{"type":"reject","mutation_id":1,"reason":7}"#,
        r#"{"type":"error","code":"SOMETHING_NEW","message":"x"}"#,
        r#"{"type":"welcome","protocol":1,"client_id":"c","heartbeat_timeout_ms":1,"limits":{"max_message_bytes":1,"max_subscriptions":1,"rate_per_sec":1,"rate_burst":1,"rate_burst":2}}"#,
        "[]",
        "null",
        "{\"type\":\"ping\",\"nonce\":1} ",
        "\u{feff}{\"type\":\"ping\",\"nonce\":1}",
    ];
    for frame in frames {
        check_client(frame.as_bytes()).unwrap();
        check_server(frame.as_bytes()).unwrap();
    }
}

#[test]
fn an_integer_beyond_64_bits_keeps_its_text_where_serde_reads_a_double() {
    let frame = br#"{"type":"mutate","mutation_id":1,"channel":"c","op":"put","id":"d","doc":{"n":123456789012345678901234567}}"#;
    let Ok(tether_protocol::ClientMessage::Mutate { doc: Some(doc), .. }) =
        codec::decode_client(frame)
    else {
        panic!("the hand codec accepts it")
    };
    assert_eq!(doc.to_text(), r#"{"n":123456789012345678901234567}"#);
    assert!(reference::decode_client(frame).is_ok());
    assert!(check_client(frame).is_ok());
}

#[test]
fn a_decimal_with_more_digits_than_its_double_keeps_its_text_where_serde_shortens_it() {
    // Found by `mutated_client_frames_are_judged_alike` (a `.` put inside an integer).
    let frame =
        br#"{"channel":"A","payload":{"a":[-1546.3644792765052],"b":[false]},"type":"broadcast"}"#;
    let Ok(tether_protocol::ClientMessage::Broadcast { payload, .. }) = codec::decode_client(frame)
    else {
        panic!("the hand codec accepts it")
    };
    assert_eq!(
        payload.to_text(),
        r#"{"a":[-1546.3644792765052],"b":[false]}"#
    );
    assert!(reference::decode_client(frame).is_ok());
    assert!(check_client(frame).is_ok());
}

#[test]
fn messages_that_differ_beyond_a_numbers_text_still_disagree() {
    let a = br#"{"channel":"A","payload":{"a":[-1546.3644792765052]},"type":"broadcast"}"#;
    let b = br#"{"channel":"A","payload":{"a":[-1546.3644792765]},"type":"broadcast"}"#;
    let c = br#"{"channel":"A","payload":{"a":[-1546.364479276505]},"type":"broadcast"}"#;
    let (a, b, c) = (
        codec::decode_client(a).unwrap(),
        codec::decode_client(b).unwrap(),
        codec::decode_client(c).unwrap(),
    );
    assert!(!equal_as_doubles(&a, &b));
    assert!(equal_as_doubles(&a, &c));
}
