//! A client that missed 10,000 events (the whole default retained log, ten times the default
//! outbound queue) resumes `recovered` on its first reconnect, on default flags, with and
//! without `tether-lines`: the replay is paced by what the connection takes.

use crate::common::TestServer;
use crate::flow_support::{resume_and_check, seed, Reader};

async fn resume(lines: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let epoch = seed(
        &dir.path().join("tether.sqlite3"),
        "tasks",
        10_000,
        500,
        100,
        10_000,
    );
    let server = TestServer::start_in(dir, |_| {}).await;
    let mut r = Reader::hello(&server.url(), "r", lines).await;
    resume_and_check(&mut r, &epoch, 10_000).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_subprotocol() {
    resume(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tether_lines() {
    resume(true).await;
}
