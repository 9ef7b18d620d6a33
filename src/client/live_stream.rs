//! The browser's end of `/api/events`: one EventSource, events into signals,
//! and reconnects with backoff once the browser has given up on its own.

use std::{cell::RefCell, rc::{Rc, Weak}};

use leptos::prelude::*;
use wasm_bindgen::{prelude::Closure, JsCast};
use web_sys::{EventSource, MessageEvent};

use crate::{
    client::snapshot_api::fetch_snapshot,
    live::{backoff::Backoff, connection::ConnectionState, history::SpeedHistory, monitors::MonitorBoard},
    model::{ProbeResult, SpeedSample, PROBE_TOPIC, SPEED_TOPIC},
};

type Listener = Closure<dyn FnMut(web_sys::Event)>;

struct Inner {
    /// The newest event id seen on any topic: where a reconnect resumes.
    last_id: u64,
    history: RwSignal<SpeedHistory>,
    board: RwSignal<MonitorBoard>,
    connection: RwSignal<ConnectionState>,
    source: Option<EventSource>,
    listeners: Vec<(&'static str, Listener)>,
    backoff: Backoff,
    stopped: bool,
}

/// A handle on the page's stream; cloning shares it.
#[derive(Clone)]
pub struct LiveStream(Rc<RefCell<Inner>>);

impl LiveStream {
    pub fn start(last_id: u64, history: RwSignal<SpeedHistory>, board: RwSignal<MonitorBoard>, connection: RwSignal<ConnectionState>) -> Self {
        let stream = Self(Rc::new(RefCell::new(Inner {
            last_id,
            history,
            board,
            connection,
            source: None,
            listeners: Vec::new(),
            backoff: Backoff::default(),
            stopped: false,
        })));
        stream.connect();
        stream
    }

    pub fn stop(&self) {
        let mut inner = self.0.borrow_mut();
        inner.stopped = true;
        inner.close();
    }

    fn connect(&self) {
        let mut inner = self.0.borrow_mut();
        if inner.stopped {
            return;
        }
        inner.close();
        // Resume from what the page already shows, so nothing is missed or repeated.
        let url = format!("/api/events?topics={SPEED_TOPIC},{PROBE_TOPIC}&lastEventId={}", inner.last_id);
        let Ok(source) = EventSource::new(&url) else {
            drop(inner);
            self.schedule_reconnect();
            return;
        };
        let weak = Rc::downgrade(&self.0);
        inner.listeners = vec![
            ("open", listener(&weak, |stream, _| stream.on_open())),
            ("error", listener(&weak, |stream, _| stream.on_error())),
            (SPEED_TOPIC, listener(&weak, |stream, event| stream.on_speed(event))),
            (PROBE_TOPIC, listener(&weak, |stream, event| stream.on_probe(event))),
            ("reset", listener(&weak, |stream, _| stream.on_reset())),
        ];
        for (name, callback) in &inner.listeners {
            let _ = source.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        }
        inner.source = Some(source);
    }

    fn on_open(&self) {
        let mut inner = self.0.borrow_mut();
        inner.backoff.reset();
        inner.connection.set(ConnectionState::Live);
    }

    fn on_error(&self) {
        let closed = self.0.borrow().source.as_ref().is_none_or(|s| s.ready_state() == EventSource::CLOSED);
        if closed {
            // The browser will not retry (an HTTP error or a non-SSE reply): we do.
            self.schedule_reconnect();
        } else {
            let inner = self.0.borrow();
            inner.connection.set(ConnectionState::after_error(browser_online(), inner.backoff.attempts()));
        }
    }

    /// The id and JSON body of a message event; moves the resume cursor.
    fn take_message<T: serde::de::DeserializeOwned>(&self, event: &web_sys::Event) -> Option<(u64, T)> {
        let message = event.dyn_ref::<MessageEvent>()?;
        let id = message.last_event_id().parse::<u64>().ok()?;
        let data = message.data().as_string()?;
        let Ok(body) = serde_json::from_str::<T>(&data) else {
            leptos::logging::warn!("ignoring an event that does not parse: {data}");
            return None;
        };
        let mut inner = self.0.borrow_mut();
        inner.last_id = inner.last_id.max(id);
        inner.connection.set(ConnectionState::Live);
        Some((id, body))
    }

    fn on_speed(&self, event: web_sys::Event) {
        let Some((id, sample)) = self.take_message::<SpeedSample>(&event) else { return };
        self.0.borrow().history.update(|h| {
            h.apply(id, sample);
        });
    }

    fn on_probe(&self, event: web_sys::Event) {
        let Some((_, result)) = self.take_message::<ProbeResult>(&event) else { return };
        self.0.borrow().board.update(|board| board.apply(result));
    }

    /// The server could not replay what we missed: load its current state.
    fn on_reset(&self) {
        let (history, board) = {
            let inner = self.0.borrow();
            (inner.history, inner.board)
        };
        let weak = Rc::downgrade(&self.0);
        leptos::task::spawn_local(async move {
            match fetch_snapshot().await {
                Ok(snapshot) => {
                    history.update(|h| h.merge_snapshot(&snapshot));
                    board.update(|b| b.merge_snapshot(&snapshot));
                    if let Some(inner) = weak.upgrade() {
                        let mut inner = inner.borrow_mut();
                        inner.last_id = inner.last_id.max(snapshot.last_event_id);
                    }
                }
                Err(error) => leptos::logging::warn!("reloading after reset failed: {error}"),
            }
        });
    }

    fn schedule_reconnect(&self) {
        let delay = {
            let mut inner = self.0.borrow_mut();
            inner.close();
            let delay = inner.backoff.next_delay();
            inner.connection.set(ConnectionState::after_error(browser_online(), inner.backoff.attempts()));
            delay
        };
        let weak = Rc::downgrade(&self.0);
        set_timeout(
            move || {
                if let Some(inner) = weak.upgrade() {
                    LiveStream(inner).connect();
                }
            },
            delay,
        );
    }
}

impl Inner {
    fn close(&mut self) {
        if let Some(source) = self.source.take() {
            for (name, callback) in &self.listeners {
                let _ = source.remove_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
            }
            source.close();
        }
        self.listeners.clear();
    }
}

/// A DOM listener that holds the stream weakly, so closing the page frees both.
fn listener(weak: &Weak<RefCell<Inner>>, handle: fn(&LiveStream, web_sys::Event)) -> Listener {
    let weak = weak.clone();
    Closure::new(move |event: web_sys::Event| {
        if let Some(inner) = weak.upgrade() {
            handle(&LiveStream(inner), event);
        }
    })
}

fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}
