//! `--redis-url` is cluster mode's fan-out link between servers sharing one PostgreSQL
//! database (CLUSTER.md): without `--database-url` it is refused with a clear message, before
//! listening, in every build.

use std::process::Command;

#[test]
fn redis_url_without_database_url_is_refused_before_listening() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("tether.sqlite3");
    let out = Command::new(env!("CARGO_BIN_EXE_tether-server"))
        .args(["--dev", "--bind", "127.0.0.1:0", "--log", "off"])
        .args(["--db", db.to_str().expect("utf-8 path")])
        .args(["--redis-url", "redis://127.0.0.1:1"])
        .env_remove("TETHER_DATABASE_URL")
        .output()
        .expect("binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stdout.contains("listening"),
        "it must not listen: {stdout}"
    );
    assert!(!out.status.success());
    assert!(
        stderr.contains("--redis-url") && stderr.contains("needs --database-url"),
        "{stderr}"
    );
}
