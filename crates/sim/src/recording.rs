//! The real `MemoryStore`, with every commit recorded (per epoch) for the exactly-once and
//! ordering checks. Pure delegation: the server engine sees the in-memory store unchanged.
//! Clones share one store (one database), so several server engines of a cluster schedule
//! commit to the same log.
//!
//! Group commit: [`Store::begin_batch`] / [`Store::end_batch`] of one node's handle, with an
//! injected failure ([`RecordingStore::fail_batch`]): the next batch of that handle that
//! commits something fails at its end, its commits either durable or lost (the store and the
//! journal as they were at its start). The world runs one node's batch at a time, so the undo
//! touches no other node's commits.

use std::cell::RefCell;
use std::rc::Rc;

use tether_protocol::Document;
use tether_server::{
    ChannelHead, Commit, Dedupe, LogEntry, MemoryStore, Retention, Store, StoreError, StoredDoc,
};

/// One commit as the server made it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub epoch: String,
    pub commit: Commit,
}

pub type Journal = Rc<RefCell<Vec<Recorded>>>;

/// One database: its store, shared by the handles of every node, and the journal.
#[derive(Clone)]
pub struct RecordingStore {
    pub inner: Rc<RefCell<MemoryStore>>,
    pub epoch: String,
    pub journal: Journal,
    /// This handle's next batch with a commit fails: `Some(true)` with its commits durable,
    /// `Some(false)` with them lost. Not shared between clones.
    pub fail_batch: Option<bool>,
    /// While a batch of this handle is open with a failure armed: the store and the journal's
    /// length at its start.
    saved: Option<(MemoryStore, usize)>,
}

impl RecordingStore {
    /// A fresh database with this epoch.
    pub fn new(epoch: String, journal: Journal) -> RecordingStore {
        RecordingStore {
            inner: Rc::new(RefCell::new(MemoryStore::new(epoch.clone()))),
            epoch,
            journal,
            fail_batch: None,
            saved: None,
        }
    }
}

impl Store for RecordingStore {
    fn epoch(&self) -> &str {
        &self.epoch
    }

    fn channel_head(&mut self, channel: &str) -> Result<ChannelHead, StoreError> {
        self.inner.borrow_mut().channel_head(channel)
    }

    fn document(&mut self, channel: &str, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        self.inner.borrow_mut().document(channel, id)
    }

    fn snapshot_page(
        &mut self,
        channel: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Document>, StoreError> {
        self.inner.borrow_mut().snapshot_page(channel, after, limit)
    }

    fn log_after(
        &mut self,
        channel: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.inner.borrow_mut().log_after(channel, after, limit)
    }

    fn log_before(
        &mut self,
        channel: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.inner.borrow_mut().log_before(channel, before, limit)
    }

    fn dedupe(&mut self, client_id: &str, mutation_id: u64) -> Result<Dedupe, StoreError> {
        self.inner.borrow_mut().dedupe(client_id, mutation_id)
    }

    fn client_subject(&mut self, client_id: &str) -> Result<Option<String>, StoreError> {
        self.inner.borrow_mut().client_subject(client_id)
    }

    fn bind_client(
        &mut self,
        client_id: &str,
        subject: &str,
        retention: &Retention,
        unix_ms: u64,
    ) -> Result<String, StoreError> {
        self.inner
            .borrow_mut()
            .bind_client(client_id, subject, retention, unix_ms)
    }

    fn commit(&mut self, commit: &Commit) -> Result<Option<ChannelHead>, StoreError> {
        let result = self.inner.borrow_mut().commit(commit)?;
        self.journal.borrow_mut().push(Recorded {
            epoch: self.epoch.clone(),
            commit: commit.clone(),
        });
        Ok(result)
    }

    fn begin_batch(&mut self) -> Result<(), StoreError> {
        if self.fail_batch.is_some() {
            let len = self.journal.borrow().len();
            self.saved = Some((self.inner.borrow().clone(), len));
        }
        Ok(())
    }

    fn end_batch(&mut self) -> Result<(), StoreError> {
        let Some((saved, len)) = self.saved.take() else {
            return Ok(());
        };
        if self.journal.borrow().len() == len {
            // Nothing committed: the failure stays armed for a batch that commits.
            return Ok(());
        }
        let durable = self.fail_batch.take().unwrap_or(true);
        if !durable {
            *self.inner.borrow_mut() = saved;
            self.journal.borrow_mut().truncate(len);
        }
        Err(StoreError::Backend {
            message: format!(
                "injected: the batch's commit failed ({})",
                if durable { "durable" } else { "lost" }
            ),
        })
    }
}
