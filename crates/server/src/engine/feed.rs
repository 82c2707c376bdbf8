//! The API's change feed: committed changes after an offset, reset when the window is gone,
//! and requests waiting (long-poll) until the next commit to their channel or their expiry.

use super::api::ApiAnswer;
use super::{ApiRequestId, ServerEngine};
use crate::store::{Store, StoreError};

/// A change-feed request waiting for a commit.
#[derive(Debug, Clone)]
pub(super) struct Waiter {
    pub(super) request: ApiRequestId,
    pub(super) epoch: Option<String>,
    pub(super) since: u64,
    pub(super) limit: usize,
}

impl<S: Store> ServerEngine<S> {
    /// A waiting change-feed request timed out: answers it with what is there (usually no
    /// changes). A request that is not waiting is ignored.
    pub fn api_expire(&mut self, request: ApiRequestId) {
        let mut found = None;
        for (channel, list) in &mut self.api.waiters {
            if let Some(i) = list.iter().position(|w| w.request == request) {
                found = Some((channel.clone(), list.swap_remove(i)));
                break;
            }
        }
        let Some((channel, waiter)) = found else {
            return;
        };
        self.api.waiting -= 1;
        if self.api.waiters.get(&channel).is_some_and(Vec::is_empty) {
            self.api.waiters.remove(&channel);
        }
        let answer = match self.feed(&channel, &waiter) {
            Ok(Some(answer)) => Ok(answer),
            Ok(None) => self.empty_feed(&channel),
            Err(err) => Err(err),
        };
        match answer {
            Ok(answer) => self.api_answer(request, answer),
            Err(err) => self.api_store_failed(request, &err),
        }
    }

    /// Number of change-feed requests waiting.
    pub fn api_waiting(&self) -> usize {
        self.api.waiting
    }

    /// Answers the change-feed requests waiting on `channel` after a commit to it.
    pub(super) fn wake_feeds(&mut self, channel: &str) {
        let Some(waiters) = self.api.waiters.remove(channel) else {
            return;
        };
        self.api.waiting -= waiters.len();
        for waiter in waiters {
            match self.feed(channel, &waiter) {
                Ok(Some(answer)) => self.api_answer(waiter.request, answer),
                Ok(None) => {
                    self.api.waiting += 1;
                    self.api
                        .waiters
                        .entry(channel.to_owned())
                        .or_default()
                        .push(waiter);
                }
                Err(err) => self.api_store_failed(waiter.request, &err),
            }
        }
    }

    /// The feed from a waiter's position: `None` when there is nothing after it yet.
    pub(super) fn feed(
        &mut self,
        channel: &str,
        w: &Waiter,
    ) -> Result<Option<ApiAnswer>, StoreError> {
        let head = self.channel_head(channel)?;
        let epoch = self.store.epoch().to_owned();
        let reset = ApiAnswer::Reset {
            epoch: epoch.clone(),
            offset: head.head,
        };
        let wrong_epoch = match &w.epoch {
            Some(e) => *e != epoch,
            None => w.since > 0,
        };
        if wrong_epoch || w.since > head.head || w.since < head.pruned_through {
            return Ok(Some(reset));
        }
        if w.since == head.head {
            return Ok(None);
        }
        let events = self.store.log_after(channel, w.since, w.limit)?;
        if events.first().map(|e| e.offset) != Some(w.since + 1) {
            return Ok(Some(reset));
        }
        Ok(Some(ApiAnswer::Events {
            epoch,
            events,
            head: head.head,
        }))
    }

    pub(super) fn empty_feed(&mut self, channel: &str) -> Result<ApiAnswer, StoreError> {
        let head = self.channel_head(channel)?;
        Ok(ApiAnswer::Events {
            epoch: self.store.epoch().to_owned(),
            events: Vec::new(),
            head: head.head,
        })
    }
}
