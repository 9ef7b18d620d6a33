//! What the server-rendered admin page shows: accounts, tokens, sessions, access rules, agent nodes and the audit log.

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdminUser {
    pub name: String,
    pub role: String,
    pub created_ms: i64,
    pub totp: bool,
    /// Made by single sign-on: its role comes from the provider at each sign-in.
    pub single_sign_on: bool,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdminToken {
    pub name: String,
    pub scopes: String,
    pub created_by: String,
    pub created_ms: i64,
    pub expires_ms: Option<i64>,
    pub last_used_ms: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdminSession {
    pub id: i64,
    pub user: String,
    pub created_ms: i64,
    pub last_seen_ms: i64,
    pub address: String,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdminAudit {
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub detail: String,
    pub address: String,
}

/// An access rule; one from the config file has no id and is changed only there.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AdminRule {
    pub id: Option<i64>,
    pub who: String,
    pub series: String,
    pub allow: String,
    /// Who added it and when; none for a rule from the config file.
    pub added: Option<RuleAdded>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleAdded {
    pub by: String,
    pub at_ms: i64,
}

/// An enrolled agent node: its state as the `node` topic tells it, and what only admins see.
#[derive(Clone, Debug, PartialEq)]
pub struct AdminNode {
    pub report: super::node::NodeReport,
    pub joined_ms: i64,
    pub revoked: bool,
}

/// A join token just made, with the command that uses it; shown this once.
#[derive(Clone, Default, PartialEq)]
pub struct NewJoinToken {
    pub token: String,
    pub expires_ms: i64,
    /// This server's address as the admin's browser reached it.
    pub server_url: String,
}

#[derive(Clone, Default, PartialEq)]
pub struct AdminPageData {
    pub node: String,
    /// The admin viewing the page, whose own session is marked.
    pub viewer: String,
    pub own_session: Option<i64>,
    pub users: Vec<AdminUser>,
    pub tokens: Vec<AdminToken>,
    pub sessions: Vec<AdminSession>,
    pub rules: Vec<AdminRule>,
    pub nodes: Vec<AdminNode>,
    pub audit: Vec<AdminAudit>,
    /// What was just done.
    pub notice: Option<String>,
    /// Why the last form failed.
    pub error: Option<String>,
    /// A token just made: its name and secret, shown this once.
    pub new_token: Option<(String, String)>,
    pub new_join_token: Option<NewJoinToken>,
}

/// Written by hand: a new token's secret is never in logs.
impl std::fmt::Debug for AdminPageData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminPageData")
            .field("users", &self.users.len())
            .field("tokens", &self.tokens.len())
            .field("nodes", &self.nodes.len())
            .field("new_token", &self.new_token.as_ref().map(|(name, _)| (name, "[redacted]")))
            .field("new_join_token", &self.new_join_token.as_ref().map(|_| "[redacted]"))
            .finish_non_exhaustive()
    }
}
