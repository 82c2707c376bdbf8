//! `Config::burst_hold_ms`: a burst of full frames that lasts longer than the flush interval
//! is still one change set when the hold allows it (the frame that ends the burst flushes it),
//! it is flushed when the hold runs out, and a live event in the middle of it is not held.

use crate::common::{changes, reset, upsert, Driver};
use tether_core::Config;
use tether_protocol::{codec, json, MAX_JOINED_FRAME_BYTES};

fn ready(hold: u64) -> Driver {
    let mut d = Driver::new(Config {
        flush_interval_ms: 16,
        burst_hold_ms: Some(hold),
        ..Config::default()
    });
    d.engine.subscribe(0, "tasks", None).unwrap();
    d.connect_ready();
    d.server(reset("tasks", 0, vec![]));
    d.advance(100);
    d.drain();
    d
}

/// Events from offset `first` on, joined into one frame of at least `min_bytes`.
fn joined(first: u64, min_bytes: usize) -> (String, u64) {
    let mut frame = String::new();
    let mut offset = first;
    while frame.len() < min_bytes || offset == first {
        if !frame.is_empty() {
            frame.push('\n');
        }
        let id = format!("d{}", offset % 50);
        let msg = upsert(
            "tasks",
            offset,
            offset - 1,
            &id,
            offset,
            json!({"pad": "x".repeat(200)}),
            None,
        );
        frame.push_str(&codec::encode_server(&msg));
        offset += 1;
    }
    (frame, offset)
}

#[test]
fn a_long_burst_of_full_frames_is_one_change_set() {
    let mut d = ready(200);
    let mut next = 1;
    // Six full frames, 10 ms apart: 60 ms, well past the 16 ms interval.
    for i in 0..6 {
        let (full, after) = joined(next, MAX_JOINED_FRAME_BYTES);
        next = after;
        d.engine.handle_message(d.now, full.as_bytes());
        assert!(
            changes(&d.advance(100 + 10 * (i + 1))).is_empty(),
            "held while the burst continues"
        );
    }
    let (tail, _) = joined(next, 1_000);
    d.engine.handle_message(d.now, tail.as_bytes());
    assert_eq!(
        changes(&d.advance(d.now)).len(),
        1,
        "the short frame ends the burst: one change set for all of it"
    );
}

#[test]
fn the_hold_is_bounded() {
    let mut d = ready(50);
    let (full, next) = joined(1, MAX_JOINED_FRAME_BYTES);
    d.engine.handle_message(d.now, full.as_bytes());
    d.advance(130);
    let (again, _) = joined(next, MAX_JOINED_FRAME_BYTES);
    d.engine.handle_message(d.now, again.as_bytes());
    assert!(changes(&d.advance(149)).is_empty());
    // 50 ms after the oldest held change (at 100), whatever else is still coming.
    assert_eq!(changes(&d.advance(150)).len(), 1);
}

#[test]
fn a_live_event_in_a_held_burst_is_not_held() {
    let mut d = ready(200);
    let (full, next) = joined(1, MAX_JOINED_FRAME_BYTES);
    d.engine.handle_message(d.now, full.as_bytes());
    assert!(changes(&d.advance(110)).is_empty());
    d.server(upsert(
        "tasks",
        next,
        next - 1,
        "live",
        1,
        json!({"n": 1}),
        None,
    ));
    let out = d.advance(110);
    let sets = changes(&out);
    assert_eq!(sets.len(), 1, "flushed at once, with what the burst held");
    assert!(sets[0].upserts.iter().any(|u| u.id == "live"));
}
