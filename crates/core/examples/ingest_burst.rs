//! The engine alone (natively) ingesting a burst like the client benchmark's: `docs` x `rounds`
//! upsert events of one channel, every tenth delivered twice, fed frame by frame as the shell
//! would, with the flush timer fired every 16 ms of (virtual) input time. Prints the time and
//! the change-sets emitted.
//!
//! `cargo run --release -p tether-core --example ingest_burst -- [docs] [rounds]`

use std::time::Instant;

use tether_core::{Config, Engine, Output};
use tether_protocol::json;
use tether_protocol::{codec, Continuity, EventKind, EventOp, Limits, ServerMessage};

fn main() {
    let mut args = std::env::args().skip(1);
    let docs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let mut engine = Engine::new(Config::default(), "me", 7);
    let drain = |e: &mut Engine| {
        let mut sets = 0;
        while let Some(o) = e.poll_output() {
            if matches!(o, Output::Changes(_)) {
                sets += 1;
            }
        }
        sets
    };
    engine.subscribe(0, "ingest", None).expect("subscribe");
    engine.connect(0);
    engine.socket_opened(0);
    let feed = |e: &mut Engine, now: u64, m: &ServerMessage| {
        e.handle_message(now, codec::encode_server(m).as_bytes());
    };
    feed(
        &mut engine,
        0,
        &ServerMessage::Welcome {
            protocol: 1,
            client_id: "me".into(),
            heartbeat_timeout_ms: 30_000,
            limits: Limits {
                max_message_bytes: 1 << 18,
                max_subscriptions: 64,
                rate_per_sec: 100,
                rate_burst: 200,
            },
        },
    );
    feed(
        &mut engine,
        0,
        &ServerMessage::Subscribed {
            channel: "ingest".into(),
            epoch: "e1".into(),
            offset: 0,
            continuity: Continuity::Reset,
            snapshot: Some(Vec::new()),
            more: false,
        },
    );
    engine.handle_timeout(100);
    drain(&mut engine);
    let mut frames = Vec::new();
    let mut offset = 0;
    for round in 1..=rounds {
        for d in 0..docs {
            offset += 1;
            let frame = codec::encode_server(&ServerMessage::Event {
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
                id: format!("d{d}"),
                version: round,
                doc: Some(json!({"round": round, "seq": offset})),
                origin: None,
            });
            if offset % 10 == 0 {
                frames.push(frame.clone());
            }
            frames.push(frame);
        }
    }
    let start = Instant::now();
    let mut sets = 0;
    let mut now = 1000;
    for (i, frame) in frames.iter().enumerate() {
        engine.handle_message(now, frame.as_bytes());
        sets += drain(&mut engine);
        if i % 500 == 499 {
            now += 16;
            engine.handle_timeout(now);
            sets += drain(&mut engine);
        }
    }
    now += 16;
    engine.handle_timeout(now);
    sets += drain(&mut engine);
    let took = start.elapsed();
    println!(
        "{} frames ({} docs x {} rounds + duplicates): {:.1} ms, {} change-set outputs, {:.2} us/frame",
        frames.len(),
        docs,
        rounds,
        took.as_secs_f64() * 1000.0,
        sets,
        took.as_secs_f64() * 1e6 / frames.len() as f64
    );
}
