//! Channels as written: what each kind needs, and what its Debug output hides.

use super::*;

fn channel(toml_text: &str) -> Result<Channel, Invalid> {
    toml::from_str::<NotifyConfig>(toml_text).unwrap().validate()
}

#[test]
fn each_kind_needs_its_own_keys() {
    assert!(matches!(channel("name = \"hook\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:9/in\"\n").unwrap().kind, ChannelKind::Webhook { .. }));
    assert_eq!(channel("name = \"t\"\nkind = \"telegram\"\ntoken = \"x\"\n").unwrap_err().0, "notify.chat_id");
    assert_eq!(channel("name = \"s\"\nkind = \"slack\"\nurl = \"ftp://x/\"\n").unwrap_err().0, "notify.url");
    assert_eq!(channel("name = \"s\"\nkind = \"slack\"\nurl = \"http://x/\"\nchat_id = \"1\"\n").unwrap_err().0, "notify.chat_id");
    assert_eq!(channel("name = \"p\"\nkind = \"pager\"\n").unwrap_err().0, "notify.kind");
    assert_eq!(channel("name = \"n\"\nkind = \"ntfy\"\nurl = \"http://x/t\"\npriority = 9\n").unwrap_err().0, "notify.priority");
}

#[test]
fn email_defaults_its_port_from_the_security_and_checks_addresses() {
    let mail = channel("name = \"m\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nfrom = \"netpulse <np@example.org>\"\nto = [\"me@example.org\"]\n").unwrap();
    assert!(matches!(mail.kind, ChannelKind::Email { port: 587, security: Security::StartTls, .. }));
    let bad = channel("name = \"m\"\nkind = \"email\"\nsmtp_host = \"h\"\nfrom = \"np@example.org\"\nto = [\"not an address\"]\n");
    assert_eq!(bad.unwrap_err().0, "notify.to");
    let half = channel("name = \"m\"\nkind = \"email\"\nsmtp_host = \"h\"\nfrom = \"a@b.c\"\nto = [\"a@b.c\"]\nusername = \"u\"\n");
    assert_eq!(half.unwrap_err().0, "notify.password");
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let bot = channel("name = \"t\"\nkind = \"telegram\"\ntoken = \"123456:very-secret\"\nchat_id = \"42\"\n").unwrap();
    assert!(!format!("{bot:?}").contains("very-secret"));
    let slack = "name = \"s\"\nkind = \"slack\"\nurl = \"https://hooks.slack.com/services/T0/B0/very-secret\"\n";
    assert!(!format!("{:?}", toml::from_str::<NotifyConfig>(slack).unwrap()).contains("very-secret"), "a webhook's path is its secret");
    assert!(!format!("{:?}", channel(slack).unwrap()).contains("very-secret"));
    let hook = "name = \"h\"\nkind = \"webhook\"\nurl = \"http://h/\"\nheaders = { Authorization = \"Bearer very-secret\" }\n";
    assert!(!format!("{:?}{:?}", toml::from_str::<NotifyConfig>(hook).unwrap(), channel(hook).unwrap()).contains("very-secret"));
}
