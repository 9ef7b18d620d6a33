//! Working offline: registers the service worker that keeps the app shell,
//! and follows the browser's online state for the offline banner.

use leptos::prelude::*;

/// Registers `/sw.js`; a browser without service workers just stays online-only.
pub fn register_service_worker() {
    let Some(window) = web_sys::window() else { return };
    let container = window.navigator().service_worker();
    let _ = container.register("/sw.js");
}

/// True while the browser reports a network connection; follows its events.
pub fn browser_online() -> RwSignal<bool> {
    let online = RwSignal::new(web_sys::window().is_none_or(|w| w.navigator().on_line()));
    let on = window_event_listener(leptos::ev::online, move |_| online.set(true));
    let off = window_event_listener(leptos::ev::offline, move |_| online.set(false));
    on_cleanup(move || {
        on.remove();
        off.remove();
    });
    online
}
