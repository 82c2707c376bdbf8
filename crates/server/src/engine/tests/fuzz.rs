//! Seeded random sessions against the engine: no panic on any input, every output decodes,
//! and every subscriber's copy, maintained with the client rules (drop `offset <= cursor`,
//! apply when `prev <= cursor`, a gap otherwise), never sees a gap and ends equal to the
//! server's documents filtered by its subscription.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Value};
use tether_protocol::{EventOp, Filter, ServerMessage};

use super::{Got, H};
use crate::engine::{ConnId, ServerConfig};
use crate::store::Store;

/// xorshift64*: deterministic, seeded.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A subscriber's copy of one channel.
#[derive(Debug, Default)]
struct Copy {
    filter: Option<Filter>,
    cursor: u64,
    docs: BTreeMap<String, (u64, Value)>,
    /// A `subscribe` is in flight: events before its `subscribed` belong to the old one.
    pending: Option<Option<Filter>>,
}

const CHANNELS: [&str; 2] = ["a", "b"];
const IDS: [&str; 4] = ["d0", "d1", "d2", "d3"];

fn filters() -> Vec<Option<Value>> {
    vec![
        None,
        Some(json!({"field": "s", "op": "eq", "value": 1})),
        Some(json!({"field": "n", "op": "gte", "value": 5})),
        Some(
            json!({"or": [{"field": "s", "op": "eq", "value": 0}, {"field": "n", "op": "lt", "value": 2}]}),
        ),
    ]
}

fn junk(rng: &mut Rng) -> Vec<u8> {
    let templates: [&[u8]; 6] = [
        b"{\"type\":\"mutate\",\"mutation_id\":-1}",
        b"{\"type\":\"subscribe\",\"channel\":\"a\",\"filter\":{\"and\":5}}",
        b"{\"type\":\"subscribe\",\"channel\":\"a\",\"since\":{\"epoch\":\"ep1\",\"offset\":18446744073709551615}}",
        b"{\"type\":\"presence\",\"channel\":\"zz\",\"state\":[1]}",
        b"\xff\x00{",
        b"{\"type\":\"request\",\"id\":1,\"method\":\"nope\"}",
    ];
    let mut bytes = rng.pick(&templates).to_vec();
    if rng.below(2) == 0 && !bytes.is_empty() {
        let at = rng.below(bytes.len() as u64) as usize;
        bytes[at] = rng.next() as u8;
    }
    bytes
}

/// One client: its connection (if any) and its copies, kept across reconnects.
#[derive(Default)]
struct Client {
    conn: Option<ConnId>,
    next_mid: u64,
    copies: HashMap<String, Copy>,
}

const CLIENTS: usize = 5;

fn subscribe_frame(channel: &str, filter: &Option<Value>, since: Option<u64>) -> Value {
    let mut s = json!({"type": "subscribe", "channel": channel});
    if let Some(f) = filter {
        s["filter"] = f.clone();
    }
    if let Some(offset) = since {
        s["since"] = json!({"epoch": "ep1", "offset": offset});
    }
    s
}

fn drain_into(h: &mut H, clients: &mut [Client], seed: u64) {
    for got in h.drain() {
        let (conn, msg) = match got {
            Got::Msg(conn, msg) => (conn, msg),
            Got::Close(conn, _) => {
                for c in clients.iter_mut().filter(|c| c.conn == Some(conn)) {
                    c.conn = None;
                    c.copies.retain(|_, copy| copy.pending.is_none());
                }
                continue;
            }
        };
        if let Some(client) = clients.iter_mut().find(|c| c.conn == Some(conn)) {
            apply(&mut client.copies, msg, seed);
        }
    }
}

fn run(seed: u64) {
    let mut rng = Rng(seed | 1);
    let mut h = H::with(ServerConfig {
        retain_events: 12,
        rate_per_sec: 0,
        heartbeat_timeout_ms: 5_000,
        ..ServerConfig::default()
    });
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::default()).collect();
    let filters = filters();
    for step in 0..4_000 {
        let who = rng.below(CLIENTS as u64) as usize;
        let channel = rng.pick(&CHANNELS).to_string();
        let Some(conn) = clients[who].conn else {
            // (Re)connect and resume every copy of the same view from its cursor.
            let conn = h.conn(&format!("client{who}"));
            clients[who].conn = Some(conn);
            let resume: Vec<(String, Option<Value>, u64)> = clients[who]
                .copies
                .iter()
                .map(|(ch, copy)| {
                    (
                        ch.clone(),
                        copy.filter.as_ref().map(|f| Value::from(f.to_value())),
                        copy.cursor,
                    )
                })
                .collect();
            for (ch, filter, cursor) in resume {
                if let Some(copy) = clients[who].copies.get_mut(&ch) {
                    copy.pending = Some(copy.filter.clone());
                }
                h.send(conn, subscribe_frame(&ch, &filter, Some(cursor)));
                drain_into(&mut h, &mut clients, seed);
            }
            continue;
        };
        let frame = match rng.below(12) {
            0..=4 => {
                let client = &mut clients[who];
                client.next_mid += 1 + rng.below(2);
                let op = *rng.pick(&["put", "put", "patch", "delete"]);
                let mut m = json!({"type": "mutate", "mutation_id": client.next_mid,
                                   "channel": channel, "op": op, "id": rng.pick(&IDS),
                                   "doc": {"s": rng.below(2), "n": rng.below(8)}});
                if rng.below(3) == 0 {
                    m["base_version"] = json!(rng.below(4));
                }
                m
            }
            5 | 6 => {
                let filter = rng.pick(&filters).clone();
                let parsed = filter
                    .as_ref()
                    .and_then(|f| Filter::parse(&f.clone().into()).ok());
                let copy = clients[who].copies.entry(channel.clone()).or_default();
                // A client resumes only a copy of the same view (else it resubscribes fresh).
                let resumable = copy.pending.is_none() && copy.filter == parsed && copy.cursor > 0;
                copy.pending = Some(parsed);
                let since = (resumable && rng.below(3) != 0).then_some(copy.cursor);
                subscribe_frame(&channel, &filter, since)
            }
            7 => json!({"type": "presence", "channel": channel, "state": {"x": rng.below(3)}}),
            8 => json!({"type": "broadcast", "channel": channel, "payload": step}),
            9 => {
                if rng.below(3) == 0 {
                    h.e.disconnect(h.now, conn);
                    clients[who].conn = None;
                    clients[who].copies.retain(|_, copy| copy.pending.is_none());
                    drain_into(&mut h, &mut clients, seed);
                    continue;
                }
                clients[who].copies.remove(&channel);
                json!({"type": "unsubscribe", "channel": channel})
            }
            10 => {
                h.e.handle_frame(h.now, conn, &junk(&mut rng));
                json!({"type": "ping", "nonce": step})
            }
            _ => {
                h.now += rng.below(50);
                h.e.handle_timeout(h.now);
                json!({"type": "ping", "nonce": step})
            }
        };
        h.send(conn, frame);
        drain_into(&mut h, &mut clients, seed);
    }
    // Every live copy equals the server's view of its channel.
    for client in &clients {
        let Some(conn) = client.conn else {
            continue;
        };
        for (channel, copy) in &client.copies {
            if copy.pending.is_some() {
                continue;
            }
            let expected: BTreeMap<String, (u64, Value)> =
                h.e.store_mut()
                    .snapshot(channel)
                    .unwrap()
                    .into_iter()
                    .filter(|d| copy.filter.as_ref().is_none_or(|f| f.matches(&d.doc)))
                    .map(|d| (d.id, (d.version, Value::from(d.doc))))
                    .collect();
            assert_eq!(
                copy.docs, expected,
                "seed {seed}: copy of {channel} for {conn}"
            );
        }
    }
}

fn apply(copies: &mut HashMap<String, Copy>, msg: ServerMessage, seed: u64) {
    match msg {
        ServerMessage::Subscribed {
            channel,
            offset,
            snapshot,
            ..
        } => {
            let copy = copies.entry(channel).or_default();
            copy.filter = copy.pending.take().flatten();
            copy.cursor = offset;
            if let Some(docs) = snapshot {
                copy.docs = docs
                    .into_iter()
                    .map(|d| (d.id, (d.version, Value::from(d.doc))))
                    .collect();
            }
        }
        ServerMessage::Event {
            channel,
            offset,
            prev,
            op,
            id,
            version,
            doc,
            ..
        } => {
            let Some(copy) = copies.get_mut(&channel) else {
                return;
            };
            if offset <= copy.cursor {
                return; // duplicate
            }
            assert!(
                prev <= copy.cursor,
                "seed {seed}: gap on {channel}: prev {prev} > cursor {}",
                copy.cursor
            );
            copy.cursor = offset;
            match op {
                EventOp::Upsert => {
                    copy.docs
                        .insert(id, (version, doc.map_or(Value::Null, Value::from)));
                }
                EventOp::Remove => {
                    copy.docs.remove(&id);
                }
            }
        }
        _ => {}
    }
}

#[test]
fn random_sessions_never_panic_never_gap_and_converge() {
    for seed in 1..=20u64 {
        run(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
}

#[test]
fn arbitrary_bytes_never_panic() {
    let mut rng = Rng(7);
    let mut h = H::new();
    let c = h.raw();
    for _ in 0..5_000 {
        let len = rng.below(64) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        h.e.handle_frame(h.now, c, &bytes);
    }
    h.drain();
    let c = h.conn("after");
    assert!(h.e.is_connected(c));
}
