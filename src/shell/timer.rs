//! One re-armable timer (`setTimeout`), driven by the engine's `poll_timeout`.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// A timer that calls its callback once per arming.
pub struct Timer {
    callback: Closure<dyn FnMut()>,
    handle: Option<i32>,
    /// The deadline it is armed for (engine ms), to skip re-arming for the same one.
    armed_for: Option<u64>,
}

impl Timer {
    /// A timer calling `callback` when it fires.
    pub fn new(callback: impl FnMut() + 'static) -> Timer {
        Timer {
            callback: Closure::new(callback),
            handle: None,
            armed_for: None,
        }
    }

    /// Fires at `deadline` (engine ms; `now` is the current engine time), replacing any earlier
    /// arming; `None` disarms.
    pub fn arm(&mut self, now: u64, deadline: Option<u64>) {
        if deadline == self.armed_for && self.handle.is_some() {
            return;
        }
        self.cancel();
        let Some(at) = deadline else { return };
        let delay = i32::try_from(at.saturating_sub(now)).unwrap_or(i32::MAX);
        if let Some(window) = web_sys::window() {
            self.handle = window
                .set_timeout_with_callback_and_timeout_and_arguments_0(
                    self.callback.as_ref().unchecked_ref(),
                    delay,
                )
                .ok();
            self.armed_for = Some(at);
        }
    }

    /// Marks the timer as fired (call first thing in the callback).
    pub fn fired(&mut self) {
        self.handle = None;
        self.armed_for = None;
    }

    /// Disarms.
    pub fn cancel(&mut self) {
        if let (Some(handle), Some(window)) = (self.handle.take(), web_sys::window()) {
            window.clear_timeout_with_handle(handle);
        }
        self.armed_for = None;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.cancel();
    }
}
