//! One WebSocket connection of the generator: connecting, the peer's handshake, and the loops
//! of a subscriber and of the publisher.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{client_async_with_config, WebSocketStream};

use crate::stats::{new_histogram, record, Recorder, Summary};
use crate::wire::{self, Peer};

/// A client WebSocket over plain TCP.
pub type Ws = WebSocketStream<TcpStream>;

/// How long one handshake step may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

/// Microseconds since `start`.
pub fn micros_since(start: Instant) -> u64 {
    u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Opens a WebSocket to the peer's endpoint at `addr` (small buffers: thousands of these live in
/// this process; their size does not touch the server's figures). `lines`: offer Tether's
/// `tether-lines` subprotocol (several messages per frame), as the browser SDK does.
pub async fn open(addr: SocketAddr, peer: Peer, lines: bool) -> Result<Ws, String> {
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let _ = tcp.set_nodelay(true);
    let url = format!("ws://{addr}{}", peer.ws_path());
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let mut request = url
        .into_client_request()
        .map_err(|e| format!("request: {e}"))?;
    if lines && peer == Peer::Tether {
        let protocol = HeaderValue::from_static(tether_protocol::LINES_SUBPROTOCOL);
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", protocol);
    }
    let (ws, _response) = client_async_with_config(request, tcp, Some(config))
        .await
        .map_err(|e| format!("websocket upgrade: {e}"))?;
    Ok(ws)
}

pub async fn send(ws: &mut Ws, text: String) -> Result<(), String> {
    ws.send(Message::text(text))
        .await
        .map_err(|e| format!("send: {e}"))
}

/// The next text frame (WebSocket pings are answered by the library).
pub async fn next_text(ws: &mut Ws) -> Result<String, String> {
    let step = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(text))) => return Ok(text.as_str().to_owned()),
                Some(Ok(Message::Close(frame))) => {
                    return Err(format!("closed by server: {frame:?}"))
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("receive: {e}")),
                None => return Err("connection ended".to_owned()),
            }
        }
    };
    tokio::time::timeout(STEP_TIMEOUT, step)
        .await
        .map_err(|_| "handshake step timed out".to_owned())?
}

/// Tether: `hello` until `welcome`; returns the heartbeat timeout the server announced.
pub async fn tether_hello(ws: &mut Ws, client_id: &str) -> Result<Duration, String> {
    send(ws, wire::tether_hello(client_id)).await?;
    loop {
        let frame = next_text(ws).await?;
        for message in frame.split('\n') {
            match wire::tether_type(message).as_deref() {
                Some("welcome") => {
                    let ms = wire::tether_heartbeat_ms(message).unwrap_or(30_000);
                    return Ok(Duration::from_millis(ms));
                }
                Some("error") => return Err(format!("hello refused: {message}")),
                _ => {}
            }
        }
    }
}

/// Socket.IO: Engine.IO open packet, then CONNECT to the main namespace.
async fn socketio_connect(ws: &mut Ws) -> Result<(), String> {
    let open = next_text(ws).await?;
    if !open.starts_with('0') {
        return Err(format!("expected an Engine.IO open packet, got {open}"));
    }
    send(ws, "40".to_owned()).await?;
    loop {
        let frame = next_text(ws).await?;
        if frame == "2" {
            send(ws, "3".to_owned()).await?;
        } else if frame.starts_with("40") {
            return Ok(());
        } else if frame.starts_with("44") {
            return Err(format!("namespace connect refused: {frame}"));
        }
    }
}

/// A connected, subscribed connection and how often it must ping (Tether only).
pub struct Subscribed {
    ws: Ws,
    ping_every: Option<Duration>,
}

/// Connects and subscribes one subscriber.
pub async fn subscribe(addr: SocketAddr, peer: Peer, index: usize) -> Result<Subscribed, String> {
    let mut ws = open(addr, peer, true).await?;
    match peer {
        Peer::Tether => {
            let heartbeat = tether_hello(&mut ws, &format!("bench-sub-{index}")).await?;
            send(&mut ws, wire::tether_subscribe()).await?;
            'subscribed: loop {
                let frame = next_text(&mut ws).await?;
                for message in frame.split('\n') {
                    match wire::tether_type(message).as_deref() {
                        Some("subscribed") => break 'subscribed,
                        Some("error") => return Err(format!("subscribe refused: {message}")),
                        _ => {}
                    }
                }
            }
            Ok(Subscribed {
                ws,
                ping_every: Some(heartbeat / 3),
            })
        }
        Peer::Socketio => {
            socketio_connect(&mut ws).await?;
            send(&mut ws, wire::socketio_subscribe()).await?;
            loop {
                let frame = next_text(&mut ws).await?;
                if frame == "2" {
                    send(&mut ws, "3".to_owned()).await?;
                } else if frame.starts_with("430") {
                    break;
                }
            }
            Ok(Subscribed {
                ws,
                ping_every: None,
            })
        }
    }
}

/// Receives deliveries until the connection ends (or the task is aborted), recording each
/// one's latency; keeps the connection alive as the peer's protocol requires.
pub async fn run_subscriber(
    sub: Subscribed,
    peer: Peer,
    index: usize,
    start: Instant,
    recorder: Arc<Recorder>,
    closed: Arc<AtomicU64>,
) {
    let Subscribed { mut ws, ping_every } = sub;
    // Spread the pings of thousands of connections over the interval.
    let every = ping_every.unwrap_or(Duration::from_secs(3600));
    let spread = every.mul_f64((index % 1000) as f64 / 1000.0);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + every + spread, every);
    let mut nonce = 0u64;
    loop {
        tokio::select! {
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let frame = text.as_str();
                    // Under tether-lines a frame may hold several messages.
                    let now = micros_since(start);
                    for message in frame.split('\n') {
                        if peer.is_delivery(message) {
                            if let Some((seq, sent)) = wire::delivery_stamp(message) {
                                recorder.delivery(index, seq, now.saturating_sub(sent));
                            }
                        }
                    }
                    if peer == Peer::Socketio && frame == "2"
                        && ws.send(Message::text("3")).await.is_err()
                    {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            _ = ping.tick(), if ping_every.is_some() => {
                nonce += 1;
                if ws.send(Message::text(wire::tether_ping(nonce))).await.is_err() {
                    break;
                }
            }
        }
    }
    closed.fetch_add(1, Ordering::Relaxed);
}

/// What the publisher did.
pub struct PublisherReport {
    /// Publishes sent.
    pub published: u64,
    /// Publishes acknowledged.
    pub acked: u64,
    /// Publish→ack latency.
    pub ack: Option<Summary>,
    /// Why it stopped early, if it did.
    pub error: Option<String>,
}

/// The publisher's schedule.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Publishes per second.
    pub rate: f64,
    /// Number of publishes.
    pub count: u64,
    /// How long to wait for outstanding acks after the last publish.
    pub drain: Duration,
}

/// Connects the publisher, sends the warm-up publish and waits for its ack, reports `warm`,
/// then publishes on `go` at a fixed rate. Never subscribes.
pub async fn run_publisher(
    addr: SocketAddr,
    peer: Peer,
    start: Instant,
    schedule: Schedule,
    warm: oneshot::Sender<Result<(), String>>,
    go: oneshot::Receiver<()>,
) -> PublisherReport {
    let mut report = PublisherReport {
        published: 0,
        acked: 0,
        ack: None,
        error: None,
    };
    let mut ws = match connect_publisher(addr, peer).await {
        Ok(ws) => ws,
        Err(e) => {
            let _ = warm.send(Err(e.clone()));
            report.error = Some(e);
            return report;
        }
    };
    let mut go = std::pin::pin!(go);
    let mut sent_at = vec![0u64; usize::try_from(schedule.count).unwrap_or(0)];
    let mut ack_hist = new_histogram();
    let mut warm = Some(warm);
    let mut started = false;
    let keepalive = Duration::from_secs(5);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    let period = Duration::from_secs_f64(1.0 / schedule.rate.max(0.001));
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut deadline: Option<tokio::time::Instant> = None;
    let mut nonce = 0u64;
    let warm_deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
    loop {
        if deadline.is_none() && report.published == schedule.count && started {
            deadline = Some(tokio::time::Instant::now() + schedule.drain);
        }
        if started && report.published == schedule.count && report.acked == schedule.count {
            break;
        }
        let until = deadline.unwrap_or(warm_deadline);
        tokio::select! {
            result = &mut go, if !started && warm.is_none() => {
                if result.is_err() {
                    break; // the run was abandoned
                }
                started = true;
                tick.reset();
            }
            _ = tick.tick(), if started && report.published < schedule.count => {
                let seq = report.published;
                let t = micros_since(start);
                if let Err(e) = send(&mut ws, peer.publish_frame(seq, t)).await {
                    report.error = Some(e);
                    break;
                }
                if let Some(slot) = usize::try_from(seq).ok().and_then(|i| sent_at.get_mut(i)) {
                    *slot = t;
                }
                report.published += 1;
            }
            _ = ping.tick() => {
                if peer == Peer::Tether {
                    nonce += 1;
                    if let Err(e) = send(&mut ws, wire::tether_ping(nonce)).await {
                        report.error = Some(e);
                        break;
                    }
                }
            }
            () = tokio::time::sleep_until(until), if deadline.is_some() || warm.is_some() => {
                if let Some(warm) = warm.take() {
                    let e = "no ack for the warm-up publish".to_owned();
                    let _ = warm.send(Err(e.clone()));
                    report.error = Some(e);
                } else {
                    report.error = Some(format!(
                        "{} of {} publishes unacknowledged after the drain time",
                        report.published - report.acked,
                        report.published
                    ));
                }
                break;
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let frame = text.as_str();
                    match peer.ack_id(frame) {
                        Some(1) => {
                            if let Some(warm) = warm.take() {
                                let _ = warm.send(Ok(()));
                            }
                        }
                        Some(id) => {
                            let seq = id - 2;
                            if let Some(sent) = usize::try_from(seq).ok().and_then(|i| sent_at.get(i)) {
                                record(&mut ack_hist, micros_since(start).saturating_sub(*sent));
                                report.acked += 1;
                            }
                        }
                        None => {
                            if peer == Peer::Socketio && frame == "2" {
                                if let Err(e) = send(&mut ws, "3".to_owned()).await {
                                    report.error = Some(e);
                                    break;
                                }
                            } else if peer == Peer::Tether && frame.starts_with("{\"type\":\"reject\"") {
                                report.error = Some(format!("publish rejected: {frame}"));
                                break;
                            }
                        }
                    }
                }
                Some(Ok(Message::Close(frame))) => {
                    report.error = Some(format!("publisher closed by server: {frame:?}"));
                    break;
                }
                Some(Err(e)) => {
                    report.error = Some(format!("publisher: {e}"));
                    break;
                }
                None => {
                    report.error = Some("publisher connection ended".to_owned());
                    break;
                }
                Some(Ok(_)) => {}
            },
        }
        if let Some(w) = warm.as_ref() {
            if w.is_closed() {
                break;
            }
        }
    }
    if let Some(warm) = warm.take() {
        let _ = warm.send(Err(report
            .error
            .clone()
            .unwrap_or_else(|| "publisher stopped".to_owned())));
    }
    report.ack = Summary::of(&ack_hist);
    report
}

async fn connect_publisher(addr: SocketAddr, peer: Peer) -> Result<Ws, String> {
    let mut ws = open(addr, peer, false).await?;
    match peer {
        Peer::Tether => {
            tether_hello(&mut ws, "bench-publisher").await?;
        }
        Peer::Socketio => socketio_connect(&mut ws).await?,
    }
    send(&mut ws, peer.warmup_frame()).await?;
    Ok(ws)
}
