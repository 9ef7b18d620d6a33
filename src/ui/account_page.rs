//! The account page: who is signed in, and two-factor sign-in set up, shown
//! or turned off. Rendered by the server alone as plain HTML forms.

use leptos::prelude::*;

use crate::model::account_page::AccountPageData;

#[component]
pub fn AccountPage() -> impl IntoView {
    let data = use_context::<AccountPageData>().unwrap_or_default();
    let notice = data.notice.clone().map(|text| view! { <p class="form-notice" role="status" data-testid="account-notice">{text}</p> });
    let error = data.error.clone().map(|text| view! { <p class="form-error" role="alert" data-testid="account-error">{text}</p> });
    view! {
        <header class="topbar">
            <a class="brand" href="/">"netpulse"</a>
        </header>
        <main class="auth-page">
            <section class="auth-card">
                <h1>"Your account"</h1>
                <p data-testid="account-name">{data.name.clone()} " (" {data.role.clone()} ")"</p>
                {notice}
                {error}
                <h2>"Two-factor sign-in"</h2>
                <SecondFactor data/>
                <p><a href="/">"Back to the dashboard"</a></p>
            </section>
        </main>
    }
}

#[component]
fn SecondFactor(data: AccountPageData) -> impl IntoView {
    if data.via_proxy {
        return view! { <p>"You signed in through the proxy in front of netpulse; it decides how you sign in."</p> }.into_any();
    }
    if let Some((secret, qr_svg)) = data.enrolment {
        return view! {
            <p>"Scan this code with an authenticator app, or type the key in, then enter the six digits it shows."</p>
            <div class="qr-code" role="img" aria-label="QR code of the key" inner_html=qr_svg></div>
            <p>"Key: " <code data-testid="totp-secret">{secret}</code></p>
            <form method="post" action="/account/totp/confirm" data-testid="totp-confirm">
                <label>"Code"<input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required/></label>
                <button type="submit">"Turn on"</button>
            </form>
        }
        .into_any();
    }
    if data.totp_on {
        return view! {
            <p data-testid="totp-state">"On: signing in asks for a code from your app."</p>
            <form method="post" action="/account/totp/off" data-testid="totp-off">
                <label>"Current code"<input name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" maxlength="7" required/></label>
                <button type="submit">"Turn off"</button>
            </form>
        }
        .into_any();
    }
    view! {
        <p data-testid="totp-state">"Off: your password alone signs you in."</p>
        <form method="post" action="/account/totp/start" data-testid="totp-start">
            <button type="submit">"Set up two-factor sign-in"</button>
        </form>
    }
    .into_any()
}
