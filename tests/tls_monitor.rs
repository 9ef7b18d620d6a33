//! `tls` monitors against real TLS servers on loopback, with certificates the
//! test makes: valid, for another name, expired, expiring within the warning
//! window, and a port where nothing listens.

mod common;

use netpulse::{
    model::ProbeResult,
    server::monitor::{check, config::MonitorConfig},
};

async fn run(table: &str, tls: &tokio_rustls::TlsConnector) -> ProbeResult {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        monitor: MonitorConfig,
    }
    let text = format!("[monitor]\nname = \"cert\"\ntimeout = 2\n{table}");
    let monitor = toml::from_str::<Wrapper>(&text).unwrap().monitor.validate().unwrap();
    check::check(&monitor, tls).await
}

fn in_days(days: i64) -> chrono::NaiveDate {
    chrono::Utc::now().date_naive() + chrono::TimeDelta::days(days)
}

#[tokio::test]
async fn a_valid_certificate_is_up_with_its_days_left_and_timings() {
    let server = common::tls::tls_server_until(&["127.0.0.1", "mail.test"], &[], Some(in_days(30))).await;
    let trusting = check::tls_connector_with(server.roots.clone());
    let result = run(&format!("tls = \"{}\"", server.addr), &trusting).await;
    assert!(result.up, "{result:?}");
    assert_eq!(result.url, format!("tls://{}", server.addr));
    let days = result.cert_days_left.expect("days left");
    assert!(days > 29.0 && days <= 30.0, "expires at the start of the 30th day from today: {days}");
    assert!(result.connect_ms.is_some() && result.tls_ms.is_some() && result.status_code.is_none(), "{result:?}");

    // Checked by address, verified as the name the certificate was made for.
    let by_name = run(&format!("tls = \"{}\"\nserver_name = \"mail.test\"", server.addr), &trusting).await;
    assert!(by_name.up, "{by_name:?}");
}

#[tokio::test]
async fn a_wrong_name_an_unknown_issuer_and_an_expired_certificate_are_down_and_say_why() {
    let server = common::tls::tls_server_until(&["mail.test"], &[], Some(in_days(30))).await;
    let trusting = check::tls_connector_with(server.roots.clone());
    let wrong_name = run(&format!("tls = \"{}\"", server.addr), &trusting).await;
    assert!(!wrong_name.up);
    assert!(wrong_name.error.as_deref().is_some_and(|e| e.starts_with("TLS failure") && e.contains("not valid for name")), "{wrong_name:?}");

    let untrusted = run(&format!("tls = \"{}\"\nserver_name = \"mail.test\"", server.addr), &check::tls_connector()).await;
    assert!(untrusted.error.as_deref().is_some_and(|e| e.contains("UnknownIssuer")), "{untrusted:?}");

    let expired = common::tls::tls_server_until(&["127.0.0.1"], &[], Some(in_days(-3))).await;
    let result = run(&format!("tls = \"{}\"", expired.addr), &check::tls_connector_with(expired.roots.clone())).await;
    assert!(!result.up);
    assert!(result.error.as_deref().is_some_and(|e| e.contains("certificate expired")), "{result:?}");
    let days = result.cert_days_left.expect("how long ago it expired");
    assert!((-4.0..=-3.0).contains(&days), "expired at the start of the third day before today: {days}");
}

#[tokio::test]
async fn a_certificate_inside_the_warning_window_is_down_before_it_expires() {
    let server = common::tls::tls_server_until(&["127.0.0.1"], &[], Some(in_days(5))).await;
    let trusting = check::tls_connector_with(server.roots.clone());
    let result = run(&format!("tls = \"{}\"\nmin_days_left = 14", server.addr), &trusting).await;
    assert!(!result.up, "{result:?}");
    let error = result.error.unwrap_or_default();
    assert!(error.starts_with("the certificate expires in ") && error.ends_with(" days, under min_days_left = 14"), "{error}");
    assert!(result.cert_days_left.is_some_and(|days| days > 4.0 && days <= 5.0));

    // The same window on an HTTPS monitor.
    let https = run(&format!("url = \"https://{}/\"\nmin_days_left = 14", server.addr), &trusting).await;
    assert!(!https.up && https.error.as_deref().is_some_and(|e| e.contains("under min_days_left")), "{https:?}");
    let relaxed = run(&format!("tls = \"{}\"\nmin_days_left = 3", server.addr), &trusting).await;
    assert!(relaxed.up, "{relaxed:?}");
}

#[tokio::test]
async fn nothing_listening_is_a_normal_down_result() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let result = run(&format!("tls = \"127.0.0.1:{port}\""), &check::tls_connector()).await;
    assert!(!result.up && result.cert_days_left.is_none() && result.tls_ms.is_none(), "{result:?}");
    assert!(result.error.is_some_and(|e| e.contains("refused")));
}

#[tokio::test]
async fn the_dashboard_says_how_long_ago_a_certificate_expired() {
    // The server trusts Mozilla's roots only; an expired certificate is refused for its date first.
    let expired = common::tls::tls_server_until(&["127.0.0.1"], &[], Some(in_days(-3))).await;
    let config = common::fast_config(&format!("[speed]\nenabled = false\n[[monitor]]\nname = \"old cert\"\ntls = \"{}\"\ninterval = 1\n", expired.addr));
    let server = common::start(config, common::Target::Refusing).await;
    let mut probe = serde_json::Value::Null;
    for _ in 0..50 {
        let snapshot: serde_json::Value = reqwest::get(server.url("/api/snapshot")).await.unwrap().json().await.unwrap();
        probe = snapshot["probes"][0].clone();
        if !probe.is_null() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(probe["up"], false, "{probe}");
    assert!(probe["cert_days_left"].as_f64().is_some_and(|days| days < -3.0), "{probe}");
    let page = reqwest::get(server.url("/")).await.unwrap().text().await.unwrap();
    assert!(page.contains("certificate expired 3.") || page.contains("certificate expired 4.0"), "the monitor's row says how long ago");
    server.shutdown().await;
}
