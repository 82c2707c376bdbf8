//! Client bindings and client housekeeping, run against every store: a binding is first come,
//! durable and atomic; records of a client inactive past the dedupe age are dropped while its
//! highest id stays; beyond the client bound the longest-inactive clients are forgotten, a
//! bounded number per write.

use super::{Commit, MemoryStore, Retention, Store};

pub(super) const DAY: u64 = 86_400_000;

pub(super) fn retention(max_age_days: u64, max_clients: u64) -> Retention {
    Retention {
        max_events: 1_000,
        max_age_ms: u64::MAX,
        dedupe_per_client: 100,
        dedupe_max_age_ms: max_age_days * DAY,
        max_clients,
    }
}

pub(super) fn commit(client: &str, mid: u64, unix_ms: u64, retention: Retention) -> Commit {
    Commit {
        client_id: client.into(),
        mutation_id: mid,
        reply: format!("{client}-{mid}"),
        change: None,
        retention,
        unix_ms,
    }
}

pub(super) fn bindings<S: Store>(s: &mut S) {
    let r = retention(30, 1_000);
    assert_eq!(s.client_subject("c1").unwrap(), None);
    assert_eq!(s.bind_client("c1", "alice", &r, DAY).unwrap(), "alice");
    assert_eq!(s.bind_client("c1", "bob", &r, DAY).unwrap(), "alice");
    assert_eq!(s.client_subject("c1").unwrap().as_deref(), Some("alice"));
    // A client known from commits but never bound (dev mode, or an older database) is bound
    // by the first subject, and keeps its records and highest id.
    s.commit(&commit("c2", 5, DAY, r)).unwrap();
    assert_eq!(s.client_subject("c2").unwrap(), None);
    assert_eq!(s.bind_client("c2", "bob", &r, DAY).unwrap(), "bob");
    let d = s.dedupe("c2", 5).unwrap();
    assert_eq!((d.record.as_deref(), d.highest), (Some("c2-5"), Some(5)));
    // A bound client that never committed has no highest id.
    assert_eq!(s.dedupe("c1", 1).unwrap().highest, None);
}

pub(super) fn expiry<S: Store>(s: &mut S) {
    let r = retention(30, 1_000);
    s.commit(&commit("old", 7, DAY, r)).unwrap();
    s.commit(&commit("new", 3, 20 * DAY, r)).unwrap();
    // 31 days after "old" was last active, the next write drops its records, keeps its
    // highest id (so a resend of 7 is answered "not above the highest", never applied again).
    s.commit(&commit("new", 4, 32 * DAY, r)).unwrap();
    let d = s.dedupe("old", 7).unwrap();
    assert_eq!((d.record, d.highest), (None, Some(7)));
    let d = s.dedupe("new", 3).unwrap();
    assert_eq!(
        d.record.as_deref(),
        Some("new-3"),
        "new was active 12 days ago"
    );
    // Activity again keeps the records from then on.
    s.commit(&commit("old", 8, 33 * DAY, r)).unwrap();
    assert_eq!(s.dedupe("old", 8).unwrap().record.as_deref(), Some("old-8"));
}

pub(super) fn bounded_clients<S: Store>(s: &mut S) {
    let r = retention(30, 3);
    for (i, client) in ["a", "b", "c"].iter().enumerate() {
        s.commit(&commit(client, 1, DAY + i as u64, r)).unwrap();
    }
    s.bind_client("d", "alice", &r, DAY + 10).unwrap();
    // "a" was inactive longest: forgotten entirely (records, highest id, binding).
    assert_eq!(s.dedupe("a", 1).unwrap(), Default::default());
    assert!(s.dedupe("b", 1).unwrap().record.is_some());
    s.bind_client("a", "bob", &r, DAY + 11).unwrap();
    assert_eq!(s.client_subject("a").unwrap().as_deref(), Some("bob"));
    assert_eq!(s.dedupe("b", 1).unwrap(), Default::default(), "b went next");
    // Work per write is bounded: lowering the bound far below the count evicts a few at a
    // time, never the client being written.
    let many = retention(30, 1_000);
    for i in 0..40u64 {
        s.commit(&commit(&format!("m{i}"), 1, 2 * DAY + i, many))
            .unwrap();
    }
    let tight = retention(30, 1);
    s.commit(&commit("m39", 2, 3 * DAY, tight)).unwrap();
    let remaining = (0..40)
        .filter(|i| s.dedupe(&format!("m{i}"), 1).unwrap().highest.is_some())
        .count();
    // 43 clients (c, d, a and the 40 m's): one write evicts EXPIRE_PER_WRITE of them, oldest
    // first (c, d, a, then the oldest m's).
    assert_eq!(remaining, 40 - (super::EXPIRE_PER_WRITE - 3));
    for gone in ["c", "d", "a"] {
        assert_eq!(s.dedupe(gone, 1).unwrap(), Default::default(), "{gone}");
    }
    assert!(s.dedupe("m39", 2).unwrap().record.is_some());
}

#[test]
fn memory_store_bindings_expiry_and_bound() {
    bindings(&mut MemoryStore::new("e".into()));
    expiry(&mut MemoryStore::new("e".into()));
    let mut s = MemoryStore::new("e".into());
    bounded_clients(&mut s);
    assert_eq!(s.client_count(), 43 - super::EXPIRE_PER_WRITE);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;
    use crate::store::SqliteStore;

    #[test]
    fn sqlite_store_bindings_expiry_and_bound() {
        bindings(&mut SqliteStore::open(":memory:").unwrap());
        expiry(&mut SqliteStore::open(":memory:").unwrap());
        bounded_clients(&mut SqliteStore::open(":memory:").unwrap());
    }

    #[test]
    fn sqlite_store_bindings_inside_a_batch() {
        let mut s = SqliteStore::open(":memory:").unwrap();
        s.begin_batch().unwrap();
        bindings(&mut s);
        expiry(&mut s);
        s.end_batch().unwrap();
    }

    #[test]
    fn a_binding_is_in_the_file_after_reopen_and_an_older_file_gets_its_clients_unbound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite3");
        let r = retention(30, 1_000);
        {
            let mut s = SqliteStore::open(&path).unwrap();
            s.bind_client("c1", "alice", &r, DAY).unwrap();
            s.commit(&commit("c2", 4, DAY, r)).unwrap();
        }
        // A file from before client bindings: no client_info rows, no count.
        {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.execute_batch(
                "DELETE FROM client_info WHERE client_id = 'c2';
                 DELETE FROM meta WHERE key = 'client_count';",
            )
            .unwrap();
        }
        let mut s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.client_subject("c1").unwrap().as_deref(), Some("alice"));
        assert_eq!(s.bind_client("c1", "bob", &r, DAY).unwrap(), "alice");
        assert_eq!(s.client_subject("c2").unwrap(), None);
        assert_eq!(s.dedupe("c2", 4).unwrap().highest, Some(4));
        // Both are counted again for the bound: a bound of 2 evicts the older on a new client.
        let two = retention(30, 2);
        s.bind_client("c3", "carol", &two, 2 * DAY).unwrap();
        let left = ["c1", "c2"]
            .iter()
            .filter(|c| {
                s.dedupe(c, 4).unwrap().highest.is_some() || s.client_subject(c).unwrap().is_some()
            })
            .count();
        assert_eq!(left, 1);
    }
}
