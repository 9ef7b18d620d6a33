//! What an HTTP(S) check does on the way to its answer, against real servers
//! on loopback: redirects, body rules (JSON assertions, keywords), bodies read only as far as needed, a connect that
//! moves past an address that never answers, and HTTPS with a test CA over
//! HTTP/2 and HTTP/1.1.

mod common;

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use netpulse::{
    model::ProbeResult,
    server::monitor::{
        check,
        config::{Monitor, MonitorConfig},
        connect,
    },
};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
};

fn monitor(table: &str) -> Monitor {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        monitor: MonitorConfig,
    }
    toml::from_str::<Wrapper>(&format!("[monitor]\nname = \"m\"\ntimeout = 2\n{table}")).unwrap().monitor.validate().unwrap()
}

async fn run(table: &str, tls: &tokio_rustls::TlsConnector) -> (ProbeResult, Duration) {
    let started = Instant::now();
    let result = check::check(&monitor(table), tls).await;
    (result, started.elapsed())
}

/// The request line's path.
async fn read_path(stream: &mut TcpStream) -> String {
    let head = common::read_request_head(stream).await;
    String::from_utf8_lossy(&head).split_whitespace().nth(1).unwrap_or("/").to_owned()
}

/// `/a` → 301 to `/b` → 302 to an absolute `/c` → 200; `/loop` redirects to itself;
/// `/slow-body` sends a keyword and then stalls.
async fn redirecting_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let path = read_path(&mut stream).await;
                let reply = match path.as_str() {
                    "/a" => "HTTP/1.1 301 Moved\r\nLocation: /b\r\nContent-Length: 0\r\n\r\n".to_owned(),
                    "/b" => format!("HTTP/1.1 302 Found\r\nLocation: http://{addr}/c?x=1\r\nContent-Length: 0\r\n\r\n"),
                    "/c?x=1" => "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_owned(),
                    "/loop" => "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\n\r\n".to_owned(),
                    "/health" => json_reply(r#"{"status":"ok","lag":2,"disks":[{"free":40},{"free":12}]}"#),
                    "/degraded" => json_reply(r#"{"status":"degraded","lag":9,"error":"replica behind"}"#),
                    "/gateway" => "HTTP/1.1 200 OK\r\nContent-Length: 18\r\n\r\n<h1>Bad Gateway</h1>".to_owned(),
                    "/slow-body" => "HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n<html>status: healthy".to_owned(),
                    _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
                };
                let _ = stream.write_all(reply.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(30)).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn redirects_are_followed_to_the_final_answer_and_reported() {
    let addr = redirecting_server().await;
    let tls = check::tls_connector();
    let (result, _) = run(&format!("url = \"http://{addr}/a\""), &tls).await;
    assert!(result.up, "{result:?}");
    assert_eq!((result.status_code, result.redirects), (Some(200), 2));
    assert_eq!(result.final_url, Some(format!("http://{addr}/c?x=1")));
    assert_eq!(result.protocol.as_deref(), Some("HTTP/1.1"));

    let (result, _) = run(&format!("url = \"http://{addr}/loop\"\nmax_redirects = 3"), &tls).await;
    assert!(!result.up);
    assert_eq!(result.error.as_deref(), Some("more than 3 redirects"));

    let (result, _) = run(&format!("url = \"http://{addr}/a\"\nfollow_redirects = false"), &tls).await;
    assert_eq!((result.up, result.error.as_deref()), (false, Some("unexpected status 301")));
    let (result, _) = run(&format!("url = \"http://{addr}/a\"\nfollow_redirects = false\nexpect_status = \"301\""), &tls).await;
    assert!(result.up && result.redirects == 0 && result.final_url.is_none(), "{result:?}");
}

fn json_reply(body: &str) -> String {
    format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}", body.len())
}

#[tokio::test]
async fn json_assertions_and_absent_keywords_judge_the_body() {
    let addr = redirecting_server().await;
    let tls = check::tls_connector();
    let rules = "json = [{ path = \"$.status\", equals = \"ok\" }, { path = \"$.lag\", below = 5 }, { path = \"$.disks[*].free\", above = 10 }]";
    let (healthy, _) = run(&format!("url = \"http://{addr}/health\"\n{rules}\nkeyword_absent = \"error\""), &tls).await;
    assert!(healthy.up, "{healthy:?}");

    let (degraded, _) = run(&format!("url = \"http://{addr}/degraded\"\n{rules}"), &tls).await;
    assert_eq!((degraded.up, degraded.error.as_deref()), (false, Some("$.status is \"degraded\", expected \"ok\"")));
    assert_eq!(degraded.status_code, Some(200), "the status was fine; the body was not");

    let (erring, _) = run(&format!("url = \"http://{addr}/degraded\"\nkeyword_absent = \"error\""), &tls).await;
    assert_eq!(erring.error.as_deref(), Some("keyword \"error\" found in the response body, which must not contain it"));

    let (html, _) = run(&format!("url = \"http://{addr}/gateway\"\n{rules}"), &tls).await;
    assert!(html.error.as_deref().is_some_and(|e| e.starts_with("the response body is not JSON")), "{html:?}");
}

#[tokio::test]
async fn a_keyword_ends_the_read_as_soon_as_it_is_found() {
    let addr = redirecting_server().await;
    let (result, elapsed) = run(&format!("url = \"http://{addr}/slow-body\"\nkeyword = \"healthy\""), &check::tls_connector()).await;
    assert!(result.up, "{result:?}");
    assert!(elapsed < Duration::from_millis(500), "the rest of the megabyte is never waited for: {elapsed:?}");
}

/// A loopback address whose SYNs go unanswered: a listener whose accept
/// queue is full and that never accepts.
fn black_hole() -> (socket2::Socket, Vec<std::net::TcpStream>, SocketAddr) {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
    socket.listen(0).unwrap();
    let addr = socket.local_addr().unwrap().as_socket().unwrap();
    // These fill the queue; connects beyond them hang in SYN retries.
    let fillers: Vec<_> = (0..2).filter_map(|_| std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).ok()).collect();
    (socket, fillers, addr)
}

#[tokio::test]
async fn a_connect_moves_past_an_address_that_never_answers() {
    let (_socket, _fillers, silent) = black_hole();
    let alone = tokio::time::timeout(Duration::from_millis(1500), connect::connect_any(&[silent])).await;
    assert!(alone.is_err(), "the black hole really never answers");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let good = listener.local_addr().unwrap();
    let started = Instant::now();
    connect::connect_any(&[silent, good]).await.expect("the second address connects");
    let waited = started.elapsed();
    assert!(waited >= connect::ATTEMPT_DELAY && waited < Duration::from_millis(1000), "started after the delay, not after a timeout: {waited:?}");
}

/// A test CA and an HTTPS server signed by it, offering `alpn`.
#[tokio::test]
async fn https_checks_speak_http2_when_offered_and_trust_only_what_they_should() {
    let h2 = common::tls::tls_server(&["127.0.0.1"], &[b"h2", b"http/1.1"]).await;
    let trusting = check::tls_connector_with(h2.roots.clone());
    let (result, _) = run(&format!("url = \"https://{}/\"\nkeyword = \"well\"", h2.addr), &trusting).await;
    assert!(result.up, "{result:?}");
    assert_eq!(result.protocol.as_deref(), Some("HTTP/2"));
    assert!(result.tls_ms.is_some() && result.ttfb_ms.is_some(), "{result:?}");

    let h1 = common::tls::tls_server(&["127.0.0.1"], &[b"http/1.1"]).await;
    let (result, _) = run(&format!("url = \"https://{}/\"", h1.addr), &check::tls_connector_with(h1.roots.clone())).await;
    assert!(result.up, "{result:?}");
    assert_eq!(result.protocol.as_deref(), Some("HTTP/1.1"));

    // Mozilla's roots do not include a test CA.
    let (result, _) = run(&format!("url = \"https://{}/\"", h2.addr), &check::tls_connector()).await;
    assert!(!result.up);
    assert!(result.error.as_deref().is_some_and(|e| e.starts_with("TLS failure") && e.contains("UnknownIssuer")), "{result:?}");

    // A certificate for another name is refused even from a trusted CA.
    let other = common::tls::tls_server(&["other.test"], &[b"h2"]).await;
    let (result, _) = run(&format!("url = \"https://{}/\"", other.addr), &check::tls_connector_with(other.roots.clone())).await;
    assert!(!result.up);
    assert!(result.error.as_deref().is_some_and(|e| e.starts_with("TLS failure") && e.contains("not valid for name")), "{result:?}");
}

#[tokio::test]
async fn https_checks_report_the_days_their_certificate_has_left_and_an_expired_one_is_down() {
    let today = chrono::Utc::now().date_naive();
    let soon = common::tls::tls_server_until(&["127.0.0.1"], &[b"http/1.1"], Some(today + chrono::Days::new(5))).await;
    let (result, _) = run(&format!("url = \"https://{}/\"", soon.addr), &check::tls_connector_with(soon.roots.clone())).await;
    assert!(result.up, "{result:?}");
    let days = result.cert_days_left.expect("days left");
    assert!(days > 4.0 && days <= 5.0, "expires at the start of the fifth day from today: {days}");

    let past = common::tls::tls_server_until(&["127.0.0.1"], &[b"http/1.1"], Some(today - chrono::Days::new(1))).await;
    let (result, _) = run(&format!("url = \"https://{}/\"", past.addr), &check::tls_connector_with(past.roots.clone())).await;
    assert!(!result.up, "{result:?}");
    let days = result.cert_days_left.expect("an expired certificate still shows how long ago it expired");
    assert!((-2.0..=-1.0).contains(&days), "expired at the start of yesterday: {days}");
    assert!(result.error.as_deref().is_some_and(|e| e.starts_with("TLS failure") && e.contains("certificate expired")), "{result:?}");

    let (plain, _) = run("url = \"http://127.0.0.1:9/\"", &check::tls_connector()).await;
    assert_eq!(plain.cert_days_left, None, "plain HTTP has no certificate");
}

/// Answers `/here` with a redirect to `away`, and every other path with
/// whether its request carried an `Authorization` header.
async fn credential_server(away: Option<String>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let away = away.clone();
            tokio::spawn(async move {
                let head = String::from_utf8_lossy(&common::read_request_head(&mut stream).await).to_ascii_lowercase();
                let reply = match (head.split_whitespace().nth(1), away) {
                    (Some("/here"), Some(away)) => format!("HTTP/1.1 302 Found\r\nLocation: {away}\r\nContent-Length: 0\r\n\r\n"),
                    (Some("/same"), _) => "HTTP/1.1 302 Found\r\nLocation: /seen\r\nContent-Length: 0\r\n\r\n".to_owned(),
                    // As nginx does, two Host headers are a bad request.
                    _ if head.matches("\r\nhost:").count() > 1 => "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".to_owned(),
                    _ => {
                        let body = if head.contains("\r\nauthorization:") { "carried credentials" } else { "no credentials" };
                        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                    }
                };
                let _ = stream.write_all(reply.as_bytes()).await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn credentials_never_follow_a_redirect_to_another_origin() {
    let elsewhere = credential_server(None).await;
    let start = credential_server(Some(format!("http://{elsewhere}/seen"))).await;
    let tls = check::tls_connector();
    let auth = "headers = { Authorization = \"Bearer s3cret\" }";
    let (result, _) = run(&format!("url = \"http://{start}/here\"\n{auth}\nkeyword = \"no credentials\""), &tls).await;
    assert!(result.up && result.redirects == 1, "the other origin got no token: {result:?}");
    let (result, _) = run(&format!("url = \"http://{start}/same\"\n{auth}\nkeyword = \"carried credentials\""), &tls).await;
    assert!(result.up && result.redirects == 1, "the same origin still gets it: {result:?}");
    // A configured Host replaces the URL's instead of being sent twice.
    let (result, _) = run(&format!("url = \"http://{elsewhere}/seen\"\nheaders = {{ Host = \"vhost.test\" }}"), &tls).await;
    assert!(result.up, "{result:?}");
}
