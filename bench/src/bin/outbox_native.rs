//! The client engine alone, natively, queueing writes offline: `n` `mutate` calls (put) on a
//! subscribed channel that never connects, as a page's loop of writes does while offline, each
//! followed by draining the outputs; then the one write batch is taken and reported durable.
//! `ids` is `distinct` (the default: document `d{i}` for call `i`) or `repeated` (ten
//! documents, written in turn). Prints the time per call. For instruction counts, run it
//! under callgrind and collect only the calls:
//!
//! `valgrind --tool=callgrind --toggle-collect='*mutate_burst*' target/release/outbox_native
//! 1000 distinct`
//!
//! `cargo run --release -p tether-bench --bin outbox_native -- [n] [ids]`

use std::time::Instant;

use tether_core::{Config, Engine, Precondition};
use tether_protocol::{Json, Object, Op};

/// The `n` calls (the part measured); how many were refused.
#[inline(never)]
fn mutate_burst(engine: &mut Engine, n: u64, repeated: bool) -> u64 {
    let mut refused = 0;
    for i in 0..n {
        let id = if repeated {
            format!("d{}", i % 10)
        } else {
            format!("d{i}")
        };
        let mut body = Object::new();
        body.insert("title", Json::from(format!("task {i}")));
        body.insert("done", Json::from(i % 2 == 0));
        body.insert("n", Json::from(i));
        let doc = Some(Json::Object(body));
        if engine
            .mutate(i, "tasks", Op::Put, &id, doc, Precondition::Auto)
            .is_err()
        {
            refused += 1;
        }
        while engine.poll_output().is_some() {}
    }
    refused
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let repeated = args.next().is_some_and(|a| a == "repeated");
    let mut engine = Engine::new(Config::default(), "me", 7);
    if engine.subscribe(0, "tasks", None).is_err() {
        eprintln!("subscribe failed");
        return;
    }
    while engine.poll_output().is_some() {}
    let start = Instant::now();
    let refused = mutate_burst(&mut engine, n, repeated);
    let took = start.elapsed();
    let mut stored = 0;
    if let Some(batch) = engine.take_writes() {
        stored = batch.writes.len();
        engine.write_done(n, batch.id, Ok(()));
    }
    while engine.poll_output().is_some() {}
    println!(
        "{n} mutate calls ({}): {:.2} ms ({:.2} us/call), {refused} refused, {stored} writes \
         in the batch",
        if repeated {
            "repeated ids"
        } else {
            "distinct ids"
        },
        took.as_secs_f64() * 1000.0,
        took.as_secs_f64() * 1e6 / n as f64,
    );
}
