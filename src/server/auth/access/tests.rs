use super::*;

fn rule(who: &str, series: &str, allow: Grant) -> AccessRule {
    AccessRuleConfig { who: who.into(), series: series.into(), allow }.parse().unwrap()
}

fn user(name: &str, role: Role) -> Caller {
    Caller::User { name: name.into(), role, session: Some(1), expires_ms: None }
}

fn token(name: &str, scopes: &str) -> Caller {
    Caller::Token { id: 1, name: name.into(), scopes: Scopes::parse(scopes).unwrap(), expires_ms: None }
}

#[test]
fn patterns_match_globs_and_whole_families() {
    let p = |raw: &str| Pattern::parse(raw).unwrap();
    assert!(p("*").matches("probe:web"));
    assert!(p("speed").matches("speed:http://10.0.0.1/speedtest"));
    assert!(!p("speed").matches("probe:speed"));
    assert!(p("probe:web-*").matches("probe:web-1"));
    assert!(!p("probe:web-*").matches("probe:db-1"));
    assert!(p("topic:*s").matches("topic:sales"));
    assert!(p("alert").matches("alert"));
    assert!(!p("alert").matches("alerts"));
    assert!(p("*:a*b*c").matches("x:aXbYbZc"));
    assert!(!p("a*b").matches("a".repeat(5_000).as_str()), "a long near-miss ends");
    assert!(Pattern::parse(" ").is_err());
    assert!(Pattern::parse("bad\nline").is_err());
}

#[test]
fn events_map_to_the_series_rules_name() {
    assert_eq!(series_of("speed", "http://t/"), "speed:http://t/");
    assert_eq!(series_of("live", "http://t/"), "speed:http://t/");
    assert_eq!(series_of("probe", "web"), "probe:web");
    assert_eq!(series_of("alert", "slow|web"), "alert");
    assert_eq!(series_of("sales", ""), "topic:sales");
    assert_eq!(series_of("node", "tokyo"), "node:tokyo");
}

#[test]
fn visitors_get_only_what_a_rule_gives_them() {
    let access = Access::new(vec![rule("anonymous", "speed", Grant::Read), rule("anonymous", "probe:public-*", Grant::Read)]);
    let visitor = Caller::Anonymous;
    assert!(access.may_read(&visitor, "speed:http://t/"));
    assert!(access.may_read(&visitor, "probe:public-site"));
    assert!(!access.may_read(&visitor, "probe:internal"));
    assert!(!access.may(&visitor, "speed:http://t/", Action::Publish));
    assert!(!Access::default().may_read(&visitor, "speed:x"), "nothing is open by default");
    assert!(access.anonymous_reads_anything() && !Access::default().anonymous_reads_anything());
}

#[test]
fn roles_have_defaults_that_rules_narrow_or_widen() {
    let access = Access::new(vec![
        rule("role:viewer", "probe:internal-*", Grant::Deny),
        rule("user:carol", "probe:internal-db", Grant::Read),
        rule("role:viewer", "topic:sales", Grant::Publish),
        rule("role:editor", "topic:payroll", Grant::Deny),
    ]);
    let (viewer, carol, editor, admin) = (user("bob", Role::Viewer), user("carol", Role::Viewer), user("eve", Role::Editor), user("root", Role::Admin));
    assert!(access.may_read(&viewer, "speed:x"));
    assert!(!access.may_read(&viewer, "probe:internal-db"));
    assert!(access.may_read(&carol, "probe:internal-db"), "a user's own rule is more specific than the role's");
    assert!(!access.may_read(&carol, "probe:internal-web"));
    assert!(!access.may(&viewer, "topic:news", Action::Publish));
    assert!(access.may(&viewer, "topic:sales", Action::Publish));
    assert!(access.may(&editor, "topic:news", Action::Publish));
    assert!(!access.may_read(&editor, "topic:payroll") && !access.may(&editor, "topic:payroll", Action::Publish));
    assert!(access.may_read(&admin, "topic:payroll"), "no rule denies an admin");
    assert!(!viewer.may_operate() && editor.may_operate() && admin.may_operate());
    assert!(admin.is_admin() && !editor.is_admin());
}

#[test]
fn a_deny_wins_among_rules_of_the_same_level() {
    let access = Access::new(vec![rule("anonymous", "*", Grant::Read), rule("anonymous", "probe:secret", Grant::Deny)]);
    assert!(!access.may_read(&Caller::Anonymous, "probe:secret"));
    assert!(access.may_read(&Caller::Anonymous, "probe:open"));
    assert!(access.may_read(&user("v", Role::Viewer), "probe:secret"), "anonymous rules are about visitors only");
}

#[test]
fn tokens_do_what_their_scopes_say() {
    let access = Access::new(vec![rule("token:ci", "topic:deploys", Grant::Deny)]);
    let reader = token("grafana", "read:speed read:probe:web-*");
    assert!(access.may_read(&reader, "speed:x") && access.may_read(&reader, "probe:web-1"));
    assert!(!access.may_read(&reader, "probe:db") && !access.may(&reader, "speed:x", Action::Publish));
    let publisher = token("ci", "publish:*");
    assert!(access.may(&publisher, "topic:builds", Action::Publish));
    assert!(!access.may(&publisher, "topic:deploys", Action::Publish), "a rule naming the token narrows it");
    assert!(!access.may_read(&publisher, "topic:builds"), "publishing does not imply reading");
    assert!(!publisher.may_operate() && token("ops", "operate").may_operate());
    assert!(token("root", "admin").is_admin());
}

#[test]
fn bad_rules_and_scopes_say_what_is_expected() {
    assert!("role:owner".parse::<Who>().unwrap_err().contains("not anonymous, role:"));
    assert!("user:".parse::<Who>().is_err() && "user:a b".parse::<Who>().is_err() && "everyone".parse::<Who>().is_err());
    assert_eq!("token:ci".parse::<Who>().unwrap(), Who::Token("ci".into()));
    assert!(Scopes::parse("").unwrap_err().contains("at least one scope"));
    assert!(Scopes::parse("write:*").unwrap_err().contains("is not a scope"));
    assert_eq!(Scopes::parse("read:speed, publish:topic:* operate").unwrap().to_string(), "read:speed publish:topic:* operate");
}

#[test]
fn a_deny_on_a_series_also_denies_every_node_s_copy_of_it() {
    let access = Access::new(vec![rule("role:viewer", "probe:internal-db", Grant::Deny), rule("anonymous", "probe:*@tokyo", Grant::Read)]);
    let viewer = user("v", Role::Viewer);
    assert!(!access.may_read(&viewer, "probe:internal-db@tokyo"));
    assert!(access.may_read(&viewer, "probe:web@tokyo"));
    assert!(access.may_read(&Caller::Anonymous, "probe:internal-db@tokyo"), "the deny is the viewers'");
    assert_eq!(without_node("probe:web@tokyo"), Some("probe:web"));
    assert_eq!(without_node("speed@tokyo"), Some("speed"));
    assert_eq!(without_node("speed:http://u@host/x"), None, "a URL's user is not a node");
    assert_eq!(without_node("probe:web"), None);
}
