//! What the server-rendered sign-in and setup pages show.

#[derive(Clone, Default, PartialEq)]
pub struct AuthPageData {
    pub node: String,
    pub form: AuthForm,
    /// Where to go after signing in: a path on this server.
    pub next: String,
    /// The one-time setup key, carried by the setup form.
    pub setup_key: String,
    /// Why the last attempt failed, or what to do.
    pub error: Option<String>,
    /// The name typed last, so a failed attempt need not retype it.
    pub name: String,
    /// The key of a sign-in waiting for its one-time code, carried by the code form.
    pub pending: String,
    /// The single sign-on button, when single sign-on is set up.
    pub sso_button: Option<SsoButton>,
}

/// The sign-in page's link to the OpenID provider.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SsoButton {
    pub label: String,
    /// `/login/oidc`, carrying where to go after signing in.
    pub href: String,
}

/// Written by hand: the setup key and the pending sign-in's key are secrets and never shown.
impl std::fmt::Debug for AuthPageData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthPageData")
            .field("form", &self.form)
            .field("next", &self.next)
            .field("setup_key", &"[redacted]")
            .field("pending", &"[redacted]")
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AuthForm {
    #[default]
    SignIn,
    /// Creating the first admin.
    Setup,
    /// netpulse waits for its first admin and this visitor has no setup key.
    AwaitingSetup,
    /// The password was right; the account's one-time code is next.
    Code,
}

/// Whom the dashboard was rendered for, as its footer says.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PageAccount {
    /// The account's name and role, when signed in.
    pub signed_in: Option<(String, String)>,
    /// The cookie sent had stopped working.
    pub session_ended: bool,
}
