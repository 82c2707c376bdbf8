//! Browser signals the engine needs: `online` / `offline`, `visibilitychange`, and
//! `pagehide` / `pageshow` (the page leaves, or comes back from the back/forward cache).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{EventTarget, VisibilityState};

/// What the browser reported.
pub enum Signal {
    /// The `online` event.
    Online,
    /// The `offline` event.
    Offline,
    /// The page became visible (true) or hidden (false).
    Visible(bool),
    /// The page is being left (closed, navigated away, or put in the back/forward cache).
    PageHide,
    /// The page is shown again after `PageHide` (restored from the back/forward cache).
    PageShow,
}

type Listener = (EventTarget, &'static str, Closure<dyn FnMut()>);

/// Registered listeners; dropping this removes them.
pub struct Signals {
    listeners: Vec<Listener>,
}

/// Whether the browser thinks it is online (`navigator.onLine`; true where unknown).
pub fn is_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// Whether the page is visible.
pub fn is_visible() -> bool {
    web_sys::window()
        .and_then(|w| w.document())
        .is_none_or(|d| d.visibility_state() == VisibilityState::Visible)
}

impl Signals {
    /// Listens for the signals and reports each to `on_signal`.
    pub fn listen(on_signal: impl Fn(Signal) + Clone + 'static) -> Signals {
        let mut listeners = Vec::new();
        let Some(window) = web_sys::window() else {
            return Signals { listeners };
        };
        let mut add = |target: EventTarget, name: &'static str, callback: Closure<dyn FnMut()>| {
            let _ =
                target.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
            listeners.push((target, name, callback));
        };
        let online = on_signal.clone();
        add(
            window.clone().into(),
            "online",
            Closure::new(move || online(Signal::Online)),
        );
        let offline = on_signal.clone();
        add(
            window.clone().into(),
            "offline",
            Closure::new(move || offline(Signal::Offline)),
        );
        let hide = on_signal.clone();
        add(
            window.clone().into(),
            "pagehide",
            Closure::new(move || hide(Signal::PageHide)),
        );
        let show = on_signal.clone();
        add(
            window.clone().into(),
            "pageshow",
            Closure::new(move || show(Signal::PageShow)),
        );
        if let Some(document) = window.document() {
            let visible = on_signal;
            add(
                document.into(),
                "visibilitychange",
                Closure::new(move || visible(Signal::Visible(is_visible()))),
            );
        }
        Signals { listeners }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        for (target, name, callback) in &self.listeners {
            let _ =
                target.remove_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        }
    }
}
