//! Group commit: outputs are held until the batch is durable; a failed commit inside a batch
//! is answered as outside one. (A failed batch: `failed_batch.rs`, over the store here.)

use serde_json::{json, Value};
use tether_protocol::{codec, Document, ServerMessage};

use super::{Got, H};
use crate::engine::{ConnId, ConnectInfo, Output, ServerConfig, ServerEngine};
use crate::store::{
    ChannelHead, Commit, Dedupe, LogEntry, MemoryStore, Retention, Store, StoreError, StoredDoc,
};

/// How `end_batch` ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EndBatch {
    /// `Ok`: the batch is durable.
    Durable,
    /// `Err`, but every commit of the batch is durable (the connection was lost after
    /// PostgreSQL committed, before the client read the answer).
    FailDurable,
    /// `Err`, and every commit of the batch is lost (rolled back).
    FailLost,
}

/// A [`MemoryStore`] with injected failures: the next `commit` of one `(client, mutation id)`
/// (once: its resend commits), and `end_batch` (see [`EndBatch`]).
pub(super) struct Faulty {
    pub(super) inner: MemoryStore,
    pub(super) fail_commit_of: Option<(&'static str, u64)>,
    pub(super) end_batch: EndBatch,
    /// The data as it was when the open batch began.
    saved: Option<MemoryStore>,
    pub(super) batches: Vec<&'static str>,
}

pub(super) fn injected() -> StoreError {
    StoreError::Backend {
        message: "injected failure".into(),
    }
}

impl Store for Faulty {
    fn epoch(&self) -> &str {
        self.inner.epoch()
    }
    fn channel_head(&mut self, channel: &str) -> Result<ChannelHead, StoreError> {
        self.inner.channel_head(channel)
    }
    fn document(&mut self, channel: &str, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        self.inner.document(channel, id)
    }
    fn client_subject(&mut self, client_id: &str) -> Result<Option<String>, StoreError> {
        self.inner.client_subject(client_id)
    }
    fn bind_client(
        &mut self,
        client_id: &str,
        subject: &str,
        retention: &Retention,
        unix_ms: u64,
    ) -> Result<String, StoreError> {
        self.inner
            .bind_client(client_id, subject, retention, unix_ms)
    }
    fn snapshot_page(
        &mut self,
        c: &str,
        after: Option<&str>,
        n: usize,
    ) -> Result<Vec<Document>, StoreError> {
        self.inner.snapshot_page(c, after, n)
    }
    fn log_after(&mut self, c: &str, after: u64, n: usize) -> Result<Vec<LogEntry>, StoreError> {
        self.inner.log_after(c, after, n)
    }
    fn log_before(&mut self, c: &str, before: u64, n: usize) -> Result<Vec<LogEntry>, StoreError> {
        self.inner.log_before(c, before, n)
    }
    fn dedupe(&mut self, client_id: &str, mutation_id: u64) -> Result<Dedupe, StoreError> {
        self.inner.dedupe(client_id, mutation_id)
    }
    fn commit(&mut self, commit: &Commit) -> Result<Option<ChannelHead>, StoreError> {
        if let Some((client, mid)) = self.fail_commit_of {
            if client == commit.client_id && mid == commit.mutation_id {
                self.fail_commit_of = None;
                return Err(injected());
            }
        }
        self.inner.commit(commit)
    }
    fn begin_batch(&mut self) -> Result<(), StoreError> {
        self.batches.push("begin");
        self.saved = Some(self.inner.clone());
        Ok(())
    }
    fn end_batch(&mut self) -> Result<(), StoreError> {
        self.batches.push("end");
        let saved = self.saved.take();
        match self.end_batch {
            EndBatch::Durable => Ok(()),
            EndBatch::FailDurable => Err(injected()),
            EndBatch::FailLost => {
                if let Some(saved) = saved {
                    self.inner = saved;
                }
                Err(injected())
            }
        }
    }
}

pub(super) fn engine() -> ServerEngine<Faulty> {
    let store = Faulty {
        inner: MemoryStore::new("ep1".into()),
        fail_commit_of: None,
        end_batch: EndBatch::Durable,
        saved: None,
        batches: Vec::new(),
    };
    ServerEngine::new(ServerConfig::default(), store)
}

pub(super) fn send<S: Store>(e: &mut ServerEngine<S>, conn: ConnId, v: Value) {
    e.handle_frame(0, conn, v.to_string().as_bytes());
}

pub(super) fn drain<S: Store>(e: &mut ServerEngine<S>) -> Vec<Got> {
    let mut got = Vec::new();
    while let Some(out) = e.poll_output() {
        got.push(match out {
            Output::Send { conn, frame } => Got::Msg(
                conn,
                codec::decode_server(frame.as_bytes()).expect("decodable"),
            ),
            Output::Close { conn, code } => Got::Close(conn, code),
        });
    }
    got
}

/// A connection that said hello and subscribed to `tasks`.
pub(super) fn subscribed<S: Store>(e: &mut ServerEngine<S>, client: &str) -> ConnId {
    let c = e.connect(0, ConnectInfo::default());
    send(
        e,
        c,
        json!({"type": "hello", "protocol": 1, "client_id": client}),
    );
    send(e, c, json!({"type": "subscribe", "channel": "tasks"}));
    drain(e);
    c
}

pub(super) fn put(mid: u64, id: &str) -> Value {
    json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put", "id": id,
           "doc": {"n": mid}})
}

pub(super) fn kinds(got: &[Got]) -> Vec<String> {
    got.iter()
        .map(|g| match g {
            Got::Msg(c, ServerMessage::Ack { mutation_id, .. }) => format!("{c} ack {mutation_id}"),
            Got::Msg(c, ServerMessage::Event { offset, .. }) => format!("{c} event {offset}"),
            Got::Msg(c, ServerMessage::Pong { nonce }) => format!("{c} pong {nonce}"),
            Got::Msg(
                c,
                ServerMessage::Error {
                    code, mutation_id, ..
                },
            ) => format!("{c} error {} {mutation_id:?}", code.as_str()),
            Got::Msg(c, other) => format!("{c} {other:?}"),
            Got::Close(c, code) => format!("{c} close {}", code.as_u16()),
        })
        .collect()
}

#[test]
fn outputs_of_a_batch_are_held_until_it_is_durable() {
    let mut h = H::new();
    let a = h.conn("a");
    let b = h.conn("b");
    h.subscribe(b, "tasks");
    // An output from before the batch can still be polled during it.
    h.send(a, json!({"type": "ping", "nonce": 1}));
    h.e.begin_batch().unwrap();
    assert!(h.e.in_batch());
    h.send(a, put(1, "t1"));
    h.send(a, put(2, "t2"));
    h.send(a, json!({"type": "ping", "nonce": 2}));
    assert_eq!(kinds(&h.drain()), [format!("{a} pong 1")]);
    assert!(h.e.poll_output().is_none());
    // The commits are already visible to the batch's own reads.
    assert!(h.e.store_mut().document("tasks", "t2").unwrap().is_some());
    h.e.end_batch().unwrap();
    assert!(!h.e.in_batch());
    assert_eq!(
        kinds(&h.drain()),
        [
            format!("{b} event 1"),
            format!("{a} ack 1"),
            format!("{b} event 2"),
            format!("{a} ack 2"),
            format!("{a} pong 2"),
        ]
    );
    // Without a batch outputs flow at once, as before.
    h.send(a, put(3, "t3"));
    assert_eq!(h.drain().len(), 2);
    assert_eq!(h.e.end_batch(), Ok(()), "no batch open: nothing to do");
}

/// Replaces "a failed commit inside a batch is answered as outside one and the rest commit":
/// the rest of the *failing client's* mutations no longer commit after the failure (that made
/// the failed one unappliable: its resend was below the client's highest id); other clients'
/// mutations of the batch still commit, and the resend applies once, in order.
#[test]
fn a_failed_commit_closes_its_connection_spares_other_clients_and_the_resend_applies_once() {
    let mut e = engine();
    e.store_mut().fail_commit_of = Some(("a", 2));
    let a = subscribed(&mut e, "a");
    let b = subscribed(&mut e, "b");
    e.begin_batch().unwrap();
    for mid in 1..=3 {
        send(&mut e, a, put(mid, &format!("a{mid}")));
        send(&mut e, b, put(mid, &format!("b{mid}")));
    }
    assert!(e.poll_output().is_none());
    e.end_batch().unwrap();
    assert_eq!(
        kinds(&drain(&mut e)),
        [
            format!("{a} event 1"),
            format!("{b} event 1"),
            format!("{a} ack 1"),
            format!("{a} event 2"),
            format!("{b} event 2"),
            format!("{b} ack 1"),
            format!("{a} error INTERNAL Some(2)"),
            format!("{a} close 1011"),
            // a's mutation 3 was never applied; b's mutations all were.
            format!("{b} event 3"),
            format!("{b} ack 2"),
            format!("{b} event 4"),
            format!("{b} ack 3"),
        ]
    );
    assert_eq!(e.stats().store_errors, 1);
    assert!(!e.is_connected(a));
    assert!(e.store_mut().document("tasks", "a3").unwrap().is_none());

    // a reconnects and resends what was not answered, in order: applied once each.
    let a = subscribed(&mut e, "a");
    send(&mut e, a, put(2, "a2"));
    send(&mut e, a, put(3, "a3"));
    send(&mut e, a, put(1, "a1"));
    let got = kinds(&drain(&mut e));
    let of = |conn: ConnId| -> Vec<&String> {
        got.iter()
            .filter(|k| k.starts_with(&format!("{conn} ")))
            .collect()
    };
    assert_eq!(
        of(a),
        [
            &format!("{a} event 5"),
            &format!("{a} ack 2"),
            &format!("{a} event 6"),
            &format!("{a} ack 3"),
            &format!("{a} ack 1"),
        ]
    );
    assert_eq!(of(b), [&format!("{b} event 5"), &format!("{b} event 6")]);
    assert_eq!(e.stats().mutations_held_back, 0);
}

#[test]
fn after_a_failed_commit_later_mutations_of_that_client_on_any_connection_are_held_back() {
    let mut e = engine();
    e.store_mut().fail_commit_of = Some(("a", 2));
    let a1 = subscribed(&mut e, "a");
    let a2 = subscribed(&mut e, "a");
    send(&mut e, a1, put(2, "x"));
    assert_eq!(
        kinds(&drain(&mut e)),
        [
            format!("{a1} error INTERNAL Some(2)"),
            format!("{a1} close 1011")
        ]
    );
    // A later id of the same client on another connection would raise its highest id above
    // the failed one: not applied, not answered, that connection is closed too.
    send(&mut e, a2, put(3, "y"));
    assert_eq!(kinds(&drain(&mut e)), [format!("{a2} close 1011")]);
    assert_eq!(e.stats().mutations_held_back, 1);
    assert!(e.store_mut().document("tasks", "y").unwrap().is_none());
    // An earlier id is not held back; the failed one, resent, lifts the hold.
    let a3 = subscribed(&mut e, "a");
    send(&mut e, a3, put(1, "w"));
    send(&mut e, a3, put(2, "x"));
    send(&mut e, a3, put(3, "y"));
    let got = kinds(&drain(&mut e));
    assert_eq!(
        got,
        [
            format!("{a3} event 1"),
            format!("{a3} ack 1"),
            format!("{a3} event 2"),
            format!("{a3} ack 2"),
            format!("{a3} event 3"),
            format!("{a3} ack 3"),
        ]
    );
}

#[test]
fn begin_batch_twice_keeps_one_batch() {
    let mut e = engine();
    let a = subscribed(&mut e, "a");
    e.begin_batch().unwrap();
    e.begin_batch().unwrap();
    send(&mut e, a, put(1, "t1"));
    e.end_batch().unwrap();
    assert_eq!(e.store().batches, ["begin", "end"]);
    assert_eq!(
        kinds(&drain(&mut e)),
        [format!("{a} event 1"), format!("{a} ack 1")]
    );
}
