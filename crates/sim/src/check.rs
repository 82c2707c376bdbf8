//! Invariants: at every step, visible = confirmed ⊕ pending; at quiescence, convergence with
//! the server, exactly-once per persisted mutation, per-client order, nothing pending, and the
//! app's change-set mirror equal to the engine's views.

use std::collections::{BTreeMap, HashMap};

use tether_core::{Engine, MutationOutcome, PendingMutation, Rejection};
use tether_protocol::{apply_op, codec, Document, RejectReason, ServerMessage};
use tether_server::Store;

use super::world::World;

/// The visible layer recomputed independently: confirmed documents with the pending
/// mutations folded in order; (version, body, pending) per id.
fn fold(
    confirmed: &tether_core::ChunkedMap<String, Document>,
    pending: &[&PendingMutation],
    channel: &str,
) -> BTreeMap<String, (u64, tether_protocol::Json, bool)> {
    let mut out = BTreeMap::new();
    let mut ids: Vec<&String> = confirmed.keys().collect();
    ids.extend(
        pending
            .iter()
            .filter(|m| m.channel == channel)
            .map(|m| &m.id),
    );
    ids.sort();
    ids.dedup();
    for id in ids {
        let base = confirmed.get(id);
        let mut body = base.map(|d| d.doc.clone());
        let mut touched = false;
        for m in pending
            .iter()
            .filter(|m| m.channel == channel && &m.id == id)
        {
            if let Ok(next) = apply_op(body.as_ref(), m.op, m.doc.as_ref()) {
                body = next;
                touched = true;
            }
        }
        if let Some(body) = body {
            out.insert(id.clone(), (base.map_or(0, |d| d.version), body, touched));
        }
    }
    out
}

/// visible == confirmed ⊕ pending for every channel of every running client.
pub fn check_step(w: &mut World) -> Result<(), String> {
    if let Some(v) = w.violation.take() {
        return Err(v);
    }
    for (i, c) in w.clients.iter().enumerate() {
        let Some(e) = &c.engine else { continue };
        let pending: Vec<&PendingMutation> = e.pending().collect();
        for ch in e.channels() {
            let (Some(confirmed), Some(visible)) = (e.confirmed(ch), e.visible(ch)) else {
                return Err(format!("client {i}: channel {ch} without store"));
            };
            let ok = if pending.iter().any(|m| m.channel == ch) {
                let expected = fold(confirmed, &pending, ch);
                expected.len() == visible.len()
                    && expected
                        .iter()
                        .zip(visible)
                        .all(|((id, (ver, body, p)), (vid, v))| {
                            id == vid && *ver == v.version && *body == v.doc && *p == v.pending
                        })
            } else {
                // Nothing pending: visible is exactly confirmed.
                confirmed.len() == visible.len()
                    && confirmed.iter().zip(visible).all(|((id, d), (vid, v))| {
                        id == vid && d.version == v.version && d.doc == v.doc && !v.pending
                    })
            };
            if !ok {
                let expected = fold(confirmed, &pending, ch);
                return Err(format!(
                    "client {i} channel {ch}: visible != confirmed ⊕ pending\n  visible  {visible:?}\n  expected {expected:?}"
                ));
            }
        }
    }
    Ok(())
}

/// The documents client `i` should hold for `channel`: the server's, through the selector
/// the engine subscribes with (the `or` of its views' filters, and the union of their ids
/// when every view is a by-id view).
fn expected_docs(w: &mut World, i: usize, channel: &str) -> Vec<Document> {
    let specs: Vec<_> = w.clients[i]
        .specs
        .iter()
        .filter(|s| s.channel == channel)
        .cloned()
        .collect();
    let any_filter = |d: &Document| {
        specs
            .iter()
            .any(|s| s.filter.as_ref().is_none_or(|f| f.matches(&d.doc)))
    };
    // As the engine derives it: `None` before the first view, then the union so far (`None`
    // once a view has no ids, or the union grew too large).
    let mut ids: Option<Option<tether_protocol::IdSet>> = None;
    for s in &specs {
        ids = Some(match (ids, &s.ids) {
            (None, mine) => mine.clone(),
            (Some(Some(all)), Some(mine)) => all.union(mine),
            (Some(_), _) => None,
        });
    }
    let ids = ids.flatten();
    let snapshot = w.store.snapshot(channel).unwrap_or_default();
    snapshot
        .into_iter()
        .filter(|d| any_filter(d) && ids.as_ref().is_none_or(|ids| ids.contains(&d.id)))
        .collect()
}

fn confirmed_docs(e: &Engine, channel: &str) -> Vec<Document> {
    e.confirmed(channel)
        .map(|m| m.values().cloned().collect())
        .unwrap_or_default()
}

/// Everything settled: all clients connected and live, nothing in flight or pending, and
/// every client's confirmed state equal to the server's.
pub fn quiescent(w: &mut World) -> bool {
    if !w.all_nodes_up() || !w.plan.is_empty() {
        return false;
    }
    for (i, c) in w.clients.iter().enumerate() {
        let Some(e) = &c.engine else { return false };
        if e.state() != tether_core::ConnectionState::Ready
            || !c.link.idle()
            || e.outbox().next().is_some()
            || e.cache_pending()
            || e.writes_pending()
            || c.requests.values().any(|n| *n == 0)
            || !w.spec_channels(i).iter().all(|ch| e.is_live(ch))
        {
            return false;
        }
    }
    for i in 0..w.clients.len() {
        for ch in w.spec_channels(i) {
            let expected = expected_docs(w, i, ch);
            let engine = w.clients[i].engine.as_ref().expect("running");
            if confirmed_docs(engine, ch) != expected {
                return false;
            }
        }
    }
    // The same documents may still be behind on a node that has not yet learned the last
    // commits of the others (a create and a delete it has not seen): every node polls now,
    // and the run is settled only if that sent nothing.
    !w.poll_every_node()
}

/// Why the run did not settle (for the failure message).
pub fn diagnose(w: &mut World) -> String {
    let mut out = String::new();
    for i in 0..w.clients.len() {
        if w.clients[i].engine.is_none() {
            continue;
        }
        for ch in w.spec_channels(i) {
            let expected = expected_docs(w, i, ch);
            let Some(e) = w.clients[i].engine.as_ref() else {
                continue;
            };
            let confirmed = confirmed_docs(e, ch);
            if confirmed != expected {
                let brief = |d: &Vec<Document>| -> Vec<(String, u64)> {
                    d.iter().map(|d| (d.id.clone(), d.version)).collect()
                };
                let (mine, theirs) = (brief(&confirmed), brief(&expected));
                let only_client: Vec<_> = mine.iter().filter(|d| !theirs.contains(d)).collect();
                let only_server: Vec<_> = theirs.iter().filter(|d| !mine.contains(d)).collect();
                out.push_str(&format!(
                    "\n  client {i} {ch}: cursor {:?} differs\n    only client {only_client:?}\n    only server {only_server:?}",
                    e.cursor(ch),
                ));
            }
        }
    }
    for (i, c) in w.clients.iter().enumerate() {
        match &c.engine {
            None => out.push_str(&format!("\n  client {i}: crashed")),
            Some(e) => {
                let live: Vec<(&str, bool)> = w
                    .spec_channels(i)
                    .into_iter()
                    .map(|ch| (ch, e.is_live(ch)))
                    .collect();
                let node = w.nodes[c.link.node].engine.as_ref();
                if let (Some(server), Some(conn)) = (node, c.link.conn) {
                    out.push_str(&format!(
                        "\n  client {i} on node {}: in flight {} held {} streaming {:?}",
                        c.link.node,
                        server.in_flight(conn),
                        server.inbound_held(conn),
                        server.streaming(conn)
                    ));
                }
                out.push_str(&format!(
                    "\n  client {i}: {:?} outbox {:?} live {live:?} link idle {} requests {:?} status {:?}",
                    e.state(),
                    e.outbox().map(|m| m.mutation_id).collect::<Vec<_>>(),
                    c.link.idle(),
                    c.requests,
                    e.status(),
                ));
            }
        }
    }
    out
}

/// The checks at quiescence.
pub fn final_checks(w: &mut World) -> Result<(), String> {
    for i in 0..w.clients.len() {
        for ch in w.spec_channels(i) {
            let expected = expected_docs(w, i, ch);
            let c = &w.clients[i];
            let e = c.engine.as_ref().expect("running");
            let confirmed = confirmed_docs(e, ch);
            if confirmed != expected {
                return Err(format!(
                    "client {i} channel {ch}: confirmed != server\n  client {confirmed:?}\n  server {expected:?}"
                ));
            }
            let visible: Vec<(String, u64, tether_protocol::Json, bool)> = e
                .visible(ch)
                .map(|m| {
                    m.values()
                        .map(|v| (v.id.clone(), v.version, v.doc.clone(), v.pending))
                        .collect()
                })
                .unwrap_or_default();
            let from_confirmed: Vec<(String, u64, tether_protocol::Json, bool)> = confirmed
                .iter()
                .map(|d| (d.id.clone(), d.version, d.doc.clone(), false))
                .collect();
            if visible != from_confirmed {
                return Err(format!(
                    "client {i} channel {ch}: visible != confirmed at rest"
                ));
            }
            let cached = c.persisted.channels.get(ch);
            let cached_docs: Vec<Document> = cached
                .map(|cc| cc.documents.values().cloned().collect())
                .unwrap_or_default();
            if cached_docs != confirmed || cached.and_then(|cc| cc.cursor.as_ref()) != e.cursor(ch)
            {
                return Err(format!(
                    "client {i} channel {ch}: persisted cache differs from the engine"
                ));
            }
        }
        let c = &w.clients[i];
        let e = c.engine.as_ref().expect("running");
        if e.pending().next().is_some()
            || e.outbox().next().is_some()
            || !c.persisted.outbox.is_empty()
        {
            return Err(format!("client {i}: pending mutations remain"));
        }
        for (k, view) in c.views.iter().enumerate() {
            let engine_view: Vec<_> = e
                .view(*view)
                .map_err(|e| e.to_string())?
                .into_iter()
                .cloned()
                .collect();
            let mirror: Vec<_> = c
                .mirror
                .get(view)
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default();
            if engine_view != mirror {
                return Err(format!(
                    "client {i} view {k} ({:?}): app mirror differs from the engine view\n  mirror {mirror:?}\n  engine {engine_view:?}",
                    c.specs[k]
                ));
            }
        }
        if let Some((id, n)) = c.requests.iter().find(|(_, n)| **n != 1) {
            return Err(format!("client {i}: request {id} answered {n} times"));
        }
    }
    exactly_once(w)
}

/// Every persisted mutation applied or rejected exactly once (at most once per store
/// lifetime when the database was reset), reported once, matching the server's record; no
/// commit the client did not persist; commits per client in mutation-id order.
fn exactly_once(w: &mut World) -> Result<(), String> {
    let journal = w.journal.borrow();
    let mut per_key: HashMap<(&str, &str, u64), Vec<&tether_server::Commit>> = HashMap::new();
    let mut last_id: HashMap<(&str, &str), u64> = HashMap::new();
    for r in journal.iter() {
        let c = &r.commit;
        per_key
            .entry((r.epoch.as_str(), c.client_id.as_str(), c.mutation_id))
            .or_default()
            .push(c);
        let last = last_id
            .entry((r.epoch.as_str(), c.client_id.as_str()))
            .or_insert(0);
        if c.mutation_id <= *last {
            return Err(format!(
                "per-client order: {} committed mutation {} after {} (epoch {})",
                c.client_id, c.mutation_id, last, r.epoch
            ));
        }
        *last = c.mutation_id;
    }
    if let Some(((epoch, client, m), v)) = per_key.iter().find(|(_, v)| v.len() > 1) {
        return Err(format!(
            "{client} mutation {m} committed {} times in epoch {epoch}",
            v.len()
        ));
    }
    let resets = w.epochs > 1;
    for c in &w.clients {
        for r in journal.iter() {
            if r.commit.client_id == c.id
                && !c.persisted_mutations.contains_key(&r.commit.mutation_id)
            {
                return Err(format!(
                    "{} mutation {} committed but never persisted by the client",
                    c.id, r.commit.mutation_id
                ));
            }
        }
        for (id, outcomes) in &c.outcomes {
            if c.persisted_mutations.contains_key(id) {
                continue;
            }
            // A mutation whose outbox write failed is withdrawn: reported once as a storage
            // rejection, and the server never saw it.
            // (An incarnation restored from before it may have used the id again, for another
            // mutation that was withdrawn too.)
            let withdrawn = outcomes.iter().all(|o| {
                matches!(
                    o,
                    MutationOutcome::Rejected {
                        reason: Rejection::Storage { .. },
                        ..
                    }
                )
            });
            if !withdrawn {
                return Err(format!("{}: outcome for unknown mutation {id}", c.id));
            }
            if journal
                .iter()
                .any(|r| r.commit.client_id == c.id && r.commit.mutation_id == *id)
            {
                return Err(format!(
                    "{} mutation {id} was withdrawn (storage failed) but reached the server",
                    c.id
                ));
            }
        }
        for (id, m) in &c.persisted_mutations {
            let commits: Vec<&tether_server::Commit> = journal
                .iter()
                .filter(|r| r.commit.client_id == c.id && r.commit.mutation_id == *id)
                .map(|r| &r.commit)
                .collect();
            if commits.is_empty() {
                return Err(format!(
                    "{} mutation {id} lost: persisted, never applied or rejected",
                    c.id
                ));
            }
            if !resets && commits.len() != 1 {
                return Err(format!(
                    "{} mutation {id} committed {} times",
                    c.id,
                    commits.len()
                ));
            }
            for commit in &commits {
                if let Some(change) = &commit.change {
                    if change.channel != m.channel || change.entry.id != m.id {
                        return Err(format!(
                            "{} mutation {id} applied to the wrong document",
                            c.id
                        ));
                    }
                }
            }
            // A storage rejection of another mutation with this id: that one was withdrawn and
            // never sent, and an incarnation restored from before it used the id again.
            let outcomes: Vec<MutationOutcome> = c
                .outcomes
                .get(id)
                .map_or(&[][..], Vec::as_slice)
                .iter()
                .filter(|o| {
                    !(matches!(
                        o,
                        MutationOutcome::Rejected {
                            reason: Rejection::Storage { .. },
                            ..
                        }
                    ) && o.mutation() != m)
                })
                .cloned()
                .collect();
            if outcomes.is_empty() && c.outcome_lost_in_crash.contains(id) {
                // Removed from the outbox durably, then the app died before reporting it:
                // nobody was left to tell. The server's record is checked above.
                continue;
            }
            // Reported, then the app crashed before the outbox removal was durable: the next
            // incarnation resends it and reports the same answer again (never another one).
            let repeated = outcomes.len() > 1
                && c.reported_then_restored.contains(id)
                && outcomes
                    .iter()
                    .all(|o| same_answer(o, &outcomes[0], resets));
            if outcomes.len() != 1 && !repeated {
                return Err(format!(
                    "{} mutation {id}: {} outcomes reported ({outcomes:?})",
                    c.id,
                    outcomes.len()
                ));
            }
            let outcome = &outcomes[0];
            let matches = commits.iter().any(|commit| {
                let reply = codec::decode_server(commit.reply.as_bytes());
                match (outcome, reply) {
                    (
                        MutationOutcome::Acked {
                            version, offset, ..
                        },
                        Ok(ServerMessage::Ack {
                            version: v,
                            offset: o,
                            ..
                        }),
                    ) => *version == v && *offset == o,
                    (
                        MutationOutcome::Conflict(_) | MutationOutcome::Converged { .. },
                        Ok(ServerMessage::Reject {
                            reason: RejectReason::Conflict,
                            ..
                        }),
                    ) => true,
                    (
                        MutationOutcome::Rejected {
                            reason: Rejection::NotFound { .. },
                            ..
                        },
                        Ok(ServerMessage::Reject {
                            reason: RejectReason::NotFound,
                            ..
                        }),
                    ) => true,
                    _ => false,
                }
            });
            if !matches {
                return Err(format!(
                    "{} mutation {id}: outcome {outcome:?} does not match the server's record(s) {:?}",
                    c.id,
                    commits.iter().map(|c| &c.reply).collect::<Vec<_>>()
                ));
            }
        }
    }
    Ok(())
}

/// The same answer of the server (the mutation as restored may differ in nothing the server
/// saw). After a database reset the new database has no record of the first answer, so it
/// decides the resent mutation afresh: applied again at another offset, or refused because
/// the new database holds other documents (a create that now conflicts).
fn same_answer(a: &MutationOutcome, b: &MutationOutcome, resets: bool) -> bool {
    match (a, b) {
        _ if resets => true,
        (
            MutationOutcome::Acked {
                version: v1,
                offset: o1,
                ..
            },
            MutationOutcome::Acked {
                version: v2,
                offset: o2,
                ..
            },
        ) => v1 == v2 && o1 == o2,
        (MutationOutcome::Conflict(_), MutationOutcome::Conflict(_))
        | (MutationOutcome::Converged { .. }, MutationOutcome::Converged { .. }) => true,
        (
            MutationOutcome::Rejected { reason: r1, .. },
            MutationOutcome::Rejected { reason: r2, .. },
        ) => r1 == r2,
        _ => false,
    }
}
