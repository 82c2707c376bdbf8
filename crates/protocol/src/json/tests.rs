use super::*;

fn kind(text: &str) -> ParseErrorKind {
    Json::parse(text).unwrap_err().kind
}

#[test]
fn parses_and_writes_every_kind_of_value() {
    let text =
        r#" {"b":[1,-2.5e-3,true,false,null],"a":"x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","c":{}} "#;
    let v = Json::parse(text).unwrap();
    assert_eq!(
        v["a"].as_str(),
        Some("x\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{1F600}")
    );
    assert_eq!(v["b"][1].as_f64(), Some(-2.5e-3));
    assert_eq!(v["b"][2], Json::Bool(true));
    assert!(v["missing"].is_null() && v["b"][9].is_null());
    assert_eq!(
        v.to_text(),
        r#"{"a":"x\"\\/\b\f\n\r\t\u00e9😀","b":[1,-2.5e-3,true,false,null],"c":{}}"#
            .replace("\\u00e9", "é")
    );
}

#[test]
fn control_characters_are_escaped_as_serde_json_does() {
    let v = Json::String("\u{0}\u{1f}\u{7f}/é".into());
    assert_eq!(v.to_text(), "\"\\u0000\\u001f\u{7f}/é\"");
}

#[test]
fn repeated_keys_keep_the_last_value_and_are_reported() {
    let v = Json::parse(r#"{"b":1,"a":2,"b":3}"#).unwrap();
    let o = v.as_object().unwrap();
    assert_eq!(o.len(), 2);
    assert_eq!(o.get("b").and_then(Json::as_u64), Some(3));
    assert!(o.had_duplicate_keys());
    assert_eq!(v.to_text(), r#"{"a":2,"b":3}"#);
    assert!(!Json::parse(r#"{"a":1}"#)
        .unwrap()
        .as_object()
        .unwrap()
        .had_duplicate_keys());
}

#[test]
fn malformed_texts_are_typed_errors() {
    use ParseErrorKind::*;
    assert_eq!(kind(""), UnexpectedEnd);
    assert_eq!(kind("[1,]"), UnexpectedCharacter);
    assert_eq!(kind(r#"{"a":1,}"#), KeyMustBeString);
    assert_eq!(kind("01"), InvalidNumber);
    assert_eq!(kind("NaN"), UnexpectedCharacter);
    assert_eq!(kind("1e400"), NumberOutOfRange);
    assert_eq!(kind("1 2"), TrailingCharacters);
    assert_eq!(kind(r#""\x""#), InvalidEscape);
    assert_eq!(kind(r#""\ud800""#), LoneSurrogate);
    assert_eq!(kind(r#""\ud800\u0041""#), LoneSurrogate);
    assert_eq!(kind(r#""\udc00""#), LoneSurrogate);
    assert_eq!(kind("\"a\u{1}\""), ControlCharacter);
    assert_eq!(kind("[tru]"), UnexpectedCharacter);
    assert_eq!(kind("[\"abc"), UnexpectedEnd);
    let e = Json::parse("{\n  \"a\": x}").unwrap_err();
    assert_eq!((e.line, e.column, e.offset), (2, 8, 9));
}

#[test]
fn nesting_is_limited() {
    let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
    assert!(Json::parse(&ok).is_ok());
    let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    assert_eq!(kind(&deep), ParseErrorKind::TooDeep);
    assert_eq!(kind(&"{\"a\":".repeat(100_000)), ParseErrorKind::TooDeep);
}

#[test]
fn object_edits_keep_keys_sorted() {
    let mut o = Object::new();
    assert_eq!(o.insert("b", Json::from(1u8)), None);
    o.insert("a", Json::from("x"));
    assert_eq!(o.insert("b", Json::Null), Some(Json::from(1u8)));
    assert_eq!(Json::Object(o.clone()).to_text(), r#"{"a":"x","b":null}"#);
    assert_eq!(o.remove("a"), Some(Json::from("x")));
    assert!(!o.contains_key("a") && o.len() == 1);
}

#[test]
fn numbers_compare_numerically() {
    let n = |t: &str| Json::parse(t).unwrap();
    assert_eq!(n("[1]"), n("[1.0]"));
    assert_ne!(n("1"), n("2"));
    assert_eq!(n("-0"), n("0"));
}

#[test]
fn repeated_keys_are_named() {
    let v = Json::parse(r#"{"b":1,"a":2,"b":3,"c":0,"b":4}"#).unwrap();
    let o = v.as_object().unwrap();
    assert!(o.is_duplicate_key("b") && !o.is_duplicate_key("a"));
    assert_eq!(o.get("b").and_then(Json::as_u64), Some(4));
}

#[test]
fn objects_from_unordered_entries_sort_stably() {
    let keys = ["m", "b", "z", "b", "a", "m", "", "é", "B", "b"];
    let entries: Vec<(String, Json)> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| ((*k).to_owned(), Json::from(i)))
        .collect();
    let o = Object::from_entries(entries);
    let got: Vec<(&str, u64)> = o
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_u64().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            ("", 6),
            ("B", 8),
            ("a", 4),
            ("b", 9),
            ("m", 5),
            ("z", 2),
            ("é", 7)
        ]
    );
    assert!(o.is_duplicate_key("b") && o.is_duplicate_key("m") && !o.is_duplicate_key("z"));
    let sorted = Object::from_entries(vec![("a".into(), Json::Null), ("b".into(), Json::Null)]);
    assert!(!sorted.had_duplicate_keys() && sorted.len() == 2);
}

#[test]
fn a_value_is_small() {
    // Documents hold many values: 40 bytes on 64-bit targets (serde_json::Value: 32).
    assert!(
        std::mem::size_of::<Json>() <= 40,
        "{}",
        std::mem::size_of::<Json>()
    );
    assert!(std::mem::size_of::<Number>() <= 16);
}

#[test]
fn expected_keys_match_exactly_their_bytes() {
    let keys = [
        (KeyBytes::new(b"\"op\":"), 0),
        (KeyBytes::new(b"\"type\":"), 1),
        (KeyBytes::new(b"\"channel\":"), 2),
        (KeyBytes::new(b"\"mutation_id\":"), 3),
    ];
    let texts: [&[u8]; 12] = [
        b"\"op\":1}",
        b"\"op\" :1}",
        b"\"o\":1}  ",
        b"\"op\":",
        b"\"type\":\"x\"}",
        b"\"typ\":\"x\"}",
        b"\"types\":\"x\"}",
        b"\"channel\":\"x\"}",
        b"\"channel:\"x\"}",
        b"\"channeL\":\"x\"}",
        b"\"mutation_id\":1}",
        b"\"mutation_ix\":1}",
    ];
    for text in texts {
        for (i, (key, _)) in keys.iter().enumerate() {
            let written: &[&[u8]] = &[
                b"\"op\":",
                b"\"type\":",
                b"\"channel\":",
                b"\"mutation_id\":",
            ];
            let expect = text.starts_with(written[i]) && text.len() >= 8;
            assert_eq!(
                key.starts(text),
                expect,
                "{:?} {i}",
                String::from_utf8_lossy(text)
            );
        }
        let s = std::str::from_utf8(text).unwrap();
        for start in 0..keys.len() {
            let mut p = Parser::new(s);
            let mut next = start;
            let got = p.eat_expected_key(&keys, &mut next);
            let want = (start..(start + 2).min(keys.len()))
                .find(|&i| keys[i].0.starts(text))
                .map(|i| keys[i].1);
            assert_eq!(got, want);
        }
    }
}
