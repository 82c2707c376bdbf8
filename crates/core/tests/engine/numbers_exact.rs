//! Numbers reach the app, the cache and the server bit-exactly (PROTOCOL.md §1, "Numbers"):
//! floats in a server frame, written in any decimal form (here 17 significant digits, which is
//! rarely the shortest), come out of the engine's change-sets as the double a correctly rounded
//! parser reads (Rust's `str::parse::<f64>`); the persisted cache, written as JSON text the way
//! the shell's IndexedDB rows are, reads back as the same doubles; an optimistic write sends the
//! same bits; and an integer JavaScript cannot hold exactly is refused by `mutate`.

use crate::common::Driver;
use tether_core::{Config, EngineError, Output, PersistedState, Precondition};
use tether_protocol::{json, Json};
use tether_protocol::{ClientMessage, DocumentError, Op, MAX_SAFE_INTEGER};

/// Deterministic xorshift, so a failure replays.
fn numbers(count: usize) -> Vec<String> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut out: Vec<String> = [
        "121.44729141098199",
        "248.41383071984126",
        "-0.0",
        "5e-324",
        "2.2250738585072014e-308",
        "1.7976931348623157e308",
        "9007199254740993.0",
        "0.1",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    while out.len() < count {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let x = f64::from_bits(state);
        if x.is_finite() {
            out.push(if out.len() % 2 == 0 {
                format!("{x:.16e}")
            } else {
                format!("{x:e}")
            });
        }
    }
    out
}

fn bits(v: &Json) -> u64 {
    v.as_f64().expect("a number").to_bits()
}

#[test]
fn floats_keep_their_bits_through_views_cache_and_writes() {
    let mut d = Driver::new(Config {
        flush_interval_ms: 0,
        cache_interval_ms: 0,
        ..Config::default()
    });
    d.engine.subscribe(0, "nums", None).unwrap();
    d.connect_ready();
    let texts = numbers(2000);
    // A reset snapshot written by hand, numbers as text (not re-encoded by our own writer).
    let docs: Vec<String> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| format!(r#"{{"id":"d{i:04}","version":1,"doc":{{"x":{t},"l":[{t}]}}}}"#))
        .collect();
    let frame = format!(
        r#"{{"type":"subscribed","channel":"nums","epoch":"e1","offset":1,"continuity":"reset","snapshot":[{}]}}"#,
        docs.join(",")
    );
    d.engine.handle_message(d.now, frame.as_bytes());
    let out = d.drain();

    // What the app sees.
    let seen: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Changes(sets) => Some(sets.clone()),
            _ => None,
        })
        .flatten()
        .flat_map(|set| set.upserts)
        .collect();
    assert_eq!(seen.len(), texts.len());
    for (doc, text) in seen.iter().zip(&texts) {
        let expected: f64 = text.parse().unwrap();
        assert_eq!(
            bits(&doc.doc["x"]),
            expected.to_bits(),
            "{text} seen as {}",
            doc.doc["x"]
        );
        assert_eq!(bits(&doc.doc["l"][0]), expected.to_bits());
    }

    // The cache, stored as JSON text and read back.
    let stored = serde_json::to_string(&d.persisted).unwrap();
    let restored: PersistedState = serde_json::from_str(&stored).unwrap();
    let cached = &restored.channels["nums"].documents;
    assert_eq!(cached.len(), texts.len());
    for (i, text) in texts.iter().enumerate() {
        let expected: f64 = text.parse().unwrap();
        let doc = &cached[&format!("d{i:04}")].doc;
        assert_eq!(
            bits(&doc["x"]),
            expected.to_bits(),
            "{text} cached as {}",
            doc["x"]
        );
    }

    // An optimistic write of the same numbers sends the same bits.
    let body: tether_protocol::Object = seen
        .iter()
        .map(|doc| (doc.id.clone(), doc.doc["x"].clone()))
        .collect();
    d.engine
        .mutate(
            d.now,
            "nums",
            Op::Put,
            "all",
            Some(Json::Object(body.clone())),
            Precondition::Auto,
        )
        .unwrap();
    let sent = d.sent();
    let Some(ClientMessage::Mutate { doc: Some(doc), .. }) = sent.last() else {
        panic!("expected a mutate, got {sent:?}");
    };
    for (id, value) in &body {
        assert_eq!(bits(&doc[id]), bits(value), "{id}");
    }
}

#[test]
fn integers_outside_the_safe_range_are_refused_by_mutate() {
    let mut d = Driver::new(Config::default());
    for bad in [
        json!({"n": MAX_SAFE_INTEGER + 1}),
        json!({"deep": [{"n": -(MAX_SAFE_INTEGER as i64) - 1}]}),
    ] {
        let err = d
            .engine
            .mutate(0, "nums", Op::Put, "d", Some(bad), Precondition::Auto)
            .unwrap_err();
        assert!(
            matches!(
                err,
                EngineError::InvalidBody {
                    reason: DocumentError::UnsafeInteger { .. }
                }
            ),
            "{err:?}"
        );
    }
    let ok = json!({"n": MAX_SAFE_INTEGER, "m": -(MAX_SAFE_INTEGER as i64)});
    assert!(d
        .engine
        .mutate(0, "nums", Op::Put, "d", Some(ok), Precondition::Auto)
        .is_ok());
}
