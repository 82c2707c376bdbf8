//! Random app calls: mutations (concurrent edits of a few shared documents), broadcasts,
//! requests, presence, and views opened and closed.

use tether_core::{EngineError, Precondition};
use tether_protocol::Op;
use tether_protocol::{json, Json};

use super::client::ViewSpec;
use super::plan::high_filter;
use super::world::World;

const STATUSES: [&str; 3] = ["todo", "doing", "done"];

impl World {
    pub fn user_op(&mut self, i: usize) {
        if self.clients[i].engine.is_none() {
            return;
        }
        let now = self.now;
        let roll = self.rng.below(100);
        match roll {
            0..=79 => self.random_mutation(i),
            80..=84 => {
                // Numbered, so that each delivery is told apart (`ephemeral.rs`).
                let n = self.ephemeral.next_broadcast;
                self.ephemeral.next_broadcast += 1;
                let r = self.clients[i]
                    .engine
                    .as_mut()
                    .map(|e| e.broadcast(now, "tasks", json!({"hi": now, "b": n})));
                match r {
                    Some(Ok(())) | None => {}
                    Some(Err(EngineError::NotSubscribed { .. }))
                    | Some(Err(EngineError::OfflineQueueFull { .. })) => {}
                    Some(Err(e)) => panic!("broadcast failed: {e:?}"),
                }
            }
            85..=89 => {
                let r = self.clients[i]
                    .engine
                    .as_mut()
                    .map(|e| e.request(now, "echo", json!({"at": now})));
                match r {
                    Some(Ok(id)) => {
                        self.clients[i].requests.insert(id, 0);
                    }
                    Some(Err(EngineError::OfflineQueueFull { .. })) | None => {}
                    Some(Err(e)) => panic!("request failed: {e:?}"),
                }
            }
            90..=94 => {
                let state = (self.rng.below(3) > 0).then(|| json!({"editing": now % 7}));
                let c = &mut self.clients[i];
                if let Some(e) = c.engine.as_mut() {
                    match e.set_presence(now, "tasks", state.clone()) {
                        Ok(()) => match state {
                            Some(s) => {
                                c.presence.insert("tasks".into(), (c.incarnation, s));
                            }
                            None => {
                                c.presence.remove("tasks");
                            }
                        },
                        Err(EngineError::NotSubscribed { .. }) => {}
                        Err(e) => panic!("presence failed: {e:?}"),
                    }
                }
            }
            _ => self.toggle_view(i),
        }
        // The engine forgets the presence on a channel whose last view closed.
        let c = &mut self.clients[i];
        let specs = &c.specs;
        c.presence
            .retain(|ch, _| specs.iter().any(|s| s.channel == ch.as_str()));
        self.drain_client(i);
    }

    fn random_mutation(&mut self, i: usize) {
        let now = self.now;
        let rng = &mut self.rng;
        let has_notes = self.clients[i].specs.iter().any(|s| s.channel == "notes");
        let channel = if has_notes && rng.below(4) == 0 {
            "notes"
        } else {
            "tasks"
        };
        let id = format!("d{}", rng.below(6));
        let status = STATUSES[rng.below(3) as usize];
        let (op, doc): (Op, Option<Json>) = match rng.below(10) {
            0..=4 => (
                Op::Put,
                Some(json!({"status": status, "n": rng.below(10), "by": i})),
            ),
            5..=8 => (
                Op::Patch,
                Some(match rng.below(3) {
                    0 => json!({ "status": status }),
                    1 => json!({"n": rng.below(10)}),
                    _ => json!({"by": null, "tag": rng.below(3)}),
                }),
            ),
            _ => (Op::Delete, None),
        };
        let pre = match rng.below(10) {
            0..=5 => Precondition::Auto,
            6..=8 => Precondition::Unconditional,
            _ => Precondition::MustNotExist,
        };
        let Some(engine) = self.clients[i].engine.as_mut() else {
            return;
        };
        match engine.mutate(now, channel, op, &id, doc, pre) {
            Ok(m) => {
                self.tally.mutations += 1;
                self.log(|| format!("c{i} mutate #{m} {op:?} {channel}/{id} {pre:?}"));
            }
            Err(e) => panic!("mutate of valid input failed: {e:?}"),
        }
    }

    /// `n` puts of new documents at once (ids `b0`…), each a conditional create or an
    /// unconditional write.
    pub fn burst(&mut self, i: usize, n: u64) {
        let now = self.now;
        let Some(engine) = self.clients[i].engine.as_mut() else {
            return;
        };
        self.tally.bursts += 1;
        for k in 0..n {
            let id = format!("b{k}");
            let doc = json!({"status": STATUSES[(k % 3) as usize], "n": k % 10, "by": i});
            match engine.mutate(
                now,
                "tasks",
                Op::Put,
                &id,
                Some(doc),
                Precondition::Unconditional,
            ) {
                Ok(_) => self.tally.mutations += 1,
                Err(EngineError::OfflineQueueFull { .. }) => break,
                Err(e) => panic!("mutate of valid input failed: {e:?}"),
            }
        }
        self.log(|| format!("c{i} burst of {n} puts"));
        self.drain_client(i);
    }

    /// Opens or closes an extra view: a second filtered view on `tasks` (changes the
    /// subscription's filter) or the `notes` channel.
    fn toggle_view(&mut self, i: usize) {
        if self.rng.below(3) == 0 {
            self.refilter(i);
            return;
        }
        let now = self.now;
        let pick_notes = self.rng.below(2) == 0;
        let c = &mut self.clients[i];
        let Some(engine) = c.engine.as_mut() else {
            return;
        };
        let spec = if pick_notes {
            ViewSpec {
                channel: "notes",
                filter: None,
                ids: None,
            }
        } else {
            ViewSpec {
                channel: "tasks",
                filter: Some(high_filter()),
                ids: None,
            }
        };
        let existing = c
            .specs
            .iter()
            .position(|s| s.channel == spec.channel && s.filter == spec.filter && s.ids.is_none());
        match existing {
            Some(k) => {
                let view = c.views.remove(k);
                c.specs.remove(k);
                c.mirror.remove(&view);
                engine.unsubscribe(now, view).expect("known view");
            }
            None => {
                let view = engine
                    .subscribe_selector(now, spec.channel, spec.selector())
                    .expect("valid view");
                c.specs.push(spec);
                c.views.push(view);
            }
        }
        self.tally.view_changes += 1;
    }

    /// Replaces all of the client's `tasks` views at once: unsubscribes while answers may be
    /// pending and subscribes with other filters in the same instant.
    fn refilter(&mut self, i: usize) {
        let now = self.now;
        let choice = self.rng.below(5);
        let c = &mut self.clients[i];
        let Some(engine) = c.engine.as_mut() else {
            return;
        };
        let mut k = 0;
        while k < c.specs.len() {
            if c.specs[k].channel == "tasks" {
                let view = c.views.remove(k);
                c.specs.remove(k);
                c.mirror.remove(&view);
                engine.unsubscribe(now, view).expect("known view");
            } else {
                k += 1;
            }
        }
        // Every view of the channel closed: the engine forgot the presence on it.
        c.presence.remove("tasks");
        let ids = |ids: &[&str]| {
            let ids = ids.iter().map(|id| (*id).to_owned()).collect();
            Some(tether_protocol::IdSet::new(ids).expect("valid ids"))
        };
        let specs: Vec<(
            Option<tether_protocol::Filter>,
            Option<tether_protocol::IdSet>,
        )> = match choice {
            0 => vec![(None, None)],
            1 => vec![(Some(super::plan::todo_filter()), None)],
            2 => vec![
                (Some(high_filter()), None),
                (Some(super::plan::low_filter()), None),
            ],
            // A by-id view (with a filter: documents enter and leave it within its ids).
            3 => vec![(
                Some(super::plan::low_filter()),
                ids(&["d0", "d1", "d2", "d4"]),
            )],
            // Two by-id views at once: the channel is subscribed with the union of their ids,
            // changed while the first subscribe is awaited.
            _ => vec![
                (None, ids(&["d0", "d2", "d4"])),
                (Some(super::plan::todo_filter()), ids(&["d1", "d2"])),
            ],
        };
        if choice >= 3 {
            self.tally.by_id_views += 1;
        }
        for (filter, ids) in specs {
            let spec = ViewSpec {
                channel: "tasks",
                filter,
                ids,
            };
            let view = engine
                .subscribe_selector(now, "tasks", spec.selector())
                .expect("valid view");
            c.specs.push(spec);
            c.views.push(view);
        }
        self.tally.view_changes += 1;
    }
}
