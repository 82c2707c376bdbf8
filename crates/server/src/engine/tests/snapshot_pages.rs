//! Paged snapshots: bounded pages, few in flight, and one consistent final offset while the
//! channel is written.

use serde_json::json;
use tether_protocol::{codec, Continuity, ServerMessage};

use super::flow::{config, poll, read_all};
use super::H;
use crate::engine::Output;

#[test]
fn a_snapshot_streams_in_bounded_pages_and_ends_at_one_consistent_offset() {
    let mut h = H::with(config(16));
    let w = h.conn("w");
    let body = "x".repeat(1_000);
    for i in 0..600u64 {
        h.put(w, i + 1, &format!("d{i:04}"), json!({"body": body, "n": i}));
    }
    let r = h.conn("r");
    h.send(r, json!({"type": "subscribe", "channel": "tasks"}));
    let mut frames: Vec<usize> = Vec::new();
    let mut msgs = Vec::new();
    let mut mid = 1_000;
    let mut step = 0;
    loop {
        let mut progressed = false;
        while let Some(out) = h.e.poll_output() {
            if let Output::Send { conn, frame } = out {
                if conn == r {
                    frames.push(frame.len());
                    msgs.push(codec::decode_server(frame.as_bytes()).expect("decodable"));
                    progressed = true;
                } else {
                    h.e.handle_written(h.now, conn, 1);
                }
            }
        }
        if !progressed && h.e.in_flight(r) == 0 {
            break;
        }
        step += 1;
        // While it streams: change a document already sent, one not yet sent, delete one,
        // and add one at the start of the id range.
        if step % 3 == 0 && mid < 1_040 {
            mid += 1;
            let id = match mid % 4 {
                0 => "d0001".to_owned(),
                1 => "d0599".to_owned(),
                2 => format!("d{:04}", mid - 1_000),
                _ => "a-new".to_owned(),
            };
            if mid % 4 == 2 {
                h.send(
                    w,
                    json!({"type": "mutate", "mutation_id": mid, "channel": "tasks",
                           "op": "delete", "id": id}),
                );
            } else {
                h.send(
                    w,
                    json!({"type": "mutate", "mutation_id": mid, "channel": "tasks",
                           "op": "put", "id": id, "doc": {"n": mid}}),
                );
            }
        }
        h.e.handle_written(h.now, r, 1);
    }
    let page_limit = 64 * 1024;
    assert!(frames.len() > 10, "several pages: {}", frames.len());
    assert!(frames.iter().all(|&f| f < page_limit), "bounded pages");
    // Rebuild the view as the client does.
    let mut view = std::collections::BTreeMap::new();
    let mut offset = None;
    let mut after = Vec::new();
    for m in msgs {
        match m {
            ServerMessage::Subscribed {
                snapshot,
                more,
                continuity,
                ..
            } => {
                assert_eq!(continuity, Continuity::Reset);
                assert!(more);
                for d in snapshot.unwrap_or_default() {
                    view.insert(d.id.clone(), d);
                }
            }
            ServerMessage::Snapshot {
                docs,
                removed,
                more,
                offset: at,
                ..
            } => {
                assert!(offset.is_none(), "nothing after the last page");
                for d in docs {
                    view.insert(d.id.clone(), d);
                }
                for id in removed {
                    view.remove(&id);
                }
                if !more {
                    offset = Some(at);
                }
            }
            ServerMessage::Event {
                offset: o,
                prev,
                id,
                version,
                doc,
                ..
            } => {
                let cursor = offset.expect("events only after the last page");
                let last = after.last().map_or(cursor, |(o, _)| *o);
                assert!(o > last && prev <= last, "the prev rule holds");
                after.push((o, prev));
                match doc {
                    Some(doc) => {
                        view.insert(id.clone(), tether_protocol::Document { id, version, doc });
                    }
                    None => {
                        view.remove(&id);
                    }
                }
            }
            ServerMessage::PresenceSync { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let offset = offset.expect("a last page");
    assert!(offset > 600, "writes landed while the snapshot streamed");
    assert!(!after.is_empty(), "and after its last page");
    // The view (the last page, then the events after it) is the store's state.
    use crate::store::Store;
    let brief = |d: &tether_protocol::Document| (d.id.clone(), d.version);
    let want: Vec<_> = h.e.store_mut().snapshot("tasks").expect("snapshot");
    let got: Vec<_> = view.into_values().collect();
    let (want_ids, got_ids): (Vec<_>, Vec<_>) = (
        want.iter().map(brief).collect(),
        got.iter().map(brief).collect(),
    );
    let missing: Vec<_> = want_ids.iter().filter(|w| !got_ids.contains(w)).collect();
    let extra: Vec<_> = got_ids.iter().filter(|g| !want_ids.contains(g)).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?} extra {extra:?} mid {mid}"
    );
    for (g, w) in got_ids.iter().zip(&want_ids) {
        assert_eq!(g, w);
    }
    assert!(got == want, "bodies equal");
}

#[test]
fn a_snapshot_keeps_only_a_few_pages_in_flight_whatever_the_capacity() {
    let mut h = H::with(config(1_024));
    let w = h.conn("w");
    let body = "x".repeat(1_000);
    for i in 0..2_000u64 {
        h.put(w, i + 1, &format!("d{i:04}"), json!({"body": body}));
    }
    let r = h.conn("r");
    h.send(r, json!({"type": "subscribe", "channel": "tasks"}));
    let first = poll(&mut h);
    let in_flight = h.e.in_flight(r);
    assert!((2..=8).contains(&in_flight), "{in_flight} pages in flight");
    let got = read_all(&mut h, r, first);
    let docs: usize = H::to(&got, r)
        .iter()
        .map(|m| match m {
            ServerMessage::Subscribed { snapshot, .. } => snapshot.as_ref().map_or(0, Vec::len),
            ServerMessage::Snapshot { docs, .. } => docs.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(docs, 2_000);
}

#[test]
fn a_by_id_snapshot_reads_its_ids_in_pages_and_holds_only_them() {
    let mut h = H::with(config(1_024));
    let w = h.conn("w");
    let body = "x".repeat(1_000);
    for i in 0..2_000u64 {
        h.put(w, i + 1, &format!("d{i:04}"), json!({"body": body}));
    }
    // 200 ids: every tenth document, and 20 that do not exist (they are not in the view).
    let mut ids: Vec<String> = (0..180u64).map(|i| format!("d{:04}", i * 10)).collect();
    ids.extend((0..20u64).map(|i| format!("zz{i}")));
    let r = h.conn("r");
    h.send(
        r,
        json!({"type": "subscribe", "channel": "tasks", "ids": ids}),
    );
    let first = poll(&mut h);
    let got = read_all(&mut h, r, first);
    let mut pages = 0;
    let mut seen: Vec<String> = Vec::new();
    for m in H::to(&got, r) {
        match m {
            ServerMessage::Subscribed { snapshot, .. } => {
                pages += 1;
                seen.extend(snapshot.into_iter().flatten().map(|d| d.id));
            }
            ServerMessage::Snapshot { docs, .. } => {
                pages += 1;
                seen.extend(docs.into_iter().map(|d| d.id));
            }
            _ => {}
        }
    }
    assert!(pages > 1, "paged: {pages}");
    let want: Vec<String> = ids
        .iter()
        .filter(|id| id.starts_with('d'))
        .cloned()
        .collect();
    assert_eq!(seen, want);
}
