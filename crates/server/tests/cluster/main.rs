//! Cluster mode with real processes (CLUSTER.md): several `tether-server` nodes on one
//! PostgreSQL database and a Redis fan-out link, real WebSocket clients, all on loopback. Run
//! by `scripts/test.sh cluster`, which starts a throw-away PostgreSQL and Redis.

#![cfg(feature = "cluster")]

#[allow(unused_imports)]
#[path = "../integration/common/mod.rs"]
mod common;
mod support;

mod a_broadcast_on_one_node_reaches_every_node_exactly_once;
mod a_client_of_a_killed_node_resumes_on_another_recovered;
mod a_client_through_haproxy_fails_over_when_its_node_is_killed;
mod a_mutation_retried_at_another_node_applies_once_with_the_same_reply;
mod a_write_on_one_node_reaches_subscribers_on_every_node_in_order;
mod an_api_broadcast_on_one_node_reaches_another_node;
mod an_api_notification_on_one_node_reaches_the_subject_on_another;
mod batches_taking_two_heads_in_opposite_orders_do_not_deadlock;
mod concurrent_writers_on_three_nodes_get_gap_free_offsets_and_one_order;
mod postgres_away_from_one_node_refuses_its_mutations_until_it_is_back;
mod postgres_lost_mid_batch_the_node_goes_on_and_every_write_applies_once;
mod presence_joins_and_leaves_are_seen_on_every_node;
mod redis_away_costs_latency_only_and_health_says_degraded;
mod the_members_of_a_killed_node_leave_on_the_others;
