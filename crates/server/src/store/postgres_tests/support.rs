//! Helpers of the PostgreSQL store tests: a fresh database per test on the server named by
//! `TETHER_TEST_POSTGRES_URL`, and a forwarder that takes PostgreSQL away and back.

use std::sync::Arc;

use crate::store::{PgStore, StoreError};

/// How to get a server when the variable is missing: the tests fail, never pass silently.
const HOW: &str = "TETHER_TEST_POSTGRES_URL is not set, but the `postgres` feature's tests need \
    a PostgreSQL server: run them as `scripts/services.sh cargo test -p tether-server --features \
    postgres` (it starts a throw-away PostgreSQL on loopback and sets the variable), or \
    `make test-postgres`, or set TETHER_TEST_POSTGRES_URL=postgres://USER@127.0.0.1:PORT/postgres \
    (a role that may create databases)";

fn server_url() -> String {
    std::env::var("TETHER_TEST_POSTGRES_URL").unwrap_or_else(|_| panic!("{HOW}"))
}

fn admin() -> postgres::Client {
    postgres::Client::connect(&server_url(), postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot connect to TETHER_TEST_POSTGRES_URL: {e}"))
}

/// A fresh database on the test server, dropped (with its connections) when this is dropped.
pub(super) struct TestDb {
    pub(super) name: String,
}

impl TestDb {
    pub(super) fn new() -> TestDb {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "tether_store_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create a test database");
        TestDb { name }
    }

    pub(super) fn config(&self) -> postgres::Config {
        let mut config = crate::store::postgres::parse_url(&server_url()).expect("a valid URL");
        config.dbname(&self.name);
        config
    }

    pub(super) fn store(&self) -> PgStore {
        PgStore::connect(self.config()).expect("the store opens")
    }

    /// Another connection to the database, as another process would have.
    pub(super) fn client(&self) -> postgres::Client {
        self.config().connect(postgres::NoTls).expect("connects")
    }

    /// What another connection reads: the head of `tasks` (0 if none).
    pub(super) fn durable_head(&self) -> i64 {
        self.client()
            .query_one(
                "SELECT coalesce(max(head), 0) FROM channels WHERE channel = 'tasks'",
                &[],
            )
            .unwrap()
            .get(0)
    }

    /// Ends the connections of every other client of the database (as a PostgreSQL restart
    /// does to the store's).
    pub(super) fn terminate_others(&self) {
        let n: i64 = self
            .client()
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
                &[],
            )
            .unwrap()
            .get(0);
        assert!(n >= 1, "the store's connection was terminated");
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = admin().batch_execute(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ));
    }
}

impl TestDb {
    pub(super) fn store_err(&self) -> StoreError {
        PgStore::connect(self.config()).expect_err("the store refuses to open")
    }
}

/// A loopback TCP forwarder to the test server that can be taken down (listener closed, every
/// connection cut) and brought back on the same port: PostgreSQL going away and returning, as
/// the store sees it.
pub(super) struct Outage {
    pub(super) port: u16,
    target: std::net::SocketAddr,
    up: Option<(
        Arc<std::sync::atomic::AtomicBool>,
        std::thread::JoinHandle<()>,
    )>,
    conns: Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Outage {
    pub(super) fn new(target: std::net::SocketAddr) -> Outage {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut outage = Outage {
            port,
            target,
            up: None,
            conns: Arc::default(),
        };
        outage.start();
        outage
    }

    pub(super) fn start(&mut self) {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port)).expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, conns, target) = (Arc::clone(&stop), Arc::clone(&self.conns), self.target);
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).expect("blocking");
                let server = std::net::TcpStream::connect(target).expect("reach PostgreSQL");
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server.try_clone().unwrap(), client.try_clone().unwrap()),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
                conns.lock().unwrap().extend([client, server]);
            }
        });
        self.up = Some((stop, thread));
    }

    /// Closes the listener and cuts every connection.
    pub(super) fn down(&mut self) {
        if let Some((stop, thread)) = self.up.take() {
            stop.store(true, std::sync::atomic::Ordering::SeqCst);
            thread.join().unwrap();
        }
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        self.down();
    }
}
