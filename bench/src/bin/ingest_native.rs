//! The client engine alone, natively, ingesting the benchmark's burst as the server sends it:
//! `docs` x `rounds` upsert events of channel "ingest" (every tenth delivered twice), each a
//! compact `event` message as the reference server writes it (with its `origin`), joined into
//! `tether-lines` frames the way the server's socket writer joins a queue (up to
//! `MAX_JOINED_FRAME_BYTES`), fed frame by frame with the flush timer fired as the shell would.
//! Prints the frames, events, change-set outputs and the time. For instruction counts, run it
//! under callgrind and collect only the burst:
//!
//! `valgrind --tool=callgrind --toggle-collect='*ingest_burst*' target/release/ingest_native`
//!
//! `cargo run --release -p tether-bench --bin ingest_native -- [docs] [rounds] [burst_hold_ms]
//! [ids]` (`-` for the default `burst_hold_ms`).
//!
//! `ids` is `numeric` (the default: `d0`, `d1`, ... in delivery order, so a new id mostly
//! sorts near the end) or `random` (a hash of the number, so a new id lands anywhere in the
//! map).

use std::time::Instant;

use tether_core::{Config, Engine, Output};
use tether_protocol::{
    codec, Continuity, EventKind, EventOp, Json, Limits, Object, Origin, ServerMessage,
    MAX_JOINED_FRAME_BYTES,
};

/// Drains the outputs; the number of change-set outputs.
fn drain(e: &mut Engine) -> usize {
    let mut sets = 0;
    while let Some(o) = e.poll_output() {
        if matches!(o, Output::Changes(_)) {
            sets += 1;
        }
    }
    sets
}

/// The id of document number `d`: numeric, or a scrambled (but fixed) hex string.
fn doc_id(d: u64, random: bool) -> String {
    if !random {
        return format!("d{d}");
    }
    // splitmix64: a bijection, so distinct numbers keep distinct ids.
    let mut z = d.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    format!("r{:016x}", z ^ (z >> 31))
}

/// The burst's messages, in delivery order.
fn messages(docs: u64, rounds: u64, random: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut offset = 0;
    for round in 1..=rounds {
        for d in 0..docs {
            offset += 1;
            let mut body = Object::new();
            body.insert("round", Json::from(round));
            body.insert("seq", Json::from(offset));
            let text = codec::encode_server(&ServerMessage::Event {
                channel: "ingest".into(),
                epoch: "e1".into(),
                offset,
                prev: offset - 1,
                op: EventOp::Upsert,
                kind: Some(if round == 1 {
                    EventKind::Created
                } else {
                    EventKind::Updated
                }),
                id: doc_id(d, random),
                version: round,
                doc: Some(Json::Object(body)),
                origin: Some(Origin {
                    client_id: "publisher".into(),
                    mutation_id: offset,
                }),
            });
            if offset % 10 == 0 {
                out.push(text.clone());
            }
            out.push(text);
        }
    }
    out
}

/// The messages joined into frames as the server's writer does.
fn frames(messages: &[String]) -> Vec<String> {
    let mut frames = Vec::new();
    let mut frame = String::new();
    for m in messages {
        if !frame.is_empty() && frame.len() >= MAX_JOINED_FRAME_BYTES {
            frames.push(std::mem::take(&mut frame));
        }
        if !frame.is_empty() {
            frame.push('\n');
        }
        frame.push_str(m);
    }
    if !frame.is_empty() {
        frames.push(frame);
    }
    frames
}

/// Feeds the frames (the part measured); the change-set outputs.
#[inline(never)]
fn ingest_burst(engine: &mut Engine, frames: &[String], now: &mut u64) -> usize {
    let mut sets = 0;
    for frame in frames {
        engine.handle_message(*now, frame.as_bytes());
        sets += drain(engine);
        // About the browser's pace: a frame every couple of milliseconds.
        *now += 2;
        engine.handle_timeout(*now);
        sets += drain(engine);
    }
    *now += 100;
    engine.handle_timeout(*now);
    sets + drain(engine)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let docs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let burst_hold_ms: Option<u64> = args.next().and_then(|a| a.parse().ok());
    let random = args.next().is_some_and(|a| a == "random");
    let config = Config {
        burst_hold_ms,
        ..Config::default()
    };
    let mut engine = Engine::new(config, "me", 7);
    if engine.subscribe(0, "ingest", None).is_err() {
        eprintln!("subscribe failed");
        return;
    }
    engine.connect(0);
    engine.socket_opened(0);
    let setup = [
        ServerMessage::Welcome {
            protocol: 1,
            client_id: "me".into(),
            heartbeat_timeout_ms: 30_000,
            limits: Limits {
                max_message_bytes: 1 << 20,
                max_subscriptions: 64,
                rate_per_sec: 100,
                rate_burst: 200,
            },
        },
        ServerMessage::Subscribed {
            channel: "ingest".into(),
            epoch: "e1".into(),
            offset: 0,
            continuity: Continuity::Reset,
            snapshot: Some(Vec::new()),
            more: false,
        },
    ];
    for m in &setup {
        engine.handle_message(0, codec::encode_server(m).as_bytes());
    }
    engine.handle_timeout(100);
    drain(&mut engine);
    let messages = messages(docs, rounds, random);
    let frames = frames(&messages);
    let mut now = 1_000;
    let start = Instant::now();
    let sets = ingest_burst(&mut engine, &frames, &mut now);
    let took = start.elapsed();
    let events = messages.len();
    let docs_held = engine.visible("ingest").map_or(0, |v| v.len());
    println!(
        "{events} event messages in {} frames: {:.2} ms ({:.2} us/event), {sets} change-set \
         outputs, {docs_held} documents visible",
        frames.len(),
        took.as_secs_f64() * 1000.0,
        took.as_secs_f64() * 1e6 / events as f64,
    );
}
