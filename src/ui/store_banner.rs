//! A banner shown while history cannot be saved (a full or read-only disk):
//! live figures keep coming, but the person should know they are not kept.

use leptos::prelude::*;

use crate::model::StoreHealth;

/// How often the browser asks `/api/status` whether the store recovered or failed.
#[cfg(feature = "hydrate")]
const POLL: std::time::Duration = std::time::Duration::from_secs(15);

#[component]
pub fn StoreBanner(initial: StoreHealth) -> impl IntoView {
    let health = RwSignal::new(initial);
    #[cfg(feature = "hydrate")]
    {
        let poll = set_interval_with_handle(move || leptos::task::spawn_local(refresh(health)), POLL);
        if let Ok(handle) = poll {
            on_cleanup(move || handle.clear());
        }
    }
    move || {
        health.with(|h| {
            (!h.ok).then(|| {
                let reason = h.last_error.clone().unwrap_or_else(|| "unknown error".to_owned());
                view! {
                    <p class="store-banner" role="alert" data-testid="store-banner">
                        <strong>"History is not being saved. "</strong>
                        {format!("{} events could not be written ({reason}). Live updates continue.", h.failed_writes)}
                    </p>
                }
            })
        })
    }
}

#[cfg(feature = "hydrate")]
async fn refresh(health: RwSignal<StoreHealth>) {
    #[derive(serde::Deserialize)]
    struct Status {
        store: StoreHealth,
    }
    let Ok(response) = gloo_net::http::Request::get("/api/status").send().await else { return };
    if let Ok(status) = response.json::<Status>().await {
        if health.get_untracked() != status.store {
            health.set(status.store);
        }
    }
}
