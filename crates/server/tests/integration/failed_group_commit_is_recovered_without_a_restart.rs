//! When a group commit fails (here: its `COMMIT` went through but its answer was lost, so the
//! server cannot know the batch durable), nothing of its batch reaches a client, the
//! connections it affected are closed with 1011 at once, and the server goes on without a
//! restart: an untouched connection stays open, the heads are read again, and the clients'
//! resends are applied exactly once (answered from their records).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::{ack, event, Client, WAIT};
use futures_util::StreamExt;
use serde_json::json;
use tether_protocol::{Document, ServerMessage};
use tether_server::edge::{spawn_with_store, Options};
use tether_server::{
    ChannelHead, Commit, Dedupe, LogEntry, Retention, Store, StoreError, StoredDoc,
};
use tokio_tungstenite::tungstenite::Message;

/// The real store (SQLite, or PostgreSQL with `TETHER_TEST_STORE=postgres`), whose batches
/// report a failure after committing while `fail` is set (as when the connection to the
/// database is lost after it committed, before its answer arrived).
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
        let result = self.inner.end_batch();
        if self.fail.load(Ordering::SeqCst) {
            return Err(injected());
        }
        result
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
async fn nothing_of_a_failed_batch_is_sent_its_connections_get_1011_and_the_server_goes_on() {
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
    let mut c = Client::hello(&url, "c").await;
    a.subscribe(json!({"channel": "tasks"})).await;
    b.subscribe(json!({"channel": "tasks"})).await;
    c.subscribe(json!({"channel": "other"})).await;
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
    fail.store(false, Ordering::SeqCst);

    // The server goes on, and the connection the batch did not touch is still open.
    c.send(json!({"type": "ping", "nonce": 5})).await;
    assert_eq!(c.recv().await, ServerMessage::Pong { nonce: 5 });
    let (status, _) = crate::common::http_get(server.addr(), "/healthz").await;
    assert_eq!(status, 200);

    // The head is read again (2: the batch was durable after all); the resends apply once.
    let mut a = Client::hello(&url, "a").await;
    let got = a.subscribe(json!({"channel": "tasks"})).await;
    match &got[0] {
        ServerMessage::Subscribed {
            offset,
            snapshot: Some(docs),
            ..
        } => {
            assert_eq!(*offset, 2);
            let ids: Vec<&str> = docs.iter().map(|d| d.id.as_str()).collect();
            assert_eq!(ids, ["t1", "t2"]);
        }
        other => panic!("{other:?}"),
    }
    a.put(1, "tasks", "t1", json!({"n": 1})).await;
    assert_eq!(a.recv().await, ack1);
    a.put(2, "tasks", "t2", json!({"n": 2})).await;
    assert_eq!(ack(&a.recv().await), (2, 1, 2));
    // The next write continues the log after the batch's.
    a.put(3, "tasks", "t3", json!({"n": 3})).await;
    assert_eq!(event(&a.recv().await).0, 3);
    assert_eq!(ack(&a.recv().await), (3, 1, 3));
    a.silent_for(100).await;
    server.shutdown().await.expect("clean shutdown");
}
