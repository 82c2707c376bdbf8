//! The axum/tokio edge (being written; see the server issue).
