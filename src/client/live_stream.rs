//! The browser's end of `/api/events`: one EventSource on the rooms that are
//! switched on, events into signals, and reconnects with backoff once the
//! browser has given up on its own.

use std::{
    cell::RefCell,
    rc::{Rc, Weak},
};

use leptos::prelude::*;
use wasm_bindgen::{prelude::Closure, JsCast};
use web_sys::{EventSource, MessageEvent};

use crate::{
    client::{live_signals::LiveSignals, snapshot_api::fetch_snapshot},
    live::{
        alerts::AlertChange,
        backoff::Backoff,
        connection::ConnectionState,
        event_log::{probe_summary, speed_summary},
        nodes::node_summary,
    },
    model::{node::NodeReport, open_envelope, ProbeResult, SpeedSample, TopicEvent, ALERT_TOPIC, NODE_TOPIC, PROBE_TOPIC, SPEED_TOPIC},
};

type Listener = Closure<dyn FnMut(web_sys::Event)>;

struct Inner {
    /// The newest event id seen on any topic: where a reconnect resumes.
    last_id: u64,
    signals: LiveSignals,
    /// What the stream subscribes to; empty means paused, not "every topic".
    topics: Vec<String>,
    source: Option<EventSource>,
    listeners: Vec<(String, Listener)>,
    backoff: Backoff,
    stopped: bool,
}

/// A handle on the page's stream; cloning shares it.
#[derive(Clone)]
pub struct LiveStream(Rc<RefCell<Inner>>);

impl LiveStream {
    pub fn start(last_id: u64, signals: LiveSignals, topics: Vec<String>) -> Self {
        let stream =
            Self(Rc::new(RefCell::new(Inner { last_id, signals, topics, source: None, listeners: Vec::new(), backoff: Backoff::default(), stopped: false })));
        stream.connect();
        stream
    }

    pub fn stop(&self) {
        let mut inner = self.0.borrow_mut();
        inner.stopped = true;
        inner.close();
    }

    /// Resubscribes when the rooms changed; the server's connection counts follow.
    pub fn set_topics(&self, topics: Vec<String>) {
        if self.0.borrow().topics == topics {
            return;
        }
        self.0.borrow_mut().topics = topics;
        self.connect();
    }

    fn connect(&self) {
        let mut inner = self.0.borrow_mut();
        if inner.stopped {
            return;
        }
        inner.close();
        if inner.topics.is_empty() {
            inner.signals.connection.set(ConnectionState::Paused);
            return;
        }
        // Resume from what the page already shows, so nothing is missed or repeated.
        // Enveloped: each event carries the server's time, so no time shown is the browser's guess.
        let url = format!("/api/events?topics={}&lastEventId={}&envelope=1", js_sys::encode_uri_component(&inner.topics.join(",")), inner.last_id);
        let Ok(source) = EventSource::new(&url) else {
            drop(inner);
            self.schedule_reconnect();
            return;
        };
        let weak = Rc::downgrade(&self.0);
        let mut listeners = vec![
            ("open".to_owned(), listener(&weak, |stream, _| stream.on_open())),
            ("error".to_owned(), listener(&weak, |stream, _| stream.on_error())),
            ("reset".to_owned(), listener(&weak, |stream, _| stream.on_reset())),
        ];
        for topic in inner.topics.clone() {
            let name = topic.clone();
            listeners.push((topic, listener(&weak, move |stream, event| stream.on_message(&name, event))));
        }
        for (name, callback) in &listeners {
            let _ = source.add_event_listener_with_callback(name, callback.as_ref().unchecked_ref());
        }
        inner.listeners = listeners;
        inner.source = Some(source);
    }

    fn on_open(&self) {
        let mut inner = self.0.borrow_mut();
        inner.backoff.reset();
        inner.signals.connection.set(ConnectionState::Live);
    }

    fn on_error(&self) {
        let closed = self.0.borrow().source.as_ref().is_none_or(|s| s.ready_state() == EventSource::CLOSED);
        if closed {
            // The browser will not retry (an HTTP error or a non-SSE reply): we
            // do, unless the refusal was about who we are.
            self.0.borrow_mut().close();
            let stream = self.clone();
            leptos::task::spawn_local(async move {
                if signed_out().await {
                    stream.0.borrow().signals.connection.set(ConnectionState::SignedOut);
                } else {
                    stream.schedule_reconnect();
                }
            });
        } else {
            let inner = self.0.borrow();
            inner.signals.connection.set(ConnectionState::after_error(browser_online(), inner.backoff.attempts()));
        }
    }

    /// Any topic's event: moves the resume cursor, logs it, and hands it to its section.
    fn on_message(&self, topic: &str, event: web_sys::Event) {
        let Some(message) = event.dyn_ref::<MessageEvent>() else { return };
        let Ok(id) = message.last_event_id().parse::<u64>() else { return };
        let Some(text) = message.data().as_string() else { return };
        let Some((at_ms, data)) = open_envelope(&text) else {
            leptos::logging::warn!("ignoring a {topic} event without the server's envelope");
            return;
        };
        let data = data.to_owned();
        // How long ago something arrived is the browser's own measure; when it happened is the server's.
        let now = js_sys::Date::now();
        let signals = {
            let mut inner = self.0.borrow_mut();
            inner.last_id = inner.last_id.max(id);
            inner.signals
        };
        signals.connection.set(ConnectionState::Live);
        signals.last_event_at.set(Some(now));
        let event = TopicEvent { topic: topic.to_owned(), id, at_ms, data };
        // Each event is parsed once, for its section and its log line alike.
        match topic {
            SPEED_TOPIC => take(&signals, &event, speed_summary, |sample: SpeedSample| {
                signals.history.update(|h| {
                    h.apply(id, sample);
                })
            }),
            PROBE_TOPIC => take(&signals, &event, probe_summary, |result: ProbeResult| signals.board.update(|board| board.apply(result))),
            ALERT_TOPIC => take(&signals, &event, AlertChange::summary, |change: AlertChange| signals.alerts.update(|alerts| alerts.apply(&change))),
            NODE_TOPIC => take(&signals, &event, node_summary, |report: NodeReport| signals.nodes.update(|nodes| nodes.apply(report))),
            _ => {
                signals.log.update(|log| log.push(&event));
                signals.topics.update(|topics| {
                    topics.apply(&event);
                });
            }
        }
    }

    /// The server could not replay what we missed: load its current state.
    fn on_reset(&self) {
        let signals = self.0.borrow().signals;
        let weak = Rc::downgrade(&self.0);
        leptos::task::spawn_local(async move {
            match fetch_snapshot().await {
                Ok(snapshot) => {
                    signals.history.update(|h| h.merge_snapshot(&snapshot));
                    signals.board.update(|b| b.merge_snapshot(&snapshot));
                    // Alert states are the server's current ones: take them whole.
                    signals.alerts.set(crate::live::alerts::AlertBoard::from_snapshot(&snapshot));
                    // So are the nodes: one revoked or no longer readable meanwhile is gone.
                    signals.nodes.set(crate::live::nodes::NodeBoard::from_snapshot(&snapshot));
                    signals.topics.update(|t| {
                        snapshot.custom.iter().for_each(|event| {
                            t.apply(event);
                        })
                    });
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
            inner.signals.connection.set(ConnectionState::after_error(browser_online(), inner.backoff.attempts()));
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

/// One event of a built-in topic, parsed once for its section and its log line alike;
/// one that does not parse is logged as it came.
fn take<T: serde::de::DeserializeOwned>(signals: &LiveSignals, event: &TopicEvent, summary: impl FnOnce(&T) -> String, apply: impl FnOnce(T)) {
    match serde_json::from_str::<T>(&event.data) {
        Ok(value) => {
            signals.log.update(|log| log.push_summarised(event, || summary(&value)));
            apply(value);
        }
        Err(_) => {
            signals.log.update(|log| log.push(event));
            leptos::logging::warn!("ignoring a {} event that does not parse: {}", event.topic, event.data);
        }
    }
}

/// A DOM listener that holds the stream weakly, so closing the page frees both.
fn listener(weak: &Weak<RefCell<Inner>>, handle: impl Fn(&LiveStream, web_sys::Event) + 'static) -> Listener {
    let weak = weak.clone();
    Closure::new(move |event: web_sys::Event| {
        if let Some(inner) = weak.upgrade() {
            handle(&LiveStream(inner), event);
        }
    })
}

/// Whether the server no longer knows this browser's session: it answers 401.
async fn signed_out() -> bool {
    gloo_net::http::Request::get("/api/auth/session").send().await.is_ok_and(|response| response.status() == 401)
}

fn browser_online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}
