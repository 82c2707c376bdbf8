//! `--database-url` (PostgreSQL) is refused with a clear message by a build without the
//! `postgres` feature, and by a build with it when the URL is invalid or nothing answers
//! there: the binary exits non-zero before listening. (That the server works on PostgreSQL is
//! what the whole suite shows when run with `TETHER_TEST_STORE=postgres`.)

use std::process::Command;

/// Runs the binary with `--database-url url` to its exit; (success, stderr).
fn run_with_database_url(url: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tether-server"))
        .args(["--dev", "--bind", "127.0.0.1:0", "--log", "off"])
        .args(["--database-url", url])
        .output()
        .expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains("listening"),
        "it must not listen: {stdout}"
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A loopback port nothing listens on (bound, then released).
fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[cfg(not(feature = "postgres"))]
#[test]
fn a_build_without_the_postgres_feature_refuses_database_url() {
    let url = format!("postgres://tether@127.0.0.1:{}/tether", dead_port());
    let (ok, stderr) = run_with_database_url(&url);
    assert!(!ok);
    assert!(stderr.contains("`postgres` feature"), "{stderr}");
}

#[cfg(feature = "postgres")]
#[test]
fn an_invalid_url_or_an_unreachable_server_is_refused_before_listening() {
    let (ok, stderr) = run_with_database_url("postgres://tether@127.0.0.1:notaport/db");
    assert!(!ok);
    assert!(
        stderr.contains("--database-url") && stderr.contains("invalid PostgreSQL URL"),
        "{stderr}"
    );
    let url = format!("postgres://tether@127.0.0.1:{}/tether", dead_port());
    let (ok, stderr) = run_with_database_url(&url);
    assert!(!ok);
    assert!(stderr.contains("tether-server: database:"), "{stderr}");
}
