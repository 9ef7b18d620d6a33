//! The viewer's time zone, for every time the page shows. Unknown while the
//! server renders and while the page hydrates, so that both render the same
//! text (UTC, labelled); the browser's own once the page runs.

use leptos::prelude::*;

#[derive(Clone, Copy)]
struct ViewerZone(ReadSignal<Option<i32>>);

pub fn provide_viewer_zone() {
    let (zone, set_zone) = signal(None::<i32>);
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| set_zone.set(Some(crate::client::zone::utc_offset_minutes())));
    #[cfg(not(feature = "hydrate"))]
    let _ = set_zone;
    provide_context(ViewerZone(zone));
}

/// Minutes east of UTC, or `None` for "show UTC".
pub fn use_viewer_zone() -> Signal<Option<i32>> {
    use_context::<ViewerZone>().map_or_else(|| Signal::stored(None), |zone| zone.0.into())
}
