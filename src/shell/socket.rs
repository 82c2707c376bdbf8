//! The WebSocket, as `web_sys::WebSocket`. (gloo-net's socket is a `Stream`/`Sink` pair; the
//! engine's drain loop needs a synchronous `send` and the close event's code, which the plain
//! browser object gives directly and with less code in the bundle.)

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// What the socket reports.
pub enum SocketEvent {
    /// The connection is open.
    Opened,
    /// A text frame arrived.
    Message(String),
    /// The connection closed (1006 when it failed without a close frame).
    Closed(u16),
}

/// One WebSocket and its event handlers; dropping it detaches them and closes the socket.
/// Under the `tether-lines` subprotocol, frames queued with [`Socket::send`] leave joined at
/// [`Socket::flush`] (the driver flushes at the end of every drain).
pub struct Socket {
    ws: WebSocket,
    /// Messages queued for the next flush, `\n` between them.
    out: String,
    /// Whether the server selected `tether-lines` (read once, at the first send).
    lines: Option<bool>,
    // One closure type for the three handlers (each type costs its own glue in the bundle).
    _on_open: Closure<dyn FnMut(JsValue)>,
    _on_message: Closure<dyn FnMut(JsValue)>,
    _on_close: Closure<dyn FnMut(JsValue)>,
}

impl Socket {
    /// Opens a socket to `url`; `on_event` hears everything it reports.
    pub fn open(
        url: &str,
        on_event: impl Fn(SocketEvent) + Clone + 'static,
    ) -> Result<Socket, JsValue> {
        // Several messages per frame when the server agrees (it answers with the protocol).
        let ws = WebSocket::new_with_str(url, tether_protocol::LINES_SUBPROTOCOL)?;
        let opened = on_event.clone();
        let on_open = Closure::<dyn FnMut(JsValue)>::new(move |_| opened(SocketEvent::Opened));
        let received = on_event.clone();
        let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            if let Some(text) = event.unchecked_into::<MessageEvent>().data().as_string() {
                received(SocketEvent::Message(text));
            }
        });
        let closed = on_event;
        let on_close = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            closed(SocketEvent::Closed(
                event.unchecked_into::<CloseEvent>().code(),
            ));
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            out: String::new(),
            lines: None,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Sends a message: at once, or at the next [`Socket::flush`] joined with the others when
    /// the server selected `tether-lines`. Dropped when the socket is not open.
    pub fn send(&mut self, text: &str) {
        if self.ws.ready_state() != WebSocket::OPEN {
            return;
        }
        let ws = &self.ws;
        let lines = *self
            .lines
            .get_or_insert_with(|| ws.protocol() == tether_protocol::LINES_SUBPROTOCOL);
        if !lines {
            let _ = self.ws.send_with_str(text);
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
        if self.ws.ready_state() == WebSocket::OPEN {
            let _ = self.ws.send_with_str(&self.out);
        }
        self.out.clear();
    }

    /// Sends what is queued, then closes with a code (1000 or 3000-4999) and reason; no event
    /// is reported afterwards.
    pub fn close(mut self, code: u16, reason: &str) {
        self.flush();
        self.detach();
        let _ = self.ws.close_with_code_and_reason(code, reason);
    }

    fn detach(&self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.detach();
        if self.ws.ready_state() <= WebSocket::OPEN {
            let _ = self.ws.close();
        }
    }
}
