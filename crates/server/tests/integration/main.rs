//! Integration tests of the reference server, one module per behaviour, each against the real
//! server on a loopback port (in-process, or the real binary where a process must die), real
//! WebSocket clients and real SQLite files in temporary directories. They are modules of one
//! test binary so the suite builds and links once.

#![cfg(feature = "edge")]

mod common;
mod flow_support;

mod a_cut_mid_snapshot_restarts_it_cleanly;
mod api_broadcast_reaches_subscribers;
mod api_change_feed_as_server_sent_events;
mod api_change_feed_resume_and_reset;
mod api_conflict_answers_the_current_document;
mod api_idempotent_retry_across_restart;
mod api_key_auth;
mod api_notification_reaches_every_connection_of_a_subject;
mod api_openapi_describes_every_route;
mod api_rate_limit_per_key;
mod api_read_with_filter_and_paging;
mod api_write_reaches_websocket_subscribers;
mod bad_auth_config_stops_the_server_at_start;
mod bad_origin;
mod broadcast_and_requests;
mod by_id_views;
mod client_id_bound_to_subject;
mod close_reply_after_frames;
mod conflict_carries_current;
mod database_url_is_refused_clearly_when_unusable;
mod event_kinds_created_updated_deleted_entered_left;
mod exactly_once_resend;
mod expired_dedupe_record_never_applies_twice;
mod failed_group_commit_is_recovered_without_a_restart;
mod failed_mutation_is_resent_in_order_and_applied_once;
mod filtered_view_enter_leave;
mod graceful_shutdown;
mod healthz_metrics;
mod healthz_reports_an_unwritable_store;
mod heartbeat_timeout;
mod idle_channels_are_forgotten;
mod jwt_audience_and_issuer;
mod jwt_es256_public_key;
mod jwt_hs256_accepted;
mod jwt_jwks_by_kid;
mod jwt_rs256_public_key;
mod lines_subprotocol;
mod malformed_json;
mod malformed_mutate_is_rejected_with_its_id;
mod numbers_are_sent_and_stored_as_written;
mod numbers_round_trip_bit_exact;
mod oversized_message;
mod per_client_order;
mod pipelined_drain_of_2000_mutations_is_paced;
mod pipelined_drain_survives_kill_9;
mod presence_join_leave;
mod rate_limit;
mod rate_limited_frames_name_their_target;
mod read_only_token_refused_on_write;
mod redis_url_without_a_shared_database_is_refused;
mod replay_of_100000_missed_events_with_a_large_retained_log;
mod replay_of_10000_missed_events_recovers_on_the_first_reconnect;
mod replay_to_a_reader_at_1_mb_per_s_completes;
mod requests_are_forwarded_to_the_app_backend;
mod restart_keeps_acked;
mod resume_recovered;
mod resume_reset;
mod same_origin_by_default;
mod slow_consumer;
mod snapshot_of_100000_documents_streams_in_bounded_pages;
mod subscribe_edges_as_documented;
mod subscribe_mutate_fanout;
mod token_auth;
mod token_cli_mints_a_verifiable_token;
mod token_expiry_closes_4001;
mod token_refresh_keeps_the_connection;
