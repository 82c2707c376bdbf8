//! `tether-server`: the Tether reference server. Run `tether-server --help` for every flag.

use std::io::Write as _;

use clap::{Parser, Subcommand};
use tether_server::edge::{spawn, Options, TokenArgs};
use tracing_subscriber::EnvFilter;

/// Tether reference server: realtime + offline sync over WebSocket, stored in SQLite.
///
/// Endpoints: `GET /ws` (WebSocket; a token may be passed as `?token=`), `GET /healthz` (200
/// `ok`, or 503 with the reason while the database cannot be written: it probes with a real
/// write at most every 500 ms), `GET /metrics` (Prometheus text), and with `--static DIR` the
/// files of DIR. `tether-server token --help` mints development tokens.
#[derive(Debug, Parser)]
#[command(
    name = "tether-server",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: Options,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mint an HS256 JWT client token with the server's secret and print it on stdout.
    Token(TokenArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Token(args)) = cli.command {
        return token(&args);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("tether-server: cannot start the runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let code = runtime.block_on(run(cli.options));
    // Everything that matters (sockets closed, database closed) is done; do not wait for idle
    // worker threads.
    runtime.shutdown_background();
    code
}

/// `tether-server token`: prints the token, or the error on stderr.
fn token(args: &TokenArgs) -> std::process::ExitCode {
    let unix_secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match args.mint(unix_secs) {
        Ok(token) => {
            println!("{token}");
            std::process::ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("tether-server token: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> std::process::ExitCode {
    let filter = EnvFilter::try_new(&options.log).unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let mut server = match spawn(options).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("tether-server: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    // Tests and scripts read the bound address from this line (useful with port 0).
    println!("tether-server listening on http://{}", server.addr());
    let _ = std::io::stdout().flush();
    let stop = server.stop_handle();
    let stopped = server.wait();
    tokio::pin!(stopped);
    // Until SIGINT / SIGTERM (graceful shutdown), or until the server stops on its own (serving
    // failed): then the process exits non-zero. A failed group commit does not end it.
    let result = tokio::select! {
        () = shutdown_signal() => {
            if let Some(stop) = stop {
                let _ = stop.send(());
            }
            stopped.await
        }
        result = &mut stopped => result,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tether-server: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
