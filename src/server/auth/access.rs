//! Who may read or publish which series: the access rules, the callers they
//! name, and `Access::may`, the one decision every page, route and stream asks.

use std::{fmt, str::FromStr};

use serde::Deserialize;

use crate::model::{ALERT_TOPIC, LIVE_TOPIC, NODE_TOPIC, PROBE_TOPIC, SPEED_TOPIC};
pub use crate::server::auth::{pattern::Pattern, scopes::Scopes};

/// An account's role: what it may do beyond the access rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// Reads every series unless a rule denies it.
    Viewer,
    /// Also publishes, silences alerts, previews templates and sends test notifications.
    Editor,
    /// Everything, users and tokens included; no rule denies an admin.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Editor, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Editor => "editor",
            Role::Viewer => "viewer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        Role::ALL.into_iter().find(|role| role.as_str() == raw).ok_or_else(|| format!("{raw:?} is not a role: admin, editor or viewer"))
    }
}

/// What a caller wants to do with a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Read,
    Publish,
}

/// The series an event belongs to, as rules name it: `speed:<target>` (the
/// live round trips to a target too), `probe:<monitor>`, `alert`, `node:<name>`, `topic:<name>`.
pub fn series_of(topic: &str, key: &str) -> String {
    match topic {
        SPEED_TOPIC | LIVE_TOPIC => format!("speed:{key}"),
        PROBE_TOPIC => format!("probe:{key}"),
        ALERT_TOPIC => ALERT_TOPIC.to_owned(),
        NODE_TOPIC => format!("node:{key}"),
        custom => format!("topic:{custom}"),
    }
}

/// A name as measured from an agent node, split at its last `@`: (`probe:web`,
/// `tokyo`) of `probe:web@tokyo`; `None` when what follows is no node name.
pub fn split_node(name: &str) -> Option<(&str, &str)> {
    name.rsplit_once('@').filter(|(_, node)| is_node_name(node))
}

/// The series an agent node's series copies: `probe:web` of `probe:web@tokyo`,
/// `speed` of `speed@tokyo`; `None` for a series of this server's own.
pub fn without_node(series: &str) -> Option<&str> {
    split_node(series).map(|(own, _)| own)
}

/// An agent node's name: 1 to 64 letters, digits, `.`, `_` or `-`.
pub fn is_node_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// The series that stand for a whole topic, for counts per topic: a caller
/// sees a topic's count only if it may read every series of the topic.
pub fn topic_series(topic: &str) -> String {
    series_of(topic, "*")
}

/// Whom a rule is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Who {
    /// A visitor with no session and no token.
    Anonymous,
    Role(Role),
    User(String),
    Token(String),
}

impl FromStr for Who {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        let wrong = || format!("{raw:?} is not anonymous, role:<admin|editor|viewer>, user:<name> or token:<name>");
        match raw.split_once(':') {
            None if raw == "anonymous" => Ok(Who::Anonymous),
            Some(("role", role)) => role.parse().map(Who::Role).map_err(|_| wrong()),
            Some(("user", name)) if valid_name(name) => Ok(Who::User(name.to_owned())),
            Some(("token", name)) if valid_name(name) => Ok(Who::Token(name.to_owned())),
            _ => Err(wrong()),
        }
    }
}

/// User and token names: 1 to 64 letters, digits, `.`, `_`, `-` or `@`.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// What a rule allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Grant {
    Read,
    Publish,
    Deny,
}

impl Grant {
    pub const ALL: [Grant; 3] = [Grant::Read, Grant::Publish, Grant::Deny];

    pub fn as_str(self) -> &'static str {
        match self {
            Grant::Read => "read",
            Grant::Publish => "publish",
            Grant::Deny => "deny",
        }
    }
}

impl FromStr for Grant {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        Grant::ALL.into_iter().find(|grant| grant.as_str() == raw).ok_or_else(|| format!("{raw:?} is not read, publish or deny"))
    }
}

/// One `[[access]]` table as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRuleConfig {
    pub who: String,
    pub series: String,
    pub allow: Grant,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessRule {
    pub who: Who,
    pub series: Pattern,
    pub grant: Grant,
}

impl AccessRuleConfig {
    pub fn parse(&self) -> Result<AccessRule, String> {
        Ok(AccessRule { who: self.who.parse()?, series: Pattern::parse(&self.series)?, grant: self.allow })
    }
}

/// Who is asking, once their session or token has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    Anonymous,
    /// A signed-in account; `session` is the session's row, absent for a
    /// trusted proxy's login, and `expires_ms` when it stops working.
    User {
        name: String,
        role: Role,
        session: Option<i64>,
        expires_ms: Option<i64>,
    },
    Token {
        id: i64,
        name: String,
        scopes: Scopes,
        expires_ms: Option<i64>,
    },
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        matches!(self, Caller::User { role: Role::Admin, .. }) || matches!(self, Caller::Token { scopes, .. } if scopes.admin)
    }

    /// Silencing alerts, previewing templates, sending a test notification.
    pub fn may_operate(&self) -> bool {
        match self {
            Caller::User { role, .. } => *role >= Role::Editor,
            Caller::Token { scopes, .. } => scopes.operate || scopes.admin,
            Caller::Anonymous => false,
        }
    }

    /// How the audit log and the page name the caller.
    pub fn label(&self) -> String {
        match self {
            Caller::Anonymous => "anonymous".to_owned(),
            Caller::User { name, .. } => format!("user:{name}"),
            Caller::Token { name, .. } => format!("token:{name}"),
        }
    }
}

/// The access rules, in one table.
#[derive(Clone, Debug, Default)]
pub struct Access {
    rules: Vec<AccessRule>,
}

impl Access {
    pub fn new(rules: Vec<AccessRule>) -> Self {
        Self { rules }
    }

    /// Whether the caller may read anything at all: a visitor with no rule is told to sign in.
    pub fn reads_anything(&self, caller: &Caller) -> bool {
        match caller {
            Caller::Anonymous => self.anonymous_reads_anything(),
            Caller::Token { .. } | Caller::User { .. } => true,
        }
    }

    /// Whether anonymous visitors may read anything at all.
    pub fn anonymous_reads_anything(&self) -> bool {
        self.rules.iter().any(|rule| rule.who == Who::Anonymous && rule.grant == Grant::Read)
    }

    /// The decision. Admins may do anything. Otherwise the most specific rules
    /// that name the series and the action decide (a user's or token's own,
    /// then its role's, then for visitors the anonymous ones), a deny winning
    /// among equals; with none, a role's default (viewers read, editors also
    /// publish) or a token's scopes. Visitors get nothing by default. An agent
    /// node's copy of a series (`probe:web@tokyo`) is also refused wherever a
    /// rule denies the series itself (`probe:web`).
    pub fn may(&self, caller: &Caller, series: &str, action: Action) -> bool {
        if caller.is_admin() {
            return true;
        }
        if without_node(series).is_some_and(|own| self.ruled(caller, own, action) == Some(false)) {
            return false;
        }
        if let Some(allowed) = self.ruled(caller, series, action) {
            return allowed;
        }
        match (caller, action) {
            (Caller::Anonymous, _) => false,
            (Caller::User { .. }, Action::Read) => true,
            (Caller::User { role, .. }, Action::Publish) => *role >= Role::Editor,
            (Caller::Token { scopes, .. }, Action::Read) => scopes.read.iter().any(|p| p.matches(series)),
            (Caller::Token { scopes, .. }, Action::Publish) => scopes.publish.iter().any(|p| p.matches(series)),
        }
    }

    /// What the most specific rules naming the series and action say, if any do.
    fn ruled(&self, caller: &Caller, series: &str, action: Action) -> Option<bool> {
        // Level 0 is the caller's own rules (or, for visitors, the anonymous ones), level 1 its role's.
        let level_of = |who: &Who| match (who, caller) {
            (Who::Anonymous, Caller::Anonymous) => Some(0),
            (Who::User(named), Caller::User { name, .. }) | (Who::Token(named), Caller::Token { name, .. }) if named == name => Some(0),
            (Who::Role(named), Caller::User { role, .. }) if named == role => Some(1),
            _ => None,
        };
        let mut decided: [Option<bool>; 2] = [None, None];
        for rule in &self.rules {
            let relevant = matches!((rule.grant, action), (Grant::Deny, _) | (Grant::Read, Action::Read) | (Grant::Publish, Action::Publish));
            let Some(level) = level_of(&rule.who).filter(|_| relevant && rule.series.matches(series)) else { continue };
            decided[level] = Some(decided[level].unwrap_or(true) && rule.grant != Grant::Deny);
        }
        decided[0].or(decided[1])
    }

    /// Whether the caller reads every series, so a stream need not ask per
    /// event: admins, and accounts no rule names (viewers read by default).
    pub fn reads_everything(&self, caller: &Caller) -> bool {
        match caller {
            _ if caller.is_admin() => true,
            Caller::User { name, role, .. } => {
                !self.rules.iter().any(|rule| matches!(&rule.who, Who::User(named) if named == name) || rule.who == Who::Role(*role))
            }
            _ => false,
        }
    }

    pub fn may_read(&self, caller: &Caller, series: &str) -> bool {
        self.may(caller, series, Action::Read)
    }
}

#[cfg(test)]
mod tests;
