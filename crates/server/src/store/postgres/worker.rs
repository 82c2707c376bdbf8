//! The worker thread of a [`super::PgStore`]: it owns the [`Session`] (and so the sync
//! `postgres::Client`), runs each job sent to it in order, and sends the result back.
//!
//! Why a thread: the sync `postgres` client drives a tokio runtime of its own and blocks on
//! it, which panics when called from inside another runtime — and the server's engine thread
//! runs inside a tokio current-thread runtime. On a plain thread of its own the client blocks
//! only that thread, while the caller waits on a std channel (no runtime involved).

use std::sync::mpsc;
use std::thread::JoinHandle;

use super::session::Session;
use crate::store::StoreError;

/// One call of the store, run on the worker thread.
type Job = Box<dyn FnOnce(&mut Session) + Send>;

/// The handle of the worker thread: jobs in, results back.
pub(super) struct Worker {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

fn gone() -> StoreError {
    StoreError::Backend {
        message: "the PostgreSQL worker thread stopped".into(),
    }
}

impl Worker {
    /// Starts the thread, which opens the session with `open`; returns once it is open.
    pub(super) fn start<T: Send + 'static>(
        open: impl FnOnce() -> Result<(Session, T), StoreError> + Send + 'static,
    ) -> Result<(Worker, T), StoreError> {
        let (opened_tx, opened_rx) = mpsc::sync_channel::<Result<T, StoreError>>(1);
        let (jobs, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("tether-postgres".into())
            .spawn(move || {
                let mut session = match open() {
                    Ok((session, value)) => {
                        let _ = opened_tx.send(Ok(value));
                        session
                    }
                    Err(err) => {
                        let _ = opened_tx.send(Err(err));
                        return;
                    }
                };
                // Until the store is dropped (its sender with it); dropping the session then
                // closes the connection, which rolls back a batch that never ended.
                while let Ok(job) = rx.recv() {
                    job(&mut session);
                }
            })
            .map_err(|e| StoreError::Backend {
                message: format!("cannot start the PostgreSQL worker thread: {e}"),
            })?;
        let value = opened_rx.recv().map_err(|_| gone())??;
        Ok((
            Worker {
                jobs: Some(jobs),
                thread: Some(thread),
            },
            value,
        ))
    }

    /// Runs `job` on the worker thread and waits for its result.
    pub(super) fn call<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Session) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let jobs = self.jobs.as_ref().ok_or_else(gone)?;
        jobs.send(Box::new(move |session: &mut Session| {
            let _ = tx.send(job(session));
        }))
        .map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())?
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
