//! The clients of a [`super::MemoryStore`]: highest processed id, dedupe records, subject
//! binding and last activity, with bounded expiry of records and eviction of clients.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::store::{Commit, Dedupe, Retention, EXPIRE_PER_WRITE};

#[derive(Debug, Default, Clone)]
struct MemClient {
    /// Highest processed mutation id (`None`: bound, but nothing processed yet).
    highest: Option<u64>,
    records: BTreeMap<u64, String>,
    subject: Option<String>,
    /// Wall-clock unix ms of the last commit (or of the binding that created it).
    last_unix_ms: u64,
}

/// Every remembered client, with age indexes for the housekeeping.
#[derive(Debug, Default, Clone)]
pub(super) struct MemClients {
    clients: HashMap<String, MemClient>,
    /// `(last_unix_ms, client_id)` of every client.
    by_age: BTreeSet<(u64, String)>,
    /// `(last_unix_ms, client_id)` of the clients that hold records.
    with_records: BTreeSet<(u64, String)>,
}

impl MemClients {
    pub(super) fn dedupe(&self, client_id: &str, mutation_id: u64) -> Dedupe {
        match self.clients.get(client_id) {
            None => Dedupe::default(),
            Some(c) => Dedupe {
                record: c.records.get(&mutation_id).cloned(),
                highest: c.highest,
            },
        }
    }

    pub(super) fn subject(&self, client_id: &str) -> Option<String> {
        self.clients.get(client_id).and_then(|c| c.subject.clone())
    }

    /// Records the commit's dedupe record and activity, then does the housekeeping.
    pub(super) fn commit(&mut self, commit: &Commit) {
        let retention = commit.retention;
        let id = commit.client_id.as_str();
        self.touch(id, commit.unix_ms);
        if let Some(client) = self.clients.get_mut(id) {
            client.highest = Some(
                client
                    .highest
                    .map_or(commit.mutation_id, |h| h.max(commit.mutation_id)),
            );
            client
                .records
                .insert(commit.mutation_id, commit.reply.clone());
            while client.records.len() as u64 > retention.dedupe_per_client {
                client.records.pop_first();
            }
            if !client.records.is_empty() {
                self.with_records
                    .insert((client.last_unix_ms, id.to_owned()));
            }
        }
        self.housekeeping(&retention, commit.unix_ms, id);
    }

    pub(super) fn bind(
        &mut self,
        client_id: &str,
        subject: &str,
        retention: &Retention,
        unix_ms: u64,
    ) -> String {
        if !self.clients.contains_key(client_id) {
            self.touch(client_id, unix_ms);
        }
        let bound = match self.clients.get_mut(client_id) {
            Some(client) => client
                .subject
                .get_or_insert_with(|| subject.to_owned())
                .clone(),
            None => subject.to_owned(),
        };
        self.housekeeping(retention, unix_ms, client_id);
        bound
    }

    /// Makes `unix_ms` the client's last activity (creating the client if needed).
    fn touch(&mut self, client_id: &str, unix_ms: u64) {
        let client = self.clients.entry(client_id.to_owned()).or_default();
        let old = (client.last_unix_ms, client_id.to_owned());
        let had_records = self.with_records.remove(&old);
        self.by_age.remove(&old);
        client.last_unix_ms = client.last_unix_ms.max(unix_ms);
        let new = (client.last_unix_ms, client_id.to_owned());
        if had_records {
            self.with_records.insert(new.clone());
        }
        self.by_age.insert(new);
    }

    /// Drops the records of up to [`EXPIRE_PER_WRITE`] clients inactive for longer than the
    /// dedupe age, and evicts up to as many of the longest-inactive clients beyond the bound
    /// (never `keep`, the client being written).
    fn housekeeping(&mut self, retention: &Retention, unix_ms: u64, keep: &str) {
        let cutoff = unix_ms.saturating_sub(retention.dedupe_max_age_ms);
        for _ in 0..EXPIRE_PER_WRITE {
            let Some((at, id)) = self.with_records.first().cloned() else {
                break;
            };
            if at >= cutoff {
                break;
            }
            self.with_records.remove(&(at, id.clone()));
            if let Some(client) = self.clients.get_mut(&id) {
                client.records.clear();
            }
        }
        let mut evicted = 0;
        let mut skipped = None;
        while (self.clients.len() as u64) > retention.max_clients.max(1)
            && evicted < EXPIRE_PER_WRITE
        {
            let Some(oldest) = self.by_age.pop_first() else {
                break;
            };
            if oldest.1 == keep {
                skipped = Some(oldest);
                continue;
            }
            self.with_records.remove(&oldest);
            self.clients.remove(&oldest.1);
            evicted += 1;
        }
        if let Some(kept) = skipped {
            self.by_age.insert(kept);
        }
    }

    /// Number of remembered clients (for tests).
    pub(super) fn len(&self) -> usize {
        self.clients.len()
    }
}
