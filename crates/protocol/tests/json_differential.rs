//! `Json` against serde_json (the reference): for generated values, the same text out and the
//! same value back; for generated and mutated texts, the same acceptance and the same value.

use proptest::prelude::*;
use serde_json::Value;
use tether_protocol::json::{Json, MAX_DEPTH};

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::String),
        "[\\x00-\\x1f\"\\\\/a-z\u{7f}é😀]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(("[a-c\"\\\\é]{0,3}", inner), 0..6)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Texts near JSON: fragments of JSON syntax glued together.
fn near_json_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("{".to_owned()),
        Just("}".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just(",".to_owned()),
        Just(":".to_owned()),
        Just(" ".to_owned()),
        Just("\n".to_owned()),
        Just("\"".to_owned()),
        Just("\\".to_owned()),
        Just("\"k\"".to_owned()),
        Just("null".to_owned()),
        Just("tru".to_owned()),
        Just("true".to_owned()),
        Just("-".to_owned()),
        Just("\\u".to_owned()),
        Just("\\ud83d".to_owned()),
        Just("\\ude00".to_owned()),
        "[0-9.eE+-]{1,6}".prop_map(|s| s),
        "-?[0-9]{1,3}(\\.[0-9]{1,3})?([eE][+-]?[0-9]{1,3})?".prop_map(|s| s),
        "[\\x00-\\x7f]".prop_map(|s| s),
    ];
    prop::collection::vec(piece, 0..16).prop_map(|p| p.concat())
}

/// A valid text with one byte range replaced, inserted or deleted.
fn mutated_text() -> impl Strategy<Value = String> {
    (
        value(),
        any::<prop::sample::Index>(),
        0usize..4,
        "[\\x00-\\x7f]{0,3}",
    )
        .prop_map(|(v, at, cut, insert)| {
            let text = serde_json::to_string(&v).unwrap();
            let chars: Vec<char> = text.chars().collect();
            let i = at.index(chars.len() + 1);
            let j = (i + cut).min(chars.len());
            let mut out: String = chars[..i].iter().collect();
            out.push_str(&insert);
            out.extend(&chars[j..]);
            out
        })
}

fn agree(text: &str) -> Result<(), TestCaseError> {
    let ours = Json::parse(text);
    let theirs = serde_json::from_str::<Value>(text);
    match (ours, theirs) {
        (Ok(ours), Ok(theirs)) => {
            // The same value as serde_json reads (numbers as the doubles they round to). `Json`
            // equality itself compares the exact decimal values of the texts.
            prop_assert_eq!(Value::from(ours.clone()), theirs.clone(), "{:?}", text);
            // serde_json's text of its value reads back to the same value here.
            let rewritten = Json::parse(&serde_json::to_string(&theirs).unwrap()).unwrap();
            prop_assert_eq!(Value::from(rewritten), theirs);
        }
        (Err(_), Err(_)) => {}
        (ours, theirs) => {
            prop_assert!(
                false,
                "{:?}: ours {:?}, serde_json {:?}",
                text,
                ours,
                theirs
            )
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_values_write_and_read_as_serde_json(v in value()) {
        let text = serde_json::to_string(&v).unwrap();
        let parsed = Json::parse(&text).expect("serde_json's text parses");
        prop_assert_eq!(parsed.to_text(), text.clone());
        prop_assert_eq!(Json::from(v.clone()).to_text(), text);
        prop_assert_eq!(Value::from(parsed), v);
    }

    #[test]
    fn pretty_text_parses_to_the_same_value(v in value()) {
        let text = serde_json::to_string_pretty(&v).unwrap();
        prop_assert_eq!(Value::from(Json::parse(&text).unwrap()), v);
    }

    #[test]
    fn near_json_texts_are_accepted_alike(text in near_json_text()) {
        agree(&text)?;
    }

    #[test]
    fn mutated_texts_are_accepted_alike(text in mutated_text()) {
        agree(&text)?;
    }

    #[test]
    fn number_texts_are_accepted_alike(text in "-?[0-9]{0,4}(\\.[0-9]{0,3})?([eE][+-]?[0-9]{0,4})?") {
        agree(&text)?;
        agree(&format!("[{text}]"))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    /// Exact decimal order agrees with the order of doubles for numbers written in shortest
    /// round-trip form (as serde_json and `JSON.stringify` write them).
    #[test]
    fn decimal_order_is_double_order_for_shortest_texts(
        x in any::<f64>().prop_filter("finite", |x| x.is_finite()),
        y in any::<f64>().prop_filter("finite", |y| y.is_finite()),
        small in -1000i64..1000,
    ) {
        for (a, b) in [(x, y), (x, x), (x, small as f64), (small as f64, y)] {
            let na = Json::from(serde_json::json!(a));
            let nb = Json::from(serde_json::json!(b));
            let (na, nb) = (na.as_number().unwrap(), nb.as_number().unwrap());
            prop_assert_eq!(Some(na.cmp_numeric(nb)), a.partial_cmp(&b), "{} vs {}", a, b);
            prop_assert_eq!(na == nb, a == b);
        }
        let int = Json::from(small);
        let float = Json::from(serde_json::json!(small as f64));
        prop_assert_eq!(int, float);
    }
}

#[test]
fn the_nesting_limit_is_serde_json_s() {
    for depth in [MAX_DEPTH - 1, MAX_DEPTH, MAX_DEPTH + 1] {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let text = open.repeat(depth) + "1" + &close.repeat(depth);
            let ours = Json::parse(&text).is_ok();
            let theirs = serde_json::from_str::<Value>(&text).is_ok();
            assert_eq!(ours, theirs, "depth {depth} {open}");
        }
    }
}

#[test]
fn edge_numbers_are_accepted_alike() {
    for text in [
        "1.7976931348623157e308",
        "1.7976931348623158e308",
        "1.7976931348623159e308",
        "179769313486231580000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
        "-1e309",
        "1e-400",
        "0e999999999999999999",
        "0.0000001e315",
        "18446744073709551616",
        "-9223372036854775809",
        "-0",
        "-0.0e-0",
    ] {
        agree(text).unwrap();
    }
}
