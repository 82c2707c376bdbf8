//! Measures the server's idle memory per connection: starts the `tether-server` binary given
//! as the first argument, opens N WebSocket connections on loopback (hello + subscribe to one
//! channel each), lets them sit, and prints the RSS delta from `/proc/<pid>/status` divided by
//! N. A figure, not a test:
//!
//! ```sh
//! cargo build --profile server -p tether-server
//! cargo run -p tether-server --example idle_rss -- target/server/tether-server 1000
//! ```

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let binary = args
        .next()
        .expect("usage: idle_rss <tether-server binary> [connections]");
    let n: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("rss.sqlite3");
    let mut child = Command::new(binary)
        .args(["--dev", "--bind", "127.0.0.1:0", "--log", "warn", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .spawn()
        .expect("server starts");
    let pid = child.id();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("address line");
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .unwrap_or_default()
        .to_owned();
    let url = format!("ws://{addr}/ws");

    // Warm up: one connection through every code path, so lazily allocated state is counted
    // in the baseline, not in the per-connection figure.
    let (mut warm, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connect");
    warm.send(Message::text(
        r#"{"type":"hello","protocol":1,"client_id":"warm"}"#,
    ))
    .await
    .unwrap();
    warm.send(Message::text(r#"{"type":"subscribe","channel":"tasks"}"#))
        .await
        .unwrap();
    for _ in 0..3 {
        warm.next().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = rss_kib(pid);

    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let (mut ws, _) = tokio_tungstenite::connect_async(&url)
            .await
            .expect("connect");
        let hello = format!(r#"{{"type":"hello","protocol":1,"client_id":"c{i}"}}"#);
        ws.send(Message::text(hello)).await.unwrap();
        ws.send(Message::text(r#"{"type":"subscribe","channel":"tasks"}"#))
            .await
            .unwrap();
        // welcome, subscribed, presence_sync
        for _ in 0..3 {
            ws.next().await;
        }
        conns.push(ws);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kib(pid);
    let per_conn = (after.saturating_sub(before)) as f64 * 1024.0 / n as f64;
    println!(
        "{n} idle subscribed connections: RSS {before} KiB -> {after} KiB, {:.1} KiB per connection ({per_conn:.0} bytes)",
        per_conn / 1024.0
    );
    drop(conns);
    let _ = child.kill();
    let _ = child.wait();
}
