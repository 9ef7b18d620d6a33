//! What the server-rendered account page shows: who is signed in and their second factor.

#[derive(Clone, Default, PartialEq)]
pub struct AccountPageData {
    pub node: String,
    pub name: String,
    pub role: String,
    /// Signed in through a trusted proxy, which decides how they sign in.
    pub via_proxy: bool,
    pub totp_on: bool,
    /// A second factor being set up: the secret to type in and its QR code as SVG.
    pub enrolment: Option<(String, String)>,
    /// What was just done.
    pub notice: Option<String>,
    /// Why the last form failed.
    pub error: Option<String>,
}

/// Written by hand: a secret being set up is never in logs.
impl std::fmt::Debug for AccountPageData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountPageData")
            .field("name", &self.name)
            .field("totp_on", &self.totp_on)
            .field("enrolment", &self.enrolment.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}
