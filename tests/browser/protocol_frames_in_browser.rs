//! In headless Chromium: protocol frames encode and decode inside WASM, survive a trip through
//! a JavaScript string, keep 64-bit integers exact, and garbage is a typed error.
use serde_json::json;
use tether_protocol::{codec, ClientMessage, DecodeError, Op, ServerMessage, PROTOCOL_VERSION};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::wasm_bindgen_test;

/// Larger than 2^53: a JavaScript number would round it.
const BIG: u64 = (1 << 53) + 1;

#[wasm_bindgen_test]
fn exported_protocol_version_matches_the_protocol_crate() {
    assert_eq!(tether::protocol_version(), PROTOCOL_VERSION);
}

#[wasm_bindgen_test]
fn client_frame_round_trips_through_a_js_string() {
    let mutate = ClientMessage::Mutate {
        mutation_id: BIG,
        channel: "tasks".into(),
        op: Op::Put,
        id: "task-ü-1".into(),
        base_version: Some(0),
        doc: Some(tether_protocol::Json::from(
            json!({ "title": "Tunnel 🚆 edit", "column": "doing" }),
        )),
        client_id: None,
    };
    let frame = codec::encode_client(&mutate);
    // Through the JS boundary (UTF-8 -> UTF-16 -> UTF-8), as a WebSocket text frame would go.
    let through_js = JsValue::from_str(&frame)
        .as_string()
        .expect("a JS string comes back as a string");
    assert_eq!(through_js, frame);
    assert_eq!(codec::decode_client(through_js.as_bytes()), Ok(mutate));
}

#[wasm_bindgen_test]
fn server_frame_from_text_keeps_u64_exact() {
    let text = format!(r#"{{"type":"ack","mutation_id":{BIG},"version":2,"offset":{BIG}}}"#);
    let decoded = codec::decode_server(text.as_bytes()).expect("valid ack");
    assert_eq!(
        decoded,
        ServerMessage::Ack {
            mutation_id: BIG,
            version: 2,
            offset: BIG,
        }
    );
    assert_eq!(
        codec::decode_server(codec::encode_server(&decoded).as_bytes()),
        Ok(decoded)
    );
}

#[wasm_bindgen_test]
fn garbage_is_a_typed_error_not_a_panic() {
    assert!(matches!(
        codec::decode_server(b"{\"type\":"),
        Err(DecodeError::Syntax { .. })
    ));
    assert!(matches!(
        codec::decode_server(&[0xff, 0xfe, 0x00]),
        Err(DecodeError::NotUtf8 { .. })
    ));
    assert!(matches!(
        codec::decode_server(br#"{"type":"no_such_message"}"#),
        Err(DecodeError::Shape { .. })
    ));
}
