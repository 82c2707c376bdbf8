//! Continuity of a channel subscription: the resume cursor and the event rule of the protocol.
//!
//! With `cursor` = the offset the client's copy is caught up to, an event `(offset, prev)` is
//! a duplicate when `offset <= cursor`, applies when `prev <= cursor`, and otherwise reveals a
//! gap (an event of the view was lost) which is repaired by resubscribing `since` the cursor.
//! `prev` lets a filtered view tell offsets its filter skipped from lost ones.

use crate::sorted::SortedMap;

use tether_protocol::{Document, Selector, Since};

/// What to do with an incoming event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Already applied: drop it.
    Duplicate,
    /// Next in sequence: apply it and advance the cursor to its offset.
    Apply,
    /// Something between the cursor and this event is missing (or the epoch changed).
    Gap,
}

/// Classifies an event against the cursor.
pub(crate) fn classify(cursor: &Since, epoch: &str, offset: u64, prev: u64) -> Verdict {
    if epoch != cursor.epoch {
        Verdict::Gap
    } else if offset <= cursor.offset {
        Verdict::Duplicate
    } else if prev <= cursor.offset {
        Verdict::Apply
    } else {
        Verdict::Gap
    }
}

/// Where the channel's subscription on the current connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubState {
    /// No view wants the channel (or it was unsubscribed).
    Inactive,
    /// Wanted, but not sent on this connection yet.
    NotSent,
    /// `subscribe` sent (at `sent_at`) and not answered: events are dropped (the answer
    /// replays or snapshots them). Only one answer is awaited per channel at a time.
    Pending {
        /// When the subscribe was sent (engine time).
        sent_at: u64,
    },
    /// `subscribed` arrived: events apply.
    Live,
}

/// A channel's subscription and resume point.
#[derive(Debug, Clone)]
pub(crate) struct Subscription {
    pub(crate) state: SubState,
    /// What the channel is subscribed with: a selector holding every view's documents (the
    /// `or` of the views' filters; the union of their ids when every view is a by-id view).
    pub(crate) selector: Selector,
    /// Canonical key of `selector` ("" = unfiltered, [`Selector::canonical_key`]).
    pub(crate) filter_key: String,
    /// Offset the confirmed documents are caught up to, for the filter `cursor_key`.
    pub(crate) cursor: Option<Since>,
    /// The filter key the cursor belongs to.
    pub(crate) cursor_key: String,
    /// Filter key of the subscribe frames sent on this connection.
    pub(crate) sent_key: Option<String>,
    /// The filter changed while an answer was awaited: subscribe again once it arrives.
    pub(crate) deferred: bool,
    /// An unattributed `RATE_LIMITED` may have dropped the subscribe: send it again.
    pub(crate) resend_due: bool,
    /// A subscribe was sent twice on this connection, so one more (identical) answer may
    /// still come; a different filter then needs a new connection to stay unambiguous.
    pub(crate) resent: bool,
    /// Answers still to come for subscribes made obsolete by an `unsubscribe`; they are
    /// skipped so a later subscribe is not answered by an earlier one.
    pub(crate) stale_answers: u32,
    /// A paged `reset` snapshot being received (`subscribed {more: true}`, then `snapshot`
    /// pages): the documents so far, by id. The shown view and the cursor stay as they were
    /// until the last page; a lost connection discards it.
    pub(crate) pages: Option<SortedMap<String, Document>>,
}

impl Subscription {
    pub(crate) fn new(cursor: Option<Since>, cursor_key: String) -> Subscription {
        Subscription {
            state: SubState::Inactive,
            selector: Selector::default(),
            filter_key: String::new(),
            cursor,
            cursor_key,
            sent_key: None,
            deferred: false,
            resend_due: false,
            resent: false,
            stale_answers: 0,
            pages: None,
        }
    }

    /// Forgets what was sent on the connection that ended.
    pub(crate) fn connection_lost(&mut self) {
        if self.state != SubState::Inactive {
            self.state = SubState::NotSent;
        }
        self.sent_key = None;
        self.deferred = false;
        self.resend_due = false;
        self.resent = false;
        self.stale_answers = 0;
        self.pages = None;
    }

    /// Whether the `subscribed` answering the pending subscribe is still to come (not when
    /// its first page arrived and the rest of a paged snapshot is awaited).
    pub(crate) fn awaits_answer(&self) -> bool {
        matches!(self.state, SubState::Pending { .. }) && self.pages.is_none()
    }

    /// The `since` to subscribe with: only when the cursor belongs to the same filter (a
    /// different filter's replay would miss documents that only the new filter matches).
    pub(crate) fn since(&self) -> Option<Since> {
        if self.cursor_key == self.filter_key {
            self.cursor.clone()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: u64) -> Since {
        Since {
            epoch: "e1".into(),
            offset,
        }
    }

    #[test]
    fn duplicate_apply_and_gap() {
        let c = at(10);
        assert_eq!(classify(&c, "e1", 10, 9), Verdict::Duplicate);
        assert_eq!(classify(&c, "e1", 3, 2), Verdict::Duplicate);
        assert_eq!(classify(&c, "e1", 11, 10), Verdict::Apply);
        // A filtered view skipped offsets 11..14: prev says nothing of the view is missing.
        assert_eq!(classify(&c, "e1", 15, 10), Verdict::Apply);
        // An event of the view between 10 and 15 was lost.
        assert_eq!(classify(&c, "e1", 15, 12), Verdict::Gap);
        assert_eq!(classify(&c, "e2", 11, 10), Verdict::Gap);
    }

    #[test]
    fn since_only_for_the_same_filter() {
        let mut s = Subscription::new(Some(at(4)), String::new());
        assert_eq!(s.since(), Some(at(4)));
        s.filter_key = "x".into();
        assert_eq!(s.since(), None);
    }
}
