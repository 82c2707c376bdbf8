//! Several engines over one shared store (cluster mode): commits of other nodes learned from
//! the log, decisions taken again after `OffsetMismatch` / `AlreadyRecorded`, hints.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Value};
use tether_protocol::{codec, CloseCode, Document, ErrorCode, RejectReason, ServerMessage};

use crate::engine::{ConnId, ConnectInfo, Output, ServerConfig, ServerEngine};
use crate::store::{
    Change, ChannelHead, Commit, Dedupe, LogEntry, MemoryStore, Retention, Store, StoreError,
    StoredDoc,
};

/// What another node does just before this node's next commit reaches the store.
type Interloper = Box<dyn FnMut(&mut MemoryStore)>;

/// One [`MemoryStore`] shared by several engines; `before_commit` runs before each commit
/// of the engine holding this handle (a write of another node racing it).
pub(super) struct Shared {
    store: Rc<RefCell<MemoryStore>>,
    before_commit: Option<Interloper>,
    epoch: String,
}

impl Store for Shared {
    fn epoch(&self) -> &str {
        &self.epoch
    }
    fn channel_head(&mut self, channel: &str) -> Result<ChannelHead, StoreError> {
        self.store.borrow_mut().channel_head(channel)
    }
    fn document(&mut self, channel: &str, id: &str) -> Result<Option<StoredDoc>, StoreError> {
        self.store.borrow_mut().document(channel, id)
    }
    fn snapshot_page(
        &mut self,
        channel: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Document>, StoreError> {
        self.store.borrow_mut().snapshot_page(channel, after, limit)
    }
    fn log_after(
        &mut self,
        channel: &str,
        after: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.store.borrow_mut().log_after(channel, after, limit)
    }
    fn log_before(
        &mut self,
        channel: &str,
        before: u64,
        limit: usize,
    ) -> Result<Vec<LogEntry>, StoreError> {
        self.store.borrow_mut().log_before(channel, before, limit)
    }
    fn dedupe(&mut self, client_id: &str, mutation_id: u64) -> Result<Dedupe, StoreError> {
        self.store.borrow_mut().dedupe(client_id, mutation_id)
    }
    fn commit(&mut self, commit: &Commit) -> Result<Option<ChannelHead>, StoreError> {
        if let Some(hook) = self.before_commit.as_mut() {
            hook(&mut self.store.borrow_mut());
        }
        self.store.borrow_mut().commit(commit)
    }
    fn client_subject(&mut self, client_id: &str) -> Result<Option<String>, StoreError> {
        self.store.borrow_mut().client_subject(client_id)
    }
    fn bind_client(
        &mut self,
        client_id: &str,
        subject: &str,
        retention: &Retention,
        unix_ms: u64,
    ) -> Result<String, StoreError> {
        self.store
            .borrow_mut()
            .bind_client(client_id, subject, retention, unix_ms)
    }
}

/// One node: an engine over the shared store.
pub(super) struct Node {
    pub(super) e: ServerEngine<Shared>,
}

impl Node {
    pub(super) fn on(store: &Rc<RefCell<MemoryStore>>) -> Node {
        Node::with(store, ServerConfig::default())
    }

    /// A node with `config` (its `shared_store` set).
    pub(super) fn with(store: &Rc<RefCell<MemoryStore>>, config: ServerConfig) -> Node {
        let config = ServerConfig {
            shared_store: true,
            ..config
        };
        let shared = Shared {
            store: Rc::clone(store),
            before_commit: None,
            epoch: "ep1".into(),
        };
        let mut e = ServerEngine::new(config, shared);
        e.set_unix_time_ms(1_700_000_000_000);
        Node { e }
    }

    pub(super) fn conn(&mut self, client: &str) -> ConnId {
        let c = self.e.connect(0, ConnectInfo::default());
        self.send(
            c,
            json!({"type": "hello", "protocol": 1, "client_id": client}),
        );
        let got = self.drain();
        assert!(
            matches!(&got[..], [(_, Ok(ServerMessage::Welcome { .. }))]),
            "{got:?}"
        );
        c
    }

    pub(super) fn send(&mut self, conn: ConnId, v: Value) {
        self.e.handle_frame(0, conn, v.to_string().as_bytes());
    }

    /// Drains every output; messages of `conn` in order, closes as `Err`.
    pub(super) fn drain(&mut self) -> Vec<(ConnId, Result<ServerMessage, CloseCode>)> {
        let mut got = Vec::new();
        while let Some(out) = self.e.poll_output() {
            match out {
                Output::Send { conn, frame } => {
                    self.e.handle_written(0, conn, 1);
                    let msg = codec::decode_server(frame.as_bytes()).expect("decodable frame");
                    got.push((conn, Ok(msg)));
                }
                Output::Close { conn, code } => got.push((conn, Err(code))),
            }
        }
        got
    }

    pub(super) fn call(&mut self, conn: ConnId, v: Value) -> Vec<ServerMessage> {
        self.send(conn, v);
        of(&self.drain(), conn)
    }
}

pub(super) fn of(
    got: &[(ConnId, Result<ServerMessage, CloseCode>)],
    conn: ConnId,
) -> Vec<ServerMessage> {
    got.iter()
        .filter(|(c, _)| *c == conn)
        .filter_map(|(_, m)| m.clone().ok())
        .collect()
}

pub(super) fn put(mid: u64, id: &str, base: Option<u64>, doc: Value) -> Value {
    let mut v = json!({"type": "mutate", "mutation_id": mid, "channel": "tasks", "op": "put",
        "id": id, "doc": doc});
    if let Some(b) = base {
        v["base_version"] = json!(b);
    }
    v
}

/// `(offset, prev, id)` of every event.
pub(super) fn events(msgs: &[ServerMessage]) -> Vec<(u64, u64, String)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMessage::Event {
                offset, prev, id, ..
            } => Some((*offset, *prev, id.clone())),
            _ => None,
        })
        .collect()
}

fn ev(offset: u64, prev: u64, id: &str) -> (u64, u64, String) {
    (offset, prev, id.to_owned())
}

/// A commit as another node would make it: `put` of `id` at the channel's next offset.
fn foreign_put(store: &mut MemoryStore, client: &str, mid: u64, id: &str, reply: Option<&str>) {
    let head = store.channel_head("tasks").unwrap().head;
    let version = store
        .document("tasks", id)
        .unwrap()
        .map_or(0, |d| d.version)
        + 1;
    let ack = codec::encode_server(&ServerMessage::Ack {
        mutation_id: mid,
        version,
        offset: head + 1,
    });
    let commit = Commit {
        client_id: client.into(),
        mutation_id: mid,
        reply: reply.map_or(ack, str::to_owned),
        change: Some(Change {
            channel: "tasks".into(),
            entry: LogEntry {
                offset: head + 1,
                id: id.into(),
                version,
                body: Some(tether_protocol::Json::from(json!({"by": "other"}))),
                prev_body: None,
                origin: None,
                unix_ms: 1_700_000_000_000,
            },
        }),
        retention: retention(),
        unix_ms: 1_700_000_000_000,
    };
    store.commit(&commit).unwrap();
}

pub(super) fn shared() -> Rc<RefCell<MemoryStore>> {
    Rc::new(RefCell::new(MemoryStore::new("ep1".into())))
}

#[test]
fn a_commit_behind_another_nodes_learns_its_events_in_order_and_takes_the_next_offset() {
    let store = shared();
    let (mut a, mut b) = (Node::on(&store), Node::on(&store));
    let (wa, sa) = (a.conn("wa"), a.conn("sa"));
    let (wb, sb) = (b.conn("wb"), b.conn("sb"));
    a.call(sa, json!({"type": "subscribe", "channel": "tasks"}));
    b.call(sb, json!({"type": "subscribe", "channel": "tasks"}));
    a.drain();
    b.drain();

    let got = a.call(wa, put(1, "t1", None, json!({"n": 1})));
    assert!(
        matches!(got[..], [ServerMessage::Ack { offset: 1, .. }]),
        "{got:?}"
    );
    // B's cached head is 0: its commit is refused, it learns offset 1 from the log (and
    // delivers it), and commits at 2.
    b.send(wb, put(1, "t2", None, json!({"n": 2})));
    let got = b.drain();
    assert_eq!(
        of(&got, wb).last(),
        Some(&ServerMessage::Ack {
            mutation_id: 1,
            version: 1,
            offset: 2
        })
    );
    assert_eq!(events(&of(&got, sb)), vec![ev(1, 0, "t1"), ev(2, 1, "t2")]);
    assert_eq!(b.e.stats().commit_retries, 1);
    assert_eq!(b.e.stats().events_learned, 1);

    // A learns offset 2 from a hint; a duplicate or late hint delivers nothing again.
    a.drain();
    a.e.handle_log_hint(0, "tasks", 2);
    assert_eq!(events(&of(&a.drain(), sa)), vec![ev(2, 1, "t2")]);
    a.e.handle_log_hint(0, "tasks", 2);
    a.e.handle_log_hint(0, "tasks", 1);
    assert!(a.drain().is_empty());
}

#[test]
fn reordered_and_lost_hints_cost_latency_only() {
    let store = shared();
    let (mut a, mut b) = (Node::on(&store), Node::on(&store));
    let sa = a.conn("sa");
    a.call(sa, json!({"type": "subscribe", "channel": "tasks"}));
    let wb = b.conn("wb");
    for mid in 1..=2 {
        b.call(wb, put(mid, &format!("t{mid}"), None, json!({"n": mid})));
    }
    assert_eq!(b.e.take_hints(), vec![("tasks".to_owned(), 2)]);
    // Hint 2 arrives before hint 1: both entries, in order, once.
    a.e.handle_log_hint(0, "tasks", 2);
    a.e.handle_log_hint(0, "tasks", 1);
    assert_eq!(
        events(&of(&a.drain(), sa)),
        vec![ev(1, 0, "t1"), ev(2, 1, "t2")]
    );
    for mid in 3..=4 {
        b.call(wb, put(mid, &format!("t{mid}"), None, json!({"n": mid})));
    }
    // The hint of 4 is lost too: the poll finds the store's head and delivers the rest.
    a.e.sync_channels(0);
    assert_eq!(
        events(&of(&a.drain(), sa)),
        vec![ev(3, 2, "t3"), ev(4, 3, "t4")]
    );
    a.e.sync_channels(0);
    assert!(a.drain().is_empty());
}

#[test]
fn a_mutation_another_node_committed_meanwhile_gets_that_nodes_reply_and_applies_once() {
    let store = shared();
    let mut b = Node::on(&store);
    let c = b.conn("c");
    // Node A commits the same mutation (same client, same id) after B read the dedupe record
    // and before B's commit: B's commit is refused, B learns A's event and answers A's ack.
    b.e.store_mut().before_commit = Some(Box::new(|s: &mut MemoryStore| {
        if s.dedupe("c", 1).unwrap().record.is_none() {
            foreign_put(s, "c", 1, "t1", None);
        }
    }));
    let got = b.call(c, put(1, "t1", Some(0), json!({"n": 1})));
    assert_eq!(
        got,
        vec![ServerMessage::Ack {
            mutation_id: 1,
            version: 1,
            offset: 1
        }]
    );
    let doc = store.borrow_mut().document("tasks", "t1").unwrap().unwrap();
    assert_eq!(doc.version, 1, "applied once");
    assert_eq!(store.borrow().log_len("tasks"), 1);
}

#[test]
fn a_rejection_never_overwrites_the_reply_another_node_recorded() {
    let store = shared();
    store
        .borrow_mut()
        .commit(&Commit {
            client_id: "x".into(),
            mutation_id: 1,
            reply: "unused".into(),
            change: None,
            retention: retention(),
            unix_ms: 1,
        })
        .unwrap();
    foreign_put(&mut store.borrow_mut(), "x", 2, "t1", None);
    let mut b = Node::on(&store);
    let c = b.conn("c");
    // B would reject (t1 exists, base_version 0), but A records an ack for the same key first.
    let recorded = codec::encode_server(&ServerMessage::Ack {
        mutation_id: 7,
        version: 2,
        offset: 2,
    });
    let from_a = recorded.clone();
    b.e.store_mut().before_commit = Some(Box::new(move |s: &mut MemoryStore| {
        if s.dedupe("c", 7).unwrap().record.is_none() {
            foreign_put(s, "c", 7, "t1", Some(&from_a));
        }
    }));
    let got = b.call(c, put(7, "t1", Some(0), json!({"n": 1})));
    assert_eq!(
        got,
        vec![codec::decode_server(recorded.as_bytes()).unwrap()]
    );
    let record = store.borrow_mut().dedupe("c", 7).unwrap().record;
    assert_eq!(record.as_deref(), Some(recorded.as_str()));
}

#[test]
fn a_base_version_made_stale_by_another_node_is_a_conflict_with_its_document() {
    let store = shared();
    let mut b = Node::on(&store);
    let c = b.conn("c");
    let mut once = true;
    b.e.store_mut().before_commit = Some(Box::new(move |s: &mut MemoryStore| {
        if std::mem::take(&mut once) {
            foreign_put(s, "other", 1, "t1", None);
        }
    }));
    let got = b.call(c, put(1, "t1", Some(0), json!({"n": 1})));
    match &got[..] {
        [ServerMessage::Reject {
            reason: RejectReason::Conflict,
            current: Some(current),
            ..
        }] => assert_eq!((current.id.as_str(), current.version), ("t1", 1)),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[test]
fn a_channel_other_nodes_keep_writing_first_fails_after_a_bounded_number_of_decisions() {
    let store = shared();
    let mut b = Node::on(&store);
    let c = b.conn("c");
    let mut n = 0;
    b.e.store_mut().before_commit = Some(Box::new(move |s: &mut MemoryStore| {
        n += 1;
        foreign_put(s, "other", n, &format!("o{n}"), None);
    }));
    b.send(c, put(1, "t1", None, json!({"n": 1})));
    let got = b.drain();
    let msgs = of(&got, c);
    assert!(
        msgs.iter().any(|m| matches!(
            m,
            ServerMessage::Error {
                code: ErrorCode::Internal,
                mutation_id: Some(1),
                ..
            }
        )),
        "{msgs:?}"
    );
    assert!(got.contains(&(c, Err(CloseCode::Internal))), "{got:?}");
    assert_eq!(
        u64::from(super::super::mutations::MAX_DECISIONS) - 1,
        b.e.stats().commit_retries
    );
    assert!(store.borrow_mut().dedupe("c", 1).unwrap().record.is_none());
}

#[test]
fn a_subscribe_on_a_node_with_a_stale_head_starts_from_the_stores_head() {
    let store = shared();
    let (mut a, mut b) = (Node::on(&store), Node::on(&store));
    let sb = b.conn("sb");
    b.call(sb, json!({"type": "subscribe", "channel": "tasks"}));
    b.call(sb, json!({"type": "unsubscribe", "channel": "tasks"}));
    let wa = a.conn("wa");
    a.call(wa, put(1, "t1", None, json!({"n": 1})));
    a.call(wa, put(2, "t2", None, json!({"n": 2})));
    let got = b.call(sb, json!({"type": "subscribe", "channel": "tasks"}));
    match &got[..] {
        [ServerMessage::Subscribed { offset, .. }, ..] => assert_eq!(*offset, 2),
        other => panic!("expected subscribed, got {other:?}"),
    }
}

#[test]
fn hints_name_only_durable_commits() {
    let store = shared();
    let mut a = Node::on(&store);
    let wa = a.conn("wa");
    a.e.begin_batch().unwrap();
    a.send(wa, put(1, "t1", None, json!({"n": 1})));
    assert!(
        a.e.take_hints().is_empty(),
        "nothing before the batch is durable"
    );
    a.e.end_batch().unwrap();
    assert_eq!(a.e.take_hints(), vec![("tasks".to_owned(), 1)]);
    assert!(a.e.take_hints().is_empty());
}

fn retention() -> Retention {
    let c = ServerConfig::default();
    Retention {
        max_events: c.retain_events,
        max_age_ms: c.retain_ms,
        dedupe_per_client: c.dedupe_per_client,
        dedupe_max_age_ms: c.dedupe_max_age_ms,
        max_clients: c.max_clients,
    }
}
