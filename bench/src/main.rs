//! `loadgen`: the server fan-out benchmark. It starts the server under test as its own child
//! process, connects a publisher, reads the server's baseline memory, opens N subscribed
//! WebSocket connections, reads the memory again (bytes per idle subscribed connection), then
//! publishes at a fixed rate and records every delivery's publish→receive latency in an HDR
//! histogram, with the server's CPU time over each phase. The same generator drives
//! `tether-server` and a Socket.IO 4 peer, so their figures are comparable.
//!
//! ```text
//! loadgen --peer tether --connections 1000 --seconds 10 --rate 10 --out r.json \
//!     -- target/server/tether-server --dev --bind 127.0.0.1:0 --db /tmp/x.sqlite3
//! ```
//!
//! With `--nodes K` it starts K copies of the server command (cluster nodes on one database),
//! spreads the subscribers over them round-robin and publishes on the first; `--scenario
//! durable` and `--scenario failover` are the cluster benchmark's other measurements
//! (`durable.rs`, `failover.rs`).
//!
//! Loopback only: the server command must bind to 127.0.0.1; the generator refuses any other
//! address. Everything is bounded in time; the servers are killed at the end.

mod catchup;
mod conn;
mod durable;
mod failover;
mod server;
mod stats;
mod wire;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Serialize;
use tokio::sync::{oneshot, Semaphore};
use tokio::task::JoinSet;

use conn::{PublisherReport, Schedule};
use server::ServerProcess;
use stats::{Recorder, Summary};
use wire::Peer;

/// Server fan-out load generator (see the module documentation).
#[derive(Debug, Parser)]
#[command(name = "loadgen")]
struct Args {
    /// Which protocol the server speaks.
    #[arg(long, value_enum)]
    peer: Peer,
    /// Subscribed connections to open.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// Seconds of publishing.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Publishes per second.
    #[arg(long, default_value_t = 10.0)]
    rate: f64,
    /// Worker threads of the generator's runtime.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Connections being set up at the same time.
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// Pause before each memory reading, milliseconds.
    #[arg(long, default_value_t = 2000)]
    settle_ms: u64,
    /// How long to wait for outstanding deliveries after the last publish, seconds.
    #[arg(long, default_value_t = 5.0)]
    drain_secs: f64,
    /// Longest time for connecting every subscriber, seconds.
    #[arg(long, default_value_t = 180.0)]
    connect_timeout_secs: f64,
    /// Where to write the JSON result.
    #[arg(long)]
    out: PathBuf,
    /// Where the server's standard error goes.
    #[arg(long)]
    server_log: PathBuf,
    /// A file to write the server's process id to (so a wrapper can end it if this generator
    /// is killed).
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// A label for the result (e.g. what the server was run with).
    #[arg(long, default_value = "")]
    label: String,
    /// What to measure: `fanout` (the default) or `catchup` (see `catchup.rs`; tether only).
    #[arg(long, value_enum, default_value_t = Scenario::Fanout)]
    scenario: Scenario,
    /// `catchup`: events the resuming reader missed.
    #[arg(long, default_value_t = 10_000)]
    events: u64,
    /// `catchup`: channel sizes to subscribe to, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000u64, 100_000])]
    docs: Vec<u64>,
    /// Copies of the server command to start (nodes of one cluster; `fanout`, `failover`).
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// `durable`: writer connections of the throughput phase.
    #[arg(long, default_value_t = 16)]
    writers: usize,
    /// `durable`: unacknowledged mutations each writer keeps in flight.
    #[arg(long, default_value_t = 8)]
    in_flight: usize,
    /// `durable`: pipelined mutations of the drain phase.
    #[arg(long, default_value_t = 1000)]
    drain: u64,
    /// The server command: program and arguments (after `--`).
    #[arg(last = true, required = true)]
    server: Vec<String>,
}

/// Which measurement a run makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// N subscribers, publish→receive latency, memory per connection.
    Fanout,
    /// Resume after many missed events; subscribe to large channels.
    Catchup,
    /// Durable mutations per second and the drain of `--drain` pipelined ones (one node).
    Durable,
    /// `--connections` clients on node 2 of `--nodes` (at least 2), node 2 SIGKILLed: time
    /// until each is current again on another node.
    Failover,
}

/// One run's result (written as JSON).
#[derive(Debug, Serialize)]
struct FanoutResult {
    peer: &'static str,
    label: String,
    connections: usize,
    connected: usize,
    connect_failures: usize,
    first_connect_error: Option<String>,
    connect_secs: f64,
    rate_per_sec: f64,
    seconds: f64,
    published: u64,
    acked: u64,
    publisher_error: Option<String>,
    expected_deliveries: u64,
    deliveries: u64,
    missing_deliveries: u64,
    unexpected_deliveries: u64,
    closed_during_run: u64,
    server_alive_at_end: bool,
    /// Publish → receive, every delivery.
    latency: Option<Summary>,
    /// Publish → the last subscriber received it, per publish that reached every subscriber.
    all_received: Option<Summary>,
    /// Publish → ack at the publisher.
    ack: Option<Summary>,
    rss_before_bytes: u64,
    rss_idle_bytes: u64,
    rss_after_bytes: u64,
    bytes_per_connection: Option<f64>,
    cpu_connect_secs: f64,
    cpu_publish_secs: f64,
    cpu_total_secs: f64,
    /// The generator's own CPU seconds while publishing (near the wall time per thread means
    /// it, not the server, may be what limits the latency figures).
    loadgen_cpu_publish_secs: f64,
    loadgen_threads: usize,
    /// The machine's 1-minute load average when publishing started and ended.
    load_average: [Option<f64>; 2],
    /// Per node (one entry without `--nodes`); the totals above sum over the nodes.
    nodes: Vec<NodeFigure>,
    server_command: Vec<String>,
}

/// One node's share of a fan-out run.
#[derive(Debug, Serialize)]
struct NodeFigure {
    /// Subscribers connected to it.
    connected: usize,
    rss_before_bytes: u64,
    rss_idle_bytes: u64,
    /// (RSS idle − RSS before) / its subscribers.
    bytes_per_connection: Option<f64>,
    cpu_publish_secs: f64,
    /// Publish → receive of the deliveries to its subscribers.
    latency: Option<Summary>,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(&args)) {
        Ok(result) => {
            let json = match serde_json::to_string_pretty(&result) {
                Ok(json) => json,
                Err(e) => {
                    eprintln!("loadgen: {e}");
                    return std::process::ExitCode::FAILURE;
                }
            };
            if let Err(e) = std::fs::write(&args.out, json + "\n") {
                eprintln!("loadgen: cannot write {}: {e}", args.out.display());
                return std::process::ExitCode::FAILURE;
            }
            runtime.shutdown_timeout(Duration::from_secs(2));
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("loadgen: {e}");
            runtime.shutdown_timeout(Duration::from_secs(2));
            std::process::ExitCode::FAILURE
        }
    }
}

fn log(args: &Args, msg: &str) {
    eprintln!(
        "[loadgen {} n={}] {msg}",
        args.peer.name(),
        args.connections
    );
}

async fn run(args: &Args) -> Result<serde_json::Value, String> {
    let start = Instant::now();
    let wanted = match args.scenario {
        Scenario::Fanout | Scenario::Failover => args.nodes.max(1),
        Scenario::Catchup | Scenario::Durable => 1,
    };
    let mut servers: Vec<ServerProcess> = Vec::with_capacity(wanted);
    let mut started = Ok(());
    for _ in 0..wanted {
        match ServerProcess::start(&args.server, &args.server_log, Duration::from_secs(60)).await {
            Ok(server) => servers.push(server),
            Err(e) => {
                started = Err(e);
                break;
            }
        }
        // One line per process, so a wrapper can end every node if this generator is killed.
        if let Some(path) = &args.pid_file {
            let pids: String = servers.iter().map(|s| format!("{}\n", s.pid())).collect();
            if let Err(e) = std::fs::write(path, pids) {
                started = Err(format!("cannot write {}: {e}", path.display()));
                break;
            }
        }
        if servers.iter().any(|s| !s.addr().ip().is_loopback()) {
            started = Err("the server must listen on a loopback address".to_owned());
            break;
        }
    }
    let mut tasks = JoinSet::new();
    let outcome = match started {
        Err(e) => Err(e),
        Ok(()) => match args.scenario {
            Scenario::Fanout => measure(args, &servers, start, &mut tasks)
                .await
                .and_then(|r| serde_json::to_value(r).map_err(|e| e.to_string())),
            Scenario::Catchup | Scenario::Durable if args.peer != Peer::Tether => {
                Err("this scenario measures tether-server only".to_owned())
            }
            Scenario::Catchup => catchup::measure(
                &servers[0],
                args.events,
                &args.docs,
                args.label.clone(),
                args.server.clone(),
            )
            .await
            .and_then(|r| serde_json::to_value(r).map_err(|e| e.to_string())),
            Scenario::Durable => durable::measure(
                &servers[0],
                durable::Load {
                    writers: args.writers,
                    in_flight: args.in_flight,
                    seconds: args.seconds,
                    drain: args.drain,
                },
                args.label.clone(),
                args.server.clone(),
            )
            .await
            .and_then(|r| serde_json::to_value(r).map_err(|e| e.to_string())),
            Scenario::Failover => failover::measure(
                &mut servers,
                failover::Load {
                    clients: args.connections,
                    rate: args.rate,
                    concurrency: args.concurrency,
                    connect_timeout: Duration::from_secs_f64(args.connect_timeout_secs),
                },
                args.label.clone(),
                args.server.clone(),
            )
            .await
            .and_then(|r| serde_json::to_value(r).map_err(|e| e.to_string())),
        },
    };
    // The servers go first, so their side of each connection closes first (and holds the
    // TIME_WAIT states), then the subscriber tasks are dropped.
    for server in servers {
        server.stop().await;
    }
    tasks.abort_all();
    if let Some(path) = &args.pid_file {
        let _ = std::fs::remove_file(path);
    }
    outcome
}

/// The sum of `f` over the nodes.
fn sum_over<T: std::iter::Sum>(
    servers: &[ServerProcess],
    f: impl Fn(&ServerProcess) -> Result<T, String>,
) -> Result<T, String> {
    servers.iter().map(f).sum()
}

async fn measure(
    args: &Args,
    servers: &[ServerProcess],
    start: Instant,
    tasks: &mut JoinSet<()>,
) -> Result<FanoutResult, String> {
    let addr = servers[0].addr();
    let addrs: Vec<_> = servers.iter().map(ServerProcess::addr).collect();
    let peer = args.peer;
    for server in servers {
        log(
            args,
            &format!("server pid {} on {}", server.pid(), server.addr()),
        );
    }
    let server = &servers[0];

    // Publisher first (with a warm-up publish), so the baseline includes it.
    let count = (args.rate * args.seconds).round().max(1.0) as u64;
    let schedule = Schedule {
        rate: args.rate,
        count,
        drain: Duration::from_secs_f64(args.drain_secs),
    };
    let (warm_tx, warm_rx) = oneshot::channel();
    let (go_tx, go_rx) = oneshot::channel();
    let publisher = tokio::spawn(conn::run_publisher(
        addr, peer, start, schedule, warm_tx, go_rx,
    ));
    match warm_rx.await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(format!("publisher: {e}")),
        Err(_) => return Err("publisher stopped before warming up".to_owned()),
    }

    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let rss_before_each: Vec<u64> = servers
        .iter()
        .map(ServerProcess::rss_bytes)
        .collect::<Result<_, _>>()?;
    let rss_before: u64 = rss_before_each.iter().sum();
    let cpu_before = sum_over(servers, ServerProcess::cpu_secs)?;

    // Subscribers.
    // One recorder per node, so that local and relayed deliveries can be told apart.
    let recorders: Vec<Arc<Recorder>> = servers
        .iter()
        .map(|_| Arc::new(Recorder::new(usize::try_from(count).unwrap_or(usize::MAX))))
        .collect();
    let closed = Arc::new(AtomicU64::new(0));
    let ready = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let first_error: Arc<std::sync::Mutex<Option<String>>> = Arc::default();
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let connect_started = Instant::now();
    // Connected subscribers per node.
    let per_node: Arc<Vec<AtomicUsize>> =
        Arc::new(servers.iter().map(|_| AtomicUsize::new(0)).collect());
    for index in 0..args.connections {
        let (node, per_node) = (index % addrs.len(), Arc::clone(&per_node));
        let addr = addrs[node];
        let (gate, recorder, closed, ready, failed, first_error) = (
            Arc::clone(&gate),
            Arc::clone(&recorders[node]),
            Arc::clone(&closed),
            Arc::clone(&ready),
            Arc::clone(&failed),
            Arc::clone(&first_error),
        );
        tasks.spawn(async move {
            let permit = gate.acquire_owned().await;
            let subscribed = conn::subscribe(addr, peer, index).await;
            drop(permit);
            match subscribed {
                Ok(sub) => {
                    ready.fetch_add(1, Ordering::Relaxed);
                    per_node[node].fetch_add(1, Ordering::Relaxed);
                    conn::run_subscriber(sub, peer, index, start, recorder, closed).await;
                }
                Err(e) => {
                    failed.fetch_add(1, Ordering::Relaxed);
                    if let Ok(mut slot) = first_error.lock() {
                        slot.get_or_insert(e);
                    }
                }
            }
        });
    }
    let connect_deadline = Instant::now() + Duration::from_secs_f64(args.connect_timeout_secs);
    let mut last_log = Instant::now();
    loop {
        let (r, f) = (
            ready.load(Ordering::Relaxed),
            failed.load(Ordering::Relaxed),
        );
        if r + f >= args.connections || Instant::now() >= connect_deadline {
            break;
        }
        if last_log.elapsed() >= Duration::from_secs(5) {
            log(args, &format!("{r} subscribed, {f} failed"));
            last_log = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let connect_secs = connect_started.elapsed().as_secs_f64();
    let connected = ready.load(Ordering::Relaxed);
    let connect_failures = args.connections - connected;
    log(
        args,
        &format!("{connected} subscribed in {connect_secs:.1}s, {connect_failures} not"),
    );
    let cpu_connected = sum_over(servers, ServerProcess::cpu_secs)?;
    tokio::time::sleep(Duration::from_millis(args.settle_ms)).await;
    let rss_idle_each: Vec<u64> = servers
        .iter()
        .map(ServerProcess::rss_bytes)
        .collect::<Result<_, _>>()?;
    let rss_idle: u64 = rss_idle_each.iter().sum();

    // Publishing.
    let subscribers = u32::try_from(connected).unwrap_or(u32::MAX);
    let cpu_publish_start_each: Vec<f64> = servers
        .iter()
        .map(ServerProcess::cpu_secs)
        .collect::<Result<_, _>>()?;
    let cpu_publish_start: f64 = cpu_publish_start_each.iter().sum();
    let own_cpu_start = server.own_cpu_secs()?;
    let load_start = server::load_average();
    let _ = go_tx.send(());
    let report: PublisherReport = publisher
        .await
        .map_err(|e| format!("publisher task failed: {e}"))?;
    let published = usize::try_from(report.published).unwrap_or(usize::MAX);
    let drain_deadline = Instant::now() + Duration::from_secs_f64(args.drain_secs);
    let subscribers_per_node: Vec<u32> = per_node
        .iter()
        .map(|n| u32::try_from(n.load(Ordering::Relaxed)).unwrap_or(u32::MAX))
        .collect();
    let complete = || {
        recorders
            .iter()
            .zip(&subscribers_per_node)
            .all(|(r, n)| r.complete(published, *n))
    };
    while !complete() && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let cpu_after_each: Vec<f64> = servers
        .iter()
        .map(ServerProcess::cpu_secs)
        .collect::<Result<_, _>>()?;
    let cpu_after: f64 = cpu_after_each.iter().sum();
    let own_cpu_after = server.own_cpu_secs()?;
    let load_end = server::load_average();
    let rss_after = sum_over(servers, ServerProcess::rss_bytes)?;
    let closed_during_run = closed.load(Ordering::Relaxed);
    let server_alive_at_end = servers.iter().all(ServerProcess::alive);
    let nodes = (0..servers.len())
        .map(|i| {
            let connected = per_node[i].load(Ordering::Relaxed);
            NodeFigure {
                connected,
                rss_before_bytes: rss_before_each[i],
                rss_idle_bytes: rss_idle_each[i],
                bytes_per_connection: (connected > 0).then(|| {
                    (rss_idle_each[i] as f64 - rss_before_each[i] as f64) / connected as f64
                }),
                cpu_publish_secs: cpu_after_each[i] - cpu_publish_start_each[i],
                latency: Summary::of(&recorders[i].merged()),
            }
        })
        .collect();

    let expected = report.published * u64::from(subscribers);
    let deliveries = recorders.iter().map(|r| r.deliveries()).sum();
    let mut merged = stats::new_histogram();
    for r in &recorders {
        let _ = merged.add(r.merged());
    }
    let latency = Summary::of(&merged);
    let all_received = Summary::of(&stats::all_received_across(
        &recorders,
        &subscribers_per_node,
        published,
    ));
    let bytes_per_connection =
        (connected > 0).then(|| (rss_idle as f64 - rss_before as f64) / connected as f64);
    let first_connect_error = first_error.lock().ok().and_then(|e| e.clone());
    Ok(FanoutResult {
        peer: peer.name(),
        label: args.label.clone(),
        connections: args.connections,
        connected,
        connect_failures,
        first_connect_error,
        connect_secs,
        rate_per_sec: args.rate,
        seconds: args.seconds,
        published: report.published,
        acked: report.acked,
        publisher_error: report.error,
        expected_deliveries: expected,
        deliveries,
        missing_deliveries: expected.saturating_sub(deliveries),
        unexpected_deliveries: recorders.iter().map(|r| r.unexpected()).sum(),
        closed_during_run,
        server_alive_at_end,
        latency,
        all_received,
        ack: report.ack,
        rss_before_bytes: rss_before,
        rss_idle_bytes: rss_idle,
        rss_after_bytes: rss_after,
        bytes_per_connection,
        cpu_connect_secs: cpu_connected - cpu_before,
        cpu_publish_secs: cpu_after - cpu_publish_start,
        cpu_total_secs: cpu_after,
        loadgen_cpu_publish_secs: own_cpu_after - own_cpu_start,
        loadgen_threads: args.threads,
        load_average: [load_start, load_end],
        nodes,
        server_command: args.server.clone(),
    })
}
