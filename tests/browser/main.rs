//! Tests of the `tether` crate in headless Chromium (`wasm-pack test --headless --chrome`),
//! one module per behaviour. The client tests run against the real reference server, whose
//! URL and supervisor (`support/server-supervisor.mjs`) `make test` passes in at compile time.
//! They are modules of one test binary so the suite builds, links and loads once; tests run
//! one after another in one page.
#![cfg(target_arch = "wasm32")]

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod support;

mod client_by_id_views;
mod client_cache_chunks;
mod client_cache_rows_of_an_earlier_build;
mod client_conflict;
mod client_endpoint_list;
mod client_event_kinds;
mod client_failover_between_nodes;
mod client_invalid_arguments;
mod client_memory_fallback;
mod client_offline_outbox;
mod client_options_undefined;
mod client_outbox_adoption;
mod client_outbox_batches;
mod client_outbox_chunk_partly_acknowledged;
mod client_outbox_rows_of_an_earlier_build;
mod client_reconnect;
mod client_round_trip;
mod client_storage_close_event;
mod client_storage_deleted;
mod client_storage_failure;
mod client_storage_late_open;
mod client_storage_reopen;
mod client_storage_versionchange;
mod client_tabs_see_the_device;
mod client_text_escaping;
mod client_token_refresh;
mod client_writes_in_one_task_are_gathered;
mod indexeddb_roundtrip;
mod protocol_frames_in_browser;
