//! Monitors as written: defaults, and the key each mistake names.

use super::*;

fn parse(toml_text: &str) -> MonitorConfig {
    #[derive(Deserialize)]
    struct Wrapper {
        monitor: MonitorConfig,
    }
    toml::from_str::<Wrapper>(toml_text).unwrap().monitor
}

#[test]
fn defaults_and_status_ranges() {
    let monitor = parse("[monitor]\nname = \"api\"\nurl = \"http://127.0.0.1:8080/health\"\n").validate().unwrap();
    assert_eq!(monitor.interval, Duration::from_secs(60));
    assert_eq!(monitor.timeout, Duration::from_secs(10));
    let Check::Http(spec) = monitor.check else { panic!("http") };
    assert_eq!(spec.method, reqwest::Method::GET);
    assert_eq!(spec.expect, vec![(200, 299)]);
    assert_eq!(spec.redirects, 10, "redirects are followed, ten at most");
    assert!(spec.body.is_empty(), "no body rule: the body is never read");

    let list = parse("[monitor]\nname = \"a\"\nurl = \"http://h/\"\nexpect_status = [200, \"300-302\", \"404\"]\n").validate().unwrap();
    let Check::Http(spec) = list.check else { panic!("http") };
    assert_eq!(spec.expect, vec![(200, 200), (300, 302), (404, 404)]);

    let json = "[monitor]\nname = \"a\"\nurl = \"https://h/\"\nmin_days_left = 14\njson = [{ path = \"$.status\", equals = \"ok\" }, { path = \"$.lag\", below = 5 }]\n";
    let Check::Http(spec) = parse(json).validate().unwrap().check else { panic!("http") };
    assert_eq!((spec.body.json.len(), spec.min_days_left), (2, Some(14.0)));

    let written = parse("[monitor]\nname = \"a\"\nurl = \"http://h/\"\nheaders = { Authorization = \"Bearer s3cret-token\" }\n");
    assert!(!format!("{written:?}").contains("s3cret-token"), "nor as written");
    let secret = written.validate().unwrap();
    let shown = format!("{secret:?}");
    assert!(shown.contains("Authorization: [redacted]") && !shown.contains("s3cret-token"), "{shown}");
}

#[test]
fn tcp_checks_take_host_and_port() {
    let monitor = parse("[monitor]\nname = \"db\"\ntcp = \"[::1]:5432\"\n").validate().unwrap();
    assert_eq!(monitor.label(), "tcp://::1:5432");
    assert!(parse("[monitor]\nname = \"db\"\ntcp = \"nohost\"\n").validate().is_err());
}

#[test]
fn errors_name_the_key() {
    let cases = [
        ("[monitor]\nname = \"x\"\n", "monitor.url"),
        ("[monitor]\nname = \"x\"\nurl = \"http://h/\"\ntcp = \"h:1\"\n", "monitor.url"),
        ("[monitor]\nname = \"x\"\nurl = \"ftp://h/\"\n", "monitor.url"),
        ("[monitor]\nname = \"x\"\nurl = \"http://h/\"\nmethod = \"G ET\"\n", "monitor.method"),
        ("[monitor]\nname = \"x\"\nurl = \"http://h/\"\nexpect_status = \"abc\"\n", "monitor.expect_status"),
        ("[monitor]\nname = \"x\"\nurl = \"http://h/\"\ninterval = 0\n", "monitor.interval"),
        ("[monitor]\nname = \"x\"\nurl = \"http://h/\"\nheaders = { \"Bad Name\" = \"v\" }\n", "monitor.headers"),
        ("[monitor]\nname = \"x\"\npush = \"short\"\n", "monitor.push"),
        ("[monitor]\nname = \"x\"\npush = \"0123456789abcdef\"\nurl = \"http://h/\"\n", "monitor.url"),
        ("[monitor]\nname = \"x\"\nurl = \"http://h/\"\ngrace = 5\n", "monitor.grace"),
        ("[monitor]\nname = \"x\"\npush = \"0123456789abcdef\"\nkeyword = \"ok\"\n", "monitor.keyword"),
        ("[monitor]\nname = \"x\"\ndns = \"nas.lan\"\nrecord = \"BOGUS\"\n", "monitor.record"),
        ("[monitor]\nname = \"x\"\nurl = \"http://h/\"\nresolver = \"127.0.0.1\"\n", "monitor.resolver"),
        ("[monitor]\nname = \"x\"\ndns = \"nas.lan\"\ntcp = \"h:1\"\n", "monitor.url"),
        ("[monitor]\nname = \"x\"\ndns = \"nas.lan\"\nkeyword = \"ok\"\n", "monitor.keyword"),
        ("[monitor]\nname = \"x\"\nping = \"gw\"\nheaders = { A = \"b\" }\n", "monitor.headers"),
        ("[monitor]\nname = \"x\"\nurl = \"http://h/\"\ncount = 3\n", "monitor.count"),
        ("[monitor]\nname = \"x\"\nping = \"gw\"\nurl = \"http://h/\"\n", "monitor.url"),
        ("[monitor]\nname = \"x\"\npush = \"0123456789abcdef\"\ninterval = 9999999\n", "monitor.interval"),
        ("[monitor]\nname = \"x\"\ntcp = \"h:1\"\nkeyword = \"ok\"\n", "monitor.keyword"),
        ("[monitor]\nname = \"x\"\ntcp = \"h:1\"\nmethod = \"POST\"\n", "monitor.method"),
        ("[monitor]\nname = \"x\"\ndns = \"a.lan\"\nfollow_redirects = false\n", "monitor.follow_redirects"),
        ("[monitor]\nname = \"x\"\ntls = \"h\"\nurl = \"https://h/\"\n", "monitor.url"),
        ("[monitor]\nname = \"x\"\ntls = \"h\"\nkeyword_absent = \"e\"\n", "monitor.keyword_absent"),
        ("[monitor]\nname = \"x\"\ntls = \"h:99999\"\n", "monitor.tls"),
        ("[monitor]\nname = \"x\"\nurl = \"https://h/\"\nserver_name = \"h\"\n", "monitor.server_name"),
        ("[monitor]\nname = \"x\"\nurl = \"http://h/\"\nmin_days_left = 7\n", "monitor.min_days_left"),
        ("[monitor]\nname = \"x\"\nping = \"gw\"\nmin_days_left = 7\n", "monitor.min_days_left"),
        ("[monitor]\nname = \"x\"\nurl = \"http://h/\"\njson = [{ path = \"status\", equals = 1 }]\n", "monitor.json"),
        ("[monitor]\nname = \"x\"\nurl = \"http://h/\"\nkeyword_absent = \"\"\n", "monitor.keyword_absent"),
    ];
    for (text, key) in cases {
        let (got, reason) = parse(text).validate().unwrap_err();
        assert_eq!(got, key, "{text}: {reason}");
        assert!(reason.contains("\"x\""), "names the monitor: {reason}");
    }
}
