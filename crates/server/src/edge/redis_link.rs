//! The fan-out link of cluster mode over Redis pub/sub (feature `cluster`, CLUSTER.md).
//!
//! Two tasks on the edge's runtime:
//!
//! * the **publisher** sends each hint of this node's durable commits (`PUBLISH
//!   tether:hints:<epoch> "<epoch> <offset> <channel>"`) and pings Redis every
//!   [`PING_EVERY`]; a failed command drops its connection (reopened by the next one) and
//!   marks the link unreachable;
//! * the **subscriber** holds `SUBSCRIBE tether:hints:<epoch>` and forwards each hint to the
//!   engine thread ([`Input::LogHint`]); after every (re)subscription it asks the engine to
//!   read the database once ([`Input::Resync`]), since hints published meanwhile are lost. It
//!   resubscribes when the stream ends or the publisher saw a failure since it subscribed.
//!
//! The same two tasks carry the relay of broadcasts and presence between nodes on
//! `tether:relay:<epoch>` (`<node> <seq> <json>`, see `cluster_link.rs`): the publisher sends
//! what the engine relays, the subscriber hands other nodes' messages to the engine
//! ([`Input::NodeMessage`]), which ignores its own and repeats. These are ephemeral: one lost
//! on the way is lost (a broadcast), or repaired by the next heartbeat (presence).
//!
//! Hints are only hints: the engine reads the events from PostgreSQL in offset order, so a
//! lost, repeated, late or reordered hint, or Redis being away, costs latency and never
//! correctness; while the link is down the engine polls every
//! [`super::cluster_link::DEGRADED_POLL`] and `/healthz` says `degraded`.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use tokio::sync::mpsc;

use super::cluster_link::{
    decode_hint, decode_node_message, encode_hint, new_node_id, ClusterLink, LinkStatus,
    HINT_QUEUE, RELAY_QUEUE,
};
use super::engine_task::Input;
use super::EdgeError;

/// How often the publisher pings Redis (the link's health).
pub(crate) const PING_EVERY: Duration = Duration::from_millis(500);
/// How long connecting or one command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_millis(1_000);
/// Pause before reconnecting the subscriber.
const RESUBSCRIBE_AFTER: Duration = Duration::from_millis(250);

/// The pub/sub channel of a database's hints.
fn topic(epoch: &str) -> String {
    format!("tether:hints:{epoch}")
}

/// The pub/sub channel of a database's relay messages (broadcasts, presence).
fn relay_topic(epoch: &str) -> String {
    format!("tether:relay:{epoch}")
}

/// The link before its tasks run (they need the engine thread's input queue).
pub(crate) struct RedisLink {
    client: redis::Client,
    status: Arc<LinkStatus>,
    hints: mpsc::Receiver<(String, u64)>,
    relay: mpsc::Receiver<String>,
}

/// Prepares the link: what the engine thread gets of it, and the tasks to start with
/// [`RedisLink::start`]. A URL Redis cannot parse is a configuration error; Redis need not be
/// up: the tasks connect (and reconnect) by themselves.
pub(crate) fn prepare(url: &str) -> Result<(ClusterLink, RedisLink), EdgeError> {
    let client = redis::Client::open(url).map_err(|e| EdgeError::Config {
        message: format!("--redis-url: {e}"),
    })?;
    let status = Arc::new(LinkStatus::default());
    let (hints_tx, hints) = mpsc::channel(HINT_QUEUE);
    let (relay_tx, relay) = mpsc::channel(RELAY_QUEUE);
    let link = ClusterLink {
        hints: Some(hints_tx),
        status: Some(Arc::clone(&status)),
        relay: Some(relay_tx),
        node_id: Some(new_node_id()),
    };
    Ok((
        link,
        RedisLink {
            client,
            status,
            hints,
            relay,
        },
    ))
}

impl RedisLink {
    /// Starts the publisher and the subscriber on the current runtime.
    pub(crate) fn start(self, epoch: &str, inputs: mpsc::Sender<Input>) {
        tokio::spawn(publisher(
            self.client.clone(),
            epoch.to_owned(),
            self.hints,
            self.relay,
            Arc::clone(&self.status),
        ));
        tokio::spawn(subscriber(
            self.client,
            epoch.to_owned(),
            inputs,
            self.status,
        ));
    }
}

async fn connect(client: &redis::Client) -> Option<redis::aio::MultiplexedConnection> {
    match tokio::time::timeout(COMMAND_TIMEOUT, client.get_multiplexed_async_connection()).await {
        Ok(Ok(conn)) => Some(conn),
        Ok(Err(err)) => {
            tracing::debug!(%err, "redis: cannot connect");
            None
        }
        Err(_) => None,
    }
}

/// Runs one command on the publisher's connection (opening it if needed); records the outcome.
async fn run(
    client: &redis::Client,
    conn: &mut Option<redis::aio::MultiplexedConnection>,
    cmd: &redis::Cmd,
    status: &LinkStatus,
) {
    if conn.is_none() {
        *conn = connect(client).await;
    }
    let ok = match conn.as_mut() {
        Some(c) => matches!(
            tokio::time::timeout(COMMAND_TIMEOUT, cmd.query_async::<redis::Value>(c)).await,
            Ok(Ok(_))
        ),
        None => false,
    };
    if !ok {
        *conn = None;
        status.failures.fetch_add(1, Ordering::Relaxed);
    }
    let was = status.reachable.swap(ok, Ordering::Relaxed);
    if was != ok {
        if ok {
            tracing::info!("redis: reachable");
        } else {
            tracing::warn!("redis: unreachable; delivering other nodes' commits by polling");
        }
    }
}

async fn publisher(
    client: redis::Client,
    epoch: String,
    mut hints: mpsc::Receiver<(String, u64)>,
    mut relay: mpsc::Receiver<String>,
    status: Arc<LinkStatus>,
) {
    let topic = topic(&epoch);
    let relay_topic = relay_topic(&epoch);
    let mut conn = None;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            hint = hints.recv() => {
                let Some((channel, offset)) = hint else { return };
                let mut cmd = redis::cmd("PUBLISH");
                cmd.arg(&topic).arg(encode_hint(&epoch, &channel, offset));
                run(&client, &mut conn, &cmd, &status).await;
            }
            msg = relay.recv() => {
                let Some(msg) = msg else { return };
                let mut cmd = redis::cmd("PUBLISH");
                cmd.arg(&relay_topic).arg(msg);
                run(&client, &mut conn, &cmd, &status).await;
            }
            _ = ping.tick() => run(&client, &mut conn, &redis::cmd("PING"), &status).await,
        }
    }
}

async fn subscriber(
    client: redis::Client,
    epoch: String,
    inputs: mpsc::Sender<Input>,
    status: Arc<LinkStatus>,
) {
    let topic = topic(&epoch);
    let relay_topic = relay_topic(&epoch);
    loop {
        let failures = status.failures.load(Ordering::Relaxed);
        let pubsub = match tokio::time::timeout(COMMAND_TIMEOUT, client.get_async_pubsub()).await {
            Ok(Ok(mut pubsub)) => {
                match tokio::time::timeout(
                    COMMAND_TIMEOUT,
                    pubsub.subscribe(&[&topic, &relay_topic]),
                )
                .await
                {
                    Ok(Ok(())) => Some(pubsub),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(mut pubsub) = pubsub {
            status.subscribed.store(true, Ordering::Relaxed);
            // Hints published while this node was not subscribed are lost: read once.
            if inputs.send(Input::Resync).await.is_err() {
                return;
            }
            let mut stream = pubsub.on_message();
            let mut check = tokio::time::interval(PING_EVERY);
            loop {
                tokio::select! {
                    msg = stream.next() => {
                        let Some(msg) = msg else { break };
                        let Ok(text) = msg.get_payload::<String>() else { continue };
                        if msg.get_channel_name() == relay_topic {
                            let Some((node, seq, msg)) = decode_node_message(&text) else {
                                continue;
                            };
                            // Full queue: dropped (broadcasts are at most once across nodes;
                            // presence is repaired by the next heartbeat).
                            let input = Input::NodeMessage { node, seq, msg };
                            if let Err(mpsc::error::TrySendError::Closed(_)) =
                                inputs.try_send(input)
                            {
                                return;
                            }
                            continue;
                        }
                        let Some((epoch, offset, channel)) = decode_hint(&text) else {
                            continue;
                        };
                        // Full queue: dropped (latency only; the poll finds it).
                        let hint = Input::LogHint { epoch, channel, offset };
                        if let Err(mpsc::error::TrySendError::Closed(_)) = inputs.try_send(hint) {
                            return;
                        }
                    }
                    _ = check.tick() => {
                        // The publisher saw Redis fail since this subscription began: this
                        // connection may be dead without knowing it; subscribe afresh.
                        if status.failures.load(Ordering::Relaxed) != failures {
                            break;
                        }
                    }
                }
            }
            status.subscribed.store(false, Ordering::Relaxed);
        }
        if inputs.is_closed() {
            return;
        }
        tokio::time::sleep(RESUBSCRIBE_AFTER).await;
    }
}
