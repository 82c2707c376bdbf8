//! A tiny HTTP/1.1 client for the backend API tests: one request per connection on loopback.

use std::net::SocketAddr;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::WAIT;

/// The API key of [`api_server`]-style tests (`--api-key jobs:<KEY>`).
pub const API_KEY: &str = "0123456789abcdef-test";
/// `--api-key` value naming [`API_KEY`] `jobs`.
pub const API_KEY_ARG: &str = "jobs:0123456789abcdef-test";

/// One API request.
pub struct Req<'a> {
    pub method: &'a str,
    pub path: &'a str,
    /// `Authorization: Bearer` value, if any.
    pub key: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub body: Option<String>,
}

impl<'a> Req<'a> {
    /// A request with the test key and no body.
    pub fn new(method: &'a str, path: &'a str) -> Req<'a> {
        Req {
            method,
            path,
            key: Some(API_KEY),
            idempotency_key: None,
            body: None,
        }
    }

    /// With a JSON body.
    pub fn json(mut self, body: Value) -> Req<'a> {
        self.body = Some(body.to_string());
        self
    }

    /// With a body as given (not necessarily JSON).
    pub fn body_text(mut self, body: &str) -> Req<'a> {
        self.body = Some(body.to_owned());
        self
    }

    /// With an `Idempotency-Key`.
    pub fn idempotent(mut self, key: &'a str) -> Req<'a> {
        self.idempotency_key = Some(key);
        self
    }

    /// With another (or no) API key.
    pub fn key(mut self, key: Option<&'a str>) -> Req<'a> {
        self.key = key;
        self
    }

    /// Sends it: (status, JSON body). Panics on a body that is not JSON.
    pub async fn send(self, addr: SocketAddr) -> (u16, Value) {
        let (status, text) = self.send_raw(addr, self_timeout()).await;
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("status {status}: body is not JSON ({e}): {text:?}"));
        (status, value)
    }

    /// Sends it: (status, body text), waiting at most `wait` for the answer.
    pub async fn send_raw(self, addr: SocketAddr, wait: std::time::Duration) -> (u16, String) {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n",
            self.method, self.path
        );
        if let Some(key) = self.key {
            head.push_str(&format!("Authorization: Bearer {key}\r\n"));
        }
        if let Some(key) = self.idempotency_key {
            head.push_str(&format!("Idempotency-Key: {key}\r\n"));
        }
        let body = self.body.unwrap_or_default();
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ));
        stream.write_all(head.as_bytes()).await.expect("write head");
        // A server may answer (413) before reading a large body: ignore a failed write.
        let _ = stream.write_all(body.as_bytes()).await;
        let mut response = Vec::new();
        tokio::time::timeout(wait, stream.read_to_end(&mut response))
            .await
            .expect("response within the wait")
            .expect("read");
        let response = String::from_utf8(response).expect("UTF-8 response");
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = response
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default();
        (status, body)
    }
}

fn self_timeout() -> std::time::Duration {
    WAIT
}

/// The error code of an error body.
pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}
