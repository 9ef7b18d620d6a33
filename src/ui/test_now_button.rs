//! "Test now" beside the speed charts, for those who may run tests: it asks
//! this server and every agent node for a speed test at once and says who is
//! testing; the samples arrive on the stream like any others. The markup is
//! static and `inline_scripts::TEST_NOW_SCRIPT` does the asking, so it costs
//! the WASM bundle next to nothing. A second click within 10 s is the
//! server's to refuse, and it says the test is running.

use leptos::prelude::*;

#[component]
pub fn TestNowButton() -> impl IntoView {
    view! {
        <div class="test-now">
            <button type="button" class="test-now-button" data-testid="test-now">"Test now"</button>
            <span role="status" data-testid="test-now-said"></span>
        </div>
    }
}
