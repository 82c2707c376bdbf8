//! What a drain hands to JavaScript (the change batch, the status, settled promises), and the
//! promises of writes and requests.

use js_sys::{Function, Promise};
use tether_core::MutationOutcome;
use wasm_bindgen::JsValue;

use super::Driver;
use crate::shell::convert;
use crate::shell::error::ShellError;
use crate::shell::json::Writer;

/// A promise's `resolve` and `reject`.
pub type Resolvers = (Function, Function);

/// Promise callbacks by id.
#[derive(Default)]
pub struct Pending(pub Vec<(u64, Resolvers)>);

impl Pending {
    /// Takes the callbacks of `id`.
    pub fn remove(&mut self, id: &u64) -> Option<Resolvers> {
        let at = self.0.iter().position(|(i, _)| i == id)?;
        Some(self.0.remove(at).1)
    }
}

/// Everything one drain wants to tell JavaScript, delivered after the borrow ends. The change
/// batch is written as JSON text and parsed into objects once, when it is delivered.
#[derive(Default)]
pub struct Effects {
    pub(super) views: Writer,
    pub(super) conflicts: Writer,
    pub(super) rejections: Writer,
    pub(super) presence: Writer,
    pub(super) broadcasts: Writer,
    pub(super) notifications: Writer,
    pub(super) settle: Vec<(Function, JsValue)>,
    pub(super) status: Option<JsValue>,
    pub(super) listeners: Option<(Option<Function>, Option<Function>)>,
}

impl Effects {
    /// Calls the app's callbacks.
    pub fn run(self) {
        for (callback, value) in self.settle {
            let _ = callback.call1(&JsValue::NULL, &value);
        }
        let Some((on_change, on_status)) = self.listeners else {
            return;
        };
        let changed = !(self.views.is_empty()
            && self.conflicts.is_empty()
            && self.rejections.is_empty()
            && self.presence.is_empty()
            && self.broadcasts.is_empty()
            && self.notifications.is_empty());
        if let (true, Some(on_change)) = (changed, on_change) {
            let mut batch = Writer::new();
            batch.begin_object();
            batch.list("views", &self.views);
            batch.list("conflicts", &self.conflicts);
            batch.list("rejections", &self.rejections);
            batch.list("presence", &self.presence);
            batch.list("broadcasts", &self.broadcasts);
            batch.list("notifications", &self.notifications);
            batch.end_object();
            let _ = on_change.call1(&JsValue::NULL, &batch.finish());
        }
        if let (Some(status), Some(on_status)) = (self.status, on_status) {
            let _ = on_status.call1(&JsValue::NULL, &status);
        }
    }
}

impl Driver {
    /// Registers the promise callbacks of a mutation.
    pub fn track_mutation(&mut self, mutation_id: u64, resolvers: Resolvers) {
        self.mutations.0.push((mutation_id, resolvers));
    }

    /// Registers the promise callbacks of a request.
    pub fn track_request(&mut self, request_id: u64, resolvers: Resolvers) {
        self.requests.0.push((request_id, resolvers));
    }

    /// Settles a write's promise and reports a conflict or rejection in the batch.
    pub(super) fn settle_mutation(&mut self, outcome: MutationOutcome, fx: &mut Effects) {
        let id = outcome.mutation().mutation_id;
        let resolvers = self.mutations.remove(&id);
        match outcome {
            MutationOutcome::Acked { version, .. } => {
                if let Some((resolve, _)) = resolvers {
                    fx.settle
                        .push((resolve, convert::mutation_result(id, version)));
                }
            }
            MutationOutcome::Converged { server_current, .. } => {
                // The server already holds what the write wanted: it succeeded in effect.
                if let Some((resolve, _)) = resolvers {
                    fx.settle.push((
                        resolve,
                        convert::mutation_result(id, server_current.map_or(0, |d| d.version)),
                    ));
                }
            }
            MutationOutcome::Conflict(conflict) => {
                convert::write_conflict(&mut fx.conflicts, self.engine.client_id(), &conflict);
                if let Some((_, reject)) = resolvers {
                    fx.settle
                        .push((reject, ShellError::Conflict(Box::new(conflict)).to_js()));
                }
            }
            MutationOutcome::Rejected { mutation, reason } => {
                let error = ShellError::Rejected(reason.clone());
                let message = reason.message().to_owned();
                convert::write_rejection(&mut fx.rejections, &mutation, error.code(), &message);
                if let Some((_, reject)) = resolvers {
                    fx.settle.push((reject, error.to_js()));
                }
            }
        }
    }
}

/// A pending promise and its callbacks.
pub fn deferred() -> (Promise, Resolvers) {
    let mut callbacks = None;
    let promise = Promise::new(&mut |resolve, reject| callbacks = Some((resolve, reject)));
    let callbacks =
        callbacks.unwrap_or_else(|| (Function::new_no_args(""), Function::new_no_args("")));
    (promise, callbacks)
}
