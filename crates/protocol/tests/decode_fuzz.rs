//! Bounded fuzzing of the decoders: arbitrary bytes, and valid frames with mutated bytes, must
//! decode to a message or a typed `DecodeError` and never panic (the hand-written decoders, the
//! `event` fast path and the `Json` parser under them). Runs in every `cargo test`;
//! `TETHER_FUZZ_CASES` raises the case count for long runs.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tether_protocol::{codec, DecodeError, ErrorCode, Filter, IdSet};

const SEEDS: &[&str] = &[
    r#"{"type":"hello","protocol":1,"client_id":"c1","token":"abc"}"#,
    r#"{"type":"subscribe","channel":"tasks","filter":{"and":[{"field":"s","op":"in","value":[1,2]}]},"since":{"epoch":"e","offset":4}}"#,
    r#"{"type":"subscribe","channel":"tasks","ids":["t1","t2"],"since":{"epoch":"e","offset":4}}"#,
    r#"{"type":"mutate","mutation_id":9,"channel":"tasks","op":"put","id":"t1","base_version":0,"doc":{"a":[1,{"b":null}]}}"#,
    r#"{"type":"event","channel":"tasks","epoch":"e","offset":5,"prev":4,"op":"upsert","id":"t1","version":2,"doc":{"a":1},"origin":{"client_id":"c","mutation_id":1}}"#,
    r#"{"type":"presence_sync","channel":"tasks","members":[{"client_id":"c","state":{"user":"Sarah"}}]}"#,
    r#"{"type":"reject","mutation_id":3,"reason":"conflict","current":{"id":"t1","version":4,"doc":{}},"message":"stale"}"#,
    r#"{"type":"welcome","protocol":1,"client_id":"c","heartbeat_timeout_ms":30000,"limits":{"max_message_bytes":1,"max_subscriptions":2,"rate_per_sec":3,"rate_burst":4}}"#,
    r#"{"type":"subscribed","channel":"t","epoch":"e","offset":3,"continuity":"reset","snapshot":[{"id":"a","version":1,"doc":{"s":"\u00e9\ud83d\ude00"}}],"more":true}"#,
    r#"{"type":"snapshot","channel":"t","epoch":"e","offset":3,"docs":[],"removed":["a"],"more":false}"#,
    r#"{"type":"response","id":1,"body":[1.5e-3,-0,true],"error":{"code":"X","message":"m"}}"#,
    r#"{"type":"error","code":"RATE_LIMITED","message":"m","channel":"t","mutation_id":1,"request_id":2,"retry_after_ms":3}"#,
    r#"{"type":"presence","channel":"t","state":null}"#,
    r#"{"type":"request","id":7,"method":"echo","body":{"x":"\"\\\/\b\f\n\r\t"}}"#,
];

fn cases() -> u32 {
    std::env::var("TETHER_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000)
}

fn check(bytes: &[u8]) {
    for result in [
        codec::decode_client(bytes).map(|_| ()),
        codec::decode_server(bytes).map(|_| ()),
    ] {
        if let Err(err) = result {
            assert_eq!(err.code(), ErrorCode::BadMessage);
            assert!(!err.to_string().is_empty());
        }
    }
    // What decodes, encodes to a frame that decodes to the same message.
    if let Ok(msg) = codec::decode_client(bytes) {
        let frame = codec::encode_client(&msg);
        assert_eq!(codec::decode_client(frame.as_bytes()), Ok(msg));
    }
    if let Ok(msg) = codec::decode_server(bytes) {
        let frame = codec::encode_server(&msg);
        assert_eq!(codec::decode_server(frame.as_bytes()), Ok(msg));
    }
    // The event fast path reads only what the full decoder reads as an event.
    if let Some(ev) = codec::decode_event(bytes) {
        let full = codec::decode_server(bytes);
        let read = matches!(
            &full,
            Ok(tether_protocol::ServerMessage::Event { channel, offset, id, doc, .. })
                if channel == ev.channel && *offset == ev.offset && id == ev.id && *doc == ev.doc
        );
        assert!(read, "{full:?} vs {ev:?}");
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        if let Ok(value) = tether_protocol::Json::parse(text) {
            assert_eq!(tether_protocol::Json::parse(&value.to_text()), Ok(value));
        }
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(bytes) {
        let value = tether_protocol::Json::from(value);
        if let Ok(filter) = Filter::parse(&value) {
            let _ = filter.matches(&value);
        }
        if let Ok(ids) = IdSet::parse(&value) {
            assert_eq!(IdSet::parse(&ids.to_value()), Ok(ids));
        }
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        ..Config::default()
    });
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..256), |bytes| {
            check(&bytes);
            Ok(())
        })
        .unwrap();
}

#[test]
fn mutated_valid_frames_never_panic() {
    let strategy = (
        0..SEEDS.len(),
        prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..8),
    );
    let mut runner = TestRunner::new(Config {
        cases: cases(),
        ..Config::default()
    });
    runner
        .run(&strategy, |(seed, edits)| {
            let mut bytes = SEEDS[seed].as_bytes().to_vec();
            for (at, byte, kind) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match kind {
                    0 => bytes[i] = byte,
                    1 => {
                        bytes.remove(i);
                    }
                    _ => bytes.insert(i, byte),
                }
            }
            check(&bytes);
            Ok(())
        })
        .unwrap();
}

#[test]
fn deeply_nested_json_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(100_000);
    let frame = format!(r#"{{"type":"broadcast","channel":"c","payload":{deep}}}"#);
    assert!(matches!(
        codec::decode_client(frame.as_bytes()),
        Err(DecodeError::Syntax { .. })
    ));
}

#[test]
fn decode_errors_are_typed() {
    assert_eq!(
        codec::decode_client(&[b'{', 0xff]),
        Err(DecodeError::NotUtf8 { valid_up_to: 1 })
    );
    assert!(matches!(
        codec::decode_client(b"{\"type\":"),
        Err(DecodeError::Syntax { .. })
    ));
    assert!(matches!(
        codec::decode_client(br#"{"type":"teleport"}"#),
        Err(DecodeError::Shape { .. })
    ));
    assert!(matches!(
        codec::decode_client(br#"{"type":"ping","nonce":"x"}"#),
        Err(DecodeError::Shape { .. })
    ));
}
