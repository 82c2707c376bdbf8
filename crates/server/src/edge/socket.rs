//! One WebSocket connection: a reader loop feeding the engine task and a writer task draining
//! the connection's outbound queue. Under the `tether-lines` subprotocol the writer joins the
//! frames already queued into one WebSocket message (`\n` between them) and the reader splits
//! incoming messages the same way. The writer reports every write to the engine (its credit);
//! the reader takes read-window permits per frame (by size, see [`read_units`]), so it stops
//! reading while the engine holds a window's worth of the connection's frames unprocessed.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tether_protocol::{split_frame, CloseCode, LINES_SUBPROTOCOL, MAX_JOINED_FRAME_BYTES};
use tokio::sync::{mpsc, oneshot, Semaphore};

use crate::engine::ConnId;

use super::engine_task::{ConnHandle, Input, Kill, Outbound, Stamp};
use super::metrics::Metrics;
use super::options::{read_units, READ_WINDOW};
use crate::engine::ConnectInfo;

/// How long a close frame may take to send, and how long to wait for the peer's close reply.
const CLOSE_WAIT: Duration = Duration::from_secs(2);
/// After refusing an oversized frame (whose payload stays unread in the kernel buffer), how
/// long to keep the socket before dropping it: dropping with unread data resets the TCP
/// connection, which could destroy the close frame before the peer reads it.
const OVERSIZED_LINGER: Duration = Duration::from_secs(1);

/// Everything a socket task needs.
#[derive(Clone)]
pub(crate) struct SocketEnv {
    pub(crate) inputs: mpsc::Sender<Input>,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) outbound_queue: usize,
    /// Live socket tasks, for graceful shutdown.
    pub(crate) live: Arc<tokio::sync::Semaphore>,
}

fn is_too_large(err: axum::Error) -> Option<Option<u64>> {
    let inner = err.into_inner();
    match inner.downcast_ref::<tungstenite::Error>() {
        Some(tungstenite::Error::Capacity(tungstenite::error::CapacityError::MessageTooLong {
            size,
            ..
        })) => Some(u64::try_from(*size).ok()),
        _ => None,
    }
}

/// How long the close frame to a slow consumer may wait for it to read what is ahead of it.
const SLOW_CLOSE_WAIT: Duration = Duration::from_secs(5);

async fn send_close(sink: &mut SplitSink<WebSocket, Message>, code: CloseCode) {
    let frame = CloseFrame {
        code: code.as_u16(),
        reason: code.reason().into(),
    };
    let wait = if code == CloseCode::SlowConsumer {
        SLOW_CLOSE_WAIT
    } else {
        CLOSE_WAIT
    };
    let _ = tokio::time::timeout(wait, sink.send(Message::Close(Some(frame)))).await;
}

fn is_event(frame: &str) -> bool {
    frame.starts_with("{\"type\":\"event\"")
}

/// Under [`LINES_SUBPROTOCOL`], appends the frames already queued behind `text` (joined with
/// `\n`, up to [`MAX_JOINED_FRAME_BYTES`]); returns a close that was queued behind them.
fn join_queued(
    text: &mut String,
    queue: &mut mpsc::Receiver<Outbound>,
    produced: &mut Vec<Stamp>,
    frames: &mut usize,
) -> Option<CloseCode> {
    while text.len() < MAX_JOINED_FRAME_BYTES {
        match queue.try_recv() {
            Ok(Outbound::Frame(frame, at)) => {
                *frames += 1;
                if is_event(&frame) {
                    produced.push(at);
                }
                text.push('\n');
                text.push_str(&frame);
            }
            Ok(Outbound::Close(code)) => return Some(code),
            Err(_) => break,
        }
    }
    None
}

/// Where the writer reports what it wrote.
struct Report {
    conn: ConnId,
    inputs: mpsc::Sender<Input>,
}

async fn write_loop(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Outbound>,
    kill: Arc<Kill>,
    metrics: Arc<Metrics>,
    lines: bool,
    report: Report,
) {
    let mut produced = Vec::new();
    loop {
        let item = tokio::select! {
            biased;
            code = kill.fired() => {
                send_close(&mut sink, code).await;
                return;
            }
            item = queue.recv() => item,
        };
        match item {
            Some(Outbound::Frame(frame, at)) => {
                produced.clear();
                if is_event(&frame) {
                    produced.push(at);
                }
                let mut close_after = None;
                let mut frames = 1;
                let message = if lines && frame.len() < MAX_JOINED_FRAME_BYTES {
                    let mut text = String::from(frame.as_ref());
                    close_after = join_queued(&mut text, &mut queue, &mut produced, &mut frames);
                    Message::text(text)
                } else {
                    Message::text(frame.as_ref())
                };
                let send = sink.send(message);
                tokio::select! {
                    biased;
                    code = kill.fired() => {
                        send_close(&mut sink, code).await;
                        return;
                    }
                    sent = send => {
                        if sent.is_err() {
                            // E.g. the reader already took the peer's close frame, after which
                            // the WebSocket layer sends no data: still flush its queued close
                            // reply (the peer's code echoed) before the socket is dropped.
                            let _ = tokio::time::timeout(CLOSE_WAIT, sink.close()).await;
                            return;
                        }
                    }
                }
                for at in &produced {
                    metrics.observe_delivery(at.elapsed());
                }
                let written = Input::Written {
                    conn: report.conn,
                    frames,
                };
                // After the engine stopped (shutdown) there is no one to tell: the close it
                // queued still follows.
                let _ = report.inputs.send(written).await;
                if let Some(code) = close_after {
                    send_close(&mut sink, code).await;
                    return;
                }
            }
            Some(Outbound::Close(code)) => {
                send_close(&mut sink, code).await;
                return;
            }
            // The engine dropped the connection without a close code (e.g. the peer left).
            None => {
                let _ = tokio::time::timeout(CLOSE_WAIT, sink.close()).await;
                return;
            }
        }
    }
}

/// Waits for the read-window permits of a frame of `len` bytes (the engine consumed earlier
/// frames); `false` once the engine forgot the connection.
async fn take_permit(window: &Semaphore, len: usize) -> bool {
    match window.acquire_many(read_units(len)).await {
        Ok(permit) => {
            permit.forget();
            true
        }
        Err(_) => false,
    }
}

/// Runs one upgraded socket until it closes.
pub(crate) async fn run_socket(socket: WebSocket, info: ConnectInfo, env: SocketEnv) {
    let Ok(_permit) = env.live.clone().acquire_owned().await else {
        return;
    };
    let lines = socket
        .protocol()
        .is_some_and(|p| p.as_bytes() == LINES_SUBPROTOCOL.as_bytes());
    let (sink, mut stream) = socket.split();
    // The engine keeps at most its capacity in flight; room for its close behind them.
    let (queue_tx, queue_rx) = mpsc::channel(env.outbound_queue.max(2) + 8);
    let kill = Arc::new(Kill::default());
    let (reply_tx, reply_rx) = oneshot::channel();
    let window = Arc::new(Semaphore::new(READ_WINDOW));
    let handle = ConnHandle::new(queue_tx, Arc::clone(&kill), Arc::clone(&window));
    let connect = Input::Connect {
        info: Box::new(info),
        handle,
        reply: reply_tx,
    };
    if env.inputs.send(connect).await.is_err() {
        return;
    }
    let Ok(conn) = reply_rx.await else {
        // The server is shutting down.
        let mut sink = sink;
        send_close(&mut sink, CloseCode::GoingAway).await;
        return;
    };
    tracing::debug!(%conn, "connected");
    let mut writer = tokio::spawn(write_loop(
        sink,
        queue_rx,
        kill,
        Arc::clone(&env.metrics),
        lines,
        Report {
            conn,
            inputs: env.inputs.clone(),
        },
    ));
    let mut writer_done = false;
    let mut linger = false;
    loop {
        tokio::select! {
            _ = &mut writer, if !writer_done => {
                writer_done = true;
                break;
            }
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) if lines => {
                    let mut gone = false;
                    for message in split_frame(text.as_str().as_bytes()) {
                        if !take_permit(&window, message.len()).await {
                            gone = true;
                            break;
                        }
                        let data = message.to_vec();
                        if env.inputs.send(Input::Frame { conn, data }).await.is_err() {
                            gone = true;
                            break;
                        }
                    }
                    if gone {
                        break;
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    if !take_permit(&window, text.len()).await {
                        break;
                    }
                    let data = text.as_str().as_bytes().to_vec();
                    if env.inputs.send(Input::Frame { conn, data }).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    if !take_permit(&window, bytes.len()).await {
                        break;
                    }
                    let data = bytes.to_vec();
                    if env.inputs.send(Input::Frame { conn, data }).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                // The WebSocket layer has queued the close reply (the peer's code echoed); the
                // writer sends it after the frames it could still write (see `write_loop`).
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(err)) => {
                    if let Some(size) = is_too_large(err) {
                        let _ = env.inputs.send(Input::Oversized { conn, size }).await;
                        // The engine answers TOO_LARGE and closes with 1009 via the writer.
                        let _ = tokio::time::timeout(CLOSE_WAIT, &mut writer).await;
                        writer_done = true;
                        linger = true;
                    }
                    break;
                }
            }
        }
    }
    let _ = env.inputs.send(Input::Disconnect { conn }).await;
    if linger {
        // The stream cannot be read past the refused frame's header.
        tokio::time::sleep(OVERSIZED_LINGER).await;
    } else if writer_done {
        // We sent a close frame: read until the peer's close reply (bounded) so that unread
        // data does not turn our close into a reset.
        let _ = tokio::time::timeout(CLOSE_WAIT, async {
            while let Some(Ok(msg)) = stream.next().await {
                if let Message::Close(_) = msg {
                    break;
                }
            }
        })
        .await;
    } else {
        let _ = tokio::time::timeout(CLOSE_WAIT, writer).await;
    }
    tracing::debug!(%conn, "disconnected");
}
