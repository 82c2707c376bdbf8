//! The store conformance suite, the batch (group commit) behaviour and concurrent writers,
//! run against [`PgStore`] on a real PostgreSQL: the server named by
//! `TETHER_TEST_POSTGRES_URL` (`scripts/services.sh` starts one), a fresh database per test,
//! dropped afterwards.

mod engines;
mod support;

use std::sync::{Arc, Barrier};

use serde_json::json;

use super::clients_tests::{bindings, bounded_clients, expiry, retention, DAY};
use super::tests::{change, commit, conformance, pages, KEEP};
use super::{Commit, PgStore, Store, StoreError};
use support::{Outage, TestDb};

fn put(mid: u64, offset: u64, id: &str) -> Commit {
    commit(
        mid,
        Some(change("tasks", offset, id, 1, Some(json!({"n": mid})))),
        KEEP,
    )
}

fn ids(s: &mut PgStore) -> Vec<String> {
    s.snapshot("tasks")
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect()
}

#[test]
fn postgres_store_conforms() {
    let db = TestDb::new();
    conformance(&mut db.store());
}

#[test]
fn postgres_store_pages_snapshots_in_byte_order() {
    let db = TestDb::new();
    let mut s = db.store();
    pages(&mut s);
    // Byte order whatever the database's collation: upper case before lower case.
    for (offset, id) in (1..).zip(["b", "B", "a", "_"]) {
        s.commit(&commit(
            100 + offset,
            Some(change("bytes", offset, id, 1, Some(json!({})))),
            KEEP,
        ))
        .unwrap();
    }
    let got: Vec<String> = s
        .snapshot("bytes")
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(got, ["B", "_", "a", "b"]);
}

#[test]
fn postgres_store_conforms_inside_a_batch() {
    let db = TestDb::new();
    let mut s = db.store();
    s.begin_batch().unwrap();
    conformance(&mut s);
    s.end_batch().unwrap();
    // The batch is over: commits are their own transactions again.
    s.commit(&commit(30, None, KEEP)).unwrap();
    assert_eq!(
        s.dedupe("c", 30).unwrap().record.as_deref(),
        Some("reply-30")
    );
}

#[test]
fn postgres_store_bindings_expiry_and_bound() {
    let db = [TestDb::new(), TestDb::new(), TestDb::new()];
    bindings(&mut db[0].store());
    expiry(&mut db[1].store());
    bounded_clients(&mut db[2].store());
    let count: String = db[2]
        .client()
        .query_one("SELECT value FROM meta WHERE key = 'client_count'", &[])
        .unwrap()
        .get(0);
    assert_eq!(count, (43 - super::EXPIRE_PER_WRITE).to_string());
}

#[test]
fn postgres_store_bindings_inside_a_batch() {
    let db = TestDb::new();
    let mut s = db.store();
    s.begin_batch().unwrap();
    bindings(&mut s);
    expiry(&mut s);
    s.end_batch().unwrap();
    drop(s);
    let mut s = db.store();
    assert_eq!(s.client_subject("c1").unwrap().as_deref(), Some("alice"));
    assert_eq!(
        s.bind_client("c1", "bob", &retention(30, 9), DAY).unwrap(),
        "alice"
    );
}

#[test]
fn postgres_keeps_data_and_epoch_across_reopen_and_a_new_database_gets_a_new_epoch() {
    let db = TestDb::new();
    let epoch = {
        let mut s = db.store();
        s.commit(&put(1, 1, "t1")).unwrap();
        s.epoch().to_owned()
    };
    assert_eq!(epoch.len(), 16);
    let mut s = db.store();
    assert_eq!(s.epoch(), epoch);
    assert_eq!(s.channel_head("tasks").unwrap().head, 1);
    assert_eq!(s.dedupe("c", 1).unwrap().record.as_deref(), Some("reply-1"));
    let other = TestDb::new();
    assert_ne!(other.store().epoch(), epoch);
}

#[test]
fn postgres_batch_commits_become_durable_together_at_end_batch() {
    let db = TestDb::new();
    let mut s = db.store();
    s.begin_batch().unwrap();
    assert_eq!(s.begin_batch(), Err(StoreError::BatchAlreadyOpen));
    s.commit(&put(1, 1, "t1")).unwrap();
    s.commit(&put(2, 2, "t2")).unwrap();
    // The batch reads its own writes; nobody else sees them yet.
    assert_eq!(s.channel_head("tasks").unwrap().head, 2);
    assert!(s.document("tasks", "t2").unwrap().is_some());
    assert_eq!(s.dedupe("c", 2).unwrap().record.as_deref(), Some("reply-2"));
    assert_eq!(db.durable_head(), 0);
    s.end_batch().unwrap();
    assert_eq!(db.durable_head(), 2);
    assert_eq!(s.end_batch(), Ok(()), "no batch open: nothing to do");

    // A batch that never ends (the process dies) leaves nothing behind.
    s.begin_batch().unwrap();
    s.commit(&put(3, 3, "t3")).unwrap();
    drop(s);
    assert_eq!(db.durable_head(), 2);
    let mut s = db.store();
    assert_eq!(s.document("tasks", "t3").unwrap(), None);
    assert_eq!(s.dedupe("c", 3).unwrap().highest, Some(2));
    // A batch without commits costs nothing and changes nothing.
    s.begin_batch().unwrap();
    assert_eq!(s.snapshot("tasks").unwrap().len(), 2);
    s.end_batch().unwrap();
}

#[test]
fn postgres_failing_commit_in_a_batch_is_undone_alone() {
    let db = TestDb::new();
    drop(db.store());
    let stored_id = (2u64 ^ (1 << 63)) as i64; // mutation ids are stored order-preserving
    db.client()
        .batch_execute(&format!(
            "CREATE FUNCTION fail_2() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN RAISE EXCEPTION 'injected failure'; END $$;
             CREATE TRIGGER fail_2 BEFORE INSERT ON dedupe FOR EACH ROW
             WHEN (NEW.mutation_id = {stored_id}) EXECUTE FUNCTION fail_2();"
        ))
        .unwrap();
    let mut s = db.store();
    s.begin_batch().unwrap();
    s.commit(&put(1, 1, "t1")).unwrap();
    let failed = s.commit(&put(2, 2, "t2"));
    assert!(
        matches!(&failed, Err(StoreError::Backend { message }) if message.contains("injected failure")),
        "{failed:?}"
    );
    // Its document, log entry and head were written before the failure, and are undone.
    assert_eq!(s.channel_head("tasks").unwrap().head, 1);
    assert_eq!(s.document("tasks", "t2").unwrap(), None);
    assert_eq!(s.log_after("tasks", 0, 10).unwrap().len(), 1);
    // The batch goes on.
    s.commit(&put(3, 2, "t3")).unwrap();
    s.end_batch().unwrap();
    drop(s);

    let mut s = db.store();
    assert_eq!(s.channel_head("tasks").unwrap().head, 2);
    assert_eq!(ids(&mut s), ["t1", "t3"]);
    let offsets: Vec<(u64, String)> = s
        .log_after("tasks", 0, 10)
        .unwrap()
        .into_iter()
        .map(|e| (e.offset, e.id))
        .collect();
    assert_eq!(offsets, [(1, "t1".to_owned()), (2, "t3".to_owned())]);
    assert_eq!(s.dedupe("c", 2).unwrap().record, None);
    assert_eq!(s.dedupe("c", 3).unwrap().record.as_deref(), Some("reply-3"));
}

#[test]
fn postgres_lost_connection_aborts_the_whole_batch_and_the_store_reconnects() {
    let db = TestDb::new();
    let mut s = db.store();
    s.begin_batch().unwrap();
    s.commit(&put(1, 1, "t1")).unwrap();
    // The connection goes (a PostgreSQL restart): the batch's transaction is gone with it.
    db.terminate_others();
    assert!(s.commit(&put(2, 2, "t2")).is_err());
    assert!(matches!(
        s.commit(&put(3, 2, "t3")),
        Err(StoreError::BatchAborted { .. })
    ));
    assert!(matches!(
        s.end_batch(),
        Err(StoreError::BatchAborted { .. })
    ));
    assert_eq!(db.durable_head(), 0);
    // The store works again, unbatched and batched, on a new connection.
    s.commit(&put(4, 1, "t4")).unwrap();
    s.begin_batch().unwrap();
    s.commit(&put(5, 2, "t5")).unwrap();
    s.end_batch().unwrap();
    drop(s);
    let mut s = db.store();
    assert_eq!(ids(&mut s), ["t4", "t5"]);
    assert_eq!(s.dedupe("c", 1).unwrap().record, None);
}

#[test]
fn postgres_health_probe_writes_with_a_short_lock_timeout_and_reconnects() {
    let db = TestDb::new();
    let mut s = db.store();
    s.check_writable().unwrap();
    // Another writer holds the probed row: the probe gives up quickly instead of hanging.
    let mut other = db.client();
    let mut tx = other.transaction().unwrap();
    tx.execute("SELECT 1 FROM meta WHERE key = 'epoch' FOR UPDATE", &[])
        .unwrap();
    let started = std::time::Instant::now();
    let probed = s.check_writable();
    assert!(
        matches!(&probed, Err(StoreError::Backend { message }) if message.contains("lock")),
        "{probed:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
    tx.rollback().unwrap();
    s.check_writable().unwrap();
    // A lost connection is reopened by the probe.
    db.terminate_others();
    s.check_writable().unwrap();
    s.commit(&put(1, 1, "t1")).unwrap();
}

#[test]
fn postgres_refuses_another_schema_version() {
    let db = TestDb::new();
    drop(db.store());
    db.client()
        .execute(
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
            &[],
        )
        .unwrap();
    assert_eq!(
        db.store_err(),
        StoreError::SchemaVersion {
            found: 99,
            expected: 1
        }
    );
}

/// Two stores (as two nodes would have) commit to one channel from two threads: every offset
/// is taken exactly once, none is skipped, and a writer that lost the race gets
/// `OffsetMismatch` and retries with the next offset.
#[test]
fn two_stores_on_one_database_commit_gap_free_offsets_to_one_channel() {
    const PER_WRITER: u64 = 60;
    let db = TestDb::new();
    let barrier = Arc::new(Barrier::new(2));
    let writers: Vec<_> = ["w0", "w1"]
        .into_iter()
        .map(|writer| {
            let mut s = db.store();
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let mut mismatches = 0u64;
                let mut mine = Vec::new();
                for mid in 1..=PER_WRITER {
                    for attempt in 0.. {
                        let offset = s.channel_head("tasks").unwrap().head + 1;
                        if mid == 1 && attempt == 0 {
                            // Both read the same head before either commits: one must lose.
                            barrier.wait();
                        }
                        let mut c = put(mid, offset, &format!("{writer}-{mid}"));
                        c.client_id = writer.to_owned();
                        // Every third commit in a batch of its own, holding the head's lock
                        // until end_batch.
                        let batched = mid % 3 == 0;
                        if batched {
                            s.begin_batch().unwrap();
                        }
                        let result = s.commit(&c);
                        if batched {
                            s.end_batch().unwrap();
                        }
                        match result {
                            Ok(head) => {
                                assert_eq!(head.map(|h| h.head), Some(offset));
                                mine.push(offset);
                                break;
                            }
                            Err(StoreError::OffsetMismatch { expected, got, .. }) => {
                                assert!(expected > got, "{expected} {got}");
                                mismatches += 1;
                            }
                            Err(other) => panic!("{writer}: {other:?}"),
                        }
                    }
                }
                (mine, mismatches)
            })
        })
        .collect();
    let results: Vec<(Vec<u64>, u64)> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let mismatches: u64 = results.iter().map(|r| r.1).sum();
    assert!(mismatches >= 1, "the first race has a loser");
    let mut all: Vec<u64> = results.iter().flat_map(|r| r.0.clone()).collect();
    all.sort_unstable();
    assert_eq!(all, (1..=2 * PER_WRITER).collect::<Vec<_>>());
    // The log agrees: every offset once, in order, each with its writer's document.
    let mut s = db.store();
    let log = s.log_after("tasks", 0, 1_000).unwrap();
    assert_eq!(
        log.iter().map(|e| e.offset).collect::<Vec<_>>(),
        (1..=2 * PER_WRITER).collect::<Vec<_>>()
    );
    assert_eq!(s.channel_head("tasks").unwrap().head, 2 * PER_WRITER);
    assert_eq!(s.snapshot("tasks").unwrap().len(), 2 * PER_WRITER as usize);
}

#[test]
fn postgres_down_makes_the_store_unwritable_until_it_is_back() {
    let db = TestDb::new();
    let direct = db.config();
    let host = match direct.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        other => panic!("TETHER_TEST_POSTGRES_URL must name a TCP host, got {other:?}"),
    };
    let port = direct.get_ports().first().copied().unwrap_or(5432);
    let target = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .unwrap()
        .next()
        .unwrap();
    let mut outage = Outage::new(target);
    let mut config = postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(outage.port)
        .user(direct.get_user().unwrap_or("postgres"))
        .dbname(&db.name);
    let mut s = PgStore::connect(config).expect("the store opens through the forwarder");
    s.commit(&put(1, 1, "t1")).unwrap();
    s.check_writable().unwrap();

    outage.down();
    let probed = s.check_writable();
    assert!(
        matches!(probed, Err(StoreError::Backend { .. })),
        "{probed:?}"
    );
    // Still down: every write is refused with a typed error, and nothing is half-written.
    assert!(matches!(
        s.commit(&put(2, 2, "t2")),
        Err(StoreError::Backend { .. })
    ));
    assert!(s.check_writable().is_err());

    outage.start();
    s.check_writable().unwrap();
    s.commit(&put(2, 2, "t2")).unwrap();
    assert_eq!(db.durable_head(), 2);
}
