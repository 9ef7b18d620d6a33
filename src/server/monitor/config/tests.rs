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
    let Check::Http { method, expect, .. } = monitor.check else { panic!("http") };
    assert_eq!(method, Method::GET);
    assert_eq!(expect, vec![(200, 299)]);

    let list = parse("[monitor]\nname = \"a\"\nurl = \"http://h/\"\nexpect_status = [200, \"300-302\", \"404\"]\n").validate().unwrap();
    let Check::Http { expect, .. } = list.check else { panic!("http") };
    assert_eq!(expect, vec![(200, 200), (300, 302), (404, 404)]);
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
    ];
    for (text, key) in cases {
        let (got, reason) = parse(text).validate().unwrap_err();
        assert_eq!(got, key, "{text}: {reason}");
        assert!(reason.contains("\"x\""), "names the monitor: {reason}");
    }
}
