//! The HTML shell and the root component with its routes.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Link, Meta, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    StaticSegment,
};

use crate::ui::{dashboard::DashboardPage, theme};

/// Applies a stored theme before the first paint, so a light-theme user never
/// sees a dark flash while the WASM loads.
const THEME_SCRIPT: &str = "try{var t=localStorage.getItem('netpulse-theme');if(t==='light'||t==='dark')document.documentElement.dataset.theme=t}catch(e){}";

pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <script inner_html=THEME_SCRIPT></script>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    theme::provide_theme();
    view! {
        <Stylesheet id="leptos" href="/pkg/netpulse.css"/>
        <Title text="netpulse"/>
        <Meta name="description" content="Live network speed and latency, measured by this netpulse node"/>
        <Meta name="color-scheme" content="dark light"/>
        <Link rel="icon" href="/favicon.svg" type_="image/svg+xml"/>
        <Link rel="manifest" href="/manifest.webmanifest"/>
        <Link rel="apple-touch-icon" href="/icons/icon-192.png"/>
        <Meta name="theme-color" content="#0d1117"/>
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                <Route path=StaticSegment("") view=DashboardPage/>
            </Routes>
        </Router>
    }
}
