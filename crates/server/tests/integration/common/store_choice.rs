//! Which store the integration tests run on: SQLite files (the default), or PostgreSQL with
//! `TETHER_TEST_STORE=postgres`, a fresh database per test dir.

use std::path::Path;

use tether_server::Store;

/// Whether this run is on PostgreSQL (`TETHER_TEST_STORE=postgres`). Panics with how to get one
/// when the variable asks for PostgreSQL that this build or the environment cannot give.
pub fn on_postgres() -> bool {
    match std::env::var("TETHER_TEST_STORE").as_deref() {
        Ok("postgres") => {
            if !cfg!(feature = "postgres") {
                panic!(
                    "TETHER_TEST_STORE=postgres needs the `postgres` feature: \
                     cargo test -p tether-server --features postgres"
                );
            }
            true
        }
        Ok("sqlite") | Ok("") | Err(_) => false,
        Ok(other) => panic!("TETHER_TEST_STORE={other}: expected sqlite or postgres"),
    }
}

/// The `--database-url` of the test dir `dir`: `None` on SQLite; on PostgreSQL the URL of the
/// dir's own database, created on first use.
pub fn database_url(dir: &Path) -> Option<String> {
    if !on_postgres() {
        return None;
    }
    #[cfg(feature = "postgres")]
    {
        Some(pg::database_of(dir))
    }
    #[cfg(not(feature = "postgres"))]
    {
        let _ = dir;
        None
    }
}

/// The store a test seeds or inspects directly: the SQLite file `db`, or on PostgreSQL the
/// database of its dir (open it only while the server is not running, or as a second writer).
pub fn open_store(db: &Path) -> Box<dyn Store + Send> {
    #[cfg(feature = "postgres")]
    if let Some(url) = db.parent().and_then(database_url) {
        return Box::new(tether_server::store::PgStore::open(&url).expect("open the store"));
    }
    Box::new(tether_server::SqliteStore::open(db).expect("open the store"))
}

#[cfg(feature = "postgres")]
pub use pg::{exec as postgres_exec, load_from_sqlite, RowLock};

#[cfg(feature = "postgres")]
mod pg {
    use std::path::Path;
    use std::sync::mpsc;

    /// The server's URL, or a failure saying how to get one.
    fn server_url() -> String {
        std::env::var("TETHER_TEST_POSTGRES_URL").unwrap_or_else(|_| {
            panic!(
                "TETHER_TEST_STORE=postgres needs TETHER_TEST_POSTGRES_URL (a PostgreSQL server \
                 whose role may create databases): run the tests as `scripts/services.sh cargo \
                 test -p tether-server --features postgres`, which starts one on loopback"
            )
        })
    }

    /// Runs `f` with a connection to database `db` (or the server's own) on a thread of its
    /// own: the sync client must not run inside the tests' tokio runtime.
    fn with_client<T: Send + 'static>(
        db: Option<String>,
        f: impl FnOnce(&mut postgres::Client) -> T + Send + 'static,
    ) -> T {
        std::thread::spawn(move || {
            let mut config: postgres::Config = server_url().parse().expect("a valid URL");
            if let Some(db) = db {
                config.dbname(&db);
            }
            let mut client = config
                .connect(postgres::NoTls)
                .expect("connects to PostgreSQL");
            f(&mut client)
        })
        .join()
        .expect("the PostgreSQL helper thread")
    }

    /// `url` with its database name replaced.
    fn url_of(db: &str) -> String {
        let url = server_url();
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b.to_owned(), format!("?{q}")),
            None => (url.clone(), String::new()),
        };
        let without_db = match base.split_once("://") {
            Some((scheme, rest)) => match rest.split_once('/') {
                Some((host, _)) => format!("{scheme}://{host}"),
                None => base.clone(),
            },
            None => panic!("TETHER_TEST_POSTGRES_URL must be a postgres:// URL"),
        };
        format!("{without_db}/{db}{query}")
    }

    /// The URL of `dir`'s database, created (and its name written into the dir) on first use.
    pub(super) fn database_of(dir: &Path) -> String {
        let marker = dir.join("postgres-database");
        if let Ok(name) = std::fs::read_to_string(&marker) {
            return url_of(name.trim());
        }
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "tether_it_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let create = format!("CREATE DATABASE {name}");
        with_client(None, move |c| c.batch_execute(&create)).expect("create the test database");
        std::fs::write(&marker, &name).expect("note the database in the test dir");
        url_of(&name)
    }

    fn name_of(dir: &Path) -> String {
        database_of(dir);
        std::fs::read_to_string(dir.join("postgres-database"))
            .expect("the database's name")
            .trim()
            .to_owned()
    }

    /// Column types of a copied table.
    #[derive(Clone, Copy)]
    enum Col {
        Text,
        Int,
    }

    /// The SQLite tables and their PostgreSQL names (the same content; `offset` is
    /// `log_offset` there).
    const TABLES: &[(&str, &str, &[Col])] = {
        use Col::{Int, Text};
        &[
            (
                "SELECT key, value FROM meta",
                "meta (key, value)",
                &[Text, Text],
            ),
            (
                "SELECT channel, head, pruned_through FROM channels",
                "channels (channel, head, pruned_through)",
                &[Text, Int, Int],
            ),
            (
                "SELECT channel, id, version, body FROM documents",
                "documents (channel, id, version, body)",
                &[Text, Text, Int, Text],
            ),
            (
                "SELECT channel, offset, id, version, body, prev_body, origin_client,
                     origin_mutation, unix_ms FROM events",
                "events (channel, log_offset, id, version, body, prev_body, origin_client,
                     origin_mutation, unix_ms)",
                &[Text, Int, Text, Int, Text, Text, Text, Int, Int],
            ),
            (
                "SELECT client_id, highest FROM clients",
                "clients (client_id, highest)",
                &[Text, Int],
            ),
            (
                "SELECT client_id, mutation_id, reply FROM dedupe",
                "dedupe (client_id, mutation_id, reply)",
                &[Text, Int, Text],
            ),
            (
                "SELECT client_id, subject, last_unix_ms, has_records FROM client_info",
                "client_info (client_id, subject, last_unix_ms, has_records)",
                &[Text, Text, Int, Int],
            ),
        ]
    };

    /// Fills the (fresh) PostgreSQL database of `dir` with exactly what the SQLite store wrote
    /// into the file `sqlite` (its epoch too), row by row with a binary `COPY`: seeding 100,000
    /// commits through the PostgreSQL store, one round trip per statement, would take minutes.
    pub fn load_from_sqlite(dir: &Path, sqlite: &Path) {
        use postgres::binary_copy::BinaryCopyInWriter;
        use postgres::types::{ToSql, Type};
        drop(super::open_store(&dir.join("tether.sqlite3"))); // creates the schema
        let (db, sqlite) = (name_of(dir), sqlite.to_owned());
        with_client(Some(db), move |pg| {
            let lite = rusqlite::Connection::open(&sqlite).expect("the seeded SQLite file");
            let mut tx = pg.transaction().expect("begin");
            let written: i64 = tx
                .query_one("SELECT count(*) FROM channels", &[])
                .expect("count")
                .get(0);
            assert_eq!(written, 0, "load_from_sqlite fills a fresh database only");
            tx.batch_execute("DELETE FROM meta").expect("clear meta");
            for (select, table, cols) in TABLES {
                let types: Vec<Type> = cols
                    .iter()
                    .map(|c| match c {
                        Col::Text => Type::TEXT,
                        Col::Int => Type::INT8,
                    })
                    .collect();
                let sink = tx
                    .copy_in(&format!("COPY {table} FROM STDIN BINARY"))
                    .expect("copy in");
                let mut writer = BinaryCopyInWriter::new(sink, &types);
                let mut stmt = lite.prepare(select).expect("select");
                let mut rows = stmt.query([]).expect("rows");
                while let Some(row) = rows.next().expect("row") {
                    let values: Vec<Box<dyn ToSql + Sync>> = cols
                        .iter()
                        .enumerate()
                        .map(|(i, c)| -> Box<dyn ToSql + Sync> {
                            match c {
                                Col::Text => Box::new(row.get::<_, Option<String>>(i).unwrap()),
                                Col::Int => Box::new(row.get::<_, Option<i64>>(i).unwrap()),
                            }
                        })
                        .collect();
                    let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| &**v).collect();
                    writer.write(&refs).expect("copy a row");
                }
                writer.finish().expect("copy done");
            }
            tx.commit().expect("commit");
        });
    }

    /// Runs SQL statements on the database of `dir` (failure injection).
    pub fn exec(dir: &Path, sql: &str) {
        let sql = sql.to_owned();
        with_client(Some(name_of(dir)), move |c| c.batch_execute(&sql))
            .unwrap_or_else(|e| panic!("SQL on the test database: {e:?}"));
    }

    /// A transaction of another connection that holds row locks (`sql`, e.g. `SELECT …
    /// FOR UPDATE`) on the database of a dir until dropped.
    pub struct RowLock {
        release: Option<mpsc::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl RowLock {
        /// Takes the locks; returns once they are held.
        pub fn take(dir: &Path, sql: &str) -> RowLock {
            let (db, sql) = (name_of(dir), sql.to_owned());
            let (held_tx, held_rx) = mpsc::channel();
            let (release, release_rx) = mpsc::channel::<()>();
            let thread = std::thread::spawn(move || {
                let mut config: postgres::Config = server_url().parse().expect("a valid URL");
                config.dbname(&db);
                let mut client = config.connect(postgres::NoTls).expect("connects");
                let mut tx = client.transaction().expect("begin");
                tx.batch_execute(&sql).expect("take the locks");
                held_tx.send(()).expect("report");
                let _ = release_rx.recv();
                tx.rollback().expect("rollback");
            });
            held_rx.recv().expect("the locks are held");
            RowLock {
                release: Some(release),
                thread: Some(thread),
            }
        }
    }

    impl Drop for RowLock {
        fn drop(&mut self) {
            drop(self.release.take());
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}
