//! From an OpenID provider's claims to a netpulse account: which claim names
//! it, and which values of the groups claim give which role.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::server::auth::access::{valid_name, Role};

/// How claims become a name and a role.
#[derive(Clone, Debug, PartialEq)]
pub struct ClaimRules {
    pub username_claim: String,
    /// A claim name, or a dotted path into objects (`realm_access.roles`).
    pub roles_claim: String,
    pub roles: BTreeMap<String, Role>,
    pub default_role: Option<Role>,
}

/// Why the claims give no account.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("the provider sent no {0} claim to name the account by")]
    NoName(String),
    #[error("the provider's {claim} claim, {value:?}, is not a netpulse name (1 to 64 letters, digits, '.', '_', '-' or '@')")]
    BadName { claim: String, value: String },
    #[error("your account at the provider is in no group that netpulse gives a role to (its {claim} claim holds {found:?})")]
    NoRole { claim: String, found: Vec<String> },
}

/// The claim at `path`: a plain name first, then a dotted path into objects.
fn claim<'a>(claims: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    claims.get(path).or_else(|| {
        let mut parts = path.split('.');
        let first = claims.get(parts.next()?)?;
        parts.try_fold(first, |value, part| value.as_object()?.get(part))
    })
}

/// A claim's text values: one string, or each string of an array.
fn texts(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

impl ClaimRules {
    /// The account's name and role, or why there is none.
    pub fn account(&self, claims: &Map<String, Value>) -> Result<(String, Role), ClaimError> {
        let name = match claim(claims, &self.username_claim) {
            Some(Value::String(name)) if valid_name(name) => name.clone(),
            Some(Value::String(name)) => return Err(ClaimError::BadName { claim: self.username_claim.clone(), value: name.chars().take(80).collect() }),
            _ => return Err(ClaimError::NoName(self.username_claim.clone())),
        };
        let found = texts(claim(claims, &self.roles_claim));
        let mapped = found.iter().filter_map(|value| self.roles.get(value)).max().copied();
        match mapped.or(self.default_role) {
            Some(role) => Ok((name, role)),
            None => Err(ClaimError::NoRole { claim: self.roles_claim.clone(), found }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(default_role: Option<Role>) -> ClaimRules {
        let roles = [("netpulse-admins", Role::Admin), ("ops", Role::Editor), ("staff", Role::Viewer)].map(|(v, r)| (v.to_owned(), r)).into();
        ClaimRules { username_claim: "preferred_username".into(), roles_claim: "groups".into(), roles, default_role }
    }

    fn claims(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn the_highest_mapped_group_gives_the_role() {
        let rules = rules(None);
        let both = claims(json!({ "preferred_username": "ada", "groups": ["staff", "netpulse-admins", "x"] }));
        assert_eq!(rules.account(&both), Ok(("ada".to_owned(), Role::Admin)));
        let one = claims(json!({ "preferred_username": "ed@example.com", "groups": "ops" }));
        assert_eq!(rules.account(&one), Ok(("ed@example.com".to_owned(), Role::Editor)));
    }

    #[test]
    fn unmapped_people_are_refused_unless_a_default_role_is_set() {
        let none = claims(json!({ "preferred_username": "eve", "groups": ["guests"] }));
        assert_eq!(rules(None).account(&none), Err(ClaimError::NoRole { claim: "groups".into(), found: vec!["guests".into()] }));
        assert_eq!(rules(Some(Role::Viewer)).account(&none), Ok(("eve".to_owned(), Role::Viewer)));
        let no_groups = claims(json!({ "preferred_username": "eve" }));
        assert!(matches!(rules(None).account(&no_groups), Err(ClaimError::NoRole { .. })));
    }

    #[test]
    fn names_must_be_netpulse_names_and_paths_reach_into_objects() {
        let rules = ClaimRules { roles_claim: "realm_access.roles".into(), ..rules(None) };
        let keycloak = claims(json!({ "preferred_username": "kim", "realm_access": { "roles": ["ops"] } }));
        assert_eq!(rules.account(&keycloak), Ok(("kim".to_owned(), Role::Editor)));
        let spaced = claims(json!({ "preferred_username": "Kim Lee", "realm_access": { "roles": ["ops"] } }));
        assert!(matches!(rules.account(&spaced), Err(ClaimError::BadName { .. })));
        let nameless = claims(json!({ "sub": "123", "realm_access": { "roles": ["ops"] } }));
        assert_eq!(rules.account(&nameless), Err(ClaimError::NoName("preferred_username".into())));
        assert_eq!(rules.account(&claims(json!({ "preferred_username": 7 }))), Err(ClaimError::NoName("preferred_username".into())));
    }
}
