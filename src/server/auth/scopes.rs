//! A token's scopes: what it may read, publish and do, as written and stored.

use std::fmt;

use crate::server::auth::access::Pattern;

/// What a token may do, from its scopes: `read:<pattern>`, `publish:<pattern>`,
/// `operate` (silence, test now, test a channel) and `admin`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scopes {
    pub read: Vec<Pattern>,
    pub publish: Vec<Pattern>,
    pub operate: bool,
    pub admin: bool,
}

impl Scopes {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut scopes = Scopes::default();
        for scope in raw.split([' ', ',']).filter(|s| !s.is_empty()) {
            match scope.split_once(':') {
                None if scope == "admin" => scopes.admin = true,
                None if scope == "operate" => scopes.operate = true,
                Some(("read", pattern)) => scopes.read.push(Pattern::parse(pattern)?),
                Some(("publish", pattern)) => scopes.publish.push(Pattern::parse(pattern)?),
                _ => return Err(format!("{scope:?} is not a scope: read:<pattern>, publish:<pattern>, operate or admin")),
            }
        }
        if scopes == Scopes::default() {
            return Err("a token needs at least one scope: read:<pattern>, publish:<pattern>, operate or admin".to_owned());
        }
        Ok(scopes)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        parts.extend(self.read.iter().map(|p| format!("read:{}", p.as_str())));
        parts.extend(self.publish.iter().map(|p| format!("publish:{}", p.as_str())));
        parts.extend(self.operate.then(|| "operate".to_owned()));
        parts.extend(self.admin.then(|| "admin".to_owned()));
        f.write_str(&parts.join(" "))
    }
}
