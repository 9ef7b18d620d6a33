//! "Test now" beside the speed charts, for those who may run tests: it asks
//! this server and every agent node for a speed test at once and says who is
//! testing. The samples arrive on the stream like any others.

use leptos::prelude::*;

/// The button stays off this long after a click: a test takes seconds, and the
/// server leaves a node asked less than 10 s ago alone.
#[cfg(feature = "hydrate")]
const PAUSE: std::time::Duration = std::time::Duration::from_secs(10);

#[component]
pub fn TestNowButton() -> impl IntoView {
    let said = RwSignal::new(String::new());
    let waiting = RwSignal::new(false);
    let ask = move |_| {
        waiting.set(true);
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            said.set(crate::client::test_now_api::ask().await);
            set_timeout(move || waiting.set(false), PAUSE);
        });
    };
    view! {
        <div class="test-now">
            <button type="button" class="test-now-button" data-testid="test-now" on:click=ask disabled=waiting>"Test now"</button>
            <span role="status" data-testid="test-now-said">{said}</span>
        </div>
    }
}
