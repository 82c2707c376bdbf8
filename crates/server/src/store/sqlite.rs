//! The SQLite store (being written; see the server issue).

/// SQLite-backed store (not yet implemented).
#[derive(Debug)]
pub struct SqliteStore;
