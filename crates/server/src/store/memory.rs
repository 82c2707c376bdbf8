//! An in-memory [`Store`]: for tests and the deterministic simulation.

mod clients;

use std::collections::{BTreeMap, HashMap, VecDeque};

use tether_protocol::Document;

use super::{ChannelHead, Commit, Dedupe, LogEntry, Retention, Store, StoreError, StoredDoc};

#[derive(Debug, Default, Clone)]
struct MemChannel {
    docs: BTreeMap<String, StoredDoc>,
    log: VecDeque<LogEntry>,
    head: ChannelHead,
}

/// A [`Store`] that keeps everything in memory. Commits are atomic (nothing can fail half
/// way). Survives a server restart when handed from one engine to the next with
/// [`crate::ServerEngine::into_store`]; a new `MemoryStore` with a new epoch models a database
/// reset. A clone is an independent copy of the data (tests and the simulation keep one to
/// model a batch whose commits were lost).
#[derive(Debug, Clone)]
pub struct MemoryStore {
    epoch: String,
    channels: HashMap<String, MemChannel>,
    clients: clients::MemClients,
}

impl MemoryStore {
    /// An empty store with the given epoch.
    pub fn new(epoch: String) -> MemoryStore {
        MemoryStore {
            epoch,
            channels: HashMap::new(),
            clients: clients::MemClients::default(),
        }
    }

    /// Number of retained log entries of a channel (for tests of retention).
    pub fn log_len(&self, channel: &str) -> usize {
        self.channels.get(channel).map_or(0, |c| c.log.len())
    }

    /// Number of clients remembered (for tests of the client bound).
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }
}

impl Store for MemoryStore {
    fn epoch(&self) -> &str {
        &self.epoch
    }

    fn channel_head(&mut self, channel: &str) -> Result<ChannelHead, StoreError> {
        Ok(self
            .channels
            .get(channel)
            .map(|c| c.head)
            .unwrap_or_default())
    }

    fn document(&mut self, channel: &str, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        Ok(self
            .channels
            .get(channel)
            .and_then(|c| c.docs.get(id))
            .cloned())
    }

    fn snapshot_page(
        &mut self,
        channel: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Document>, StoreError> {
        use std::ops::Bound;
        let Some(ch) = self.channels.get(channel) else {
            return Ok(Vec::new());
        };
        let lower = after.map_or(Bound::Unbounded, Bound::Excluded);
        Ok(ch
            .docs
            .range::<str, _>((lower, Bound::Unbounded))
            .filter_map(|(id, d)| {
                d.body.as_ref().map(|body| Document {
                    id: id.clone(),
                    version: d.version,
                    doc: body.clone(),
                })
            })
            .take(limit)
            .collect())
    }

    fn log_after(
        &mut self,
        channel: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let Some(ch) = self.channels.get(channel) else {
            return Ok(Vec::new());
        };
        // Offsets ascend along the log.
        let start = ch.log.partition_point(|e| e.offset <= after);
        Ok(ch.log.range(start..).take(limit).cloned().collect())
    }

    fn log_before(
        &mut self,
        channel: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        let Some(ch) = self.channels.get(channel) else {
            return Ok(Vec::new());
        };
        Ok(ch
            .log
            .iter()
            .rev()
            .filter(|e| e.offset < before)
            .take(limit)
            .cloned()
            .collect())
    }

    fn dedupe(&mut self, client_id: &str, mutation_id: u64) -> Result<Dedupe, StoreError> {
        Ok(self.clients.dedupe(client_id, mutation_id))
    }

    fn commit(&mut self, commit: &Commit) -> Result<Option<ChannelHead>, StoreError> {
        // Validate first so that a failed commit changes nothing.
        if self
            .clients
            .dedupe(&commit.client_id, commit.mutation_id)
            .record
            .is_some()
        {
            return Err(StoreError::AlreadyRecorded {
                client_id: commit.client_id.clone(),
                mutation_id: commit.mutation_id,
            });
        }
        if let Some(change) = &commit.change {
            let head = self.channel_head(&change.channel)?.head;
            if change.entry.offset != head + 1 {
                return Err(StoreError::OffsetMismatch {
                    channel: change.channel.clone(),
                    expected: head + 1,
                    got: change.entry.offset,
                });
            }
        }
        let retention = commit.retention;
        let mut new_head = None;
        if let Some(change) = &commit.change {
            let ch = self.channels.entry(change.channel.clone()).or_default();
            let entry = &change.entry;
            ch.docs.insert(
                entry.id.clone(),
                StoredDoc {
                    version: entry.version,
                    body: entry.body.clone(),
                },
            );
            ch.log.push_back(entry.clone());
            ch.head.head = entry.offset;
            let oldest_allowed = commit.unix_ms.saturating_sub(retention.max_age_ms);
            while let Some(first) = ch.log.front() {
                let too_many = ch.log.len() as u64 > retention.max_events;
                let too_old = first.unix_ms < oldest_allowed;
                if !(too_many || too_old) {
                    break;
                }
                ch.head.pruned_through = first.offset;
                ch.log.pop_front();
            }
            new_head = Some(ch.head);
        }
        self.clients.commit(commit);
        Ok(new_head)
    }

    fn client_subject(&mut self, client_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self.clients.subject(client_id))
    }

    fn bind_client(
        &mut self,
        client_id: &str,
        subject: &str,
        retention: &Retention,
        unix_ms: u64,
    ) -> Result<String, StoreError> {
        Ok(self.clients.bind(client_id, subject, retention, unix_ms))
    }
}
