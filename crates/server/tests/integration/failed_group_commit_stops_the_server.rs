//! When a group commit cannot be made durable, nothing of its batch reaches a client: every
//! connection is closed with 1011 and the server stops with the storage error. Restarted on the
//! same file, the clients' resends are applied exactly once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::{ack, event, Client, TestServer, WAIT};
use futures_util::StreamExt;
use serde_json::json;
use tether_protocol::{Document, ServerMessage};
use tether_server::edge::{spawn_with_store, EdgeError, Options};
use tether_server::{
    ChannelHead, Commit, Dedupe, LogEntry, Retention, Store, StoreError, StoredDoc,
};
use tokio_tungstenite::tungstenite::Message;

/// The real store (SQLite, or PostgreSQL with `TETHER_TEST_STORE=postgres`), whose batches
/// fail to commit while `fail` is set (as on a full disk): the batch's transaction is then left
/// to roll back when the store is dropped.
struct FailingCommits {
    inner: Box<dyn Store + Send>,
    fail: Arc<AtomicBool>,
}

fn injected() -> StoreError {
    StoreError::Backend {
        message: "injected commit failure".into(),
    }
}

impl Store for FailingCommits {
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
        self.inner.commit(commit)
    }
    fn begin_batch(&mut self) -> Result<(), StoreError> {
        self.inner.begin_batch()
    }
    fn end_batch(&mut self) -> Result<(), StoreError> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(injected());
        }
        self.inner.end_batch()
    }
}

/// The next WebSocket message must be a close frame with `code`: no frame before it.
async fn closed_at_once(c: &mut Client, code: u16) {
    let msg = tokio::time::timeout(WAIT, c.ws.next())
        .await
        .expect("a message within the wait")
        .expect("stream open")
        .expect("readable");
    match msg {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), code),
        other => panic!("expected close {code}, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_of_a_failed_batch_is_sent_every_connection_gets_1011_and_resends_apply_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tether.sqlite3");
    let fail = Arc::new(AtomicBool::new(false));
    let store = FailingCommits {
        inner: crate::common::open_store(&db),
        fail: Arc::clone(&fail),
    };
    let mut options = Options::for_tests(db.clone());
    options.log = "off".into();
    let server = spawn_with_store(options, store).await.unwrap();
    let url = format!("ws://{}/ws", server.addr());
    let mut a = Client::hello(&url, "a").await;
    let mut b = Client::hello(&url, "b").await;
    a.subscribe(json!({"channel": "tasks"})).await;
    b.subscribe(json!({"channel": "tasks"})).await;
    a.put(1, "tasks", "t1", json!({"n": 1})).await;
    assert_eq!(event(&a.recv().await).0, 1);
    let ack1 = a.recv().await;
    assert_eq!(ack(&ack1), (1, 1, 1));
    assert_eq!(event(&b.recv().await).0, 1);

    fail.store(true, Ordering::SeqCst);
    a.put(2, "tasks", "t2", json!({"n": 2})).await;
    // Neither the event (to both) nor the ack leaves: only the close.
    closed_at_once(&mut a, 1011).await;
    closed_at_once(&mut b, 1011).await;
    let stopped = tokio::time::timeout(WAIT, server.wait())
        .await
        .expect("the server stops on its own");
    assert_eq!(stopped, Err(EdgeError::Store(injected())));

    // The restarted server has only what was durable; the resends apply exactly once.
    let server = TestServer::start_in(dir, |_| {}).await;
    let mut a = server.client("a").await;
    let got = a.subscribe(json!({"channel": "tasks"})).await;
    match &got[0] {
        ServerMessage::Subscribed {
            offset,
            snapshot: Some(docs),
            ..
        } => {
            assert_eq!(*offset, 1);
            assert_eq!(docs.len(), 1);
            assert_eq!(docs[0].id, "t1");
        }
        other => panic!("{other:?}"),
    }
    a.put(1, "tasks", "t1", json!({"n": 1})).await;
    assert_eq!(a.recv().await, ack1);
    a.put(2, "tasks", "t2", json!({"n": 2})).await;
    assert_eq!(event(&a.recv().await).0, 2);
    assert_eq!(ack(&a.recv().await), (2, 1, 2));
    a.silent_for(100).await;
    server.stop().await;
}
