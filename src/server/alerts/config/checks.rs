//! The parts of a rule checked apart from its own table: its flapping
//! window, and that its `depends_on` chain ends.

use std::time::Duration;

use super::Rule;
use crate::server::{
    alerts::condition::parse_duration,
    config::{invalid, ConfigError},
};

/// `K in WINDOW`, such as `4 in 1h`.
pub(super) fn parse_flapping(text: &str) -> Result<(usize, Duration), String> {
    let (count, window) = text.split_once(" in ").ok_or_else(|| format!("must be \"K in WINDOW\", such as \"4 in 1h\", got {text:?}"))?;
    let count: usize = count.trim().parse().map_err(|_| format!("{count:?} is not a count"))?;
    let window = parse_duration(window)?;
    if count < 2 || window.is_zero() {
        return Err(format!("needs at least 2 changes in a window longer than zero, got {text:?}"));
    }
    Ok((count, window))
}

/// A rule's `depends_on` names another rule, and following the chain never comes back to it.
pub(super) fn check_dependencies(rule: &Rule, rules: &[Rule]) -> Result<(), ConfigError> {
    let mut seen = vec![rule.name.as_str()];
    let mut next = rule.depends_on.as_deref();
    while let Some(parent) = next {
        let Some(found) = rules.iter().find(|r| r.name == parent) else {
            return Err(invalid("alert.depends_on", format!("rule {:?}: no [[alert]] rule is named {parent:?}", rule.name)));
        };
        if seen.contains(&parent) {
            return Err(invalid("alert.depends_on", format!("rule {:?}: the dependencies go round in a circle through {parent:?}", rule.name)));
        }
        seen.push(parent);
        next = found.depends_on.as_deref();
    }
    Ok(())
}
