//! Tests of the client engine, one module per behaviour. They are modules of one test binary
//! so the suite builds and links once. The deterministic fault simulation against the real
//! server engine is the `tether-sim` crate.

mod common;

mod burst_hold_makes_one_change_set;
mod by_id_views;
mod coalescing_and_dedup;
mod conflict_intents;
mod conflict_rollback;
mod endpoint_rotation;
mod event_kinds;
mod flush_waits_only_for_a_burst;
mod frames_with_several_messages;
mod gap_detection;
mod heartbeat_timeout;
mod latency_status;
mod lost_acks;
mod malformed_mutate_rejected;
mod notifications;
mod numbers_exact;
mod offline_queue;
mod optimistic_apply;
mod paged_snapshot;
mod presence_members;
mod rate_limit_pacing;
mod rate_limited_subscribe;
mod reconnect_policy;
mod restore;
mod resubscribe_race;
mod storage_failure;
mod stored_text_round_trips;
mod token_refresh_on_open_connection;
mod visibility;
