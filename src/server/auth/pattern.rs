//! Series patterns as access rules and token scopes write them: `*` globs
//! and bare family names.

/// A series pattern: `*` matches any run of characters, and a bare family
/// (`speed`, `probe`, `topic`) matches every series in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 200 || raw.chars().any(char::is_control) {
            return Err(format!("{raw:?} is not a series pattern such as speed, probe:web-*, topic:sales or *"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn matches(&self, series: &str) -> bool {
        glob(self.0.as_bytes(), series.as_bytes()) || (!self.0.contains(':') && family(series).is_some_and(|family| glob(self.0.as_bytes(), family.as_bytes())))
    }
}

/// A series' family: `probe` of `probe:web`, `speed` of an agent node's `speed@tokyo`.
fn family(series: &str) -> Option<&str> {
    series.find([':', '@']).map(|end| &series[..end])
}

/// Whether `text` matches `pattern`, where `*` is any run of bytes.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    // The classic greedy matcher with one backtrack point: linear in practice, never exponential.
    let (mut p, mut t, mut star, mut mark) = (0, 0, None, 0);
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some(p);
            mark = t;
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some(s) = star {
            p = s + 1;
            mark += 1;
            t = mark;
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::Pattern;

    #[test]
    fn families_globs_and_agent_nodes() {
        let matches = |pattern: &str, series: &str| Pattern::parse(pattern).unwrap().matches(series);
        assert!(matches("speed", "speed:http://h/speedtest") && matches("speed", "speed@tokyo") && matches("speed", "speed"));
        assert!(matches("probe", "probe:web@tokyo") && !matches("probe", "speed@tokyo"));
        assert!(matches("probe:*@tokyo", "probe:web@tokyo") && !matches("probe:*@tokyo", "probe:web@osaka") && !matches("probe:*@tokyo", "probe:web"));
        assert!(matches("probe:web*", "probe:web@tokyo") && !matches("probe:web", "probe:web@tokyo"));
        assert!(matches("*", "topic:sales") && !matches("topic:s*", "topic:orders"));
    }
}
