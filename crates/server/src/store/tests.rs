//! One conformance suite run against every store.

use serde_json::json;
use tether_protocol::Origin;

use super::{Change, ChannelHead, Commit, LogEntry, MemoryStore, Retention, Store, StoreError};

pub(super) const KEEP: Retention = Retention {
    max_events: 1_000,
    max_age_ms: 1_000_000,
    dedupe_per_client: 100,
    dedupe_max_age_ms: u64::MAX,
    max_clients: u64::MAX,
};

pub(super) fn change(
    channel: &str,
    offset: u64,
    id: &str,
    version: u64,
    body: Option<serde_json::Value>,
) -> Change {
    Change {
        channel: channel.into(),
        entry: LogEntry {
            offset,
            id: id.into(),
            version,
            body: body.map(tether_protocol::Json::from),
            prev_body: None,
            origin: Some(Origin {
                client_id: "c".into(),
                mutation_id: offset,
            }),
            unix_ms: 1_000 + offset,
        },
    }
}

pub(super) fn commit(mid: u64, change: Option<Change>, retention: Retention) -> Commit {
    let unix_ms = change.as_ref().map_or(0, |c| c.entry.unix_ms);
    Commit {
        client_id: "c".into(),
        mutation_id: mid,
        reply: format!("reply-{mid}"),
        change,
        retention,
        unix_ms,
    }
}

pub(super) fn conformance<S: Store>(s: &mut S) {
    assert_eq!(s.channel_head("tasks"), Ok(ChannelHead::default()));
    assert_eq!(s.document("tasks", "t1"), Ok(None));
    assert_eq!(s.dedupe("c", 1).map(|d| d.highest), Ok(None));

    let head = s.commit(&commit(
        1,
        Some(change("tasks", 1, "t2", 1, Some(json!({"a": 1})))),
        KEEP,
    ));
    assert_eq!(
        head,
        Ok(Some(ChannelHead {
            head: 1,
            pruned_through: 0
        }))
    );
    s.commit(&commit(
        2,
        Some(change("tasks", 2, "t1", 1, Some(json!({"b": 2})))),
        KEEP,
    ))
    .unwrap();
    s.commit(&commit(3, Some(change("tasks", 3, "t2", 2, None)), KEEP))
        .unwrap();
    // A rejection record changes no channel.
    assert_eq!(s.commit(&commit(5, None, KEEP)), Ok(None));

    // Offsets must continue the log; a bad commit changes nothing.
    let bad = s.commit(&commit(
        9,
        Some(change("tasks", 7, "x", 1, Some(json!({})))),
        KEEP,
    ));
    assert!(matches!(
        bad,
        Err(StoreError::OffsetMismatch {
            expected: 4,
            got: 7,
            ..
        })
    ));
    assert_eq!(s.dedupe("c", 9).unwrap().record, None);
    assert_eq!(s.dedupe("c", 9).unwrap().highest, Some(5));
    // A recorded key is never answered again by another commit (another server sharing the
    // store recorded it first): refused, nothing changed, the first record stands.
    for again in [
        commit(2, None, KEEP),
        commit(2, Some(change("tasks", 4, "x", 1, Some(json!({})))), KEEP),
    ] {
        assert_eq!(
            s.commit(&again),
            Err(StoreError::AlreadyRecorded {
                client_id: "c".into(),
                mutation_id: 2
            })
        );
    }
    assert_eq!(s.channel_head("tasks").unwrap().head, 3);
    assert_eq!(s.document("tasks", "x").unwrap(), None);

    let t2 = s.document("tasks", "t2").unwrap().unwrap();
    assert_eq!(
        (t2.version, t2.body),
        (2, None),
        "tombstone keeps the version"
    );
    let snap = s.snapshot("tasks").unwrap();
    assert_eq!(snap.len(), 1);
    assert_eq!(snap[0].id, "t1");
    assert_eq!(s.channel_head("tasks").unwrap().head, 3);
    assert_eq!(s.channel_head("other").unwrap().head, 0);

    let after = s.log_after("tasks", 1, 10).unwrap();
    assert_eq!(
        after.iter().map(|e| e.offset).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert_eq!(after[0].origin.as_ref().map(|o| o.mutation_id), Some(2));
    assert_eq!(after[1].body, None);
    let before = s.log_before("tasks", 3, 10).unwrap();
    assert_eq!(
        before.iter().map(|e| e.offset).collect::<Vec<_>>(),
        vec![2, 1]
    );
    assert_eq!(s.log_after("tasks", 0, 1).unwrap().len(), 1);

    let d = s.dedupe("c", 2).unwrap();
    assert_eq!(d.record.as_deref(), Some("reply-2"));
    assert_eq!(d.highest, Some(5));
    // Huge client-chosen ids keep their order.
    s.commit(&commit(u64::MAX, None, KEEP)).unwrap();
    assert_eq!(s.dedupe("c", 1).unwrap().highest, Some(u64::MAX));
    assert_eq!(
        s.dedupe("c", u64::MAX).unwrap().record.as_deref(),
        Some("reply-18446744073709551615")
    );

    // Retention by count.
    let few = Retention {
        max_events: 2,
        ..KEEP
    };
    s.commit(&commit(
        20,
        Some(change("tasks", 4, "t3", 1, Some(json!({})))),
        few,
    ))
    .unwrap();
    assert_eq!(
        s.channel_head("tasks").unwrap(),
        ChannelHead {
            head: 4,
            pruned_through: 2
        }
    );
    assert_eq!(
        s.log_after("tasks", 0, 10)
            .unwrap()
            .iter()
            .map(|e| e.offset)
            .collect::<Vec<_>>(),
        vec![3, 4]
    );
    // Retention by age: entries older than unix_ms - max_age_ms go.
    let young = Retention {
        max_age_ms: 0,
        ..KEEP
    };
    let head = s
        .commit(&commit(
            21,
            Some(change("tasks", 5, "t3", 2, Some(json!({})))),
            young,
        ))
        .unwrap();
    assert_eq!(
        head,
        Some(ChannelHead {
            head: 5,
            pruned_through: 4
        })
    );
    // Dedupe retention keeps the newest ids per client.
    let one = Retention {
        dedupe_per_client: 1,
        ..KEEP
    };
    s.commit(&commit(22, None, one)).unwrap();
    assert_eq!(s.dedupe("c", 21).unwrap().record, None);
    assert_eq!(s.dedupe("c", 22).unwrap().record, None);
    let newest = s.dedupe("c", u64::MAX).unwrap().record;
    assert_eq!(newest.as_deref(), Some("reply-18446744073709551615"));
}

/// Snapshot pages: live documents only, in id order, after a given id, at most `limit`.
pub(super) fn pages<S: Store>(s: &mut S) {
    for (offset, id) in (1..).zip(["b", "a", "c", "d", "aa"]) {
        let body = Some(json!({"id": id}));
        s.commit(&commit(
            offset,
            Some(change("pages", offset, id, 1, body)),
            KEEP,
        ))
        .unwrap();
    }
    s.commit(&commit(6, Some(change("pages", 6, "c", 2, None)), KEEP))
        .unwrap();
    let ids = |docs: Vec<tether_protocol::Document>| -> Vec<String> {
        docs.into_iter().map(|d| d.id).collect()
    };
    assert_eq!(ids(s.snapshot_page("pages", None, 2).unwrap()), ["a", "aa"]);
    assert_eq!(
        ids(s.snapshot_page("pages", Some("aa"), 2).unwrap()),
        ["b", "d"]
    );
    assert_eq!(ids(s.snapshot_page("pages", Some("b"), 9).unwrap()), ["d"]);
    assert!(s.snapshot_page("pages", Some("d"), 9).unwrap().is_empty());
    assert!(s.snapshot_page("other", None, 9).unwrap().is_empty());
    let whole = s.snapshot("pages").unwrap();
    assert_eq!(s.snapshot_page("pages", None, 100).unwrap(), whole);
}

#[test]
fn memory_store_pages_snapshots() {
    pages(&mut MemoryStore::new("e".into()));
}

#[test]
fn memory_store_conforms() {
    conformance(&mut MemoryStore::new("e".into()));
}

/// Inside a batch every commit is still atomic on its own (the failing one in the suite changes
/// nothing) and every read sees the batch's earlier commits.
#[test]
fn memory_store_conforms_inside_a_batch() {
    let mut s = MemoryStore::new("e".into());
    s.begin_batch().unwrap();
    conformance(&mut s);
    s.end_batch().unwrap();
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn sqlite_store_keeps_number_texts_as_written() {
        let text = r#"{"a":1.50,"b":1e2,"c":[0.1000000000000000055511151231257827,-0.0],"d":12345678901234567890123}"#;
        let body = tether_protocol::Json::parse(text).unwrap();
        let mut s = SqliteStore::open(":memory:").unwrap();
        let mut c = change("nums", 1, "n", 1, None);
        c.entry.body = Some(body);
        s.commit(&commit(1, Some(c), KEEP)).unwrap();
        let stored = s.document("nums", "n").unwrap().unwrap().body.unwrap();
        assert_eq!(stored.to_text(), text);
        assert_eq!(s.snapshot("nums").unwrap()[0].doc.to_text(), text);
        let logged = s.log_after("nums", 0, 10).unwrap();
        assert_eq!(
            logged[0].body.as_ref().map(|b| b.to_text()).as_deref(),
            Some(text)
        );
    }

    #[test]
    fn sqlite_store_pages_snapshots() {
        pages(&mut SqliteStore::open(":memory:").unwrap());
    }

    #[test]
    fn sqlite_store_conforms() {
        conformance(&mut SqliteStore::open(":memory:").unwrap());
    }

    #[test]
    fn sqlite_store_conforms_inside_a_batch() {
        let mut s = SqliteStore::open(":memory:").unwrap();
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
    fn sqlite_file_keeps_data_and_epoch_across_reopen_and_a_new_file_gets_a_new_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let epoch = {
            let mut s = SqliteStore::open(&path).unwrap();
            s.commit(&commit(
                1,
                Some(change("tasks", 1, "t1", 1, Some(json!({"a": 1})))),
                KEEP,
            ))
            .unwrap();
            s.epoch().to_owned()
        };
        assert_eq!(epoch.len(), 16);
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.epoch(), epoch);
        assert_eq!(s.channel_head("tasks").unwrap().head, 1);
        assert_eq!(s.dedupe("c", 1).unwrap().record.as_deref(), Some("reply-1"));
        let other = SqliteStore::open(dir.path().join("u.sqlite3")).unwrap();
        assert_ne!(other.epoch(), epoch);
    }

    /// A database file whose `dedupe` insert for mutation id 2 fails with `RAISE(action, …)`:
    /// a store-level failure after the commit's document, log entry and head were written.
    fn file_failing_mutation_2(dir: &tempfile::TempDir, action: &str) -> std::path::PathBuf {
        let path = dir.path().join("t.sqlite3");
        drop(SqliteStore::open(&path).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        let stored_id = (2u64 ^ (1 << 63)) as i64; // mutation ids are stored order-preserving
        conn.execute_batch(&format!(
            "CREATE TRIGGER fail_2 BEFORE INSERT ON dedupe WHEN NEW.mutation_id = {stored_id}
             BEGIN SELECT RAISE({action}, 'injected failure'); END;"
        ))
        .unwrap();
        path
    }

    fn put(mid: u64, offset: u64, id: &str) -> Commit {
        commit(
            mid,
            Some(change("tasks", offset, id, 1, Some(json!({"n": mid})))),
            KEEP,
        )
    }

    /// What another connection (or the next process) reads: the head of `tasks`.
    fn durable_head(path: &std::path::Path) -> i64 {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.query_row(
            "SELECT coalesce(max(head), 0) FROM channels WHERE channel = 'tasks'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    }

    #[test]
    fn sqlite_batch_commits_become_durable_together_at_end_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let mut s = SqliteStore::open(&path).unwrap();
        s.begin_batch().unwrap();
        assert_eq!(s.begin_batch(), Err(StoreError::BatchAlreadyOpen));
        s.commit(&put(1, 1, "t1")).unwrap();
        s.commit(&put(2, 2, "t2")).unwrap();
        // The batch reads its own writes; nobody else sees them yet.
        assert_eq!(s.channel_head("tasks").unwrap().head, 2);
        assert!(s.document("tasks", "t2").unwrap().is_some());
        assert_eq!(s.dedupe("c", 2).unwrap().record.as_deref(), Some("reply-2"));
        assert_eq!(durable_head(&path), 0);
        s.end_batch().unwrap();
        assert_eq!(durable_head(&path), 2);
        assert_eq!(s.end_batch(), Ok(()), "no batch open: nothing to do");

        // A batch that never ends (the process dies) leaves nothing behind.
        s.begin_batch().unwrap();
        s.commit(&put(3, 3, "t3")).unwrap();
        drop(s);
        assert_eq!(durable_head(&path), 2);
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.document("tasks", "t3").unwrap(), None);
        assert_eq!(s.dedupe("c", 3).unwrap().highest, Some(2));
        // A batch without commits costs nothing and changes nothing.
        s.begin_batch().unwrap();
        assert_eq!(s.snapshot("tasks").unwrap().len(), 2);
        s.end_batch().unwrap();
    }

    #[test]
    fn sqlite_failing_commit_in_a_batch_is_undone_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = file_failing_mutation_2(&dir, "ABORT");
        let mut s = SqliteStore::open(&path).unwrap();
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

        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.channel_head("tasks").unwrap().head, 2);
        let ids: Vec<String> = s
            .snapshot("tasks")
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(ids, ["t1", "t3"]);
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
    fn sqlite_failure_that_undoes_the_transaction_aborts_the_whole_batch() {
        let dir = tempfile::tempdir().unwrap();
        // RAISE(ROLLBACK) rolls back the whole transaction, as SQLite may on an I/O error.
        let path = file_failing_mutation_2(&dir, "ROLLBACK");
        let mut s = SqliteStore::open(&path).unwrap();
        s.begin_batch().unwrap();
        s.commit(&put(1, 1, "t1")).unwrap();
        assert!(s.commit(&put(2, 2, "t2")).is_err());
        // Commit 1 is gone with the transaction: nothing more may join the batch, and the
        // batch reports the loss instead of succeeding.
        assert!(matches!(
            s.commit(&put(3, 2, "t3")),
            Err(StoreError::BatchAborted { .. })
        ));
        let ended = s.end_batch();
        assert!(
            matches!(&ended, Err(StoreError::BatchAborted { cause }) if cause.contains("injected failure")),
            "{ended:?}"
        );
        assert_eq!(durable_head(&path), 0);
        // The store works again, unbatched and batched.
        s.commit(&put(4, 1, "t4")).unwrap();
        s.begin_batch().unwrap();
        s.commit(&put(5, 2, "t5")).unwrap();
        s.end_batch().unwrap();
        drop(s);
        let mut s = SqliteStore::open(&path).unwrap();
        let ids: Vec<String> = s
            .snapshot("tasks")
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect();
        assert_eq!(ids, ["t4", "t5"]);
        assert_eq!(s.dedupe("c", 1).unwrap().record, None);
    }

    #[test]
    fn sqlite_refuses_another_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        drop(SqliteStore::open(&path).unwrap());
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute(
            "UPDATE meta SET value = '99' WHERE key = 'schema_version'",
            [],
        )
        .unwrap();
        drop(conn);
        assert_eq!(
            SqliteStore::open(&path).err(),
            Some(StoreError::SchemaVersion {
                found: 99,
                expected: 1
            })
        );
    }
}

/// The same script through an engine on each store gives the same frames.
#[cfg(feature = "sqlite")]
#[test]
fn engine_outputs_are_identical_on_memory_and_sqlite() {
    use crate::engine::{ConnectInfo, Output, ServerConfig, ServerEngine};
    use crate::store::SqliteStore;

    fn run<S: Store>(store: S) -> Vec<String> {
        let epoch = store.epoch().to_owned();
        let config = ServerConfig {
            retain_events: 4,
            ..ServerConfig::default()
        };
        let mut e = ServerEngine::new(config, store);
        let a = e.connect(0, ConnectInfo::default());
        let b = e.connect(0, ConnectInfo::default());
        let mut frames = Vec::new();
        let script = [
            (a, json!({"type": "hello", "protocol": 1, "client_id": "a"})),
            (b, json!({"type": "hello", "protocol": 1, "client_id": "b"})),
            (b, json!({"type": "subscribe", "channel": "t", "filter": {"field": "s", "op": "eq", "value": 1}})),
        ]
        .into_iter()
        .chain((1..=8u64).map(|i| {
            (a, json!({"type": "mutate", "mutation_id": i, "channel": "t", "op": "put",
                       "id": format!("d{}", i % 3), "doc": {"s": i % 2}}))
        }))
        .chain([
            (a, json!({"type": "mutate", "mutation_id": 9, "channel": "t", "op": "patch", "id": "d1", "base_version": 1, "doc": {}})),
            (a, json!({"type": "mutate", "mutation_id": 9, "channel": "t", "op": "patch", "id": "d1", "base_version": 1, "doc": {}})),
            (a, json!({"type": "mutate", "mutation_id": 10, "channel": "t", "op": "delete", "id": "d0"})),
            (b, json!({"type": "subscribe", "channel": "t", "since": {"epoch": epoch, "offset": 5}})),
            (b, json!({"type": "subscribe", "channel": "t", "since": {"epoch": epoch, "offset": 2}})),
        ]);
        for (conn, msg) in script {
            e.handle_frame(0, conn, msg.to_string().as_bytes());
            while let Some(out) = e.poll_output() {
                if let Output::Send { conn, frame } = out {
                    frames.push(format!("{conn} {}", frame.replace(&epoch, "EPOCH")));
                }
            }
        }
        frames
    }
    let memory = run(MemoryStore::new("zz-memory-epoch".into()));
    let sqlite = run(SqliteStore::open(":memory:").unwrap());
    assert!(memory.len() > 20);
    assert_eq!(memory, sqlite);
}
