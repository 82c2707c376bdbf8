//! A client that writes a frame and its close frame in one TCP write always gets the close reply
//! with its own code (RFC 6455 §5.5.1) as the last frame, then the end of the TCP stream: with
//! and without `tether-lines`, never an abrupt end (1006). The answer to the frame comes before
//! the close reply when the server wrote it before it read the close; after that the WebSocket
//! layer sends no more data frames (PROTOCOL.md §1). The client is hand-built on a raw TCP
//! stream so that both frames really leave in one write.

use std::time::Duration;

use serde_json::{json, Value};
use tether_protocol::LINES_SUBPROTOCOL;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{TestServer, WAIT};

const TRIES: u64 = 300;
const TEXT: u8 = 0x1;
const CLOSE: u8 = 0x8;

/// A WebSocket client on a raw TCP stream.
struct Raw {
    tcp: TcpStream,
    buf: Vec<u8>,
}

/// One masked client frame (FIN set).
fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut out = vec![0x80 | opcode];
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | u8::try_from(len).expect("short"));
    } else {
        out.push(0x80 | 126);
        out.extend_from_slice(&u16::try_from(len).expect("medium").to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    out
}

impl Raw {
    async fn connect(server: &TestServer, lines: bool) -> Raw {
        let mut tcp = TcpStream::connect(server.addr()).await.expect("connect");
        let protocol = if lines {
            format!("Sec-WebSocket-Protocol: {LINES_SUBPROTOCOL}\r\n")
        } else {
            String::new()
        };
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
             {protocol}\r\n",
            server.addr()
        );
        tcp.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Raw {
            tcp,
            buf: Vec::new(),
        };
        let end = loop {
            if let Some(at) = raw.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            assert!(raw.fill().await, "connection ended during the handshake");
        };
        let head = String::from_utf8_lossy(&raw.buf[..end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        raw.buf.drain(..end);
        raw
    }

    /// Reads more bytes; false at the end of the stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        let n = tokio::time::timeout(WAIT, self.tcp.read(&mut chunk))
            .await
            .expect("bytes within the wait")
            .unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// The next server frame (unmasked, unfragmented), or None at the end of the stream.
    async fn next(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.buf.len() >= 2 {
                let opcode = self.buf[0] & 0x0f;
                let short = usize::from(self.buf[1] & 0x7f);
                let (len, head) = match short {
                    126 if self.buf.len() >= 4 => (
                        usize::from(u16::from_be_bytes([self.buf[2], self.buf[3]])),
                        4,
                    ),
                    127 if self.buf.len() >= 10 => {
                        let mut b = [0u8; 8];
                        b.copy_from_slice(&self.buf[2..10]);
                        (usize::try_from(u64::from_be_bytes(b)).expect("len"), 10)
                    }
                    126 | 127 => (usize::MAX, 0),
                    n => (n, 2),
                };
                if len != usize::MAX && self.buf.len() >= head + len {
                    let payload = self.buf[head..head + len].to_vec();
                    self.buf.drain(..head + len);
                    return Some((opcode, payload));
                }
            }
            if !self.fill().await {
                return None;
            }
        }
    }

    async fn next_json(&mut self) -> Value {
        let (opcode, payload) = self.next().await.expect("a frame");
        assert_eq!(opcode, TEXT, "expected a text frame");
        serde_json::from_slice(&payload).expect("json")
    }
}

async fn ping_then_close_in_one_write(lines: bool) {
    let server = TestServer::start(|_| {}).await;
    let mut pongs = 0u64;
    for nonce in 1..=TRIES {
        let mut raw = Raw::connect(&server, lines).await;
        let hello = json!({"type": "hello", "protocol": 1, "client_id": "closer"}).to_string();
        raw.tcp
            .write_all(&frame(TEXT, hello.as_bytes()))
            .await
            .expect("write");
        assert_eq!(raw.next_json().await["type"], "welcome");

        let ping = json!({"type": "ping", "nonce": nonce}).to_string();
        let mut close_payload = 1000u16.to_be_bytes().to_vec();
        close_payload.extend_from_slice(b"bye");
        let mut bytes = frame(TEXT, ping.as_bytes());
        bytes.extend(frame(CLOSE, &close_payload));
        raw.tcp.write_all(&bytes).await.expect("one write");

        let mut first = raw.next().await.unwrap_or_else(|| {
            panic!("try {nonce} (lines: {lines}): the stream ended without a close reply")
        });
        if first.0 == TEXT {
            let pong: Value = serde_json::from_slice(&first.1).expect("json");
            assert_eq!(
                pong,
                json!({"type": "pong", "nonce": nonce}),
                "try {nonce} (lines: {lines})"
            );
            pongs += 1;
            first = raw.next().await.unwrap_or_else(|| {
                panic!("try {nonce} (lines: {lines}): the stream ended after the pong")
            });
        }
        let (opcode, payload) = first;
        assert_eq!(opcode, CLOSE, "try {nonce} (lines: {lines})");
        assert_eq!(
            payload.get(..2),
            Some(&1000u16.to_be_bytes()[..]),
            "try {nonce} (lines: {lines}): close reply code"
        );
        let rest = tokio::time::timeout(Duration::from_secs(3), raw.next())
            .await
            .expect("the server closes the TCP stream after its close reply");
        assert_eq!(rest, None, "try {nonce} (lines: {lines})");
    }
    eprintln!("lines: {lines}: {pongs} of {TRIES} tries got the pong before the close reply");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_then_close_always_gets_the_close_reply() {
    ping_then_close_in_one_write(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ping_then_close_always_gets_the_close_reply_under_lines() {
    ping_then_close_in_one_write(true).await;
}
