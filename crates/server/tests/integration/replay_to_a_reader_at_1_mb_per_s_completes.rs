//! The slow-consumer rule is for readers that stop: a reader that keeps up at a modest rate
//! (1 MB/s) finishes a 10,000-event replay on default flags without being closed.

use crate::common::TestServer;
use crate::flow_support::{resume_and_check, seed, Reader};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_reader_finishes_the_replay() {
    let dir = tempfile::tempdir().expect("temp dir");
    // About 200 bytes per event: 2 MB, two seconds at 1 MB/s.
    let epoch = seed(
        &dir.path().join("tether.sqlite3"),
        "tasks",
        10_000,
        500,
        100,
        10_000,
    );
    let server = TestServer::start_in(dir, |_| {}).await;
    let mut r = Reader::hello(&server.url(), "r", false).await;
    r.rate = Some(1_000_000);
    let took = resume_and_check(&mut r, &epoch, 10_000).await;
    assert!(
        took.as_millis() >= 1_000,
        "the reader really was throttled: {took:?}"
    );
    server.stop().await;
}
