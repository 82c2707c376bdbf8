//! The cluster harness: real `tether-server` processes (nodes) on one throw-away PostgreSQL
//! database and a real `redis-server`, all on loopback.
//!
//! * PostgreSQL: `TETHER_TEST_POSTGRES_URL` (as `scripts/services.sh` sets it); each test gets
//!   a fresh database of its own, dropped at the end.
//! * Redis: a test that only needs one uses `TETHER_TEST_REDIS_URL` (the suite's, from
//!   `scripts/services.sh start_redis`); a test that stops and restarts Redis starts its own
//!   `redis-server` with [`Redis::start`] (a free port, no persistence), stopped by its PID.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tether_protocol::ServerMessage;

use crate::common::{http_get, Client};

const HOW: &str = "the cluster tests need TETHER_TEST_POSTGRES_URL (a PostgreSQL server) and \
    redis-server: run them as `scripts/test.sh cluster` (it starts both on loopback)";

/// A fresh database on the test PostgreSQL server, dropped with this value.
pub struct Database {
    pub name: String,
    admin_url: String,
}

impl Database {
    pub fn new() -> Database {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let admin_url =
            std::env::var("TETHER_TEST_POSTGRES_URL").unwrap_or_else(|_| panic!("{HOW}"));
        let name = format!(
            "tether_cluster_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let sql = format!("CREATE DATABASE {name}");
        off_runtime(|| {
            postgres::Client::connect(&admin_url, postgres::NoTls)
                .and_then(|mut c| c.batch_execute(&sql))
        })
        .expect("create the test database");
        Database { name, admin_url }
    }

    /// Runs a query on this database (straight to the server, not through any forwarder).
    pub fn query(&self, sql: &str) -> Vec<postgres::Row> {
        let url = self.url();
        off_runtime(move || {
            postgres::Client::connect(&url, postgres::NoTls).and_then(|mut c| c.query(sql, &[]))
        })
        .expect("query the test database")
    }

    /// The `--database-url` of this database.
    pub fn url(&self) -> String {
        let base = self
            .admin_url
            .rsplit_once('/')
            .map_or(self.admin_url.as_str(), |(b, _)| b);
        format!("{base}/{}", self.name)
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let url = self.admin_url.clone();
        let _ = off_runtime(move || {
            postgres::Client::connect(&url, postgres::NoTls).and_then(|mut c| c.batch_execute(&sql))
        });
    }
}

/// Runs `f` on a thread of its own: the sync `postgres` client starts a runtime, which it may
/// not do on a thread of the test's runtime.
fn off_runtime<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(f).join().expect("no panic"))
}

/// The suite's Redis (`TETHER_TEST_REDIS_URL`).
pub fn suite_redis() -> String {
    std::env::var("TETHER_TEST_REDIS_URL").unwrap_or_else(|_| panic!("{HOW}"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A `redis-server` of this test: 127.0.0.1, no persistence.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    pub fn start() -> Redis {
        let mut redis = Redis {
            port: free_port(),
            child: None,
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts it (again) on its port and waits until it accepts connections.
    pub fn restart(&mut self) {
        let bin =
            std::env::var("TETHER_TEST_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(bin)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--protected-mode",
                "yes",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("redis-server: {e}; {HOW}"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL (by PID).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `tether-server` process in cluster mode (dev auth).
pub struct Node {
    pub child: Option<Child>,
    pub addr: SocketAddr,
}

impl Node {
    /// A node on `database` with the fan-out link `redis` (none: polling only).
    pub fn start(database: &str, redis: Option<&str>) -> Node {
        Node::start_with(database, redis, &[])
    }

    /// A node as [`Node::start`], with more arguments (in dev mode unless they give
    /// `--auth-secret`).
    pub fn start_with(database: &str, redis: Option<&str>, extra: &[&str]) -> Node {
        use std::io::BufRead;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tether-server"));
        if !extra.contains(&"--auth-secret") {
            cmd.arg("--dev");
        }
        cmd.args(["--bind", "127.0.0.1:0", "--log", "warn"])
            .args(["--database-url", database])
            .args(["--rate-per-sec", "0"])
            .args(extra);
        if let Some(redis) = redis {
            cmd.args(["--redis-url", redis]);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("tether-server starts");
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
        Node {
            child: Some(child),
            addr,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub async fn client(&self, client_id: &str) -> Client {
        Client::hello(&self.url(), client_id).await
    }

    /// `/healthz`: status and body.
    pub async fn health(&self) -> (u16, String) {
        http_get(self.addr, "/healthz").await
    }

    /// Waits (bounded) until `/healthz` answers `status` with a body starting with `prefix`.
    pub async fn wait_health(&self, status: u16, prefix: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (s, body) = self.health().await;
            if s == status && body.starts_with(prefix) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "healthz stayed {s} {body:?}, expected {status} {prefix:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: nothing of the node's shutdown runs.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// `(offset, prev, id)` of each event among `msgs`.
pub fn events(msgs: &[ServerMessage]) -> Vec<(u64, u64, String)> {
    msgs.iter()
        .filter_map(|m| match m {
            ServerMessage::Event {
                offset, prev, id, ..
            } => Some((*offset, *prev, id.clone())),
            _ => None,
        })
        .collect()
}

/// Reads events of `channel` until one with offset `through` (bounded by the client's wait).
pub async fn events_through(c: &mut Client, through: u64) -> Vec<(u64, u64, String)> {
    let mut out = Vec::new();
    loop {
        let msg = c.recv().await;
        if let ServerMessage::Event {
            offset, prev, id, ..
        } = &msg
        {
            out.push((*offset, *prev, id.clone()));
            if *offset >= through {
                return out;
            }
        }
    }
}

/// The expected chain of an unfiltered view: offsets `from..=to`, each after the previous.
pub fn chain(from: u64, to: u64) -> Vec<(u64, u64)> {
    (from..=to).map(|o| (o, o - 1)).collect()
}

/// `(offset, prev)` of events.
pub fn offsets(events: &[(u64, u64, String)]) -> Vec<(u64, u64)> {
    events.iter().map(|(o, p, _)| (*o, *p)).collect()
}

/// A TCP forwarder on loopback in front of the test PostgreSQL server: a node connected
/// through it loses its database on [`Forwarder::down`] (every forwarded connection is cut,
/// new ones are refused) and gets it back on [`Forwarder::up`], while other nodes keep theirs.
pub struct Forwarder {
    pub port: u16,
    target: SocketAddr,
    tasks: Vec<tokio::task::AbortHandle>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Forwarder {
    /// A forwarder to the server of `TETHER_TEST_POSTGRES_URL`, up.
    pub fn to_postgres() -> Forwarder {
        let url = std::env::var("TETHER_TEST_POSTGRES_URL").unwrap_or_else(|_| panic!("{HOW}"));
        let host_port = url
            .split_once('@')
            .and_then(|(_, rest)| rest.split_once('/'))
            .map(|(hp, _)| hp.to_owned())
            .expect("host:port in TETHER_TEST_POSTGRES_URL");
        let target = host_port.parse().expect("a loopback address");
        let mut forwarder = Forwarder {
            port: free_port(),
            target,
            tasks: Vec::new(),
            conns: std::sync::Arc::default(),
        };
        forwarder.up();
        forwarder
    }

    /// `url` (a database on the test server) as reached through this forwarder.
    pub fn url_of(&self, url: &str) -> String {
        let name = url.rsplit('/').next().expect("a database name");
        let user = url
            .split_once("://")
            .and_then(|(_, r)| r.split_once('@'))
            .map_or("tether", |(u, _)| u);
        format!("postgres://{user}@127.0.0.1:{}/{name}", self.port)
    }

    /// Accepts and forwards connections (again).
    pub fn up(&mut self) {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.set_reuseaddr(true).expect("reuseaddr");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], self.port)))
            .expect("bind the forwarder's port");
        let listener = socket.listen(64).expect("listen");
        let (target, conns) = (self.target, std::sync::Arc::clone(&self.conns));
        let task = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                conns.lock().expect("lock").push(conn.abort_handle());
            }
        });
        self.tasks.push(task.abort_handle());
    }

    /// Cuts every forwarded connection and refuses new ones.
    pub fn down(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        for conn in self.conns.lock().expect("lock").drain(..) {
            conn.abort();
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        self.down();
    }
}

/// Starts `n` nodes on `db` and the suite's Redis, and waits until each one's link to Redis is
/// up (`/healthz` says `ok`): relayed broadcasts are at most once, so a test sends none before.
pub async fn linked_nodes(db: &Database, n: usize, extra: &[&str]) -> Vec<Node> {
    let redis = suite_redis();
    let nodes: Vec<Node> = (0..n)
        .map(|_| Node::start_with(&db.url(), Some(&redis), extra))
        .collect();
    for node in &nodes {
        node.wait_health(200, "ok").await;
    }
    nodes
}

/// Reads frames until a `broadcast`; returns its payload.
pub async fn next_broadcast(c: &mut Client) -> serde_json::Value {
    loop {
        if let ServerMessage::Broadcast { payload, .. } = c.recv().await {
            return serde_json::from_str(&payload.to_text()).expect("json payload");
        }
    }
}

/// Reads frames until a `presence` event of `client_id`; returns its event and state. Waits
/// up to `within` (a bound the test expects it by, with margin), failing after it.
pub async fn next_presence(
    c: &mut Client,
    client_id: &str,
    within: Duration,
) -> (tether_protocol::PresenceEvent, Option<serde_json::Value>) {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        // Not `recv`, whose own wait (5 s) is shorter than a bound such as a dead node's 6 s.
        let msg = c
            .recv_within(left)
            .await
            .unwrap_or_else(|| panic!("no presence of {client_id} within {within:?}"));
        if let ServerMessage::Presence {
            event,
            client_id: who,
            state,
            ..
        } = msg
        {
            if who == client_id {
                let state = state.map(|s| serde_json::from_str(&s.to_text()).expect("json"));
                return (event, state);
            }
        }
    }
}

/// HAProxy (Debian's package) on a free loopback port in front of `nodes`, HTTP mode (the
/// WebSocket upgrade passes through), health checks on `/healthz`; stopped by its PID.
/// `balance first`: every connection goes to the first healthy node, so a test knows which.
pub struct HaProxy {
    pub addr: SocketAddr,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl HaProxy {
    pub fn start(nodes: &[SocketAddr]) -> HaProxy {
        let port = free_port();
        let dir = tempfile::tempdir().expect("a temp dir");
        let mut cfg = format!(
            "defaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n  \
             timeout server 30s\n  timeout tunnel 60s\n  retries 3\n  option redispatch\n\
             frontend tether\n  bind 127.0.0.1:{port}\n  default_backend nodes\n\
             backend nodes\n  balance first\n  option httpchk GET /healthz\n  \
             http-check expect status 200\n  default-server check inter 200ms fall 2 rise 1\n"
        );
        for (i, node) in nodes.iter().enumerate() {
            cfg.push_str(&format!("  server node{} {node}\n", i + 1));
        }
        let path = dir.path().join("haproxy.cfg");
        std::fs::write(&path, cfg).expect("write haproxy.cfg");
        let bin = std::env::var("TETHER_TEST_HAPROXY").unwrap_or_else(|_| {
            let sbin = "/usr/sbin/haproxy";
            if std::path::Path::new(sbin).exists() {
                sbin.into()
            } else {
                "haproxy".into()
            }
        });
        let child = Command::new(&bin)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("{bin}: {e}; HAProxy comes from scripts/bootstrap.sh (apt-get install -y haproxy)")
            });
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "haproxy did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        HaProxy {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child: Some(child),
            _dir: dir,
        }
    }

    pub fn url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
