//! A live change (a frame of one message) is flushed at once, however recently the last flush
//! was: waiting for the interval was most of the end-to-end latency. A frame of several
//! messages (the server had a backlog) is throttled to one flush per interval, and a full
//! frame — the server stopped joining at `MAX_JOINED_FRAME_BYTES`, so more is queued behind it
//! — holds the changes for the frame that ends the burst, never longer than the interval.

use crate::common::{changes, reset, upsert, Driver};
use tether_core::Config;
use tether_protocol::{codec, json, MAX_JOINED_FRAME_BYTES};

fn ready() -> Driver {
    let mut d = Driver::new(Config {
        flush_interval_ms: 16,
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
fn a_live_event_right_after_a_flush_is_flushed_at_once() {
    let mut d = ready();
    d.server(upsert("tasks", 1, 0, "a", 1, json!({"n": 1}), None));
    assert_eq!(changes(&d.advance(100)).len(), 1);
    // 2 ms after that flush: not held until 116.
    d.advance(102);
    d.server(upsert("tasks", 2, 1, "a", 2, json!({"n": 2}), None));
    let out = d.advance(102);
    assert_eq!(
        changes(&out).len(),
        1,
        "flushed at 102, not at the interval's end"
    );
}

#[test]
fn a_full_frame_holds_the_changes_until_the_frame_that_ends_the_burst() {
    let mut d = ready();
    let (full, next) = joined(1, MAX_JOINED_FRAME_BYTES);
    assert!(full.len() >= MAX_JOINED_FRAME_BYTES);
    d.engine.handle_message(d.now, full.as_bytes());
    assert!(
        changes(&d.advance(105)).is_empty(),
        "a full frame: more is queued behind it"
    );
    let (tail, _) = joined(next, 1_000);
    d.engine.handle_message(d.now, tail.as_bytes());
    let out = d.advance(105);
    let sets = changes(&out);
    assert_eq!(
        sets.len(),
        1,
        "the short frame ends the burst: one change set for both"
    );
    assert_eq!(
        d.engine.cursor("tasks").unwrap().offset,
        next + (tail.matches('\n').count() as u64)
    );
}

#[test]
fn a_burst_that_does_not_end_is_flushed_after_the_interval() {
    let mut d = ready();
    let (full, next) = joined(1, MAX_JOINED_FRAME_BYTES);
    d.engine.handle_message(d.now, full.as_bytes());
    d.advance(110);
    let (again, _) = joined(next, MAX_JOINED_FRAME_BYTES);
    d.engine.handle_message(d.now, again.as_bytes());
    assert!(changes(&d.advance(115)).is_empty());
    // 16 ms after the oldest held change (at 100), whatever else is still coming.
    assert_eq!(changes(&d.advance(116)).len(), 1);
}

#[test]
fn frames_of_several_messages_are_throttled_and_a_single_message_flushes_at_once() {
    let mut d = ready();
    let (backlog, next) = joined(1, 2_000);
    assert!(backlog.len() < MAX_JOINED_FRAME_BYTES && backlog.contains('\n'));
    // The first joined frame after a quiet interval: at once.
    d.engine.handle_message(d.now, backlog.as_bytes());
    assert_eq!(changes(&d.advance(100)).len(), 1);
    // The next one within the interval of that flush waits for the interval's end...
    d.advance(104);
    let (more, next) = joined(next, 2_000);
    d.engine.handle_message(d.now, more.as_bytes());
    assert!(
        changes(&d.advance(115)).is_empty(),
        "a backlog is throttled"
    );
    assert_eq!(changes(&d.advance(116)).len(), 1);
    // ...while a live event (one message) right after a flush goes at once.
    d.advance(118);
    d.server(upsert(
        "tasks",
        next,
        next - 1,
        "live",
        1,
        json!({"n": 1}),
        None,
    ));
    assert_eq!(changes(&d.advance(118)).len(), 1);
}
