//! `/healthz` probes the store with a real write: 200 `ok` while the database takes writes, 503
//! with the reason while it does not, 200 again once it does. The database is made unwritable
//! by a real mechanism that holds for root too (file permissions do not): a second SQLite
//! connection to the same file holds its write lock in an open transaction, as another process
//! would. On PostgreSQL (`TETHER_TEST_STORE=postgres`) another connection holds the lock of
//! the row the probe rewrites, and the probe's lock timeout runs out.

use std::time::Duration;

use tether_server::{Commit, Retention, SqliteStore, Store};

use crate::common::{http_get, TestServer, WAIT};

/// Polls `/healthz` until its status is `want` (bounded by [`WAIT`]); returns the body.
async fn healthz_becomes(server: &TestServer, want: u16) -> String {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, body) = http_get(server.addr(), "/healthz").await;
        if status == want {
            return body;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "/healthz stayed {status} ({body:?}), expected {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_is_503_while_the_database_cannot_be_written() {
    let server = TestServer::start(|_| {}).await;
    assert_eq!(
        http_get(server.addr(), "/healthz").await,
        (200, "ok\n".into())
    );

    if crate::common::on_postgres() {
        #[cfg(feature = "postgres")]
        {
            let lock = crate::common::store_choice::RowLock::take(
                server.dir.path(),
                "SELECT 1 FROM meta WHERE key = 'epoch' FOR UPDATE",
            );
            let body = healthz_becomes(&server, 503).await;
            assert!(body.contains("not writable"), "{body}");
            assert!(body.contains("lock timeout"), "{body}");
            drop(lock);
            assert_eq!(healthz_becomes(&server, 200).await, "ok\n");
        }
        server.stop().await;
        return;
    }

    // Another writer takes the database's write lock and keeps its transaction open.
    let mut other = SqliteStore::open(server.db()).expect("second connection");
    other.begin_batch().expect("batch");
    other
        .commit(&Commit {
            client_id: "lock-holder".into(),
            mutation_id: 1,
            reply: "{}".into(),
            change: None,
            retention: Retention {
                max_events: 10,
                max_age_ms: 1_000,
                dedupe_per_client: 10,
                dedupe_max_age_ms: 0,
                max_clients: 0,
            },
            unix_ms: 0,
        })
        .expect("write inside the open transaction");

    let body = healthz_becomes(&server, 503).await;
    assert!(body.contains("not writable"), "{body}");
    assert!(body.contains("locked"), "{body}");

    // The lock is released (the open transaction rolls back): healthy again.
    drop(other);
    assert_eq!(healthz_becomes(&server, 200).await, "ok\n");
    server.stop().await;
}
