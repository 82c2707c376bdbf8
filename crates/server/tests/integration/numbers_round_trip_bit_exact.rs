//! Numbers pass through the server bit-exactly (PROTOCOL.md §1, "Numbers"): random documents
//! (floats with 17 significant digits, shortest forms, subnormals, huge and tiny exponents,
//! negative zero, integers near ±2^53) written as JSON text by one client come back to a live
//! subscriber, and after a restart from the SQLite file to a fresh subscriber, as the same JSON
//! values: every integer equal, every other number the same f64 bits as a correctly rounded
//! parse of the text written. An integer outside ±(2^53−1) is refused `reject invalid`.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRng, TestRunner};
use serde_json::{json, Value};
use tether_protocol::{RejectReason, ServerMessage, MAX_SAFE_INTEGER};

use crate::common::{ack, TestServer};

const DOCS: usize = 300;

/// A JSON number as a peer may write it.
fn number_text() -> impl Strategy<Value = String> {
    let finite = any::<u64>()
        .prop_map(f64::from_bits)
        .prop_filter("finite", |x| x.is_finite());
    let safe = MAX_SAFE_INTEGER as i64;
    prop_oneof![
        finite.clone().prop_map(|x| format!("{x:.16e}")),
        finite.prop_map(|x| format!("{x:e}")),
        (-1.0e4f64..1.0e4).prop_map(|x| format!("{x}")),
        (safe - 1000..=safe).prop_map(|n| n.to_string()),
        (-safe..=-safe + 1000).prop_map(|n| n.to_string()),
        (safe - 1000..=safe).prop_map(|n| format!("{n}.0")),
        Just("-0.0".to_owned()),
        Just("5e-324".to_owned()),
        Just("121.44729141098199".to_owned()),
    ]
}

/// A JSON object text with numbers, arrays and nested objects.
fn doc_text() -> impl Strategy<Value = String> {
    let leaf = number_text();
    let value = leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(inner, 0..3).prop_map(|v| {
                let fields: Vec<String> = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| format!("\"k{i}\":{x}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    });
    prop::collection::vec(value, 1..6).prop_map(|v| {
        let fields: Vec<String> = v
            .iter()
            .enumerate()
            .map(|(i, x)| format!("\"f{i}\":{x}"))
            .collect();
        format!("{{{}}}", fields.join(","))
    })
}

/// Equal as JSON values, floats compared by their bits.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64()) {
            (Some(i), Some(j), _) => i == j,
            (None, None, Some(u)) => y.as_u64() == Some(u),
            _ if x.is_f64() && y.is_f64() => {
                x.as_f64().map(f64::to_bits) == y.as_f64().map(f64::to_bits)
            }
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Every float in `v` (parsed by serde_json) against a correctly rounded parse of its text.
fn parsed_exactly(text: &str, v: &Value) {
    fn floats(v: &Value, out: &mut Vec<u64>) {
        match v {
            Value::Number(n) if n.is_f64() => out.push(n.as_f64().unwrap().to_bits()),
            Value::Array(items) => items.iter().for_each(|i| floats(i, out)),
            Value::Object(fields) => fields.values().for_each(|i| floats(i, out)),
            _ => {}
        }
    }
    let mut ours = Vec::new();
    floats(v, &mut ours);
    // The texts of the numbers, in document order (keys are written in sorted order: f0.., k0..).
    let mut reference = Vec::new();
    for token in text.split(['[', ']', '{', '}', ',', ':']) {
        let t = token.trim();
        if !t.is_empty() && !t.starts_with('"') && (t.contains(['.', 'e'])) {
            reference.push(t.parse::<f64>().unwrap().to_bits());
        }
    }
    assert_eq!(ours, reference, "{text}");
}

fn doc_of(msg: &ServerMessage) -> (String, Value) {
    match msg {
        ServerMessage::Event {
            id, doc: Some(doc), ..
        } => (id.clone(), Value::from(doc.clone())),
        other => panic!("expected an upsert event, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_documents_come_back_bit_exactly_live_and_after_restart() {
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(proptest::test_runner::RngAlgorithm::ChaCha),
    );
    let strategy = doc_text();
    let texts: Vec<String> = (0..DOCS)
        .map(|_| strategy.new_tree(&mut runner).expect("a value").current())
        .collect();
    let expected: Vec<Value> = texts
        .iter()
        .map(|t| {
            let v: Value = serde_json::from_str(t).expect("valid JSON");
            parsed_exactly(t, &v);
            v
        })
        .collect();

    let server = TestServer::start(|o| o.rate_per_sec = 0).await;
    let mut reader = server.client("reader").await;
    reader.subscribe(json!({"channel": "nums"})).await;
    let mut writer = server.client("writer").await;
    for (i, text) in texts.iter().enumerate() {
        let frame = format!(
            r#"{{"type":"mutate","mutation_id":{},"channel":"nums","op":"put","id":"d{i:04}","doc":{text}}}"#,
            i + 1
        );
        writer.send_text(frame).await;
    }
    let mut acks = 0;
    while acks < DOCS {
        if let ServerMessage::Ack { .. } = writer.recv().await {
            acks += 1;
        }
    }
    for (i, want) in expected.iter().enumerate() {
        let (id, got) = doc_of(&reader.recv().await);
        assert_eq!(id, format!("d{i:04}"));
        assert!(same(&got, want), "live: wrote {}, got {got}", texts[i]);
    }

    // From the SQLite file, after a restart.
    let dir = server.stop().await;
    let server = TestServer::start_in(dir, |o| o.rate_per_sec = 0).await;
    let mut fresh = server.client("fresh").await;
    let got = fresh.subscribe(json!({"channel": "nums"})).await;
    let ServerMessage::Subscribed {
        snapshot: Some(snapshot),
        ..
    } = &got[0]
    else {
        panic!("expected a snapshot, got {:?}", got[0]);
    };
    assert_eq!(snapshot.len(), DOCS);
    for (doc, (want, text)) in snapshot.iter().zip(expected.iter().zip(&texts)) {
        assert!(
            same(&Value::from(doc.doc.clone()), want),
            "stored: wrote {text}, got {}",
            doc.doc
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn integers_beyond_2_pow_53_are_rejected_invalid() {
    let server = TestServer::start(|_| {}).await;
    let mut c = server.client("big").await;
    let max = MAX_SAFE_INTEGER;
    c.put(1, "nums", "ok", json!({"n": max, "m": -(max as i64)}))
        .await;
    assert_eq!(ack(&c.recv().await).0, 1);
    let bad = [
        (2, "put", json!({"n": max + 1})),
        (3, "put", json!({"a": [{"n": -(max as i64) - 1}]})),
        (4, "patch", json!({"n": u64::MAX})),
    ];
    for (mid, op, doc) in bad {
        c.send(
            json!({"type": "mutate", "mutation_id": mid, "channel": "nums", "op": op,
                      "id": "ok", "doc": doc}),
        )
        .await;
        match c.recv().await {
            ServerMessage::Reject {
                mutation_id,
                reason: RejectReason::Invalid,
                message,
                ..
            } => {
                assert_eq!(mutation_id, mid);
                assert!(message.contains("2^53"), "{message}");
            }
            other => panic!("expected reject invalid, got {other:?}"),
        }
    }
    server.stop().await;
}
