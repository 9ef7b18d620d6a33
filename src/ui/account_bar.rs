//! The dashboard's footer: who is signed in, with sign-out, or a link to sign
//! in. Rendered by the server outside the hydrated app, so it costs the
//! bundle nothing.

use leptos::prelude::*;

use crate::model::auth_page::PageAccount;

#[component]
pub fn AccountBar() -> impl IntoView {
    let account = use_context::<PageAccount>()?;
    let body = match account.signed_in {
        Some((name, role)) => view! {
            <span data-testid="signed-in">"Signed in as " <a href="/account" title="Your account"><strong>{name}</strong></a> " (" {role.clone()} ")"</span>
            {(role == "admin").then(|| view! { <a href="/admin">"Admin"</a> })}
            <form method="post" action="/logout"><button type="submit" class="link-button">"Sign out"</button></form>
        }
        .into_any(),
        None if account.session_ended => view! {
            <span data-testid="session-ended">"Your session has ended."</span>
            <a href="/login">"Sign in"</a>
        }
        .into_any(),
        None => view! {
            <span data-testid="visitor">"Viewing as a visitor."</span>
            <a href="/login">"Sign in"</a>
        }
        .into_any(),
    };
    Some(view! { <footer class="account-bar">{body}</footer> })
}
