//! Notification channels against real receivers on loopback: each chat
//! service's documented request shape, SMTP email through a real SMTP server
//! (Python's aiosmtpd), and the `notify-test` and `alerts backtest` commands.

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use common::{
    fast_config,
    receiver::{Mode, Receiver},
    start, Target,
};
use serde_json::{json, Value};

const TOKEN: &str = "channels-test-token-012";

fn channels(hook: &Receiver, closed: u16) -> String {
    let base = hook.url("");
    format!(
        "[[notify]]\nname = \"slack\"\nkind = \"slack\"\nurl = \"{base}/services/T0/B0/x\"\n\
         [[notify]]\nname = \"discord\"\nkind = \"discord\"\nurl = \"{base}/api/webhooks/1/t\"\n\
         [[notify]]\nname = \"telegram\"\nkind = \"telegram\"\nurl = \"{base}/\"\ntoken = \"123:bot-secret\"\nchat_id = \"-42\"\n\
         [[notify]]\nname = \"gotify\"\nkind = \"gotify\"\nurl = \"{base}/\"\ntoken = \"app-token\"\npriority = 8\n\
         [[notify]]\nname = \"ntfy\"\nkind = \"ntfy\"\nurl = \"{base}/netpulse-alerts\"\ntoken = \"tk_ntfy\"\npriority = 4\n\
         [[notify]]\nname = \"sms\"\nkind = \"webhook\"\nurl = \"{base}/2010-04-01/Accounts/AC1/Messages.json\"\ncontent_type = \"application/x-www-form-urlencoded\"\n\
         body = \"To=%2B15551234567&Body={{{{ (title ~ ': ' ~ message) | urlencode }}}}\"\n\
         [[notify]]\nname = \"down\"\nkind = \"webhook\"\nurl = \"http://127.0.0.1:{closed}/hook\"\ntimeout = 2\n"
    )
}

async fn test_channel(client: &reqwest::Client, base: &str, name: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = client.post(format!("{base}/api/notify/{name}/test"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn each_chat_service_gets_its_documented_request() {
    let hook = Receiver::start(Mode::Accept).await;
    let closed = common::closed_port().await;
    let config = fast_config(&format!("publish_token = \"{TOKEN}\"\n[speed]\nenabled = false\n{}", channels(&hook, closed)));
    let server = start(config, Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());

    for name in ["slack", "discord", "telegram", "gotify", "ntfy"] {
        let (status, body) = test_channel(&client, &base, name, Some(TOKEN)).await;
        assert_eq!((status, &body["delivered"]), (200, &json!(true)), "{name}: {body}");
    }
    let got = hook.received();
    assert_eq!(got.len(), 5);
    let text = "netpulse test notification\nIf you can read this, netpulse on test-node can reach you here.";
    assert_eq!((got[0].path.as_str(), got[0].json()), ("/services/T0/B0/x", json!({ "text": text })), "Slack's incoming webhook");
    assert_eq!(got[1].json(), json!({ "content": text }), "Discord's webhook");
    assert_eq!(got[2].path, "/bot123:bot-secret/sendMessage", "Telegram's Bot API");
    assert_eq!(got[2].json(), json!({ "chat_id": "-42", "text": text }));
    assert_eq!((got[3].path.as_str(), got[3].header("x-gotify-key")), ("/message", Some("app-token")), "Gotify's message API");
    assert_eq!(got[3].json()["priority"], 8);
    let ntfy = &got[4];
    assert_eq!((ntfy.path.as_str(), ntfy.header("title"), ntfy.header("priority")), ("/netpulse-alerts", Some("netpulse test notification"), Some("4")));
    assert_eq!(ntfy.header("authorization"), Some("Bearer tk_ntfy"));
    assert!(String::from_utf8_lossy(&ntfy.body).starts_with("If you can read this"), "ntfy's body is the message");
    assert!(got.iter().all(|r| r.method == "POST" && r.header("x-netpulse-delivery").is_some_and(|id| id.len() == 32)));

    let (status, sms) = test_channel(&client, &base, "sms", Some(TOKEN)).await;
    assert_eq!((status, &sms["delivered"]), (200, &json!(true)), "{sms}");
    let form = &hook.received()[5];
    assert_eq!(form.header("content-type"), Some("application/x-www-form-urlencoded"), "a body template sends its own shape");
    assert!(String::from_utf8_lossy(&form.body).starts_with("To=%2B15551234567&Body=netpulse%20test%20notification%3A%20If%20you%20can"), "{:?}", form.body);

    let (status, down) = test_channel(&client, &base, "down", Some(TOKEN)).await;
    assert_eq!((status, &down["delivered"]), (200, &json!(false)));
    let error = down["error"].as_str().unwrap();
    assert!(error.contains("onnect"), "the exact error: {error}");
    assert_eq!(test_channel(&client, &base, "slack", None).await.0, 401, "test messages need the token");

    let preview = |body: Value, token: Option<&'static str>| {
        let mut request = client.post(format!("{base}/api/alerts/preview")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    assert_eq!(preview(json!({ "template": "{{ label }} is {{ value }}" }), None).await.0, 401);
    let (status, shown) = preview(json!({ "template": "{{ label }} is {{ value }}", "values": { "value": "12.5" } }), Some(TOKEN)).await;
    assert_eq!((status, shown["text"].as_str()), (200, Some("download is 12.5")));
    let (status, default) = preview(json!({ "kind": "resolved" }), Some(TOKEN)).await;
    assert_eq!(status, 200);
    assert!(default["text"].as_str().unwrap().starts_with("download back to 41.8 Mbit/s after 38 min"), "{default}");
    let (status, typo) = preview(json!({ "template": "{{ valeu }}" }), Some(TOKEN)).await;
    assert_eq!(status, 422, "{typo}");
    assert!(typo["error"].as_str().unwrap().contains("undefined"), "{typo}");
    let endless = "{% for a in range(100000) %}{% for b in range(100000) %}x{% endfor %}{% endfor %}";
    assert_eq!(preview(json!({ "template": endless }), Some(TOKEN)).await.0, 422, "a runaway template is cut off");
    assert_eq!(preview(json!({ "values": { "nope": "1" } }), Some(TOKEN)).await.0, 400);
    assert_eq!(test_channel(&client, &base, "pager", Some(TOKEN)).await.0, 404);
    server.shutdown().await;
}

/// The Python that has aiosmtpd: `python3` on PATH, or Debian's.
fn python_with_aiosmtpd() -> Option<&'static str> {
    ["python3", "/usr/bin/python3"]
        .into_iter()
        .find(|python| Command::new(python).args(["-c", "import aiosmtpd"]).stderr(Stdio::null()).status().is_ok_and(|s| s.success()))
}

/// A real SMTP server on loopback that files each message in a maildir.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    maildir: PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn smtp_server(dir: &Path, extra: &[&Path]) -> Option<SmtpServer> {
    let Some(python) = python_with_aiosmtpd() else {
        assert!(std::env::var_os("NETPULSE_REQUIRE_SMTP").is_none(), "aiosmtpd is not installed (pip install aiosmtpd, or apt install python3-aiosmtpd)");
        eprintln!("skipping: aiosmtpd is not installed");
        return None;
    };
    let port = common::closed_port().await;
    let maildir = dir.join("maildir");
    let mut child = Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(extra)
        .args(["-c", "aiosmtpd.handlers.Mailbox"])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Some(SmtpServer { child, port, maildir });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("aiosmtpd did not listen on {port}");
}

/// Undoes quoted-printable, which mail uses for the body's non-ASCII text.
fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3).and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok())) {
            (b'=', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The messages in the maildir's `new/`, parsed into headers and body.
async fn wait_for_mail(maildir: &Path, n: usize) -> Vec<(String, String)> {
    for _ in 0..100 {
        let mut mails: Vec<(String, String)> = std::fs::read_dir(maildir.join("new"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| std::fs::read_to_string(entry.path()).unwrap().replace("\r\n", "\n"))
            .map(|text| text.split_once("\n\n").map(|(h, b)| (h.to_owned(), quoted_printable(b))).unwrap_or_default())
            .collect();
        if mails.len() >= n {
            mails.sort();
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("fewer than {n} messages arrived");
}

#[tokio::test]
async fn email_goes_through_a_real_smtp_server() {
    let dir = tempfile::tempdir().unwrap();
    let Some(smtp) = smtp_server(dir.path(), &[]).await else { return };
    let config = fast_config(&format!(
        "publish_token = \"{TOKEN}\"\ntopics = [\"sales\"]\n[speed]\nenabled = false\n\
         [[notify]]\nname = \"mail\"\nkind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsecurity = \"plain\"\nfrom = \"netpulse <netpulse@example.org>\"\nto = [\"ops@example.org\"]\n\
         [[alert]]\nname = \"few orders\"\nseries = \"topic:sales\"\nfield = \"orders\"\ncondition = \"< 10\"\nnotify = [\"mail\"]\n",
        smtp.port
    ));
    let server = start(config, Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());
    let (status, test) = test_channel(&client, &base, "mail", Some(TOKEN)).await;
    assert_eq!((status, &test["delivered"]), (200, &json!(true)), "{test}");
    let response = client.post(format!("{base}/api/publish/sales")).bearer_auth(TOKEN).json(&json!({ "orders": 3 })).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let mails = wait_for_mail(&smtp.maildir, 2).await;
    let (firing, tested) = (&mails[0], &mails[1]);
    assert!(firing.0.contains("Subject: Firing: few orders"), "{}", firing.0);
    assert!(firing.1.contains("orders 3 below 10 (test-node → sales)"), "{}", firing.1);
    assert!(tested.0.contains("Subject: netpulse test notification"), "{}", tested.0);
    assert!(tested.0.contains(&format!("Message-ID: <{}@netpulse>", test["delivery_id"].as_str().unwrap())), "the delivery id: {}", tested.0);
    assert!(tested.0.contains("To: ops@example.org") && tested.0.contains("From: netpulse <netpulse@example.org>"));
    server.shutdown().await;
}

fn netpulse(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_netpulse")).args(args).output().unwrap();
    (output.status.code().unwrap_or(-1), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notify_test_reports_delivery_or_the_exact_error() {
    let hook = Receiver::start(Mode::Accept).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("netpulse.toml");
    std::fs::write(&path, channels(&hook, common::closed_port().await)).unwrap();
    let config = path.to_str().unwrap();
    let (code, out, _) = tokio::task::spawn_blocking({
        let config = config.to_owned();
        move || netpulse(&["notify-test", "slack", "--config", &config])
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("delivered to slack"), "{out}");
    assert_eq!(hook.received().len(), 1);
    let (code, out, _) = netpulse(&["notify-test", "down", "--config", config]);
    assert_eq!(code, 1);
    assert!(out.starts_with("not delivered to down: ") && out.contains("onnect"), "{out}");
    let (code, _, err) = netpulse(&["notify-test", "pager", "--config", config]);
    assert_eq!(code, 2);
    assert!(err.contains("no [[notify]] channel is named \"pager\""), "{err}");
    assert!(!err.contains("bot-secret") && !out.contains("bot-secret"), "the Telegram token never shows");
}

#[test]
fn bad_alert_config_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[[alert]]\nname = \"r\"\nseries = \"speed\"\nfield = \"download_mbps\"\ncondition = \"< 100\"\nnotify = [\"nowhere\"]\n", "invalid alert.notify:"),
        ("[[alert]]\nname = \"r\"\nseries = \"speed\"\nfield = \"download\"\ncondition = \"< 100\"\n", "invalid alert.field:"),
        ("[[notify]]\nname = \"n\"\nkind = \"email\"\nsmtp_host = \"h\"\nfrom = \"a@b.c\"\n", "invalid notify.to:"),
        ("[alerts]\nexpire = \"forever\"\n", "invalid alerts.expire:"),
    ];
    for (text, expected) in cases {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let (code, _, err) = netpulse(&["--config", path.to_str().unwrap()]);
        assert_eq!(code, 2, "{text}");
        assert!(err.starts_with(&format!("netpulse: {expected}")) && err.trim().lines().count() == 1, "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backtest_replays_stored_history_through_a_rule() {
    let dir = tempfile::tempdir().unwrap();
    let rule = "[[alert]]\nname = \"few orders\"\nseries = \"topic:sales\"\nfield = \"orders\"\ncondition = \"< 10\"\naggregate = \"2 of 2\"\n";
    let mut config = fast_config(&format!("publish_token = \"{TOKEN}\"\ntopics = [\"sales\"]\n[speed]\nenabled = false\n"));
    config.data_dir = dir.path().join("data");
    let server = start(config, Target::Refusing).await;
    let client = reqwest::Client::new();
    // Two dips: one of a single sample (the rule ignores it), one of three.
    for orders in [50, 5, 50, 50, 4, 3, 2, 60, 70] {
        let response = client.post(server.url("/api/publish/sales")).bearer_auth(TOKEN).json(&json!({ "orders": orders })).send().await.unwrap();
        assert_eq!(response.status(), 202);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.shutdown().await;
    let path = dir.path().join("netpulse.toml");
    std::fs::write(&path, format!("data_dir = {:?}\ntopics = [\"sales\"]\n{rule}", dir.path().join("data"))).unwrap();
    let config = path.to_str().unwrap().to_owned();
    let (code, out, err) = tokio::task::spawn_blocking(move || netpulse(&["alerts", "backtest", "few orders", "--config", &config, "--json"])).await.unwrap();
    assert_eq!(code, 0, "{err}");
    let result: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["samples"], 9);
    let incidents = result["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{result}");
    assert_eq!((incidents[0]["worst"].as_f64(), incidents[0]["subject"].as_str()), (Some(2.0), Some("sales")));
    assert!(incidents[0]["ended_ms"].is_i64());
    let (code, _, err) = netpulse(&["alerts", "backtest", "nope", "--config", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("no [[alert]] rule is named \"nope\""), "{err}");
}

/// A CA, and a certificate for `localhost` that it signed, as PEM files in `dir`: (ca, cert, key).
fn test_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&leaf_key, &ca, &ca_key).unwrap();
    let paths = (dir.join("ca.pem"), dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&paths.0, ca.pem()).unwrap();
    std::fs::write(&paths.1, leaf.pem()).unwrap();
    std::fs::write(&paths.2, leaf_key.serialize_pem()).unwrap();
    paths
}

#[tokio::test]
async fn email_over_starttls_checks_the_servers_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_ca(dir.path());
    let Some(smtp) = smtp_server(dir.path(), &[Path::new("--tlscert"), &cert, Path::new("--tlskey"), &key]).await else { return };
    let channel = |name: &str, ca: Option<&Path>| {
        format!(
            "[[notify]]\nname = \"{name}\"\nkind = \"email\"\nsmtp_host = \"localhost\"\nsmtp_port = {}\nsecurity = \"starttls\"\nfrom = \"np@example.org\"\nto = [\"ops@example.org\"]\ntimeout = 5\n{}",
            smtp.port,
            ca.map(|ca| format!("ca_file = {:?}\n", ca)).unwrap_or_default()
        )
    };
    let config =
        fast_config(&format!("publish_token = \"{TOKEN}\"\n[speed]\nenabled = false\n{}{}", channel("trusted", Some(&ca)), channel("untrusted", None)));
    let server = start(config, Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());
    let (_, trusted) = test_channel(&client, &base, "trusted", Some(TOKEN)).await;
    assert_eq!(trusted["delivered"], true, "{trusted}");
    let mails = wait_for_mail(&smtp.maildir, 1).await;
    assert!(mails[0].0.contains("Subject: netpulse test notification"));
    let (_, untrusted) = test_channel(&client, &base, "untrusted", Some(TOKEN)).await;
    assert_eq!(untrusted["delivered"], false, "a certificate no trusted CA signed is refused: {untrusted}");
    assert!(untrusted["error"].as_str().unwrap().to_lowercase().contains("certificate"), "{untrusted}");
    server.shutdown().await;
}

#[tokio::test]
async fn email_over_implicit_tls_logs_in_and_a_wrong_password_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = test_ca(dir.path());
    let Some(python) = python_with_aiosmtpd() else {
        assert!(std::env::var_os("NETPULSE_REQUIRE_SMTP").is_none(), "aiosmtpd is not installed");
        return;
    };
    let port = common::closed_port().await;
    let maildir = dir.path().join("maildir");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtps_auth_server.py");
    let child = Command::new(python)
        .arg(&script)
        .args(["localhost", &port.to_string()])
        .args([&cert, &key, &maildir])
        .args(["alerts@example.org", "s3cret-pass"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let smtp = SmtpServer { child, port, maildir };
    let mut listening = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            listening = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(listening, "the SMTPS server did not listen on {port}");
    let channel = |name: &str, password: &str| {
        format!(
            "[[notify]]\nname = \"{name}\"\nkind = \"email\"\nsmtp_host = \"localhost\"\nsmtp_port = {port}\nsecurity = \"tls\"\nusername = \"alerts@example.org\"\npassword = \"{password}\"\nca_file = {ca:?}\nfrom = \"np@example.org\"\nto = [\"ops@example.org\"]\ntimeout = 5\n"
        )
    };
    let config =
        fast_config(&format!("publish_token = \"{TOKEN}\"\n[speed]\nenabled = false\n{}{}", channel("mail", "s3cret-pass"), channel("wrong", "guess")));
    let server = start(config, Target::Refusing).await;
    let (base, client) = (server.url(""), reqwest::Client::new());
    let (_, sent) = test_channel(&client, &base, "mail", Some(TOKEN)).await;
    assert_eq!(sent["delivered"], true, "{sent}");
    let mails = wait_for_mail(&smtp.maildir, 1).await;
    assert!(mails[0].0.contains("Subject: netpulse test notification"), "{}", mails[0].0);
    let (_, refused) = test_channel(&client, &base, "wrong", Some(TOKEN)).await;
    assert_eq!(refused["delivered"], false, "{refused}");
    let error = refused["error"].as_str().unwrap();
    assert!(error.contains("535"), "the server's own answer to the wrong password: {error}");
    assert!(!error.contains("guess"), "the password is not in the error: {error}");
    server.shutdown().await;
}
