//! Dark and light themes: the system's choice by default, a header toggle
//! that overrides it, kept in localStorage and applied as `data-theme` on `<html>`.

use leptos::prelude::*;

/// The key the choice is kept under; the head script in `app.rs` reads it too.
pub const STORAGE_KEY: &str = "netpulse-theme";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    Dark,
    Light,
}

impl Theme {
    pub fn name(self) -> &'static str {
        match self {
            Self::Dark => "dark",
            Self::Light => "light",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "dark" => Some(Self::Dark),
            "light" => Some(Self::Light),
            _ => None,
        }
    }

    pub fn other(self) -> Self {
        match self {
            Self::Dark => Self::Light,
            Self::Light => Self::Dark,
        }
    }
}

/// The theme in force. The server cannot know it, so both sides start from
/// dark and the browser settles the real one right after hydration.
#[derive(Clone, Copy)]
pub struct ThemeState(RwSignal<Theme>);

impl ThemeState {
    pub fn get(self) -> Theme {
        self.0.get()
    }

    pub fn is_light(self) -> bool {
        self.0.get() == Theme::Light
    }
}

pub fn provide_theme() -> ThemeState {
    let state = ThemeState(RwSignal::new(Theme::Dark));
    provide_context(state);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| state.0.set(browser::current()));
    state
}

pub fn use_theme() -> ThemeState {
    use_context::<ThemeState>().unwrap_or_else(provide_theme)
}

#[component]
pub fn ThemeToggle() -> impl IntoView {
    let theme = use_theme();
    let label = move || format!("Switch to {} theme", theme.get().other().name());
    view! {
        <button
            type="button"
            class="theme-toggle"
            data-testid="theme-toggle"
            data-theme=move || theme.get().name()
            aria-label=label
            title=label
            on:click=move |_| {
                let next = theme.get().other();
                theme.0.set(next);
                #[cfg(feature = "hydrate")]
                browser::choose(next);
            }
        >
            <span aria-hidden="true">{move || if theme.is_light() { "☾" } else { "☀" }}</span>
        </button>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::{Theme, STORAGE_KEY};

    /// The stored choice, else the system's preference.
    pub fn current() -> Theme {
        let Some(window) = web_sys::window() else { return Theme::Dark };
        let stored = window.local_storage().ok().flatten().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        if let Some(theme) = stored.as_deref().and_then(Theme::parse) {
            return theme;
        }
        let prefers_light = window.match_media("(prefers-color-scheme: light)").ok().flatten().is_some_and(|m| m.matches());
        if prefers_light {
            Theme::Light
        } else {
            Theme::Dark
        }
    }

    /// Applies and remembers an explicit choice.
    pub fn choose(theme: Theme) {
        let Some(window) = web_sys::window() else { return };
        if let Some(root) = window.document().and_then(|d| d.document_element()) {
            let _ = root.set_attribute("data-theme", theme.name());
        }
        if let Ok(Some(storage)) = window.local_storage() {
            let _ = storage.set_item(STORAGE_KEY, theme.name());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_toggle() {
        for theme in [Theme::Dark, Theme::Light] {
            assert_eq!(Theme::parse(theme.name()), Some(theme));
            assert_eq!(theme.other().other(), theme);
        }
        assert_eq!(Theme::parse("solarized"), None);
    }
}
