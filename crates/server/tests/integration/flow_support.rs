//! Helpers for the flow-control tests: seeding a large database directly through the
//! store (fast, one transaction), and a reader that understands both framings and can be
//! throttled to a byte rate.
#![allow(dead_code)]

use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tether_protocol::{codec, split_frame, ServerMessage, LINES_SUBPROTOCOL};
use tether_server::store::Change;
use tether_server::{Commit, LogEntry, Retention, Store};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Writes `n` puts into `channel` of the database at `db` (ids `d000000`…, cycling over
/// `distinct` ids, each body about `body_bytes` long), keeping `retain` log entries; returns the
/// epoch.
pub fn seed(
    db: &Path,
    channel: &str,
    n: u64,
    distinct: u64,
    body_bytes: usize,
    retain: u64,
) -> String {
    if crate::common::on_postgres() {
        // Into a SQLite file through the store (one transaction), then copied as it is into
        // the PostgreSQL database of the dir (see `load_from_sqlite`).
        #[cfg(feature = "postgres")]
        {
            let scratch = tempfile::tempdir().expect("temp dir");
            let file = scratch.path().join("seed.sqlite3");
            let epoch = seed_sqlite(&file, channel, n, distinct, body_bytes, retain);
            let dir = db.parent().expect("the database's dir");
            crate::common::store_choice::load_from_sqlite(dir, &file);
            return epoch;
        }
    }
    seed_sqlite(db, channel, n, distinct, body_bytes, retain)
}

/// [`seed`] into the SQLite file `db`.
fn seed_sqlite(
    db: &Path,
    channel: &str,
    n: u64,
    distinct: u64,
    body_bytes: usize,
    retain: u64,
) -> String {
    let mut store = tether_server::SqliteStore::open(db).expect("open the store");
    let unix_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(0));
    let filler = "x".repeat(body_bytes);
    store.begin_batch().expect("batch");
    let head = store.channel_head(channel).expect("head").head;
    for i in 1..=n {
        let id = format!("d{:06}", (i - 1) % distinct);
        let prev = store.document(channel, &id).expect("read");
        let offset = head + i;
        let commit = Commit {
            client_id: "seed".into(),
            mutation_id: offset,
            reply: json!({"type": "ack", "mutation_id": offset, "version": 1, "offset": offset})
                .to_string(),
            change: Some(Change {
                channel: channel.into(),
                entry: LogEntry {
                    offset,
                    id,
                    version: prev.as_ref().map_or(1, |p| p.version + 1),
                    body: Some(tether_protocol::Json::from(json!({"n": i, "body": filler}))),
                    prev_body: prev.and_then(|p| p.body),
                    origin: None,
                    unix_ms,
                },
            }),
            retention: Retention {
                max_events: retain,
                max_age_ms: 3_600_000,
                dedupe_per_client: 1_000,
                dedupe_max_age_ms: 30 * 86_400_000,
                max_clients: 1_000_000,
            },
            unix_ms,
        };
        store.commit(&commit).expect("commit");
    }
    store.end_batch().expect("durable");
    store.epoch().to_owned()
}

/// A WebSocket reader of either framing.
pub struct Reader {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    pub lines: bool,
    /// Bytes per second to read at (None = as fast as possible).
    pub rate: Option<u64>,
    started: Instant,
    bytes: u64,
    /// Size of every WebSocket message received.
    pub message_sizes: Vec<usize>,
}

impl Reader {
    /// Connects (with `tether-lines` when `lines`) and completes the handshake.
    pub async fn hello(url: &str, client_id: &str, lines: bool) -> Reader {
        let mut request = url.into_client_request().expect("request");
        if lines {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                LINES_SUBPROTOCOL.parse().expect("header value"),
            );
        }
        let (ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connects");
        let mut r = Reader {
            ws,
            lines,
            rate: None,
            started: Instant::now(),
            bytes: 0,
            message_sizes: Vec::new(),
        };
        r.send(json!({"type": "hello", "protocol": 1, "client_id": client_id}))
            .await;
        match r.next_batch().await.first() {
            Some(ServerMessage::Welcome { .. }) => r,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.ws
            .send(Message::text(v.to_string()))
            .await
            .expect("frame sent");
    }

    /// The messages of the next WebSocket message (panics on close or after 10 s).
    pub async fn next_batch(&mut self) -> Vec<ServerMessage> {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.ws.next())
                .await
                .expect("a frame within 10 s")
                .expect("connection open")
                .expect("frame readable");
            let text = match msg {
                Message::Text(text) => text,
                Message::Close(frame) => panic!("closed: {frame:?}"),
                _ => continue,
            };
            self.message_sizes.push(text.len());
            self.throttle(text.len()).await;
            let bytes = text.as_bytes();
            let parts: Vec<&[u8]> = if self.lines {
                split_frame(bytes).collect()
            } else {
                vec![bytes]
            };
            return parts
                .into_iter()
                .map(|p| codec::decode_server(p).expect("decodable"))
                .collect();
        }
    }

    async fn throttle(&mut self, len: usize) {
        let Some(rate) = self.rate else {
            return;
        };
        self.bytes += len as u64;
        let due = Duration::from_secs_f64(self.bytes as f64 / rate as f64);
        let elapsed = self.started.elapsed();
        if due > elapsed {
            tokio::time::sleep(due - elapsed).await;
        }
    }

    /// Reads until `presence_sync` for the channel (the end of a subscribe's answer).
    pub async fn until_presence_sync(&mut self) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        loop {
            let batch = self.next_batch().await;
            let done = batch
                .iter()
                .any(|m| matches!(m, ServerMessage::PresenceSync { .. }));
            out.extend(batch);
            if done {
                return out;
            }
        }
    }
}

/// Subscribes `since {epoch, 0}` and checks the answer is `recovered` followed by exactly the
/// events 1..=n in order (prev chain unbroken); returns how long it took.
pub async fn resume_and_check(r: &mut Reader, epoch: &str, n: u64) -> Duration {
    let started = Instant::now();
    r.send(json!({"type": "subscribe", "channel": "tasks",
                  "since": {"epoch": epoch, "offset": 0}}))
        .await;
    let msgs = r.until_presence_sync().await;
    let took = started.elapsed();
    match &msgs[0] {
        ServerMessage::Subscribed {
            continuity, offset, ..
        } => {
            assert_eq!(*continuity, tether_protocol::Continuity::Recovered);
            assert_eq!(*offset, 0);
        }
        other => panic!("expected subscribed, got {other:?}"),
    }
    let mut expected = 1;
    for m in &msgs[1..msgs.len() - 1] {
        match m {
            ServerMessage::Event { offset, prev, .. } => {
                assert_eq!(
                    (*offset, *prev),
                    (expected, expected - 1),
                    "in order, no gap"
                );
                expected += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(expected - 1, n, "every missed event");
    took
}
