//! What an HTTP check asks of a response body: a keyword that must appear, one
//! that must not, and JSON assertions (an RFC 9535 JSONPath and an expected
//! value or bound). The body is read only as far as the rules need.

use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::Value;
use serde_json_path::JsonPath;

/// Most of a body read for any rule.
pub const MAX_BODY: usize = 1 << 20;

/// One `json = [{ path = "$.status", equals = "ok" }]` entry as written.
#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct JsonAssertionConfig {
    pub path: String,
    pub equals: Option<Value>,
    pub above: Option<f64>,
    pub below: Option<f64>,
}

/// What every node the path selects must be; the path must select at least one.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    Equals(Value),
    /// Numbers strictly between the bounds that are set.
    Within {
        above: Option<f64>,
        below: Option<f64>,
    },
}

#[derive(Clone, Debug)]
pub struct JsonAssertion {
    pub text: String,
    pub path: JsonPath,
    pub expect: Expect,
}

impl JsonAssertion {
    pub fn parse(config: &JsonAssertionConfig) -> Result<Self, String> {
        let path = JsonPath::parse(&config.path).map_err(|err| format!("{:?} is not a JSONPath: {err}", config.path))?;
        if [config.above, config.below].into_iter().flatten().any(|bound| !bound.is_finite()) {
            return Err(format!("{:?}: above and below must be finite numbers", config.path));
        }
        let expect = match (&config.equals, config.above, config.below) {
            (Some(value), None, None) => Expect::Equals(value.clone()),
            (None, above, below) if above.is_some() || below.is_some() => Expect::Within { above, below },
            _ => return Err(format!("{:?} needs either equals, or above and/or below", config.path)),
        };
        if let Expect::Within { above: Some(low), below: Some(high) } = expect {
            if low >= high {
                return Err(format!("{:?}: above = {low} leaves nothing under below = {high}", config.path));
            }
        }
        Ok(Self { text: config.path.clone(), path, expect })
    }

    /// Passes, or says which value broke it.
    pub fn judge(&self, document: &Value) -> Result<(), String> {
        let nodes = self.path.query(document).all();
        if nodes.is_empty() {
            return Err(format!("{} selects nothing in the response", self.text));
        }
        for node in nodes {
            let fits = match &self.expect {
                Expect::Equals(expected) => node == expected || numbers_equal(node, expected),
                Expect::Within { above, below } => node.as_f64().is_some_and(|n| above.is_none_or(|low| n > low) && below.is_none_or(|high| n < high)),
            };
            if !fits {
                return Err(format!("{} is {}, expected {}", self.text, clip(&node.to_string()), self.expect.describe()));
            }
        }
        Ok(())
    }
}

impl Expect {
    fn describe(&self) -> String {
        match self {
            Expect::Equals(value) => clip(&value.to_string()),
            Expect::Within { above: Some(low), below: Some(high) } => format!("a number above {low} and below {high}"),
            Expect::Within { above: Some(low), .. } => format!("a number above {low}"),
            Expect::Within { below: Some(high), .. } => format!("a number below {high}"),
            Expect::Within { .. } => "a number".to_owned(),
        }
    }
}

/// `1` in TOML and `1.0` in JSON are the same number to a user.
fn numbers_equal(a: &Value, b: &Value) -> bool {
    matches!((a.as_f64(), b.as_f64()), (Some(x), Some(y)) if x == y)
}

/// Values quoted in an error stay short: results and notifications carry them.
fn clip(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// Everything asked of one body.
#[derive(Clone, Debug, Default)]
pub struct BodyRules {
    pub keyword: Option<String>,
    pub keyword_absent: Option<String>,
    pub json: Vec<JsonAssertion>,
}

impl BodyRules {
    pub fn is_empty(&self) -> bool {
        self.keyword.is_none() && self.keyword_absent.is_none() && self.json.is_empty()
    }

    /// Reads as much of `body` as the rules need and judges it. Without rules it is never read.
    pub async fn judge(&self, mut body: hyper::body::Incoming) -> Result<(), String> {
        if self.is_empty() {
            return Ok(());
        }
        // A keyword alone ends the read where it shows up; anything else needs the whole body.
        let stop_at = self.keyword.as_deref().filter(|_| self.keyword_absent.is_none() && self.json.is_empty()).map(str::as_bytes);
        let mut seen: Vec<u8> = Vec::new();
        let mut complete = false;
        while seen.len() < MAX_BODY {
            let Some(frame) = body.frame().await else {
                complete = true;
                break;
            };
            let frame = frame.map_err(|err| super::http::describe_hyper_error(&err))?;
            let Some(data) = frame.data_ref() else { continue };
            // Only the new bytes, and the tail a keyword could straddle, are searched again.
            let from = stop_at.map_or(0, |needle| seen.len().saturating_sub(needle.len().saturating_sub(1)));
            seen.extend_from_slice(&data[..data.len().min(MAX_BODY - seen.len())]);
            if stop_at.is_some_and(|needle| contains(&seen[from..], needle)) {
                return Ok(());
            }
        }
        self.judge_bytes(&seen, complete)
    }

    /// The rules against the body as read; `complete` is false when it was cut at [`MAX_BODY`].
    pub fn judge_bytes(&self, body: &[u8], complete: bool) -> Result<(), String> {
        let read = if complete { "" } else { " (the first 1 MiB)" };
        if let Some(keyword) = &self.keyword {
            if !contains(body, keyword.as_bytes()) {
                return Err(format!("keyword {keyword:?} missing from the response body{read}"));
            }
        }
        if let Some(keyword) = &self.keyword_absent {
            if contains(body, keyword.as_bytes()) {
                return Err(format!("keyword {keyword:?} found in the response body, which must not contain it"));
            }
        }
        if self.json.is_empty() {
            return Ok(());
        }
        if !complete {
            return Err("the response body is over 1 MiB, too long for JSON assertions".to_owned());
        }
        let document: Value = serde_json::from_slice(body).map_err(|err| format!("the response body is not JSON: {err}"))?;
        self.json.iter().try_for_each(|assertion| assertion.judge(&document))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

#[cfg(test)]
mod tests;
