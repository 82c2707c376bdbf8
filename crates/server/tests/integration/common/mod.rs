//! Helpers shared by the integration tests: an in-process server on an ephemeral loopback
//! port over a real SQLite file in a temp dir, the real binary, and a WebSocket client.
//!
//! With `TETHER_TEST_STORE=postgres` (a build with the `postgres` feature, and
//! `TETHER_TEST_POSTGRES_URL` naming a PostgreSQL server, as `scripts/services.sh` sets it) the
//! same tests run on PostgreSQL: each test dir gets a fresh database of its own (named in the
//! file `postgres-database` of the dir), which a restart on the same dir finds again.
#![allow(dead_code)]

pub mod api_client;
pub mod store_choice;

pub use store_choice::{database_url, on_postgres, open_store};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tether_protocol::{codec, ServerMessage};
use tether_server::edge::{spawn, Options, RunningServer};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};

/// How long any single expected frame may take.
pub const WAIT: Duration = Duration::from_secs(5);

/// A server running in this process.
pub struct TestServer {
    pub server: RunningServer,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    /// Dev-mode server on a fresh SQLite file; `tweak` adjusts the options.
    pub async fn start(tweak: impl FnOnce(&mut Options)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        TestServer::start_in(dir, tweak).await
    }

    /// A server on `dir/tether.sqlite3`.
    pub async fn start_in(dir: tempfile::TempDir, tweak: impl FnOnce(&mut Options)) -> TestServer {
        let mut options = Options::for_tests(dir.path().join("tether.sqlite3"));
        options.database_url = database_url(dir.path());
        options.log = "warn".into();
        tweak(&mut options);
        let server = spawn(options).await.expect("server starts");
        TestServer { server, dir }
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("tether.sqlite3")
    }

    /// `ws://addr/ws`.
    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr())
    }

    /// A client that completed the handshake as `client_id`.
    pub async fn client(&self, client_id: &str) -> Client {
        Client::hello(&self.url(), client_id).await
    }

    /// Stops the server gracefully and returns its temp dir (to restart on the same file).
    pub async fn stop(self) -> tempfile::TempDir {
        self.server.shutdown().await.expect("clean shutdown");
        self.dir
    }
}

/// The `tether-server` binary, running.
pub struct BinaryServer {
    pub child: Child,
    pub addr: SocketAddr,
}

impl BinaryServer {
    /// Starts the binary with `args` (plus `--bind 127.0.0.1:0`) and reads the bound address
    /// it prints.
    pub fn start(args: &[&str]) -> BinaryServer {
        use std::io::BufRead;
        // On PostgreSQL: the database of the SQLite file's dir.
        let database = args
            .iter()
            .position(|a| *a == "--db")
            .and_then(|i| args.get(i + 1))
            .and_then(|db| std::path::Path::new(db).parent())
            .and_then(database_url);
        let mut child = Command::new(env!("CARGO_BIN_EXE_tether-server"))
            .args(args)
            .args(
                database
                    .iter()
                    .flat_map(|url| ["--database-url", url.as_str()]),
            )
            .args(["--bind", "127.0.0.1:0", "--log", "warn"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reads the address line");
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        BinaryServer { child, addr }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill");
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill -TERM");
        self.child.wait().expect("exit status")
    }
}

/// A WebSocket client speaking JSON frames.
pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// How a read ended when a close was expected.
#[derive(Debug, PartialEq)]
pub enum Closed {
    /// A close frame with this code.
    Code(u16),
    /// The connection ended without a close frame.
    Abrupt,
}

impl Client {
    /// Connects without sending `hello`.
    pub async fn connect(url: &str) -> Client {
        let (ws, _) = connect_async(url).await.expect("websocket connects");
        Client { ws }
    }

    /// Connects with an `Origin` header; the HTTP status on refusal.
    pub async fn connect_with_origin(url: &str, origin: &str) -> Result<Client, u16> {
        let mut request = url.into_client_request().expect("request");
        request
            .headers_mut()
            .insert("Origin", origin.parse().expect("header value"));
        match connect_async(request).await {
            Ok((ws, _)) => Ok(Client { ws }),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(other) => panic!("unexpected connect error {other}"),
        }
    }

    /// Connects and completes the handshake.
    pub async fn hello(url: &str, client_id: &str) -> Client {
        let mut c = Client::connect(url).await;
        c.send(json!({"type": "hello", "protocol": 1, "client_id": client_id}))
            .await;
        match c.recv().await {
            ServerMessage::Welcome { .. } => c,
            other => panic!("expected welcome, got {other:?}"),
        }
    }

    pub async fn send(&mut self, v: Value) {
        self.send_text(v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.expect("frame sent");
    }

    /// The next protocol frame (panics on close or after [`WAIT`]).
    pub async fn recv(&mut self) -> ServerMessage {
        self.recv_within(WAIT)
            .await
            .expect("a frame within the wait")
    }

    /// The next protocol frame, or `None` when none arrives within `within` (panics on close).
    pub async fn recv_within(&mut self, within: Duration) -> Option<ServerMessage> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .ok()?
                .expect("connection open")
                .expect("frame readable");
            match msg {
                Message::Text(text) => {
                    return Some(
                        codec::decode_server(text.as_bytes())
                            .unwrap_or_else(|e| panic!("undecodable {text}: {e}")),
                    )
                }
                Message::Close(frame) => panic!("closed while expecting a frame: {frame:?}"),
                _ => continue,
            }
        }
    }

    /// `n` frames.
    pub async fn recv_n(&mut self, n: usize) -> Vec<ServerMessage> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.recv().await);
        }
        out
    }

    /// Reads (skipping frames) until the connection closes.
    pub async fn closed(&mut self) -> Closed {
        loop {
            let next = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("the close within the wait");
            match next {
                Some(Ok(Message::Close(frame))) => {
                    // Polling once more flushes our close reply and ends the stream.
                    let _ = tokio::time::timeout(WAIT, self.ws.next()).await;
                    return Closed::Code(frame.map_or(1005, |f| u16::from(f.code)));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Closed::Abrupt,
            }
        }
    }

    /// Asserts nothing arrives for `ms` milliseconds.
    pub async fn silent_for(&mut self, ms: u64) {
        if let Ok(Some(Ok(msg))) =
            tokio::time::timeout(Duration::from_millis(ms), self.ws.next()).await
        {
            panic!("expected silence, got {msg:?}");
        }
    }

    /// Subscribes and returns `subscribed`, any replayed events, and `presence_sync`.
    pub async fn subscribe(&mut self, v: Value) -> Vec<ServerMessage> {
        let mut v = v;
        v["type"] = json!("subscribe");
        self.send(v).await;
        let mut out = Vec::new();
        loop {
            let msg = self.recv().await;
            let done = matches!(
                msg,
                ServerMessage::PresenceSync { .. } | ServerMessage::Error { .. }
            );
            out.push(msg);
            if done {
                return out;
            }
        }
    }

    /// `put` of `doc` as `id` in `channel`.
    pub async fn put(&mut self, mid: u64, channel: &str, id: &str, doc: Value) {
        self.send(
            json!({"type": "mutate", "mutation_id": mid, "channel": channel,
                         "op": "put", "id": id, "doc": doc}),
        )
        .await;
    }

    /// Sends a close frame.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

/// Asserts an `ack` and returns (mutation_id, version, offset).
pub fn ack(msg: &ServerMessage) -> (u64, u64, u64) {
    match msg {
        ServerMessage::Ack {
            mutation_id,
            version,
            offset,
        } => (*mutation_id, *version, *offset),
        other => panic!("expected ack, got {other:?}"),
    }
}

/// Asserts an `event` and returns (offset, prev, id).
pub fn event(msg: &ServerMessage) -> (u64, u64, String) {
    match msg {
        ServerMessage::Event {
            offset, prev, id, ..
        } => (*offset, *prev, id.clone()),
        other => panic!("expected event, got {other:?}"),
    }
}

/// A plain HTTP GET on loopback: (status, body).
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    tokio::time::timeout(WAIT, stream.read_to_string(&mut response))
        .await
        .expect("response within the wait")
        .expect("read");
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// HS256 secret of the auth tests' servers.
pub const SECRET: &str = "test-secret";

/// Wall-clock unix seconds.
pub fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// An HS256 JWT of `claims` signed with [`SECRET`].
pub fn token(claims: &tether_server::Claims) -> String {
    tether_server::mint_hs256(SECRET.as_bytes(), claims).expect("token signs")
}

/// A server with auth on: HS256 with [`SECRET`] (no leeway), then `tweak`.
pub async fn auth_server(tweak: impl FnOnce(&mut Options)) -> TestServer {
    TestServer::start(|o| {
        o.dev = false;
        o.auth_secret = Some(SECRET.into());
        o.token_leeway_secs = 0;
        tweak(o);
    })
    .await
}

/// Sends `hello` with `token` on a fresh connection: the first answer.
pub async fn hello_with(
    url: &str,
    client_id: &str,
    token: Option<&str>,
) -> (Client, ServerMessage) {
    let mut c = Client::connect(url).await;
    let mut hello = json!({"type": "hello", "protocol": 1, "client_id": client_id});
    if let Some(t) = token {
        hello["token"] = json!(t);
    }
    c.send(hello).await;
    let answer = c.recv().await;
    (c, answer)
}
