//! Rooms (seed 003): each section of the dashboard follows one topic and can
//! be switched off, which unsubscribes the page from that topic. The choice
//! is kept in localStorage.

use leptos::prelude::*;

#[cfg(feature = "hydrate")]
const STORAGE_KEY: &str = "netpulse-rooms-off";

/// The topics switched off. Every room starts on, on the server and in the
/// browser alike; the stored choice is applied right after hydration.
#[derive(Clone, Copy)]
pub struct Rooms(RwSignal<Vec<String>>);

impl Rooms {
    pub fn is_on(self, topic: &str) -> bool {
        self.0.with(|off| !off.iter().any(|t| t == topic))
    }

    pub fn set(self, topic: &str, on: bool) {
        self.0.update(|off| {
            off.retain(|t| t != topic);
            if !on {
                off.push(topic.to_owned());
            }
        });
        #[cfg(feature = "hydrate")]
        store(&self.0.get_untracked());
    }

    /// Which of `topics` the stream should subscribe to.
    pub fn subscribed(self, topics: &[String]) -> Vec<String> {
        topics.iter().filter(|t| self.is_on(t)).cloned().collect()
    }
}

/// The stored list: topic names separated by commas, which topics never contain.
pub fn parse_off(stored: &str) -> Vec<String> {
    stored.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect()
}

pub fn provide_rooms() -> Rooms {
    let rooms = Rooms(RwSignal::new(Vec::new()));
    provide_context(rooms);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        let stored = web_sys::window().and_then(|w| w.local_storage().ok().flatten()).and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        if let Some(stored) = stored {
            rooms.0.set(parse_off(&stored));
        }
    });
    rooms
}

pub fn use_rooms() -> Rooms {
    use_context::<Rooms>().unwrap_or_else(provide_rooms)
}

#[cfg(feature = "hydrate")]
fn store(off: &[String]) {
    if let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) {
        let _ = storage.set_item(STORAGE_KEY, &off.join(","));
    }
}

/// An on/off switch for one room, for the keyboard and screen readers alike.
#[component]
pub fn RoomSwitch(topic: String, label: String) -> impl IntoView {
    let rooms = use_rooms();
    let on = Signal::derive({
        let topic = topic.clone();
        move || rooms.is_on(&topic)
    });
    let toggle_topic = topic.clone();
    view! {
        <button
            type="button"
            role="switch"
            class="room-switch"
            data-testid=format!("room-{topic}")
            aria-checked=move || on.get().to_string()
            aria-label=format!("Follow {label}")
            on:click=move |_| rooms.set(&toggle_topic, !rooms.is_on(&toggle_topic))
        >
            <span class="room-switch-track" aria-hidden="true"><span class="room-switch-thumb"></span></span>
            <span class="room-switch-text">{move || if on.get() { "On" } else { "Off" }}</span>
        </button>
    }
}

/// A section's heading with its room switch beside it.
#[component]
pub fn SectionHead(#[prop(into)] heading_id: String, #[prop(into)] title: String, #[prop(into)] topic: String, #[prop(into)] label: String) -> impl IntoView {
    view! {
        <div class="section-head">
            <h2 id=heading_id class="section-title">{title}</h2>
            <RoomSwitch topic label/>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_lists_parse_leniently() {
        assert_eq!(parse_off("speed,sales"), ["speed", "sales"]);
        assert_eq!(parse_off(" probe , ,"), ["probe"]);
        assert!(parse_off("").is_empty());
    }
}
