//! Email through real SMTP servers on loopback (Python's aiosmtpd): plain,
//! STARTTLS with a test CA, and implicit TLS with a login, each message
//! parsed back from the server's maildir.

mod common;

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use common::{alerting::test_channel, fast_config, start, Target};
use serde_json::json;

const TOKEN: &str = "email-test-token-0123";

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
    let mut command = Command::new(python);
    command.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")]).args(extra).args(["-c", "aiosmtpd.handlers.Mailbox"]).arg(&maildir);
    Some(listening(command, port, maildir).await)
}

/// Starts `command`, an SMTP server filing mail in `maildir`, and waits until it listens on `port`.
async fn listening(mut command: Command, port: u16, maildir: PathBuf) -> SmtpServer {
    let child = command.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let server = SmtpServer { child, port, maildir };
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the SMTP server did not listen on {port}");
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
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtps_auth_server.py");
    let mut command = Command::new(python);
    command.arg(&script).args(["localhost", &port.to_string()]).args([&cert, &key]).arg(dir.path().join("maildir")).args(["alerts@example.org", "s3cret-pass"]);
    let smtp = listening(command, port, dir.path().join("maildir")).await;
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
