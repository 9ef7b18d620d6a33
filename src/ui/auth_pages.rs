//! The sign-in and first-admin setup pages, rendered by the server alone as
//! plain HTML forms: they ship no WASM.

use leptos::prelude::*;

use crate::model::auth_page::{AuthForm, AuthPageData};

#[component]
pub fn AuthPage() -> impl IntoView {
    let data = use_context::<AuthPageData>().unwrap_or_default();
    let error = data.error.clone().map(|text| view! { <p class="form-error" role="alert" data-testid="auth-error">{text}</p> });
    let body = match data.form {
        AuthForm::SignIn => view! { <SignInForm data/> }.into_any(),
        AuthForm::Setup => view! { <SetupForm data/> }.into_any(),
        AuthForm::Code => view! { <CodeForm data/> }.into_any(),
        AuthForm::AwaitingSetup => view! {
            <p data-testid="awaiting-setup">
                "netpulse has no admin yet. The server's log has a one-time setup address; open it to create the first admin, or run "
                <code>"netpulse user add NAME --role admin"</code>" on the server."
            </p>
        }
        .into_any(),
    };
    view! {
        <header class="topbar">
            <a class="brand" href="/">"netpulse"</a>
        </header>
        <main class="auth-page">
            <section class="auth-card">
                {error}
                {body}
            </section>
        </main>
    }
}

#[component]
fn SignInForm(data: AuthPageData) -> impl IntoView {
    view! {
        <h1>"Sign in"</h1>
        <form method="post" action="/login" data-testid="login-form">
            <input type="hidden" name="next" value=data.next/>
            <label>"Name"<input name="name" autocomplete="username" required value=data.name/></label>
            <label>"Password"<input name="password" type="password" autocomplete="current-password" required/></label>
            <button type="submit">"Sign in"</button>
        </form>
        // A link, not a form: the provider is another site, which `form-action 'self'` would refuse.
        {data.sso_button.map(|button| view! { <p class="sso"><a class="button sso-button" href=button.href data-testid="sso">{button.label}</a></p> })}
    }
}

#[component]
fn SetupForm(data: AuthPageData) -> impl IntoView {
    view! {
        <h1>"Create the first admin"</h1>
        <p>"This address works once. The account you create here can add users and tokens."</p>
        <form method="post" action="/setup" data-testid="setup-form">
            <input type="hidden" name="key" value=data.setup_key/>
            <label>"Name"<input name="name" autocomplete="username" required value=data.name/></label>
            <label>"Password (10 characters or more)"<input name="password" type="password" autocomplete="new-password" minlength="10" required/></label>
            <button type="submit">"Create admin and sign in"</button>
        </form>
    }
}

#[component]
fn CodeForm(data: AuthPageData) -> impl IntoView {
    view! {
        <h1>"One-time code"</h1>
        <p>"Enter the six digits your authenticator app shows for netpulse."</p>
        <form method="post" action="/login/code" data-testid="code-form">
            <input type="hidden" name="pending" value=data.pending/>
            <input type="hidden" name="next" value=data.next/>
            <label>
                "Code"
                <input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required autofocus/>
            </label>
            <button type="submit">"Sign in"</button>
        </form>
        <p><a href="/login">"Start again"</a></p>
    }
}
