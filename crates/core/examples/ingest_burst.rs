//! The engine alone (natively) ingesting a burst like the client benchmark's: `docs` x `rounds`
//! upsert events of one channel, every tenth delivered twice, fed frame by frame as the shell
//! would, with the timers fired every 16 ms of (virtual) input time. Prints the time and
//! the change-sets emitted.
//!
//! `cargo run --release -p tether-core --example ingest_burst -- [docs] [rounds] [lines]`
//! (`lines`: the messages joined into `tether-lines` frames of up to 64 KiB, as the reference
//! server sends a burst)

use std::time::Instant;

use tether_core::{Config, Engine, Output};
use tether_protocol::json;
use tether_protocol::{
    codec, Continuity, EventKind, EventOp, Limits, ServerMessage, MAX_JOINED_FRAME_BYTES,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let docs: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let rounds: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10);
    let mut engine = Engine::new(Config::default(), "me", 7);
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
    let lines = args.next().is_some_and(|a| a == "lines");
    let mut frames: Vec<String> = Vec::new();
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
                push(&mut frames, lines, frame.clone());
            }
            push(&mut frames, lines, frame);
        }
    }
    let start = Instant::now();
    // Single-message frames: timers every 500 frames; joined frames: after each one.
    let sets = ingest(&mut engine, &frames, if lines { 1 } else { 500 });
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

/// Drains the engine's outputs; the number of change-set outputs among them.
fn drain(e: &mut Engine) -> usize {
    let mut sets = 0;
    while let Some(o) = e.poll_output() {
        if matches!(o, Output::Changes(_)) {
            sets += 1;
        }
    }
    sets
}

/// Appends one message: as a frame of its own, or (`lines`) joined to the last frame while
/// that stays under the server's joined-frame size, as the reference server joins them.
fn push(frames: &mut Vec<String>, lines: bool, message: String) {
    if lines {
        if let Some(last) = frames.last_mut() {
            if last.len() + 1 + message.len() <= MAX_JOINED_FRAME_BYTES {
                last.push('\n');
                last.push_str(&message);
                return;
            }
        }
    }
    frames.push(message);
}

/// The measured part: every frame handed to the engine, the timers fired every
/// `timer_every` frames and at the end (16 ms of virtual time each). Its own function so that
/// `valgrind --tool=callgrind --toggle-collect='ingest_burst::ingest'` counts it alone.
#[inline(never)]
fn ingest(engine: &mut Engine, frames: &[String], timer_every: usize) -> usize {
    let mut sets = 0;
    let mut now = 1000;
    for (i, frame) in frames.iter().enumerate() {
        engine.handle_message(now, frame.as_bytes());
        sets += drain(engine);
        if i % timer_every == timer_every - 1 {
            now += 16;
            engine.handle_timeout(now);
            sets += drain(engine);
        }
    }
    now += 16;
    engine.handle_timeout(now);
    sets += drain(engine);
    sets
}
