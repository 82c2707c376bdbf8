//! The axum/tokio edge: accepts WebSockets, checks Origin and tokens before the upgrade, and
//! moves frames between sockets and the engine task. It owns sockets and queues; every
//! protocol decision is the engine's.
//!
//! ```no_run
//! # async fn run() -> Result<(), tether_server::edge::EdgeError> {
//! use tether_server::edge::{spawn, Options};
//! let server = spawn(Options::for_tests("tether.sqlite3".into())).await?;
//! println!("listening on {}", server.addr());
//! server.shutdown().await?;
//! # Ok(()) }
//! ```

mod api;
mod cluster_link;
mod engine_task;
mod forward;
mod http;
mod metrics;
mod options;
#[cfg(feature = "cluster")]
mod redis_link;
mod socket;
mod token_cmd;

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt as _;
use tokio::sync::{oneshot, watch, Semaphore};

pub use metrics::Metrics;
pub use options::{Options, SyncMode};
pub use token_cmd::TokenArgs;

use crate::store::{SqliteStore, SqliteSync, Store, StoreError};
use engine_task::{spawn_engine, EngineThread, ForwardSetup, Input};
use http::{router, AppState};
use socket::SocketEnv;

/// Capacity of the channel from socket tasks to the engine task.
const INPUT_QUEUE: usize = 8_192;
/// Upper bound on concurrently open sockets (for shutdown accounting).
const MAX_SOCKETS: u32 = 1 << 20;

/// Why the server could not start or stopped badly.
#[derive(Debug)]
#[non_exhaustive]
pub enum EdgeError {
    /// Invalid configuration.
    Config {
        /// What is wrong.
        message: String,
    },
    /// The database could not be opened.
    Store(StoreError),
    /// Binding or serving failed.
    Io(std::io::Error),
}

impl PartialEq for EdgeError {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (EdgeError::Config { message: a }, EdgeError::Config { message: b }) => a == b,
            (EdgeError::Store(a), EdgeError::Store(b)) => a == b,
            (EdgeError::Io(a), EdgeError::Io(b)) => a.kind() == b.kind(),
            _ => false,
        }
    }
}

impl std::fmt::Display for EdgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EdgeError::Config { message } => write!(f, "configuration: {message}"),
            EdgeError::Store(err) => write!(f, "database: {err}"),
            EdgeError::Io(err) => write!(f, "io: {err}"),
        }
    }
}

impl std::error::Error for EdgeError {}

/// A running server.
pub struct RunningServer {
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), EdgeError>>,
}

impl RunningServer {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Live metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Graceful shutdown: stop accepting, finish queued inputs (in-flight commits), close every
    /// socket with 1001, wait for them (bounded by `--shutdown-grace-ms`), close the database.
    pub async fn shutdown(mut self) -> Result<(), EdgeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait().await
    }

    /// Waits until the server stops after a graceful shutdown (`Ok`), or with an error if
    /// serving or the engine thread failed. A failed group commit does not stop it (the
    /// engine recovers by itself, closing only the connections the batch affected).
    pub async fn wait(self) -> Result<(), EdgeError> {
        match self.task.await {
            Ok(result) => result,
            Err(err) => Err(EdgeError::Io(std::io::Error::other(err.to_string()))),
        }
    }

    /// Takes the stop handle: sending `()` on it (or dropping it) starts the graceful
    /// shutdown; then use [`RunningServer::wait`].
    pub fn stop_handle(&mut self) -> Option<oneshot::Sender<()>> {
        self.stop.take()
    }
}

/// Opens the configured database (PostgreSQL with `--database-url`, else the SQLite file) and
/// starts the server.
pub async fn spawn(options: Options) -> Result<RunningServer, EdgeError> {
    if let Some(url) = options.database_url.clone() {
        return spawn_on_postgres(options, &url).await;
    }
    let sync = match options.sqlite_sync {
        SyncMode::Full => SqliteSync::Full,
        SyncMode::Normal => SqliteSync::Normal,
    };
    let store = SqliteStore::open_with(&options.db, sync).map_err(EdgeError::Store)?;
    spawn_with_store(options, store).await
}

/// Starts the server over the PostgreSQL store at `url`.
#[cfg(feature = "postgres")]
async fn spawn_on_postgres(options: Options, url: &str) -> Result<RunningServer, EdgeError> {
    crate::store::postgres::parse_url(url).map_err(|e| EdgeError::Config {
        message: format!("--database-url: {e}"),
    })?;
    let store = crate::store::PgStore::open(url).map_err(EdgeError::Store)?;
    spawn_with_store(options, store).await
}

/// Without the `postgres` feature `--database-url` is refused.
#[cfg(not(feature = "postgres"))]
async fn spawn_on_postgres(_options: Options, _url: &str) -> Result<RunningServer, EdgeError> {
    Err(EdgeError::Config {
        message: "--database-url (TETHER_DATABASE_URL) needs a tether-server built with the \
                  `postgres` feature: cargo build -p tether-server --features postgres"
            .into(),
    })
}

/// Cluster mode of these options: `None` for a database only this server writes (SQLite);
/// with `--database-url`, polling of the shared database, and with `--redis-url` also the
/// Redis fan-out link (whose tasks start once the engine thread runs).
fn cluster_link(
    options: &Options,
) -> Result<(Option<cluster_link::ClusterLink>, LinkTasks), EdgeError> {
    if options.database_url.is_none() {
        if options.redis_url.is_some() {
            return Err(EdgeError::Config {
                message: "--redis-url (TETHER_REDIS_URL) is cluster mode's fan-out link between \
                          servers sharing one PostgreSQL database: it needs --database-url"
                    .into(),
            });
        }
        return Ok((None, LinkTasks::None));
    }
    let Some(url) = options.redis_url.as_deref() else {
        let polling = cluster_link::ClusterLink {
            hints: None,
            status: None,
            relay: None,
            node_id: None,
        };
        return Ok((Some(polling), LinkTasks::None));
    };
    redis_tasks(url)
}

#[cfg(feature = "cluster")]
fn redis_tasks(url: &str) -> Result<(Option<cluster_link::ClusterLink>, LinkTasks), EdgeError> {
    let (link, tasks) = redis_link::prepare(url)?;
    Ok((Some(link), LinkTasks::Redis(tasks)))
}

/// Without the `cluster` feature `--redis-url` is refused.
#[cfg(not(feature = "cluster"))]
fn redis_tasks(_url: &str) -> Result<(Option<cluster_link::ClusterLink>, LinkTasks), EdgeError> {
    Err(EdgeError::Config {
        message: "--redis-url (TETHER_REDIS_URL) needs a tether-server built with the `cluster` \
                  feature: cargo build -p tether-server --features cluster"
            .into(),
    })
}

/// The fan-out link's tasks, started once the engine thread runs.
enum LinkTasks {
    /// No link (SQLite, or PostgreSQL polling only).
    None,
    /// Redis pub/sub.
    #[cfg(feature = "cluster")]
    Redis(redis_link::RedisLink),
}

impl LinkTasks {
    fn start(self, epoch: &str, inputs: tokio::sync::mpsc::Sender<Input>) {
        match self {
            LinkTasks::None => {
                let _ = (epoch, inputs);
            }
            #[cfg(feature = "cluster")]
            LinkTasks::Redis(link) => link.start(epoch, inputs),
        }
    }
}

/// Starts the server over a given store.
pub async fn spawn_with_store<S: Store + Send + 'static>(
    options: Options,
    store: S,
) -> Result<RunningServer, EdgeError> {
    let config = options.engine_config()?;
    let api_keys = Arc::new(
        api::ApiKeys::parse(&options.api_keys, options.dev)?
            .with_rate(options.api_rate_per_sec, options.api_rate_burst),
    );
    let auth = Arc::new(config.auth.clone());
    let listener = tokio::net::TcpListener::bind(options.bind)
        .await
        .map_err(EdgeError::Io)?;
    let addr = listener.local_addr().map_err(EdgeError::Io)?;
    // Small frames leave at once: without TCP_NODELAY an ack written right after its event
    // waits for the client's delayed ACK of the event (40 ms on Linux).
    let listener = listener.tap_io(|tcp| {
        if let Err(err) = tcp.set_nodelay(true) {
            tracing::debug!(%err, "could not set TCP_NODELAY");
        }
    });
    let epoch = store.epoch().to_owned();
    let metrics = Arc::new(Metrics::default());
    let (cluster, redis) = cluster_link(&options)?;
    let link_status = cluster.as_ref().and_then(|c| c.status.clone());
    let EngineThread {
        inputs,
        join: engine_thread,
    } = spawn_engine(
        config,
        store,
        Arc::clone(&metrics),
        INPUT_QUEUE,
        &ForwardSetup {
            secret: options.forward_secret.clone(),
            max_body: usize::try_from(options.max_message_bytes).unwrap_or(usize::MAX),
        },
        cluster,
    )?;
    redis.start(&epoch, inputs.clone());
    let live = Arc::new(Semaphore::new(MAX_SOCKETS as usize));
    let env = SocketEnv {
        inputs: inputs.clone(),
        metrics: Arc::clone(&metrics),
        outbound_queue: options.outbound_queue,
        live: Arc::clone(&live),
    };
    let state = AppState {
        env,
        auth,
        origins: Arc::new(http::OriginRule::new(options.dev, &options.allowed_origins)),
        max_message_bytes: usize::try_from(options.max_message_bytes).unwrap_or(usize::MAX),
        health: Arc::new(http::Health::new(link_status)),
    };
    let api = api::ApiState {
        inputs: inputs.clone(),
        keys: api_keys,
        max_body: usize::try_from(options.max_message_bytes).unwrap_or(usize::MAX),
        next_id: Arc::default(),
    };
    let app = router(state, api, options.static_dir.as_deref());
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (accepting_tx, mut accepting_rx) = watch::channel(true);
    let serve = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = accepting_rx.wait_for(|accepting| !accepting).await;
        })
        .into_future();
    let grace = Duration::from_millis(options.shutdown_grace_ms);
    let db = match options.database_url {
        Some(_) => "postgres (--database-url)".to_owned(),
        None => options.db.display().to_string(),
    };
    tracing::info!(%addr, %epoch, %db, dev = options.dev, "tether-server listening");
    let task = tokio::spawn(async move {
        let serve_task = tokio::spawn(serve);
        // Runs until asked to stop (or every stop handle is dropped). A failed group commit
        // does not stop it: the engine recovers by itself.
        let _ = stop_rx.await;
        tracing::info!("shutting down");
        let _ = accepting_tx.send(false);
        let (done_tx, done_rx) = oneshot::channel();
        if inputs.send(Input::Shutdown { done: done_tx }).await.is_ok() {
            let _ = done_rx.await;
        }
        drop(inputs);
        // Wait (bounded) for every socket task to finish its close handshake.
        let _ = tokio::time::timeout(grace, live.acquire_many(MAX_SOCKETS)).await;
        let served = serve_task.await;
        // Joining the engine thread and dropping the store closes the database (checkpointing
        // the WAL into the main file).
        let stopped = tokio::task::spawn_blocking(move || engine_thread.join().map(drop)).await;
        tracing::info!("stopped");
        match (served, stopped) {
            (Ok(Err(err)), _) => Err(EdgeError::Io(err)),
            (Err(err), _) => Err(EdgeError::Io(std::io::Error::other(err.to_string()))),
            (_, Ok(Ok(()))) => Ok(()),
            (_, _) => Err(EdgeError::Io(std::io::Error::other("engine thread failed"))),
        }
    });
    Ok(RunningServer {
        addr,
        metrics,
        stop: Some(stop_tx),
        task,
    })
}
