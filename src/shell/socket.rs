//! The WebSocket, opened and read by `socket.js` (a plain browser `WebSocket` behind the page's
//! fault switches, which only the devtools turn on). The engine's drain loop needs a synchronous
//! `send` and the close event's code, which the plain browser object gives directly and with
//! less code in the bundle than a `Stream`/`Sink` pair.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

#[wasm_bindgen(module = "/src/shell/socket.js")]
extern "C" {
    /// `socket.js`'s `Socket`.
    #[wasm_bindgen(js_name = Socket)]
    type JsSocket;
    #[wasm_bindgen(constructor, js_class = Socket, catch)]
    fn new(
        url: &str,
        protocol: &str,
        report: &Closure<dyn FnMut(JsValue)>,
    ) -> Result<JsSocket, JsValue>;
    #[wasm_bindgen(method, getter, js_class = Socket)]
    fn open(this: &JsSocket) -> bool;
    #[wasm_bindgen(method, getter, js_class = Socket)]
    fn protocol(this: &JsSocket) -> String;
    #[wasm_bindgen(method, js_class = Socket)]
    fn send(this: &JsSocket, text: &str);
    #[wasm_bindgen(method, js_class = Socket)]
    fn close(this: &JsSocket, code: Option<u16>, reason: Option<&str>);
}

/// What the socket reports.
pub enum SocketEvent {
    /// The connection is open.
    Opened,
    /// A text frame arrived.
    Message(String),
    /// The connection closed (1006 when it failed without a close frame).
    Closed(u16),
}

/// One WebSocket and its event handler; dropping it detaches the handler and closes the
/// socket. Under the `tether-lines` subprotocol, frames queued with [`Socket::send`] leave
/// joined at [`Socket::flush`] (the driver flushes at the end of every drain).
pub struct Socket {
    ws: JsSocket,
    /// Messages queued for the next flush, `\n` between them.
    out: String,
    /// Whether the server selected `tether-lines` (read once, at the first send).
    lines: Option<bool>,
    _on_report: Closure<dyn FnMut(JsValue)>,
}

impl Socket {
    /// Opens a socket to `url`; `on_event` hears everything it reports.
    pub fn open(url: &str, on_event: impl Fn(SocketEvent) + 'static) -> Result<Socket, JsValue> {
        // null: opened; a string: a frame; a number: closed, with its code.
        let on_report = Closure::<dyn FnMut(JsValue)>::new(move |value: JsValue| {
            on_event(if let Some(text) = value.as_string() {
                SocketEvent::Message(text)
            } else if let Some(code) = value.as_f64() {
                SocketEvent::Closed(code as u16)
            } else {
                SocketEvent::Opened
            })
        });
        // Several messages per frame when the server agrees (it answers with the protocol).
        let ws = JsSocket::new(url, tether_protocol::LINES_SUBPROTOCOL, &on_report)?;
        Ok(Socket {
            ws,
            out: String::new(),
            lines: None,
            _on_report: on_report,
        })
    }

    /// Sends a message: at once, or at the next [`Socket::flush`] joined with the others when
    /// the server selected `tether-lines`. Dropped when the socket is not open.
    pub fn send(&mut self, text: &str) {
        if !self.ws.open() {
            return;
        }
        let ws = &self.ws;
        let lines = *self
            .lines
            .get_or_insert_with(|| ws.protocol() == tether_protocol::LINES_SUBPROTOCOL);
        if !lines {
            self.ws.send(text);
            return;
        }
        if !self.out.is_empty()
            && self.out.len() + 1 + text.len() > tether_protocol::MAX_JOINED_FRAME_BYTES
        {
            self.flush();
        }
        if !self.out.is_empty() {
            self.out.push('\n');
        }
        self.out.push_str(text);
    }

    /// Sends what [`Socket::send`] queued, as one frame.
    pub fn flush(&mut self) {
        if self.out.is_empty() {
            return;
        }
        self.ws.send(&self.out);
        self.out.clear();
    }

    /// Sends what is queued, then closes with a code (1000 or 3000-4999) and reason; no event
    /// is reported afterwards.
    pub fn close(mut self, code: u16, reason: &str) {
        self.flush();
        self.ws.close(Some(code), Some(reason));
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        // Detaches and closes without a code (a no-op after `close`).
        self.ws.close(None, None);
    }
}
