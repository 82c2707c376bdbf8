//! Browser signals the engine needs: `online` / `offline`, `visibilitychange`, and
//! `pagehide` / `pageshow` (the page leaves, or comes back from the back/forward cache).

use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::page;

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

/// The listeners (in `page.js`); dropping this removes them.
pub struct Signals {
    stop: Function,
    _report: Closure<dyn FnMut(u32)>,
}

/// Whether the browser thinks it is online (`navigator.onLine`; true where unknown).
pub fn is_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

impl Signals {
    /// Listens for the signals and reports each to `on_signal`.
    pub fn listen(on_signal: impl Fn(Signal) + 'static) -> Signals {
        let report = Closure::<dyn FnMut(u32)>::new(move |kind: u32| {
            on_signal(match kind {
                0 => Signal::Online,
                1 => Signal::Offline,
                2 => Signal::Visible(true),
                3 => Signal::Visible(false),
                4 => Signal::PageHide,
                _ => Signal::PageShow,
            })
        });
        let stop = page::listen(report.as_ref().unchecked_ref());
        Signals {
            stop,
            _report: report,
        }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        let _ = self.stop.call0(&JsValue::NULL);
    }
}
