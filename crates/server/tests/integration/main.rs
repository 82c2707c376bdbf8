//! Integration tests of the reference server, one module per behaviour, each against the real
//! server on a loopback port (in-process, or the real binary where a process must die), real
//! WebSocket clients and real SQLite files in temporary directories. They are modules of one
//! test binary so the suite builds and links once.

#![cfg(feature = "edge")]

mod common;
mod flow_support;

mod a_cut_mid_snapshot_restarts_it_cleanly;
mod bad_origin;
mod broadcast_and_requests;
mod conflict_carries_current;
mod exactly_once_resend;
mod failed_group_commit_stops_the_server;
mod failing_mutation_in_a_batch_spares_the_others;
mod filtered_view_enter_leave;
mod graceful_shutdown;
mod healthz_metrics;
mod heartbeat_timeout;
mod lines_subprotocol;
mod malformed_json;
mod oversized_message;
mod per_client_order;
mod pipelined_drain_of_2000_mutations_is_paced;
mod pipelined_drain_survives_kill_9;
mod presence_join_leave;
mod rate_limit;
mod rate_limited_frames_name_their_target;
mod replay_of_100000_missed_events_with_a_large_retained_log;
mod replay_of_10000_missed_events_recovers_on_the_first_reconnect;
mod replay_to_a_reader_at_1_mb_per_s_completes;
mod restart_keeps_acked;
mod resume_recovered;
mod resume_reset;
mod slow_consumer;
mod snapshot_of_100000_documents_streams_in_bounded_pages;
mod subscribe_mutate_fanout;
mod token_auth;
