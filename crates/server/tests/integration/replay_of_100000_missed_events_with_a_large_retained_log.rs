//! With `--retain-events 100000`, a client that missed 100,000 events resumes `recovered` on
//! its first reconnect, with and without `tether-lines`.

use crate::common::TestServer;
use crate::flow_support::{resume_and_check, seed, Reader};

async fn resume(lines: bool) {
    let dir = tempfile::tempdir().expect("temp dir");
    let epoch = seed(
        &dir.path().join("tether.sqlite3"),
        "tasks",
        100_000,
        1_000,
        20,
        100_000,
    );
    let server = TestServer::start_in(dir, |o| o.retain_events = 100_000).await;
    let mut r = Reader::hello(&server.url(), "r", lines).await;
    resume_and_check(&mut r, &epoch, 100_000).await;
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
