//! One simulated client: the real engine, what it persisted (its "IndexedDB"), the app's
//! intent (views) and what the app was told (change-set mirror, outcomes, responses).

use std::collections::BTreeMap;

use tether_core::{
    ChangeSet, Engine, MutationOutcome, PendingMutation, PersistedState, ViewId, VisibleDoc,
    WriteBatch,
};
use tether_protocol::{Filter, IdSet, Json, Selector};

use super::link::Link;

/// A view the app wants.
#[derive(Debug, Clone)]
pub struct ViewSpec {
    pub channel: &'static str,
    pub filter: Option<Filter>,
    /// A by-id view's ids.
    pub ids: Option<IdSet>,
}

impl ViewSpec {
    /// What the view holds, as the engine is told.
    pub fn selector(&self) -> Selector {
        Selector {
            filter: self.filter.clone(),
            ids: self.ids.clone(),
        }
    }
}

pub struct SimClient {
    pub id: String,
    pub engine: Option<Engine>,
    pub persisted: PersistedState,
    pub link: Link,
    pub online: bool,
    pub specs: Vec<ViewSpec>,
    /// The engine's view id for each spec (same index).
    pub views: Vec<ViewId>,
    /// The app's copy of each view, built only from `Changes` outputs.
    pub mirror: BTreeMap<ViewId, BTreeMap<String, VisibleDoc>>,
    /// Every mutation the shell made durable (`Persist::OutboxPut`), by id.
    pub persisted_mutations: BTreeMap<u64, PendingMutation>,
    /// Outcomes reported to the app, over all incarnations.
    pub outcomes: BTreeMap<u64, Vec<MutationOutcome>>,
    /// Requests of the current incarnation and how often each was answered.
    pub requests: BTreeMap<u64, u32>,
    pub incarnation: u64,
    /// Crash after routing this many more outputs (a crash in the middle of a drain).
    pub crash_after: Option<u32>,
    /// Outbox removals persisted in the current drain whose outcome was not reported yet.
    pub removed_unreported: std::collections::BTreeSet<u64>,
    /// Mutations whose outcome died with the app (removed durably, crash before reporting).
    pub outcome_lost_in_crash: std::collections::BTreeSet<u64>,
    /// A `Changes` output was routed in the current drain.
    pub changes_routed: bool,
    /// The "IndexedDB" of this client: how long a write batch takes at most (0: durable at
    /// once) and how often one fails (per mille).
    pub write_delay: u64,
    pub write_fail_permille: u64,
    /// The batch in flight, with the incarnation that took it.
    pub in_flight: Option<(u64, WriteBatch)>,
    /// Mutations whose outcome was reported, and whose outbox removal was not durable when the
    /// app crashed: the next incarnation resends them and reports the same outcome again.
    pub reported_then_restored: std::collections::BTreeSet<u64>,
    /// The app's presence state per channel, with the incarnation that set it (an engine
    /// restarted from storage has none: presence is not persisted).
    pub presence: BTreeMap<String, (u64, Json)>,
    /// The members the engine last reported per channel (`Output::Presence`), with the
    /// incarnation that reported them.
    pub members: BTreeMap<String, (u64, Vec<(String, Json)>)>,
}

impl SimClient {
    pub fn new(id: String, link: Link, specs: Vec<ViewSpec>) -> SimClient {
        SimClient {
            id,
            engine: None,
            persisted: PersistedState::default(),
            link,
            online: true,
            specs,
            views: Vec::new(),
            mirror: BTreeMap::new(),
            persisted_mutations: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            requests: BTreeMap::new(),
            incarnation: 0,
            crash_after: None,
            removed_unreported: Default::default(),
            outcome_lost_in_crash: Default::default(),
            changes_routed: false,
            write_delay: 0,
            write_fail_permille: 0,
            in_flight: None,
            reported_then_restored: Default::default(),
            presence: BTreeMap::new(),
            members: BTreeMap::new(),
        }
    }

    /// The presence state this incarnation's app set on `channel`.
    pub fn presence_of(&self, channel: &str) -> Option<&Json> {
        self.presence
            .get(channel)
            .filter(|(inc, _)| *inc == self.incarnation)
            .map(|(_, s)| s)
    }

    /// The members this incarnation's engine last reported on `channel` (none yet: empty).
    pub fn members_seen(&self, channel: &str) -> &[(String, Json)] {
        match self.members.get(channel) {
            Some((inc, m)) if *inc == self.incarnation => m,
            _ => &[],
        }
    }

    pub fn apply_changes(&mut self, sets: Vec<ChangeSet>) {
        for set in sets {
            let view = self.mirror.entry(set.view).or_default();
            if set.replace {
                view.clear();
            }
            for id in set.removes {
                view.remove(&id);
            }
            for doc in set.upserts {
                view.insert(doc.id.clone(), doc);
            }
        }
    }
}
