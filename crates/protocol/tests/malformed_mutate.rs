//! A malformed `mutate` that still carries a readable `mutation_id` decodes to a typed error
//! naming that id (so a server can answer `reject invalid` the client can correlate); one whose
//! `mutation_id` itself is missing or unreadable stays a plain shape error.

use serde_json::{json, Value};
use tether_protocol::{codec, DecodeError, ErrorCode, MutateClientId};

fn decode(v: &Value) -> Result<tether_protocol::ClientMessage, DecodeError> {
    codec::decode_client(v.to_string().as_bytes())
}

fn valid() -> Value {
    json!({"type": "mutate", "mutation_id": 7, "channel": "tasks", "op": "put", "id": "t1",
           "base_version": 2, "doc": {"a": 1}})
}

#[test]
fn every_malformed_field_keeps_the_mutation_id() {
    assert!(decode(&valid()).is_ok());
    let cases: Vec<(&str, Value)> = vec![
        ("op", json!("upsert_v2")),
        ("op", json!(3)),
        ("id", json!(42)),
        ("id", Value::Null),
        ("channel", json!(["tasks"])),
        ("base_version", json!("2")),
        ("base_version", json!(-1)),
        ("base_version", json!(1.5)),
        ("client_id", json!(9)),
    ];
    for (field, bad) in cases {
        let mut frame = valid();
        frame[field] = bad.clone();
        let err = decode(&frame).unwrap_err();
        assert_eq!(err.mutation_id(), Some(7), "{field} = {bad}: {err:?}");
        assert_eq!(err.code(), ErrorCode::BadMessage);
        let DecodeError::InvalidMutate {
            mutation_id,
            client_id,
            message,
        } = &err
        else {
            panic!("{field} = {bad}: {err:?}");
        };
        assert_eq!(*mutation_id, 7);
        assert!(!message.is_empty());
        let expected = if field == "client_id" {
            MutateClientId::Unreadable
        } else {
            MutateClientId::Absent
        };
        assert_eq!(*client_id, expected, "{field} = {bad}");
        assert!(err.to_string().contains("mutation 7"), "{err}");
    }
    for missing in ["op", "id", "channel"] {
        let mut frame = valid();
        frame.as_object_mut().unwrap().remove(missing);
        let err = decode(&frame).unwrap_err();
        assert_eq!(err.mutation_id(), Some(7), "without {missing}: {err:?}");
    }
}

#[test]
fn a_readable_adopted_client_id_is_kept() {
    let mut frame = valid();
    frame["op"] = json!("nope");
    frame["client_id"] = json!("c-old");
    let err = decode(&frame).unwrap_err();
    assert!(
        matches!(
            &err,
            DecodeError::InvalidMutate { mutation_id: 7, client_id: MutateClientId::Given(c), .. }
                if c == "c-old"
        ),
        "{err:?}"
    );
    frame["client_id"] = Value::Null;
    assert!(matches!(
        decode(&frame).unwrap_err(),
        DecodeError::InvalidMutate {
            client_id: MutateClientId::Absent,
            ..
        }
    ));
}

#[test]
fn without_a_readable_mutation_id_it_stays_a_shape_error() {
    for bad in [
        Value::Null,
        json!("7"),
        json!(-7),
        json!(7.5),
        json!(18446744073709551616u128 as f64),
    ] {
        let mut frame = valid();
        frame["op"] = json!("nope");
        frame["mutation_id"] = bad.clone();
        let err = decode(&frame).unwrap_err();
        assert!(matches!(err, DecodeError::Shape { .. }), "{bad}: {err:?}");
        assert_eq!(err.mutation_id(), None);
    }
    let mut frame = valid();
    frame.as_object_mut().unwrap().remove("mutation_id");
    assert!(matches!(
        decode(&frame).unwrap_err(),
        DecodeError::Shape { .. }
    ));
    // Not a mutate: a readable mutation_id does not matter.
    let other = json!({"type": "subscribe", "mutation_id": 7});
    assert!(matches!(
        decode(&other).unwrap_err(),
        DecodeError::Shape { .. }
    ));
    let unknown = json!({"type": "mutate_v2", "mutation_id": 7});
    assert!(matches!(
        decode(&unknown).unwrap_err(),
        DecodeError::Shape { .. }
    ));
    // Broken JSON stays a syntax error.
    assert!(matches!(
        codec::decode_client(br#"{"type":"mutate","mutation_id":7,"#),
        Err(DecodeError::Syntax { .. })
    ));
}
