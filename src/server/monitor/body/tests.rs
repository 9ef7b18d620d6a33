//! Body rules judged on bodies as read: keywords present and absent, JSON paths and bounds.

use super::*;

fn assertion(path: &str, equals: Option<Value>, above: Option<f64>, below: Option<f64>) -> Result<JsonAssertion, String> {
    JsonAssertion::parse(&JsonAssertionConfig { path: path.to_owned(), equals, above, below })
}

fn rules(json: Vec<JsonAssertion>) -> BodyRules {
    BodyRules { json, ..BodyRules::default() }
}

const HEALTH: &[u8] = br#"{"status":"ok","queue":{"depth":12},"services":[{"name":"db","up":true},{"name":"cache","up":false}]}"#;

#[test]
fn json_assertions_pass_on_matching_values_and_say_what_broke_them() {
    let ok = assertion("$.status", Some(Value::from("ok")), None, None).unwrap();
    assert_eq!(rules(vec![ok]).judge_bytes(HEALTH, true), Ok(()));

    let depth = assertion("$.queue.depth", None, Some(0.0), Some(10.0)).unwrap();
    assert_eq!(rules(vec![depth]).judge_bytes(HEALTH, true), Err("$.queue.depth is 12, expected a number above 0 and below 10".to_owned()));

    // Every node selected must match: one service down fails the check.
    let all_up = assertion("$.services[*].up", Some(Value::Bool(true)), None, None).unwrap();
    assert_eq!(rules(vec![all_up]).judge_bytes(HEALTH, true), Err("$.services[*].up is false, expected true".to_owned()));

    let missing = assertion("$.version", Some(Value::from("1")), None, None).unwrap();
    assert_eq!(rules(vec![missing]).judge_bytes(HEALTH, true), Err("$.version selects nothing in the response".to_owned()));

    // A TOML integer equals a JSON float of the same value.
    let twelve = assertion("$.queue.depth", Some(Value::from(12.0)), None, None).unwrap();
    assert_eq!(rules(vec![twelve]).judge_bytes(HEALTH, true), Ok(()));
}

#[test]
fn bodies_that_are_not_json_or_too_long_are_down_with_a_reason() {
    let ok = || assertion("$.status", Some(Value::from("ok")), None, None).unwrap();
    let not_json = rules(vec![ok()]).judge_bytes(b"<html>502 Bad Gateway</html>", true).unwrap_err();
    assert!(not_json.starts_with("the response body is not JSON"), "{not_json}");
    assert!(rules(vec![ok()]).judge_bytes(HEALTH, false).unwrap_err().contains("over 1 MiB"));
}

#[test]
fn keywords_present_and_absent() {
    let both = BodyRules { keyword: Some("ok".into()), keyword_absent: Some("error".into()), json: vec![] };
    assert_eq!(both.judge_bytes(HEALTH, true), Ok(()));
    assert_eq!(both.judge_bytes(b"ok, with an error", true), Err("keyword \"error\" found in the response body, which must not contain it".to_owned()));
    assert_eq!(both.judge_bytes(b"fine", false), Err("keyword \"ok\" missing from the response body (the first 1 MiB)".to_owned()));
}

#[test]
fn assertions_as_written_name_what_is_wrong() {
    assert!(assertion("status", Some(Value::from("ok")), None, None).unwrap_err().contains("is not a JSONPath"));
    assert!(assertion("$.a", None, None, None).unwrap_err().contains("needs either equals"));
    assert!(assertion("$.a", Some(Value::from(1)), Some(0.0), None).unwrap_err().contains("needs either equals"));
    assert!(assertion("$.a", None, Some(5.0), Some(5.0)).unwrap_err().contains("leaves nothing"));
    assert!(assertion("$.a", None, Some(f64::NAN), None).unwrap_err().contains("finite"));
    assert!(assertion("$.a", None, None, Some(f64::INFINITY)).unwrap_err().contains("finite"));
}
