//! Numbers survive the codec bit-exactly (PROTOCOL.md §1, "Numbers"): a number in a frame,
//! written in any decimal form a peer may use (shortest, 17 significant digits, exponent or
//! not, subnormal), decodes to the double a correctly rounded parser reads from that text
//! (Rust's `str::parse::<f64>`), and encodes again to text that reads back as the same double.
//! Integers within ±(2^53−1) stay integers. This is the path the SDK decodes server frames on
//! (`codec::decode_server`) and the server decodes client frames on (`codec::decode_client`).

use proptest::prelude::*;
use tether_protocol::Json as Value;
use tether_protocol::{codec, ClientMessage, ServerMessage, MAX_SAFE_INTEGER};

/// A finite double and a JSON text of it.
fn written_float() -> impl Strategy<Value = String> {
    let finite = any::<u64>()
        .prop_map(f64::from_bits)
        .prop_filter("finite", |x| x.is_finite());
    prop_oneof![
        // Shortest round-trip form, exponent notation.
        finite.clone().prop_map(|x| format!("{x:e}")),
        // 17 significant digits.
        finite.clone().prop_map(|x| format!("{x:.16e}")),
        // Plain decimals of moderate magnitude, shortest form (as JSON.stringify writes them).
        (-1.0e6f64..1.0e6).prop_map(|x| format!("{x}")),
        // 17 random significant digits with the point anywhere, plus an exponent.
        ("[1-9][0-9]{16}", 0usize..16, -330i32..310, any::<bool>()).prop_map(
            |(digits, point, exp, negative)| {
                let sign = if negative { "-" } else { "" };
                format!("{sign}{}.{}e{exp}", &digits[..=point], &digits[point + 1..])
            }
        ),
        // Values like the ones reported altered.
        Just("121.44729141098199".to_owned()),
        Just("248.41383071984126".to_owned()),
        Just("-0.0".to_owned()),
        Just("5e-324".to_owned()),
        Just("1.7976931348623157e308".to_owned()),
    ]
}

fn event_frame(number: &str) -> String {
    format!(
        r#"{{"type":"event","channel":"c","epoch":"e","offset":1,"prev":0,"op":"upsert","id":"d","version":1,"doc":{{"x":{number},"list":[{number}]}}}}"#
    )
}

fn doc_of(msg: &ServerMessage) -> &Value {
    match msg {
        ServerMessage::Event { doc: Some(doc), .. } => doc,
        other => panic!("expected an event with a doc, got {other:?}"),
    }
}

fn bits(v: &Value) -> u64 {
    v.as_f64().expect("a number").to_bits()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn floats_decode_and_encode_bit_exactly(number in written_float()) {
        let expected: f64 = number.parse().expect("Rust reads it");
        prop_assume!(expected.is_finite(), "out of the double range: refused by JSON parsers");
        let msg = codec::decode_server(event_frame(&number).as_bytes()).expect("decodes");
        let doc = doc_of(&msg);
        prop_assert_eq!(bits(&doc["x"]), expected.to_bits(), "{} read as {}", number, doc["x"]);
        prop_assert_eq!(bits(&doc["list"][0]), expected.to_bits());

        // Sent on: the text written reads back (by a correct parser) as the same double.
        let again = codec::encode_server(&msg);
        let decoded = codec::decode_server(again.as_bytes()).expect("decodes");
        prop_assert_eq!(bits(&doc_of(&decoded)["x"]), expected.to_bits(), "{}", again);
        let written = doc_of(&decoded)["x"].to_string();
        let reread: f64 = written.parse().expect("Rust reads the written text");
        prop_assert_eq!(reread.to_bits(), expected.to_bits(), "{} written as {}", number, written);
    }

    #[test]
    fn safe_integers_stay_integers(n in -(MAX_SAFE_INTEGER as i64)..=(MAX_SAFE_INTEGER as i64)) {
        let msg = codec::decode_server(event_frame(&n.to_string()).as_bytes()).expect("decodes");
        prop_assert_eq!(doc_of(&msg)["x"].as_i64(), Some(n));
        prop_assert_eq!(doc_of(&msg)["x"].to_string(), n.to_string());
    }

    #[test]
    fn client_frames_keep_float_bits(number in written_float()) {
        let expected: f64 = number.parse().expect("Rust reads it");
        prop_assume!(expected.is_finite(), "out of the double range: refused by JSON parsers");
        let frame = format!(
            r#"{{"type":"mutate","mutation_id":1,"channel":"c","op":"put","id":"d","doc":{{"x":{number}}}}}"#
        );
        match codec::decode_client(frame.as_bytes()).expect("decodes") {
            ClientMessage::Mutate { doc: Some(doc), .. } => {
                prop_assert_eq!(bits(&doc["x"]), expected.to_bits());
            }
            other => panic!("expected a mutate, got {other:?}"),
        }
    }
}

#[test]
fn integers_near_2_pow_53_at_the_edge() {
    for n in [MAX_SAFE_INTEGER - 1, MAX_SAFE_INTEGER] {
        for text in [n.to_string(), format!("-{n}")] {
            let msg = codec::decode_server(event_frame(&text).as_bytes()).expect("decodes");
            assert_eq!(doc_of(&msg)["x"].to_string(), text);
        }
    }
}

#[test]
fn negative_zero_is_kept() {
    for text in ["-0.0", "-0", "-0e0"] {
        let msg = codec::decode_server(event_frame(text).as_bytes()).expect("decodes");
        assert_eq!(bits(&doc_of(&msg)["x"]), (-0.0f64).to_bits(), "{text}");
        assert_eq!(codec::encode_server(&msg).matches(":-0.0").count(), 1);
    }
}

#[test]
fn numbers_beyond_the_double_range_are_bad_messages() {
    let err = codec::decode_server(event_frame("1e400").as_bytes()).unwrap_err();
    assert_eq!(err.code(), tether_protocol::ErrorCode::BadMessage);
}

#[test]
fn digit_strings_beyond_64_bits_are_read_as_the_nearest_double() {
    for text in [
        "18446744073709551616",
        "-9223372036854775809",
        "123456789012345678901234567890",
    ] {
        let expected: f64 = text.parse().unwrap();
        let msg = codec::decode_server(event_frame(text).as_bytes()).expect("decodes");
        let x = &doc_of(&msg)["x"];
        assert!(x.is_f64(), "{text} read as {x}");
        assert_eq!(bits(x), expected.to_bits(), "{text}");
    }
}

#[test]
fn numbers_are_sent_as_written() {
    for text in [
        "1e2",
        "1.50",
        "0.1000000000000000055511151231257827",
        "12345678901234567890123",
        "-4.9e-324",
        "2E+10",
        "0e0",
    ] {
        let msg = codec::decode_server(event_frame(text).as_bytes()).expect("decodes");
        let again = codec::encode_server(&msg);
        assert!(
            again.contains(&format!("\"x\":{text}}}")),
            "{text}: {again}"
        );
        assert_eq!(doc_of(&msg)["x"].as_number().unwrap().as_str(), text);
        let frame = format!(
            r#"{{"type":"mutate","mutation_id":1,"channel":"c","op":"put","id":"d","doc":{{"x":{text}}}}}"#
        );
        let mutate = codec::decode_client(frame.as_bytes()).expect("decodes");
        assert_eq!(codec::encode_client(&mutate), frame);
    }
}
