//! The HTML shell, with the head written once on the server (leptos_meta
//! would ship its machinery to the browser for tags that never change), and
//! the root component with its routes.

use leptos::{either::Either, prelude::*};

use crate::{
    inline_scripts::{NODE_PICKER_SCRIPT, TEST_NOW_SCRIPT, THEME_SCRIPT},
    ui::{account_bar::AccountBar, dashboard::DashboardPage, theme, viewer_zone},
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    let stylesheet = format!("/{}/netpulse.css", options.site_pkg_dir);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <CommonHead stylesheet title="netpulse"/>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
                <AccountBar/>
                <script inner_html=TEST_NOW_SCRIPT></script>
                <script inner_html=NODE_PICKER_SCRIPT></script>
            </body>
        </html>
    }
}

/// What every page's head carries.
#[component]
fn CommonHead(stylesheet: String, title: &'static str) -> impl IntoView {
    view! {
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title>{title}</title>
        <meta name="description" content="Live network speed and latency, measured by this netpulse node"/>
        <meta name="color-scheme" content="dark light"/>
        <meta name="theme-color" content="#0d1117"/>
        <link rel="stylesheet" id="leptos" href=stylesheet/>
        <link rel="icon" href="/favicon.svg" type="image/svg+xml"/>
        <link rel="manifest" href="/manifest.webmanifest"/>
        <link rel="apple-touch-icon" href="/icons/icon-192.png"/>
        <script inner_html=THEME_SCRIPT></script>
    }
}

/// The alerts page as a whole document. Server-rendered only, with no
/// hydration scripts: it needs no WASM.
#[cfg(feature = "ssr")]
pub fn alerts_document(options: &LeptosOptions, data: crate::model::alerts_page::AlertsPageData) -> String {
    use crate::{inline_scripts::LOCAL_TIME_SCRIPT, ui::alerts_page::AlertsPage};
    let stylesheet = format!("/{}/netpulse.css", options.site_pkg_dir);
    Owner::new().with(|| {
        provide_context(data);
        view! {
            <!DOCTYPE html>
            <html lang="en">
                <head><CommonHead stylesheet title="netpulse alerts"/></head>
                <body>
                    <AlertsPage/>
                    <script inner_html=LOCAL_TIME_SCRIPT></script>
                </body>
            </html>
        }
        .to_html()
    })
}

/// The sign-in or setup page as a whole document, server-rendered only.
#[cfg(feature = "ssr")]
pub fn auth_document(options: &LeptosOptions, data: crate::model::auth_page::AuthPageData) -> String {
    use crate::ui::auth_pages::AuthPage;
    let stylesheet = format!("/{}/netpulse.css", options.site_pkg_dir);
    Owner::new().with(|| {
        provide_context(data);
        view! {
            <!DOCTYPE html>
            <html lang="en">
                <head><CommonHead stylesheet title="netpulse: sign in"/></head>
                <body><AuthPage/></body>
            </html>
        }
        .to_html()
    })
}

/// The account page as a whole document, server-rendered only.
#[cfg(feature = "ssr")]
pub fn account_document(options: &LeptosOptions, data: crate::model::account_page::AccountPageData) -> String {
    use crate::ui::account_page::AccountPage;
    let stylesheet = format!("/{}/netpulse.css", options.site_pkg_dir);
    Owner::new().with(|| {
        provide_context(data);
        view! {
            <!DOCTYPE html>
            <html lang="en">
                <head><CommonHead stylesheet title="netpulse: your account"/></head>
                <body><AccountPage/></body>
            </html>
        }
        .to_html()
    })
}

/// The admin page as a whole document, server-rendered only.
#[cfg(feature = "ssr")]
pub fn admin_document(options: &LeptosOptions, data: crate::model::admin_page::AdminPageData) -> String {
    use crate::{inline_scripts::LOCAL_TIME_SCRIPT, ui::admin_page::AdminPage};
    let stylesheet = format!("/{}/netpulse.css", options.site_pkg_dir);
    Owner::new().with(|| {
        provide_context(data);
        view! {
            <!DOCTYPE html>
            <html lang="en">
                <head><CommonHead stylesheet title="netpulse admin"/></head>
                <body>
                    <AdminPage/>
                    <script inner_html=LOCAL_TIME_SCRIPT></script>
                </body>
            </html>
        }
        .to_html()
    })
}

/// A public status page as a whole document, server-rendered, kept live by `/status.js`.
#[cfg(feature = "ssr")]
pub fn status_document(options: &LeptosOptions, data: crate::model::status_page::StatusPageData) -> String {
    use crate::{inline_scripts::LOCAL_TIME_SCRIPT, ui::status_page::StatusPage};
    let stylesheet = format!("/{}/netpulse.css", options.site_pkg_dir);
    let title: &'static str = "netpulse status";
    Owner::new().with(|| {
        provide_context(data);
        view! {
            <!DOCTYPE html>
            <html lang="en">
                <head><CommonHead stylesheet title/><script src="/status.js" defer></script></head>
                <body>
                    <StatusPage/>
                    <script inner_html=LOCAL_TIME_SCRIPT></script>
                </body>
            </html>
        }
        .to_html()
    })
}

/// The path being rendered: the request's on the server, the address bar's in the browser.
fn page_path() -> String {
    #[cfg(feature = "ssr")]
    {
        return use_context::<axum::http::request::Parts>().map_or_else(|| "/".to_owned(), |p| p.uri.path().to_owned());
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        return web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_else(|| "/".to_owned());
    }
    #[allow(unreachable_code)]
    "/".to_owned()
}

#[component]
pub fn App() -> impl IntoView {
    theme::provide_theme();
    viewer_zone::provide_viewer_zone();
    // One page: the dashboard at `/`; any other path gets a plain answer.
    if page_path() == "/" {
        Either::Left(view! { <DashboardPage/> })
    } else {
        Either::Right(view! { <p class="not-found">"Page not found."</p> })
    }
}
